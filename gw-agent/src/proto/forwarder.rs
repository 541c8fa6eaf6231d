//! TLV 2: Request/Response, one per virtual forwarder.

use super::error::DecodeError;
use super::field::{Field, get_array, get_u8, set_bytes};
use super::tlv::{RawTlv, TLV_FORWARDER, emit_header};
use super::{Forwarder, VfState};

//
// Request/Response TLV (GLBP-WIRE.md "TLV 2"), 20 bytes. "?" bytes are
// sent as zero and ignored on receive (Cisco keeps the remaining redirect
// and timeout seconds in the 7-byte one); a longer length is accepted and
// the trailing bytes ignored.
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |   Type (2)    |  Length (20)  |  Forwarder #  |   VF state    |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |       ?       |   Priority    |    Weight     |       ?       |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                               ?                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |               ?               |                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
// |                          Virtual MAC                          |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//

/// Request/Response TLV field offsets (from the type byte).
pub mod field {
    use super::Field;

    pub const NUMBER: usize = 2;
    pub const STATE: usize = 3;
    pub const UNKNOWN21: usize = 4;
    pub const PRIORITY: usize = 5;
    pub const WEIGHT: usize = 6;
    pub const UNKNOWN22: Field = 7..14;
    pub const VMAC: Field = 14..20;
}

/// Request/Response TLV length.
pub const FORWARDER_LEN: usize = field::VMAC.end;

/// Zero-copy view of a Request/Response TLV (type byte first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwarderTlv<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ForwarderTlv<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Ensures all 20 bytes are present; `offset` is only used in errors.
    pub fn check_len(&self, offset: usize) -> Result<(), DecodeError> {
        let len = self.buffer.as_ref().len();
        if len < FORWARDER_LEN {
            return Err(DecodeError::ForwarderTooShort {
                offset,
                length: u8::try_from(len).unwrap_or(u8::MAX),
                need: FORWARDER_LEN,
            });
        }
        Ok(())
    }

    pub fn number(&self) -> u8 {
        get_u8(self.buffer.as_ref(), field::NUMBER)
    }

    pub fn state(&self) -> VfState {
        VfState::from_u8(get_u8(self.buffer.as_ref(), field::STATE))
    }

    pub fn priority(&self) -> u8 {
        get_u8(self.buffer.as_ref(), field::PRIORITY)
    }

    pub fn weight(&self) -> u8 {
        get_u8(self.buffer.as_ref(), field::WEIGHT)
    }

    pub fn vmac(&self) -> [u8; 6] {
        get_array(self.buffer.as_ref(), field::VMAC)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ForwarderTlv<T> {
    pub fn set_number(&mut self, number: u8) {
        self.buffer.as_mut()[field::NUMBER] = number;
    }

    pub fn set_state(&mut self, state: VfState) {
        self.buffer.as_mut()[field::STATE] = state.to_u8();
    }

    pub fn set_priority(&mut self, priority: u8) {
        self.buffer.as_mut()[field::PRIORITY] = priority;
    }

    pub fn set_weight(&mut self, weight: u8) {
        self.buffer.as_mut()[field::WEIGHT] = weight;
    }

    pub fn set_vmac(&mut self, vmac: [u8; 6]) {
        set_bytes(self.buffer.as_mut(), field::VMAC, &vmac);
    }

    /// Zeroes the "?" bytes.
    pub fn clear_unknown(&mut self) {
        let buf = self.buffer.as_mut();
        buf[field::UNKNOWN21] = 0;
        set_bytes(buf, field::UNKNOWN22, &[0; 7]);
    }
}

impl Forwarder {
    /// Interprets a framed Request/Response TLV.
    pub fn parse(raw: &RawTlv<'_>) -> Result<Forwarder, DecodeError> {
        let tlv = ForwarderTlv::new_unchecked(raw.bytes);
        tlv.check_len(raw.offset)?;
        Ok(Forwarder {
            number: tlv.number(),
            state: tlv.state(),
            priority: tlv.priority(),
            weight: tlv.weight(),
            vmac: tlv.vmac(),
        })
    }

    /// Always 20.
    pub fn buffer_len(&self) -> usize {
        FORWARDER_LEN
    }

    /// Writes the TLV at the start of `buf`; panics if `buf` is shorter
    /// than 20 bytes.
    pub fn emit(&self, buf: &mut [u8]) {
        emit_header(buf, TLV_FORWARDER, FORWARDER_LEN);
        let mut tlv = ForwarderTlv::new_unchecked(&mut buf[..FORWARDER_LEN]);
        tlv.clear_unknown();
        tlv.set_number(self.number);
        tlv.set_state(self.state);
        tlv.set_priority(self.priority);
        tlv.set_weight(self.weight);
        tlv.set_vmac(self.vmac);
    }
}
