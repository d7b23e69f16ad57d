//! Schematic ids against the Image Factory's own vectors.

use hlb_talos::schematic::{Schematic, installer_image, schematic_id, sha256_hex};

fn fixtures() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/schematic-vectors")
}

#[test]
fn every_vector_round_trips_to_its_id() {
    let text = std::fs::read_to_string(fixtures().join("schematic-id-vectors.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 7);
    for v in vectors {
        let canonical = v["canonical_yaml"].as_str().unwrap();
        let id = v["id"].as_str().unwrap();
        let parsed = Schematic::parse(canonical).unwrap();
        assert_eq!(parsed.canonical_yaml(), canonical, "{}", v["name"]);
        assert_eq!(parsed.id(), id, "{}", v["name"]);
        assert_eq!(sha256_hex(canonical.as_bytes()), id);
    }
}

#[test]
fn formatting_and_empty_fields_do_not_change_the_id() {
    let default = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";
    for text in [
        "",
        "{}",
        "customization: {}",
        "customization:\n  extraKernelArgs: []\n",
    ] {
        assert_eq!(schematic_id(text).unwrap(), default, "{text:?}");
    }
    let a = schematic_id("customization: {extraKernelArgs: [noapic, nolapic]}").unwrap();
    assert_eq!(
        a,
        "9cba8e32753f91a16c1837ab8abf356af021706ef284aef07380780177d9a06c"
    );
    let b = schematic_id("customization:\n  meta:\n    - value: foo\n      key: 10\n").unwrap();
    assert_eq!(
        b,
        "d308a2a5ee2277bed5fbaa104fcbc8d59122abfa737df987a95b4ca763459a7f"
    );
}

#[test]
fn proxmox_example_and_installer_reference() {
    let text = std::fs::read_to_string(fixtures().join("proxmox-qemu-guest-agent.schematic.yaml"))
        .unwrap();
    let id = schematic_id(&text).unwrap();
    assert_eq!(
        id,
        "ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515"
    );
    assert_eq!(
        installer_image(&id, "v1.13.0"),
        format!("factory.talos.dev/installer/{id}:v1.13.0")
    );
}

#[test]
fn unknown_fields_are_refused_with_their_position() {
    let err = schematic_id("customization:\n  extraKernelArgz: [a]\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "schematic 2:3: customization: unknown field `extraKernelArgz`"
    );
    let err =
        schematic_id("customization:\n  meta:\n    - key: 300\n      value: x\n").unwrap_err();
    assert!(
        err.to_string()
            .contains("meta key must be an integer 0-255"),
        "{err}"
    );
}
