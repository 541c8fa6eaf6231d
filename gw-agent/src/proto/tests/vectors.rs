//! Golden byte vectors, written by hand from GLBP-WIRE.md, paired with the
//! `Packet` they encode.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::super::{Auth, Forwarder, Hello, Packet, Tlv, VfState, VgState};

/// The sender's interface MAC in the IPv4 vectors.
pub const OWNER: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

/// Hello from the AVG of group 1: Hello TLV (active, priority 110, hello
/// 3000 ms, hold 10000 ms, redirect 600 s, timeout 14400 s, VIP
/// 192.0.2.1), then forwarder 1 (active, its own: priority 167) and
/// forwarder 2 (listen: another router's, priority 135).
#[rustfmt::skip]
pub const AVG_HELLO_V4: [u8; 80] = [
    // Header: version 1, ?, group 1, ??, owner id.
    0x01, 0x00, 0x00, 0x01, 0x00, 0x00,
    0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
    // Hello TLV, offset 12: type 1, length 28, ?, state 0x20 (active),
    0x01, 0x1c, 0x00, 0x20,
    // ?, priority 110, ??,
    0x00, 0x6e, 0x00, 0x00,
    // hello 3000 ms, hold 10000 ms,
    0x00, 0x00, 0x0b, 0xb8,
    0x00, 0x00, 0x27, 0x10,
    // redirect 600 s, timeout 14400 s,
    0x02, 0x58, 0x38, 0x40,
    // ??, address type 1, length 4, 192.0.2.1.
    0x00, 0x00, 0x01, 0x04,
    0xc0, 0x00, 0x02, 0x01,
    // Request/Response TLV, offset 40: type 2, length 20, forwarder 1,
    // state 0x20 (active), ?, priority 167, weight 100, 7 x ?,
    0x02, 0x14, 0x01, 0x20, 0x00, 0xa7, 0x64,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    // vMAC 00:07:b4:00:01:01.
    0x00, 0x07, 0xb4, 0x00, 0x01, 0x01,
    // Request/Response TLV, offset 60: forwarder 2, state 0x04 (listen),
    // priority 135, weight 100, vMAC 00:07:b4:00:01:02.
    0x02, 0x14, 0x02, 0x04, 0x00, 0x87, 0x64,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x07, 0xb4, 0x00, 0x01, 0x02,
];

pub fn avg_hello_v4_hello() -> Hello {
    Hello {
        state: VgState::Active,
        priority: 110,
        hello_ms: 3000,
        hold_ms: 10000,
        redirect_s: 600,
        timeout_s: 14400,
        vip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
    }
}

pub fn fwd(number: u8, state: VfState, priority: u8, vmac: [u8; 6]) -> Forwarder {
    Forwarder {
        number,
        state,
        priority,
        weight: 100,
        vmac,
    }
}

pub fn avg_hello_v4() -> Packet {
    Packet {
        group: 1,
        owner: OWNER,
        tlvs: vec![
            Tlv::Hello(avg_hello_v4_hello()),
            Tlv::Forwarder(fwd(1, VfState::Active, 167, [0, 0x07, 0xb4, 0, 1, 1])),
            Tlv::Forwarder(fwd(2, VfState::Listen, 135, [0, 0x07, 0xb4, 0, 1, 2])),
        ],
    }
}

/// The Cisco debug example from Wireshark's dissector: group 1020, VG
/// active, priority 100, VIP fe80::c800:8ff:fe64:aaaa, hello 3000, hold
/// 10000, VF 1 active, priority 167, vMAC 0007.b403.fc01.
#[rustfmt::skip]
pub const HELLO_V6: [u8; 72] = [
    // Header: version 1, ?, group 1020, ??, owner ca:00:08:64:aa:aa.
    0x01, 0x00, 0x03, 0xfc, 0x00, 0x00,
    0xca, 0x00, 0x08, 0x64, 0xaa, 0xaa,
    // Hello TLV: type 1, length 40, ?, active, ?, priority 100, ??,
    0x01, 0x28, 0x00, 0x20, 0x00, 0x64, 0x00, 0x00,
    // hello 3000, hold 10000, redirect 600, timeout 14400, ??,
    0x00, 0x00, 0x0b, 0xb8, 0x00, 0x00, 0x27, 0x10,
    0x02, 0x58, 0x38, 0x40, 0x00, 0x00,
    // address type 2, length 16, fe80::c800:8ff:fe64:aaaa.
    0x02, 0x10,
    0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xc8, 0x00, 0x08, 0xff, 0xfe, 0x64, 0xaa, 0xaa,
    // Request/Response TLV: forwarder 1, active, priority 167, weight 100,
    // vMAC 00:07:b4:03:fc:01.
    0x02, 0x14, 0x01, 0x20, 0x00, 0xa7, 0x64,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x07, 0xb4, 0x03, 0xfc, 0x01,
];

pub fn hello_v6() -> Packet {
    Packet {
        group: 1020,
        owner: [0xca, 0x00, 0x08, 0x64, 0xaa, 0xaa],
        tlvs: vec![
            Tlv::Hello(Hello {
                state: VgState::Active,
                priority: 100,
                hello_ms: 3000,
                hold_ms: 10000,
                redirect_s: 600,
                timeout_s: 14400,
                vip: IpAddr::V6(Ipv6Addr::new(
                    0xfe80, 0, 0, 0, 0xc800, 0x08ff, 0xfe64, 0xaaaa,
                )),
            }),
            Tlv::Forwarder(fwd(
                1,
                VfState::Active,
                167,
                [0, 0x07, 0xb4, 0x03, 0xfc, 0x01],
            )),
        ],
    }
}

/// Hello, an unknown TLV (type 9, length 6, data de ad be ef), forwarder 1.
#[rustfmt::skip]
pub const WITH_UNKNOWN: [u8; 66] = [
    0x01, 0x00, 0x00, 0x01, 0x00, 0x00,
    0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
    // Hello TLV as in AVG_HELLO_V4.
    0x01, 0x1c, 0x00, 0x20, 0x00, 0x6e, 0x00, 0x00,
    0x00, 0x00, 0x0b, 0xb8, 0x00, 0x00, 0x27, 0x10,
    0x02, 0x58, 0x38, 0x40, 0x00, 0x00, 0x01, 0x04,
    0xc0, 0x00, 0x02, 0x01,
    // Unknown TLV, offset 40: type 9, length 6.
    0x09, 0x06, 0xde, 0xad, 0xbe, 0xef,
    // Forwarder 1 as in AVG_HELLO_V4, offset 46.
    0x02, 0x14, 0x01, 0x20, 0x00, 0xa7, 0x64,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x07, 0xb4, 0x00, 0x01, 0x01,
];

pub fn with_unknown() -> Packet {
    Packet {
        group: 1,
        owner: OWNER,
        tlvs: vec![
            Tlv::Hello(avg_hello_v4_hello()),
            Tlv::Unknown {
                kind: 9,
                data: vec![0xde, 0xad, 0xbe, 0xef],
            },
            Tlv::Forwarder(fwd(1, VfState::Active, 167, [0, 0x07, 0xb4, 0, 1, 1])),
        ],
    }
}

/// Plain-text auth "s3cret", then the Hello TLV.
#[rustfmt::skip]
pub const WITH_AUTH: [u8; 50] = [
    0x01, 0x00, 0x00, 0x01, 0x00, 0x00,
    0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
    // Auth TLV: type 3, length 10, auth type 1 (plain text), data length 6,
    0x03, 0x0a, 0x01, 0x06,
    // "s3cret".
    b's', b'3', b'c', b'r', b'e', b't',
    // Hello TLV as in AVG_HELLO_V4.
    0x01, 0x1c, 0x00, 0x20, 0x00, 0x6e, 0x00, 0x00,
    0x00, 0x00, 0x0b, 0xb8, 0x00, 0x00, 0x27, 0x10,
    0x02, 0x58, 0x38, 0x40, 0x00, 0x00, 0x01, 0x04,
    0xc0, 0x00, 0x02, 0x01,
];

pub fn with_auth() -> Packet {
    Packet {
        group: 1,
        owner: OWNER,
        tlvs: vec![
            Tlv::Auth(Auth {
                auth_type: 1,
                data: b"s3cret".to_vec(),
            }),
            Tlv::Hello(avg_hello_v4_hello()),
        ],
    }
}

/// Every golden vector with its packet.
pub fn all() -> Vec<(&'static str, &'static [u8], Packet)> {
    vec![
        ("avg_hello_v4", &AVG_HELLO_V4, avg_hello_v4()),
        ("hello_v6", &HELLO_V6, hello_v6()),
        ("with_unknown", &WITH_UNKNOWN, with_unknown()),
        ("with_auth", &WITH_AUTH, with_auth()),
    ]
}
