//! Values to and from JSON and YAML text, as Helm's Go libraries do it.
//!
//! - JSON out: `encoding/json` (`Marshal`: sorted keys, HTML-safe
//!   escaping unless raw, Go's float format).
//! - YAML out: `sigs.k8s.io/yaml.Marshal` = JSON, then go-yaml v2 decode
//!   and encode. So a float that JSON prints as an integer becomes a YAML
//!   integer (`1e+06` → `1000000`), keys sort in go-yaml's natural order.
//!   The writer is `hlb_images::yaml` (go-yaml v2 flavour).
//! - YAML/JSON in: `sigs.k8s.io/yaml.Unmarshal` (go-yaml v2 meaning, then
//!   JSON): every number becomes a `float64`, keys become strings.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hlb_images::yaml::{self as y, Flavor, Node, Style, Yaml};

use crate::value::{Value, format_float_g};

/// Go's encoding/json float text.
pub fn json_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = crate::template::gofmt::format_e(f, 16);
        // Shortest 'e' form: use Rust's shortest then Go's exponent style.
        let short = format!("{f:e}");
        let (m, e) = short.split_once('e').unwrap_or((&short, "0"));
        let e: i32 = e.parse().unwrap_or(0);
        let _ = s;
        return format!("{m}e{}{}", if e < 0 { '-' } else { '+' }, e.unsigned_abs());
    }
    if f.fract() == 0.0 && abs < 1e21 {
        return format!("{f:.0}");
    }
    let s = format!("{f}");
    s
}

fn json_string(out: &mut String, s: &str, escape_html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' if escape_html => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `json.Marshal` (or `MarshalIndent` with `indent`).
pub fn to_json(v: &Value, escape_html: bool, indent: Option<&str>) -> String {
    let mut out = String::new();
    write_json(&mut out, v, escape_html, indent, 0);
    out
}

fn newline(out: &mut String, indent: Option<&str>, depth: usize) {
    if let Some(ind) = indent {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(ind);
        }
    }
}

fn write_json(out: &mut String, v: &Value, esc: bool, indent: Option<&str>, depth: usize) {
    match v {
        Value::Invalid | Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::I64(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => out.push_str(&json_float(*f)),
        Value::Str(s) => json_string(out, s, esc),
        Value::Bytes(b) => {
            use base64::Engine as _;
            json_string(
                out,
                &base64::engine::general_purpose::STANDARD.encode(b),
                esc,
            );
        }
        Value::List(_) | Value::Strs(_) => {
            let items = v.items().unwrap_or_default();
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent, depth + 1);
                write_json(out, x, esc, indent, depth + 1);
            }
            newline(out, indent, depth);
            out.push(']');
        }
        Value::Map(m) => write_json_map(out, &m.borrow(), esc, indent, depth),
        Value::Object(o) => match o.entries() {
            Some(e) => write_json_map(out, &e, esc, indent, depth),
            None => {
                let mut s = String::new();
                o.write_v(&mut s, false);
                json_string(out, &s, esc);
            }
        },
    }
}

fn write_json_map(
    out: &mut String,
    m: &BTreeMap<String, Value>,
    esc: bool,
    indent: Option<&str>,
    depth: usize,
) {
    if m.is_empty() {
        out.push_str("{}");
        return;
    }
    out.push('{');
    for (i, (k, x)) in m.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        newline(out, indent, depth + 1);
        json_string(out, k, esc);
        out.push(':');
        if indent.is_some() {
            out.push(' ');
        }
        write_json(out, x, esc, indent, depth + 1);
    }
    newline(out, indent, depth);
    out.push('}');
}

/// A value as the YAML tree `sigs.k8s.io/yaml` would write (after its
/// JSON round trip).
pub fn to_yaml_tree(v: &Value) -> Yaml {
    tree(v, true)
}

/// A value as go-yaml v3 encodes it directly (`toYamlPretty`: no JSON
/// round trip, so a float64 stays a float: `1e+06`).
pub fn to_yaml_tree_direct(v: &Value) -> Yaml {
    tree(v, false)
}

fn tree(v: &Value, json: bool) -> Yaml {
    match v {
        Value::Invalid | Value::Nil => Yaml::Null,
        Value::Bool(b) => Yaml::Bool(*b),
        Value::Int(i) | Value::I64(i) => Yaml::Int(i128::from(*i)),
        Value::Float(f) if !json => Yaml::float(*f),
        Value::Float(f) => {
            let j = json_float(*f);
            if j.contains(['.', 'e', 'E']) {
                Yaml::float(*f)
            } else {
                Yaml::Int(j.parse().unwrap_or(0))
            }
        }
        Value::Str(s) => Yaml::Str(s.to_string()),
        Value::Bytes(b) => {
            use base64::Engine as _;
            Yaml::Str(base64::engine::general_purpose::STANDARD.encode(b))
        }
        Value::List(_) | Value::Strs(_) => Yaml::Seq(
            v.items()
                .unwrap_or_default()
                .iter()
                .map(|x| Node::new(tree(x, json)))
                .collect(),
        ),
        Value::Map(m) => map_tree(&m.borrow(), json),
        Value::Object(o) => match o.entries() {
            Some(e) => map_tree(&e, json),
            None => {
                let mut s = String::new();
                o.write_v(&mut s, false);
                Yaml::Str(s)
            }
        },
    }
}

fn map_tree(m: &BTreeMap<String, Value>, json: bool) -> Yaml {
    let mut y = Yaml::Map(
        m.iter()
            .map(|(k, x)| (Node::new(Yaml::Str(k.clone())), Node::new(tree(x, json))))
            .collect(),
    );
    y::sort_keys(&mut y, Flavor::V2);
    y
}

/// `toYaml`: `sigs.k8s.io/yaml.Marshal`, trailing newline kept.
pub fn to_yaml_string(v: &Value) -> String {
    y::emit(&to_yaml_tree(v), &Style::K8S)
}

/// A YAML value as Helm sees it after `sigs.k8s.io/yaml.Unmarshal`.
pub fn from_yaml_tree(y: &Yaml) -> Value {
    match y {
        Yaml::Null => Value::Nil,
        Yaml::Bool(b) => Value::Bool(*b),
        Yaml::Int(i) => Value::Float(*i as f64),
        Yaml::Float(f) => Value::Float(parse_yaml_float(f)),
        Yaml::Str(s) => Value::str(s),
        Yaml::Seq(items) => Value::list(items.iter().map(|n| from_yaml_tree(&n.value)).collect()),
        Yaml::Map(entries) => {
            let mut m = BTreeMap::new();
            for (k, v) in entries {
                m.insert(yaml_key_string(&k.value), from_yaml_tree(&v.value));
            }
            Value::map(m)
        }
    }
}

fn parse_yaml_float(f: &str) -> f64 {
    match f.trim_start_matches('+').to_ascii_lowercase().as_str() {
        ".inf" => f64::INFINITY,
        "-.inf" => f64::NEG_INFINITY,
        ".nan" => f64::NAN,
        t => t.replace('_', "").parse().unwrap_or(0.0),
    }
}

/// How `sigs.k8s.io/yaml` turns a non-string key into a JSON key.
fn yaml_key_string(k: &Yaml) -> String {
    match k {
        Yaml::Str(s) => s.clone(),
        Yaml::Null => "null".into(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Int(i) => i.to_string(),
        Yaml::Float(f) => format_float_g(parse_yaml_float(f)),
        other => y::emit(other, &Style::K8S).trim_end().to_string(),
    }
}

/// `sigs.k8s.io/yaml.Unmarshal` of the first document into an untyped
/// value.
pub fn from_yaml(text: &str) -> Result<Value, String> {
    let docs = y::parse_documents_as(text, Flavor::V2).map_err(|e| {
        format!(
            "error converting YAML to JSON: yaml: line {}: {}",
            e.mark.line, e.message
        )
    })?;
    Ok(docs
        .first()
        .map(|d| from_yaml_tree(&d.root.value))
        .unwrap_or(Value::Nil))
}

/// Like [`from_yaml`], but of a mapping only the `keys` are converted (the
/// rest is parsed, so syntax errors still show, but not turned into
/// values): what reading a manifest's head needs, fast on huge CRDs.
pub fn from_yaml_keys(text: &str, keys: &[&str]) -> Result<Value, String> {
    let docs = y::parse_documents_as(text, Flavor::V2).map_err(|e| {
        format!(
            "error converting YAML to JSON: yaml: line {}: {}",
            e.mark.line, e.message
        )
    })?;
    let Some(d) = docs.first() else {
        return Ok(Value::Nil);
    };
    Ok(match &d.root.value {
        Yaml::Map(entries) => {
            let mut m = BTreeMap::new();
            for (k, v) in entries {
                let key = yaml_key_string(&k.value);
                if keys.contains(&key.as_str()) {
                    m.insert(key, from_yaml_tree(&v.value));
                }
            }
            Value::map(m)
        }
        other => from_yaml_tree(other),
    })
}

/// `json.Unmarshal` into an untyped value (numbers are float64).
pub fn from_json(text: &str) -> Result<Value, String> {
    let j: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    Ok(from_json_value(&j))
}

pub fn from_json_value(j: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match j {
        J::Null => Value::Nil,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        J::String(s) => Value::str(s),
        J::Array(a) => Value::list(a.iter().map(from_json_value).collect()),
        J::Object(o) => Value::map(
            o.iter()
                .map(|(k, v)| (k.clone(), from_json_value(v)))
                .collect(),
        ),
    }
}

/// A value as serde JSON (for schema validation).
pub fn to_serde_json(v: &Value) -> serde_json::Value {
    serde_json::from_str(&to_json(v, false, None)).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_floats() {
        assert_eq!(json_float(1e6), "1000000");
        assert_eq!(json_float(1.5), "1.5");
        assert_eq!(json_float(1e21), "1e+21");
        assert_eq!(json_float(1e-7), "1e-7");
        assert_eq!(json_float(0.000001), "0.000001");
    }

    #[test]
    fn yaml_round_trip() {
        let v = from_yaml("a: 1\nb: yes\nc: [x, 2.5]\nz: null\n").unwrap();
        assert_eq!(
            to_yaml_string(&v),
            "a: 1\nb: true\nc:\n- x\n- 2.5\nz: null\n"
        );
        // YAML 1.1: the key `n` is the boolean false (helm prints map[false:3]).
        let v = from_yaml("n: 3\n").unwrap();
        assert_eq!(to_yaml_string(&v), "\"false\": 3\n");
    }
}
