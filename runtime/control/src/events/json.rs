//! Drive and supervisor events as the JSON objects of the feed, the rings and the journal.

use linevisor_drive::{DriveEvent, DriveEventKind};
use linevisor_supervisor::{Event, EventKind};
use serde_json::{Value, json};

use super::now_ms;

/// The event as JSON, whether it is a fault, and whether the journal keeps it.
pub(super) fn drive_event(e: &DriveEvent) -> (Value, bool, bool) {
    let (kind, detail, fault, journalled) = match &e.kind {
        DriveEventKind::StateChanged {
            from,
            to,
            fault_code,
        } => (
            "state_changed",
            json!({"from": from.name(), "to": to.name(), "fault_code": fault_code}),
            to.is_fault(),
            to.is_fault() || from.is_fault(),
        ),
        DriveEventKind::CommandCompleted { command, outcome } => (
            "command_completed",
            json!({"command": format!("{command:?}"), "ok": outcome.is_ok(),
                   "reason": outcome.as_ref().err().map(ToString::to_string)}),
            false,
            false,
        ),
        DriveEventKind::CommLost { reason } => {
            ("comm_lost", json!({"reason": reason}), false, true)
        }
        DriveEventKind::CommRestored => ("comm_restored", json!({}), false, true),
        DriveEventKind::Ready { startup } => (
            "ready",
            json!({"startup": format!("{startup:?}")}),
            false,
            false,
        ),
        DriveEventKind::StartupFailed { startup, reason } => (
            "startup_failed",
            json!({"startup": format!("{startup:?}"), "reason": reason}),
            false,
            true,
        ),
        DriveEventKind::Reparameterised { reason, parameters } => (
            "reparameterised",
            json!({"reason": format!("{reason:?}"), "parameters": parameters}),
            false,
            true,
        ),
        DriveEventKind::Emergency {
            code,
            register,
            class,
        } => (
            "emergency",
            json!({"code": format!("{code:#06x}"), "register": register, "class": class}),
            *code != 0,
            true,
        ),
        DriveEventKind::UnitReplaced { old, new } => (
            "unit_replaced",
            json!({"old": old, "new": new}),
            false,
            true,
        ),
        DriveEventKind::ParametersDiffer { mismatches } => (
            "parameters_differ",
            json!({"mismatches": mismatches.iter().map(|m| json!({
                "parameter": m.parameter, "expected": m.expected, "got": m.got})).collect::<Vec<_>>()}),
            false,
            true,
        ),
        DriveEventKind::SafeStateApplied {
            situation,
            safe_state,
            state,
        } => (
            "safe_state_applied",
            json!({"situation": format!("{situation:?}"), "safe_state": format!("{safe_state:?}"),
                   "state": state.name()}),
            false,
            true,
        ),
        DriveEventKind::SafeStateFailed {
            situation,
            safe_state,
            reason,
        } => (
            "safe_state_failed",
            json!({"situation": format!("{situation:?}"), "safe_state": format!("{safe_state:?}"),
                   "reason": reason}),
            true,
            true,
        ),
    };
    let mut v = json!({"source": "drive", "drive": &*e.drive, "kind": kind, "ts_ms": now_ms()});
    if let (Value::Object(v), Value::Object(d)) = (&mut v, detail) {
        v.extend(d);
    }
    (v, fault, journalled)
}

pub(super) fn supervisor_event(e: &Event) -> Value {
    let (kind, detail) = match &e.kind {
        EventKind::Started => ("started", json!({})),
        EventKind::Restarted { count, backoff } => (
            "restarted",
            json!({"count": count, "backoff_ms": backoff.as_secs_f64() * 1e3}),
        ),
        EventKind::Failed { reason } => ("failed", json!({"reason": reason})),
        EventKind::Stopped { reason } => ("stopped", json!({"reason": reason})),
        EventKind::StartFailed { reason } => ("start_failed", json!({"reason": reason})),
        EventKind::ShutdownTimeout { timeout } => (
            "shutdown_timeout",
            json!({"timeout_ms": timeout.as_secs_f64() * 1e3}),
        ),
        EventKind::Killed => ("killed", json!({})),
        EventKind::KillTimedOut => ("kill_timed_out", json!({})),
        EventKind::SafeStopped => ("safe_stopped", json!({})),
        EventKind::SafeStopFailed { reason } => ("safe_stop_failed", json!({"reason": reason})),
        EventKind::Escalated {
            restarts,
            max,
            period,
        } => (
            "escalated",
            json!({"restarts": restarts, "max": max, "period_ms": period.as_secs_f64() * 1e3}),
        ),
        EventKind::Replaced { from, to } => ("replaced", json!({"from": &**from, "to": &**to})),
        EventKind::Promoted { version } => ("promoted", json!({"version": &**version})),
        EventKind::RolledBack { from, to, reason } => (
            "rolled_back",
            json!({"from": &**from, "to": &**to, "reason": reason}),
        ),
    };
    let mut v = json!({"source": "supervisor", "supervisor": &*e.supervisor,
                       "child": e.child.as_str(), "kind": kind, "ts_ms": now_ms()});
    if let (Value::Object(v), Value::Object(d)) = (&mut v, detail) {
        v.extend(d);
    }
    v
}
