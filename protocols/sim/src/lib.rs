#![doc = include_str!("../README.md")]

mod bank;
mod canopen;
mod config;
mod drive;
mod error;
mod misframe;
mod run;
mod serial;
mod serve;
mod wire;

pub use bank::SimHandle;
pub use canopen::SlcanEndpoint;
pub use config::{EndpointConfig, SimConfig, SimConfigError, SimDriveConfig};
pub use drive::{Refusal, SimDrive, SimDriveOptions};
pub use error::SimError;
pub use misframe::serve_misframing;
pub use run::{EndpointInfo, RunningSim, run_sim};
pub use serial::SerialLine;
pub use serve::{PtyEndpoint, ServeTask, SimService, TcpEndpoint};
pub use wire::{RtuWire, WireFaults, WireStats};
