//! Per-drive cycle statistics, counted from what the bus delivers: sequence gaps, failed
//! cycles, samples the drive could not take in time, and the completion time of each exchange
//! against its schedule.

use std::time::Duration;

use linevisor_bus::LatencyHistogram;
use serde::Serialize;
use tokio::time::Instant;

/// Cycle statistics of one drive, kept across restarts of its actor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CycleStats {
    /// Samples handled.
    pub cycles: u64,
    /// Cycles with no sample handled for a reason outside the drive: skipped by the bus (gaps
    /// in `seq`) or failed (`failed` is included here).
    pub missed: u64,
    /// Cycles the bus reported failed (timeout, CRC, device exception).
    pub failed: u64,
    /// Samples that reached the drive but were replaced by a newer one before it took them
    /// (the actor was busy): the drive did not keep up.
    pub overruns: u64,
    /// Exchanges that completed more than one period after their scheduled time.
    pub late: u64,
    /// Samples whose data could not be decoded (profile ↔ device mismatch).
    pub decode_errors: u64,
    /// Completion time minus scheduled time of every exchange.
    pub completion: LatencyHistogram,
    /// Largest change of that offset between two consecutive cycles, in µs (cycle jitter).
    pub jitter_max_us: u64,
}

/// Follows the sequence numbers of one instance's attachment.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    last_seq: Option<u64>,
    last_n: u64,
    last_offset: Option<Duration>,
}

impl Tracker {
    /// A sequence number below the last one means a new schedule (the bus actor was replaced
    /// and the attachment made again): counting starts over, without a gap.
    fn restart_if_rescheduled(&mut self, seq: u64) {
        if self.last_seq.is_some_and(|last| seq < last) {
            self.last_seq = None;
            self.last_offset = None;
        }
    }

    /// A sample: `seq` on the bus schedule, `n` the count of samples the forwarder received.
    pub(crate) fn on_sample(
        &mut self,
        stats: &mut CycleStats,
        seq: u64,
        n: u64,
        scheduled_at: Instant,
        completed_at: Instant,
        period: Duration,
    ) {
        self.restart_if_rescheduled(seq);
        stats.cycles = stats.cycles.saturating_add(1);
        let gap = self
            .last_seq
            .map_or(0, |last| seq.saturating_sub(last.saturating_add(1)));
        let superseded = n.saturating_sub(self.last_n.saturating_add(1));
        stats.overruns = stats.overruns.saturating_add(superseded);
        stats.missed = stats.missed.saturating_add(gap.saturating_sub(superseded));
        self.last_seq = Some(seq);
        self.last_n = n;
        let offset = completed_at.saturating_duration_since(scheduled_at);
        stats.completion.record(offset);
        if offset > period {
            stats.late = stats.late.saturating_add(1);
        }
        if let Some(prev) = self.last_offset {
            let jitter = offset.abs_diff(prev);
            let us = u64::try_from(jitter.as_micros()).unwrap_or(u64::MAX);
            stats.jitter_max_us = stats.jitter_max_us.max(us);
        }
        self.last_offset = Some(offset);
    }

    /// A failed cycle.
    pub(crate) fn on_failed(&mut self, stats: &mut CycleStats, seq: u64) {
        self.restart_if_rescheduled(seq);
        stats.failed = stats.failed.saturating_add(1);
        let gap = self
            .last_seq
            .map_or(0, |last| seq.saturating_sub(last.saturating_add(1)));
        stats.missed = stats.missed.saturating_add(gap.saturating_add(1));
        self.last_seq = Some(seq);
        self.last_offset = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Duration = Duration::from_millis(10);

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    #[test]
    fn gaps_split_into_missed_and_overruns() {
        let t0 = Instant::now();
        let mut s = CycleStats::default();
        let mut t = Tracker::default();
        t.on_sample(&mut s, 0, 1, t0, at(t0, 2), P);
        // Seq 1 and 2 never came from the bus; seq 3 reached the drive but was superseded.
        t.on_sample(&mut s, 4, 3, at(t0, 40), at(t0, 41), P);
        t.on_failed(&mut s, 5);
        t.on_sample(&mut s, 6, 4, at(t0, 60), at(t0, 75), P);
        assert_eq!(s.cycles, 3);
        assert_eq!(s.overruns, 1);
        assert_eq!(s.missed, 3);
        assert_eq!(s.failed, 1);
        assert_eq!(s.late, 1);
        assert_eq!(s.jitter_max_us, 1000);
        // A new schedule (bus actor replaced) starts its sequence over without counting a gap.
        t.on_sample(&mut s, 0, 5, at(t0, 80), at(t0, 81), P);
        assert_eq!((s.missed, s.overruns), (3, 1));
    }
}
