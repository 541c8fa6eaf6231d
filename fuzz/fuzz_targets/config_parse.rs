//! `Config::parse` on arbitrary text never panics; an accepted config
//! serialises and parses back to itself (what `check` accepts, `run` and a
//! SIGHUP reload read the same way).
#![no_main]

use gw_agent::config::Config;
use libfuzzer_sys::fuzz_target;

/// An HMAC key_file is read from disk: keep the fuzzer away from files
/// that are huge or have side effects when read (/proc/kcore, devices).
fn touches_special_files(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => ["/proc", "/sys", "/dev", "/run"]
            .iter()
            .any(|p| s.contains(p)),
        serde_json::Value::Array(a) => a.iter().any(touches_special_files),
        serde_json::Value::Object(o) => o.values().any(touches_special_files),
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text)
        && touches_special_files(&v)
    {
        return;
    }
    match Config::parse(text) {
        Ok(cfg) => {
            let json = serde_json::to_string(&cfg).expect("a config serialises");
            let back =
                Config::parse(&json).unwrap_or_else(|e| panic!("re-parse of {json} failed: {e}"));
            assert_eq!(back, cfg);
            for g in &cfg.groups {
                let _ = g.engine_config();
                let _ = g.hold_ms();
            }
        }
        Err(e) => {
            assert!(!e.field.is_empty(), "error names no field: {e}");
        }
    }
});
