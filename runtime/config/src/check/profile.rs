//! Profile checks: every name a section uses is a point, points carry the addressing their
//! protocol needs, masks and PDO sizes make sense.

use crate::diag::{Finding, Path};
use crate::model::{CommandEncoding, FaultResetMethod, PowerState, Profile, Protocol};

/// Checks one decoded profile from file `file`.
pub(crate) fn check(pr: &Profile, file: usize, f: &mut Vec<Finding>) {
    let root = Path::root();
    let h = &pr.profile;
    let name_ok = !h.name.is_empty()
        && h.name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !name_ok {
        f.push(Finding::error(
            file,
            root.key("profile").key("name"),
            format!("invalid profile name \"{}\"", h.name),
        ));
    }
    let parts: Vec<&str> = h.version.split('.').collect();
    if parts.len() > 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()))
    {
        f.push(
            Finding::error(
                file,
                root.key("profile").key("version"),
                format!("invalid version \"{}\"", h.version),
            )
            .hint("use MAJOR[.MINOR[.PATCH]], e.g. \"1.2\""),
        );
    }
    check_points(pr, file, f);
    check_sections(pr, file, f);
    super::cyclic::check(pr, file, f);
    super::modbus::check(pr, file, f);
    super::serial::check(pr, file, f);
    super::homing::check(pr, file, f);
    let mut refs: Vec<(Path, &str)> = vec![(root.key("command").key("point"), &pr.command.point)];
    refs.push((root.key("status").key("point"), &pr.status.point));
    for (i, r) in pr.status.states.iter().enumerate() {
        if let Some(pt) = &r.point {
            refs.push((root.key("status").key("states").index(i).key("point"), pt));
        }
    }
    let opt = [
        (
            root.key("command").key("mode_point"),
            &pr.command.mode_point,
        ),
        (root.key("fault").key("code"), &pr.fault.code),
        (
            root.key("fault").key("reset").key("point"),
            &pr.fault.reset.point,
        ),
        (
            root.key("setpoints").key("velocity"),
            &pr.setpoints.velocity,
        ),
        (
            root.key("setpoints").key("position"),
            &pr.setpoints.position,
        ),
        (
            root.key("setpoints").key("profile_velocity"),
            &pr.setpoints.profile_velocity,
        ),
        (
            root.key("telemetry").key("velocity"),
            &pr.telemetry.velocity,
        ),
        (
            root.key("telemetry").key("position"),
            &pr.telemetry.position,
        ),
        (root.key("telemetry").key("current"), &pr.telemetry.current),
        (root.key("telemetry").key("torque"), &pr.telemetry.torque),
        (
            root.key("homing").key("method_point"),
            &pr.homing.as_ref().and_then(|h| h.method_point.clone()),
        ),
    ];
    let owned: Vec<(Path, String)> = opt
        .into_iter()
        .filter_map(|(p, v)| v.clone().map(|v| (p, v)))
        .collect();
    refs.extend(owned.iter().map(|(p, v)| (p.clone(), v.as_str())));
    if let Some(poll) = &pr.poll {
        for (i, pt) in poll.points.iter().enumerate() {
            refs.push((root.key("poll").key("points").index(i), pt));
        }
    }
    for (name, def) in &pr.parameters {
        refs.push((
            root.key("parameters").key(name.clone()).key("point"),
            &def.point,
        ));
    }
    for (i, pt) in pr.identity.iter().enumerate() {
        refs.push((root.key("identity").index(i), pt));
    }
    if let Some(co) = &pr.canopen {
        for (dir, pdos) in [("rpdo", &co.rpdo), ("tpdo", &co.tpdo)] {
            for (i, pdo) in pdos.iter().enumerate() {
                for (j, pt) in pdo.iter().enumerate() {
                    refs.push((root.key("canopen").key(dir).index(i).index(j), pt));
                }
            }
        }
    }
    for (path, name) in refs {
        if !pr.points.contains_key(name) {
            f.push(
                Finding::error(file, path, format!("unknown point \"{name}\""))
                    .suggest(name, pr.points.keys().map(String::as_str)),
            );
        }
    }
    let writable = |n: &str| pr.points.get(n).is_none_or(|p| p.access.writable());
    if !writable(&pr.command.point) {
        f.push(Finding::error(
            file,
            root.key("command").key("point"),
            format!("point \"{}\" is read-only", pr.command.point),
        ));
    }
    for (name, def) in &pr.parameters {
        let rw = pr
            .points
            .get(&def.point)
            .is_none_or(|p| p.access == crate::model::Access::Rw);
        if !rw {
            f.push(Finding::error(
                file,
                root.key("parameters").key(name.clone()).key("point"),
                format!(
                    "point \"{}\" must be rw to be downloaded and verified",
                    def.point
                ),
            ));
        }
    }
}

fn check_points(pr: &Profile, file: usize, f: &mut Vec<Finding>) {
    for (name, pt) in &pr.points {
        let p = Path::root().key("points").key(name.clone());
        if !(pt.scale.is_finite() && pt.scale != 0.0 && pt.offset.is_finite()) {
            f.push(Finding::error(
                file,
                p.key("scale"),
                "scale must be a non-zero finite number",
            ));
        }
        match pr.profile.protocol {
            Protocol::Modbus => match pt.register {
                None => f.push(Finding::error(
                    file,
                    p.clone(),
                    "a modbus point needs register",
                )),
                Some(r)
                    if r > 65_535 + u32::from(pr.modbus.as_ref().map_or(0, |m| m.address_base)) =>
                {
                    f.push(Finding::error(
                        file,
                        p.key("register"),
                        format!("register {r} is beyond 65535"),
                    ))
                }
                Some(_) => {}
            },
            Protocol::Canopen if pt.index.is_none() => f.push(Finding::error(
                file,
                p.clone(),
                "a canopen point needs index (and subindex)",
            )),
            Protocol::Serial if pt.access.readable() && pt.read.is_none() => f.push(
                Finding::error(file, p.clone(), "a readable serial point needs read"),
            ),
            Protocol::Serial
                if pt.access.writable() && pt.write.is_none() && pt.write_values.is_empty() =>
            {
                f.push(Finding::error(
                    file,
                    p.clone(),
                    "a writable serial point needs write or write_values",
                ))
            }
            _ => {}
        }
    }
}

fn check_sections(pr: &Profile, file: usize, f: &mut Vec<Finding>) {
    let root = Path::root();
    let needs = |present: bool, section: &str, f: &mut Vec<Finding>| {
        if !present {
            f.push(Finding::error(
                file,
                root.key("profile").key("protocol"),
                format!(
                    "protocol {} needs a [{section}] section",
                    pr.profile.protocol.name()
                ),
            ));
        }
    };
    match pr.profile.protocol {
        Protocol::Modbus => {
            needs(pr.modbus.is_some(), "modbus", f);
            needs(pr.poll.is_some(), "poll", f);
        }
        Protocol::Canopen => needs(pr.canopen.is_some(), "canopen", f),
        Protocol::Serial => {
            needs(pr.serial.is_some(), "serial", f);
            needs(pr.poll.is_some(), "poll", f);
        }
    }
    if let Some(m) = &pr.modbus
        && m.address_base > 1
    {
        f.push(Finding::error(
            file,
            root.key("modbus").key("address_base"),
            "address_base is 0 or 1",
        ));
    }
    if let Some(co) = &pr.canopen {
        for (dir, pdos) in [("rpdo", &co.rpdo), ("tpdo", &co.tpdo)] {
            if pdos.len() > 4 {
                f.push(Finding::error(
                    file,
                    root.key("canopen").key(dir),
                    format!("{} PDOs; the predefined set has 4", pdos.len()),
                ));
            }
            for (i, pdo) in pdos.iter().enumerate() {
                let bits: u32 = pdo
                    .iter()
                    .filter_map(|n| pr.points.get(n))
                    .map(|p| p.data_type.bits())
                    .sum();
                if bits > 64 {
                    f.push(Finding::error(
                        file,
                        root.key("canopen").key(dir).index(i),
                        format!("{} bits mapped; a PDO carries at most 64", bits),
                    ));
                }
            }
        }
    }
    for (i, r) in pr.status.states.iter().enumerate() {
        if r.value & !r.mask != 0 {
            f.push(Finding::error(
                file,
                root.key("status").key("states").index(i).key("value"),
                format!(
                    "value 0x{:04X} has bits outside mask 0x{:04X}; it can never match",
                    r.value, r.mask
                ),
            ));
        }
    }
    for needed in [PowerState::OperationEnabled, PowerState::Fault] {
        if !pr.status.states.iter().any(|r| r.state == needed) {
            f.push(Finding::error(
                file,
                root.key("status").key("states"),
                format!("no rule decodes {needed:?}"),
            ));
        }
    }
    if pr.command.encoding == CommandEncoding::Enumerated {
        for code in ["enable", "stop"] {
            if !pr.command.codes.contains_key(code) {
                f.push(Finding::error(
                    file,
                    root.key("command").key("codes"),
                    format!("enumerated encoding needs a code for \"{code}\""),
                ));
            }
        }
    }
    const KNOWN: [&str; 5] = ["enable", "enable_reverse", "disable", "stop", "quick_stop"];
    for code in pr.command.codes.keys() {
        if !KNOWN.contains(&code.as_str()) {
            f.push(
                Finding::error(
                    file,
                    root.key("command").key("codes").key(code.clone()),
                    format!("unknown command \"{code}\""),
                )
                .suggest(code, KNOWN),
            );
        }
    }
    let reset = &pr.fault.reset;
    let rp = root.key("fault").key("reset");
    match reset.method {
        FaultResetMethod::ControlwordEdge if pr.command.encoding != CommandEncoding::Cia402 => {
            f.push(Finding::error(
                file,
                rp.key("method"),
                "controlword_edge needs command encoding cia402",
            ));
        }
        FaultResetMethod::PulseBit if reset.point.is_none() || reset.bit.is_none() => {
            f.push(Finding::error(
                file,
                rp.clone(),
                "pulse_bit needs point and bit",
            ));
        }
        FaultResetMethod::WriteValue if reset.point.is_none() || reset.value.is_none() => {
            f.push(Finding::error(
                file,
                rp.clone(),
                "write_value needs point and value",
            ));
        }
        _ => {}
    }
    if let Some(b) = reset.bit {
        super::range(f, file, rp.key("bit"), b, 0, 31, "");
    }
}
