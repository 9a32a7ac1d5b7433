//! The attached units of a request/response bus (Modbus, plain serial) as its port task keeps
//! them: their poll schedule, their circuit breakers, their metrics, and the events owed to
//! their drives. Shared so that every such kind treats a dead unit, a full sink and a lost link
//! the same way.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;
use tracing::{info, warn};

use crate::breaker::{Breakers, Change};
use crate::metrics::{Counters, Metrics};
use crate::scheduler::{Offer, PollPlan, Scheduler};
use crate::{Attach, BusError, BusEvent, CycleFault};

/// The metrics behind their lock. Plain counters: a panic elsewhere cannot leave them
/// inconsistent enough to matter, so a poisoned lock is used as is.
pub(crate) fn lock(m: &Mutex<Metrics>) -> MutexGuard<'_, Metrics> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Units, their cycles and breakers, and what their drives were told.
#[derive(Debug)]
pub(crate) struct Units<P: PollPlan> {
    pub(crate) sched: Scheduler<P>,
    pub(crate) breakers: Breakers,
    pub(crate) metrics: Arc<Mutex<Metrics>>,
    /// Units told `CommLost`, to be told `CommRestored`.
    told_lost: BTreeSet<u8>,
    /// Spread first attachments over the period ([`phase`]); off: every unit is due at once.
    stagger: bool,
    /// Units attached before: attached again (a drive restarted), a unit is due at once, so
    /// that a restart costs its drive no cycle.
    seen: BTreeSet<u8>,
}

/// The phase of the `k`-th attachment within its period: the fractional parts of `k / φ`
/// spread any number of units evenly over the period, without knowing how many will come, so
/// that units attached together do not all poll at the start of every period. Phases are
/// whole multiples of [`PHASE_STEP`]: units in one step are woken together (their reads queue
/// on the link anyway), which bounds a bus's wake-ups to one per step.
pub(crate) fn phase(k: u64, period: Duration) -> Duration {
    const INV_PHI: f64 = 0.618_033_988_749_894_9;
    let steps = (period.as_nanos() / PHASE_STEP.as_nanos()).max(1) as f64;
    PHASE_STEP.mul_f64(((k as f64 * INV_PHI).fract() * steps).floor())
}

/// The granularity of poll phases.
pub(crate) const PHASE_STEP: Duration = Duration::from_millis(1);

impl<P: PollPlan> Units<P> {
    pub(crate) fn new(breakers: Breakers, metrics: Arc<Mutex<Metrics>>, stagger: bool) -> Self {
        Self {
            sched: Scheduler::default(),
            breakers,
            metrics,
            told_lost: BTreeSet::new(),
            stagger,
            seen: BTreeSet::new(),
        }
    }

    pub(crate) fn metrics(&self) -> MutexGuard<'_, Metrics> {
        lock(&self.metrics)
    }

    pub(crate) fn count(&self, unit: u8, field: fn(&mut Counters) -> &mut u64) {
        self.metrics().count(unit, 1, field);
    }

    /// Attaches a unit; the first attachment of a unit is due at its phase of the period (see
    /// [`phase`]), a later one at once. `down` is the link's error while it is down.
    pub(crate) fn attach(
        &mut self,
        a: Attach<P::Block>,
        options: &P::Options,
        now: Instant,
        down: Option<BusError>,
    ) {
        let unit = a.unit;
        let k = self.seen.len() as u64;
        let first = if self.stagger && self.seen.insert(unit) {
            now + phase(k, a.period)
        } else {
            now
        };
        if self.sched.attach(a, options, first) {
            info!(
                unit,
                "Unit re-attached; the previous attachment is replaced."
            );
        }
        self.metrics().set_attached(unit, true);
        if let Some(error) = down {
            self.emit(unit, BusEvent::CommLost { unit, error });
            self.told_lost.insert(unit);
        } else if self.breakers.is_demoted(unit) {
            let timeouts = self.breakers.timeouts(unit);
            let probe_every = self.breakers.probe_interval();
            let event = BusEvent::Demoted {
                unit,
                timeouts,
                probe_every,
            };
            self.emit(unit, event);
        }
    }

    pub(crate) fn detach(&mut self, unit: u8) {
        if self.sched.detach(unit) {
            info!(unit, "Unit detached.");
        }
        self.told_lost.remove(&unit);
        self.metrics().set_attached(unit, false);
    }

    /// Offers an event to a drive without waiting: a full sink is an overrun, a closed one
    /// detaches the unit.
    pub(crate) fn emit(&mut self, unit: u8, event: BusEvent) {
        match self.sched.offer(unit, event) {
            Offer::Sent | Offer::NotAttached => {}
            Offer::Overrun => self.count(unit, |c| &mut c.overruns),
            Offer::Closed => {
                info!(unit, "The drive's sink is closed; detaching the unit.");
                self.detach(unit);
            }
        }
    }

    /// The cycle `seq` of `unit` ends without a sample.
    pub(crate) fn cycle_failed(&mut self, unit: u8, seq: u64, error: CycleFault) {
        if let Some(seq) = self.sched.fail(unit, seq) {
            self.count(unit, |c| &mut c.cycle_failures);
            self.emit(unit, BusEvent::CycleFailed { unit, seq, error });
        }
    }

    /// Fails every cycle in progress with `e`.
    pub(crate) fn fail_cycles(&mut self, e: &BusError) {
        for (unit, seq) in self.sched.fail_all() {
            self.count(unit, |c| &mut c.cycle_failures);
            let error = CycleFault::Bus(e.clone());
            self.emit(unit, BusEvent::CycleFailed { unit, seq, error });
        }
    }

    /// The unit answered (data, a refusal or an exception): restores it if it was demoted.
    pub(crate) fn answered(&mut self, unit: u8, now: Instant) {
        let line_was_down = self.sched.all_demoted(&self.breakers);
        if let Some(Change::Restored(demoted_for)) = self.breakers.answered(unit, now) {
            if line_was_down {
                self.breakers.line_back(now);
            }
            {
                let mut m = self.metrics();
                m.count(unit, 1, |c| &mut c.restorations);
                m.set_demoted(unit, false);
            }
            info!(unit, ?demoted_for, "Unit answers again: restored.");
            self.emit(unit, BusEvent::Restored { unit, demoted_for });
        }
    }

    /// The unit answered with a frame that does not check: no timeout.
    pub(crate) fn garbled(&mut self, unit: u8) {
        self.breakers.garbled(unit);
    }

    /// The unit did not answer in time: demotes it after enough timeouts in a row.
    pub(crate) fn timed_out(&mut self, unit: u8, now: Instant) {
        let Some(Change::Demoted(timeouts)) = self.breakers.timed_out(unit, now) else {
            return;
        };
        let probe_every = self.breakers.probe_interval();
        {
            let mut m = self.metrics();
            m.count(unit, 1, |c| &mut c.demotions);
            m.set_demoted(unit, true);
        }
        warn!(
            unit,
            timeouts,
            ?probe_every,
            "Unit demoted: probing it only."
        );
        let event = BusEvent::Demoted {
            unit,
            timeouts,
            probe_every,
        };
        self.emit(unit, event);
    }

    /// Why a request to a demoted unit fails fast, unless it may be the unit's probe now
    /// (then `None`, and the probe is booked). While demoted units are probed freely (none is
    /// healthy, or the line just came back) each request may be a probe.
    pub(crate) fn refuse_demoted(&mut self, bus: &str, unit: u8, now: Instant) -> Option<BusError> {
        if !self.breakers.is_demoted(unit)
            || self.sched.probe_freely(&self.breakers, now)
            || self.breakers.take_probe(unit, now)
        {
            return None;
        }
        Some(BusError::UnitDemoted {
            bus: bus.to_owned(),
            unit,
            timeouts: self.breakers.timeouts(unit),
            probe_in: self.breakers.probe_in(unit, now),
        })
    }

    /// The link is down: every cycle fails and every drive is told once.
    pub(crate) fn link_lost(&mut self, down: &BusError) {
        self.fail_cycles(down);
        for unit in self.sched.attached() {
            let error = down.clone();
            self.emit(unit, BusEvent::CommLost { unit, error });
            self.told_lost.insert(unit);
        }
    }

    /// The link is open again: the drives told it was lost are told it is back, except those
    /// whose unit is still demoted: they hear `Restored` once it answers.
    pub(crate) fn link_restored(&mut self) {
        for unit in std::mem::take(&mut self.told_lost) {
            if !self.breakers.is_demoted(unit) {
                self.emit(unit, BusEvent::CommRestored { unit });
            }
        }
    }

    /// The bus stops: cycles fail and every drive is told the link is gone.
    pub(crate) fn stopping(&mut self, e: &BusError) {
        self.fail_cycles(e);
        for unit in self.sched.attached() {
            let error = e.clone();
            self.emit(unit, BusEvent::CommLost { unit, error });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{PHASE_STEP, phase};
    use std::time::Duration;

    /// However many units come, their phases lie within the period on whole steps, the first
    /// at its start; no gap between neighbours exceeds 3/n of the period plus a step (no burst,
    /// no crowding), and with at least as many units as steps every step is used.
    #[test]
    fn phases_spread_any_number_of_units_over_the_period() {
        let period = Duration::from_millis(100);
        assert_eq!(phase(0, period), Duration::ZERO);
        for n in 2..=247u64 {
            let mut p: Vec<Duration> = (0..n).map(|k| phase(k, period)).collect();
            assert!(
                p.iter()
                    .all(|&x| x < period && x.as_nanos() % PHASE_STEP.as_nanos() == 0)
            );
            p.sort();
            p.dedup();
            if n >= 200 {
                assert_eq!(p.len(), 100, "{n} units use every step");
            }
            p.push(period);
            let widest = p.windows(2).map(|w| w[1] - w[0]).max().unwrap();
            let bound = 3.0 / n as f64 * period.as_secs_f64() + PHASE_STEP.as_secs_f64();
            assert!(
                widest.as_secs_f64() <= bound,
                "{n} units: a gap of {widest:?}"
            );
        }
        // A period shorter than a step: every unit at its start.
        assert_eq!(phase(5, Duration::from_micros(500)), Duration::ZERO);
    }
}
