//! Secrets end to end through the binary: set with the CLI, build a lab
//! whose secret artifacts are known canaries, and check that plaintext
//! never lands on disk or in output; that rebuilding in another store gives
//! the same generation and the same plaintext; that a build without an
//! identity builds everything else; and that files interoperate with `age`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::*;

const CANARY_TOKEN: &str = "canary-Kq3vTz8wPx-cloudflare";
const CANARY_DB: &str = "canary-Jm5nBv2cXy-database";

fn run_stdin(
    world: &World,
    recipes: &Path,
    args: &[&str],
    env: &[(&str, &Path)],
    input: &[u8],
) -> Output {
    let mut c = world.cmd(recipes);
    c.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().expect("spawn");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// A lab with a secret-bearing file, an interpolated file using a secret,
/// a SealedSecret and some public files; secrets set through the CLI.
fn secret_lab(world: &World) -> (PathBuf, PathBuf) {
    let recipes = world.path().join("lab");
    std::fs::create_dir_all(recipes.join("files")).unwrap();
    std::fs::write(
        recipes.join("lab.kdl"),
        r#"lab "sec" {
    param "domain" "sec.example.org"
}
secret "cloudflare-token"
secret "db-password"
cluster "k8s" api="https://10.0.0.10:6443" sealing-cert="secrets/sealing-key.crt"
host "app" address="10.0.0.20"
file "token-file" target="app" path="/run/secrets/token" secret="cloudflare-token"
file "app.ini" target="app" path="/etc/app.ini" source="files/app.ini" interpolate=#true
file "motd" target="app" path="/etc/motd" text="public ${domain}\n"
sealed-secret "cloudflare-api-token" target="k8s" namespace="cert-manager" scope="strict" type="Opaque" {
    data "api-token" secret="cloudflare-token"
}
"#,
    )
    .unwrap();
    std::fs::write(
        recipes.join("files/app.ini"),
        "[db]\nhost = db.${domain}\npassword = ${secret.db-password}\n",
    )
    .unwrap();
    let identity = world.path().join("identity.txt");
    let env = [("HLB_AGE_IDENTITY", identity.as_path())];
    ok(&run_stdin(
        world,
        &recipes,
        &[
            "secret",
            "init",
            "--new-identity",
            identity.to_str().unwrap(),
        ],
        &[],
        b"",
    ));
    ok(&run_stdin(
        world,
        &recipes,
        &["secret", "set", "cloudflare-token"],
        &env,
        CANARY_TOKEN.as_bytes(),
    ));
    ok(&run_stdin(
        world,
        &recipes,
        &["secret", "set", "db-password"],
        &env,
        CANARY_DB.as_bytes(),
    ));
    ok(&run_stdin(
        world,
        &recipes,
        &[
            "secret",
            "sealing-key",
            "init",
            "--bits",
            "2048",
            "--not-before",
            "1767225600",
            "--days",
            "365",
        ],
        &env,
        b"",
    ));
    (recipes, identity)
}

fn forms(canary: &str) -> Vec<Vec<u8>> {
    use std::fmt::Write as _;
    let b = canary.as_bytes();
    let mut hex = String::new();
    for x in b {
        let _ = write!(hex, "{x:02x}");
    }
    let b64 = |bytes: &[u8]| {
        const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for chunk in bytes.chunks(3) {
            let n = (u32::from(chunk[0]) << 16)
                | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
                | u32::from(*chunk.get(2).unwrap_or(&0));
            for i in 0..4 {
                if i <= chunk.len() {
                    s.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
                }
            }
        }
        s
    };
    // Base64 of the canary at each of the three alignments, without the
    // partial first and last groups, so it is found inside longer encodings.
    let mut out = vec![
        b.to_vec(),
        hex.clone().into_bytes(),
        hex.to_uppercase().into_bytes(),
    ];
    for shift in 0..3 {
        let enc = b64(&b[shift..]);
        let core = &enc[..enc.len().saturating_sub(4)];
        if core.len() >= 12 {
            out.push(core.as_bytes().to_vec());
        }
    }
    out
}

fn scan(root: &Path, needles: &[Vec<u8>]) -> Vec<String> {
    let mut hits = Vec::new();
    if !root.exists() {
        return hits;
    }
    for (rel, bytes) in tree_bytes(root) {
        for n in needles {
            if bytes.windows(n.len()).any(|w| w == n.as_slice()) {
                hits.push(format!("{}/{rel}", root.display()));
            }
        }
    }
    hits
}

/// The scanner itself finds the canary in every form, at every offset:
/// otherwise the scan below could pass by being blind.
#[test]
fn the_canary_scan_sees_encoded_forms() {
    let dir = tempfile::tempdir().unwrap();
    let needles = forms(CANARY_DB);
    for prefix in ["", "a", "ab", "abc"] {
        let text = format!("{prefix}{CANARY_DB}");
        let b64 = Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s '{text}' | base64 -w0"))
            .output()
            .unwrap()
            .stdout;
        std::fs::write(dir.path().join("f"), &b64).unwrap();
        assert!(
            !scan(dir.path(), &needles).is_empty(),
            "base64 with prefix {prefix:?} not seen"
        );
        let hex: String = text.bytes().map(|b| format!("{b:02x}")).collect();
        std::fs::write(dir.path().join("f"), hex).unwrap();
        assert!(
            !scan(dir.path(), &needles).is_empty(),
            "hex with prefix {prefix:?} not seen"
        );
    }
}

#[test]
fn canaries_never_reach_disk_or_output_and_builds_reproduce() {
    let world = World::new();
    let (recipes, identity) = secret_lab(&world);
    let env_id = [("HLB_AGE_IDENTITY", identity.as_path())];
    let mut c = world.cmd(&recipes);
    c.args(["build", "--json"])
        .env("HLB_AGE_IDENTITY", &identity);
    let build = c.output().unwrap();
    let out = ok(&build);
    let last: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let generation = last["generation"].as_str().unwrap().to_string();

    let needles: Vec<Vec<u8>> = [CANARY_TOKEN, CANARY_DB]
        .iter()
        .flat_map(|c| forms(c))
        .collect();
    let mut hits = scan(&world.store(), &needles);
    hits.extend(scan(&world.state(), &needles));
    hits.extend(scan(&world.path().join("tmp"), &needles));
    hits.extend(scan(&recipes, &needles));
    for o in [&build] {
        for n in &needles {
            for stream in [&o.stdout, &o.stderr] {
                if stream.windows(n.len()).any(|w| w == n.as_slice()) {
                    hits.push("hlb build output".into());
                }
            }
        }
    }
    assert!(hits.is_empty(), "canary plaintext found in: {hits:?}");

    // The secret artifacts decrypt, with the real age CLI, to what was set.
    let token_out = ok(&run_stdin(
        &world,
        &recipes,
        &["show", "token-file", "--json"],
        &env_id,
        b"",
    ));
    let v: serde_json::Value = serde_json::from_str(token_out.trim()).unwrap();
    assert_eq!(v["secret"], true);
    assert_eq!(v["params"], "<redacted: secret artifact>");
    let path = v["out"].as_str().unwrap();
    let age = Command::new("age")
        .args(["-d", "-i"])
        .arg(&identity)
        .arg(path)
        .output()
        .expect("age CLI (apt-get install age)");
    assert!(
        age.status.success(),
        "{}",
        String::from_utf8_lossy(&age.stderr)
    );
    assert_eq!(age.stdout, CANARY_TOKEN.as_bytes());

    // Another world (store, state, tmp, HOME) with the same recipes and
    // identity: the same generation, and the same plaintext.
    let other = World::new();
    let mut c = other.cmd(&recipes);
    c.args(["build"]).env("HLB_AGE_IDENTITY", &identity);
    let again = ok(&c.output().unwrap());
    assert_eq!(again.trim(), generation);
    for name in ["token-file", "app.ini"] {
        let decrypt = |w: &World| {
            let o = ok(&run_stdin(
                w,
                &recipes,
                &["show", name, "--json"],
                &env_id,
                b"",
            ));
            let v: serde_json::Value = serde_json::from_str(o.trim()).unwrap();
            let out = Command::new("age")
                .args(["-d", "-i"])
                .arg(&identity)
                .arg(v["out"].as_str().unwrap())
                .output()
                .unwrap();
            assert!(out.status.success());
            out.stdout
        };
        assert_eq!(
            decrypt(&world),
            decrypt(&other),
            "{name}: plaintext differs between stores"
        );
    }
    let ini = {
        let o = ok(&run_stdin(
            &world,
            &recipes,
            &["show", "app.ini", "--json"],
            &env_id,
            b"",
        ));
        let v: serde_json::Value = serde_json::from_str(o.trim()).unwrap();
        Command::new("age")
            .args(["-d", "-i"])
            .arg(&identity)
            .arg(v["out"].as_str().unwrap())
            .output()
            .unwrap()
            .stdout
    };
    assert_eq!(
        String::from_utf8(ini).unwrap(),
        format!("[db]\nhost = db.sec.example.org\npassword = {CANARY_DB}\n")
    );
}

#[test]
fn without_an_identity_everything_else_builds() {
    let world = World::new();
    let (recipes, _identity) = secret_lab(&world);
    let fresh = World::new();
    let o = fresh.run(&recipes, &["build", "--keep-going"]);
    // Only secret artifacts failed, for want of an identity: the
    // environment's fault (exit 5), said once with a count.
    assert_eq!(o.status.code(), Some(5));
    let err = stderr(&o);
    assert_eq!(err.matches("--identity").count(), 1, "{err}");
    assert!(
        err.contains("secret artifacts need an age identity"),
        "{err}"
    );
    assert!(!err.lines().any(|l| l.starts_with("not built")), "{err}");
    // The public file was built; ids are known for everything.
    ok(&fresh.run(&recipes, &["build", "motd"]));
    let shown = ok(&fresh.run(&recipes, &["show", "token-file", "--json"]));
    assert!(shown.contains("\"id\""));
}

#[test]
fn age_files_interoperate_with_the_age_cli() {
    let world = World::new();
    let (recipes, identity) = secret_lab(&world);
    let env_id = [("HLB_AGE_IDENTITY", identity.as_path())];
    // hlb wrote it: age reads it.
    let out = Command::new("age")
        .args(["-d", "-i"])
        .arg(&identity)
        .arg(recipes.join("secrets/db-password.age"))
        .output()
        .expect("age CLI");
    assert_eq!(out.stdout, CANARY_DB.as_bytes());
    // age wrote it: hlb reads it (after retagging, since age knows no tags).
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "printf %s new-value | age -e -a -R {} -o {}",
            recipes.join("secrets/recipients.txt").display(),
            recipes.join("secrets/db-password.age").display()
        ))
        .status()
        .unwrap();
    assert!(status.success());
    let stale = run_stdin(
        &world,
        &recipes,
        &["secret", "show", "db-password"],
        &env_id,
        b"",
    );
    assert_eq!(
        stale.status.code(),
        Some(1),
        "a changed .age with an old tag must be refused"
    );
    ok(&run_stdin(
        &world,
        &recipes,
        &["secret", "retag"],
        &env_id,
        b"",
    ));
    let shown = ok(&run_stdin(
        &world,
        &recipes,
        &["secret", "show", "db-password"],
        &env_id,
        b"",
    ));
    assert_eq!(shown, "new-value");
}

#[test]
fn bad_identities_and_corrupt_files_name_the_secret_and_change_nothing() {
    let world = World::new();
    let (recipes, identity) = secret_lab(&world);

    // A stranger's identity: nothing opens, each failure names the secret's file.
    let stranger = world.path().join("stranger.txt");
    let keygen = Command::new("age-keygen")
        .arg("-o")
        .arg(&stranger)
        .output()
        .expect("age-keygen (apt-get install age)");
    assert!(keygen.status.success());
    let fresh = World::new();
    let mut c = fresh.cmd(&recipes);
    c.args(["build"]).env("HLB_AGE_IDENTITY", &stranger);
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("lab-key.age"), "{err}");
    assert!(
        !fresh.state().join("profiles").exists()
            || std::fs::read_dir(fresh.state().join("profiles"))
                .unwrap()
                .count()
                == 0
    );

    // A truncated secret: the error names it; no entry for it in the store.
    let age_file = recipes.join("secrets/cloudflare-token.age");
    let bytes = std::fs::read(&age_file).unwrap();
    std::fs::write(&age_file, &bytes[..bytes.len() / 2]).unwrap();
    let fresh = World::new();
    let mut c = fresh.cmd(&recipes);
    c.args(["build", "--keep-going"])
        .env("HLB_AGE_IDENTITY", &identity);
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("cloudflare-token"), "{err}");
    for n in std::fs::read_dir(fresh.store().join("entries")).unwrap() {
        let n = n.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            !n.ends_with("token-file") && !n.ends_with("cloudflare-api-token"),
            "{n} was stored from a corrupt secret"
        );
    }
    std::fs::write(&age_file, &bytes).unwrap();

    // A declared secret with no file: a recipe error with file:line:col.
    std::fs::remove_file(recipes.join("secrets/db-password.age")).unwrap();
    let o = fresh.run(&recipes, &["build"]);
    assert_eq!(o.status.code(), Some(3));
    let err = stderr(&o);
    assert!(
        err.contains("db-password") && err.contains("lab.kdl:"),
        "{err}"
    );
}

#[test]
fn diff_names_changed_secrets_never_values() {
    let world = World::new();
    let (recipes, identity) = secret_lab(&world);
    let env_id = [("HLB_AGE_IDENTITY", identity.as_path())];
    let build = |w: &World| {
        let mut c = w.cmd(&recipes);
        c.args(["build"]).env("HLB_AGE_IDENTITY", &identity);
        ok(&c.output().unwrap())
    };
    let first = build(&world);
    // Re-setting the same value changes nothing: same tag, same generation.
    ok(&run_stdin(
        &world,
        &recipes,
        &["secret", "set", "cloudflare-token"],
        &env_id,
        CANARY_TOKEN.as_bytes(),
    ));
    assert_eq!(
        build(&world),
        first,
        "re-encrypting an unchanged secret changed the generation"
    );
    let new_value = "canary-Zr7wQp4tLs-rotated";
    ok(&run_stdin(
        &world,
        &recipes,
        &["secret", "set", "cloudflare-token"],
        &env_id,
        new_value.as_bytes(),
    ));
    assert_ne!(build(&world), first);
    let diff = world.run(&recipes, &["diff"]);
    let text = ok(&diff);
    assert!(text.contains("changed  token-file"), "{text}");
    assert!(text.contains("changed  cloudflare-api-token"), "{text}");
    assert!(text.contains("secrets changed: cloudflare-token"), "{text}");
    assert!(text.contains("data keys affected: api-token"), "{text}");
    assert!(
        !text.contains("app.ini"),
        "app.ini does not use the token: {text}"
    );
    for canary in [CANARY_TOKEN, new_value] {
        for n in forms(canary) {
            assert!(
                !diff.stdout.windows(n.len()).any(|w| w == n.as_slice()),
                "diff shows a secret value"
            );
        }
    }
}
