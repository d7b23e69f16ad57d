//! The ops layer in process, as the CLI calls it: one reporter sees a
//! whole run (downloads, lock, builds) as one stream of events, and results
//! come back typed.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use hlb::ops::build::{BuildOptions, Built};
use hlb::ops::events::{Event, SharedReporter};
use hlb::ops::{Env, ExitClass};

/// A reporter that keeps one line per event.
fn collecting() -> (SharedReporter, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let reporter = move |e: &Event<'_>| {
        let line = match e {
            Event::Build { event, .. } => format!("build {event:?}")
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" "),
            Event::Fetch(f) => format!("fetch {f:?}")
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" "),
            Event::Lock(_) => "lock".to_string(),
            _ => "other".to_string(),
        };
        sink.lock().unwrap().push(line);
    };
    (Arc::new(reporter), seen)
}

#[test]
fn one_stream_carries_lock_downloads_and_builds() {
    let world = World::new();
    let upstream = world.path().join("upstream");
    std::fs::create_dir_all(&upstream).unwrap();
    std::fs::write(upstream.join("tool.sh"), "#!/bin/sh\necho tool\n").unwrap();
    let recipes = world.path().join("lab");
    std::fs::create_dir_all(&recipes).unwrap();
    std::fs::write(
        recipes.join("lab.kdl"),
        format!(
            "lab \"f\" {{\n}}\nhost \"box\" address=\"10.0.0.2\"\nfetch \"tool\" url=\"file://{}/tool.sh\"\nfile \"tool-bin\" target=\"box\" path=\"/usr/local/bin/tool\" mode=0o755 fetch=\"tool\"\n",
            upstream.display()
        ),
    )
    .unwrap();
    let env = Env {
        recipes: recipes.clone(),
        store: Some(world.store()),
        state: Some(world.state()),
        ..Env::default()
    };
    let (reporter, seen) = collecting();

    // Not pinned yet: a recipe problem, located.
    let e = hlb::ops::build(&env, &BuildOptions::default(), &reporter).unwrap_err();
    assert_eq!(e.class(), ExitClass::Recipe);
    assert!(e.problems().is_some());

    let locked = hlb::ops::lock::lock(&env, &reporter).unwrap();
    assert!(locked.changed);
    let built = hlb::ops::build(&env, &BuildOptions::default(), &reporter).unwrap();
    let Built::Generation(g) = built else {
        panic!("the whole lab makes a generation")
    };
    assert_eq!((g.number, g.artifacts, g.built), (1, 1, 2));

    let seen = seen.lock().unwrap().clone();
    let first = |what: &str| {
        seen.iter()
            .position(|l| l.starts_with(what))
            .unwrap_or_else(|| panic!("no `{what}` in {seen:?}"))
    };
    // The lock downloads to pin; the build's events follow in the same stream.
    assert!(first("fetch Started") < first("build Planned"), "{seen:?}");
    assert!(first("build Planned") < first("build Built"), "{seen:?}");

    // The first generation, compared with nothing.
    let d = hlb::ops::history::diff(&env, &Default::default(), &reporter).unwrap();
    assert!(d.from.is_none());
    assert_eq!(d.to.number, 1);
    assert_eq!(d.targets.len(), 1);
}
