//! What a drive reads every cycle must be carried every cycle, and what it writes to move the
//! drive must be writable.

use crate::diag::{Finding, Path};
use crate::model::{Profile, Protocol};

/// What the drive actor reads every cycle must be polled (Modbus, serial) or in a TPDO (CANopen),
/// and what it writes to move the drive must be writable.
pub(crate) fn check(pr: &Profile, file: usize, f: &mut Vec<Finding>) {
    let root = Path::root();
    let cyclic: Vec<&str> = match pr.profile.protocol {
        Protocol::Canopen => pr
            .canopen
            .iter()
            .flat_map(|c| c.tpdo.iter().flatten())
            .map(String::as_str)
            .collect(),
        _ => pr
            .poll
            .iter()
            .flat_map(|p| &p.points)
            .map(String::as_str)
            .collect(),
    };
    let carrier = if pr.profile.protocol == Protocol::Canopen {
        "a TPDO"
    } else {
        "[poll] points"
    };
    let mut needed: Vec<(Path, &str)> =
        vec![(root.key("status").key("point"), pr.status.point.as_str())];
    for (i, r) in pr.status.states.iter().enumerate() {
        if let Some(p) = &r.point {
            needed.push((root.key("status").key("states").index(i).key("point"), p));
        }
    }
    let t = &pr.telemetry;
    for (key, v) in [
        ("velocity", &t.velocity),
        ("position", &t.position),
        ("current", &t.current),
        ("torque", &t.torque),
    ] {
        if let Some(v) = v {
            needed.push((root.key("telemetry").key(key), v));
        }
    }
    if let Some(c) = &pr.fault.code {
        needed.push((root.key("fault").key("code"), c));
    }
    for (path, name) in needed {
        if pr.points.contains_key(name) && !cyclic.contains(&name) {
            f.push(
                Finding::error(
                    file,
                    path,
                    format!("point \"{name}\" is read every cycle but not in {carrier}"),
                )
                .hint(format!("add \"{name}\" to {carrier}")),
            );
        }
    }
    let s = &pr.setpoints;
    for (key, v) in [
        ("velocity", &s.velocity),
        ("position", &s.position),
        ("profile_velocity", &s.profile_velocity),
    ] {
        if let Some(v) = v
            && pr.points.get(v).is_some_and(|p| !p.access.writable())
        {
            f.push(Finding::error(
                file,
                root.key("setpoints").key(key),
                format!("point \"{v}\" is read-only"),
            ));
        }
    }
}
