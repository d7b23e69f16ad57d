//! Loading a suite's verified package records, with fetching left to the
//! caller.
//!
//! This is the sequence `hlb lock` runs per suite: fetch `InRelease`,
//! verify it, fetch each component's `Packages` index (the best compression
//! the Release lists: `.xz`, then `.gz`, then plain), check it against the
//! Release, decompress, parse. The crate stays free of network code: the
//! caller passes a function from URL to bytes (the fetcher with its
//! mirrors, a cache, or a test fixture).
//!
//! When the Release says `Acquire-By-Hash: yes`, indexes are fetched by
//! their hash (`.../by-hash/SHA256/<hash>`), so a mirror updating between
//! the two downloads cannot hand over a newer index than the signed one.

use std::io::Read;
use std::path::Path;

use crate::digest::Sha256;
use crate::packages::{BinaryPackage, PackagesError, parse_packages};
use crate::release::{Keyring, ReleaseError, VerifiedRelease, verify_inrelease};
use crate::sources::{SignedBy, SuiteLocation, packages_index_path};

/// What a fetch function returns.
pub type FetchResult = Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>>;

/// One `Packages` index that was used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedIndex {
    /// Component (`main`).
    pub component: String,
    /// Path in the Release (`main/binary-amd64/Packages.xz`).
    pub path: String,
    /// SHA-256 of the fetched (compressed) file, as the Release lists it.
    pub sha256: Sha256,
}

/// A suite's verified Release and parsed package records.
#[derive(Debug, Clone)]
pub struct LoadedSuite {
    /// Where it came from.
    pub location: SuiteLocation,
    /// The verified Release.
    pub release: VerifiedRelease,
    /// SHA-256 of the `InRelease` bytes (what a lock can record to detect
    /// staleness).
    pub inrelease_sha256: Sha256,
    /// The indexes read, in component order.
    pub indexes: Vec<LoadedIndex>,
    /// Every package record of those indexes, `suite` set to the suite.
    pub packages: Vec<BinaryPackage>,
}

/// Why a suite could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The caller's fetch failed.
    #[error("cannot fetch {url}: {source}")]
    Fetch {
        /// The URL.
        url: String,
        /// The fetcher's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Signature, Release syntax or index hash.
    #[error(transparent)]
    Release(#[from] ReleaseError),
    /// The Release is for another suite.
    #[error("{url}: Release is for suite {found:?}, not {wanted}")]
    SuiteMismatch {
        /// The InRelease URL.
        url: String,
        /// The suite asked for.
        wanted: String,
        /// `Suite`/`Codename` found.
        found: String,
    },
    /// The Release lists no `Packages` index for a component.
    #[error("{url}: Release lists no Packages index for {component} on {arch}")]
    NoIndex {
        /// The InRelease URL.
        url: String,
        /// The component.
        component: String,
        /// The architecture.
        arch: String,
    },
    /// Decompressing an index failed.
    #[error("cannot decompress {url}: {source}")]
    Decompress {
        /// The index URL.
        url: String,
        /// The decoder's error.
        source: std::io::Error,
    },
    /// An index does not parse.
    #[error(transparent)]
    Packages(#[from] PackagesError),
    /// The source's `Signed-By` cannot be turned into a keyring.
    #[error("{origin}: {message}")]
    Keyring {
        /// The apt source entry.
        origin: String,
        /// What is wrong.
        message: String,
    },
}

/// Fetches, verifies and parses one suite.
pub fn load_suite(
    location: &SuiteLocation,
    components: &[String],
    arch: &str,
    keyring: &Keyring,
    fetch: &mut dyn FnMut(&str) -> FetchResult,
) -> Result<LoadedSuite, ArchiveError> {
    let url = location.inrelease_url();
    let inrelease = fetch(&url).map_err(|source| ArchiveError::Fetch {
        url: url.clone(),
        source,
    })?;
    let release = verify_inrelease(&inrelease, keyring, &url)?;
    if !release.release.matches_suite(&location.suite) {
        return Err(ArchiveError::SuiteMismatch {
            url,
            wanted: location.suite.clone(),
            found: format!(
                "{}/{}",
                release.release.suite.as_deref().unwrap_or("-"),
                release.release.codename.as_deref().unwrap_or("-")
            ),
        });
    }
    let mut indexes = Vec::new();
    let mut packages = Vec::new();
    for component in components {
        let (path, ext, entry) = [".xz", ".gz", ""]
            .into_iter()
            .find_map(|ext| {
                let path = packages_index_path(component, arch, ext);
                release.release.files.get(&path).map(|e| (path, ext, *e))
            })
            .ok_or_else(|| ArchiveError::NoIndex {
                url: url.clone(),
                component: component.clone(),
                arch: arch.to_owned(),
            })?;
        let index_url = if release.release.acquire_by_hash {
            by_hash_url(location, &path, &entry.sha256)
        } else {
            location.index_url(&path)
        };
        let bytes = fetch(&index_url).map_err(|source| ArchiveError::Fetch {
            url: index_url.clone(),
            source,
        })?;
        release.release.verify_index(&index_url, &path, &bytes)?;
        let text = decompress_index(ext, &bytes).map_err(|source| ArchiveError::Decompress {
            url: index_url.clone(),
            source,
        })?;
        packages.extend(parse_packages(&text, &index_url, &location.suite)?);
        indexes.push(LoadedIndex {
            component: component.clone(),
            path,
            sha256: entry.sha256,
        });
    }
    Ok(LoadedSuite {
        location: location.clone(),
        inrelease_sha256: Sha256::of(&inrelease),
        release,
        indexes,
        packages,
    })
}

/// The `by-hash` URL of a Release path.
pub fn by_hash_url(location: &SuiteLocation, path: &str, sha256: &Sha256) -> String {
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    let rel = if dir.is_empty() {
        format!("by-hash/SHA256/{sha256}")
    } else {
        format!("{dir}/by-hash/SHA256/{sha256}")
    };
    location.index_url(&rel)
}

/// Decompresses an index by its extension (`.xz`, `.gz`, or none) into
/// UTF-8 text.
pub fn decompress_index(ext: &str, bytes: &[u8]) -> std::io::Result<String> {
    let mut text = String::new();
    match ext {
        ".xz" => liblzma::read::XzDecoder::new_multi_decoder(bytes).read_to_string(&mut text)?,
        ".gz" => flate2::read::MultiGzDecoder::new(bytes).read_to_string(&mut text)?,
        "" => {
            let plain = std::str::from_utf8(bytes)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
            text.push_str(plain);
            plain.len()
        }
        other => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("unsupported index compression {other:?}"),
            ));
        }
    };
    Ok(text)
}

/// Builds the keyring an apt source names in `Signed-By`, reading keyring
/// files through `read` (the crate itself does no I/O). Fingerprint lists
/// are not supported: they refer to apt's global trusted keys, which
/// design D9 does not let hlb read.
pub fn keyring_for(
    signed_by: Option<&SignedBy>,
    origin: &str,
    read: &mut dyn FnMut(&Path) -> std::io::Result<Vec<u8>>,
) -> Result<Keyring, ArchiveError> {
    let err = |message: String| ArchiveError::Keyring {
        origin: origin.to_owned(),
        message,
    };
    match signed_by {
        None => Err(err(
            "the source has no Signed-By; name its keyring file there".to_owned(),
        )),
        Some(SignedBy::Fingerprints(f)) => Err(err(format!(
            "Signed-By names fingerprints ({}); name a keyring file instead",
            f.join(", ")
        ))),
        Some(SignedBy::Inline(armored)) => Ok(Keyring::from_bytes(armored.as_bytes(), origin)?),
        Some(SignedBy::Keyrings(paths)) => {
            let mut keyring: Option<Keyring> = None;
            for path in paths {
                let bytes =
                    read(path).map_err(|e| err(format!("cannot read {}: {e}", path.display())))?;
                let k = Keyring::from_bytes(&bytes, &path.display().to_string())?;
                match &mut keyring {
                    None => keyring = Some(k),
                    Some(all) => all.extend(k),
                }
            }
            keyring.ok_or_else(|| err("Signed-By names no keyring".to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_hash_and_decompression() {
        let loc = SuiteLocation {
            uri: "http://m.example/debian".into(),
            suite: "bookworm".into(),
        };
        let sha = Sha256::of(b"x");
        assert_eq!(
            by_hash_url(&loc, "main/binary-amd64/Packages.xz", &sha),
            format!(
                "http://m.example/debian/dists/bookworm/main/binary-amd64/by-hash/SHA256/{sha}"
            )
        );
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, b"Package: a\n").unwrap();
        assert_eq!(
            decompress_index(".gz", &gz.finish().unwrap()).unwrap(),
            "Package: a\n"
        );
        assert_eq!(
            decompress_index("", b"Package: b\n").unwrap(),
            "Package: b\n"
        );
        assert!(decompress_index(".bz2", b"").is_err());
        assert!(decompress_index(".xz", b"not xz").is_err());
    }

    #[test]
    fn fetch_errors_and_keyring_sources_are_explained() {
        let loc = SuiteLocation {
            uri: "http://m.example/debian".into(),
            suite: "bookworm".into(),
        };
        let mut read =
            |_: &Path| -> std::io::Result<Vec<u8>> { Err(std::io::ErrorKind::NotFound.into()) };
        let e = keyring_for(None, "a.sources:1", &mut read).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a.sources:1: the source has no Signed-By; name its keyring file there"
        );
        let e = keyring_for(
            Some(&SignedBy::Keyrings(vec!["/nope.gpg".into()])),
            "a.sources:1",
            &mut read,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("a.sources:1: cannot read /nope.gpg:"),
            "{e}"
        );
        let e = keyring_for(
            Some(&SignedBy::Fingerprints(vec!["AB".into()])),
            "s",
            &mut read,
        )
        .unwrap_err();
        assert!(e.to_string().contains("name a keyring file instead"), "{e}");
        // A fetch failure names the URL and keeps the fetcher's message.
        let mut fetch = |url: &str| -> FetchResult { Err(format!("offline: {url}").into()) };
        let bytes = std::fs::read("/usr/share/keyrings/debian-archive-keyring.gpg");
        if let Ok(bytes) = bytes {
            let keyring = Keyring::from_bytes(&bytes, "k").unwrap();
            let e = load_suite(&loc, &["main".into()], "amd64", &keyring, &mut fetch).unwrap_err();
            assert_eq!(
                e.to_string(),
                "cannot fetch http://m.example/debian/dists/bookworm/InRelease: offline: http://m.example/debian/dists/bookworm/InRelease"
            );
        }
    }
}
