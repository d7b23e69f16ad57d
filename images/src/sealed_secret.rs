//! The `sealed-secret` compiler: a Kubernetes Secret sealed to the cluster's
//! sealed-secrets controller, as a manifest the deployer applies like any
//! other.
//!
//! Parameters: `name`, `namespace` (string or null), `scope` (`strict`,
//! `namespace-wide` or `cluster-wide`), `type` (string or null: `Opaque`),
//! `labels` and `annotations` (maps of strings, for the Secret the
//! controller creates), `data` (map of Secret data key → hlb secret name).
//! Sources: `cert`, the controller's PEM certificate, and `tag:NAME` for
//! every secret in `data` (so the id changes when a value does).
//!
//! The output is ciphertext that only the controller can open, so the
//! derivation is public (`drv.secret == false`) and the output is stored
//! in clear: a directory with `manifest.yaml` and `objects.json`, exactly
//! as the `manifest` compiler writes them (the object goes through
//! [`crate::manifest::normalize_documents`]).
//!
//! Determinism: sealing draws its randomness from
//! `SealSeed::derive(lab_key, derivation id)` (see `hlb_secrets::seal`),
//! so the same derivation gives the same bytes on every build and every
//! machine, and a changed value (a changed tag, hence a changed id) gets
//! fresh randomness.
//!
//! Everything that can be checked without an identity (parameters, the
//! certificate) is checked before any secret is revealed, so a recipe
//! mistake is reported the same with or without one. The certificate's
//! validity period is not checked here (compilers have no clock).
//!
//! Strict and namespace-wide scopes need a namespace (the seal is bound to
//! it). A cluster-wide one may have none, as the recipe language allows:
//! its SealedSecret then names no namespace and its `objects.json` entry
//! says `null`, the one namespaced object the deployer applies without a
//! namespace of hlb's choosing. It bypasses the `manifest` compiler's
//! namespace rule for that reason only; its output is still written by
//! [`Normalized::from_checked`], like every manifest output.

use std::collections::BTreeMap;

use hlb_builder::{BuildCx, BuildError, Compiler, Value};
use hlb_secrets::seal::API_VERSION;
use hlb_secrets::sealing_key::parse_certificate_pem;
use hlb_secrets::{Scope, SealSeed, SecretName, SecretSpec, seal_secret};

use crate::common::{as_text, str_param, write_dir};
use crate::manifest::kinds::{NameRule, check_name};
use crate::manifest::{Normalized, ObjectRef, normalize_documents};
use crate::secret::Declared;
use crate::yaml::{Mark, Node, Yaml};

/// Longest key of a Secret's `data` (Kubernetes' limit).
const MAX_DATA_KEY_LEN: usize = 253;

#[derive(Debug, Default)]
pub struct SealedSecretCompiler;

impl Compiler for SealedSecretCompiler {
    fn kind(&self) -> &'static str {
        hlb_builder::kinds::SEALED_SECRET
    }

    fn version(&self) -> u32 {
        1
    }

    fn build(&self, cx: &BuildCx<'_>) -> Result<(), BuildError> {
        if cx.drv.secret {
            return Err(BuildError::Internal(format!(
                "derivation {}: a sealed-secret output is ciphertext for the cluster and must not be marked secret",
                cx.drv.name
            )));
        }
        let p = Params::read(cx)?;
        let source_name = format!("sealed-secret {}", p.name);
        let cert_name = format!("{source_name}: certificate");
        let cert_pem = as_text(cx.source("cert")?, &cert_name, "a certificate is PEM text")?;
        let cert = parse_certificate_pem(&cert_name, cert_pem)
            .map_err(|e| BuildError::Invalid(e.to_string()))?;

        let secrets = Declared::new(cx, p.data.values().cloned())?;
        let namespace = p.namespace.clone();
        let seed = SealSeed::derive(cx.secrets.lab_key()?, &cx.id.0);
        let mut data = BTreeMap::new();
        for (key, secret) in &p.data {
            data.insert(key.clone(), secrets.reveal(secret)?);
        }
        let spec = SecretSpec {
            name: p.name.clone(),
            namespace: p.namespace,
            scope: p.scope,
            secret_type: p.secret_type,
            labels: p.labels,
            annotations: p.annotations,
            data,
        };
        let sealed = seal_secret(&cert.public_key, &spec, &seed)
            .map_err(|e| BuildError::Invalid(format!("{source_name}: {e}")))?;
        drop(spec);
        let object = Yaml::from_json(&sealed);
        let n = match namespace {
            Some(_) => {
                let at = Mark { line: 1, column: 1 };
                normalize_documents([(Node::at(object, at), at)], &source_name, None).map_err(
                    |e| BuildError::Internal(format!("the sealed manifest is not valid: {e}")),
                )?
            }
            None => Normalized::from_checked([(
                object,
                ObjectRef {
                    api_version: API_VERSION.to_string(),
                    kind: "SealedSecret".to_string(),
                    name: p.name,
                    namespace: None,
                },
            )]),
        };
        write_dir(
            cx.out,
            &[
                ("manifest.yaml", n.yaml.as_bytes()),
                ("objects.json", n.objects_json().as_bytes()),
            ],
        )
    }
}

/// The checked parameters.
struct Params {
    name: String,
    /// `None` only for the cluster-wide scope.
    namespace: Option<String>,
    scope: Scope,
    secret_type: Option<String>,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    /// Data key → hlb secret name.
    data: BTreeMap<String, String>,
}

impl Params {
    fn read(cx: &BuildCx<'_>) -> Result<Params, BuildError> {
        let drv = &cx.drv.name;
        let internal = |what: String| BuildError::Internal(format!("derivation {drv}: {what}"));
        let name = str_param(cx, "name")?
            .ok_or_else(|| internal("no `name` parameter".into()))?
            .to_string();
        let source_name = format!("sealed-secret {name}");
        let invalid = |what: String| BuildError::Invalid(format!("{source_name}: {what}"));
        if let Some(why) = check_name(&name, NameRule::Subdomain) {
            return Err(invalid(format!(
                "`{name}` is not a valid Secret name: {why}"
            )));
        }
        let scope: Scope = str_param(cx, "scope")?
            .unwrap_or("strict")
            .parse()
            .map_err(invalid)?;
        let namespace = match str_param(cx, "namespace")? {
            Some(ns) => {
                if let Some(why) = check_name(ns, NameRule::Label) {
                    return Err(invalid(format!("namespace `{ns}` is not valid: {why}")));
                }
                Some(ns.to_string())
            }
            None if scope == Scope::ClusterWide => None,
            None => {
                return Err(invalid(format!(
                    "the {scope} scope binds the Secret to its namespace, and none is given: give it a namespace, or make it cluster-wide"
                )));
            }
        };
        let secret_type = str_param(cx, "type")?.map(str::to_string);
        if secret_type.as_deref() == Some("") {
            return Err(invalid("`type` must not be empty".into()));
        }
        let labels = string_map(cx, "labels")?;
        let annotations = string_map(cx, "annotations")?;
        let data = string_map(cx, "data")?;
        for (key, secret) in &data {
            if let Some(why) = check_data_key(key) {
                return Err(invalid(format!("data key `{key}` is not valid: {why}")));
            }
            if let Err(e) = SecretName::new(secret) {
                return Err(invalid(format!("data key `{key}`: {e}")));
            }
        }
        Ok(Params {
            name,
            namespace,
            scope,
            secret_type,
            labels,
            annotations,
            data,
        })
    }
}

/// A map-of-strings parameter; absent or null is empty.
fn string_map(cx: &BuildCx<'_>, key: &str) -> Result<BTreeMap<String, String>, BuildError> {
    let bad = |what: String| {
        BuildError::Internal(format!(
            "derivation {}: `{key}` should map strings to strings, {what}",
            cx.drv.name
        ))
    };
    match cx.drv.params.get(key) {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Map(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::Str(s) => Ok((k.clone(), s.clone())),
                other => Err(bad(format!("`{k}` is {other:?}"))),
            })
            .collect(),
        Some(other) => Err(bad(format!("found {other:?}"))),
    }
}

/// Why `key` cannot be a key of a Secret's `data`, if it cannot.
fn check_data_key(key: &str) -> Option<String> {
    if key.is_empty() {
        return Some("it is empty".into());
    }
    if key.len() > MAX_DATA_KEY_LEN {
        return Some(format!("it is longer than {MAX_DATA_KEY_LEN} characters"));
    }
    if key == "." || key == ".." {
        return Some(format!("it may not be `{key}`"));
    }
    if !key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Some("only letters, digits, `-`, `_` and `.` are allowed".into());
    }
    None
}
