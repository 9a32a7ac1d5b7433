#![doc = include_str!("../README.md")]

pub mod abort;
mod bus;
pub mod cob;
pub mod eds;
pub mod emcy;
mod error;
pub mod heartbeat;
pub mod nmt;
pub mod pdo;
pub mod pdo_setup;
pub mod sdo;
pub mod sim;
mod stats;
pub mod sync;

pub use abort::AbortCode;
pub use bus::{Bus, BusConfig, Event, Events, SDO_QUEUE};
pub use cob::{Cob, InvalidNodeId, NodeId};
pub use emcy::Emcy;
pub use error::{LinkError, SdoAbort, SdoResult};
pub use heartbeat::{HeartbeatConsumer, HeartbeatProducer, consumer_timeout};
pub use nmt::{NmtCommand, NmtState};
pub use pdo::{MappingEntry, PdoConfig, PdoKind, PdoMapping};
pub use pdo_setup::{MappingPolicy, PdoMismatch, SetupError, SetupOutcome};
pub use sdo::{SdoClient, SdoConfig};
pub use stats::{BusStats, SdoCounts, StatsHandle};
pub use sync::{JitterReport, SyncConfig, SyncMeter, SyncProducer, SyncTick};
