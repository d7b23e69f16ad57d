//! Downloads against a local HTTP server with injected faults, directory
//! mirrors and `file://` URLs.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use hlb_fetch::{FetchError, FetchEvent, Mirror, Redacted};
use support::*;

#[test]
fn correct_bytes_land_with_mode_0644() {
    let body = payload(300_000);
    let srv = TestServer::start(&[("/dl/tool.tar.gz", Reply::Ok(body.clone()))]);
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("out");
    let (f, events) = fetcher_with(fast_options(vec![]));
    let got = f
        .fetch_to(&srv.url("/dl/tool.tar.gz"), &sha256(&body), &dest)
        .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    assert_eq!(
        std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777,
        0o644
    );
    assert_eq!(got.size, body.len() as u64);
    assert!(!got.from_mirror);
    assert_eq!(got.hash, sha256(&body));
    assert_eq!(entries(tmp.path()), ["out"]);
    let ev = events.all();
    assert!(
        matches!(ev.first(), Some(FetchEvent::Started { .. })),
        "{ev:?}"
    );
    assert!(
        matches!(ev.last(), Some(FetchEvent::Done { bytes, .. }) if *bytes == body.len() as u64),
        "{ev:?}"
    );
    let last_progress = ev.iter().rev().find_map(|e| match e {
        FetchEvent::Progress { bytes, total, .. } => Some((*bytes, *total)),
        _ => None,
    });
    assert_eq!(last_progress, Some((300_000, Some(300_000))));
}

#[test]
fn blake3_pins_are_verified_too() {
    let body = payload(1000);
    let srv = TestServer::start(&[("/x", Reply::Ok(body.clone()))]);
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("x");
    let (f, _) = fetcher_with(fast_options(vec![]));
    f.fetch_to(&srv.url("/x"), &blake3(&body), &dest).unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    let err = f
        .fetch_to(&srv.url("/x"), &blake3(b"other"), &dest)
        .unwrap_err();
    assert!(matches!(err, FetchError::HashMismatch(ref m) if m.actual == blake3(&body)));
}

#[test]
fn not_found_fails_without_retry_and_leaves_nothing() {
    let srv = TestServer::start(&[]);
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("out");
    let (f, _) = fetcher_with(fast_options(vec![]));
    let err = f
        .fetch_to(&srv.url("/missing"), &sha256(b"x"), &dest)
        .unwrap_err();
    assert!(matches!(err, FetchError::Unavailable { .. }), "{err}");
    assert_eq!(srv.hits("/missing"), 1);
    assert!(entries(tmp.path()).is_empty());
    settings(tmp.path()).bind(|| insta::assert_snapshot!(err.to_string()));
}

#[test]
fn server_errors_are_retried_then_succeed() {
    let body = payload(5000);
    let srv = TestServer::start(&[(
        "/flaky",
        Reply::Sequence(vec![
            Reply::Status(500),
            Reply::Status(503),
            Reply::Ok(body.clone()),
        ]),
    )]);
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("out");
    let (f, events) = fetcher_with(fast_options(vec![]));
    f.fetch_to(&srv.url("/flaky"), &sha256(&body), &dest)
        .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    assert_eq!(srv.hits("/flaky"), 3);
    let retries: Vec<_> = events
        .all()
        .into_iter()
        .filter_map(|e| match e {
            FetchEvent::Retrying {
                attempt, reason, ..
            } => Some((attempt, reason)),
            _ => None,
        })
        .collect();
    assert_eq!(retries.len(), 2, "{retries:?}");
    assert_eq!(retries[0].0, 1);
    assert!(retries[1].1.contains("503"), "{retries:?}");
}

#[test]
fn persistent_server_errors_give_up_after_bounded_retries() {
    let srv = TestServer::start(&[("/down", Reply::Status(502))]);
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("out");
    let (f, _) = fetcher_with(fast_options(vec![]));
    let err = f
        .fetch_to(&srv.url("/down"), &sha256(b"x"), &dest)
        .unwrap_err();
    assert_eq!(srv.hits("/down"), 3, "1 attempt + 2 retries");
    assert!(entries(tmp.path()).is_empty());
    settings(tmp.path()).bind(|| insta::assert_snapshot!(err.to_string()));
}

#[test]
fn client_errors_are_not_retried() {
    let srv = TestServer::start(&[("/forbidden", Reply::Status(403))]);
    let tmp = tempfile::tempdir().unwrap();
    let (f, _) = fetcher_with(fast_options(vec![]));
    let err = f
        .fetch_to(&srv.url("/forbidden"), &sha256(b"x"), &tmp.path().join("o"))
        .unwrap_err();
    assert_eq!(srv.hits("/forbidden"), 1);
    assert!(err.to_string().contains("HTTP 403"), "{err}");
}

#[test]
fn connection_dropped_mid_body_never_lands() {
    let body = payload(100_000);
    let srv = TestServer::start(&[(
        "/cut",
        Reply::DropMidBody {
            body: body.clone(),
            after: 40_000,
        },
    )]);
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("out");
    let (f, _) = fetcher_with(fast_options(vec![]));
    let err = f
        .fetch_to(&srv.url("/cut"), &sha256(&body), &dest)
        .unwrap_err();
    assert_eq!(srv.hits("/cut"), 3, "a cut connection is retried");
    assert!(!dest.exists());
    assert!(entries(tmp.path()).is_empty(), "no stray temporary file");
    let text = err.to_string();
    assert!(
        text.contains("after 40000 bytes") || text.contains("40000 of 100000"),
        "{text}"
    );
}

#[test]
fn connection_dropped_once_then_retry_succeeds() {
    let body = payload(100_000);
    let srv = TestServer::start(&[(
        "/cut-once",
        Reply::Sequence(vec![
            Reply::DropMidBody {
                body: body.clone(),
                after: 10,
            },
            Reply::Ok(body.clone()),
        ]),
    )]);
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("out");
    let (f, _) = fetcher_with(fast_options(vec![]));
    f.fetch_to(&srv.url("/cut-once"), &sha256(&body), &dest)
        .unwrap();
    // The retry started from scratch: no bytes of the first attempt doubled.
    assert_eq!(std::fs::read(&dest).unwrap(), body);
}

#[test]
fn slow_first_byte_times_out_quickly() {
    let srv = TestServer::start(&[(
        "/slow",
        Reply::Slow {
            delay: Duration::from_secs(5),
            body: b"late".to_vec(),
        },
    )]);
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("out");
    let mut opts = fast_options(vec![]);
    opts.read_timeout = Duration::from_millis(200);
    opts.retries = 1;
    let (f, _) = fetcher_with(opts);
    let start = Instant::now();
    let err = f
        .fetch_to(&srv.url("/slow"), &sha256(b"late"), &dest)
        .unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(srv.hits("/slow"), 2);
    assert!(
        err.to_string()
            .contains("no response within 0.2s (2 attempts)"),
        "{err}"
    );
    assert!(entries(tmp.path()).is_empty());
}

#[test]
fn upstream_mismatch_is_reported_and_never_retried() {
    let srv = TestServer::start(&[("/rel/tool-1.0.tar.gz", Reply::Ok(b"tampered".to_vec()))]);
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("out");
    let (f, _) = fetcher_with(fast_options(vec![]));
    let err = f
        .fetch_to(
            &srv.url("/rel/tool-1.0.tar.gz"),
            &sha256(b"original"),
            &dest,
        )
        .unwrap_err();
    assert_eq!(srv.hits("/rel/tool-1.0.tar.gz"), 1);
    assert!(entries(tmp.path()).is_empty());
    match &err {
        FetchError::HashMismatch(m) => {
            assert_eq!(m.expected, sha256(b"original"));
            assert_eq!(m.actual, sha256(b"tampered"));
            assert_eq!(m.size, 8);
        }
        other => panic!("expected a mismatch, got {other}"),
    }
    settings(tmp.path()).bind(|| insta::assert_snapshot!(err.to_string()));
}

#[test]
fn existing_dest_is_kept_when_the_download_fails() {
    let srv = TestServer::start(&[("/x", Reply::Ok(b"wrong".to_vec()))]);
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("out");
    std::fs::write(&dest, b"previous").unwrap();
    let (f, _) = fetcher_with(fast_options(vec![]));
    f.fetch_to(&srv.url("/x"), &sha256(b"right"), &dest)
        .unwrap_err();
    assert_eq!(std::fs::read(&dest).unwrap(), b"previous");
    assert_eq!(entries(tmp.path()), ["out"]);
}

#[test]
fn mirror_by_hash_is_used_before_upstream() {
    let body = payload(4096);
    let hash = sha256(&body);
    let upstream = TestServer::start(&[("/rel/tool.bin", Reply::Ok(body.clone()))]);
    let mirror = tempfile::tempdir().unwrap();
    put(
        mirror.path(),
        &format!("sha256/{}", hex::encode(&hash.bytes)),
        &body,
    );
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("out");
    let (f, _) = fetcher_with(fast_options(vec![Mirror::Dir(mirror.path().into())]));
    let got = f
        .fetch_to(&upstream.url("/rel/tool.bin"), &hash, &dest)
        .unwrap();
    assert!(got.from_mirror);
    assert!(
        got.source
            .ends_with(&format!("sha256/{}", hex::encode(&hash.bytes))),
        "{got:?}"
    );
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    assert!(
        upstream.requests().is_empty(),
        "upstream saw {:?}",
        upstream.requests()
    );
}

#[test]
fn mirror_by_name_is_used_before_upstream() {
    let body = payload(4096);
    let upstream = TestServer::start(&[("/rel/v1/tool.bin", Reply::Ok(body.clone()))]);
    let mirror = tempfile::tempdir().unwrap();
    put(mirror.path(), "tool.bin", &body);
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("out");
    let (f, _) = fetcher_with(fast_options(vec![Mirror::Dir(mirror.path().into())]));
    let got = f
        .fetch_to(&upstream.url("/rel/v1/tool.bin"), &sha256(&body), &dest)
        .unwrap();
    assert!(got.from_mirror);
    assert_eq!(
        got.source,
        mirror.path().join("tool.bin").display().to_string()
    );
    assert!(
        upstream.requests().is_empty(),
        "upstream saw {:?}",
        upstream.requests()
    );
}

#[test]
fn http_mirror_by_hash_then_by_name() {
    let body = payload(2048);
    let hash = sha256(&body);
    let hex = hex::encode(&hash.bytes);
    let upstream = TestServer::start(&[("/rel/tool.bin", Reply::Ok(body.clone()))]);
    let mirror = TestServer::start(&[("/m/tool.bin", Reply::Ok(body.clone()))]);
    let tmp = tempfile::tempdir().unwrap();
    let (f, _) = fetcher_with(fast_options(vec![
        Mirror::parse(&mirror.url("/m/")).unwrap(),
    ]));
    let got = f
        .fetch_to(&upstream.url("/rel/tool.bin"), &hash, &tmp.path().join("o"))
        .unwrap();
    assert!(got.from_mirror);
    // By hash first (a miss here), then by name.
    assert_eq!(
        mirror.requests(),
        [format!("/m/sha256/{hex}"), "/m/tool.bin".to_string()]
    );
    assert!(upstream.requests().is_empty());

    mirror.set_route(&format!("/m/sha256/{hex}"), Reply::Ok(body.clone()));
    f.fetch_to(
        &upstream.url("/rel/tool.bin"),
        &hash,
        &tmp.path().join("o2"),
    )
    .unwrap();
    assert_eq!(
        mirror.hits("/m/tool.bin"),
        1,
        "the by-hash hit made the by-name lookup unnecessary"
    );
    assert!(upstream.requests().is_empty());
}

#[test]
fn mirror_with_wrong_bytes_is_skipped_with_a_warning() {
    let body = payload(1000);
    let upstream = TestServer::start(&[("/tool.bin", Reply::Ok(body.clone()))]);
    let bad = tempfile::tempdir().unwrap();
    put(bad.path(), "tool.bin", b"corrupt");
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("out");
    let (f, events) = fetcher_with(fast_options(vec![Mirror::Dir(bad.path().into())]));
    let got = f
        .fetch_to(&upstream.url("/tool.bin"), &sha256(&body), &dest)
        .unwrap();
    assert!(!got.from_mirror);
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    assert_eq!(upstream.hits("/tool.bin"), 1);
    let skipped: Vec<_> = events
        .all()
        .into_iter()
        .filter(|e| matches!(e, FetchEvent::MirrorSkipped { .. }))
        .collect();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    let FetchEvent::MirrorSkipped { source, reason, .. } = &skipped[0] else {
        unreachable!()
    };
    assert_eq!(*source, bad.path().join("tool.bin").display().to_string());
    assert!(reason.contains(&sha256(b"corrupt").to_string()), "{reason}");
}

#[test]
fn offline_uses_mirrors_only() {
    let body = payload(1000);
    let upstream = TestServer::start(&[("/tool.bin", Reply::Ok(body.clone()))]);
    let mirror = tempfile::tempdir().unwrap();
    put(mirror.path(), "tool.bin", &body);
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = fast_options(vec![Mirror::Dir(mirror.path().into())]);
    opts.offline = true;
    let (f, _) = fetcher_with(opts);
    let got = f
        .fetch_to(
            &upstream.url("/tool.bin"),
            &sha256(&body),
            &tmp.path().join("o"),
        )
        .unwrap();
    assert!(got.from_mirror);

    let err = f
        .fetch_to(
            &upstream.url("/other.bin"),
            &sha256(b"other"),
            &tmp.path().join("p"),
        )
        .unwrap_err();
    assert!(
        upstream.requests().is_empty(),
        "offline reached upstream: {:?}",
        upstream.requests()
    );
    assert!(matches!(err, FetchError::Unavailable { offline: true, .. }));
    let mut s = settings(tmp.path());
    s.add_filter(
        &regex_lite_escape(&mirror.path().display().to_string()),
        "[MIRROR]",
    );
    s.add_filter(r"[0-9a-f]{64}", "[HEX]");
    s.bind(|| insta::assert_snapshot!(err.to_string()));
}

#[test]
fn offline_without_mirrors_fails_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = fast_options(vec![]);
    opts.offline = true;
    let (f, _) = fetcher_with(opts);
    let err = f
        .fetch_to(
            "https://example.org/tool.bin",
            &sha256(b"x"),
            &tmp.path().join("o"),
        )
        .unwrap_err();
    insta::assert_snapshot!(err.to_string());
}

#[test]
fn file_urls_work_online_and_offline() {
    let src = tempfile::tempdir().unwrap();
    let body = payload(70_000);
    put(src.path(), "a b.bin", &body);
    let url = format!("file://{}/a%20b.bin", src.path().display());
    let tmp = tempfile::tempdir().unwrap();
    for offline in [false, true] {
        let mut opts = fast_options(vec![]);
        opts.offline = offline;
        let (f, _) = fetcher_with(opts);
        let dest = tmp.path().join(format!("out-{offline}"));
        let got = f.fetch_to(&url, &sha256(&body), &dest).unwrap();
        assert!(!got.from_mirror);
        assert_eq!(std::fs::read(&dest).unwrap(), body);
        let (h, n) = f.prefetch(&url).unwrap();
        assert_eq!((h, n), (sha256(&body), body.len() as u64));
    }
    let (f, _) = fetcher_with(fast_options(vec![]));
    let err = f
        .fetch_to(
            &format!("file://{}/nope", src.path().display()),
            &sha256(b""),
            &tmp.path().join("x"),
        )
        .unwrap_err();
    assert!(err.to_string().contains("not found"), "{err}");
}

#[test]
fn prefetch_pins_what_the_url_serves() {
    let body = payload(12345);
    let srv = TestServer::start(&[("/pkg.tgz", Reply::Ok(body.clone()))]);
    let (f, _) = fetcher_with(fast_options(vec![]));
    let (hash, size) = f.prefetch(&srv.url("/pkg.tgz")).unwrap();
    assert_eq!(hash, sha256(&body));
    assert_eq!(size, 12345);
}

#[test]
fn credentials_never_appear_in_errors_or_events() {
    let srv = TestServer::start(&[]);
    let url = format!("http://alice:hunter2@{}/private.bin", srv.addr);
    let tmp = tempfile::tempdir().unwrap();
    let (f, events) = fetcher_with(fast_options(vec![]));
    let err = f
        .fetch_to(&url, &sha256(b"x"), &tmp.path().join("o"))
        .unwrap_err();
    let text = format!("{err} {err:?} {:?}", events.all());
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("alice:****@"), "{text}");
    assert_eq!(srv.hits("/private.bin"), 1);
    // The credentials were sent (as basic auth), only never shown.
    assert_eq!(srv.auth_headers(), ["Basic YWxpY2U6aHVudGVyMg=="]);
    assert_eq!(Redacted(&url).to_string(), url.replace("hunter2", "****"));
}

#[test]
fn unsupported_schemes_and_bad_urls_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (f, _) = fetcher_with(fast_options(vec![]));
    let err = f
        .fetch_to("ftp://example.org/x", &sha256(b"x"), &tmp.path().join("o"))
        .unwrap_err();
    assert!(matches!(err, FetchError::UnsupportedScheme { .. }), "{err}");
    let err = f
        .fetch_to("not a url", &sha256(b"x"), &tmp.path().join("o"))
        .unwrap_err();
    assert!(matches!(err, FetchError::InvalidUrl { .. }), "{err}");
    assert!(entries(tmp.path()).is_empty());
}

fn regex_lite_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '/' || c == '_' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

#[test]
fn one_fetcher_serves_many_threads_at_once() {
    // The scheduler calls the synchronous API from several worker threads.
    let bodies: Vec<Vec<u8>> = (0..6).map(|i| payload(20_000 + i * 1000)).collect();
    let routes: Vec<(String, Reply)> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| (format!("/f{i}"), Reply::Ok(b.clone())))
        .collect();
    let refs: Vec<(&str, Reply)> = routes
        .iter()
        .map(|(p, r)| (p.as_str(), r.clone()))
        .collect();
    let srv = TestServer::start(&refs);
    let (f, _) = fetcher_with(fast_options(vec![]));
    let tmp = tempfile::tempdir().unwrap();
    std::thread::scope(|s| {
        for (i, body) in bodies.iter().enumerate() {
            let (f, srv, tmp) = (&f, &srv, tmp.path());
            s.spawn(move || {
                let dest = tmp.join(format!("out{i}"));
                f.fetch_to(&srv.url(&format!("/f{i}")), &sha256(body), &dest)
                    .unwrap();
                assert_eq!(&std::fs::read(&dest).unwrap(), body);
            });
        }
    });
    assert_eq!(entries(tmp.path()).len(), 6);
}
