//! The journal: an append-only JSON-lines file of everything that was done to the line and
//! everything that happened to it, readable after a `kill -9` or a power cut.
//!
//! Each record is one line `LLLLLLLL CCCCCCCC {json}\n`: the JSON's length and CRC-32 in hex,
//! written with one `write` call on a file opened for appending. A write cut short (a crash, a
//! full disk) leaves a line whose length or checksum does not match (or no final newline); the
//! reader skips it and reports it, every complete record before it reads back, and the next
//! record starts on a new line. Files rotate by size: `journal.jsonl` → `journal.jsonl.1` → …
//! up to the retention count.
//!
//! Durability: [`Journal::append_synced`] returns once the record is on disk (`fdatasync`); a
//! command's answer waits for it. [`Journal::append`] returns once the record is written; a
//! background thread syncs it within [`SYNC_INTERVAL`]. `seq` continues across restarts; a gap
//! marks records that could not be written.
//!
//! Layout: `writer.rs` (append, rotation, recovery), `sync.rs` (the syncing thread),
//! `read.rs` (the reader).

mod read;
mod sync;
mod writer;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::Value;

pub use read::{Contents, Rejected, parse, read};

use writer::{Retired, Writer};

/// Why the journal cannot be written or read.
#[derive(Debug, thiserror::Error)]
#[error("journal {path}: {what}: {source}")]
pub struct JournalError {
    /// The file.
    pub path: String,
    /// What was being done (`open`, `write`, `sync`, `rotate`, …).
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

/// A record written by [`Journal::append`] is on disk at most this long after.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// How the journal fares, for `/metrics` and the line's status. Counters run since open.
#[derive(Debug, Clone, Default, Serialize)]
pub struct JournalHealth {
    pub path: String,
    /// Whether the journal works now: false after any failure (write, sync, rotation) until
    /// a record is written cleanly again.
    pub ok: bool,
    /// Records written.
    pub records: u64,
    /// Records that could not be written (each leaves a gap in `seq`).
    pub write_failures: u64,
    /// `fdatasync` calls that succeeded and that failed.
    pub syncs: u64,
    pub sync_failures: u64,
    /// Rotations (or reopens after a fault) that failed: records then go on into the file
    /// still open, past the size limit, until the next append manages.
    pub rotation_failures: u64,
    /// The `seq` the next record gets.
    pub next_seq: u64,
    /// The latest failure of any kind.
    pub last_error: Option<JournalFailure>,
}

/// One failure, kept for whoever looks later.
#[derive(Debug, Clone, Serialize)]
pub struct JournalFailure {
    pub ts_ms: u64,
    pub error: String,
}

/// An open journal. Appends are serialised by a mutex; each is one `write` call, and no
/// append waits for the disk unless it asks to ([`Journal::append_synced`]).
#[derive(Debug)]
pub struct Journal {
    shared: Arc<Shared>,
    syncer: sync::Syncer,
}

/// What the appending threads and the syncing thread share.
#[derive(Debug)]
struct Shared {
    path: PathBuf,
    writer: Mutex<Writer>,
    health: Mutex<JournalHealth>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Which counter a failure goes to.
#[derive(Debug, Clone, Copy)]
enum Failure {
    Write,
    Sync,
    Rotate,
}

impl Shared {
    fn failed(&self, what: Failure, e: &JournalError) {
        let mut h = lock(&self.health);
        match what {
            Failure::Write => h.write_failures += 1,
            Failure::Sync => h.sync_failures += 1,
            Failure::Rotate => h.rotation_failures += 1,
        }
        h.ok = false;
        h.last_error = Some(JournalFailure {
            ts_ms: now_ms(),
            error: e.to_string(),
        });
    }

    /// Syncs `file`; a failure is counted, logged and makes the writer reopen its file.
    fn sync(&self, file: &File) -> Result<(), JournalError> {
        match file.sync_data() {
            Ok(()) => {
                lock(&self.health).syncs += 1;
                Ok(())
            }
            Err(source) => {
                let e = err(&self.path, "sync")(source);
                tracing::warn!(error = %e, "journal sync failed");
                self.failed(Failure::Sync, &e);
                lock(&self.writer).sync_failed();
                Err(e)
            }
        }
    }

    /// Appends `record` and counts what happened; the files left behind are the caller's
    /// to sync. With `synced`, so is the record's.
    fn append(
        &self,
        record: Value,
        synced: bool,
    ) -> (Result<(u64, Arc<File>), JournalError>, Retired) {
        let mut w = lock(&self.writer);
        let out = w.append(record, synced);
        // Counted under the writer's lock, so the health follows the order of the appends.
        if let Some(e) = &out.degraded {
            tracing::warn!(error = %e, "journal rotation failed; writing on into the open file");
            self.failed(Failure::Rotate, e);
        }
        let written = match out.failed {
            Some(e) => {
                self.failed(Failure::Write, &e);
                Err(e)
            }
            None => {
                let mut h = lock(&self.health);
                h.records += 1;
                h.ok = out.degraded.is_none();
                Ok((out.seq, out.file))
            }
        };
        (written, out.retired)
    }

    /// Syncs what a rotation or reopen left behind.
    fn sync_retired(&self, retired: Retired) {
        for old in &retired.files {
            let _ = self.sync(old);
        }
        if retired.folder {
            sync::sync_folder(&self.path);
        }
    }
}

fn err(path: &Path, what: &'static str) -> impl FnOnce(std::io::Error) -> JournalError {
    let path = path.display().to_string();
    move |source| JournalError { path, what, source }
}

/// `path` with `.i` appended: the `i`-th newest rotated file.
fn numbered(path: &Path, i: usize) -> PathBuf {
    let mut p = path.to_owned().into_os_string();
    p.push(format!(".{i}"));
    PathBuf::from(p)
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
    /// Opens (or creates) the journal at `path`; `seq` continues from its last record.
    pub fn open(path: &Path, limits: JournalLimits) -> Result<Self, JournalError> {
        let writer = Writer::open(path, limits)?;
        let shared = Arc::new(Shared {
            path: path.to_owned(),
            health: Mutex::new(JournalHealth {
                path: path.display().to_string(),
                ok: true,
                ..JournalHealth::default()
            }),
            writer: Mutex::new(writer),
        });
        let syncer = sync::Syncer::start(shared.clone()).map_err(err(path, "start syncer"))?;
        Ok(Self { shared, syncer })
    }

    /// Appends `record` (a JSON object) with `seq` and `ts_ms` added, and returns its `seq`.
    /// The record is written when this returns and on disk within [`SYNC_INTERVAL`].
    pub fn append(&self, record: Value) -> Result<u64, JournalError> {
        let (written, retired) = self.shared.append(record, false);
        self.syncer.retired(retired);
        written.map(|(seq, _)| seq)
    }

    /// As [`Self::append`], and on disk when this returns (`fdatasync`): it waits for the
    /// disk, so call it off an async runtime's worker threads.
    pub fn append_synced(&self, record: Value) -> Result<u64, JournalError> {
        let (written, retired) = self.shared.append(record, true);
        // A rotation's renames and new file must last for the record in it to be found.
        self.shared.sync_retired(retired);
        let (seq, file) = written?;
        self.shared.sync(&file)?;
        Ok(seq)
    }

    /// Counters, the last failure and whether the journal writes now.
    /// The file records are appended to (its rotated predecessors are `<path>.1`, `.2`, …).
    pub fn path(&self) -> PathBuf {
        self.shared.path.clone()
    }

    /// The journal's health now: failures, syncs, the next `seq`.
    pub fn health(&self) -> JournalHealth {
        let next_seq = lock(&self.shared.writer).next_seq();
        JournalHealth {
            next_seq,
            ..lock(&self.shared.health).clone()
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
