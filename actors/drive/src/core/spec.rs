//! The immutable settings of one drive version: what the config and the profile say, checked
//! once by `DriveSetup::new`. The core decides with them; the shell adds the link and the
//! channels.

use std::sync::Arc;
use std::time::Duration;

use linevisor_config::model::{DriveConfig, Limits, LineSection, RestartPolicy, SafeState};
use linevisor_profile::ProfileCodec;

/// Runtime knobs that are not in the config file.
#[derive(Debug, Clone)]
pub struct DriveOptions {
    /// A command not confirmed by the readback within this time fails with `Timeout`.
    pub command_timeout: Duration,
    /// Bound of one safe-state sequence (quick stop, disable) run through acyclic reads.
    pub sequence_timeout: Duration,
    /// The supervisor's bound on the safe-stop step (must exceed `sequence_timeout`).
    pub safe_stop_timeout: Duration,
    /// The supervisor's shutdown timeout for the instance.
    pub shutdown: Duration,
    /// Delay before a failed start-up procedure is tried again (comm return retries at once).
    pub startup_retry: Duration,
    /// A command that arrives while the start-up procedure runs waits for it at most this
    /// long; then it is refused (`NotReady`: the drive is still starting) and never run.
    pub startup_wait: Duration,
    /// Delay before attaching again to a bus that ended the attachment or refused it.
    pub reattach: Duration,
    /// Bus events buffered between the bus and the forwarding task.
    pub sink_capacity: usize,
    /// Bound of the drive's handle queue.
    pub queue_capacity: usize,
}

impl Default for DriveOptions {
    fn default() -> Self {
        Self {
            command_timeout: Duration::from_secs(2),
            sequence_timeout: Duration::from_secs(3),
            safe_stop_timeout: Duration::from_secs(5),
            shutdown: Duration::from_secs(5),
            startup_retry: Duration::from_secs(1),
            startup_wait: Duration::from_secs(5),
            reattach: Duration::from_secs(1),
            sink_capacity: 16,
            queue_capacity: 64,
        }
    }
}

/// Safe state per situation, with the line default applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SafeStates {
    pub on_stop: SafeState,
    pub on_crash: SafeState,
    pub on_comm_loss: SafeState,
}

impl SafeStates {
    /// The same safe state everywhere.
    pub fn all(safe: SafeState) -> Self {
        Self {
            on_stop: safe,
            on_crash: safe,
            on_comm_loss: safe,
        }
    }
}

/// One version of one drive: config and profile, checked.
#[derive(Debug)]
pub struct DriveSpec {
    pub id: Arc<str>,
    pub line: Arc<str>,
    pub bus: String,
    pub codec: Arc<ProfileCodec>,
    pub period: Duration,
    pub restart: RestartPolicy,
    pub safe: SafeStates,
    pub limits: Limits,
    /// Configured parameters (name, value), downloaded at start-up.
    pub parameters: Vec<(String, f64)>,
    pub options: DriveOptions,
    /// The device is reachable only once its bus has brought it up (a CANopen node is booted
    /// by its bus): a start-up procedure waits for the first cycle instead of failing.
    pub up_with_first_cycle: bool,
}

impl DriveSpec {
    /// The spec of `config` on `line`'s defaults (cycle, safe state), with `codec` built from
    /// its profile. Checks nothing: `DriveSetup::new` does.
    pub fn new(
        line: &LineSection,
        config: &DriveConfig,
        codec: Arc<ProfileCodec>,
        options: DriveOptions,
    ) -> Self {
        let default = line.safe_state;
        let s = &config.safe_state;
        let cycle_ms = config.cycle_ms.unwrap_or(line.cycle_ms).max(1);
        Self {
            id: config.id.as_str().into(),
            line: line.name.as_str().into(),
            bus: config.bus.clone(),
            codec,
            period: Duration::from_millis(u64::from(cycle_ms)),
            restart: config.restart,
            safe: SafeStates {
                on_stop: s.on_stop.unwrap_or(default),
                on_crash: s.on_crash.unwrap_or(default),
                on_comm_loss: s.on_comm_loss.unwrap_or(default),
            },
            limits: config.limits.clone(),
            parameters: config.parameters.clone().into_iter().collect(),
            options,
            up_with_first_cycle: false,
        }
    }
}
