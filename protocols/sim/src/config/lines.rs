//! Checks across `serial_pty` endpoints and serial drives: every serial drive is on exactly one
//! line, a line lists serial drives only, and one line carries one framing.

use std::collections::{BTreeMap, BTreeSet};

use linevisor_core::profile::Protocol;

use super::SimDriveConfig;
use super::diag::Diags;
use super::file::SimFile;
use crate::serial::LineFraming;

const SPLIT_HINT: &str =
    "give each framing its own `[[endpoint]]` with `serial_pty = true` and `units = [...]`";

pub(super) fn serial_lines(parsed: &SimFile, drives: &[SimDriveConfig], d: &mut Diags) {
    let serial: BTreeMap<u8, &SimDriveConfig> = drives
        .iter()
        .filter(|x| x.profile.profile.protocol == Protocol::Serial)
        .map(|x| (x.unit, x))
        .collect();
    let mut placed: BTreeSet<u8> = BTreeSet::new();
    let mut any_line = false;
    for (i, entry) in parsed.endpoint.iter().enumerate() {
        let e = entry.get_ref();
        if !e.serial_pty.as_ref().is_some_and(|p| *p.get_ref()) {
            continue;
        }
        any_line = true;
        let path = format!("endpoint[{i}]");
        let (span, at) = match &e.units {
            Some(u) => (u.span(), format!("{path}.units")),
            None => (entry.span(), path.clone()),
        };
        let units: Vec<u8> = match &e.units {
            Some(u) => u.get_ref().clone(),
            None => serial.keys().copied().collect(),
        };
        if units.is_empty() {
            d.error(
                span.clone(),
                &at,
                "this serial line has no serial drive to serve".into(),
                Some("add a `[[drive]]` with a serial profile, or remove the endpoint".into()),
            );
        }
        let mut first: Option<(u8, LineFraming)> = None;
        for unit in units {
            let Some(drive) = serial.get(&unit) else {
                let what = match drives.iter().find(|x| x.unit == unit) {
                    Some(x) => format!(
                        "unit {unit} runs {:?}, a {} profile, not a serial one",
                        x.profile.profile.name,
                        x.profile.profile.protocol.name()
                    ),
                    None => format!("no serial drive at unit {unit}"),
                };
                d.error(span.clone(), &at, what, None);
                continue;
            };
            if !placed.insert(unit) {
                d.error(
                    span.clone(),
                    &at,
                    format!("unit {unit} is on two serial lines"),
                    None,
                );
            }
            let f = LineFraming::of_profile(&drive.profile);
            match &first {
                Some((u, g)) if *g != f => d.error(
                    span.clone(),
                    &at,
                    format!(
                        "one line carries one framing: unit {u} speaks {g}, unit {unit} speaks {f}"
                    ),
                    Some(SPLIT_HINT.into()),
                ),
                Some(_) => {}
                None => first = Some((unit, f)),
            }
        }
    }
    for (i, entry) in parsed.drive.iter().enumerate() {
        let unit = entry.get_ref().unit.clone();
        if serial.contains_key(unit.get_ref()) && !placed.contains(unit.get_ref()) {
            let hint = if any_line {
                "add the unit to a serial_pty endpoint's `units`"
            } else {
                "add `[[endpoint]]` with `serial_pty = true`"
            };
            d.error(
                unit.span(),
                &format!("drive[{i}].unit"),
                format!("serial drive {} is on no serial line", unit.get_ref()),
                Some(hint.into()),
            );
        }
    }
}
