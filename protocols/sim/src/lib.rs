#![doc = include_str!("../README.md")]

mod bank;
mod config;
mod drive;
mod error;
mod run;
mod serve;

pub use bank::SimHandle;
pub use config::{EndpointConfig, SimConfig, SimConfigError, SimDriveConfig};
pub use drive::{SimDrive, SimDriveOptions};
pub use error::SimError;
pub use run::{EndpointInfo, RunningSim, run_sim};
pub use serve::{PtyEndpoint, ServeTask, SimService, TcpEndpoint};
