//! The drive's motion limits, checked before anything is sent. `acceleration_max` has no
//! command of its own: it bounds the configured parameters in the profile's acceleration unit,
//! checked when the drive is set up (`DriveError::AccelerationLimit`).

use linevisor_config::model::Limits;

use crate::command::Command;
use crate::error::CommandError;

fn exceeded(what: &str, value: f64, limit: f64) -> CommandError {
    CommandError::LimitExceeded {
        what: what.to_owned(),
        value,
        limit,
    }
}

fn check_velocity(limits: &Limits, what: &str, v: f64) -> Result<(), CommandError> {
    let max = limits.velocity_max.unwrap_or(f64::INFINITY);
    // NaN and infinities are never a valid command, whatever the limits.
    if !v.is_finite() || v.abs() > max {
        return Err(exceeded(what, v, max));
    }
    Ok(())
}

/// `Ok` if `command` is inside `limits`.
pub(crate) fn check(limits: &Limits, command: &Command) -> Result<(), CommandError> {
    match *command {
        Command::SetVelocity(v) => check_velocity(limits, "velocity_max", v),
        Command::MoveTo { position, velocity } => {
            let min = limits.position_min.unwrap_or(f64::NEG_INFINITY);
            let max = limits.position_max.unwrap_or(f64::INFINITY);
            if !position.is_finite() || position > max {
                return Err(exceeded("position_max", position, max));
            }
            if position < min {
                return Err(exceeded("position_min", position, min));
            }
            match velocity {
                Some(v) => check_velocity(limits, "velocity_max (profile velocity)", v),
                None => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            velocity_max: Some(100.0),
            position_min: Some(0.0),
            position_max: Some(1000.0),
            acceleration_max: None,
        }
    }

    #[test]
    fn limits_bound_velocity_and_position() {
        let l = limits();
        assert!(check(&l, &Command::SetVelocity(-100.0)).is_ok());
        assert!(check(&l, &Command::SetVelocity(100.5)).is_err());
        assert!(check(&l, &Command::SetVelocity(f64::NAN)).is_err());
        let to = |position, velocity| Command::MoveTo { position, velocity };
        assert!(check(&l, &to(0.0, Some(50.0))).is_ok());
        assert!(check(&l, &to(-0.1, None)).is_err());
        assert!(check(&l, &to(1000.1, None)).is_err());
        assert!(check(&l, &to(10.0, Some(-101.0))).is_err());
        assert!(check(&Limits::default(), &Command::SetVelocity(1e9)).is_ok());
    }
}
