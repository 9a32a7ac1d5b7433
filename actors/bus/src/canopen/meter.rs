//! The CANopen bus's metrics: frames counted at the interface ([`Frames`], by the [`Port`]),
//! the master's counters (SDO, EMCY, boot-ups, heartbeat losses) and the SYNC meter read from
//! linevisor-canopen, and per node what the bus task sees (attach, cycles, losses). The actor
//! answers a metrics request from here without asking the bus task.
//!
//! [`Port`]: super::Port

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use linevisor_canopen::{StatsHandle, SyncMeter};

use crate::metrics::{BusMetrics, CanopenMetrics, Counters, Metrics, Wire};

/// Frames through the interface, counted by the port wrapper.
#[derive(Debug, Default)]
pub(crate) struct Frames {
    pub(crate) sent: AtomicU64,
    pub(crate) received: AtomicU64,
    pub(crate) send_errors: AtomicU64,
}

#[derive(Debug)]
struct Inner {
    metrics: Metrics,
    stats: Option<StatsHandle>,
    sync: Option<SyncMeter>,
}

/// Everything the metrics snapshot of one CANopen bus is built from.
#[derive(Debug)]
pub(crate) struct Meter {
    pub(crate) frames: std::sync::Arc<Frames>,
    inner: Mutex<Inner>,
}

/// A counter of [`Counters`], as [`Metrics::count`] takes it.
type Field = fn(&mut Counters) -> &mut u64;

fn us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl Meter {
    pub(crate) fn new(bus: &str) -> Self {
        Self {
            frames: std::sync::Arc::default(),
            inner: Mutex::new(Inner {
                metrics: Metrics::new(bus, None),
                stats: None,
                sync: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Plain counters, never left half-updated.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the bus and per-node metrics.
    pub(crate) fn with(&self, f: impl FnOnce(&mut Metrics)) {
        f(&mut self.lock().metrics);
    }

    /// The interface is open: the master's counters and SYNC meter become readable.
    pub(crate) fn opened(&self, stats: StatsHandle, sync: SyncMeter) {
        let mut i = self.lock();
        i.metrics.link_up = true;
        i.stats = Some(stats);
        i.sync = Some(sync);
    }

    pub(crate) fn snapshot(&self, queued: usize) -> BusMetrics {
        let (mut metrics, stats, sync) = {
            let i = self.lock();
            (i.metrics.clone(), i.stats.clone(), i.sync.clone())
        };
        let stats = stats.map(|s| s.snapshot()).unwrap_or_default();
        for (node, c) in &stats.sdo_by_node {
            let unit = node.get();
            let fields: [(u64, Field); 4] = [
                (c.transfers, |c| &mut c.transactions),
                (c.timeouts, |c| &mut c.timeouts),
                (c.aborts, |c| &mut c.exceptions),
                (c.failures, |c| &mut c.framing_errors),
            ];
            for (n, field) in fields {
                metrics.count(unit, n, field);
            }
        }
        let mut m = metrics.snapshot(&Wire::default(), queued);
        let jitter = sync.as_ref().map(SyncMeter::report).unwrap_or_default();
        let (sent, received) = (
            self.frames.sent.load(Ordering::Relaxed),
            self.frames.received.load(Ordering::Relaxed),
        );
        let secs = m.uptime.as_secs_f64();
        m.transactions_per_s = if secs > 0.0 {
            stats.sdo.transfers as f64 / secs
        } else {
            0.0
        };
        m.canopen = Some(CanopenMetrics {
            frames_sent: sent,
            frames_received: received,
            send_errors: self.frames.send_errors.load(Ordering::Relaxed),
            frames_per_s: if secs > 0.0 {
                (sent + received) as f64 / secs
            } else {
                0.0
            },
            sdo_transfers: stats.sdo.transfers,
            sdo_aborts: stats.sdo.aborts,
            sdo_timeouts: stats.sdo.timeouts,
            sdo_failures: stats.sdo.failures,
            sync_sent: sync.as_ref().map_or(0, SyncMeter::sent),
            sync_missed: jitter.missed,
            sync_jitter_p50_us: us(jitter.p50),
            sync_jitter_p99_us: us(jitter.p99),
            sync_jitter_max_us: us(jitter.max),
            emcy: stats.emcy,
            heartbeat_losses: stats.heartbeat_losses,
            boot_ups: stats.boot_ups,
            sdo_unsolicited_dropped: stats.sdo_unsolicited_dropped,
            link_faults: stats.link_faults,
        });
        m
    }
}
