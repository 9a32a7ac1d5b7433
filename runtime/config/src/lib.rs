//! The line config language of linevisor: what an integrator writes to describe a production
//! line (buses, drives, limits, safe states, parameters) and the drive profiles, data files that
//! describe a drive model without Rust code.
//!
//! [`check_file`] / [`check_text`] decode and validate everything and return every problem at
//! once, each with its file, line, column, field path and a hint. Depended on by the runtime and
//! the binary; it knows nothing of actors or buses at run time.

mod builtin;
mod bus;
mod check;
mod diag;
mod feasibility;
mod load;
pub mod model;
mod schema;
mod source;
mod tree;

pub use builtin::{BUILTIN_PROFILES, DEMO_LINE};
pub use bus::{can_frame_bits, modbus_poll_reads, modbus_reads, rtu_t35_s};
pub use check::{CAN_BITRATES, STANDARD_BAUDS};
pub use diag::{Diagnostic, Severity};
pub use feasibility::{BusLoad, SilentHold};
pub use linevisor_core::{
    KeepOut, MergedRead, ReadRules, RegisterRun, merge_register_runs, merge_runs,
};
pub use load::{Checked, LoadedProfile, ProfileSet, SourceText, ValidLine, check_file, check_text};
pub use schema::{line_schema, profile_schema};
pub use tree::render as render_tree;

/// Name under which the embedded demo line is reported.
pub const DEMO_LINE_NAME: &str = "<embedded>/demo-line.toml";
