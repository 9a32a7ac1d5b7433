//! CiA 402 (and the CiA 301 identity) objects by the point names linevisor's profiles use,
//! so that an imported profile reads like the shipped `generic-cia402-canopen`.

/// The first axis's CiA 402 objects (a second axis starts at 0x6800).
pub(super) const RANGE: std::ops::RangeInclusive<u16> = 0x6000..=0x67FF;

/// Name of a whole object (VAR) or of an array/record whose subs get `_<sub>` or a sub name.
pub(super) fn object_name(index: u16) -> Option<&'static str> {
    OBJECTS
        .iter()
        .find(|(i, _)| *i == index)
        .map(|(_, name)| *name)
}

/// Name of a sub-object of a known array or record.
pub(super) fn sub_name(index: u16, sub: u8) -> Option<&'static str> {
    SUBS.iter()
        .find(|(i, s, _)| *i == index && *s == sub)
        .map(|(_, _, name)| *name)
}

const OBJECTS: &[(u16, &str)] = &[
    (0x603F, "error_code"),
    (0x6040, "controlword"),
    (0x6041, "statusword"),
    (0x6042, "vl_target_velocity"),
    (0x6043, "vl_velocity_demand"),
    (0x6044, "vl_velocity_actual"),
    (0x605A, "quick_stop_option_code"),
    (0x605B, "shutdown_option_code"),
    (0x605C, "disable_operation_option_code"),
    (0x605D, "halt_option_code"),
    (0x605E, "fault_reaction_option_code"),
    (0x6060, "modes_of_operation"),
    (0x6061, "modes_display"),
    (0x6062, "position_demand"),
    (0x6063, "position_actual_internal"),
    (0x6064, "position_actual"),
    (0x6065, "following_error_window"),
    (0x6066, "following_error_timeout"),
    (0x6067, "position_window"),
    (0x6068, "position_window_time"),
    (0x6069, "velocity_sensor_actual"),
    (0x606B, "velocity_demand"),
    (0x606C, "velocity_actual"),
    (0x606D, "velocity_window"),
    (0x606E, "velocity_window_time"),
    (0x606F, "velocity_threshold"),
    (0x6070, "velocity_threshold_time"),
    (0x6071, "target_torque"),
    (0x6072, "max_torque"),
    (0x6073, "max_current"),
    (0x6074, "torque_demand"),
    (0x6075, "motor_rated_current"),
    (0x6076, "motor_rated_torque"),
    (0x6077, "torque_actual"),
    (0x6078, "current_actual"),
    (0x6079, "dc_link_voltage"),
    (0x607A, "target_position"),
    (0x607B, "position_range_limit"),
    (0x607C, "home_offset"),
    (0x607D, "software_position_limit"),
    (0x607E, "polarity"),
    (0x607F, "max_profile_velocity"),
    (0x6080, "max_motor_speed"),
    (0x6081, "profile_velocity"),
    (0x6082, "end_velocity"),
    (0x6083, "profile_acceleration"),
    (0x6084, "profile_deceleration"),
    (0x6085, "quick_stop_deceleration"),
    (0x6086, "motion_profile_type"),
    (0x6087, "torque_slope"),
    (0x6088, "torque_profile_type"),
    (0x608F, "position_encoder_resolution"),
    (0x6090, "velocity_encoder_resolution"),
    (0x6091, "gear_ratio"),
    (0x6092, "feed_constant"),
    (0x6098, "homing_method"),
    (0x6099, "homing_speeds"),
    (0x609A, "homing_acceleration"),
    (0x60B0, "position_offset"),
    (0x60B1, "velocity_offset"),
    (0x60B2, "torque_offset"),
    (0x60B8, "touch_probe_function"),
    (0x60B9, "touch_probe_status"),
    (0x60C0, "interpolation_sub_mode"),
    (0x60C1, "interpolation_data"),
    (0x60C2, "interpolation_time_period"),
    (0x60F4, "following_error_actual"),
    (0x60FA, "control_effort"),
    (0x60FC, "position_demand_internal"),
    (0x60FD, "digital_inputs"),
    (0x60FE, "digital_outputs"),
    (0x60FF, "target_velocity"),
    (0x6402, "motor_type"),
    (0x6502, "supported_drive_modes"),
    (0x1018, "identity"),
];

const SUBS: &[(u16, u8, &str)] = &[
    (0x1018, 1, "vendor_id"),
    (0x1018, 2, "product_code"),
    (0x1018, 3, "revision_number"),
    (0x1018, 4, "serial_number"),
    (0x607B, 1, "min_position_range_limit"),
    (0x607B, 2, "max_position_range_limit"),
    (0x607D, 1, "min_position_limit"),
    (0x607D, 2, "max_position_limit"),
    (0x608F, 1, "encoder_increments"),
    (0x608F, 2, "encoder_motor_revolutions"),
    (0x6091, 1, "gear_motor_revolutions"),
    (0x6091, 2, "gear_shaft_revolutions"),
    (0x6092, 1, "feed"),
    (0x6092, 2, "feed_shaft_revolutions"),
    (0x6099, 1, "homing_speed_switch"),
    (0x6099, 2, "homing_speed_zero"),
    (0x60C2, 1, "interpolation_time_units"),
    (0x60C2, 2, "interpolation_time_index"),
    (0x60FE, 1, "digital_outputs_physical"),
    (0x60FE, 2, "digital_outputs_mask"),
];

/// Bits of 0x6502 (supported drive modes) and the 0x6060 value of each mode.
pub(super) mod modes {
    /// Profile position.
    pub(crate) const PP: (u32, i32) = (0, 1);
    /// Velocity (frequency-converter style, 0x6042).
    pub(crate) const VL: (u32, i32) = (1, 2);
    /// Profile velocity.
    pub(crate) const PV: (u32, i32) = (2, 3);
    /// Homing.
    pub(crate) const HM: (u32, i32) = (5, 6);
    /// Cyclic synchronous position.
    pub(crate) const CSP: (u32, i32) = (7, 8);
    /// Cyclic synchronous velocity.
    pub(crate) const CSV: (u32, i32) = (8, 9);
}
