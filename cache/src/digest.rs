//! BLAKE3 digests as a newtype, so that a derivation id, a content hash and a
//! generation hash can never be confused with an arbitrary byte string, and so
//! that their textual form (lowercase hex, 64 characters) is defined once.

use std::fmt;
use std::str::FromStr;

/// A 32-byte BLAKE3 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub [u8; 32]);

/// Error returned when a string is not 64 lowercase or uppercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a BLAKE3 digest (64 hex digits)")]
pub struct ParseDigestError(pub String);

impl Digest {
    /// Hash `bytes` with plain BLAKE3.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(*blake3::hash(bytes).as_bytes())
    }

    /// Lowercase hex, 64 characters.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The first 12 hex digits, for people (never for lookups).
    pub fn short(&self) -> String {
        self.hex()[..12].to_string()
    }

    pub fn from_hex(s: &str) -> Result<Digest, ParseDigestError> {
        let mut out = [0u8; 32];
        if s.len() != 64 {
            return Err(ParseDigestError(s.to_string()));
        }
        hex::decode_to_slice(s, &mut out).map_err(|_| ParseDigestError(s.to_string()))?;
        Ok(Digest(out))
    }
}

impl From<blake3::Hash> for Digest {
    fn from(h: blake3::Hash) -> Digest {
        Digest(*h.as_bytes())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.hex())
    }
}

impl FromStr for Digest {
    type Err = ParseDigestError;
    fn from_str(s: &str) -> Result<Digest, ParseDigestError> {
        Digest::from_hex(s)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.hex())
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Digest, D::Error> {
        let s = String::deserialize(d)?;
        Digest::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let d = Digest::of(b"hlb");
        assert_eq!(d.hex().len(), 64);
        assert_eq!(Digest::from_hex(&d.hex()).unwrap(), d);
        assert!(Digest::from_hex("abc").is_err());
        assert!(Digest::from_hex(&"g".repeat(64)).is_err());
    }
}

/// The pinned hash of a fixed-output derivation.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct FixedHash {
    /// `sha256` or `blake3`.
    pub algorithm: String,
    /// Raw digest bytes.
    #[serde(with = "hex_bytes")]
    pub bytes: Vec<u8>,
}

impl FixedHash {
    /// `sha256:<hex>` / `blake3:<hex>`, the form recipes and the lock use.
    pub fn parse(s: &str) -> Result<FixedHash, String> {
        let (algorithm, hexpart) = s
            .split_once(':')
            .ok_or_else(|| format!("`{s}` is not of the form `sha256:<hex>` or `blake3:<hex>`"))?;
        let want = match algorithm {
            "sha256" | "blake3" => 32,
            other => {
                return Err(format!(
                    "unknown hash algorithm `{other}` (use sha256 or blake3)"
                ));
            }
        };
        let bytes = hex::decode(hexpart).map_err(|_| format!("`{hexpart}` is not hex"))?;
        if bytes.len() != want {
            return Err(format!(
                "a {algorithm} hash has {} hex digits, `{hexpart}` has {}",
                want * 2,
                hexpart.len()
            ));
        }
        Ok(FixedHash {
            algorithm: algorithm.to_string(),
            bytes,
        })
    }
}

impl std::fmt::Display for FixedHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.algorithm, hex::encode(&self.bytes))
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(s).map_err(serde::de::Error::custom)
    }
}
