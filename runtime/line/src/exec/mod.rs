//! The execution model of a line (issue 17): where the bus actors that carry cycles run.
//!
//! With cycle threads (`[realtime] cycle_threads = "per_bus"`, the default, or `"shared"`),
//! each bus actor runs on a thread of its own with a current-thread tokio runtime, optionally
//! at a `SCHED_FIFO` priority and pinned to chosen CPUs. Everything else (drive actors and
//! their crashes, supervision, live changes and their config checks, the API, northbound)
//! stays on the runtime that started the line, so none of it delays a poll. The bus actor's
//! own tasks (its link, a simulated segment's devices) are spawned from it and run on its
//! thread too.
//!
//! A line started on a current-thread runtime (a test harness with paused time, or an
//! embedding that wants one thread) keeps its buses on that runtime unless told otherwise:
//! the cycle threads keep real time, which a paused clock cannot follow.

mod thread;

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use linevisor_config::model::{CycleThreads, RealtimeSection};
use tokio::runtime::{Handle, RuntimeFlavor};
use tracing::info;

use thread::CycleThread;
pub use thread::{RealtimeError, lock_memory, pin_current_thread};

/// Where a line runs its buses ([`crate::LineOptions::execution`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Execution {
    /// As `[realtime]` says when started on a multi-thread runtime; on the caller's
    /// runtime when started on a current-thread one.
    #[default]
    Auto,
    /// As `[realtime]` says, on any runtime.
    FromConfig,
    /// Every bus on the caller's runtime, whatever `[realtime]` says.
    CallerRuntime,
}

/// The cycle threads of a running line: created as buses start, stopped with the line (or
/// with their bus, when a change removes it).
#[derive(Debug)]
pub(crate) struct Executor {
    settings: Option<RealtimeSection>,
    threads: Mutex<BTreeMap<String, CycleThread>>,
}

/// The key of the one thread of `shared`.
const SHARED: &str = "shared";

impl Executor {
    /// The executor for `realtime` under `execution`, decided on the caller's runtime.
    pub(crate) fn new(realtime: &RealtimeSection, execution: Execution) -> Self {
        let current_thread =
            Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::CurrentThread);
        let isolated = match execution {
            Execution::CallerRuntime => false,
            Execution::Auto if current_thread => false,
            Execution::Auto | Execution::FromConfig => realtime.cycle_threads != CycleThreads::Off,
        };
        Self {
            settings: isolated.then(|| realtime.clone()),
            threads: Mutex::new(BTreeMap::new()),
        }
    }

    /// True when buses run on cycle threads.
    pub(crate) fn isolated(&self) -> bool {
        self.settings.is_some()
    }

    /// The runtime bus `bus` runs on: its cycle thread (started now if it is the first use),
    /// or `None` for the caller's runtime.
    pub(crate) fn place(&self, bus: &str) -> Result<Option<Handle>, RealtimeError> {
        let Some(settings) = &self.settings else {
            return Ok(None);
        };
        let key = match settings.cycle_threads {
            CycleThreads::Shared => SHARED,
            CycleThreads::PerBus | CycleThreads::Off => bus,
        };
        let mut threads = self.threads.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(t) = threads.get(key) {
            return Ok(Some(t.handle()));
        }
        let t = CycleThread::start(key, settings)?;
        info!(
            bus,
            thread = t.name(),
            priority = ?settings.priority,
            cpus = ?settings.cpus,
            "Cycle thread started."
        );
        let handle = t.handle();
        threads.insert(key.to_owned(), t);
        Ok(Some(handle))
    }

    /// A bus left the line: its own cycle thread stops (a shared one stays).
    pub(crate) fn release(&self, bus: &str) {
        let mut threads = self.threads.lock().unwrap_or_else(PoisonError::into_inner);
        if threads.remove(bus).is_some() {
            info!(bus, "Cycle thread stopped.");
        }
    }

    /// The names of the cycle threads, by the bus (or `shared`) they carry.
    pub(crate) fn threads(&self) -> BTreeMap<String, String> {
        let threads = self.threads.lock().unwrap_or_else(PoisonError::into_inner);
        threads
            .iter()
            .map(|(k, t)| (k.clone(), t.name().to_owned()))
            .collect()
    }
}
