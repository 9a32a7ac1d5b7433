//! The device model behind a simulated drive: linevisor-cia402's `SimulatedDrive` (power state
//! machine, modes, motion). A CiA 402 profile's controlword goes to it as written; an enumerated
//! profile's command code becomes an intent that the model sequences itself with
//! linevisor-cia402's `next_step`, one transition per write or time step, as a VFD's firmware
//! would.

use linevisor_cia402::device::{DriveParameters, SimulatedDrive};
use linevisor_cia402::{Controlword, ModeOfOperation, PowerState, Step, Target, next_step};
use linevisor_profile::{Direction, UniformCommand};

/// What an enumerated command asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Intent {
    /// Nothing asked (power-up, after a fault).
    Idle,
    /// Run in a direction.
    Run(Direction),
    /// Ramp to standstill, then switched on.
    Stop,
    /// Power stage off.
    Disable,
    /// Quick stop.
    QuickStop,
}

/// A drive's behaviour, independent of its register map.
#[derive(Debug, Clone)]
pub(crate) struct DeviceModel {
    drive: SimulatedDrive,
    enumerated: bool,
    intent: Intent,
    /// Velocity setpoint as written (enumerated drives apply the run direction to it).
    velocity_setpoint: f64,
}

impl DeviceModel {
    pub(crate) fn new(params: DriveParameters, enumerated: bool) -> Self {
        Self {
            drive: SimulatedDrive::new(params),
            enumerated,
            intent: Intent::Idle,
            velocity_setpoint: 0.0,
        }
    }

    pub(crate) fn drive(&self) -> &SimulatedDrive {
        &self.drive
    }

    pub(crate) fn state(&self) -> PowerState {
        self.drive.state()
    }

    /// Direction of motion an enumerated drive was told (+1 / -1); CiA 402: +1.
    fn sign(&self) -> f64 {
        match self.intent {
            Intent::Run(Direction::Reverse) => -1.0,
            _ => 1.0,
        }
    }

    /// A controlword written by the master (CiA 402 profiles).
    pub(crate) fn write_controlword(&mut self, raw: u32) {
        self.drive.write_controlword(Controlword(raw as u16));
    }

    /// An enumerated command code, already looked up.
    pub(crate) fn command(&mut self, command: UniformCommand) {
        self.intent = match command {
            UniformCommand::Enable(d) => Intent::Run(d),
            UniformCommand::Stop => Intent::Stop,
            UniformCommand::Disable => Intent::Disable,
            UniformCommand::QuickStop => Intent::QuickStop,
            UniformCommand::FaultReset => return self.fault_reset(),
        };
        self.apply_velocity();
        self.sequence();
    }

    /// A fault reset by another point than the controlword (pulse bit, reset code): a rising
    /// edge of bit 7, then bit 7 cleared again.
    pub(crate) fn fault_reset(&mut self) {
        let cw = self.drive.controlword();
        self.drive
            .write_controlword(cw.with(Controlword::FAULT_RESET, false));
        self.drive
            .write_controlword(cw.with(Controlword::FAULT_RESET, true));
        let after = if self.enumerated {
            // A VFD is stopped after a reset and waits for a new run command.
            self.intent = Intent::Idle;
            Controlword(0)
        } else {
            cw.with(Controlword::FAULT_RESET, false)
        };
        self.drive.write_controlword(after);
    }

    /// An enumerated drive's homing code: home at the current position if enabled.
    pub(crate) fn home(&mut self) {
        self.drive.home_now();
    }

    pub(crate) fn set_mode(&mut self, mode: f64) {
        let m = mode.round().clamp(f64::from(i8::MIN), f64::from(i8::MAX)) as i8;
        self.drive.set_mode(ModeOfOperation::from(m));
    }

    pub(crate) fn set_velocity(&mut self, v: f64) {
        self.velocity_setpoint = v;
        self.apply_velocity();
    }

    pub(crate) fn set_position(&mut self, p: f64) {
        self.drive.set_target_position(p);
    }

    /// Raises a fault (code 0: a fault without a code). A persistent one survives resets
    /// until [`DeviceModel::clear_fault_cause`].
    pub(crate) fn inject_fault(&mut self, code: u16, persistent: bool) {
        if persistent {
            self.drive.inject_persistent_fault(code);
        } else {
            self.drive.inject_fault(code);
        }
        if self.enumerated {
            self.intent = Intent::Idle;
        }
    }

    pub(crate) fn clear_fault_cause(&mut self) {
        self.drive.clear_fault_cause();
    }

    /// Advances `dt` seconds.
    pub(crate) fn step(&mut self, dt: f64) {
        self.sequence();
        self.drive.step(dt);
        self.sequence();
    }

    fn apply_velocity(&mut self) {
        let v = if self.enumerated {
            self.velocity_setpoint * self.sign()
        } else {
            self.velocity_setpoint
        };
        self.drive.set_target_velocity(v);
    }

    /// Enumerated drives: one controlword step towards the intent.
    fn sequence(&mut self) {
        if !self.enumerated {
            return;
        }
        let state = self.drive.state();
        if matches!(
            state,
            PowerState::Fault | PowerState::FaultReactionActive | PowerState::NotReadyToSwitchOn
        ) {
            return;
        }
        let cw = self.drive.controlword();
        let (target, cw) = match self.intent {
            Intent::Idle => return,
            Intent::Run(_) => (Target::OperationEnabled, cw.with(Controlword::HALT, false)),
            Intent::Stop if state != PowerState::OperationEnabled => return,
            Intent::Stop if self.drive.velocity() != 0.0 => {
                // Ramp down with halt, still enabled (a VFD reports "decelerating").
                if !cw.halt() {
                    self.drive
                        .write_controlword(cw.with(Controlword::HALT, true));
                }
                return;
            }
            Intent::Stop => (Target::SwitchedOn, cw),
            Intent::Disable => (Target::SwitchOnDisabled, cw),
            Intent::QuickStop => (Target::QuickStop, cw),
        };
        match next_step(state, target, cw) {
            Step::Write { controlword, .. } => {
                self.drive.write_controlword(controlword);
            }
            Step::Done if cw != self.drive.controlword() => {
                self.drive.write_controlword(cw);
            }
            Step::Done | Step::Wait => {}
        }
    }
}
