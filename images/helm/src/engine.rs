//! Helm's rendering engine (`pkg/engine/engine.go` behaviour): every
//! template of a chart and its subcharts parsed into one set, executed
//! file by file with its chart's scope, and Helm's error formatting.
//!
//! Facts followed: templates are parsed deepest path first (ties in
//! reverse lexical order), so a shallower file's `define` wins; files
//! whose base name starts with `_` are parsed but not rendered;
//! `<no value>` is removed from each rendered file; `.Template` is set per
//! file; the first failing file (in parse order) fails the render.
//!
//! Determinism: each file's random generator is seeded from the render
//! seed and the file's name, so adding a template does not change another
//! file's random values.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sha2::Digest as _;

use crate::funcs::{self, Func};
use crate::template::{Exec, ExecError, ParseError, Set, Tree, parse};
use crate::value::Value;

/// What template functions reach beyond their arguments.
pub trait Env {
    fn func(&self, name: &str) -> Option<&Func>;
    fn rng(&mut self) -> &mut ChaCha20Rng;
    /// The render's fixed time, seconds since the epoch.
    fn now(&self) -> i64;
    /// `include` depth per template name.
    fn includes(&mut self) -> &mut HashMap<String, usize>;
    /// Parse `tpl` text (named `gotpl`), cached by text.
    fn parse_cached(&mut self, text: &str) -> Result<funcs::helm::Parsed, ParseError>;
}

/// The engine's [`Env`].
pub struct RenderEnv {
    pub rng: ChaCha20Rng,
    pub now: i64,
    pub includes: HashMap<String, usize>,
    pub tpl_cache: HashMap<String, Result<funcs::helm::Parsed, ParseError>>,
}

impl RenderEnv {
    pub fn new(seed: [u8; 32], now: i64) -> RenderEnv {
        RenderEnv {
            rng: ChaCha20Rng::from_seed(seed),
            now,
            includes: HashMap::new(),
            tpl_cache: HashMap::new(),
        }
    }
}

pub fn is_func(name: &str) -> bool {
    funcs::all().contains_key(name)
}

impl Env for RenderEnv {
    fn func(&self, name: &str) -> Option<&Func> {
        funcs::all().get(name)
    }
    fn rng(&mut self) -> &mut ChaCha20Rng {
        &mut self.rng
    }
    fn now(&self) -> i64 {
        self.now
    }
    fn includes(&mut self) -> &mut HashMap<String, usize> {
        &mut self.includes
    }
    fn parse_cached(&mut self, text: &str) -> Result<funcs::helm::Parsed, ParseError> {
        if let Some(r) = self.tpl_cache.get(text) {
            return r.clone();
        }
        let r = parse("gotpl", text, &is_func)
            .map(|trees| Rc::new(trees.into_iter().map(Rc::new).collect::<Vec<_>>()));
        self.tpl_cache.insert(text.to_string(), r.clone());
        r
    }
}

impl Set {
    /// Add one shared tree with Go's empty-body rule.
    pub fn add_rc(&mut self, t: Rc<Tree>) {
        if t.is_empty()
            && let Some(old) = self.trees.get(&t.name)
            && !old.is_empty()
        {
            return;
        }
        self.trees.insert(t.name.clone(), t);
    }
}

/// A template file to render, with its chart's scope.
pub struct Renderable {
    /// `chart/templates/x.yaml` (subcharts: `parent/charts/sub/templates/x.yaml`).
    pub name: String,
    pub text: String,
    /// The chart scope map (`.Values`, `.Chart`, ...), shared by the
    /// chart's files.
    pub vals: Value,
    /// `chart/templates`.
    pub base_path: String,
}

/// Execute one template text (named `name`) with `data`, as Helm's engine
/// would (Helm's functions, `missingkey=zero`), without Helm's
/// `<no value>` removal: Go's `text/template` output, or Go's error text.
pub fn execute(name: &str, text: &str, data: Value, now: i64) -> Result<String, String> {
    let trees = parse(name, text, &is_func).map_err(|e| e.to_string())?;
    let mut set = Set::default();
    set.add(trees);
    let tree = set.trees.get(name).cloned().ok_or("no template")?;
    let mut env = RenderEnv::new([0; 32], now);
    let mut out = String::new();
    Exec::new(&set, &mut env, &tree)
        .run(data, &mut out)
        .map_err(|e| e.text.clone())?;
    Ok(out)
}

/// Helm's `sortTemplates` order: deepest first, ties reverse-lexical.
pub fn sort_templates(names: &mut [String]) {
    names.sort_by(|a, b| {
        let (ca, cb) = (a.matches('/').count(), b.matches('/').count());
        cb.cmp(&ca).then_with(|| b.cmp(a))
    });
}

/// Render every template; the rendered text by name, or Helm's error text.
pub fn render(
    tpls: Vec<Renderable>,
    seed: [u8; 32],
    now: i64,
) -> Result<BTreeMap<String, String>, String> {
    let mut by_name: HashMap<String, Renderable> =
        tpls.into_iter().map(|r| (r.name.clone(), r)).collect();
    let mut keys: Vec<String> = by_name.keys().cloned().collect();
    sort_templates(&mut keys);
    let mut set = Set::default();
    for k in &keys {
        let r = &by_name[k];
        match parse(k, &r.text, &is_func) {
            Ok(trees) => set.add(trees),
            Err(e) => return Err(cleanup_parse_error(k, &e)),
        }
    }
    let mut env = RenderEnv::new(seed, now);
    let mut out = BTreeMap::new();
    for k in &keys {
        let base = k.rsplit('/').next().unwrap_or(k);
        if base.starts_with('_') {
            continue;
        }
        let Some(r) = by_name.remove(k) else { continue };
        if let Value::Map(m) = &r.vals {
            let mut t = BTreeMap::new();
            t.insert("Name".to_string(), Value::str(k));
            t.insert("BasePath".to_string(), Value::str(&r.base_path));
            let t = Value::map(t);
            if let Value::Map(tm) = &t {
                tm.values_type.set(true);
            }
            m.borrow_mut().insert("Template".into(), t);
        }
        env.rng = ChaCha20Rng::from_seed(file_seed(&seed, k));
        let Some(tree) = set.trees.get(k).cloned() else {
            continue;
        };
        let mut text = String::new();
        let res = {
            let mut ex = Exec::new(&set, &mut env, &tree);
            ex.run(r.vals.clone(), &mut text)
        };
        if let Err(e) = res {
            return Err(reformat_exec_error(k, &e));
        }
        out.insert(k.clone(), text.replace("<no value>", ""));
    }
    Ok(out)
}

fn file_seed(seed: &[u8; 32], name: &str) -> [u8; 32] {
    let mut h = sha2::Sha256::new();
    h.update(b"hlb-helm file seed v1\0");
    h.update(seed);
    h.update(name.as_bytes());
    h.finalize().into()
}

/// Helm's `cleanupParseError`.
fn cleanup_parse_error(filename: &str, e: &ParseError) -> String {
    let text = e.to_string();
    let tokens: Vec<&str> = text.split(": ").collect();
    if tokens.len() == 1 {
        return format!("parse error in ({filename}): {text}");
    }
    format!(
        "parse error at ({}): {}",
        tokens[1],
        tokens[tokens.len() - 1]
    )
}

#[derive(PartialEq)]
struct Traceable {
    location: String,
    message: String,
    executed: String,
}

impl Traceable {
    fn string(&self) -> String {
        let mut s = String::new();
        if !self.location.is_empty() {
            s.push_str(&format!("{}\n  ", self.location));
        }
        if !self.executed.is_empty() {
            s.push_str(&format!("{}\n    ", self.executed));
        }
        if !self.message.is_empty() {
            s.push_str(&format!("{}\n", self.message));
        }
        s
    }
}

fn cut_template(msg: &str) -> &str {
    match msg.find(" template:") {
        Some(i) => &msg[..i],
        None => msg,
    }
}

fn parse_traceable(s: &str) -> Option<Traceable> {
    let rem = s.strip_prefix("template: ")?;
    if rem.starts_with("no template ") {
        return Some(Traceable {
            location: String::new(),
            message: s.to_string(),
            executed: String::new(),
        });
    }
    if let Some(idx) = rem.find(": executing ") {
        let name = &rem[..idx];
        let after = &rem[idx + ": executing ".len()..];
        let exec = (|| {
            let a = after.strip_prefix('"')?;
            let end = a.find('"')?;
            let func = &a[..end];
            let after_func = a[end + 1..].strip_prefix(" at <")?;
            let end_loc = after_func.find(">: ")?;
            let loc = &after_func[..end_loc];
            let msg = &after_func[end_loc + 3..];
            Some(Traceable {
                location: name.to_string(),
                message: cut_template(msg).to_string(),
                executed: format!("executing \"{func}\" at <{loc}>:"),
            })
        })();
        if exec.is_some() {
            return exec;
        }
        // Helm falls through to the simple form when the executing
        // form does not parse.
    }
    let sep = rem.rfind(": ")?;
    Some(Traceable {
        location: rem[..sep].to_string(),
        message: cut_template(&rem[sep + 2..]).to_string(),
        executed: String::new(),
    })
}

/// Helm's `reformatExecErrorMsg`.
pub fn reformat_exec_error(filename: &str, err: &ExecError) -> String {
    if !err.is_exec {
        return err.text.clone();
    }
    let tokens: Vec<&str> = err.text.splitn(3, ": ").collect();
    if tokens.len() != 3 {
        return format!("execution error in ({filename}): {}", err.text);
    }
    let location = tokens[1];
    if let Some(start) = tokens[2].find(funcs::helm::WARN_START)
        && let Some(end) = tokens[2].rfind(funcs::helm::WARN_END)
        && end >= start + funcs::helm::WARN_START.len()
    {
        let msg = &tokens[2][start + funcs::helm::WARN_START.len()..end];
        return format!("execution error at ({location}): {msg}");
    }
    let mut locs: Vec<Traceable> = Vec::new();
    for text in err.chain() {
        match parse_traceable(text) {
            Some(t) => {
                if locs.last() != Some(&t) {
                    locs.push(t);
                }
            }
            None => return err.text.clone(),
        }
    }
    locs.iter()
        .map(Traceable::string)
        .collect::<String>()
        .trim()
        .to_string()
}
