//! Notify command (config `notify`): run once per gateway or forwarder
//! state change, in the background, killed after its timeout. A slow or
//! failing command never holds up the protocol.

use std::time::Duration;

use tracing::warn;

use crate::{config::Notify, control::vf_state, engine::Event};

/// The arguments for `event`, or None if it is not a state change.
pub fn args(interface: &str, group: u16, event: &Event) -> Option<Vec<String>> {
    let (i, g) = (interface.to_string(), group.to_string());
    match event {
        Event::VgStateChanged { from, to, .. } => Some(vec![
            i,
            g,
            "gateway".into(),
            from.to_string(),
            to.to_string(),
        ]),
        Event::ForwarderStateChanged { fwd, from, to, .. } => Some(vec![
            i,
            g,
            "forwarder".into(),
            fwd.to_string(),
            vf_state(*from),
            vf_state(*to),
        ]),
        _ => None,
    }
}

pub fn run(n: &Notify, args: Vec<String>) {
    let mut cmd = tokio::process::Command::new(&n.command);
    cmd.args(&args)
        .kill_on_drop(true)
        .stdin(std::process::Stdio::null());
    let timeout = Duration::from_millis(n.timeout_ms.into());
    let name = n.command.display().to_string();
    tokio::spawn(async move {
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => return warn!("notify {name}: {e}"),
        };
        match tokio::time::timeout(timeout, child.wait()).await {
            Ok(Ok(st)) if st.success() => {}
            Ok(Ok(st)) => warn!("notify {name} {}: {st}", args.join(" ")),
            Ok(Err(e)) => warn!("notify {name}: {e}"),
            Err(_) => {
                let _ = child.kill().await;
                warn!("notify {name} {}: killed after {timeout:?}", args.join(" "));
            }
        }
    });
}
