//! One attached unit as the scheduler keeps it: its plan, its period grid and the cycle in
//! progress.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::PlannedRead;
use crate::BusEvent;
use crate::breaker::Breakers;

#[derive(Debug)]
pub(super) struct Cycle {
    pub(super) seq: u64,
    pub(super) epoch: u32,
    pub(super) scheduled_at: Instant,
    pub(super) started_at: Option<Instant>,
    pub(super) remaining: VecDeque<usize>,
    pub(super) attempts: Vec<u8>,
    pub(super) words: Vec<Option<Vec<u16>>>,
}

#[derive(Debug)]
pub(super) struct Unit<R> {
    pub(super) sink: mpsc::Sender<BusEvent>,
    /// Words of each attached block.
    pub(super) lens: Vec<usize>,
    pub(super) reads: Vec<PlannedRead<R>>,
    /// The unpadded plan, while `reads` spans gaps the device has not refused.
    pub(super) fallback: Option<Vec<PlannedRead<R>>>,
    /// Plans used so far, less one.
    pub(super) epoch: u32,
    pub(super) period: Duration,
    pub(super) anchor: Instant,
    pub(super) next_seq: u64,
    pub(super) cycle: Option<Cycle>,
}

impl<R> Unit<R> {
    /// When the next cycle (or probe) is due; `freely`: probes keep to the period grid.
    pub(super) fn due(&self, unit: u8, breakers: &Breakers, freely: bool) -> Instant {
        if breakers.is_demoted(unit) && !freely {
            return breakers.next_probe(unit).unwrap_or(self.anchor);
        }
        self.at(self.next_seq)
    }

    pub(super) fn at(&self, seq: u64) -> Instant {
        let nanos = self.period.as_nanos().saturating_mul(u128::from(seq));
        self.anchor + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// Index of the grid slot `now` falls in.
    pub(super) fn slot(&self, now: Instant) -> u64 {
        let since = now.saturating_duration_since(self.anchor).as_nanos();
        u64::try_from(since / self.period.as_nanos().max(1)).unwrap_or(u64::MAX)
    }
}
