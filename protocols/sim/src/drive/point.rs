//! Point-level access for frontends without registers (plain serial): a point's raw value by
//! name, read or written with the same effects as a register write.

use linevisor_core::profile::DataType;

use super::SimDrive;

/// Why a drive refuses a point request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The profile has no such point.
    #[error("no such point")]
    UnknownPoint,
    /// A write-only point.
    #[error("the point cannot be read")]
    NotReadable,
    /// A read-only point.
    #[error("the point cannot be written")]
    NotWritable,
    /// Outside the point's type, or a value the drive does not know (a command code).
    #[error("the drive does not accept this value")]
    InvalidValue,
}

impl Refusal {
    /// The code an ASCII drive sends after its NAK, as SCL drives do: 5 "parameter out of
    /// range", 7 "cannot process command".
    pub fn nak_code(self) -> i64 {
        match self {
            Refusal::InvalidValue => 5,
            _ => 7,
        }
    }

    /// The status a binary drive replies with, as TMCL modules do: 2 "invalid command",
    /// 4 "invalid value".
    pub fn status(self) -> i64 {
        match self {
            Refusal::InvalidValue => 4,
            _ => 2,
        }
    }
}

impl SimDrive {
    /// A point's raw value as the profile's serial codec carries it: the integer of the
    /// point's type (sign-extended), or an `f32`'s bit pattern.
    pub fn read_point(&self, point: &str) -> Result<i64, Refusal> {
        let codec = self.codec.point(point).map_err(|_| Refusal::UnknownPoint)?;
        if !codec.access().readable() {
            return Err(Refusal::NotReadable);
        }
        let raw = self.image.raw(point);
        Ok(match codec.data_type() {
            DataType::F32 => i64::from(raw),
            _ => codec.raw_number(raw) as i64,
        })
    }

    /// Writes a point's raw value (as [`SimDrive::read_point`] gives it) and acts on it as on a
    /// register write: command codes, setpoints, fault reset. Nothing changes when refused.
    pub fn write_point(&mut self, point: &str, raw: i64) -> Result<(), Refusal> {
        let codec = self.codec.point(point).map_err(|_| Refusal::UnknownPoint)?;
        if !codec.access().writable() {
            return Err(Refusal::NotWritable);
        }
        let bits = bits(codec.data_type(), raw).ok_or(Refusal::InvalidValue)?;
        let before = self.image.raw(point);
        self.image.set_raw(point, bits);
        if !self.carry_out(&[point.to_owned()], &[before]) {
            self.image.set_raw(point, before);
            return Err(Refusal::InvalidValue);
        }
        self.writes = self.writes.wrapping_add(1);
        Ok(())
    }
}

/// The bit pattern of `raw` for a point of type `t`; `None` outside the type.
fn bits(t: DataType, raw: i64) -> Option<u32> {
    Some(match t {
        DataType::U8 => u32::from(u8::try_from(raw).ok()?),
        DataType::I8 => u32::from(i8::try_from(raw).ok()? as u8),
        DataType::U16 => u32::from(u16::try_from(raw).ok()?),
        DataType::I16 => u32::from(i16::try_from(raw).ok()? as u16),
        DataType::U32 | DataType::F32 => u32::try_from(raw).ok()?,
        DataType::I32 => i32::try_from(raw).ok()? as u32,
    })
}
