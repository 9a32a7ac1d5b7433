use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `[[bus]]`: one physical bus, owned by one adapter actor. The `type` key selects the kind.
///
/// Registration point for bus kinds: a new kind is one variant here, one struct, and one arm in
/// [`BusKind::ALL`] / `decode` (see `load.rs`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BusConfig {
    /// Modbus RTU on a serial line (usually RS-485), shared by several drives.
    ModbusRtu(ModbusRtuBus),
    /// Modbus TCP to a drive or a gateway.
    ModbusTcp(ModbusTcpBus),
    /// CANopen, on a SocketCAN interface or a serial-line CAN (slcan) adapter.
    Canopen(CanopenBus),
    /// A plain serial line with an ASCII request/response protocol.
    Serial(SerialBus),
    /// In-process simulated drives: no hardware needed.
    Simulated(SimulatedBus),
}

/// The bus kinds by their `type` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusKind {
    /// `modbus_rtu`
    ModbusRtu,
    /// `modbus_tcp`
    ModbusTcp,
    /// `canopen`
    Canopen,
    /// `serial`
    Serial,
    /// `simulated`
    Simulated,
}

impl BusKind {
    /// Every kind with its `type` name.
    pub const ALL: [(&'static str, BusKind); 5] = [
        ("modbus_rtu", BusKind::ModbusRtu),
        ("modbus_tcp", BusKind::ModbusTcp),
        ("canopen", BusKind::Canopen),
        ("serial", BusKind::Serial),
        ("simulated", BusKind::Simulated),
    ];

    /// The `type` name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("?", |(n, _)| n)
    }
}

impl BusConfig {
    /// The bus id.
    pub fn id(&self) -> &str {
        match self {
            BusConfig::ModbusRtu(b) => &b.id,
            BusConfig::ModbusTcp(b) => &b.id,
            BusConfig::Canopen(b) => &b.id,
            BusConfig::Serial(b) => &b.id,
            BusConfig::Simulated(b) => &b.id,
        }
    }

    /// The kind of bus.
    pub fn kind(&self) -> BusKind {
        match self {
            BusConfig::ModbusRtu(_) => BusKind::ModbusRtu,
            BusConfig::ModbusTcp(_) => BusKind::ModbusTcp,
            BusConfig::Canopen(_) => BusKind::Canopen,
            BusConfig::Serial(_) => BusKind::Serial,
            BusConfig::Simulated(_) => BusKind::Simulated,
        }
    }
}

/// Serial parity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Parity {
    /// No parity bit (Modbus then wants 2 stop bits).
    None,
    /// Even parity (the Modbus default).
    Even,
    /// Odd parity.
    Odd,
}

/// `type = "modbus_rtu"`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModbusRtuBus {
    /// Unique bus id.
    pub id: String,
    /// Serial device, e.g. `/dev/ttyUSB0` or `/dev/serial/by-id/...`. Claimed exclusively.
    pub port: String,
    /// Line speed in bit/s; one of 1200, 2400, 4800, 9600, 14400, 19200, 38400, 57600, 115200,
    /// 230400, 460800, 921600.
    pub baud: u32,
    /// Parity (default `even`, as the Modbus serial-line spec asks).
    #[serde(default = "default_parity")]
    pub parity: Parity,
    /// Data bits: 7 or 8 (RTU needs 8). Default 8.
    #[serde(default = "default_data_bits")]
    pub data_bits: u8,
    /// Stop bits: 1 or 2. Default 1.
    #[serde(default = "default_stop_bits")]
    pub stop_bits: u8,
    /// How long to wait for a response, in milliseconds (1–10000). Default 100.
    #[serde(default = "default_response_timeout_ms")]
    pub response_timeout_ms: u32,
    /// Retries after a timeout or a CRC error (0–10). Default 1.
    #[serde(default = "default_retries")]
    pub retries: u8,
    /// Override of the silent interval between frames, in microseconds (100–100000). Default:
    /// 3.5 character times, fixed at 1750 µs above 19200 baud.
    pub inter_frame_gap_us: Option<u32>,
    /// Discard the local echo of our own transmission (2-wire adapters without echo suppression).
    #[serde(default)]
    pub echo_suppression: bool,
    /// Wait after a broadcast (unit 0) write before the next request, in milliseconds (0–1000).
    #[serde(default = "default_turnaround_ms")]
    pub broadcast_turnaround_ms: u32,
    /// Consecutive timeouts after which a unit is demoted to probing (1–100). Default 3.
    #[serde(default = "default_demote_after")]
    pub demote_after_timeouts: u32,
    /// How often a demoted unit is probed, in milliseconds (10–600000). Default 1000.
    #[serde(default = "default_probe_ms")]
    pub probe_interval_ms: u32,
}

/// `type = "modbus_tcp"`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModbusTcpBus {
    /// Unique bus id.
    pub id: String,
    /// `host:port` of the drive or gateway, e.g. `192.168.10.20:502`.
    pub address: String,
    /// Connect timeout in milliseconds (1–60000). Default 1000.
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u32,
    /// Response timeout in milliseconds (1–10000). Default 200.
    #[serde(default = "default_tcp_response_timeout_ms")]
    pub response_timeout_ms: u32,
    /// Retries after a timeout (0–10). Default 1.
    #[serde(default = "default_retries")]
    pub retries: u8,
    /// Transactions in flight on the connection (1–16). Default 1: many devices cannot do more.
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: u8,
    /// Consecutive timeouts after which a unit is demoted to probing (1–100). Default 3.
    #[serde(default = "default_demote_after")]
    pub demote_after_timeouts: u32,
    /// How often a demoted unit is probed, in milliseconds (10–600000). Default 1000.
    #[serde(default = "default_probe_ms")]
    pub probe_interval_ms: u32,
}

/// How the gateway reaches the CAN bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CanAdapter {
    /// A native SocketCAN interface such as `can0` (set `interface`).
    Socketcan,
    /// A USB serial-line CAN adapter (Lawicel/slcan: CANable, USBtin, CANUSB; set `port`).
    Slcan,
}

/// `type = "canopen"`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CanopenBus {
    /// Unique bus id.
    pub id: String,
    /// `socketcan` or `slcan`.
    pub adapter: CanAdapter,
    /// SocketCAN interface name (adapter `socketcan`), e.g. `can0`. Claimed exclusively.
    pub interface: Option<String>,
    /// Serial device of the slcan adapter (adapter `slcan`), e.g. `/dev/ttyACM0`.
    pub port: Option<String>,
    /// UART speed of a UART-bound slcan adapter in bit/s. Leave out for USB-CDC adapters, which
    /// are not limited by the tty speed; when set, the serial line's load is checked too.
    pub serial_baud: Option<u32>,
    /// CAN bitrate in bit/s: 10000, 20000, 50000, 100000, 125000, 250000, 500000, 800000 or
    /// 1000000.
    pub bitrate: u32,
    /// SYNC period in milliseconds (1–1000); cyclic PDOs are exchanged on SYNC.
    pub sync_period_ms: u32,
    /// Heartbeat period the nodes are configured to produce (object 0x1017), in ms (10–10000).
    #[serde(default = "default_node_heartbeat_ms")]
    pub node_heartbeat_ms: u32,
    /// A node is lost after this long without a heartbeat, in ms. Default 1.5 × node heartbeat.
    pub heartbeat_timeout_ms: Option<u32>,
    /// The master's own heartbeat period in ms (0 = off, 10–10000).
    #[serde(default)]
    pub master_heartbeat_ms: u32,
    /// SDO response timeout in milliseconds (10–10000). Default 300.
    #[serde(default = "default_sdo_timeout_ms")]
    pub sdo_timeout_ms: u32,
}

/// `type = "serial"`: plain serial line with an ASCII protocol described by the profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SerialBus {
    /// Unique bus id.
    pub id: String,
    /// Serial device. Claimed exclusively.
    pub port: String,
    /// Line speed in bit/s (standard rates, see `modbus_rtu`).
    pub baud: u32,
    /// Parity. Default `none`.
    #[serde(default = "default_serial_parity")]
    pub parity: Parity,
    /// Data bits: 7 or 8. Default 8.
    #[serde(default = "default_data_bits")]
    pub data_bits: u8,
    /// Stop bits: 1 or 2. Default 1.
    #[serde(default = "default_stop_bits")]
    pub stop_bits: u8,
    /// Response timeout in milliseconds (1–10000). Default 100.
    #[serde(default = "default_response_timeout_ms")]
    pub response_timeout_ms: u32,
}

/// `type = "simulated"`: drives simulated in-process, for trying a line before the hardware.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulatedBus {
    /// Unique bus id.
    pub id: String,
    /// Which protocol's profiles the simulated drives speak: `modbus` or `canopen`.
    pub protocol: super::Protocol,
    /// Simulated response latency per transaction in microseconds (0–100000). Default 0.
    /// Emulated in whole milliseconds (the timer's resolution): values under 1000 add nothing.
    #[serde(default)]
    pub latency_us: u32,
}

fn default_parity() -> Parity {
    Parity::Even
}
fn default_serial_parity() -> Parity {
    Parity::None
}
fn default_data_bits() -> u8 {
    8
}
fn default_stop_bits() -> u8 {
    1
}
fn default_response_timeout_ms() -> u32 {
    100
}
fn default_tcp_response_timeout_ms() -> u32 {
    200
}
fn default_connect_timeout_ms() -> u32 {
    1000
}
fn default_retries() -> u8 {
    1
}
fn default_max_in_flight() -> u8 {
    1
}
fn default_turnaround_ms() -> u32 {
    100
}
fn default_demote_after() -> u32 {
    3
}
fn default_probe_ms() -> u32 {
    1000
}
fn default_node_heartbeat_ms() -> u32 {
    100
}
fn default_sdo_timeout_ms() -> u32 {
    300
}
