//! Controlword (object 0x6040) and the device-control commands it carries (protocols.md §3.6).

use std::fmt;

/// A device-control command: bits 0–3 and 7 of the controlword.
///
/// `SwitchOn` and `DisableOperation` share a bit pattern (0x07); which transition it triggers
/// depends on the state it meets (3 from ready to switch on, 5 from operation enabled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// 0x06, transitions 2, 6, 8.
    Shutdown,
    /// 0x07, transition 3.
    SwitchOn,
    /// 0x0F, transitions 4 and 16 (3 + 4 from ready to switch on).
    EnableOperation,
    /// 0x07, transition 5.
    DisableOperation,
    /// 0x00, transitions 7, 9, 10, 12.
    DisableVoltage,
    /// 0x02, transitions 7, 10, 11.
    QuickStop,
    /// 0x80 as a rising edge of bit 7, transition 15.
    FaultReset,
}

impl Command {
    /// Every command.
    pub const ALL: [Command; 7] = [
        Command::Shutdown,
        Command::SwitchOn,
        Command::EnableOperation,
        Command::DisableOperation,
        Command::DisableVoltage,
        Command::QuickStop,
        Command::FaultReset,
    ];

    /// The (mask, value) that recognises the command in a controlword (§3.6 table).
    /// `FaultReset` matches the level; the device acts only on its rising edge.
    pub const fn mask_value(self) -> (u16, u16) {
        match self {
            Command::Shutdown => (0x0087, 0x0006),
            Command::SwitchOn | Command::DisableOperation => (0x008F, 0x0007),
            Command::EnableOperation => (0x008F, 0x000F),
            Command::DisableVoltage => (0x0082, 0x0000),
            Command::QuickStop => (0x0086, 0x0002),
            Command::FaultReset => (0x0080, 0x0080),
        }
    }

    /// The typical word written for the command (§3.6 table, "typical word").
    pub const fn bits(self) -> u16 {
        match self {
            Command::FaultReset => 0x0080,
            other => other.mask_value().1,
        }
    }

    /// Operator-facing name.
    pub const fn name(self) -> &'static str {
        match self {
            Command::Shutdown => "shutdown",
            Command::SwitchOn => "switch on",
            Command::EnableOperation => "enable operation",
            Command::DisableOperation => "disable operation",
            Command::DisableVoltage => "disable voltage",
            Command::QuickStop => "quick stop",
            Command::FaultReset => "fault reset",
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Controlword, object 0x6040 (bit meanings from protocols.md §3.6 and §3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Controlword(pub u16);

impl Controlword {
    /// Bit 0.
    pub const SWITCH_ON: u16 = 1 << 0;
    /// Bit 1.
    pub const ENABLE_VOLTAGE: u16 = 1 << 1;
    /// Bit 2, active low: 0 requests a quick stop.
    pub const QUICK_STOP: u16 = 1 << 2;
    /// Bit 3.
    pub const ENABLE_OPERATION: u16 = 1 << 3;
    /// Bit 4, operation-mode specific (new set-point in PP, start in homing).
    pub const OP_MODE_SPECIFIC_4: u16 = 1 << 4;
    /// Bit 5, operation-mode specific (change set immediately in PP).
    pub const OP_MODE_SPECIFIC_5: u16 = 1 << 5;
    /// Bit 6, operation-mode specific (relative in PP).
    pub const OP_MODE_SPECIFIC_6: u16 = 1 << 6;
    /// Bit 7, acts on its rising edge.
    pub const FAULT_RESET: u16 = 1 << 7;
    /// Bit 8.
    pub const HALT: u16 = 1 << 8;
    /// The bits that make up a device-control command (0–3 and 7).
    pub const COMMAND_BITS: u16 = 0x008F;

    /// The typical word for `command`, with no mode bits.
    pub const fn from_command(command: Command) -> Self {
        Self(command.bits())
    }

    /// Replaces the command bits, keeping mode-specific bits and halt.
    #[must_use]
    pub const fn with_command(self, command: Command) -> Self {
        Self((self.0 & !Self::COMMAND_BITS) | command.bits())
    }

    /// True if the word carries `command` (level match; see [`Command::mask_value`]).
    pub const fn matches(self, command: Command) -> bool {
        let (mask, value) = command.mask_value();
        self.0 & mask == value
    }

    /// True if `self` following `previous` is a fault reset (0→1 edge on bit 7).
    pub const fn is_fault_reset_edge(self, previous: Controlword) -> bool {
        self.has(Self::FAULT_RESET) && !previous.has(Self::FAULT_RESET)
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

    /// Bit 8.
    pub const fn halt(self) -> bool {
        self.has(Self::HALT)
    }
}

impl From<Command> for Controlword {
    fn from(command: Command) -> Self {
        Self::from_command(command)
    }
}

impl fmt::Display for Controlword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#06x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typical_words_match_their_command() {
        for c in Command::ALL {
            assert!(Controlword::from(c).matches(c), "{c}");
        }
        assert_eq!(Controlword::from(Command::Shutdown).0, 0x0006);
        assert_eq!(Controlword::from(Command::EnableOperation).0, 0x000F);
        assert_eq!(Controlword::from(Command::FaultReset).0, 0x0080);
    }

    #[test]
    fn with_command_keeps_mode_bits() {
        let cw = Controlword(Controlword::HALT | Controlword::OP_MODE_SPECIFIC_4 | 0x000F);
        assert_eq!(cw.with_command(Command::Shutdown).0, 0x0116);
    }

    #[test]
    fn fault_reset_is_an_edge() {
        let reset = Controlword::from(Command::FaultReset);
        assert!(reset.is_fault_reset_edge(Controlword(0)));
        assert!(!reset.is_fault_reset_edge(reset));
    }
}
