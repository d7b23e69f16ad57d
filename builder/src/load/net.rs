//! Small value parsers for Talos clusters: IP networks and RFC 3339 times.
//!
//! Why here and not a crate: the loader needs only parsing, containment and
//! overlap of networks, and one timestamp form; both are a few lines over
//! `std::net` and civil-date arithmetic, and keep the pure core free of
//! dependencies.

use std::net::IpAddr;

/// An IP network written `ADDRESS/PREFIX`. The address may have host bits
/// set (`10.0.0.11/24` is node `10.0.0.11` on `10.0.0.0/24`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cidr {
    pub ip: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    /// Parse `ADDRESS/PREFIX`; the message says what is wrong.
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let Some((ip, prefix)) = s.split_once('/') else {
            return Err(format!("`{s}` has no prefix length (`/24`)"));
        };
        let ip: IpAddr = ip
            .parse()
            .map_err(|_| format!("`{ip}` is not an IP address"))?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let prefix: u8 = match prefix.parse() {
            Ok(p) if p <= max && !prefix.starts_with('+') => p,
            _ => {
                return Err(format!(
                    "`/{prefix}` is not a prefix length from 0 to {max}"
                ));
            }
        };
        Ok(Cidr { ip, prefix })
    }

    fn bits(ip: IpAddr) -> (u128, u8) {
        match ip {
            IpAddr::V4(v) => (u128::from(u32::from(v)), 32),
            IpAddr::V6(v) => (u128::from(v), 128),
        }
    }

    /// The network's first address, as bits, and the address width.
    fn network(&self) -> (u128, u8) {
        let (bits, width) = Cidr::bits(self.ip);
        (bits & mask(width, self.prefix), width)
    }

    /// Whether `ip` is inside this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (net, width) = self.network();
        let (bits, w) = Cidr::bits(ip);
        w == width && bits & mask(width, self.prefix) == net
    }

    /// Whether the two networks share an address.
    pub fn overlaps(&self, other: &Cidr) -> bool {
        let (a, wa) = self.network();
        let (b, wb) = other.network();
        if wa != wb {
            return false;
        }
        let m = mask(wa, self.prefix.min(other.prefix));
        a & m == b & m
    }

    /// The network itself, `10.0.0.0/24`.
    pub fn network_string(&self) -> String {
        let (net, width) = self.network();
        let ip: IpAddr = if width == 32 {
            IpAddr::V4(std::net::Ipv4Addr::from(net as u32))
        } else {
            IpAddr::V6(std::net::Ipv6Addr::from(net))
        };
        format!("{ip}/{}", self.prefix)
    }
}

/// The prefix mask of `prefix` bits in an address `width` bits wide.
fn mask(width: u8, prefix: u8) -> u128 {
    let all: u128 = if width == 128 {
        u128::MAX
    } else {
        (1u128 << width) - 1
    };
    if prefix == 0 {
        0
    } else {
        all & !((1u128 << (width - prefix)) - 1)
    }
}

/// Seconds since the Unix epoch of `YYYY-MM-DDTHH:MM:SSZ` (UTC only: a
/// certificate's validity is not local time).
pub(crate) fn parse_utc(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1970..=9999).contains(&y)
        || !(1..=12).contains(&mo)
        || d == 0
        || d > days_in[(mo - 1) as usize]
        || h > 23
        || mi > 59
        || se > 59
    {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm), years from 1970 on.
    let (y, m) = if mo <= 2 {
        (y - 1, mo + 9)
    } else {
        (y, mo - 3)
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + se)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks() {
        let n = Cidr::parse("10.0.0.11/24").unwrap();
        assert!(n.contains("10.0.0.200".parse().unwrap()));
        assert!(!n.contains("10.0.1.1".parse().unwrap()));
        assert_eq!(n.network_string(), "10.0.0.0/24");
        let pods = Cidr::parse("10.244.0.0/16").unwrap();
        let svc = Cidr::parse("10.96.0.0/12").unwrap();
        assert!(!pods.overlaps(&svc));
        assert!(Cidr::parse("10.0.0.0/8").unwrap().overlaps(&pods));
        assert!(pods.overlaps(&Cidr::parse("10.244.3.0/24").unwrap()));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().overlaps(&n));
        assert!(
            Cidr::parse("fd00::1/64")
                .unwrap()
                .contains("fd00::ff".parse().unwrap())
        );
        assert!(!Cidr::parse("fd00::1/64").unwrap().overlaps(&n));
        for bad in [
            "10.0.0.1",
            "10.0.0.1/33",
            "10.0.0/8",
            "x/8",
            "10.0.0.1/+8",
            "::1/129",
        ] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn utc_times() {
        assert_eq!(parse_utc("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_utc("2026-01-01T00:00:00Z"), Some(1_767_225_600));
        assert_eq!(parse_utc("2024-02-29T12:30:05Z"), Some(1_709_209_805));
        for bad in [
            "2026-01-01",
            "2026-01-01T00:00:00+01:00",
            "2025-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "1969-12-31T23:59:59Z",
        ] {
            assert_eq!(parse_utc(bad), None, "{bad}");
        }
    }
}
