//! Masterminds/semver v3 as Sprig's `semver` and `semverCompare` use it:
//! lenient versions (`v1.2`, missing parts are 0), constraints with
//! `||`, `,`/space AND, `= != > < >= <= ~ ~> ^`, wildcards (`1.2.x`, `*`)
//! and hyphen ranges, and v3's prerelease rule: a constraint without a
//! prerelease does not match a prerelease version.

use std::cmp::Ordering;

use crate::objects::Object;
use crate::value::Value;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: String,
    pub meta: String,
    pub original: String,
}

impl Version {
    /// `semver.NewVersion` (non-strict).
    pub fn parse(s: &str) -> Result<Version, String> {
        let invalid = || "invalid semantic version".to_string();
        let t = s.trim();
        let body = t.strip_prefix('v').unwrap_or(t);
        let (body, meta) = match body.split_once('+') {
            Some((b, m)) => (b, m.to_string()),
            None => (body, String::new()),
        };
        let (nums, pre) = match body.split_once('-') {
            Some((n, p)) => (n, p.to_string()),
            None => (body, String::new()),
        };
        let parts: Vec<&str> = nums.split('.').collect();
        if parts.is_empty()
            || parts.len() > 3
            || parts
                .iter()
                .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(invalid());
        }
        let n = |i: usize| -> Result<u64, String> {
            parts
                .get(i)
                .map_or(Ok(0), |p| p.parse().map_err(|_| invalid()))
        };
        let ident_ok = |x: &str| {
            x.split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        };
        if (!pre.is_empty() && !ident_ok(&pre)) || (!meta.is_empty() && !ident_ok(&meta)) {
            return Err(invalid());
        }
        Ok(Version {
            major: n(0)?,
            minor: n(1)?,
            patch: n(2)?,
            pre,
            meta,
            original: s.to_string(),
        })
    }

    fn cmp(&self, o: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(o.major, o.minor, o.patch))
            .then_with(|| cmp_pre(&self.pre, &o.pre))
    }
}

fn cmp_pre(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let (pa, pb): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    for i in 0..pa.len().max(pb.len()) {
        let (x, y) = match (pa.get(i), pb.get(i)) {
            (None, _) => return Ordering::Less,
            (_, None) => return Ordering::Greater,
            (Some(x), Some(y)) => (x, y),
        };
        let o = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(p), Ok(q)) => p.cmp(&q),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            _ => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// One parsed constraint term: an operator and a (possibly wildcard) version.
struct Term {
    op: String,
    v: Version,
    /// How many leading parts were given (x/* parts are not given).
    given: usize,
}

fn parse_term(t: &str) -> Result<Term, String> {
    let t = t.trim();
    let ops = ["!=", ">=", "=>", "<=", "=<", "~>", "=", ">", "<", "~", "^"];
    let (op, rest) = ops
        .iter()
        .find_map(|o| t.strip_prefix(o).map(|r| (o.to_string(), r.trim())))
        .unwrap_or((String::new(), t));
    let rest_nv = rest.strip_prefix('v').unwrap_or(rest);
    let (core, tail) = match rest_nv.find(['-', '+']) {
        Some(i) => (&rest_nv[..i], &rest_nv[i..]),
        None => (rest_nv, ""),
    };
    let parts: Vec<&str> = core.split('.').collect();
    let mut given = 0;
    let mut nums = Vec::new();
    for p in &parts {
        if matches!(*p, "x" | "X" | "*") {
            break;
        }
        given += 1;
        nums.push(*p);
    }
    if core.is_empty() || matches!(core, "x" | "X" | "*") {
        given = 0;
        nums.clear();
    }
    let text = if nums.is_empty() {
        "0".to_string()
    } else {
        nums.join(".")
    };
    let v = Version::parse(&format!("{text}{tail}"))
        .map_err(|_| format!("improper constraint: {t}"))?;
    let given = if given == 0 {
        0
    } else {
        given.min(parts.len())
    };
    let given = if parts.iter().all(|p| !matches!(*p, "x" | "X" | "*")) {
        parts.len().min(3)
    } else {
        given
    };
    Ok(Term {
        op: match op.as_str() {
            "=>" => ">=".into(),
            "=<" => "<=".into(),
            "~>" => "~".into(),
            o => o.into(),
        },
        v,
        given: if core.is_empty() || matches!(core, "x" | "X" | "*") {
            0
        } else {
            given
        },
    })
}

fn bump(v: &Version, part: usize) -> Version {
    let mut n = v.clone();
    n.pre.clear();
    match part {
        0 => {
            n.major += 1;
            n.minor = 0;
            n.patch = 0;
        }
        1 => {
            n.minor += 1;
            n.patch = 0;
        }
        _ => n.patch += 1,
    }
    n
}

fn check(term: &Term, v: &Version) -> bool {
    // v3: a prerelease version only matches constraints with a prerelease.
    if !v.pre.is_empty() && term.v.pre.is_empty() {
        return false;
    }
    let c = &term.v;
    let ge = |x: &Version| v.cmp(x) != Ordering::Less;
    let lt = |x: &Version| v.cmp(x) == Ordering::Less;
    match term.op.as_str() {
        "" | "=" => match term.given {
            0 => true,
            1 => v.major == c.major,
            2 => v.major == c.major && v.minor == c.minor,
            _ => v.cmp(c) == Ordering::Equal,
        },
        "!=" => match term.given {
            0 => false,
            1 => v.major != c.major,
            2 => !(v.major == c.major && v.minor == c.minor),
            _ => v.cmp(c) != Ordering::Equal,
        },
        ">" => match term.given {
            0 => false,
            1 => v.major > c.major,
            2 => (v.major, v.minor) > (c.major, c.minor),
            _ => v.cmp(c) == Ordering::Greater,
        },
        ">=" => ge(c),
        "<" => match term.given {
            0 => false,
            _ => lt(c),
        },
        "<=" => match term.given {
            0 => true,
            1 => v.major <= c.major,
            2 => (v.major, v.minor) <= (c.major, c.minor),
            _ => v.cmp(c) != Ordering::Greater,
        },
        "~" => {
            let upper = if term.given <= 1 {
                bump(c, 0)
            } else {
                bump(c, 1)
            };
            ge(c) && lt(&upper)
        }
        "^" => {
            let upper = if c.major > 0 || term.given <= 1 {
                bump(c, 0)
            } else if c.minor > 0 || term.given == 2 {
                bump(c, 1)
            } else {
                bump(c, 2)
            };
            ge(c) && lt(&upper)
        }
        _ => false,
    }
}

/// `semverCompare constraint version`.
pub fn compare(constraint: &str, version: &str) -> Result<bool, String> {
    let v = Version::parse(version)?;
    let mut groups = Vec::new();
    for or in constraint.split("||") {
        let or = or.trim();
        // Hyphen ranges: "1.2 - 1.4".
        let mut terms = Vec::new();
        let toks: Vec<&str> = or.split([',', ' ']).filter(|t| !t.is_empty()).collect();
        let mut i = 0;
        let mut pending_op: Option<&str> = None;
        while i < toks.len() {
            if i + 2 < toks.len() + 1 && toks.get(i + 1) == Some(&"-") && i + 2 < toks.len() {
                let lo = parse_term(&format!(">={}", toks[i]))?;
                let mut hi = parse_term(&format!("<={}", toks[i + 2]))?;
                if hi.given < 3 {
                    hi = Term {
                        op: "<".into(),
                        v: bump(&hi.v, hi.given.saturating_sub(1)),
                        given: 3,
                    };
                }
                terms.push(lo);
                terms.push(hi);
                i += 3;
                continue;
            }
            let tok = toks[i];
            // An operator separated from its version by a space.
            if tok.chars().all(|c| "<>=!~^".contains(c)) {
                pending_op = Some(tok);
                i += 1;
                continue;
            }
            let text = match pending_op.take() {
                Some(op) => format!("{op}{tok}"),
                None => tok.to_string(),
            };
            terms.push(parse_term(&text)?);
            i += 1;
        }
        groups.push(terms);
    }
    Ok(groups.iter().any(|g| g.iter().all(|t| check(t, &v))))
}

impl Object for Version {
    fn type_name(&self) -> &str {
        "*semver.Version"
    }
    fn method(&self, name: &str, _args: &[Value]) -> Option<Result<Value, String>> {
        Some(Ok(match name {
            "Major" => Value::I64(self.major as i64),
            "Minor" => Value::I64(self.minor as i64),
            "Patch" => Value::I64(self.patch as i64),
            "Prerelease" => Value::str(&self.pre),
            "Metadata" => Value::str(&self.meta),
            "Original" => Value::str(&self.original),
            "String" => Value::str(self.string()),
            _ => return None,
        }))
    }
    fn has_method(&self, name: &str) -> bool {
        matches!(
            name,
            "Major" | "Minor" | "Patch" | "Prerelease" | "Metadata" | "Original" | "String"
        )
    }
    fn write_v(&self, out: &mut String, _plus: bool) {
        out.push_str(&self.string());
    }
}

impl Version {
    fn string(&self) -> String {
        let mut s = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if !self.pre.is_empty() {
            s.push('-');
            s.push_str(&self.pre);
        }
        if !self.meta.is_empty() {
            s.push('+');
            s.push_str(&self.meta);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::compare;

    #[test]
    fn constraints() {
        assert!(compare(">=1.21-0", "v1.33.0").unwrap());
        assert!(compare(">= 1.19", "1.33.0").unwrap());
        assert!(!compare("<1.19", "1.33.0").unwrap());
        assert!(compare("~1.33.0", "1.33.5").unwrap());
        assert!(compare("^1.2", "1.9.0").unwrap());
        assert!(!compare(">=1.21", "1.33.0-rc.1").unwrap());
        assert!(compare(">=1.21-0", "1.33.0-rc.1").unwrap());
        assert!(compare("1.x", "1.4.2").unwrap());
        assert!(compare("<v3.9.0", "v3.8.0").unwrap());
        assert!(!compare("<v3.9.0", "v4.1.4").unwrap());
        assert!(compare(">=1.16.0-0 <1.34.0-0", "1.33.0").unwrap());
        assert!(compare(">= 1.10 || < 1.0", "1.33.0").unwrap());
    }
}
