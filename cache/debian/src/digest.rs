//! SHA-256 digests as the Debian archive uses them (Release files,
//! `Packages` indexes): the only hash a lock file should record for a .deb.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256 as Hasher};

/// A SHA-256 digest; `Display`/`FromStr` use lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sha256(pub [u8; 32]);

impl Sha256 {
    /// Hashes `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Sha256(Hasher::digest(bytes).into())
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({self})")
    }
}

/// A string that is not 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid sha256 {0:?}: expected 64 hex digits")]
pub struct Sha256ParseError(pub String);

impl FromStr for Sha256 {
    type Err = Sha256ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| Sha256ParseError(s.to_owned()))?;
        Ok(Sha256(out))
    }
}

/// A streaming SHA-256 hasher, for data too large to hold (a `.deb`).
#[derive(Default)]
pub struct Sha256Writer {
    hasher: Hasher,
    len: u64,
}

impl Sha256Writer {
    /// A fresh hasher.
    pub fn new() -> Self {
        Self::default()
    }

    /// The digest and the number of bytes written.
    pub fn finish(self) -> (Sha256, u64) {
        (Sha256(self.hasher.finalize().into()), self.len)
    }
}

impl std::io::Write for Sha256Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.hasher.update(buf);
        self.len += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_known_value() {
        let d = Sha256::of(b"abc");
        assert_eq!(
            d.to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(d.to_string().parse::<Sha256>().unwrap(), d);
        assert!("abc".parse::<Sha256>().is_err());
        let mut w = Sha256Writer::new();
        std::io::Write::write_all(&mut w, b"ab").unwrap();
        std::io::Write::write_all(&mut w, b"c").unwrap();
        assert_eq!(w.finish(), (d, 3));
    }
}
