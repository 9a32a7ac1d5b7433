//! Which points fill the profile's roles: modes, setpoints, telemetry, fault code, parameters,
//! homing. What linevisor reads every cycle must be in a TPDO: a writable mapping takes it,
//! a fixed one leaves the role unset with the reason.

use super::cia402::modes;
use super::pdo::{PdoSet, label};
use super::points::Points;
use crate::eds::object::{AccessType, Eds};

/// A role and the point that fills it, or why none does.
#[derive(Debug, Clone)]
pub(crate) struct Role {
    pub(crate) key: &'static str,
    pub(crate) point: Result<String, String>,
}

/// A downloadable parameter.
#[derive(Debug, Clone)]
pub(crate) struct Param {
    pub(crate) point: String,
    pub(crate) min: Option<i128>,
    pub(crate) max: Option<i128>,
}

/// Every role of the skeleton.
#[derive(Debug, Clone)]
pub(crate) struct Roles {
    pub(crate) mode_point: Option<String>,
    pub(crate) velocity_mode: Option<(i32, &'static str)>,
    pub(crate) position_mode: Option<(i32, &'static str)>,
    pub(crate) fault_code: Role,
    pub(crate) setpoints: Vec<Role>,
    pub(crate) telemetry: Vec<Role>,
    pub(crate) parameters: Vec<Param>,
    pub(crate) homing: Option<String>,
    /// 0x6502, when the EDS gives it.
    pub(crate) supported_modes: Option<u32>,
}

impl Roles {
    pub(crate) fn choose(
        eds: &Eds,
        points: &Points,
        tpdo: &mut PdoSet,
        notes: &mut Vec<String>,
    ) -> Self {
        let supported_modes = eds
            .sub(0x6502, 0)
            .and_then(|s| s.number()?.fixed())
            .and_then(|v| u32::try_from(v).ok());
        let has = |(bit, _): (u32, i32)| supported_modes.is_none_or(|m| m & (1 << bit) != 0);
        let writable = |index: u16| {
            points
                .at(index, 0)
                .filter(|p| p.access.writable())
                .map(|p| p.name.clone())
        };
        let mode_point = writable(0x6060);
        // Velocity: profile velocity, else cyclic synchronous velocity, else vl (0x6042).
        let velocity = [
            (modes::PV, 0x60FF, 0x606C, "profile velocity"),
            (modes::CSV, 0x60FF, 0x606C, "cyclic synchronous velocity"),
            (modes::VL, 0x6042, 0x6044, "velocity (vl)"),
        ]
        .into_iter()
        .find(|(m, target, _, _)| has(*m) && writable(*target).is_some());
        let position = [
            (modes::PP, "profile position"),
            (modes::CSP, "cyclic synchronous position"),
        ]
        .into_iter()
        .find(|(m, _)| has(*m) && writable(0x607A).is_some());
        let with_modes = mode_point.is_some();
        if !with_modes {
            notes.push("no writable modes of operation 0x6060: the drive's mode cannot be selected, so no velocity_mode/position_mode".into());
        }
        let status = cyclic(points, tpdo, 0x6041, notes);
        if let Err(why) = status {
            notes.push(format!(
                "statusword: {why}; `linevisor check` rejects a status point outside the TPDOs"
            ));
        }
        let fault_code = Role {
            key: "code",
            point: cyclic(points, tpdo, 0x603F, notes),
        };
        let actual_velocity = velocity.map_or(0x606C, |v| v.2);
        let telemetry = [
            ("velocity", actual_velocity),
            ("position", 0x6064),
            ("torque", 0x6077),
            ("current", 0x6078),
        ]
        .into_iter()
        .map(|(key, index)| Role {
            key,
            point: cyclic(points, tpdo, index, notes),
        })
        .collect();
        let set = |key, point: Option<String>, why: &str| Role {
            key,
            point: point.ok_or_else(|| why.to_owned()),
        };
        let setpoints = vec![
            set(
                "velocity",
                velocity.and_then(|v| writable(v.1)),
                "no writable target velocity (0x60FF, or 0x6042 in vl mode) for a supported velocity mode",
            ),
            set(
                "position",
                position.and_then(|_| writable(0x607A)),
                "no writable target position 0x607A for a supported position mode",
            ),
            set(
                "profile_velocity",
                position.and_then(|_| writable(0x6081)),
                "no writable profile velocity 0x6081",
            ),
        ];
        let parameters = [0x6083u16, 0x6084, 0x6085]
            .into_iter()
            .filter_map(|index| {
                let p = points.at(index, 0)?;
                let rw = matches!(p.access, AccessType::Rw | AccessType::Rwr | AccessType::Rww);
                let s = eds.sub(index, 0)?;
                rw.then(|| Param {
                    point: p.name.clone(),
                    min: s.low_limit.and_then(|n| n.fixed()),
                    max: s.high_limit.and_then(|n| n.fixed()),
                })
            })
            .collect();
        let homing = writable(0x6098).filter(|_| with_modes && has(modes::HM));
        Self {
            mode_point: mode_point.clone(),
            velocity_mode: velocity.filter(|_| with_modes).map(|v| (v.0.1, v.3)),
            position_mode: position.filter(|_| with_modes).map(|p| (p.0.1, p.1)),
            fault_code,
            setpoints,
            telemetry,
            parameters,
            homing,
            supported_modes,
        }
    }
}

/// The point at `index` in a TPDO: already there, or added when the mapping is writable.
fn cyclic(
    points: &Points,
    tpdo: &mut PdoSet,
    index: u16,
    notes: &mut Vec<String>,
) -> Result<String, String> {
    let Some(p) = points.at(index, 0) else {
        return Err(format!("the EDS has no usable 0x{index:04X}"));
    };
    if tpdo.contains(&p.name) {
        return Ok(p.name.clone());
    }
    if !p.pdo_mapping {
        let why = format!(
            "0x{index:04X} ({}) may not be mapped into a PDO (PDOMapping=0)",
            p.name
        );
        notes.push(format!("not read every cycle: {why}"));
        return Err(why);
    }
    match tpdo.place(&p.name, p.bits) {
        Ok(n) => {
            notes.push(format!(
                "{} added to {} {n} (not in the EDS default mapping), so that linevisor reads it every cycle",
                p.name,
                label(tpdo.kind)
            ));
            Ok(p.name.clone())
        }
        Err(why) => {
            let why = format!("0x{index:04X} ({}) is in no TPDO and {why}", p.name);
            notes.push(format!("not read every cycle: {why}"));
            Err(why)
        }
    }
}
