//! Transition numbers of the CiA 402 power state machine (protocols.md §3.6).

use std::fmt;

use crate::PowerState;

/// A numbered transition of the power state machine (0–16).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Transition(pub u8);

/// Where a transition starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Power-up (transition 0 only).
    PowerUp,
    /// Any state but the fault states (transition 13).
    AnyButFault,
    /// One state.
    State(PowerState),
}

impl Transition {
    /// The edge of the state graph this transition is, or `None` for a number outside 0–16.
    pub const fn endpoints(self) -> Option<(Origin, PowerState)> {
        use PowerState::*;
        let (from, to) = match self.0 {
            0 => (Origin::PowerUp, NotReadyToSwitchOn),
            1 => (Origin::State(NotReadyToSwitchOn), SwitchOnDisabled),
            2 => (Origin::State(SwitchOnDisabled), ReadyToSwitchOn),
            3 => (Origin::State(ReadyToSwitchOn), SwitchedOn),
            4 => (Origin::State(SwitchedOn), OperationEnabled),
            5 => (Origin::State(OperationEnabled), SwitchedOn),
            6 => (Origin::State(SwitchedOn), ReadyToSwitchOn),
            7 => (Origin::State(ReadyToSwitchOn), SwitchOnDisabled),
            8 => (Origin::State(OperationEnabled), ReadyToSwitchOn),
            9 => (Origin::State(OperationEnabled), SwitchOnDisabled),
            10 => (Origin::State(SwitchedOn), SwitchOnDisabled),
            11 => (Origin::State(OperationEnabled), QuickStopActive),
            12 => (Origin::State(QuickStopActive), SwitchOnDisabled),
            13 => (Origin::AnyButFault, FaultReactionActive),
            14 => (Origin::State(FaultReactionActive), Fault),
            15 => (Origin::State(Fault), SwitchOnDisabled),
            16 => (Origin::State(QuickStopActive), OperationEnabled),
            _ => return None,
        };
        Some((from, to))
    }

    /// The transition that leads from `from` to `to`, if the graph has one.
    pub fn between(from: PowerState, to: PowerState) -> Option<Transition> {
        (1..=16).map(Transition).find(|t| t.connects(from, to))
    }

    /// True if this transition leads from `from` to `to`.
    pub fn connects(self, from: PowerState, to: PowerState) -> bool {
        match self.endpoints() {
            Some((Origin::State(f), t)) => f == from && t == to,
            Some((Origin::AnyButFault, t)) => {
                t == to && !matches!(from, PowerState::Fault | PowerState::FaultReactionActive)
            }
            Some((Origin::PowerUp, _)) | None => false,
        }
    }

    /// True for the transitions the drive takes by itself (0, 1, 13, 14).
    pub const fn is_automatic(self) -> bool {
        matches!(self.0, 0 | 1 | 13 | 14)
    }
}

impl fmt::Display for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "transition {}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_numbered_transition_has_endpoints() {
        for n in 0..=16 {
            assert!(Transition(n).endpoints().is_some(), "{n}");
        }
        assert!(Transition(17).endpoints().is_none());
    }

    #[test]
    fn between_finds_the_numbered_edge() {
        use PowerState::*;
        assert_eq!(
            Transition::between(SwitchOnDisabled, ReadyToSwitchOn),
            Some(Transition(2))
        );
        assert_eq!(
            Transition::between(OperationEnabled, QuickStopActive),
            Some(Transition(11))
        );
        assert_eq!(
            Transition::between(Fault, SwitchOnDisabled),
            Some(Transition(15))
        );
        assert_eq!(Transition::between(Fault, FaultReactionActive), None);
        assert_eq!(
            Transition::between(SwitchedOn, FaultReactionActive),
            Some(Transition(13))
        );
        assert_eq!(
            Transition::between(SwitchOnDisabled, OperationEnabled),
            None
        );
    }
}
