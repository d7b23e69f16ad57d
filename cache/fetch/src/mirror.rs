//! Mirrors: places consulted before a download's upstream URL.
//!
//! A mirror is a directory or an HTTP(S) base URL with either (or both) of
//! two layouts:
//!
//! - by hash: `<mirror>/<algorithm>/<hex>` (`sha256/ab12…`), trusted to hold
//!   exactly those bytes, and still verified;
//! - by name: `<mirror>/<last path segment of the URL>` (`tool-1.0.tar.gz`).
//!
//! Mirrors come from `--mirror DIR_OR_URL` (repeatable) and `HLB_MIRRORS`
//! (whitespace- or comma-separated); the CLI collects both and passes them in.

use std::fmt;
use std::path::PathBuf;

use hlb_cache::FixedHash;
use percent_encoding::percent_decode_str;
use reqwest::Url;

use crate::redact::Redacted;

/// One mirror.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mirror {
    /// A local directory (a fixtures tree, an NFS share, a USB stick).
    Dir(PathBuf),
    /// An `http://` or `https://` base URL, without trailing slash.
    Http(String),
}

/// A mirror specification that is neither a directory nor an HTTP(S) URL.
#[derive(Debug, thiserror::Error)]
#[error("invalid mirror `{}`: {reason}", Redacted(spec))]
pub struct MirrorParseError {
    pub spec: String,
    pub reason: String,
}

impl Mirror {
    /// Parses one `DIR_OR_URL`: `http(s)://…` is an HTTP mirror, `file://…`
    /// and anything without a scheme is a directory.
    pub fn parse(spec: &str) -> Result<Mirror, MirrorParseError> {
        let err = |reason: &str| MirrorParseError {
            spec: spec.to_string(),
            reason: reason.to_string(),
        };
        let spec_t = spec.trim();
        if spec_t.is_empty() {
            return Err(err("empty"));
        }
        match spec_t.split_once("://") {
            None => Ok(Mirror::Dir(PathBuf::from(spec_t))),
            Some((scheme, _)) => match scheme.to_ascii_lowercase().as_str() {
                "http" | "https" => {
                    let url = Url::parse(spec_t).map_err(|e| err(&e.to_string()))?;
                    if url.query().is_some() || url.fragment().is_some() {
                        return Err(err("a mirror URL cannot have a query or fragment"));
                    }
                    Ok(Mirror::Http(url.as_str().trim_end_matches('/').to_string()))
                }
                "file" => {
                    let url = Url::parse(spec_t).map_err(|e| err(&e.to_string()))?;
                    let path = url
                        .to_file_path()
                        .map_err(|()| err("not a local absolute file:// URL"))?;
                    Ok(Mirror::Dir(path))
                }
                other => Err(err(&format!(
                    "unsupported scheme `{other}` (use a directory, http:// or https://)"
                ))),
            },
        }
    }

    /// Parses a list separated by whitespace and/or commas (`HLB_MIRRORS`).
    pub fn parse_list(list: &str) -> Result<Vec<Mirror>, MirrorParseError> {
        list.split(|c: char| c.is_whitespace() || c == ',')
            .filter(|s| !s.is_empty())
            .map(Mirror::parse)
            .collect()
    }

    /// Where this mirror keeps `hash` in the by-hash layout.
    pub(crate) fn by_hash(&self, hash: &FixedHash) -> Location {
        let hex = hex::encode(&hash.bytes);
        match self {
            Mirror::Dir(d) => Location::File(d.join(&hash.algorithm).join(hex)),
            Mirror::Http(base) => Location::Http(format!("{base}/{}/{hex}", hash.algorithm)),
        }
    }

    /// Where this mirror keeps `url` in the by-name layout, if `url` has a
    /// usable last path segment.
    pub(crate) fn by_name(&self, url: &Url) -> Option<Location> {
        let raw = url.path_segments()?.next_back()?;
        let decoded = percent_decode_str(raw).decode_utf8().ok()?;
        if decoded.is_empty() || decoded == "." || decoded == ".." || decoded.contains(['/', '\\'])
        {
            return None;
        }
        Some(match self {
            Mirror::Dir(d) => Location::File(d.join(decoded.as_ref())),
            Mirror::Http(base) => Location::Http(format!("{base}/{raw}")),
        })
    }
}

impl fmt::Display for Mirror {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mirror::Dir(d) => write!(f, "{}", d.display()),
            Mirror::Http(u) => write!(f, "{}", Redacted(u)),
        }
    }
}

/// A concrete place bytes can be read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Location {
    File(PathBuf),
    Http(String),
}

impl Location {
    /// The upstream URL itself as a location (`file://` or `http(s)://`).
    pub(crate) fn upstream(url: &Url) -> Option<Location> {
        match url.scheme() {
            "file" => url.to_file_path().ok().map(Location::File),
            "http" | "https" => Some(Location::Http(url.as_str().to_string())),
            _ => None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File(p) => write!(f, "{}", p.display()),
            Location::Http(u) => write!(f, "{}", Redacted(u)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dirs_urls_and_lists() {
        assert_eq!(
            Mirror::parse("/srv/m").unwrap(),
            Mirror::Dir("/srv/m".into())
        );
        assert_eq!(Mirror::parse("rel/m").unwrap(), Mirror::Dir("rel/m".into()));
        assert_eq!(
            Mirror::parse("file:///srv/m").unwrap(),
            Mirror::Dir("/srv/m".into())
        );
        assert_eq!(
            Mirror::parse("https://m.example.org/dl/").unwrap(),
            Mirror::Http("https://m.example.org/dl".into())
        );
        let list = Mirror::parse_list(" /a, http://h.example.org\n/b ,,").unwrap();
        assert_eq!(
            list,
            vec![
                Mirror::Dir("/a".into()),
                Mirror::Http("http://h.example.org".into()),
                Mirror::Dir("/b".into())
            ]
        );
        assert!(Mirror::parse_list("").unwrap().is_empty());
    }

    #[test]
    fn rejects_other_schemes_and_queries() {
        let e = Mirror::parse("ftp://h.example.org/x").unwrap_err();
        assert!(e.to_string().contains("unsupported scheme `ftp`"), "{e}");
        assert!(Mirror::parse("https://h.example.org/?x=1").is_err());
        assert!(Mirror::parse("  ").is_err());
    }

    #[test]
    fn error_redacts_credentials() {
        let e = Mirror::parse("ftp://u:secret@h.example.org/").unwrap_err();
        assert!(!e.to_string().contains("secret"), "{e}");
    }

    #[test]
    fn layouts() {
        let h = FixedHash::parse(&format!("sha256:{}", "ab".repeat(32))).unwrap();
        let m = Mirror::Http("http://m.example.org/base".into());
        assert_eq!(
            m.by_hash(&h),
            Location::Http(format!(
                "http://m.example.org/base/sha256/{}",
                "ab".repeat(32)
            ))
        );
        let url = Url::parse("https://example.org/rel/v1/tool%201.tar.gz?x=1").unwrap();
        assert_eq!(
            m.by_name(&url),
            Some(Location::Http(
                "http://m.example.org/base/tool%201.tar.gz".into()
            ))
        );
        let d = Mirror::Dir("/m".into());
        assert_eq!(
            d.by_name(&url),
            Some(Location::File("/m/tool 1.tar.gz".into()))
        );
        let dir_url = Url::parse("https://example.org/rel/").unwrap();
        assert_eq!(d.by_name(&dir_url), None);
        let sneaky = Url::parse("https://example.org/a/..%2Fetc").unwrap();
        assert_eq!(d.by_name(&sneaky), None);
    }
}
