//! The story's frame: ① election, ② hosts spreading over the routers,
//! then the failures (failover.rs), and ⑥ the summary.

use std::time::Duration;

use anyhow::Result;
use gw_tests::topo::{SERVER, VIP, gateway_ip};

use super::{
    failover::{fail_avg, fail_forwarder},
    measure::{self, Probes, names, sample},
    narrate::{Align, ms, number_word, span},
    summary::{Phase, Summary, distribution},
    watch::{Ctx, hosts_list, plural},
};

/// The whole story; returns the summary.
pub(super) fn story(cx: &mut Ctx) -> Result<Summary> {
    let (g, n) = (cx.lab.gateways, cx.lab.hosts);
    let t = cx.lab.timers;
    let mut sum = Summary {
        gateways: g,
        hosts: n,
        timers: t.set,
        initial: vec![],
        initial_frames: vec![],
        final_routers: vec![],
        final_frames: vec![],
        phases: vec![],
        problems: vec![],
    };

    // ① Election.
    let out = cx.out;
    out.section(1, &format!("election: who answers for {VIP}"));
    let prios: Vec<String> = (1..=g)
        .map(|i| format!("{} {}", out.router(i), cx.lab.priorities[i - 1]))
        .collect();
    out.say(&format!(
        "starting gw-agent on every router (priority: {}); each attaches XDP to its LAN port",
        prios.join(", ")
    ));
    cx.lab.start_all()?;
    let alive = cx.lab.alive();
    let avg = cx
        .watch("the election", t.hold() * 4 + Duration::from_secs(10), |_, s| s.steady(&alive))
        .map_err(|e| {
            let e_text = format!("{e}");
            if g > 1 && (e_text.contains("claim AVG") || e_text.contains("no hellos")) {
                anyhow::anyhow!(
                    "{e_text}\n    hint: every agent acts as the AVG of its own group of one: does this gw-agent have the multi-router engine?"
                )
            } else {
                e
            }
        })?;
    let s = sample(&cx.lab);
    for i in 1..=g {
        if let Some(st) = s.get(i) {
            for f in &st.forwarding {
                cx.primary.insert(f.1.clone(), i);
            }
        }
    }
    let rows: Vec<Vec<String>> = (1..=g)
        .map(|i| {
            let st = s.get(i);
            let role = match cx.lab.vg_state[i - 1].as_str() {
                "" if st.is_some_and(|x| x.avg) => "Active".to_string(),
                "" => "Listen".to_string(),
                r => r.to_string(),
            };
            let role = match role.as_str() {
                "Active" => out.green(&format!("{role} (AVG)")),
                _ => role,
            };
            let fwd = st
                .and_then(|x| x.forwarding.first())
                .map(|f| format!("fwd {} {}", f.0, out.in_router_color(i, &f.1)))
                .unwrap_or_else(|| out.red("none"));
            vec![
                out.router(i),
                gateway_ip(i).to_string(),
                cx.lab.priorities[i - 1].to_string(),
                role,
                fwd,
            ]
        })
        .collect();
    out.table(
        &[
            ("router", Align::Left),
            ("address", Align::Left),
            ("prio", Align::Right),
            ("gateway", Align::Left),
            ("forwards", Align::Left),
        ],
        &rows,
    );
    let mode = s.get(avg).map(|x| x.xdp_mode.clone()).unwrap_or_default();
    if g == 1 {
        out.ok(&format!(
            "{} is the AVG of a group of one after {:.1} s, forwarding for its own vMAC",
            out.router(avg),
            cx.lab.t0.elapsed().as_secs_f64()
        ));
    } else {
        let top = cx.lab.priorities.iter().copied().max() == Some(cx.lab.priorities[avg - 1]);
        out.ok(&format!(
            "{} is the AVG ({}) after {:.1} s and gave each router a forwarder: {} to hand out",
            out.router(avg),
            if top {
                "highest priority".to_string()
            } else {
                format!("priority {}", cx.lab.priorities[avg - 1])
            },
            cx.lab.t0.elapsed().as_secs_f64(),
            plural(g, "vMAC")
        ));
    }
    out.note(&format!(
        "XDP runs in {mode} mode on lan0 (veth); only the AVG's XDP program answers ARP for {VIP}"
    ));

    // ② Hosts spread over the routers.
    out.section(
        2,
        &format!(
            "{} hosts resolve {VIP} and reach the server {SERVER}",
            number_word(n)
        ),
    );
    out.say(&format!("each host's only default route is via {VIP}; each sends a UDP probe to the server every 10 ms"));
    cx.lab.echo = Some(gw_tests::probe::Echo::start_in(
        &cx.lab.topo().server.name,
        measure::echo_addr(),
    )?);
    let probes = Probes::start(&cx.lab)?;
    cx.start_meter();
    cx.watch(
        "every host reaching the server",
        t.hold() * 3 + Duration::from_secs(5),
        |_, _| {
            let silent = probes.silent(Duration::from_millis(150));
            if silent.is_empty() {
                Ok(())
            } else {
                Err(format!("no replies for {}", hosts_list(&silent)))
            }
        },
    )?;
    cx.run_for(cx.pace.traffic)?;
    let s = sample(&cx.lab);
    let routers = cx.host_table(&s);
    cx.distribution_line(&routers);
    if let Some(a) = s.get(avg) {
        let parts: Vec<String> = a
            .slots
            .iter()
            .map(|(f, m, n)| {
                format!("{n}× fwd {f}").replace(
                    &format!("fwd {f}"),
                    &out.in_router_color(
                        cx.primary.get(m).copied().unwrap_or(1),
                        &format!("fwd {f}"),
                    ),
                )
            })
            .collect();
        out.note(&format!(
            "the AVG's XDP program answered ARP round-robin: {}",
            parts.join(", ")
        ));
    }
    drop(probes);
    let frames = cx
        .meter
        .as_ref()
        .map(|m| m.total.clone())
        .unwrap_or_default();
    cx.frames_line("frames forwarded via vMAC (XDP counters):", &frames);
    let carrying: Vec<usize> = (1..=g).filter(|&i| frames[i - 1] > 0).collect();
    let resolved = routers.iter().all(Option::is_some);
    if carrying.len() == g && resolved {
        if g == 1 {
            out.ok("the hosts' traffic flows through g1");
        } else {
            out.ok(&format!(
                "the hosts' traffic flows through all {} routers",
                number_word(g)
            ));
        }
    } else {
        let idle: Vec<usize> = (1..=g).filter(|i| !carrying.contains(i)).collect();
        let unknown: Vec<usize> = (1..=n).filter(|&j| routers[j - 1].is_none()).collect();
        let mut why = Vec::new();
        if !idle.is_empty() {
            why.push(format!("no frames through {}", names(&idle)));
        }
        if !unknown.is_empty() {
            why.push(format!(
                "no live router forwards the vMAC of {}",
                hosts_list(&unknown)
            ));
        }
        let msg = format!("traffic did not spread: {}", why.join("; "));
        out.bad(&msg);
        sum.problems.push(msg);
    }
    sum.initial = routers;
    sum.initial_frames = frames;

    if g < 2 {
        out.blank();
        out.note("one router: nothing to fail over to (steps ③–⑤ need --gateways 2 or more)");
        sum.final_routers = sum.initial.clone();
        sum.final_frames = sum.initial_frames.clone();
    } else {
        let back = fail_avg(cx, avg, &mut sum)?;
        fail_forwarder(cx, back, &mut sum)?;
    }

    // ⑥ Summary.
    let out = cx.out;
    out.section(
        6,
        "summary: outage per host (longest time without replies) and final router",
    );
    sum.print(out);
    cx.distribution_line(&sum.final_routers);
    let all_rec = sum.phases.iter().all(Phase::all_recovered);
    if !sum.phases.is_empty() {
        let worst = sum
            .phases
            .iter()
            .map(Phase::worst)
            .max()
            .unwrap_or_default();
        if all_rec {
            out.ok(&format!(
                "every host reached the server again after each failure; worst outage {} (hold time {})",
                ms(worst),
                span(t.hold())
            ));
        } else {
            for p in sum.phases.iter().filter(|p| !p.all_recovered()) {
                let lost: Vec<usize> = (1..=n).filter(|&j| !p.hosts[j - 1].recovered).collect();
                let msg = format!(
                    "after \"{}\" {} did not reach the server again",
                    p.name,
                    hosts_list(&lost)
                );
                out.bad(&msg);
                sum.problems.push(msg);
            }
        }
    }
    let d = distribution(&sum.final_routers, g);
    if d.iter().all(|&k| k > 0) || n < g {
        out.ok(&format!(
            "hosts are spread over {}",
            if g == 1 {
                "the router".into()
            } else {
                format!("all {} routers", number_word(g))
            }
        ));
    } else {
        let msg = format!(
            "final distribution leaves {} without hosts",
            names(&(1..=g).filter(|&i| d[i - 1] == 0).collect::<Vec<_>>())
        );
        out.bad(&msg);
        sum.problems.push(msg);
    }
    Ok(sum)
}
