//! Group authentication: seals outgoing GLBP packets and checks incoming
//! ones before any engine sees them. Pure: time is passed in.
//!
//! Modes:
//! - `text`: Cisco-compatible plain text (auth type 1, up to 8 bytes). It
//!   stops accidents, not attackers: anyone on the LAN can read it.
//! - `hmac-sha256`: gw's own auth type (`AUTH_HMAC_SHA256`, which Cisco
//!   routers ignore). The TLV carries a key id, a sequence number and an
//!   HMAC-SHA256 over the whole GLBP payload with the MAC field zeroed.
//!   Two keys are accepted during a rollover (current and previous); the
//!   sequence number must increase per sender, so a captured hello cannot
//!   be replayed.
//!
//! Sequence numbers are microseconds of wall-clock time, made strictly
//! increasing per sender, so they keep increasing across an agent restart
//! without any saved state. A receiver that has no state for a sender (it
//! restarted, or the peer is new) accepts its first packet only if the
//! sequence is within `MAX_SKEW_US` of its own clock: a replay older than
//! that is refused even then. Routers sharing a group are expected to run
//! NTP, as they must for logs anyway.

mod keyfile;

use std::collections::HashMap;

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub use keyfile::read_key;

use crate::proto::{AUTH_PLAIN_TEXT, Auth, HEADER_LEN, Packet, TLV_AUTH, Tlv, TlvIter};

/// gw's HMAC-SHA256 auth type in TLV 3 (outside Cisco's 0..=3).
pub const AUTH_HMAC_SHA256: u8 = 0xe1;
/// key id (1) + sequence (8) + HMAC-SHA256 (32).
const HMAC_DATA_LEN: usize = 1 + 8 + 32;
/// Offset of the MAC inside the auth data.
const MAC_AT: usize = 1 + 8;
/// Longest plain-text password Cisco accepts.
pub const TEXT_MAX: usize = 8;
/// How far a first-seen sequence may be from our clock (60 s).
pub const MAX_SKEW_US: u64 = 60_000_000;
/// TLV header (2) + auth type (1) + data length (1) before the data.
const AUTH_DATA_AT: usize = 4;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    pub id: u8,
    pub secret: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    None,
    Text(Vec<u8>),
    /// Sign with `current`; accept `current` and `previous` (rollover).
    Hmac {
        current: Key,
        previous: Option<Key>,
    },
}

/// Why a packet failed authentication: each kind is a drop counter.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no authentication, but the group requires it")]
    Missing,
    #[error("carries authentication (type {0}), but the group has none configured")]
    Unexpected(u8),
    #[error("authentication type {got}, the group uses {want}")]
    WrongType { got: u8, want: u8 },
    #[error("wrong plain-text password")]
    BadPassword,
    #[error("malformed HMAC authentication data")]
    Malformed,
    #[error("unknown key id {0}")]
    UnknownKey(u8),
    #[error("HMAC does not verify")]
    BadMac,
    #[error("replayed or reordered: sequence {seq} not above {last}")]
    Replay { seq: u64, last: u64 },
    #[error("first packet from this sender is {skew_s} s away from our clock")]
    Stale { skew_s: u64 },
}

impl AuthError {
    /// Stable counter name.
    pub fn kind(&self) -> &'static str {
        match self {
            AuthError::Missing => "auth_missing",
            AuthError::Unexpected(_) => "auth_unexpected",
            AuthError::WrongType { .. } => "auth_wrong_type",
            AuthError::BadPassword => "auth_bad_password",
            AuthError::Malformed => "auth_malformed",
            AuthError::UnknownKey(_) => "auth_unknown_key",
            AuthError::BadMac => "auth_bad_mac",
            AuthError::Replay { .. } => "auth_replay",
            AuthError::Stale { .. } => "auth_stale",
        }
    }
}

pub struct Authenticator {
    mode: Mode,
    last_sent: u64,
    /// Highest sequence accepted per sender (owner MAC).
    seen: HashMap<[u8; 6], u64>,
}

impl Authenticator {
    pub fn new(mode: Mode) -> Self {
        Self {
            mode,
            last_sent: 0,
            seen: HashMap::new(),
        }
    }

    pub fn mode(&self) -> &Mode {
        &self.mode
    }

    /// The packet's bytes as sent, with the auth TLV appended (if any).
    /// `now_us`: wall-clock microseconds since the Unix epoch.
    pub fn seal(&mut self, pkt: &Packet, now_us: u64) -> Vec<u8> {
        match &self.mode {
            Mode::None => pkt.to_bytes(),
            Mode::Text(pw) => with_auth(pkt, AUTH_PLAIN_TEXT, pw.clone()).to_bytes(),
            Mode::Hmac { current, .. } => {
                let seq = now_us.max(self.last_sent + 1);
                self.last_sent = seq;
                let mut data = Vec::with_capacity(HMAC_DATA_LEN);
                data.push(current.id);
                data.extend_from_slice(&seq.to_be_bytes());
                data.extend_from_slice(&[0; 32]);
                let mut bytes = with_auth(pkt, AUTH_HMAC_SHA256, data).to_bytes();
                if let Some(at) = mac_offset(&bytes) {
                    let tag = hmac(&current.secret, &bytes);
                    bytes[at..at + 32].copy_from_slice(&tag);
                }
                bytes
            }
        }
    }

    /// Checks a parsed packet against its raw bytes. Never changes state on
    /// failure; on success records the sender's sequence.
    pub fn verify(&mut self, bytes: &[u8], pkt: &Packet, now_us: u64) -> Result<(), AuthError> {
        let auth = pkt.auth();
        match (&self.mode, auth) {
            (Mode::None, None) => Ok(()),
            (Mode::None, Some(a)) => Err(AuthError::Unexpected(a.auth_type)),
            (_, None) => Err(AuthError::Missing),
            (Mode::Text(pw), Some(a)) => {
                if a.auth_type != AUTH_PLAIN_TEXT {
                    return Err(AuthError::WrongType {
                        got: a.auth_type,
                        want: AUTH_PLAIN_TEXT,
                    });
                }
                // Constant-time compare: the password is the secret.
                if a.data.len() == pw.len()
                    && a.data.iter().zip(pw).fold(0, |acc, (x, y)| acc | (x ^ y)) == 0
                {
                    Ok(())
                } else {
                    Err(AuthError::BadPassword)
                }
            }
            (Mode::Hmac { current, previous }, Some(a)) => {
                if a.auth_type != AUTH_HMAC_SHA256 {
                    return Err(AuthError::WrongType {
                        got: a.auth_type,
                        want: AUTH_HMAC_SHA256,
                    });
                }
                if a.data.len() != HMAC_DATA_LEN {
                    return Err(AuthError::Malformed);
                }
                let id = a.data[0];
                let key = [Some(current), previous.as_ref()]
                    .into_iter()
                    .flatten()
                    .find(|k| k.id == id)
                    .ok_or(AuthError::UnknownKey(id))?;
                let at = mac_offset(bytes).ok_or(AuthError::Malformed)?;
                let mut zeroed = bytes.to_vec();
                zeroed[at..at + 32].fill(0);
                let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&key.secret)
                    .map_err(|_| AuthError::Malformed)?;
                m.update(&zeroed);
                m.verify_slice(&bytes[at..at + 32])
                    .map_err(|_| AuthError::BadMac)?;
                let mut s = [0u8; 8];
                s.copy_from_slice(&a.data[1..MAC_AT]);
                let seq = u64::from_be_bytes(s);
                match self.seen.get(&pkt.owner) {
                    Some(&last) if seq <= last => return Err(AuthError::Replay { seq, last }),
                    Some(_) => {}
                    None => {
                        let skew = seq.abs_diff(now_us);
                        if skew > MAX_SKEW_US {
                            return Err(AuthError::Stale {
                                skew_s: skew / 1_000_000,
                            });
                        }
                    }
                }
                self.seen.insert(pkt.owner, seq);
                Ok(())
            }
        }
    }
}

fn with_auth(pkt: &Packet, auth_type: u8, data: Vec<u8>) -> Packet {
    let mut p = pkt.clone();
    p.tlvs.retain(|t| !matches!(t, Tlv::Auth(_)));
    p.tlvs.push(Tlv::Auth(Auth { auth_type, data }));
    p
}

fn hmac(secret: &[u8], bytes: &[u8]) -> [u8; 32] {
    // new_from_slice accepts keys of any length for HMAC.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    m.update(bytes);
    m.finalize().into_bytes().into()
}

/// Where the HMAC sits in a message: in the first auth TLV of our type.
fn mac_offset(bytes: &[u8]) -> Option<usize> {
    let tlvs = bytes.get(HEADER_LEN..)?;
    for t in TlvIter::new(tlvs, HEADER_LEN) {
        let t = t.ok()?;
        if t.kind == TLV_AUTH
            && t.bytes.get(2) == Some(&AUTH_HMAC_SHA256)
            && t.bytes.len() >= AUTH_DATA_AT + HMAC_DATA_LEN
        {
            return Some(t.offset + AUTH_DATA_AT + MAC_AT);
        }
    }
    None
}

#[cfg(test)]
mod tests;
