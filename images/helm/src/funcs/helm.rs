//! Helm's own template functions (`pkg/engine/funcs.go`, `engine.go`):
//! `include` (recursion limit 1000 per name), `tpl`, `required` and
//! `fail` (messages wrapped in Helm's `HELM_ERR_START`/`END` markers, which
//! the error formatter looks for), YAML/JSON/TOML conversions and `lookup`
//! (always an empty map, as under `helm template`).

use std::rc::Rc;

use super::{Error, FnResult, Registry, Ty, ok, s};
use crate::convert::{from_yaml, to_json, to_yaml_string};
use crate::template::{Exec, ExecError, Set};
use crate::value::Value;

/// Helm's `recursionMaxNums`.
const MAX_INCLUDE: usize = 1000;

pub const WARN_START: &str = "HELM_ERR_START";
pub const WARN_END: &str = "HELM_ERR_END";

pub fn register(r: &mut Registry) {
    use Ty::*;
    r.add("toYaml", &[Any], |_, a| ok(trim_nl(to_yaml_string(&a[0]))));
    r.add("mustToYaml", &[Any], |_, a| {
        ok(trim_nl(to_yaml_string(&a[0])))
    });
    r.add("toYamlPretty", &[Any], |_, a| {
        let y = crate::convert::to_yaml_tree_direct(&a[0]);
        let style = hlb_images::yaml::Style {
            flavor: hlb_images::yaml::Flavor::V3,
            indent: 2,
            width: None,
        };
        ok(trim_nl(hlb_images::yaml::emit(&y, &style)))
    });
    r.add("fromYaml", &[Str], |_, a| {
        ok(match from_yaml(s(&a[0])) {
            Ok(v @ Value::Map(_)) => v,
            Ok(Value::Nil) => Value::empty_map(),
            Ok(other) => super::encoding::err_map(&format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                json_kind(&other)
            )),
            Err(e) => super::encoding::err_map(&e),
        })
    });
    r.add("fromYamlArray", &[Str], |_, a| {
        ok(match from_yaml(s(&a[0])) {
            Ok(v @ Value::List(_)) => v,
            Ok(Value::Nil) => Value::list(Vec::new()),
            Ok(other) => Value::list(vec![Value::str(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type []interface {{}}",
                json_kind(&other)
            ))]),
            Err(e) => Value::list(vec![Value::str(e)]),
        })
    });
    r.add("toToml", &[Any], |_, a| ok(crate::toml::to_toml(&a[0])));
    r.add("toJson", &[Any], |_, a| ok(to_json(&a[0], true, None)));
    r.add("lookup", &[Str, Str, Str, Str], |_, _| {
        Ok(Value::empty_map())
    });
    r.add("required", &[Str, Any], |_, a| {
        let missing = match &a[1] {
            Value::Nil | Value::Invalid => true,
            Value::Str(v) => v.is_empty(),
            _ => false,
        };
        if missing {
            return Err(format!("{WARN_START}{}{WARN_END}", s(&a[0])).into());
        }
        Ok(a[1].clone())
    });
    r.add("fail", &[Str], |_, a| {
        Err(format!("{WARN_START}{}{WARN_END}", s(&a[0])).into())
    });
    r.add("include", &[Str, Any], include);
    r.add("tpl", &[Str, Any], tpl);
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::List(_) => "array",
        Value::Map(_) => "object",
        Value::Str(_) => "string",
        Value::Float(_) => "number",
        Value::Bool(_) => "bool",
        _ => "null",
    }
}

fn trim_nl(mut s: String) -> String {
    if s.ends_with('\n') {
        s.pop();
    }
    s
}

fn include(x: &mut Exec, a: Vec<Value>) -> FnResult {
    let name = s(&a[0]).to_string();
    let count = x.host.includes().entry(name.clone()).or_insert(0);
    if *count > MAX_INCLUDE {
        return Err(format!(
            "rendering template has a nested reference name: {name}: unable to execute template"
        )
        .into());
    }
    *count += 1;
    let r = x.exec_template(&name, a[1].clone());
    if let Some(c) = x.host.includes().get_mut(&name) {
        *c -= 1;
    }
    match r {
        Ok(out) => ok(out),
        Err(e) => Err(Error::Exec(e)),
    }
}

fn tpl(x: &mut Exec, a: Vec<Value>) -> FnResult {
    let text = s(&a[0]).to_string();
    let parsed = match x.host.parse_cached(&text) {
        Ok(t) => t,
        Err(e) => {
            return Err(Error::Exec(Box::new(ExecError::wrap(
                &format!(
                    "cannot parse template {}: ",
                    crate::template::gofmt::go_quote(&text)
                ),
                ExecError::plain(e.to_string()),
            ))));
        }
    };
    // Only this call's defines (plus an enclosing tpl's) are copied; the
    // chart's set is shared.
    let mut set: Set = x.overlay.cloned().unwrap_or_default();
    for t in parsed.iter().skip(1) {
        // An empty define does not replace a non-empty one (Go).
        if t.is_empty()
            && set.trees.get(&t.name).is_none_or(|o| o.is_empty())
            && let Some(base) = x.set.trees.get(&t.name)
            && !base.is_empty()
        {
            continue;
        }
        set.add_rc(t.clone());
    }
    let main = parsed[0].clone();
    let mut out = String::new();
    let r = {
        let base = x.set;
        let mut sub = Exec::new(base, &mut *x.host, &main);
        sub.overlay = Some(&set);
        sub.run(a[1].clone(), &mut out)
    };
    match r {
        Ok(()) => ok(out.replace("<no value>", "")),
        Err(e) => Err(Error::Exec(Box::new(ExecError::wrap(
            &format!(
                "error during tpl function execution for {}: ",
                crate::template::gofmt::go_quote(&text)
            ),
            *e,
        )))),
    }
}

/// Trees shared between `tpl` calls of the same text.
pub type Parsed = Rc<Vec<Rc<crate::template::Tree>>>;
