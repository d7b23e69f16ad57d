//! Bounding the KDL parser's recursion before it runs.
//!
//! The `kdl` crate's parser recurses once per nested `{ … }` block (tens of
//! kilobytes of stack per level in a debug build), once per piece of a
//! block comment, and once per `/-` or type annotation written in a row.
//! A file of a few thousand nested blocks, or a block comment of a few
//! thousand `*`, would overflow the thread's stack and abort the whole
//! process. [`check`] scans the text first, cheaply and without
//! recursion, and refuses a file that goes past [`MAX_DEPTH`] nested
//! blocks, [`MAX_COMMENT_MARKS`] `*` and `/` in one block comment, or
//! [`MAX_PREFIXES`] slashdashes and annotations in a row (E0012); a file
//! within the bounds is parsed on a thread whose stack holds them with a
//! wide margin ([`PARSE_STACK`]).
//!
//! The scan knows KDL's strings and comments, so braces inside them do not
//! count. Where the text is not valid KDL (a string not closed on its line
//! or with an escape KDL lacks, a quote right after a word, a comment never
//! closed), it does not skip: it reads on after the opening quote or `/*`,
//! and in text read on so, a `}` closes nothing. And since the parser, recovering from a syntax error, may
//! resume inside what the scan took for a string, braces are also counted
//! a second time with strings and comments ignored (real recipes balance
//! the braces in their strings). Found by fuzzing the loader
//! (`tests/load_fuzz.rs`), whose regression inputs include each case.

/// The deepest that `{ … }` blocks may nest in a recipe file. Recipes use
/// a handful of levels; the limit keeps the parser's recursion bounded.
pub const MAX_DEPTH: usize = 128;

/// The most `*` and `/` one block comment may hold (nested comments
/// included): each is a level of the parser's recursion.
pub const MAX_COMMENT_MARKS: usize = 4096;

/// The most `/-` and `(type)` annotations that may follow each other with
/// only whitespace between.
pub const MAX_PREFIXES: usize = 8;

/// The stack of a thread that parses KDL. [`MAX_DEPTH`] blocks take about
/// 5 MiB in a debug build, a comment of [`MAX_COMMENT_MARKS`] marks about
/// 20 MiB; the memory is reserved, and touched only as deep as a file goes.
pub(crate) const PARSE_STACK: usize = 64 << 20;

/// What a file has too much of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Excess {
    Blocks,
    CommentMarks,
    Prefixes,
}

/// Where a file goes past a bound: the byte offset of the `{`, `/*`, `/-`
/// or `(` that does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooDeep {
    pub at: usize,
    pub excess: Excess,
}

/// The length of the KDL newline at `i` (CRLF, CR, LF, NEL, FF, LS, PS).
fn newline_at(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i..)? {
        [b'\r', b'\n', ..] => Some(2),
        [b'\r' | b'\n' | 0x0C, ..] => Some(1),
        [0xC2, 0x85, ..] => Some(2),
        [0xE2, 0x80, 0xA8 | 0xA9, ..] => Some(3),
        _ => None,
    }
}

/// The length of the KDL space or newline at `i`, if there is one.
fn space_at(b: &[u8], i: usize) -> Option<usize> {
    if let Some(n) = newline_at(b, i) {
        return Some(n);
    }
    match b.get(i..)? {
        [b' ' | b'\t', ..] => Some(1),
        [0xC2, 0xA0, ..] => Some(2),
        [0xE1, 0x9A, 0x80, ..] => Some(3),
        [0xE2, 0x80, 0x80..=0x8A | 0xAF, ..] => Some(3),
        [0xE2, 0x81, 0x9F, ..] => Some(3),
        [0xE3, 0x80, 0x80, ..] => Some(3),
        _ => None,
    }
}

/// Whether the character at `i` may not appear in a string: controls, and
/// the invisible direction marks and byte order mark KDL refuses.
fn disallowed_at(b: &[u8], i: usize) -> bool {
    match b[i..] {
        [c, ..] if c < 0x20 && c != b'\t' || c == 0x7F => true,
        [0xE2, 0x80, 0x8E | 0x8F | 0xAA..=0xAE, ..] => true,
        [0xE2, 0x81, 0xA6..=0xA9, ..] => true,
        [0xEF, 0xBB, 0xBF, ..] => true,
        _ => false,
    }
}

/// Whether a string may start at `i`: at the start, or after a space, a
/// newline or punctuation. After anything else (`x"…"`) the parser reports
/// the quote and reads on, so the scan does too.
fn may_open(b: &[u8], i: usize) -> bool {
    i == 0
        || matches!(
            b[i - 1],
            b'=' | b'(' | b')' | b'{' | b'}' | b';' | b'/' | b'-'
        )
        || (1..=3).any(|k| i >= k && space_at(b, i - k) == Some(k))
}

/// Past the string whose opening `"` (after `hashes` `#`) is at `i`, or
/// where the scan gave up when it is not closed as KDL requires.
fn skip_string(b: &[u8], i: usize, hashes: usize) -> Result<usize, usize> {
    let multi = b[i..].starts_with(b"\"\"\"");
    let mut j = i + if multi { 3 } else { 1 };
    if multi && newline_at(b, j).is_none() {
        return Err(j);
    }
    let quotes: &[u8] = if multi { b"\"\"\"" } else { b"\"" };
    while j < b.len() {
        if hashes == 0 && b[j] == b'\\' {
            j += 1;
            let mut spaces = 0;
            while let Some(n) = space_at(b, j) {
                j += n;
                spaces += 1;
            }
            if spaces == 0 {
                // Only KDL's escapes: after any other, the parser reports
                // the string and may read its rest as code.
                match b.get(j) {
                    Some(b'\\' | b'"' | b'b' | b'f' | b'n' | b'r' | b't' | b's') => j += 1,
                    Some(b'u') if b.get(j + 1) == Some(&b'{') => {
                        let digits = b[j + 2..].iter().take_while(|c| c.is_ascii_hexdigit());
                        let n = digits.count();
                        if !(1..=6).contains(&n) || b.get(j + 2 + n) != Some(&b'}') {
                            return Err(j);
                        }
                        j += 3 + n;
                    }
                    _ => return Err(j),
                }
            }
            continue;
        }
        match newline_at(b, j) {
            Some(_) if !multi => return Err(j),
            Some(n) => {
                j += n;
                continue;
            }
            None if disallowed_at(b, j) => return Err(j),
            None => {}
        }
        if b[j..].starts_with(quotes)
            && b[j + quotes.len()..]
                .iter()
                .take_while(|&&c| c == b'#')
                .count()
                >= hashes
        {
            return Ok(j + quotes.len() + hashes);
        }
        j += 1;
    }
    Err(b.len())
}

/// Past the block comment at `i` (`None` when it is never closed), and
/// the count of its `*` and `/` (up to the end of the file when it is not
/// closed: the parser recurses through those too before it gives up).
fn skip_comment(b: &[u8], mut i: usize) -> (Option<usize>, usize) {
    let mut depth = 0usize;
    let mut marks = 0usize;
    while i < b.len() {
        if b[i..].starts_with(b"/*") {
            depth += 1;
            marks += 2;
            i += 2;
        } else if b[i..].starts_with(b"*/") {
            depth -= 1;
            marks += 2;
            i += 2;
            if depth == 0 {
                return (Some(i), marks);
            }
        } else {
            marks += usize::from(matches!(b[i], b'*' | b'/'));
            i += 1;
        }
    }
    (None, marks)
}

/// The first place where `text` goes past a bound, if any.
pub(crate) fn check(text: &str) -> Result<(), TooDeep> {
    scan(text)?;
    // The scan above reads strings and comments as valid KDL does; after a
    // syntax error the parser may resume inside what the scan took for a
    // string, and see braces the scan skipped. So braces are also counted
    // with strings and comments ignored: real recipes balance the braces
    // in their strings (`${name}`), and text that does not is refused.
    let mut depth = 0usize;
    for (i, &c) in text.as_bytes().iter().enumerate() {
        if c == b'{' {
            depth += 1;
            if depth > MAX_DEPTH {
                return Err(TooDeep {
                    at: i,
                    excess: Excess::Blocks,
                });
            }
        } else if c == b'}' {
            depth = depth.saturating_sub(1);
        }
    }
    Ok(())
}

/// [`check`]'s scan of `text` as KDL.
fn scan(text: &str) -> Result<(), TooDeep> {
    let b = text.as_bytes();
    let too = |at, excess| Err(TooDeep { at, excess });
    let mut i = 0;
    let mut depth = 0usize;
    let mut prefixes = 0usize;
    // A string or comment opened before `unclosed` was never closed: that
    // text is read as code, and an opener inside it is not tried again (it
    // would fail the same way), which keeps the scan linear.
    let mut unclosed = 0usize;
    while i < b.len() {
        if let Some(n) = space_at(b, i) {
            i += n;
            continue;
        }
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && newline_at(b, i).is_none() {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') && i >= unclosed => match skip_comment(b, i) {
                (_, marks) if marks > MAX_COMMENT_MARKS => {
                    return too(i, Excess::CommentMarks);
                }
                (Some(end), _) => {
                    i = end;
                    continue;
                }
                (None, _) => unclosed = b.len(),
            },
            b'/' if b.get(i + 1) == Some(&b'-') => {
                prefixes += 1;
                if prefixes > MAX_PREFIXES {
                    return too(i, Excess::Prefixes);
                }
                i += 2;
                continue;
            }
            b'(' => {
                prefixes += 1;
                if prefixes > MAX_PREFIXES {
                    return too(i, Excess::Prefixes);
                }
                // The annotation's name, up to its `)` on the same line
                // (a quoted one skipped as a string), stays in the run.
                i += 1;
                while i < b.len() && newline_at(b, i).is_none() {
                    match b[i] {
                        b')' | b'(' | b'{' | b'}' | b';' => break,
                        b'"' if i >= unclosed => match skip_string(b, i, 0) {
                            Ok(end) => i = end,
                            Err(at) => {
                                unclosed = at;
                                break;
                            }
                        },
                        b'"' => break,
                        _ => i += 1,
                    }
                }
                continue;
            }
            b')' => {
                i += 1;
                continue;
            }
            b'"' if i >= unclosed && may_open(b, i) => match skip_string(b, i, 0) {
                Ok(end) => {
                    i = end;
                    prefixes = 0;
                    continue;
                }
                Err(at) => unclosed = at,
            },
            b'#' if i >= unclosed && may_open(b, i) => {
                let hashes = b[i..].iter().take_while(|&&c| c == b'#').count();
                if b.get(i + hashes) == Some(&b'"') {
                    match skip_string(b, i + hashes, hashes) {
                        Ok(end) => {
                            i = end;
                            prefixes = 0;
                            continue;
                        }
                        Err(at) => unclosed = at,
                    }
                }
            }
            b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return too(i, Excess::Blocks);
                }
            }
            // In text read on past an opener that was not closed, a `}`
            // may be inside what the parser takes for a string or comment:
            // it does not close a block there.
            b'}' if i >= unclosed => depth = depth.saturating_sub(1),
            _ => {}
        }
        prefixes = 0;
        i += 1;
    }
    Ok(())
}

/// Run `parse` on a thread with [`PARSE_STACK`] of stack (on this one if
/// no thread can be started).
pub(crate) fn on_parse_stack<T: Send>(parse: impl FnOnce() -> T + Send) -> T {
    // The closure waits here; whichever thread runs takes it.
    let slot = std::sync::Mutex::new(Some(parse));
    let take = || slot.lock().unwrap_or_else(|e| e.into_inner()).take();
    let ran = std::thread::scope(|s| {
        let spawned = std::thread::Builder::new()
            .name("kdl-parse".into())
            .stack_size(PARSE_STACK)
            .spawn_scoped(s, || take().map(|f| f()));
        match spawned.map(|h| h.join()) {
            Ok(Ok(out)) => out,
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(_) => None,
        }
    });
    match ran {
        Some(out) => out,
        None => take().map(|f| f()).expect("the parse ran on no thread"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(n: usize) -> String {
        "a {\n".repeat(n) + &"}\n".repeat(n)
    }

    #[test]
    fn blocks_up_to_the_limit_pass() {
        assert_eq!(check(&nested(MAX_DEPTH)), Ok(()));
        let err = check(&nested(MAX_DEPTH + 1)).unwrap_err();
        assert_eq!(err.excess, Excess::Blocks);
        assert_eq!(err.at, 4 * MAX_DEPTH + 2);
    }

    #[test]
    fn braces_in_strings_and_comments_do_not_count() {
        // To the scan: `check` also counts them all, strings or not, and
        // refuses so many unbalanced braces anywhere.
        let deep = "{".repeat(MAX_DEPTH + 1);
        for text in [
            format!("a \"{deep}\"\n"),
            format!("a #\"{deep}\"#\n"),
            format!("a \"\"\"\n  {deep}\n  \"\"\"\n"),
            format!("a // {deep}\n"),
            format!("a /* {deep} */\n"),
            format!("a \"x\\\n  {deep}\"\n"),
        ] {
            assert_eq!(scan(&text), Ok(()), "{text}");
            assert_eq!(check(&text).unwrap_err().excess, Excess::Blocks);
        }
        let balanced = "{}".repeat(10_000);
        assert_eq!(check(&format!("a \"{balanced}\"\n")), Ok(()));
    }

    #[test]
    fn braces_hidden_from_the_scan_still_count() {
        // After the stray `"` the scan reads a string to the `"` at the
        // end; the parser reports `edge"` and reads on through the blocks.
        let text = format!("a \"x \"edge\" text=a {}\"\n", "a {".repeat(MAX_DEPTH + 1));
        assert_eq!(check(&text).unwrap_err().excess, Excess::Blocks);
        let text = format!("a \"${{x}}\" {}", nested(MAX_DEPTH));
        assert_eq!(check(&text), Ok(()));
    }

    #[test]
    fn strings_the_parser_refuses_hide_nothing() {
        // After an invalid escape, a stray quote or a control character
        // the parser may read the rest of the string as code; a comment
        // then hides the `}` from the count that ignores strings.
        for unit in [
            "a \"\\q {\" /* } */\n",
            "a \"\\u{zz} {\" /* } */\n",
            "a x\"y {\" /* } */\n",
            "a \"\u{1} {\" /* } */\n",
        ] {
            let text = unit.repeat(MAX_DEPTH + 1);
            assert_eq!(check(&text).unwrap_err().excess, Excess::Blocks, "{unit}");
        }
        let ok = "a \"\\n\\t\\\\ \\u{1F600} \\\"\" x=\"y\" (t)\"z\" {\"\"}\n";
        assert_eq!(scan(ok), Ok(()));
    }

    #[test]
    fn a_string_left_open_hides_nothing() {
        // The parser reports the string and reads on: so does the scan.
        let text = "a \"open\n".to_string() + &nested(MAX_DEPTH + 1);
        assert_eq!(check(&text).unwrap_err().excess, Excess::Blocks);
        let text = "a \"\"\"x ".to_string() + &nested(MAX_DEPTH + 1);
        assert_eq!(check(&text).unwrap_err().excess, Excess::Blocks);
        let text = "a /* ".to_string() + &nested(MAX_DEPTH + 1);
        assert_eq!(check(&text).unwrap_err().excess, Excess::Blocks);
    }

    #[test]
    fn long_comments_and_prefix_runs_are_bounded() {
        let text = format!("/*{}*/ a\n", "*".repeat(MAX_COMMENT_MARKS));
        assert_eq!(
            check(&text).unwrap_err(),
            TooDeep {
                at: 0,
                excess: Excess::CommentMarks
            }
        );
        let text = format!("/* {} */ a\n", "x".repeat(100_000));
        assert_eq!(check(&text), Ok(()));
        // Never closed: the parser recurses through every opener first.
        let text = format!("a {}\n", "/*".repeat(MAX_COMMENT_MARKS));
        assert_eq!(
            check(&text).unwrap_err(),
            TooDeep {
                at: 2,
                excess: Excess::CommentMarks
            }
        );
        let text = format!("a {}b\n", "/- ".repeat(MAX_PREFIXES + 1));
        assert_eq!(check(&text).unwrap_err().excess, Excess::Prefixes);
        let text = format!("a {}1\n", "(t)".repeat(MAX_PREFIXES + 1));
        assert_eq!(check(&text).unwrap_err().excess, Excess::Prefixes);
        let text = format!("a {}\n", "(t)1 ".repeat(100));
        assert_eq!(check(&text), Ok(()));
    }

    #[test]
    fn unclosed_openers_keep_the_scan_linear() {
        // Each opener fails at the end of the file or line; trying each
        // again would take n² steps.
        for text in [
            "/*".repeat(200_000),
            "\"\"\"\n".repeat(200_000),
            "#\"".repeat(200_000),
            "\"\\\"".repeat(200_000),
            "(\"".repeat(200_000),
        ] {
            let start = std::time::Instant::now();
            let _ = check(&text);
            assert!(start.elapsed().as_secs() < 5, "{:?}", &text[..8]);
        }
    }

    #[test]
    fn the_bounds_fit_the_parse_stack() {
        let texts = [
            nested(MAX_DEPTH),
            "a {\n".repeat(MAX_DEPTH),
            format!("/*{}*/ a\n", "*".repeat(MAX_COMMENT_MARKS - 4)),
            format!("/*{}*/ a\n", "a/".repeat(MAX_COMMENT_MARKS / 2 - 2)),
            "a /-/-/-/-/-/-/-/-b {\n".repeat(MAX_DEPTH),
            format!("a {}\n", "/*".repeat(MAX_COMMENT_MARKS / 2)),
            format!(
                "a {}{}\n",
                "/*".repeat(MAX_COMMENT_MARKS / 4),
                "*/".repeat(MAX_COMMENT_MARKS / 4)
            ),
        ];
        for text in texts {
            assert_eq!(check(&text), Ok(()));
            let _ = on_parse_stack(|| kdl::KdlDocument::parse_v2(&text));
        }
    }
}
