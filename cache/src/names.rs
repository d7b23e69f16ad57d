//! Names that become path components (entry names, lab names, pin names).
//!
//! They are checked once, here, so that no name can contain a `/`, start
//! with a dot (hidden files are the store's own scratch), or be so long that
//! `<64 hex>-<name>` overflows a file name.

/// Longest allowed name; 64 + 1 + 180 stays well under 255 bytes.
pub const MAX_NAME: usize = 180;

/// Why `name` is not usable as a path component, or `None` if it is.
pub fn invalid_reason(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("it is empty");
    }
    if name.len() > MAX_NAME {
        return Some("it is longer than 180 bytes");
    }
    if !name.as_bytes()[0].is_ascii_alphanumeric() {
        return Some("it must start with a letter or digit");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'_' | b'-'))
    {
        return Some("only ASCII letters, digits and `+._-` are allowed");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_usual_names_and_refuses_paths() {
        assert_eq!(invalid_reason("talos-1.9_cp+x.yaml"), None);
        for bad in ["", ".hidden", "a/b", "../x", "a b", "é", &"x".repeat(181)] {
            assert!(invalid_reason(bad).is_some(), "{bad}");
        }
    }
}
