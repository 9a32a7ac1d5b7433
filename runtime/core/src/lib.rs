//! linevisor's domain model, shared by the config language, the protocols and the actors, with
//! no I/O and no runtime: drive profiles as data ([`profile`]: points, data types, poll sets,
//! status rules, commands), the CiA 402 power states every drive is reported in
//! ([`PowerState`]), the Modbus register merge, and the jittered exponential backoff. Protocol
//! crates depend on it instead of on the config crate (no TOML, no schema generator: the JSON
//! Schema derives sit behind the `schema` feature, which only `linevisor-config` enables).

pub mod backoff;
pub mod profile;
pub mod registers;
mod state;

pub use backoff::{Backoff, Jitter, Retry, SeededJitter};
pub use registers::{KeepOut, MergedRead, ReadRules, RegisterRun, merge_register_runs, merge_runs};
pub use state::PowerState;
