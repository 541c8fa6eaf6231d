//! Negative cases: each malformed input gives the expected typed error.

use super::super::{DecodeError, Packet};
use super::vectors::{self, AVG_HELLO_V4, HELLO_V6, WITH_AUTH, WITH_UNKNOWN};

fn err(bytes: &[u8]) -> DecodeError {
    Packet::parse(bytes).expect_err("must be rejected")
}

/// `AVG_HELLO_V4` with its Hello TLV replaced by `hello` (type byte first).
fn with_hello(hello: &[u8]) -> Vec<u8> {
    let mut bytes = AVG_HELLO_V4[..12].to_vec();
    bytes.extend_from_slice(hello);
    bytes
}

#[test]
fn test_every_truncation_rejected() {
    // GLBP has no total length: a cut on a TLV boundary is a shorter
    // valid message; every other cut is an error.
    for (name, bytes, packet) in vectors::all() {
        let mut boundaries = vec![12];
        for tlv in &packet.tlvs {
            boundaries.push(boundaries[boundaries.len() - 1] + tlv.buffer_len());
        }
        for len in 0..bytes.len() {
            let result = Packet::parse(&bytes[..len]);
            match boundaries.iter().position(|&b| b == len) {
                Some(count) => {
                    let prefix = result.unwrap_or_else(|e| panic!("{name}[..{len}]: {e}"));
                    assert_eq!(prefix.tlvs, packet.tlvs[..count], "{name}[..{len}]");
                }
                None => assert!(result.is_err(), "{name}[..{len}] accepted"),
            }
        }
    }
}

#[test]
fn test_header_truncated() {
    let e = err(&AVG_HELLO_V4[..7]);
    assert_eq!(e, DecodeError::HeaderTruncated { len: 7 });
    assert_eq!(e.to_string(), "header truncated: 7 bytes, need 12");
    assert_eq!(err(&[]), DecodeError::HeaderTruncated { len: 0 });
}

#[test]
fn test_bad_version() {
    for version in [0, 2, 0xff] {
        let mut bytes = AVG_HELLO_V4;
        bytes[0] = version;
        assert_eq!(err(&bytes), DecodeError::UnsupportedVersion(version));
    }
    let mut bytes = AVG_HELLO_V4;
    bytes[0] = 2;
    assert_eq!(err(&bytes).to_string(), "unsupported version 2");
}

#[test]
fn test_group_out_of_range() {
    let mut bytes = AVG_HELLO_V4;
    bytes[2..4].copy_from_slice(&1023u16.to_be_bytes());
    assert_eq!(Packet::parse(&bytes).map(|p| p.group), Ok(1023));
    for group in [1024u16, 0xffff] {
        bytes[2..4].copy_from_slice(&group.to_be_bytes());
        assert_eq!(err(&bytes), DecodeError::GroupOutOfRange(group));
    }
    bytes[2..4].copy_from_slice(&1024u16.to_be_bytes());
    assert_eq!(err(&bytes).to_string(), "group 1024 out of range 0..=1023");
}

#[test]
fn test_tlv_length_zero_and_one() {
    for length in [0, 1] {
        let mut bytes = AVG_HELLO_V4;
        bytes[41] = length; // forwarder 1 at offset 40
        let e = err(&bytes);
        assert_eq!(
            e,
            DecodeError::TlvLengthTooSmall {
                kind: 2,
                offset: 40,
                length
            }
        );
        assert_eq!(
            e.to_string(),
            format!("TLV type 2 at offset 40: length {length}")
        );
    }
}

#[test]
fn test_tlv_past_end() {
    let e = err(&AVG_HELLO_V4[..32]);
    assert_eq!(
        e,
        DecodeError::TlvPastEnd {
            offset: 12,
            length: 28,
            left: 20
        }
    );
    assert_eq!(
        e.to_string(),
        "TLV at offset 12 runs past end (length 28, 20 bytes left)"
    );
    // Unknown TLV whose length overshoots by one.
    let mut bytes = WITH_UNKNOWN[..46].to_vec();
    bytes[41] = 7;
    let e = err(&bytes);
    assert_eq!(
        e.to_string(),
        "TLV at offset 40 runs past end (length 7, 6 bytes left)"
    );
}

#[test]
fn test_stray_byte_after_tlvs() {
    let mut bytes = AVG_HELLO_V4.to_vec();
    bytes.push(0x02);
    assert_eq!(
        err(&bytes),
        DecodeError::TlvTruncated {
            offset: 80,
            left: 1
        }
    );
}

#[test]
fn test_hello_wrong_address_length() {
    let mut hello = AVG_HELLO_V4[12..40].to_vec();
    hello[23] = 5;
    hello.push(0);
    hello[1] = 29;
    let e = err(&with_hello(&hello));
    assert_eq!(
        e,
        DecodeError::HelloAddressLength {
            offset: 12,
            addr_type: 1,
            addr_len: 5
        }
    );
    assert_eq!(
        e.to_string(),
        "Hello TLV at offset 12: address length 5 does not match type 1"
    );
    // IPv6 type with an IPv4 length, and the reverse.
    let mut v6 = HELLO_V6[12..52].to_vec();
    v6[23] = 4;
    assert_eq!(err(&with_hello(&v6)).kind(), "hello_address_length");
    let mut v4 = AVG_HELLO_V4[12..40].to_vec();
    v4[23] = 16;
    assert_eq!(err(&with_hello(&v4)).kind(), "hello_address_length");
}

#[test]
fn test_hello_unknown_address_type() {
    for addr_type in [0, 3, 0xff] {
        let mut hello = AVG_HELLO_V4[12..40].to_vec();
        hello[22] = addr_type;
        let e = err(&with_hello(&hello));
        assert_eq!(
            e,
            DecodeError::HelloAddressType {
                offset: 12,
                addr_type
            }
        );
    }
}

#[test]
fn test_hello_too_short() {
    // IPv6 address in a 28-byte TLV.
    let mut hello = AVG_HELLO_V4[12..40].to_vec();
    hello[22..24].copy_from_slice(&[2, 16]);
    let e = err(&with_hello(&hello));
    assert_eq!(
        e,
        DecodeError::HelloTooShort {
            offset: 12,
            length: 28,
            need: 40
        }
    );
    // Too short for the fixed part.
    let mut short = AVG_HELLO_V4[12..32].to_vec();
    short[1] = 20;
    let e = err(&with_hello(&short));
    assert_eq!(e.to_string(), "Hello TLV at offset 12: length 20, need 24");
}

#[test]
fn test_forwarder_too_short() {
    let mut bytes = AVG_HELLO_V4[..59].to_vec();
    bytes[41] = 19;
    let e = err(&bytes);
    assert_eq!(
        e.to_string(),
        "Forwarder TLV at offset 40: length 19, need 20"
    );
    assert_eq!(e.kind(), "forwarder_too_short");
}

#[test]
fn test_auth_too_short_and_data_past_end() {
    let mut bytes = WITH_AUTH[..12].to_vec();
    bytes.extend_from_slice(&[0x03, 0x03, 0x01]);
    assert_eq!(err(&bytes).kind(), "auth_too_short");
    let mut bytes = WITH_AUTH;
    bytes[15] = 7; // data length 7 in a 10-byte TLV
    let e = err(&bytes);
    assert_eq!(
        e.to_string(),
        "Auth TLV at offset 12: data length 7 runs past TLV end (6 bytes left)"
    );
    assert_eq!(e.kind(), "auth_data_past_end");
}

#[test]
fn test_kinds_distinct_and_listed() {
    let samples = [
        DecodeError::HeaderTruncated { len: 0 },
        DecodeError::UnsupportedVersion(0),
        DecodeError::GroupOutOfRange(1024),
        DecodeError::TlvTruncated { offset: 0, left: 1 },
        DecodeError::TlvLengthTooSmall {
            kind: 0,
            offset: 0,
            length: 0,
        },
        DecodeError::TlvPastEnd {
            offset: 0,
            length: 0,
            left: 0,
        },
        DecodeError::HelloTooShort {
            offset: 0,
            length: 0,
            need: 0,
        },
        DecodeError::HelloAddressType {
            offset: 0,
            addr_type: 0,
        },
        DecodeError::HelloAddressLength {
            offset: 0,
            addr_type: 0,
            addr_len: 0,
        },
        DecodeError::ForwarderTooShort {
            offset: 0,
            length: 0,
            need: 0,
        },
        DecodeError::AuthTooShort {
            offset: 0,
            length: 0,
            need: 0,
        },
        DecodeError::AuthDataPastEnd {
            offset: 0,
            data_len: 0,
            room: 0,
        },
    ];
    let kinds: Vec<&str> = samples.iter().map(DecodeError::kind).collect();
    assert_eq!(kinds, DecodeError::KINDS);
    let mut sorted = kinds.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), kinds.len());
    for kind in kinds {
        assert!(
            kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{kind}"
        );
    }
}
