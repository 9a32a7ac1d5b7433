//! A minimal Modbus server: RTU and TCP framing around a [`Service`] that answers requests.
//! The simulator builds its drives on this; tests use [`RegisterMap`].

mod memory;
pub mod rtu;
pub mod tcp;

pub use memory::{RegisterMap, UnitMemory};

use std::future::Future;

use crate::{ExceptionCode, Request, Response};

/// What a server does with one request addressed to `unit`.
///
/// `None` means no reply at all: a unit this server does not host, a broadcast (unit 0), or a
/// unit told to stay silent. A service may also take its time (a slow device).
pub trait Service: Send + Sync + 'static {
    /// Answers `request`.
    fn call(
        &self,
        unit: u8,
        request: Request,
    ) -> impl Future<Output = Option<Result<Response, ExceptionCode>>> + Send;
}
