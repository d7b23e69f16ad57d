//! The multi-document layout (contract v1.14): a slim `v1alpha1` document
//! (machine token and OS CA, certificate SANs, bootstrap token, etcd CA —
//! base64 of PEM as before) and one typed document per concern, in the
//! order Talos appends them: discovery, install, resolver, sysctls, volumes,
//! trim, security profile, registries, hostname, then the Kubernetes
//! documents (universal ones first, control-plane ones after). CA material
//! in the typed documents is plain PEM.

use hlb_images::yaml::Yaml;

use super::k8s::{self, image};
use super::{Checked, Role, doc, go_string_map, registry_docs};

/// All documents for `role`.
pub(crate) fn documents(c: &Checked<'_>, role: Role) -> Vec<Yaml> {
    let b = c.input.bundle;
    let o = &c.input.options;
    let cp = role == Role::ControlPlane;
    let v = c.k8s_version.as_str();

    let mut docs = vec![v1alpha1(c, role)];
    docs.push(doc(
        "DiscoveryServiceConfig",
        [
            ("name", Yaml::str("default")),
            ("endpoint", Yaml::str("https://discovery.talos.dev/")),
        ],
    ));
    docs.push(doc(
        "DiscoveryIdentityConfig",
        [
            ("clusterID", Yaml::str(&b.cluster.id)),
            ("clusterSecret", Yaml::str(&b.cluster.secret)),
        ],
    ));
    if !o.install_disk.is_empty() {
        let mut installer: Vec<(&str, Yaml)> = Vec::new();
        if !o.install_image.is_empty() {
            installer.push(("image", Yaml::str(&o.install_image)));
        }
        docs.push(doc(
            "UnattendedInstallConfig",
            [
                ("installer", Yaml::map(installer)),
                (
                    "provisioning",
                    Yaml::map([
                        (
                            "diskSelector",
                            Yaml::map([("match", disk_match(&o.install_disk))]),
                        ),
                        ("wipe", Yaml::Bool(false)),
                    ]),
                ),
            ],
        ));
    }
    docs.push(doc(
        "ResolverConfig",
        [(
            "hostDNS",
            Yaml::map([
                ("enabled", Yaml::Bool(true)),
                ("forwardKubeDNSToHost", Yaml::Bool(true)),
            ]),
        )],
    ));
    if !o.sysctls.is_empty() {
        docs.push(doc(
            "SysctlConfig",
            [(
                "params",
                go_string_map(o.sysctls.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            )],
        ));
    }
    docs.push(doc(
        "VolumeConfig",
        [
            ("name", Yaml::str("EPHEMERAL")),
            ("mount", Yaml::map([("secure", Yaml::Bool(true))])),
        ],
    ));
    docs.push(doc(
        "FilesystemTrimConfig",
        [("interval", Yaml::str("168h0m0s"))],
    ));
    docs.push(doc(
        "SecurityProfileConfig",
        [("workloadIsolation", Yaml::Bool(true))],
    ));
    docs.extend(registry_docs(c));
    docs.push(doc("HostnameConfig", [("auto", Yaml::str("stable"))]));

    // Kubernetes, all roles.
    docs.push(doc(
        "KubeClusterConfig",
        [
            ("clusterName", Yaml::str(&c.input.cluster_name)),
            ("endpoint", Yaml::str(&c.input.endpoint)),
        ],
    ));
    let mut node: Vec<(&str, Yaml)> = vec![("nodeIP", Yaml::Map(Vec::new()))];
    if cp {
        node.push((
            "labels",
            go_string_map([
                (k8s::CONTROL_PLANE_ROLE_LABEL, ""),
                (k8s::EXCLUDE_FROM_LB_LABEL, ""),
            ]),
        ));
        if !o.allow_scheduling_on_control_planes {
            node.push((
                "taints",
                go_string_map([(k8s::CONTROL_PLANE_ROLE_LABEL, "NoSchedule")]),
            ));
        }
    }
    docs.push(doc("KubeNodeConfig", node));
    docs.push(doc(
        "KubeletConfig",
        [
            ("image", image(k8s::KUBELET_IMAGE, v)),
            ("config", Yaml::Map(Vec::new())),
            ("defaultRuntimeSeccompProfileEnabled", Yaml::Bool(true)),
        ],
    ));
    docs.push(doc(
        "KubeNetworkConfig",
        [
            ("dnsDomain", Yaml::str(&c.dns_domain)),
            (
                "podSubnets",
                Yaml::seq(c.pod_subnets.iter().map(String::as_str)),
            ),
            (
                "serviceSubnets",
                Yaml::seq(c.service_subnets.iter().map(String::as_str)),
            ),
        ],
    ));
    if cp {
        docs.push(doc(
            "KubeAPIServerCAConfig",
            [(
                "issuingCA",
                Yaml::map([
                    ("cert", b.certs.k8s.crt.as_str()),
                    ("key", b.certs.k8s.key.as_str()),
                ]),
            )],
        ));
    } else {
        docs.push(doc(
            "KubeAPIServerCAConfig",
            [("acceptedCAs", Yaml::seq([b.certs.k8s.crt.as_str()]))],
        ));
    }
    docs.push(doc(
        "KubePrismConfig",
        [("port", Yaml::from(k8s::KUBEPRISM_PORT))],
    ));
    if !cp {
        return docs;
    }

    // Kubernetes, control plane only.
    docs.push(doc(
        "KubeAggregatorCAConfig",
        [(
            "issuingCA",
            Yaml::map([
                ("cert", b.certs.k8s_aggregator.crt.as_str()),
                ("key", b.certs.k8s_aggregator.key.as_str()),
            ]),
        )],
    ));
    docs.push(doc(
        "KubeAdmissionControlConfig",
        [
            ("name", Yaml::str("PodSecurity")),
            ("configuration", k8s::pod_security_configuration()),
        ],
    ));
    docs.push(doc(
        "KubeAuditPolicyConfig",
        [("configuration", k8s::audit_policy())],
    ));
    docs.push(doc(
        "KubeAuthenticationConfig",
        [("configuration", k8s::authentication_configuration())],
    ));
    for (name, kind) in [("node", "Node"), ("rbac", "RBAC")] {
        docs.push(doc(
            "KubeAuthorizerConfig",
            [("name", Yaml::str(name)), ("type", Yaml::str(kind))],
        ));
    }
    if let Some(secret) = &b.secrets.secretbox_encryption_secret {
        docs.push(doc(
            "KubeEtcdEncryptionConfig",
            [("config", etcd_encryption(secret))],
        ));
    }
    docs.push(doc(
        "KubeServiceAccountConfig",
        [(
            "issuer",
            Yaml::map([
                ("privateKey", Yaml::str(&b.certs.k8s_service_account.key)),
                ("issuerURL", Yaml::str(&c.input.endpoint)),
            ]),
        )],
    ));
    let mut api: Vec<(&str, Yaml)> = vec![("image", image(k8s::APISERVER_IMAGE, v))];
    if let Some(port) = o.local_api_server_port {
        api.push(("apiPort", Yaml::from(i64::from(port))));
    }
    if !o.additional_sans.is_empty() {
        api.push((
            "certExtraSANs",
            Yaml::seq(o.additional_sans.iter().map(String::as_str)),
        ));
    }
    docs.push(doc("KubeAPIServerConfig", api));
    docs.push(doc(
        "KubeControllerManagerConfig",
        [("image", image(k8s::CONTROLLER_MANAGER_IMAGE, v))],
    ));
    docs.push(doc(
        "KubeSchedulerConfig",
        [
            ("image", image(k8s::SCHEDULER_IMAGE, v)),
            ("config", Yaml::Map(Vec::new())),
        ],
    ));
    docs.push(doc(
        "KubeProxyConfig",
        [
            ("image", image(k8s::PROXY_IMAGE, v)),
            ("config", Yaml::Map(Vec::new())),
        ],
    ));
    if o.custom_cni_url.is_none() {
        docs.push(doc(
            "KubeFlannelCNIConfig",
            [
                ("backendType", Yaml::str("vxlan")),
                ("backendPort", Yaml::from(4789)),
            ],
        ));
    }
    docs.push(doc("KubeCoreDNSConfig", [("enabled", Yaml::Bool(true))]));
    if let Some(url) = &o.custom_cni_url {
        docs.push(doc(
            "KubeExternalManifestConfig",
            [("name", Yaml::str("custom-cni")), ("url", Yaml::str(url))],
        ));
    }
    docs
}

fn v1alpha1(c: &Checked<'_>, role: Role) -> Yaml {
    let b = c.input.bundle;
    let cp = role == Role::ControlPlane;
    let machine = Yaml::map([
        ("type", Yaml::str(role.as_str())),
        ("token", Yaml::str(&b.trustd_info.token)),
        (
            "ca",
            Yaml::map([
                ("crt", b.certs.os.crt_base64()),
                (
                    "key",
                    if cp {
                        b.certs.os.key_base64()
                    } else {
                        String::new()
                    },
                ),
            ]),
        ),
        (
            "certSANs",
            Yaml::seq(c.input.options.additional_sans.iter().map(String::as_str)),
        ),
        (
            "features",
            Yaml::map([("diskQuotaSupport", Yaml::Bool(true))]),
        ),
    ]);
    let mut cluster = vec![("token", Yaml::str(&b.secrets.bootstrap_token))];
    if cp {
        cluster.push((
            "etcd",
            Yaml::map([(
                "ca",
                Yaml::map([
                    ("crt", b.certs.etcd.crt_base64()),
                    ("key", b.certs.etcd.key_base64()),
                ]),
            )]),
        ));
    }
    Yaml::map([
        ("version", Yaml::str("v1alpha1")),
        ("debug", Yaml::Bool(false)),
        ("persist", Yaml::Bool(true)),
        ("machine", machine),
        ("cluster", Yaml::map(cluster)),
    ])
}

/// The CEL expression selecting the install disk, as Talos formats it
/// (Go's `%q` quoting of the path).
fn disk_match(disk: &str) -> Yaml {
    let mut quoted = String::with_capacity(disk.len() + 2);
    quoted.push('"');
    for ch in disk.chars() {
        match ch {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            c if c.is_control() => quoted.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    Yaml::str(format!("disk.dev_path == {quoted}"))
}

/// The kube-apiserver encryption configuration: secrets encrypted with
/// secretbox under key name `key2`.
fn etcd_encryption(secret: &str) -> Yaml {
    Yaml::map([(
        "resources",
        Yaml::seq([Yaml::map([
            (
                "providers",
                Yaml::seq([Yaml::map([(
                    "secretbox",
                    Yaml::map([(
                        "keys",
                        Yaml::seq([Yaml::map([("name", "key2"), ("secret", secret)])]),
                    )]),
                )])]),
            ),
            ("resources", Yaml::seq(["secrets"])),
        ])]),
    )])
}
