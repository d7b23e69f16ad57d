//! `values.schema.json` validation of the coalesced values, per chart and
//! subchart (each against its own section), as Helm's
//! `ValidateAgainstSchema` walks them. Remote `$ref`s are not fetched.
//!
//! Differs: the error lines come from the `jsonschema` crate, not from
//! santhosh-tekuri/jsonschema, so their wording differs from helm's; the
//! chart names and the failure itself are the same.

use crate::chart::Chart;
use crate::convert::to_serde_json;
use crate::value::Value;

pub fn validate(c: &Chart, values: &Value) -> Result<(), String> {
    let mut sb = String::new();
    walk(c, values, &mut sb);
    if sb.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "values don't meet the specifications of the schema(s) in the following chart(s):\n{sb}"
        ))
    }
}

fn walk(c: &Chart, values: &Value, sb: &mut String) {
    if let Some(schema) = &c.schema {
        let instance = to_serde_json(values);
        match serde_json::from_slice::<serde_json::Value>(schema) {
            Err(e) => sb.push_str(&format!("{}:\n{e}\n", c.name)),
            Ok(s) => match jsonschema::validator_for(&s) {
                Err(e) => sb.push_str(&format!("{}:\n{e}\n", c.name)),
                Ok(v) => {
                    // (instance path, message) in santhosh-tekuri's words,
                    // missing properties at one place grouped.
                    // santhosh-tekuri evaluates `required` before
                    // `properties`, and `additionalProperties` after.
                    let mut errs: Vec<(u8, String, String)> = Vec::new();
                    let mut required: Vec<(String, Vec<String>)> = Vec::new();
                    for e in v.iter_errors(&instance) {
                        let path = e.instance_path().to_string();
                        if let jsonschema::error::ValidationErrorKind::Required { property } =
                            e.kind()
                        {
                            let name = property
                                .as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| property.to_string());
                            match required.iter_mut().find(|(p, _)| *p == path) {
                                Some((_, names)) => names.push(name),
                                None => required.push((path, vec![name])),
                            }
                            continue;
                        }
                        let rank = match e.kind() {
                            jsonschema::error::ValidationErrorKind::AdditionalProperties {
                                ..
                            } => 2,
                            _ => 1,
                        };
                        errs.push((rank, path, message(&e)));
                    }
                    for (path, names) in required {
                        let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
                        let msg = if names.len() == 1 {
                            format!("missing property {}", quoted[0])
                        } else {
                            format!("missing properties {}", quoted.join(", "))
                        };
                        errs.push((0, path, msg));
                    }
                    errs.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
                    if !errs.is_empty() {
                        let lines: Vec<String> = errs
                            .iter()
                            .map(|(_, p, m)| format!("- at '{p}': {m}"))
                            .collect();
                        sb.push_str(&format!("{}:\n{}\n", c.name, lines.join("\n")));
                    }
                }
            },
        }
    }
    for sub in &c.subcharts {
        let sv = match values {
            Value::Map(m) => m
                .borrow()
                .get(&sub.name)
                .cloned()
                .unwrap_or_else(Value::empty_map),
            _ => Value::empty_map(),
        };
        walk(sub, &sv, sb);
    }
}

/// The JSON type name santhosh-tekuri/jsonschema reports for a value.
fn json_type(v: &serde_json::Value) -> &'static str {
    use serde_json::Value as J;
    match v {
        J::Null => "null",
        J::Bool(_) => "boolean",
        J::Number(n)
            if n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0) =>
        {
            "integer"
        }
        J::Number(_) => "number",
        J::String(_) => "string",
        J::Array(_) => "array",
        J::Object(_) => "object",
    }
}

fn quote_json(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    }
}

/// One error in santhosh-tekuri/jsonschema v6's words (what helm prints),
/// for the common keywords; others keep the `jsonschema` crate's text.
fn message(e: &jsonschema::ValidationError<'_>) -> String {
    use jsonschema::error::{TypeKind, ValidationErrorKind as K};
    let inst = e.instance();
    match e.kind() {
        K::Type {
            kind: TypeKind::Single(t),
        } => format!("got {}, want {t}", json_type(inst)),
        K::Enum { options } => match options.as_array() {
            Some(o) => format!(
                "value must be one of {}",
                o.iter().map(quote_json).collect::<Vec<_>>().join(", ")
            ),
            None => e.to_string(),
        },
        K::Constant { expected_value } => format!("value must be {}", quote_json(expected_value)),
        K::Minimum { limit } => format!("minimum: got {inst}, want {limit}"),
        K::Maximum { limit } => format!("maximum: got {inst}, want {limit}"),
        K::MinLength { limit } => format!(
            "minLength: got {}, want {limit}",
            inst.as_str().map_or(0, |s| s.chars().count())
        ),
        K::MaxLength { limit } => format!(
            "maxLength: got {}, want {limit}",
            inst.as_str().map_or(0, |s| s.chars().count())
        ),
        K::Pattern { pattern } => {
            format!("{} does not match pattern '{pattern}'", quote_json(inst))
        }
        K::AdditionalProperties { unexpected } => format!(
            "additional properties {} not allowed",
            unexpected
                .iter()
                .map(|u| format!("'{u}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => e.to_string(),
    }
}
