//! Status inversion: the raw values of the status rule points that make the profile's rules
//! decode to the device model's state.
//!
//! For a state, the first non-negated rule of that state is satisfied (raw = value within its
//! mask); a negated rule (Delta's "fault code low byte ≠ 0") is satisfied by the fault code, or
//! by a non-zero code when the fault has none; negated rules of other states are kept from
//! matching. The result is verified by decoding it with the profile codec. A state the rules
//! cannot show falls back to a neighbour (a VFD without "switch on disabled" shows "switched
//! on"), then to the state of a rule that matches every value; a profile that can show none of
//! them is refused when the drive is built.

use std::collections::BTreeMap;

use linevisor_core::PowerState;
use linevisor_profile::{ProfileCodec, rule_matches};

/// States tried, in order, to show `s`.
fn fallbacks(s: PowerState) -> &'static [PowerState] {
    use PowerState::*;
    match s {
        NotReadyToSwitchOn => &[
            NotReadyToSwitchOn,
            SwitchOnDisabled,
            ReadyToSwitchOn,
            SwitchedOn,
        ],
        SwitchOnDisabled => &[SwitchOnDisabled, ReadyToSwitchOn, SwitchedOn],
        ReadyToSwitchOn => &[ReadyToSwitchOn, SwitchOnDisabled, SwitchedOn],
        SwitchedOn => &[SwitchedOn, ReadyToSwitchOn, SwitchOnDisabled],
        OperationEnabled => &[OperationEnabled],
        // Still moving on the quick-stop ramp.
        QuickStopActive => &[QuickStopActive, OperationEnabled],
        FaultReactionActive => &[FaultReactionActive, Fault],
        Fault => &[Fault],
    }
}

/// Raw values by status point.
pub(crate) type StatusValues = BTreeMap<String, u32>;

/// The raw values that show `state`, starting from `base` (the current values of the rule
/// points: the device statusword, the fault code). `None` if no rule or fallback can show it.
pub(crate) fn invert(
    codec: &ProfileCodec,
    state: PowerState,
    fault_code: u32,
    base: &StatusValues,
) -> Option<(PowerState, StatusValues)> {
    let decode = |v: &StatusValues| codec.decode_status_with(|p| v.get(p).copied()).ok();
    if decode(base) == Some(state) {
        return Some((state, base.clone()));
    }
    let rules = &codec.profile().status.states;
    let fault_point = codec.profile().fault.code.as_deref();
    // A rule matching every value shows each state the others cannot (TMCL: "enabled unless the
    // driver reports an error"); a fault never falls back to it.
    let fault = matches!(state, PowerState::Fault | PowerState::FaultReactionActive);
    let catch_all = rules
        .iter()
        .filter(|r| r.mask == 0 && r.value == 0 && !r.negate && !fault)
        .map(|r| r.state);
    for candidate in fallbacks(state).iter().copied().chain(catch_all) {
        for (i, rule) in rules.iter().enumerate() {
            if rule.state != candidate {
                continue;
            }
            let mut v = base.clone();
            // Keep negated rules of other states from matching.
            for (j, other) in rules.iter().enumerate() {
                if j != i && other.negate && other.state != candidate {
                    let raw = v.entry(codec.rule_point(other).to_owned()).or_insert(0);
                    *raw = (*raw & !other.mask) | other.value;
                }
            }
            let raw = v.entry(codec.rule_point(rule).to_owned()).or_insert(0);
            if !rule.negate {
                *raw = (*raw & !rule.mask) | rule.value;
            } else if !rule_matches(rule, *raw) {
                let code = if fault_point == Some(codec.rule_point(rule)) {
                    fault_code
                } else {
                    *raw
                };
                *raw = if rule_matches(rule, code) {
                    code
                } else {
                    // No usable code: flip the lowest bit of the mask.
                    let low = rule.mask & rule.mask.wrapping_neg();
                    (*raw & !rule.mask) | ((rule.value ^ low) & rule.mask)
                };
            }
            if decode(&v) == Some(candidate) {
                return Some((candidate, v));
            }
        }
    }
    None
}

/// Every state the device model can be in can be shown (possibly by a fallback).
pub(crate) fn all_expressible(codec: &ProfileCodec) -> Result<(), PowerState> {
    let mut base = StatusValues::new();
    for p in codec.status_points() {
        base.insert(p.to_owned(), 0);
    }
    for s in PowerState::ALL {
        for code in [0, 0x5000] {
            if invert(codec, s, code, &base).is_none() {
                return Err(s);
            }
        }
    }
    Ok(())
}
