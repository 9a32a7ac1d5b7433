//! The uniform drive state: the eight CiA 402 power states, plus `Offline` (no communication)
//! and `Initializing` (start-up procedure: parameters downloaded and verified, or a running
//! drive adopted). VFDs reach the same states through their profile's status rules.

use std::fmt;

use linevisor_profile::UniformState;
use serde::Serialize;

/// What the operator sees of a drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriveState {
    /// No communication with the drive (link down, unit demoted, bus gone).
    Offline,
    /// Start-up procedure running (parameters being downloaded and verified, or a running drive
    /// being adopted): commands wait for it. After a failed procedure, until its retry
    /// succeeds, commands are refused with `NotReady`.
    Initializing,
    /// CiA 402 not ready to switch on.
    NotReadyToSwitchOn,
    /// CiA 402 switch on disabled.
    SwitchOnDisabled,
    /// CiA 402 ready to switch on.
    ReadyToSwitchOn,
    /// CiA 402 switched on.
    SwitchedOn,
    /// CiA 402 operation enabled: the drive follows setpoints.
    OperationEnabled,
    /// CiA 402 quick stop active.
    QuickStopActive,
    /// CiA 402 fault reaction active.
    FaultReactionActive,
    /// CiA 402 fault.
    Fault,
}

impl From<UniformState> for DriveState {
    fn from(s: UniformState) -> Self {
        match s {
            UniformState::NotReadyToSwitchOn => DriveState::NotReadyToSwitchOn,
            UniformState::SwitchOnDisabled => DriveState::SwitchOnDisabled,
            UniformState::ReadyToSwitchOn => DriveState::ReadyToSwitchOn,
            UniformState::SwitchedOn => DriveState::SwitchedOn,
            UniformState::OperationEnabled => DriveState::OperationEnabled,
            UniformState::QuickStopActive => DriveState::QuickStopActive,
            UniformState::FaultReactionActive => DriveState::FaultReactionActive,
            UniformState::Fault => DriveState::Fault,
        }
    }
}

impl DriveState {
    /// The CiA 402 state, if the drive is online and initialised.
    pub fn uniform(self) -> Option<UniformState> {
        Some(match self {
            DriveState::Offline | DriveState::Initializing => return None,
            DriveState::NotReadyToSwitchOn => UniformState::NotReadyToSwitchOn,
            DriveState::SwitchOnDisabled => UniformState::SwitchOnDisabled,
            DriveState::ReadyToSwitchOn => UniformState::ReadyToSwitchOn,
            DriveState::SwitchedOn => UniformState::SwitchedOn,
            DriveState::OperationEnabled => UniformState::OperationEnabled,
            DriveState::QuickStopActive => UniformState::QuickStopActive,
            DriveState::FaultReactionActive => UniformState::FaultReactionActive,
            DriveState::Fault => UniformState::Fault,
        })
    }

    /// Fault or fault reaction active.
    pub fn is_fault(self) -> bool {
        matches!(self, DriveState::Fault | DriveState::FaultReactionActive)
    }

    /// The snake_case name (as in profiles and logs).
    pub fn name(self) -> &'static str {
        match self {
            DriveState::Offline => "offline",
            DriveState::Initializing => "initializing",
            DriveState::NotReadyToSwitchOn => "not_ready_to_switch_on",
            DriveState::SwitchOnDisabled => "switch_on_disabled",
            DriveState::ReadyToSwitchOn => "ready_to_switch_on",
            DriveState::SwitchedOn => "switched_on",
            DriveState::OperationEnabled => "operation_enabled",
            DriveState::QuickStopActive => "quick_stop_active",
            DriveState::FaultReactionActive => "fault_reaction_active",
            DriveState::Fault => "fault",
        }
    }
}

impl fmt::Display for DriveState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linevisor_profile::ALL_STATES;

    #[test]
    fn every_uniform_state_round_trips() {
        for s in ALL_STATES {
            assert_eq!(DriveState::from(s).uniform(), Some(s));
        }
        assert_eq!(DriveState::Offline.uniform(), None);
        assert_eq!(DriveState::Initializing.uniform(), None);
    }
}
