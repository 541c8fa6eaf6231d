//! Decode errors: each says what failed and where (byte offsets count from
//! the first byte of the GLBP message, i.e. the UDP payload), and each kind
//! has a stable counter name for drop statistics.

use super::header::{HEADER_LEN, MAX_GROUP};
use super::tlv::TLV_HEADER_LEN;

/// Why `Packet::parse` rejected a message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer than 12 bytes.
    #[error("header truncated: {len} bytes, need {HEADER_LEN}")]
    HeaderTruncated { len: usize },
    /// Version byte other than 1.
    #[error("unsupported version {0}")]
    UnsupportedVersion(u8),
    /// Group number above 1023.
    #[error("group {0} out of range 0..={MAX_GROUP}")]
    GroupOutOfRange(u16),
    /// A single stray byte where a TLV header (type, length) should start.
    #[error("TLV at offset {offset} truncated: {left} byte left, need {TLV_HEADER_LEN}")]
    TlvTruncated { offset: usize, left: usize },
    /// TLV length 0 or 1: it must count its own type and length bytes.
    #[error("TLV type {kind} at offset {offset}: length {length}")]
    TlvLengthTooSmall { kind: u8, offset: usize, length: u8 },
    /// TLV length runs past the end of the message.
    #[error("TLV at offset {offset} runs past end (length {length}, {left} bytes left)")]
    TlvPastEnd {
        offset: usize,
        length: u8,
        left: usize,
    },
    /// Hello TLV too short for its fixed part or for its address.
    #[error("Hello TLV at offset {offset}: length {length}, need {need}")]
    HelloTooShort {
        offset: usize,
        length: u8,
        need: usize,
    },
    /// Hello TLV address type other than 1 (IPv4) or 2 (IPv6).
    #[error("Hello TLV at offset {offset}: unknown address type {addr_type}")]
    HelloAddressType { offset: usize, addr_type: u8 },
    /// Hello TLV address length other than 4 for type 1 or 16 for type 2.
    #[error(
        "Hello TLV at offset {offset}: address length {addr_len} does not match type {addr_type}"
    )]
    HelloAddressLength {
        offset: usize,
        addr_type: u8,
        addr_len: u8,
    },
    /// Request/Response TLV shorter than 20 bytes.
    #[error("Forwarder TLV at offset {offset}: length {length}, need {need}")]
    ForwarderTooShort {
        offset: usize,
        length: u8,
        need: usize,
    },
    /// Auth TLV shorter than its 4 fixed bytes.
    #[error("Auth TLV at offset {offset}: length {length}, need {need}")]
    AuthTooShort {
        offset: usize,
        length: u8,
        need: usize,
    },
    /// Auth data length runs past the end of the Auth TLV.
    #[error(
        "Auth TLV at offset {offset}: data length {data_len} runs past TLV end ({room} bytes left)"
    )]
    AuthDataPastEnd {
        offset: usize,
        data_len: u8,
        room: usize,
    },
}

impl DecodeError {
    /// Every value `kind()` can return, for registering counters up front.
    pub const KINDS: [&'static str; 12] = [
        "header_truncated",
        "unsupported_version",
        "group_out_of_range",
        "tlv_truncated",
        "tlv_length_too_small",
        "tlv_past_end",
        "hello_too_short",
        "hello_address_type",
        "hello_address_length",
        "forwarder_too_short",
        "auth_too_short",
        "auth_data_past_end",
    ];

    /// Short, stable snake_case name of this error kind (a drop counter key).
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::HeaderTruncated { .. } => "header_truncated",
            Self::UnsupportedVersion(_) => "unsupported_version",
            Self::GroupOutOfRange(_) => "group_out_of_range",
            Self::TlvTruncated { .. } => "tlv_truncated",
            Self::TlvLengthTooSmall { .. } => "tlv_length_too_small",
            Self::TlvPastEnd { .. } => "tlv_past_end",
            Self::HelloTooShort { .. } => "hello_too_short",
            Self::HelloAddressType { .. } => "hello_address_type",
            Self::HelloAddressLength { .. } => "hello_address_length",
            Self::ForwarderTooShort { .. } => "forwarder_too_short",
            Self::AuthTooShort { .. } => "auth_too_short",
            Self::AuthDataPastEnd { .. } => "auth_data_past_end",
        }
    }
}
