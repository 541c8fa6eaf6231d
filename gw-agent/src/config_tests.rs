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
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("examples/") {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "json") {
            let text = std::fs::read_to_string(&p).unwrap();
            Config::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            n += 1;
        }
    }
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
