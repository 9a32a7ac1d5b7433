//! `[serial]`: a plain serial protocol described as data. Two families: ASCII command/response
//! lines (Applied Motion SCL style) and binary fixed-length frames with a checksum (Trinamic
//! TMCL style). A point's `read`/`write` is a text template for the first, fixed field values
//! for the second.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `[serial]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SerialSection {
    /// `ascii` (terminated lines, default) or `binary` (fixed-length frames).
    #[serde(default)]
    pub framing: SerialFraming,
    /// ASCII: terminator of requests and replies. Default `"\r"`.
    #[serde(default = "cr")]
    pub terminator: String,
    /// ASCII: a reply starts with the drive's address when the request had one (`1IP=5`).
    #[serde(default)]
    pub reply_address: bool,
    /// ASCII: reply meaning "executed". Default `"%"`.
    #[serde(default = "ack")]
    pub ack: String,
    /// ASCII: reply meaning "buffered, executed later". Default `"*"`.
    #[serde(default = "buffered")]
    pub buffered: String,
    /// ASCII: reply prefix of a refusal, optionally followed by a numeric code (`?4`).
    #[serde(default = "nak")]
    pub nak: String,
    /// ASCII: longest reply accepted, terminator included (1–1024). Default 64.
    #[serde(default = "max_reply")]
    pub max_reply_bytes: u32,
    /// Binary: length of every request and reply frame.
    pub frame_bytes: Option<u32>,
    /// Binary: the request frame's layout.
    pub request: Option<FrameLayout>,
    /// Binary: the reply frame's layout.
    pub reply: Option<FrameLayout>,
    /// Binary: reply `status` values meaning success; any other is the device's refusal.
    #[serde(default)]
    pub success: Vec<i64>,
}

impl Default for SerialSection {
    fn default() -> Self {
        SerialSection {
            framing: SerialFraming::Ascii,
            terminator: cr(),
            reply_address: false,
            ack: ack(),
            buffered: buffered(),
            nak: nak(),
            max_reply_bytes: max_reply(),
            frame_bytes: None,
            request: None,
            reply: None,
            success: Vec::new(),
        }
    }
}

fn cr() -> String {
    "\r".to_owned()
}
fn ack() -> String {
    "%".to_owned()
}
fn buffered() -> String {
    "*".to_owned()
}
fn nak() -> String {
    "?".to_owned()
}
fn max_reply() -> u32 {
    64
}

/// Serial framing families.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SerialFraming {
    /// Text lines ended by `terminator`.
    #[default]
    Ascii,
    /// Frames of `frame_bytes` bytes with a checksum.
    Binary,
}

/// A binary frame's fields and checksum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct FrameLayout {
    /// Fields at fixed byte offsets; bytes no field covers are zero in requests.
    pub fields: Vec<FrameField>,
    /// Checksum of the frame, if it has one.
    pub checksum: Option<Checksum>,
}

impl FrameLayout {
    /// The field called `name`, if the layout has one.
    pub fn field(&self, name: FieldName) -> Option<&FrameField> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// One integer field of a binary frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct FrameField {
    /// What the field carries.
    pub name: FieldName,
    /// First byte, from 0.
    pub offset: u32,
    /// Bytes: 1, 2 or 4. Default 1.
    #[serde(default = "one_byte")]
    pub width: u8,
    /// Byte order of multi-byte fields. Default `big`.
    #[serde(default)]
    pub endian: Endian,
    /// Two's complement. Default false.
    #[serde(default)]
    pub signed: bool,
}

fn one_byte() -> u8 {
    1
}

impl FrameField {
    /// Byte range `[offset, offset + width)`.
    pub fn range(&self) -> std::ops::Range<u64> {
        u64::from(self.offset)..u64::from(self.offset) + u64::from(self.width)
    }
}

/// Field names a binary frame may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum FieldName {
    /// The drive's (module's) address.
    Address,
    /// Command number.
    Command,
    /// Command type (TMCL: parameter number).
    Type,
    /// Motor or bank number.
    Bank,
    /// The point's raw value.
    Value,
    /// Reply status code.
    Status,
    /// Reply: the host's address the reply is sent to.
    ReplyAddress,
}

impl FieldName {
    /// Name as written in files.
    pub fn name(self) -> &'static str {
        match self {
            FieldName::Address => "address",
            FieldName::Command => "command",
            FieldName::Type => "type",
            FieldName::Bank => "bank",
            FieldName::Value => "value",
            FieldName::Status => "status",
            FieldName::ReplyAddress => "reply_address",
        }
    }
}

/// Byte order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Endian {
    /// Most significant byte first.
    #[default]
    Big,
    /// Least significant byte first.
    Little,
}

/// A frame checksum: `algorithm` over bytes `[over[0], over[1])`, stored at byte `at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Checksum {
    /// `sum8`, `xor8`, `crc8` or `crc16_modbus`.
    pub algorithm: ChecksumAlgorithm,
    /// Covered byte range, end exclusive.
    pub over: [u32; 2],
    /// Offset of the checksum (2 bytes, low byte first, for `crc16_modbus`).
    pub at: u32,
}

impl Checksum {
    /// Bytes the checksum occupies, `[at, at + width)`.
    pub fn position(&self) -> std::ops::Range<u64> {
        u64::from(self.at)..u64::from(self.at) + u64::from(self.algorithm.width())
    }
}

/// Checksum algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChecksumAlgorithm {
    /// Sum of the bytes modulo 256 (TMCL).
    Sum8,
    /// XOR of the bytes.
    Xor8,
    /// CRC-8/SMBUS: polynomial 0x07, initial 0, no reflection, no final XOR.
    Crc8,
    /// CRC-16/MODBUS: polynomial 0xA001 reflected, initial 0xFFFF; stored low byte first.
    Crc16Modbus,
}

impl ChecksumAlgorithm {
    /// Bytes the checksum occupies.
    pub fn width(self) -> u8 {
        match self {
            ChecksumAlgorithm::Crc16Modbus => 2,
            _ => 1,
        }
    }
}

/// A point's serial request: a text template (ASCII) or fixed field values (binary), e.g.
/// `"{address}IP"` or `{ command = 6, type = 1, bank = 0 }`; a write may be a sequence sent in
/// order, each acknowledged before the next (`["{address}JS{value}", "{address}CJ"]`: set the
/// jog speed, then start jogging).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum SerialRequest {
    /// ASCII template; `{address}` is the drive's address, `{value}` the raw value (writes).
    Template(String),
    /// Binary: values of the request's fields; `address` and `value` are filled in.
    Fields(BTreeMap<FieldName, i64>),
    /// Writes only: requests sent in order (one level; the checks reject nesting).
    Sequence(Vec<SerialRequest>),
}

impl SerialRequest {
    /// The ASCII template, if this is one.
    pub fn template(&self) -> Option<&str> {
        match self {
            SerialRequest::Template(t) => Some(t),
            _ => None,
        }
    }

    /// The requests sent on the wire, in order: a sequence's items, or this one.
    pub fn parts(&self) -> Vec<&SerialRequest> {
        match self {
            SerialRequest::Sequence(items) => items.iter().collect(),
            one => vec![one],
        }
    }
}

impl From<&str> for SerialRequest {
    fn from(t: &str) -> Self {
        SerialRequest::Template(t.to_owned())
    }
}

/// How an ASCII number is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum NumberFormat {
    /// Decimal digits, signed per the point's type (with `decimals`, a fixed-point number).
    #[default]
    Decimal,
    /// Hex digits, two's complement at the type's width (`FFFFFF9C` is -100 for `i32`).
    Hex,
}

/// Placeholders an ASCII template may use.
pub const PLACEHOLDERS: [&str; 2] = ["address", "value"];

/// The `{name}` placeholders of a template, in order; `Err(offset)` for an unclosed `{`.
pub fn placeholders(template: &str) -> Result<Vec<&str>, usize> {
    let mut out = Vec::new();
    let mut rest = template;
    let mut at = 0;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            return Err(at + open);
        };
        out.push(&rest[open + 1..open + close]);
        at += open + close + 1;
        rest = &rest[open + close + 1..];
    }
    Ok(out)
}
