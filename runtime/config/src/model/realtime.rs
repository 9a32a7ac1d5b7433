//! `[realtime]`: how the buses' cycles are run. The bus actors that carry cycles run on cycle
//! threads of their own, away from supervision, unwinding of crashed drive actors, config
//! checks, the API and northbound; optionally at a real-time priority and on chosen CPUs.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which threads carry the buses' cycles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CycleThreads {
    /// One cycle thread per bus (default): a bus never waits for another.
    #[default]
    PerBus,
    /// One cycle thread for all buses (fewer threads on a small gateway).
    Shared,
    /// No cycle threads: buses run on the runtime with everything else (before linevisor 0.17).
    Off,
}

/// `[realtime]`. Optional; every key has a default. Changing it needs a restart of linevisor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RealtimeSection {
    /// `per_bus` (default), `shared` or `off`.
    #[serde(default)]
    pub cycle_threads: CycleThreads,
    /// `SCHED_FIFO` priority of the cycle threads (1–99). Needs `CAP_SYS_NICE` or an
    /// `RLIMIT_RTPRIO` (systemd `LimitRTPRIO=`) of at least this value; linevisor refuses to
    /// start without it. Default: normal scheduling.
    #[schemars(range(min = 1, max = 99))]
    pub priority: Option<u8>,
    /// CPUs the cycle threads run on, e.g. `[1]`. Default: any.
    #[serde(default)]
    pub cpus: Vec<usize>,
    /// CPUs everything else runs on (drives, supervision, API, northbound), e.g. `[0]`.
    /// Default: any.
    #[serde(default)]
    pub other_cpus: Vec<usize>,
    /// Lock the process's memory (`mlockall`) so that no cycle waits for a page fault. Needs
    /// `CAP_IPC_LOCK` or a large enough `RLIMIT_MEMLOCK` (systemd `LimitMEMLOCK=infinity`).
    /// Default false.
    #[serde(default)]
    pub lock_memory: bool,
}

impl RealtimeSection {
    /// True when nothing is configured (the section is left out when written back).
    pub fn is_default(&self) -> bool {
        self == &Self::default()
    }
}
