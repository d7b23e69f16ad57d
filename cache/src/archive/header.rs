//! ustar header encoding, with pax extended headers only where ustar cannot
//! say something (a path or link target over 100 bytes, a size of 8 GiB or
//! more, an id over 2097151). The pax header itself is deterministic: a
//! fixed name, mode 0644, owner 0, the archive's fixed mtime, and only
//! `path`, `linkpath`, `size`, `uid` and `gid` records, never times.

pub(super) const BLOCK: usize = 512;

/// ustar numeric fields are octal with a terminating NUL; 12-byte fields
/// hold at most 11 digits, 8-byte fields 7.
const MAX_SIZE: u64 = 0o77777777777;
const MAX_ID: u64 = 0o7777777;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    File,
    HardLink,
    Symlink,
    Dir,
}

impl Kind {
    fn flag(self) -> u8 {
        match self {
            Kind::File => b'0',
            Kind::HardLink => b'1',
            Kind::Symlink => b'2',
            Kind::Dir => b'5',
        }
    }
}

pub(super) struct HeaderSpec<'a> {
    pub path: &'a [u8],
    pub link: &'a [u8],
    pub kind: Kind,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime: u64,
}

fn octal(field: &mut [u8], value: u64) {
    // width-1 digits, zero padded, then NUL.
    let digits = field.len() - 1;
    let s = format!("{value:0digits$o}");
    field[..digits].copy_from_slice(&s.as_bytes()[s.len() - digits..]);
    field[digits] = 0;
}

#[allow(clippy::too_many_arguments)] // the fields of one header, all needed
fn ustar_block(
    name: &[u8],
    link: &[u8],
    flag: u8,
    mode: u32,
    uid: u64,
    gid: u64,
    size: u64,
    mtime: u64,
) -> [u8; BLOCK] {
    let mut b = [0u8; BLOCK];
    b[..name.len()].copy_from_slice(name);
    octal(&mut b[100..108], u64::from(mode & 0o7777));
    octal(&mut b[108..116], uid);
    octal(&mut b[116..124], gid);
    octal(&mut b[124..136], size);
    octal(&mut b[136..148], mtime);
    b[156] = flag;
    b[157..157 + link.len()].copy_from_slice(link);
    b[257..263].copy_from_slice(b"ustar\0");
    b[263..265].copy_from_slice(b"00");
    // uname and gname stay empty; devmajor/devminor are written as zeros.
    octal(&mut b[329..337], 0);
    octal(&mut b[337..345], 0);
    // The checksum is computed with its own field as eight spaces.
    b[148..156].copy_from_slice(b"        ");
    let sum: u64 = b.iter().map(|&x| u64::from(x)).sum();
    let s = format!("{sum:06o}");
    b[148..154].copy_from_slice(s.as_bytes());
    b[154] = 0;
    b[155] = b' ';
    b
}

fn pax_record(out: &mut Vec<u8>, key: &str, value: &[u8]) {
    // "<len> <key>=<value>\n" where <len> counts the whole record,
    // including its own digits.
    let body = key.len() + value.len() + 3; // space, '=', newline
    let mut len = body + 1;
    while len.to_string().len() + body != len {
        len += 1;
    }
    out.extend_from_slice(len.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(key.as_bytes());
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
}

/// The header blocks for one entry: an optional pax header (with its data,
/// padded) followed by the ustar header.
pub(super) fn encode(spec: &HeaderSpec<'_>) -> Vec<u8> {
    let mut pax = Vec::new();
    if spec.path.len() > 100 {
        pax_record(&mut pax, "path", spec.path);
    }
    if spec.link.len() > 100 {
        pax_record(&mut pax, "linkpath", spec.link);
    }
    if spec.size > MAX_SIZE {
        pax_record(&mut pax, "size", spec.size.to_string().as_bytes());
    }
    if u64::from(spec.uid) > MAX_ID {
        pax_record(&mut pax, "uid", spec.uid.to_string().as_bytes());
    }
    if u64::from(spec.gid) > MAX_ID {
        pax_record(&mut pax, "gid", spec.gid.to_string().as_bytes());
    }
    let mut out = Vec::with_capacity(BLOCK * 2);
    if !pax.is_empty() {
        out.extend_from_slice(&ustar_block(
            b"././@PaxHeader",
            b"",
            b'x',
            0o644,
            0,
            0,
            pax.len() as u64,
            spec.mtime,
        ));
        let padded = pax.len().div_ceil(BLOCK) * BLOCK;
        pax.resize(padded, 0);
        out.extend_from_slice(&pax);
    }
    let trunc = |b: &[u8]| -> Vec<u8> { b[..b.len().min(100)].to_vec() };
    out.extend_from_slice(&ustar_block(
        &trunc(spec.path),
        &trunc(spec.link),
        spec.kind.flag(),
        spec.mode,
        u64::from(spec.uid).min(MAX_ID),
        u64::from(spec.gid).min(MAX_ID),
        spec.size.min(MAX_SIZE),
        spec.mtime.min(MAX_SIZE),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_length_counts_itself() {
        let mut v = Vec::new();
        pax_record(&mut v, "path", &[b'a'; 91]);
        let s = String::from_utf8(v).unwrap();
        let (n, _) = s.split_once(' ').unwrap();
        assert_eq!(n.parse::<usize>().unwrap(), s.len());
        // The body is 98 bytes; two length digits would make 100, which
        // needs three, so the record is 101 bytes long.
        assert_eq!(s.len(), 3 + 1 + 4 + 1 + 91 + 1);
        let mut w = Vec::new();
        pax_record(&mut w, "path", &[b'a'; 90]);
        assert_eq!(w.len(), 99);
        assert!(w.starts_with(b"99 path="));
    }

    #[test]
    fn header_checksum_is_valid() {
        let h = encode(&HeaderSpec {
            path: b"a/b",
            link: b"",
            kind: Kind::File,
            mode: 0o644,
            uid: 0,
            gid: 0,
            size: 5,
            mtime: 0,
        });
        assert_eq!(h.len(), BLOCK);
        let mut copy = h.clone();
        copy[148..156].copy_from_slice(b"        ");
        let sum: u64 = copy.iter().map(|&x| u64::from(x)).sum();
        let stored = std::str::from_utf8(&h[148..154]).unwrap();
        assert_eq!(u64::from_str_radix(stored, 8).unwrap(), sum);
    }
}
