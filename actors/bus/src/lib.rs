#![doc = include_str!("../README.md")]

mod actor;
mod boundary;
mod breaker;
pub mod canopen;
mod error;
mod handle;
mod line;
pub mod link;
pub mod metrics;
mod scheduler;
mod spec;

pub use actor::{BusArgs, BusMsg, BusState, ModbusBus};
pub use boundary::{
    Attach, BusEvent, BusResult, CycleFault, ReadBlock, RegisterTable, Sample, Write,
};
pub use canopen::{CanopenArgs, CanopenBus, CanopenSettings, Object, PdoBlock, SdoBusResult};
pub use error::BusError;
pub use handle::BusHandle;
pub use link::{FnOpener, LinkStream, Opener, SerialOpener, TcpOpener};
pub use metrics::{BusMetrics, CanopenMetrics, Counters, LatencyHistogram, UnitMetrics};
pub use spec::{BusOptions, BusSpec};
