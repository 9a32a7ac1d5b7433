//! The profiles shipped with linevisor, compiled in so that the embedded demo line and any
//! config can use them without a profiles folder.

/// (file name, text) of every shipped profile: every `*.toml` of `configs/profiles/`, by file
/// name (collected by `build.rs`).
pub const BUILTIN_PROFILES: &[(&str, &str)] =
    include!(concat!(env!("OUT_DIR"), "/builtin_profiles.rs"));

/// The demo line: simulated drives, no hardware. `linevisor` runs it when given no config.
pub const DEMO_LINE: &str = include_str!("../../../configs/demo-line.toml");
