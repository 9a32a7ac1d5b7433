//! Building blocks shared by the protocol and actor layers, with no I/O and no runtime: today
//! the jittered exponential backoff every transport uses to reopen a lost port or connection.
//! Protocol crates depend on it instead of on each other.

pub mod backoff;
pub mod profile;
pub mod registers;
mod state;

pub use backoff::Backoff;
pub use registers::{MergedRead, RegisterRun, merge_register_runs};
pub use state::PowerState;
