//! Reading and checking a bundle's YAML, collecting every problem with its
//! position (a user fixing an imported bundle wants the whole list at once).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hlb_images::yaml::{Node, Yaml, parse_documents};

use super::pki::{self, PrivateKey};
use super::{
    BundleError, CertAndKey, Certs, ClusterSecrets, KeyOnly, Problem, Secrets, SecretsBundle,
    TrustdInfo,
};

struct Reader {
    problems: Vec<Problem>,
    /// Where each field was found, for semantic problems found later.
    positions: BTreeMap<String, String>,
}

impl Reader {
    fn problem(&mut self, path: &str, node: Option<&Node>, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.to_string(),
            at: node.and_then(|n| n.mark.map(|m| m.to_string())),
            message: message.into(),
        });
    }

    /// The entries of the mapping at `path`, reporting a wrong type and any
    /// key that is not in `known`. `None` (after reporting) when it is not a
    /// mapping: its fields are then not checked one by one.
    fn map<'a>(
        &mut self,
        node: &'a Node,
        path: &str,
        known: &[&str],
    ) -> Option<&'a [(Node, Node)]> {
        let Some(entries) = node.value.as_map() else {
            self.problem(
                if path.is_empty() { "(document)" } else { path },
                Some(node),
                format!("must be a mapping, found {}", node.value.type_name()),
            );
            return None;
        };
        for (k, _) in entries {
            match k.value.as_str() {
                Some(name) if known.contains(&name) => {}
                Some(name) => self.problem(
                    &join(path, name),
                    Some(k),
                    format!("unknown field (known: {})", known.join(", ")),
                ),
                None => self.problem(path, Some(k), "keys must be strings"),
            }
        }
        Some(entries)
    }

    /// The value under `key`, or a "is required" problem (missing or null).
    fn field<'a>(
        &mut self,
        entries: &'a [(Node, Node)],
        parent: &Node,
        path: &str,
        key: &str,
    ) -> Option<&'a Node> {
        let path = join(path, key);
        match entries.iter().find(|(k, _)| k.value.as_str() == Some(key)) {
            Some((k, v)) if v.value != Yaml::Null => {
                if let Some(m) = k.mark {
                    self.positions.insert(path, m.to_string());
                }
                Some(v)
            }
            Some((k, _)) => {
                self.problem(&path, Some(k), "is required (the value is empty)");
                None
            }
            None => {
                let where_ = if parent.mark.is_some() {
                    Some(parent)
                } else {
                    None
                };
                self.problem(&path, where_, "is required");
                None
            }
        }
    }

    /// A required, non-empty string field.
    fn string(&mut self, entries: &[(Node, Node)], parent: &Node, path: &str, key: &str) -> String {
        self.opt_string(entries, parent, path, key, true)
            .unwrap_or_default()
    }

    fn opt_string(
        &mut self,
        entries: &[(Node, Node)],
        parent: &Node,
        path: &str,
        key: &str,
        required: bool,
    ) -> Option<String> {
        let node = if required {
            self.field(entries, parent, path, key)?
        } else {
            let (k, v) = entries
                .iter()
                .find(|(k, _)| k.value.as_str() == Some(key))?;
            if let Some(m) = k.mark {
                self.positions.insert(join(path, key), m.to_string());
            }
            v
        };
        let full = join(path, key);
        match &node.value {
            Yaml::Str(s) if s.is_empty() && required => {
                self.problem(&full, Some(node), "is required (the value is empty)");
                None
            }
            Yaml::Str(s) if s.is_empty() => None,
            Yaml::Str(s) => Some(s.clone()),
            other => {
                self.problem(
                    &full,
                    Some(node),
                    format!("must be a string, found {}", other.type_name()),
                );
                None
            }
        }
    }

    /// A required base64(PEM) field, decoded to PEM text.
    fn pem(&mut self, entries: &[(Node, Node)], parent: &Node, path: &str, key: &str) -> String {
        let text = self.string(entries, parent, path, key);
        if text.is_empty() {
            return text;
        }
        let full = join(path, key);
        let node = entries
            .iter()
            .find(|(k, _)| k.value.as_str() == Some(key))
            .map(|(_, v)| v);
        match STANDARD.decode(text.trim()) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(pem) => pem,
                Err(_) => {
                    self.problem(&full, node, "base64 content is not PEM text");
                    String::new()
                }
            },
            Err(e) => {
                self.problem(&full, node, format!("is not base64 ({e})"));
                String::new()
            }
        }
    }

    fn cert_and_key(&mut self, entries: &[(Node, Node)], parent: &Node, key: &str) -> CertAndKey {
        let path = join("certs", key);
        let Some(node) = self.field(entries, parent, "certs", key) else {
            return empty_cert();
        };
        let Some(inner) = self.map(node, &path, &["crt", "key"]) else {
            return empty_cert();
        };
        CertAndKey {
            crt: self.pem(inner, node, &path, "crt"),
            key: self.pem(inner, node, &path, "key"),
        }
    }
}

fn empty_cert() -> CertAndKey {
    CertAndKey {
        crt: String::new(),
        key: String::new(),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Parse the YAML text into a bundle, reporting structural and semantic
/// problems together.
pub(super) fn read(text: &str) -> Result<SecretsBundle, BundleError> {
    let docs = parse_documents(text)?;
    let root = match docs.as_slice() {
        [doc] if doc.root.value != Yaml::Null => &doc.root,
        [] | [_] => return Err(BundleError::Shape("the document is empty".into())),
        _ => {
            return Err(BundleError::Shape(format!(
                "expected one YAML document, found {}",
                docs.len()
            )));
        }
    };
    let mut r = Reader {
        problems: Vec::new(),
        positions: BTreeMap::new(),
    };
    let Some(top) = r.map(root, "", &["cluster", "secrets", "trustdinfo", "certs"]) else {
        return Err(BundleError::Invalid(r.problems));
    };

    let cluster = match r
        .field(top, root, "", "cluster")
        .and_then(|n| Some((n, r.map(n, "cluster", &["id", "secret"])?)))
    {
        Some((node, m)) => ClusterSecrets {
            id: r.string(m, node, "cluster", "id"),
            secret: r.string(m, node, "cluster", "secret"),
        },
        None => ClusterSecrets {
            id: String::new(),
            secret: String::new(),
        },
    };
    const SECRETS_FIELDS: [&str; 3] = [
        "bootstraptoken",
        "aescbcencryptionsecret",
        "secretboxencryptionsecret",
    ];
    let secrets = match r
        .field(top, root, "", "secrets")
        .and_then(|n| Some((n, r.map(n, "secrets", &SECRETS_FIELDS)?)))
    {
        Some((node, m)) => {
            let bootstrap_token = r.string(m, node, "secrets", "bootstraptoken");
            let aescbc = r.opt_string(m, node, "secrets", "aescbcencryptionsecret", false);
            let secretbox = r.opt_string(m, node, "secrets", "secretboxencryptionsecret", false);
            if aescbc.is_none() && secretbox.is_none() {
                r.problem(
                    "secrets",
                    Some(node),
                    "one of secretboxencryptionsecret, aescbcencryptionsecret is required",
                );
            }
            Secrets {
                bootstrap_token,
                aescbc_encryption_secret: aescbc,
                secretbox_encryption_secret: secretbox,
            }
        }
        None => Secrets {
            bootstrap_token: String::new(),
            aescbc_encryption_secret: None,
            secretbox_encryption_secret: None,
        },
    };
    let trustd_info = match r
        .field(top, root, "", "trustdinfo")
        .and_then(|n| Some((n, r.map(n, "trustdinfo", &["token"])?)))
    {
        Some((node, m)) => TrustdInfo {
            token: r.string(m, node, "trustdinfo", "token"),
        },
        None => TrustdInfo {
            token: String::new(),
        },
    };
    const CERTS_FIELDS: [&str; 5] = ["etcd", "k8s", "k8saggregator", "k8sserviceaccount", "os"];
    let certs = match r
        .field(top, root, "", "certs")
        .and_then(|n| Some((n, r.map(n, "certs", &CERTS_FIELDS)?)))
    {
        Some((node, m)) => {
            let etcd = r.cert_and_key(m, node, "etcd");
            let k8s = r.cert_and_key(m, node, "k8s");
            let k8s_aggregator = r.cert_and_key(m, node, "k8saggregator");
            let sa = match r
                .field(m, node, "certs", "k8sserviceaccount")
                .and_then(|n| Some((n, r.map(n, "certs.k8sserviceaccount", &["key"])?)))
            {
                Some((sa_node, inner)) => r.pem(inner, sa_node, "certs.k8sserviceaccount", "key"),
                None => String::new(),
            };
            let os = r.cert_and_key(m, node, "os");
            Certs {
                etcd,
                k8s,
                k8s_aggregator,
                k8s_service_account: KeyOnly { key: sa },
                os,
            }
        }
        None => Certs {
            etcd: empty_cert(),
            k8s: empty_cert(),
            k8s_aggregator: empty_cert(),
            k8s_service_account: KeyOnly { key: String::new() },
            os: empty_cert(),
        },
    };
    let bundle = SecretsBundle {
        cluster,
        secrets,
        trustd_info,
        certs,
    };
    let mut semantic = Vec::new();
    check_semantics(&bundle, &mut semantic);
    for mut p in semantic {
        p.at = r.positions.get(&p.path).cloned();
        r.problems.push(p);
    }
    if r.problems.is_empty() {
        Ok(bundle)
    } else {
        Err(BundleError::Invalid(r.problems))
    }
}

/// Checks on present values (empty ones are reported by whoever found them
/// empty): formats, key/certificate consistency, CA flags.
pub(super) fn check_semantics(b: &SecretsBundle, problems: &mut Vec<Problem>) {
    let mut push = |path: &str, message: String| {
        problems.push(Problem {
            path: path.to_string(),
            at: None,
            message,
        });
    };
    if !b.secrets.bootstrap_token.is_empty() && !is_token(&b.secrets.bootstrap_token) {
        push(
            "secrets.bootstraptoken",
            "must look like `abcdef.0123456789abcdef` ([0-9a-z]{6}.[0-9a-z]{16})".into(),
        );
    }
    if b.secrets.aescbc_encryption_secret.is_some()
        && b.secrets.secretbox_encryption_secret.is_some()
    {
        push(
            "secrets",
            "only one of secretboxencryptionsecret, aescbcencryptionsecret is allowed".into(),
        );
    }
    if let Some(s) = &b.secrets.secretbox_encryption_secret {
        match STANDARD.decode(s) {
            Ok(k) if k.len() == 32 => {}
            Ok(k) => push(
                "secrets.secretboxencryptionsecret",
                format!("must be base64 of 32 bytes, found {} bytes", k.len()),
            ),
            Err(e) => push(
                "secrets.secretboxencryptionsecret",
                format!("is not base64 ({e})"),
            ),
        }
    }
    if let Some(s) = &b.secrets.aescbc_encryption_secret {
        match STANDARD.decode(s) {
            Ok(k) if [16, 24, 32].contains(&k.len()) => {}
            Ok(k) => push(
                "secrets.aescbcencryptionsecret",
                format!(
                    "must be base64 of 16, 24 or 32 bytes, found {} bytes",
                    k.len()
                ),
            ),
            Err(e) => push(
                "secrets.aescbcencryptionsecret",
                format!("is not base64 ({e})"),
            ),
        }
    }
    for (name, ck) in [
        ("etcd", &b.certs.etcd),
        ("k8s", &b.certs.k8s),
        ("k8saggregator", &b.certs.k8s_aggregator),
        ("os", &b.certs.os),
    ] {
        let cert = if ck.crt.is_empty() {
            None
        } else {
            match pki::parse_certificate_pem(&ck.crt) {
                Ok(c) => {
                    if !is_ca(&c) {
                        push(
                            &format!("certs.{name}.crt"),
                            "is not a CA certificate (basic constraints CA:TRUE missing)".into(),
                        );
                    }
                    Some(c)
                }
                Err(e) => {
                    push(&format!("certs.{name}.crt"), format!("is invalid: {e}"));
                    None
                }
            }
        };
        let key = if ck.key.is_empty() {
            None
        } else {
            match PrivateKey::from_pem(&ck.key) {
                Ok(k) => Some(k),
                Err(e) => {
                    push(&format!("certs.{name}.key"), format!("is invalid: {e}"));
                    None
                }
            }
        };
        if let (Some(c), Some(k)) = (cert, key)
            && let Err(e) = pki::check_key_matches(&c, &k)
        {
            push(&format!("certs.{name}.key"), e.to_string());
        }
    }
    let sa = &b.certs.k8s_service_account.key;
    if !sa.is_empty()
        && let Err(e) = PrivateKey::from_pem(sa)
    {
        push("certs.k8sserviceaccount.key", format!("is invalid: {e}"));
    }
}

fn is_token(t: &str) -> bool {
    let ok = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
    };
    matches!(t.split_once('.'), Some((a, b)) if ok(a, 6) && ok(b, 16))
}

fn is_ca(cert: &x509_cert::Certificate) -> bool {
    use x509_cert::der::Decode as _;
    let Some(exts) = &cert.tbs_certificate.extensions else {
        return false;
    };
    exts.iter().any(|e| {
        e.extn_id == x509_cert::der::oid::db::rfc5280::ID_CE_BASIC_CONSTRAINTS
            && x509_cert::ext::pkix::BasicConstraints::from_der(e.extn_value.as_bytes())
                .is_ok_and(|bc| bc.ca)
    })
}
