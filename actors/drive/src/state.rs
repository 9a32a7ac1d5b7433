//! What the operator sees of a drive: its CiA 402 power state ([`PowerState`], the one enum of
//! the eight states), or `Offline` (no communication) or `Initializing` (start-up procedure:
//! parameters downloaded and verified, or a running drive adopted). VFDs reach the same states
//! through their profile's status rules.

use std::fmt;

use linevisor_core::PowerState;
use serde::Serialize;

/// What the operator sees of a drive. Serialised flat, in snake case: `offline`,
/// `initializing`, or the power state's key (`operation_enabled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriveState {
    /// No communication with the drive (link down, unit demoted, bus gone).
    Offline,
    /// Start-up procedure running (parameters being downloaded and verified, or a running drive
    /// being adopted): commands wait for it. After a failed procedure, until its retry
    /// succeeds, commands are refused with `NotReady`.
    Initializing,
    /// Online and initialised.
    #[serde(untagged)]
    Power(PowerState),
}

impl From<PowerState> for DriveState {
    fn from(s: PowerState) -> Self {
        DriveState::Power(s)
    }
}

impl DriveState {
    /// The power state, if the drive is online and initialised.
    pub fn power(self) -> Option<PowerState> {
        match self {
            DriveState::Power(s) => Some(s),
            DriveState::Offline | DriveState::Initializing => None,
        }
    }

    /// Fault or fault reaction active.
    pub fn is_fault(self) -> bool {
        matches!(
            self,
            DriveState::Power(PowerState::Fault | PowerState::FaultReactionActive)
        )
    }

    /// The snake_case name (as in profiles, the API and logs).
    pub fn name(self) -> &'static str {
        match self {
            DriveState::Offline => "offline",
            DriveState::Initializing => "initializing",
            DriveState::Power(s) => s.key(),
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

    #[test]
    fn serialises_flat_as_the_api_always_did() {
        for s in PowerState::ALL {
            let json = serde_json::to_string(&DriveState::from(s)).unwrap();
            assert_eq!(json, format!("\"{}\"", s.key()));
            assert_eq!(DriveState::from(s).power(), Some(s));
            assert_eq!(DriveState::from(s).name(), s.key());
        }
        assert_eq!(
            serde_json::to_string(&DriveState::Offline).unwrap(),
            "\"offline\""
        );
        assert_eq!(
            serde_json::to_string(&DriveState::Initializing).unwrap(),
            "\"initializing\""
        );
        assert_eq!(DriveState::Offline.power(), None);
    }
}
