//! A rigid-axis motion model for simulated drives: acceleration-limited velocity ramps and
//! position integration. Units are the drive's user units (per second, per second²).

/// What the axis is driven towards.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MotionTarget {
    /// Ramp to a velocity.
    Velocity(f64),
    /// Move to a position, not faster than `max_velocity`, stopping on it.
    Position {
        /// Target position.
        position: f64,
        /// Speed limit of the move (positive).
        max_velocity: f64,
    },
    /// Ramp to standstill with the given deceleration (quick stop, fault reaction).
    Stop {
        /// Deceleration (positive).
        deceleration: f64,
    },
}

/// Velocity and position of one axis, advanced by [`MotionModel::step`].
#[derive(Debug, Clone)]
pub struct MotionModel {
    acceleration: f64,
    velocity: f64,
    position: f64,
    target: MotionTarget,
}

impl MotionModel {
    /// An axis at rest at position 0, with `acceleration` as its ramp limit (units/s²).
    /// Non-finite or non-positive limits are replaced by 1.0 so the model never stalls on NaN.
    pub fn new(acceleration: f64) -> Self {
        Self {
            acceleration: sanitize_positive(acceleration),
            velocity: 0.0,
            position: 0.0,
            target: MotionTarget::Velocity(0.0),
        }
    }

    /// Actual velocity.
    pub fn velocity(&self) -> f64 {
        self.velocity
    }

    /// Actual position.
    pub fn position(&self) -> f64 {
        self.position
    }

    /// The current target.
    pub fn target(&self) -> MotionTarget {
        self.target
    }

    /// The ramp limit.
    pub fn acceleration(&self) -> f64 {
        self.acceleration
    }

    /// Sets the ramp limit (same sanitising as [`MotionModel::new`]).
    pub fn set_acceleration(&mut self, acceleration: f64) {
        self.acceleration = sanitize_positive(acceleration);
    }

    /// Drives the axis towards `target`. Non-finite values are ignored.
    pub fn set_target(&mut self, target: MotionTarget) {
        let finite = match target {
            MotionTarget::Velocity(v) => v.is_finite(),
            MotionTarget::Position {
                position,
                max_velocity,
            } => position.is_finite() && max_velocity.is_finite(),
            MotionTarget::Stop { deceleration } => deceleration.is_finite(),
        };
        if finite {
            self.target = target;
        }
    }

    /// Overwrites the position (homing, or adopting a drive's state).
    pub fn set_position(&mut self, position: f64) {
        if position.is_finite() {
            self.position = position;
        }
    }

    /// Power stage off: the model has no inertia, so the axis stops where it is.
    pub fn release(&mut self) {
        self.velocity = 0.0;
        self.target = MotionTarget::Velocity(0.0);
    }

    /// True when the axis does not move.
    pub fn is_standstill(&self) -> bool {
        self.velocity == 0.0
    }

    /// True when the target is reached: velocity within `window` of a velocity target, or
    /// standing within `window` of a position target, or stopped.
    pub fn at_target(&self, window: f64) -> bool {
        match self.target {
            MotionTarget::Velocity(v) => (self.velocity - v).abs() <= window,
            MotionTarget::Position { position, .. } => {
                self.is_standstill() && (self.position - position).abs() <= window
            }
            MotionTarget::Stop { .. } => self.is_standstill(),
        }
    }

    /// Advances the model by `dt` seconds (ignored unless finite and positive).
    pub fn step(&mut self, dt: f64) {
        if !(dt.is_finite() && dt > 0.0) {
            return;
        }
        let v0 = self.velocity;
        let (command, limit) = match self.target {
            MotionTarget::Velocity(v) => (v, self.acceleration),
            MotionTarget::Stop { deceleration } => (0.0, sanitize_positive(deceleration)),
            MotionTarget::Position {
                position,
                max_velocity,
            } => {
                let error = position - self.position;
                let a = self.acceleration;
                if error.abs() <= (v0.abs() * dt).max(a * dt * dt) && v0.abs() <= a * dt {
                    // Close enough to land this step.
                    self.position = position;
                    self.velocity = 0.0;
                    return;
                }
                // Fastest speed from which the axis can still stop on the target.
                let braking = (2.0 * a * error.abs()).sqrt();
                (error.signum() * braking.min(max_velocity.abs()), a)
            }
        };
        let max_change = limit * dt;
        let v1 = v0 + (command - v0).clamp(-max_change, max_change);
        self.velocity = if v1.is_finite() { v1 } else { 0.0 };
        self.position += (v0 + self.velocity) * 0.5 * dt;
        if !self.position.is_finite() {
            self.position = 0.0;
        }
    }
}

fn sanitize_positive(x: f64) -> f64 {
    if x.is_finite() && x > 0.0 { x } else { 1.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn velocity_ramps_at_the_limit_and_integrates() {
        let mut m = MotionModel::new(100.0);
        m.set_target(MotionTarget::Velocity(50.0));
        for _ in 0..10 {
            m.step(0.1);
        }
        // 0.5 s ramp (12.5 units) then 0.5 s at 50 (25 units).
        assert!((m.velocity() - 50.0).abs() < 1e-9);
        assert!((m.position() - 37.5).abs() < 1e-6, "{}", m.position());
        assert!(m.at_target(0.1));
    }

    #[test]
    fn position_move_stops_on_target() {
        let mut m = MotionModel::new(200.0);
        m.set_target(MotionTarget::Position {
            position: 100.0,
            max_velocity: 80.0,
        });
        for _ in 0..1000 {
            m.step(0.01);
            assert!(m.velocity().abs() <= 80.0 + 1e-9);
        }
        assert!(
            m.at_target(0.5),
            "pos {} vel {}",
            m.position(),
            m.velocity()
        );
    }

    #[test]
    fn stop_ramps_to_zero() {
        let mut m = MotionModel::new(10.0);
        m.set_target(MotionTarget::Velocity(10.0));
        for _ in 0..20 {
            m.step(0.1);
        }
        m.set_target(MotionTarget::Stop {
            deceleration: 100.0,
        });
        m.step(0.05);
        assert!((m.velocity() - 5.0).abs() < 1e-9);
        m.step(0.05);
        assert!(m.is_standstill());
    }
}
