//! The `debian` lock section: a Debian package closure, pinned.
//!
//! `hlb lock` hands [`DebianResolver`] one request per key (a package set a
//! container needs) and gets back the entry `hlb build` will read: the
//! suites it resolved against (with the SHA-256 of each verified
//! `InRelease`, so a reader can tell which archive snapshot it was) and
//! every package of the closure with the pool URL, size and SHA-256 of its
//! `.deb`. The fetch derivations of the template build pin those hashes.
//!
//! Invariants:
//! - every byte comes through the [`Fetcher`] (mirrors and `--offline`
//!   apply), and nothing is used before `hlb_debian` verified it: `InRelease`
//!   against the keyring of the machine's apt sources, each `Packages`
//!   index against the signed Release;
//! - the entry is a function of the request and the archive snapshot: the
//!   closure comes from the deterministic `hlb_debian::resolve`, packages
//!   are sorted by name, sources keep the request's suite order;
//! - one resolver is one snapshot: a suite is loaded once per resolver and
//!   reused for every key, so all keys of one `hlb lock` agree;
//! - no mirror host name is written in the repository (design D9):
//!   `"mirror": "system"` takes the URI and keyring from the machine's apt
//!   sources.
//!
//! Errors: download failures are the [`Fetcher`]'s own [`FetchError`]s.
//! Anything else (a malformed request, no apt source for a suite, a bad
//! signature, an unsatisfiable or conflicting closure) is a [`DebianError`],
//! carried in [`FetchError::Io`] because the [`Resolver`] trait returns
//! `FetchError` (downcast with [`DebianError::from_fetch_error`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use hlb_cache::FixedHash;
use hlb_debian::Sha256;
use hlb_debian::archive::{ArchiveError, FetchResult, LoadedSuite, keyring_for, load_suite};
use hlb_debian::release::Keyring;
use hlb_debian::resolve::{Request, ResolveError, ResolveOptions, Universe, resolve};
use hlb_debian::sources::{AptSource, SourcesError, SuiteLocation, discover};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::FetchError;
use crate::fetcher::Fetcher;
use crate::resolve::Resolver;

/// The lock section [`DebianResolver`] fills.
pub const DEBIAN_SECTION: &str = "debian";

/// `"mirror"` value meaning: the machine's apt sources.
pub const SYSTEM_MIRROR: &str = "system";

/// The keyring used for an explicit mirror URI no apt source names.
pub const DEBIAN_ARCHIVE_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// One `debian` lock request, as the recipe layer writes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DebianRequest {
    /// `"system"` or a mirror root URI (`http://…/debian`).
    pub mirror: String,
    /// The archive of `-security` suites, when it is not `mirror` (Debian
    /// serves them from another root, `…/debian-security`): `"system"` or a
    /// URI. Absent: `mirror` serves every suite.
    #[serde(default)]
    pub security_mirror: Option<String>,
    /// Suites, in priority order for the lock's `sources`.
    pub suites: Vec<String>,
    /// Archive components (`main`).
    pub components: Vec<String>,
    /// dpkg architecture (`amd64`).
    pub architecture: String,
    /// Requested packages: `name` or `name (op version)`.
    pub packages: Vec<String>,
    /// Add every `Essential: yes` package.
    #[serde(default)]
    pub essential: bool,
    /// Add every `Priority: required` package.
    #[serde(default)]
    pub required: bool,
}

impl DebianRequest {
    /// Parses and checks a request (non-empty lists, parseable package
    /// relations).
    pub fn from_json(key: &str, value: &Value) -> Result<DebianRequest, DebianError> {
        let bad = |reason: String| DebianError::Request {
            key: key.to_owned(),
            reason,
        };
        let req: DebianRequest =
            serde_json::from_value(value.clone()).map_err(|e| bad(e.to_string()))?;
        for (field, list) in [
            ("suites", &req.suites),
            ("components", &req.components),
            ("packages", &req.packages),
        ] {
            if list.is_empty() {
                return Err(bad(format!("`{field}` is empty")));
            }
        }
        if req.architecture.is_empty() {
            return Err(bad("`architecture` is empty".to_owned()));
        }
        for (field, m) in [
            ("mirror", Some(&req.mirror)),
            ("security_mirror", req.security_mirror.as_ref()),
        ] {
            if let Some(m) = m
                && m != SYSTEM_MIRROR
                && !m.contains("://")
            {
                return Err(bad(format!(
                    "`{field}` is {m:?}: use \"system\" or a URI such as file:///srv/debian"
                )));
            }
        }
        for p in &req.packages {
            Request::parse(p).map_err(|e| bad(format!("package {p:?}: {e}")))?;
        }
        Ok(req)
    }
}

/// Why a `debian` entry could not be resolved (besides downloads).
#[derive(Debug, thiserror::Error)]
pub enum DebianError {
    /// The request is not a valid [`DebianRequest`].
    #[error("invalid Debian request `{key}`: {reason}")]
    Request { key: String, reason: String },
    /// The machine's apt sources cannot be read.
    #[error("reading apt sources: {0}")]
    Sources(#[from] SourcesError),
    /// No apt source lists a suite with the requested components.
    #[error(
        "no apt source in {} lists suite {suite} with components {} for {architecture}\nhelp: add it to the machine's apt sources, or name a mirror URI in the request",
        apt_dir.display(),
        components.join(" ")
    )]
    NoSource {
        apt_dir: PathBuf,
        suite: String,
        components: Vec<String>,
        architecture: String,
    },
    /// Reading the keyring failed.
    #[error("keyring {}: {source}", path.display())]
    Keyring {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Verifying or parsing a suite failed.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    /// The closure cannot be computed (the resolver's explanation names
    /// the packages and the chain that reached them).
    #[error("{0}")]
    Resolve(#[from] ResolveError),
}

impl DebianError {
    /// The [`DebianError`] inside a [`FetchError`] returned by
    /// [`DebianResolver`], if that is what it carries.
    pub fn from_fetch_error(e: &FetchError) -> Option<&DebianError> {
        match e {
            FetchError::Io { source, .. } => source.get_ref()?.downcast_ref::<DebianError>(),
            _ => None,
        }
    }

    /// The requested packages (as the request wrote them, `dnsdist` or
    /// `dnsdist (>= 1.7)`) at the root of each chain that failed to
    /// resolve: which of its packages a recipe should be told about.
    pub fn failed_requests(&self) -> Vec<&str> {
        let DebianError::Resolve(e) = self else {
            return Vec::new();
        };
        let chains: Vec<&Vec<String>> = match e {
            ResolveError::Unsatisfiable(problems) => problems.iter().map(|p| &p.chain).collect(),
            ResolveError::Conflicts(conflicts) => {
                conflicts.iter().flat_map(|c| c.chains.iter()).collect()
            }
        };
        let mut roots: Vec<&str> = chains
            .into_iter()
            .filter_map(|chain| chain.first()?.strip_suffix(" (requested)"))
            .collect();
        roots.dedup();
        roots
    }

    fn into_fetch(self, key: &str) -> FetchError {
        FetchError::Io {
            op: "cannot lock Debian packages for",
            path: PathBuf::from(key),
            source: std::io::Error::other(self),
        }
    }
}

type SuiteKey = (String, String, Vec<String>, String);

/// Resolves `debian` lock requests (see the module docs).
pub struct DebianResolver {
    apt_dir: PathBuf,
    index_cache: Option<PathBuf>,
    loaded: Mutex<BTreeMap<SuiteKey, Arc<LoadedSuite>>>,
}

impl Default for DebianResolver {
    fn default() -> Self {
        DebianResolver::new()
    }
}

impl DebianResolver {
    /// Reads the machine's apt configuration from `/etc/apt`.
    pub fn new() -> DebianResolver {
        DebianResolver::with_apt_dir("/etc/apt")
    }

    /// Reads apt sources from `apt_dir` instead (tests, chroots).
    pub fn with_apt_dir(apt_dir: impl Into<PathBuf>) -> DebianResolver {
        DebianResolver {
            apt_dir: apt_dir.into(),
            index_cache: None,
            loaded: Mutex::new(BTreeMap::new()),
        }
    }

    /// Keeps verified `Packages` indexes in `dir` as `sha256/<hex>` (the
    /// by-hash layout of a [`crate::Mirror`]), and reuses them when the
    /// signed Release names the same hash. `InRelease` is never cached.
    pub fn with_index_cache(mut self, dir: impl Into<PathBuf>) -> DebianResolver {
        self.index_cache = Some(dir.into());
        self
    }

    /// The entry for one request (what [`Resolver::resolve`] returns,
    /// with the typed error).
    pub fn resolve_request(
        &self,
        key: &str,
        request: &Value,
        fetcher: &Fetcher,
    ) -> Result<Value, DebianLockError> {
        let req = DebianRequest::from_json(key, request)?;
        let targets = self.targets(&req)?;
        let mut suites = Vec::new();
        for (location, keyring) in &targets {
            suites.push(self.load(location, keyring, &req, fetcher)?);
        }
        let universe = Universe::new(
            &req.architecture,
            suites.iter().flat_map(|s| s.packages.iter().cloned()),
        );
        let requests = req
            .packages
            .iter()
            .map(|p| Request::parse(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| DebianError::Request {
                key: key.to_owned(),
                reason: e.to_string(),
            })?;
        let options = ResolveOptions {
            essential: req.essential,
            required: req.required,
            recommends: false,
        };
        let resolution = resolve(&universe, &requests, options).map_err(DebianError::from)?;
        let sources: Vec<Value> = suites
            .iter()
            .map(|s| {
                json!({
                    "uri": s.location.uri,
                    "suite": s.location.suite,
                    "inrelease_sha256": s.inrelease_sha256.to_string(),
                })
            })
            .collect();
        let mut packages = Vec::with_capacity(resolution.packages.len());
        for p in &resolution.packages {
            let location = suites
                .iter()
                .map(|s| &s.location)
                .find(|l| l.suite == p.suite)
                .ok_or_else(|| DebianError::Request {
                    key: key.to_owned(),
                    reason: format!(
                        "package {} comes from unrequested suite {}",
                        p.name, p.suite
                    ),
                })?;
            packages.push(json!({
                "name": p.name,
                "version": p.version.to_string(),
                "architecture": p.architecture,
                "filename": p.filename,
                "sha256": p.sha256.to_string(),
                "size": p.size,
                "url": location.pool_url(&p.filename),
            }));
        }
        packages.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        Ok(json!({
            "request": request,
            "sources": sources,
            "packages": packages,
        }))
    }

    /// Where each suite lives and which keyring signs it.
    fn targets(&self, req: &DebianRequest) -> Result<Vec<(SuiteLocation, Keyring)>, DebianError> {
        let sources = discover(&self.apt_dir)?;
        let mut out = Vec::new();
        for suite in &req.suites {
            let source = find_source(&sources, suite, req);
            let mirror = match &req.security_mirror {
                Some(m) if suite.ends_with("-security") => m,
                _ => &req.mirror,
            };
            let (uri, keyring) = if mirror == SYSTEM_MIRROR {
                let source = source.ok_or_else(|| DebianError::NoSource {
                    apt_dir: self.apt_dir.clone(),
                    suite: suite.clone(),
                    components: req.components.clone(),
                    architecture: req.architecture.clone(),
                })?;
                (source.uris[0].clone(), source_keyring(source)?)
            } else {
                // An explicit mirror is trusted with the keyring the machine
                // trusts for the same suite, else Debian's archive keyring.
                let keyring = match source {
                    Some(s) => source_keyring(s)?,
                    None => {
                        let path = PathBuf::from(DEBIAN_ARCHIVE_KEYRING);
                        let bytes =
                            std::fs::read(&path).map_err(|source| DebianError::Keyring {
                                path: path.clone(),
                                source,
                            })?;
                        Keyring::from_bytes(&bytes, DEBIAN_ARCHIVE_KEYRING)
                            .map_err(|e| DebianError::Archive(ArchiveError::Release(e)))?
                    }
                };
                (mirror.trim_end_matches('/').to_owned(), keyring)
            };
            out.push((
                SuiteLocation {
                    uri,
                    suite: suite.clone(),
                },
                keyring,
            ));
        }
        Ok(out)
    }

    fn load(
        &self,
        location: &SuiteLocation,
        keyring: &Keyring,
        req: &DebianRequest,
        fetcher: &Fetcher,
    ) -> Result<Arc<LoadedSuite>, DebianLockError> {
        let key = (
            location.uri.clone(),
            location.suite.clone(),
            req.components.clone(),
            req.architecture.clone(),
        );
        if let Some(s) = self.memo().get(&key) {
            return Ok(s.clone());
        }
        let mut fetch_error: Option<FetchError> = None;
        let mut fetch = |url: &str| -> FetchResult {
            self.fetch_bytes(url, fetcher).map_err(|e| {
                let text = e.to_string();
                fetch_error = Some(e);
                text.into()
            })
        };
        let loaded = load_suite(
            location,
            &req.components,
            &req.architecture,
            keyring,
            &mut fetch,
        );
        let loaded = match loaded {
            Ok(l) => Arc::new(l),
            Err(ArchiveError::Fetch { .. }) if fetch_error.is_some() => {
                return Err(DebianLockError::Fetch(
                    fetch_error.take().expect("checked above"),
                ));
            }
            Err(e) => return Err(DebianError::Archive(e).into()),
        };
        self.memo().insert(key, loaded.clone());
        Ok(loaded)
    }

    fn memo(&self) -> std::sync::MutexGuard<'_, BTreeMap<SuiteKey, Arc<LoadedSuite>>> {
        // A panic while holding the lock leaves only fully inserted suites.
        self.loaded.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Bytes of `url` through the fetcher. `by-hash` URLs are pinned by
    /// their hash (and cached); anything else (`InRelease`) is read once
    /// to learn its hash, then fetched against it, so even an unpinned
    /// file lands through the fetcher's verified path.
    fn fetch_bytes(&self, url: &str, fetcher: &Fetcher) -> Result<Vec<u8>, FetchError> {
        let pinned = url
            .rsplit_once("/by-hash/SHA256/")
            .and_then(|(_, hex)| hex.parse::<Sha256>().ok());
        let pin = match pinned {
            Some(sha) => sha,
            None => {
                let (hash, _) = fetcher.prefetch(url)?;
                Sha256(hash.bytes.as_slice().try_into().map_err(|_| {
                    FetchError::io(
                        "hash",
                        url,
                        std::io::Error::other("prefetch returned a non-sha256 hash"),
                    )
                })?)
            }
        };
        let expected = FixedHash {
            algorithm: "sha256".into(),
            bytes: pin.0.to_vec(),
        };
        let cached = match (&self.index_cache, pinned.is_some()) {
            (Some(dir), true) => Some(dir.join("sha256").join(pin.to_string())),
            _ => None,
        };
        if let Some(path) = &cached
            && let Ok(bytes) = std::fs::read(path)
            && Sha256::of(&bytes) == pin
        {
            return Ok(bytes);
        }
        let scratch;
        let dest = match &cached {
            Some(path) => {
                let dir = path.parent().unwrap_or(Path::new("."));
                std::fs::create_dir_all(dir)
                    .map_err(|e| FetchError::io("create directory", dir, e))?;
                path.clone()
            }
            None => {
                scratch = tempfile::tempdir()
                    .map_err(|e| FetchError::io("create temporary directory for", url, e))?;
                scratch.path().join("download")
            }
        };
        fetcher.fetch_to(url, &expected, &dest)?;
        std::fs::read(&dest).map_err(|e| FetchError::io("read", &dest, e))
    }
}

/// Why [`DebianResolver::resolve_request`] failed: a download (the
/// fetcher's own error, naming the URL and every source tried), or
/// anything else.
#[derive(Debug, thiserror::Error)]
pub enum DebianLockError {
    #[error(transparent)]
    Fetch(FetchError),
    #[error(transparent)]
    Debian(#[from] DebianError),
}

impl Resolver for DebianResolver {
    fn section(&self) -> &'static str {
        DEBIAN_SECTION
    }

    fn resolve(&self, key: &str, request: &Value, fetcher: &Fetcher) -> Result<Value, FetchError> {
        self.resolve_request(key, request, fetcher)
            .map_err(|e| match e {
                DebianLockError::Fetch(e) => e,
                DebianLockError::Debian(e) => e.into_fetch(key),
            })
    }
}

/// The first binary apt source listing `suite` with every requested
/// component for the architecture.
fn find_source<'a>(
    sources: &'a [AptSource],
    suite: &str,
    req: &DebianRequest,
) -> Option<&'a AptSource> {
    sources.iter().find(|s| {
        s.is_binary()
            && s.covers_arch(&req.architecture)
            && s.suites.iter().any(|x| x == suite)
            && req
                .components
                .iter()
                .all(|c| s.components.iter().any(|x| x == c))
            && !s.uris.is_empty()
    })
}

fn source_keyring(source: &AptSource) -> Result<Keyring, DebianError> {
    Ok(keyring_for(
        source.signed_by.as_ref(),
        &source.origin,
        &mut |p| std::fs::read(p),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_requests_are_the_roots_of_failed_chains() {
        use hlb_debian::resolve::{Conflict, Problem};
        let chain = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let unsat = DebianError::Resolve(ResolveError::Unsatisfiable(vec![
            Problem {
                chain: chain(&["dnsdist (>= 99) (requested)"]),
                details: vec![],
            },
            Problem {
                chain: chain(&["passwd (priority required)", "passwd depends on libfoo"]),
                details: vec![],
            },
        ]));
        assert_eq!(unsat.failed_requests(), ["dnsdist (>= 99)"]);
        let clash = DebianError::Resolve(ResolveError::Conflicts(vec![Conflict {
            package: "postfix 3.7".into(),
            field: "Conflicts",
            relation: "mail-transport-agent".into(),
            other: "exim4-daemon-light 4.96".into(),
            chains: [
                chain(&["postfix (requested)"]),
                chain(&["exim4-daemon-light (requested)"]),
            ],
        }]));
        assert_eq!(clash.failed_requests(), ["postfix", "exim4-daemon-light"]);
        let e = DebianError::Request {
            key: "k".into(),
            reason: "r".into(),
        };
        assert!(e.failed_requests().is_empty());
    }

    #[test]
    fn requests_are_checked() {
        let ok = json!({"mirror": "system", "suites": ["bookworm"], "components": ["main"],
                        "architecture": "amd64", "packages": ["dnsdist (>= 1.7)"]});
        let r = DebianRequest::from_json("k", &ok).unwrap();
        assert!(!r.essential && !r.required);
        let cases = [
            (json!({"mirror": "system"}), "missing field"),
            (
                json!({"mirror": "deb.example", "suites": ["b"], "components": ["main"],
                       "architecture": "amd64", "packages": ["ab"]}),
                "use \"system\" or a URI",
            ),
            (
                json!({"mirror": "system", "suites": [], "components": ["main"],
                       "architecture": "amd64", "packages": ["ab"]}),
                "`suites` is empty",
            ),
            (
                json!({"mirror": "system", "suites": ["b"], "components": ["main"],
                       "architecture": "amd64", "packages": ["a ("]}),
                "package \"a (\"",
            ),
            (
                json!({"mirror": "system", "suites": ["b"], "components": ["main"],
                       "architecture": "amd64", "packages": ["ab"], "secret": 1}),
                "unknown field",
            ),
        ];
        for (value, wanted) in cases {
            let e = DebianRequest::from_json("k", &value)
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("invalid Debian request `k`: "), "{e}");
            assert!(e.contains(wanted), "{e} lacks {wanted}");
        }
    }

    #[test]
    fn errors_travel_inside_fetch_errors() {
        let e = DebianError::Request {
            key: "k".into(),
            reason: "r".into(),
        }
        .into_fetch("k");
        assert_eq!(
            e.to_string(),
            "cannot lock Debian packages for k: invalid Debian request `k`: r"
        );
        assert!(matches!(
            DebianError::from_fetch_error(&e),
            Some(DebianError::Request { .. })
        ));
    }

    #[test]
    fn a_suite_no_source_lists_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sources.list.d")).unwrap();
        let resolver = DebianResolver::with_apt_dir(dir.path());
        let req = DebianRequest::from_json(
            "k",
            &json!({"mirror": "system", "suites": ["trixie"], "components": ["main"],
                    "architecture": "amd64", "packages": ["ab"]}),
        )
        .unwrap();
        let e = resolver.targets(&req).err().unwrap().to_string();
        assert!(
            e.contains("lists suite trixie with components main for amd64"),
            "{e}"
        );
    }
}
