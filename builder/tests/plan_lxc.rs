//! The planner's side of `lxc`: the `debian` lock request, the
//! `lxc-template` derivation hlb-lxc builds (see `plan/container.rs`),
//! the delivered secrets, where each parameter was written, and which ids
//! move when something changes.

use hlb_builder::decl::{Body, Lab};
use hlb_builder::drv::{Derivation, Value};
use hlb_builder::io::{MemIo, RelPath};
use hlb_builder::load::load;
use hlb_builder::lock::Lock;
use hlb_builder::plan::{DEBIAN_SECTION, Plan, debian_request, lock_requests, plan, unit_file};
use serde_json::{Value as Json, json};

const AGE: &str =
    "-----BEGIN AGE ENCRYPTED FILE-----\nnot really ciphertext\n-----END AGE ENCRYPTED FILE-----\n";

fn tag(name: &str, version: u8) -> String {
    format!(
        "hlb-secret-tag-v1\nname {name}\nlab-key c27ae3e33558728b\nhmac-sha256 {}\n",
        format!("{version:02x}").repeat(32)
    )
}

const LAB: &str = r#"
lab "home" {
    param "domain" "home.example.org"
    param "dns-ip" "10.0.0.53"
}
secret "db-password"
fetch "hello-release" url="https://example.org/hello-1.0.tar.gz" hash="sha256:1111111111111111111111111111111111111111111111111111111111111111"
fetch "unused" url="https://example.org/unused" hash="sha256:2222222222222222222222222222222222222222222222222222222222222222"

lxc "dns" {
    debian "bookworm"
    packages "dnsdist"
    file "/etc/dnsdist/dnsdist.conf" source="files/dnsdist.conf" interpolate=#true mode=0o640 group="_dnsdist"
    file "/etc/motd" source="files/motd"
    service "dnsdist" user="_dnsdist" { env "TZ" "UTC"; }
    address "${dns-ip}/24" gateway="10.0.0.1"
    nameserver "127.0.0.1"
    probe "dns" name="dns.${domain}"
}

lxc "hello" {
    debian "bookworm" updates=#false
    user "hello"
    unpack "hello-release" to="/opt/hello" strip-components=1 include="bin"
    service "hello" exec="/opt/hello/bin/hello" user="hello"
    secret "db-password" path="/run/secrets/db-password" owner="hello"
}
"#;

struct Inputs {
    lab: String,
    conf: &'static str,
    tag: u8,
}

fn inputs() -> Inputs {
    Inputs {
        lab: LAB.to_string(),
        conf: "-- ${domain}\nsetLocal(\"0.0.0.0:53\")\n",
        tag: 1,
    }
}

fn loaded(i: &Inputs) -> Lab {
    let io = MemIo::new()
        .with("lab.kdl", i.lab.clone())
        .with("files/dnsdist.conf", i.conf)
        .with("files/motd", "Managed by hlb.\n")
        .with("secrets/db-password.age", AGE)
        .with("secrets/db-password.tag", tag("db-password", i.tag));
    load(&io, &RelPath::new("lab.kdl").unwrap()).unwrap_or_else(|e| panic!("{}", e.render(false)))
}

/// A lock entry as `hlb lock` writes it, for `request`.
fn entry(request: &Json, packages: &[(&str, &str, u8)]) -> Json {
    let packages: Vec<Json> = packages
        .iter()
        .map(|(name, version, h)| {
            json!({
                "name": name, "version": version, "architecture": "amd64",
                "filename": format!("pool/main/{name}_{version}_amd64.deb"),
                "sha256": format!("{h:02x}").repeat(32), "size": 1000,
                "url": format!("http://mirror.invalid/debian/pool/main/{name}_{version}_amd64.deb"),
            })
        })
        .collect();
    json!({"request": request, "sources": [], "packages": packages})
}

/// A lock pinning every container of `lab` to a tiny closure.
fn lock_for(lab: &Lab) -> Lock {
    let mut lock = Lock::default();
    for d in &lab.decls {
        if let Body::Lxc(l) = &d.body {
            let e = entry(
                &debian_request(l),
                &[
                    ("base-passwd", "3.6.1", 1),
                    ("libc6", "2.36-9+deb12u10", 2),
                    ("dnsdist", "1.7.3-2", 3),
                    ("libaudit1", "1:3.0.9-1", 4),
                ],
            );
            lock.set(DEBIAN_SECTION, &d.name.value, e);
        }
    }
    lock
}

fn planned(i: &Inputs) -> (Lab, Plan) {
    let lab = loaded(i);
    let lock = lock_for(&lab);
    let p = plan(&lab, &lock, &|_| Some(1))
        .unwrap_or_else(|d| panic!("{}", d.render(&lab.sources, false)));
    (lab, p)
}

fn drv<'p>(p: &'p Plan, target: &str, artifact: &str) -> &'p Derivation {
    let id = p.targets[target].artifacts[artifact];
    p.graph.get(&id).unwrap()
}

fn json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => json!(b),
        Value::Int(i) => json!(i),
        Value::Str(s) => json!(s),
        Value::List(l) => l.iter().map(json).collect(),
        Value::Map(m) => m.iter().map(|(k, v)| (k.clone(), json(v))).collect(),
    }
}

#[test]
fn the_lock_request_names_the_suites_and_the_whole_package_set() {
    let lab = loaded(&inputs());
    let requests = lock_requests(&lab);
    let debian = &requests.0[DEBIAN_SECTION];
    assert_eq!(
        debian["dns"],
        json!({
            "mirror": "system",
            "suites": ["bookworm", "bookworm-updates", "bookworm-security"],
            "components": ["main"],
            "architecture": "amd64",
            "packages": ["dbus", "dnsdist", "systemd", "systemd-sysv", "usr-is-merged"],
            "essential": true,
            "required": true,
        })
    );
    assert_eq!(
        debian["hello"]["suites"],
        json!(["bookworm", "bookworm-security"])
    );
    assert!(
        !requests.0.contains_key("fetch"),
        "pinned fetches need no lock"
    );
}

#[test]
fn without_a_lock_entry_the_container_asks_for_hlb_lock() {
    let lab = loaded(&inputs());
    let e = plan(&lab, &Lock::default(), &|_| Some(1)).unwrap_err();
    let text = e.render(&lab.sources, false);
    assert_eq!(e.0.len(), 2, "{text}");
    assert!(e.0.iter().all(|d| d.code == "E0512"), "{text}");
    assert!(text.contains("run `hlb lock`"), "{text}");
    // Locked for another package list: stale, the same error.
    let mut lock = lock_for(&lab);
    let mut other = lock.get(DEBIAN_SECTION, "dns").unwrap().clone();
    other["request"]["packages"] = json!(["nginx"]);
    lock.set(DEBIAN_SECTION, "dns", other);
    let e = plan(&lab, &lock, &|_| Some(1)).unwrap_err();
    assert_eq!(e.0.len(), 1);
    assert!(
        e.0[0].message.contains("resolved for another request"),
        "{}",
        e.0[0].message
    );
}

#[test]
fn the_template_derivation_follows_the_compiler_contract() {
    let (_, p) = planned(&inputs());
    let targets: Vec<(&str, Vec<&str>)> = p
        .targets
        .iter()
        .map(|(t, a)| (t.as_str(), a.artifacts.keys().map(String::as_str).collect()))
        .collect();
    assert_eq!(
        targets,
        vec![
            ("lab", vec!["unused"]),
            ("lxc/dns", vec!["dns"]),
            ("lxc/hello", vec!["hello", "hello-secret-db-password"]),
        ]
    );
    let dns = drv(&p, "lxc/dns", "dns");
    assert_eq!(dns.kind, hlb_builder::kinds::LXC_TEMPLATE);
    assert!(!dns.secret, "templates are public");
    insta::assert_json_snapshot!("dns_params", json(&dns.params));
    let roles: Vec<&str> = dns.inputs.keys().map(String::as_str).collect();
    assert_eq!(
        roles,
        [
            "deb:base-passwd",
            "deb:dnsdist",
            "deb:libaudit1",
            "deb:libc6"
        ]
    );
    let libaudit = p.graph.get(&dns.inputs["deb:libaudit1"]).unwrap();
    assert_eq!(libaudit.kind, "fetch");
    assert_eq!(libaudit.name, "deb-libaudit1_1_e3.0.9-1");
    assert!(libaudit.fixed_output.is_some());
    // The motd is a recipe source (bytes hashed as a source); the
    // interpolated config was planned into text.
    assert_eq!(
        dns.sources.keys().collect::<Vec<_>>(),
        [&"file:1".to_string()]
    );

    let hello = drv(&p, "lxc/hello", "hello");
    let params = json(&hello.params);
    assert_eq!(
        params["archives"],
        json!([{
            "source": "archive:0", "name": "hello-release", "to": "/opt/hello",
            "strip_components": 1, "include": ["bin"], "owner": "root", "group": "root",
        }])
    );
    assert_eq!(
        hello.inputs["archive:0"], p.by_name["hello-release"],
        "the download is the archive's input"
    );
    assert_eq!(
        params["activation_files"],
        json!([{"path": "/run/secrets/db-password", "owner": "hello", "group": "root", "mode": 0o400}])
    );
    // The compiler refuses a template whose params have a `secret` or
    // `secrets` key anywhere (design D6): the planner writes none.
    fn keys(v: &Json, out: &mut Vec<String>) {
        match v {
            Json::Object(m) => m.iter().for_each(|(k, v)| {
                out.push(k.clone());
                keys(v, out)
            }),
            Json::Array(a) => a.iter().for_each(|v| keys(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    keys(&params, &mut all);
    assert!(
        !all.iter().any(|k| k == "secret" || k == "secrets"),
        "{all:?}"
    );
    assert_eq!(params["services"], json!(["hello.service"]));
    assert_eq!(
        params["files"][0]["path"],
        "/etc/systemd/system/hello.service"
    );

    // The delivered secret: a secret `file` derivation hashing the tag.
    let secret = drv(&p, "lxc/hello", "hello-secret-db-password");
    assert!(secret.secret);
    assert_eq!(secret.kind, "file");
    assert!(secret.sources.contains_key("tag:db-password"));
    let meta = p.targets["lxc/hello"]
        .spec
        .delivery("hello-secret-db-password")
        .unwrap();
    assert_eq!(meta["path"], "/run/secrets/db-password");
    assert_eq!(meta["mode"], "0400");
    assert_eq!(meta["secret"], "db-password");

    let meta = p.targets["lxc/dns"].spec.delivery("dns").unwrap();
    assert_eq!(
        meta["probes"],
        json!([{"type": "dns", "port": 53, "name": "dns.home.example.org"}])
    );
    assert_eq!(
        meta["services"],
        json!([{"unit": "dnsdist.service", "user": "_dnsdist"}])
    );
}

#[test]
fn compiler_errors_point_at_the_recipe() {
    let (lab, p) = planned(&inputs());
    let id = p.by_name["dns"];
    let at = |path: &str| {
        p.locate(&id, path)
            .map(|s| lab.sources.location(s))
            .unwrap_or_default()
    };
    assert_eq!(at("files[0].group"), "lab.kdl:13:101");
    assert_eq!(
        at("files[0].owner"),
        "lab.kdl:13:5",
        "not written: the file"
    );
    assert_eq!(at("files[1]"), "lab.kdl:14:5");
    // The drop-in hlb writes for the service's user: the service line.
    assert_eq!(at("files[2]"), "lab.kdl:15:5");
    assert_eq!(at("services[0]"), "lab.kdl:15:13");
    assert_eq!(at("packages[2]"), "lab.kdl:12:14", "dnsdist, as written");
    assert_eq!(
        at("packages[0]"),
        "lab.kdl:11:5",
        "a dependency: the release"
    );
    assert_eq!(at("no-such-param[3].x"), "lab.kdl:10:5", "the declaration");
}

#[test]
fn ids_move_with_what_the_template_is_made_of() {
    let (_, base) = planned(&inputs());
    let id = |p: &Plan, c: &str| p.targets[&format!("lxc/{c}")].artifacts[c];
    // Moving lines and comments changes nothing (spans are not hashed).
    let mut moved = inputs();
    moved.lab = format!("// a comment\n\n{}", moved.lab);
    let (_, p) = planned(&moved);
    assert_eq!(id(&p, "dns"), id(&base, "dns"));
    assert_eq!(id(&p, "hello"), id(&base, "hello"));
    // The config's text: dns only.
    let mut conf = inputs();
    conf.conf = "-- ${domain}\nsetLocal(\"0.0.0.0:5353\")\n";
    let (_, p) = planned(&conf);
    assert_ne!(id(&p, "dns"), id(&base, "dns"));
    assert_eq!(id(&p, "hello"), id(&base, "hello"));
    // A parameter the config interpolates.
    let mut domain = inputs();
    domain.lab = domain.lab.replace("home.example.org", "lab.example.net");
    let (_, p) = planned(&domain);
    assert_ne!(id(&p, "dns"), id(&base, "dns"));
    // The secret's value: only its delivery artifact, never the template.
    let mut secret = inputs();
    secret.tag = 2;
    let (_, p) = planned(&secret);
    assert_eq!(id(&p, "hello"), id(&base, "hello"));
    let s = |p: &Plan| p.targets["lxc/hello"].artifacts["hello-secret-db-password"];
    assert_ne!(s(&p), s(&base));
}

#[test]
fn the_guide_shows_the_unit_hlb_writes() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/lxc.md"),
    )
    .unwrap();
    let documented = doc
        .split("```ini,unit=traefik.service\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/lxc.md shows traefik.service");
    let io = MemIo::new()
        .with(
            "lab.kdl",
            r#"lab "docs"
lxc "edge" {
    debian "bookworm"
    user "traefik"
    service "traefik" exec="/usr/local/bin/traefik --configfile=/etc/traefik/traefik.yaml" user="traefik" working-directory="/var/lib/traefik" {
        env "TZ" "Europe/Berlin"
    }
}
"#,
        );
    let lab = load(&io, &RelPath::new("lab.kdl").unwrap()).unwrap();
    let Body::Lxc(l) = &lab.get("edge").unwrap().body else {
        panic!("an lxc")
    };
    let (path, text) = unit_file(&l.services[0]).expect("a unit");
    assert_eq!(path, "/etc/systemd/system/traefik.service");
    assert_eq!(text, documented);
}
