//! GLBP wire codec: bytes <-> typed messages. No I/O.
//!
//! Layout per ../shared/GLBP-WIRE.md (what Wireshark's dissector decodes;
//! `tests/tshark.rs` checks our output against tshark). Read that first.
//!
//! Panic contract: `Packet::parse` never panics on any input; it returns a
//! `DecodeError` naming what failed. `Packet::emit` panics only if the
//! buffer is shorter than `Packet::buffer_len()` (a caller bug).
//!
//! The types below are the stable interface the engine and the runtime use.
//! Each has the usual smoltcp trio `parse`/`emit`/`buffer_len`; the
//! zero-copy views (`Header`, `HelloTlv`, `ForwarderTlv`, `AuthTlv`) hold
//! the RFC-style packet diagrams; field offsets are in each module's
//! `field` submodule (e.g. `hello::field::STATE`):
//!
//! - `header.rs`: the 12-byte header,
//! - `tlv.rs`: TLV framing (`TlvIter`) and dispatch by type,
//! - `hello.rs`, `forwarder.rs`, `auth.rs`: TLVs 1, 2 and 3,
//! - `state.rs`: VG/VF state codes, `error.rs`: `DecodeError`,
//! - `packet.rs`: `Packet::parse`/`emit`.
//!
//! Encoding rules: "?" bytes are sent as zero and ignored on receive; TLVs
//! are emitted in the order given; unknown TLV types are kept, not errors;
//! Hello/Forwarder/Auth TLVs longer than needed are accepted and the extra
//! bytes ignored. Fields are emitted as given (no range checks on send).

pub mod auth;
mod error;
mod field;
pub mod forwarder;
pub mod header;
pub mod hello;
mod packet;
pub mod state;
pub mod tlv;

#[cfg(test)]
mod tests;

pub use auth::{
    AUTH_FIXED_LEN, AUTH_MAX_DATA, AUTH_MD5_CHAIN, AUTH_MD5_STRING, AUTH_NONE, AUTH_PLAIN_TEXT,
    AuthTlv,
};
pub use error::DecodeError;
pub use forwarder::{FORWARDER_LEN, ForwarderTlv};
pub use header::{HEADER_LEN, Header, MAX_GROUP};
pub use hello::{
    ADDR_TYPE_IPV4, ADDR_TYPE_IPV6, HELLO_FIXED_LEN, HELLO_LEN_V4, HELLO_LEN_V6, HelloTlv,
};
pub use state::code as state_code;
pub use tlv::{
    RawTlv, TLV_AUTH, TLV_FORWARDER, TLV_HEADER_LEN, TLV_HELLO, TLV_MAX_LEN, TlvIter,
    UNKNOWN_MAX_DATA,
};

use std::net::IpAddr;

/// GLBP runs over UDP port 3222, to 224.0.0.102 (IPv4) / ff02::66 (IPv6).
pub const GLBP_PORT: u16 = 3222;
pub const GLBP_MCAST_V4: std::net::Ipv4Addr = std::net::Ipv4Addr::new(224, 0, 0, 102);
pub const GLBP_MCAST_V6: std::net::Ipv6Addr =
    std::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x66);
/// Every GLBP packet is sent with TTL / hop limit 255 and must arrive so.
pub const GLBP_TTL: u8 = 255;
pub const GLBP_VERSION: u8 = 1;

/// Virtual gateway state as carried in the Hello TLV.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VgState {
    Disabled,
    Initial,
    Listen,
    Speak,
    Standby,
    Active,
    Unknown(u8),
}

/// Virtual forwarder state as carried in the Request/Response TLV.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VfState {
    Disabled,
    Initial,
    Listen,
    Active,
    Unknown(u8),
}

/// TLV 1: Hello.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    pub state: VgState,
    /// 1..=255.
    pub priority: u8,
    pub hello_ms: u32,
    pub hold_ms: u32,
    pub redirect_s: u16,
    pub timeout_s: u16,
    /// IPv4 (TLV length 28) or IPv6 (TLV length 40).
    pub vip: IpAddr,
}

/// TLV 2: Request/Response, one per virtual forwarder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forwarder {
    /// 1..=255.
    pub number: u8,
    pub state: VfState,
    /// Cisco: 167 on the owner (primary), 135 on a router that took it over.
    pub priority: u8,
    /// 1..=254.
    pub weight: u8,
    pub vmac: [u8; 6],
}

/// TLV 3: Authentication, kept raw here; interpretation lives with the
/// auth code (type 0 none, 1 plain text, 2/3 MD5, ours for HMAC-SHA256).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Auth {
    pub auth_type: u8,
    pub data: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tlv {
    Hello(Hello),
    Forwarder(Forwarder),
    Auth(Auth),
    /// Unknown TLV types are kept (and skipped by the engine), never fatal.
    Unknown {
        kind: u8,
        data: Vec<u8>,
    },
}

/// A whole GLBP message: 12-byte header plus TLVs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// 0..=1023.
    pub group: u16,
    /// The sender's interface MAC.
    pub owner: [u8; 6],
    pub tlvs: Vec<Tlv>,
}
