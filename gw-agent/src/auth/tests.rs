use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::proto::{Hello, VgState};

fn hello(owner: u8) -> Packet {
    Packet {
        group: 1,
        owner: [2, 0, 0, 0, 0, owner],
        tlvs: vec![Tlv::Hello(Hello {
            state: VgState::Active,
            priority: 100,
            hello_ms: 3000,
            hold_ms: 10000,
            redirect_s: 600,
            timeout_s: 14400,
            vip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        })],
    }
}

fn key(id: u8, b: u8) -> Key {
    Key {
        id,
        secret: vec![b; 32],
    }
}

const T0: u64 = 1_800_000_000_000_000;

fn roundtrip(
    tx: &mut Authenticator,
    rx: &mut Authenticator,
    p: &Packet,
    now: u64,
) -> Result<(), AuthError> {
    let bytes = tx.seal(p, now);
    let parsed = Packet::parse(&bytes).expect("sealed packets parse");
    rx.verify(&bytes, &parsed, now)
}

#[test]
fn text_password_matches_cisco_layout() {
    let mut a = Authenticator::new(Mode::Text(b"s3cret".to_vec()));
    let bytes = a.seal(&hello(1), T0);
    // Last TLV: type 3, length 4 + 6, type 1 (plain text), data length 6.
    assert_eq!(
        &bytes[bytes.len() - 10..],
        &[3, 10, 1, 6, b's', b'3', b'c', b'r', b'e', b't']
    );
    let mut b = Authenticator::new(Mode::Text(b"s3cret".to_vec()));
    assert_eq!(roundtrip(&mut a, &mut b, &hello(1), T0), Ok(()));
    let mut wrong = Authenticator::new(Mode::Text(b"other".to_vec()));
    assert_eq!(
        roundtrip(&mut a, &mut wrong, &hello(1), T0),
        Err(AuthError::BadPassword)
    );
}

#[test]
fn hmac_accepts_good_rejects_tampered() {
    let mode = Mode::Hmac {
        current: key(1, 7),
        previous: None,
    };
    let (mut a, mut b) = (Authenticator::new(mode.clone()), Authenticator::new(mode));
    assert_eq!(roundtrip(&mut a, &mut b, &hello(1), T0), Ok(()));
    // Flip a priority bit: the MAC no longer verifies.
    let mut bytes = a.seal(&hello(1), T0 + 10);
    bytes[12 + 5] ^= 0x80;
    let p = Packet::parse(&bytes).unwrap();
    assert_eq!(b.verify(&bytes, &p, T0 + 10), Err(AuthError::BadMac));
    // Wrong key.
    let mut c = Authenticator::new(Mode::Hmac {
        current: key(1, 8),
        previous: None,
    });
    assert_eq!(
        roundtrip(&mut a, &mut c, &hello(1), T0 + 20),
        Err(AuthError::BadMac)
    );
}

#[test]
fn replays_are_rejected_and_change_nothing() {
    let mode = Mode::Hmac {
        current: key(1, 7),
        previous: None,
    };
    let (mut a, mut b) = (Authenticator::new(mode.clone()), Authenticator::new(mode));
    let old = a.seal(&hello(1), T0);
    let p = Packet::parse(&old).unwrap();
    assert_eq!(b.verify(&old, &p, T0), Ok(()));
    assert!(matches!(
        b.verify(&old, &p, T0),
        Err(AuthError::Replay { .. })
    ));
    // A newer one still passes: the failed replay did not move the state.
    assert_eq!(roundtrip(&mut a, &mut b, &hello(1), T0 + 5), Ok(()));
}

#[test]
fn sequence_survives_restart_and_stale_first_packets_are_refused() {
    let mode = Mode::Hmac {
        current: key(1, 7),
        previous: None,
    };
    let mut rx = Authenticator::new(mode.clone());
    let mut tx = Authenticator::new(mode.clone());
    assert_eq!(roundtrip(&mut tx, &mut rx, &hello(1), T0), Ok(()));
    // The sender restarts (fresh state) a second later: still accepted.
    let mut tx2 = Authenticator::new(mode.clone());
    assert_eq!(
        roundtrip(&mut tx2, &mut rx, &hello(1), T0 + 1_000_000),
        Ok(())
    );
    // The receiver restarts and someone replays a packet from an hour ago.
    let old = tx.seal(&hello(1), T0);
    let mut rx2 = Authenticator::new(mode);
    let p = Packet::parse(&old).unwrap();
    assert!(matches!(
        rx2.verify(&old, &p, T0 + 3_600_000_000),
        Err(AuthError::Stale { .. })
    ));
}

#[test]
fn key_rollover_accepts_both_keys() {
    let old = Mode::Hmac {
        current: key(1, 7),
        previous: None,
    };
    let new = Mode::Hmac {
        current: key(2, 9),
        previous: Some(key(1, 7)),
    };
    let mut a_old = Authenticator::new(old.clone());
    let mut b_new = Authenticator::new(new.clone());
    let mut a_new = Authenticator::new(new);
    assert_eq!(roundtrip(&mut a_old, &mut b_new, &hello(1), T0), Ok(()));
    assert_eq!(roundtrip(&mut a_new, &mut b_new, &hello(2), T0), Ok(()));
    let mut only_old = Authenticator::new(old);
    assert_eq!(
        roundtrip(&mut a_new, &mut only_old, &hello(2), T0 + 1),
        Err(AuthError::UnknownKey(2))
    );
}

#[test]
fn mixed_configurations_are_reported() {
    let mut none = Authenticator::new(Mode::None);
    let mut text = Authenticator::new(Mode::Text(b"x".to_vec()));
    assert_eq!(
        roundtrip(&mut none, &mut text, &hello(1), T0),
        Err(AuthError::Missing)
    );
    assert_eq!(
        roundtrip(&mut text, &mut none, &hello(1), T0),
        Err(AuthError::Unexpected(1))
    );
    let mut h = Authenticator::new(Mode::Hmac {
        current: key(1, 7),
        previous: None,
    });
    assert_eq!(
        roundtrip(&mut text, &mut h, &hello(1), T0),
        Err(AuthError::WrongType {
            got: 1,
            want: AUTH_HMAC_SHA256
        })
    );
}

#[test]
fn key_files_must_be_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("gw-key-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("k");
    std::fs::write(&p, "0123456789abcdef0123\n").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(read_key(&p).unwrap_err().contains("chmod 600"));
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(read_key(&p).unwrap(), b"0123456789abcdef0123");
    std::fs::write(&p, "short").unwrap();
    assert!(read_key(&p).unwrap_err().contains("at least 16"));
    let _ = std::fs::remove_dir_all(&dir);
}
