//! Parsing one large KDL file on several threads.
//!
//! KDL parsing dominates load time (about 0.5 s per MB on one core), and a
//! lab kept in one big file would otherwise parse on one core. This module
//! finds places where a file can be cut between two top-level nodes, parses
//! the pieces in parallel, and joins the nodes.
//!
//! Each piece is parsed from a copy of the file in which everything before
//! the piece is blanked with spaces (same byte length), so every span the
//! parser records is already an offset into the whole file.
//!
//! Safety of the cut does not rest on the scanner being perfect: a cut is
//! only made at a newline at brace depth zero, outside strings and comments,
//! not after a line continuation (`\`) or a slashdash (`/-`), and before a
//! line that starts a node name in column one. If any piece fails to parse,
//! the caller parses the whole file instead, so syntax errors are reported
//! exactly as without splitting. A scanner mistake can therefore only cost
//! time, never change what a file means: a cut inside a string, comment or
//! block leaves a piece that does not parse.

use kdl::{KdlDocument, KdlError};

/// Below this size a file is parsed in one piece.
pub(crate) const MIN_SPLIT: usize = 128 * 1024;

/// Up to `pieces - 1` cut offsets, in increasing order, each at the start of
/// a line that begins a top-level node.
pub(crate) fn cut_points(text: &str, pieces: usize) -> Vec<usize> {
    cut_points_above(text, pieces, MIN_SPLIT)
}

fn cut_points_above(text: &str, pieces: usize, min: usize) -> Vec<usize> {
    if pieces < 2 || text.len() < min {
        return Vec::new();
    }
    let targets: Vec<usize> = (1..pieces).map(|i| text.len() * i / pieces).collect();
    let mut cuts = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    let mut depth = 0usize;
    // Whether the line so far ends in `\` (continuation) or `/-`.
    let mut joined = false;
    while i < b.len() && cuts.len() < targets.len() {
        match b[i] {
            b'\n' => {
                i += 1;
                let starts_node = b
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'"');
                if depth == 0 && !joined && starts_node && i >= targets[cuts.len()] {
                    cuts.push(i);
                }
                joined = false;
                continue;
            }
            b'{' => depth += 1,
            b'}' => depth = depth.saturating_sub(1),
            b'\\' => joined = true,
            b'/' if b.get(i + 1) == Some(&b'/') => {
                // Line comment: up to (not including) the newline.
                i = memchr(b, i, b'\n');
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = skip_block_comment(b, i);
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'-') => {
                joined = true;
                i += 2;
                continue;
            }
            b'"' => {
                i = skip_quoted(b, i, 0);
                continue;
            }
            b'#' => {
                let hashes = b[i..].iter().take_while(|&&c| c == b'#').count();
                if b.get(i + hashes) == Some(&b'"') {
                    i = skip_quoted(b, i + hashes, hashes);
                    continue;
                }
                joined = false;
            }
            c if !c.is_ascii_whitespace() => joined = false,
            _ => {}
        }
        i += 1;
    }
    cuts
}

fn memchr(b: &[u8], from: usize, c: u8) -> usize {
    b[from..]
        .iter()
        .position(|&x| x == c)
        .map_or(b.len(), |p| from + p)
}

/// Past a `/* … */` comment (comments nest).
fn skip_block_comment(b: &[u8], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < b.len() {
        if b[i..].starts_with(b"/*") {
            depth += 1;
            i += 2;
        } else if b[i..].starts_with(b"*/") {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

/// Past a string starting at the `"` at `i`: `"…"`, `"""…"""`, or a raw
/// string closed by `"` (or `"""`) and `hashes` `#`. Escapes count only in
/// non-raw strings.
fn skip_quoted(b: &[u8], i: usize, hashes: usize) -> usize {
    let triple = b[i..].starts_with(b"\"\"\"");
    let mut j = i + if triple { 3 } else { 1 };
    let quotes: &[u8] = if triple { b"\"\"\"" } else { b"\"" };
    while j < b.len() {
        if hashes == 0 && b[j] == b'\\' {
            j += 2;
            continue;
        }
        if b[j..].starts_with(quotes)
            && b[j + quotes.len()..]
                .iter()
                .take(hashes)
                .filter(|&&c| c == b'#')
                .count()
                == hashes
        {
            return j + quotes.len() + hashes;
        }
        j += 1;
    }
    b.len()
}

/// Parse the piece `text[start..end]` with offsets of the whole text.
pub(crate) fn parse_piece(text: &str, start: usize, end: usize) -> Result<KdlDocument, KdlError> {
    if start == 0 && end == text.len() {
        return KdlDocument::parse_v2(text);
    }
    let mut padded = String::with_capacity(end);
    padded.extend(std::iter::repeat_n(' ', start));
    padded.push_str(&text[start..end]);
    KdlDocument::parse_v2(&padded)
}

/// Join the pieces' nodes, in order, into one document.
pub(crate) fn join(pieces: Vec<KdlDocument>) -> KdlDocument {
    let mut pieces = pieces.into_iter();
    let mut doc = pieces.next().unwrap_or_default();
    for mut piece in pieces {
        doc.nodes_mut().append(piece.nodes_mut());
    }
    doc
}

/// Parse `text` in up to `pieces` pieces, one after the other (the caller
/// decides about threads; this is the reference for tests).
#[cfg(test)]
fn parse_split(text: &str, pieces: usize) -> Result<KdlDocument, KdlError> {
    let cuts = cut_points_above(text, pieces, 0);
    let bounds: Vec<usize> = std::iter::once(0)
        .chain(cuts)
        .chain(std::iter::once(text.len()))
        .collect();
    let docs = bounds
        .windows(2)
        .map(|w| parse_piece(text, w[0], w[1]))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(join(docs))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nodes as the loader sees them: name, span, entries and their spans.
    fn shape(doc: &KdlDocument) -> Vec<String> {
        doc.nodes()
            .iter()
            .map(|n| {
                let entries: Vec<String> = n
                    .entries()
                    .iter()
                    .map(|e| {
                        format!(
                            "{:?}={:?}@{:?}",
                            e.name().map(|k| k.value()),
                            e.value(),
                            e.span()
                        )
                    })
                    .collect();
                format!(
                    "{}@{:?} {entries:?} children={:?}",
                    n.name().value(),
                    n.span(),
                    n.children().map(|c| c.to_string())
                )
            })
            .collect()
    }

    fn tricky(copies: usize) -> String {
        let unit = r####"host "a" address="10.0.0.1"
file "b" text="}{ \" // not a comment\n" \
    path="/x"
file "b2" text="x" \ // continued
path="/y"
/-
host "hidden" address="x"
file "c" text=#"raw "quote" { "#
file "d" text=##"a "# still raw"##
file "e" text="""
    multi
    line }
    """
/* block /* nested */
host "in-comment" address="y"
*/
manifest "f" target="c" text="x" {
    after "b"
}
// host "line-comment"
host "g" address="é"
"####;
        unit.repeat(copies)
    }

    #[test]
    fn split_parse_equals_whole_parse() {
        let text = tricky(40);
        let whole = KdlDocument::parse_v2(&text).unwrap();
        for pieces in [2, 3, 7] {
            let cuts = cut_points_above(&text, pieces, 0);
            assert_eq!(cuts.len(), pieces - 1, "found cuts");
            let split = parse_split(&text, pieces).unwrap();
            assert_eq!(shape(&split), shape(&whole), "{pieces} pieces");
        }
    }

    #[test]
    fn cuts_are_only_between_top_level_nodes() {
        let text = tricky(40);
        let whole = KdlDocument::parse_v2(&text).unwrap();
        let starts: Vec<usize> = whole.nodes().iter().map(|n| n.span().offset()).collect();
        let cuts = cut_points_above(&text, 64, 0);
        assert!(cuts.len() > 30, "{}", cuts.len());
        for cut in cuts {
            assert!(starts.contains(&cut), "cut at {cut} is not a node start");
        }
    }

    #[test]
    fn small_files_are_not_split() {
        assert!(cut_points(&tricky(2), 4).is_empty());
        assert!(cut_points(&tricky(2000), 1).is_empty());
        assert_eq!(cut_points(&tricky(2000), 2).len(), 1);
    }

    #[test]
    fn a_cut_inside_a_construct_fails_to_parse_rather_than_change_meaning() {
        // What the caller relies on: pieces cut in the wrong place do not
        // parse, so it falls back to parsing the whole file.
        let text = "file \"a\" text=\"\"\"\n    x\nhost \"b\" address=\"y\"\n    \"\"\"\n";
        let cut = text.find("host").unwrap();
        assert!(parse_piece(text, 0, cut).is_err());
        let text = "host \"a\" /* \nhost \"b\" address=\"y\"\n*/ address=\"x\"\n";
        let cut = text.find("host \"b\"").unwrap();
        assert!(parse_piece(text, 0, cut).is_err());
    }
}
