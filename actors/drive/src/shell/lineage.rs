//! What outlives an instance: one [`Lineage`] per drive, shared by all its versions, holding
//! the proven version (whose profile the safe-stop step uses) and the carry-over each instance
//! deposits for the next.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tracing::{Span, info_span};

use super::replies::Emitter;
use crate::core::{CarryOver, DriveSpec, TrialRule};
use crate::link::Link;
use crate::telemetry::DriveChannels;

/// One version of one drive: its spec, and what the shell runs it with.
#[derive(Debug)]
pub(crate) struct DriveVersion {
    pub(crate) spec: Arc<DriveSpec>,
    pub(crate) link: Link,
    pub(crate) channels: DriveChannels,
}

impl DriveVersion {
    pub(crate) fn emitter(&self) -> Emitter {
        Emitter {
            drive: self.spec.id.clone(),
            events: self.channels.events.clone(),
        }
    }

    /// The drive's tracing span.
    pub(crate) fn span(&self) -> Span {
        let s = &self.spec;
        info_span!(
            "drive",
            line = %s.line,
            bus = %s.bus,
            drive = %s.id,
            unit = self.link.unit()
        )
    }
}

/// Every version and instance of one drive, in succession.
#[derive(Debug)]
pub(crate) struct Lineage {
    inner: Mutex<Succession>,
}

#[derive(Debug)]
struct Succession {
    /// The version whose instance runs now, or the last one that won its trial.
    proven: Arc<DriveVersion>,
    carry: CarryOver,
}

impl Lineage {
    pub(crate) fn new(proven: Arc<DriveVersion>) -> Self {
        Self {
            inner: Mutex::new(Succession {
                proven,
                carry: CarryOver::default(),
            }),
        }
    }

    // A panic elsewhere leaves plain data: keep using it.
    fn lock(&self) -> MutexGuard<'_, Succession> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn carry_over(&self) -> CarryOver {
        self.lock().carry.clone()
    }

    /// The carry-over as the running instance leaves it.
    pub(crate) fn deposit(&self, carry: &CarryOver) {
        self.lock().carry.clone_from(carry);
    }

    pub(crate) fn promote(&self, version: Arc<DriveVersion>) {
        self.lock().proven = version;
    }

    pub(crate) fn proven(&self) -> Arc<DriveVersion> {
        self.lock().proven.clone()
    }

    /// Runs `f` on the carry-over (the safe-stop step, between instances).
    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut CarryOver) -> R) -> R {
        f(&mut self.lock().carry)
    }
}

/// A new version's trial: good samples with its own profile before probation counts.
#[derive(Debug)]
pub struct Trial {
    pub(crate) rule: TrialRule,
}
