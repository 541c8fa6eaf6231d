//! The JSON config (DESIGN.md "Interfaces users see"): one object per
//! interface with a list of groups; every field has the Cisco default.
//!
//! `Config::parse` validates everything before anything is applied and names
//! the offending field (`groups[0].timers.hold_ms: ...`), so a bad config
//! never half-applies.

use std::{collections::HashSet, net::Ipv4Addr};

use serde::{Deserialize, Serialize};

use crate::engine::{EngineConfig, LoadBalancing, Weighting};

#[path = "config_ipv6.rs"]
mod ipv6;
#[path = "config_track.rs"]
mod track;
pub use ipv6::Ipv6;
pub use track::{DEFAULT_ROUTE_INTERVAL_MS, Track, TrackObject, parse_prefix};

/// A rejected config: which field, and why.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{field}: {reason}")]
pub struct ConfigError {
    pub field: String,
    pub reason: String,
}

fn err(field: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.into(),
        reason: reason.into(),
    }
}

/// XDP attach mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum XdpMode {
    /// Native (driver) mode, falling back to generic if the driver refuses.
    #[default]
    Auto,
    Native,
    Generic,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub interface: String,
    #[serde(default)]
    pub xdp_mode: XdpMode,
    #[serde(default)]
    pub client_cache: ClientCache,
    #[serde(default)]
    pub arp_rate_limit: ArpRateLimit,
    /// A command run on every gateway and forwarder state change.
    #[serde(default)]
    pub notify: Option<Notify>,
    pub groups: Vec<Group>,
}

/// Like keepalived's notify scripts. Arguments (README "Notify"):
/// `INTERFACE GROUP gateway OLD NEW` or
/// `INTERFACE GROUP forwarder NUMBER OLD NEW`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    pub command: std::path::PathBuf,
    /// Killed if still running after this long.
    #[serde(default = "default_notify_timeout")]
    pub timeout_ms: u32,
}

fn default_notify_timeout() -> u32 {
    5000
}

/// Per source MAC limit on ARP requests for a VIP, enforced in XDP: an ARP
/// flood from one host cannot make the AVG answer it millions of times per
/// second. `per_mac_pps` 0 turns it off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArpRateLimit {
    pub per_mac_pps: u32,
    pub burst: u32,
}

impl Default for ArpRateLimit {
    // Linux hosts ARP for their gateway a few times a minute; 50/s with a
    // burst of 100 never touches a real host.
    fn default() -> Self {
        Self {
            per_mac_pps: 50,
            burst: 100,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientCache {
    pub max_entries: u32,
    pub timeout_s: u32,
}

impl Default for ClientCache {
    fn default() -> Self {
        Self {
            max_entries: gw_common::DEFAULT_CLIENT_CACHE,
            timeout_s: 14400,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub group: u16,
    /// The virtual IPv4 address. Absent: an IPv6-only group (then `ipv6`
    /// is required and the election runs over IPv6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vip: Option<Ipv4Addr>,
    /// Innermost VLAN id the ARP requests carry (0 or absent: untagged).
    #[serde(default)]
    pub vlan: u16,
    #[serde(default = "default_priority")]
    pub priority: u8,
    #[serde(default)]
    pub preempt: Preempt,
    #[serde(default)]
    pub timers: Timers,
    #[serde(default)]
    pub forwarder_preempt: ForwarderPreempt,
    #[serde(default = "default_max_forwarders")]
    pub max_forwarders: u8,
    #[serde(default)]
    pub load_balancing: Method,
    #[serde(default)]
    pub weighting: WeightingConfig,
    /// Objects that lower the weight while down (see config_track.rs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub track: Vec<Track>,
    #[serde(default)]
    pub authentication: Authentication,
    /// Virtual IPv6 addresses (see config_ipv6.rs); None: IPv4 only.
    #[serde(
        default,
        deserialize_with = "ipv6::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub ipv6: Option<Ipv6>,
}

/// `{"text": "s3cret"}` or `{"hmac_sha256": {"key_file": ..., "key_id": 1,
/// "previous": {"key_file": ..., "key_id": 0}}}`; absent: none.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Authentication {
    #[default]
    None,
    Text(String),
    HmacSha256(HmacKeys),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HmacKeys {
    pub key_file: std::path::PathBuf,
    pub key_id: u8,
    /// The key being rolled away from: still accepted, never sent.
    pub previous: Option<HmacKey>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HmacKey {
    pub key_file: std::path::PathBuf,
    pub key_id: u8,
}

fn default_priority() -> u8 {
    100
}
fn default_max_forwarders() -> u8 {
    4
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Preempt {
    pub enabled: bool,
    pub delay_ms: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ForwarderPreempt {
    pub enabled: bool,
    pub delay_ms: u32,
}

impl Default for ForwarderPreempt {
    fn default() -> Self {
        Self {
            enabled: true,
            delay_ms: 30_000,
        }
    }
}

/// Timers; hello/hold absent means "learn them from the AVG".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timers {
    pub hello_ms: Option<u32>,
    pub hold_ms: Option<u32>,
    pub redirect_s: u16,
    pub timeout_s: u16,
}

impl Default for Timers {
    fn default() -> Self {
        Self {
            hello_ms: None,
            hold_ms: None,
            redirect_s: 600,
            timeout_s: 14400,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    #[default]
    RoundRobin,
    Weighted,
    HostDependent,
    None,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightingConfig {
    #[serde(default = "default_weight")]
    pub max: u8,
    pub lower: Option<u8>,
    pub upper: Option<u8>,
}

fn default_weight() -> u8 {
    100
}

impl Default for WeightingConfig {
    fn default() -> Self {
        Self {
            max: 100,
            lower: None,
            upper: None,
        }
    }
}

/// Cisco's defaults when timers are not configured.
pub const DEFAULT_HELLO_MS: u32 = 3000;
pub const DEFAULT_HOLD_MS: u32 = 10_000;

impl Config {
    /// Parses and validates; the error names the field.
    pub fn parse(json: &str) -> Result<Config, ConfigError> {
        let cfg: Config = serde_json::from_str(json).map_err(|e| {
            // serde_json says what and where (line, column); keep its words.
            err("config", e.to_string())
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Some group has no IPv4 VIP, so it elects over IPv6.
    pub fn has_ipv6_only(&self) -> bool {
        self.groups.iter().any(|g| g.vip.is_none())
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        validate_ifname(&self.interface)?;
        let cc = &self.client_cache;
        if cc.max_entries == 0 || cc.max_entries > 1_000_000 {
            return Err(err("client_cache.max_entries", "must be 1..=1000000"));
        }
        if cc.timeout_s == 0 {
            return Err(err(
                "client_cache.timeout_s",
                "must be at least 1 (hosts not seen for this long are forgotten)",
            ));
        }
        if let Some(n) = &self.notify {
            use std::os::unix::fs::PermissionsExt;
            if !n.command.is_absolute() {
                return Err(err("notify.command", "must be an absolute path"));
            }
            match std::fs::metadata(&n.command) {
                Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => {}
                Ok(_) => {
                    return Err(err(
                        "notify.command",
                        format!("{} is not an executable file", n.command.display()),
                    ));
                }
                Err(e) => {
                    return Err(err(
                        "notify.command",
                        format!("{}: {e}", n.command.display()),
                    ));
                }
            }
            if n.timeout_ms == 0 || n.timeout_ms > 60_000 {
                return Err(err("notify.timeout_ms", "must be 1..=60000"));
            }
        }
        let r = &self.arp_rate_limit;
        if r.per_mac_pps > 1_000_000 {
            return Err(err(
                "arp_rate_limit.per_mac_pps",
                "must be 0 (off) ..=1000000",
            ));
        }
        if r.per_mac_pps > 0 && r.burst == 0 {
            return Err(err(
                "arp_rate_limit.burst",
                "must be at least 1 when a rate is set",
            ));
        }
        if self.groups.is_empty() {
            return Err(err("groups", "at least one group is required"));
        }
        if self.groups.len() > gw_common::MAX_GROUPS as usize {
            return Err(err(
                "groups",
                format!("at most {} groups", gw_common::MAX_GROUPS),
            ));
        }
        let mut numbers = HashSet::new();
        let mut vips = HashSet::new();
        let mut vips6 = HashSet::new();
        for (i, g) in self.groups.iter().enumerate() {
            let f = |name: &str| format!("groups[{i}].{name}");
            g.validate(&f)?;
            if !numbers.insert(g.group) {
                return Err(err(f("group"), format!("group {} appears twice", g.group)));
            }
            if let Some(v) = g.vip
                && !vips.insert((v, g.vlan))
            {
                return Err(err(
                    f("vip"),
                    format!("{v} (vlan {}) is used by two groups", g.vlan),
                ));
            }
            for a in g.vip6() {
                if !vips6.insert((a, g.vlan)) {
                    return Err(err(
                        f("ipv6"),
                        format!("{a} (vlan {}) is used by two groups", g.vlan),
                    ));
                }
            }
        }
        Ok(())
    }
}

pub fn validate_ifname(name: &str) -> Result<(), ConfigError> {
    if name.is_empty()
        || name.len() > 15
        || name.contains(['/', ' ', '\0'])
        || name == "."
        || name == ".."
    {
        return Err(err(
            "interface",
            format!("{name:?} is not a valid interface name"),
        ));
    }
    Ok(())
}

impl Group {
    fn validate(&self, f: &dyn Fn(&str) -> String) -> Result<(), ConfigError> {
        if self.group > gw_common::MAX_GROUP_NUMBER {
            return Err(err(
                f("group"),
                format!("{} is out of range 0..=1023", self.group),
            ));
        }
        match self.vip {
            None if self.ipv6.is_none() => {
                return Err(err(
                    f("vip"),
                    "missing: give the group an IPv4 virtual address (vip), IPv6 (ipv6), or both",
                ));
            }
            // 0.0.0.0/8 also keys IPv6-only groups in the maps.
            Some(v)
                if gw_common::is_v6_only_vip(&v.octets())
                    || v.is_multicast()
                    || v.is_broadcast()
                    || v.is_loopback() =>
            {
                return Err(err(f("vip"), format!("{v} is not a unicast address")));
            }
            _ => {}
        }
        if self.vlan > 4094 {
            return Err(err(
                f("vlan"),
                format!("{} is out of range 0..=4094", self.vlan),
            ));
        }
        if self.priority == 0 {
            return Err(err(f("priority"), "must be 1..=255"));
        }
        let t = &self.timers;
        if t.hello_ms.is_some() != t.hold_ms.is_some() {
            return Err(err(
                f("timers"),
                "set both hello_ms and hold_ms, or neither (then they are learned from the AVG)",
            ));
        }
        if let (Some(hello), Some(hold)) = (t.hello_ms, t.hold_ms) {
            if !(50..=60_000).contains(&hello) {
                return Err(err(
                    f("timers.hello_ms"),
                    format!("{hello} is out of range 50..=60000"),
                ));
            }
            if hold <= hello {
                return Err(err(
                    f("timers.hold_ms"),
                    format!("{hold} must exceed hello_ms ({hello})"),
                ));
            }
            if hold > 180_000 {
                return Err(err(
                    f("timers.hold_ms"),
                    format!("{hold} is out of range (at most 180000)"),
                ));
            }
        }
        if t.redirect_s >= t.timeout_s {
            return Err(err(
                f("timers.timeout_s"),
                format!("{} must exceed redirect_s ({})", t.timeout_s, t.redirect_s),
            ));
        }
        if self.max_forwarders == 0 {
            return Err(err(f("max_forwarders"), "must be 1..=255"));
        }
        self.auth_mode_at(f)?;
        let w = &self.weighting;
        if !(1..=254).contains(&w.max) {
            return Err(err(
                f("weighting.max"),
                format!("{} is out of range 1..=254", w.max),
            ));
        }
        let (lower, upper) = (w.lower.unwrap_or(1), w.upper.unwrap_or(w.max));
        if w.lower.is_some() && !(1..=254).contains(&lower) {
            return Err(err(
                f("weighting.lower"),
                format!("{lower} is out of range 1..=254"),
            ));
        }
        if upper > w.max || upper == 0 {
            return Err(err(
                f("weighting.upper"),
                format!("{upper} is out of range 1..=weighting.max ({})", w.max),
            ));
        }
        if w.lower.is_some() && lower >= upper {
            return Err(err(
                f("weighting.lower"),
                format!("{lower} must be below upper ({upper})"),
            ));
        }
        track::validate(&self.track, f)?;
        if let Some(v6) = &self.ipv6 {
            v6.validate(self.group, f)?;
        }
        Ok(())
    }

    /// The address the group's election runs on: the IPv4 VIP, else (an
    /// IPv6-only group) the virtual link-local address. Hellos carry it.
    pub fn election_vip(&self) -> std::net::IpAddr {
        match (self.vip, &self.ipv6) {
            (Some(v), _) => v.into(),
            (None, Some(v6)) => v6.link_local(self.group).into(),
            (None, None) => Ipv4Addr::UNSPECIFIED.into(),
        }
    }

    /// The group's key in GW_GROUPS (an IPv6-only group's is in 0.0.0.0/8,
    /// never answered for ARP: `gw_common::v6_only_key`).
    pub fn key(&self) -> gw_common::GroupKey {
        match self.vip {
            Some(v) => gw_common::GroupKey {
                vip: v.octets(),
                vlan: self.vlan,
                _pad: 0,
            },
            None => gw_common::v6_only_key(self.group, self.vlan),
        }
    }

    /// The group's virtual IPv6 addresses (none without `ipv6`).
    pub fn vip6(&self) -> Vec<std::net::Ipv6Addr> {
        self.ipv6
            .as_ref()
            .map_or_else(Vec::new, |v| v.addresses(self.group))
    }

    /// The authenticator's mode, reading key files (which must be private).
    pub fn auth_mode(&self) -> Result<crate::auth::Mode, ConfigError> {
        self.auth_mode_at(&|n: &str| format!("groups[{}].{n}", self.group))
    }

    fn auth_mode_at(&self, f: &dyn Fn(&str) -> String) -> Result<crate::auth::Mode, ConfigError> {
        use crate::auth::{Key, Mode, TEXT_MAX, read_key};
        Ok(match &self.authentication {
            Authentication::None => Mode::None,
            Authentication::Text(t) => {
                if t.is_empty() || t.len() > TEXT_MAX {
                    return Err(err(
                        f("authentication.text"),
                        format!("must be 1..={TEXT_MAX} bytes (Cisco's limit)"),
                    ));
                }
                Mode::Text(t.as_bytes().to_vec())
            }
            Authentication::HmacSha256(k) => {
                let secret = read_key(&k.key_file)
                    .map_err(|e| err(f("authentication.hmac_sha256.key_file"), e))?;
                let previous = match &k.previous {
                    None => None,
                    Some(p) => {
                        if p.key_id == k.key_id {
                            return Err(err(
                                f("authentication.hmac_sha256.previous.key_id"),
                                "must differ from key_id",
                            ));
                        }
                        let s = read_key(&p.key_file).map_err(|e| {
                            err(f("authentication.hmac_sha256.previous.key_file"), e)
                        })?;
                        Some(Key {
                            id: p.key_id,
                            secret: s,
                        })
                    }
                };
                Mode::Hmac {
                    current: Key {
                        id: k.key_id,
                        secret,
                    },
                    previous,
                }
            }
        })
    }

    /// The engine's view of this group.
    pub fn engine_config(&self) -> EngineConfig {
        let w = &self.weighting;
        EngineConfig {
            group: self.group,
            vip: self.election_vip(),
            priority: self.priority,
            preempt_delay_ms: self.preempt.enabled.then_some(self.preempt.delay_ms),
            hello_ms: self.timers.hello_ms,
            hold_ms: self.timers.hold_ms,
            redirect_s: self.timers.redirect_s,
            timeout_s: self.timers.timeout_s,
            max_forwarders: self.max_forwarders,
            forwarder_preempt_delay_ms: self
                .forwarder_preempt
                .enabled
                .then_some(self.forwarder_preempt.delay_ms),
            // Cisco: no thresholds configured means lower = 1, upper = max.
            weighting: Weighting {
                max: w.max,
                lower: w.lower.unwrap_or(1),
                upper: w.upper.unwrap_or(w.max),
            },
            load_balancing: match self.load_balancing {
                Method::RoundRobin => LoadBalancing::RoundRobin,
                Method::Weighted => LoadBalancing::Weighted,
                Method::HostDependent => LoadBalancing::HostDependent,
                Method::None => LoadBalancing::None,
            },
        }
    }

    /// Hold time in force before any is learned.
    pub fn hold_ms(&self) -> u32 {
        self.timers.hold_ms.unwrap_or(DEFAULT_HOLD_MS)
    }

    /// A group with every default, as the quick CLI form builds it.
    pub fn quick(group: u16, vip: Ipv4Addr, priority: u8) -> Group {
        Group {
            group,
            vip: Some(vip),
            vlan: 0,
            priority,
            preempt: Preempt::default(),
            timers: Timers::default(),
            forwarder_preempt: ForwarderPreempt::default(),
            max_forwarders: default_max_forwarders(),
            load_balancing: Method::default(),
            weighting: WeightingConfig::default(),
            track: Vec::new(),
            authentication: Authentication::None,
            ipv6: None,
        }
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
