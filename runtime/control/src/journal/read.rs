//! The reader: complete records and the rejected lines of a journal file, and the last `seq`
//! written, found from the end so opening a large journal stays cheap.

use std::fs::{self, File};
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::Path;

use serde_json::Value;

use super::{JournalError, err, numbered};

/// A line of a journal file that is not a complete record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Byte offset of the line in the file.
    pub offset: usize,
    pub reason: String,
}

/// What a journal file holds.
#[derive(Debug, Default)]
pub struct Contents {
    /// Every complete record, in order.
    pub records: Vec<Value>,
    /// Torn or corrupt lines, skipped.
    pub rejected: Vec<Rejected>,
}

/// Reads one journal file (not its rotated predecessors).
pub fn read(path: &Path) -> Result<Contents, JournalError> {
    let bytes = fs::read(path).map_err(err(path, "read"))?;
    Ok(parse(&bytes))
}

/// Parses journal bytes: complete records, and the lines rejected with their reason.
pub fn parse(bytes: &[u8]) -> Contents {
    let mut out = Contents::default();
    let mut offset = 0;
    for piece in bytes.split_inclusive(|b| *b == b'\n') {
        let here = offset;
        offset += piece.len();
        let Some(line) = piece.strip_suffix(b"\n") else {
            out.rejected.push(Rejected {
                offset: here,
                reason: format!("torn record: {} bytes without end of line", piece.len()),
            });
            continue;
        };
        if line.is_empty() {
            continue;
        }
        match parse_line(line) {
            Ok(v) => out.records.push(v),
            Err(reason) => out.rejected.push(Rejected {
                offset: here,
                reason,
            }),
        }
    }
    out
}

fn parse_line(line: &[u8]) -> Result<Value, String> {
    let text = std::str::from_utf8(line).map_err(|_| "not UTF-8".to_owned())?;
    let mut parts = text.splitn(3, ' ');
    let (Some(len), Some(crc), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
        return Err("no length/checksum header".into());
    };
    let len = usize::from_str_radix(len, 16).map_err(|_| format!("bad length field {len:?}"))?;
    let crc = u32::from_str_radix(crc, 16).map_err(|_| format!("bad checksum field {crc:?}"))?;
    if body.len() != len {
        return Err(format!("length {} but header says {len}", body.len()));
    }
    let got = crc32fast::hash(body.as_bytes());
    if got != crc {
        return Err(format!("checksum {got:08x} but header says {crc:08x}"));
    }
    serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))
}

/// The `seq` of the newest complete record of the journal at `path`; when the file holds none
/// (empty, only a torn line, or missing after a crash mid-rotation), that of its newest archive
/// that does.
pub(super) fn last_seq(path: &Path, keep: usize) -> Result<Option<u64>, JournalError> {
    for p in std::iter::once(path.to_owned()).chain((1..=keep).map(|i| numbered(path, i))) {
        match last_seq_in(&p) {
            Ok(Some(seq)) => return Ok(Some(seq)),
            Ok(None) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(err(&p, "read the last seq")(e)),
        }
    }
    Ok(None)
}

/// Reads `path` backwards in growing windows until one holds a complete record with a `seq`.
fn last_seq_in(path: &Path) -> std::io::Result<Option<u64>> {
    let mut file = File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        // A device (a test's /dev/full): nothing to read back.
        return Ok(None);
    }
    let len = meta.len();
    let mut window: u64 = 64 << 10;
    loop {
        let start = len.saturating_sub(window);
        file.seek(SeekFrom::Start(start))?;
        let mut buf = Vec::new();
        file.by_ref().take(len - start).read_to_end(&mut buf)?;
        // The window's first line is partial unless it starts the file.
        let from = if start == 0 {
            0
        } else {
            buf.iter()
                .position(|b| *b == b'\n')
                .map_or(buf.len(), |i| i + 1)
        };
        let seq = parse(&buf[from..])
            .records
            .iter()
            .rev()
            .find_map(|r| r["seq"].as_u64());
        if seq.is_some() || start == 0 {
            return Ok(seq);
        }
        window = window.saturating_mul(2);
    }
}
