//! Checks of property values that have a shape of their own: URLs, host
//! addresses, destination paths, namespaces, deploy recipients.
//!
//! Each returns `Err((message, help))`; the kind readers turn that into a
//! diagnostic with their code. The checks are deliberately syntactic: they
//! catch typos at load time, not whether a server exists.

use std::net::IpAddr;

pub(crate) type Problem = (String, Option<String>);

/// An absolute URL with one of `schemes`, a host, an optional port and
/// path, and no credentials or whitespace.
pub(crate) fn url(s: &str, schemes: &[&str]) -> Result<(), Problem> {
    let wanted = schemes
        .iter()
        .map(|s| format!("{s}://"))
        .collect::<Vec<_>>()
        .join(" or ");
    // Checked first, so that no message below echoes a password.
    let after_scheme = s.split_once("://").map_or(s, |(_, rest)| rest);
    if after_scheme
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .contains('@')
    {
        return Err((
            "the URL carries credentials".into(),
            Some(
                "recipes are committed to git: keep credentials in a `secret`, not in a URL".into(),
            ),
        ));
    }
    let Some((scheme, rest)) = s.split_once("://") else {
        return Err((
            format!("`{s}` is not a URL"),
            Some(format!("write a URL starting with {wanted}")),
        ));
    };
    if !schemes.contains(&scheme) {
        let help = if schemes == ["https"] && scheme == "http" {
            format!("the API must be served over TLS: use https://{rest}")
        } else {
            format!("use {wanted}")
        };
        return Err((
            format!("URL scheme `{scheme}` is not allowed here"),
            Some(help),
        ));
    }
    if let Some(c) = s.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err((
            format!(
                "the URL contains {}",
                if c == ' ' {
                    "a space".into()
                } else {
                    format!("{c:?}")
                }
            ),
            Some("percent-encode it (a space is `%20`)".into()),
        ));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.starts_with(':') {
        return Err((format!("`{s}` has no host"), None));
    }
    let port = if let Some(v6) = authority.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else {
            return Err(("the URL has an unclosed `[` in its host".into(), None));
        };
        if addr.parse::<std::net::Ipv6Addr>().is_err() {
            return Err((format!("`{addr}` is not an IPv6 address"), None));
        }
        match after {
            "" => None,
            p => match p.strip_prefix(':') {
                Some(port) => Some(port),
                None => return Err((format!("unexpected `{p}` after the host"), None)),
            },
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => {
                hostname_or_ip(h).map_err(|m| (m, None))?;
                Some(p)
            }
            None => {
                hostname_or_ip(authority).map_err(|m| (m, None))?;
                None
            }
        }
    };
    if let Some(p) = port
        && !matches!(p.parse::<u16>(), Ok(n) if n > 0)
    {
        return Err((format!("`{p}` is not a port number (1 to 65535)"), None));
    }
    Ok(())
}

/// An IP address or a hostname (RFC 1123 labels).
pub(crate) fn hostname_or_ip(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("the address is empty".into());
    }
    if s.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    if s.len() > 253 {
        return Err(format!(
            "`{s}` is longer than a hostname can be (253 characters)"
        ));
    }
    let looks_numeric = s.split('.').all(|l| l.chars().all(|c| c.is_ascii_digit()));
    if looks_numeric {
        return Err(format!("`{s}` is not a valid IPv4 address"));
    }
    for label in s.trim_end_matches('.').split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !ok {
            return Err(format!("`{s}` is neither an IP address nor a hostname"));
        }
    }
    Ok(())
}

/// A host's address: an IP or hostname, without port or prefix length.
pub(crate) fn address(s: &str) -> Result<(), Problem> {
    if let Some((ip, prefix)) = s.split_once('/')
        && ip.parse::<IpAddr>().is_ok()
    {
        return Err((
            format!("`{s}` is a network, not an address"),
            Some(format!(
                "write the machine's address without `/{prefix}`: `{ip}`"
            )),
        ));
    }
    hostname_or_ip(s).map_err(|m| {
        let help = if s.contains("://") {
            "write the bare address, without scheme: `10.0.0.20` or `edge.lan`"
        } else {
            "write an IP address (`10.0.0.20`, `fd00::20`) or a hostname (`edge.lan`)"
        };
        (m, Some(help.to_string()))
    })
}

/// A destination path on a target: absolute and clean.
pub(crate) fn destination(s: &str) -> Result<(), Problem> {
    if !s.starts_with('/') {
        return Err((
            format!("`{s}` is not an absolute path"),
            Some(format!("destination paths start with `/`: `/{s}`")),
        ));
    }
    if s.contains('\0') {
        return Err(("the path contains a NUL character".into(), None));
    }
    if s == "/" || s.ends_with('/') {
        return Err((
            format!("`{s}` names a directory"),
            Some("name the file itself, e.g. `/etc/motd`".into()),
        ));
    }
    if s[1..].split('/').any(|c| matches!(c, "" | "." | "..")) {
        let clean: Vec<&str> = s[1..]
            .split('/')
            .filter(|c| !matches!(*c, "" | "."))
            .collect();
        let help = (!clean.contains(&"..")).then(|| {
            format!(
                "write it without empty or `.` parts: `/{}`",
                clean.join("/")
            )
        });
        return Err((
            format!("`{s}` is not a clean path (it has `//`, `.` or `..`)"),
            help,
        ));
    }
    Ok(())
}

/// An RFC 1123 label as Kubernetes and host names use it: lowercase
/// letters, digits and `-`, at most 63, a letter or digit at each end.
pub(crate) fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    let edge = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && b.len() <= 63
        && b.first().is_some_and(edge)
        && b.last().is_some_and(edge)
        && b.iter().all(|c| edge(c) || *c == b'-')
}

/// A Kubernetes namespace: a DNS label.
pub(crate) fn namespace(s: &str) -> Result<(), Problem> {
    if is_dns_label(s) {
        Ok(())
    } else {
        Err((
            format!("`{s}` is not a Kubernetes namespace name"),
            Some("namespaces use lowercase letters, digits and `-` (at most 63), starting and ending with a letter or digit".into()),
        ))
    }
}

/// An age recipient (`age1…`) or an SSH public key (`ssh-ed25519 AAAA…`,
/// `ssh-rsa AAAA…`).
pub(crate) fn recipient(s: &str) -> Result<(), Problem> {
    let bech32 = |d: &str| {
        d.len() >= 10
            && d.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    };
    let ok = if let Some(data) = s.strip_prefix("age1") {
        bech32(data)
    } else if let Some(rest) = s
        .strip_prefix("ssh-ed25519 ")
        .or_else(|| s.strip_prefix("ssh-rsa "))
    {
        let key = rest.split(' ').next().unwrap_or_default();
        key.len() >= 16
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+/=".contains(c))
    } else {
        false
    };
    if ok {
        Ok(())
    } else {
        Err((
            format!("`{}` is not an age or SSH recipient", shorten(s)),
            Some("write an age public key (`age1…`, from `age-keygen -y`) or an SSH public key (`ssh-ed25519 AAAA…`)".into()),
        ))
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let https = &["https"];
        for ok in [
            "https://10.0.0.10:6443",
            "https://example.org/a/b?x=1",
            "https://[fd00::1]:6443/",
            "https://k8s.lan",
        ] {
            assert_eq!(url(ok, https), Ok(()), "{ok}");
        }
        for bad in [
            "10.0.0.10:6443",
            "http://10.0.0.10:6443",
            "https://",
            "https://user:pw@host/",
            "https://host:0",
            "https://host:99999",
            "https://ho st/",
            "https://[zz]:1",
            "https://-bad-/",
        ] {
            assert!(url(bad, https).is_err(), "{bad}");
        }
        assert!(url("http://mirror.lan/x", &["https", "http"]).is_ok());
        let (_, help) = url("http://h", https).unwrap_err();
        assert!(help.unwrap().contains("https://h"));
        for secret in [
            "user:hunter2@host/x",
            "ftp://user:hunter2@host/x",
            "https://user:hunter2@host",
        ] {
            let (message, help) = url(secret, https).unwrap_err();
            assert!(
                !message.contains("hunter2") && !help.unwrap().contains("hunter2"),
                "{secret}"
            );
        }
    }

    #[test]
    fn addresses() {
        for ok in [
            "10.0.0.20",
            "fd00::20",
            "edge",
            "edge.lan",
            "a-b.example.org.",
        ] {
            assert_eq!(address(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "10.0.0.256",
            "10.0.0.20/24",
            "https://edge",
            "-edge",
            "a..b",
            "ed_ge",
        ] {
            assert!(address(bad).is_err(), "{bad}");
        }
        assert!(
            address("10.0.0.20/24")
                .unwrap_err()
                .1
                .unwrap()
                .contains("`10.0.0.20`")
        );
    }

    #[test]
    fn destinations() {
        assert_eq!(destination("/etc/motd"), Ok(()));
        for bad in [
            "etc/motd",
            "/",
            "/etc/",
            "/etc//motd",
            "/etc/./motd",
            "/etc/../x",
        ] {
            assert!(destination(bad).is_err(), "{bad}");
        }
        assert!(
            destination("/etc//motd")
                .unwrap_err()
                .1
                .unwrap()
                .contains("`/etc/motd`")
        );
    }

    #[test]
    fn namespaces_and_recipients() {
        assert!(namespace("cert-manager").is_ok());
        assert!(namespace("Cert_Manager").is_err());
        assert!(namespace("").is_err());
        assert!(
            recipient("age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq").is_ok()
        );
        assert!(recipient("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample host").is_ok());
        assert!(recipient("age1").is_err());
        assert!(recipient("AGE1QYQS").is_err());
        assert!(recipient("hello").is_err());
    }
}
