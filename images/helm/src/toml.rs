//! `toToml`: BurntSushi/toml's encoder over template values (keys sorted,
//! plain keys before tables, arrays of tables as `[[...]]`).

use crate::value::Value;

pub fn to_toml(v: &Value) -> String {
    let mut out = String::new();
    if let Value::Map(m) = v {
        table(&mut out, &[], &m.borrow());
    }
    out
}

fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        crate::template::gofmt::go_quote(k)
    }
}

fn scalar(v: &Value) -> Option<String> {
    Some(match v {
        Value::Bool(b) => b.to_string(),
        Value::Int(i) | Value::I64(i) => i.to_string(),
        Value::Float(f) => {
            if f.fract() == 0.0 && f.is_finite() {
                format!("{f:.1}")
            } else {
                crate::value::format_float_g(*f)
            }
        }
        Value::Str(s) => crate::template::gofmt::go_quote(s),
        Value::List(_) | Value::Strs(_) => {
            let items = v.items().unwrap_or_default();
            if items.iter().any(|x| matches!(x, Value::Map(_))) {
                return None;
            }
            let parts: Vec<String> = items.iter().filter_map(scalar).collect();
            format!("[{}]", parts.join(", "))
        }
        _ => return None,
    })
}

fn table(out: &mut String, path: &[String], m: &std::collections::BTreeMap<String, Value>) {
    let indent = "  ".repeat(path.len().saturating_sub(1));
    for (k, v) in m {
        if let Some(s) = scalar(v) {
            out.push_str(&format!("{indent}{} = {s}\n", key(k)));
        }
    }
    for (k, v) in m {
        let mut p = path.to_vec();
        p.push(key(k));
        match v {
            Value::Map(sub) => {
                out.push_str(&format!("\n{indent}[{}]\n", p.join(".")));
                table(out, &p, &sub.borrow());
            }
            Value::List(items) if items.iter().any(|x| matches!(x, Value::Map(_))) => {
                for it in items.iter() {
                    if let Value::Map(sub) = it {
                        out.push_str(&format!("\n{indent}[[{}]]\n", p.join(".")));
                        table(out, &p, &sub.borrow());
                    }
                }
            }
            _ => {}
        }
    }
}
