//! What hlb knows about Kubernetes kinds without asking a cluster: whether
//! a kind is namespaced or cluster-scoped, and which rule its names follow.
//!
//! The core and `apps`/`networking.k8s.io`/`rbac.authorization.k8s.io`/
//! `apiextensions.k8s.io` scopes are the `namespaced`/`scope` flags of the
//! Kubernetes discovery documents (`fixtures/kubernetes/discovery/`); the
//! rest are other built-in groups and the CRDs a homelab commonly applies
//! (cert-manager, Gateway API, Prometheus operator, Traefik, MetalLB,
//! Sealed Secrets, Cilium, volume snapshots). A kind missing here is
//! "unknown": see the manifest compiler for how its scope is decided.

/// Where objects of a kind live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Namespaced,
    Cluster,
}

use Scope::{Cluster, Namespaced};

/// `(API group, kind, scope)`; the core group is `""`.
const KINDS: &[(&str, &str, Scope)] = &[
    // core/v1 (discovery: api__v1.json)
    ("", "Binding", Namespaced),
    ("", "ComponentStatus", Cluster),
    ("", "ConfigMap", Namespaced),
    ("", "Endpoints", Namespaced),
    ("", "Event", Namespaced),
    ("", "LimitRange", Namespaced),
    ("", "Namespace", Cluster),
    ("", "Node", Cluster),
    ("", "PersistentVolume", Cluster),
    ("", "PersistentVolumeClaim", Namespaced),
    ("", "Pod", Namespaced),
    ("", "PodTemplate", Namespaced),
    ("", "ReplicationController", Namespaced),
    ("", "ResourceQuota", Namespaced),
    ("", "Secret", Namespaced),
    ("", "Service", Namespaced),
    ("", "ServiceAccount", Namespaced),
    // discovery: aggregated_v2.excerpt.json
    ("apps", "ControllerRevision", Namespaced),
    ("apps", "DaemonSet", Namespaced),
    ("apps", "Deployment", Namespaced),
    ("apps", "ReplicaSet", Namespaced),
    ("apps", "StatefulSet", Namespaced),
    ("networking.k8s.io", "IngressClass", Cluster),
    ("networking.k8s.io", "Ingress", Namespaced),
    ("networking.k8s.io", "NetworkPolicy", Namespaced),
    ("rbac.authorization.k8s.io", "ClusterRole", Cluster),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding", Cluster),
    ("rbac.authorization.k8s.io", "Role", Namespaced),
    ("rbac.authorization.k8s.io", "RoleBinding", Namespaced),
    ("apiextensions.k8s.io", "CustomResourceDefinition", Cluster),
    // other built-in groups
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
        Cluster,
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicy",
        Cluster,
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
        Cluster,
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
        Cluster,
    ),
    ("apiregistration.k8s.io", "APIService", Cluster),
    ("autoscaling", "HorizontalPodAutoscaler", Namespaced),
    ("batch", "CronJob", Namespaced),
    ("batch", "Job", Namespaced),
    ("certificates.k8s.io", "CertificateSigningRequest", Cluster),
    ("coordination.k8s.io", "Lease", Namespaced),
    ("discovery.k8s.io", "EndpointSlice", Namespaced),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema", Cluster),
    (
        "flowcontrol.apiserver.k8s.io",
        "PriorityLevelConfiguration",
        Cluster,
    ),
    ("node.k8s.io", "RuntimeClass", Cluster),
    ("policy", "PodDisruptionBudget", Namespaced),
    ("scheduling.k8s.io", "PriorityClass", Cluster),
    ("storage.k8s.io", "CSIDriver", Cluster),
    ("storage.k8s.io", "CSINode", Cluster),
    ("storage.k8s.io", "StorageClass", Cluster),
    ("storage.k8s.io", "VolumeAttachment", Cluster),
    // well-known CRDs
    ("acme.cert-manager.io", "Challenge", Namespaced),
    ("acme.cert-manager.io", "Order", Namespaced),
    ("bitnami.com", "SealedSecret", Namespaced),
    ("cert-manager.io", "Certificate", Namespaced),
    ("cert-manager.io", "CertificateRequest", Namespaced),
    ("cert-manager.io", "ClusterIssuer", Cluster),
    ("cert-manager.io", "Issuer", Namespaced),
    ("cilium.io", "CiliumClusterwideNetworkPolicy", Cluster),
    ("cilium.io", "CiliumNetworkPolicy", Namespaced),
    ("gateway.networking.k8s.io", "BackendTLSPolicy", Namespaced),
    ("gateway.networking.k8s.io", "GRPCRoute", Namespaced),
    ("gateway.networking.k8s.io", "Gateway", Namespaced),
    ("gateway.networking.k8s.io", "GatewayClass", Cluster),
    ("gateway.networking.k8s.io", "HTTPRoute", Namespaced),
    ("gateway.networking.k8s.io", "ReferenceGrant", Namespaced),
    ("gateway.networking.k8s.io", "TCPRoute", Namespaced),
    ("gateway.networking.k8s.io", "TLSRoute", Namespaced),
    ("gateway.networking.k8s.io", "UDPRoute", Namespaced),
    ("metallb.io", "BGPAdvertisement", Namespaced),
    ("metallb.io", "BGPPeer", Namespaced),
    ("metallb.io", "IPAddressPool", Namespaced),
    ("metallb.io", "L2Advertisement", Namespaced),
    ("monitoring.coreos.com", "Alertmanager", Namespaced),
    ("monitoring.coreos.com", "PodMonitor", Namespaced),
    ("monitoring.coreos.com", "Prometheus", Namespaced),
    ("monitoring.coreos.com", "PrometheusRule", Namespaced),
    ("monitoring.coreos.com", "ServiceMonitor", Namespaced),
    ("snapshot.storage.k8s.io", "VolumeSnapshot", Namespaced),
    ("snapshot.storage.k8s.io", "VolumeSnapshotClass", Cluster),
    ("snapshot.storage.k8s.io", "VolumeSnapshotContent", Cluster),
    ("traefik.io", "IngressRoute", Namespaced),
    ("traefik.io", "IngressRouteTCP", Namespaced),
    ("traefik.io", "IngressRouteUDP", Namespaced),
    ("traefik.io", "Middleware", Namespaced),
    ("traefik.io", "MiddlewareTCP", Namespaced),
    ("traefik.io", "ServersTransport", Namespaced),
    ("traefik.io", "ServersTransportTCP", Namespaced),
    ("traefik.io", "TLSOption", Namespaced),
    ("traefik.io", "TLSStore", Namespaced),
    ("traefik.io", "TraefikService", Namespaced),
];

/// The API group of an `apiVersion` (`apps/v1` → `apps`, `v1` → ``).
pub fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// The scope of `kind` in `group`, if hlb knows it.
pub fn scope(group: &str, kind: &str) -> Option<Scope> {
    KINDS
        .iter()
        .find(|(g, k, _)| *g == group && *k == kind)
        .map(|(_, _, s)| *s)
}

/// The rule object names of a kind must follow (as the API server checks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameRule {
    /// DNS-1123 subdomain: most kinds, custom resources included.
    Subdomain,
    /// DNS-1123 label: Namespace.
    Label,
    /// DNS-1035 label (starts with a letter): Service.
    Label1035,
    /// Any path segment: RBAC kinds (`system:controller:x` is valid).
    PathSegment,
}

pub fn name_rule(group: &str, kind: &str) -> NameRule {
    match (group, kind) {
        ("", "Namespace") => NameRule::Label,
        ("", "Service") => NameRule::Label1035,
        ("rbac.authorization.k8s.io", _) => NameRule::PathSegment,
        _ => NameRule::Subdomain,
    }
}

/// Why `name` breaks `rule`, or `None` when it follows it.
pub fn check_name(name: &str, rule: NameRule) -> Option<String> {
    match rule {
        NameRule::PathSegment => match name {
            "" => Some("a name must not be empty".into()),
            "." | ".." => Some(format!("a name may not be `{name}`")),
            _ if name.contains('/') || name.contains('%') => {
                Some("a name may not contain `/` or `%`".into())
            }
            _ => None,
        },
        NameRule::Subdomain => {
            let what = "a DNS-1123 subdomain";
            if name.len() > 253 {
                return Some(format!(
                    "{what} has at most 253 characters, this has {}",
                    name.len()
                ));
            }
            if name.is_empty() {
                return Some(format!("{what} must not be empty"));
            }
            name.split('.')
                .find_map(|label| check_label(label, what, false))
        }
        NameRule::Label | NameRule::Label1035 => {
            let (what, letter) = match rule {
                NameRule::Label => ("a DNS-1123 label", false),
                _ => ("a DNS-1035 label", true),
            };
            if name.len() > 63 {
                return Some(format!(
                    "{what} has at most 63 characters, this has {}",
                    name.len()
                ));
            }
            if name.contains('.') {
                return Some(format!("{what} may not contain `.`"));
            }
            check_label(name, what, letter)
        }
    }
}

fn check_label(label: &str, what: &str, letter_first: bool) -> Option<String> {
    if label.is_empty() {
        return Some(format!(
            "{what} may not be empty or have empty parts between dots"
        ));
    }
    if let Some(c) = label
        .chars()
        .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '-'))
    {
        return Some(format!(
            "{what} contains `{c}`: only lower-case letters, digits, `-` and `.` are allowed"
        ));
    }
    let first = label.as_bytes()[0];
    if letter_first && !first.is_ascii_lowercase() {
        return Some(format!("{what} must start with a lower-case letter"));
    }
    if first == b'-' {
        return Some(format!(
            "{what} must start with a lower-case letter or digit"
        ));
    }
    if label.ends_with('-') {
        return Some(format!("{what} must end with a lower-case letter or digit"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        assert_eq!(scope(group_of("v1"), "Namespace"), Some(Scope::Cluster));
        assert_eq!(
            scope(group_of("apps/v1"), "Deployment"),
            Some(Scope::Namespaced)
        );
        assert_eq!(
            scope(group_of("cert-manager.io/v1"), "ClusterIssuer"),
            Some(Scope::Cluster)
        );
        assert_eq!(scope("example.com", "Widget"), None);
        // Same kind name, other group: not confused.
        assert_eq!(scope("apps", "Namespace"), None);
    }

    #[test]
    fn names() {
        use NameRule::*;
        assert_eq!(check_name("web-1.example", Subdomain), None);
        assert!(
            check_name("Web", Subdomain)
                .unwrap()
                .contains("contains `W`")
        );
        assert!(
            check_name("a..b", Subdomain)
                .unwrap()
                .contains("empty parts")
        );
        assert!(check_name("-a", Subdomain).unwrap().contains("must start"));
        assert!(
            check_name(&"a".repeat(254), Subdomain)
                .unwrap()
                .contains("253")
        );
        assert!(
            check_name("a.b", Label)
                .unwrap()
                .contains("may not contain `.`")
        );
        assert_eq!(check_name("1web", Label), None);
        assert!(
            check_name("1web", Label1035)
                .unwrap()
                .contains("start with a lower-case letter")
        );
        assert_eq!(check_name("system:controller:x", PathSegment), None);
        assert!(check_name("a/b", PathSegment).is_some());
    }
}
