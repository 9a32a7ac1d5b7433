//! Integration tests of the supervision layer (one binary: shared test workers, one link).

mod common;
mod handle;
mod intensity;
mod replace;
mod shutdown;
mod strategies;
mod tree;
