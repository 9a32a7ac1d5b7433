#![doc = include_str!("../README.md")]

mod boundary;
mod breaker;
pub mod canopen;
mod drive_link;
mod error;
mod front;
mod handle;
mod link;
pub mod metrics;
pub mod modbus;
mod reopen;
mod scheduler;
pub mod serial;
mod start;
mod units;
mod wake;

pub use boundary::{Attach, BusEvent, CycleFault, Sample};
pub use canopen::{
    CanopenArgs, CanopenBus, CanopenHandle, CanopenMsg, CanopenSettings, CanopenStart, Object,
    PdoBlock, SdoBusResult,
};
pub use drive_link::{DriveLink, LinkOptions, LinkSetupError, PointError, Refusal};
pub use error::BusError;
pub use handle::{BoxFuture, BusHandle, BusKind, Handle};
pub use metrics::{BusMetrics, CanopenMetrics, Counters, LatencyHistogram, UnitMetrics};
pub use modbus::{
    BusOptions, BusResult, BusSpec, FnOpener, LinkIo, LinkStream, ModbusArgs, ModbusBus,
    ModbusHandle, ModbusMsg, OpenFuture, Opener, ReadBlock, RegisterTable, SerialOpener, TcpOpener,
    UnitOptions, Write,
};
pub use start::{BusStart, StartFuture, Unsupported, start};
pub use wake::precise_wakeups;
