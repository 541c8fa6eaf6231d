//! The 12-byte GLBP header.

use super::error::DecodeError;
use super::field::{Field, get_array, get_u8, get_u16, set_bytes};

//
// GLBP header (GLBP-WIRE.md "Header"; "?" bytes are sent as zero and
// ignored on receive).
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Version (1)  |       ?       |         Group (0..1023)       |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |               ?               |                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
// |            Owner ID (the sender's interface MAC)              |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                         TLVs ...
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//

/// Header field offsets.
pub mod field {
    use super::Field;

    pub const VERSION: usize = 0;
    pub const UNKNOWN1: usize = 1;
    pub const GROUP: Field = 2..4;
    pub const UNKNOWN2: Field = 4..6;
    pub const OWNER: Field = 6..12;
    /// First TLV.
    pub const PAYLOAD: usize = 12;
}

/// Header length in bytes.
pub const HEADER_LEN: usize = field::PAYLOAD;
/// Highest GLBP group number.
pub const MAX_GROUP: u16 = 1023;

/// Zero-copy view of a GLBP header followed by its TLV bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Header<T> {
    /// Wraps a buffer without checking its length; getters return zeros
    /// for missing bytes, setters panic.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer after `check_len`.
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        let header = Self::new_unchecked(buffer);
        header.check_len()?;
        Ok(header)
    }

    /// Ensures the buffer holds the whole fixed header.
    pub fn check_len(&self) -> Result<(), DecodeError> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(DecodeError::HeaderTruncated { len });
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn version(&self) -> u8 {
        get_u8(self.buffer.as_ref(), field::VERSION)
    }

    pub fn group(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::GROUP)
    }

    pub fn owner(&self) -> [u8; 6] {
        get_array(self.buffer.as_ref(), field::OWNER)
    }

    /// The TLV bytes after the header (empty if there are none).
    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(field::PAYLOAD..).unwrap_or(&[])
    }

    /// Rejects versions other than 1 and groups above 1023.
    pub fn check_fields(&self) -> Result<(), DecodeError> {
        let version = self.version();
        if version != super::GLBP_VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let group = self.group();
        if group > MAX_GROUP {
            return Err(DecodeError::GroupOutOfRange(group));
        }
        Ok(())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Header<T> {
    pub fn set_version(&mut self, version: u8) {
        self.buffer.as_mut()[field::VERSION] = version;
    }

    pub fn set_group(&mut self, group: u16) {
        set_bytes(self.buffer.as_mut(), field::GROUP, &group.to_be_bytes());
    }

    pub fn set_owner(&mut self, owner: [u8; 6]) {
        set_bytes(self.buffer.as_mut(), field::OWNER, &owner);
    }

    /// Zeroes the "?" bytes.
    pub fn clear_unknown(&mut self) {
        let buf = self.buffer.as_mut();
        buf[field::UNKNOWN1] = 0;
        set_bytes(buf, field::UNKNOWN2, &[0; 2]);
    }

    /// Writes a whole header: version 1, zeroed "?" bytes, group, owner.
    pub fn emit(&mut self, group: u16, owner: [u8; 6]) {
        self.set_version(super::GLBP_VERSION);
        self.clear_unknown();
        self.set_group(group);
        self.set_owner(owner);
    }
}
