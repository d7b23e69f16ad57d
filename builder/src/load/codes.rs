//! Stable diagnostic codes of the recipe loader.
//!
//! A code never changes meaning once released; tools and documentation refer
//! to it. Ranges: `E00xx` files and syntax, `E01xx` node structure, `E02xx`
//! names and references, `E03xx` the lab node, parameters and interpolation,
//! `E04xx` values of properties. `E05xx` and up are left to later stages
//! (planner, compilers), which reuse [`crate::diag::Diagnostic`].
//!
//! Every code is explained in `docs/recipes.md`; a test keeps [`ALL`] and the
//! document in step.

pub const SYNTAX: &str = "E0001";
pub const FILE_NOT_FOUND: &str = "E0002";
pub const FILE_UNREADABLE: &str = "E0003";
pub const INVALID_UTF8: &str = "E0004";
pub const IMPORT_CYCLE: &str = "E0005";
pub const PATH_ESCAPES_ROOT: &str = "E0006";
pub const ABSOLUTE_PATH: &str = "E0007";
pub const INVALID_PATH: &str = "E0008";
pub const SECRET_MISSING: &str = "E0009";
pub const SECRET_UNTAGGED: &str = "E0010";
pub const BAD_TAG: &str = "E0011";
pub const TOO_DEEP: &str = "E0012";

pub const UNKNOWN_NODE: &str = "E0101";
pub const UNKNOWN_PROPERTY: &str = "E0102";
pub const UNKNOWN_CHILD: &str = "E0103";
pub const WRONG_TYPE: &str = "E0104";
pub const MISSING_VALUE: &str = "E0105";
pub const MISSING_NAME: &str = "E0106";
pub const EXTRA_ARGUMENTS: &str = "E0107";
pub const DUPLICATE_PROPERTY: &str = "E0108";
pub const TYPE_ANNOTATION: &str = "E0109";
pub const CONFLICTING_PROPERTIES: &str = "E0110";
pub const DUPLICATE_KEY: &str = "E0111";

pub const INVALID_NAME: &str = "E0201";
pub const DUPLICATE_NAME: &str = "E0202";
pub const DANGLING_REFERENCE: &str = "E0203";
pub const WRONG_KIND: &str = "E0204";
pub const DEPENDENCY_CYCLE: &str = "E0205";
pub const DUPLICATE_REFERENCE: &str = "E0206";
pub const NO_SEALING_CERT: &str = "E0207";
pub const DUPLICATE_NODE: &str = "E0208";
pub const DUPLICATE_ADDRESS: &str = "E0209";

pub const NO_LAB: &str = "E0301";
pub const SEVERAL_LABS: &str = "E0302";
pub const UNKNOWN_PARAM: &str = "E0303";
pub const BAD_INTERPOLATION: &str = "E0304";
pub const LITERAL_ONLY: &str = "E0305";
pub const DUPLICATE_PARAM: &str = "E0306";
pub const INVALID_PARAM_NAME: &str = "E0307";
pub const SECRET_IN_PUBLIC_TEXT: &str = "E0308";

pub const BAD_URL: &str = "E0401";
pub const BAD_HASH: &str = "E0402";
pub const BAD_MODE: &str = "E0403";
pub const BAD_ADDRESS: &str = "E0404";
pub const BAD_DESTINATION: &str = "E0405";
pub const BAD_NAMESPACE: &str = "E0406";
pub const BAD_RECIPIENT: &str = "E0407";
pub const BAD_SCOPE: &str = "E0408";
pub const BAD_KEY: &str = "E0409";
pub const BAD_CERTIFICATE: &str = "E0410";
pub const BAD_CIDR: &str = "E0411";
pub const OVERLAPPING_CIDRS: &str = "E0412";
pub const BAD_VERSION: &str = "E0413";
pub const BAD_CHOICE: &str = "E0414";
pub const VIP_OUTSIDE_SUBNET: &str = "E0415";
pub const BAD_TIME: &str = "E0416";
pub const NO_CONTROL_PLANE: &str = "E0417";
pub const BAD_PACKAGE: &str = "E0418";
pub const BAD_UNIT: &str = "E0419";
pub const BAD_ACCOUNT: &str = "E0420";
pub const BAD_PORT: &str = "E0421";
pub const SECRET_IN_TEMPLATE: &str = "E0422";
pub const BAD_RELEASE: &str = "E0423";

/// Every code with its one-line explanation, in order.
pub const ALL: &[(&str, &str)] = &[
    (SYNTAX, "the file is not valid KDL 2.0"),
    (
        FILE_NOT_FOUND,
        "an imported or referenced file does not exist",
    ),
    (
        FILE_UNREADABLE,
        "a file exists but cannot be read (a directory, no permission)",
    ),
    (
        INVALID_UTF8,
        "a recipe, or a file that must be text, is not valid UTF-8",
    ),
    (IMPORT_CYCLE, "files import each other in a cycle"),
    (
        PATH_ESCAPES_ROOT,
        "a path, or a symlink on it, leads out of the recipe root",
    ),
    (
        ABSOLUTE_PATH,
        "a recipe path is absolute; recipe paths are relative",
    ),
    (
        INVALID_PATH,
        "a recipe path is empty, has a backslash or NUL, or an import is not a `.kdl` file",
    ),
    (
        SECRET_MISSING,
        "a declared secret has no `.age` file in the secrets directory",
    ),
    (
        SECRET_UNTAGGED,
        "a secret's `.age` file exists but its `.tag` file does not",
    ),
    (
        BAD_TAG,
        "a secret's `.tag` file is malformed or is the tag of another secret",
    ),
    (
        TOO_DEEP,
        "a recipe file nests deeper than the parser allows (blocks, a block comment, `/-` or annotations in a row)",
    ),
    (UNKNOWN_NODE, "a node name is not a kind, `lab` or `import`"),
    (
        UNKNOWN_PROPERTY,
        "a node has a property its kind does not take",
    ),
    (
        UNKNOWN_CHILD,
        "a node has a child its kind does not take, or children where none are taken",
    ),
    (
        WRONG_TYPE,
        "a value has the wrong type (a string where a boolean belongs, …)",
    ),
    (
        MISSING_VALUE,
        "a required property, argument or content is missing",
    ),
    (MISSING_NAME, "a declaration has no name argument"),
    (
        EXTRA_ARGUMENTS,
        "a node has more arguments than its kind takes",
    ),
    (
        DUPLICATE_PROPERTY,
        "a property is written twice on one node",
    ),
    (
        TYPE_ANNOTATION,
        "a KDL type annotation `(type)` is used; hlb gives them no meaning",
    ),
    (
        CONFLICTING_PROPERTIES,
        "properties that exclude each other are used together",
    ),
    (
        DUPLICATE_KEY,
        "a key or setting is given twice (`data`, `label` or `annotation` of a `sealed-secret`, a `talos-cluster` setting, a node's `label` or `taint`, an `lxc` setting, file path, user, group, service, secret or package)",
    ),
    (INVALID_NAME, "a name does not follow the naming rule"),
    (DUPLICATE_NAME, "two declarations have the same name"),
    (DANGLING_REFERENCE, "a reference names no declaration"),
    (
        WRONG_KIND,
        "a reference names a declaration of a kind not allowed there",
    ),
    (
        DEPENDENCY_CYCLE,
        "declarations depend on each other in a cycle (`after`, `fetch=`)",
    ),
    (
        DUPLICATE_REFERENCE,
        "the same declaration is listed twice in `after`",
    ),
    (
        NO_SEALING_CERT,
        "a `sealed-secret` targets a cluster that has no `sealing-cert`",
    ),
    (
        DUPLICATE_NODE,
        "two nodes of a `talos-cluster` have the same name",
    ),
    (
        DUPLICATE_ADDRESS,
        "two nodes of a `talos-cluster` (or a node and the VIP) have the same address",
    ),
    (NO_LAB, "no file has a `lab` node"),
    (SEVERAL_LABS, "more than one `lab` node"),
    (UNKNOWN_PARAM, "`${name}` names no parameter"),
    (
        BAD_INTERPOLATION,
        "`${` is not closed, or what it encloses is not a name",
    ),
    (
        LITERAL_ONLY,
        "`${…}` is used where values are literal (names, references, imports, parameters)",
    ),
    (DUPLICATE_PARAM, "a parameter is defined twice"),
    (
        INVALID_PARAM_NAME,
        "a parameter name is not usable in `${…}` or is reserved",
    ),
    (
        SECRET_IN_PUBLIC_TEXT,
        "`${secret.…}` is used in public text (a recipe string, a manifest)",
    ),
    (
        BAD_URL,
        "a URL is malformed, has the wrong scheme or carries credentials",
    ),
    (
        BAD_HASH,
        "a hash is not `sha256:<64 hex>` or `blake3:<64 hex>`",
    ),
    (
        BAD_MODE,
        "a file mode is not an octal number from 0o000 to 0o777",
    ),
    (
        BAD_ADDRESS,
        "a host address is not an IP address or a hostname",
    ),
    (
        BAD_DESTINATION,
        "a destination path is not a clean absolute path",
    ),
    (BAD_NAMESPACE, "a Kubernetes namespace is not a DNS label"),
    (
        BAD_RECIPIENT,
        "a deploy recipient is not an age or SSH public key",
    ),
    (
        BAD_SCOPE,
        "a `sealed-secret` scope is not `strict`, `namespace-wide` or `cluster-wide`",
    ),
    (
        BAD_KEY,
        "a Kubernetes key (data key, label, annotation) or label value is malformed or reserved",
    ),
    (
        BAD_CERTIFICATE,
        "a `sealing-cert` file is not a PEM certificate",
    ),
    (
        BAD_CIDR,
        "a network or node address is not `ADDRESS/PREFIX`",
    ),
    (
        OVERLAPPING_CIDRS,
        "the pod, service and node networks of a `talos-cluster` overlap",
    ),
    (
        BAD_VERSION,
        "a Talos or Kubernetes version is malformed or not supported",
    ),
    (
        BAD_CHOICE,
        "a value is not one its setting accepts (a node `role`, `cni`)",
    ),
    (
        VIP_OUTSIDE_SUBNET,
        "a `talos-cluster`'s VIP is outside a control plane's subnet",
    ),
    (
        BAD_TIME,
        "a time is not UTC RFC 3339 (`2026-01-01T00:00:00Z`)",
    ),
    (
        NO_CONTROL_PLANE,
        "a `talos-cluster` has no control-plane node",
    ),
    (
        BAD_PACKAGE,
        "a Debian package request is not `name` or `name (op version)`",
    ),
    (
        BAD_UNIT,
        "a systemd unit name of an `lxc` `service` is malformed",
    ),
    (
        BAD_ACCOUNT,
        "a user or group name breaks Debian's rule, or a uid or gid is out of range",
    ),
    (BAD_PORT, "a port is not a number from 1 to 65535"),
    (
        SECRET_IN_TEMPLATE,
        "a container template would carry a secret (templates are public: deliver it at activation)",
    ),
    (
        BAD_RELEASE,
        "a Debian release is not a codename, or a mirror is not `system` or a URI",
    ),
];
