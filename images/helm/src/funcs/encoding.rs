//! Sprig's encodings and digests: base64/base32, JSON, sha1/sha256/sha512
//! (hex), adler32. Sprig's `b64dec` returns the decoder's error text as
//! its result rather than failing; that is kept.

use base64::Engine as _;
use sha2::Digest as _;

use super::{Registry, Ty, ok, s};
use crate::convert::{from_json, to_json};
use crate::value::Value;

pub fn register(r: &mut Registry) {
    use Ty::*;
    let b64 = base64::engine::general_purpose::STANDARD;
    let _ = b64;
    r.add("b64enc", &[Str], |_, a| {
        ok(base64::engine::general_purpose::STANDARD.encode(s(&a[0])))
    });
    r.add("b64dec", &[Str], |_, a| {
        ok(
            match base64::engine::general_purpose::STANDARD.decode(s(&a[0])) {
                Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                Err(e) => go_b64_error(&e),
            },
        )
    });
    r.add("b32enc", &[Str], |_, a| {
        ok(base32_encode(s(&a[0]).as_bytes()))
    });
    r.add("sha256sum", &[Str], |_, a| {
        ok(hex(&sha2::Sha256::digest(s(&a[0]).as_bytes())))
    });
    r.add("sha512sum", &[Str], |_, a| {
        ok(hex(&sha2::Sha512::digest(s(&a[0]).as_bytes())))
    });
    r.add("sha1sum", &[Str], |_, a| {
        use sha1::Digest as _;
        ok(hex(&sha1::Sha1::digest(s(&a[0]).as_bytes())))
    });
    r.add("adler32sum", &[Str], |_, a| {
        ok(adler32(s(&a[0]).as_bytes()).to_string())
    });
    r.add("toJson", &[Any], |_, a| ok(to_json(&a[0], true, None)));
    r.add("mustToJson", &[Any], |_, a| ok(to_json(&a[0], true, None)));
    r.add("toPrettyJson", &[Any], |_, a| {
        ok(to_json(&a[0], true, Some("  ")))
    });
    r.add("mustToPrettyJson", &[Any], |_, a| {
        ok(to_json(&a[0], true, Some("  ")))
    });
    r.add("toRawJson", &[Any], |_, a| ok(to_json(&a[0], false, None)));
    r.add("mustToRawJson", &[Any], |_, a| {
        ok(to_json(&a[0], false, None))
    });
    r.add("fromJson", &[Str], |_, a| {
        ok(match from_json(s(&a[0])) {
            Ok(v @ Value::Map(_)) => v,
            Ok(other) => err_map(&format!(
                "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                json_kind(&other)
            )),
            Err(e) => err_map(&e),
        })
    });
    r.add("fromJsonArray", &[Str], |_, a| {
        ok(match from_json(s(&a[0])) {
            Ok(v @ Value::List(_)) => v,
            Ok(other) => Value::list(vec![Value::str(format!(
                "json: cannot unmarshal {} into Go value of type []interface {{}}",
                json_kind(&other)
            ))]),
            Err(e) => Value::list(vec![Value::str(e)]),
        })
    });
    r.add("mustFromJson", &[Str], |_, a| {
        from_json(s(&a[0])).map_err(Into::into)
    });
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Map(_) => "object",
        Value::List(_) => "array",
        Value::Str(_) => "string",
        Value::Float(_) => "number",
        Value::Bool(_) => "bool",
        _ => "null",
    }
}

/// Helm's error result for `fromJson`/`fromYaml`: `{"Error": msg}`.
pub fn err_map(msg: &str) -> Value {
    let mut m = std::collections::BTreeMap::new();
    m.insert("Error".to_string(), Value::str(msg));
    Value::map(m)
}

fn go_b64_error(e: &base64::DecodeError) -> String {
    match e {
        base64::DecodeError::InvalidByte(i, _) | base64::DecodeError::InvalidLastSymbol(i, _) => {
            format!("illegal base64 data at input byte {i}")
        }
        _ => "illegal base64 data at input byte 0".into(),
    }
}

pub fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

fn adler32(b: &[u8]) -> u32 {
    let (mut a, mut c) = (1u32, 0u32);
    for x in b {
        a = (a + u32::from(*x)) % 65521;
        c = (c + a) % 65521;
    }
    (c << 16) | a
}

fn base32_encode(b: &[u8]) -> String {
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    for chunk in b.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = u64::from_be_bytes([0, 0, 0, buf[0], buf[1], buf[2], buf[3], buf[4]]);
        let chars = match chunk.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for i in 0..8 {
            if i < chars {
                out.push(ALPHA[((n >> (35 - i * 5)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
