//! Planning an `lxc` container, the lock side: reading a `debian` lock
//! entry and lowering each pinned `.deb` to a `fetch` derivation.
//!
//! Why a module of its own: the package closure of a container lives in
//! `hlb.lock` (section [`DEBIAN_SECTION`], key = container name), written by
//! `hlb lock`'s Debian resolver; `hlb build` only reads it. This module is
//! the one place that knows the entry's shape, so a resolver change and the
//! planner meet here.
//!
//! [`template_packages`] gives the `.deb` half of the `lxc-template`
//! derivation (its `packages` param and `deb:<name>` inputs), per the
//! contract in `hlb-lxc`'s compiler module.
//!
//! Entry shape (what the resolver writes): `{"request", "sources",
//! "packages": [{name, version, architecture, filename, sha256, size,
//! url}]}`, `sha256` being bare hex.
//!
//! Invariants:
//! - [`pinned_debs`] uses an entry only when its recorded `request` is the
//!   container's current request; otherwise the recipe asks for `hlb lock`.
//! - [`locked_debs`] keeps the lock's order (the `lxc-template` compiler's
//!   `packages` param is "in the lock's order") and refuses an entry with a
//!   missing or malformed field, or a package listed twice.
//! - [`deb_drv_name`] is injective over valid Debian names and versions and
//!   always a valid store name, so two different `.deb`s never share a
//!   derivation name, and the same `.deb` in two containers gives the same
//!   [`deb_fetch_derivation`] (same id: one build, one store path).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use crate::drv::{Derivation, DrvId, FixedHash, Value, valid_store_name};
use crate::kinds;
use crate::lock::{Lock, REQUEST_FIELD};

/// The lock section of Debian package closures (key = container name).
pub const DEBIAN_SECTION: &str = "debian";

/// One pinned `.deb`, as the lock records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockedDeb {
    pub name: String,
    pub version: String,
    pub architecture: String,
    pub url: String,
    pub sha256: FixedHash,
    pub size: u64,
}

/// Why a `debian` lock entry cannot be used; the planner turns it into a
/// recipe error whose help is "run `hlb lock`".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LockedDebError {
    #[error("hlb.lock has no debian entry for `{0}`")]
    Missing(String),
    #[error("hlb.lock's debian entry for `{0}` was resolved for another request")]
    Stale(String),
    #[error("the debian lock entry has no `packages` list")]
    NoPackages,
    #[error("debian lock entry, package #{index}: {reason}")]
    Package { index: usize, reason: String },
    #[error("debian lock entry lists package `{0}` twice")]
    Duplicate(String),
}

/// The `.deb`s pinned for `container`, when the lock's entry was resolved
/// for exactly `request` (the request `lock_requests` makes for it): a
/// missing entry, or one recorded for another request, is refused rather
/// than built from (`hlb build` never resolves).
pub fn pinned_debs(
    lock: &Lock,
    container: &str,
    request: &Json,
) -> Result<Vec<LockedDeb>, LockedDebError> {
    let entry = lock
        .get(DEBIAN_SECTION, container)
        .ok_or_else(|| LockedDebError::Missing(container.to_owned()))?;
    if entry.get(REQUEST_FIELD) != Some(request) {
        return Err(LockedDebError::Stale(container.to_owned()));
    }
    locked_debs(entry)
}

/// The `.deb`s of a `debian` lock entry, in the lock's order.
pub fn locked_debs(entry: &Json) -> Result<Vec<LockedDeb>, LockedDebError> {
    let list = entry
        .get("packages")
        .and_then(Json::as_array)
        .ok_or(LockedDebError::NoPackages)?;
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(list.len());
    for (index, p) in list.iter().enumerate() {
        let bad = |reason: String| LockedDebError::Package { index, reason };
        let field = |key: &str| {
            p.get(key)
                .and_then(Json::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| bad(format!("missing or empty string field `{key}`")))
        };
        let name = field("name")?;
        let version = field("version")?;
        let architecture = field("architecture")?;
        let url = field("url")?;
        let hex = field("sha256")?;
        let sha256 = FixedHash::parse(&format!("sha256:{hex}"))
            .map_err(|e| bad(format!("`{name}`: sha256: {e}")))?;
        let size = p
            .get("size")
            .and_then(Json::as_u64)
            .ok_or_else(|| bad(format!("`{name}`: missing or non-integer `size`")))?;
        if deb_drv_name(&name, &version).is_none() {
            return Err(bad(format!(
                "`{name}` {version}: not a Debian package name and version"
            )));
        }
        if !seen.insert(name.clone()) {
            return Err(LockedDebError::Duplicate(name));
        }
        out.push(LockedDeb {
            name,
            version,
            architecture,
            url,
            sha256,
            size,
        });
    }
    Ok(out)
}

/// The derivation (and store) name of a `.deb`: `deb-<name>_<version>`,
/// with the version's `:` (epoch) written `_e` and `~` written `_t` (store
/// names allow neither). Debian names and versions never contain `_`, so
/// the first `_` separates them and every later one starts an escape: the
/// mapping is injective. `None` when the name or version has a character
/// Debian does not allow.
pub fn deb_drv_name(name: &str, version: &str) -> Option<String> {
    let name_ok = name.len() >= 2
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b));
    let version_ok = !version.is_empty()
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.~:".contains(&b));
    if !name_ok || !version_ok {
        return None;
    }
    let mut v = String::with_capacity(version.len() + 4);
    for c in version.chars() {
        match c {
            ':' => v.push_str("_e"),
            '~' => v.push_str("_t"),
            c => v.push(c),
        }
    }
    let out = format!("deb-{name}_{v}");
    valid_store_name(&out).then_some(out)
}

/// The `fetch` derivation of one pinned `.deb` (`builder_version` is the
/// registered `fetch` compiler's version). Its output is the single `.deb`
/// file, as the `lxc-template` compiler's `deb:<name>` inputs require.
pub fn deb_fetch_derivation(deb: &LockedDeb, builder_version: u32) -> Option<Derivation> {
    Some(Derivation {
        kind: kinds::FETCH.into(),
        name: deb_drv_name(&deb.name, &deb.version)?,
        builder_version,
        params: Value::map()
            .with("url", deb.url.as_str())
            .with("executable", false),
        inputs: BTreeMap::new(),
        sources: BTreeMap::new(),
        fixed_output: Some(deb.sha256.clone()),
        secret: false,
    })
}

/// Role prefix of an `lxc-template` derivation's `.deb` inputs (the
/// `hlb-lxc` compiler's contract).
pub const DEB_ROLE_PREFIX: &str = "deb:";

/// The `.deb` side of an `lxc-template` derivation, from the pinned `.deb`s
/// in the lock's order: the `packages` param (a list of `{name, sha256}`,
/// `sha256` as bare hex), the `deb:<name>` inputs, and the `fetch`
/// derivations those inputs name (for the planner to add; identical ones
/// have identical ids). `None` when a name cannot be a store name, which
/// [`locked_debs`] already refused.
pub fn template_packages(
    debs: &[LockedDeb],
    fetch_version: u32,
) -> Option<(Value, BTreeMap<String, DrvId>, Vec<Derivation>)> {
    let mut list = Vec::with_capacity(debs.len());
    let mut inputs = BTreeMap::new();
    let mut fetches = Vec::with_capacity(debs.len());
    for deb in debs {
        let drv = deb_fetch_derivation(deb, fetch_version)?;
        list.push(
            Value::map()
                .with("name", deb.name.as_str())
                .with("sha256", hex::encode(&deb.sha256.bytes).as_str()),
        );
        inputs.insert(format!("{DEB_ROLE_PREFIX}{}", deb.name), drv.id());
        fetches.push(drv);
    }
    Some((Value::List(list), inputs, fetches))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pkg(name: &str, version: &str, hex: &str) -> Json {
        json!({
            "name": name, "version": version, "architecture": "amd64",
            "filename": format!("pool/main/x/{name}_{version}_amd64.deb"),
            "sha256": hex, "size": 1234,
            "url": format!("http://deb.debian.org/debian/pool/main/x/{name}_{version}_amd64.deb"),
        })
    }

    #[test]
    fn reads_entry_in_lock_order() {
        let a = "aa".repeat(32);
        let b = "bb".repeat(32);
        let entry =
            json!({"packages": [pkg("netbase", "6.4", &a), pkg("base-passwd", "3.6.1", &b)]});
        let debs = locked_debs(&entry).unwrap();
        let names: Vec<_> = debs.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["netbase", "base-passwd"]);
        assert_eq!(debs[1].sha256.to_string(), format!("sha256:{b}"));
        assert_eq!(debs[0].size, 1234);
    }

    #[test]
    fn refuses_malformed_entries() {
        assert_eq!(locked_debs(&json!({})), Err(LockedDebError::NoPackages));
        let short = json!({"packages": [pkg("netbase", "6.4", "abcd")]});
        assert!(matches!(
            locked_debs(&short),
            Err(LockedDebError::Package { index: 0, .. })
        ));
        let mut no_url = pkg("netbase", "6.4", &"aa".repeat(32));
        no_url.as_object_mut().unwrap().remove("url");
        let err = locked_debs(&json!({"packages": [no_url]})).unwrap_err();
        assert!(err.to_string().contains("`url`"), "{err}");
        let h = "aa".repeat(32);
        let dup = json!({"packages": [pkg("netbase", "6.4", &h), pkg("netbase", "6.5", &h)]});
        assert_eq!(
            locked_debs(&dup),
            Err(LockedDebError::Duplicate("netbase".into()))
        );
    }

    #[test]
    fn pinned_needs_an_entry_for_this_request() {
        let request = json!({"mirror": "system", "suites": ["bookworm"], "packages": ["netbase"]});
        let mut lock = Lock::new();
        assert_eq!(
            pinned_debs(&lock, "dns", &request),
            Err(LockedDebError::Missing("dns".into()))
        );
        let entry =
            json!({"request": request, "packages": [pkg("netbase", "6.4", &"ab".repeat(32))]});
        lock.set(DEBIAN_SECTION, "dns", entry);
        assert_eq!(pinned_debs(&lock, "dns", &request).unwrap().len(), 1);
        let other =
            json!({"mirror": "system", "suites": ["bookworm"], "packages": ["netbase", "dnsdist"]});
        assert_eq!(
            pinned_debs(&lock, "dns", &other),
            Err(LockedDebError::Stale("dns".into()))
        );
        assert_eq!(
            pinned_debs(&lock, "web", &request),
            Err(LockedDebError::Missing("web".into()))
        );
    }

    #[test]
    fn template_packages_follow_the_compiler_contract() {
        let (a, b) = ("11".repeat(32), "22".repeat(32));
        let entry =
            json!({"packages": [pkg("netbase", "6.4", &a), pkg("base-passwd", "3.6.1", &b)]});
        let debs = locked_debs(&entry).unwrap();
        let (list, inputs, fetches) = template_packages(&debs, 3).unwrap();
        let Value::List(items) = &list else {
            panic!("packages is not a list: {list:?}")
        };
        let names: Vec<_> = items
            .iter()
            .map(|p| p.get("name").and_then(Value::as_str).unwrap())
            .collect();
        assert_eq!(names, ["netbase", "base-passwd"]);
        assert_eq!(
            items[1].get("sha256").and_then(Value::as_str),
            Some(b.as_str())
        );
        let roles: Vec<_> = inputs.keys().map(String::as_str).collect();
        assert_eq!(roles, ["deb:base-passwd", "deb:netbase"]);
        assert_eq!(inputs["deb:netbase"], fetches[0].id());
        assert!(
            fetches
                .iter()
                .all(|f| f.builder_version == 3 && f.kind == "fetch")
        );
    }

    #[test]
    fn names_are_store_names_and_distinct() {
        let epoch = deb_drv_name("libc6", "1:2.36-9+deb12u4").unwrap();
        let tilde = deb_drv_name("libc6", "1~2.36-9+deb12u4").unwrap();
        assert_eq!(epoch, "deb-libc6_1_e2.36-9+deb12u4");
        assert_eq!(tilde, "deb-libc6_1_t2.36-9+deb12u4");
        assert_ne!(epoch, tilde);
        assert!(valid_store_name(&tilde));
        // The split between name and version stays unambiguous.
        assert_eq!(deb_drv_name("ab-1", "2").as_deref(), Some("deb-ab-1_2"));
        assert_eq!(deb_drv_name("ab", "1-2").as_deref(), Some("deb-ab_1-2"));
        assert_eq!(deb_drv_name("Bad", "1"), None);
        assert_eq!(deb_drv_name("ok", "1/2"), None);
    }

    #[test]
    fn same_deb_same_derivation() {
        let h = "cd".repeat(32);
        let entry = json!({"packages": [pkg("netbase", "6.4", &h)]});
        let one = &locked_debs(&entry).unwrap()[0];
        let a = deb_fetch_derivation(one, 1).unwrap();
        let b = deb_fetch_derivation(&one.clone(), 1).unwrap();
        assert_eq!(a.id(), b.id());
        assert_eq!(a.fixed_output.as_ref(), Some(&one.sha256));
        assert_eq!(
            a.params.get("url").and_then(Value::as_str),
            Some(one.url.as_str())
        );
        let mut other = one.clone();
        other.sha256 = FixedHash::parse(&format!("sha256:{}", "ef".repeat(32))).unwrap();
        assert_ne!(deb_fetch_derivation(&other, 1).unwrap().id(), a.id());
    }
}
