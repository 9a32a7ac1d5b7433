//! Building blocks shared by the protocol and actor layers, with no I/O and no runtime: today
//! the jittered exponential backoff every transport uses to reopen a lost port or connection.
//! Protocol crates depend on it instead of on each other.

pub mod backoff;

pub use backoff::Backoff;
