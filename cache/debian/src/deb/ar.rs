//! The `ar` container of a `.deb`: a `!<arch>\n` magic, then members, each
//! a 60-byte header and its data padded to an even length.
//!
//! Only what dpkg writes is accepted: common-format headers, member names
//! without the GNU/BSD long-name tables (a .deb's member names are short),
//! sizes in decimal. The reader is sequential over any `Read`, so the
//! last member (`data.tar.*`) can be streamed without buffering.

use std::io::{self, Read};

pub(crate) const MAGIC: &[u8; 8] = b"!<arch>\n";

/// A member header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub name: String,
    pub size: u64,
}

/// Why the ar container could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ArError {
    /// The file does not start with `!<arch>\n`.
    #[error("not an ar archive (bad magic)")]
    Magic,
    /// The archive ends inside a header or member.
    #[error("truncated ar archive")]
    Truncated,
    /// A header field is malformed.
    #[error("malformed ar member header: {0}")]
    Header(&'static str),
    /// The underlying reader failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

pub(crate) fn read_magic(r: &mut impl Read) -> Result<(), ArError> {
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => ArError::Magic,
        _ => ArError::Io(e),
    })?;
    if &magic != MAGIC {
        return Err(ArError::Magic);
    }
    Ok(())
}

/// Reads the next member header; `None` at a clean end of archive.
pub(crate) fn read_header(r: &mut impl Read) -> Result<Option<Header>, ArError> {
    let mut buf = [0u8; 60];
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    match filled {
        0 => return Ok(None),
        60 => {}
        _ => return Err(ArError::Truncated),
    }
    if &buf[58..60] != b"`\n" {
        return Err(ArError::Header("bad terminator"));
    }
    let name =
        std::str::from_utf8(&buf[0..16]).map_err(|_| ArError::Header("name is not UTF-8"))?;
    let name = name.trim_end_matches(' ');
    let name = name.strip_suffix('/').unwrap_or(name);
    if name.is_empty() || name.contains('/') {
        return Err(ArError::Header("unsupported member name"));
    }
    let size = std::str::from_utf8(&buf[48..58])
        .ok()
        .map(str::trim)
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or(ArError::Header("size is not a decimal number"))?;
    Ok(Some(Header {
        name: name.to_owned(),
        size,
    }))
}

/// Reads a whole member of at most `limit` bytes, and its padding.
pub(crate) fn read_member(
    r: &mut impl Read,
    header: &Header,
    limit: u64,
) -> Result<Vec<u8>, ArError> {
    if header.size > limit {
        return Err(ArError::Header("member is larger than allowed"));
    }
    let mut data = Vec::with_capacity(usize::try_from(header.size).unwrap_or(0));
    r.by_ref().take(header.size).read_to_end(&mut data)?;
    if (data.len() as u64) < header.size {
        return Err(ArError::Truncated);
    }
    skip_padding(r, header.size)?;
    Ok(data)
}

/// Skips a whole member without keeping it.
pub(crate) fn skip_member(r: &mut impl Read, header: &Header) -> Result<(), ArError> {
    let copied = io::copy(&mut r.by_ref().take(header.size), &mut io::sink())?;
    if copied < header.size {
        return Err(ArError::Truncated);
    }
    skip_padding(r, header.size)
}

fn skip_padding(r: &mut impl Read, size: u64) -> Result<(), ArError> {
    if size % 2 == 1 {
        let mut pad = [0u8; 1];
        // A missing final pad byte is tolerated, as dpkg does.
        let _ = r.read(&mut pad)?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) fn write_member(out: &mut Vec<u8>, name: &str, data: &[u8]) {
    let header = format!(
        "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
        name,
        0,
        0,
        0,
        "100644",
        data.len()
    );
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    if data.len() % 2 == 1 {
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_members_with_padding() {
        let mut ar = MAGIC.to_vec();
        write_member(&mut ar, "odd", b"abc");
        write_member(&mut ar, "even/", b"dd");
        let mut r = &ar[..];
        read_magic(&mut r).unwrap();
        let h = read_header(&mut r).unwrap().unwrap();
        assert_eq!(
            h,
            Header {
                name: "odd".into(),
                size: 3
            }
        );
        assert_eq!(read_member(&mut r, &h, 10).unwrap(), b"abc");
        let h = read_header(&mut r).unwrap().unwrap();
        assert_eq!(h.name, "even");
        skip_member(&mut r, &h).unwrap();
        assert!(read_header(&mut r).unwrap().is_none());
    }

    #[test]
    fn rejects_garbage() {
        assert!(matches!(
            read_magic(&mut &b"!<arch"[..]),
            Err(ArError::Magic)
        ));
        assert!(matches!(
            read_header(&mut &[b' '; 30][..]),
            Err(ArError::Truncated)
        ));
        let mut bad = [b' '; 60];
        bad[0] = b'x';
        assert!(matches!(
            read_header(&mut &bad[..]),
            Err(ArError::Header("bad terminator"))
        ));
        let mut ar = Vec::new();
        write_member(&mut ar, "big", b"abcdef");
        let mut r = &ar[..];
        let h = read_header(&mut r).unwrap().unwrap();
        assert!(read_member(&mut r, &h, 2).is_err());
        let mut r = &ar[..62];
        let h = read_header(&mut r).unwrap().unwrap();
        assert!(matches!(
            read_member(&mut r, &h, 100),
            Err(ArError::Truncated)
        ));
    }
}
