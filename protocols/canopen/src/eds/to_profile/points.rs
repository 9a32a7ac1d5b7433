//! The profile's points: which sub-objects can be one (a profile type exists for their data
//! type), their names (CiA 402 names first, then the EDS's own, made unique) and access.

use std::collections::{BTreeMap, BTreeSet};

use super::cia402;
use crate::eds::object::{AccessType, DataType, Eds, ObjectKind, SubObject};

/// One point of the skeleton.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PointSpec {
    pub(crate) name: String,
    pub(crate) index: u16,
    pub(crate) subindex: u8,
    /// Profile type (`u16` …).
    pub(crate) ty: &'static str,
    pub(crate) bits: u8,
    pub(crate) access: AccessType,
    /// May be mapped into a PDO.
    pub(crate) pdo_mapping: bool,
    /// The EDS's parameter name and limits.
    pub(crate) comment: String,
}

impl PointSpec {
    /// `r`, `w` or `rw` as the profile writes it.
    pub(crate) fn profile_access(&self) -> &'static str {
        match self.access {
            AccessType::Ro | AccessType::Const => "r",
            AccessType::Wo => "w",
            AccessType::Rw | AccessType::Rwr | AccessType::Rww => "rw",
        }
    }
}

/// The points chosen so far, by object and by name.
#[derive(Debug, Default)]
pub(crate) struct Points {
    by_object: BTreeMap<(u16, u8), PointSpec>,
    names: BTreeSet<String>,
}

impl Points {
    /// Makes `index:sub` a point (once); the error says why it cannot be one.
    pub(crate) fn add(&mut self, eds: &Eds, index: u16, sub: u8) -> Result<&PointSpec, String> {
        if self.by_object.contains_key(&(index, sub)) {
            return Ok(&self.by_object[&(index, sub)]);
        }
        let object = eds
            .objects
            .get(&index)
            .ok_or_else(|| format!("0x{index:04X} is not in the EDS"))?;
        let s = object
            .subs
            .get(&sub)
            .ok_or_else(|| format!("0x{index:04X}:{sub:02X} is not in the EDS"))?;
        let (ty, bits) = profile_type(s.data_type).ok_or_else(|| {
            format!(
                "0x{index:04X}:{sub:02X} is {}, which no profile type holds",
                s.data_type.name()
            )
        })?;
        let name = self.unique(eds, index, sub, object.kind);
        self.names.insert(name.clone());
        let spec = PointSpec {
            name,
            index,
            subindex: sub,
            ty,
            bits,
            access: s.access,
            pdo_mapping: s.pdo_mapping,
            comment: comment(&object.name, s, object.kind),
        };
        Ok(self.by_object.entry((index, sub)).or_insert(spec))
    }

    /// The point of `index:sub`, if it is one.
    pub(crate) fn at(&self, index: u16, sub: u8) -> Option<&PointSpec> {
        self.by_object.get(&(index, sub))
    }

    /// Every point in object order.
    pub(crate) fn all(&self) -> impl Iterator<Item = &PointSpec> {
        self.by_object.values()
    }

    fn unique(&self, eds: &Eds, index: u16, sub: u8, kind: ObjectKind) -> String {
        let object_name = eds.objects.get(&index).map_or("", |o| o.name.as_str());
        let sub_text = eds.sub(index, sub).map_or("", |s| s.name.as_str());
        let known = cia402::sub_name(index, sub).map(str::to_owned).or_else(|| {
            cia402::object_name(index).map(|n| {
                if kind.single() {
                    n.to_owned()
                } else {
                    format!("{n}_{sub}")
                }
            })
        });
        let base = known.unwrap_or_else(|| {
            let object = snake(object_name).unwrap_or_else(|| format!("object_{index:04x}"));
            if kind.single() {
                object
            } else {
                match snake(sub_text) {
                    Some(s) if !s.starts_with(&object) => format!("{object}_{s}"),
                    Some(s) => s,
                    None => format!("{object}_{sub}"),
                }
            }
        });
        if !self.names.contains(&base) {
            return base;
        }
        let tagged = format!("{base}_{index:04x}_{sub}");
        let mut candidate = tagged.clone();
        let mut n = 2;
        while self.names.contains(&candidate) {
            candidate = format!("{tagged}_{n}");
            n += 1;
        }
        candidate
    }
}

/// Profile type and PDO bits of a CiA data type, if a profile can hold it.
pub(crate) fn profile_type(t: DataType) -> Option<(&'static str, u8)> {
    Some(match t.0 {
        // BOOLEAN: one byte by SDO; a 1-bit PDO entry does not fit the byte-aligned mapping.
        0x0001 | 0x0005 => ("u8", 8),
        0x0002 => ("i8", 8),
        0x0003 => ("i16", 16),
        0x0004 => ("i32", 32),
        0x0006 => ("u16", 16),
        0x0007 => ("u32", 32),
        0x0008 => ("f32", 32),
        _ => return None,
    })
}

/// `Velocity actual value` → `velocity_actual_value`; `None` when nothing usable is left.
pub(crate) fn snake(text: &str) -> Option<String> {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    let out = out.trim_end_matches('_').to_owned();
    if out.is_empty() {
        return None;
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        return Some(format!("p_{out}"));
    }
    Some(
        out.chars()
            .take(48)
            .collect::<String>()
            .trim_end_matches('_')
            .to_owned(),
    )
}

fn comment(object_name: &str, s: &SubObject, kind: ObjectKind) -> String {
    let mut text = if kind.single() || s.name.is_empty() {
        object_name.to_owned()
    } else {
        format!("{object_name}: {}", s.name)
    };
    let low = s.low_limit.and_then(|n| n.fixed());
    let high = s.high_limit.and_then(|n| n.fixed());
    if let (Some(l), Some(h)) = (low, high) {
        text.push_str(&format!(" (EDS range {l}..{h})"));
    }
    if s.access == AccessType::Wo {
        text.push_str(" (write only)");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_snake_case() {
        assert_eq!(
            snake("Velocity actual value").unwrap(),
            "velocity_actual_value"
        );
        assert_eq!(
            snake("COB-ID Client -> Server (rx)").unwrap(),
            "cob_id_client_server_rx"
        );
        assert_eq!(snake("2nd field").unwrap(), "p_2nd_field");
        assert_eq!(snake(" - "), None);
        assert_eq!(snake("Müller"), Some("m_ller".into()));
    }
}
