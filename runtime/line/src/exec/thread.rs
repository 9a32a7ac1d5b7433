//! One cycle thread: an OS thread running a current-thread tokio runtime, pinned and
//! prioritised before the runtime is built, so nothing runs on it before its settings hold.

use std::sync::mpsc;

use linevisor_config::model::RealtimeSection;
use nix::sched::{CpuSet, sched_setaffinity};
use nix::sys::mman::{MlockAllFlags, mlockall};
use nix::unistd::Pid;
use thread_priority::{
    RealtimeThreadSchedulePolicy, ThreadPriority, ThreadPriorityValue, ThreadSchedulePolicy,
    set_thread_priority_and_policy, thread_native_id,
};
use tokio::runtime::Handle;
use tokio::sync::oneshot;

/// Why a cycle thread (or the process) could not get its real-time settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RealtimeError {
    #[error(
        "cannot run {thread} at SCHED_FIFO priority {priority}: {reason}; it needs CAP_SYS_NICE \
         (systemd: AmbientCapabilities=CAP_SYS_NICE) or RLIMIT_RTPRIO of at least {priority} \
         (systemd: LimitRTPRIO={priority}), or remove realtime.priority"
    )]
    Priority {
        thread: String,
        priority: u8,
        reason: String,
    },
    #[error(
        "cannot pin {thread} to CPUs {cpus:?}: {reason}; this machine has {online} CPUs \
         (0–{last})",
        last = online.saturating_sub(1)
    )]
    Affinity {
        thread: String,
        cpus: Vec<usize>,
        online: usize,
        reason: String,
    },
    #[error(
        "cannot lock the process's memory: {reason}; it needs CAP_IPC_LOCK or a large enough \
         RLIMIT_MEMLOCK (systemd: LimitMEMLOCK=infinity), or set realtime.lock_memory = false"
    )]
    LockMemory { reason: String },
    #[error("cannot start {thread}: {reason}")]
    Start { thread: String, reason: String },
}

/// Pins the calling thread to `cpus` (threads it starts later inherit this).
pub fn pin_current_thread(thread: &str, cpus: &[usize]) -> Result<(), RealtimeError> {
    let fail = |reason: String| RealtimeError::Affinity {
        thread: thread.to_owned(),
        cpus: cpus.to_vec(),
        online: std::thread::available_parallelism().map_or(0, usize::from),
        reason,
    };
    let mut set = CpuSet::new();
    for &cpu in cpus {
        set.set(cpu).map_err(|e| fail(e.desc().to_owned()))?;
    }
    sched_setaffinity(Pid::from_raw(0), &set).map_err(|e| fail(e.desc().to_owned()))
}

/// Locks the process's pages now and in future (`mlockall`).
pub fn lock_memory() -> Result<(), RealtimeError> {
    mlockall(MlockAllFlags::MCL_CURRENT | MlockAllFlags::MCL_FUTURE).map_err(|e| {
        RealtimeError::LockMemory {
            reason: e.desc().to_owned(),
        }
    })
}

fn prioritise(thread: &str, priority: u8) -> Result<(), RealtimeError> {
    let fail = |reason: String| RealtimeError::Priority {
        thread: thread.to_owned(),
        priority,
        reason,
    };
    let value = ThreadPriorityValue::try_from(priority).map_err(|e| fail(e.to_owned()))?;
    set_thread_priority_and_policy(
        thread_native_id(),
        ThreadPriority::Crossplatform(value),
        ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo),
    )
    .map_err(|e| fail(e.to_string()))
}

/// `lvc-<bus>`, as `ps` and `top` show it. Linux keeps 15 bytes of a thread's name, so a long
/// bus id keeps its end, where ids of one line usually differ (`…serial-scl`, `…serial-tmcl`).
pub(super) fn thread_name(key: &str) -> String {
    const ROOM: usize = 15 - "lvc-".len();
    let chars: Vec<char> = key.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(ROOM)..].iter().collect();
    format!("lvc-{tail}")
}

/// A running cycle thread; dropping it stops its runtime (its tasks are dropped).
#[derive(Debug)]
pub(super) struct CycleThread {
    name: String,
    handle: Handle,
    _stop: oneshot::Sender<()>,
}

impl CycleThread {
    /// Starts the thread [`thread_name`]`(key)` with `settings`; returns once its runtime runs, or
    /// why it could not.
    pub(super) fn start(key: &str, settings: &RealtimeSection) -> Result<Self, RealtimeError> {
        let name = thread_name(key);
        let label = format!("cycle thread {name}");
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let (stop, stopped) = oneshot::channel::<()>();
        // Threads inherit the affinity of the thread that starts them, which `other_cpus`
        // may have narrowed: without `cpus`, a cycle thread may run on any CPU.
        let cpus = if settings.cpus.is_empty() && !settings.other_cpus.is_empty() {
            let online = std::thread::available_parallelism().map_or(1, usize::from);
            (0..online).collect()
        } else {
            settings.cpus.clone()
        };
        let priority = settings.priority;
        let thread_label = label.clone();
        std::thread::Builder::new()
            .name(name.clone())
            .spawn(move || {
                let setup = || -> Result<tokio::runtime::Runtime, RealtimeError> {
                    if !cpus.is_empty() {
                        pin_current_thread(&thread_label, &cpus)?;
                    }
                    if let Some(p) = priority {
                        prioritise(&thread_label, p)?;
                    }
                    linevisor_bus::precise_wakeups();
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| RealtimeError::Start {
                            thread: thread_label.clone(),
                            reason: e.to_string(),
                        })
                };
                match setup() {
                    Ok(rt) => {
                        let _ = ready_tx.send(Ok(rt.handle().clone()));
                        // Runs the bus actors until the line (or the bus) is gone.
                        rt.block_on(async {
                            let _ = stopped.await;
                        });
                        rt.shutdown_background();
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            })
            .map_err(|e| RealtimeError::Start {
                thread: label.clone(),
                reason: e.to_string(),
            })?;
        let handle = ready_rx.recv().map_err(|_| RealtimeError::Start {
            thread: label,
            reason: "it ended before its runtime ran".into(),
        })??;
        Ok(Self {
            name,
            handle,
            _stop: stop,
        })
    }

    pub(super) fn handle(&self) -> Handle {
        self.handle.clone()
    }

    pub(super) fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::thread_name;

    #[test]
    fn names_fit_linux_and_keep_the_distinct_end() {
        assert_eq!(thread_name("rs485"), "lvc-rs485");
        assert_eq!(thread_name("sim-serial-scl"), "lvc--serial-scl");
        assert_eq!(thread_name("sim-serial-tmcl"), "lvc-serial-tmcl");
        assert!(thread_name("a-very-long-bus-identifier").len() <= 15);
    }
}
