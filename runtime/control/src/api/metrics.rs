//! `GET /metrics`: Prometheus text exposition (format 0.0.4), per drive, per bus and per
//! supervisor.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use futures_util::future::join_all;

use crate::auth::{Caller, Role};
use crate::error::ApiError;
use crate::state::AppState;
use crate::views;

/// Label values escaped as the exposition format asks.
fn esc(v: &str) -> String {
    v.replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

/// (metric name, help, value of one snapshot).
type Metric<T> = (&'static str, &'static str, fn(&T) -> u64);

struct Out(String);

impl Out {
    fn help(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", esc(v)))
            .collect();
        let _ = writeln!(self.0, "{name}{{{}}} {value}", labels.join(","));
    }

    /// Each metric of `family` (counter when named `_total`, else gauge) for every
    /// `(label, id, value source)` row.
    fn family<T>(&mut self, line: &str, family: &[Metric<T>], rows: &[(&str, &str, &T)]) {
        for (name, help, f) in family {
            let kind = if name.ends_with("_total") {
                "counter"
            } else {
                "gauge"
            };
            self.help(name, kind, help);
            for (label, id, value) in rows {
                self.sample(name, &[("line", line), (label, id)], f(value));
            }
        }
    }
}

pub(crate) async fn metrics(
    caller: Caller,
    State(s): State<AppState>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(Role::Viewer, "read metrics")?;
    let line = &s.line;
    let mut o = Out(String::new());
    let ln = line.name.as_str();

    let (all_drives, all_buses) = (line.drives(), line.buses());
    let snaps = join_all(all_drives.values().map(views::drive_snapshot)).await;
    let drives: Vec<_> = all_drives.values().zip(&snaps).collect();
    o.help(
        "linevisor_drive_up",
        "gauge",
        "1 when the drive answered its snapshot.",
    );
    for (d, snap) in &drives {
        o.sample(
            "linevisor_drive_up",
            &[("line", ln), ("drive", &d.id)],
            u8::from(snap.is_ok()),
        );
    }
    let counters: [Metric<linevisor_drive::DriveSnapshot>; 6] = [
        ("linevisor_drive_cycles_total", "Samples handled.", |s| {
            s.stats.cycles
        }),
        (
            "linevisor_drive_missed_cycles_total",
            "Cycles without a sample (skipped or failed).",
            |s| s.stats.missed,
        ),
        (
            "linevisor_drive_failed_cycles_total",
            "Cycles the bus reported failed.",
            |s| s.stats.failed,
        ),
        (
            "linevisor_drive_overruns_total",
            "Samples superseded before the drive took them.",
            |s| s.stats.overruns,
        ),
        (
            "linevisor_drive_restarts_total",
            "Restarts of the drive actor (generation - 1).",
            |s| s.generation.saturating_sub(1),
        ),
        (
            "linevisor_drive_jitter_max_us",
            "Largest cycle-to-cycle change of completion offset.",
            |s| s.stats.jitter_max_us,
        ),
    ];
    let rows: Vec<_> = drives
        .iter()
        .filter_map(|(d, snap)| Some(("drive", d.id.as_str(), snap.as_ref().ok()?)))
        .collect();
    o.family(ln, &counters, &rows);
    o.help(
        "linevisor_drive_state",
        "gauge",
        "1 for the drive's current uniform state.",
    );
    for (d, snap) in &drives {
        if let Ok(snap) = snap {
            o.sample(
                "linevisor_drive_state",
                &[("line", ln), ("drive", &d.id), ("state", snap.state.name())],
                1,
            );
        }
    }

    let metrics = join_all(all_buses.values().map(views::bus_metrics)).await;
    let buses: Vec<_> = all_buses
        .values()
        .zip(&metrics)
        .filter_map(|(b, m)| m.as_ref().ok().map(|m| (b, m)))
        .collect();
    o.help(
        "linevisor_bus_link_up",
        "gauge",
        "1 when the bus's port or connection is open.",
    );
    for (b, m) in &buses {
        o.sample(
            "linevisor_bus_link_up",
            &[("line", ln), ("bus", &b.id)],
            u8::from(m.link_up),
        );
    }
    let bus_counters: [Metric<linevisor_bus::BusMetrics>; 11] = [
        ("linevisor_bus_transactions_total", "Requests sent.", |m| {
            m.counters.transactions
        }),
        (
            "linevisor_bus_timeouts_total",
            "Attempts without a response in time.",
            |m| m.counters.timeouts,
        ),
        (
            "linevisor_bus_crc_errors_total",
            "Responses with a bad CRC.",
            |m| m.counters.crc_errors,
        ),
        (
            "linevisor_bus_framing_errors_total",
            "Malformed or mismatched responses.",
            |m| m.counters.framing_errors,
        ),
        (
            "linevisor_bus_exceptions_total",
            "Exception responses.",
            |m| m.counters.exceptions,
        ),
        (
            "linevisor_bus_demotions_total",
            "Times a unit was demoted.",
            |m| m.counters.demotions,
        ),
        (
            "linevisor_bus_span_fallbacks_total",
            "Units that refused a read spanning a register gap and fell back to unpadded reads.",
            |m| m.counters.span_fallbacks,
        ),
        (
            "linevisor_bus_missed_cycles_total",
            "Cycles skipped, overdue by a whole period.",
            |m| m.counters.missed_cycles,
        ),
        (
            "linevisor_bus_late_cycles_total",
            "Cycles started late by more than a tenth of the period (sent late, not skipped).",
            |m| m.counters.late_cycles,
        ),
        (
            "linevisor_bus_link_losses_total",
            "Times the link was lost.",
            |m| m.link_losses,
        ),
        ("linevisor_bus_queued", "Acyclic requests waiting.", |m| {
            m.queued as u64
        }),
    ];
    let rows: Vec<_> = buses
        .iter()
        .map(|(b, m)| ("bus", b.id.as_str(), *m))
        .collect();
    o.family(ln, &bus_counters, &rows);

    // CANopen buses only: what the master sees on the wire.
    let canopen: [Metric<linevisor_bus::CanopenMetrics>; 12] = [
        (
            "linevisor_canopen_frames_sent_total",
            "CAN frames sent.",
            |c| c.frames_sent,
        ),
        (
            "linevisor_canopen_frames_received_total",
            "CAN frames received.",
            |c| c.frames_received,
        ),
        (
            "linevisor_canopen_send_errors_total",
            "Sends the interface refused.",
            |c| c.send_errors,
        ),
        (
            "linevisor_canopen_sdo_aborts_total",
            "SDO transfers aborted by a node.",
            |c| c.sdo_aborts,
        ),
        (
            "linevisor_canopen_sdo_timeouts_total",
            "SDO transfers without response.",
            |c| c.sdo_timeouts,
        ),
        (
            "linevisor_canopen_sync_sent_total",
            "SYNC frames sent.",
            |c| c.sync_sent,
        ),
        (
            "linevisor_canopen_sync_missed_total",
            "SYNC periods over 1.5x nominal.",
            |c| c.sync_missed,
        ),
        (
            "linevisor_canopen_sync_jitter_p99_us",
            "p99 of |SYNC period - nominal|.",
            |c| c.sync_jitter_p99_us,
        ),
        (
            "linevisor_canopen_emcy_total",
            "EMCY messages received.",
            |c| c.emcy,
        ),
        (
            "linevisor_canopen_heartbeat_losses_total",
            "Heartbeats gone overdue.",
            |c| c.heartbeat_losses,
        ),
        (
            "linevisor_canopen_boot_ups_total",
            "Boot-up messages received.",
            |c| c.boot_ups,
        ),
        (
            "linevisor_canopen_sdo_unsolicited_dropped_total",
            "SDO responses dropped with no transfer waiting (a node flooding 0x580+n).",
            |c| c.sdo_unsolicited_dropped,
        ),
    ];
    let rows: Vec<_> = buses
        .iter()
        .filter_map(|(b, m)| Some(("bus", b.id.as_str(), m.canopen.as_ref()?)))
        .collect();
    o.family(ln, &canopen, &rows);

    o.help(
        "linevisor_supervisor_child_restarts_total",
        "counter",
        "Restarts of each child by its supervisor.",
    );
    for sup in [&line.tree.root, &line.tree.buses, &line.tree.drives] {
        if let Ok(children) = views::children(sup).await {
            let path = sup.path();
            for c in children {
                o.sample(
                    "linevisor_supervisor_child_restarts_total",
                    &[
                        ("line", ln),
                        ("supervisor", &path),
                        ("child", c.id.as_str()),
                    ],
                    c.restarts,
                );
            }
        }
    }
    if let Some(j) = &s.journal {
        let h = j.health();
        let journal: [(&str, &str, u64); 6] = [
            (
                "linevisor_journal_up",
                "1 when the last journal append was written and synced.",
                u64::from(h.ok),
            ),
            (
                "linevisor_journal_records_total",
                "Records written.",
                h.records,
            ),
            (
                "linevisor_journal_write_failures_total",
                "Records that could not be written (the audit trail has a gap).",
                h.write_failures,
            ),
            (
                "linevisor_journal_syncs_total",
                "fdatasync calls that succeeded.",
                h.syncs,
            ),
            (
                "linevisor_journal_sync_failures_total",
                "fdatasync calls that failed.",
                h.sync_failures,
            ),
            (
                "linevisor_journal_rotation_failures_total",
                "Rotations or reopens that failed (records went on into the open file).",
                h.rotation_failures,
            ),
        ];
        for (name, help, value) in journal {
            let kind = if name.ends_with("_total") {
                "counter"
            } else {
                "gauge"
            };
            o.help(name, kind, help);
            o.sample(name, &[("line", ln)], value);
        }
    }
    Ok(([(CONTENT_TYPE, "text/plain; version=0.0.4")], o.0))
}
