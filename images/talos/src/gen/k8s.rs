//! Kubernetes pieces both layouts share: component images and the default
//! admission, audit and authentication configurations Talos embeds.
//! (The embedded configurations are free-form maps in Talos, so their keys
//! come out in Go map order: sorted.)

use hlb_images::yaml::Yaml;

pub(crate) const KUBELET_IMAGE: &str = "ghcr.io/siderolabs/kubelet";
pub(crate) const APISERVER_IMAGE: &str = "registry.k8s.io/kube-apiserver";
pub(crate) const CONTROLLER_MANAGER_IMAGE: &str = "registry.k8s.io/kube-controller-manager";
pub(crate) const SCHEDULER_IMAGE: &str = "registry.k8s.io/kube-scheduler";
pub(crate) const PROXY_IMAGE: &str = "registry.k8s.io/kube-proxy";
pub(crate) const KUBEPRISM_PORT: i64 = 7445;
pub(crate) const EXCLUDE_FROM_LB_LABEL: &str =
    "node.kubernetes.io/exclude-from-external-load-balancers";
pub(crate) const CONTROL_PLANE_ROLE_LABEL: &str = "node-role.kubernetes.io/control-plane";

pub(crate) fn image(repo: &str, version: &str) -> Yaml {
    Yaml::str(format!("{repo}:v{version}"))
}

/// The PodSecurity admission plugin configuration (baseline enforced,
/// restricted audited and warned, kube-system exempt).
pub(crate) fn pod_security_configuration() -> Yaml {
    Yaml::map([
        (
            "apiVersion",
            Yaml::str("pod-security.admission.config.k8s.io/v1alpha1"),
        ),
        (
            "defaults",
            Yaml::map([
                ("audit", "restricted"),
                ("audit-version", "latest"),
                ("enforce", "baseline"),
                ("enforce-version", "latest"),
                ("warn", "restricted"),
                ("warn-version", "latest"),
            ]),
        ),
        (
            "exemptions",
            Yaml::map([
                ("namespaces", Yaml::seq(["kube-system"])),
                ("runtimeClasses", Yaml::Seq(Vec::new())),
                ("usernames", Yaml::Seq(Vec::new())),
            ]),
        ),
        ("kind", Yaml::str("PodSecurityConfiguration")),
    ])
}

/// The default audit policy: everything at `Metadata`.
pub(crate) fn audit_policy() -> Yaml {
    Yaml::map([
        ("apiVersion", Yaml::str("audit.k8s.io/v1")),
        ("kind", Yaml::str("Policy")),
        ("rules", Yaml::seq([Yaml::map([("level", "Metadata")])])),
    ])
}

/// The default structured authentication configuration (v1.14 layout):
/// anonymous access only to the health endpoints, no JWT issuers.
pub(crate) fn authentication_configuration() -> Yaml {
    Yaml::map([
        (
            "anonymous",
            Yaml::map([
                (
                    "conditions",
                    Yaml::seq(["/livez", "/readyz", "/healthz"].map(|p| Yaml::map([("path", p)]))),
                ),
                ("enabled", Yaml::Bool(true)),
            ]),
        ),
        ("jwt", Yaml::Seq(Vec::new())),
    ])
}
