use std::{os::unix::fs::PermissionsExt, path::Path};

use rtnetlink::packet_route::route::{RouteAddress, RouteNextHop};

use super::*;

fn route(len: u8, kind: RouteType, flags: RouteFlags, attrs: Vec<RouteAttribute>) -> RouteMessage {
    let mut r = RouteMessage::default();
    r.header.destination_prefix_length = len;
    r.header.kind = kind;
    r.header.flags = flags;
    r.attributes = attrs;
    r
}

fn via(gw: [u8; 4]) -> RouteAttribute {
    RouteAttribute::Gateway(RouteAddress::Inet(gw.into()))
}

#[test]
fn link_is_up_only_when_up_with_carrier() {
    assert!(link_state(LinkFlags::Up | LinkFlags::LowerUp | LinkFlags::Running).0);
    assert_eq!(link_state(LinkFlags::Up).1, "no carrier");
    assert_eq!(link_state(LinkFlags::LowerUp).1, "administratively down");
}

#[test]
fn a_route_counts_only_when_as_specific_and_usable() {
    // Input: lookups for a tracked /24. Output: the /24 itself or a more
    // specific route is up; a default route, a link-down or dead next hop,
    // an unreachable route or a failed lookup is down.
    let ok = route(
        24,
        RouteType::Unicast,
        RouteFlags::empty(),
        vec![via([198, 51, 100, 2])],
    );
    assert!(route_up(Ok(ok), 24).0);
    assert!(
        route_up(
            Ok(route(28, RouteType::Unicast, RouteFlags::empty(), vec![])),
            24
        )
        .0
    );
    let default = route(
        0,
        RouteType::Unicast,
        RouteFlags::empty(),
        vec![via([198, 51, 100, 2])],
    );
    assert_eq!(
        route_up(Ok(default), 24),
        (false, "only a /0 route covers it".into())
    );
    assert!(
        !route_up(
            Ok(route(24, RouteType::Unicast, RouteFlags::Linkdown, vec![])),
            24
        )
        .0
    );
    assert!(
        !route_up(
            Ok(route(24, RouteType::Unicast, RouteFlags::Dead, vec![])),
            24
        )
        .0
    );
    assert!(
        !route_up(
            Ok(route(
                24,
                RouteType::Unreachable,
                RouteFlags::empty(),
                vec![]
            )),
            24
        )
        .0
    );
    assert!(!route_up(Err("Network is unreachable".into()), 24).0);
}

#[test]
fn a_multipath_route_is_up_while_one_hop_is() {
    let hop = |flags| {
        let mut h = RouteNextHop::default();
        h.flags = flags;
        h.attributes = vec![via([198, 51, 100, 2])];
        h
    };
    let r = |a, b| {
        route(
            24,
            RouteType::Unicast,
            RouteFlags::empty(),
            vec![RouteAttribute::MultiPath(vec![hop(a), hop(b)])],
        )
    };
    assert!(
        route_up(
            Ok(r(RouteNextHopFlags::Linkdown, RouteNextHopFlags::empty())),
            24
        )
        .0
    );
    assert!(
        !route_up(
            Ok(r(RouteNextHopFlags::Linkdown, RouteNextHopFlags::Dead)),
            24
        )
        .0
    );
}

#[test]
fn a_next_hop_must_be_directly_connected() {
    let connected = route(30, RouteType::Unicast, RouteFlags::empty(), vec![]);
    assert!(next_hop_up(Ok(connected)).0);
    let routed = route(
        0,
        RouteType::Unicast,
        RouteFlags::empty(),
        vec![via([192, 0, 2, 254])],
    );
    assert_eq!(next_hop_up(Ok(routed)).1, "not directly connected");
    assert!(
        !next_hop_up(Ok(route(
            30,
            RouteType::Unicast,
            RouteFlags::Linkdown,
            vec![]
        )))
        .0
    );
}

fn script(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("gw-track-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[tokio::test(flavor = "current_thread")]
async fn scripts_are_up_on_exit_0_within_the_timeout() {
    // Input: scripts exiting 0 and 3, one sleeping past the timeout, one
    // that does not exist. Output: only the first is up; the sleeper is
    // killed (with its child) at the timeout, not when it would finish.
    let d = temp_dir("run");
    let t = Duration::from_millis(300);
    assert_eq!(
        run_script(&script(&d, "ok", "exit 0"), t).await,
        (true, "exit 0".into())
    );
    let (up, why) = run_script(&script(&d, "fail", "exit 3"), t).await;
    assert!(!up && why.contains('3'), "{why}");
    let start = std::time::Instant::now();
    let (up, why) = run_script(&script(&d, "hang", "sleep 30 & wait"), t).await;
    assert!(!up && why.contains("timed out"), "{why}");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    let (up, why) = run_script(&d.join("missing"), t).await;
    assert!(!up && why.contains("cannot run"), "{why}");
    let _ = std::fs::remove_dir_all(&d);
}

#[tokio::test(flavor = "current_thread")]
async fn a_script_watcher_reports_changes_only() {
    // Input: a script whose exit code follows a file, checked every 100 ms;
    // the file flips 0 -> 1 -> 0. Output: exactly three changes: up (the
    // first result), down, up.
    let d = temp_dir("watch");
    let state = d.join("state");
    std::fs::write(&state, "0").unwrap();
    let p = script(&d, "check", &format!("exit $(cat {})", state.display()));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let obj = TrackObject::Script {
        path: p,
        interval_ms: 100,
        timeout_ms: 100,
    };
    let _w = Watchers::start(&[obj], tx).unwrap();
    let wait = Duration::from_secs(5);
    let next = async |rx: &mut tokio::sync::mpsc::UnboundedReceiver<Change>| {
        tokio::time::timeout(wait, rx.recv())
            .await
            .unwrap()
            .unwrap()
    };
    assert!(next(&mut rx).await.up);
    std::fs::write(&state, "1").unwrap();
    let c = next(&mut rx).await;
    assert_eq!((c.id, c.up), (0, false));
    std::fs::write(&state, "0").unwrap();
    assert!(next(&mut rx).await.up);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(rx.try_recv().is_err(), "no change, no report");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn missing_tracked_interfaces_are_named() {
    let objs = [
        TrackObject::Interface("lo".into()),
        TrackObject::Interface("gwnope0".into()),
    ];
    assert_eq!(
        check_interfaces(&objs),
        Err("tracked interface gwnope0 does not exist".into())
    );
    assert!(check_interfaces(&objs[..1]).is_ok());
}

/// Runs `f` on a thread of its own in a fresh network namespace (unshare
/// affects only the calling thread, and the `ip` commands it forks), or
/// returns false where that needs root and CI is not set.
fn in_new_netns(f: impl FnOnce() + Send + 'static) -> bool {
    let h = std::thread::spawn(move || {
        // SAFETY: unshare(2) on the calling thread only.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            return false;
        }
        f();
        true
    });
    match h.join() {
        Ok(true) => true,
        Ok(false) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("skipped: a network namespace needs root");
            false
        }
        Ok(false) => panic!("unshare(CLONE_NEWNET) failed under CI"),
        Err(p) => std::panic::resume_unwind(p),
    }
}

fn ip(cmd: &str) {
    let o = std::process::Command::new("sh")
        .args(["-c", cmd])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn netlink_watchers_follow_links_routes_and_next_hops() {
    // Input, in a namespace of its own: a veth t0 (peer up) with 198.51.100.1/30 and
    // a route 203.0.113.0/24 via 198.51.100.2; a veth t1 whose peer is
    // down. Tracked: t0, t1, the route, the next hop. Then: t0 down; t0 up
    // (the kernel dropped the route with the link); a default route only;
    // the /24 again; t1's peer up.
    // Output: each step reports exactly the objects whose state changed.
    in_new_netns(|| {
        ip(
            "ip link set lo up && ip link add t0 type veth peer name t0p && ip link set t0p up && ip link set t0 up && \
            ip addr add 198.51.100.1/30 dev t0 && ip route add 203.0.113.0/24 via 198.51.100.2 && \
            ip link add t1 type veth peer name t1p && ip link set t1 up",
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let objs = [
                TrackObject::Interface("t0".into()),
                TrackObject::Interface("t1".into()),
                TrackObject::Route {
                    addr: [203, 0, 113, 0].into(),
                    len: 24,
                    interval_ms: 60_000,
                },
                TrackObject::NextHop {
                    addr: [198, 51, 100, 2].into(),
                    interval_ms: 60_000,
                },
            ];
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let _w = Watchers::start(&objs, tx).unwrap();
            // Changes until `want` (id -> up) is reached; anything else fails.
            let mut state = std::collections::BTreeMap::new();
            let mut expect = async |want: &[(usize, bool)]| {
                let goal: std::collections::BTreeMap<usize, bool> = state
                    .clone()
                    .into_iter()
                    .chain(want.iter().copied())
                    .collect();
                while state != goal {
                    let c = tokio::time::timeout(Duration::from_secs(5), rx.recv())
                        .await
                        .unwrap_or_else(|_| panic!("waiting for {goal:?}, have {state:?}"))
                        .unwrap();
                    assert_eq!(
                        goal.get(&c.id),
                        Some(&c.up),
                        "unexpected {c:?} on the way to {goal:?}"
                    );
                    state.insert(c.id, c.up);
                }
            };
            expect(&[(0, true), (1, false), (2, true), (3, true)]).await;
            ip("ip link set t0 down");
            expect(&[(0, false), (2, false), (3, false)]).await;
            ip("ip link set t0 up");
            expect(&[(0, true), (3, true)]).await;
            ip("ip route add default via 198.51.100.2");
            tokio::time::sleep(Duration::from_millis(200)).await;
            ip("ip route add 203.0.113.0/24 via 198.51.100.2");
            expect(&[(2, true)]).await;
            ip("ip link set t1p up");
            expect(&[(1, true)]).await;
            assert!(rx.try_recv().is_err(), "no other change");
        });
    });
}
