//! Points: the registers (Modbus) and objects (CANopen) every other section refers to by name.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{NumberFormat, SerialRequest};

/// A register (Modbus) or object (CANopen).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Point {
    /// Modbus register number as written in the drive's manual (see `modbus.address_base`).
    pub register: Option<u32>,
    /// Modbus table: `holding` (FC3/6/16), `input` (FC4, read-only), `coil` (FC1, one bit) or
    /// `discrete_input` (FC2, one bit, read-only). Default `holding`.
    #[serde(default)]
    pub table: PointTable,
    /// Modbus: `false` when this point's registers (or bits) must never be read as the padding
    /// of a read that spans a gap (`[modbus] span_gaps`): registers that clear or act when
    /// read, or that the drive refuses. Polled, the point is still read. Default `true`.
    #[serde(default = "yes", skip_serializing_if = "is_yes")]
    pub readable_gap: bool,
    /// CANopen object index, e.g. 0x6041.
    pub index: Option<u16>,
    /// CANopen sub-index. Default 0.
    #[serde(default)]
    pub subindex: u8,
    /// Raw data type on the wire.
    #[serde(rename = "type")]
    pub data_type: DataType,
    /// Engineering value = raw × scale + offset. Default 1.
    #[serde(default = "one")]
    pub scale: f64,
    /// Engineering value = raw × scale + offset. Default 0.
    #[serde(default)]
    pub offset: f64,
    /// Word order of 32-bit Modbus values; default `modbus.word_order`.
    pub word_order: Option<WordOrder>,
    /// `r`, `w` or `rw`. Default `r`.
    #[serde(default)]
    pub access: Access,
    /// Serial: request that reads the point: an ASCII template (`"{address}IP"`) or binary
    /// field values (`{ command = 6, type = 1 }`).
    pub read: Option<SerialRequest>,
    /// Serial: request that writes the point; an ASCII template also has `{value}` (raw).
    pub write: Option<SerialRequest>,
    /// Serial: one request per raw value, for drives whose commands are distinct requests
    /// rather than a value (SCL `ME`/`MD`/`ST`, TMCL `MST`): `{ 1 = "{address}ME" }`. A write
    /// of a value listed here sends its request; other values use `write`.
    #[serde(default)]
    pub write_values: BTreeMap<String, SerialRequest>,
    /// Serial ASCII: typical length of the reply to `read` in bytes, terminator included (the
    /// load model's estimate).
    pub response_bytes: Option<u32>,
    /// Serial ASCII: where the value is in a read's reply, e.g. `"IP={value}"`. Default
    /// `"{value}"`.
    pub pattern: Option<String>,
    /// Serial ASCII: `decimal` (default) or `hex`.
    #[serde(default)]
    pub format: NumberFormat,
    /// Serial ASCII: fixed-point digits after the decimal point (raw 1025 with 2 is `10.25`).
    pub decimals: Option<u8>,
}

impl Point {
    /// Registers a Modbus point takes (1 or 2), or 1 bit for a coil or discrete input.
    pub fn modbus_len(&self) -> u32 {
        if self.table.holds_bits() {
            1
        } else {
            self.data_type.registers()
        }
    }
}

fn one() -> f64 {
    1.0
}

fn yes() -> bool {
    true
}

fn is_yes(b: &bool) -> bool {
    *b
}

/// Modbus table: two of 16-bit registers, two of single bits.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum PointTable {
    /// Holding registers.
    #[default]
    Holding,
    /// Input registers (read-only).
    Input,
    /// Coils: one bit each (FC1).
    Coil,
    /// Discrete inputs: one bit each, read-only (FC2).
    DiscreteInput,
}

impl PointTable {
    /// Coils and discrete inputs: a point is one bit, a read counts bits.
    pub fn holds_bits(self) -> bool {
        matches!(self, PointTable::Coil | PointTable::DiscreteInput)
    }

    /// Most of this table one read may return: 125 registers or 2000 bits (Modbus
    /// application protocol §6.1–6.4).
    pub fn read_limit(self) -> u32 {
        if self.holds_bits() { 2000 } else { 125 }
    }

    /// The name as written in profiles.
    pub fn name(self) -> &'static str {
        match self {
            PointTable::Holding => "holding",
            PointTable::Input => "input",
            PointTable::Coil => "coil",
            PointTable::DiscreteInput => "discrete_input",
        }
    }
}

/// Raw wire types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum DataType {
    /// Unsigned 8 bit (CANopen).
    U8,
    /// Signed 8 bit (CANopen).
    I8,
    /// Unsigned 16 bit.
    U16,
    /// Signed 16 bit.
    I16,
    /// Unsigned 32 bit.
    U32,
    /// Signed 32 bit.
    I32,
    /// IEEE-754 single precision.
    F32,
}

impl DataType {
    /// Size in bits.
    pub fn bits(self) -> u32 {
        match self {
            DataType::U8 | DataType::I8 => 8,
            DataType::U16 | DataType::I16 => 16,
            DataType::U32 | DataType::I32 | DataType::F32 => 32,
        }
    }
    /// Signed integer or float (not unsigned).
    pub fn signed(self) -> bool {
        matches!(
            self,
            DataType::I8 | DataType::I16 | DataType::I32 | DataType::F32
        )
    }
    /// An integer type (not `f32`).
    pub fn integer(self) -> bool {
        self != DataType::F32
    }
    /// Number of 16-bit Modbus registers.
    pub fn registers(self) -> u32 {
        self.bits().div_ceil(16)
    }
}

/// Word order of 32-bit values split over two registers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum WordOrder {
    /// High word in the lower register (Modbus convention, "big endian").
    #[default]
    HighFirst,
    /// Low word in the lower register ("word swapped").
    LowFirst,
}

/// Access rights of a point.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Read only.
    #[default]
    R,
    /// Write only.
    W,
    /// Read and write.
    Rw,
}

impl Access {
    /// Can be read.
    pub fn readable(self) -> bool {
        matches!(self, Access::R | Access::Rw)
    }
    /// Can be written.
    pub fn writable(self) -> bool {
        matches!(self, Access::W | Access::Rw)
    }
}
