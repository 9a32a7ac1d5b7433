//! One PDO as the EDS defines it: its mapping (a DCF's `ParameterValue` first), whether a
//! master may write it, its communication parameters, and the points its entries map.

use super::points::Points;
use crate::eds::Number;
use crate::eds::object::Eds;
use crate::pdo::{COB_ID_INVALID, MappingEntry, PdoKind};

/// One PDO as the EDS defines it.
#[derive(Debug, Clone)]
pub(super) struct Slot {
    pub(super) number: u8,
    /// Entries its mapping object can hold.
    pub(super) room: usize,
    /// Why a master cannot re-map it (an object that is not writable).
    pub(super) fixed: Option<String>,
    pub(super) enabled: bool,
    pub(super) cob_id: Option<Number>,
    pub(super) transmission: Option<i128>,
    pub(super) entries: Vec<MappingEntry>,
}

pub(crate) fn label(kind: PdoKind) -> &'static str {
    match kind {
        PdoKind::Rpdo => "RPDO",
        PdoKind::Tpdo => "TPDO",
    }
}

fn bases(kind: PdoKind) -> (u16, u16) {
    match kind {
        PdoKind::Rpdo => (0x1400, 0x1600),
        PdoKind::Tpdo => (0x1800, 0x1A00),
    }
}

pub(super) fn slot(eds: &Eds, kind: PdoKind, number: u8, notes: &mut Vec<String>) -> Option<Slot> {
    let (comm, map) = bases(kind);
    let (comm, map) = (comm + u16::from(number) - 1, map + u16::from(number) - 1);
    if !eds.objects.contains_key(&map) {
        return None;
    }
    let fixed_value = |index: u16, sub: u8| eds.sub(index, sub)?.number()?.fixed();
    let count = match fixed_value(map, 0) {
        Some(n) => usize::try_from(n.clamp(0, 64)).unwrap_or(0),
        None => {
            let n = (1..=64)
                .take_while(|i| fixed_value(map, *i).is_some_and(|v| v != 0))
                .count();
            notes.push(format!(
                "0x{map:04X}:00 has no value; {n} mapped entries assumed from the sub-objects"
            ));
            n
        }
    };
    let mut entries = Vec::new();
    for i in 1..=count {
        let sub = u8::try_from(i).unwrap_or(u8::MAX);
        match fixed_value(map, sub).and_then(|v| u32::try_from(v).ok()) {
            Some(v) if v != 0 => entries.push(MappingEntry::from_u32(v)),
            _ => notes.push(format!(
                "0x{map:04X}:{sub:02X} is counted in 0x{map:04X}:00 but has no mapping value; skipped"
            )),
        }
    }
    let writable = |index: u16, sub: u8| eds.sub(index, sub).is_some_and(|s| s.access.writable());
    let mut locked: Vec<(u16, u8)> = vec![(map, 0)];
    locked.extend((1..=count).map(|i| (map, u8::try_from(i).unwrap_or(u8::MAX))));
    locked.extend([(comm, 1), (comm, 2)]);
    let fixed = locked
        .into_iter()
        .filter(|(i, s)| eds.sub(*i, *s).is_some() || (*i, *s) == (map, 0))
        .find(|(i, s)| !writable(*i, *s))
        .map(|(i, s)| {
            let access = eds.sub(i, s).map_or("missing", |o| o.access.name());
            format!("0x{i:04X}:{s:02X} is {access}")
        });
    let cob_id = eds.sub(comm, 1).and_then(|s| s.number());
    // How many entries the mapping may hold: sub 0's HighLimit, else the entry subs it defines.
    let high = eds.sub(map, 0).and_then(|s| s.high_limit?.fixed());
    let defined = eds.objects[&map]
        .subs
        .keys()
        .filter(|s| **s > 0)
        .max()
        .map_or(0, |s| i128::from(*s));
    let room = usize::try_from(high.unwrap_or(defined).clamp(0, 8))
        .unwrap_or(0)
        .max(entries.len().min(8));
    Some(Slot {
        number,
        room,
        fixed,
        enabled: cob_id.is_none_or(|c| c.base & i128::from(COB_ID_INVALID) == 0),
        cob_id,
        transmission: fixed_value(comm, 2),
        entries,
    })
}

/// The point an entry maps, checked against what a profile PDO can carry.
pub(super) fn entry_point(
    eds: &Eds,
    kind: PdoKind,
    s: &Slot,
    e: MappingEntry,
    points: &mut Points,
) -> Result<(String, u8), String> {
    let at = format!(
        "{} {} entry 0x{:04X}:{:02X}",
        label(kind),
        s.number,
        e.index,
        e.subindex
    );
    let loss = if s.fixed.is_some() {
        "; the profile's PDO will differ from the drive's fixed one"
    } else {
        ""
    };
    if (0x0001..=0x0007).contains(&e.index) {
        return Err(format!(
            "{at} is a dummy entry ({} bits), which a profile cannot express{loss}",
            e.bits
        ));
    }
    let p = points
        .add(eds, e.index, e.subindex)
        .map_err(|why| format!("{at}: {why}{loss}"))?;
    if p.bits != e.bits {
        return Err(format!(
            "{at} maps {} bits but the object is {} ({} bits){loss}",
            e.bits, p.ty, p.bits
        ));
    }
    // linevisor reads every RPDO object back at boot to start its image from the drive's values.
    let why = match kind {
        PdoKind::Rpdo if !p.access.writable() => Some("an RPDO only carries writable objects"),
        PdoKind::Rpdo if !p.access.readable() => Some("linevisor reads RPDO objects back at boot"),
        PdoKind::Tpdo if !p.access.readable() => Some("a TPDO only carries readable objects"),
        _ => None,
    };
    if let (Some(why), None) = (why, &s.fixed) {
        return Err(format!(
            "{at} ({}) is {}: {why}; dropped",
            p.name,
            p.access.name()
        ));
    }
    Ok((p.name.clone(), p.bits))
}

pub(super) fn describe(kind: PdoKind, s: &Slot, node: Option<u8>) -> String {
    let (comm, map) = bases(kind);
    let n = u16::from(s.number) - 1;
    let mut text = format!(
        "{} {} (0x{:04X}/0x{:04X})",
        label(kind),
        s.number,
        comm + n,
        map + n
    );
    match &s.fixed {
        Some(why) => text.push_str(&format!(": fixed ({why})")),
        None => text.push_str(": writable"),
    }
    if let Some(c) = s.cob_id {
        text.push_str(&format!(", COB-ID {c}"));
        if let (true, Some(node)) = (c.plus_node_id, node) {
            text.push_str(&format!(" = 0x{:X}", c.resolve(node)));
        }
    }
    if !s.enabled {
        text.push_str(", disabled by default (COB-ID bit 31)");
    }
    if let Some(t) = s.transmission {
        text.push_str(&format!(", transmission type {t}"));
    }
    text
}
