//! Binary fixed-length frames with a checksum (Trinamic TMCL style): a request is the layout
//! filled with the point's fixed field values, the drive's address and the raw value, then the
//! checksum; a reply is checked for length, checksum, address, command and status, and its
//! value field read.

use linevisor_core::profile::{
    Endian, FieldName, FrameField, FrameLayout, Point, SerialRequest, SerialSection,
};

use crate::checksum;
use crate::{Op, Reply, Request, SerialError};

/// Encodes requests and decodes replies for one drive address.
#[derive(Debug, Clone)]
pub struct BinaryCodec {
    frame: usize,
    request: FrameLayout,
    reply: FrameLayout,
    success: Vec<i64>,
    address: u32,
}

impl BinaryCodec {
    /// A codec for the drive at `address`; the profile must have `frame_bytes` and both layouts.
    pub fn new(section: &SerialSection, address: u32) -> Result<Self, SerialError> {
        let missing = SerialError::Profile("binary framing needs frame_bytes, request and reply");
        let (Some(frame), Some(request), Some(reply)) =
            (section.frame_bytes, &section.request, &section.reply)
        else {
            return Err(missing);
        };
        Ok(BinaryCodec {
            frame: frame as usize,
            request: request.clone(),
            reply: reply.clone(),
            success: section.success.clone(),
            address,
        })
    }

    /// Frame length in bytes.
    pub fn frame_bytes(&self) -> usize {
        self.frame
    }

    /// The request frames for reading or writing `point`, in order (a write may be a
    /// sequence; every frame of it carries the value).
    pub fn requests(&self, point: &Point, op: Op) -> Result<Vec<Request>, SerialError> {
        let (request, raw) = match op {
            Op::Read => (point.read.as_ref(), 0),
            Op::Write(raw) => (crate::write_request(point, raw), raw),
        };
        let no_request = || SerialError::NoRequest {
            op: op.name(),
            framing: "binary",
        };
        let parts = request.ok_or_else(no_request)?.parts();
        parts
            .into_iter()
            .map(|part| match part {
                SerialRequest::Fields(fixed) => self.render(fixed, op, raw),
                _ => Err(no_request()),
            })
            .collect()
    }

    fn render(
        &self,
        fixed: &std::collections::BTreeMap<FieldName, i64>,
        op: Op,
        raw: i64,
    ) -> Result<Request, SerialError> {
        let mut bytes = vec![0u8; self.frame];
        for field in &self.request.fields {
            let v = match field.name {
                FieldName::Address => i64::from(self.address),
                FieldName::Value => raw,
                name => fixed.get(&name).copied().unwrap_or(0),
            };
            put(&mut bytes, field, v)?;
        }
        seal(&mut bytes, &self.request)?;
        Ok(Request {
            bytes,
            read: matches!(op, Op::Read),
            addressed: self.request.field(FieldName::Address).is_some(),
            command: fixed.get(&FieldName::Command).copied(),
        })
    }

    /// Decodes one reply frame to `request` for `point` (its value read at the point's type).
    pub fn reply(
        &self,
        point: &Point,
        request: &Request,
        frame: &[u8],
    ) -> Result<Reply, SerialError> {
        if frame.len() < self.frame {
            return Err(SerialError::Truncated {
                expected: self.frame,
                got: frame.len(),
            });
        }
        if frame.len() > self.frame {
            return Err(SerialError::OverLong { limit: self.frame });
        }
        check_sum(frame, &self.reply)?;
        let field = |name| self.reply.field(name).map(|f| get(frame, f)).transpose();
        if let Some(got) = field(FieldName::Address)?
            && got != i64::from(self.address)
        {
            return Err(SerialError::OtherAddress {
                expected: self.address.to_string(),
                got: got.to_string(),
            });
        }
        let command = field(FieldName::Command)?;
        if let (Some(expected), Some(got)) = (request.command, command)
            && expected != got
        {
            return Err(SerialError::OtherCommand { expected, got });
        }
        if let Some(status) = field(FieldName::Status)?
            && !self.success.is_empty()
            && !self.success.contains(&status)
        {
            return Err(SerialError::Status {
                command: command.or(request.command).unwrap_or(-1),
                status,
            });
        }
        match (request.read, field(FieldName::Value)?) {
            (true, Some(v)) => Ok(Reply::Value(crate::number::as_type(v, point.data_type))),
            (true, None) => Err(SerialError::Profile("the reply layout has no value field")),
            (false, _) => Ok(Reply::Ack),
        }
    }
}

/// Writes the layout's checksum into a filled frame (CRC-16 low byte first).
pub(crate) fn seal(bytes: &mut [u8], layout: &FrameLayout) -> Result<(), SerialError> {
    let Some(c) = &layout.checksum else {
        return Ok(());
    };
    let sum = checksum::compute(c.algorithm, span(bytes, c.over)?);
    let at = c.at as usize;
    match (c.algorithm.width(), bytes.get_mut(at..at + 2)) {
        (2, Some(dst)) => dst.copy_from_slice(&sum.to_le_bytes()),
        _ => {
            *bytes
                .get_mut(at)
                .ok_or(SerialError::Profile("checksum past the frame"))? = sum as u8
        }
    }
    Ok(())
}

/// Checks a received frame's checksum against the layout's.
pub(crate) fn check_sum(frame: &[u8], layout: &FrameLayout) -> Result<(), SerialError> {
    let Some(c) = &layout.checksum else {
        return Ok(());
    };
    let expected = checksum::compute(c.algorithm, span(frame, c.over)?);
    let at = c.at as usize;
    let got = match (c.algorithm.width(), frame.get(at..at + 2)) {
        (2, Some(b)) => u16::from_le_bytes([b[0], b[1]]),
        _ => frame.get(at).copied().map(u16::from).unwrap_or_default(),
    };
    if expected == got {
        Ok(())
    } else {
        Err(SerialError::Checksum { expected, got })
    }
}

fn span(bytes: &[u8], over: [u32; 2]) -> Result<&[u8], SerialError> {
    bytes
        .get(over[0] as usize..over[1] as usize)
        .ok_or(SerialError::Profile("checksum over bytes past the frame"))
}

/// Inclusive range a field of `width` bytes holds.
pub fn field_bounds(width: u8, signed: bool) -> (i64, i64) {
    let bits = u32::from(width.min(4)) * 8;
    if signed {
        (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
    } else {
        (0, (1i64 << bits) - 1)
    }
}

/// Writes `v` into the field. A value fits when it fits the width signed or unsigned (a u32
/// point through a signed field keeps its bits).
pub(crate) fn put(bytes: &mut [u8], f: &FrameField, v: i64) -> Result<(), SerialError> {
    let w = usize::from(f.width);
    let (lo, _) = field_bounds(f.width, true);
    let (_, hi) = field_bounds(f.width, false);
    if !(1..=4).contains(&w) || v < lo || v > hi {
        return Err(SerialError::ValueRange {
            value: v,
            what: "the frame field",
        });
    }
    let at = f.offset as usize;
    let dst = bytes
        .get_mut(at..at + w)
        .ok_or(SerialError::Profile("a field runs past the frame"))?;
    let be = &(v as u64).to_be_bytes()[8 - w..];
    dst.copy_from_slice(be);
    if f.endian == Endian::Little {
        dst.reverse();
    }
    Ok(())
}

/// Reads the field, sign-extending a signed one.
pub(crate) fn get(bytes: &[u8], f: &FrameField) -> Result<i64, SerialError> {
    let w = usize::from(f.width);
    let at = f.offset as usize;
    let src = bytes
        .get(at..at + w)
        .filter(|_| (1..=4).contains(&w))
        .ok_or(SerialError::Profile("a field runs past the frame"))?;
    let mut u: u64 = 0;
    let mut push = |b: &u8| u = (u << 8) | u64::from(*b);
    match f.endian {
        Endian::Big => src.iter().for_each(&mut push),
        Endian::Little => src.iter().rev().for_each(&mut push),
    }
    let bits = 8 * w as u32;
    Ok(if f.signed && (u >> (bits - 1)) & 1 == 1 {
        u as i64 - (1i64 << bits)
    } else {
        u as i64
    })
}
