//! Tracked objects (`groups[].track`): things whose failure lowers this
//! router's weighting by their decrement (Cisco `glbp weighting track`).
//!
//! Each entry names exactly one object:
//! - `{"interface": "eth1"}`: up while the link is administratively up and
//!   has carrier (IFF_UP and IFF_LOWER_UP);
//! - `{"route": "203.0.113.0/24"}`: up while the routing table has a usable
//!   route at least as specific as the prefix (a default route does not
//!   count; a route whose next hops are all link-down or dead does not
//!   either);
//! - `{"next_hop": "198.51.100.2"}`: up while the address is on a directly
//!   connected subnet whose link is up;
//! - `{"script": "/path"}`: run every `interval_ms`, up while it exits 0
//!   within `timeout_ms`.
//!
//! Syntax is checked here; whether an interface exists is checked when the
//! agent starts (`check` may run on another machine).

use std::{net::Ipv4Addr, path::PathBuf};

use serde::{Deserialize, Serialize};

use super::{ConfigError, err};

/// Cisco's default decrement.
pub const DEFAULT_DECREMENT: u32 = 10;
pub const DEFAULT_SCRIPT_INTERVAL_MS: u32 = 2000;
pub const DEFAULT_SCRIPT_TIMEOUT_MS: u32 = 1000;
/// Route lookups are redone on every route and link event; the interval is
/// a safety net for events lost to a full netlink socket buffer.
pub const DEFAULT_ROUTE_INTERVAL_MS: u32 = 5000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Track {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_hop: Option<Ipv4Addr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<PathBuf>,
    /// Subtracted from the weight while the object is down. A u32 so an
    /// out-of-range value is reported with its field, not as a JSON error.
    #[serde(default = "default_decrement")]
    pub decrement: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_ms: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u32>,
}

fn default_decrement() -> u32 {
    DEFAULT_DECREMENT
}

/// A validated tracked object, as the watchers (`net::track`) see it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TrackObject {
    Interface(String),
    Route {
        addr: Ipv4Addr,
        len: u8,
        interval_ms: u32,
    },
    NextHop {
        addr: Ipv4Addr,
        interval_ms: u32,
    },
    Script {
        path: PathBuf,
        interval_ms: u32,
        timeout_ms: u32,
    },
}

impl std::fmt::Display for TrackObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrackObject::Interface(n) => write!(f, "interface {n}"),
            TrackObject::Route { addr, len, .. } => write!(f, "route {addr}/{len}"),
            TrackObject::NextHop { addr, .. } => write!(f, "next hop {addr}"),
            TrackObject::Script { path, .. } => write!(f, "script {}", path.display()),
        }
    }
}

/// "A.B.C.D/L" with no host bits set.
pub fn parse_prefix(s: &str) -> Result<(Ipv4Addr, u8), String> {
    let (a, l) = s
        .split_once('/')
        .ok_or_else(|| format!("{s:?} is not a prefix (A.B.C.D/LEN)"))?;
    let addr: Ipv4Addr = a
        .parse()
        .map_err(|_| format!("{a:?} is not an IPv4 address"))?;
    let len: u8 = l
        .parse()
        .ok()
        .filter(|l| *l <= 32)
        .ok_or_else(|| format!("prefix length {l:?} is not 0..=32"))?;
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    let net = Ipv4Addr::from(u32::from(addr) & mask);
    if net != addr {
        return Err(format!("{s} has host bits set (did you mean {net}/{len}?)"));
    }
    Ok((addr, len))
}

impl Track {
    /// The object; only meaningful after `validate` accepted the entry.
    pub fn object(&self) -> TrackObject {
        let interval = |d| self.interval_ms.unwrap_or(d);
        if let Some(n) = &self.interface {
            TrackObject::Interface(n.clone())
        } else if let Some(r) = &self.route {
            let (addr, len) = parse_prefix(r).unwrap_or((Ipv4Addr::UNSPECIFIED, 0));
            TrackObject::Route {
                addr,
                len,
                interval_ms: interval(DEFAULT_ROUTE_INTERVAL_MS),
            }
        } else if let Some(addr) = self.next_hop {
            TrackObject::NextHop {
                addr,
                interval_ms: interval(DEFAULT_ROUTE_INTERVAL_MS),
            }
        } else {
            TrackObject::Script {
                path: self.script.clone().unwrap_or_default(),
                interval_ms: interval(DEFAULT_SCRIPT_INTERVAL_MS),
                timeout_ms: self.timeout_ms.unwrap_or(DEFAULT_SCRIPT_TIMEOUT_MS),
            }
        }
    }

    fn validate(&self, f: &dyn Fn(&str) -> String) -> Result<(), ConfigError> {
        let kinds = [
            self.interface.is_some(),
            self.route.is_some(),
            self.next_hop.is_some(),
            self.script.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            return Err(err(
                f(""),
                "give exactly one of interface, route, next_hop, script",
            ));
        }
        if !(1..=254).contains(&self.decrement) {
            return Err(err(
                f(".decrement"),
                format!("{} is out of range 1..=254", self.decrement),
            ));
        }
        if let Some(n) = &self.interface {
            super::validate_ifname(n).map_err(|e| err(f(".interface"), e.reason))?;
            if self.interval_ms.is_some() || self.timeout_ms.is_some() {
                return Err(err(
                    f(".interval_ms"),
                    "interfaces are tracked by link events, without an interval",
                ));
            }
        }
        if let Some(r) = &self.route {
            parse_prefix(r).map_err(|e| err(f(".route"), e))?;
        }
        if let Some(a) = self.next_hop
            && (a.is_unspecified() || a.is_multicast() || a.is_broadcast())
        {
            return Err(err(f(".next_hop"), format!("{a} is not a unicast address")));
        }
        if self.script.is_none() && self.timeout_ms.is_some() {
            return Err(err(f(".timeout_ms"), "only scripts have a timeout"));
        }
        if let Some(i) = self.interval_ms
            && !(100..=3_600_000).contains(&i)
        {
            return Err(err(
                f(".interval_ms"),
                format!("{i} is out of range 100..=3600000"),
            ));
        }
        if let Some(p) = &self.script {
            if !p.is_absolute() {
                return Err(err(
                    f(".script"),
                    format!("{} must be an absolute path", p.display()),
                ));
            }
            let interval = self.interval_ms.unwrap_or(DEFAULT_SCRIPT_INTERVAL_MS);
            let timeout = self.timeout_ms.unwrap_or(DEFAULT_SCRIPT_TIMEOUT_MS);
            if timeout == 0 || timeout > interval {
                return Err(err(
                    f(".timeout_ms"),
                    format!("{timeout} must be 1..=interval_ms ({interval})"),
                ));
            }
        }
        Ok(())
    }
}

/// Checks every entry of one group's `track` list; `f` names the group's
/// fields (`groups[0].` + name).
pub fn validate(list: &[Track], f: &dyn Fn(&str) -> String) -> Result<(), ConfigError> {
    let mut seen = Vec::new();
    for (i, t) in list.iter().enumerate() {
        let at = |name: &str| f(&format!("track[{i}]{name}"));
        t.validate(&at)?;
        let o = t.object();
        if seen.contains(&o) {
            return Err(err(at(""), format!("{o} is tracked twice")));
        }
        seen.push(o);
    }
    Ok(())
}
