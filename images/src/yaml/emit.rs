//! Block-style YAML output, byte for byte as go-yaml writes it.
//!
//! Two flavours ([`Flavor`]):
//! - **V2** — go-yaml v2 as `sigs.k8s.io/yaml` uses it (Helm's `toYaml`,
//!   `kubectl get -o yaml`): a sequence under a mapping key is not indented
//!   (`key:\n- a`), YAML 1.1 booleans (`yes`, `on`, …) are quoted, tabs
//!   force double quotes.
//! - **V3** — go-yaml v3's encoder as Talos uses it (`SetIndent(4)`):
//!   sequences are indented under their key, and every nested block is
//!   aligned to a multiple of the indent, except that a collection inside a
//!   sequence item starts two columns in (just past `- `).
//!
//! The emitter mirrors go-yaml's column bookkeeping (`column`, `whitespace`,
//! `indention`) rather than formatting line by line, because that
//! bookkeeping decides where spaces, line breaks and folds go. The tree's
//! order is kept as is; use [`super::sort_keys`] for Go map order. Empty
//! collections are written in flow style (`{}`, `[]`); nothing else is.

use super::scalar::{ScalarStyle, analyze, requested, select};
use super::{Node, Yaml};

/// Which go-yaml to imitate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    V2,
    V3,
}

/// Output settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    pub flavor: Flavor,
    /// Spaces per level (go-yaml accepts 2–9).
    pub indent: usize,
    /// Fold long plain and quoted scalars once a line passes this column;
    /// `None` never folds. go-yaml v2 folds at 80 (`sigs.k8s.io/yaml` keeps
    /// that); go-yaml v3's emitter starts with no limit.
    pub width: Option<usize>,
}

impl Style {
    /// `sigs.k8s.io/yaml` (go-yaml v2 defaults): Helm `toYaml`, kubectl.
    pub const K8S: Style = Style {
        flavor: Flavor::V2,
        indent: 2,
        width: Some(80),
    };
    /// go-yaml v3 `Encoder` with `SetIndent(4)`: Talos machine configs.
    pub const TALOS: Style = Style {
        flavor: Flavor::V3,
        indent: 4,
        width: None,
    };
}

/// Where a node sits; go-yaml v3 indents differently inside sequence items.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Parent {
    Root,
    SeqItem,
    MapKey,
    MapValue,
}

/// Write one document (no `---`), ending with a newline.
pub fn emit(value: &Yaml, style: &Style) -> String {
    let mut e = Emitter::new(style);
    e.document(value, true);
    e.out
}

/// Write documents as one stream: the first bare, the next ones after a
/// `---` line (as go-yaml v3's `Encoder` and `kubectl` separate them).
pub fn emit_documents<'a>(docs: impl IntoIterator<Item = &'a Yaml>, style: &Style) -> String {
    let mut e = Emitter::new(style);
    for (i, doc) in docs.into_iter().enumerate() {
        e.document(doc, i == 0);
    }
    e.out
}

pub(super) struct Emitter {
    pub(super) out: String,
    pub(super) flavor: Flavor,
    pub(super) best_indent: usize,
    best_width: usize,
    /// Current block indent; -1 before the root node.
    indent: isize,
    indents: Vec<isize>,
    column: usize,
    /// The last thing written was whitespace (no separating space needed).
    pub(super) whitespace: bool,
    /// Only indentation (and `-`/`?` indicators) on the line so far.
    pub(super) indention: bool,
}

impl Emitter {
    fn new(style: &Style) -> Emitter {
        // go-yaml falls back to 2 outside 2..=9, and to 80 for tiny widths.
        let best_indent = if (2..=9).contains(&style.indent) {
            style.indent
        } else {
            2
        };
        let best_width = match style.width {
            None => usize::MAX,
            Some(w) if w <= best_indent * 2 => 80,
            Some(w) => w,
        };
        Emitter {
            out: String::new(),
            flavor: style.flavor,
            best_indent,
            best_width,
            indent: -1,
            indents: Vec::new(),
            column: 0,
            whitespace: true,
            indention: true,
        }
    }

    pub(super) fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    pub(super) fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
        self.indention = true;
    }

    /// Copy a line break of the value (`\n` or one of the rarer ones).
    pub(super) fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
            self.indention = true;
        }
    }

    pub(super) fn past_width(&self) -> bool {
        self.column > self.best_width
    }

    /// Start a line at the current indent unless already there.
    pub(super) fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
    }

    pub(super) fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        for c in indicator.chars() {
            self.put(c);
        }
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool, parent: Parent) {
        self.indents.push(self.indent);
        let best = self.best_indent as isize;
        if self.indent < 0 {
            self.indent = if flow { best } else { 0 };
        } else if !indentless {
            self.indent = match (self.flavor, parent) {
                (Flavor::V2, _) => self.indent + best,
                (Flavor::V3, Parent::SeqItem) => self.indent + 2,
                (Flavor::V3, _) => best * ((self.indent + best) / best),
            };
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn document(&mut self, root: &Yaml, first: bool) {
        if !first {
            self.write_indent();
            self.write_indicator("---", true, false, false);
            self.write_indent();
        }
        self.node(root, Parent::Root, false);
        self.write_indent();
    }

    fn node(&mut self, value: &Yaml, parent: Parent, simple_key: bool) {
        match value {
            Yaml::Null => self.scalar("null", ScalarStyle::Plain, parent, simple_key),
            Yaml::Bool(b) => self.scalar(
                if *b { "true" } else { "false" },
                ScalarStyle::Plain,
                parent,
                simple_key,
            ),
            Yaml::Int(i) => self.scalar(&i.to_string(), ScalarStyle::Plain, parent, simple_key),
            Yaml::Float(f) => self.scalar(f, ScalarStyle::Plain, parent, simple_key),
            Yaml::Str(s) => self.scalar(s, requested(s, self.flavor), parent, simple_key),
            Yaml::Seq(items) if items.is_empty() => self.empty_flow("[", "]"),
            Yaml::Map(entries) if entries.is_empty() => self.empty_flow("{", "}"),
            Yaml::Seq(items) => self.block_sequence(items, parent),
            Yaml::Map(entries) => self.block_mapping(entries, parent),
        }
    }

    fn scalar(&mut self, text: &str, want: ScalarStyle, parent: Parent, simple_key: bool) {
        let analysis = analyze(text, self.flavor);
        let style = select(want, text, &analysis, simple_key);
        self.increase_indent(true, false, parent);
        match style {
            ScalarStyle::Plain => self.write_plain(text, !simple_key),
            ScalarStyle::SingleQuoted => self.write_single_quoted(text, !simple_key),
            ScalarStyle::DoubleQuoted => self.write_double_quoted(text, !simple_key),
            ScalarStyle::Literal => self.write_literal(text),
        }
        self.pop_indent();
    }

    fn empty_flow(&mut self, open: &str, close: &str) {
        self.write_indicator(open, true, true, false);
        self.write_indicator(close, false, false, false);
    }

    fn block_sequence(&mut self, items: &[Node], parent: Parent) {
        let in_mapping = matches!(parent, Parent::MapKey | Parent::MapValue);
        let indentless = self.flavor == Flavor::V2 && in_mapping && !self.indention;
        self.increase_indent(false, indentless, parent);
        for item in items {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.node(&item.value, Parent::SeqItem, false);
        }
        self.pop_indent();
    }

    fn block_mapping(&mut self, entries: &[(Node, Node)], parent: Parent) {
        self.increase_indent(false, false, parent);
        for (key, value) in entries {
            self.write_indent();
            if is_simple_key(&key.value) {
                self.node(&key.value, Parent::MapKey, true);
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, true);
                self.node(&key.value, Parent::MapKey, false);
                self.write_indent();
                self.write_indicator(":", true, false, true);
            }
            self.node(&value.value, Parent::MapValue, false);
        }
        self.pop_indent();
    }
}

/// A key fits on one line before `:` when it is a one-line scalar of at
/// most 128 bytes or an empty collection; otherwise it is written as `? key`.
fn is_simple_key(key: &Yaml) -> bool {
    let len = match key {
        Yaml::Null => 4,
        Yaml::Bool(b) => {
            if *b {
                4
            } else {
                5
            }
        }
        Yaml::Int(i) => i.to_string().len(),
        Yaml::Float(f) => f.len(),
        Yaml::Str(s) => {
            if s.chars().any(super::scalar::is_break) {
                return false;
            }
            s.len()
        }
        Yaml::Seq(items) => return items.is_empty(),
        Yaml::Map(entries) => return entries.is_empty(),
    };
    len <= 128
}
