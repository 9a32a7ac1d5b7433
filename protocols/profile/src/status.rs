//! Status decoding: the `[status]` rules in order, first match wins; no match is an explicit
//! [`CodecError::Undecodable`], never a guess.

use linevisor_core::PowerState;
use linevisor_core::profile::StateRule;

use crate::{CodecError, ProfileCodec, Sample};

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

    /// Decodes the power state from a sample holding every [`ProfileCodec::status_points`]
    /// value. Rules are tried in order; the first match wins.
    pub fn decode_status(&self, sample: &Sample) -> Result<PowerState, CodecError> {
        self.decode_status_with(|point| sample.get(point).map(|v| v.raw))
    }

    /// [`ProfileCodec::decode_status`] over any source of raw values by point name.
    pub fn decode_status_with(
        &self,
        raw_of: impl Fn(&str) -> Option<u32>,
    ) -> Result<PowerState, CodecError> {
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
