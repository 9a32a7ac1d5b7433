//! The device side of the power state machine: what a drive does with a controlword.

use crate::{Command, Controlword, PowerState, Statusword, Transition};

/// Quick stop option code (0x605A), reduced to the two behaviours that matter to a master.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QuickStopOption {
    /// Codes 1–4: after the stop the drive goes to switch on disabled by itself (12).
    #[default]
    DisableAfterStop,
    /// Codes 5–8: the drive stays in quick stop active; enable operation (16) resumes.
    StayInQuickStop,
}

/// A drive's power state machine (protocols.md §3.6).
///
/// The controlword is level-triggered, as on real drives: [`PowerStateMachine::evaluate`] may be
/// called with the same word every cycle, and it takes at most one transition per call. Only the
/// fault reset acts on an edge (bit 7, 0→1).
#[derive(Debug, Clone)]
pub struct PowerStateMachine {
    state: PowerState,
    previous: Controlword,
    error_code: u16,
    fault_persistent: bool,
    quick_stop_option: QuickStopOption,
}

impl PowerStateMachine {
    /// A drive just powered up (transition 0 taken): not ready to switch on.
    pub fn new(quick_stop_option: QuickStopOption) -> Self {
        Self {
            state: PowerState::NotReadyToSwitchOn,
            previous: Controlword(0),
            error_code: 0,
            fault_persistent: false,
            quick_stop_option,
        }
    }

    /// The current state.
    pub fn state(&self) -> PowerState {
        self.state
    }

    /// Error code (0x603F) of the latched fault, 0 if none or if it had no code.
    pub fn error_code(&self) -> u16 {
        self.error_code
    }

    /// The quick stop behaviour.
    pub fn quick_stop_option(&self) -> QuickStopOption {
        self.quick_stop_option
    }

    /// The state bits of the statusword, plus voltage enabled (supply is always on once the
    /// self test passed) and remote.
    pub fn statusword(&self) -> Statusword {
        let sw = Statusword::canonical(self.state).with(Statusword::REMOTE, true);
        sw.with(
            Statusword::VOLTAGE_ENABLED,
            self.state != PowerState::NotReadyToSwitchOn,
        )
    }

    /// Applies a controlword; returns the transition taken, if any.
    pub fn evaluate(&mut self, cw: Controlword) -> Option<Transition> {
        use PowerState::*;
        let reset_edge = cw.is_fault_reset_edge(self.previous);
        self.previous = cw;
        let to = match self.state {
            NotReadyToSwitchOn | FaultReactionActive => None,
            Fault if reset_edge && !self.fault_persistent => {
                self.error_code = 0;
                Some(SwitchOnDisabled)
            }
            Fault => None,
            SwitchOnDisabled if cw.matches(Command::Shutdown) => Some(ReadyToSwitchOn),
            SwitchOnDisabled => None,
            ReadyToSwitchOn => {
                if cw.matches(Command::SwitchOn) || cw.matches(Command::EnableOperation) {
                    // 0x0F here is "switch on + enable operation": 3 now, 4 on the next cycle.
                    Some(SwitchedOn)
                } else if cw.matches(Command::DisableVoltage) || cw.matches(Command::QuickStop) {
                    Some(SwitchOnDisabled)
                } else {
                    None
                }
            }
            SwitchedOn => {
                if cw.matches(Command::EnableOperation) {
                    Some(OperationEnabled)
                } else if cw.matches(Command::Shutdown) {
                    Some(ReadyToSwitchOn)
                } else if cw.matches(Command::DisableVoltage) || cw.matches(Command::QuickStop) {
                    Some(SwitchOnDisabled)
                } else {
                    None
                }
            }
            OperationEnabled => {
                if cw.matches(Command::DisableOperation) {
                    Some(SwitchedOn)
                } else if cw.matches(Command::Shutdown) {
                    Some(ReadyToSwitchOn)
                } else if cw.matches(Command::DisableVoltage) {
                    Some(SwitchOnDisabled)
                } else if cw.matches(Command::QuickStop) {
                    Some(QuickStopActive)
                } else {
                    None
                }
            }
            QuickStopActive => {
                if cw.matches(Command::DisableVoltage) {
                    Some(SwitchOnDisabled)
                } else if cw.matches(Command::EnableOperation)
                    && self.quick_stop_option == QuickStopOption::StayInQuickStop
                {
                    Some(OperationEnabled)
                } else {
                    None
                }
            }
        };
        to.and_then(|to| self.go(to))
    }

    /// Takes the automatic transitions: 1 (self test done), 14 (fault reaction finished, once
    /// the motor stands still) and 12 after a quick stop with [`QuickStopOption::DisableAfterStop`].
    pub fn update(&mut self, standstill: bool) -> Option<Transition> {
        use PowerState::*;
        let to = match self.state {
            NotReadyToSwitchOn => SwitchOnDisabled,
            FaultReactionActive if standstill => Fault,
            QuickStopActive
                if standstill && self.quick_stop_option == QuickStopOption::DisableAfterStop =>
            {
                SwitchOnDisabled
            }
            _ => return None,
        };
        self.go(to)
    }

    /// Raises a fault (transition 13) with `error_code` (0 for a fault without a code). A
    /// transient fault is cleared by the next fault reset; a persistent one only after
    /// [`PowerStateMachine::clear_fault_cause`]. A second fault while in fault keeps the first code.
    pub fn inject_fault(&mut self, error_code: u16, persistent: bool) -> Option<Transition> {
        self.fault_persistent |= persistent;
        if matches!(
            self.state,
            PowerState::Fault | PowerState::FaultReactionActive
        ) {
            return None;
        }
        self.error_code = error_code;
        self.go(PowerState::FaultReactionActive)
    }

    /// Removes the cause of a persistent fault so a fault reset can succeed.
    pub fn clear_fault_cause(&mut self) {
        self.fault_persistent = false;
    }

    fn go(&mut self, to: PowerState) -> Option<Transition> {
        let t = Transition::between(self.state, to);
        debug_assert!(t.is_some(), "no transition {} -> {}", self.state, to);
        self.state = to;
        t
    }
}

impl Default for PowerStateMachine {
    fn default() -> Self {
        Self::new(QuickStopOption::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PowerState::*;

    fn cw(c: Command) -> Controlword {
        Controlword::from(c)
    }

    #[test]
    fn power_up_enable_and_quick_stop() {
        let mut m = PowerStateMachine::default();
        assert_eq!(m.update(true), Some(Transition(1)));
        assert_eq!(m.evaluate(cw(Command::Shutdown)), Some(Transition(2)));
        assert_eq!(
            m.evaluate(cw(Command::EnableOperation)),
            Some(Transition(3))
        );
        assert_eq!(
            m.evaluate(cw(Command::EnableOperation)),
            Some(Transition(4))
        );
        assert_eq!(m.evaluate(cw(Command::QuickStop)), Some(Transition(11)));
        assert_eq!(m.update(false), None, "still ramping");
        assert_eq!(m.update(true), Some(Transition(12)));
        assert_eq!(m.state(), SwitchOnDisabled);
    }

    #[test]
    fn persistent_fault_survives_reset_until_cleared() {
        let mut m = PowerStateMachine::default();
        m.update(true);
        assert_eq!(m.inject_fault(0x2310, true), Some(Transition(13)));
        assert_eq!(m.update(true), Some(Transition(14)));
        assert_eq!(m.error_code(), 0x2310);
        assert_eq!(m.evaluate(cw(Command::FaultReset)), None);
        m.clear_fault_cause();
        assert_eq!(
            m.evaluate(cw(Command::FaultReset)),
            None,
            "bit 7 still high: no edge"
        );
        m.evaluate(Controlword(0));
        assert_eq!(m.evaluate(cw(Command::FaultReset)), Some(Transition(15)));
        assert_eq!(m.error_code(), 0);
    }

    #[test]
    fn stay_in_quick_stop_resumes_with_enable() {
        let mut m = PowerStateMachine::new(QuickStopOption::StayInQuickStop);
        m.update(true);
        for c in [
            Command::Shutdown,
            Command::SwitchOn,
            Command::EnableOperation,
        ] {
            m.evaluate(cw(c));
        }
        m.evaluate(cw(Command::QuickStop));
        assert_eq!(m.update(true), None);
        assert_eq!(
            m.evaluate(cw(Command::EnableOperation)),
            Some(Transition(16))
        );
    }
}
