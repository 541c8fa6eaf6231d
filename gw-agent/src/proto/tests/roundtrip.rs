//! Property tests: parse(emit(p)) == p, and parse never panics.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::collection::vec;
use proptest::prelude::*;

use super::super::{
    AUTH_MAX_DATA, Auth, Forwarder, Hello, Packet, Tlv, UNKNOWN_MAX_DATA, VfState, VgState,
};
use super::vectors;

fn vip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|o| IpAddr::V4(Ipv4Addr::from(o))),
        any::<[u8; 16]>().prop_map(|o| IpAddr::V6(Ipv6Addr::from(o))),
    ]
}

fn hello() -> impl Strategy<Value = Hello> {
    (any::<u8>(), any::<u8>(), any::<u32>(), any::<u32>()).prop_flat_map(
        |(state, priority, hello_ms, hold_ms)| {
            (any::<u16>(), any::<u16>(), vip()).prop_map(move |(redirect_s, timeout_s, vip)| {
                Hello {
                    state: VgState::from_u8(state),
                    priority,
                    hello_ms,
                    hold_ms,
                    redirect_s,
                    timeout_s,
                    vip,
                }
            })
        },
    )
}

fn forwarder() -> impl Strategy<Value = Forwarder> {
    (any::<[u8; 4]>(), any::<[u8; 6]>()).prop_map(|([number, state, priority, weight], vmac)| {
        Forwarder {
            number,
            state: VfState::from_u8(state),
            priority,
            weight,
            vmac,
        }
    })
}

fn tlv() -> impl Strategy<Value = Tlv> {
    prop_oneof![
        hello().prop_map(Tlv::Hello),
        forwarder().prop_map(Tlv::Forwarder),
        (any::<u8>(), vec(any::<u8>(), 0..=40))
            .prop_map(|(auth_type, data)| Tlv::Auth(Auth { auth_type, data })),
        (
            prop_oneof![Just(0u8), 4u8..=u8::MAX],
            vec(any::<u8>(), 0..=40)
        )
            .prop_map(|(kind, data)| Tlv::Unknown { kind, data }),
    ]
}

fn packet() -> impl Strategy<Value = Packet> {
    (0u16..=1023, any::<[u8; 6]>(), vec(tlv(), 0..8)).prop_map(|(group, owner, tlvs)| Packet {
        group,
        owner,
        tlvs,
    })
}

/// Parse, and if that works, check the result re-encodes canonically.
fn parse_is_total(bytes: &[u8]) {
    if let Ok(packet) = Packet::parse(bytes) {
        let again = packet.to_bytes();
        assert_eq!(again.len(), packet.buffer_len());
        assert_eq!(Packet::parse(&again), Ok(packet));
    }
}

proptest! {
    #[test]
    fn prop_round_trip(p in packet()) {
        let bytes = p.to_bytes();
        prop_assert_eq!(bytes.len(), p.buffer_len());
        prop_assert_eq!(Packet::parse(&bytes), Ok(p));
    }

    #[test]
    fn prop_arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..300)) {
        parse_is_total(&bytes);
    }

    /// A valid header followed by garbage exercises the TLV walk.
    #[test]
    fn prop_garbage_tlvs_never_panic(group in 0u16..=1023, tail in vec(any::<u8>(), 0..200)) {
        let mut bytes = vec![1, 0];
        bytes.extend_from_slice(&group.to_be_bytes());
        bytes.extend_from_slice(&[0; 8]);
        bytes.extend(tail);
        parse_is_total(&bytes);
    }

    #[test]
    fn prop_mutated_vectors_never_panic(
        which in 0usize..4,
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        extra in vec(any::<u8>(), 0..8),
    ) {
        let all = vectors::all();
        let (_, golden, _) = &all[which];
        let mut bytes = golden.to_vec();
        for (at, value) in edits {
            let at = at.index(bytes.len());
            bytes[at] = value;
        }
        parse_is_total(&bytes);
        parse_is_total(&bytes[..cut.index(bytes.len() + 1)]);
        bytes.extend(extra);
        parse_is_total(&bytes);
    }
}

#[test]
fn test_round_trip_longest_data() {
    let p = Packet {
        group: 0,
        owner: [0; 6],
        tlvs: vec![
            Tlv::Auth(Auth {
                auth_type: 0xfe,
                data: vec![0x5a; AUTH_MAX_DATA],
            }),
            Tlv::Unknown {
                kind: 0,
                data: vec![0xa5; UNKNOWN_MAX_DATA],
            },
        ],
    };
    let bytes = p.to_bytes();
    assert_eq!(bytes.len(), 12 + 255 + 255);
    assert_eq!(Packet::parse(&bytes), Ok(p));
}

#[test]
fn test_overlong_data_is_cut_on_emit() {
    let p = Packet {
        group: 0,
        owner: [0; 6],
        tlvs: vec![Tlv::Auth(Auth {
            auth_type: 1,
            data: vec![1; AUTH_MAX_DATA + 10],
        })],
    };
    let parsed = Packet::parse(&p.to_bytes()).expect("cut data still parses");
    assert_eq!(parsed.auth().map(|a| a.data.len()), Some(AUTH_MAX_DATA));
}
