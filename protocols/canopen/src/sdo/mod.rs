//! SDO: the wire format ([`wire`]) and the client ([`SdoClient`]).

mod client;
pub mod wire;

pub(crate) use client::SdoChannel;
pub use client::{SdoClient, SdoConfig};
