//! Golden vectors: parse and emit against hand-written bytes.

use super::super::{Packet, Tlv, VfState, VgState};
use super::vectors::{self, AVG_HELLO_V4, HELLO_V6, WITH_AUTH, WITH_UNKNOWN};

#[test]
fn test_parse_avg_hello_v4() {
    assert_eq!(Packet::parse(&AVG_HELLO_V4), Ok(vectors::avg_hello_v4()));
}

#[test]
fn test_emit_avg_hello_v4() {
    let packet = vectors::avg_hello_v4();
    assert_eq!(packet.buffer_len(), AVG_HELLO_V4.len());
    assert_eq!(packet.to_bytes(), AVG_HELLO_V4);
}

#[test]
fn test_accessors_avg_hello_v4() {
    let packet = vectors::avg_hello_v4();
    assert_eq!(packet.hello(), Some(&vectors::avg_hello_v4_hello()));
    let numbers: Vec<u8> = packet.forwarders().map(|f| f.number).collect();
    assert_eq!(numbers, [1, 2]);
    assert_eq!(packet.auth(), None);
}

#[test]
fn test_parse_hello_v6() {
    assert_eq!(Packet::parse(&HELLO_V6), Ok(vectors::hello_v6()));
}

#[test]
fn test_emit_hello_v6() {
    assert_eq!(vectors::hello_v6().to_bytes(), HELLO_V6);
}

#[test]
fn test_parse_unknown_tlv_kept() {
    let packet = Packet::parse(&WITH_UNKNOWN).expect("valid vector");
    assert_eq!(packet, vectors::with_unknown());
    // The engine skips it: the known TLVs around it still show up.
    assert!(packet.hello().is_some());
    assert_eq!(packet.forwarders().count(), 1);
}

#[test]
fn test_emit_unknown_tlv_in_order() {
    assert_eq!(vectors::with_unknown().to_bytes(), WITH_UNKNOWN);
}

#[test]
fn test_unknown_tlv_without_data() {
    let mut bytes = AVG_HELLO_V4[..12].to_vec();
    bytes.extend_from_slice(&[0xff, 0x02]);
    let packet = Packet::parse(&bytes).expect("empty unknown TLV is valid");
    let unknown = Tlv::Unknown {
        kind: 0xff,
        data: vec![],
    };
    assert_eq!(packet.tlvs, [unknown]);
    assert_eq!(packet.to_bytes(), bytes);
}

#[test]
fn test_parse_auth_plain_text() {
    let packet = Packet::parse(&WITH_AUTH).expect("valid vector");
    assert_eq!(packet, vectors::with_auth());
    let auth = packet.auth().expect("auth TLV");
    assert_eq!((auth.auth_type, auth.data.as_slice()), (1, &b"s3cret"[..]));
}

#[test]
fn test_emit_auth_plain_text() {
    assert_eq!(vectors::with_auth().to_bytes(), WITH_AUTH);
}

#[test]
fn test_header_only_packet() {
    let packet = Packet::parse(&AVG_HELLO_V4[..12]).expect("no TLVs is valid");
    assert_eq!((packet.group, packet.tlvs.len()), (1, 0));
    assert_eq!(packet.hello(), None);
}

#[test]
fn test_unknown_bytes_ignored_on_receive() {
    // Set every "?" byte: header 1, 4..6; Hello 14, 16, 18..20, 32..34;
    // forwarder 1: 44, 47..54.
    let mut bytes = AVG_HELLO_V4;
    for at in [
        1, 4, 5, 14, 16, 18, 19, 32, 33, 44, 47, 48, 49, 50, 51, 52, 53,
    ] {
        bytes[at] = 0xa5;
    }
    bytes[1] = 0x04; // tshark's heuristic wants this <= 4; we do not care.
    let packet = Packet::parse(&bytes).expect("? bytes are ignored");
    assert_eq!(packet, vectors::avg_hello_v4());
    // And sent as zero.
    assert_eq!(packet.to_bytes(), AVG_HELLO_V4);
}

#[test]
fn test_longer_tlvs_accepted_trailing_ignored() {
    // Hello length 30, forwarder length 22, auth length 12 (2 spare each).
    let mut bytes = AVG_HELLO_V4[..12].to_vec();
    let mut hello = AVG_HELLO_V4[12..40].to_vec();
    hello[1] = 30;
    hello.extend_from_slice(&[0xee, 0xee]);
    let mut fwd = AVG_HELLO_V4[40..60].to_vec();
    fwd[1] = 22;
    fwd.extend_from_slice(&[0xee, 0xee]);
    let mut auth = WITH_AUTH[12..22].to_vec();
    auth[1] = 12;
    auth.extend_from_slice(&[0xee, 0xee]);
    bytes.extend(hello.iter().chain(&fwd).chain(&auth));
    let packet = Packet::parse(&bytes).expect("longer TLVs are accepted");
    let expected = vectors::with_auth();
    assert_eq!(packet.hello(), expected.hello());
    assert_eq!(
        packet.forwarders().next(),
        vectors::avg_hello_v4().forwarders().next()
    );
    assert_eq!(packet.auth(), expected.auth());
}

#[test]
fn test_emit_into_longer_buffer() {
    let packet = vectors::avg_hello_v4();
    let mut buf = [0xaa_u8; 100];
    packet.emit(&mut buf);
    assert_eq!(buf[..80], AVG_HELLO_V4);
    assert!(buf[80..].iter().all(|&b| b == 0xaa));
}

#[test]
#[should_panic]
fn test_emit_short_buffer_panics() {
    vectors::avg_hello_v4().emit(&mut [0; 79]);
}

#[test]
fn test_state_codes() {
    let vg = [
        (VgState::Disabled, 1),
        (VgState::Initial, 2),
        (VgState::Listen, 4),
        (VgState::Speak, 8),
        (VgState::Standby, 0x10),
        (VgState::Active, 0x20),
    ];
    for (state, code) in vg {
        assert_eq!((state.to_u8(), VgState::from_u8(code)), (code, state));
    }
    let vf = [
        (VfState::Disabled, 1),
        (VfState::Initial, 2),
        (VfState::Listen, 4),
        (VfState::Active, 0x20),
    ];
    for (state, code) in vf {
        assert_eq!((state.to_u8(), VfState::from_u8(code)), (code, state));
    }
    for code in 0..=u8::MAX {
        assert_eq!(VgState::from_u8(code).to_u8(), code);
        assert_eq!(VfState::from_u8(code).to_u8(), code);
    }
    assert_eq!(VgState::from_u8(0x40), VgState::Unknown(0x40));
    assert_eq!(VfState::from_u8(0x08), VfState::Unknown(0x08));
    // A code that has a name decodes to the name, not Unknown.
    assert_eq!(
        VgState::from_u8(VgState::Unknown(0x20).to_u8()),
        VgState::Active
    );
}
