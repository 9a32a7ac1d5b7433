//! The typed config language. Every struct denies unknown keys; every option with a unit says it
//! in its name (`cycle_ms`, `baud`). Doc comments here become the JSON Schema descriptions.

pub(crate) mod control;
mod drive;
mod line;
mod northbound;
mod realtime;

pub use crate::bus::{
    AddressRange, BusConfig, BusType, CanAdapter, CanopenBus, ModbusRtuBus, ModbusTcpBus, Parity,
    SerialBus, SimulatedBus,
};
pub use control::{ControlSection, resolve};
pub use drive::{DriveConfig, Limits, ProfileRef, RestartPolicy, SafeState, SafeStatePolicy};
pub use line::{LineConfig, LineSection};
pub use northbound::{
    CommandRole, DRIVE_METRICS, NorthboundSection, SparkplugDrive, SparkplugSection,
};
pub use realtime::{CycleThreads, RealtimeSection};
// The profile model lives in linevisor-core, which protocols and actors read without linking the
// config language; it is re-exported here so `model::Profile` and friends keep their paths.
pub use linevisor_core::PowerState;
pub use linevisor_core::profile::{
    Access, CanopenSection, CommandEncoding, CommandSection, DataType, FaultReset,
    FaultResetMethod, FaultSection, HomingSection, ModbusSection, ParameterDef, PdoMappingPolicy,
    Point, PointTable, PollSection, Profile, ProfileHeader, Protocol, SerialSection, Setpoints,
    StateRule, StatusSection, Telemetry, Units, WordOrder, WriteFunction,
};
