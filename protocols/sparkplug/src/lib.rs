#![doc = include_str!("../README.md")]

mod backlog;
mod command;
mod host;
mod node;
mod topic;
mod value;

/// The payload types, generated from `proto/sparkplug_b.proto` (the specification's Payload).
#[allow(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    clippy::all
)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/org.eclipse.tahu.protobuf.rs"));
}

pub use backlog::{Backlog, Kept};
pub use command::{
    CommandError, DeviceCommand, NodeCommand, command_metrics, parse_dcmd, parse_ncmd,
};
pub use host::{HostChange, PrimaryHost, StateError};
pub use node::{BD_SEQ, DeviceMetric, EdgeNode, NodeConfig, Publish, Qos, REBIRTH};
pub use topic::{MessageType, NAMESPACE, Topic, TopicError, id_ok};
pub use value::{DataType, MetricValue};
