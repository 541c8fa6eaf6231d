//! The report: one Markdown file for people (report.md) and one JSON file
//! for tools and the smoke test (report.json), both written at the end of
//! a run, with the machine and the run's settings up front.

use std::{
    path::Path,
    process::Command,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::Result;
use serde_json::{Value, json};

/// One benchmark's part of the report.
pub struct Section {
    pub key: &'static str,
    pub title: &'static str,
    pub md: String,
    pub json: Value,
}

impl Section {
    pub fn new(key: &'static str, title: &'static str, md: String, json: Value) -> Section {
        Section {
            key,
            title,
            md,
            json,
        }
    }
}

/// A Markdown table.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = format!("| {} |\n", headers.join(" | "));
    s += &format!("|{}\n", headers.iter().map(|_| "---|").collect::<String>());
    for r in rows {
        s += &format!("| {} |\n", r.join(" | "));
    }
    s
}

/// 1234567.0 -> "1.23 M", 45600.0 -> "45.6 k".
pub fn fmt_rate(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    match x {
        x if x >= 1e6 => format!("{:.2} M", x / 1e6),
        x if x >= 1e3 => format!("{:.1} k", x / 1e3),
        x => format!("{x:.0}"),
    }
}

pub fn fmt_ratio(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    if x >= 10.0 {
        format!("{x:.0}×")
    } else {
        format!("{x:.2}×")
    }
}

pub fn fmt_ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms >= 10_000.0 {
        format!("{:.1} s", ms / 1e3)
    } else if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

fn sh(cmd: &str) -> String {
    Command::new("sh")
        .args(["-c", cmd])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// UTC "YYYY-MM-DD HH:MM" (civil-from-days, no time-zone database).
fn utc_now() -> String {
    let s = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (s.div_euclid(86_400), s.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// The machine and the run, for the report's head.
pub fn meta(smoke: bool, agent: &Path, wall: Duration) -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|r| r.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_default();
    json!({
        "date": utc_now(),
        "mode": if smoke { "smoke" } else { "full" },
        "kernel": sh("uname -r"),
        "cpus": super::packet::allowed_cpus().len(),
        "cpu_model": cpu,
        "agent": agent.display().to_string(),
        "keepalived": sh("keepalived --version 2>&1 | head -1"),
        "commit": sh("git rev-parse --short HEAD 2>/dev/null"),
        "dirty": !sh("git status --porcelain 2>/dev/null | head -1").is_empty(),
        "wall_s": wall.as_secs_f64(),
    })
}

/// Writes report.md and report.json into `dir`; returns the Markdown.
pub fn write(dir: &Path, meta: Value, sections: &[Result<Section, String>]) -> Result<String> {
    std::fs::create_dir_all(dir)?;
    let mut md = String::from("# gw benchmarks\n\n");
    md += &format!(
        "{} run of `cargo xtask bench{}` on {} ({} CPUs, {}), Linux {}, commit {}{}, agent `{}`, {}; took {:.0} s.\n\n",
        meta["mode"].as_str().unwrap_or("?"),
        if meta["mode"] == "smoke" {
            " --smoke"
        } else {
            ""
        },
        meta["date"].as_str().unwrap_or("?"),
        meta["cpus"],
        meta["cpu_model"].as_str().unwrap_or("?"),
        meta["kernel"].as_str().unwrap_or("?"),
        meta["commit"].as_str().unwrap_or("?"),
        if meta["dirty"] == true {
            " (with local changes)"
        } else {
            ""
        },
        meta["agent"].as_str().unwrap_or("?"),
        meta["keepalived"].as_str().unwrap_or("no keepalived"),
        meta["wall_s"].as_f64().unwrap_or(0.0),
    );
    md += "Everything runs in network namespaces on one shared machine, so absolute numbers drift \
           from run to run; the ratios compare things measured in the same run, minutes apart.\n\n";
    let mut js = serde_json::Map::new();
    js.insert("meta".into(), meta);
    for s in sections {
        match s {
            Ok(s) => {
                md += &format!("## {}\n\n{}\n", s.title, s.md.trim_end());
                md += "\n\n";
                js.insert(s.key.into(), s.json.clone());
            }
            Err(e) => {
                md += &format!("## FAILED\n\n```\n{e}\n```\n\n");
                if let Some(a) = js
                    .entry("errors")
                    .or_insert_with(|| json!([]))
                    .as_array_mut()
                {
                    a.push(json!(e));
                }
            }
        }
    }
    std::fs::write(dir.join("report.md"), &md)?;
    std::fs::write(
        dir.join("report.json"),
        serde_json::to_string_pretty(&Value::Object(js))?,
    )?;
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(fmt_rate(1_234_567.0), "1.23 M");
        assert_eq!(fmt_rate(45_600.0), "45.6 k");
        assert_eq!(fmt_rate(f64::NAN), "n/a");
        assert_eq!(fmt_ratio(2.345), "2.35×");
        assert_eq!(fmt_ratio(23.4), "23×");
        assert_eq!(fmt_ms(Duration::from_micros(12_340)), "12.3 ms");
        assert_eq!(
            table(&["a", "b"], &[vec!["1".into(), "2".into()]]),
            "| a | b |\n|---|---|\n| 1 | 2 |\n"
        );
        assert!(utc_now().ends_with(" UTC"));
    }
}
