//! What the process-level tests share: running a client subcommand, waiting for drives to be
//! ready.
#![allow(dead_code, unreachable_pub)]

pub mod sparkplug;

use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// `linevisor <args>` against `api`: success and stdout + stderr.
pub fn linevisor(api: &str, args: &[&str]) -> (bool, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_linevisor"))
        .args(args)
        .env("LINEVISOR_API", api)
        .env_remove("LINEVISOR_TOKEN")
        .output()
        .expect("run linevisor");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success(), text)
}

/// The drives of `ids` that the running line reports past start-up.
fn ready_now<'a>(api: &str, ids: &[&'a str]) -> (Vec<&'a str>, String) {
    let (ok, status) = linevisor(api, &["status", "--json"]);
    assert!(ok, "{status}");
    let v: serde_json::Value = serde_json::from_str(&status).expect("status JSON");
    let ready = ids
        .iter()
        .copied()
        .filter(|id| {
            v["drives"].as_array().into_iter().flatten().any(|d| {
                d["id"] == *id && !matches!(d["state"].as_str(), Some("initializing" | "offline"))
            })
        })
        .collect();
    (ready, status)
}

/// Waits until every drive of `ids` is ready: on `ready` events from `events` (the output of
/// `linevisor events --follow`), and on the line's status whenever the stream is quiet for a
/// second, since a drive may have become ready before the follower subscribed. `within` only
/// guards a hang.
pub fn wait_ready(api: &str, ids: &[&str], events: &mpsc::Receiver<String>, within: Duration) {
    let deadline = Instant::now() + within;
    let (mut ready, _) = ready_now(api, ids);
    while ready.len() < ids.len() {
        match events.recv_timeout(Duration::from_secs(1)) {
            Ok(line) => {
                let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                    continue;
                };
                if v["kind"] == "ready"
                    && let Some(id) = ids.iter().find(|id| v["drive"] == **id)
                    && !ready.contains(id)
                {
                    ready.push(id);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let (now, status) = ready_now(api, ids);
                ready = now;
                assert!(
                    Instant::now() < deadline,
                    "not every drive became ready: only {ready:?}; status {status}"
                );
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the event stream ended"),
        }
    }
}
