//! ③ the AVG fails (and comes back), ④ a forwarder fails and its hosts
//! are moved, ⑤ it comes back and takes its forwarder back.

use std::time::{Duration, Instant};

use anyhow::Result;

use super::{
    measure::{Probes, Sample, outage, sample},
    narrate::{Align, and_list, ms, span},
    signal,
    summary::{Phase, Summary},
    watch::{Ctx, debug_gaps, hosts_list},
};

/// ③: the AVG loses power; the standby takes over. Then it comes back.
/// Returns the AVG afterwards.
pub(super) fn fail_avg(cx: &mut Ctx, avg: usize, sum: &mut Summary) -> Result<usize> {
    let (out, t, n) = (cx.out, cx.lab.timers, cx.lab.hosts);
    out.section(
        3,
        &format!("the AVG fails: {} loses power", out.router(avg)),
    );
    out.say(&format!(
        "cables out, agent killed without a goodbye; the others notice after the hold time ({}): the standby becomes AVG and a secondary takes over {}'s vMAC",
        span(t.hold()),
        out.router(avg)
    ));
    let probes = cx.probes_with_baseline()?;
    let s = sample(&cx.lab);
    let (before_macs, before) = cx.host_routers(&s);
    let vmacs: Vec<String> = cx.primary.keys().cloned().collect();
    let fail = Instant::now();
    cx.lab.power_off(avg);
    out.say(&out.yellow(&format!("{} is off", out.router(avg))));
    let new_avg = cx.watch(
        "the takeover",
        t.hold() * 4 + Duration::from_secs(5),
        |_, s| {
            s.covered(&vmacs)?;
            let silent = probes.silent(Duration::from_millis(100));
            if !silent.is_empty() {
                return Err(format!("no replies for {}", hosts_list(&silent)));
            }
            Ok(s.avg().unwrap())
        },
    )?;
    let took = fail.elapsed();
    cx.run_for(Duration::from_millis(300))?;
    let reports = probes.stop();
    let s = sample(&cx.lab);
    let (now_macs, now) = cx.host_routers(&s);
    debug_gaps(&reports, fail);
    let outages: Vec<_> = reports.iter().map(|r| outage(r, fail)).collect();
    let rows: Vec<Vec<String>> = (1..=n)
        .map(|j| {
            let o = &outages[j - 1];
            vec![
                format!("h{j}"),
                cx.vmac_cell(&before_macs[j - 1]),
                cx.router_cell(before[j - 1], &before_macs[j - 1]),
                cx.router_cell(now[j - 1], &now_macs[j - 1]),
                if o.outage.is_zero() {
                    out.dim("0 ms")
                } else {
                    ms(o.outage)
                },
                o.lost.to_string(),
            ]
        })
        .collect();
    out.table(
        &[
            ("host", Align::Left),
            ("gateway vMAC", Align::Left),
            ("router before", Align::Left),
            ("now", Align::Left),
            ("outage", Align::Right),
            ("lost", Align::Right),
        ],
        &rows,
    );
    let orphan = cx
        .primary
        .iter()
        .find(|(_, p)| **p == avg)
        .map(|(m, _)| m.clone());
    let heir = orphan.as_ref().and_then(|m| s.owner(m));
    out.ok(&format!(
        "{} is the AVG {:.1} s after the failure{}",
        out.router(new_avg),
        took.as_secs_f64(),
        match (orphan, heir) {
            (Some(m), Some(h)) => format!(
                "; {} now forwards {}'s vMAC {m}",
                out.router(h),
                out.router(avg)
            ),
            _ => String::new(),
        }
    ));
    let phase = Phase {
        name: "AVG down",
        router: avg,
        hosts: outages,
    };
    let worst_mine = (1..=n)
        .filter(|&j| before[j - 1] == Some(avg))
        .map(|j| phase.hosts[j - 1].outage)
        .max();
    let worst_other = (1..=n)
        .filter(|&j| before[j - 1] != Some(avg))
        .map(|j| phase.hosts[j - 1].outage)
        .max();
    out.note(&format!(
        "hosts that used {}: worst outage {}; the others: {}",
        out.router(avg),
        worst_mine.map(ms).unwrap_or("-".into()),
        worst_other.map(ms).unwrap_or("-".into())
    ));
    sum.phases.push(phase);

    // The old AVG comes back: no AVG preemption (Cisco's default), so it
    // rejoins without taking the AVG role; forwarder preemption gives it
    // its forwarder back after the delay.
    out.blank();
    out.say(&format!(
        "{} is powered back on: it adopts its pinned XDP program and rejoins; AVG preemption is off (Cisco's default), so {} stays AVG; after the forwarder preemption delay ({}) it takes its forwarder back",
        out.router(avg),
        out.router(new_avg),
        span(t.fwd_preempt())
    ));
    let probes = cx.probes_with_baseline()?;
    let on = Instant::now();
    cx.lab.power_on(avg)?;
    let alive = cx.lab.alive();
    let settled = cx.watch(
        &format!("g{avg} rejoining"),
        t.hold() * 4 + t.fwd_preempt() + Duration::from_secs(10),
        |_, s| s.steady(&alive),
    )?;
    let took = on.elapsed();
    cx.run_for(Duration::from_millis(300))?;
    let reports = probes.stop();
    let outages: Vec<_> = reports.iter().map(|r| outage(r, on)).collect();
    let s = sample(&cx.lab);
    let mine = s
        .get(avg)
        .and_then(|x| x.forwarding.first())
        .map(|f| f.1.clone())
        .unwrap_or_default();
    let phase = Phase {
        name: "AVG back",
        router: avg,
        hosts: outages,
    };
    out.ok(&format!(
        "{} forwards {} again {:.1} s after power-on; {} is still AVG; worst outage {}",
        out.router(avg),
        out.in_router_color(avg, &mine),
        took.as_secs_f64(),
        out.router(settled),
        ms(phase.worst())
    ));
    // Ownership after the return: the router's forwarder may have a new number.
    refresh_primary(cx, &s);
    sum.phases.push(phase);
    let _ = n;
    Ok(settled)
}

pub(super) fn refresh_primary(cx: &mut Ctx, s: &Sample) {
    cx.primary.clear();
    for i in cx.lab.alive() {
        if let Some(st) = s.get(i) {
            for f in &st.forwarding {
                cx.primary.insert(f.1.clone(), i);
            }
        }
    }
}

/// ④ and ⑤: a forwarder (not the AVG) loses power; its vMAC is taken
/// over, its hosts are moved after the redirect time; then it comes back
/// and takes its forwarder back.
pub(super) fn fail_forwarder(cx: &mut Ctx, avg: usize, sum: &mut Summary) -> Result<()> {
    let (out, t, n, g) = (cx.out, cx.lab.timers, cx.lab.hosts, cx.lab.gateways);
    let s = sample(&cx.lab);
    let (_, routers) = cx.host_routers(&s);
    // The busiest router that is not the AVG (the last one on a tie).
    let victim = (1..=g)
        .filter(|&i| i != avg)
        .max_by_key(|&i| (routers.iter().filter(|r| **r == Some(i)).count(), i))
        .expect("two or more routers");
    let vmac = s
        .get(victim)
        .and_then(|x| x.forwarding.first())
        .map(|f| f.1.clone())
        .unwrap_or_default();
    let its_hosts: Vec<usize> = (1..=n)
        .filter(|&j| routers[j - 1] == Some(victim))
        .collect();
    out.section(
        4,
        &format!("a forwarder fails: {} loses power", out.router(victim)),
    );
    out.say(&format!(
        "{} forwards {} for {}. After the hold time ({}) a secondary takes the vMAC over; after the redirect time ({}) the AVG stops handing it out and moves its hosts to the remaining routers",
        out.router(victim),
        out.in_router_color(victim, &vmac),
        if its_hosts.is_empty() { "no host".into() } else { hosts_list(&its_hosts) },
        span(t.hold()),
        span(t.redirect())
    ));
    let probes = cx.probes_with_baseline()?;
    let s = sample(&cx.lab);
    let (before_macs, before) = cx.host_routers(&s);
    let vmacs: Vec<String> = cx.primary.keys().cloned().collect();
    let fail = Instant::now();
    cx.lab.power_off(victim);
    out.say(&out.yellow(&format!("{} is off", out.router(victim))));
    cx.countdown = Some((fail + t.redirect() + t.hold(), "redirect"));
    let heir = cx.watch(
        "the forwarder takeover",
        t.hold() * 4 + Duration::from_secs(5),
        |_, s| {
            s.covered(&vmacs)?;
            let silent = probes.silent(Duration::from_millis(100));
            if !silent.is_empty() {
                return Err(format!("no replies for {}", hosts_list(&silent)));
            }
            Ok(s.owner(&vmac).unwrap())
        },
    )?;
    out.ok(&format!(
        "{} took over {} after {:.1} s: {} kept working",
        out.router(heir),
        out.in_router_color(victim, &vmac),
        fail.elapsed().as_secs_f64(),
        if its_hosts.is_empty() {
            "no host was using it, but it".into()
        } else {
            hosts_list(&its_hosts)
        }
    ));
    // The redirect: the AVG stops handing the vMAC out and moves its hosts
    // (while the secondary still forwards for them: no outage).
    let moved = cx.watch(
        "moving the hosts off the failed forwarder",
        t.redirect() + t.hold() * 3 + Duration::from_secs(5),
        |lab, s| {
            if s.handed_out().contains(&vmac) {
                return Err(format!("the AVG still hands out {vmac}"));
            }
            let macs = lab.host_macs();
            let stuck: Vec<usize> = its_hosts
                .iter()
                .copied()
                .filter(|&j| macs[j - 1].as_deref() == Some(vmac.as_str()))
                .collect();
            if !stuck.is_empty() {
                return Err(format!("{} still use {vmac}", hosts_list(&stuck)));
            }
            let silent = probes.silent(Duration::from_millis(100));
            if !silent.is_empty() {
                return Err(format!("no replies for {}", hosts_list(&silent)));
            }
            Ok(())
        },
    );
    cx.countdown = None;
    let moved_after = fail.elapsed();
    let moved = match moved {
        Ok(()) => true,
        Err(e) if e.is::<signal::Interrupted>() => return Err(e),
        Err(e) => {
            let msg = format!("{e:#}");
            out.bad(&msg);
            if !its_hosts.is_empty() {
                out.note(&format!(
                    "(they keep working through {} until the forwarder timeout, {}; then only an expired ARP entry moves them)",
                    out.router(heir),
                    span(t.timeout())
                ));
            }
            sum.problems.push(msg);
            false
        }
    };
    cx.run_for(Duration::from_millis(300))?;
    let reports = probes.stop();
    let s = sample(&cx.lab);
    let (now_macs, now) = cx.host_routers(&s);
    debug_gaps(&reports, fail);
    let outages: Vec<_> = reports.iter().map(|r| outage(r, fail)).collect();
    let rows: Vec<Vec<String>> = (1..=n)
        .map(|j| {
            let o = &outages[j - 1];
            let moved = before_macs[j - 1] != now_macs[j - 1];
            vec![
                format!("h{j}"),
                cx.router_cell(before[j - 1], &before_macs[j - 1]),
                if moved {
                    format!("→ {}", cx.vmac_cell(&now_macs[j - 1]))
                } else {
                    out.dim("unchanged")
                },
                cx.router_cell(now[j - 1], &now_macs[j - 1]),
                if o.outage.is_zero() {
                    out.dim("0 ms")
                } else {
                    ms(o.outage)
                },
                o.lost.to_string(),
            ]
        })
        .collect();
    out.table(
        &[
            ("host", Align::Left),
            ("router before", Align::Left),
            ("gateway vMAC now", Align::Left),
            ("router now", Align::Left),
            ("outage", Align::Right),
            ("lost", Align::Right),
        ],
        &rows,
    );
    let moved_to: Vec<String> = its_hosts
        .iter()
        .filter_map(|&j| {
            now[j - 1].filter(|&r| r != victim && now_macs[j - 1].as_deref() != Some(vmac.as_str()))
        })
        .map(|r| format!("g{r}"))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if moved && !its_hosts.is_empty() && !moved_to.is_empty() {
        out.ok(&format!(
            "{} moved to {} by unicast ARP replies, {:.1} s after the failure (redirect time {})",
            hosts_list(&its_hosts),
            and_list(&moved_to),
            moved_after.as_secs_f64(),
            span(t.redirect())
        ));
    }
    sum.phases.push(Phase {
        name: "fwd down",
        router: victim,
        hosts: outages,
    });

    // ⑤ It comes back and takes its forwarder back.
    out.section(
        5,
        &format!(
            "{} comes back and takes its forwarder back",
            out.router(victim)
        ),
    );
    out.say(&format!(
        "powered on before the forwarder timeout ({}): it is still primary for {}, and takes it back from {} after the forwarder preemption delay ({})",
        span(t.timeout()),
        out.in_router_color(victim, &vmac),
        out.router(heir),
        span(t.fwd_preempt())
    ));
    let probes = cx.probes_with_baseline()?;
    let on = Instant::now();
    cx.lab.power_on(victim)?;
    let alive = cx.lab.alive();
    let settled = cx.watch(
        &format!("g{victim} taking its forwarder back"),
        t.hold() * 4 + t.fwd_preempt() + Duration::from_secs(10),
        |_, s| {
            s.steady(&alive)?;
            if s.owner(&vmac) != Some(victim) {
                return Err(format!("g{victim} does not forward {vmac}"));
            }
            Ok(s.avg().unwrap())
        },
    );
    let took = on.elapsed();
    let settled = match settled {
        Ok(a) => Some(a),
        Err(e) if e.is::<signal::Interrupted>() => return Err(e),
        Err(e) => {
            out.bad(&format!("{e:#}"));
            sum.problems.push(format!("{e:#}"));
            None
        }
    };
    cx.run_for(Duration::from_millis(300))?;
    let reports = probes.stop();
    let phase = Phase {
        name: "fwd back",
        router: victim,
        hosts: reports.iter().map(|r| outage(r, on)).collect(),
    };
    if settled.is_some() {
        out.ok(&format!(
            "{} forwards {} again {:.1} s after power-on, and the AVG hands it out again; worst outage {}",
            out.router(victim),
            out.in_router_color(victim, &vmac),
            took.as_secs_f64(),
            ms(phase.worst())
        ));
    }
    sum.phases.push(phase);
    let s = sample(&cx.lab);
    refresh_primary(cx, &s);

    out.blank();
    out.say("hosts keep a working gateway until their ARP entry ages out; the lab flushes the hosts' ARP caches to show fresh resolutions:");
    cx.lab.flush_hosts();
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
    drop(probes);
    let frames = cx
        .meter
        .as_ref()
        .map(|m| m.total.clone())
        .unwrap_or_default();
    cx.frames_line("frames forwarded via vMAC (XDP counters):", &frames);
    sum.final_routers = routers;
    sum.final_frames = frames;
    Ok(())
}
