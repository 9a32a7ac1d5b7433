//! One row of the fault matrix: what was injected, what the promises say, and the figures.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

/// The figures of one fault.
#[derive(Debug, Clone, Default)]
pub(crate) struct Row {
    /// Layer: `modbus_rtu`, `modbus_tcp`, `canopen`, `control`, `journal`.
    pub(crate) layer: &'static str,
    /// The fault, in a few words (`drop 3 %`, `slowloris`, `disk full`).
    pub(crate) fault: &'static str,
    /// Panics or process exits the fault caused.
    pub(crate) crashes: u32,
    /// Commands sent while the fault was on, and those answered (ok or with a reason).
    pub(crate) commands: u32,
    pub(crate) answered: u32,
    /// From the end of the fault to normal service again (polls answered, API up, journal
    /// writing); `None` when the fault never interrupted service.
    pub(crate) recovery: Option<Duration>,
    /// Cycles and missed cycles of the drives on the faulty bus (or all drives, for a fault
    /// outside the buses).
    pub(crate) same_bus_cycles: u64,
    pub(crate) same_bus_missed: u64,
    /// Cycles and missed cycles of the drives on other buses: the promise is 0 missed.
    pub(crate) neighbour_cycles: u64,
    pub(crate) neighbour_missed: u64,
    /// Injection rounds (1 in CI; more in the soak).
    pub(crate) rounds: u32,
}

impl Row {
    /// Asserts the promises that do not depend on timing (no crash, every command answered),
    /// then prints the row as one JSON line. Missed cycles depend on the machine's load: they
    /// are counted and printed (the soak's table in BENCHMARKS.md), never asserted here.
    pub(crate) fn finish(&self) {
        assert_eq!(self.crashes, 0, "{}: {}: crashed", self.layer, self.fault);
        assert_eq!(
            self.answered,
            self.commands,
            "{}: {}: {} of {} commands never answered",
            self.layer,
            self.fault,
            self.commands - self.answered.min(self.commands),
            self.commands
        );
        let recovery_ms = self.recovery.map(|d| d.as_secs_f64() * 1000.0);
        println!(
            "{}",
            serde_json::json!({
                "bench": "faults", "layer": self.layer, "fault": self.fault,
                "rounds": self.rounds, "crashes": self.crashes,
                "commands": self.commands, "answered": self.answered,
                "recovery_ms": recovery_ms,
                "same_bus_cycles": self.same_bus_cycles, "same_bus_missed": self.same_bus_missed,
                "neighbour_cycles": self.neighbour_cycles,
                "neighbour_missed": self.neighbour_missed,
            })
        );
    }
}

/// How long to keep injecting: `LINEVISOR_SOAK_SECONDS`, else one round.
pub(crate) fn soak() -> Option<Duration> {
    std::env::var("LINEVISOR_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
}
