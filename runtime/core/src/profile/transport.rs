//! Per-protocol sections: Modbus addressing conventions and the CANopen PDO mapping (serial: `serial.rs`).

use serde::{Deserialize, Serialize};

use super::WordOrder;

/// `[modbus]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ModbusSection {
    /// 0 if the manual's register numbers are protocol addresses, 1 if they are 1-based.
    #[serde(default)]
    pub address_base: u8,
    /// Default word order of 32-bit values.
    #[serde(default)]
    pub word_order: WordOrder,
    /// `multiple` (FC16) or `single` (FC6; some drives reject FC16 on command words).
    #[serde(default)]
    pub write_function: WriteFunction,
    /// Most registers the drive returns in one read (1–125). Default 125.
    #[serde(default = "max_regs")]
    pub max_registers_per_read: u32,
    /// Registers (bits, for coils and discrete inputs) of padding the cyclic poll may read
    /// between two polled ranges to merge them into one read (0–125). Default 0: never. A read
    /// the drive refuses with exception 02 or 03 makes the bus fall back to the unpadded reads.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub span_gaps: u32,
}

fn max_regs() -> u32 {
    125
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Modbus write function for single-register points.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum WriteFunction {
    /// FC16 write multiple registers.
    #[default]
    Multiple,
    /// FC6 write single register.
    Single,
}

/// `[canopen]`: the PDO mapping, set up at boot as `pdo_mapping` says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CanopenSection {
    /// RPDO1..4 contents (master → drive), each a list of point names, at most 8 bytes.
    pub rpdo: Vec<Vec<String>>,
    /// TPDO1..4 contents (drive → master), each a list of point names, at most 8 bytes.
    pub tpdo: Vec<Vec<String>>,
    /// Expected device type (object 0x1000); low word 0x0192 means CiA 402.
    pub device_type: Option<u32>,
    /// How the mapping reaches the drive: `auto` (read, write only what differs, verify if the
    /// drive refuses), `verify` (read and compare, never write: fixed mappings) or `configure`
    /// (write at every boot). Default `auto`.
    #[serde(default)]
    pub pdo_mapping: PdoMappingPolicy,
}

/// `[canopen] pdo_mapping`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum PdoMappingPolicy {
    /// Read first; write only a PDO that differs; verify if the drive refuses the write.
    #[default]
    Auto,
    /// Read and compare; never write. A difference fails the boot, naming the object.
    Verify,
    /// Write the mapping by SDO at every boot (CiA 301 re-mapping).
    Configure,
}
