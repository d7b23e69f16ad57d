//! The LXC template compiler's pure core: a reproducible root filesystem
//! from `.deb` files and a container description.
//!
//! Templates are assembled the declarative way (as apko does for Alpine):
//! the `.deb` data tarballs are unpacked in the lock's order into an
//! in-memory tree, and what maintainer scripts would have created (users
//! and groups, the dpkg database, alternatives, enabled units) is derived
//! from data the packages ship. No script runs, nothing of the host leaks
//! in, and there is no clock: the output archive is a function of the
//! `.deb` bytes, the [`ContainerSpec`] (downloads' bytes included) and the
//! archive options.
//!
//! Modules:
//! - [`spec`]: the container description (users, files, services, network,
//!   downloads to unpack, files delivered at activation);
//! - [`tree`]: the staged tree, ordered as the archive writer needs;
//! - [`unpack`]: `.deb` unpacking with dpkg's file-conflict rules;
//! - [`tarball`]: downloads (release tarballs) unpacked with GNU tar's
//!   rules, made safe;
//! - [`activation`]: files the deployer writes at activation: path checks
//!   and the `tmpfiles.d` drop-in for their directories;
//! - [`users`]: passwd/group/shadow/gshadow from base-passwd, sysusers.d,
//!   a reviewed adduser table and the spec;
//! - [`dpkg`]: `/var/lib/dpkg/status` and `info/`;
//! - [`system`]: enabled units and alternatives;
//! - [`sbom`]: the CycloneDX SBOM;
//! - [`assemble`]: the steps in order, and the archive output;
//! - [`compiler`]: [`LxcTemplateCompiler`], the `lxc-template` derivation
//!   kind over [`assemble`].

pub mod activation;
pub mod assemble;
pub mod compiler;
pub mod dpkg;
pub mod sbom;
pub mod spec;
pub mod system;
pub mod tarball;
pub mod tree;
pub mod unpack;
pub mod users;

pub use assemble::{AssembleError, DebInput, ROOTFS_FILE, Rootfs, SBOM_FILE, assemble};
pub use compiler::{DEB_ROLE_PREFIX, LxcTemplateCompiler};
pub use spec::{
    ActivationFileSpec, ArchiveSpec, ContainerSpec, FileSpec, GroupSpec, NetworkSpec, UserSpec,
};

#[cfg(test)]
mod archive_tests;
#[cfg(test)]
mod assemble_tests;
#[cfg(test)]
mod located_tests;
