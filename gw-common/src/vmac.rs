//! The GLBP virtual MAC scheme: `00:07:b4:0G:GG:FF`, where `GGG` is the group
//! number in 10 bits and `FF` the forwarder number (1..=255).
//!
//! The XDP program checks the 3-byte prefix before any map lookup, so frames
//! to ordinary MACs pay one compare, not a hash lookup.

/// Cisco's OUI block for GLBP virtual MACs.
pub const VMAC_PREFIX: [u8; 3] = [0x00, 0x07, 0xb4];

/// The vMAC of forwarder `fwd` in `group`. The group is masked to 10 bits.
#[inline(always)]
pub const fn vmac(group: u16, fwd: u8) -> [u8; 6] {
    [
        VMAC_PREFIX[0],
        VMAC_PREFIX[1],
        VMAC_PREFIX[2],
        ((group >> 8) & 0x03) as u8,
        (group & 0xff) as u8,
        fwd,
    ]
}

/// True when `mac` starts with the GLBP prefix (cheap pre-filter).
#[inline(always)]
pub const fn has_vmac_prefix(mac: &[u8; 6]) -> bool {
    mac[0] == VMAC_PREFIX[0] && mac[1] == VMAC_PREFIX[1] && mac[2] == VMAC_PREFIX[2]
}

/// Splits a vMAC into (group, forwarder); `None` if it is not one.
pub const fn parse_vmac(mac: &[u8; 6]) -> Option<(u16, u8)> {
    if !has_vmac_prefix(mac) || mac[3] > 0x03 || mac[5] == 0 {
        return None;
    }
    Some((((mac[3] as u16) << 8) | mac[4] as u16, mac[5]))
}

/// The group's default virtual IPv6 link-local address, as Cisco derives
/// it for `glbp N ipv6 autoconfig`: fe80:: plus the modified EUI-64
/// interface id of the group's forwarder-0 MAC `00:07:b4:0G:GG:00`, with
/// the universal/local bit left as it is (Cisco shows group 1 as
/// `FE80::7:B4FF:FE00:100`, not `FE80::207:...`): `fe80::7:b4ff:fe0G:GG00`.
pub const fn virtual_link_local(group: u16) -> [u8; 16] {
    let m = vmac(group, 0);
    [
        0xfe, 0x80, 0, 0, 0, 0, 0, 0, m[0], m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5],
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_matches_wire_doc() {
        // GLBP-WIRE.md: group 1020, forwarder 1 is 00:07:b4:03:fc:01.
        assert_eq!(vmac(1020, 1), [0x00, 0x07, 0xb4, 0x03, 0xfc, 0x01]);
        assert_eq!(vmac(1, 2), [0x00, 0x07, 0xb4, 0x00, 0x01, 0x02]);
        assert_eq!(parse_vmac(&vmac(1020, 1)), Some((1020, 1)));
    }

    #[test]
    fn virtual_link_local_is_ciscos() {
        // fe80::7:b4ff:fe00:100 for group 1, fe80::7:b4ff:fe03:fc00 for 1020.
        let g1 = [
            0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x07, 0xb4, 0xff, 0xfe, 0, 0x01, 0,
        ];
        assert_eq!(virtual_link_local(1), g1);
        assert_eq!(virtual_link_local(1020)[13..], [0x03, 0xfc, 0x00]);
    }

    #[test]
    fn round_trip_all() {
        for g in 0..=crate::MAX_GROUP_NUMBER {
            for f in 1..=255u8 {
                assert_eq!(parse_vmac(&vmac(g, f)), Some((g, f)));
            }
        }
    }

    #[test]
    fn rejects_non_vmacs() {
        assert_eq!(parse_vmac(&[0x00, 0x07, 0xb4, 0x04, 0x00, 0x01]), None);
        assert_eq!(parse_vmac(&[0x00, 0x07, 0xb4, 0x00, 0x01, 0x00]), None);
        assert_eq!(parse_vmac(&[0x02, 0x07, 0xb4, 0x00, 0x01, 0x01]), None);
    }
}
