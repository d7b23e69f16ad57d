//! The recipe language, end to end: golden fixtures, the reference
//! documentation's examples, and properties of loading.
//!
//! Fixtures live in `tests/recipes/`: `ok-*.kdl` (or `ok-*/lab.kdl`) must
//! load, and a dump of the lab is snapshotted; `fail-*.kdl` (or
//! `fail-*/lab.kdl`) must fail, their first line `// expect: E0101 …` lists
//! the codes of every diagnostic (as a multiset), and the rendered report is
//! snapshotted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use hlb_builder::decl::{Body, Content, Decl, Lab};
use hlb_builder::diag::{SourceMap, Span};
use hlb_builder::io::{FsIo, MemIo, RelPath};
use hlb_builder::load::{LoadError, codes, load};
use serde_json::{Value, json};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/recipes")
}

/// Fixture name → entry path relative to the fixtures directory.
fn fixture_entries(prefix: &str) -> BTreeMap<String, RelPath> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(prefix) {
            continue;
        }
        let rel = if entry.file_type().unwrap().is_dir() {
            format!("{name}/lab.kdl")
        } else if name.ends_with(".kdl") {
            name.clone()
        } else {
            continue;
        };
        let key = name.trim_end_matches(".kdl").to_string();
        out.insert(key, RelPath::new(&rel).unwrap());
    }
    assert!(!out.is_empty(), "no {prefix} fixtures");
    out
}

fn load_fixture(entry: &RelPath) -> Result<Lab, LoadError> {
    load(&FsIo::new(fixtures()), entry)
}

fn location(sources: &SourceMap, span: Span) -> String {
    sources.location(span)
}

/// A stable, readable dump of a lab: every field, spans as `file:line:col`.
fn dump(lab: &Lab) -> Value {
    let s = &lab.sources;
    let at = |span: Span| location(s, span);
    let r = |r: &hlb_builder::decl::Ref| json!({"kind": r.kind.as_str(), "name": r.name, "at": at(r.span)});
    let content = |c: &Content| match c {
        Content::Text(t) => json!({"text": t.value}),
        Content::Source(p) => json!({"source": p.value.as_str(), "at": at(p.span)}),
        Content::Fetch(f) => json!({"fetch": r(f)}),
        Content::Secret(f) => json!({"secret": r(f)}),
    };
    let decl = |d: &Decl| {
        let body = match &d.body {
            Body::Cluster(c) => json!({
                "api": c.api.value,
                "sealing_cert": c.sealing_cert.as_ref().map(|p| p.value.as_str()),
            }),
            Body::Host(h) => json!({"address": h.address.value}),
            Body::Fetch(f) => json!({
                "url": f.url.value,
                "hash": f.hash.as_ref().map(|h| h.value.to_string()),
                "executable": f.executable,
            }),
            Body::File(f) => json!({
                "content": content(&f.content),
                "interpolate": f.interpolate,
                "mode": format!("{:#o}", f.mode.value),
                "mode_written": f.mode_written,
                "secret_refs": f.secret_refs.iter().map(r).collect::<Vec<_>>(),
                "target": f.target.as_ref().map(r),
                "path": f.path.as_ref().map(|p| &p.value),
            }),
            Body::Manifest(m) => json!({
                "content": content(&m.content),
                "interpolate": m.interpolate,
                "target": r(&m.target),
                "namespace": m.namespace.as_ref().map(|n| &n.value),
                "after": m.after.iter().map(r).collect::<Vec<_>>(),
            }),
            Body::Secret(sec) => json!({"age": sec.age.as_str(), "tag": sec.tag.as_str()}),
            Body::SealedSecret(s) => json!({
                "target": r(&s.target),
                "namespace": s.namespace.as_ref().map(|n| &n.value),
                "scope": s.scope.value.as_str(),
                "type": s.secret_type.value,
                "data": s.data.iter().map(|(k, v)| (k.clone(), r(v))).collect::<serde_json::Map<_, _>>(),
                "labels": s.labels.iter().map(|(k, v)| (k.clone(), json!(v.value))).collect::<serde_json::Map<_, _>>(),
                "annotations": s.annotations.iter().map(|(k, v)| (k.clone(), json!(v.value))).collect::<serde_json::Map<_, _>>(),
                "after": s.after.iter().map(r).collect::<Vec<_>>(),
            }),
            Body::TalosCluster(t) => {
                let patch = |p: &hlb_builder::decl::PatchSource| match p {
                    hlb_builder::decl::PatchSource::File(f) => json!({"file": f.value.as_str()}),
                    hlb_builder::decl::PatchSource::Text(t) => json!({"text": t.value}),
                };
                let opt = |v: &Option<hlb_builder::decl::Spanned<String>>| {
                    v.as_ref().map(|v| v.value.clone())
                };
                let map = |m: &BTreeMap<String, hlb_builder::decl::Spanned<String>>| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), json!(v.value)))
                        .collect::<serde_json::Map<_, _>>()
                };
                json!({
                    "talos_version": t.talos_version.value,
                    "kubernetes_version": t.kubernetes_version.value,
                    "endpoint": t.endpoint.value,
                    "vip": opt(&t.vip),
                    "secrets": r(&t.secrets),
                    "pod_cidr": opt(&t.pod_cidr),
                    "service_cidr": opt(&t.service_cidr),
                    "cni": t.cni.value.as_str(),
                    "kube_proxy": t.kube_proxy,
                    "install_disk": opt(&t.install_disk),
                    "admin_cert_valid_from": t.admin_cert_valid_from.value,
                    "schematic": t.schematic.as_ref().map(|s| json!({
                        "extensions": s.extensions.iter().map(|e| &e.value).collect::<Vec<_>>(),
                        "extra_kernel_args": s.extra_kernel_args.iter().map(|e| &e.value).collect::<Vec<_>>(),
                    })),
                    "patches": t.patches.iter().map(|p| json!({
                        "source": patch(&p.source),
                        "role": p.role.as_ref().map(|r| r.value.as_str()),
                        "at": at(p.source.span()),
                    })).collect::<Vec<_>>(),
                    "nodes": t.nodes.iter().map(|n| json!({
                        "name": n.name.value,
                        "at": at(n.name.span),
                        "role": n.role.value.as_str(),
                        "address": n.address.value,
                        "gateway": opt(&n.gateway),
                        "link": n.link.value,
                        "nameservers": n.nameservers.iter().map(|v| &v.value).collect::<Vec<_>>(),
                        "install_disk": opt(&n.install_disk),
                        "labels": map(&n.labels),
                        "taints": map(&n.taints),
                        "patches": n.patches.iter().map(patch).collect::<Vec<_>>(),
                    })).collect::<Vec<_>>(),
                })
            }
            Body::Lxc(l) => dump_lxc(l, &at, &r, &content),
        };
        json!({"kind": d.kind.as_str(), "name": d.name.value, "at": at(d.name.span), "body": body})
    };
    json!({
        "name": lab.name.value,
        "params": lab.params.iter().map(|(k, v)| (k.clone(), json!(v.value))).collect::<serde_json::Map<_, _>>(),
        "deploy_recipients": lab.deploy_recipients.iter().map(|r| &r.value).collect::<Vec<_>>(),
        "secrets_dir": lab.secrets_dir.as_str(),
        "decls": lab.decls.iter().map(decl).collect::<Vec<_>>(),
        "files": lab.files.iter().map(|(p, f)| (p.to_string(), json!({"bytes": f.bytes.len(), "blake3": f.digest.hex()}))).collect::<serde_json::Map<_, _>>(),
        "sources": (0..lab.sources.len() as u32).map(|i| lab.sources.path(hlb_builder::diag::FileId(i)).to_string()).collect::<Vec<_>>(),
    })
}

/// The dump of an `lxc` declaration.
fn dump_lxc(
    l: &hlb_builder::decl::LxcDecl,
    at: &dyn Fn(Span) -> String,
    r: &dyn Fn(&hlb_builder::decl::Ref) -> Value,
    content: &dyn Fn(&Content) -> Value,
) -> Value {
    use hlb_builder::decl::{ProbeKind, Spanned};
    let opt = |v: &Option<Spanned<String>>| v.as_ref().map(|v| v.value.clone());
    let list = |v: &[Spanned<String>]| v.iter().map(|x| x.value.clone()).collect::<Vec<_>>();
    json!({
        "hostname": l.hostname.value,
        "debian": {
            "release": l.debian.release.value,
            "mirror": l.debian.mirror.value,
            "security_mirror": opt(&l.debian.security_mirror),
            "suites": l.debian.suites,
            "components": l.debian.components,
            "architecture": l.debian.architecture.value,
            "at": at(l.debian.span),
        },
        "packages": list(&l.packages),
        "groups": l.groups.iter().map(|g| json!({"name": g.name.value, "gid": g.gid})).collect::<Vec<_>>(),
        "users": l.users.iter().map(|u| json!({
            "name": u.name.value, "uid": u.uid, "group": opt(&u.group), "groups": list(&u.groups),
            "home": opt(&u.home), "shell": opt(&u.shell),
        })).collect::<Vec<_>>(),
        "files": l.files.iter().map(|f| json!({
            "path": f.path.value, "content": content(&f.content), "interpolate": f.interpolate,
            "mode": format!("{:#o}", f.mode.value), "owner": f.owner.value, "group": f.group.value,
            "at": at(f.span),
        })).collect::<Vec<_>>(),
        "archives": l.archives.iter().map(|a| json!({
            "fetch": r(&a.fetch), "to": a.to.value, "strip_components": a.strip_components,
            "include": list(&a.include), "owner": a.owner.value, "group": a.group.value,
        })).collect::<Vec<_>>(),
        "services": l.services.iter().map(|s| json!({
            "unit": s.unit.value, "exec": opt(&s.exec), "description": opt(&s.description),
            "user": opt(&s.user), "group": opt(&s.group), "working_directory": opt(&s.working_directory),
            "environment": s.environment.iter().map(|(k, v)| (k.clone(), json!(v.value))).collect::<serde_json::Map<_, _>>(),
        })).collect::<Vec<_>>(),
        "secrets": l.secrets.iter().map(|s| json!({
            "secret": r(&s.secret), "path": s.path.value, "owner": s.owner.value,
            "group": s.group.value, "mode": format!("{:#o}", s.mode.value),
        })).collect::<Vec<_>>(),
        "network": l.network.as_ref().map(|n| json!({
            "interface": n.interface.value, "address": n.address.value,
            "gateway": opt(&n.gateway), "nameservers": list(&n.nameservers),
        })),
        "probes": l.probes.iter().map(|p| match &p.kind {
            ProbeKind::Tcp => json!({"tcp": p.port}),
            ProbeKind::Http { path } => json!({"http": p.port, "path": path}),
            ProbeKind::Dns { name } => json!({"dns": p.port, "name": name}),
        }).collect::<Vec<_>>(),
    })
}

fn expected_codes(entry: &RelPath) -> Vec<String> {
    let text = std::fs::read_to_string(fixtures().join(entry.as_str())).unwrap();
    let first = text.lines().next().unwrap_or_default();
    let codes = first
        .strip_prefix("// expect:")
        .unwrap_or_else(|| panic!("{entry}: first line must be `// expect: E…`"));
    let mut v: Vec<String> = codes.split_whitespace().map(str::to_string).collect();
    v.sort();
    v
}

#[test]
fn ok_fixtures_load() {
    for (name, entry) in fixture_entries("ok-") {
        let lab = match load_fixture(&entry) {
            Ok(lab) => lab,
            Err(e) => panic!("{name} failed to load:\n{}", e.render(false)),
        };
        let text = serde_json::to_string_pretty(&dump(&lab)).unwrap();
        insta::assert_snapshot!(name, text);
    }
}

#[test]
fn fail_fixtures_report_what_they_expect() {
    for (name, entry) in fixture_entries("fail-") {
        let err = match load_fixture(&entry) {
            Ok(_) => panic!("{name} loaded, but should fail"),
            Err(e) => e,
        };
        let mut got: Vec<String> = err.diagnostics.iter().map(|d| d.code.to_string()).collect();
        got.sort();
        let rendered = err.render(false);
        assert_eq!(got, expected_codes(&entry), "{name}:\n{rendered}");
        for d in err.diagnostics.iter() {
            assert!(
                d.span.is_some(),
                "{name}: every diagnostic names a place: {d:?}"
            );
        }
        insta::assert_snapshot!(name, rendered);
    }
}

#[test]
fn every_code_is_exercised_by_a_fixture() {
    let mut seen = BTreeSet::new();
    for entry in fixture_entries("fail-").values() {
        seen.extend(expected_codes(entry));
    }
    let all: BTreeSet<String> = codes::ALL.iter().map(|(c, _)| c.to_string()).collect();
    let missing: Vec<_> = all.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "codes without a fail fixture: {missing:?}"
    );
    let unknown: Vec<_> = seen.difference(&all).collect();
    assert!(
        unknown.is_empty(),
        "fixtures expect unknown codes: {unknown:?}"
    );
}

#[test]
fn json_report_names_file_line_and_column() {
    let err = load_fixture(&RelPath::new("fail-many.kdl").unwrap()).unwrap_err();
    let json = err.diagnostics.to_json(&err.sources);
    let first = &json[0];
    assert_eq!(first["code"], "E0401");
    assert_eq!(first["file"], "fail-many.kdl");
    assert_eq!(first["line"], 7);
    assert_eq!(first["column"], 20);
    assert!(
        first["help"]
            .as_str()
            .unwrap()
            .contains("https://10.0.0.10:6443")
    );
    // sorted by position
    let lines: Vec<u64> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["line"].as_u64().unwrap())
        .collect();
    assert!(lines.is_sorted(), "{lines:?}");
}

#[test]
fn files_are_read_once_and_hashed() {
    let lab = load_fixture(&RelPath::new("ok-lab/lab.kdl").unwrap()).unwrap();
    let traefik = RelPath::new("ok-lab/files/traefik.yaml").unwrap();
    let bytes = std::fs::read(fixtures().join(traefik.as_str())).unwrap();
    let f = lab.file(&traefik).unwrap();
    assert_eq!(&*f.bytes, &bytes[..]);
    assert_eq!(f.digest, hlb_cache::Digest::of(&bytes));
    // common.kdl is imported twice but loaded once
    let paths: Vec<String> = (0..lab.sources.len() as u32)
        .map(|i| lab.sources.path(hlb_builder::diag::FileId(i)).to_string())
        .collect();
    assert_eq!(
        paths.iter().filter(|p| p.ends_with("common.kdl")).count(),
        1,
        "{paths:?}"
    );
    // decls are sorted by name and found by `get`
    let names: Vec<&str> = lab.decls.iter().map(|d| d.name.value.as_str()).collect();
    assert!(names.is_sorted());
    assert_eq!(lab.get("edge").unwrap().kind.as_str(), "host");
    assert_eq!(lab.param("lab.name"), Some("home"));
    assert_eq!(lab.param("domain"), Some("home.example.org"));
}

/// A counting `EvalIo`: proves each file is read once.
struct Counting {
    inner: MemIo,
    reads: std::sync::Mutex<BTreeMap<String, usize>>,
}

impl hlb_builder::io::EvalIo for Counting {
    fn read(&self, path: &RelPath) -> std::io::Result<Vec<u8>> {
        *self
            .reads
            .lock()
            .unwrap()
            .entry(path.to_string())
            .or_default() += 1;
        self.inner.read(path)
    }
}

#[test]
fn each_file_is_read_once() {
    let io = Counting {
        inner: MemIo::new()
            .with(
                "lab.kdl",
                r#"import "a.kdl" "b.kdl"
lab "x" { param "p" "v" }
file "one" source="shared.txt" interpolate=#true
file "two" source="shared.txt"
"#,
            )
            .with("a.kdl", "import \"c.kdl\"\n")
            .with("b.kdl", "import \"c.kdl\"\nimport \"a.kdl\"\n")
            .with("c.kdl", "file \"three\" source=\"shared.txt\"\n")
            .with("shared.txt", "value ${p}\n"),
        reads: Default::default(),
    };
    let lab = load(&io, &RelPath::new("lab.kdl").unwrap()).unwrap();
    let reads = io.reads.lock().unwrap();
    assert!(reads.values().all(|&n| n == 1), "{reads:?}");
    assert_eq!(reads.len(), 5);
    assert_eq!(lab.files.len(), 1);
}

#[cfg(unix)]
#[test]
fn symlinks_out_of_the_root_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("recipes");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(dir.path().join("outside.txt"), "secret").unwrap();
    std::os::unix::fs::symlink("../outside.txt", root.join("link.txt")).unwrap();
    std::fs::write(
        root.join("lab.kdl"),
        "lab \"x\"\nfile \"f\" source=\"link.txt\"\n",
    )
    .unwrap();
    let err = load(&FsIo::new(&root), &RelPath::new("lab.kdl").unwrap()).unwrap_err();
    let codes: Vec<_> = err.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, [codes::PATH_ESCAPES_ROOT], "{}", err.render(false));
    assert!(err.render(false).contains("symlink"));
}

#[test]
fn the_example_lab_loads() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../recipes");
    if !root.join("lab.kdl").exists() {
        return;
    }
    if let Err(e) = load(&FsIo::new(&root), &RelPath::new("lab.kdl").unwrap()) {
        panic!("recipes/lab.kdl:\n{}", e.render(false));
    }
}

/// One fenced block of a Markdown document.
struct Block {
    info: String,
    body: String,
    line: usize,
}

fn fenced_blocks(doc: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in doc.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => {
                open = Some(Block {
                    info: info.trim().to_string(),
                    body: String::new(),
                    line: i + 1,
                })
            }
            (Some(_), Some("")) => out.extend(open.take()),
            (Some(b), _) => {
                b.body.push_str(line);
                b.body.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "unclosed code block");
    out
}

fn docs(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `kdl` example of the reference loads (or fails as it says), so the
/// documentation cannot drift from the implementation.
#[test]
fn reference_examples_behave_as_documented() {
    doc_examples_behave("recipes.md", 15);
}

/// Likewise for the container guide.
#[test]
fn container_guide_examples_behave_as_documented() {
    doc_examples_behave("lxc.md", 4);
}

/// Loads every `kdl` block of `docs/NAME` (with the blocks marked
/// `file=PATH` as files beside it); `fails=CODE` blocks must fail with
/// exactly that code.
fn doc_examples_behave(name: &str, at_least: usize) {
    let doc = docs(name);
    let mut io = MemIo::new();
    let mut checked = 0;
    for block in fenced_blocks(&doc) {
        let mut parts = block.info.split(',');
        let lang = parts.next().unwrap_or_default();
        let attrs: BTreeMap<&str, &str> = parts.filter_map(|a| a.split_once('=')).collect();
        if let Some(path) = attrs.get("file") {
            io = io.with(path, block.body.clone());
            continue;
        }
        if lang != "kdl" {
            continue;
        }
        let mut text = block.body.clone();
        if !text.lines().any(|l| l.trim_start().starts_with("lab ")) {
            text.push_str("lab \"docs\" { param \"domain\" \"example.org\" }\n");
        }
        let io = io.clone().with("lab.kdl", text);
        let result = load(&io, &RelPath::new("lab.kdl").unwrap());
        match (attrs.get("fails"), result) {
            (None, Ok(_)) => {}
            (None, Err(e)) => panic!(
                "docs/{name}:{}: example fails:\n{}",
                block.line,
                e.render(false)
            ),
            (Some(code), Ok(_)) => panic!(
                "docs/{name}:{}: example should fail with {code}",
                block.line
            ),
            (Some(code), Err(e)) => {
                let got: BTreeSet<&str> = e.diagnostics.iter().map(|d| d.code).collect();
                assert_eq!(
                    got,
                    BTreeSet::from([*code]),
                    "docs/{name}:{}:\n{}",
                    block.line,
                    e.render(false)
                );
            }
        }
        checked += 1;
    }
    assert!(
        checked >= at_least,
        "docs/{name}: only {checked} examples found"
    );
}

/// The table of codes in the reference lists exactly the codes there are,
/// with the same explanations.
#[test]
fn reference_lists_every_code() {
    let doc = docs("recipes.md");
    let table: BTreeMap<String, String> = doc
        .lines()
        .filter_map(|l| {
            let mut cells = l.strip_prefix("| E")?.split(" | ");
            let code = format!("E{}", cells.next()?.trim());
            let text = cells
                .next()?
                .trim()
                .trim_end_matches('|')
                .trim()
                .to_string();
            Some((code, text))
        })
        .collect();
    let ours: BTreeMap<String, String> = codes::ALL
        .iter()
        .map(|(c, t)| {
            let mut t = t.to_string();
            t[..1].make_ascii_uppercase();
            (c.to_string(), format!("{t}."))
        })
        .collect();
    assert_eq!(table, ours);
}

/// A synthetic lab: 1,000 hosts and 9,000 files, manifests and downloads,
/// over 100 imported files, with references across files.
fn big_lab() -> MemIo {
    big_lab_in(false)
}

/// The same lab, all in one file, which the loader parses in pieces.
fn big_lab_one_file() -> MemIo {
    big_lab_in(true)
}

fn big_lab_in(one_file: bool) -> MemIo {
    let mut io = MemIo::new();
    let mut entry = String::from(
        "lab \"big\" {\n    param \"domain\" \"example.org\"\n}\ncluster \"k8s\" api=\"https://10.0.0.10:6443\"\n",
    );
    for f in 0..100 {
        if !one_file {
            entry.push_str(&format!("import \"part-{f}.kdl\"\n"));
        }
        let mut part = String::new();
        for i in 0..10 {
            let h = f * 10 + i;
            part.push_str(&format!(
                "host \"host-{h}\" address=\"10.{}.{}.{}\"\n",
                h / 65536,
                (h / 256) % 256,
                h % 256
            ));
            part.push_str(&format!(
                "fetch \"tool-{h}\" url=\"https://example.org/tool/{h}\" hash=\"sha256:{:064x}\"\n",
                h
            ));
            for j in 0..7 {
                part.push_str(&format!(
                    "file \"conf-{h}-{j}\" target=\"host-{h}\" path=\"/etc/app/{j}.conf\" mode=0o640 text=\"name=host-{h}.${{domain}}\\nindex={j}\\n\"\n"
                ));
            }
            let prev = if h == 0 {
                "conf-0-0".to_string()
            } else {
                format!("m-{}", h - 1)
            };
            part.push_str(&format!(
                "manifest \"m-{h}\" target=\"k8s\" namespace=\"ns-{h}\" fetch=\"tool-{h}\" after=\"{prev}\"\n"
            ));
        }
        if one_file {
            entry.push_str(&part);
        }
        io = io.with(&format!("part-{f}.kdl"), part);
    }
    io.with("lab.kdl", entry)
}

#[test]
fn big_lab_loads_completely() {
    let lab = load(&big_lab(), &RelPath::new("lab.kdl").unwrap()).unwrap();
    assert_eq!(lab.decls.len(), 1 + 100 * 10 * 10);
    let Body::Manifest(m) = &lab.get("m-999").unwrap().body else {
        panic!()
    };
    assert_eq!(m.after[0].name, "m-998");
    // One big file (parsed in pieces) means the same, spans included.
    let one = load(&big_lab_one_file(), &RelPath::new("lab.kdl").unwrap()).unwrap();
    assert_eq!(one.decls.len(), lab.decls.len());
    for (a, b) in one.decls.iter().zip(&lab.decls) {
        assert_eq!((a.kind, &a.name.value), (b.kind, &b.name.value));
    }
    let m = one.get("m-999").unwrap();
    let (line, _) = one.sources.line_col(m.name.span);
    assert_eq!(one.sources.snippet(m.name.span), "\"m-999\"");
    assert_eq!(line, 4 + 100 * 10 * 10);
}

/// Run with `cargo test -p hlb-builder --release --test lang -- --ignored`:
/// ten thousand declarations over 100 files (1 MB of KDL) load in well under
/// a second. KDL parsing dominates (about 0.5 s/MB on one core here), so the
/// test also checks that everything else adds little: loading, which parses
/// files in parallel, takes at most a little more than parsing alone.
#[test]
#[ignore = "timing; meaningful in release builds only"]
fn big_lab_loads_fast() {
    let io = big_lab();
    let entry = RelPath::new("lab.kdl").unwrap();
    let texts: Vec<String> = (0..100)
        .map(|f| {
            let path = RelPath::new(&format!("part-{f}.kdl")).unwrap();
            String::from_utf8(hlb_builder::io::EvalIo::read(&io, &path).unwrap()).unwrap()
        })
        .collect();
    let (mut best_load, mut best_parse) = (std::time::Duration::MAX, std::time::Duration::MAX);
    for _ in 0..3 {
        let start = std::time::Instant::now();
        for t in &texts {
            let _doc: kdl::KdlDocument = t.parse().unwrap();
        }
        best_parse = best_parse.min(start.elapsed());
        let start = std::time::Instant::now();
        let lab = load(&io, &entry).unwrap();
        best_load = best_load.min(start.elapsed());
        assert_eq!(lab.decls.len(), 10_001);
    }
    let one = big_lab_one_file();
    let mut best_one = std::time::Duration::MAX;
    for _ in 0..3 {
        let start = std::time::Instant::now();
        load(&one, &entry).unwrap();
        best_one = best_one.min(start.elapsed());
    }
    let bytes: usize = texts.iter().map(String::len).sum();
    eprintln!(
        "{bytes} bytes: KDL parsing alone {best_parse:?}, whole load {best_load:?}, as one file {best_one:?}"
    );
    assert!(
        best_one < best_parse.mul_f64(1.25),
        "one file {best_one:?} vs parse {best_parse:?}"
    );
    assert!(
        best_load < best_parse.mul_f64(1.25),
        "load {best_load:?} vs parse {best_parse:?}"
    );
    assert!(
        best_load < std::time::Duration::from_millis(1000),
        "{best_load:?}"
    );
}

#[test]
fn a_missing_entry_file_is_one_clear_error() {
    let err = load(&MemIo::new(), &RelPath::new("lab.kdl").unwrap()).unwrap_err();
    let codes: Vec<_> = err.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, [codes::FILE_NOT_FOUND]);
    let text = err.render(false);
    assert!(
        text.contains("error[E0002]: recipe file `lab.kdl` does not exist"),
        "{text}"
    );
    assert_eq!(err.to_string(), "the recipes have 1 error");
}

#[test]
fn recipes_in_a_subdirectory_cannot_reach_their_siblings() {
    // The recipe root is the entry file's directory, even when the EvalIo
    // root is above it.
    let io = MemIo::new()
        .with(
            "recipes/lab.kdl",
            "lab \"x\"\nfile \"f\" source=\"../notes.txt\"\n",
        )
        .with("notes.txt", "outside");
    let err = load(&io, &RelPath::new("recipes/lab.kdl").unwrap()).unwrap_err();
    let codes: Vec<_> = err.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, [codes::PATH_ESCAPES_ROOT]);
    let io = io.with("recipes/notes.txt", "inside");
    let io = io.with(
        "recipes/lab.kdl",
        "lab \"x\"\nfile \"f\" source=\"notes.txt\"\n",
    );
    let lab = load(&io, &RelPath::new("recipes/lab.kdl").unwrap()).unwrap();
    assert!(
        lab.files
            .contains_key(&RelPath::new("recipes/notes.txt").unwrap())
    );
}
