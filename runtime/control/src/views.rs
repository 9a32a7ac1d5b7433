//! JSON views of drives, buses and supervisors, shared by the line and drive endpoints and
//! `/metrics`.

use linevisor_bus::BusMetrics;
use linevisor_drive::{DriveSnapshot, snapshot};
use linevisor_line::{BusEntry, DriveEntry};
use linevisor_supervisor::{ChildInfo, ChildStatus, SupervisorRef};
use serde_json::{Value, json};

use crate::state::AppState;

/// A drive's snapshot, or why there is none right now (restarting: snapshots are fail-fast).
pub(crate) async fn drive_snapshot(d: &DriveEntry) -> Result<DriveSnapshot, String> {
    snapshot(&d.handle).await.map_err(|e| e.to_string())
}

pub(crate) fn drive_view(
    state: &AppState,
    d: &DriveEntry,
    snap: &Result<DriveSnapshot, String>,
) -> Value {
    let last_fault = state
        .recent
        .with(&d.id, |log| log.last_fault.clone())
        .flatten();
    let mut v = json!({
        "id": d.id, "bus": d.bus, "address": d.config.address, "version": d.version,
        "last_fault": last_fault,
    });
    match snap {
        Ok(s) => {
            let last = s.last.as_ref().map(|l| {
                json!({
                    "seq": l.seq, "position": l.position, "velocity": l.velocity,
                    "current": l.current, "torque": l.torque, "fault_code": l.fault_code,
                    "status_raw": l.status_raw,
                    "latency_us": u64::try_from(l.latency.as_micros()).unwrap_or(u64::MAX),
                })
            });
            v["state"] = json!(s.state.name());
            v["generation"] = json!(s.generation);
            v["restarts"] = json!(s.generation.saturating_sub(1));
            v["link_up"] = json!(s.link_up);
            v["cycles"] = json!(s.stats.cycles);
            v["missed"] = json!(s.stats.missed);
            v["stats"] = serde_json::to_value(&s.stats).unwrap_or(Value::Null);
            v["last"] = last.unwrap_or(Value::Null);
            v["pending"] = json!(
                s.pending
                    .iter()
                    .map(|c| format!("{c:?}"))
                    .collect::<Vec<_>>()
            );
            v["setpoints"] = json!(s.setpoints);
        }
        Err(e) => {
            v["state"] = json!("unavailable");
            v["unavailable"] = json!(e);
        }
    }
    v
}

pub(crate) async fn bus_metrics(b: &BusEntry) -> Result<BusMetrics, String> {
    b.handle.metrics().await.map_err(|e| e.to_string())
}

pub(crate) fn bus_view(b: &BusEntry, m: &Result<BusMetrics, String>) -> Value {
    let mut v = json!({ "id": b.id, "simulated": b.sim.is_some() });
    match m {
        Ok(m) => {
            v["link_up"] = json!(m.link_up);
            v["comm"] = serde_json::to_value(m).unwrap_or(Value::Null);
        }
        Err(e) => v["unavailable"] = json!(e),
    }
    v
}

pub(crate) fn status_name(s: ChildStatus) -> &'static str {
    match s {
        ChildStatus::Running => "running",
        ChildStatus::Restarting => "restarting",
        ChildStatus::Stopped => "stopped",
    }
}

pub(crate) async fn children(sup: &SupervisorRef) -> Result<Vec<ChildInfo>, String> {
    sup.which_children().await.map_err(|e| e.to_string())
}

pub(crate) fn supervisor_view(sup: &SupervisorRef, c: &Result<Vec<ChildInfo>, String>) -> Value {
    match c {
        Ok(c) => json!({
            "path": &*sup.path(),
            "children": c.iter().map(|i| json!({
                "id": i.id.as_str(), "status": status_name(i.status),
                "restarts": i.restarts, "version": &*i.version,
            })).collect::<Vec<_>>(),
        }),
        Err(e) => json!({ "path": &*sup.path(), "unavailable": e }),
    }
}
