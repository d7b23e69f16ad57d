//! Hashing while streaming, and where the streamed bytes go.

use std::io::{Seek, Write};

use hlb_cache::FixedHash;
use sha2::Digest as _;

use crate::error::FetchError;

/// Incremental hash in one of the algorithms pins may use.
pub(crate) enum Hasher {
    Sha256(sha2::Sha256),
    Blake3(Box<blake3::Hasher>),
}

impl Hasher {
    /// A hasher for `algorithm`, or `None` if pins cannot use it.
    pub(crate) fn new(algorithm: &str) -> Option<Hasher> {
        match algorithm {
            "sha256" => Some(Hasher::Sha256(sha2::Sha256::new())),
            "blake3" => Some(Hasher::Blake3(Box::new(blake3::Hasher::new()))),
            _ => None,
        }
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Blake3(h) => {
                h.update(bytes);
            }
        }
    }

    pub(crate) fn reset(&mut self) {
        match self {
            Hasher::Sha256(h) => h.reset(),
            Hasher::Blake3(h) => {
                h.reset();
            }
        }
    }

    pub(crate) fn finish(&self) -> FixedHash {
        match self {
            Hasher::Sha256(h) => FixedHash {
                algorithm: "sha256".into(),
                bytes: h.clone().finalize().to_vec(),
            },
            Hasher::Blake3(h) => FixedHash {
                algorithm: "blake3".into(),
                bytes: h.finalize().as_bytes().to_vec(),
            },
        }
    }
}

/// Where downloaded bytes go. `reset` starts over before a retry.
pub(crate) trait Sink {
    fn write(&mut self, bytes: &[u8]) -> Result<(), FetchError>;
    fn reset(&mut self) -> Result<(), FetchError>;
}

/// Bytes only hashed (prefetch, lock resolution), never stored.
pub(crate) struct Discard;

impl Sink for Discard {
    fn write(&mut self, _: &[u8]) -> Result<(), FetchError> {
        Ok(())
    }
    fn reset(&mut self) -> Result<(), FetchError> {
        Ok(())
    }
}

/// A temporary file next to the destination; removed on drop unless persisted.
pub(crate) struct TempSink {
    pub(crate) file: tempfile::NamedTempFile,
}

impl Sink for TempSink {
    fn write(&mut self, bytes: &[u8]) -> Result<(), FetchError> {
        self.file
            .as_file_mut()
            .write_all(bytes)
            .map_err(|e| FetchError::io("write", self.file.path(), e))
    }
    fn reset(&mut self) -> Result<(), FetchError> {
        let f = self.file.as_file_mut();
        f.set_len(0)
            .and_then(|()| f.rewind())
            .map_err(|e| FetchError::io("truncate", self.file.path(), e))
    }
}
