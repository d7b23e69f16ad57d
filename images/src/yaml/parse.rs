//! Reading YAML text into [`Document`]s, with go-yaml v3's meaning.
//!
//! `saphyr-parser` does the YAML syntax and hands out events with
//! positions; this module gives them meaning: plain scalars resolve by the
//! YAML 1.2 core schema as go-yaml v3 reads it (`yes`/`on` stay strings,
//! `0o17`/`0x1F`/`017` are integers, timestamps stay strings as Kubernetes
//! reads them), aliases are expanded (with a size limit against alias
//! bombs), merge keys `<<` are applied (explicit keys win, earlier merge
//! sources win over later ones) and a key given twice is an error.

use std::collections::BTreeMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};

use super::emit::Flavor;
use super::resolve::{Resolved, parse_go_int, resolve_plain};
use super::{Document, Mark, Node, Yaml, YamlError};

/// How many nodes alias expansion may add to one stream.
const ALIAS_BUDGET: usize = 1_000_000;

/// Parse every document of `text`.
pub fn parse_documents(text: &str) -> Result<Vec<Document>, YamlError> {
    parse_documents_as(text, Flavor::V3)
}

/// Parse every document of `text` with the meaning `flavor` gives it.
/// [`Flavor::V2`] is go-yaml v2 decoding into untyped values, as
/// `sigs.k8s.io/yaml` (Helm's values, `fromYaml`) reads YAML: YAML 1.1
/// booleans (`yes`, `on`, `n`) and a key given twice keeps its last value.
pub fn parse_documents_as(text: &str, flavor: Flavor) -> Result<Vec<Document>, YamlError> {
    let mut b = Builder {
        v2: flavor == Flavor::V2,
        ..Builder::default()
    };
    let mut parser = Parser::new_from_str(text);
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| YamlError {
            mark: Mark {
                line: e.marker().line(),
                column: e.marker().col() + 1,
            },
            message: e.info().to_string(),
        })?;
        b.event(event, span)?;
    }
    Ok(b.docs)
}

fn mark(span: &Span) -> Mark {
    Mark {
        line: span.start.line(),
        column: span.start.col() + 1,
    }
}

enum Entry {
    Pair(Node, Node),
    /// A `<<` key (its position) and what it merges.
    Merge(Mark, Node),
}

enum Frame {
    Seq {
        items: Vec<Node>,
        anchor: usize,
        mark: Mark,
    },
    Map {
        entries: Vec<Entry>,
        key: Option<(Node, bool)>,
        anchor: usize,
        mark: Mark,
    },
}

#[derive(Default)]
struct Builder {
    docs: Vec<Document>,
    doc_start: Option<Mark>,
    root: Option<Node>,
    stack: Vec<Frame>,
    anchors: BTreeMap<usize, Node>,
    alias_nodes: usize,
    /// go-yaml v2 meaning (see [`parse_documents_as`]).
    v2: bool,
}

impl Builder {
    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), YamlError> {
        let at = mark(&span);
        match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
            Event::DocumentStart(_) => {
                self.doc_start = Some(at);
                self.root = None;
                self.anchors.clear();
            }
            Event::DocumentEnd => {
                let start = self.doc_start.take().unwrap_or(at);
                let root = self
                    .root
                    .take()
                    .unwrap_or_else(|| Node::at(Yaml::Null, start));
                self.docs.push(Document { root, start });
            }
            Event::Alias(id) => {
                let node = self.anchors.get(&id).cloned().ok_or_else(|| YamlError {
                    mark: at,
                    message: "alias refers to an unknown anchor".into(),
                })?;
                self.alias_nodes += size(&node.value);
                if self.alias_nodes > ALIAS_BUDGET {
                    return Err(YamlError {
                        mark: at,
                        message: format!(
                            "aliases expand to more than {ALIAS_BUDGET} nodes; refusing to expand further"
                        ),
                    });
                }
                self.push(
                    Node {
                        value: node.value,
                        mark: Some(at),
                    },
                    false,
                )?;
            }
            Event::Scalar(text, style, anchor, tag) => {
                let flavor = if self.v2 { Flavor::V2 } else { Flavor::V3 };
                let (value, merge) = scalar(&text, style, tag.as_deref(), at, flavor)?;
                let node = Node::at(value, at);
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push(node, merge)?;
            }
            Event::SequenceStart(anchor, tag) => {
                check_collection_tag(tag.as_deref(), "seq", at)?;
                self.stack.push(Frame::Seq {
                    items: Vec::new(),
                    anchor,
                    mark: at,
                });
            }
            Event::MappingStart(anchor, tag) => {
                check_collection_tag(tag.as_deref(), "map", at)?;
                self.stack.push(Frame::Map {
                    entries: Vec::new(),
                    key: None,
                    anchor,
                    mark: at,
                });
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq {
                    items,
                    anchor,
                    mark,
                }) = self.stack.pop()
                {
                    self.finish(Node::at(Yaml::Seq(items), mark), anchor)?;
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map {
                    entries,
                    anchor,
                    mark,
                    ..
                }) = self.stack.pop()
                {
                    let map = apply_merges(entries)?;
                    self.finish(Node::at(Yaml::Map(map), mark), anchor)?;
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self, node: Node, anchor: usize) -> Result<(), YamlError> {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        self.push(node, false)
    }

    /// Attach a finished node to its parent (or make it the root).
    fn push(&mut self, node: Node, is_merge_key: bool) -> Result<(), YamlError> {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some((node, is_merge_key)),
                Some((k, true)) => {
                    let at = k.mark.unwrap_or(Mark { line: 0, column: 0 });
                    if let Some(Entry::Merge(first, _)) =
                        entries.iter().find(|e| matches!(e, Entry::Merge(..)))
                    {
                        return Err(YamlError {
                            mark: at,
                            message: format!("duplicate merge key `<<` (first at {first})"),
                        });
                    }
                    entries.push(Entry::Merge(at, node));
                }
                Some((k, false)) => {
                    let dup = entries.iter().find_map(|e| match e {
                        Entry::Pair(prev, _) if prev.value == k.value => Some(prev.pos()),
                        _ => None,
                    });
                    if dup.is_some() && self.v2 {
                        entries.retain(
                            |e| !matches!(e, Entry::Pair(prev, _) if prev.value == k.value),
                        );
                    } else if let Some(first) = dup {
                        return Err(YamlError {
                            mark: k.mark.unwrap_or(Mark { line: 0, column: 0 }),
                            message: format!(
                                "duplicate mapping key {} (first at {first})",
                                describe_key(&k.value)
                            ),
                        });
                    }
                    entries.push(Entry::Pair(k, node));
                }
            },
        }
        Ok(())
    }
}

fn describe_key(k: &Yaml) -> String {
    match k {
        Yaml::Str(s) => format!("`{s}`"),
        Yaml::Int(i) => format!("`{i}`"),
        Yaml::Float(f) => format!("`{f}`"),
        Yaml::Bool(b) => format!("`{b}`"),
        Yaml::Null => "`null`".into(),
        other => format!("({})", other.type_name()),
    }
}

/// Number of nodes in a value (what expanding an alias to it costs).
fn size(v: &Yaml) -> usize {
    1 + match v {
        Yaml::Seq(items) => items.iter().map(|n| size(&n.value)).sum(),
        Yaml::Map(entries) => entries
            .iter()
            .map(|(k, v)| size(&k.value) + size(&v.value))
            .sum(),
        _ => 0,
    }
}

/// Replace each `<<` entry with the merged mappings' entries that the
/// mapping does not define itself; among merge sources the first wins.
fn apply_merges(entries: Vec<Entry>) -> Result<Vec<(Node, Node)>, YamlError> {
    if !entries.iter().any(|e| matches!(e, Entry::Merge(..))) {
        return Ok(entries
            .into_iter()
            .filter_map(|e| match e {
                Entry::Pair(k, v) => Some((k, v)),
                Entry::Merge(..) => None,
            })
            .collect());
    }
    let explicit: Vec<Yaml> = entries
        .iter()
        .filter_map(|e| match e {
            Entry::Pair(k, _) => Some(k.value.clone()),
            Entry::Merge(..) => None,
        })
        .collect();
    let mut out: Vec<(Node, Node)> = Vec::new();
    for entry in entries {
        match entry {
            Entry::Pair(k, v) => out.push((k, v)),
            Entry::Merge(at, src) => {
                let sources = match src.value {
                    Yaml::Map(m) => vec![m],
                    Yaml::Seq(items) => items
                        .into_iter()
                        .map(|n| match n.value {
                            Yaml::Map(m) => Ok(m),
                            other => Err(YamlError {
                                mark: n.mark.unwrap_or(at),
                                message: format!(
                                    "a merge key `<<` takes mappings, found {}",
                                    other.type_name()
                                ),
                            }),
                        })
                        .collect::<Result<_, _>>()?,
                    other => {
                        return Err(YamlError {
                            mark: src.mark.unwrap_or(at),
                            message: format!(
                                "a merge key `<<` takes a mapping or a sequence of mappings, found {}",
                                other.type_name()
                            ),
                        });
                    }
                };
                for (k, v) in sources.into_iter().flatten() {
                    let taken =
                        explicit.contains(&k.value) || out.iter().any(|(o, _)| o.value == k.value);
                    if !taken {
                        out.push((k, v));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The non-specific tag `!` (saphyr reports it as an empty handle with
/// suffix `!`): "don't resolve, this is a string/collection".
fn is_non_specific(t: &Tag) -> bool {
    (t.handle.is_empty() && t.suffix == "!") || (t.handle == "!" && t.suffix.is_empty())
}

fn check_collection_tag(tag: Option<&Tag>, want: &str, at: Mark) -> Result<(), YamlError> {
    match tag {
        None => Ok(()),
        Some(t) if t.is_yaml_core_schema() && t.suffix == want => Ok(()),
        Some(t) if is_non_specific(t) => Ok(()),
        Some(t) => Err(YamlError {
            mark: at,
            message: format!("unsupported tag `{t}`"),
        }),
    }
}

/// The value of a scalar event, and whether it is the merge key `<<`.
fn scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    at: Mark,
    flavor: Flavor,
) -> Result<(Yaml, bool), YamlError> {
    let bad = |what: &str| YamlError {
        mark: at,
        message: format!("`{text}` is not {what}"),
    };
    if let Some(t) = tag {
        if is_non_specific(t) {
            return Ok((Yaml::Str(text.to_string()), false));
        }
        if !t.is_yaml_core_schema() {
            return Err(YamlError {
                mark: at,
                message: format!("unsupported tag `{t}`"),
            });
        }
        let value = match t.suffix.as_str() {
            "str" | "binary" | "timestamp" => Yaml::Str(text.to_string()),
            "null" => match resolve_plain(text, Flavor::V3) {
                Resolved::Null => Yaml::Null,
                _ => return Err(bad("null")),
            },
            "bool" => match resolve_plain(text, Flavor::V3) {
                Resolved::Bool(b) => Yaml::Bool(b),
                _ => return Err(bad("a boolean")),
            },
            "int" => {
                let plain: String = text.chars().filter(|&c| c != '_').collect();
                Yaml::Int(parse_go_int(&plain).ok_or_else(|| bad("an integer"))?)
            }
            "float" => match resolve_plain(text, Flavor::V3) {
                Resolved::Float | Resolved::Int(_) => Yaml::Float(text.to_string()),
                _ => return Err(bad("a float")),
            },
            "merge" if text == "<<" => return Ok((Yaml::Str(text.to_string()), true)),
            _ => {
                return Err(YamlError {
                    mark: at,
                    message: format!("unsupported tag `{t}`"),
                });
            }
        };
        return Ok((value, false));
    }
    if style != ScalarStyle::Plain {
        return Ok((Yaml::Str(text.to_string()), false));
    }
    Ok(match resolve_plain(text, flavor) {
        Resolved::Null => (Yaml::Null, false),
        Resolved::Bool(b) => (Yaml::Bool(b), false),
        Resolved::Int(i) => (Yaml::Int(i), false),
        Resolved::Float => (Yaml::Float(text.to_string()), false),
        Resolved::Timestamp | Resolved::Str => (Yaml::Str(text.to_string()), false),
        Resolved::Merge => (Yaml::Str(text.to_string()), true),
    })
}
