//! [`SimDrive`]: one simulated drive, driven by any Modbus or serial profile.

mod image;
mod modbus;
mod model;
mod point;
mod roles;
mod status;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use linevisor_cia402::device::DriveParameters;
use linevisor_core::PowerState;
use linevisor_core::profile::{CommandEncoding, Profile, Protocol};
use linevisor_profile::ProfileCodec;

use crate::SimError;
use image::PointImage;
use model::DeviceModel;
pub use point::Refusal;
use roles::Roles;

/// Time steps per [`SimDrive::step`] call at most; longer gaps are integrated coarser.
const MAX_STEPS: u32 = 10_000;

/// How a simulated drive is built.
#[derive(Debug, Clone, PartialEq)]
pub struct SimDriveOptions {
    /// Serial number shown in the profile's identity point.
    pub serial_number: u32,
    /// Ramps, quick-stop deceleration, profile velocity and windows of the device model, in
    /// the profile's engineering units.
    pub drive: DriveParameters,
    /// Integration step of the motion model.
    pub step: Duration,
    /// Factory value per parameter name; unlisted parameters start at 0 clamped into the
    /// profile's `min`–`max`.
    pub factory: BTreeMap<String, f64>,
}

impl Default for SimDriveOptions {
    fn default() -> Self {
        Self {
            serial_number: 1,
            drive: DriveParameters::default(),
            step: Duration::from_millis(1),
            factory: BTreeMap::new(),
        }
    }
}

/// A simulated drive: a point image laid out by a Modbus or serial profile (registers, or raw
/// values by point name), in front of the linevisor-cia402 device model (power state machine,
/// modes, velocity ramps, position integration, fault code). Writes, through registers or by
/// point, are interpreted through the profile (controlword or enumerated codes, setpoints, fault
/// reset); the status points are produced by inverting the profile's status rules. Time
/// advances only through [`SimDrive::step`].
#[derive(Debug, Clone)]
pub struct SimDrive {
    codec: Arc<ProfileCodec>,
    options: SimDriveOptions,
    roles: Roles,
    image: PointImage,
    model: DeviceModel,
    serial_number: u32,
    carry: Duration,
    /// Writes carried out (registers or points), for tests counting what reached the drive.
    writes: u64,
}

impl SimDrive {
    /// A drive just powered up (self test passed: switch on disabled), running `profile` (a
    /// Modbus or serial profile).
    pub fn new(profile: &Profile, options: SimDriveOptions) -> Result<Self, SimError> {
        let codec = ProfileCodec::new(profile).map_err(|source| SimError::Codec {
            profile: profile.profile.name.clone(),
            source,
        })?;
        Self::with_codec(Arc::new(codec), options)
    }

    /// As [`SimDrive::new`], sharing a codec between drives of one profile.
    pub fn with_codec(
        codec: Arc<ProfileCodec>,
        options: SimDriveOptions,
    ) -> Result<Self, SimError> {
        let p = codec.profile();
        if !matches!(p.profile.protocol, Protocol::Modbus | Protocol::Serial) {
            return Err(SimError::NotModbus {
                profile: p.profile.name.clone(),
                protocol: p.profile.protocol.name(),
            });
        }
        status::all_expressible(&codec).map_err(|state| SimError::Inexpressible {
            profile: p.profile.name.clone(),
            state,
        })?;
        let roles = Roles::new(&codec, &options);
        let enumerated = p.command.encoding == CommandEncoding::Enumerated;
        let mut drive = Self {
            image: PointImage::new(&codec),
            model: DeviceModel::new(options.drive.clone(), enumerated),
            serial_number: options.serial_number,
            carry: Duration::ZERO,
            writes: 0,
            roles,
            options,
            codec,
        };
        drive.factory_reset();
        Ok(drive)
    }

    /// The profile codec.
    pub fn codec(&self) -> &ProfileCodec {
        &self.codec
    }

    /// Advances time by `dt` in steps of [`SimDriveOptions::step`] (the remainder is carried
    /// to the next call, so many short calls integrate like one long one).
    pub fn step(&mut self, dt: Duration) {
        let total = self.carry + dt;
        let step = self.options.step.max(Duration::from_micros(10));
        let n = (total.as_nanos() / step.as_nanos()).min(u128::from(u32::MAX)) as u32;
        if n > MAX_STEPS {
            let chunk = total / MAX_STEPS;
            for _ in 0..MAX_STEPS {
                self.model.step(chunk.as_secs_f64());
            }
            self.carry = Duration::ZERO;
        } else {
            for _ in 0..n {
                self.model.step(step.as_secs_f64());
            }
            self.carry = total - step * n;
        }
        self.refresh();
    }

    /// The device model's state.
    pub fn state(&self) -> PowerState {
        self.model.state()
    }

    /// The state a client decodes from the status registers (a fallback where the profile
    /// cannot show the model's state).
    pub fn shown_state(&self) -> Option<PowerState> {
        self.codec
            .decode_status_with(|p| Some(self.image.raw(p)))
            .ok()
    }

    /// Actual velocity (engineering units, signed).
    pub fn velocity(&self) -> f64 {
        self.model.drive().velocity()
    }

    /// Actual position.
    pub fn position(&self) -> f64 {
        self.model.drive().position()
    }

    /// Velocity the model is driven towards.
    pub fn target_velocity(&self) -> f64 {
        self.model.drive().target_velocity()
    }

    /// Fault code of the model (0: none or a fault without a code).
    pub fn error_code(&self) -> u16 {
        self.model.drive().error_code()
    }

    /// Refuse reads that cover an unmapped register (exception 0x02), as drives whose map has
    /// holes do; off (the default), holes read 0.
    pub fn refuse_holes(&mut self, on: bool) {
        self.image.refuse_holes = on;
    }

    /// Writes the drive carried out (register or point writes; refused ones do not count).
    pub fn writes_received(&self) -> u64 {
        self.writes
    }

    /// Serial number in the identity point.
    pub fn serial_number(&self) -> u32 {
        self.serial_number
    }

    /// Sets the serial number (identity point).
    pub fn set_serial_number(&mut self, serial_number: u32) {
        self.serial_number = serial_number;
        self.write_identity();
    }

    /// A point's engineering value as a client would read it.
    pub fn point_value(&self, point: &str) -> Option<f64> {
        self.image.value(point)
    }

    /// A point's raw value as a client would read it.
    pub fn point_raw(&self, point: &str) -> Option<u32> {
        self.codec.point(point).ok().map(|_| self.image.raw(point))
    }

    /// Sets a point's raw value as the device would (a digital input switching, a coil a test
    /// wants set), without acting on it as a write.
    pub fn set_point_raw(&mut self, point: &str, raw: u32) {
        self.image.set_raw(point, raw);
    }

    /// Current value of every profile parameter.
    pub fn parameters(&self) -> BTreeMap<String, f64> {
        self.roles
            .parameters
            .iter()
            .filter_map(|(name, point, _)| Some((name.clone(), self.image.value(point)?)))
            .collect()
    }

    /// Raises a drive fault with `code` (`None`: a fault without a code). A fault reset clears it.
    pub fn inject_fault(&mut self, code: Option<u16>) {
        self.model.inject_fault(code.unwrap_or(0), false);
        self.refresh();
    }

    /// Raises a fault that survives resets until [`SimDrive::clear_fault_cause`].
    pub fn inject_persistent_fault(&mut self, code: Option<u16>) {
        self.model.inject_fault(code.unwrap_or(0), true);
        self.refresh();
    }

    /// Removes the cause of a persistent fault.
    pub fn clear_fault_cause(&mut self) {
        self.model.clear_fault_cause();
    }

    /// Maintenance swapped the unit: a new drive, just powered up (switch on disabled, axis at
    /// 0), with `serial_number` and factory parameters.
    pub fn replace_unit(&mut self, serial_number: u32) {
        let enumerated = self.codec.profile().command.encoding == CommandEncoding::Enumerated;
        self.model = DeviceModel::new(self.options.drive.clone(), enumerated);
        self.serial_number = serial_number;
        self.carry = Duration::ZERO;
        self.factory_reset();
    }

    fn factory_reset(&mut self) {
        // The self test (transition 1) passes at once: clients find the unit ready to talk.
        self.model.step(0.0);
        self.image.clear();
        for (_, point, value) in &self.roles.parameters {
            self.image.set_value(point, *value);
        }
        self.write_identity();
        self.refresh();
    }

    fn write_identity(&mut self) {
        for (point, raw) in self.roles.identity(self.serial_number) {
            self.image.set_raw(&point, raw);
        }
    }

    /// Acts on points just written (their values `before`); false, having done nothing, when
    /// the drive refuses one of the new values (the caller restores them).
    fn carry_out(&mut self, touched: &[String], before: &[u32]) -> bool {
        if let Some(p) = touched
            .iter()
            .find(|p| !self.roles.accepts(p, self.image.raw(p)))
        {
            tracing::debug!(point = %p, "Simulated drive refused a value.");
            return false;
        }
        // Mode and setpoints before the command: a PP set-point edge takes the new target.
        let mut order: Vec<(usize, &String)> = touched.iter().enumerate().collect();
        order.sort_by_key(|(_, p)| self.roles.is_command_like(p));
        for (i, p) in order {
            self.on_write(p, before[i]);
        }
        self.refresh();
        true
    }

    fn on_write(&mut self, point: &str, before: u32) {
        let raw = self.image.raw(point);
        let value = self.image.value(point).unwrap_or(0.0);
        let r = &self.roles;
        if r.reset_fires(point, before, raw) {
            self.model.fault_reset();
        } else if point == r.command {
            match r.enumerated.then(|| r.code(raw)).flatten() {
                Some(cmd) => self.model.command(cmd),
                None if !r.enumerated => self.model.write_controlword(raw),
                None if r.homing_code == Some(raw) => self.model.home(),
                None => {}
            }
        }
        if r.mode.as_deref() == Some(point) {
            self.model.set_mode(value);
        }
        if r.velocity.as_deref() == Some(point) {
            self.model.set_velocity(value);
        }
        if r.position.as_deref() == Some(point) {
            self.model.set_position(value);
        }
    }

    /// Writes the status, fault code and telemetry points from the model.
    fn refresh(&mut self) {
        let d = self.model.drive();
        let code = u32::from(d.error_code());
        let (v, p) = (d.velocity(), d.position());
        let powered = self.model.state().is_powered();
        let mode = f64::from(d.mode().code());
        let sw = u32::from(d.statusword().0);
        let r = &self.roles;
        let mut base = status::StatusValues::new();
        for s in &r.status_points {
            base.insert(s.clone(), 0);
        }
        if !r.enumerated {
            base.insert(self.codec.profile().status.point.clone(), sw);
        }
        if let Some(fc) = &r.fault_code {
            self.image.set_raw(fc, code);
            if base.contains_key(fc) {
                base.insert(fc.clone(), code);
            }
        }
        // Not a physical model: a no-load current plus a share of the speed.
        let current = if powered { 0.3 + 0.002 * v.abs() } else { 0.0 };
        let writes = [
            (&r.telemetry_velocity, v),
            (&r.telemetry_position, p),
            (&r.telemetry_current, current),
            (&r.telemetry_torque, current),
            (&r.mode_display, mode),
        ];
        for (point, value) in writes {
            if let Some(point) = point {
                self.image.set_value(point, value);
            }
        }
        let state = self.model.state();
        if let Some((_, values)) = status::invert(&self.codec, state, code, &base) {
            for (point, raw) in values {
                self.image.set_raw(&point, raw);
            }
        }
    }
}
