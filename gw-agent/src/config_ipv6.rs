//! A group's IPv6 side (`groups[].ipv6`): virtual IPv6 addresses answered
//! by Neighbor Discovery in XDP, driven by the group's one (IPv4) election.
//!
//! ```json
//! "ipv6": true
//! "ipv6": { "link_local": "fe80::7:b4ff:fe00:100", "global": ["2001:db8:1::1"] }
//! ```
//!
//! `true` (or `{}`) gives the group Cisco's virtual link-local address,
//! `fe80::7:b4ff:fe0G:GG00` (`gw_common::virtual_link_local`); hosts use
//! it as their IPv6 default gateway. `global` adds up to three global
//! virtual addresses. Absent or `false`: IPv4 only.

use std::{fmt, net::Ipv6Addr};

use serde::{Deserialize, Deserializer, Serialize, de};

use super::{ConfigError, err};

/// Global virtual addresses a group may have besides its link-local one.
pub const MAX_GLOBAL: usize = gw_common::MAX_VIP6_PER_GROUP as usize - 1;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ipv6 {
    /// The virtual link-local address; absent: Cisco's, from the group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_local: Option<Ipv6Addr>,
    /// Global virtual addresses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub global: Vec<Ipv6Addr>,
}

impl Ipv6 {
    /// The link-local address in force for `group`.
    pub fn link_local(&self, group: u16) -> Ipv6Addr {
        self.link_local
            .unwrap_or_else(|| gw_common::virtual_link_local(group).into())
    }

    /// Every virtual IPv6 address: the link-local one first.
    pub fn addresses(&self, group: u16) -> Vec<Ipv6Addr> {
        let mut v = vec![self.link_local(group)];
        v.extend(&self.global);
        v
    }

    pub(super) fn validate(
        &self,
        group: u16,
        f: &dyn Fn(&str) -> String,
    ) -> Result<(), ConfigError> {
        let ll = self.link_local(group);
        if !is_link_local_unicast(&ll) {
            return Err(err(
                f("ipv6.link_local"),
                format!("{ll} is not a link-local unicast address (fe80::/10)"),
            ));
        }
        if self.global.len() > MAX_GLOBAL {
            return Err(err(
                f("ipv6.global"),
                format!("at most {MAX_GLOBAL} addresses"),
            ));
        }
        for (i, a) in self.global.iter().enumerate() {
            if a.is_unspecified()
                || a.is_loopback()
                || a.is_multicast()
                || is_link_local_unicast(a)
                || a.to_ipv4_mapped().is_some()
            {
                return Err(err(
                    f(&format!("ipv6.global[{i}]")),
                    format!("{a} is not a global unicast address"),
                ));
            }
            if self.global[..i].contains(a) {
                return Err(err(
                    f(&format!("ipv6.global[{i}]")),
                    format!("{a} appears twice"),
                ));
            }
        }
        Ok(())
    }
}

fn is_link_local_unicast(a: &Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// `true`/`false` or the object; for `#[serde(deserialize_with)]`.
pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Ipv6>, D::Error> {
    struct V;
    impl<'de> de::Visitor<'de> for V {
        type Value = Option<Ipv6>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("true, false or {\"link_local\": ..., \"global\": [...]}")
        }
        fn visit_bool<E: de::Error>(self, on: bool) -> Result<Self::Value, E> {
            Ok(on.then(Ipv6::default))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_map<A: de::MapAccess<'de>>(self, m: A) -> Result<Self::Value, A::Error> {
            Ipv6::deserialize(de::value::MapAccessDeserializer::new(m)).map(Some)
        }
    }
    d.deserialize_any(V)
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn parse(ipv6: &str) -> Result<Config, String> {
        let json = format!(
            r#"{{"interface": "eth0", "groups": [{{"group": 1, "vip": "192.0.2.1", "ipv6": {ipv6}}}]}}"#
        );
        Config::parse(&json).map_err(|e| e.to_string())
    }

    #[test]
    fn true_derives_ciscos_link_local() {
        let c = parse("true").unwrap();
        let v6 = c.groups[0].ipv6.as_ref().unwrap();
        assert_eq!(
            v6.addresses(1),
            ["fe80::7:b4ff:fe00:100"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()]
        );
        assert_eq!(
            v6.link_local(1020),
            "fe80::7:b4ff:fe03:fc00"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
        );
        assert_eq!(parse("false").unwrap().groups[0].ipv6, None);
        assert_eq!(parse("null").unwrap().groups[0].ipv6, None);
    }

    #[test]
    fn object_sets_addresses() {
        let c = parse(r#"{"link_local": "fe80::1", "global": ["2001:db8:1::1", "2001:db8:2::1"]}"#)
            .unwrap();
        let a = c.groups[0].ipv6.as_ref().unwrap().addresses(1);
        assert_eq!(a.len(), 3);
        assert_eq!(a[0], "fe80::1".parse::<std::net::Ipv6Addr>().unwrap());
        assert!(parse("{}").unwrap().groups[0].ipv6.is_some());
    }

    #[test]
    fn bad_addresses_name_the_field() {
        for (ipv6, field) in [
            (
                r#"{"link_local": "2001:db8::1"}"#,
                "groups[0].ipv6.link_local",
            ),
            (r#"{"global": ["fe80::5"]}"#, "groups[0].ipv6.global[0]"),
            (r#"{"global": ["ff02::1"]}"#, "groups[0].ipv6.global[0]"),
            (
                r#"{"global": ["2001:db8::1", "2001:db8::1"]}"#,
                "groups[0].ipv6.global[1]",
            ),
            (
                r#"{"global": ["2001:db8::1", "2001:db8::2", "2001:db8::3", "2001:db8::4"]}"#,
                "groups[0].ipv6.global",
            ),
        ] {
            let e = parse(ipv6).unwrap_err();
            assert!(e.starts_with(&format!("{field}:")), "{ipv6}: {e}");
        }
        assert!(parse(r#"{"linklocal": "fe80::1"}"#).is_err());
        assert!(parse("3").is_err());
    }

    #[test]
    fn two_groups_cannot_share_an_address() {
        let json = r#"{"interface": "eth0", "groups": [
            {"group": 1, "vip": "192.0.2.1", "ipv6": {"link_local": "fe80::1"}},
            {"group": 2, "vip": "192.0.2.2", "ipv6": {"link_local": "fe80::1"}}]}"#;
        let e = Config::parse(json).unwrap_err().to_string();
        assert!(e.starts_with("groups[1].ipv6:"), "{e}");
    }
}
