//! Setpoints (velocity, position with profile velocity, homing), parameters, and telemetry
//! extraction from a sample.

use linevisor_cia402::Controlword;
use linevisor_cia402::modes::pp;
use linevisor_core::profile::CommandEncoding;

use crate::{CodecError, CommandState, PointWrite, ProfileCodec, Sample};

/// CiA 402 profile position mode: new set-points are taken on a rising edge of controlword bit 4.
const PROFILE_POSITION: i32 = 1;

/// Writes that start a motion, and the writes that release its trigger afterwards.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MotionWrites {
    /// Write in order now.
    pub writes: Vec<PointWrite>,
    /// Write once the drive acknowledged (CiA 402: statusword bit 12), or on the next cycle:
    /// clears controlword bit 4 so the next set-point is a rising edge again. Empty when the
    /// mode needs no trigger.
    pub release: Vec<PointWrite>,
}

/// Telemetry values of one sample, in engineering units.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TelemetryValues {
    /// `[telemetry] velocity`.
    pub velocity: Option<f64>,
    /// `[telemetry] position`.
    pub position: Option<f64>,
    /// `[telemetry] current`.
    pub current: Option<f64>,
    /// `[telemetry] torque`.
    pub torque: Option<f64>,
    /// `[fault] code` raw value with `code_mask` applied.
    pub fault_code: Option<u32>,
}

impl ProfileCodec {
    /// A velocity command: the mode (if the profile has `mode_point` and `velocity_mode`),
    /// then the velocity setpoint.
    pub fn velocity_setpoint(&self, velocity: f64) -> Result<Vec<PointWrite>, CodecError> {
        let s = &self.profile().setpoints;
        let point = s
            .velocity
            .as_deref()
            .ok_or_else(|| self.unsupported("velocity setpoints"))?;
        let mut writes = self.mode_write(self.profile().command.velocity_mode)?;
        writes.push(self.write(point, velocity)?);
        Ok(writes)
    }

    /// A position move: the mode, the profile velocity (if given and the profile has the
    /// point), the target position, and in CiA 402 profile position mode the new-set-point
    /// edge on controlword bit 4 (with its release).
    pub fn position_setpoint(
        &self,
        position: f64,
        profile_velocity: Option<f64>,
        memory: &CommandState,
    ) -> Result<MotionWrites, CodecError> {
        let s = &self.profile().setpoints;
        let point = s
            .position
            .as_deref()
            .ok_or_else(|| self.unsupported("position setpoints"))?;
        let mode = self.profile().command.position_mode;
        let mut writes = self.mode_write(mode)?;
        if let (Some(v), Some(p)) = (profile_velocity, s.profile_velocity.as_deref()) {
            writes.push(self.write(p, v)?);
        }
        writes.push(self.write(point, position)?);
        let mut motion = MotionWrites {
            writes,
            release: Vec::new(),
        };
        if mode == Some(PROFILE_POSITION) {
            self.bit4_edge(memory, &mut motion)?;
        }
        Ok(motion)
    }

    /// Start homing (`[homing]`): an enumerated drive's homing code on the command point, or
    /// (CiA 402) the homing mode, the method, and the start edge on controlword bit 4.
    pub fn homing_start(&self, memory: &CommandState) -> Result<MotionWrites, CodecError> {
        let h = self
            .profile()
            .homing
            .as_ref()
            .ok_or_else(|| self.unsupported("homing"))?;
        if let Some(code) = h.code {
            let w = self.write_raw(&self.profile().command.point, code)?;
            return Ok(MotionWrites {
                writes: vec![w],
                release: Vec::new(),
            });
        }
        let mode = h
            .mode
            .ok_or_else(|| self.unsupported("homing without a [homing] mode or code"))?;
        let mut writes = self.mode_write(Some(mode))?;
        if let (Some(p), Some(m)) = (h.method_point.as_deref(), h.method) {
            writes.push(self.write(p, f64::from(m))?);
        }
        let mut motion = MotionWrites {
            writes,
            release: Vec::new(),
        };
        self.bit4_edge(memory, &mut motion)?;
        Ok(motion)
    }

    /// A parameter write, checked against the profile's `min`–`max` and the point's type.
    pub fn parameter_write(&self, name: &str, value: f64) -> Result<PointWrite, CodecError> {
        let def =
            self.profile()
                .parameters
                .get(name)
                .ok_or_else(|| CodecError::UnknownParameter {
                    profile: self.name().to_owned(),
                    name: name.to_owned(),
                })?;
        let (min, max) = (
            def.min.unwrap_or(f64::NEG_INFINITY),
            def.max.unwrap_or(f64::INFINITY),
        );
        if !(value >= min && value <= max) {
            return Err(CodecError::ParameterRange {
                name: name.to_owned(),
                value,
                min,
                max,
            });
        }
        self.write(&def.point, value)
    }

    /// Telemetry of a sample; points absent from the sample are `None`.
    pub fn telemetry(&self, sample: &Sample) -> TelemetryValues {
        let t = &self.profile().telemetry;
        let value = |p: &Option<String>| p.as_deref().and_then(|p| sample.get(p)).map(|v| v.value);
        TelemetryValues {
            velocity: value(&t.velocity),
            position: value(&t.position),
            current: value(&t.current),
            torque: value(&t.torque),
            fault_code: self.fault_code(sample),
        }
    }

    /// The fault code: `[fault] code` raw value & `code_mask`.
    pub fn fault_code(&self, sample: &Sample) -> Option<u32> {
        let f = &self.profile().fault;
        let raw = sample.get(f.code.as_deref()?)?.raw;
        Some(raw & f.code_mask.unwrap_or(u32::MAX))
    }

    fn mode_write(&self, mode: Option<i32>) -> Result<Vec<PointWrite>, CodecError> {
        match (self.profile().command.mode_point.as_deref(), mode) {
            (Some(point), Some(m)) => Ok(vec![self.write(point, f64::from(m))?]),
            _ => Ok(Vec::new()),
        }
    }

    /// Adds a rising edge of controlword bit 4 (cleared first if still set) and its release.
    fn bit4_edge(&self, memory: &CommandState, m: &mut MotionWrites) -> Result<(), CodecError> {
        if self.profile().command.encoding != CommandEncoding::Cia402 {
            return Ok(());
        }
        let point = &self.profile().command.point;
        let last = memory.controlword();
        let low = last.with(pp::NEW_SET_POINT, false);
        if last.has(pp::NEW_SET_POINT) {
            m.writes.push(self.write_raw(point, u32::from(low.0))?);
        }
        let high: Controlword = low.with(pp::NEW_SET_POINT, true);
        m.writes.push(self.write_raw(point, u32::from(high.0))?);
        m.release.push(self.write_raw(point, u32::from(low.0))?);
        Ok(())
    }
}
