//! State codes carried in the Hello (VG) and Request/Response (VF) TLVs.
//!
//! Listen/speak/standby/active are the codes Wireshark decodes
//! (GLBP-WIRE.md). Cisco's codes for disabled and initial are not public;
//! gw uses 1 and 2 (a router in those states does not send hellos anyway).
//! Any other code round-trips through `Unknown`, like smoltcp's
//! `enum_with_unknown!`.

use super::{VfState, VgState};

/// State codes.
pub mod code {
    pub const DISABLED: u8 = 0x01;
    pub const INITIAL: u8 = 0x02;
    pub const LISTEN: u8 = 0x04;
    pub const SPEAK: u8 = 0x08;
    pub const STANDBY: u8 = 0x10;
    pub const ACTIVE: u8 = 0x20;
}

impl VgState {
    /// Decodes a VG state; codes without a name become `Unknown`.
    pub const fn from_u8(value: u8) -> Self {
        match value {
            code::DISABLED => Self::Disabled,
            code::INITIAL => Self::Initial,
            code::LISTEN => Self::Listen,
            code::SPEAK => Self::Speak,
            code::STANDBY => Self::Standby,
            code::ACTIVE => Self::Active,
            other => Self::Unknown(other),
        }
    }

    /// The wire code (`Unknown(c)` gives `c`).
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::Disabled => code::DISABLED,
            Self::Initial => code::INITIAL,
            Self::Listen => code::LISTEN,
            Self::Speak => code::SPEAK,
            Self::Standby => code::STANDBY,
            Self::Active => code::ACTIVE,
            Self::Unknown(other) => other,
        }
    }
}

impl From<u8> for VgState {
    fn from(value: u8) -> Self {
        Self::from_u8(value)
    }
}

impl From<VgState> for u8 {
    fn from(state: VgState) -> Self {
        state.to_u8()
    }
}

impl VfState {
    /// Decodes a VF state; codes without a name become `Unknown`.
    pub const fn from_u8(value: u8) -> Self {
        match value {
            code::DISABLED => Self::Disabled,
            code::INITIAL => Self::Initial,
            code::LISTEN => Self::Listen,
            code::ACTIVE => Self::Active,
            other => Self::Unknown(other),
        }
    }

    /// The wire code (`Unknown(c)` gives `c`).
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::Disabled => code::DISABLED,
            Self::Initial => code::INITIAL,
            Self::Listen => code::LISTEN,
            Self::Active => code::ACTIVE,
            Self::Unknown(other) => other,
        }
    }
}

impl From<u8> for VfState {
    fn from(value: u8) -> Self {
        Self::from_u8(value)
    }
}

impl From<VfState> for u8 {
    fn from(state: VfState) -> Self {
        state.to_u8()
    }
}
