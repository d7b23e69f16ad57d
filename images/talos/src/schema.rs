//! Validation of machine configs against Talos's published JSON schema.
//!
//! Why: a config hlb generates or patches must be one Talos accepts; the
//! schema Talos publishes for each contract is the independent check. Each
//! document is validated against the schema definition of its kind
//! (`v1alpha1.Config` for the legacy document), with the `jsonschema` crate
//! (no network: the schemas are embedded, see `schema/README.md`).
//!
//! Talos's own generator writes a few things its published schema does not
//! allow. Those, and only those, are excused ([`DEVIATIONS`]); any other
//! violation fails, naming the document (index and kind), the JSON pointer
//! in it, and the schema's complaint.
//!
//! Invariants: validators are compiled once per (schema, definition) and
//! shared; validation is pure.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use hlb_images::yaml::{self, Yaml};
use jsonschema::Validator;
use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

const SCHEMA_V1_14: &str = include_str!("../schema/config.schema.v1.14.json");
const SCHEMA_V1_13: &str = include_str!("../schema/config.schema.v1.13.9.json");

/// A Talos version contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Contract {
    V1_12,
    V1_13,
    V1_14,
}

impl Contract {
    /// `v1.13`, `1.13`, `v1.13.9` … → the contract.
    pub fn parse(s: &str) -> Option<Contract> {
        let s = s.strip_prefix('v').unwrap_or(s);
        let mut parts = s.split('.');
        match (parts.next(), parts.next()) {
            (Some("1"), Some("12")) => Some(Contract::V1_12),
            (Some("1"), Some("13")) => Some(Contract::V1_13),
            (Some("1"), Some("14")) => Some(Contract::V1_14),
            _ => None,
        }
    }

    /// Which embedded schema checks this contract.
    pub fn schema_name(self) -> &'static str {
        match self {
            Contract::V1_12 | Contract::V1_13 => "config.schema.v1.13.9.json",
            Contract::V1_14 => "config.schema.v1.14.json",
        }
    }
}

impl std::fmt::Display for Contract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Contract::V1_12 => "v1.12",
            Contract::V1_13 => "v1.13",
            Contract::V1_14 => "v1.14",
        })
    }
}

/// A known disagreement between Talos's generated configs and its schema.
#[derive(Clone, Copy, Debug)]
pub struct Deviation {
    /// Contracts whose schema has the disagreement.
    pub contracts: &'static [Contract],
    /// Document kind (`v1alpha1` for the legacy document).
    pub kind: &'static str,
    /// JSON pointer of the value the schema rejects.
    pub pointer: &'static str,
    /// Excused only while the value is empty (`{}`, `[]`).
    pub empty_only: bool,
    /// Why it is excused.
    pub reason: &'static str,
}

const ALL: &[Contract] = &[Contract::V1_12, Contract::V1_13, Contract::V1_14];

/// The excused disagreements. Everything else the schema rejects fails.
pub const DEVIATIONS: &[Deviation] = &[
    Deviation {
        contracts: ALL,
        kind: "v1alpha1",
        pointer: "/persist",
        empty_only: false,
        reason: "Talos writes `persist: true` but its schema dropped the (deprecated) field",
    },
    Deviation {
        contracts: &[Contract::V1_12, Contract::V1_13],
        kind: "v1alpha1",
        pointer: "/machine/install/extraKernelArgs",
        empty_only: false,
        reason: "Talos writes install.extraKernelArgs, absent from the v1.13 schema",
    },
    Deviation {
        contracts: &[Contract::V1_14],
        kind: "UnattendedInstallConfig",
        pointer: "/kind",
        empty_only: false,
        reason: "the v1.14 release-candidate schema's enum says `UnattendedInstall`, Talos writes `UnattendedInstallConfig`",
    },
    Deviation {
        contracts: &[Contract::V1_12],
        kind: "v1alpha1",
        pointer: "/machine/network",
        empty_only: true,
        reason: "the v1.12 contract writes `machine.network: {}`; the v1.13.9 schema (used for v1.12, which has none here) dropped the field",
    },
];

/// One thing the schema rejects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Index of the document in the config (0-based).
    pub document: usize,
    /// Its kind (`v1alpha1` for the legacy document).
    pub kind: String,
    /// JSON pointer in the document (`""` for the document itself).
    pub pointer: String,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(
            f,
            "document {} ({}) at {at}: {}",
            self.document + 1,
            self.kind,
            self.message
        )
    }
}

/// A config that does not validate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error("reading config: {0}")]
    Yaml(#[from] yaml::YamlError),
    #[error("document {document}: {message}")]
    Document { document: usize, message: String },
    #[error("config does not validate against the Talos {contract} schema:\n{}", list(.violations))]
    Invalid {
        contract: Contract,
        violations: Vec<Violation>,
    },
}

fn list(v: &[Violation]) -> String {
    v.iter()
        .map(|v| format!("  {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A parsed schema and its compiled per-definition validators.
struct Schema {
    root: Value,
    /// kind → definition name.
    kinds: BTreeMap<String, String>,
    validators: Mutex<BTreeMap<String, Arc<Validator>>>,
}

fn schema(contract: Contract) -> &'static Schema {
    static V13: OnceLock<Schema> = OnceLock::new();
    static V14: OnceLock<Schema> = OnceLock::new();
    let (cell, text) = match contract {
        Contract::V1_12 | Contract::V1_13 => (&V13, SCHEMA_V1_13),
        Contract::V1_14 => (&V14, SCHEMA_V1_14),
    };
    cell.get_or_init(|| {
        // The embedded schemas are tested data: failing to parse them is a
        // build defect, not a user error.
        let root: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let mut kinds = BTreeMap::new();
        if let Some(defs) = root.get("$defs").and_then(Value::as_object) {
            for (name, def) in defs {
                if let Some(kind) = def
                    .pointer("/properties/kind/enum/0")
                    .and_then(Value::as_str)
                {
                    kinds.insert(kind.to_string(), name.clone());
                }
            }
        }
        kinds.insert("v1alpha1".into(), "v1alpha1.Config".into());
        // Deviation: the RC schema names this kind `UnattendedInstall`.
        if let Some(def) = kinds.get("UnattendedInstall").cloned() {
            kinds.entry("UnattendedInstallConfig".into()).or_insert(def);
        }
        Schema {
            root,
            kinds,
            validators: Mutex::new(BTreeMap::new()),
        }
    })
}

impl Schema {
    fn validator(&self, def: &str) -> Result<Arc<Validator>, String> {
        let mut cache = self
            .validators
            .lock()
            .map_err(|_| "schema cache poisoned".to_string())?;
        if let Some(v) = cache.get(def) {
            return Ok(v.clone());
        }
        let mut wrapper = serde_json::Map::new();
        for key in ["$schema", "$id", "$defs"] {
            if let Some(v) = self.root.get(key) {
                wrapper.insert(key.to_string(), v.clone());
            }
        }
        wrapper.insert("$ref".into(), Value::String(format!("#/$defs/{def}")));
        let v = jsonschema::validator_for(&Value::Object(wrapper))
            .map_err(|e| format!("compiling schema definition {def}: {e}"))?;
        let v = Arc::new(v);
        cache.insert(def.to_string(), v.clone());
        Ok(v)
    }
}

/// A YAML value as JSON (the schema's data model).
pub fn to_json(v: &Yaml) -> Value {
    match v {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(*b),
        Yaml::Int(i) => i64::try_from(*i)
            .map(Value::from)
            .or_else(|_| u64::try_from(*i).map(Value::from))
            .unwrap_or(Value::Null),
        Yaml::Float(f) => f
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        Yaml::Str(s) => Value::String(s.clone()),
        Yaml::Seq(items) => Value::Array(items.iter().map(|n| to_json(&n.value)).collect()),
        Yaml::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    let key = match &k.value {
                        Yaml::Str(s) => s.clone(),
                        other => to_json(other).to_string(),
                    };
                    (key, to_json(&v.value))
                })
                .collect(),
        ),
    }
}

fn is_empty_value(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Object(m)) => m.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    }
}

/// Whether the value at `pointer` of `doc` is an excused deviation.
fn excused(contract: Contract, kind: &str, doc: &Value, pointer: &str) -> bool {
    DEVIATIONS.iter().any(|d| {
        d.contracts.contains(&contract)
            && d.kind == kind
            && d.pointer == pointer
            && (!d.empty_only || is_empty_value(doc.pointer(pointer)))
    })
}

/// The part of an error that is not excused, if any: unknown fields are
/// reported at their parent, all together, so they are filtered one by one.
fn unexcused(
    contract: Contract,
    kind: &str,
    doc: &Value,
    pointer: &str,
    err_kind: &ValidationErrorKind,
    message: String,
) -> Option<String> {
    if let ValidationErrorKind::AdditionalProperties { unexpected } = err_kind {
        let left: Vec<&String> = unexpected
            .iter()
            .filter(|p| !excused(contract, kind, doc, &format!("{pointer}/{p}")))
            .collect();
        return match left.len() {
            0 => None,
            n if n == unexpected.len() => Some(message),
            _ => Some(format!(
                "Additional properties are not allowed ({} unexpected)",
                left.iter()
                    .map(|p| format!("'{p}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        };
    }
    (!excused(contract, kind, doc, pointer)).then_some(message)
}

/// The kind of a document as Talos reads it (`v1alpha1` for the legacy one).
fn kind_of(doc: &Value) -> Option<String> {
    match doc.get("kind").and_then(Value::as_str) {
        Some(k) => Some(k.to_string()),
        None => ["version", "machine", "cluster", "debug", "persist"]
            .iter()
            .any(|k| doc.get(*k).is_some())
            .then(|| "v1alpha1".to_string()),
    }
}

/// Validate one document (as JSON) of a config of `contract`, returning
/// what the schema rejects beyond [`DEVIATIONS`].
pub fn validate_document(
    contract: Contract,
    index: usize,
    doc: &Value,
) -> Result<Vec<Violation>, SchemaError> {
    let schema = schema(contract);
    let doc_err = |message: String| SchemaError::Document {
        document: index + 1,
        message,
    };
    let kind =
        kind_of(doc).ok_or_else(|| doc_err("no kind (and not a v1alpha1 document)".into()))?;
    let def = schema.kinds.get(&kind).ok_or_else(|| {
        doc_err(format!(
            "kind {kind:?} is not in the Talos {contract} schema ({})",
            contract.schema_name()
        ))
    })?;
    let validator = schema.validator(def).map_err(doc_err)?;
    let mut out = Vec::new();
    for e in validator.iter_errors(doc) {
        let pointer = e.instance_path().as_str().to_string();
        let Some(message) = unexcused(contract, &kind, doc, &pointer, e.kind(), e.to_string())
        else {
            continue;
        };
        out.push(Violation {
            document: index,
            kind: kind.clone(),
            pointer,
            message,
        });
    }
    Ok(out)
}

/// Validate every document of a config text against the schema of `contract`.
pub fn validate_config(contract: Contract, config_text: &str) -> Result<(), SchemaError> {
    let mut violations = Vec::new();
    let docs = yaml::parse_documents(config_text)?;
    let mut index = 0;
    for doc in docs {
        if matches!(doc.root.value, Yaml::Null) {
            continue;
        }
        if !matches!(doc.root.value, Yaml::Map(_)) {
            return Err(SchemaError::Document {
                document: index + 1,
                message: format!(
                    "{}: expected a mapping, found {}",
                    doc.start,
                    doc.root.value.type_name()
                ),
            });
        }
        violations.extend(validate_document(
            contract,
            index,
            &to_json(&doc.root.value),
        )?);
        index += 1;
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(SchemaError::Invalid {
            contract,
            violations,
        })
    }
}
