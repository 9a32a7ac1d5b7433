//! One plain serial request on a line: which drive it addresses, what the drive answers, and
//! how that unit's link faults shape the bytes. Runs under the bank's lock.

use std::collections::BTreeSet;
use std::time::Duration;

use linevisor_core::profile::{SerialFraming, SerialSection};
use linevisor_serial::{Asked, Device, Op, checksum};

use crate::bank::{LinkFaults, Unit, take};
use crate::{SimDrive, SimError, SimHandle};

/// Bytes an ASCII drive sends as garbage: not UTF-8 (0xC3 0x28), no terminator.
const GARBAGE: [u8; 6] = [0xA5, 0xFF, 0x5A, 0x00, 0xC3, 0x28];

/// What goes back on the line for one request.
#[derive(Debug)]
pub(crate) struct SerialAnswer {
    pub(crate) bytes: Vec<u8>,
    pub(crate) delay: Duration,
}

/// The drive's answer before the link shapes it.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    Value(i64),
    Refused(i64),
}

impl SimHandle {
    /// The answer to one framed `request` (terminator included) on a line of `units`; `None`
    /// when nobody answers (no drive understands it or is addressed, or link faults).
    pub(crate) fn answer_serial(
        &self,
        units: &BTreeSet<u8>,
        request: &[u8],
    ) -> Option<SerialAnswer> {
        let mut all = self.lock();
        let (unit, u, asked) = all
            .iter_mut()
            .filter(|(id, _)| units.contains(id))
            .find_map(|(id, u)| {
                let asked = u.device.as_ref()?.parse(request)?;
                Some((*id, u, asked))
            })?;
        u.advance();
        let Unit {
            drive,
            faults,
            device,
            ..
        } = u;
        if faults.silent {
            return None;
        }
        let section = drive.codec().profile().serial.clone().unwrap_or_default();
        let outcome = match faults.take_exception() {
            Some(code) => Outcome::Refused(i64::from(code.code())),
            None => carry_out(drive, &asked, section.framing),
        };
        if take(&mut faults.drop_next) {
            tracing::debug!(unit, "Simulated serial drive dropped a reply.");
            return None;
        }
        let other;
        let speaker = match device {
            Some(_) if take(&mut faults.other_address_next) => {
                let p = drive.codec().profile();
                other = Device::new(&section, u32::from(unit % 247) + 1, &p.points);
                &other
            }
            Some(d) => &*d,
            None => return None,
        };
        let rendered = match outcome {
            Outcome::Value(raw) => speaker.reply(&asked, raw),
            Outcome::Refused(code) => speaker.refusal(&asked, code),
        };
        let bytes = match rendered {
            Ok(b) => b,
            Err(e) => {
                tracing::debug!(unit, error = %e, "Simulated serial drive cannot render a reply.");
                return None;
            }
        };
        Some(SerialAnswer {
            bytes: shape(bytes, request, faults, &section),
            delay: faults.delay,
        })
    }

    /// The next `n` serial replies of the unit are garbage: bytes that are not UTF-8 on an
    /// ASCII line, a frame of noise with a wrong checksum on a binary one.
    pub fn garbage_replies(&self, unit: u8, n: u32) -> Result<(), SimError> {
        self.with_unit(unit, |u| u.faults.garbage_next = n)
    }

    /// The next `n` serial replies of the unit are cut after half their bytes (then silence).
    pub fn truncate_replies(&self, unit: u8, n: u32) -> Result<(), SimError> {
        self.with_unit(unit, |u| u.faults.truncate_next = n)
    }

    /// The next `n` serial replies of the unit come after the request's own bytes, as a 2-wire
    /// RS-485 adapter without echo suppression shows them.
    pub fn echo_requests(&self, unit: u8, n: u32) -> Result<(), SimError> {
        self.with_unit(unit, |u| u.faults.echo_next = n)
    }

    /// The next `n` serial replies of the unit carry another address (the next unit id). An
    /// ASCII profile without `reply_address` has no address in its replies: they stay as they
    /// are.
    pub fn reply_for_other_address(&self, unit: u8, n: u32) -> Result<(), SimError> {
        self.with_unit(unit, |u| u.faults.other_address_next = n)
    }
}

/// Carries out what `asked` asks of the drive.
fn carry_out(drive: &mut SimDrive, asked: &Asked, framing: SerialFraming) -> Outcome {
    let done = match asked.op {
        Op::Read => drive.read_point(&asked.point),
        // A later step of a write's sequence (SCL `CJ` after `JS`): the model already follows
        // the value its first step carried.
        Op::Write(raw) if asked.follow_up => Ok(raw),
        Op::Write(raw) => drive.write_point(&asked.point, raw).map(|()| raw),
    };
    match done {
        Ok(raw) => Outcome::Value(raw),
        Err(r) => Outcome::Refused(match framing {
            SerialFraming::Ascii => r.nak_code(),
            SerialFraming::Binary => r.status(),
        }),
    }
}

/// Applies the unit's reply-shaping faults, in wire order: garbage or a wrong checksum
/// replaces the reply's content, truncation cuts it, an echo precedes it.
fn shape(
    mut bytes: Vec<u8>,
    request: &[u8],
    f: &mut LinkFaults,
    section: &SerialSection,
) -> Vec<u8> {
    let check = section.reply.as_ref().and_then(|l| l.checksum.as_ref());
    let binary = section.framing == SerialFraming::Binary;
    if take(&mut f.garbage_next) {
        if binary {
            bytes.iter_mut().for_each(|b| *b ^= 0x5A);
        } else {
            bytes = GARBAGE.to_vec();
            bytes.extend_from_slice(section.terminator.as_bytes());
        }
        // Noise with a checksum that cannot match.
        if let Some(c) = check
            && let Some(over) = bytes.get(c.over[0] as usize..c.over[1] as usize)
        {
            let sum = checksum::compute(c.algorithm, over) as u8;
            if let Some(b) = bytes.get_mut(c.at as usize) {
                *b = sum ^ 0xFF;
            }
        }
    }
    // Only a framing with a checksum can carry a wrong one (as TCP has no CRC).
    if let Some(c) = check.filter(|_| binary)
        && take(&mut f.corrupt_next)
        && let Some(b) = bytes.get_mut(c.at as usize)
    {
        *b ^= 0xFF;
    }
    if take(&mut f.truncate_next) {
        bytes.truncate(bytes.len() / 2);
    }
    if take(&mut f.echo_next) {
        bytes.splice(0..0, request.iter().copied());
    }
    bytes
}
