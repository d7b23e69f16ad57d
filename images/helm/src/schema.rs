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
                    let errs: Vec<String> = v
                        .iter_errors(&instance)
                        .map(|e| format!("- at '{}': {}", e.instance_path(), e))
                        .collect();
                    if !errs.is_empty() {
                        sb.push_str(&format!("{}:\n{}\n", c.name, errs.join("\n")));
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
