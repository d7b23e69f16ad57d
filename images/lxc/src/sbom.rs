//! The template's SBOM: CycloneDX 1.5 JSON listing the exact package set.
//!
//! No timestamp and no random serial number (both are optional in
//! CycloneDX), so the document is a function of the package set, the
//! unpacked downloads and the hostname only. Packages come first, sorted
//! by name and architecture, each with a `pkg:deb` purl and the `.deb`'s
//! SHA-256; then the downloads unpacked into the tree (`archives`), as
//! components of type `file` named by their fetch declaration, with the
//! SHA-256 of their bytes, sorted by name and hash (one component for a
//! download unpacked twice).

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

/// A download unpacked into the template.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Download {
    /// The fetch declaration's name.
    pub name: String,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
}

/// The CycloneDX document for a template named `name`.
pub fn cyclonedx(name: &str, packages: &[Installed], downloads: &[Download]) -> Value {
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
    let downloads: std::collections::BTreeSet<&Download> = downloads.iter().collect();
    let components: Vec<Value> = components
        .into_iter()
        .chain(downloads.into_iter().map(|d| {
            json!({
                "type": "file",
                "bom-ref": format!("download:{}:{}", d.name, d.sha256),
                "name": d.name,
                "hashes": [{"alg": "SHA-256", "content": d.sha256}],
            })
        }))
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
