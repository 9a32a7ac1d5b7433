//! Master-side sequencing: the next controlword to write to move a drive towards a target.
//!
//! Pure and stateless: the caller writes the returned word, polls the statusword, decodes the
//! state and asks again (protocols.md §3.6: "always poll 0x6041 between steps").
//! The normal enable path is (fault reset 0x80 if in fault) → shutdown 0x06 (2) →
//! switch on 0x07 (3) → enable operation 0x0F (4).

use crate::{Command, Controlword, PowerState, Transition};

/// The state a caller wants the drive in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// Operation enabled: the drive follows setpoints.
    OperationEnabled,
    /// Switched on: power stage on, no torque ("disable operation").
    SwitchedOn,
    /// Ready to switch on ("shutdown").
    ReadyToSwitchOn,
    /// Switch on disabled ("disable voltage").
    SwitchOnDisabled,
    /// Stopped by the drive: quick stop from operation enabled; any non-driving state counts.
    QuickStop,
}

impl Target {
    /// True if `state` satisfies the target.
    pub const fn is_reached(self, state: PowerState) -> bool {
        use PowerState::*;
        match self {
            Target::OperationEnabled => matches!(state, OperationEnabled),
            Target::SwitchedOn => matches!(state, SwitchedOn),
            Target::ReadyToSwitchOn => matches!(state, ReadyToSwitchOn),
            Target::SwitchOnDisabled => matches!(state, SwitchOnDisabled),
            // Everything but the three states with a controlled power stage.
            Target::QuickStop => !matches!(state, ReadyToSwitchOn | SwitchedOn | OperationEnabled),
        }
    }
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The target is reached; nothing to write.
    Done,
    /// The drive is in an automatic transition (1 or 14): write nothing, poll again.
    Wait,
    /// Write `controlword`, then poll until the state changes.
    Write {
        /// The word to write (mode-specific bits and halt kept from the last word).
        controlword: Controlword,
        /// The command it carries.
        command: Command,
        /// The transition it triggers; `None` when it only clears bit 7 so the next fault
        /// reset is a rising edge.
        transition: Option<Transition>,
    },
}

/// The next step from `state` towards `target`, given the last controlword written (for its
/// mode bits and for the fault-reset edge).
///
/// Leaving fault needs a fault reset (15) for every target except [`Target::QuickStop`], which
/// a fault already satisfies. Quick stop active is left through disable voltage (12), which
/// every quick stop option code accepts, rather than 16, which only codes 5–8 allow.
pub fn next_step(state: PowerState, target: Target, last: Controlword) -> Step {
    use PowerState::*;
    if target.is_reached(state) {
        return Step::Done;
    }
    let write = |command: Command, to: PowerState| Step::Write {
        controlword: last.with_command(command),
        command,
        transition: Transition::between(state, to),
    };
    match state {
        NotReadyToSwitchOn | FaultReactionActive => Step::Wait,
        Fault if last.has(Controlword::FAULT_RESET) => Step::Write {
            controlword: last.with_command(Command::DisableVoltage),
            command: Command::DisableVoltage,
            transition: None,
        },
        Fault => write(Command::FaultReset, SwitchOnDisabled),
        QuickStopActive => write(Command::DisableVoltage, SwitchOnDisabled),
        SwitchOnDisabled => write(Command::Shutdown, ReadyToSwitchOn),
        ReadyToSwitchOn => match target {
            Target::OperationEnabled | Target::SwitchedOn => write(Command::SwitchOn, SwitchedOn),
            Target::QuickStop => write(Command::QuickStop, SwitchOnDisabled),
            _ => write(Command::DisableVoltage, SwitchOnDisabled),
        },
        SwitchedOn => match target {
            Target::OperationEnabled => write(Command::EnableOperation, OperationEnabled),
            Target::ReadyToSwitchOn => write(Command::Shutdown, ReadyToSwitchOn),
            Target::QuickStop => write(Command::QuickStop, SwitchOnDisabled),
            _ => write(Command::DisableVoltage, SwitchOnDisabled),
        },
        OperationEnabled => match target {
            Target::SwitchedOn => write(Command::DisableOperation, SwitchedOn),
            Target::ReadyToSwitchOn => write(Command::Shutdown, ReadyToSwitchOn),
            Target::QuickStop => write(Command::QuickStop, QuickStopActive),
            _ => write(Command::DisableVoltage, SwitchOnDisabled),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(step: Step) -> (u16, Option<u8>) {
        match step {
            Step::Write {
                controlword,
                transition,
                ..
            } => (controlword.0, transition.map(|t| t.0)),
            other => panic!("expected a write, got {other:?}"),
        }
    }

    #[test]
    fn enable_from_switch_on_disabled_is_shutdown_switch_on_enable() {
        let t = Target::OperationEnabled;
        let cw = Controlword(0);
        assert_eq!(
            word(next_step(PowerState::SwitchOnDisabled, t, cw)),
            (0x06, Some(2))
        );
        assert_eq!(
            word(next_step(PowerState::ReadyToSwitchOn, t, cw)),
            (0x07, Some(3))
        );
        assert_eq!(
            word(next_step(PowerState::SwitchedOn, t, cw)),
            (0x0F, Some(4))
        );
        assert_eq!(next_step(PowerState::OperationEnabled, t, cw), Step::Done);
    }

    #[test]
    fn fault_is_reset_first_with_a_rising_edge() {
        let t = Target::OperationEnabled;
        assert_eq!(
            word(next_step(PowerState::Fault, t, Controlword(0x0F))),
            (0x80, Some(15))
        );
        // Bit 7 still high from the last attempt: clear it first.
        assert_eq!(
            word(next_step(PowerState::Fault, t, Controlword(0x80))),
            (0x00, None)
        );
        assert_eq!(
            next_step(PowerState::FaultReactionActive, t, Controlword(0)),
            Step::Wait
        );
    }

    #[test]
    fn mode_bits_survive() {
        let last = Controlword(Controlword::HALT | 0x0F);
        let (w, t) = word(next_step(
            PowerState::OperationEnabled,
            Target::QuickStop,
            last,
        ));
        assert_eq!((w, t), (0x0102, Some(11)));
    }
}
