//! The eight states of the CiA 402 power state machine: what a statusword (or a vendor's status
//! register, through a profile's `[status]` rules) decodes to, and what drives report.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A drive's power state. Profiles and the API spell it in snake case (`operation_enabled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum PowerState {
    /// Power-up self test; left automatically (transition 1).
    NotReadyToSwitchOn,
    /// Power stage off, drive ready to be configured.
    SwitchOnDisabled,
    /// Waiting for "switch on"; high voltage may be applied.
    ReadyToSwitchOn,
    /// Power stage on, no torque.
    SwitchedOn,
    /// Drive follows its setpoints.
    OperationEnabled,
    /// Quick stop ramp running (or finished, depending on the quick stop option code).
    QuickStopActive,
    /// Fault detected, fault reaction running; left automatically (transition 14).
    FaultReactionActive,
    /// Fault latched; left only by a fault reset (transition 15).
    Fault,
}

impl PowerState {
    /// Every state, in the order of the CiA 402 statusword table (protocols.md §3.6).
    pub const ALL: [PowerState; 8] = [
        PowerState::NotReadyToSwitchOn,
        PowerState::SwitchOnDisabled,
        PowerState::ReadyToSwitchOn,
        PowerState::SwitchedOn,
        PowerState::OperationEnabled,
        PowerState::QuickStopActive,
        PowerState::FaultReactionActive,
        PowerState::Fault,
    ];

    /// True in the states where the power stage drives the motor.
    pub const fn is_powered(self) -> bool {
        matches!(
            self,
            PowerState::OperationEnabled
                | PowerState::QuickStopActive
                | PowerState::FaultReactionActive
        )
    }

    /// Operator-facing name, as the standard spells it.
    pub const fn name(self) -> &'static str {
        match self {
            PowerState::NotReadyToSwitchOn => "not ready to switch on",
            PowerState::SwitchOnDisabled => "switch on disabled",
            PowerState::ReadyToSwitchOn => "ready to switch on",
            PowerState::SwitchedOn => "switched on",
            PowerState::OperationEnabled => "operation enabled",
            PowerState::QuickStopActive => "quick stop active",
            PowerState::FaultReactionActive => "fault reaction active",
            PowerState::Fault => "fault",
        }
    }
}

impl PowerState {
    /// The snake_case key profiles, the API and logs use (`operation_enabled`).
    pub const fn key(self) -> &'static str {
        match self {
            PowerState::NotReadyToSwitchOn => "not_ready_to_switch_on",
            PowerState::SwitchOnDisabled => "switch_on_disabled",
            PowerState::ReadyToSwitchOn => "ready_to_switch_on",
            PowerState::SwitchedOn => "switched_on",
            PowerState::OperationEnabled => "operation_enabled",
            PowerState::QuickStopActive => "quick_stop_active",
            PowerState::FaultReactionActive => "fault_reaction_active",
            PowerState::Fault => "fault",
        }
    }
}

impl fmt::Display for PowerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_and_the_api_spell_every_state_in_snake_case() {
        let names: Vec<String> = PowerState::ALL
            .iter()
            .map(|s| serde_json::to_string(s).unwrap_or_default())
            .collect();
        assert_eq!(
            names,
            [
                "\"not_ready_to_switch_on\"",
                "\"switch_on_disabled\"",
                "\"ready_to_switch_on\"",
                "\"switched_on\"",
                "\"operation_enabled\"",
                "\"quick_stop_active\"",
                "\"fault_reaction_active\"",
                "\"fault\"",
            ]
        );
        for s in PowerState::ALL {
            let text = serde_json::to_string(&s).unwrap_or_default();
            assert_eq!(serde_json::from_str::<PowerState>(&text).ok(), Some(s));
        }
    }
}
