//! What the probe does to and reads from the drives: waits for them, enables them, takes their
//! cycle statistics, follows telemetry and sends commands.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use linevisor_bus::LatencyHistogram;
use linevisor_drive::{
    Command, CycleStats, DriveMsg, DriveState, TelemetrySample, send_command, snapshot,
};
use linevisor_line::DriveEntry;
use linevisor_profile::Direction;
use linevisor_supervisor::ChildHandle;
use tokio::sync::broadcast::{Receiver, error::RecvError};
use tokio::task::JoinSet;

const COMMAND_EVERY: Duration = Duration::from_millis(100);
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A drive commands go to: on Modbus (else CANopen), its handle.
pub(crate) type Target = (bool, ChildHandle<DriveMsg>);

/// Waits until every drive is online and initialised; how many are.
pub(crate) async fn wait_ready(drives: &[DriveEntry]) -> usize {
    let end = Instant::now() + READY_TIMEOUT;
    let mut waiting: Vec<&DriveEntry> = drives.iter().collect();
    loop {
        let mut still = Vec::new();
        for d in waiting {
            let ready = snapshot(&d.handle)
                .await
                .is_ok_and(|s| matches!(s.state, DriveState::Power(_)));
            if !ready {
                still.push(d);
            }
        }
        waiting = still;
        if waiting.is_empty() || Instant::now() >= end {
            return drives.len() - waiting.len();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Enables every drive at once, as a line start would; the enabled ones, in the order the
/// commands visit them: by id, alternating between Modbus (`m…`) and CANopen (`c…`) drives.
pub(crate) async fn enable_all(drives: &[DriveEntry]) -> Vec<Target> {
    let mut set = JoinSet::new();
    for d in drives {
        let (id, handle) = (d.id.clone(), d.handle.clone());
        set.spawn(async move {
            let ok = send_command(&handle, Command::Enable(Direction::Forward))
                .await
                .is_ok();
            ok.then_some((id, handle))
        });
    }
    let mut enabled: Vec<_> = set.join_all().await.into_iter().flatten().collect();
    enabled.sort_by(|a, b| a.0.cmp(&b.0));
    let (mut modbus, mut canopen): (Vec<_>, Vec<_>) =
        enabled.into_iter().partition(|(id, _)| id.starts_with('m'));
    let (mut modbus, mut canopen) = (modbus.drain(..), canopen.drain(..));
    let mut order = Vec::new();
    loop {
        let (m, c) = (modbus.next(), canopen.next());
        if m.is_none() && c.is_none() {
            return order;
        }
        order.extend(
            m.into_iter()
                .chain(c)
                .map(|(id, h)| (id.starts_with('m'), h)),
        );
    }
}

pub(crate) async fn stats(drives: &[DriveEntry]) -> Vec<Option<CycleStats>> {
    let mut out = Vec::with_capacity(drives.len());
    for d in drives {
        out.push(snapshot(&d.handle).await.ok().map(|s| s.stats));
    }
    out
}

/// Completion offsets (ms) of one drive's samples for `window`.
pub(crate) async fn offsets(mut rx: Receiver<TelemetrySample>, window: Duration) -> Vec<f64> {
    let end = tokio::time::Instant::now() + window;
    let mut v = Vec::new();
    loop {
        match tokio::time::timeout_at(end, rx.recv()).await {
            Ok(Ok(s)) => v.push((s.completed_at - s.scheduled_at).as_secs_f64() * 1e3),
            Ok(Err(RecvError::Lagged(_))) => {}
            Ok(Err(RecvError::Closed)) | Err(_) => return v,
        }
    }
}

/// A set-velocity command every 100 ms, each to the next drive: acknowledgement times (ms,
/// tagged Modbus or not) and failures.
pub(crate) async fn commands(targets: Vec<Target>, window: Duration) -> (Vec<(bool, f64)>, u64) {
    let (mut acks, mut failures) = (Vec::new(), 0);
    if targets.is_empty() {
        return (acks, failures);
    }
    let end = Instant::now() + window;
    let mut tick = tokio::time::interval(COMMAND_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut k, mut v) = (0, 100.0);
    loop {
        tick.tick().await;
        if Instant::now() >= end {
            return (acks, failures);
        }
        let t = Instant::now();
        let (modbus, handle) = &targets[k % targets.len()];
        match send_command(handle, Command::SetVelocity(v)).await {
            Ok(_) => acks.push((*modbus, t.elapsed().as_secs_f64() * 1e3)),
            Err(_) => failures += 1,
        }
        k += 1;
        v = if v >= 1000.0 { 100.0 } else { v + 10.0 };
    }
}

/// What every drive did between two sets of statistics.
#[derive(Debug, Default)]
pub(crate) struct Delta {
    pub(crate) cycles: u64,
    pub(crate) missed: u64,
    pub(crate) late: u64,
    pub(crate) failed: u64,
    pub(crate) overruns: u64,
    /// Points delivered: each sample × its drive's points.
    pub(crate) points: u64,
    /// Completion − schedule of every drive's exchanges (fixed buckets).
    pub(crate) completion: LatencyHistogram,
}

impl Delta {
    pub(crate) fn between(
        drives: &[DriveEntry],
        before: &[Option<CycleStats>],
        after: &[Option<CycleStats>],
        points: &BTreeMap<String, usize>,
    ) -> Self {
        let mut d = Delta::default();
        for ((drive, b), a) in drives.iter().zip(before).zip(after) {
            let (Some(b), Some(a)) = (b, a) else { continue };
            let cycles = a.cycles.saturating_sub(b.cycles);
            d.cycles += cycles;
            d.missed += a.missed.saturating_sub(b.missed);
            d.late += a.late.saturating_sub(b.late);
            d.failed += a.failed.saturating_sub(b.failed);
            d.overruns += a.overruns.saturating_sub(b.overruns);
            d.points += cycles * points.get(&drive.id).copied().unwrap_or(0) as u64;
            let (h, ca, cb) = (&mut d.completion, &a.completion, &b.completion);
            for (i, (x, y)) in ca.counts.iter().zip(&cb.counts).enumerate() {
                h.counts[i] += x.saturating_sub(*y);
            }
            h.count += ca.count.saturating_sub(cb.count);
        }
        d
    }
}
