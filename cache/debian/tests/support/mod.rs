//! Test support for the real-archive tests: a small HTTP cache under
//! `target/hlb-test-cache/`, and the machine's Debian sources.
//!
//! Files named by a hash (indexes, .debs) are cached by that hash, so a
//! cached copy is only used while the archive still lists it. `InRelease`
//! is cached for a few hours, then fetched again, because the archive moves.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use hlb_debian::Sha256;

pub fn cache_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("hlb-test-cache");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("build HTTP client")
}

fn download(url: &str) -> Vec<u8> {
    let response = client()
        .get(url)
        .send()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status();
    assert!(status.is_success(), "GET {url}: HTTP {status}");
    response
        .bytes()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .to_vec()
}

/// Writes `bytes` to `path` atomically (temp file, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) {
    let dir = path.parent().expect("cache path has a parent");
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .unwrap_or_else(|e| panic!("temp in {}: {e}", dir.display()));
    tmp.write_all(bytes).expect("write cache file");
    tmp.as_file().sync_all().expect("fsync cache file");
    tmp.persist(path)
        .unwrap_or_else(|e| panic!("rename to {}: {e}", path.display()));
}

/// Fetches a moving file (InRelease), reusing a copy younger than `max_age`.
pub fn fetch_fresh(url: &str, name: &str, max_age: Duration) -> Vec<u8> {
    let path = cache_dir().join(name);
    if let Ok(meta) = std::fs::metadata(&path) {
        let age = meta
            .modified()
            .ok()
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .unwrap_or(Duration::MAX);
        if age < max_age {
            return std::fs::read(&path).expect("read cached file");
        }
    }
    let bytes = download(url);
    write_atomic(&path, &bytes);
    bytes
}

/// Fetches a file whose sha256 is known, caching it by that hash. The
/// result is *not* checked here: the tests check it with the crate.
pub fn fetch_by_hash(url: &str, sha256: &Sha256, suffix: &str) -> (Vec<u8>, PathBuf) {
    let path = cache_dir().join(format!("{sha256}{suffix}"));
    if let Ok(bytes) = std::fs::read(&path)
        && Sha256::of(&bytes) == *sha256
    {
        return (bytes, path);
    }
    let bytes = download(url);
    write_atomic(&path, &bytes);
    (bytes, path)
}

/// The fetch function handed to `hlb_debian::archive::load_suite`:
/// `InRelease` through the fresh cache, `by-hash` URLs through the hash
/// cache, anything else straight from the mirror.
pub fn fetch(url: &str) -> hlb_debian::archive::FetchResult {
    if url.ends_with("/InRelease") {
        let name: String = url
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        return Ok(fetch_fresh(url, &name, Duration::from_secs(6 * 3600)));
    }
    if let Some((_, hash)) = url.rsplit_once("/by-hash/SHA256/") {
        let sha: Sha256 = hash.parse()?;
        return Ok(fetch_by_hash(url, &sha, ".index").0);
    }
    Ok(download(url))
}
