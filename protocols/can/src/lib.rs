#![doc = include_str!("../README.md")]

mod error;
mod frame;
mod open;
pub mod slcan;
pub mod socketcan;
mod transport;
mod virtual_bus;

pub use error::CanError;
pub use frame::{CanFrame, CanId, FrameError, MAX_EXTENDED_ID, MAX_STANDARD_ID};
/// Re-exported: the reopen backoff (from linevisor-core).
pub use linevisor_core::Retry;
pub use open::{TransportKind, open};
pub use transport::{AnyTransport, BoxFuture, CanTransport, DynCanTransport};
pub use virtual_bus::{EndpointId, VirtualBus, VirtualEndpoint};
