//! The one error enum of the codec layer. Variants carry the point and the numbers an operator
//! needs (value, range, register, raw word).

use linevisor_core::profile::DataType;

/// Why a profile cannot be interpreted, or a value cannot be encoded or decoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CodecError {
    /// A section names a point the profile does not declare.
    #[error("{section}: unknown point {point:?}")]
    UnknownPoint {
        /// Where the name was used, e.g. `status.states[2].point`.
        section: String,
        /// The name.
        point: String,
    },
    /// A Modbus point without a register.
    #[error("point {point:?} has no register")]
    NoRegister {
        /// Point name.
        point: String,
    },
    /// A register that does not map to a protocol address 0–65535.
    #[error(
        "point {point:?}: register {register} (address base {base}, {words} registers) is outside protocol addresses 0–65535"
    )]
    Address {
        /// Point name.
        point: String,
        /// Register as written in the profile.
        register: u32,
        /// `modbus.address_base`.
        base: u8,
        /// Registers the point spans.
        words: u32,
    },
    /// An engineering value that does not fit the point's raw type.
    #[error(
        "point {point:?}: {value} is outside the range {min}..={max} of its {data_type:?} register"
    )]
    OutOfRange {
        /// Point name.
        point: String,
        /// Engineering value asked for.
        value: f64,
        /// Smallest engineering value the point can carry.
        min: f64,
        /// Largest engineering value the point can carry.
        max: f64,
        /// Raw type.
        data_type: DataType,
    },
    /// A scale of zero or a non-finite scale or offset (the config check rejects them).
    #[error("point {point:?}: scale {scale} / offset {offset} cannot convert values")]
    Scale {
        /// Point name.
        point: String,
        /// `scale`.
        scale: f64,
        /// `offset`.
        offset: f64,
    },
    /// NaN or infinity.
    #[error("point {point:?}: {value} is not a finite number")]
    NotFinite {
        /// Point name.
        point: String,
        /// The value.
        value: f64,
    },
    /// Raw words or bytes of the wrong length for the point.
    #[error("point {point:?}: expected {expected} {unit}, got {got}")]
    Length {
        /// Point name.
        point: String,
        /// Needed.
        expected: usize,
        /// Present.
        got: usize,
        /// `registers` or `bytes`.
        unit: &'static str,
    },
    /// A write to a point that is read-only.
    #[error("point {point:?} is read-only")]
    NotWritable {
        /// Point name.
        point: String,
    },
    /// A sample lacks a point that decoding needs.
    #[error("point {point:?} is not in the sample (not polled?)")]
    MissingPoint {
        /// Point name.
        point: String,
    },
    /// Raw block data does not match the read plan.
    #[error("read plan has {expected} blocks of {counts:?} registers, got {got:?}")]
    Blocks {
        /// Number of blocks in the plan.
        expected: usize,
        /// Register count of each planned block.
        counts: Vec<u16>,
        /// Register count of each block given.
        got: Vec<usize>,
    },
    /// The status matches no rule of the profile: reported, never guessed.
    #[error("status point {point:?}: raw {raw:#06x} matches no [status] rule")]
    Undecodable {
        /// The `[status] point`.
        point: String,
        /// Its raw value.
        raw: u32,
    },
    /// The profile does not provide what was asked for (no velocity setpoint, no
    /// `enable_reverse` code, no homing, a protocol without registers, ...).
    #[error("profile {profile:?} does not support {what}")]
    Unsupported {
        profile: String,
        /// What is missing.
        what: String,
    },
    /// A parameter name the profile does not declare.
    #[error("profile {profile:?} has no parameter {name:?}")]
    UnknownParameter {
        profile: String,
        /// The name.
        name: String,
    },
    /// A parameter value outside the profile's `min`–`max`.
    #[error("parameter {name:?}: {value} is outside the profile's range {min}..={max}")]
    ParameterRange {
        /// Parameter name.
        name: String,
        /// Value asked for.
        value: f64,
        /// Lower bound (-inf if none).
        min: f64,
        /// Upper bound (+inf if none).
        max: f64,
    },
}
