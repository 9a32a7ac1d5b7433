//! [`ProfileCodec`]: a profile made ready to encode and decode: every point's codec, every
//! name reference resolved once, the poll set planned.

use std::collections::BTreeMap;

use linevisor_core::ReadRules;
use linevisor_core::profile::{ModbusSection, Profile, Protocol, WriteFunction};

use crate::{CodecError, PointCodec, ReadPlan};

/// A profile, checked for what the codec needs and ready to use. Cheap to share (`Arc`), no
/// interior state: the caller keeps its own [`crate::CommandState`].
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileCodec {
    profile: Profile,
    points: BTreeMap<String, PointCodec>,
    poll: ReadPlan,
}

/// A write to a named point (protocol-agnostic; see [`ProfileCodec::register_write`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PointWrite {
    /// Point name.
    pub point: String,
    /// Raw bit pattern.
    pub raw: u32,
    /// Engineering value (for logs and read-back comparison).
    pub value: f64,
}

/// A point write as Modbus registers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterWrite {
    /// Protocol address of the first register.
    pub address: u16,
    /// Register values in wire order.
    pub words: Vec<u16>,
    /// FC6 (`Single`, only for one register) or FC16 (`Multiple`).
    pub function: WriteFunction,
}

impl ProfileCodec {
    /// Builds the codec. Fails on what would make encoding or decoding impossible: a name that
    /// is not a point, a Modbus point without a valid register, a zero scale. `linevisor check`
    /// rejects all of these first; the codec re-checks so that it never panics.
    pub fn new(profile: &Profile) -> Result<Self, CodecError> {
        let modbus = match profile.profile.protocol {
            Protocol::Modbus => Some(profile.modbus.clone().unwrap_or_else(default_modbus)),
            _ => None,
        };
        let points = profile
            .points
            .iter()
            .map(|(name, p)| Ok((name.clone(), PointCodec::new(name, p, modbus.as_ref())?)))
            .collect::<Result<BTreeMap<_, _>, CodecError>>()?;
        for (section, name) in references(profile) {
            if !points.contains_key(&name) {
                return Err(CodecError::UnknownPoint {
                    section,
                    point: name,
                });
            }
        }
        let mut codec = Self {
            profile: profile.clone(),
            points,
            poll: ReadPlan::default(),
        };
        if modbus.is_some() {
            let names: Vec<&str> = profile
                .poll
                .iter()
                .flat_map(|p| p.points.iter().map(String::as_str))
                .collect();
            codec.poll = codec.read_plan(&names)?;
        }
        Ok(codec)
    }

    /// The profile.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// `[profile] name`.
    pub fn name(&self) -> &str {
        &self.profile.profile.name
    }

    /// A point's codec.
    pub fn point(&self, name: &str) -> Result<&PointCodec, CodecError> {
        self.points
            .get(name)
            .ok_or_else(|| CodecError::UnknownPoint {
                section: "points".to_owned(),
                point: name.to_owned(),
            })
    }

    /// Every point, by name.
    pub fn points(&self) -> impl Iterator<Item = &PointCodec> {
        self.points.values()
    }

    /// The `[poll]` set as Modbus reads (empty for other protocols).
    pub fn poll_plan(&self) -> &ReadPlan {
        &self.poll
    }

    /// Most registers per read (`[modbus] max_registers_per_read`, 125 by default).
    pub fn max_registers_per_read(&self) -> u16 {
        let max = self
            .profile
            .modbus
            .as_ref()
            .map_or(125, |m| m.max_registers_per_read);
        u16::try_from(max.clamp(1, 125)).unwrap_or(125)
    }

    /// How reads are merged: `[modbus] max_registers_per_read`, `span_gaps` and the points
    /// with `readable_gap = false`.
    pub fn read_rules(&self) -> ReadRules {
        let mut rules = ReadRules::of_profile(&self.profile);
        rules.max_registers = u32::from(self.max_registers_per_read());
        rules
    }

    /// Modbus reads for any set of points (parameter read-back, identity).
    pub fn read_plan(&self, names: &[&str]) -> Result<ReadPlan, CodecError> {
        if self.profile.profile.protocol != Protocol::Modbus {
            return Err(self.unsupported("register reads (not a Modbus profile)"));
        }
        let points = names
            .iter()
            .map(|n| self.point(n))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ReadPlan::build(&points, &self.read_rules()))
    }

    /// Encodes `value` for a writable point.
    pub fn write(&self, point: &str, value: f64) -> Result<PointWrite, CodecError> {
        let codec = self.point(point)?;
        codec.check_writable()?;
        Ok(PointWrite {
            point: point.to_owned(),
            raw: codec.encode_raw(value)?,
            value,
        })
    }

    /// A write of a raw bit pattern (controlwords, command codes) to a writable point.
    pub fn write_raw(&self, point: &str, raw: u32) -> Result<PointWrite, CodecError> {
        let codec = self.point(point)?;
        codec.check_writable()?;
        // Normalise to the type's width so the value shown matches what goes on the wire.
        let raw = codec.words_to_raw(&codec.raw_to_words(raw)).unwrap_or(raw);
        Ok(PointWrite {
            point: point.to_owned(),
            raw,
            value: codec.decode_raw(raw),
        })
    }

    /// The Modbus registers and function of a point write.
    pub fn register_write(&self, write: &PointWrite) -> Result<RegisterWrite, CodecError> {
        let codec = self.point(&write.point)?;
        let address = codec
            .address()
            .ok_or_else(|| self.unsupported("register writes (not a Modbus profile)"))?;
        let words = codec.raw_to_words(write.raw);
        let configured = self
            .profile
            .modbus
            .as_ref()
            .map(|m| m.write_function)
            .unwrap_or_default();
        let function = if words.len() == 1 {
            configured
        } else {
            WriteFunction::Multiple
        };
        Ok(RegisterWrite {
            address,
            words,
            function,
        })
    }

    pub(crate) fn unsupported(&self, what: impl Into<String>) -> CodecError {
        CodecError::Unsupported {
            profile: self.name().to_owned(),
            what: what.into(),
        }
    }
}

fn default_modbus() -> ModbusSection {
    ModbusSection {
        address_base: 0,
        word_order: Default::default(),
        write_function: WriteFunction::Multiple,
        max_registers_per_read: 125,
        span_gaps: 0,
    }
}

/// Every (section, point name) the profile refers to.
fn references(p: &Profile) -> Vec<(String, String)> {
    let mut r = vec![("status.point".to_owned(), p.status.point.clone())];
    let mut add = |section: &str, name: &Option<String>| {
        if let Some(n) = name {
            r.push((section.to_owned(), n.clone()));
        }
    };
    add("command.point", &Some(p.command.point.clone()));
    add("command.mode_point", &p.command.mode_point);
    add("fault.code", &p.fault.code);
    add("fault.reset.point", &p.fault.reset.point);
    add("setpoints.velocity", &p.setpoints.velocity);
    add("setpoints.position", &p.setpoints.position);
    add("setpoints.profile_velocity", &p.setpoints.profile_velocity);
    add("telemetry.velocity", &p.telemetry.velocity);
    add("telemetry.position", &p.telemetry.position);
    add("telemetry.current", &p.telemetry.current);
    add("telemetry.torque", &p.telemetry.torque);
    add(
        "homing.method_point",
        &p.homing.as_ref().and_then(|h| h.method_point.clone()),
    );
    for (i, rule) in p.status.states.iter().enumerate() {
        add(&format!("status.states[{i}].point"), &rule.point);
    }
    for (name, def) in &p.parameters {
        add(
            &format!("parameters.{name}.point"),
            &Some(def.point.clone()),
        );
    }
    for (i, n) in p.identity.iter().enumerate() {
        add(&format!("identity[{i}]"), &Some(n.clone()));
    }
    for (i, n) in p.poll.iter().flat_map(|x| &x.points).enumerate() {
        add(&format!("poll.points[{i}]"), &Some(n.clone()));
    }
    r
}
