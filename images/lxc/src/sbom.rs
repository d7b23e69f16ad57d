//! The template's SBOM: CycloneDX 1.5 JSON listing the exact package set.
//!
//! No timestamp and no random serial number (both are optional in
//! CycloneDX), so the document is a function of the package set and the
//! hostname only; components are sorted by name and architecture; each
//! carries a `pkg:deb` purl and the `.deb`'s SHA-256.

use serde_json::{Value, json};

use crate::unpack::Installed;

/// Percent-encodes a purl segment (everything outside the unreserved set).
fn purl_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The purl of a Debian binary package.
pub fn purl(name: &str, version: &str, arch: &str) -> String {
    format!(
        "pkg:deb/debian/{}@{}?arch={}",
        purl_encode(name),
        purl_encode(version),
        purl_encode(arch)
    )
}

/// The CycloneDX document for a template named `name`.
pub fn cyclonedx(name: &str, packages: &[Installed]) -> Value {
    let mut sorted: Vec<&Installed> = packages.iter().collect();
    sorted.sort_by(|a, b| (&a.name, &a.architecture).cmp(&(&b.name, &b.architecture)));
    let components: Vec<Value> = sorted
        .iter()
        .map(|p| {
            let purl = purl(&p.name, &p.version, &p.architecture);
            json!({
                "type": "application",
                "bom-ref": purl,
                "name": p.name,
                "version": p.version,
                "purl": purl,
                "hashes": [{"alg": "SHA-256", "content": p.sha256}],
            })
        })
        .collect();
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {
            "component": {"type": "container", "name": name},
            "tools": {"components": [{"type": "application", "name": "hlb"}]},
        },
        "components": components,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purl_encodes_epochs_and_plus() {
        assert_eq!(
            purl("libstdc++6", "1:12.2.0-14+deb12u1", "amd64"),
            "pkg:deb/debian/libstdc%2B%2B6@1%3A12.2.0-14%2Bdeb12u1?arch=amd64"
        );
    }
}
