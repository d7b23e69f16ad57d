//! The classic layout (contracts v1.12 and v1.13): one `v1alpha1` document
//! with `machine` and `cluster`, then `RegistryMirrorConfig` documents and a
//! `HostnameConfig`.
//!
//! Field order is the Go struct order of `v1alpha1.Config`,
//! `MachineConfig`, `ClusterConfig` and their parts; fields Go omits when
//! empty are left out; secrets are base64 of PEM, as in the bundle. The only
//! difference between v1.12 and v1.13 output is v1.12's `machine.network: {}`.

use hlb_images::yaml::Yaml;

use super::k8s::{self, image};
use super::{Checked, Contract, Role, doc, go_string_map, registry_docs};

/// All documents for `role`.
pub(crate) fn documents(c: &Checked<'_>, role: Role) -> Vec<Yaml> {
    let mut docs = vec![Yaml::map([
        ("version", Yaml::str("v1alpha1")),
        ("debug", Yaml::Bool(false)),
        ("persist", Yaml::Bool(true)),
        ("machine", machine(c, role)),
        ("cluster", cluster(c, role)),
    ])];
    docs.extend(registry_docs(c));
    docs.push(doc("HostnameConfig", [("auto", Yaml::str("stable"))]));
    docs
}

fn machine(c: &Checked<'_>, role: Role) -> Yaml {
    let b = c.input.bundle;
    let o = &c.input.options;
    let cp = role == Role::ControlPlane;
    let mut m: Vec<(&str, Yaml)> = vec![
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
            Yaml::seq(o.additional_sans.iter().map(String::as_str)),
        ),
        (
            "kubelet",
            Yaml::map([
                ("image", image(k8s::KUBELET_IMAGE, &c.k8s_version)),
                ("defaultRuntimeSeccompProfileEnabled", Yaml::Bool(true)),
                ("disableManifestsDirectory", Yaml::Bool(true)),
            ]),
        ),
    ];
    if c.input.contract == Contract::V1_12 {
        m.push(("network", Yaml::Map(Vec::new())));
    }
    let mut install: Vec<(&str, Yaml)> = Vec::new();
    if !o.install_disk.is_empty() {
        install.push(("disk", Yaml::str(&o.install_disk)));
    }
    if !o.install_extra_kernel_args.is_empty() {
        install.push((
            "extraKernelArgs",
            Yaml::seq(o.install_extra_kernel_args.iter().map(String::as_str)),
        ));
    }
    if !o.install_image.is_empty() {
        install.push(("image", Yaml::str(&o.install_image)));
    }
    install.push(("wipe", Yaml::Bool(false)));
    install.push(("grubUseUKICmdline", Yaml::Bool(true)));
    m.push(("install", Yaml::map(install)));
    if !o.sysctls.is_empty() {
        m.push((
            "sysctls",
            go_string_map(o.sysctls.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        ));
    }
    m.push((
        "features",
        Yaml::map([
            ("diskQuotaSupport", Yaml::Bool(true)),
            (
                "kubePrism",
                Yaml::map([
                    ("enabled", Yaml::Bool(true)),
                    ("port", Yaml::from(k8s::KUBEPRISM_PORT)),
                ]),
            ),
            (
                "hostDNS",
                Yaml::map([
                    ("enabled", Yaml::Bool(true)),
                    ("forwardKubeDNSToHost", Yaml::Bool(true)),
                ]),
            ),
        ]),
    ));
    if cp {
        m.push((
            "nodeLabels",
            go_string_map([(k8s::EXCLUDE_FROM_LB_LABEL, "")]),
        ));
    }
    Yaml::map(m)
}

fn cluster(c: &Checked<'_>, role: Role) -> Yaml {
    let b = c.input.bundle;
    let o = &c.input.options;
    let cp = role == Role::ControlPlane;
    let v = c.k8s_version.as_str();

    let mut control_plane = vec![("endpoint", Yaml::str(&c.input.endpoint))];
    if cp && let Some(port) = o.local_api_server_port {
        control_plane.push(("localAPIServerPort", Yaml::from(i64::from(port))));
    }
    let mut network: Vec<(&str, Yaml)> = Vec::new();
    if let Some(url) = &o.custom_cni_url {
        network.push((
            "cni",
            Yaml::map([
                ("name", Yaml::str("custom")),
                ("urls", Yaml::seq([url.as_str()])),
            ]),
        ));
    }
    network.push(("dnsDomain", Yaml::str(&c.dns_domain)));
    network.push((
        "podSubnets",
        Yaml::seq(c.pod_subnets.iter().map(String::as_str)),
    ));
    network.push((
        "serviceSubnets",
        Yaml::seq(c.service_subnets.iter().map(String::as_str)),
    ));

    let mut m: Vec<(&str, Yaml)> = vec![
        ("id", Yaml::str(&b.cluster.id)),
        ("secret", Yaml::str(&b.cluster.secret)),
        ("controlPlane", Yaml::map(control_plane)),
        ("clusterName", Yaml::str(&c.input.cluster_name)),
        ("network", Yaml::map(network)),
        ("token", Yaml::str(&b.secrets.bootstrap_token)),
    ];
    if cp {
        if let Some(s) = &b.secrets.secretbox_encryption_secret {
            m.push(("secretboxEncryptionSecret", Yaml::str(s)));
        }
        m.push((
            "ca",
            Yaml::map([
                ("crt", b.certs.k8s.crt_base64()),
                ("key", b.certs.k8s.key_base64()),
            ]),
        ));
        m.push((
            "aggregatorCA",
            Yaml::map([
                ("crt", b.certs.k8s_aggregator.crt_base64()),
                ("key", b.certs.k8s_aggregator.key_base64()),
            ]),
        ));
        m.push((
            "serviceAccount",
            Yaml::map([("key", b.certs.k8s_service_account.key_base64())]),
        ));
        let mut api: Vec<(&str, Yaml)> = vec![("image", image(k8s::APISERVER_IMAGE, v))];
        if !o.additional_sans.is_empty() {
            api.push((
                "certSANs",
                Yaml::seq(o.additional_sans.iter().map(String::as_str)),
            ));
        }
        api.push((
            "admissionControl",
            Yaml::seq([Yaml::map([
                ("name", Yaml::str("PodSecurity")),
                ("configuration", k8s::pod_security_configuration()),
            ])]),
        ));
        api.push(("auditPolicy", k8s::audit_policy()));
        m.push(("apiServer", Yaml::map(api)));
        m.push((
            "controllerManager",
            Yaml::map([("image", image(k8s::CONTROLLER_MANAGER_IMAGE, v))]),
        ));
        m.push(("proxy", Yaml::map([("image", image(k8s::PROXY_IMAGE, v))])));
        m.push((
            "scheduler",
            Yaml::map([("image", image(k8s::SCHEDULER_IMAGE, v))]),
        ));
    } else {
        m.push((
            "ca",
            Yaml::map([("crt", b.certs.k8s.crt_base64()), ("key", String::new())]),
        ));
    }
    m.push((
        "discovery",
        Yaml::map([
            ("enabled", Yaml::Bool(true)),
            (
                "registries",
                Yaml::map([
                    ("kubernetes", Yaml::map([("disabled", Yaml::Bool(true))])),
                    ("service", Yaml::Map(Vec::new())),
                ]),
            ),
        ]),
    ));
    if cp {
        m.push((
            "etcd",
            Yaml::map([(
                "ca",
                Yaml::map([
                    ("crt", b.certs.etcd.crt_base64()),
                    ("key", b.certs.etcd.key_base64()),
                ]),
            )]),
        ));
        if o.allow_scheduling_on_control_planes {
            m.push(("allowSchedulingOnControlPlanes", Yaml::Bool(true)));
        }
    }
    Yaml::map(m)
}
