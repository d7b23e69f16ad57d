//! Glob patterns as Helm's `.Files.Glob` reads them (gobwas/glob with `/`
//! as separator): `*` and `?` stay within a path segment, `**` crosses
//! segments, `[...]` classes (`!` or `^` negates), `{a,b}` alternatives.

/// Does `name` match `pattern`?
pub fn matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    expand_braces(&p).iter().any(|alt| m(alt, &n))
}

fn expand_braces(p: &[char]) -> Vec<Vec<char>> {
    let Some(open) = p.iter().position(|&c| c == '{') else {
        return vec![p.to_vec()];
    };
    let mut depth = 0;
    let mut close = None;
    for (i, &c) in p.iter().enumerate().skip(open) {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            _ => {}
        }
    }
    let Some(close) = close else {
        return vec![p.to_vec()];
    };
    let mut alts = Vec::new();
    let mut cur = Vec::new();
    let mut d = 0;
    for &c in &p[open + 1..close] {
        match c {
            '{' => {
                d += 1;
                cur.push(c);
            }
            '}' => {
                d -= 1;
                cur.push(c);
            }
            ',' if d == 0 => alts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    alts.push(cur);
    let mut out = Vec::new();
    for a in alts {
        let mut v = p[..open].to_vec();
        v.extend(a);
        v.extend_from_slice(&p[close + 1..]);
        out.extend(expand_braces(&v));
    }
    out
}

fn m(p: &[char], n: &[char]) -> bool {
    if p.is_empty() {
        return n.is_empty();
    }
    match p[0] {
        '*' if p.get(1) == Some(&'*') => (0..=n.len()).any(|i| m(&p[2..], &n[i..])),
        '*' => {
            for i in 0..=n.len() {
                if m(&p[1..], &n[i..]) {
                    return true;
                }
                if i < n.len() && n[i] == '/' {
                    break;
                }
            }
            false
        }
        '?' => !n.is_empty() && n[0] != '/' && m(&p[1..], &n[1..]),
        '[' => {
            let Some(end) = p.iter().skip(1).position(|&c| c == ']').map(|i| i + 1) else {
                return !n.is_empty() && n[0] == '[' && m(&p[1..], &n[1..]);
            };
            if n.is_empty() {
                return false;
            }
            let class = &p[1..end];
            let (neg, class) = match class.first() {
                Some('!') | Some('^') => (true, &class[1..]),
                _ => (false, class),
            };
            let c = n[0];
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    if class[i] <= c && c <= class[i + 2] {
                        hit = true;
                    }
                    i += 3;
                } else {
                    if class[i] == c {
                        hit = true;
                    }
                    i += 1;
                }
            }
            hit != neg && m(&p[end + 1..], &n[1..])
        }
        '\\' if p.len() > 1 => !n.is_empty() && n[0] == p[1] && m(&p[2..], &n[1..]),
        c => !n.is_empty() && n[0] == c && m(&p[1..], &n[1..]),
    }
}

/// Go's `filepath.Match` (no braces, no `**`).
pub fn matches_path(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    m(&p, &n)
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn globs() {
        assert!(matches("dashboards/*.json", "dashboards/a.json"));
        assert!(!matches("dashboards/*.json", "dashboards/x/a.json"));
        assert!(matches("dashboards/**.json", "dashboards/x/a.json"));
        assert!(matches("files/{a,b}.txt", "files/b.txt"));
        assert!(matches("*", "x"));
    }
}
