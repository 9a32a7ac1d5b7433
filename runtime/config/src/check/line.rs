//! Line-level checks: ids, references between drives, buses and profiles, addresses, limits and
//! parameters.

use std::collections::BTreeMap;

use super::{id_ok, range};
use crate::diag::{Finding, Path};
use crate::load::{Decoded, ProfileSet};
use crate::model::{AddressRange, BusConfig, DriveConfig, LineSection, Profile};

/// Runs every line-level check on what decoded.
pub(crate) fn check(d: &Decoded, profiles: &ProfileSet, f: &mut Vec<Finding>) {
    if let Some(line) = &d.line {
        check_section(line, f);
    }
    let mut bus_ids: BTreeMap<&str, (usize, &BusConfig)> = BTreeMap::new();
    for (i, b) in &d.buses {
        let p = Path::root().key("bus").index(*i);
        id_ok(f, 0, p.key("id"), b.id());
        if let Some((j, _)) = bus_ids.get(b.id()) {
            f.push(Finding::error(
                0,
                p.key("id"),
                format!("duplicate bus id \"{}\" (also bus[{j}])", b.id()),
            ));
        } else {
            bus_ids.insert(b.id(), (*i, b));
        }
        b.options().check(&p, f);
    }
    crate::bus::check_resources(&d.buses, f);
    super::endpoints::check(&d.buses, f);

    let mut drive_ids: BTreeMap<&str, usize> = BTreeMap::new();
    let mut addresses: BTreeMap<(&str, u32), (usize, &str)> = BTreeMap::new();
    let mut first_on_bus: BTreeMap<&str, (&str, &Profile)> = BTreeMap::new();
    for (i, drive) in &d.drives {
        let p = Path::root().key("drive").index(*i);
        id_ok(f, 0, p.key("id"), &drive.id);
        match drive_ids.get(drive.id.as_str()) {
            Some(j) => f.push(Finding::error(
                0,
                p.key("id"),
                format!("duplicate drive id \"{}\" (also drive[{j}])", drive.id),
            )),
            None => {
                drive_ids.insert(&drive.id, *i);
            }
        }
        let cycle = drive.cycle_ms.or(d.line.as_ref().map(|l| l.cycle_ms));
        if let Some(c) = drive.cycle_ms {
            range(f, 0, p.key("cycle_ms"), c, 1, 60_000, "ms");
        }
        let bus = match bus_ids.get(drive.bus.as_str()) {
            Some((_, b)) => Some(*b),
            None if d.broken_buses.contains(&drive.bus) => None,
            None => {
                f.push(
                    Finding::error(0, p.key("bus"), format!("unknown bus \"{}\"", drive.bus))
                        .suggest(&drive.bus, bus_ids.keys().copied()),
                );
                None
            }
        };
        let profile = find_profile(drive, &p, profiles, d, f);
        if let Some(t) = drive.response_timeout_ms {
            range(f, 0, p.key("response_timeout_ms"), t, 1, 10_000, "ms");
        }
        if let Some(bus) = bus {
            check_address(drive, bus, &p, f);
            check_response_timeout(drive, bus, &p, f);
            if let Some((j, other)) = addresses.get(&(bus.id(), drive.address)) {
                f.push(Finding::error(
                    0,
                    p.key("address"),
                    format!(
                        "address {} on bus \"{}\" is already used by drive \"{other}\" (drive[{j}])",
                        drive.address,
                        bus.id()
                    ),
                ));
            } else {
                addresses.insert((bus.id(), drive.address), (*i, &drive.id));
            }
            let on_bus = crate::bus::DriveOnBus {
                cycle_ms: cycle,
                profile,
                drives_on_bus: d.drives.iter().filter(|(_, o)| o.bus == drive.bus).count(),
                first: first_on_bus.get(drive.bus.as_str()).copied(),
            };
            if let Some(profile) = profile {
                first_on_bus
                    .entry(drive.bus.as_str())
                    .or_insert((drive.id.as_str(), profile));
            }
            bus.options().check_drive(&on_bus, &p, f);
            if let Some(profile) = profile {
                check_fit(profile, bus, &p, f);
            }
        }
        check_limits(drive, &p, f);
        if let Some(profile) = profile {
            check_parameters(drive, profile, &p, f);
        }
    }
}

fn check_section(line: &LineSection, f: &mut Vec<Finding>) {
    let p = Path::root().key("line");
    if line.name.trim().is_empty() || line.name.len() > 64 {
        f.push(Finding::error(
            0,
            p.key("name"),
            "line name must be 1–64 characters",
        ));
    }
    range(f, 0, p.key("cycle_ms"), line.cycle_ms, 1, 60_000, "ms");
    range(
        f,
        0,
        p.key("load_warn_percent"),
        line.load_warn_percent,
        1,
        100,
        "%",
    );
    if line.api_listen.parse::<std::net::SocketAddr>().is_err() {
        f.push(
            Finding::error(
                0,
                p.key("api_listen"),
                format!("\"{}\" is not ip:port", line.api_listen),
            )
            .hint("e.g. \"127.0.0.1:7010\""),
        );
    }
}

fn find_profile<'p>(
    drive: &DriveConfig,
    p: &Path,
    profiles: &'p ProfileSet,
    d: &Decoded,
    f: &mut Vec<Finding>,
) -> Option<&'p Profile> {
    let (name, version) = (&drive.profile.name, &drive.profile.version);
    if let Some(lp) = profiles.get(&(name.clone(), version.clone())) {
        return Some(&lp.profile);
    }
    if d.broken_profiles.contains(name) {
        return None;
    }
    let versions: Vec<&str> = profiles
        .keys()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .collect();
    if versions.is_empty() {
        let mut names: Vec<&str> = profiles.keys().map(|(n, _)| n.as_str()).collect();
        names.dedup();
        f.push(
            Finding::error(
                0,
                p.key("profile").key("name"),
                format!("unknown profile \"{name}\""),
            )
            .suggest(name, names),
        );
    } else {
        f.push(
            Finding::error(
                0,
                p.key("profile").key("version"),
                format!("profile \"{name}\" has no version \"{version}\""),
            )
            .hint(format!("available: {}", versions.join(", "))),
        );
    }
    None
}

fn check_address(drive: &DriveConfig, bus: &BusConfig, p: &Path, f: &mut Vec<Finding>) {
    let AddressRange { lo, hi, what } = bus.options().addresses();
    if drive.address < lo || drive.address > hi {
        f.push(Finding::error(
            0,
            p.key("address"),
            format!(
                "{what} {} is out of range; allowed {lo}–{hi}",
                drive.address
            ),
        ));
    }
}

/// A drive's own response timeout is a Modbus option.
fn check_response_timeout(drive: &DriveConfig, bus: &BusConfig, p: &Path, f: &mut Vec<Finding>) {
    if drive.response_timeout_ms.is_none() || bus.options().unit_response_timeout() {
        return;
    }
    let kind = bus
        .options()
        .label()
        .unwrap_or_else(|| bus.bus_type().name().to_owned());
    f.push(
        Finding::error(
            0,
            p.key("response_timeout_ms"),
            format!(
                "bus \"{}\" is {kind}; a drive's own response_timeout_ms applies on Modbus buses only",
                bus.id()
            ),
        )
        .hint("remove it; this bus's timeouts are set in its [[bus]] section"),
    );
}

/// A profile must speak what its bus carries.
fn check_fit(profile: &Profile, bus: &BusConfig, p: &Path, f: &mut Vec<Finding>) {
    let want = profile.profile.protocol;
    let options = bus.options();
    if want != options.protocol() {
        let kind = options
            .label()
            .unwrap_or_else(|| bus.bus_type().name().to_owned());
        f.push(
            Finding::error(
                0,
                p.key("profile").key("name"),
                format!(
                    "profile \"{}\" speaks {}, but bus \"{}\" is {kind}",
                    profile.profile.name,
                    want.name(),
                    bus.id()
                ),
            )
            .hint(options.fit_hint()),
        );
    }
}

fn check_limits(drive: &DriveConfig, p: &Path, f: &mut Vec<Finding>) {
    let l = &drive.limits;
    let p = p.key("limits");
    for (key, v) in [
        ("velocity_max", l.velocity_max),
        ("acceleration_max", l.acceleration_max),
    ] {
        if let Some(v) = v
            && !(v.is_finite() && v > 0.0)
        {
            f.push(Finding::error(
                0,
                p.key(key),
                format!("{v} must be a positive number"),
            ));
        }
    }
    if let (Some(lo), Some(hi)) = (l.position_min, l.position_max)
        && lo >= hi
    {
        f.push(Finding::error(
            0,
            p.key("position_max"),
            format!("position_max ({hi}) must be greater than position_min ({lo})"),
        ));
    }
}

fn check_parameters(drive: &DriveConfig, profile: &Profile, p: &Path, f: &mut Vec<Finding>) {
    for (name, value) in &drive.parameters {
        let path = p.key("parameters").key(name.clone());
        let Some(def) = profile.parameters.get(name) else {
            let known = profile.parameters.keys().map(String::as_str);
            f.push(
                Finding::error(
                    0,
                    path,
                    format!(
                        "profile \"{}\" has no parameter \"{name}\"",
                        profile.profile.name
                    ),
                )
                .suggest(name, known),
            );
            continue;
        };
        let lo = def.min.unwrap_or(f64::NEG_INFINITY);
        let hi = def.max.unwrap_or(f64::INFINITY);
        if !value.is_finite() || *value < lo || *value > hi {
            let unit = if def.unit.is_empty() {
                String::new()
            } else {
                format!(" {}", def.unit)
            };
            f.push(Finding::error(
                0,
                path,
                format!(
                    "{value}{unit} is out of the profile's range {}–{}{unit}",
                    fmt_bound(def.min),
                    fmt_bound(def.max)
                ),
            ));
        }
    }
}

fn fmt_bound(b: Option<f64>) -> String {
    b.map_or("∞".to_owned(), |v| v.to_string())
}
