//! End-to-end tests across crates: real transports (pseudo-terminals, loopback), real actors,
//! simulated drives.

mod bus_on_sim;
