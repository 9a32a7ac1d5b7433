//! Per-unit circuit breaker: after `demote_after` consecutive timeouts a unit is demoted and
//! gets at most one transaction (a probe, without retries) per probe interval, so a dead unit
//! costs its neighbours at most one response timeout per probe interval. Any answer (data or
//! an exception) restores it. A garbled answer (bad CRC, broken frame) is no timeout: the
//! unit is there and the line is noisy, so it ends a run of timeouts, but only a clean
//! answer restores a demoted unit.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Default)]
struct Unit {
    timeouts: u32,
    demoted_at: Option<Instant>,
    next_probe: Option<Instant>,
}

/// A change of a unit's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// Demoted after this many consecutive timeouts.
    Demoted(u32),
    /// Restored after being demoted this long.
    Restored(Duration),
}

/// The breakers of every unit the bus has talked to.
#[derive(Debug)]
pub(crate) struct Breakers {
    demote_after: u32,
    probe_interval: Duration,
    units: HashMap<u8, Unit>,
    /// Set when the line answers again after every unit was demoted; see [`Self::line_back`].
    line_back_until: Option<Instant>,
}

impl Breakers {
    pub(crate) fn new(demote_after: u32, probe_interval: Duration) -> Self {
        Self {
            demote_after: demote_after.max(1),
            probe_interval,
            units: HashMap::new(),
            line_back_until: None,
        }
    }

    pub(crate) fn probe_interval(&self) -> Duration {
        self.probe_interval
    }

    pub(crate) fn is_demoted(&self, unit: u8) -> bool {
        self.units
            .get(&unit)
            .is_some_and(|u| u.demoted_at.is_some())
    }

    /// Consecutive timeouts so far.
    pub(crate) fn timeouts(&self, unit: u8) -> u32 {
        self.units.get(&unit).map_or(0, |u| u.timeouts)
    }

    /// When a demoted unit may be probed next (`None` if not demoted).
    pub(crate) fn next_probe(&self, unit: u8) -> Option<Instant> {
        self.units
            .get(&unit)
            .filter(|u| u.demoted_at.is_some())
            .and_then(|u| u.next_probe)
    }

    /// Time until the next probe of a demoted unit (zero when due).
    pub(crate) fn probe_in(&self, unit: u8, now: Instant) -> Duration {
        self.next_probe(unit)
            .map_or(Duration::ZERO, |at| at.saturating_duration_since(now))
    }

    /// Books a probe of a demoted unit now, if one is due; true if it may go.
    pub(crate) fn take_probe(&mut self, unit: u8, now: Instant) -> bool {
        let interval = self.probe_interval;
        match self.units.get_mut(&unit) {
            Some(u) if u.demoted_at.is_some() => {
                if u.next_probe.is_some_and(|at| at > now) {
                    return false;
                }
                u.next_probe = Some(now + interval);
                true
            }
            _ => true,
        }
    }

    /// The unit answered (data or exception).
    pub(crate) fn answered(&mut self, unit: u8, now: Instant) -> Option<Change> {
        let u = self.units.get_mut(&unit)?;
        u.timeouts = 0;
        u.next_probe = None;
        u.demoted_at
            .take()
            .map(|at| Change::Restored(now.saturating_duration_since(at)))
    }

    /// A unit answered after every unit of the line was demoted: the others were most likely
    /// silent because of the line too (a stalled slave stack, noise), so for one probe
    /// interval they may be probed at their own period. A dead unit pays for that with a few
    /// more timeouts once per stall of the whole line.
    pub(crate) fn line_back(&mut self, now: Instant) {
        self.line_back_until = Some(now + self.probe_interval);
    }

    /// True within a probe interval of [`Self::line_back`].
    pub(crate) fn line_just_back(&self, now: Instant) -> bool {
        self.line_back_until.is_some_and(|until| now < until)
    }

    /// The unit answered, but garbled: ends its run of timeouts unless it is demoted.
    pub(crate) fn garbled(&mut self, unit: u8) {
        if let Some(u) = self.units.get_mut(&unit).filter(|u| u.demoted_at.is_none()) {
            u.timeouts = 0;
        }
    }

    /// The unit did not answer in time.
    pub(crate) fn timed_out(&mut self, unit: u8, now: Instant) -> Option<Change> {
        let (limit, interval) = (self.demote_after, self.probe_interval);
        let u = self.units.entry(unit).or_default();
        u.timeouts = u.timeouts.saturating_add(1);
        if u.demoted_at.is_some() || u.timeouts < limit {
            return None;
        }
        u.demoted_at = Some(now);
        u.next_probe = Some(now + interval);
        Some(Change::Demoted(u.timeouts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn demotes_after_n_timeouts_probes_once_per_interval_and_restores() {
        let probe = Duration::from_secs(1);
        let mut b = Breakers::new(3, probe);
        let t0 = Instant::now();
        assert_eq!(b.timed_out(5, t0), None);
        assert_eq!(b.answered(5, t0), None, "an answer resets the count");
        assert_eq!(b.timed_out(5, t0), None);
        assert_eq!(b.timed_out(5, t0), None);
        assert_eq!(b.timed_out(5, t0), Some(Change::Demoted(3)));
        assert!(b.is_demoted(5));
        assert!(!b.take_probe(5, t0), "no probe before the interval");
        assert_eq!(b.probe_in(5, t0), probe);
        assert!(b.take_probe(5, t0 + probe));
        assert!(!b.take_probe(5, t0 + probe), "one probe per interval");
        assert_eq!(b.timed_out(5, t0 + probe), None, "already demoted");
        let back = t0 + probe * 3;
        assert_eq!(b.answered(5, back), Some(Change::Restored(probe * 3)));
        assert!(!b.is_demoted(5));
        assert!(b.take_probe(5, back), "healthy units are never held back");
        assert!(b.take_probe(9, back), "unknown units are healthy");
    }

    #[tokio::test(start_paused = true)]
    async fn a_garbled_answer_ends_a_run_of_timeouts_but_does_not_restore() {
        let mut b = Breakers::new(3, Duration::from_secs(1));
        let t0 = Instant::now();
        // Noise: timeouts and CRC errors interleaved are a unit that answers.
        for _ in 0..10 {
            assert_eq!(b.timed_out(5, t0), None);
            assert_eq!(b.timed_out(5, t0), None);
            b.garbled(5);
        }
        assert!(!b.is_demoted(5));
        assert_eq!(b.timed_out(5, t0), None);
        assert_eq!(b.timed_out(5, t0), None);
        assert_eq!(b.timed_out(5, t0), Some(Change::Demoted(3)));
        b.garbled(5);
        assert!(b.is_demoted(5), "restored by a clean answer only");
    }
}
