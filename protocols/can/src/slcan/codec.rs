//! The Lawicel / slcan ASCII protocol (protocols.md §4.1) as pure functions: commands the host
//! sends, replies and frames the adapter sends, and a streaming [`Decoder`] that splits bytes
//! into CR- or BELL-terminated units, resynchronising after garbage. Never panics on any input.

use std::fmt;

use crate::{CanFrame, CanId};

/// Carriage return: ends every command and reply; alone it means "OK".
pub const CR: u8 = b'\r';
/// BELL: the adapter's error reply.
pub const BELL: u8 = 0x07;
/// Longest unit kept before it is declared garbage (a 29-bit frame with timestamp is 30).
pub const MAX_LINE: usize = 64;
/// Timestamps count milliseconds and wrap after this value (59 999).
pub const TIMESTAMP_MAX: u16 = 0xEA5F;

/// CAN bitrates of the `S0`–`S8` command. Lawicel, CANable and USBtin define `S7` as
/// 800 kbit/s; python-can's 750 kbit/s / `S9` table is deliberately not copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bitrate {
    /// `S0`, 10 kbit/s.
    K10,
    /// `S1`, 20 kbit/s.
    K20,
    /// `S2`, 50 kbit/s.
    K50,
    /// `S3`, 100 kbit/s.
    K100,
    /// `S4`, 125 kbit/s.
    K125,
    /// `S5`, 250 kbit/s.
    K250,
    /// `S6`, 500 kbit/s.
    K500,
    /// `S7`, 800 kbit/s.
    K800,
    /// `S8`, 1 Mbit/s.
    M1,
}

impl Bitrate {
    /// Every bitrate in `Sn` order.
    pub const ALL: [Bitrate; 9] = [
        Bitrate::K10,
        Bitrate::K20,
        Bitrate::K50,
        Bitrate::K100,
        Bitrate::K125,
        Bitrate::K250,
        Bitrate::K500,
        Bitrate::K800,
        Bitrate::M1,
    ];

    /// The digit n of `Sn`.
    pub fn code(self) -> u8 {
        Bitrate::ALL.iter().position(|b| *b == self).unwrap_or(0) as u8
    }

    /// The bitrate of `Sn`.
    pub fn from_code(n: u8) -> Option<Bitrate> {
        Bitrate::ALL.get(usize::from(n)).copied()
    }

    /// Bits per second.
    pub fn bits_per_second(self) -> u32 {
        const BPS: [u32; 9] = [
            10_000, 20_000, 50_000, 100_000, 125_000, 250_000, 500_000, 800_000, 1_000_000,
        ];
        BPS[usize::from(self.code())]
    }

    /// The bitrate for `bps`, if slcan has a code for it.
    pub fn from_bits_per_second(bps: u32) -> Option<Bitrate> {
        Bitrate::ALL
            .into_iter()
            .find(|b| b.bits_per_second() == bps)
    }
}

/// What the host sends to the adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `Sn`: set the bitrate (only while closed).
    Bitrate(Bitrate),
    /// `O`: open the channel.
    Open,
    /// `L`: open listen-only.
    ListenOnly,
    /// `C`: close the channel.
    Close,
    /// `t`/`T`/`r`/`R`: transmit a frame.
    Transmit(CanFrame),
    /// `V`: hardware and firmware version.
    Version,
    /// `N`: serial number.
    SerialNumber,
    /// `F`: status flags.
    StatusFlags,
    /// `Z0` / `Z1`: timestamps on received frames off / on.
    Timestamps(bool),
}

/// What the adapter sends to the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// CR alone: command accepted (CanHacker-style adapters also acknowledge frames so).
    Ok,
    /// `z`CR / `Z`CR: frame transmitted (`Z` after a 29-bit frame).
    TxAck {
        /// True for `Z`.
        extended: bool,
    },
    /// BELL: command refused or transmission failed.
    Error,
    /// A received frame, with the adapter's millisecond timestamp if enabled.
    Frame {
        /// The frame.
        frame: CanFrame,
        /// 0–59 999 ms, wrapping.
        timestamp: Option<u16>,
    },
    /// An answer to `V`, `v`, `N` or `F`: the letter and the text after it.
    Info {
        /// `V`, `v`, `N` or `F`.
        kind: char,
        /// The rest of the line.
        text: String,
    },
}

/// A unit of bytes that is not a valid command or reply; the decoder has skipped it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("slcan: {reason}: {text:?}")]
pub struct DecodeError {
    /// What was wrong.
    pub reason: &'static str,
    /// The offending bytes, escaped and cut to 40 characters.
    pub text: String,
}

impl DecodeError {
    pub(crate) fn new(reason: &'static str, bytes: &[u8]) -> Self {
        let text = bytes
            .iter()
            .take(40)
            .flat_map(|b| std::ascii::escape_default(*b))
            .map(char::from)
            .collect();
        DecodeError { reason, text }
    }
}

/// Appends the frame text (`tiiil dd…`, no CR) with an optional timestamp.
pub fn encode_frame(frame: &CanFrame, timestamp: Option<u16>, out: &mut Vec<u8>) {
    use fmt::Write as _;
    let mut s = String::with_capacity(32);
    let id = frame.id();
    let letter = match (id.is_extended(), frame.is_remote()) {
        (false, false) => 't',
        (true, false) => 'T',
        (false, true) => 'r',
        (true, true) => 'R',
    };
    // Writing to a String cannot fail.
    let _ = if id.is_extended() {
        write!(s, "{letter}{:08X}{}", id.raw(), frame.dlc())
    } else {
        write!(s, "{letter}{:03X}{}", id.raw(), frame.dlc())
    };
    for b in frame.data() {
        let _ = write!(s, "{b:02X}");
    }
    if let Some(ts) = timestamp {
        let _ = write!(s, "{ts:04X}");
    }
    out.extend_from_slice(s.as_bytes());
}

/// Parses a frame line (without its CR); `timestamp_allowed` accepts 4 trailing hex digits.
pub fn parse_frame(
    line: &[u8],
    timestamp_allowed: bool,
) -> Result<(CanFrame, Option<u16>), DecodeError> {
    let bad = |reason| DecodeError::new(reason, line);
    let (extended, remote) = match line.first() {
        Some(b't') => (false, false),
        Some(b'T') => (true, false),
        Some(b'r') => (false, true),
        Some(b'R') => (true, true),
        _ => return Err(bad("not a frame")),
    };
    let id_len = if extended { 8 } else { 3 };
    let id = line.get(1..1 + id_len).ok_or_else(|| bad("truncated id"))?;
    let id = hex(id).ok_or_else(|| bad("id is not hex"))?;
    let dlc = match line.get(1 + id_len) {
        Some(d @ b'0'..=b'8') => d - b'0',
        Some(_) => return Err(bad("DLC not 0-8")),
        None => return Err(bad("missing DLC")),
    };
    let can_id = if extended {
        CanId::extended(id).ok()
    } else {
        u16::try_from(id)
            .ok()
            .and_then(|id| CanId::standard(id).ok())
    }
    .ok_or_else(|| bad("id out of range"))?;
    let mut rest = line.get(2 + id_len..).unwrap_or_default();
    let frame = if remote {
        CanFrame::remote(can_id, dlc).map_err(|_| bad("DLC not 0-8"))?
    } else {
        let n = 2 * usize::from(dlc);
        let data = rest.get(..n).ok_or_else(|| bad("truncated data"))?;
        let mut bytes = [0u8; 8];
        for (i, pair) in data.chunks(2).enumerate() {
            bytes[i] = hex(pair).ok_or_else(|| bad("data is not hex"))? as u8;
        }
        rest = rest.get(n..).unwrap_or_default();
        CanFrame::new(can_id, &bytes[..usize::from(dlc)]).map_err(|_| bad("DLC not 0-8"))?
    };
    let timestamp = match rest.len() {
        0 => None,
        4 if timestamp_allowed => {
            Some(hex(rest).ok_or_else(|| bad("timestamp is not hex"))? as u16)
        }
        _ => return Err(bad("length does not match the DLC")),
    };
    Ok((frame, timestamp))
}

/// Appends a command with its CR.
pub fn encode_command(command: &Command, out: &mut Vec<u8>) {
    match command {
        Command::Bitrate(b) => out.extend_from_slice(&[b'S', b'0' + b.code()]),
        Command::Open => out.push(b'O'),
        Command::ListenOnly => out.push(b'L'),
        Command::Close => out.push(b'C'),
        Command::Transmit(frame) => encode_frame(frame, None, out),
        Command::Version => out.push(b'V'),
        Command::SerialNumber => out.push(b'N'),
        Command::StatusFlags => out.push(b'F'),
        Command::Timestamps(on) => out.extend_from_slice(if *on { b"Z1" } else { b"Z0" }),
    }
    out.push(CR);
}

/// Parses one command line (without its CR), as an adapter does.
pub fn parse_command(line: &[u8]) -> Result<Command, DecodeError> {
    let bad = |reason| DecodeError::new(reason, line);
    match line {
        [b'S', n] => n
            .checked_sub(b'0')
            .and_then(Bitrate::from_code)
            .map(Command::Bitrate)
            .ok_or_else(|| bad("unknown bitrate")),
        b"O" => Ok(Command::Open),
        b"L" => Ok(Command::ListenOnly),
        b"C" => Ok(Command::Close),
        b"V" => Ok(Command::Version),
        b"N" => Ok(Command::SerialNumber),
        b"F" => Ok(Command::StatusFlags),
        b"Z0" => Ok(Command::Timestamps(false)),
        b"Z1" => Ok(Command::Timestamps(true)),
        [b't' | b'T' | b'r' | b'R', ..] => {
            parse_frame(line, false).map(|(f, _)| Command::Transmit(f))
        }
        _ => Err(bad("unknown command")),
    }
}

/// Appends a reply (with its CR, or the lone BELL).
pub fn encode_reply(reply: &Reply, out: &mut Vec<u8>) {
    match reply {
        Reply::Ok => {}
        Reply::TxAck { extended } => out.push(if *extended { b'Z' } else { b'z' }),
        Reply::Error => return out.push(BELL),
        Reply::Frame { frame, timestamp } => encode_frame(frame, *timestamp, out),
        Reply::Info { kind, text } => {
            let mut buf = [0u8; 4];
            out.extend_from_slice(kind.encode_utf8(&mut buf).as_bytes());
            out.extend_from_slice(text.as_bytes());
        }
    }
    out.push(CR);
}

/// Parses one reply line (without its CR), as the host does.
pub fn parse_reply(line: &[u8]) -> Result<Reply, DecodeError> {
    match line {
        [] => Ok(Reply::Ok),
        b"z" => Ok(Reply::TxAck { extended: false }),
        b"Z" => Ok(Reply::TxAck { extended: true }),
        [b't' | b'T' | b'r' | b'R', ..] => {
            parse_frame(line, true).map(|(frame, timestamp)| Reply::Frame { frame, timestamp })
        }
        [k @ (b'V' | b'v' | b'N' | b'F'), rest @ ..]
            if rest.iter().all(|b| b.is_ascii_graphic() || *b == b' ') =>
        {
            Ok(Reply::Info {
                kind: char::from(*k),
                text: String::from_utf8_lossy(rest).into_owned(),
            })
        }
        _ => Err(DecodeError::new("unknown reply", line)),
    }
}

/// Parses 1–8 hex digits (either case).
pub(crate) fn hex(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    digits.iter().try_fold(0u32, |acc, d| {
        let v = char::from(*d).to_digit(16)?;
        Some(acc << 4 | v)
    })
}
