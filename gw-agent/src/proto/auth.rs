//! TLV 3: Authentication, kept raw (the auth code interprets it).

use super::Auth;
use super::error::DecodeError;
use super::field::get_u8;
use super::tlv::{RawTlv, TLV_AUTH, emit_header};

//
// Authentication TLV (GLBP-WIRE.md "TLV 3"). Bytes after the data, up to
// the TLV length, are ignored on receive and never sent.
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |   Type (3)    |    Length     |   Auth type   |  Data length  |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                  Auth data (Data length bytes) ...
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//

/// Authentication TLV field offsets (from the type byte).
pub mod field {
    pub const AUTH_TYPE: usize = 2;
    pub const DATA_LEN: usize = 3;
    pub const DATA: usize = 4;
}

/// Bytes before the auth data.
pub const AUTH_FIXED_LEN: usize = field::DATA;
/// Longest auth data a TLV can carry; `emit` truncates longer data.
pub const AUTH_MAX_DATA: usize = u8::MAX as usize - AUTH_FIXED_LEN;

/// Auth type codes (Wireshark names); gw's HMAC-SHA256 type lives with the
/// auth code.
pub const AUTH_NONE: u8 = 0;
pub const AUTH_PLAIN_TEXT: u8 = 1;
pub const AUTH_MD5_STRING: u8 = 2;
pub const AUTH_MD5_CHAIN: u8 = 3;

/// Zero-copy view of an Authentication TLV (type byte first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthTlv<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> AuthTlv<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Ensures the fixed part is present and the data fits in the TLV;
    /// `offset` is only used in errors.
    pub fn check_len(&self, offset: usize) -> Result<(), DecodeError> {
        let len = self.buffer.as_ref().len();
        if len < AUTH_FIXED_LEN {
            return Err(DecodeError::AuthTooShort {
                offset,
                length: u8::try_from(len).unwrap_or(u8::MAX),
                need: AUTH_FIXED_LEN,
            });
        }
        let data_len = self.data_len();
        let room = len - AUTH_FIXED_LEN;
        if usize::from(data_len) > room {
            return Err(DecodeError::AuthDataPastEnd {
                offset,
                data_len,
                room,
            });
        }
        Ok(())
    }

    pub fn auth_type(&self) -> u8 {
        get_u8(self.buffer.as_ref(), field::AUTH_TYPE)
    }

    pub fn data_len(&self) -> u8 {
        get_u8(self.buffer.as_ref(), field::DATA_LEN)
    }

    /// The auth data (as much of it as the buffer holds).
    pub fn data(&self) -> &[u8] {
        let buf = self.buffer.as_ref();
        let end = field::DATA + usize::from(self.data_len());
        buf.get(field::DATA..end.min(buf.len())).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> AuthTlv<T> {
    pub fn set_auth_type(&mut self, auth_type: u8) {
        self.buffer.as_mut()[field::AUTH_TYPE] = auth_type;
    }

    /// Writes the data length and the data.
    pub fn set_data(&mut self, data: &[u8]) {
        let buf = self.buffer.as_mut();
        buf[field::DATA_LEN] = u8::try_from(data.len()).unwrap_or(u8::MAX);
        buf[field::DATA..field::DATA + data.len()].copy_from_slice(data);
    }
}

impl Auth {
    /// Interprets a framed Authentication TLV.
    pub fn parse(raw: &RawTlv<'_>) -> Result<Auth, DecodeError> {
        let tlv = AuthTlv::new_unchecked(raw.bytes);
        tlv.check_len(raw.offset)?;
        Ok(Auth {
            auth_type: tlv.auth_type(),
            data: tlv.data().to_vec(),
        })
    }

    /// 4 plus the data length (data beyond `AUTH_MAX_DATA` is not sent).
    pub fn buffer_len(&self) -> usize {
        AUTH_FIXED_LEN + self.data.len().min(AUTH_MAX_DATA)
    }

    /// Writes the TLV at the start of `buf`; panics if `buf` is shorter
    /// than `buffer_len()`. Data longer than `AUTH_MAX_DATA` is cut.
    pub fn emit(&self, buf: &mut [u8]) {
        let len = self.buffer_len();
        let data = self.data.get(..AUTH_MAX_DATA).unwrap_or(&self.data);
        emit_header(buf, TLV_AUTH, len);
        let mut tlv = AuthTlv::new_unchecked(&mut buf[..len]);
        tlv.set_auth_type(self.auth_type);
        tlv.set_data(data);
    }
}
