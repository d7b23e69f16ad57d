//! "Did you mean …?" for misspelled names, properties and parameters.

/// Edit distance (insertions, deletions, substitutions, and swaps of two
/// neighbours), giving up once it exceeds `limit`.
fn distance(a: &str, b: &str, limit: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    // Three rows suffice for the neighbour-swap rule.
    let mut prev2: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            cur[j] = d;
            row_min = row_min.min(d);
        }
        if row_min > limit {
            return None;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    Some(prev[b.len()]).filter(|&d| d <= limit)
}

/// The candidate closest to `word`, if one is close enough to be a likely
/// typo: at most one edit for short words, a third of the length for long
/// ones. Ties go to the first candidate.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c == word {
            continue;
        }
        let limit = best.map_or(limit, |(d, _)| d.saturating_sub(1));
        if let Some(d) = distance(word, c, limit)
            && best.is_none_or(|(bd, _)| d < bd)
        {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// `did you mean `x`?` when a close candidate exists.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(word, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("kitten", "sitting", 5), Some(3));
        assert_eq!(distance("mode", "mdoe", 3), Some(1));
        assert_eq!(distance("abc", "abcdefgh", 2), None);
        assert_eq!(distance("", "ab", 2), Some(2));
    }

    #[test]
    fn suggests_close_names_only() {
        let names = ["gateway-api", "cert-manager", "traefik"];
        assert_eq!(closest("gatway-api", names), Some("gateway-api"));
        assert_eq!(closest("traefk", names), Some("traefik"));
        assert_eq!(closest("dns", names), None);
        assert_eq!(closest("hots", ["host", "lab"]), Some("host"));
        assert_eq!(closest("mod", ["mode", "path"]), Some("mode"));
    }
}
