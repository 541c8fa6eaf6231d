//! The authenticator on arbitrary packets: `verify` never panics (it runs
//! on every received packet before any engine sees it), and what `seal`
//! produces verifies once, then is refused as a replay.
//!
//! Input: byte 0 picks the mode (none, plain text, HMAC, HMAC with a
//! previous key), bytes 1..9 the clock (µs), the rest is the GLBP payload.
#![no_main]

use gw_agent::auth::{AuthError, Authenticator, Key, Mode};
use gw_agent::proto::{Packet, Tlv};
use libfuzzer_sys::fuzz_target;

fn mode(b: u8) -> Mode {
    let key = |id: u8, fill: u8| Key {
        id,
        secret: vec![fill; 16 + usize::from(id)],
    };
    match b % 4 {
        0 => Mode::None,
        1 => Mode::Text(b"s3cret".to_vec()),
        2 => Mode::Hmac {
            current: key(1, 0x11),
            previous: None,
        },
        _ => Mode::Hmac {
            current: key(2, 0x22),
            previous: Some(key(1, 0x11)),
        },
    }
}

fuzz_target!(|data: &[u8]| {
    let [m, rest @ ..] = data else {
        return;
    };
    let Some((clock, bytes)) = rest.split_first_chunk::<8>() else {
        return;
    };
    let now = u64::from_be_bytes(*clock);
    let Ok(pkt) = Packet::parse(bytes) else {
        return;
    };
    // Untrusted input: any verdict, never a panic; a failure changes no
    // state, so the same packet gets the same verdict again.
    let mut rx = Authenticator::new(mode(*m));
    let first = rx.verify(bytes, &pkt, now);
    if first.is_err() {
        assert_eq!(rx.verify(bytes, &pkt, now), first);
    }
    // Sealed by a peer with the same mode: verifies, and once only (HMAC).
    // The engine never puts an Auth TLV in what it sends; seal adds it.
    let mut clean = pkt.clone();
    clean.tlvs.retain(|t| !matches!(t, Tlv::Auth(_)));
    let mut tx = Authenticator::new(mode(*m));
    let sealed = tx.seal(&clean, now);
    let parsed = Packet::parse(&sealed).expect("sealed packets parse");
    let mut rx = Authenticator::new(mode(*m));
    assert_eq!(
        rx.verify(&sealed, &parsed, now),
        Ok(()),
        "sealed packet refused"
    );
    if matches!(rx.mode(), Mode::Hmac { .. }) {
        assert!(matches!(
            rx.verify(&sealed, &parsed, now),
            Err(AuthError::Replay { .. })
        ));
    }
});
