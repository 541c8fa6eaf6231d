//! The fuzz targets' seed inputs (`fuzz/seeds/`, see fuzz/README.md) are
//! the golden vectors: this test keeps the checked-in files equal to them.
//! `GW_WRITE_FUZZ_SEEDS=1 cargo test -p gw-agent fuzz_seeds` rewrites them.

use std::path::PathBuf;

use super::super::{Packet, Tlv};
use super::vectors;
use crate::auth::{Authenticator, Key, Mode};

/// A clock inside the auth seeds (µs since the epoch, year 2027).
const T0: u64 = 1_800_000_000_000_000;

fn dir(sub: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(sub)
}

/// The HMAC key of the `auth_verify` target's mode 2 (fuzz_targets/auth_verify.rs).
fn fuzz_hmac() -> Mode {
    Mode::Hmac {
        current: Key {
            id: 1,
            secret: vec![0x11; 17],
        },
        previous: None,
    }
}

/// (directory, file name, bytes) of every seed.
fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    for (name, bytes, _) in vectors::all() {
        out.push(("proto", format!("{name}.bin"), bytes.to_vec()));
        // auth_verify: mode byte, clock, payload; each mode sees each vector.
        for mode in 0u8..4 {
            let mut b = vec![mode];
            b.extend_from_slice(&T0.to_be_bytes());
            b.extend_from_slice(bytes);
            out.push(("auth", format!("{name}-mode{mode}.bin"), b));
        }
    }
    // A hello that passes HMAC verification (mode 2 at T0).
    let mut pkt: Packet = vectors::avg_hello_v4();
    pkt.tlvs.retain(|t| !matches!(t, Tlv::Auth(_)));
    let sealed = Authenticator::new(fuzz_hmac()).seal(&pkt, T0);
    let mut b = vec![2u8];
    b.extend_from_slice(&T0.to_be_bytes());
    b.extend_from_slice(&sealed);
    out.push(("auth", "avg_hello_v4-hmac-sealed.bin".into(), b));
    out.push(("proto", "avg_hello_v4-hmac-sealed.bin".into(), sealed));
    out
}

#[test]
fn test_fuzz_seeds_are_the_golden_vectors() {
    let write = std::env::var_os("GW_WRITE_FUZZ_SEEDS").is_some();
    for (sub, name, bytes) in seeds() {
        let path = dir(sub).join(&name);
        if write {
            std::fs::create_dir_all(dir(sub)).unwrap();
            std::fs::write(&path, &bytes).unwrap();
            continue;
        }
        let on_disk = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (GW_WRITE_FUZZ_SEEDS=1 cargo test -p gw-agent fuzz_seeds)",
                path.display()
            )
        });
        assert_eq!(
            on_disk,
            bytes,
            "{} differs from the golden vector",
            path.display()
        );
    }
}
