//! TLV framing: walking the TLVs of a message and dispatching by type.

use super::error::DecodeError;
use super::{Auth, Forwarder, Hello, Tlv};

//
// Every TLV (GLBP-WIRE.md "Header": the length counts the type and length
// bytes too, so a valid length is at least 2).
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |     Type      |    Length     |  Value (Length - 2 bytes) ...
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//

/// TLV framing field offsets.
pub mod field {
    pub const TYPE: usize = 0;
    pub const LENGTH: usize = 1;
    pub const VALUE: usize = 2;
}

/// Type and length bytes.
pub const TLV_HEADER_LEN: usize = field::VALUE;
/// The length byte caps a TLV at 255 bytes.
pub const TLV_MAX_LEN: usize = u8::MAX as usize;
/// Longest `Tlv::Unknown` data that fits; `emit` truncates longer data.
pub const UNKNOWN_MAX_DATA: usize = TLV_MAX_LEN - TLV_HEADER_LEN;

/// TLV type codes.
pub const TLV_HELLO: u8 = 1;
/// Request/Response, one per virtual forwarder.
pub const TLV_FORWARDER: u8 = 2;
/// Authentication.
pub const TLV_AUTH: u8 = 3;

/// One TLV as framed on the wire, not yet interpreted. `bytes` is the whole
/// TLV (type and length included), exactly `length` bytes long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawTlv<'a> {
    pub kind: u8,
    /// Offset of the type byte from the start of the message.
    pub offset: usize,
    pub bytes: &'a [u8],
}

impl RawTlv<'_> {
    /// The length byte (always equal to `bytes.len()`).
    pub fn length(&self) -> u8 {
        u8::try_from(self.bytes.len()).unwrap_or(u8::MAX)
    }

    /// The bytes after type and length.
    pub fn value(&self) -> &[u8] {
        self.bytes.get(field::VALUE..).unwrap_or(&[])
    }
}

/// Walks the TLVs of a message payload. Yields the first framing error
/// and then stops.
#[derive(Clone, Debug)]
pub struct TlvIter<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Offset of `buf` from the start of the message, for error offsets.
    base: usize,
    failed: bool,
}

impl<'a> TlvIter<'a> {
    /// `payload` starts at byte `base` of the message.
    pub fn new(payload: &'a [u8], base: usize) -> Self {
        Self {
            buf: payload,
            pos: 0,
            base,
            failed: false,
        }
    }

    fn next_raw(&mut self, rest: &'a [u8]) -> Result<RawTlv<'a>, DecodeError> {
        let offset = self.base + self.pos;
        let (kind, length) = match *rest {
            [kind, length, ..] => (kind, length),
            _ => {
                return Err(DecodeError::TlvTruncated {
                    offset,
                    left: rest.len(),
                });
            }
        };
        if usize::from(length) < TLV_HEADER_LEN {
            return Err(DecodeError::TlvLengthTooSmall {
                kind,
                offset,
                length,
            });
        }
        let bytes = rest
            .get(..usize::from(length))
            .ok_or(DecodeError::TlvPastEnd {
                offset,
                length,
                left: rest.len(),
            })?;
        self.pos += bytes.len();
        Ok(RawTlv {
            kind,
            offset,
            bytes,
        })
    }
}

impl<'a> Iterator for TlvIter<'a> {
    type Item = Result<RawTlv<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let rest = self.buf.get(self.pos..).filter(|r| !r.is_empty())?;
        let item = self.next_raw(rest);
        self.failed = item.is_err();
        Some(item)
    }
}

/// Writes a TLV's type and length bytes.
pub(super) fn emit_header(buf: &mut [u8], kind: u8, length: usize) {
    buf[field::TYPE] = kind;
    buf[field::LENGTH] = u8::try_from(length).unwrap_or(u8::MAX);
}

impl Tlv {
    /// Interprets a framed TLV. Unknown types are kept, never an error.
    pub fn parse(raw: &RawTlv<'_>) -> Result<Tlv, DecodeError> {
        Ok(match raw.kind {
            TLV_HELLO => Tlv::Hello(Hello::parse(raw)?),
            TLV_FORWARDER => Tlv::Forwarder(Forwarder::parse(raw)?),
            TLV_AUTH => Tlv::Auth(Auth::parse(raw)?),
            kind => Tlv::Unknown {
                kind,
                data: raw.value().to_vec(),
            },
        })
    }

    /// The TLV type byte.
    pub fn kind(&self) -> u8 {
        match self {
            Tlv::Hello(_) => TLV_HELLO,
            Tlv::Forwarder(_) => TLV_FORWARDER,
            Tlv::Auth(_) => TLV_AUTH,
            Tlv::Unknown { kind, .. } => *kind,
        }
    }

    /// Bytes `emit` writes.
    pub fn buffer_len(&self) -> usize {
        match self {
            Tlv::Hello(hello) => hello.buffer_len(),
            Tlv::Forwarder(fwd) => fwd.buffer_len(),
            Tlv::Auth(auth) => auth.buffer_len(),
            Tlv::Unknown { data, .. } => TLV_HEADER_LEN + data.len().min(UNKNOWN_MAX_DATA),
        }
    }

    /// Writes the TLV at the start of `buf`. Panics if `buf` is shorter
    /// than `buffer_len()`. Unknown TLVs are written raw, whatever their
    /// type; data longer than `UNKNOWN_MAX_DATA` is cut.
    pub fn emit(&self, buf: &mut [u8]) {
        match self {
            Tlv::Hello(hello) => hello.emit(buf),
            Tlv::Forwarder(fwd) => fwd.emit(buf),
            Tlv::Auth(auth) => auth.emit(buf),
            Tlv::Unknown { kind, data } => {
                let data = data.get(..UNKNOWN_MAX_DATA).unwrap_or(data);
                emit_header(buf, *kind, TLV_HEADER_LEN + data.len());
                buf[field::VALUE..field::VALUE + data.len()].copy_from_slice(data);
            }
        }
    }
}
