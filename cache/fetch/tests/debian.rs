//! The `debian` lock section against the machine's real Debian mirror
//! (design D9: the mirror and keyring come from `/etc/apt`, never from
//! this repository). Verified `Packages` indexes are kept under
//! `target/hlb-test-cache/debian-index/` by hash; `InRelease` is always
//! fetched. The archive moves, so assertions are about properties of the
//! entry, not about today's versions.

use std::path::{Path, PathBuf};

use hlb_cache::FixedHash;
use hlb_cache::lock::{Lock, LockRequests, Staleness};
use hlb_fetch::{
    DEBIAN_SECTION, DebianError, DebianResolver, FetchOptions, Fetcher, LockUpdateError, Resolver,
    update_lock,
};
use serde_json::{Value, json};

fn cache_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("hlb-test-cache").join("debian-index")
}

fn resolver() -> DebianResolver {
    DebianResolver::new().with_index_cache(cache_dir())
}

fn fetcher() -> Fetcher {
    Fetcher::new(FetchOptions::default()).expect("fetcher")
}

fn request(packages: &[&str]) -> Value {
    json!({
        "mirror": "system",
        "suites": ["bookworm", "bookworm-updates", "bookworm-security"],
        "components": ["main"],
        "architecture": "amd64",
        "packages": packages,
        "essential": false,
        "required": false,
    })
}

fn requests(packages: &[&str]) -> LockRequests {
    let mut r = LockRequests::default();
    r.insert(DEBIAN_SECTION, "dns", request(packages));
    r
}

fn lock_with(resolver: &DebianResolver, fetcher: &Fetcher, req: &LockRequests) -> Lock {
    let mut lock = Lock::new();
    let changes = update_lock(&mut lock, req, &[resolver], fetcher, &|_| {})
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        changes.added,
        vec![(DEBIAN_SECTION.to_owned(), "dns".to_owned())]
    );
    lock
}

#[test]
fn locks_a_closure_deterministically_and_notices_changed_requests() {
    let fetcher = fetcher();
    let first = resolver();
    let req = requests(&["dnsdist"]);
    let mut lock = lock_with(&first, &fetcher, &req);
    // A second resolver loads the archive afresh: same bytes.
    let again = lock_with(&resolver(), &fetcher, &req);
    let text = lock.to_string_canonical();
    assert_eq!(text, again.to_string_canonical());
    assert_eq!(Lock::parse(&text).unwrap().to_string_canonical(), text);

    let entry = lock.get(DEBIAN_SECTION, "dns").unwrap().clone();
    // The fields docs/lxc.md documents (and debian_docs.rs checks there).
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&entry), ["packages", "request", "sources"]);
    assert_eq!(
        keys(&entry["packages"][0]),
        [
            "architecture",
            "filename",
            "name",
            "sha256",
            "size",
            "url",
            "version"
        ]
    );
    assert_eq!(
        keys(&entry["sources"][0]),
        ["inrelease_sha256", "suite", "uri"]
    );
    assert_eq!(entry["request"], request(&["dnsdist"]));
    let sources = entry["sources"].as_array().unwrap();
    let suites: Vec<&str> = sources
        .iter()
        .map(|s| s["suite"].as_str().unwrap())
        .collect();
    assert_eq!(
        suites,
        ["bookworm", "bookworm-updates", "bookworm-security"]
    );
    for s in sources {
        assert_eq!(s["inrelease_sha256"].as_str().unwrap().len(), 64, "{s}");
        assert!(s["uri"].as_str().unwrap().contains("://"), "{s}");
    }
    let packages = entry["packages"].as_array().unwrap();
    let names: Vec<&str> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(names, sorted, "sorted by name, one entry per name");
    for wanted in ["dnsdist", "libc6", "adduser"] {
        assert!(names.contains(&wanted), "{wanted} missing from {names:?}");
    }
    // Without essential/required, an unrelated essential package stays out.
    assert!(!names.contains(&"bash"), "{names:?}");
    for p in packages {
        let url = p["url"].as_str().unwrap();
        let filename = p["filename"].as_str().unwrap();
        assert!(url.ends_with(&format!("/{filename}")), "{p}");
        assert!(filename.ends_with(".deb"), "{p}");
        assert_eq!(p["sha256"].as_str().unwrap().len(), 64, "{p}");
        assert!(p["size"].as_u64().unwrap() > 0, "{p}");
        assert!(!p["version"].as_str().unwrap().is_empty(), "{p}");
        assert!(
            ["amd64", "all"].contains(&p["architecture"].as_str().unwrap()),
            "{p}"
        );
    }
    // The pins are real: the smallest .deb downloads against its pin.
    let smallest = packages
        .iter()
        .min_by_key(|p| p["size"].as_u64().unwrap())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pin =
        FixedHash::parse(&format!("sha256:{}", smallest["sha256"].as_str().unwrap())).unwrap();
    let got = fetcher
        .fetch_to(
            smallest["url"].as_str().unwrap(),
            &pin,
            &dir.path().join("x.deb"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.size, smallest["size"].as_u64().unwrap());

    // Up to date: nothing resolves, bytes unchanged.
    let changes = update_lock(&mut lock, &req, &[&first], &fetcher, &|_| {}).unwrap();
    assert!(changes.is_empty(), "{changes}");
    assert_eq!(lock.to_string_canonical(), text);

    // A changed package list is stale, and re-resolving adds the package.
    let changed = requests(&["dnsdist", "netbase"]);
    let stale = lock.stale(&changed);
    assert!(
        matches!(stale.as_slice(), [Staleness::Changed { section, key, .. }]
            if section == DEBIAN_SECTION && key == "dns"),
        "{stale:?}"
    );
    let changes = update_lock(&mut lock, &changed, &[&first], &fetcher, &|_| {}).unwrap();
    assert_eq!(
        changes.updated,
        vec![(DEBIAN_SECTION.to_owned(), "dns".to_owned())]
    );
    let entry = lock.get(DEBIAN_SECTION, "dns").unwrap();
    assert!(
        entry["packages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "netbase")
    );
    assert!(lock.stale(&changed).is_empty());
}

#[test]
fn unsatisfiable_and_conflicting_requests_name_the_packages() {
    let fetcher = fetcher();
    let resolver = resolver();
    let e = resolver
        .resolve("x", &request(&["dnsdist", "hlb-no-such-package"]), &fetcher)
        .unwrap_err();
    assert!(
        matches!(
            DebianError::from_fetch_error(&e),
            Some(DebianError::Resolve(_))
        ),
        "{e}"
    );
    let text = e.to_string();
    assert!(text.contains("hlb-no-such-package (requested)"), "{text}");

    let e = resolver
        .resolve("x", &request(&["postfix", "exim4-daemon-light"]), &fetcher)
        .unwrap_err()
        .to_string();
    assert!(e.contains("conflicts"), "{e}");
    assert!(
        e.contains("postfix") && e.contains("exim4-daemon-light"),
        "{e}"
    );
    assert!(e.contains("mail-transport-agent"), "{e}");

    // Through update_lock, the key is named and the lock is left alone.
    let mut lock = Lock::new();
    let bad = requests(&["hlb-no-such-package"]);
    let err = update_lock(&mut lock, &bad, &[&resolver], &fetcher, &|_| {}).unwrap_err();
    assert!(matches!(err, LockUpdateError::Resolve(ref f) if f.len() == 1));
    assert!(err.to_string().contains("debian `dns`"), "{err}");
    assert_eq!(lock, Lock::new());
}

#[test]
fn offline_without_mirrors_cannot_reach_the_archive() {
    let fetcher = Fetcher::new(FetchOptions {
        offline: true,
        ..FetchOptions::default()
    })
    .unwrap();
    let e = resolver()
        .resolve("x", &request(&["dnsdist"]), &fetcher)
        .unwrap_err();
    assert!(DebianError::from_fetch_error(&e).is_none(), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("InRelease") && text.contains("offline"),
        "{text}"
    );
}
