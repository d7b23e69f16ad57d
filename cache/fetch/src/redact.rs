//! Credentials in URLs never reach a terminal, a log or an error message.
//!
//! Recipes and mirrors may carry `https://user:token@host/…`; every place this
//! crate shows a URL goes through [`Redacted`], which keeps the user name (it
//! helps tell accounts apart) and masks the password. A user name with no
//! password is masked whole, since it is usually a token.

use std::fmt;

/// Displays a URL with its password masked: `https://user:****@host/path`.
#[derive(Clone, Copy, Debug)]
pub struct Redacted<'a>(pub &'a str);

impl fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self.0;
        let Some(scheme_end) = url.find("://") else {
            return f.write_str(url);
        };
        let rest = &url[scheme_end + 3..];
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let Some(at) = rest[..authority_end].rfind('@') else {
            return f.write_str(url);
        };
        f.write_str(&url[..scheme_end + 3])?;
        match rest[..at].split_once(':') {
            Some((user, _)) => write!(f, "{user}:****")?,
            None => f.write_str("****")?,
        }
        f.write_str(&rest[at..])
    }
}

/// `Redacted(url).to_string()`, for messages and events that own their text.
pub fn redact(url: &str) -> String {
    Redacted(url).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_the_password_and_keeps_the_rest() {
        assert_eq!(
            redact("https://user:pass@host:8080/a/b?q=1"),
            "https://user:****@host:8080/a/b?q=1"
        );
    }

    #[test]
    fn masks_a_lone_token() {
        assert_eq!(redact("https://tok3n@host/x"), "https://****@host/x");
    }

    #[test]
    fn at_sign_after_the_authority_is_not_userinfo() {
        assert_eq!(redact("https://host/a@b"), "https://host/a@b");
        assert_eq!(redact("https://host?x=a:b@c"), "https://host?x=a:b@c");
    }

    #[test]
    fn leaves_plain_urls_and_paths_alone() {
        assert_eq!(redact("https://host/x"), "https://host/x");
        assert_eq!(redact("/srv/mirror"), "/srv/mirror");
    }

    #[test]
    fn password_containing_at_is_masked_whole() {
        assert_eq!(redact("https://u:p@ss@host/x"), "https://u:****@host/x");
    }
}
