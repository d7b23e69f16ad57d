//! Image Factory schematic ids, computed locally.
//!
//! Why: the installer image a node boots from is
//! `factory.talos.dev/installer/<id>:<version>`, where `<id>` names a
//! schematic (system extensions, extra kernel args, overlay, …). The factory
//! derives the id from the schematic itself, so hlb can know it at build
//! time without asking the network.
//!
//! How the factory does it (facts from siderolabs/image-factory
//! `pkg/schematic`): the schematic YAML is decoded strictly (unknown fields
//! rejected) into its struct, marshalled back with go-yaml (4-space indent,
//! block style, fields in struct order, empty `omitempty` fields dropped,
//! `customization` always written), and the id is the lowercase hex sha256
//! of those bytes.
//!
//! Invariants: [`Schematic::canonical_yaml`] is a pure function of the
//! parsed schematic; two schematics that differ only in formatting, key
//! order or empty fields have the same id.

use hlb_images::yaml::{self, Node, Style, Yaml};
use sha2::{Digest as _, Sha256};

/// The default Image Factory host.
pub const FACTORY_HOST: &str = "factory.talos.dev";

/// A schematic that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum SchematicError {
    #[error("schematic: {0}")]
    Yaml(#[from] yaml::YamlError),
    #[error("schematic: expected one YAML document, found {0}")]
    Documents(usize),
    #[error("schematic {pos}: {path}: {message}")]
    Invalid {
        pos: String,
        path: String,
        message: String,
    },
}

/// `overlay:` of a schematic (single-board computers).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overlay {
    pub image: String,
    pub name: String,
    /// Free-form options, kept as YAML (written in Go map order).
    pub options: Option<Yaml>,
}

/// One `customization.meta` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct MetaValue {
    pub key: u8,
    pub value: String,
}

/// `customization.secureboot`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SecureBoot {
    /// `enrollKeys` (kept as YAML: the factory treats it as an opaque flag set).
    pub enroll_keys: Option<Yaml>,
    pub include_well_known_certificates: bool,
}

/// `customization:` of a schematic.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Customization {
    pub embedded_machine_configuration: String,
    pub extra_kernel_args: Vec<String>,
    pub meta: Vec<MetaValue>,
    /// `systemExtensions.officialExtensions`, e.g. `siderolabs/qemu-guest-agent`.
    pub official_extensions: Vec<String>,
    pub bootloader: String,
    pub secureboot: SecureBoot,
    /// `diskImage.sectorSize` (0: unset).
    pub disk_image_sector_size: u64,
}

/// An Image Factory schematic.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Schematic {
    /// Enterprise-only `owner`.
    pub owner: String,
    pub overlay: Overlay,
    pub customization: Customization,
}

fn invalid(node: &Node, path: &str, message: impl Into<String>) -> SchematicError {
    SchematicError::Invalid {
        pos: node.pos(),
        path: path.to_string(),
        message: message.into(),
    }
}

/// The entries of a mapping (null reads as empty), refusing unknown keys.
fn fields<'a>(
    node: &'a Node,
    path: &str,
    known: &[&str],
) -> Result<Vec<(&'a str, &'a Node)>, SchematicError> {
    match &node.value {
        Yaml::Null => Ok(Vec::new()),
        Yaml::Map(entries) => entries
            .iter()
            .map(|(k, v)| {
                let key = k
                    .value
                    .as_str()
                    .ok_or_else(|| invalid(k, path, "keys must be strings"))?;
                if !known.contains(&key) {
                    return Err(invalid(k, path, format!("unknown field `{key}`")));
                }
                Ok((key, v))
            })
            .collect(),
        other => Err(invalid(
            node,
            path,
            format!("expected a mapping, found {}", other.type_name()),
        )),
    }
}

fn string(node: &Node, path: &str) -> Result<String, SchematicError> {
    match &node.value {
        Yaml::Null => Ok(String::new()),
        Yaml::Str(s) => Ok(s.clone()),
        other => Err(invalid(
            node,
            path,
            format!("expected a string, found {}", other.type_name()),
        )),
    }
}

fn strings(node: &Node, path: &str) -> Result<Vec<String>, SchematicError> {
    match &node.value {
        Yaml::Null => Ok(Vec::new()),
        Yaml::Seq(items) => items.iter().map(|i| string(i, path)).collect(),
        other => Err(invalid(
            node,
            path,
            format!("expected a list of strings, found {}", other.type_name()),
        )),
    }
}

fn boolean(node: &Node, path: &str) -> Result<bool, SchematicError> {
    match &node.value {
        Yaml::Null => Ok(false),
        Yaml::Bool(b) => Ok(*b),
        other => Err(invalid(
            node,
            path,
            format!("expected a boolean, found {}", other.type_name()),
        )),
    }
}

impl Schematic {
    /// Read a schematic as the factory does: strictly, unknown fields refused.
    pub fn parse(text: &str) -> Result<Schematic, SchematicError> {
        let docs = yaml::parse_documents(text)?;
        let root = match docs.as_slice() {
            [] => return Ok(Schematic::default()),
            [doc] => &doc.root,
            more => return Err(SchematicError::Documents(more.len())),
        };
        let mut s = Schematic::default();
        for (key, v) in fields(root, "", &["owner", "overlay", "customization"])? {
            match key {
                "owner" => s.owner = string(v, "owner")?,
                "overlay" => s.overlay = parse_overlay(v)?,
                _ => s.customization = parse_customization(v)?,
            }
        }
        Ok(s)
    }

    /// The factory's canonical form: the bytes the id is the hash of.
    pub fn canonical_yaml(&self) -> String {
        let mut root = Vec::new();
        let push = |out: &mut Vec<(Node, Node)>, k: &str, v: Yaml| {
            out.push((Node::new(Yaml::str(k)), Node::new(v)));
        };
        if !self.owner.is_empty() {
            push(&mut root, "owner", Yaml::str(&self.owner));
        }
        let o = &self.overlay;
        let mut overlay = Vec::new();
        if !o.image.is_empty() {
            push(&mut overlay, "image", Yaml::str(&o.image));
        }
        if !o.name.is_empty() {
            push(&mut overlay, "name", Yaml::str(&o.name));
        }
        if let Some(options) = o.options.as_ref().filter(|v| !is_empty(v)) {
            let mut options = options.clone();
            yaml::sort_keys(&mut options, yaml::Flavor::V3);
            push(&mut overlay, "options", options);
        }
        if !overlay.is_empty() {
            push(&mut root, "overlay", Yaml::Map(overlay));
        }
        let c = &self.customization;
        let mut cust = Vec::new();
        if !c.embedded_machine_configuration.is_empty() {
            push(
                &mut cust,
                "embeddedMachineConfiguration",
                Yaml::str(&c.embedded_machine_configuration),
            );
        }
        if !c.extra_kernel_args.is_empty() {
            push(
                &mut cust,
                "extraKernelArgs",
                Yaml::seq(c.extra_kernel_args.iter().map(String::as_str)),
            );
        }
        if !c.meta.is_empty() {
            let items = c.meta.iter().map(|m| {
                Yaml::map([
                    ("key", Yaml::Int(i128::from(m.key))),
                    ("value", Yaml::str(&m.value)),
                ])
            });
            push(&mut cust, "meta", Yaml::seq(items));
        }
        if !c.official_extensions.is_empty() {
            let list = Yaml::seq(c.official_extensions.iter().map(String::as_str));
            push(
                &mut cust,
                "systemExtensions",
                Yaml::map([("officialExtensions", list)]),
            );
        }
        if !c.bootloader.is_empty() {
            push(&mut cust, "bootloader", Yaml::str(&c.bootloader));
        }
        let mut sb = Vec::new();
        if let Some(keys) = c.secureboot.enroll_keys.as_ref().filter(|v| !is_empty(v)) {
            push(&mut sb, "enrollKeys", keys.clone());
        }
        if c.secureboot.include_well_known_certificates {
            push(&mut sb, "includeWellKnownCertificates", Yaml::Bool(true));
        }
        if !sb.is_empty() {
            push(&mut cust, "secureboot", Yaml::Map(sb));
        }
        if c.disk_image_sector_size != 0 {
            let size = Yaml::Int(i128::from(c.disk_image_sector_size));
            push(&mut cust, "diskImage", Yaml::map([("sectorSize", size)]));
        }
        push(&mut root, "customization", Yaml::Map(cust));
        yaml::emit(&Yaml::Map(root), &Style::TALOS)
    }

    /// The schematic id: lowercase hex sha256 of [`Self::canonical_yaml`].
    pub fn id(&self) -> String {
        sha256_hex(self.canonical_yaml().as_bytes())
    }
}

fn is_empty(v: &Yaml) -> bool {
    match v {
        Yaml::Null => true,
        Yaml::Bool(b) => !b,
        Yaml::Str(s) => s.is_empty(),
        Yaml::Seq(s) => s.is_empty(),
        Yaml::Map(m) => m.is_empty(),
        Yaml::Int(i) => *i == 0,
        Yaml::Float(_) => false,
    }
}

fn parse_overlay(node: &Node) -> Result<Overlay, SchematicError> {
    let mut o = Overlay::default();
    for (key, v) in fields(node, "overlay", &["image", "name", "options"])? {
        match key {
            "image" => o.image = string(v, "overlay.image")?,
            "name" => o.name = string(v, "overlay.name")?,
            _ => o.options = Some(v.value.clone()),
        }
    }
    Ok(o)
}

fn parse_customization(node: &Node) -> Result<Customization, SchematicError> {
    const KNOWN: &[&str] = &[
        "embeddedMachineConfiguration",
        "extraKernelArgs",
        "meta",
        "systemExtensions",
        "bootloader",
        "secureboot",
        "diskImage",
    ];
    let mut c = Customization::default();
    for (key, v) in fields(node, "customization", KNOWN)? {
        let path = format!("customization.{key}");
        match key {
            "embeddedMachineConfiguration" => c.embedded_machine_configuration = string(v, &path)?,
            "extraKernelArgs" => c.extra_kernel_args = strings(v, &path)?,
            "meta" => c.meta = parse_meta(v, &path)?,
            "systemExtensions" => {
                for (_, list) in fields(v, &path, &["officialExtensions"])? {
                    c.official_extensions = strings(list, &format!("{path}.officialExtensions"))?;
                }
            }
            "bootloader" => c.bootloader = string(v, &path)?,
            "secureboot" => {
                for (k, sv) in fields(v, &path, &["enrollKeys", "includeWellKnownCertificates"])? {
                    if k == "enrollKeys" {
                        c.secureboot.enroll_keys = Some(sv.value.clone());
                    } else {
                        c.secureboot.include_well_known_certificates =
                            boolean(sv, &format!("{path}.{k}"))?;
                    }
                }
            }
            _ => {
                for (_, size) in fields(v, &path, &["sectorSize"])? {
                    c.disk_image_sector_size = match &size.value {
                        Yaml::Null => 0,
                        Yaml::Int(i) => u64::try_from(*i).map_err(|_| {
                            invalid(size, &path, "sectorSize must be a non-negative integer")
                        })?,
                        other => {
                            return Err(invalid(
                                size,
                                &path,
                                format!(
                                    "sectorSize: expected an integer, found {}",
                                    other.type_name()
                                ),
                            ));
                        }
                    };
                }
            }
        }
    }
    Ok(c)
}

fn parse_meta(node: &Node, path: &str) -> Result<Vec<MetaValue>, SchematicError> {
    let items = match &node.value {
        Yaml::Null => return Ok(Vec::new()),
        Yaml::Seq(items) => items,
        other => {
            return Err(invalid(
                node,
                path,
                format!("expected a list, found {}", other.type_name()),
            ));
        }
    };
    items
        .iter()
        .map(|item| {
            let mut m = MetaValue {
                key: 0,
                value: String::new(),
            };
            for (k, v) in fields(item, path, &["key", "value"])? {
                if k == "key" {
                    m.key = v
                        .value
                        .as_i64()
                        .and_then(|i| u8::try_from(i).ok())
                        .ok_or_else(|| invalid(v, path, "meta key must be an integer 0-255"))?;
                } else {
                    m.value = string(v, path)?;
                }
            }
            Ok(m)
        })
        .collect()
}

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The schematic id of a schematic's YAML text.
pub fn schematic_id(text: &str) -> Result<String, SchematicError> {
    Ok(Schematic::parse(text)?.id())
}

/// The installer image for a schematic and Talos version:
/// `factory.talos.dev/installer/<id>:<version>` (`version` like `v1.13.0`).
pub fn installer_image(id: &str, talos_version: &str) -> String {
    format!("{FACTORY_HOST}/installer/{id}:{talos_version}")
}
