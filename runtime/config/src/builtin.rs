//! The profiles shipped with linevisor, compiled in so that the embedded demo line and any
//! config can use them without a profiles folder.

/// (file name, text) of every shipped profile.
pub const BUILTIN_PROFILES: &[(&str, &str)] = &[
    (
        "generic-cia402-modbus.toml",
        include_str!("../../../configs/profiles/generic-cia402-modbus.toml"),
    ),
    (
        "generic-cia402-canopen.toml",
        include_str!("../../../configs/profiles/generic-cia402-canopen.toml"),
    ),
    (
        "delta-c2000-vfd.toml",
        include_str!("../../../configs/profiles/delta-c2000-vfd.toml"),
    ),
    (
        "linevisor-sim-servo.toml",
        include_str!("../../../configs/profiles/linevisor-sim-servo.toml"),
    ),
    (
        "ascii-stepper.toml",
        include_str!("../../../configs/profiles/ascii-stepper.toml"),
    ),
];

/// The demo line: simulated drives, no hardware. `linevisor` runs it when given no config.
pub const DEMO_LINE: &str = include_str!("../../../configs/demo-line.toml");
