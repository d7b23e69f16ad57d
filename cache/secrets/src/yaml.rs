//! A minimal, deterministic YAML emitter for the manifests this crate makes.
//!
//! Why not the shared emitter: it lives in `hlb-images` (being written in
//! parallel) and this crate must not depend on it yet; the lead may swap
//! it in. The output here is block-style YAML 1.2 in which every string
//! scalar is double-quoted with JSON escapes (a valid YAML double-quoted
//! scalar), so no value can be misread as a number, a boolean or `null`.
//! Map keys are written plain when they are made only of characters that
//! cannot change their meaning, quoted otherwise. Object key order is
//! kept as given (serde_json's `preserve_order`).

use serde_json::Value;

/// Renders `value` (an object at top level) as a YAML document.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => emit_map(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => emit_seq(&mut out, items, 0),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
        // serde_json never escapes '/', and its escapes are all valid YAML.
        other => other.to_string(),
    }
}

fn key(k: &str) -> String {
    let plain = !k.is_empty()
        && k.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/'))
        && !matches!(
            k.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        );
    if plain {
        k.to_owned()
    } else {
        Value::String(k.to_owned()).to_string()
    }
}

fn is_nested(v: &Value) -> bool {
    matches!(v, Value::Object(m) if !m.is_empty()) || matches!(v, Value::Array(a) if !a.is_empty())
}

fn emit_map(out: &mut String, map: &serde_json::Map<String, Value>, indent: usize) {
    for (k, v) in map {
        out.push_str(&" ".repeat(indent));
        out.push_str(&key(k));
        out.push(':');
        emit_value(out, v, indent);
    }
}

fn emit_value(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            emit_map(out, m, indent + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            emit_seq(out, a, indent + 2);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn emit_seq(out: &mut String, items: &[Value], indent: usize) {
    for item in items {
        out.push_str(&" ".repeat(indent));
        out.push('-');
        if is_nested(item) {
            // "- " then the collection, its first line on the dash's line.
            let mut inner = String::new();
            match item {
                Value::Object(m) => emit_map(&mut inner, m, indent + 2),
                Value::Array(a) => emit_seq(&mut inner, a, indent + 2),
                _ => unreachable!("is_nested"),
            }
            out.push(' ');
            out.push_str(&inner[indent + 2..]);
        } else {
            out.push(' ');
            out.push_str(&scalar(item));
            out.push('\n');
        }
    }
}
