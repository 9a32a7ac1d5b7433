//! The attached units of a request/response bus (Modbus, plain serial) as its port task keeps
//! them: their poll schedule, their circuit breakers, their metrics, and the events owed to
//! their drives. Shared so that every such kind treats a dead unit, a full sink and a lost link
//! the same way.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

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
}

impl<P: PollPlan> Units<P> {
    pub(crate) fn new(breakers: Breakers, metrics: Arc<Mutex<Metrics>>) -> Self {
        Self {
            sched: Scheduler::default(),
            breakers,
            metrics,
            told_lost: BTreeSet::new(),
        }
    }

    pub(crate) fn metrics(&self) -> MutexGuard<'_, Metrics> {
        lock(&self.metrics)
    }

    pub(crate) fn count(&self, unit: u8, field: fn(&mut Counters) -> &mut u64) {
        self.metrics().count(unit, 1, field);
    }

    /// Attaches a unit; `down` is the link's error while it is down.
    pub(crate) fn attach(
        &mut self,
        a: Attach<P::Block>,
        options: &P::Options,
        now: Instant,
        down: Option<BusError>,
    ) {
        let unit = a.unit;
        if self.sched.attach(a, options, now) {
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
