//! Modes of operation, their controlword/statusword bits and the key objects (protocols.md §3.7).

use std::fmt;

/// Modes of operation (0x6060 write, 0x6061 display; INTEGER8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModeOfOperation {
    /// 1, PP.
    ProfilePosition,
    /// 2, VL.
    Velocity,
    /// 3, PV.
    ProfileVelocity,
    /// 4, PT.
    ProfileTorque,
    /// 6, HM.
    Homing,
    /// 7, IP.
    InterpolatedPosition,
    /// 8, CSP.
    CyclicSyncPosition,
    /// 9, CSV.
    CyclicSyncVelocity,
    /// 10, CST.
    CyclicSyncTorque,
    /// Any other value (0 = no mode, negative = manufacturer specific).
    Other(i8),
}

impl ModeOfOperation {
    /// The INTEGER8 value of 0x6060/0x6061.
    pub const fn code(self) -> i8 {
        match self {
            Self::ProfilePosition => 1,
            Self::Velocity => 2,
            Self::ProfileVelocity => 3,
            Self::ProfileTorque => 4,
            Self::Homing => 6,
            Self::InterpolatedPosition => 7,
            Self::CyclicSyncPosition => 8,
            Self::CyclicSyncVelocity => 9,
            Self::CyclicSyncTorque => 10,
            Self::Other(v) => v,
        }
    }

    /// Bit of this mode in the supported-modes bitmap 0x6502 (bit n-1 for mode n > 0).
    pub const fn supported_modes_bit(self) -> Option<u32> {
        let c = self.code();
        if c > 0 && c <= 32 {
            Some(1 << (c - 1))
        } else {
            None
        }
    }
}

impl From<i8> for ModeOfOperation {
    fn from(v: i8) -> Self {
        match v {
            1 => Self::ProfilePosition,
            2 => Self::Velocity,
            3 => Self::ProfileVelocity,
            4 => Self::ProfileTorque,
            6 => Self::Homing,
            7 => Self::InterpolatedPosition,
            8 => Self::CyclicSyncPosition,
            9 => Self::CyclicSyncVelocity,
            10 => Self::CyclicSyncTorque,
            other => Self::Other(other),
        }
    }
}

impl fmt::Display for ModeOfOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::ProfilePosition => "profile position",
            Self::Velocity => "velocity",
            Self::ProfileVelocity => "profile velocity",
            Self::ProfileTorque => "profile torque",
            Self::Homing => "homing",
            Self::InterpolatedPosition => "interpolated position",
            Self::CyclicSyncPosition => "cyclic synchronous position",
            Self::CyclicSyncVelocity => "cyclic synchronous velocity",
            Self::CyclicSyncTorque => "cyclic synchronous torque",
            Self::Other(v) => return write!(f, "mode {v}"),
        };
        f.write_str(name)
    }
}

/// Profile position (PP) bits.
pub mod pp {
    /// Controlword bit 4: new set-point (rising edge).
    pub const NEW_SET_POINT: u16 = 1 << 4;
    /// Controlword bit 5: change set immediately.
    pub const CHANGE_SET_IMMEDIATELY: u16 = 1 << 5;
    /// Controlword bit 6: target position is relative.
    pub const RELATIVE: u16 = 1 << 6;
    /// Statusword bit 10.
    pub const TARGET_REACHED: u16 = 1 << 10;
    /// Statusword bit 12: set-point acknowledge.
    pub const SET_POINT_ACKNOWLEDGE: u16 = 1 << 12;
    /// Statusword bit 13.
    pub const FOLLOWING_ERROR: u16 = 1 << 13;
}

/// Homing (HM) bits; the method lives in 0x6098.
pub mod homing {
    /// Controlword bit 4: start homing.
    pub const START: u16 = 1 << 4;
    /// Statusword bit 12.
    pub const ATTAINED: u16 = 1 << 12;
    /// Statusword bit 13.
    pub const ERROR: u16 = 1 << 13;
}

/// Profile velocity (PV) bits.
pub mod pv {
    /// Statusword bit 10: actual velocity reached the target.
    pub const TARGET_REACHED: u16 = 1 << 10;
}

/// Cyclic synchronous modes (CSP, CSV, CST) bits.
pub mod cyclic {
    /// Statusword bit 12: the drive follows the command value.
    pub const DRIVE_FOLLOWS_COMMAND: u16 = 1 << 12;
}

/// Object dictionary indices of the key objects (§3.7 table).
pub mod objects {
    /// UNSIGNED32; low word 0x0192 means profile 402.
    pub const DEVICE_TYPE: u16 = 0x1000;
    /// UNSIGNED16, same code space as EMCY.
    pub const ERROR_CODE: u16 = 0x603F;
    /// UNSIGNED16 rw.
    pub const CONTROLWORD: u16 = 0x6040;
    /// UNSIGNED16 ro.
    pub const STATUSWORD: u16 = 0x6041;
    /// INTEGER8 rw.
    pub const MODES_OF_OPERATION: u16 = 0x6060;
    /// INTEGER8 ro.
    pub const MODES_OF_OPERATION_DISPLAY: u16 = 0x6061;
    /// INTEGER32 ro.
    pub const POSITION_ACTUAL_VALUE: u16 = 0x6064;
    /// INTEGER32 ro.
    pub const VELOCITY_ACTUAL_VALUE: u16 = 0x606C;
    /// INTEGER32 rw (PP, CSP).
    pub const TARGET_POSITION: u16 = 0x607A;
    /// INTEGER8 rw.
    pub const HOMING_METHOD: u16 = 0x6098;
    /// INTEGER32 rw (PV, CSV).
    pub const TARGET_VELOCITY: u16 = 0x60FF;
    /// UNSIGNED32 ro bitmap.
    pub const SUPPORTED_DRIVE_MODES: u16 = 0x6502;
    /// Low word of the device type for a CiA 402 drive.
    pub const DEVICE_PROFILE_402: u32 = 0x0192;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_codes_round_trip() {
        for v in i8::MIN..=i8::MAX {
            assert_eq!(ModeOfOperation::from(v).code(), v);
        }
        assert_eq!(
            ModeOfOperation::from(8),
            ModeOfOperation::CyclicSyncPosition
        );
        assert_eq!(
            ModeOfOperation::ProfileVelocity.supported_modes_bit(),
            Some(0b100)
        );
    }
}
