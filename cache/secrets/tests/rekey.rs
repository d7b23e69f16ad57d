//! Rekey is all or nothing: failures and crashes injected at every step
//! leave either every old file valid or (after the commit point, once
//! recovered) every new file valid; never a mix.

use std::io;
use std::path::Path;

use hlb_secrets::age_file::generate_x25519_identity;
use hlb_secrets::rekey::{self, HookAction, Recovery, Step, rekey_with_hook};
use hlb_secrets::{
    Identity, LabKey, Plaintext, Recipient, RekeyError, SecretName, SecretsDir, parse_identities,
};

struct Key {
    identities: Vec<Identity>,
    recipient: Recipient,
}

fn key() -> Key {
    let g = generate_x25519_identity();
    Key {
        identities: parse_identities(Path::new("test-identity"), g.identity_file.expose()).unwrap(),
        recipient: g.recipient,
    }
}

const NAMES: [&str; 4] = ["a-secret", "b-secret", "c-secret", "lab-key"];

fn value(name: &str) -> Plaintext {
    if name == "lab-key" {
        return LabKey::from_bytes([1; 32]).to_file_text();
    }
    Plaintext::from(format!("value of {name}"))
}

fn setup(old: &Key) -> (tempfile::TempDir, SecretsDir) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = SecretsDir::new(tmp.path());
    let lab = LabKey::from_bytes([1; 32]);
    for n in NAMES {
        let name = SecretName::new(n).unwrap();
        let to = std::slice::from_ref(&old.recipient);
        if n == "lab-key" {
            dir.write(&name, to, &lab.to_file_text()).unwrap();
        } else {
            dir.set(&name, to, &lab, &value(n)).unwrap();
        }
    }
    (tmp, dir)
}

/// Which key decrypts every secret: "old", "new", or a description of the mix.
fn state(dir: &SecretsDir, old: &Key, new: &Key) -> String {
    let mut who = Vec::new();
    for n in NAMES {
        let name = SecretName::new(n).unwrap();
        let by_old = dir.read(&name, &old.identities).ok();
        let by_new = dir.read(&name, &new.identities).ok();
        let w = match (by_old, by_new) {
            (Some(p), None) if p.ct_eq(value(n).expose()) => "old",
            (None, Some(p)) if p.ct_eq(value(n).expose()) => "new",
            _ => "broken",
        };
        who.push(w);
    }
    if who.iter().all(|w| *w == who[0]) {
        who[0].to_owned()
    } else {
        format!("mixed {who:?}")
    }
}

fn leftovers(dir: &SecretsDir) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.ends_with(".age") && !n.ends_with(".tag"))
        .collect();
    v.sort();
    v
}

#[test]
fn rekey_moves_every_secret_to_the_new_recipients_and_keeps_tags() {
    let (old, new) = (key(), key());
    let (_tmp, dir) = setup(&old);
    let tags_before: Vec<String> = NAMES[..3]
        .iter()
        .map(|n| std::fs::read_to_string(dir.tag_path(&SecretName::new(n).unwrap())).unwrap())
        .collect();
    let report = rekey::rekey(&dir, &old.identities, std::slice::from_ref(&new.recipient)).unwrap();
    assert_eq!(report.rekeyed.len(), 4);
    assert_eq!(state(&dir, &old, &new), "new");
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
    for (n, before) in NAMES[..3].iter().zip(tags_before) {
        let after = std::fs::read_to_string(dir.tag_path(&SecretName::new(n).unwrap())).unwrap();
        assert_eq!(before, after);
    }
    assert_eq!(rekey::recover(&dir).unwrap(), Recovery::Clean);
}

#[test]
fn a_crash_before_the_commit_point_leaves_every_old_file_valid() {
    for at in 0..NAMES.len() {
        let (old, new) = (key(), key());
        let (_tmp, dir) = setup(&old);
        let err = rekey_with_hook(
            &dir,
            &old.identities,
            std::slice::from_ref(&new.recipient),
            &mut |s| {
                if s == Step::TempWritten(at) {
                    HookAction::Crash
                } else {
                    HookAction::Continue
                }
            },
        )
        .unwrap_err();
        assert!(matches!(err, RekeyError::SimulatedCrash));
        assert_eq!(state(&dir, &old, &new), "old", "crash after temp file {at}");
        assert!(rekey::pending(&dir).unwrap());
        assert_eq!(rekey::recover(&dir).unwrap(), Recovery::RolledBack(at + 1));
        assert!(leftovers(&dir).is_empty());
        assert_eq!(state(&dir, &old, &new), "old");
    }
}

#[test]
fn a_crash_after_the_commit_point_is_rolled_forward() {
    let crash_points = [
        Step::Committed,
        Step::Renamed(0),
        Step::Renamed(1),
        Step::Renamed(3),
    ];
    for at in crash_points {
        let (old, new) = (key(), key());
        let (_tmp, dir) = setup(&old);
        let err = rekey_with_hook(
            &dir,
            &old.identities,
            std::slice::from_ref(&new.recipient),
            &mut |s| {
                if s == at {
                    HookAction::Crash
                } else {
                    HookAction::Continue
                }
            },
        )
        .unwrap_err();
        assert!(matches!(err, RekeyError::SimulatedCrash));
        if at != Step::Renamed(3) {
            assert!(state(&dir, &old, &new) != "new", "{at:?}: not finished yet");
        }
        match rekey::recover(&dir).unwrap() {
            Recovery::RolledForward(names) => assert_eq!(names.len(), 4),
            other => panic!("{at:?}: {other:?}"),
        }
        assert_eq!(state(&dir, &old, &new), "new", "after recovery from {at:?}");
        assert!(leftovers(&dir).is_empty());
        // Recovery is idempotent.
        assert_eq!(rekey::recover(&dir).unwrap(), Recovery::Clean);
    }
}

#[test]
fn an_io_failure_midway_cleans_up_and_changes_nothing() {
    let (old, new) = (key(), key());
    let (_tmp, dir) = setup(&old);
    let err = rekey_with_hook(
        &dir,
        &old.identities,
        std::slice::from_ref(&new.recipient),
        &mut |s| {
            if s == Step::TempWritten(2) {
                HookAction::Fail(io::Error::other("disk full"))
            } else {
                HookAction::Continue
            }
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("disk full"), "{err}");
    assert_eq!(state(&dir, &old, &new), "old");
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
    assert!(!rekey::pending(&dir).unwrap());
}

#[test]
fn a_secret_the_old_identities_cannot_read_aborts_before_any_write() {
    let (old, new, stranger) = (key(), key(), key());
    let (_tmp, dir) = setup(&old);
    let odd = SecretName::new("b-secret").unwrap();
    dir.write(
        &odd,
        std::slice::from_ref(&stranger.recipient),
        &value("b-secret"),
    )
    .unwrap();
    let before = std::fs::read(dir.age_path(&SecretName::new("a-secret").unwrap())).unwrap();
    let err =
        rekey::rekey(&dir, &old.identities, std::slice::from_ref(&new.recipient)).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("no file was changed") && msg.contains("b-secret"),
        "{msg}"
    );
    assert!(
        msg.contains(&dir.age_path(&odd).display().to_string()),
        "{msg}"
    );
    let after = std::fs::read(dir.age_path(&SecretName::new("a-secret").unwrap())).unwrap();
    assert_eq!(before, after);
    assert!(leftovers(&dir).is_empty());
}

#[test]
fn a_malformed_journal_is_reported_not_guessed_at() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = SecretsDir::new(tmp.path());
    std::fs::write(
        tmp.path().join(rekey::JOURNAL_FILE),
        "hlb-rekey-v1\n../evil\n",
    )
    .unwrap();
    let err = rekey::recover(&dir).unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");
}
