//! Statusword (object 0x6041) and the power state it encodes (protocols.md §3.6).

use std::fmt;

use linevisor_core::PowerState;

/// A statusword whose state bits match no row of the §3.6 table (e.g. 0x0001).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("statusword {0:#06x} encodes no CiA 402 power state")]
pub struct UndefinedState(pub u16);

/// Statusword, object 0x6041 (bit meanings from protocols.md §3.6 and §3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Statusword(pub u16);

impl Statusword {
    /// Bit 0.
    pub const READY_TO_SWITCH_ON: u16 = 1 << 0;
    /// Bit 1.
    pub const SWITCHED_ON: u16 = 1 << 1;
    /// Bit 2.
    pub const OPERATION_ENABLED: u16 = 1 << 2;
    /// Bit 3.
    pub const FAULT: u16 = 1 << 3;
    /// Bit 4.
    pub const VOLTAGE_ENABLED: u16 = 1 << 4;
    /// Bit 5, active low: 0 means a quick stop is running.
    pub const QUICK_STOP: u16 = 1 << 5;
    /// Bit 6.
    pub const SWITCH_ON_DISABLED: u16 = 1 << 6;
    /// Bit 7.
    pub const WARNING: u16 = 1 << 7;
    /// Bit 9: the drive accepts commands over the bus.
    pub const REMOTE: u16 = 1 << 9;
    /// Bit 10 (Beckhoff AX8000 uses it as a toggle in cyclic modes).
    pub const TARGET_REACHED: u16 = 1 << 10;
    /// Bit 11.
    pub const INTERNAL_LIMIT_ACTIVE: u16 = 1 << 11;
    /// Bit 12, operation-mode specific (see [`crate::modes`]).
    pub const OP_MODE_SPECIFIC_12: u16 = 1 << 12;
    /// Bit 13, operation-mode specific (see [`crate::modes`]).
    pub const OP_MODE_SPECIFIC_13: u16 = 1 << 13;

    /// The (mask, value) pair that identifies `state` in a statusword (§3.6 table).
    pub const fn mask_value(state: PowerState) -> (u16, u16) {
        match state {
            PowerState::NotReadyToSwitchOn => (0x004F, 0x0000),
            PowerState::SwitchOnDisabled => (0x004F, 0x0040),
            PowerState::ReadyToSwitchOn => (0x006F, 0x0021),
            PowerState::SwitchedOn => (0x006F, 0x0023),
            PowerState::OperationEnabled => (0x006F, 0x0027),
            PowerState::QuickStopActive => (0x006F, 0x0007),
            PowerState::FaultReactionActive => (0x004F, 0x000F),
            PowerState::Fault => (0x004F, 0x0008),
        }
    }

    /// The smallest statusword that decodes to `state` (only the state bits set).
    pub const fn canonical(state: PowerState) -> Self {
        Self(Self::mask_value(state).1)
    }

    /// Decodes the power state with the §3.6 mask/value table. Total: every word gives
    /// either the one matching state or [`UndefinedState`].
    pub fn state(self) -> Result<PowerState, UndefinedState> {
        PowerState::ALL
            .into_iter()
            .find(|&s| {
                let (mask, value) = Self::mask_value(s);
                self.0 & mask == value
            })
            .ok_or(UndefinedState(self.0))
    }

    /// True if every bit of `bits` is set.
    pub const fn has(self, bits: u16) -> bool {
        self.0 & bits == bits
    }

    /// Returns the word with `bits` set or cleared.
    #[must_use]
    pub const fn with(self, bits: u16, on: bool) -> Self {
        if on {
            Self(self.0 | bits)
        } else {
            Self(self.0 & !bits)
        }
    }

    /// Bit 7.
    pub const fn warning(self) -> bool {
        self.has(Self::WARNING)
    }

    /// Bit 9.
    pub const fn remote(self) -> bool {
        self.has(Self::REMOTE)
    }

    /// Bit 10.
    pub const fn target_reached(self) -> bool {
        self.has(Self::TARGET_REACHED)
    }

    /// Bit 11.
    pub const fn internal_limit_active(self) -> bool {
        self.has(Self::INTERNAL_LIMIT_ACTIVE)
    }
}

impl fmt::Display for Statusword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#06x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typical_drive_words_decode() {
        // Words seen on real drives carry remote (bit 9) and voltage enabled (bit 4).
        assert_eq!(Statusword(0x0250).state(), Ok(PowerState::SwitchOnDisabled));
        assert_eq!(Statusword(0x0231).state(), Ok(PowerState::ReadyToSwitchOn));
        assert_eq!(Statusword(0x0233).state(), Ok(PowerState::SwitchedOn));
        assert_eq!(Statusword(0x0637).state(), Ok(PowerState::OperationEnabled));
        assert_eq!(Statusword(0x0217).state(), Ok(PowerState::QuickStopActive));
        assert_eq!(Statusword(0x0218).state(), Ok(PowerState::Fault));
        assert_eq!(Statusword(0x0001).state(), Err(UndefinedState(0x0001)));
    }
}
