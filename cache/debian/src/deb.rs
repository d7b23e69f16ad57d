//! Reading `.deb` files: the control paragraph, maintainer scripts,
//! conffiles, and a streaming iterator over the data tarball.
//!
//! A `.deb` is an ar archive of `debian-binary` (`2.0`), `control.tar[.gz|
//! .xz|.zst]` and `data.tar[.gz|.xz|.zst|.bz2]`, in that order (members
//! whose name starts with `_` may sit between them and are skipped, as dpkg
//! skips them). [`DebReader::new`] reads up to the data member and keeps
//! the (small) control member in memory; [`DebReader::into_data`] then
//! streams the data tarball from the same reader, so a large package is
//! never buffered whole.
//!
//! Invariants of [`DataEntry`] paths: relative, normalized (no `.`
//! components, no leading `./`, no trailing `/`; the archive root is the
//! empty path), and never containing `..` or starting at `/`. Hard-link
//! targets obey the same rule. An entry breaking it is an error, not
//! skipped, because a package that tries to write outside its root is not
//! one to build from. Symlink targets are returned as written (absolute
//! targets are normal in Debian); whoever extracts must not follow them.

pub mod ar;
mod data;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

pub use data::{DataArchive, DataEntries, DataEntry, EntryKind};

use crate::deb822::{self, Paragraph, SingleParagraphError};

/// Upper bound on the uncompressed control tarball: real ones are
/// kilobytes; this only stops a decompression bomb.
const CONTROL_LIMIT: u64 = 64 << 20;

/// The compression of a tar member, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// `.tar`.
    None,
    /// `.tar.gz`.
    Gzip,
    /// `.tar.xz`.
    Xz,
    /// `.tar.zst`.
    Zstd,
    /// `.tar.bz2` (data member only).
    Bzip2,
}

impl Compression {
    fn from_member(name: &str, prefix: &str) -> Option<Self> {
        match name.strip_prefix(prefix)? {
            ".tar" => Some(Compression::None),
            ".tar.gz" => Some(Compression::Gzip),
            ".tar.xz" => Some(Compression::Xz),
            ".tar.zst" => Some(Compression::Zstd),
            ".tar.bz2" if prefix == "data" => Some(Compression::Bzip2),
            _ => None,
        }
    }

    fn decoder<'r>(self, r: impl Read + 'r) -> std::io::Result<Box<dyn Read + 'r>> {
        Ok(match self {
            Compression::None => Box::new(r),
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(r)),
            Compression::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(r)),
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(r)?),
            Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(r)),
        })
    }
}

/// A conffile listed in the control member's `conffiles`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conffile {
    /// Absolute path in the installed system.
    pub path: String,
    /// Flags written before the path (`remove-on-upgrade`).
    pub flags: Vec<String>,
}

/// The control member of a `.deb`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlInfo {
    /// The `control` paragraph.
    pub control: Paragraph,
    /// Maintainer scripts present (`preinst`, `postinst`, `prerm`,
    /// `postrm`, `config`), by name.
    pub scripts: BTreeMap<String, Vec<u8>>,
    /// The `conffiles` list, in file order.
    pub conffiles: Vec<Conffile>,
    /// Every other control file (`md5sums`, `triggers`, `shlibs`,
    /// `templates`, `symbols`...), by name.
    pub other: BTreeMap<String, Vec<u8>>,
}

/// Names of maintainer scripts (dpkg runs these; `config` is debconf's).
pub const MAINTAINER_SCRIPTS: [&str; 5] = ["config", "postinst", "postrm", "preinst", "prerm"];

/// Why a `.deb` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DebError {
    /// The ar container is malformed.
    #[error("{origin}: {source}")]
    Ar {
        /// The .deb.
        origin: String,
        /// The container error.
        #[source]
        source: ar::ArError,
    },
    /// Members are missing, misplaced, or of an unknown kind.
    #[error("{origin}: {message}")]
    Layout {
        /// The .deb.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// Reading or decompressing a member failed.
    #[error("{origin}: cannot read {member}: {source}")]
    Io {
        /// The .deb.
        origin: String,
        /// The ar member.
        member: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The `control` file is not one deb822 paragraph.
    #[error(transparent)]
    Control(#[from] SingleParagraphError),
    /// A tar entry path escapes the root or is otherwise unsafe.
    #[error("{origin}: {member}: unsafe path {path:?}: {reason}")]
    UnsafePath {
        /// The .deb.
        origin: String,
        /// The ar member.
        member: String,
        /// The offending path as written.
        path: PathBuf,
        /// Why it is refused.
        reason: &'static str,
    },
}

/// A `.deb` opened up to its data member.
pub struct DebReader<R: Read> {
    reader: R,
    origin: String,
    control: ControlInfo,
    data_member: String,
    data_compression: Compression,
    data_size: u64,
}

impl<R: Read> std::fmt::Debug for DebReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DebReader")
            .field("origin", &self.origin)
            .field("data_member", &self.data_member)
            .finish_non_exhaustive()
    }
}

impl<R: Read> DebReader<R> {
    /// Reads `debian-binary` and the control member. `origin` names the
    /// file in errors.
    pub fn new(mut reader: R, origin: &str) -> Result<Self, DebError> {
        let ar_err = |source| DebError::Ar {
            origin: origin.to_owned(),
            source,
        };
        let layout = |message: String| DebError::Layout {
            origin: origin.to_owned(),
            message,
        };
        ar::read_magic(&mut reader).map_err(ar_err)?;
        let first = ar::read_header(&mut reader)
            .map_err(ar_err)?
            .ok_or_else(|| layout("empty archive".to_owned()))?;
        if first.name != "debian-binary" {
            return Err(layout(format!(
                "first member is {:?}, not debian-binary",
                first.name
            )));
        }
        let version = ar::read_member(&mut reader, &first, 64).map_err(ar_err)?;
        let version = String::from_utf8_lossy(&version);
        if !version.trim_end().starts_with("2.") {
            return Err(layout(format!(
                "unsupported format version {:?}",
                version.trim_end()
            )));
        }
        let mut control = None;
        loop {
            let header = ar::read_header(&mut reader)
                .map_err(ar_err)?
                .ok_or_else(|| layout("no data.tar member".to_owned()))?;
            if header.name.starts_with('_') {
                ar::skip_member(&mut reader, &header).map_err(ar_err)?;
            } else if let Some(c) = Compression::from_member(&header.name, "control") {
                if control.is_some() {
                    return Err(layout("two control members".to_owned()));
                }
                let bytes = ar::read_member(&mut reader, &header, CONTROL_LIMIT).map_err(ar_err)?;
                control = Some(read_control(&bytes, c, origin, &header.name)?);
            } else if let Some(c) = Compression::from_member(&header.name, "data") {
                let control = control
                    .ok_or_else(|| layout("data member before control member".to_owned()))?;
                return Ok(DebReader {
                    reader,
                    origin: origin.to_owned(),
                    control,
                    data_member: header.name,
                    data_compression: c,
                    data_size: header.size,
                });
            } else {
                return Err(layout(format!("unexpected member {:?}", header.name)));
            }
        }
    }

    /// The control member.
    pub fn control(&self) -> &ControlInfo {
        &self.control
    }

    /// The data member's name (`data.tar.xz`, ...).
    pub fn data_member(&self) -> &str {
        &self.data_member
    }

    /// Streams the data tarball.
    pub fn into_data<'r>(self) -> Result<DataArchive<'r>, DebError>
    where
        R: 'r,
    {
        let member = self.data_member.clone();
        let decoder = self
            .data_compression
            .decoder(self.reader.take(self.data_size))
            .map_err(|source| DebError::Io {
                origin: self.origin.clone(),
                member: member.clone(),
                source,
            })?;
        Ok(DataArchive::new(decoder, self.origin, member))
    }
}

fn read_control(
    bytes: &[u8],
    compression: Compression,
    origin: &str,
    member: &str,
) -> Result<ControlInfo, DebError> {
    let io = |source| DebError::Io {
        origin: origin.to_owned(),
        member: member.to_owned(),
        source,
    };
    let decoder = compression.decoder(bytes).map_err(io)?;
    let mut archive = DataArchive::new(
        Box::new(decoder.take(CONTROL_LIMIT)),
        origin.to_owned(),
        member.to_owned(),
    );
    let mut files = BTreeMap::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        match entry.kind {
            EntryKind::Directory if entry.path.as_os_str().is_empty() => continue,
            EntryKind::File => {}
            _ => {
                return Err(DebError::Layout {
                    origin: origin.to_owned(),
                    message: format!(
                        "{member}: unexpected entry {:?} of kind {:?}",
                        entry.path, entry.kind
                    ),
                });
            }
        }
        let name = entry.path.to_string_lossy().into_owned();
        if name.contains('/') {
            return Err(DebError::Layout {
                origin: origin.to_owned(),
                message: format!("{member}: nested entry {name:?}"),
            });
        }
        let mut data = Vec::new();
        entry.read_to_end(&mut data).map_err(io)?;
        files.insert(name, data);
    }
    let control_bytes = files.remove("control").ok_or_else(|| DebError::Layout {
        origin: origin.to_owned(),
        message: format!("{member} has no control file"),
    })?;
    let control_origin = format!("{origin}:{member}:control");
    let text = String::from_utf8(control_bytes).map_err(|_| DebError::Layout {
        origin: origin.to_owned(),
        message: format!("{member}: control is not UTF-8"),
    })?;
    let control = deb822::parse_single(&text, &control_origin)?;
    let mut scripts = BTreeMap::new();
    for name in MAINTAINER_SCRIPTS {
        if let Some(data) = files.remove(name) {
            scripts.insert(name.to_owned(), data);
        }
    }
    let conffiles = files
        .remove("conffiles")
        .map(|bytes| {
            String::from_utf8_lossy(&bytes)
                .lines()
                .filter_map(|line| {
                    let mut words: Vec<String> =
                        line.split_whitespace().map(str::to_owned).collect();
                    let path = words.pop()?;
                    Some(Conffile { path, flags: words })
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(ControlInfo {
        control,
        scripts,
        conffiles,
        other: files,
    })
}

#[cfg(test)]
mod tests;
