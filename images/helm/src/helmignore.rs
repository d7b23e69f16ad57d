//! `.helmignore` rules as Helm's `ignore` package applies them: `#`
//! comments, `!` negation, a trailing `/` for directories only, patterns
//! with a `/` match the path from the chart root, others the base name
//! (`filepath.Match` semantics); `**` is refused. Rules are tried in order
//! and the first that decides wins; a negated rule that does not match
//! ignores the path (Helm's own semantics).

pub struct Rules {
    rules: Vec<Rule>,
}

struct Rule {
    pattern: String,
    negate: bool,
    must_dir: bool,
    full_path: bool,
}

impl Rules {
    pub fn parse(text: &str) -> Result<Rules, String> {
        let mut rules = Vec::new();
        for line in text.lines() {
            let mut r = line.trim();
            if r.is_empty() || r.starts_with('#') {
                continue;
            }
            if r.contains("**") {
                return Err("double-star (**) syntax is not supported".into());
            }
            let negate = r.starts_with('!') && r.len() > 1;
            if negate {
                r = &r[1..];
            }
            let must_dir = r.ends_with('/');
            let r = r.trim_end_matches('/');
            let (pattern, full_path) = match r.strip_prefix('/') {
                Some(p) => (p.to_string(), true),
                None => (r.to_string(), r.contains('/')),
            };
            rules.push(Rule {
                pattern,
                negate,
                must_dir,
                full_path,
            });
        }
        // Helm's default, added after the file's rules: dotfiles in
        // templates/ are ignored.
        rules.push(Rule {
            pattern: "templates/.?*".into(),
            negate: false,
            must_dir: false,
            full_path: true,
        });
        Ok(Rules { rules })
    }

    /// Is `path` (relative, `/`-separated) ignored?
    pub fn ignore(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." {
            return false;
        }
        for r in &self.rules {
            let subject = if r.full_path {
                path
            } else {
                path.rsplit('/').next().unwrap_or(path)
            };
            let hit = crate::glob::matches(&r.pattern, subject);
            if r.negate {
                if r.must_dir && !is_dir {
                    return true;
                }
                if !hit {
                    return true;
                }
                continue;
            }
            if r.must_dir && !is_dir {
                continue;
            }
            if hit {
                return true;
            }
        }
        false
    }
}
