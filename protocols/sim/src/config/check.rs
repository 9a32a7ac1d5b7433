//! Checks of `[[endpoint]]` and `[[drive]]` entries.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::ops::Range;
use std::time::Duration;

use linevisor_cia402::device::DriveParameters;
use linevisor_config::STANDARD_BAUDS;
use linevisor_core::profile::{Profile, Protocol};

use super::diag::Diags;
use super::file::{DriveEntry, EndpointEntry};
use super::{DEFAULT_BAUD, EndpointConfig, SimDriveConfig};
use crate::SimDriveOptions;

pub(super) fn endpoint(
    i: usize,
    e: &EndpointEntry,
    span: Range<usize>,
    d: &mut Diags,
) -> Option<EndpointConfig> {
    let path = format!("endpoint[{i}]");
    let kinds = [e.tcp.is_some(), e.pty.is_some(), e.serial_pty.is_some()];
    if kinds.iter().filter(|k| **k).count() != 1 {
        d.error(
            span,
            &path,
            "an endpoint has exactly one of `tcp`, `pty` and `serial_pty`".into(),
            None,
        );
        return None;
    }
    if let Some(u) = e.units.as_ref() {
        if e.serial_pty.is_none() {
            d.error(
                u.span(),
                &format!("{path}.units"),
                "units applies to serial_pty endpoints only (Modbus endpoints serve every Modbus drive)".into(),
                None,
            );
        } else if u.get_ref().is_empty() {
            d.error(
                u.span(),
                &format!("{path}.units"),
                "units = [] serves nothing; list the line's serial drives or remove `units`".into(),
                None,
            );
        }
    }
    if let Some(t) = &e.tcp {
        if let Some(b) = &e.baud {
            d.error(
                b.span(),
                &format!("{path}.baud"),
                "baud applies to pty and serial_pty endpoints only".into(),
                None,
            );
        }
        return match t.get_ref().parse::<SocketAddr>() {
            Ok(a) => Some(EndpointConfig::Tcp(a)),
            Err(_) => {
                d.error(
                    t.span(),
                    &format!("{path}.tcp"),
                    format!("{:?} is not an ip:port address", t.get_ref()),
                    Some("e.g. \"127.0.0.1:5020\"; port 0 picks a free port".into()),
                );
                None
            }
        };
    }
    let (flag, key) = match (&e.pty, &e.serial_pty) {
        (Some(p), _) => (p, "pty"),
        (_, Some(p)) => (p, "serial_pty"),
        _ => return None,
    };
    if !*flag.get_ref() {
        d.error(
            flag.span(),
            &format!("{path}.{key}"),
            format!("{key} = false serves nothing; remove the endpoint"),
            None,
        );
        return None;
    }
    let baud = e.baud.as_ref().map_or(DEFAULT_BAUD, |b| *b.get_ref());
    if let Some(b) = e
        .baud
        .as_ref()
        .filter(|b| !STANDARD_BAUDS.contains(b.get_ref()))
    {
        d.error(
            b.span(),
            &format!("{path}.baud"),
            format!("{} is not a standard baud rate", b.get_ref()),
            None,
        );
        return None;
    }
    Some(match key {
        "pty" => EndpointConfig::Pty { baud },
        _ => EndpointConfig::SerialPty {
            baud,
            units: e.units.as_ref().map(|u| u.get_ref().clone()),
        },
    })
}

pub(super) fn drive(
    i: usize,
    e: &DriveEntry,
    profiles: &BTreeMap<(String, String), Profile>,
    step: Duration,
    seen: &mut BTreeSet<(bool, u8)>,
    d: &mut Diags,
) -> Option<SimDriveConfig> {
    let path = format!("drive[{i}]");
    let unit = *e.unit.get_ref();
    let errors = d.list.len();
    let r = e.profile.get_ref();
    let profile = profiles.get(&(r.name.clone(), r.version.clone()));
    let canopen = profile.is_some_and(|p| p.profile.protocol == Protocol::Canopen);
    let (range, what) = if canopen {
        (1..=127, "CANopen node id")
    } else {
        (1..=247, "unit id")
    };
    if !range.contains(&unit) {
        d.error(
            e.unit.span(),
            &format!("{path}.unit"),
            format!("{what} {unit} is outside {}–{}", range.start(), range.end()),
            None,
        );
    } else if !seen.insert((canopen, unit)) {
        d.error(
            e.unit.span(),
            &format!("{path}.unit"),
            format!("{what} {unit} is simulated twice"),
            None,
        );
    }
    match profile {
        None => {
            let versions: Vec<&str> = profiles
                .keys()
                .filter(|(n, _)| n == &r.name)
                .map(|(_, v)| v.as_str())
                .collect();
            let hint = if versions.is_empty() {
                let names: BTreeSet<&str> = profiles.keys().map(|(n, _)| n.as_str()).collect();
                format!(
                    "known profiles: {}",
                    names.into_iter().collect::<Vec<_>>().join(", ")
                )
            } else {
                format!("available versions: {}", versions.join(", "))
            };
            d.error(
                e.profile.span(),
                &format!("{path}.profile"),
                format!("unknown profile {:?} version {:?}", r.name, r.version),
                Some(hint),
            );
        }
        Some(p) if p.profile.protocol == Protocol::Canopen => {
            // The simulated node has the fixed CiA 402 dictionary of linevisor-canopen's sim.
            if let Some((name, v)) = e.factory.iter().next() {
                d.error(
                    v.span(),
                    &format!("{path}.factory.{name}"),
                    "factory values are simulated for Modbus drives only".into(),
                    None,
                );
            }
        }
        Some(p) => {
            for (name, v) in &e.factory {
                if !p.parameters.contains_key(name) {
                    d.error(
                        v.span(),
                        &format!("{path}.factory.{name}"),
                        format!("profile {:?} has no parameter {name:?}", r.name),
                        None,
                    );
                }
            }
        }
    }
    let mut params = DriveParameters::default();
    for (key, value, slot) in [
        ("acceleration", &e.acceleration, &mut params.acceleration),
        (
            "quick_stop_deceleration",
            &e.quick_stop_deceleration,
            &mut params.quick_stop_deceleration,
        ),
        (
            "profile_velocity",
            &e.profile_velocity,
            &mut params.profile_velocity,
        ),
    ] {
        if let Some(v) = value {
            if v.get_ref().is_finite() && *v.get_ref() > 0.0 {
                *slot = *v.get_ref();
            } else {
                d.error(
                    v.span(),
                    &format!("{path}.{key}"),
                    format!("{} must be a positive number", v.get_ref()),
                    None,
                );
            }
        }
    }
    if d.list.len() > errors {
        return None;
    }
    Some(SimDriveConfig {
        unit,
        profile: profile?.clone(),
        options: SimDriveOptions {
            serial_number: e.serial_number.unwrap_or(u32::from(unit)),
            drive: params,
            step,
            factory: e
                .factory
                .iter()
                .map(|(k, v)| (k.clone(), *v.get_ref()))
                .collect(),
        },
    })
}
