//! Command encoding: uniform commands → point writes, one step at a time.
//!
//! The caller (the drive actor) runs the sequence: ask for the next step with the decoded state,
//! write what it says, poll, ask again until [`CommandStep::Done`]. For `cia402` the steps come
//! from linevisor-cia402's [`next_step`] (shutdown → switch on → enable operation, fault reset
//! as a rising edge of bit 7); for `enumerated` each command is one code from the profile.
//!
//! What each command waits for ([`ProfileCodec::command_reached`]):
//!
//! | command | cia402 | enumerated |
//! |---|---|---|
//! | enable | operation enabled | operation enabled |
//! | stop (ramp) | anything but operation enabled (disable operation, transition 5) | same |
//! | disable | switch on disabled, not ready, or a fault state (disable voltage) | anything but operation enabled / quick stop active |
//! | quick stop | anything but ready / switched on / operation enabled | anything but operation enabled / quick stop active |
//! | fault reset | anything but fault / fault reaction active | same |
//!
//! A drive in fault has its power stage off, which every stopping command accepts; enable is
//! refused there ([`Refusal::InFault`]): a fault is reset only on request.

use linevisor_cia402::{Controlword, PowerState, Step, Target, next_step};
use linevisor_core::profile::{CommandEncoding, FaultResetMethod};

use crate::{CodecError, PointWrite, ProfileCodec};

/// Direction of an enable, for enumerated drives with separate forward/reverse run codes
/// (`enable` / `enable_reverse`). CiA 402 drives take the direction from the setpoint's sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// `enable`.
    #[default]
    Forward,
    /// `enable_reverse`.
    Reverse,
}

/// The uniform commands every profile encodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniformCommand {
    /// Power up and follow setpoints.
    Enable(Direction),
    /// Power stage off.
    Disable,
    /// Ramp to standstill and stay powered without following setpoints.
    Stop,
    /// Stop on the quick-stop ramp.
    QuickStop,
    /// Clear a latched fault.
    FaultReset,
}

impl UniformCommand {
    /// Every command (both enable directions).
    pub const ALL: [UniformCommand; 6] = [
        UniformCommand::Enable(Direction::Forward),
        UniformCommand::Enable(Direction::Reverse),
        UniformCommand::Disable,
        UniformCommand::Stop,
        UniformCommand::QuickStop,
        UniformCommand::FaultReset,
    ];

    /// The key of the command in `[command] codes`.
    pub const fn code_name(self) -> &'static str {
        match self {
            UniformCommand::Enable(Direction::Forward) => "enable",
            UniformCommand::Enable(Direction::Reverse) => "enable_reverse",
            UniformCommand::Disable => "disable",
            UniformCommand::Stop => "stop",
            UniformCommand::QuickStop => "quick_stop",
            UniformCommand::FaultReset => "fault_reset",
        }
    }
}

/// Why a command cannot proceed in the current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The drive is in fault (or its fault reaction); reset the fault first.
    InFault,
}

/// What to do next for a command.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandStep {
    /// The state confirms the command.
    Done,
    /// The drive is in an automatic transition; write nothing, poll again.
    Wait,
    /// Write these points in order, then poll and ask again.
    Write(Vec<PointWrite>),
    /// The command cannot be carried out now.
    Refused(Refusal),
}

/// What the caller last wrote to the command point: the controlword (cia402: its mode bits and
/// bit 7 matter for the next word) or the code (enumerated). After adopting a running drive,
/// set it from a read of the command point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CommandState {
    /// Raw value last written to `[command] point`, if any.
    pub last_command: Option<u32>,
}

impl CommandState {
    /// The last controlword (0 if none was written).
    pub fn controlword(&self) -> Controlword {
        Controlword(self.last_command.unwrap_or(0) as u16)
    }
}

const FAULT_STATES: [PowerState; 2] = [PowerState::Fault, PowerState::FaultReactionActive];

impl ProfileCodec {
    /// Records writes the caller carried out (updates the last command word or code).
    pub fn note_written(&self, state: &mut CommandState, writes: &[PointWrite]) {
        let point = &self.profile().command.point;
        if let Some(w) = writes.iter().rev().find(|w| &w.point == point) {
            state.last_command = Some(w.raw);
        }
    }

    /// True if `state` confirms `command` (table in the module docs).
    pub fn command_reached(&self, command: UniformCommand, state: PowerState) -> bool {
        use PowerState::*;
        let cia402 = self.profile().command.encoding == CommandEncoding::Cia402;
        match command {
            UniformCommand::Enable(_) => state == OperationEnabled,
            UniformCommand::Stop => state != OperationEnabled,
            UniformCommand::FaultReset => !FAULT_STATES.contains(&state),
            UniformCommand::Disable if cia402 => matches!(
                state,
                SwitchOnDisabled | NotReadyToSwitchOn | Fault | FaultReactionActive
            ),
            UniformCommand::QuickStop if cia402 => Target::QuickStop.is_reached(state),
            UniformCommand::Disable | UniformCommand::QuickStop => {
                !matches!(state, OperationEnabled | QuickStopActive)
            }
        }
    }

    /// The next step of `command` from the decoded `state`.
    pub fn command_step(
        &self,
        command: UniformCommand,
        state: PowerState,
        memory: &CommandState,
    ) -> Result<CommandStep, CodecError> {
        if command == UniformCommand::FaultReset {
            return self.fault_reset_step(state, memory);
        }
        if matches!(command, UniformCommand::Enable(_)) && FAULT_STATES.contains(&state) {
            return Ok(CommandStep::Refused(Refusal::InFault));
        }
        match self.profile().command.encoding {
            CommandEncoding::Cia402 => self.cia402_step(command, state, memory),
            CommandEncoding::Enumerated => {
                let code = self.code(command)?;
                let same_code = memory.last_command == Some(code);
                // A direction change is a new code in the same state.
                let reached = self.command_reached(command, state)
                    && (!matches!(command, UniformCommand::Enable(_)) || same_code);
                // A drive whose status cannot show the command's result (TMCL has no power
                // state) confirms it by acknowledging the code's write.
                let done = reached || (same_code && !self.state_shows(command));
                if done {
                    Ok(CommandStep::Done)
                } else {
                    let w = self.write_raw(&self.profile().command.point, code)?;
                    Ok(CommandStep::Write(vec![w]))
                }
            }
        }
    }

    /// True if some state the `[status]` rules decode, other than a fault, confirms
    /// `command`: then it is confirmed by reading the state back; otherwise the drive's
    /// acknowledgement of the command write is all there is to confirm it.
    pub fn state_shows(&self, command: UniformCommand) -> bool {
        self.profile()
            .status
            .states
            .iter()
            .map(|rule| rule.state)
            .filter(|s| !FAULT_STATES.contains(s))
            .any(|s| self.command_reached(command, s))
    }

    /// The enumerated code of `command`.
    pub fn code(&self, command: UniformCommand) -> Result<u32, CodecError> {
        let name = command.code_name();
        self.profile()
            .command
            .codes
            .get(name)
            .copied()
            .ok_or_else(|| {
                self.unsupported(format!("command {name:?} (no code in [command] codes)"))
            })
    }

    fn cia402_step(
        &self,
        command: UniformCommand,
        state: PowerState,
        memory: &CommandState,
    ) -> Result<CommandStep, CodecError> {
        let last = memory.controlword();
        if self.command_reached(command, state) {
            // Enable with halt still set from elsewhere would keep the axis stopped.
            if matches!(command, UniformCommand::Enable(_)) && last.halt() {
                return self.controlword_write(last.with(Controlword::HALT, false));
            }
            return Ok(CommandStep::Done);
        }
        let target = match command {
            UniformCommand::Enable(_) => Target::OperationEnabled,
            UniformCommand::Disable => Target::SwitchOnDisabled,
            UniformCommand::Stop => Target::SwitchedOn,
            UniformCommand::QuickStop => Target::QuickStop,
            UniformCommand::FaultReset => Target::SwitchOnDisabled,
        };
        let base = match command {
            UniformCommand::Enable(_) => last.with(Controlword::HALT, false),
            _ => last,
        };
        match next_step(state, target, base) {
            Step::Done => Ok(CommandStep::Done),
            Step::Wait => Ok(CommandStep::Wait),
            Step::Write { controlword, .. } => self.controlword_write(controlword),
        }
    }

    fn controlword_write(&self, cw: Controlword) -> Result<CommandStep, CodecError> {
        let w = self.write_raw(&self.profile().command.point, u32::from(cw.0))?;
        Ok(CommandStep::Write(vec![w]))
    }

    fn fault_reset_step(
        &self,
        state: PowerState,
        memory: &CommandState,
    ) -> Result<CommandStep, CodecError> {
        match state {
            PowerState::FaultReactionActive => return Ok(CommandStep::Wait),
            PowerState::Fault => {}
            _ => return Ok(CommandStep::Done),
        }
        let reset = &self.profile().fault.reset;
        let point = || {
            reset
                .point
                .as_deref()
                .ok_or_else(|| self.unsupported("fault reset (no fault.reset.point)"))
        };
        match reset.method {
            FaultResetMethod::ControlwordEdge => {
                if self.profile().command.encoding != CommandEncoding::Cia402 {
                    return Err(self.unsupported("controlword_edge reset without cia402 encoding"));
                }
                let step = next_step(state, Target::SwitchOnDisabled, memory.controlword());
                match step {
                    Step::Write { controlword, .. } => self.controlword_write(controlword),
                    Step::Wait => Ok(CommandStep::Wait),
                    Step::Done => Ok(CommandStep::Done),
                }
            }
            FaultResetMethod::PulseBit => {
                let bit = reset
                    .bit
                    .filter(|b| *b < 32)
                    .ok_or_else(|| self.unsupported("pulse_bit reset (no bit 0–31)"))?;
                // Set, then clear: the other bits of the point are written as 0.
                Ok(CommandStep::Write(vec![
                    self.write_raw(point()?, 1 << bit)?,
                    self.write_raw(point()?, 0)?,
                ]))
            }
            FaultResetMethod::WriteValue => {
                let value = reset
                    .value
                    .ok_or_else(|| self.unsupported("write_value reset (no value)"))?;
                Ok(CommandStep::Write(vec![self.write_raw(point()?, value)?]))
            }
        }
    }
}
