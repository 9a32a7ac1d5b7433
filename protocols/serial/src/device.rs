//! The drive's side of the same protocol, for simulated serial drives: which point and
//! operation a request asks for, and the bytes a drive answers with. Built from the same
//! profile as the bus's [`Codec`](crate::Codec), so a simulator speaks exactly what the profile
//! says, no more.

use std::collections::BTreeMap;

use linevisor_core::profile::{FieldName, Point, SerialFraming, SerialRequest, SerialSection};

use crate::ascii::number;
use crate::binary::{check_sum, get, put, seal};
use crate::{Op, SerialError};

/// What a request asks of the drive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    /// The point's name in the profile.
    pub point: String,
    /// Read it, or write this raw value.
    pub op: Op,
    /// A later request of a write's sequence (`CJ` after `JS{value}`): acknowledge it; it
    /// carries no value of its own (`op` then holds the code of a `write_values` sequence, or 0).
    pub follow_up: bool,
    /// The request's command field (binary frames), echoed in the reply.
    command: Option<i64>,
    addressed: bool,
}

/// One simulated drive's protocol: parses requests, renders replies.
#[derive(Debug, Clone)]
pub struct Device {
    section: SerialSection,
    address: u32,
    points: BTreeMap<String, Point>,
}

impl Device {
    /// The drive at `address` with the profile's `[serial]` section and points.
    pub fn new(section: &SerialSection, address: u32, points: &BTreeMap<String, Point>) -> Self {
        Device {
            section: section.clone(),
            address,
            points: points.clone(),
        }
    }

    /// What `request` (one framed request: a line with its terminator, or one whole frame)
    /// asks of this drive; `None` when it is not a request this drive understands or not
    /// addressed to it (on a shared line a drive stays silent then).
    pub fn parse(&self, request: &[u8]) -> Option<Asked> {
        match self.section.framing {
            SerialFraming::Ascii => self.parse_line(request),
            SerialFraming::Binary => self.parse_frame(request),
        }
    }

    /// The reply to `asked`: the value of a read (`raw`), or the acknowledgement of a write.
    pub fn reply(&self, asked: &Asked, raw: i64) -> Result<Vec<u8>, SerialError> {
        match self.section.framing {
            SerialFraming::Ascii => {
                let point = self.point(&asked.point)?;
                let body = match asked.op {
                    Op::Read => {
                        let pattern = point.pattern.as_deref().unwrap_or("{value}");
                        pattern.replace("{value}", &number(point).format(raw)?)
                    }
                    Op::Write(_) => self.section.ack.clone(),
                };
                Ok(self.line(asked, &body))
            }
            SerialFraming::Binary => {
                let value = match asked.op {
                    Op::Read => raw,
                    Op::Write(v) => v,
                };
                let ok = self.section.success.first().copied().unwrap_or(0);
                self.frame(asked, ok, value)
            }
        }
    }

    /// The drive's refusal of `asked` with `code` (ASCII `?code`, a binary status).
    pub fn refusal(&self, asked: &Asked, code: i64) -> Result<Vec<u8>, SerialError> {
        match self.section.framing {
            SerialFraming::Ascii => Ok(self.line(asked, &format!("{}{code}", self.section.nak))),
            SerialFraming::Binary => self.frame(asked, code, 0),
        }
    }

    fn point(&self, name: &str) -> Result<&Point, SerialError> {
        self.points
            .get(name)
            .ok_or(SerialError::Profile("no such point"))
    }

    fn line(&self, asked: &Asked, body: &str) -> Vec<u8> {
        let mut text = String::new();
        if self.section.reply_address && asked.addressed {
            text.push_str(&self.address.to_string());
        }
        text.push_str(body);
        text.push_str(&self.section.terminator);
        text.into_bytes()
    }

    fn parse_line(&self, request: &[u8]) -> Option<Asked> {
        let line = std::str::from_utf8(request).ok()?;
        let line = line.strip_suffix(self.section.terminator.as_str())?;
        let address = self.address.to_string();
        let fill = |t: &str| t.replace("{address}", &address);
        let asked = |point: &str, op, template: &str, follow_up| Asked {
            point: point.to_owned(),
            op,
            follow_up,
            command: None,
            addressed: template.contains("{address}"),
        };
        // Exact requests first (reads, command codes, a sequence's fixed steps), then writes
        // carrying a value.
        for (name, p) in &self.points {
            if let Some(t) = p.read.as_ref().and_then(SerialRequest::template)
                && fill(t) == line
            {
                return Some(asked(name, Op::Read, t, false));
            }
            for (code, r) in &p.write_values {
                let Ok(raw) = code.parse::<i64>() else {
                    continue;
                };
                for (i, t) in templates(r) {
                    if fill(t) == line {
                        return Some(asked(name, Op::Write(raw), t, i > 0));
                    }
                }
            }
            for (_, t) in p.write.iter().flat_map(templates) {
                if !t.contains("{value}") && fill(t) == line {
                    return Some(asked(name, Op::Write(0), t, true));
                }
            }
        }
        for (name, p) in &self.points {
            for (_, t) in p.write.iter().flat_map(templates) {
                let Some((before, after)) = t.split_once("{value}") else {
                    continue;
                };
                let text = line
                    .strip_prefix(fill(before).as_str())
                    .and_then(|rest| rest.strip_suffix(fill(after).as_str()));
                if let Some(raw) = text.and_then(|v| number(p).parse(v).ok()) {
                    return Some(asked(name, Op::Write(raw), t, false));
                }
            }
        }
        None
    }

    fn parse_frame(&self, frame: &[u8]) -> Option<Asked> {
        let layout = self.section.request.as_ref()?;
        if frame.len() != self.section.frame_bytes? as usize {
            return None;
        }
        check_sum(frame, layout).ok()?;
        let mut fields = BTreeMap::new();
        for f in &layout.fields {
            fields.insert(f.name, get(frame, f).ok()?);
        }
        if fields.get(&FieldName::Address) != Some(&i64::from(self.address)) {
            return None;
        }
        let value = fields.get(&FieldName::Value).copied().unwrap_or(0);
        // The step of `r` (a request or a sequence) these fields are, if any.
        let step = |r: &SerialRequest| {
            r.parts().into_iter().position(|part| match part {
                SerialRequest::Fields(fixed) => fixed
                    .iter()
                    .all(|(name, v)| fields.get(name).copied().unwrap_or(0) == *v),
                _ => false,
            })
        };
        let asked = |point: &str, op, follow_up| Asked {
            point: point.to_owned(),
            op,
            follow_up,
            command: fields.get(&FieldName::Command).copied(),
            addressed: true,
        };
        for (name, p) in &self.points {
            if p.read.as_ref().and_then(step).is_some() {
                return Some(asked(name, Op::Read, false));
            }
            for (code, r) in &p.write_values {
                if let Ok(raw) = code.parse::<i64>()
                    && value == raw
                    && let Some(i) = step(r)
                {
                    return Some(asked(name, Op::Write(raw), i > 0));
                }
            }
        }
        let (name, i) = self
            .points
            .iter()
            .find_map(|(n, p)| Some((n, p.write.as_ref().and_then(step)?)))?;
        Some(asked(name, Op::Write(value), i > 0))
    }

    /// A reply frame: our address, the request's command, `status` and `value`, checksummed.
    fn frame(&self, asked: &Asked, status: i64, value: i64) -> Result<Vec<u8>, SerialError> {
        let missing = SerialError::Profile("binary framing needs frame_bytes and a reply layout");
        let (Some(n), Some(layout)) = (self.section.frame_bytes, &self.section.reply) else {
            return Err(missing);
        };
        let mut bytes = vec![0u8; n as usize];
        for f in &layout.fields {
            let v = match f.name {
                FieldName::Address => i64::from(self.address),
                FieldName::Command => asked.command.unwrap_or(0),
                FieldName::Status => status,
                FieldName::Value => value,
                _ => 0,
            };
            put(&mut bytes, f, v)?;
        }
        seal(&mut bytes, layout)?;
        Ok(bytes)
    }
}

/// The templates of a request or sequence, with their step.
fn templates(r: &SerialRequest) -> Vec<(usize, &str)> {
    r.parts()
        .into_iter()
        .enumerate()
        .filter_map(|(i, part)| Some((i, part.template()?)))
        .collect()
}
