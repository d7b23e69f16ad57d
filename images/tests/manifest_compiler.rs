//! The `manifest` compiler: normalized output of realistic manifests and
//! every error it reports.

mod support;

use hlb_builder::{BuildError, Value};
use hlb_images::manifest::{ManifestCompiler, normalize};
use support::{build, drv};

const CLUSTER_ISSUER: &str = r#"# cert-manager issuer for the lab
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata:
  name: letsencrypt
spec:
  acme:
    server: https://acme-v02.api.letsencrypt.org/directory
    email: admin@home.example.org
    privateKeySecretRef: {name: letsencrypt-account}
    solvers:
      - dns01:
          cloudflare:
            apiTokenSecretRef:
              name: cloudflare
              key: token
"#;

const APP: &str = r#"---
apiVersion: v1
kind: Namespace
metadata:
  name: web
  labels:
    homelab.example/tier: "2"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: whoami
spec:
  replicas: 2
  selector:
    matchLabels: {app: whoami}
  template:
    metadata:
      labels: {app: whoami}
    spec:
      containers:
        - name: whoami
          image: traefik/whoami:v1.10
          args: ["--port", "8080", "--verbose=yes"]
          ports:
            - containerPort: 8080
          env:
            - {name: GREETING, value: "hello: world"}
            - {name: EMPTY, value: ""}
---
apiVersion: v1
kind: Service
metadata:
  name: whoami
  namespace: web
spec:
  selector: {app: whoami}
  ports:
    - port: 80
      targetPort: 8080
"#;

const LIST: &str = r#"apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: a}
    data: {key: value, multi: "line one\nline two\n"}
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: b}
    data: {"10": x, "9": y, "b": z, "a": w}
"#;

fn normalized(text: &str, ns: Option<&str>) -> String {
    let n = normalize(text, "manifests/test.yaml", ns).unwrap();
    format!("{}=== objects.json\n{}", n.yaml, n.objects_json())
}

#[test]
fn cluster_issuer() {
    insta::assert_snapshot!(normalized(
        CLUSTER_ISSUER,
        Some("ignored-for-cluster-kinds")
    ));
}

#[test]
fn namespace_deployment_service() {
    insta::assert_snapshot!(normalized(APP, Some("web")));
}

#[test]
fn list_is_expanded() {
    insta::assert_snapshot!(normalized(LIST, Some("config")));
}

#[test]
fn compiler_writes_manifest_and_objects() {
    let params = Value::map()
        .with("interpolate", true)
        .with("params", Value::map().with("ns", "web"))
        .with("namespace", "web")
        .with("source_name", "manifests/app.yaml");
    let d = drv("manifest", "app", params);
    let src = APP.replace("name: web\n  labels", "name: ${ns}\n  labels");
    let (run, r) = build(&ManifestCompiler, &d, Some(src.as_bytes()), None);
    r.unwrap();
    assert_eq!(
        run.read("manifest.yaml"),
        normalize(APP, "x", Some("web")).unwrap().yaml
    );
    assert_eq!(
        run.read("objects.json"),
        r#"[{"apiVersion":"v1","kind":"Namespace","name":"web","namespace":null},{"apiVersion":"apps/v1","kind":"Deployment","name":"whoami","namespace":"web"},{"apiVersion":"v1","kind":"Service","name":"whoami","namespace":"web"}]"#.to_string() + "\n"
    );
}

#[test]
fn compiler_errors_name_the_source() {
    let params = Value::map().with("source_name", "manifests/bad.yaml");
    let d = drv("manifest", "bad", params);
    let (run, r) = build(&ManifestCompiler, &d, Some(b"kind: [\n"), None);
    let Err(BuildError::Invalid(msg)) = r else {
        panic!("expected an invalid-input error")
    };
    assert!(msg.starts_with("manifests/bad.yaml:"), "{msg}");
    assert!(!run.out.exists());
}

fn error(text: &str, ns: Option<&str>) -> String {
    normalize(text, "manifests/test.yaml", ns)
        .unwrap_err()
        .to_string()
}

#[test]
fn errors() {
    let cases: &[(&str, &str, Option<&str>)] = &[
        ("not a mapping", "- a\n- b\n", None),
        (
            "missing apiVersion",
            "kind: ConfigMap\nmetadata: {name: a}\n",
            None,
        ),
        (
            "kind not a string",
            "apiVersion: v1\nkind: 3\nmetadata: {name: a}\n",
            None,
        ),
        ("no metadata", "apiVersion: v1\nkind: ConfigMap\n", None),
        (
            "metadata not a map",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: a\n",
            None,
        ),
        (
            "no name",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {}}\n",
            Some("x"),
        ),
        (
            "bad subdomain",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: My_Config\n",
            Some("x"),
        ),
        (
            "bad service name",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: 1web\n",
            Some("x"),
        ),
        (
            "bad namespace name",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a.b\n",
            None,
        ),
        (
            "cluster kind with namespace",
            "apiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata:\n  name: le\n  namespace: web\n",
            None,
        ),
        (
            "namespaced without namespace",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\n",
            None,
        ),
        (
            "bad declared namespace",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
            Some("Web"),
        ),
        (
            "duplicate object",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
            Some("x"),
        ),
        (
            "duplicate key",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nkind: Secret\n",
            Some("x"),
        ),
        (
            "yaml syntax",
            "apiVersion: v1\nkind: ConfigMap\n  metadata: {name: a}\n",
            None,
        ),
        (
            "list item not a map",
            "apiVersion: v1\nkind: List\nitems:\n  - 3\n",
            None,
        ),
        ("empty", "# nothing here\n---\n", None),
    ];
    let mut out = String::new();
    for (what, text, ns) in cases {
        out.push_str(&format!("{what}: {}\n", error(text, *ns)));
    }
    insta::assert_snapshot!(out);
}

#[test]
fn unknown_kinds_follow_the_declared_namespace() {
    let widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n";
    let n = normalize(widget, "w.yaml", Some("lab")).unwrap();
    assert_eq!(n.objects[0].namespace.as_deref(), Some("lab"));
    assert!(n.yaml.contains("namespace: lab"), "{}", n.yaml);
    let n = normalize(widget, "w.yaml", None).unwrap();
    assert_eq!(n.objects[0].namespace, None);
    assert!(!n.yaml.contains("namespace"), "{}", n.yaml);
}
