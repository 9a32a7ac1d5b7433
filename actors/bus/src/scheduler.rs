//! Cyclic polling for the attached units of a request/response bus (Modbus, plain serial): each
//! kind plans a unit's blocks into requests ([`PollPlan`]); cycles start by deadline on each
//! unit's period grid, a cycle overdue by a whole period is skipped and counted as missed (no
//! burst to catch up), and demoted units are only probed: once per probe interval while some
//! unit of the line is healthy, at their own period while none is and for one probe interval
//! after the line answers again. A plan whose reads span gaps keeps
//! its unpadded twin: when the device refuses a padded read, the unit falls back to it and the
//! cycle starts over with it, keeping its number and deadline.

use std::collections::BTreeMap;

use tokio::sync::mpsc::error::TrySendError;
use tokio::time::Instant;

use crate::breaker::Breakers;
use crate::{Attach, BusEvent, Sample};
use unit::{Cycle, Unit};

/// One request of a unit's cycle and the attached blocks its answer fills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlannedRead<R> {
    pub(crate) request: R,
    /// (attached block index, offset of that block's words in this answer).
    pub(crate) parts: Vec<(usize, usize)>,
    /// It also reads what no block asked for, to span a gap.
    pub(crate) padded: bool,
}

/// How a bus kind turns a unit's attached blocks into poll requests.
pub(crate) trait PollPlan {
    /// What a drive attaches.
    type Block: Clone + std::fmt::Debug;
    /// One request on the wire.
    type Request: Clone + std::fmt::Debug;
    /// How the unit's blocks are to be planned (what the drive attached with).
    type Options: Clone + std::fmt::Debug + Default;
    /// The requests of one cycle.
    fn plan(blocks: &[Self::Block], options: &Self::Options) -> Vec<PlannedRead<Self::Request>>;
    /// The requests of one cycle without padding, for a device that refused a padded one.
    fn unpadded(
        blocks: &[Self::Block],
        options: &Self::Options,
    ) -> Vec<PlannedRead<Self::Request>> {
        Self::plan(blocks, options)
    }
    /// Words one block takes in a sample.
    fn words(block: &Self::Block) -> usize;
}

/// A poll transaction handed to the line.
#[derive(Debug, Clone)]
pub(crate) struct PollTxn<R> {
    pub(crate) unit: u8,
    pub(crate) seq: u64,
    /// The unit's plan when it was taken (a fallback starts a new one).
    pub(crate) epoch: u32,
    pub(crate) read: usize,
    pub(crate) request: R,
    pub(crate) attempt: u8,
    /// 0 for a probe of a demoted unit: one transaction per probe.
    pub(crate) max_retries: u8,
}

/// What happened when an event was offered to a drive's sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offer {
    Sent,
    /// Sink full: the event was dropped (an overrun).
    Overrun,
    /// Receiver gone: the unit should be detached.
    Closed,
    /// Unit not attached.
    NotAttached,
}

/// Cycles started by [`Scheduler::take`], with the cycles they skipped.
#[derive(Debug)]
pub(crate) struct Taken<R> {
    pub(crate) txns: Vec<PollTxn<R>>,
    /// (unit, cycles skipped because they were overdue by a whole period).
    pub(crate) missed: Vec<(u8, u64)>,
    /// Units whose cycle started late, by more than [`LATE_FRACTION`] of its period but less
    /// than a whole period: sent late, not skipped.
    pub(crate) late: Vec<u8>,
}

/// A cycle started later than this share of its period after its slot counts as late.
pub(crate) const LATE_FRACTION: u32 = 10;

impl<R> Default for Taken<R> {
    fn default() -> Self {
        Self {
            txns: Vec::new(),
            missed: Vec::new(),
            late: Vec::new(),
        }
    }
}

/// The attached units and their cycles.
#[derive(Debug)]
pub(crate) struct Scheduler<P: PollPlan> {
    units: BTreeMap<u8, Unit<P::Request>>,
}

impl<P: PollPlan> Default for Scheduler<P> {
    fn default() -> Self {
        Self {
            units: BTreeMap::new(),
        }
    }
}

impl<P: PollPlan> Scheduler<P> {
    /// Attaches (or replaces) a unit; its first cycle is due now. True if it replaced one.
    pub(crate) fn attach(
        &mut self,
        a: Attach<P::Block>,
        options: &P::Options,
        now: Instant,
    ) -> bool {
        let reads = P::plan(&a.blocks, options);
        let fallback = reads
            .iter()
            .any(|r| r.padded)
            .then(|| P::unpadded(&a.blocks, options));
        let unit = Unit {
            reads,
            fallback,
            epoch: 0,
            lens: a.blocks.iter().map(P::words).collect(),
            sink: a.sink,
            period: a.period,
            anchor: now,
            next_seq: 0,
            cycle: None,
        };
        self.units.insert(a.unit, unit).is_some()
    }

    pub(crate) fn detach(&mut self, unit: u8) -> bool {
        self.units.remove(&unit).is_some()
    }

    pub(crate) fn attached(&self) -> Vec<u8> {
        self.units.keys().copied().collect()
    }

    /// True when every attached unit is demoted. The probe interval bounds what dead units
    /// cost their healthy neighbours; with none left it only starves the line, and a slave
    /// stack that resynchronises on traffic rather than on silence (or a line that was
    /// stalled as a whole) then needs the traffic to answer again. So demoted units are
    /// probed at their own period until one of them answers.
    pub(crate) fn all_demoted(&self, breakers: &Breakers) -> bool {
        !self.units.is_empty() && self.units.keys().all(|&id| breakers.is_demoted(id))
    }

    /// True when demoted units may be probed at their own period: none is healthy, or the
    /// line just answered again ([`Breakers::line_back`]).
    pub(crate) fn probe_freely(&self, breakers: &Breakers, now: Instant) -> bool {
        self.all_demoted(breakers) || breakers.line_just_back(now)
    }

    /// Offers `event` to the unit's sink without waiting.
    pub(crate) fn offer(&self, unit: u8, event: BusEvent) -> Offer {
        let Some(u) = self.units.get(&unit) else {
            return Offer::NotAttached;
        };
        match u.sink.try_send(event) {
            Ok(()) => Offer::Sent,
            Err(TrySendError::Full(_)) => Offer::Overrun,
            Err(TrySendError::Closed(_)) => Offer::Closed,
        }
    }

    /// Up to `room` poll transactions: reads of cycles in progress first, then new cycles by
    /// deadline. A demoted unit's cycle is a probe: one read at a time without retries.
    pub(crate) fn take(
        &mut self,
        now: Instant,
        room: usize,
        retries: u8,
        breakers: &mut Breakers,
    ) -> Taken<P::Request> {
        let mut taken = Taken::default();
        let mut busy: Vec<(Instant, u8)> = Vec::new();
        let mut due: Vec<(Instant, u8)> = Vec::new();
        let freely = self.probe_freely(breakers, now);
        for (&id, u) in &self.units {
            let at = u.due(id, breakers, freely);
            match &u.cycle {
                Some(c) if !c.remaining.is_empty() => busy.push((c.scheduled_at, id)),
                Some(_) => {}
                None if at <= now => due.push((at, id)),
                None => {}
            }
        }
        busy.sort();
        due.sort();
        for (_, id) in busy {
            self.pop_reads(id, now, room, retries, breakers, &mut taken.txns);
        }
        for (_, id) in due {
            if taken.txns.len() >= room {
                break;
            }
            let demoted = breakers.is_demoted(id);
            if demoted && !freely && !breakers.take_probe(id, now) {
                continue;
            }
            let Some(u) = self.units.get_mut(&id) else {
                continue;
            };
            let seq = u.next_seq.max(u.slot(now));
            if !demoted && seq > u.next_seq {
                taken.missed.push((id, seq - u.next_seq));
            }
            u.next_seq = seq.saturating_add(1);
            // Late by less than a period: sent late (a drive wants the newest state; a
            // skipped slot is counted as missed above, never sent in a catch-up burst).
            if !demoted && now.saturating_duration_since(u.at(seq)) > u.period / LATE_FRACTION {
                taken.late.push(id);
            }
            u.cycle = Some(Cycle {
                seq,
                epoch: u.epoch,
                scheduled_at: u.at(seq),
                started_at: None,
                remaining: (0..u.reads.len()).collect(),
                attempts: vec![0; u.reads.len()],
                words: vec![None; u.reads.len()],
            });
            self.pop_reads(id, now, room, retries, breakers, &mut taken.txns);
        }
        taken
    }

    fn pop_reads(
        &mut self,
        id: u8,
        now: Instant,
        room: usize,
        retries: u8,
        breakers: &Breakers,
        out: &mut Vec<PollTxn<P::Request>>,
    ) {
        let Some(u) = self.units.get_mut(&id) else {
            return;
        };
        let Some(c) = u.cycle.as_mut() else {
            return;
        };
        let probe = breakers.is_demoted(id);
        let mut taken = 0;
        while out.len() < room && !(probe && taken == 1) {
            let Some(read) = c.remaining.pop_front() else {
                break;
            };
            c.started_at.get_or_insert(now);
            taken += 1;
            out.push(PollTxn {
                unit: id,
                seq: c.seq,
                epoch: c.epoch,
                read,
                request: u.reads[read].request.clone(),
                attempt: c.attempts[read],
                max_retries: if probe { 0 } else { retries },
            });
        }
    }

    /// The next time a cycle or probe is due (cycles in progress count as due now).
    pub(crate) fn next_due(&self, breakers: &Breakers) -> Option<Instant> {
        let freely = self.probe_freely(breakers, Instant::now());
        self.units
            .iter()
            .map(|(&id, u)| match &u.cycle {
                Some(c) => c.scheduled_at,
                None => u.due(id, breakers, freely),
            })
            .min()
    }

    /// True while `t` belongs to its unit's current cycle and plan (a fallback since it was
    /// taken leaves it stale: its answer is of no use).
    pub(crate) fn is_live(&self, t: &PollTxn<P::Request>) -> bool {
        self.units.get(&t.unit).is_some_and(|u| {
            u.cycle
                .as_ref()
                .is_some_and(|c| c.seq == t.seq && c.epoch == t.epoch)
        })
    }

    /// The device refused `t`: if it is a padded read of the current plan, the unit falls back
    /// to its unpadded plan for good and the cycle starts over with it (same number, same
    /// deadline, nothing missed). False when there is nothing to fall back to.
    pub(crate) fn fall_back(&mut self, t: &PollTxn<P::Request>) -> bool {
        if !self.is_live(t) {
            return false;
        }
        let Some(u) = self.units.get_mut(&t.unit) else {
            return false;
        };
        if !u.reads.get(t.read).is_some_and(|r| r.padded) {
            return false;
        }
        let Some(reads) = u.fallback.take() else {
            return false;
        };
        u.reads = reads;
        u.epoch = u.epoch.wrapping_add(1);
        let n = u.reads.len();
        if let Some(c) = u.cycle.as_mut() {
            c.epoch = u.epoch;
            c.remaining = (0..n).collect();
            c.attempts = vec![0; n];
            c.words = vec![None; n];
        }
        true
    }

    /// Sends the read back for another attempt.
    pub(crate) fn retry(&mut self, t: &PollTxn<P::Request>) {
        if let Some(c) = self.cycle_mut(t) {
            c.attempts[t.read] = t.attempt.saturating_add(1);
            c.remaining.push_front(t.read);
        }
    }

    /// Stores a read's words; returns the sample when the cycle is complete.
    pub(crate) fn complete(
        &mut self,
        t: &PollTxn<P::Request>,
        words: Vec<u16>,
        now: Instant,
    ) -> Option<Sample> {
        let c = self.cycle_mut(t)?;
        c.words[t.read] = Some(words);
        if !c.remaining.is_empty() || c.words.iter().any(Option::is_none) {
            return None;
        }
        let u = self.units.get_mut(&t.unit)?;
        let c = u.cycle.take()?;
        let mut blocks: Vec<Vec<u16>> = u.lens.iter().map(|_| Vec::new()).collect();
        for (read, words) in u.reads.iter().zip(c.words) {
            let words = words.unwrap_or_default();
            for &(block, offset) in &read.parts {
                let n = u.lens[block];
                blocks[block] = words.get(offset..offset + n).unwrap_or_default().to_vec();
            }
        }
        let started = c.started_at.unwrap_or(now);
        Some(Sample {
            unit: t.unit,
            seq: c.seq,
            scheduled_at: c.scheduled_at,
            completed_at: now,
            blocks,
            latency: now.saturating_duration_since(started),
        })
    }

    /// Abandons the cycle `t` belongs to; returns its seq if it was still running.
    pub(crate) fn fail(&mut self, unit: u8, seq: u64) -> Option<u64> {
        let u = self.units.get_mut(&unit)?;
        if u.cycle.as_ref().is_some_and(|c| c.seq == seq) {
            u.cycle = None;
            return Some(seq);
        }
        None
    }

    /// Abandons every cycle in progress (link lost); returns (unit, seq).
    pub(crate) fn fail_all(&mut self) -> Vec<(u8, u64)> {
        self.units
            .iter_mut()
            .filter_map(|(&id, u)| u.cycle.take().map(|c| (id, c.seq)))
            .collect()
    }

    fn cycle_mut(&mut self, t: &PollTxn<P::Request>) -> Option<&mut Cycle> {
        self.units
            .get_mut(&t.unit)?
            .cycle
            .as_mut()
            .filter(|c| c.seq == t.seq && c.epoch == t.epoch)
    }
}

#[cfg(test)]
mod tests;
mod unit;
