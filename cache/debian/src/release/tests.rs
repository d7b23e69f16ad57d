use super::*;

const RELEASE: &str = "Origin: Debian\nSuite: stable\nCodename: bookworm\nDate: Sat, 10 Aug 2024 09:26:01 UTC\nValid-Until: Sat, 17 Aug 2024 09:26:01 UTC\nArchitectures: all amd64\nComponents: main contrib\nSHA256:\n ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad 3 main/binary-amd64/Packages\n e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 0 main/binary-amd64/Packages.xz\n";

#[test]
fn parses_and_checks_indexes() {
    let r = Release::parse(RELEASE, "Release").unwrap();
    assert!(r.matches_suite("bookworm") && r.matches_suite("stable"));
    assert!(!r.matches_suite("trixie"));
    assert_eq!(r.components, ["main", "contrib"]);
    r.verify_index("Release", "main/binary-amd64/Packages", b"abc")
        .unwrap();
    let e = r
        .verify_index("Release", "main/binary-amd64/Packages", b"abd")
        .unwrap_err();
    assert!(
        matches!(&e, ReleaseError::Mismatch(m) if m.actual.size == 3),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "Release: main/binary-amd64/Packages does not match the Release: expected 3 bytes with sha256 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad, got 3 bytes with sha256 a52d159f262b2c6ddb724a61840befc36eb30c88877a4030b65cbe86298449c9"
    );
    let e = r
        .verify_index("Release", "main/binary-amd64/Packages.gz", b"")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Release: Release does not list main/binary-amd64/Packages.gz"
    );
}

#[test]
fn refuses_release_without_sha256_and_bad_entries() {
    let e = Release::parse("Origin: x\nMD5Sum:\n 00 1 a\n", "R").unwrap_err();
    assert!(matches!(e, ReleaseError::NoSha256 { .. }));
    let e = Release::parse("SHA256:\n zz 1 a\n", "R").unwrap_err();
    assert_eq!(e.to_string(), "R:2: malformed SHA256 entry \"zz 1 a\"");
}

#[test]
fn valid_until() {
    let r = Release::parse(RELEASE, "R").unwrap();
    let until = parse_rfc2822_utc("Sat, 17 Aug 2024 09:26:01 UTC").unwrap();
    assert_eq!(until, 1_723_886_761);
    assert!(!r.is_expired_at(until));
    assert!(r.is_expired_at(until + 1));
    assert_eq!(
        parse_rfc2822_utc("Thu, 01 Jan 1970 00:00:00 +0000"),
        Some(0)
    );
    assert_eq!(parse_rfc2822_utc("Thu, 01 Jan 1970 00:00:00 CET"), None);
}

#[test]
fn rejects_unsigned_text() {
    let keyring_err = Keyring::from_bytes(b"", "k").unwrap_err();
    assert!(matches!(keyring_err, ReleaseError::Keyring { .. }));
}

mod signatures {
    use pgp::composed::{ArmorOptions, KeyType, SecretKeyParamsBuilder, SignedSecretKey};
    use pgp::packet::{SignatureConfig, SignatureType, Subpacket, SubpacketData};
    use pgp::ser::Serialize;
    use pgp::types::{Password, Timestamp};
    use rand_chacha::ChaCha8Rng;
    use rand_chacha::rand_core::SeedableRng;

    use super::*;

    fn key(seed: u64) -> SignedSecretKey {
        key_of(seed, KeyType::Ed25519Legacy)
    }

    fn key_of(seed: u64, kind: KeyType) -> SignedSecretKey {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut params = SecretKeyParamsBuilder::default();
        params
            .key_type(kind)
            .can_sign(true)
            .can_certify(true)
            .primary_user_id("archive <archive@example>".into());
        params.build().unwrap().generate(&mut rng).unwrap()
    }

    fn keyring(keys: &[&SignedSecretKey]) -> Keyring {
        let mut bytes = Vec::new();
        for k in keys {
            SignedPublicKey::from((*k).clone())
                .to_writer(&mut bytes)
                .unwrap();
        }
        Keyring::from_bytes(&bytes, "test.gpg").unwrap()
    }

    fn sign(text: &str, key: &SignedSecretKey, hash: HashAlgorithm) -> String {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut config =
            SignatureConfig::from_key(&mut rng, &key.primary_key, SignatureType::Text).unwrap();
        config.hash_alg = hash;
        config.hashed_subpackets = vec![
            Subpacket::regular(SubpacketData::SignatureCreationTime(Timestamp::from_secs(
                1_700_000_000,
            )))
            .unwrap(),
            Subpacket::regular(SubpacketData::IssuerFingerprint(key.fingerprint())).unwrap(),
        ];
        CleartextSignedMessage::new(text, config, &key.primary_key, &Password::empty())
            .unwrap()
            .to_armored_string(ArmorOptions::default())
            .unwrap()
    }

    #[test]
    fn verifies_good_signatures_only() {
        let archive = key(1);
        let stranger = key(2);
        let signed = sign(RELEASE, &archive, HashAlgorithm::Sha512);

        let v = verify_inrelease(
            signed.as_bytes(),
            &keyring(&[&stranger, &archive]),
            "InRelease",
        )
        .unwrap();
        assert_eq!(
            v.signed_by,
            [hex::encode_upper(archive.fingerprint().as_bytes())]
        );
        assert_eq!(v.release, Release::parse(RELEASE, "R").unwrap());
        assert_eq!(v.text.trim_end(), RELEASE.trim_end());

        // Another keyring.
        let e =
            verify_inrelease(signed.as_bytes(), &keyring(&[&stranger]), "InRelease").unwrap_err();
        assert!(matches!(e, ReleaseError::BadSignature { .. }), "{e}");
        assert!(
            e.to_string()
                .contains(&hex::encode_upper(archive.fingerprint().as_bytes())),
            "{e}"
        );

        // One changed byte of the signed text.
        let tampered = signed.replacen("main contrib", "main contriB", 1);
        assert_ne!(tampered, signed);
        let e =
            verify_inrelease(tampered.as_bytes(), &keyring(&[&archive]), "InRelease").unwrap_err();
        assert!(matches!(e, ReleaseError::BadSignature { .. }), "{e}");

        // Text outside the signed block does not count as Release fields.
        let smuggled = format!("Suite: evil\n{signed}");
        let e =
            verify_inrelease(smuggled.as_bytes(), &keyring(&[&archive]), "InRelease").unwrap_err();
        assert!(matches!(e, ReleaseError::NotClearSigned { .. }), "{e}");

        // A plain, unsigned Release.
        let e =
            verify_inrelease(RELEASE.as_bytes(), &keyring(&[&archive]), "InRelease").unwrap_err();
        assert!(matches!(e, ReleaseError::NotClearSigned { .. }), "{e}");
    }

    #[test]
    fn ignores_sha1_signatures() {
        // rpgp refuses SHA-1 with Ed25519 keys; RSA still signs it.
        let archive = key_of(3, KeyType::Rsa(2048));
        let signed = sign(RELEASE, &archive, HashAlgorithm::Sha1);
        let e =
            verify_inrelease(signed.as_bytes(), &keyring(&[&archive]), "InRelease").unwrap_err();
        assert!(matches!(e, ReleaseError::BadSignature { .. }), "{e}");
        let signed = sign(RELEASE, &archive, HashAlgorithm::Sha256);
        verify_inrelease(signed.as_bytes(), &keyring(&[&archive]), "InRelease").unwrap();
    }

    #[test]
    fn armored_keyrings() {
        let archive = key(4);
        let armored = SignedPublicKey::from(archive.clone())
            .to_armored_string(ArmorOptions::default())
            .unwrap();
        let k = Keyring::from_bytes(format!("\n{armored}").as_bytes(), "k.asc").unwrap();
        assert_eq!(
            k.fingerprints(),
            [hex::encode_upper(archive.fingerprint().as_bytes())]
        );
    }
}
