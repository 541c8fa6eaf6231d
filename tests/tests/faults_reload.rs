//! Config reload (SIGHUP) with bad files changes nothing: the AVG keeps
//! running and answering, logs why each file was rejected, and no state
//! changes; then a valid change (its priority, below a preempting peer's)
//! takes effect.

mod fault;

use std::time::Duration;

use fault::{Lan, config_path};
use gw_tests::{
    group::{GroupConfig, Sample, wait_for},
    require_tools,
};

#[test]
fn bad_reloads_change_nothing_then_a_good_one_applies() {
    if !require_tools(&["arping", "nsenter"]) {
        return;
    }
    let g2 = GroupConfig {
        preempt: true,
        ..GroupConfig::fast(120)
    };
    let mut lan = Lan::start(vec![GroupConfig::fast(150), g2], 1, Duration::from_secs(20));
    let hold = lan.cfgs[0].hold();
    let path = config_path(lan.gw(1));
    let good = lan.cfgs[0].json();
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = good.clone();
        f(&mut v);
        v.to_string().into_bytes()
    };
    let cases: Vec<(&str, Option<Vec<u8>>, &str)> = vec![
        (
            "truncated JSON",
            Some(good.to_string().as_bytes()[..40].to_vec()),
            "EOF while parsing",
        ),
        (
            "not UTF-8",
            Some(b"{\"interface\": \"lan0\xff\"}".to_vec()),
            "UTF-8",
        ),
        (
            "not JSON",
            Some(b"interface = lan0".to_vec()),
            "config: expected",
        ),
        (
            "priority 0",
            Some(with(&|v| v["groups"][0]["priority"] = 0.into())),
            "groups[0].priority",
        ),
        (
            "hold below hello",
            Some(with(&|v| v["groups"][0]["timers"]["hold_ms"] = 100.into())),
            "groups[0].timers.hold_ms",
        ),
        (
            "unknown field",
            Some(with(&|v| v["groups"][0]["prority"] = 90.into())),
            "unknown field",
        ),
        (
            "VIP not unicast",
            Some(with(&|v| v["groups"][0]["vip"] = "224.0.0.1".into())),
            "groups[0].vip",
        ),
        (
            "another interface",
            Some(with(&|v| v["interface"] = "lan9".into())),
            "need a restart",
        ),
        ("file gone", None, "No such file"),
    ];
    let marks = lan.log_marks();
    for (n, (what, text, reason)) in cases.iter().enumerate() {
        match text {
            Some(t) => std::fs::write(&path, t).unwrap(),
            None => {
                let _ = std::fs::remove_file(&path);
            }
        }
        lan.agent(1).signal(libc::SIGHUP);
        let logged = gw_tests::wait::until(Duration::from_secs(5), || {
            let log = lan.log(1);
            let new = &log[marks[0]..];
            (new.matches("rejected").count() > n).then(|| {
                new.lines()
                    .filter(|l| l.contains("rejected"))
                    .nth(n)
                    .unwrap_or_default()
                    .to_string()
            })
        });
        let line = logged.unwrap_or_else(|| panic!("{what}: no rejection logged\n{}", lan.log(1)));
        assert!(
            line.contains(reason),
            "{what}: rejection does not say {reason:?}: {line}"
        );
        assert!(
            lan.dead().is_empty(),
            "{what}: the agent died\n{}",
            lan.log(1)
        );
    }
    // Nothing changed: no state change anywhere, g1 still AVG and answering.
    let changes = lan.changes_since(&marks);
    assert!(changes.is_empty(), "bad reloads changed state: {changes:?}");
    let s = Sample::take(&lan.t);
    assert_eq!(s.steady(&[1, 2]), Ok(1), "{}", lan.logs());
    let o = lan.t.hosts[0].ok("ip neigh flush dev lan0; arping -c 2 -w 3 -I lan0 192.0.2.1");
    assert!(o.contains("00:07:B4"), "the AVG still answers: {o}");
    eprintln!(
        "reload: {} bad files rejected, no state change:\n{}",
        cases.len(),
        lan.log(1)[marks[0]..]
            .lines()
            .filter(|l| l.contains("rejected"))
            .collect::<Vec<_>>()
            .join("\n")
    );

    // A valid change: g1's priority drops below g2's, and g2 preempts.
    let mut lower = lan.cfgs[0].clone();
    lower.priority = 90;
    std::fs::write(&path, lower.json().to_string()).unwrap();
    lan.agent(1).signal(libc::SIGHUP);
    let applied = gw_tests::wait::until(Duration::from_secs(5), || {
        lan.log(1)[marks[0]..]
            .contains("group reconfigured")
            .then_some(())
    });
    assert!(
        applied.is_some(),
        "valid reload not applied\n{}",
        lan.log(1)
    );
    wait_for(&lan.t, hold * 6, "g2 preempts g1", |s| {
        match s.steady(&[1, 2]) {
            Ok(2) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
    assert!(lan.dead().is_empty(), "{}", lan.logs());
}
