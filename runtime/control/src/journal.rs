//! The journal: an append-only JSON-lines file of everything that was done to the line and
//! everything that happened to it, readable after a `kill -9`.
//!
//! Each record is one line `LLLLLLLL CCCCCCCC {json}\n`: the JSON's length and CRC-32 in hex,
//! written with one `write` call on a file opened for appending. A write cut short by a crash
//! leaves a line whose length or checksum does not match (or no final newline); the reader
//! skips it and reports it, and every complete record before it reads back. Files rotate by
//! size: `journal.jsonl` → `journal.jsonl.1` → … up to the retention count.

use std::fs::{self, File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// Why the journal cannot be written or read.
#[derive(Debug, thiserror::Error)]
#[error("journal {path}: {what}: {source}")]
pub struct JournalError {
    /// The file.
    pub path: String,
    /// What was being done.
    pub what: &'static str,
    /// The I/O error.
    pub source: std::io::Error,
}

/// Size and retention.
#[derive(Debug, Clone, Copy)]
pub struct JournalLimits {
    /// Rotate when the current file would grow past this many bytes.
    pub max_bytes: u64,
    /// Rotated files kept (`.1` … `.keep`); older ones are deleted.
    pub keep: usize,
}

impl Default for JournalLimits {
    /// 16 MiB per file, 4 rotated files.
    fn default() -> Self {
        Self {
            max_bytes: 16 << 20,
            keep: 4,
        }
    }
}

/// An open journal. Appends are serialised by a mutex; each is one `write` call.
#[derive(Debug)]
pub struct Journal {
    inner: Mutex<Writer>,
}

#[derive(Debug)]
struct Writer {
    path: PathBuf,
    file: File,
    size: u64,
    limits: JournalLimits,
    seq: u64,
}

fn err(path: &Path, what: &'static str) -> impl FnOnce(std::io::Error) -> JournalError {
    let path = path.display().to_string();
    move |source| JournalError { path, what, source }
}

fn open_append(path: &Path) -> Result<(File, u64), JournalError> {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)
        .map_err(err(path, "open"))?;
    let size = file.metadata().map_err(err(path, "stat"))?.len();
    if size > 0 {
        // A torn last record from a crash: end its line so the next record starts clean.
        let mut last = [0u8; 1];
        file.seek(SeekFrom::End(-1)).map_err(err(path, "seek"))?;
        file.read_exact(&mut last).map_err(err(path, "read"))?;
        if last[0] != b'\n' {
            file.write_all(b"\n").map_err(err(path, "write"))?;
            return Ok((file, size + 1));
        }
    }
    Ok((file, size))
}

/// Frames one record: header and body in one buffer, so it goes out in one write.
pub fn frame(body: &str) -> Vec<u8> {
    let crc = crc32fast::hash(body.as_bytes());
    let mut line = format!("{:08x} {crc:08x} ", body.len()).into_bytes();
    line.extend_from_slice(body.as_bytes());
    line.push(b'\n');
    line
}

impl Journal {
    /// Opens (or creates) the journal at `path`.
    pub fn open(path: &Path, limits: JournalLimits) -> Result<Self, JournalError> {
        let (file, size) = open_append(path)?;
        Ok(Self {
            inner: Mutex::new(Writer {
                path: path.to_owned(),
                file,
                size,
                limits,
                seq: 0,
            }),
        })
    }

    /// The file records are appended to (its rotated predecessors are `<path>.1`, `.2`, …).
    pub fn path(&self) -> PathBuf {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .path
            .clone()
    }

    /// Appends `record` (a JSON object) with `seq` and `ts_ms` added.
    pub fn append(&self, mut record: Value) -> Result<(), JournalError> {
        let mut w = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Value::Object(map) = &mut record {
            map.insert("seq".into(), json!(w.seq));
            map.insert("ts_ms".into(), json!(now_ms()));
        }
        w.seq += 1;
        let line = frame(&record.to_string());
        if w.size > 0 && w.size + line.len() as u64 > w.limits.max_bytes {
            w.rotate()?;
        }
        let path = w.path.clone();
        w.file.write_all(&line).map_err(err(&path, "write"))?;
        w.size += line.len() as u64;
        Ok(())
    }
}

impl Writer {
    fn rotate(&mut self) -> Result<(), JournalError> {
        let numbered = |i: usize| {
            let mut p = self.path.clone().into_os_string();
            p.push(format!(".{i}"));
            PathBuf::from(p)
        };
        if self.limits.keep == 0 {
            fs::remove_file(&self.path).map_err(err(&self.path, "remove"))?;
        } else {
            let _ = fs::remove_file(numbered(self.limits.keep));
            for i in (1..self.limits.keep).rev() {
                let from = numbered(i);
                if from.exists() {
                    fs::rename(&from, numbered(i + 1)).map_err(err(&from, "rotate"))?;
                }
            }
            fs::rename(&self.path, numbered(1)).map_err(err(&self.path, "rotate"))?;
        }
        let (file, size) = open_append(&self.path)?;
        self.file = file;
        self.size = size;
        Ok(())
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

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
