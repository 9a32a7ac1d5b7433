//! What each point of a profile means to the device model, resolved once per drive.

use linevisor_core::profile::{CommandEncoding, FaultResetMethod};
use linevisor_profile::{Direction, ProfileCodec, UniformCommand};

use super::SimDriveOptions;

/// Vendor id shown in identity points other than the serial number ("LV").
const VENDOR_ID: u32 = 0x4C56;

/// Name of the CiA 402 "modes of operation display" point in the shipped profiles; the profile
/// format does not mark it, so the simulator goes by the name.
const MODE_DISPLAY: &str = "modes_display";

/// Enumerated codes are looked up in this order: profiles may reuse one code for several
/// commands (Delta: stop = disable = quick stop), and the first wins.
const CODE_ORDER: [UniformCommand; 5] = [
    UniformCommand::Enable(Direction::Forward),
    UniformCommand::Enable(Direction::Reverse),
    UniformCommand::Stop,
    UniformCommand::QuickStop,
    UniformCommand::Disable,
];

/// A fault reset through another point than the controlword.
#[derive(Debug, Clone)]
enum Reset {
    /// Rising edge of a bit.
    Bit(u8),
    /// A value written.
    Value(u32),
}

#[derive(Debug, Clone)]
pub(crate) struct Roles {
    pub(crate) command: String,
    pub(crate) enumerated: bool,
    codes: Vec<(u32, UniformCommand)>,
    /// `[homing] code` of an enumerated drive.
    pub(crate) homing_code: Option<u32>,
    reset: Option<(String, Reset)>,
    pub(crate) mode: Option<String>,
    pub(crate) velocity: Option<String>,
    pub(crate) position: Option<String>,
    pub(crate) status_points: Vec<String>,
    pub(crate) fault_code: Option<String>,
    pub(crate) telemetry_velocity: Option<String>,
    pub(crate) telemetry_position: Option<String>,
    pub(crate) telemetry_current: Option<String>,
    pub(crate) telemetry_torque: Option<String>,
    pub(crate) mode_display: Option<String>,
    identity: Vec<String>,
    serial_point: Option<String>,
    /// (parameter name, point, factory value).
    pub(crate) parameters: Vec<(String, String, f64)>,
}

impl Roles {
    pub(crate) fn new(codec: &ProfileCodec, options: &SimDriveOptions) -> Self {
        let p = codec.profile();
        let codes = CODE_ORDER
            .iter()
            .filter_map(|c| codec.code(*c).ok().map(|code| (code, *c)))
            .collect();
        let reset = match (p.fault.reset.method, p.fault.reset.point.clone()) {
            (FaultResetMethod::PulseBit, Some(point)) => {
                p.fault.reset.bit.map(|b| (point, Reset::Bit(b)))
            }
            (FaultResetMethod::WriteValue, Some(point)) => {
                p.fault.reset.value.map(|v| (point, Reset::Value(v)))
            }
            _ => None,
        };
        let serial_point = p
            .identity
            .iter()
            .find(|n| n.as_str() == "serial_number")
            .or(p.identity.last())
            .cloned();
        let parameters = p
            .parameters
            .iter()
            .map(|(name, def)| {
                let lo = def.min.unwrap_or(f64::NEG_INFINITY);
                let hi = def.max.unwrap_or(f64::INFINITY).max(lo);
                let value = options.factory.get(name).copied().unwrap_or(0.0);
                (name.clone(), def.point.clone(), value.clamp(lo, hi))
            })
            .collect();
        let mode_display = codec
            .point(MODE_DISPLAY)
            .ok()
            .filter(|_| p.command.mode_point.as_deref() != Some(MODE_DISPLAY))
            .map(|_| MODE_DISPLAY.to_owned());
        Self {
            command: p.command.point.clone(),
            enumerated: p.command.encoding == CommandEncoding::Enumerated,
            codes,
            homing_code: p.homing.as_ref().and_then(|h| h.code),
            reset,
            mode: p.command.mode_point.clone(),
            velocity: p.setpoints.velocity.clone(),
            position: p.setpoints.position.clone(),
            status_points: codec
                .status_points()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            fault_code: p.fault.code.clone(),
            telemetry_velocity: p.telemetry.velocity.clone(),
            telemetry_position: p.telemetry.position.clone(),
            telemetry_current: p.telemetry.current.clone(),
            telemetry_torque: p.telemetry.torque.clone(),
            mode_display,
            identity: p.identity.clone(),
            serial_point,
            parameters,
        }
    }

    /// The uniform command an enumerated code stands for.
    pub(crate) fn code(&self, raw: u32) -> Option<UniformCommand> {
        self.codes
            .iter()
            .find(|(c, _)| *c == raw)
            .map(|(_, cmd)| *cmd)
    }

    /// False for a value the drive refuses (an unknown command code).
    pub(crate) fn accepts(&self, point: &str, raw: u32) -> bool {
        if !(self.enumerated && point == self.command) {
            return true;
        }
        let reset_code =
            matches!(&self.reset, Some((p, Reset::Value(v))) if p == point && *v == raw);
        self.code(raw).is_some() || reset_code || self.homing_code == Some(raw)
    }

    /// True if writing `raw` over `before` to `point` resets a fault.
    pub(crate) fn reset_fires(&self, point: &str, before: u32, raw: u32) -> bool {
        match &self.reset {
            Some((p, Reset::Bit(b))) if p == point => {
                let bit = 1u32.checked_shl(u32::from(*b)).unwrap_or(0);
                raw & bit != 0 && before & bit == 0
            }
            Some((p, Reset::Value(v))) if p == point => raw == *v,
            _ => false,
        }
    }

    /// Command and reset points are applied after the other points of one write.
    pub(crate) fn is_command_like(&self, point: &str) -> bool {
        point == self.command || self.reset.as_ref().is_some_and(|(p, _)| p == point)
    }

    /// Raw values of the identity points for a serial number.
    pub(crate) fn identity(&self, serial_number: u32) -> Vec<(String, u32)> {
        self.identity
            .iter()
            .map(|n| {
                let raw = if Some(n) == self.serial_point.as_ref() {
                    serial_number
                } else {
                    VENDOR_ID
                };
                (n.clone(), raw)
            })
            .collect()
    }
}
