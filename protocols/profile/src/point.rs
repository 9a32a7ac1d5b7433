//! One point: raw wire value ↔ engineering value (raw × scale + offset), and the raw value's
//! Modbus registers (word order) or CANopen bytes (little endian).
//!
//! A raw value is carried as a `u32` bit pattern of the point's type: `u8`/`i8` in the low byte,
//! `u16`/`i16` in the low 16 bits (two's complement), `u32`/`i32` in all 32, `f32` as its IEEE
//! bits. Status rules (`raw & mask`) test this pattern.

use linevisor_core::profile::{Access, DataType, ModbusSection, Point, PointTable, WordOrder};

use crate::CodecError;

/// How one point is converted. Built by [`crate::ProfileCodec`] from a profile's `[points]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PointCodec {
    name: String,
    data_type: DataType,
    scale: f64,
    offset: f64,
    word_order: WordOrder,
    access: Access,
    table: PointTable,
    address: Option<u16>,
    readable_gap: bool,
}

impl PointCodec {
    /// The codec of `point` named `name`. With `modbus`, the register is turned into a protocol
    /// address (register − `address_base`) and must fit 0–65535 with all its registers.
    pub fn new(
        name: &str,
        point: &Point,
        modbus: Option<&ModbusSection>,
    ) -> Result<Self, CodecError> {
        if !(point.scale.is_finite() && point.scale != 0.0 && point.offset.is_finite()) {
            return Err(CodecError::Scale {
                point: name.to_owned(),
                scale: point.scale,
                offset: point.offset,
            });
        }
        let address = match modbus {
            None => None,
            Some(m) => {
                let register = point.register.ok_or_else(|| CodecError::NoRegister {
                    point: name.to_owned(),
                })?;
                let words = point.modbus_len();
                let bad = || CodecError::Address {
                    point: name.to_owned(),
                    register,
                    base: m.address_base,
                    words,
                };
                let address = register
                    .checked_sub(u32::from(m.address_base))
                    .filter(|a| a + words <= 0x1_0000)
                    .ok_or_else(bad)?;
                Some(u16::try_from(address).map_err(|_| bad())?)
            }
        };
        Ok(Self {
            name: name.to_owned(),
            data_type: point.data_type,
            scale: point.scale,
            offset: point.offset,
            word_order: point
                .word_order
                .or(modbus.map(|m| m.word_order))
                .unwrap_or_default(),
            access: point.access,
            table: point.table,
            address,
            readable_gap: point.readable_gap,
        })
    }

    /// Point name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Raw type.
    pub fn data_type(&self) -> DataType {
        self.data_type
    }

    /// Access rights.
    pub fn access(&self) -> Access {
        self.access
    }

    /// Modbus table.
    pub fn table(&self) -> PointTable {
        self.table
    }

    /// False when its registers must never be read as padding of a spanned read.
    pub fn readable_gap(&self) -> bool {
        self.readable_gap
    }

    /// Word order of a 32-bit value (the point's own, else `[modbus] word_order`).
    pub fn word_order(&self) -> WordOrder {
        self.word_order
    }

    /// Modbus protocol address of the first register (`None` for other protocols).
    pub fn address(&self) -> Option<u16> {
        self.address
    }

    /// Modbus registers the point spans (1 or 2); 1 bit for a coil or discrete input, whose
    /// bit is carried as a word of 0 or 1.
    pub fn registers(&self) -> u16 {
        if self.data_type.bits() > 16 && !self.table.holds_bits() {
            2
        } else {
            1
        }
    }

    /// Bytes on a CANopen bus (1, 2 or 4).
    pub fn bytes(&self) -> usize {
        self.data_type.bits() as usize / 8
    }

    /// True for the unsigned integer types.
    pub fn is_unsigned(&self) -> bool {
        matches!(self.data_type, DataType::U8 | DataType::U16 | DataType::U32)
    }

    /// The raw number a bit pattern stands for (sign-extended, or the float).
    pub fn raw_number(&self, raw: u32) -> f64 {
        match self.data_type {
            DataType::U8 => f64::from(raw as u8),
            DataType::I8 => f64::from(raw as u8 as i8),
            DataType::U16 => f64::from(raw as u16),
            DataType::I16 => f64::from(raw as u16 as i16),
            DataType::U32 => f64::from(raw),
            DataType::I32 => f64::from(raw as i32),
            DataType::F32 => f64::from(f32::from_bits(raw)),
        }
    }

    /// Engineering value of a raw bit pattern. Total (a NaN `f32` decodes to NaN).
    pub fn decode_raw(&self, raw: u32) -> f64 {
        self.raw_number(raw) * self.scale + self.offset
    }

    /// The raw bit pattern for an engineering value: integers rounded to the nearest count.
    /// A value outside the type's range is an error naming the point and the range.
    pub fn encode_raw(&self, value: f64) -> Result<u32, CodecError> {
        if !value.is_finite() {
            return Err(CodecError::NotFinite {
                point: self.name.clone(),
                value,
            });
        }
        let x = (value - self.offset) / self.scale;
        let (lo, hi) = self.raw_limits();
        let n = if self.data_type == DataType::F32 {
            x
        } else {
            x.round()
        };
        if !(n.is_finite() && n >= lo && n <= hi) {
            let (min, max) = self.value_range();
            return Err(CodecError::OutOfRange {
                point: self.name.clone(),
                value,
                min,
                max,
                data_type: self.data_type,
            });
        }
        Ok(match self.data_type {
            DataType::U8 | DataType::U16 | DataType::U32 => n as u32,
            DataType::I8 => u32::from(n as i8 as u8),
            DataType::I16 => u32::from(n as i16 as u16),
            DataType::I32 => n as i32 as u32,
            DataType::F32 => (n as f32).to_bits(),
        })
    }

    /// Engineering range the point can carry (min, max), whatever the sign of `scale`.
    pub fn value_range(&self) -> (f64, f64) {
        let (lo, hi) = self.raw_limits();
        let (a, b) = (lo * self.scale + self.offset, hi * self.scale + self.offset);
        (a.min(b), a.max(b))
    }

    /// The engineering value clamped into [`PointCodec::value_range`], then encoded (a device
    /// model saturates instead of failing). NaN encodes as the offset.
    pub fn encode_saturating(&self, value: f64) -> u32 {
        let (min, max) = self.value_range();
        let v = if value.is_nan() {
            self.offset
        } else {
            value.clamp(min, max)
        };
        // In range by construction; rounding at the very edge falls back to the bound.
        self.encode_raw(v)
            .or_else(|_| self.encode_raw(if v > self.offset { max } else { min }))
            .unwrap_or(0)
    }

    fn raw_limits(&self) -> (f64, f64) {
        match self.data_type {
            DataType::U8 => (0.0, f64::from(u8::MAX)),
            DataType::I8 => (f64::from(i8::MIN), f64::from(i8::MAX)),
            DataType::U16 => (0.0, f64::from(u16::MAX)),
            DataType::I16 => (f64::from(i16::MIN), f64::from(i16::MAX)),
            DataType::U32 => (0.0, f64::from(u32::MAX)),
            DataType::I32 => (f64::from(i32::MIN), f64::from(i32::MAX)),
            DataType::F32 => (-f64::from(f32::MAX), f64::from(f32::MAX)),
        }
    }

    /// Modbus registers of a raw value, in the point's word order.
    pub fn raw_to_words(&self, raw: u32) -> Vec<u16> {
        if self.registers() == 1 {
            return vec![raw as u16 & self.low_mask()];
        }
        let (high, low) = ((raw >> 16) as u16, raw as u16);
        match self.word_order {
            WordOrder::HighFirst => vec![high, low],
            WordOrder::LowFirst => vec![low, high],
        }
    }

    /// The raw value held by the point's registers.
    pub fn words_to_raw(&self, words: &[u16]) -> Result<u32, CodecError> {
        let n = usize::from(self.registers());
        if words.len() != n {
            return Err(CodecError::Length {
                point: self.name.clone(),
                expected: n,
                got: words.len(),
                unit: "registers",
            });
        }
        Ok(match (n, self.word_order) {
            (1, _) => u32::from(words[0] & self.low_mask()),
            (_, WordOrder::HighFirst) => u32::from(words[0]) << 16 | u32::from(words[1]),
            (_, WordOrder::LowFirst) => u32::from(words[1]) << 16 | u32::from(words[0]),
        })
    }

    /// Registers for an engineering value.
    pub fn encode_words(&self, value: f64) -> Result<Vec<u16>, CodecError> {
        Ok(self.raw_to_words(self.encode_raw(value)?))
    }

    /// Engineering value from registers.
    pub fn decode_words(&self, words: &[u16]) -> Result<f64, CodecError> {
        Ok(self.decode_raw(self.words_to_raw(words)?))
    }

    /// CANopen bytes (little endian) of a raw value.
    pub fn raw_to_le_bytes(&self, raw: u32) -> Vec<u8> {
        raw.to_le_bytes()[..self.bytes()].to_vec()
    }

    /// The raw value of CANopen bytes (little endian).
    pub fn le_bytes_to_raw(&self, bytes: &[u8]) -> Result<u32, CodecError> {
        if bytes.len() != self.bytes() {
            return Err(CodecError::Length {
                point: self.name.clone(),
                expected: self.bytes(),
                got: bytes.len(),
                unit: "bytes",
            });
        }
        let mut b = [0u8; 4];
        b[..bytes.len()].copy_from_slice(bytes);
        Ok(u32::from_le_bytes(b))
    }

    /// CANopen bytes for an engineering value.
    pub fn encode_le_bytes(&self, value: f64) -> Result<Vec<u8>, CodecError> {
        Ok(self.raw_to_le_bytes(self.encode_raw(value)?))
    }

    /// Engineering value from CANopen bytes.
    pub fn decode_le_bytes(&self, bytes: &[u8]) -> Result<f64, CodecError> {
        Ok(self.decode_raw(self.le_bytes_to_raw(bytes)?))
    }

    /// An error unless the point may be written.
    pub(crate) fn check_writable(&self) -> Result<(), CodecError> {
        if self.access.writable() {
            Ok(())
        } else {
            Err(CodecError::NotWritable {
                point: self.name.clone(),
            })
        }
    }

    fn low_mask(&self) -> u16 {
        // An 8-bit point on a register (CANopen types do not occur on Modbus, but stay total).
        if self.data_type.bits() == 8 {
            0x00FF
        } else {
            0xFFFF
        }
    }
}
