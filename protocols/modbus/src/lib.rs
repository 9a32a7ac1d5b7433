#![doc = include_str!("../README.md")]

pub mod client;
pub mod codec;
mod error;
mod exception;
pub mod frame;
pub mod paced;
pub mod server;
pub mod timing;

pub use client::rtu::{RtuClient, RtuConfig};
pub use client::tcp::{TcpClient, TcpConfig};
pub use client::{CallOptions, Client};
pub use error::{CallResult, FrameError, LinkError};
pub use exception::{Exception, ExceptionCode};
pub use frame::{ExceptionResponse, MbapHeader, Request, Response, ResponsePdu};
/// Re-exported: the reconnect backoff (from linevisor-core).
pub use linevisor_core::Retry;
pub use server::Service;
