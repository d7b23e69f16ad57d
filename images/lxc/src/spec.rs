//! What a container template declares besides its packages.
//!
//! The recipe layer (KDL, lab parameters) lowers into these plain structs;
//! everything here is already resolved data (file contents are bytes, not
//! recipe references), so assembling is a pure function of the `.deb`s and
//! one [`ContainerSpec`].

/// One container template's declarations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSpec {
    /// Written to `/etc/hostname` and `/etc/hosts`.
    pub hostname: String,
    /// dpkg architecture of the packages (`amd64`): names the
    /// `/var/lib/dpkg/info` files of `Multi-Arch: same` packages.
    pub architecture: String,
    /// Groups to create, after the packages' own.
    pub groups: Vec<GroupSpec>,
    /// Users to create, after the packages' own.
    pub users: Vec<UserSpec>,
    /// Files to add; they replace a package's file at the same path.
    pub files: Vec<FileSpec>,
    /// systemd units to enable, by name (`dnsdist.service`).
    pub services: Vec<String>,
    /// systemd units to mask (`/etc/systemd/system/UNIT -> /dev/null`).
    pub masked: Vec<String>,
    /// Static network configuration, written for systemd-networkd.
    pub network: Option<NetworkSpec>,
    /// Downloads unpacked into the tree, after the packages and before
    /// the declared files.
    pub archives: Vec<ArchiveSpec>,
    /// Files the deployer writes at activation: only their metadata is
    /// here (templates carry no secrets).
    pub activation_files: Vec<ActivationFileSpec>,
}

/// Units [`ContainerSpec::new`] masks: kernel facilities a container
/// cannot mount. `sys-kernel-debug.mount` fails in an unprivileged
/// container (debugfs cannot be mounted from a user namespace, while the
/// unit's conditions still hold), which would leave every unprivileged
/// container `degraded`.
pub const CONTAINER_MASKED_UNITS: [&str; 1] = ["sys-kernel-debug.mount"];

impl ContainerSpec {
    /// A container with only a hostname, for amd64, masking
    /// [`CONTAINER_MASKED_UNITS`].
    pub fn new(hostname: &str) -> ContainerSpec {
        ContainerSpec {
            hostname: hostname.to_owned(),
            architecture: "amd64".to_owned(),
            groups: Vec::new(),
            users: Vec::new(),
            files: Vec::new(),
            services: Vec::new(),
            masked: CONTAINER_MASKED_UNITS.map(str::to_owned).to_vec(),
            network: None,
            archives: Vec::new(),
            activation_files: Vec::new(),
        }
    }
}

/// A group to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSpec {
    /// Group name.
    pub name: String,
    /// Fixed gid; `None` allocates a system gid (999 downwards).
    pub gid: Option<u32>,
}

/// A user to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSpec {
    /// User name.
    pub name: String,
    /// Fixed uid; `None` allocates a system uid (999 downwards).
    pub uid: Option<u32>,
    /// Primary group; `None` creates (or reuses) a group named as the user.
    pub group: Option<String>,
    /// Supplementary groups.
    pub extra_groups: Vec<String>,
    /// Home directory (`/nonexistent` when `None`).
    pub home: Option<String>,
    /// Login shell (`/usr/sbin/nologin` when `None`).
    pub shell: Option<String>,
}

impl UserSpec {
    /// A system user with its own group, no home and no login shell.
    pub fn system(name: &str) -> UserSpec {
        UserSpec {
            name: name.to_owned(),
            uid: None,
            group: None,
            extra_groups: Vec::new(),
            home: None,
            shell: None,
        }
    }
}

/// A file to place in the root filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    /// Absolute path inside the container.
    pub path: String,
    /// Content.
    pub content: Vec<u8>,
    /// Permission bits.
    pub mode: u32,
    /// Owner by name (must exist after users are created).
    pub owner: String,
    /// Group by name.
    pub group: String,
}

impl FileSpec {
    /// A root-owned file.
    pub fn root(path: &str, mode: u32, content: impl Into<Vec<u8>>) -> FileSpec {
        FileSpec {
            path: path.to_owned(),
            content: content.into(),
            mode,
            owner: "root".to_owned(),
            group: "root".to_owned(),
        }
    }
}

/// A static address for one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSpec {
    /// Interface name inside the container (`eth0`).
    pub interface: String,
    /// Address with prefix length (`10.200.0.2/24`).
    pub address: String,
    /// Default gateway, if any.
    pub gateway: Option<String>,
    /// Name servers for `/etc/resolv.conf`.
    pub dns: Vec<String>,
}

/// A download (a release tarball) unpacked into the root filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveSpec {
    /// The fetch declaration's name: names the archive in errors and the
    /// SBOM.
    pub name: String,
    /// The whole archive: a tar, plain or compressed with gzip, xz, zstd
    /// or bzip2 (told apart by their magic bytes).
    pub bytes: Vec<u8>,
    /// Absolute directory to unpack under; created (0755, root) if
    /// missing.
    pub to: String,
    /// Leading path components dropped from every member (GNU tar's
    /// `--strip-components`); members with no more are skipped.
    pub strip_components: u32,
    /// When given, only these paths (after stripping; a directory brings
    /// what is under it) are unpacked, and each must match a member.
    pub include: Option<Vec<String>>,
    /// Owner of every unpacked entry, by name (the archive's numeric ids
    /// are those of the machine that made it).
    pub owner: String,
    /// Group of every unpacked entry, by name.
    pub group: String,
}

impl ArchiveSpec {
    /// Everything in `bytes` unpacked under `to`, owned by root.
    pub fn new(name: &str, bytes: impl Into<Vec<u8>>, to: &str) -> ArchiveSpec {
        ArchiveSpec {
            name: name.to_owned(),
            bytes: bytes.into(),
            to: to.to_owned(),
            strip_components: 0,
            include: None,
            owner: "root".to_owned(),
            group: "root".to_owned(),
        }
    }
}

/// A file the deployer writes when it activates the container (a secret,
/// to a tmpfs path under `/run`). The template holds none of it: only a
/// `tmpfiles.d` line that creates its directory for its owner at boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationFileSpec {
    /// Absolute, normalized path under `/run/`.
    pub path: String,
    /// Owner by name (must exist in the template).
    pub owner: String,
    /// Group by name.
    pub group: String,
    /// Permission bits the deployer gives the file.
    pub mode: u32,
}
