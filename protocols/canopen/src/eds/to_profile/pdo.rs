//! The PDO sets of the skeleton, from the default mapping 0x1600–0x1603 / 0x1A00–0x1A03 and
//! communication 0x1400–0x1403 / 0x1800–0x1803.
//!
//! A writable set is packed by linevisor (which writes the mapping at boot): the objects the
//! enabled PDOs carry by default, each once, then what linevisor reads every cycle, into the
//! PDOs the drive has, as many entries as each mapping object holds. A set with one fixed PDO
//! keeps every PDO at its number as the drive has it: that is what a master must match.

use super::points::Points;
use super::slot::{Slot, describe, entry_point, slot};
use crate::eds::object::Eds;
use crate::pdo::PdoKind;

pub(crate) use super::slot::label;

/// One PDO of the skeleton (its number is its position).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PdoOut {
    pub(crate) fixed: bool,
    /// Entries it may carry.
    room: usize,
    pub(crate) names: Vec<String>,
    pub(crate) bits: u32,
    /// The drive's PDO at this number: COB-ID, transmission type, writability, default.
    pub(crate) comment: String,
}

impl PdoOut {
    fn fits(&self, bits: u8) -> bool {
        !self.fixed && self.names.len() < self.room && self.bits + u32::from(bits) <= 64
    }

    fn push(&mut self, name: String, bits: u8) {
        self.names.push(name);
        self.bits += u32::from(bits);
    }
}

/// The RPDOs or TPDOs of the skeleton.
#[derive(Debug, Clone)]
pub(crate) struct PdoSet {
    pub(crate) kind: PdoKind,
    pub(crate) pdos: Vec<PdoOut>,
    /// At least one PDO's mapping cannot be written: numbers are the drive's.
    pub(crate) positional: bool,
}

impl PdoSet {
    /// Reads the set of `kind` and turns its entries into points; `notes` gets what was lost.
    pub(crate) fn read(
        eds: &Eds,
        kind: PdoKind,
        points: &mut Points,
        notes: &mut Vec<String>,
    ) -> Self {
        let slots: Vec<Slot> = (1..=4).filter_map(|n| slot(eds, kind, n, notes)).collect();
        let positional = slots.iter().any(|s| s.fixed.is_some());
        let last = slots.last().map_or(0, |s| s.number);
        let mut set = Self {
            kind,
            pdos: (1..=last)
                .map(|n| match slots.iter().find(|s| s.number == n) {
                    Some(s) => PdoOut {
                        fixed: s.fixed.is_some(),
                        room: if s.enabled || !positional { s.room } else { 0 },
                        names: Vec::new(),
                        bits: 0,
                        comment: describe(kind, s, eds.node_id),
                    },
                    None => PdoOut {
                        fixed: true,
                        room: 0,
                        names: Vec::new(),
                        bits: 0,
                        comment: format!("{} {n}: not in the EDS", label(kind)),
                    },
                })
                .collect(),
            positional,
        };
        for s in slots.iter().filter(|s| s.enabled) {
            let mut default = Vec::new();
            for e in &s.entries {
                match entry_point(eds, kind, s, *e, points) {
                    Ok((name, bits)) => {
                        default.push(name.clone());
                        if positional {
                            set.pdos[usize::from(s.number) - 1].push(name, bits);
                        } else if !set.contains(&name) {
                            // Once only: a second RPDO copy would carry a stale value.
                            if let Err(why) = set.pack(&name, bits) {
                                notes.push(format!("{} {name}: {why}; dropped", label(kind)));
                            }
                        }
                    }
                    Err(why) => notes.push(why),
                }
            }
            if !positional {
                let p = &mut set.pdos[usize::from(s.number) - 1];
                let default = if default.is_empty() {
                    "nothing".to_owned()
                } else {
                    default.join(", ")
                };
                p.comment.push_str(&format!("; EDS default: {default}"));
            }
        }
        if positional && kind == PdoKind::Rpdo {
            set.note_fixed_duplicates(notes);
        }
        set
    }

    /// Whether a PDO carries `name`.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.pdos.iter().any(|p| p.names.iter().any(|n| n == name))
    }

    /// Adds `name` for linevisor to the first writable PDO with room; returns its number.
    pub(crate) fn place(&mut self, name: &str, bits: u8) -> Result<usize, String> {
        let n = self.pack(name, bits)?;
        let p = &mut self.pdos[n - 1];
        p.comment.push_str(&format!("; + {name} for linevisor"));
        Ok(n)
    }

    fn pack(&mut self, name: &str, bits: u8) -> Result<usize, String> {
        match self.pdos.iter().position(|p| p.fits(bits)) {
            Some(i) => {
                self.pdos[i].push(name.to_owned(), bits);
                Ok(i + 1)
            }
            None if self.positional => Err(format!(
                "no writable {} has room (the mapping is fixed)",
                label(self.kind)
            )),
            None => Err(format!("no {} has room", label(self.kind))),
        }
    }

    /// linevisor updates the first RPDO entry of a point; other copies keep their boot value.
    fn note_fixed_duplicates(&self, notes: &mut Vec<String>) {
        let mut seen: Vec<&String> = Vec::new();
        for name in self.pdos.iter().flat_map(|p| &p.names) {
            let note = format!(
                "{name} is in several fixed RPDOs; linevisor writes only its first copy, the others keep their first value"
            );
            if seen.contains(&name) && !notes.contains(&note) {
                notes.push(note);
            }
            seen.push(name);
        }
    }
}
