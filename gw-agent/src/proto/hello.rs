//! TLV 1: Hello.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::error::DecodeError;
use super::field::{Field, get_array, get_u8, get_u16, get_u32, set_bytes};
use super::tlv::{RawTlv, TLV_HELLO, emit_header};
use super::{Hello, VgState};

//
// Hello TLV (GLBP-WIRE.md "TLV 1"): 28 bytes with an IPv4 address, 40 with
// IPv6. "?" bytes are sent as zero and ignored on receive; a longer length
// is accepted and the trailing bytes ignored.
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |   Type (1)    |  Length (28)  |       ?       |   VG state    |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |       ?       |   Priority    |               ?               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                         Hello time (ms)                       |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                         Hold time (ms)                        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |       Redirect time (s)       |          Timeout (s)          |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |               ?               |  Addr type    |  Addr length  |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |          Virtual IP (4 bytes for type 1, 16 for type 2)       |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//

/// Hello TLV field offsets (from the type byte).
pub mod field {
    use super::Field;

    pub const UNKNOWN10: usize = 2;
    pub const STATE: usize = 3;
    pub const UNKNOWN11: usize = 4;
    pub const PRIORITY: usize = 5;
    pub const UNKNOWN12: Field = 6..8;
    pub const HELLO_MS: Field = 8..12;
    pub const HOLD_MS: Field = 12..16;
    pub const REDIRECT_S: Field = 16..18;
    pub const TIMEOUT_S: Field = 18..20;
    pub const UNKNOWN13: Field = 20..22;
    pub const ADDR_TYPE: usize = 22;
    pub const ADDR_LEN: usize = 23;
    pub const ADDR: usize = 24;
}

/// Bytes before the address.
pub const HELLO_FIXED_LEN: usize = field::ADDR;
/// Hello TLV length with an IPv4 / IPv6 virtual IP.
pub const HELLO_LEN_V4: usize = HELLO_FIXED_LEN + 4;
pub const HELLO_LEN_V6: usize = HELLO_FIXED_LEN + 16;
/// Address type codes.
pub const ADDR_TYPE_IPV4: u8 = 1;
pub const ADDR_TYPE_IPV6: u8 = 2;

/// Zero-copy view of a Hello TLV (type byte first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HelloTlv<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> HelloTlv<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Ensures the fixed part is present, the address type and length
    /// agree, and the address fits. `offset` is only used in errors.
    pub fn check_len(&self, offset: usize) -> Result<(), DecodeError> {
        let len = self.buffer.as_ref().len();
        let length = u8::try_from(len).unwrap_or(u8::MAX);
        if len < HELLO_FIXED_LEN {
            return Err(DecodeError::HelloTooShort {
                offset,
                length,
                need: HELLO_FIXED_LEN,
            });
        }
        let (addr_type, addr_len) = (self.addr_type(), self.addr_len());
        let expected = match addr_type {
            ADDR_TYPE_IPV4 => 4,
            ADDR_TYPE_IPV6 => 16,
            _ => return Err(DecodeError::HelloAddressType { offset, addr_type }),
        };
        if addr_len != expected {
            return Err(DecodeError::HelloAddressLength {
                offset,
                addr_type,
                addr_len,
            });
        }
        let need = HELLO_FIXED_LEN + usize::from(addr_len);
        if len < need {
            return Err(DecodeError::HelloTooShort {
                offset,
                length,
                need,
            });
        }
        Ok(())
    }

    pub fn state(&self) -> VgState {
        VgState::from_u8(get_u8(self.buffer.as_ref(), field::STATE))
    }

    pub fn priority(&self) -> u8 {
        get_u8(self.buffer.as_ref(), field::PRIORITY)
    }

    pub fn hello_ms(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::HELLO_MS)
    }

    pub fn hold_ms(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::HOLD_MS)
    }

    pub fn redirect_s(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::REDIRECT_S)
    }

    pub fn timeout_s(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::TIMEOUT_S)
    }

    pub fn addr_type(&self) -> u8 {
        get_u8(self.buffer.as_ref(), field::ADDR_TYPE)
    }

    pub fn addr_len(&self) -> u8 {
        get_u8(self.buffer.as_ref(), field::ADDR_LEN)
    }

    /// The virtual IP per the address type (None for unknown types).
    pub fn vip(&self) -> Option<IpAddr> {
        let buf = self.buffer.as_ref();
        match self.addr_type() {
            ADDR_TYPE_IPV4 => Some(Ipv4Addr::from(get_array::<4>(buf, addr_field(4))).into()),
            ADDR_TYPE_IPV6 => Some(Ipv6Addr::from(get_array::<16>(buf, addr_field(16))).into()),
            _ => None,
        }
    }
}

const fn addr_field(len: usize) -> Field {
    field::ADDR..field::ADDR + len
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> HelloTlv<T> {
    pub fn set_state(&mut self, state: VgState) {
        self.buffer.as_mut()[field::STATE] = state.to_u8();
    }

    pub fn set_priority(&mut self, priority: u8) {
        self.buffer.as_mut()[field::PRIORITY] = priority;
    }

    pub fn set_hello_ms(&mut self, ms: u32) {
        set_bytes(self.buffer.as_mut(), field::HELLO_MS, &ms.to_be_bytes());
    }

    pub fn set_hold_ms(&mut self, ms: u32) {
        set_bytes(self.buffer.as_mut(), field::HOLD_MS, &ms.to_be_bytes());
    }

    pub fn set_redirect_s(&mut self, s: u16) {
        set_bytes(self.buffer.as_mut(), field::REDIRECT_S, &s.to_be_bytes());
    }

    pub fn set_timeout_s(&mut self, s: u16) {
        set_bytes(self.buffer.as_mut(), field::TIMEOUT_S, &s.to_be_bytes());
    }

    /// Writes address type, address length and the address.
    pub fn set_vip(&mut self, vip: IpAddr) {
        let buf = self.buffer.as_mut();
        let (addr_type, octets): (u8, &[u8]) = match &vip {
            IpAddr::V4(v4) => (ADDR_TYPE_IPV4, &v4.octets()),
            IpAddr::V6(v6) => (ADDR_TYPE_IPV6, &v6.octets()),
        };
        buf[field::ADDR_TYPE] = addr_type;
        buf[field::ADDR_LEN] = octets.len() as u8; // 4 or 16
        set_bytes(buf, addr_field(octets.len()), octets);
    }

    /// Zeroes the "?" bytes.
    pub fn clear_unknown(&mut self) {
        let buf = self.buffer.as_mut();
        buf[field::UNKNOWN10] = 0;
        buf[field::UNKNOWN11] = 0;
        set_bytes(buf, field::UNKNOWN12, &[0; 2]);
        set_bytes(buf, field::UNKNOWN13, &[0; 2]);
    }
}

impl Hello {
    /// Interprets a framed Hello TLV.
    pub fn parse(raw: &RawTlv<'_>) -> Result<Hello, DecodeError> {
        let tlv = HelloTlv::new_unchecked(raw.bytes);
        tlv.check_len(raw.offset)?;
        let vip = tlv.vip().ok_or(DecodeError::HelloAddressType {
            offset: raw.offset,
            addr_type: tlv.addr_type(),
        })?;
        Ok(Hello {
            state: tlv.state(),
            priority: tlv.priority(),
            hello_ms: tlv.hello_ms(),
            hold_ms: tlv.hold_ms(),
            redirect_s: tlv.redirect_s(),
            timeout_s: tlv.timeout_s(),
            vip,
        })
    }

    /// 28 for an IPv4 VIP, 40 for IPv6.
    pub fn buffer_len(&self) -> usize {
        match self.vip {
            IpAddr::V4(_) => HELLO_LEN_V4,
            IpAddr::V6(_) => HELLO_LEN_V6,
        }
    }

    /// Writes the TLV at the start of `buf`; panics if `buf` is shorter
    /// than `buffer_len()`.
    pub fn emit(&self, buf: &mut [u8]) {
        let len = self.buffer_len();
        emit_header(buf, TLV_HELLO, len);
        let mut tlv = HelloTlv::new_unchecked(&mut buf[..len]);
        tlv.clear_unknown();
        tlv.set_state(self.state);
        tlv.set_priority(self.priority);
        tlv.set_hello_ms(self.hello_ms);
        tlv.set_hold_ms(self.hold_ms);
        tlv.set_redirect_s(self.redirect_s);
        tlv.set_timeout_s(self.timeout_s);
        tlv.set_vip(self.vip);
    }
}
