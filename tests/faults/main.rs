//! The fault matrix (issue 14): every fault a plant's line meets, injected into the running
//! stack, one row each. A row checks the promises that hold under every fault and prints its
//! figures as one JSON line (`report::Row`):
//! - 0 process crashes (no panic escapes; the line and its supervisor keep running);
//! - 0 silent command losses: every command sent during the fault is answered, ok or a reason;
//! - the recovery time once the fault ends (measured, printed, never asserted);
//! - the missed cycles of the neighbours (drives on other buses; the promise is none) and of
//!   the drives on the faulty bus, counted and printed: they depend on the machine's load, so
//!   the soak measures them (BENCHMARKS.md) and CI does not assert them.
//!
//! `cargo test -p linevisor-tests --test faults` runs each row once (CI, well under 3 minutes).
//! `LINEVISOR_SOAK_SECONDS=N` repeats each row's fault for N seconds (the soak in
//! BENCHMARKS.md): `LINEVISOR_SOAK_SECONDS=60 cargo test -p linevisor-tests --test faults
//! --release -- --nocapture --test-threads 1 | grep '^{'`.
//!
//! One module per layer; a new fault is a new test in its layer's module.

mod canopen;
mod control;
mod journal;
mod modbus_rtu;
mod modbus_tcp;
mod report;
