//! The planner's side of secrets: the derivation contract compilers build
//! against (`docs/recipes.md`, `plan.rs`), checked field by field, and the
//! properties ids must have: a tag change moves exactly the ids that use
//! the secret, planning needs no identity and reads no ciphertext, and
//! derivations without secrets do not change when secrets are added.

use std::collections::BTreeMap;

use hlb_builder::drv::{Derivation, Value};
use hlb_builder::io::{MemIo, RelPath};
use hlb_builder::load::load;
use hlb_builder::lock::Lock;
use hlb_builder::plan::{Plan, plan};
use hlb_cache::Digest;
use serde_json::json;

const AGE: &str =
    "-----BEGIN AGE ENCRYPTED FILE-----\nnot really ciphertext\n-----END AGE ENCRYPTED FILE-----\n";
const CERT: &str = "-----BEGIN CERTIFICATE-----\nTUlJQnRlc3Q=\n-----END CERTIFICATE-----\n";
const APP_INI: &str = "[db]\nhost = db.${domain}\npassword = ${secret.db-password}\n";

fn tag(name: &str, version: u8) -> String {
    format!(
        "hlb-secret-tag-v1\nname {name}\nlab-key c27ae3e33558728b\nhmac-sha256 {}\n",
        format!("{version:02x}").repeat(32)
    )
}

/// Declarations without secrets; every lab below starts with them.
const PUBLIC: &str = r#"
lab "home" {
    param "domain" "home.example.org"
    param "unused" "x"
}
host "gitea" address="10.0.0.30"
cluster "home" api="https://10.0.0.10:6443" sealing-cert="secrets/sealing-key.crt"
file "motd" target="gitea" path="/etc/motd" text="Welcome to ${domain}\n"
file "plain.ini" target="gitea" path="/etc/plain.ini" source="files/plain.ini" interpolate=#true
manifest "ns" target="home" text="kind: Namespace\nmetadata: {name: cert-manager}\n"
"#;

const SECRET: &str = r#"
secret "db-password"
secret "cloudflare-token"
file "db-password" target="gitea" path="/etc/gitea/db-password" secret="db-password"
file "app.ini" target="gitea" path="/etc/gitea/app.ini" source="files/app.ini" interpolate=#true
file "app-640.ini" target="gitea" path="/etc/gitea/app-640.ini" mode=0o640 source="files/app.ini" interpolate=#true
sealed-secret "cloudflare-api-token" target="home" namespace="cert-manager" type="Opaque" after="ns" {
    data "api-token" secret="cloudflare-token"
    data "backup" secret="db-password"
    label "app.kubernetes.io/part-of" "cert-manager"
    annotation "example.org/contact" "ops@${domain}"
}
sealed-secret "anywhere" target="home" scope="cluster-wide" {
    data "token" secret="cloudflare-token"
}
"#;

fn io(with_secrets: bool) -> MemIo {
    let mut io = MemIo::new()
        .with("secrets/sealing-key.crt", CERT)
        .with("files/plain.ini", "host = ${domain}\n");
    let mut lab = PUBLIC.to_string();
    if with_secrets {
        lab.push_str(SECRET);
        io = io
            .with("files/app.ini", APP_INI)
            .with("secrets/db-password.age", AGE)
            .with("secrets/db-password.tag", tag("db-password", 1))
            .with("secrets/cloudflare-token.age", AGE)
            .with("secrets/cloudflare-token.tag", tag("cloudflare-token", 2));
    }
    io.with("lab.kdl", lab)
}

fn planned(io: &MemIo) -> Plan {
    let lab = load(io, &RelPath::new("lab.kdl").unwrap())
        .unwrap_or_else(|e| panic!("{}", e.render(false)));
    plan(&lab, &Lock::default(), &|_| Some(1))
        .unwrap_or_else(|d| panic!("{}", d.render(&lab.sources, false)))
}

fn drv<'p>(p: &'p Plan, name: &str) -> &'p Derivation {
    let id = p.by_name.get(name).unwrap_or_else(|| panic!("no {name}"));
    p.graph.get(id).unwrap()
}

fn meta(p: &Plan, target: &str, name: &str) -> serde_json::Value {
    p.targets[target].spec.delivery(name).unwrap_or(json!({}))
}

fn digest(text: &str) -> Digest {
    Digest::of(text.as_bytes())
}

fn strs(items: &[&str]) -> Value {
    Value::List(items.iter().map(|s| Value::from(*s)).collect())
}

fn map(entries: &[(&str, Value)]) -> Value {
    Value::Map(
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

fn sources(entries: &[(&str, Digest)]) -> BTreeMap<String, Digest> {
    entries.iter().map(|(k, d)| (k.to_string(), *d)).collect()
}

#[test]
fn a_file_whose_content_is_a_secret() {
    let p = planned(&io(true));
    let d = drv(&p, "db-password");
    assert_eq!(d.kind, "file");
    assert!(d.secret);
    assert_eq!(
        d.params,
        map(&[
            ("interpolate", Value::Bool(false)),
            ("secret_content", "db-password".into()),
            ("secrets", strs(&["db-password"])),
        ])
    );
    assert_eq!(
        d.sources,
        sources(&[("tag:db-password", digest(&tag("db-password", 1)))])
    );
    assert!(d.inputs.is_empty());
    assert_eq!(
        meta(&p, "host/gitea", "db-password"),
        json!({"artifact": "db-password", "path": "/etc/gitea/db-password", "mode": "0600", "owner": "root", "group": "root"})
    );
    // The tag's bytes are what the scheduler hands the compiler.
    let t = digest(&tag("db-password", 1));
    assert_eq!(&*p.sources[&t], tag("db-password", 1).as_bytes());
}

#[test]
fn an_interpolated_file_that_uses_a_secret() {
    let p = planned(&io(true));
    let d = drv(&p, "app.ini");
    assert_eq!(d.kind, "file");
    assert!(d.secret);
    assert_eq!(
        d.params,
        map(&[
            ("interpolate", Value::Bool(true)),
            // Only the parameters the file uses; `secret.…` is not one.
            ("params", map(&[("domain", "home.example.org".into())])),
            ("secrets", strs(&["db-password"])),
            ("source_name", "files/app.ini".into()),
        ])
    );
    assert_eq!(
        d.sources,
        sources(&[
            ("src", digest(APP_INI)),
            ("tag:db-password", digest(&tag("db-password", 1))),
        ])
    );
    assert_eq!(
        meta(&p, "host/gitea", "app.ini"),
        json!({"artifact": "app.ini", "path": "/etc/gitea/app.ini", "mode": "0600", "owner": "root", "group": "root"})
    );
    // A written mode wins over the secret default.
    assert_eq!(
        meta(&p, "host/gitea", "app-640.ini"),
        json!({"artifact": "app-640.ini", "path": "/etc/gitea/app-640.ini", "mode": "0640", "owner": "root", "group": "root"})
    );
}

#[test]
fn a_sealed_secret() {
    let p = planned(&io(true));
    let d = drv(&p, "cloudflare-api-token");
    assert_eq!(d.kind, "sealed-secret");
    assert!(
        !d.secret,
        "a SealedSecret is ciphertext for the controller: public"
    );
    assert_eq!(
        d.params,
        map(&[
            (
                "annotations",
                map(&[("example.org/contact", "ops@home.example.org".into())])
            ),
            (
                "data",
                map(&[
                    ("api-token", "cloudflare-token".into()),
                    ("backup", "db-password".into()),
                ])
            ),
            (
                "labels",
                map(&[("app.kubernetes.io/part-of", "cert-manager".into())])
            ),
            ("name", "cloudflare-api-token".into()),
            ("namespace", "cert-manager".into()),
            ("scope", "strict".into()),
            ("type", "Opaque".into()),
        ])
    );
    assert_eq!(
        d.sources,
        sources(&[
            ("cert", digest(CERT)),
            ("tag:cloudflare-token", digest(&tag("cloudflare-token", 2))),
            ("tag:db-password", digest(&tag("db-password", 1))),
        ])
    );
    assert!(d.inputs.is_empty());
    assert_eq!(
        meta(&p, "cluster/home", "cloudflare-api-token"),
        json!({"artifact": "cloudflare-api-token", "namespace": "cert-manager", "after": ["ns"]})
    );
    let any = drv(&p, "anywhere");
    assert_eq!(any.params.get("namespace"), Some(&Value::Null));
    assert_eq!(any.params.get("scope"), Some(&"cluster-wide".into()));
    assert_eq!(any.params.get("type"), Some(&"Opaque".into()));
    assert_eq!(
        meta(&p, "cluster/home", "anywhere"),
        json!({"artifact": "anywhere", "namespace": null, "after": []})
    );
}

#[test]
fn the_planner_asks_for_a_sealed_secret_compiler() {
    let io = io(true);
    let lab = load(&io, &RelPath::new("lab.kdl").unwrap()).unwrap();
    let err = plan(&lab, &Lock::default(), &|k| {
        (k != "sealed-secret").then_some(1)
    })
    .unwrap_err();
    let text = err.render(&lab.sources, false);
    assert_eq!(err.len(), 2, "{text}");
    assert!(err.iter().all(|d| d.code == "E0501"), "{text}");
    assert!(text.contains("no compiler for `sealed-secret`"), "{text}");
    // The version is hashed: a new compiler version is a new id.
    let v1 = planned(&io);
    let v2 = plan(&lab, &Lock::default(), &|k| {
        Some(if k == "sealed-secret" { 2 } else { 1 })
    })
    .unwrap();
    assert_ne!(
        v1.by_name["cloudflare-api-token"],
        v2.by_name["cloudflare-api-token"]
    );
    assert_eq!(v1.by_name["app.ini"], v2.by_name["app.ini"]);
}

#[test]
fn a_new_tag_moves_exactly_the_ids_that_use_the_secret() {
    let before = planned(&io(true));
    let after = planned(&io(true).with("secrets/cloudflare-token.tag", tag("cloudflare-token", 9)));
    let changed: Vec<&str> = before
        .by_name
        .iter()
        .filter(|(name, id)| after.by_name[*name] != **id)
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(changed, ["anywhere", "cloudflare-api-token"]);
    let after = planned(&io(true).with("secrets/db-password.tag", tag("db-password", 9)));
    let changed: Vec<&str> = before
        .by_name
        .iter()
        .filter(|(name, id)| after.by_name[*name] != **id)
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(
        changed,
        [
            "app-640.ini",
            "app.ini",
            "cloudflare-api-token",
            "db-password"
        ]
    );
}

#[test]
fn planning_needs_no_identity_and_never_reads_ciphertext() {
    // No identity, no lab key, no recipients anywhere in the tree: the lab
    // still loads and plans, and every id is known.
    let io = io(true);
    for absent in [
        "secrets/lab-key.age",
        "secrets/recipients.txt",
        "identity.txt",
    ] {
        assert!(
            hlb_builder::io::EvalIo::read(&io, &RelPath::new(absent).unwrap()).is_err(),
            "{absent}"
        );
    }
    let lab = load(&io, &RelPath::new("lab.kdl").unwrap()).unwrap();
    assert!(
        lab.files.keys().all(|f| f.extension() != Some("age")),
        "{:?}",
        lab.files.keys().collect::<Vec<_>>()
    );
    let p = planned(&io);
    assert_eq!(p.by_name.len(), 8);
    // The ciphertext is in no derivation and no source.
    assert!(!p.sources.values().any(|b| &b[..] == AGE.as_bytes()));
    assert!(!p.sources.contains_key(&digest(AGE)));
    for id in p.by_name.values() {
        let d = p.graph.get(id).unwrap();
        assert!(!d.sources.values().any(|s| *s == digest(AGE)), "{}", d.name);
    }
    // Re-encrypting a secret (a rekey, a new recipient) changes no id.
    let rekeyed = planned(&io.clone().with(
        "secrets/db-password.age",
        "-----BEGIN AGE ENCRYPTED FILE-----\nother\n-----END AGE ENCRYPTED FILE-----\n",
    ));
    assert_eq!(p.by_name, rekeyed.by_name);
}

#[test]
fn derivations_without_secrets_do_not_change_when_secrets_are_added() {
    let without = planned(&io(false));
    let with = planned(&io(true));
    assert_eq!(without.by_name.len(), 3);
    for (name, id) in &without.by_name {
        assert_eq!(with.by_name[name], *id, "{name}");
        let d = with.graph.get(id).unwrap();
        assert!(!d.secret, "{name}");
        assert!(d.params.get("secrets").is_none(), "{name}");
        assert!(!d.sources.keys().any(|k| k.starts_with("tag:")), "{name}");
    }
    for name in ["motd", "plain.ini"] {
        assert_eq!(
            meta(&with, "host/gitea", name)["mode"],
            json!("0644"),
            "{name}"
        );
        assert!(meta(&with, "host/gitea", name).get("secret").is_none());
    }
}

#[test]
fn a_secrets_directory_of_its_own() {
    let io = MemIo::new()
        .with(
            "recipes/lab.kdl",
            "import \"apps/gitea.kdl\"\nlab \"home\" {\n    secrets-dir \"vault/lab\"\n}\n",
        )
        .with(
            "recipes/apps/gitea.kdl",
            "host \"gitea\" address=\"10.0.0.30\"\nsecret \"db-password\"\nfile \"pw\" target=\"gitea\" path=\"/etc/pw\" secret=\"db-password\"\n",
        )
        .with("recipes/vault/lab/db-password.age", AGE)
        .with("recipes/vault/lab/db-password.tag", tag("db-password", 3));
    let lab = load(&io, &RelPath::new("recipes/lab.kdl").unwrap())
        .unwrap_or_else(|e| panic!("{}", e.render(false)));
    // Relative to the recipe root, wherever the lab node is.
    assert_eq!(lab.secrets_dir.as_str(), "recipes/vault/lab");
    let p = plan(&lab, &Lock::default(), &|_| Some(1)).unwrap();
    assert_eq!(
        drv(&p, "pw").sources,
        sources(&[("tag:db-password", digest(&tag("db-password", 3)))])
    );
}
