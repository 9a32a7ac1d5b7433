#![doc = include_str!("../README.md")]

mod backoff;
mod error;
mod frame;
mod open;
pub mod slcan;
pub mod socketcan;
mod transport;
mod virtual_bus;

pub use backoff::Backoff;
pub use error::CanError;
pub use frame::{CanFrame, CanId, FrameError, MAX_EXTENDED_ID, MAX_STANDARD_ID};
pub use open::{TransportKind, open};
pub use transport::{AnyTransport, BoxFuture, CanTransport, DynCanTransport};
pub use virtual_bus::{EndpointId, VirtualBus, VirtualEndpoint};
