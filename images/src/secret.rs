//! What the secret-bearing compilers share: revealing only the secrets a
//! derivation declares, and splicing plaintext into a text without the
//! plaintext ever living in an ordinary `String`.
//!
//! Why the guard ([`Declared`]): a derivation id covers the tags of the
//! secrets it declares (its `tag:NAME` sources) and nothing else. Revealing
//! any other secret would let the output change while the id stays the
//! same, so [`Declared::reveal`] refuses names outside the declared set, and
//! refuses a declared name whose tag is not a source (a planner that forgot
//! to hash it).
//!
//! Why the splice works as it does: `hlb_builder::interp` builds its result
//! in a `String`, which is not wiped when dropped. [`splice`] runs that same
//! interpolation with every `${secret.NAME}` replaced by a marker that
//! cannot occur in the text or the parameters, so the interpolated `String`
//! holds no secret, and all syntax errors come out exactly as for a public
//! file. Only then are the secrets revealed and the pieces copied into one
//! zeroizing buffer whose capacity is reserved up front, so it never
//! reallocates and leaves no stray copy.
//!
//! Invariant: no error built here contains plaintext; errors name secrets,
//! never their bytes.

use std::collections::{BTreeMap, BTreeSet};

use hlb_builder::{BuildCx, BuildError, Value};
use hlb_secrets::Plaintext;
use zeroize::Zeroizing;

use crate::common::interpolate_text;

/// The prefix of a secret reference inside `${…}`.
pub const SECRET_REF_PREFIX: &str = "secret.";

/// Role of the source that carries secret `name`'s tag.
pub fn tag_source_role(name: &str) -> String {
    format!("tag:{name}")
}

/// The secrets a derivation may reveal, and the source they come from.
pub(crate) struct Declared<'c, 'a> {
    cx: &'c BuildCx<'a>,
    names: BTreeSet<String>,
}

impl<'c, 'a> Declared<'c, 'a> {
    /// Declare `names` for `cx`. Each must have its `tag:NAME` source, or the
    /// derivation id would not change when the secret does.
    pub(crate) fn new(
        cx: &'c BuildCx<'a>,
        names: impl IntoIterator<Item = String>,
    ) -> Result<Self, BuildError> {
        let names: BTreeSet<String> = names.into_iter().collect();
        for name in &names {
            if !cx.sources.contains_key(&tag_source_role(name)) {
                return Err(BuildError::Internal(format!(
                    "derivation {} declares secret `{name}` but has no source `tag:{name}`: its id would not cover the secret",
                    cx.drv.name
                )));
            }
        }
        Ok(Declared { cx, names })
    }

    /// The names from the list parameter `key` (absent or null: none).
    pub(crate) fn from_param(cx: &'c BuildCx<'a>, key: &str) -> Result<Self, BuildError> {
        let names = match cx.drv.params.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::List(items)) => items
                .iter()
                .map(|v| match v {
                    Value::Str(s) => Ok(s.clone()),
                    other => Err(BuildError::Internal(format!(
                        "derivation {}: `{key}` should list secret names, found {other:?}",
                        cx.drv.name
                    ))),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(BuildError::Internal(format!(
                    "derivation {}: `{key}` should be a list of secret names, not {other:?}",
                    cx.drv.name
                )));
            }
        };
        Self::new(cx, names)
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Error for declared secrets that nothing in the derivation can use.
    pub(crate) fn never_revealed(&self) -> BuildError {
        BuildError::Internal(format!(
            "derivation {} declares secrets ({}) but neither interpolates nor has `secret_content`: they could never be revealed",
            self.cx.drv.name,
            self.names.iter().cloned().collect::<Vec<_>>().join(", ")
        ))
    }

    /// Error for a secret the derivation uses without declaring it.
    pub(crate) fn undeclared(&self, name: &str) -> BuildError {
        BuildError::Internal(format!(
            "derivation {} uses secret `{name}` without declaring it (declared: {}); refusing to reveal it",
            self.cx.drv.name,
            if self.names.is_empty() {
                "none".to_string()
            } else {
                self.names.iter().cloned().collect::<Vec<_>>().join(", ")
            }
        ))
    }

    /// The plaintext of a declared secret.
    pub(crate) fn reveal(&self, name: &str) -> Result<Plaintext, BuildError> {
        if !self.contains(name) {
            return Err(self.undeclared(name));
        }
        self.cx.secrets.reveal(name)
    }
}

/// A character that occurs in none of `texts`: every occurrence of it in
/// the interpolated result then comes from a marker, whatever the text and
/// the parameters hold.
fn marker_char<'t>(texts: impl Iterator<Item = &'t str> + Clone) -> Result<char, BuildError> {
    ('\u{1}'..='\u{8}')
        .chain('\u{e000}'..='\u{f8ff}')
        .find(|c| !texts.clone().any(|t| t.contains(*c)))
        .ok_or_else(|| {
            BuildError::Internal("no character is free to mark secret references".into())
        })
}

/// One piece of the spliced output.
enum Piece<'t> {
    Text(&'t str),
    Secret(usize),
}

/// Interpolate `text` (named `source_name` in errors) with `params` and the
/// declared secrets, into a zeroizing buffer. A referenced secret must be
/// declared and be UTF-8 text.
pub(crate) fn splice(
    text: &str,
    params: &BTreeMap<String, String>,
    secrets: &Declared<'_, '_>,
    source_name: &str,
) -> Result<Plaintext, BuildError> {
    let referenced: Vec<&str> = hlb_builder::interp::references(text)
        .into_iter()
        .filter_map(|r| r.strip_prefix(SECRET_REF_PREFIX))
        .collect();
    if let Some(name) = referenced.iter().find(|n| !secrets.contains(n)) {
        return Err(secrets.undeclared(name));
    }
    let mark = marker_char(std::iter::once(text).chain(params.values().map(String::as_str)))?;
    let mut with_markers = params.clone();
    for (i, name) in referenced.iter().enumerate() {
        with_markers.insert(
            format!("{SECRET_REF_PREFIX}{name}"),
            format!("{mark}{i}{mark}"),
        );
    }
    // Holds no plaintext: secrets are still markers here.
    let template = interpolate_text(text, &with_markers, source_name)?;
    let pieces = split_markers(&template, mark, referenced.len())?;

    let mut values = Vec::with_capacity(referenced.len());
    for name in &referenced {
        let value = secrets.reveal(name)?;
        if std::str::from_utf8(value.expose()).is_err() {
            return Err(BuildError::Invalid(format!(
                "{source_name}: secret `{name}` is not UTF-8 text, so `${{secret.{name}}}` cannot be interpolated into a text file; deliver it as a file of its own instead"
            )));
        }
        values.push(value);
    }
    let len = pieces
        .iter()
        .map(|p| match p {
            Piece::Text(t) => t.len(),
            Piece::Secret(i) => values[*i].len(),
        })
        .sum();
    let mut out = Zeroizing::new(Vec::with_capacity(len));
    for p in &pieces {
        match p {
            Piece::Text(t) => out.extend_from_slice(t.as_bytes()),
            Piece::Secret(i) => out.extend_from_slice(values[*i].expose()),
        }
    }
    // Moves the buffer (no copy); the emptied `Zeroizing` wipes nothing.
    Ok(Plaintext::new(std::mem::take(&mut *out)))
}

/// Split the interpolated `template` at the markers `MARK index MARK`.
fn split_markers(template: &str, mark: char, count: usize) -> Result<Vec<Piece<'_>>, BuildError> {
    let garbled = || BuildError::Internal("a secret marker was garbled by interpolation".into());
    let mut pieces = Vec::new();
    let mut parts = template.split(mark);
    pieces.push(Piece::Text(parts.next().unwrap_or_default()));
    while let Some(index) = parts.next() {
        let index = index
            .parse::<usize>()
            .ok()
            .filter(|i| *i < count)
            .ok_or_else(garbled)?;
        pieces.push(Piece::Secret(index));
        pieces.push(Piece::Text(parts.next().ok_or_else(garbled)?));
    }
    Ok(pieces)
}
