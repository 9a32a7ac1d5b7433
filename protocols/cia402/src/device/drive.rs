//! A simulated CiA 402 servo drive: power state machine, modes and motion in one value.
//! The simulator wraps it in a register map; tests drive it directly.

use super::{MotionModel, MotionTarget, PowerStateMachine, QuickStopOption};
use crate::modes::{cyclic, homing, pp};
use crate::{Controlword, ModeOfOperation, PowerState, Statusword, Transition};

/// Fixed characteristics of a simulated drive.
#[derive(Debug, Clone, PartialEq)]
pub struct DriveParameters {
    /// Ramp limit for velocity and position moves (units/s²).
    pub acceleration: f64,
    /// Deceleration of the quick stop and fault reactions (units/s²).
    pub quick_stop_deceleration: f64,
    /// Profile velocity for position moves (units/s).
    pub profile_velocity: f64,
    /// Velocity window for "target reached" in velocity modes (units/s).
    pub velocity_window: f64,
    /// Position window for "target reached" in position modes (units).
    pub position_window: f64,
    /// Behaviour after a quick stop.
    pub quick_stop_option: QuickStopOption,
}

impl Default for DriveParameters {
    fn default() -> Self {
        Self {
            acceleration: 1000.0,
            quick_stop_deceleration: 5000.0,
            profile_velocity: 500.0,
            velocity_window: 1.0,
            position_window: 1.0,
            quick_stop_option: QuickStopOption::DisableAfterStop,
        }
    }
}

/// A simulated drive. Write objects with the setters, advance time with [`SimulatedDrive::step`],
/// read back with [`SimulatedDrive::statusword`] and the actual values.
///
/// Modes: profile velocity, velocity and CSV follow the target velocity; profile position
/// takes a new set-point on the rising edge of controlword bit 4 (acknowledged in statusword
/// bit 12 while bit 4 stays high; bit 5 is treated as always set); CSP follows the target
/// position at the profile velocity; homing sets the position to 0 on the start edge.
/// Torque modes hold still. Halt (bit 8) ramps to standstill in every mode.
#[derive(Debug, Clone)]
pub struct SimulatedDrive {
    params: DriveParameters,
    psm: PowerStateMachine,
    motion: MotionModel,
    controlword: Controlword,
    mode: ModeOfOperation,
    target_velocity: f64,
    target_position: f64,
    pp_set_point: Option<f64>,
    set_point_ack: bool,
    homing_attained: bool,
}

impl SimulatedDrive {
    /// A drive just powered up, in profile velocity mode.
    pub fn new(params: DriveParameters) -> Self {
        Self {
            psm: PowerStateMachine::new(params.quick_stop_option),
            motion: MotionModel::new(params.acceleration),
            params,
            controlword: Controlword(0),
            mode: ModeOfOperation::ProfileVelocity,
            target_velocity: 0.0,
            target_position: 0.0,
            pp_set_point: None,
            set_point_ack: false,
            homing_attained: false,
        }
    }

    /// Parameters.
    pub fn parameters(&self) -> &DriveParameters {
        &self.params
    }

    /// Power state.
    pub fn state(&self) -> PowerState {
        self.psm.state()
    }

    /// Last controlword written.
    pub fn controlword(&self) -> Controlword {
        self.controlword
    }

    /// Active mode (0x6061); mode changes take effect at once.
    pub fn mode(&self) -> ModeOfOperation {
        self.mode
    }

    /// Error code 0x603F.
    pub fn error_code(&self) -> u16 {
        self.psm.error_code()
    }

    /// Velocity actual value.
    pub fn velocity(&self) -> f64 {
        self.motion.velocity()
    }

    /// Position actual value.
    pub fn position(&self) -> f64 {
        self.motion.position()
    }

    /// Target velocity 0x60FF as last written.
    pub fn target_velocity(&self) -> f64 {
        self.target_velocity
    }

    /// Target position 0x607A as last written.
    pub fn target_position(&self) -> f64 {
        self.target_position
    }

    /// Writes the controlword (0x6040); returns the transition it triggered at once.
    pub fn write_controlword(&mut self, cw: Controlword) -> Option<Transition> {
        let rising = |bit: u16| cw.has(bit) && !self.controlword.has(bit);
        let operating = self.psm.state() == PowerState::OperationEnabled;
        match self.mode {
            ModeOfOperation::ProfilePosition if rising(pp::NEW_SET_POINT) && operating => {
                let base = if cw.has(pp::RELATIVE) {
                    self.position()
                } else {
                    0.0
                };
                self.pp_set_point = Some(base + self.target_position);
                self.set_point_ack = true;
            }
            ModeOfOperation::Homing if rising(homing::START) && operating => {
                self.motion.set_position(0.0);
                self.homing_attained = true;
            }
            _ => {}
        }
        if !cw.has(pp::NEW_SET_POINT) {
            self.set_point_ack = false;
        }
        self.controlword = cw;
        let t = self.psm.evaluate(cw);
        self.drive_motion();
        t
    }

    /// Writes modes of operation (0x6060).
    /// Homing by a vendor command rather than the homing mode (an enumerated drive's homing
    /// code): the current position becomes home, as the homing mode's start edge does. Only
    /// while operation is enabled; true if it homed.
    pub fn home_now(&mut self) -> bool {
        if self.psm.state() != PowerState::OperationEnabled {
            return false;
        }
        self.motion.set_position(0.0);
        self.homing_attained = true;
        true
    }

    pub fn set_mode(&mut self, mode: ModeOfOperation) {
        if mode != self.mode {
            self.mode = mode;
            self.homing_attained = false;
            self.pp_set_point = None;
        }
    }

    /// Writes target velocity (0x60FF).
    pub fn set_target_velocity(&mut self, v: f64) {
        if v.is_finite() {
            self.target_velocity = v;
        }
    }

    /// Writes target position (0x607A).
    pub fn set_target_position(&mut self, p: f64) {
        if p.is_finite() {
            self.target_position = p;
        }
    }

    /// Raises a fault that the next fault reset clears (`error_code` 0 = no code).
    pub fn inject_fault(&mut self, error_code: u16) -> Option<Transition> {
        let t = self.psm.inject_fault(error_code, false);
        self.drive_motion();
        t
    }

    /// Raises a fault that stays until [`SimulatedDrive::clear_fault_cause`].
    pub fn inject_persistent_fault(&mut self, error_code: u16) -> Option<Transition> {
        let t = self.psm.inject_fault(error_code, true);
        self.drive_motion();
        t
    }

    /// Removes the cause of a persistent fault.
    pub fn clear_fault_cause(&mut self) {
        self.psm.clear_fault_cause();
    }

    /// Advances `dt` seconds: re-evaluates the (level-triggered) controlword, takes automatic
    /// transitions and moves the axis. Returns the transition taken, if any.
    pub fn step(&mut self, dt: f64) -> Option<Transition> {
        let by_word = self.psm.evaluate(self.controlword);
        self.drive_motion();
        self.motion.step(dt);
        let automatic = self.psm.update(self.motion.is_standstill());
        if automatic.is_some() {
            self.drive_motion();
        }
        automatic.or(by_word)
    }

    /// Statusword 0x6041: state bits, voltage enabled, remote, and the mode bits.
    pub fn statusword(&self) -> Statusword {
        let mut sw = self.psm.statusword();
        if self.psm.state() != PowerState::OperationEnabled {
            return sw;
        }
        let reached = self.motion.at_target(self.window());
        sw = sw.with(Statusword::TARGET_REACHED, reached);
        match self.mode {
            ModeOfOperation::ProfilePosition => {
                sw = sw.with(pp::SET_POINT_ACKNOWLEDGE, self.set_point_ack);
            }
            ModeOfOperation::Homing => sw = sw.with(homing::ATTAINED, self.homing_attained),
            ModeOfOperation::CyclicSyncPosition
            | ModeOfOperation::CyclicSyncVelocity
            | ModeOfOperation::CyclicSyncTorque => {
                sw = sw.with(cyclic::DRIVE_FOLLOWS_COMMAND, true);
            }
            _ => {}
        }
        sw
    }

    fn window(&self) -> f64 {
        match self.motion.target() {
            MotionTarget::Position { .. } => self.params.position_window,
            _ => self.params.velocity_window,
        }
    }

    fn drive_motion(&mut self) {
        let stop = MotionTarget::Stop {
            deceleration: self.params.quick_stop_deceleration,
        };
        let target = match self.psm.state() {
            PowerState::QuickStopActive | PowerState::FaultReactionActive => stop,
            PowerState::OperationEnabled if self.controlword.halt() => MotionTarget::Stop {
                deceleration: self.params.acceleration,
            },
            PowerState::OperationEnabled => self.mode_target(),
            _ => return self.motion.release(),
        };
        self.motion.set_target(target);
    }

    fn mode_target(&self) -> MotionTarget {
        let max_velocity = self.params.profile_velocity;
        match self.mode {
            ModeOfOperation::ProfileVelocity
            | ModeOfOperation::Velocity
            | ModeOfOperation::CyclicSyncVelocity => MotionTarget::Velocity(self.target_velocity),
            ModeOfOperation::ProfilePosition => match self.pp_set_point {
                Some(position) => MotionTarget::Position {
                    position,
                    max_velocity,
                },
                None => MotionTarget::Velocity(0.0),
            },
            ModeOfOperation::CyclicSyncPosition | ModeOfOperation::InterpolatedPosition => {
                MotionTarget::Position {
                    position: self.target_position,
                    max_velocity,
                }
            }
            _ => MotionTarget::Velocity(0.0),
        }
    }
}

impl Default for SimulatedDrive {
    fn default() -> Self {
        Self::new(DriveParameters::default())
    }
}
