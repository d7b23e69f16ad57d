//! The examples in docs/deploy.md are real: each JSON block parses as the
//! record it shows.

use hlb_deploy::journal::{Deployed, Journal, Phase, TargetPhase};

fn blocks() -> Vec<String> {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/deploy.md")).unwrap();
    doc.split("```json\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap().to_string())
        .collect()
}

#[test]
fn the_journal_example_is_a_journal() {
    let b = blocks();
    let j: Journal = serde_json::from_str(&b[0]).unwrap();
    assert_eq!(j.phase, Phase::Running);
    assert_eq!(j.targets["host/b"].phase, TargetPhase::Activating);
    assert_eq!(j.targets["host/b"].from, None);
    assert_eq!(j.started, ["host/a", "host/b"]);
}

#[test]
fn the_deployed_example_is_a_deployed_record() {
    let b = blocks();
    let d: Deployed = serde_json::from_str(&b[1]).unwrap();
    assert_eq!(d.of("host/a"), None);
    assert!(d.targets["host/a"].attention.is_some());
    assert!(d.of("host/b").is_some());
    assert_eq!(b.len(), 2, "every JSON example is checked");
}
