//! Metrics per bus and per unit, kept by each kind's task (the Modbus port task, the CANopen
//! bus task) and read as a snapshot through [`BusHandle::metrics`](crate::BusHandle::metrics).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use linevisor_modbus::timing::RtuTiming;
use serde::Serialize;
use tokio::time::Instant;

/// Upper bounds of the latency buckets, in microseconds; one more bucket counts the rest.
pub const LATENCY_BUCKETS_US: [u64; 12] = [
    250, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000,
];

/// Transaction latency (request sent to response received) in fixed buckets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LatencyHistogram {
    /// Counts per bucket of [`LATENCY_BUCKETS_US`], then one for everything above the last.
    pub counts: [u64; LATENCY_BUCKETS_US.len() + 1],
    /// Samples recorded.
    pub count: u64,
    /// Sum, in microseconds.
    pub sum_us: u64,
    /// Largest, in microseconds.
    pub max_us: u64,
}

impl LatencyHistogram {
    /// Records one latency.
    pub fn record(&mut self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        let i = LATENCY_BUCKETS_US.partition_point(|&bound| bound < us);
        self.counts[i] += 1;
        self.count += 1;
        self.sum_us = self.sum_us.saturating_add(us);
        self.max_us = self.max_us.max(us);
    }

    /// Upper bound (µs) of the bucket holding the `q` quantile (0.0–1.0); `None` when empty or
    /// when it falls in the open last bucket.
    pub fn quantile_bound_us(&self, q: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * self.count as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return LATENCY_BUCKETS_US.get(i).copied();
            }
        }
        None
    }
}

/// Event counters, kept per unit and for the whole bus.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Requests sent (every attempt, probes and broadcasts included).
    pub transactions: u64,
    /// Attempts without a response in time.
    pub timeouts: u64,
    /// Responses with a bad CRC.
    pub crc_errors: u64,
    /// Other malformed or mismatched responses (framing, echo, wrong unit or function).
    pub framing_errors: u64,
    /// Exception responses (device answers, not link faults).
    pub exceptions: u64,
    /// Times a unit was demoted.
    pub demotions: u64,
    /// Times a demoted unit was restored.
    pub restorations: u64,
    /// Cycles skipped because they were overdue by a whole period.
    pub missed_cycles: u64,
    /// Cycles started late (by more than a tenth of the period, less than a whole one): sent
    /// late rather than skipped.
    pub late_cycles: u64,
    /// Events dropped because a drive's sink was full.
    pub overruns: u64,
    /// Samples delivered.
    pub samples: u64,
    /// Cycles that ended without a sample.
    pub cycle_failures: u64,
    /// Times a unit refused a read spanning register gaps (exception 02 or 03) and fell back
    /// to unpadded reads (Modbus `span_gaps`).
    pub span_fallbacks: u64,
}

/// One unit's metrics.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UnitMetrics {
    pub unit: u8,
    /// Attached by a drive now.
    pub attached: bool,
    /// Demoted now.
    pub demoted: bool,
    /// Counters.
    pub counters: Counters,
    /// Transaction latency.
    pub latency: LatencyHistogram,
}

/// A snapshot of one bus's metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BusMetrics {
    pub bus: String,
    /// Since the bus started.
    pub uptime: Duration,
    /// Port or connection open now.
    pub link_up: bool,
    /// Times the link was lost.
    pub link_losses: u64,
    /// Failed open attempts.
    pub open_failures: u64,
    /// Acyclic requests waiting in the queue.
    pub queued: usize,
    /// Counters over all units.
    pub counters: Counters,
    /// Transaction latency over all units.
    pub latency: LatencyHistogram,
    /// Bytes written to the link.
    pub bytes_sent: u64,
    /// Bytes read from the link (local echo excluded).
    pub bytes_received: u64,
    /// Transactions per second since start.
    pub transactions_per_s: f64,
    /// RTU: wire time of the bytes sent and received at the configured baud (11-bit
    /// characters) plus t3.5 per frame, as a % of the time since start. `None` on TCP.
    pub utilisation_percent: Option<f64>,
    /// Per unit, by unit id.
    pub units: Vec<UnitMetrics>,
    /// CANopen buses only: the master's own figures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canopen: Option<CanopenMetrics>,
}

/// The figures of a CANopen bus. On such a bus the generic [`Counters`] mean, per node and in
/// total: `transactions` SDO transfers, `timeouts` SDO timeouts, `exceptions` SDO aborts (the
/// node's answer), `framing_errors` other SDO failures, `demotions` times a node was lost
/// (heartbeat overdue, boot-up, failed boot), `restorations` times it came back, `samples`
/// SYNC cycles delivered, `missed_cycles` SYNC cycles whose TPDOs did not all arrive before the
/// next SYNC, `overruns` samples a full drive sink dropped; the latency is SYNC to last TPDO.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CanopenMetrics {
    /// Frames sent through the interface.
    pub frames_sent: u64,
    /// Frames received from it.
    pub frames_received: u64,
    /// Sends the interface refused (adapter lost, bus off).
    pub send_errors: u64,
    /// Frames per second both ways since the bus started.
    pub frames_per_s: f64,
    /// SDO transfers started.
    pub sdo_transfers: u64,
    /// SDO transfers refused by the node with an abort code.
    pub sdo_aborts: u64,
    /// SDO transfers without a response in time.
    pub sdo_timeouts: u64,
    /// SDO transfers ended by another link or protocol fault.
    pub sdo_failures: u64,
    /// SYNC frames sent.
    pub sync_sent: u64,
    /// SYNC periods longer than 1.5 × nominal (cycles skipped).
    pub sync_missed: u64,
    /// Median |actual − nominal| SYNC period over the last 4096 periods, µs.
    pub sync_jitter_p50_us: u64,
    /// 99th percentile of the same, µs.
    pub sync_jitter_p99_us: u64,
    /// Largest seen, µs.
    pub sync_jitter_max_us: u64,
    /// EMCY messages received (error resets included).
    pub emcy: u64,
    /// Heartbeats gone overdue.
    pub heartbeat_losses: u64,
    /// Boot-up messages received (power cycles, unit swaps, resets).
    pub boot_ups: u64,
    /// SDO responses dropped because no transfer was waiting for them.
    pub sdo_unsolicited_dropped: u64,
    /// Transient transport faults seen by the receiver.
    pub link_faults: u64,
}

/// Byte and frame counts at the stream, shared with [`crate::link`]'s counting wrapper.
#[derive(Debug, Default)]
pub(crate) struct Wire {
    pub(crate) bytes_out: AtomicU64,
    pub(crate) bytes_in: AtomicU64,
    pub(crate) frames_out: AtomicU64,
}

/// The metrics being kept.
#[derive(Debug, Clone)]
pub(crate) struct Metrics {
    bus: String,
    started: Instant,
    rtu: Option<(RtuTiming, bool)>,
    pub(crate) link_up: bool,
    pub(crate) link_losses: u64,
    pub(crate) open_failures: u64,
    pub(crate) frames_in: u64,
    total: Counters,
    latency: LatencyHistogram,
    units: BTreeMap<u8, UnitMetrics>,
}

impl Metrics {
    /// `rtu`: the line's timing and whether our own echo is read back.
    pub(crate) fn new(bus: &str, rtu: Option<(RtuTiming, bool)>) -> Self {
        Self {
            bus: bus.to_owned(),
            started: Instant::now(),
            rtu,
            link_up: false,
            link_losses: 0,
            open_failures: 0,
            frames_in: 0,
            total: Counters::default(),
            latency: LatencyHistogram::default(),
            units: BTreeMap::new(),
        }
    }

    /// Bumps a counter for `unit` and the bus.
    pub(crate) fn count(&mut self, unit: u8, n: u64, field: fn(&mut Counters) -> &mut u64) {
        *field(&mut self.total) += n;
        *field(&mut self.unit(unit).counters) += n;
    }

    pub(crate) fn latency(&mut self, unit: u8, latency: Duration) {
        self.latency.record(latency);
        self.unit(unit).latency.record(latency);
    }

    pub(crate) fn set_attached(&mut self, unit: u8, attached: bool) {
        self.unit(unit).attached = attached;
    }

    pub(crate) fn set_demoted(&mut self, unit: u8, demoted: bool) {
        self.unit(unit).demoted = demoted;
    }

    fn unit(&mut self, unit: u8) -> &mut UnitMetrics {
        self.units.entry(unit).or_insert_with(|| UnitMetrics {
            unit,
            ..UnitMetrics::default()
        })
    }

    pub(crate) fn snapshot(&self, wire: &Wire, queued: usize) -> BusMetrics {
        let uptime = self.started.elapsed();
        let secs = uptime.as_secs_f64();
        let out = wire.bytes_out.load(Ordering::Relaxed);
        let mut got = wire.bytes_in.load(Ordering::Relaxed);
        if self.rtu.is_some_and(|(_, echo)| echo) {
            got = got.saturating_sub(out);
        }
        let utilisation_percent = self.rtu.map(|(timing, _)| {
            let frames = wire.frames_out.load(Ordering::Relaxed) + self.frames_in;
            let wire_s = timing.char_time.as_secs_f64() * (out + got) as f64
                + timing.t35.as_secs_f64() * frames as f64;
            if secs > 0.0 {
                100.0 * wire_s / secs
            } else {
                0.0
            }
        });
        BusMetrics {
            bus: self.bus.clone(),
            uptime,
            link_up: self.link_up,
            link_losses: self.link_losses,
            open_failures: self.open_failures,
            queued,
            counters: self.total.clone(),
            latency: self.latency.clone(),
            bytes_sent: out,
            bytes_received: got,
            transactions_per_s: if secs > 0.0 {
                self.total.transactions as f64 / secs
            } else {
                0.0
            },
            utilisation_percent,
            units: self.units.values().cloned().collect(),
            canopen: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_by_upper_bound() {
        let mut h = LatencyHistogram::default();
        for us in [100, 250, 251, 4_000, 2_000_000] {
            h.record(Duration::from_micros(us));
        }
        assert_eq!(h.count, 5);
        assert_eq!(h.counts[0], 2, "≤ 250 µs");
        assert_eq!(h.counts[1], 1, "≤ 500 µs");
        assert_eq!(h.counts[4], 1, "≤ 5 ms");
        assert_eq!(h.counts[LATENCY_BUCKETS_US.len()], 1, "overflow");
        assert_eq!(h.max_us, 2_000_000);
        assert_eq!(h.quantile_bound_us(0.5), Some(500));
        assert_eq!(h.quantile_bound_us(1.0), None);
    }

    #[tokio::test(start_paused = true)]
    async fn rtu_utilisation_is_wire_time_over_elapsed_time() {
        let timing = RtuTiming::from_baud(19_200);
        let mut m = Metrics::new("rtu", Some((timing, false)));
        let wire = Wire::default();
        // One §2.3 transaction: 8 bytes out, 25 back, two frames.
        wire.bytes_out.store(8, Ordering::Relaxed);
        wire.bytes_in.store(25, Ordering::Relaxed);
        wire.frames_out.store(1, Ordering::Relaxed);
        m.frames_in = 1;
        tokio::time::advance(Duration::from_millis(100)).await;
        let u = m.snapshot(&wire, 0).utilisation_percent.unwrap();
        // 33 × 0.573 ms + 2 × 2.005 ms = 22.92 ms of 100 ms.
        assert!((u - 22.92).abs() < 0.1, "{u}");
        let tcp = Metrics::new("tcp", None).snapshot(&wire, 0);
        assert_eq!(tcp.utilisation_percent, None);
    }
}
