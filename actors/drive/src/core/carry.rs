//! What one instance of a drive hands to the next (restart, crash, new version): an explicit
//! value the core starts from and the shell deposits after every message, so it survives an
//! instance that ends by a panic.

use linevisor_profile::CommandState;

use crate::stats::CycleStats;

/// The carry-over between instances and versions of one drive.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CarryOver {
    /// A start-up procedure completed once (later starts are restarts).
    pub started: bool,
    /// Identity values read at the last start-up or reconnect.
    pub identity: Option<Vec<u32>>,
    /// The last command word or code written.
    pub last_command: CommandState,
    /// Comm was lost while the drive was under control; `on_comm_loss` is still to be applied.
    pub comm_loss_pending: bool,
    /// The last stop was a planned restart that left the drive running for the next instance.
    pub planned_restart: bool,
    pub stats: CycleStats,
}

/// What a drive hands to its replacement on a planned upgrade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handover {
    /// Identity values of the unit.
    pub identity: Option<Vec<u32>>,
    /// Last command word or code written.
    pub last_command: Option<u32>,
}

impl CarryOver {
    /// The part a new version takes over.
    pub fn handover(&self) -> Handover {
        Handover {
            identity: self.identity.clone(),
            last_command: self.last_command.last_command,
        }
    }

    /// Takes over what the previous version handed over.
    pub fn take_handover(&mut self, h: &Handover) {
        self.identity.clone_from(&h.identity);
        self.last_command.last_command = h.last_command;
    }
}
