//! Status decoding: the `[status]` rules in order, first match wins; no match is an explicit
//! [`CodecError::Undecodable`], never a guess. Plus the mapping between the profile's
//! [`UniformState`] and linevisor-cia402's [`PowerState`].

use linevisor_cia402::PowerState;
use linevisor_config::model::{StateRule, UniformState};

use crate::{CodecError, ProfileCodec, Sample};

/// Every uniform state, in CiA 402 table order.
pub const ALL_STATES: [UniformState; 8] = [
    UniformState::NotReadyToSwitchOn,
    UniformState::SwitchOnDisabled,
    UniformState::ReadyToSwitchOn,
    UniformState::SwitchedOn,
    UniformState::OperationEnabled,
    UniformState::QuickStopActive,
    UniformState::FaultReactionActive,
    UniformState::Fault,
];

/// The CiA 402 power state a uniform state is.
pub const fn power_state(s: UniformState) -> PowerState {
    match s {
        UniformState::NotReadyToSwitchOn => PowerState::NotReadyToSwitchOn,
        UniformState::SwitchOnDisabled => PowerState::SwitchOnDisabled,
        UniformState::ReadyToSwitchOn => PowerState::ReadyToSwitchOn,
        UniformState::SwitchedOn => PowerState::SwitchedOn,
        UniformState::OperationEnabled => PowerState::OperationEnabled,
        UniformState::QuickStopActive => PowerState::QuickStopActive,
        UniformState::FaultReactionActive => PowerState::FaultReactionActive,
        UniformState::Fault => PowerState::Fault,
    }
}

/// The uniform state of a CiA 402 power state.
pub const fn uniform_state(s: PowerState) -> UniformState {
    match s {
        PowerState::NotReadyToSwitchOn => UniformState::NotReadyToSwitchOn,
        PowerState::SwitchOnDisabled => UniformState::SwitchOnDisabled,
        PowerState::ReadyToSwitchOn => UniformState::ReadyToSwitchOn,
        PowerState::SwitchedOn => UniformState::SwitchedOn,
        PowerState::OperationEnabled => UniformState::OperationEnabled,
        PowerState::QuickStopActive => UniformState::QuickStopActive,
        PowerState::FaultReactionActive => UniformState::FaultReactionActive,
        PowerState::Fault => UniformState::Fault,
    }
}

/// True if `raw` satisfies `rule`.
pub fn rule_matches(rule: &StateRule, raw: u32) -> bool {
    (raw & rule.mask == rule.value) != rule.negate
}

impl ProfileCodec {
    /// The point a rule tests (its own, else `[status] point`).
    pub fn rule_point<'a>(&'a self, rule: &'a StateRule) -> &'a str {
        rule.point
            .as_deref()
            .unwrap_or(&self.profile().status.point)
    }

    /// Every point the status rules read, `[status] point` first, without repeats.
    pub fn status_points(&self) -> Vec<&str> {
        let mut v: Vec<&str> = vec![&self.profile().status.point];
        for rule in &self.profile().status.states {
            let p = self.rule_point(rule);
            if !v.contains(&p) {
                v.push(p);
            }
        }
        v
    }

    /// Decodes the uniform state from a sample holding every [`ProfileCodec::status_points`]
    /// value. Rules are tried in order; the first match wins.
    pub fn decode_status(&self, sample: &Sample) -> Result<UniformState, CodecError> {
        self.decode_status_with(|point| sample.get(point).map(|v| v.raw))
    }

    /// [`ProfileCodec::decode_status`] over any source of raw values by point name.
    pub fn decode_status_with(
        &self,
        raw_of: impl Fn(&str) -> Option<u32>,
    ) -> Result<UniformState, CodecError> {
        let require = |point: &str| {
            raw_of(point).ok_or_else(|| CodecError::MissingPoint {
                point: point.to_owned(),
            })
        };
        for rule in &self.profile().status.states {
            if rule_matches(rule, require(self.rule_point(rule))?) {
                return Ok(rule.state);
            }
        }
        let point = &self.profile().status.point;
        Err(CodecError::Undecodable {
            point: point.clone(),
            raw: require(point)?,
        })
    }
}
