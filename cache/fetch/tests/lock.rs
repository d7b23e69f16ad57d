//! The `hlb.lock` format (hlb_cache::lock) and `update_lock` against a
//! local server.

mod support;

use hlb_cache::FixedHash;
use hlb_cache::lock::{Lock, LockError, LockRequests, Staleness};
use hlb_fetch::{FetchResolver, LockEvent, LockUpdateError, Resolver, update_lock};
use serde_json::json;
use support::*;

fn h(byte: &str) -> FixedHash {
    FixedHash::parse(&format!("sha256:{}", byte.repeat(32))).unwrap()
}

fn sample() -> Lock {
    let mut lock = Lock::new();
    // Inserted out of order, with unsorted nested keys: output must not care.
    lock.set(
        "debian",
        "base",
        json!({"request": {"suite": "bookworm", "packages": ["curl", "bash"]},
               "closure": [{"name": "bash", "hash": "sha256:00"}]}),
    );
    lock.set_fetch("https://example.org/z.tar.gz", &h("cd"), 42);
    lock.set_fetch("https://example.org/a.tar.gz", &h("ab"), 7);
    lock
}

#[test]
fn canonical_bytes_are_sorted_and_stable() {
    let text = sample().to_string_canonical();
    insta::assert_snapshot!(text);
    let back = Lock::parse(&text).unwrap();
    assert_eq!(back, sample());
    assert_eq!(
        back.to_string_canonical(),
        text,
        "re-rendering is byte-identical"
    );
    assert!(text.ends_with("}\n") && !text.ends_with("\n\n"));
}

#[test]
fn empty_lock_and_empty_sections() {
    let mut lock = Lock::new();
    assert_eq!(lock.to_string_canonical(), "{\n  \"version\": 1\n}\n");
    lock.set_fetch("https://example.org/a", &h("ab"), 1);
    lock.remove("fetch", "https://example.org/a");
    assert_eq!(lock.to_string_canonical(), "{\n  \"version\": 1\n}\n");
    assert_eq!(
        Lock::parse("{\"version\": 1, \"fetch\": {}}")
            .unwrap()
            .to_string_canonical(),
        lock.to_string_canonical()
    );
}

#[test]
fn fetch_accessors() {
    let lock = sample();
    assert_eq!(
        lock.fetch_hash("https://example.org/a.tar.gz"),
        Some(h("ab"))
    );
    assert_eq!(
        lock.fetch_pin("https://example.org/z.tar.gz"),
        Some((h("cd"), 42))
    );
    assert_eq!(lock.fetch_hash("https://example.org/other"), None);
}

fn parse_err(text: &str) -> String {
    Lock::parse(text).unwrap_err().to_string()
}

#[test]
fn parse_errors_name_line_and_column() {
    let missing_comma = "{\n  \"version\": 1\n  \"fetch\": {}\n}\n";
    let dup = format!(
        "{{\n  \"version\": 1,\n  \"fetch\": {{\n    \"https://example.org/a\": {{\"hash\": \"{0}\", \"size\": 1}},\n    \"https://example.org/a\": {{\"hash\": \"{0}\", \"size\": 2}}\n  }}\n}}\n",
        h("ab")
    );
    let not_object = "{\"version\": 1, \"debian\": {\"base\": [1, 2]}}";
    let bad_hash = "{\"version\": 1,\n \"fetch\": {\"https://u:secret@example.org/a\": {\"hash\": \"md5:00\", \"size\": 1}}}";
    let no_size = format!(
        "{{\"version\": 1, \"fetch\": {{\"x\": {{\"hash\": \"{}\"}}}}}}",
        h("ab")
    );
    let no_version = "{\"fetch\": {}}";
    let trailing = "{\"version\": 1} x";
    let all = [
        ("missing comma", missing_comma.to_string()),
        ("duplicate key", dup),
        ("entry not an object", not_object.to_string()),
        ("bad fetch hash", bad_hash.to_string()),
        ("fetch entry without size", no_size),
        ("no version", no_version.to_string()),
        ("trailing garbage", trailing.to_string()),
        ("not an object", "[]".to_string()),
    ];
    let report: String = all
        .iter()
        .map(|(what, text)| format!("{what}: {}\n", parse_err(text)))
        .collect();
    assert!(!report.contains("secret"), "{report}");
    insta::assert_snapshot!(report);
}

#[test]
fn unknown_versions_are_refused() {
    for v in ["2", "0", "\"1\"", "1.5"] {
        let err = Lock::parse(&format!("{{\"version\": {v}}}")).unwrap_err();
        assert!(
            matches!(err, LockError::UnsupportedVersion { ref found } if found == v),
            "{v}: {err}"
        );
    }
    insta::assert_snapshot!(parse_err("{\"version\": 2, \"fetch\": {}}"));
}

#[test]
fn staleness_lists_missing_unneeded_and_changed() {
    let lock = sample();
    let mut req = LockRequests::default();
    req.insert("fetch", "https://example.org/a.tar.gz", json!({}));
    req.insert("fetch", "https://example.org/new.tar.gz", json!({}));
    req.insert(
        "debian",
        "base",
        json!({"suite": "bookworm", "packages": ["curl", "bash", "jq"]}),
    );
    let stale = lock.stale(&req);
    assert_eq!(
        stale,
        vec![
            Staleness::Changed {
                section: "debian".into(),
                key: "base".into(),
                locked: json!({"suite": "bookworm", "packages": ["curl", "bash"]}),
                requested: json!({"suite": "bookworm", "packages": ["curl", "bash", "jq"]}),
            },
            Staleness::Missing {
                section: "fetch".into(),
                key: "https://example.org/new.tar.gz".into()
            },
            Staleness::Unneeded {
                section: "fetch".into(),
                key: "https://example.org/z.tar.gz".into()
            },
        ]
    );
    let shown: Vec<String> = stale.iter().map(ToString::to_string).collect();
    insta::assert_snapshot!(shown.join("\n"));

    // Exactly what the lock holds: nothing is stale.
    let mut exact = LockRequests::default();
    exact.insert("fetch", "https://example.org/a.tar.gz", json!({}));
    exact.insert("fetch", "https://example.org/z.tar.gz", json!(null));
    exact.insert(
        "debian",
        "base",
        json!({"suite": "bookworm", "packages": ["curl", "bash"]}),
    );
    assert_eq!(lock.stale(&exact), vec![]);
}

#[test]
fn update_lock_resolves_missing_drops_unneeded_keeps_the_rest() {
    let body = payload(3000);
    let srv = TestServer::start(&[("/dl/new.tar.gz", Reply::Ok(body.clone()))]);
    let new_url = srv.url("/dl/new.tar.gz");
    let mut lock = sample();
    let before = lock.clone();
    let mut req = LockRequests::default();
    // a.tar.gz stays requested: its pin (which no server serves) must be kept as is.
    req.insert("fetch", "https://example.org/a.tar.gz", json!({}));
    req.insert("fetch", &new_url, json!({}));
    req.insert(
        "debian",
        "base",
        json!({"suite": "bookworm", "packages": ["curl", "bash"]}),
    );

    let (f, _) = fetcher_with(fast_options(vec![]));
    let events = std::cell::RefCell::new(Vec::new());
    let resolvers: [&dyn Resolver; 1] = [&FetchResolver];
    let changes = update_lock(&mut lock, &req, &resolvers, &f, &|e| {
        events.borrow_mut().push(e)
    })
    .unwrap();

    assert_eq!(changes.added, [("fetch".to_string(), new_url.clone())]);
    assert_eq!(
        changes.removed,
        [(
            "fetch".to_string(),
            "https://example.org/z.tar.gz".to_string()
        )]
    );
    assert!(changes.updated.is_empty());
    assert_eq!(lock.fetch_pin(&new_url), Some((sha256(&body), 3000)));
    assert_eq!(srv.requests(), ["/dl/new.tar.gz"]);
    let fetch = |key: &str| ("fetch".to_string(), key.to_string());
    let (s, k) = fetch(&new_url);
    let (s2, k2) = fetch("https://example.org/z.tar.gz");
    assert_eq!(
        *events.borrow(),
        [
            LockEvent::Resolving {
                section: s.clone(),
                key: k.clone()
            },
            LockEvent::Resolved { section: s, key: k },
            LockEvent::Removed {
                section: s2,
                key: k2
            },
        ]
    );

    // Untouched entries are byte-identical in the file.
    let text = lock.to_string_canonical();
    let mut expected = before.clone();
    expected.remove("fetch", "https://example.org/z.tar.gz");
    expected.set_fetch(&new_url, &sha256(&body), 3000);
    assert_eq!(text, expected.to_string_canonical());
    let before_text = before.to_string_canonical();
    for key in ["base", "https://example.org/a.tar.gz"] {
        assert_eq!(
            entry_block(&text, key),
            entry_block(&before_text, key),
            "{key}"
        );
    }
    assert!(lock.stale(&req).is_empty());
    assert_eq!(changes.to_string(), "1 added, 0 updated, 1 removed");
    assert_eq!(
        events.borrow()[2].to_string(),
        "removed fetch https://example.org/z.tar.gz"
    );

    // Running again changes nothing and downloads nothing.
    let again = update_lock(&mut lock, &req, &resolvers, &f, &|_| {}).unwrap();
    assert!(again.is_empty());
    assert_eq!(again.to_string(), "up to date");
    assert_eq!(lock.to_string_canonical(), text);
    assert_eq!(srv.requests().len(), 1);
}

#[test]
fn update_lock_failure_leaves_the_lock_unchanged() {
    let srv = TestServer::start(&[("/ok.bin", Reply::Ok(b"ok".to_vec()))]);
    let mut lock = sample();
    let before = lock.clone();
    let mut req = LockRequests::default();
    req.insert("fetch", &srv.url("/ok.bin"), json!({}));
    req.insert("fetch", &srv.url("/gone.bin"), json!({}));
    let (f, _) = fetcher_with(fast_options(vec![]));
    let err = update_lock(&mut lock, &req, &[&FetchResolver], &f, &|_| {}).unwrap_err();
    assert_eq!(lock, before);
    assert!(matches!(&err, LockUpdateError::Resolve(fs) if fs.len() == 1));
    settings(std::path::Path::new("/nonexistent"))
        .bind(|| insta::assert_snapshot!(err.to_string()));
}

#[test]
fn update_lock_needs_a_resolver_per_stale_section() {
    let mut lock = Lock::new();
    let mut req = LockRequests::default();
    req.insert("helm", "traefik", json!({"version": "^1"}));
    let (f, _) = fetcher_with(fast_options(vec![]));
    let err = update_lock(&mut lock, &req, &[&FetchResolver], &f, &|_| {}).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no resolver for lock section `helm` (needed for `traefik`)"
    );
}

/// The canonical text of one entry: from its key to the closing brace.
fn entry_block<'a>(text: &'a str, key: &str) -> &'a str {
    let start = text
        .find(&format!("\n    \"{key}\": {{"))
        .expect("entry present");
    let len = text[start..].find("\n    }").expect("entry closed");
    &text[start..start + len + 6]
}
