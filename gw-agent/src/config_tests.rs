use super::*;

const FULL: &str = r#"{
  "interface": "eth0",
  "groups": [
    {
      "group": 1,
      "vip": "192.0.2.1",
      "priority": 110,
      "preempt": { "enabled": true, "delay_ms": 0 },
      "timers": { "hello_ms": 3000, "hold_ms": 10000, "redirect_s": 600, "timeout_s": 14400 },
      "load_balancing": "round-robin",
      "weighting": { "max": 100, "lower": 80, "upper": 90 }
    }
  ]
}"#;

fn with_group(group: &str) -> String {
    format!(r#"{{"interface":"eth0","groups":[{group}]}}"#)
}

fn field_of(json: &str) -> String {
    Config::parse(json).expect_err("must be rejected").field
}

#[test]
fn design_example_parses() {
    let c = Config::parse(FULL).unwrap();
    let g = &c.groups[0];
    assert_eq!(g.priority, 110);
    assert_eq!(g.timers.hold_ms, Some(10_000));
    let e = g.engine_config();
    assert_eq!(e.preempt_delay_ms, Some(0));
    assert_eq!(e.weighting.lower, 80);
    assert_eq!(e.forwarder_preempt_delay_ms, Some(30_000));
}

#[test]
fn defaults_are_ciscos() {
    let c = Config::parse(&with_group(r#"{"group":7,"vip":"192.0.2.1"}"#)).unwrap();
    let g = &c.groups[0];
    assert_eq!(g.priority, 100);
    assert_eq!(g.timers.hello_ms, None, "learned from the AVG");
    assert_eq!((g.timers.redirect_s, g.timers.timeout_s), (600, 14400));
    assert_eq!(g.max_forwarders, 4);
    assert_eq!(g.load_balancing, Method::RoundRobin);
    assert!(!g.preempt.enabled);
    assert!(g.forwarder_preempt.enabled);
    assert_eq!(g.forwarder_preempt.delay_ms, 30_000);
    assert_eq!(c.xdp_mode, XdpMode::Auto);
}

#[test]
fn rejections_name_the_field() {
    let cases = [
        (r#"{"group":1024,"vip":"192.0.2.1"}"#, "groups[0].group"),
        (r#"{"group":1,"vip":"224.0.0.1"}"#, "groups[0].vip"),
        (r#"{"group":1,"vip":"0.0.0.7"}"#, "groups[0].vip"),
        // Neither family.
        (r#"{"group":1}"#, "groups[0].vip"),
        (
            r#"{"group":1,"vip":"192.0.2.1","priority":0}"#,
            "groups[0].priority",
        ),
        (
            r#"{"group":1,"vip":"192.0.2.1","timers":{"hello_ms":3000,"hold_ms":3000}}"#,
            "groups[0].timers.hold_ms",
        ),
        (
            r#"{"group":1,"vip":"192.0.2.1","timers":{"hello_ms":3000}}"#,
            "groups[0].timers",
        ),
        (
            r#"{"group":1,"vip":"192.0.2.1","timers":{"redirect_s":600,"timeout_s":600}}"#,
            "groups[0].timers.timeout_s",
        ),
        (
            r#"{"group":1,"vip":"192.0.2.1","weighting":{"max":255}}"#,
            "groups[0].weighting.max",
        ),
        (
            r#"{"group":1,"vip":"192.0.2.1","weighting":{"max":100,"lower":90,"upper":80}}"#,
            "groups[0].weighting.lower",
        ),
        (
            r#"{"group":1,"vip":"192.0.2.1","max_forwarders":0}"#,
            "groups[0].max_forwarders",
        ),
        (
            r#"{"group":1,"vip":"192.0.2.1","vlan":4095}"#,
            "groups[0].vlan",
        ),
    ];
    for (g, field) in cases {
        assert_eq!(field_of(&with_group(g)), field, "{g}");
    }
}

#[test]
fn syntax_and_unknown_fields_are_errors() {
    let e = Config::parse(&with_group(
        r#"{"group":1,"vip":"192.0.2.1","load_balancing":"random"}"#,
    ))
    .unwrap_err();
    assert!(e.reason.contains("unknown variant"), "{e}");
    let e = Config::parse(&with_group(r#"{"group":1,"vip":"192.0.2.1","priorty":5}"#)).unwrap_err();
    assert!(e.reason.contains("unknown field `priorty`"), "{e}");
    assert!(Config::parse("{").is_err());
    assert_eq!(field_of(r#"{"interface":"eth0","groups":[]}"#), "groups");
    assert_eq!(
        field_of(r#"{"interface":"a/b","groups":[{"group":1,"vip":"192.0.2.1"}]}"#),
        "interface"
    );
}

#[test]
fn duplicates_are_errors() {
    let two = r#"{"group":1,"vip":"192.0.2.1"},{"group":1,"vip":"192.0.2.2"}"#;
    assert_eq!(field_of(&with_group(two)), "groups[1].group");
    let two = r#"{"group":1,"vip":"192.0.2.1"},{"group":2,"vip":"192.0.2.1"}"#;
    assert_eq!(field_of(&with_group(two)), "groups[1].vip");
}

#[test]
fn shipped_examples_are_valid() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    // The authenticated example names a key under /etc/gw: a real key file
    // (private, 32 bytes) stands in for it.
    let key = std::env::temp_dir().join(format!("gw-example-{}.key", std::process::id()));
    std::fs::write(&key, [7u8; 32]).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("examples/") {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "json") {
            let text = std::fs::read_to_string(&p)
                .unwrap()
                .replace("/etc/gw/glbp-k1.key", &key.to_string_lossy());
            Config::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            n += 1;
        }
    }
    let _ = std::fs::remove_file(&key);
    assert!(n >= 5, "examples missing");
}

#[test]
fn authentication_is_validated() {
    let text = with_group(r#"{"group":1,"vip":"192.0.2.1","authentication":{"text":"s3cret"}}"#);
    let c = Config::parse(&text).unwrap();
    assert_eq!(
        c.groups[0].auth_mode().unwrap(),
        crate::auth::Mode::Text(b"s3cret".to_vec())
    );
    let long = with_group(r#"{"group":1,"vip":"192.0.2.1","authentication":{"text":"123456789"}}"#);
    assert_eq!(field_of(&long), "groups[0].authentication.text");
    let missing = with_group(
        r#"{"group":1,"vip":"192.0.2.1","authentication":{"hmac_sha256":{"key_file":"/nonexistent/k","key_id":1}}}"#,
    );
    assert_eq!(
        field_of(&missing),
        "groups[0].authentication.hmac_sha256.key_file"
    );
}

#[test]
fn tracked_objects_parse_with_defaults() {
    let c = Config::parse(&with_group(
        r#"{"group":1,"vip":"192.0.2.1","track":[
            {"interface":"eth1","decrement":30},
            {"route":"203.0.113.0/24","decrement":20},
            {"next_hop":"198.51.100.2"},
            {"script":"/usr/local/bin/check","interval_ms":2000,"timeout_ms":1000,"decrement":10}
        ]}"#,
    ))
    .unwrap();
    let objs: Vec<TrackObject> = c.groups[0].track.iter().map(Track::object).collect();
    assert_eq!(objs[0], TrackObject::Interface("eth1".into()));
    assert_eq!(
        objs[1],
        TrackObject::Route {
            addr: "203.0.113.0".parse().unwrap(),
            len: 24,
            interval_ms: 5000
        }
    );
    assert_eq!(c.groups[0].track[2].decrement, 10, "Cisco's default");
    assert!(matches!(
        &objs[3],
        TrackObject::Script {
            interval_ms: 2000,
            timeout_ms: 1000,
            ..
        }
    ));
    assert_eq!(objs[3].to_string(), "script /usr/local/bin/check");
}

#[test]
fn tracked_object_rejections_name_the_field() {
    let cases = [
        (
            r#"{"interface":"eth1","decrement":0}"#,
            "track[0].decrement",
        ),
        (
            r#"{"interface":"eth1","decrement":255}"#,
            "track[0].decrement",
        ),
        (r#"{"interface":"a b"}"#, "track[0].interface"),
        (
            r#"{"interface":"eth1","interval_ms":500}"#,
            "track[0].interval_ms",
        ),
        (r#"{"route":"203.0.113.0"}"#, "track[0].route"),
        (r#"{"route":"203.0.113.0/33"}"#, "track[0].route"),
        (r#"{"route":"203.0.113.5/24"}"#, "track[0].route"),
        (r#"{"route":"203.0.113/24"}"#, "track[0].route"),
        (
            r#"{"route":"203.0.113.0/24","timeout_ms":5}"#,
            "track[0].timeout_ms",
        ),
        (r#"{"next_hop":"224.0.0.5"}"#, "track[0].next_hop"),
        (r#"{"script":"check.sh"}"#, "track[0].script"),
        (
            r#"{"script":"/bin/true","interval_ms":50}"#,
            "track[0].interval_ms",
        ),
        (
            r#"{"script":"/bin/true","interval_ms":1000,"timeout_ms":2000}"#,
            "track[0].timeout_ms",
        ),
        (r#"{"decrement":10}"#, "track[0]"),
        (
            r#"{"interface":"eth1","route":"203.0.113.0/24"}"#,
            "track[0]",
        ),
    ];
    for (t, field) in cases {
        let g = format!(r#"{{"group":1,"vip":"192.0.2.1","track":[{t}]}}"#);
        assert_eq!(
            field_of(&with_group(&g)),
            format!("groups[0].{field}"),
            "{t}"
        );
    }
    let e = Config::parse(&with_group(
        r#"{"group":1,"vip":"192.0.2.1","track":[{"route":"203.0.113.5/24"}]}"#,
    ))
    .unwrap_err();
    assert!(e.reason.contains("did you mean 203.0.113.0/24"), "{e}");
    let twice = r#"{"group":1,"vip":"192.0.2.1","track":[{"interface":"eth1"},{"interface":"eth1","decrement":5}]}"#;
    assert_eq!(field_of(&with_group(twice)), "groups[0].track[1]");
    let e = Config::parse(&with_group(
        r#"{"group":1,"vip":"192.0.2.1","track":[{"interfce":"eth1"}]}"#,
    ))
    .unwrap_err();
    assert!(e.reason.contains("unknown field `interfce`"), "{e}");
}

#[test]
fn weighting_and_cache_ranges_are_checked() {
    let cases = [
        (r#""weighting":{"max":0}"#, "groups[0].weighting.max"),
        (
            r#""weighting":{"max":100,"lower":0}"#,
            "groups[0].weighting.lower",
        ),
        (
            r#""weighting":{"max":100,"lower":80,"upper":80}"#,
            "groups[0].weighting.lower",
        ),
        (
            r#""weighting":{"max":100,"upper":101}"#,
            "groups[0].weighting.upper",
        ),
        (
            r#""weighting":{"max":100,"upper":0}"#,
            "groups[0].weighting.upper",
        ),
    ];
    for (w, field) in cases {
        let g = format!(r#"{{"group":1,"vip":"192.0.2.1",{w}}}"#);
        assert_eq!(field_of(&with_group(&g)), field, "{w}");
    }
    let zero = r#"{"interface":"eth0","client_cache":{"timeout_s":0},"groups":[{"group":1,"vip":"192.0.2.1"}]}"#;
    assert_eq!(field_of(zero), "client_cache.timeout_s");
    // An unknown method is a syntax error that names the variants.
    let e = Config::parse(&with_group(
        r#"{"group":1,"vip":"192.0.2.1","load_balancing":"least-used"}"#,
    ))
    .unwrap_err();
    assert!(e.reason.contains("host-dependent"), "{e}");
}

#[test]
fn ipv6_only_group_runs_its_election_on_the_virtual_link_local_address() {
    let c = Config::parse(&with_group(
        r#"{"group":7,"ipv6":{"global":["2001:db8:1::1"]}}"#,
    ))
    .unwrap();
    let g = &c.groups[0];
    assert_eq!(g.vip, None);
    let ll: std::net::Ipv6Addr = "fe80::7:b4ff:fe00:700".parse().unwrap();
    assert_eq!(g.election_vip(), std::net::IpAddr::V6(ll));
    assert_eq!(g.engine_config().vip, std::net::IpAddr::V6(ll));
    assert_eq!(g.key(), gw_common::v6_only_key(7, 0));
    assert!(g.key().is_v6_only());
    // A dual-stack group keeps its IPv4 election and key.
    let c = Config::parse(&with_group(r#"{"group":7,"vip":"192.0.2.1","ipv6":true}"#)).unwrap();
    assert_eq!(c.groups[0].election_vip().to_string(), "192.0.2.1");
    assert!(!c.groups[0].key().is_v6_only());
}
