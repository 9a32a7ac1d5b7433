//! The writing side: one file open for appending, rotation by size, and recovery from a
//! failed write, sync or reopen without losing what is already on disk.

use std::borrow::Cow;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};

use super::{JournalError, JournalLimits, err, frame, now_ms, numbered, read};

#[derive(Debug)]
pub(super) struct Writer {
    path: PathBuf,
    file: Arc<File>,
    size: u64,
    limits: JournalLimits,
    next_seq: u64,
    /// The file ends inside a line (a write cut short): the next record starts with a newline.
    torn: bool,
    /// Open `path` afresh before the next write: after a failed write or sync (the fault may
    /// be gone, the file replaced), or after a rotation whose new file could not be opened
    /// (the handle then still writes into the renamed file, which is better than nothing).
    reopen: bool,
    /// Written since the last sync.
    dirty: bool,
}

/// What one append did.
#[derive(Debug)]
pub(super) struct Written {
    pub(super) seq: u64,
    /// The file it went to (or failed to).
    pub(super) file: Arc<File>,
    /// Files this append rotated or reopened away from with unsynced records, and whether
    /// the folder changed (a rotation): both still to be synced.
    pub(super) retired: Retired,
    /// The rotation or reopen that failed: the record went into the file still open.
    pub(super) degraded: Option<JournalError>,
    /// The write that failed: the record is not in the journal.
    pub(super) failed: Option<JournalError>,
}

/// What a rotation or reopen left to sync.
#[derive(Debug, Default)]
pub(super) struct Retired {
    pub(super) files: Vec<Arc<File>>,
    pub(super) folder: bool,
}

/// Opens `path` for appending: the file, its size, and whether it ends inside a line (a torn
/// last record that the newline written here could not close: the next record will).
fn open_append(path: &Path) -> Result<(File, u64, bool), JournalError> {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)
        .map_err(err(path, "open"))?;
    let size = file.metadata().map_err(err(path, "stat"))?.len();
    if size == 0 {
        return Ok((file, 0, false));
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::End(-1)).map_err(err(path, "seek"))?;
    file.read_exact(&mut last).map_err(err(path, "read"))?;
    if last[0] == b'\n' {
        return Ok((file, size, false));
    }
    // A torn last record from a crash: end its line so the next record starts clean. On a
    // full disk this fails too; the next record then carries the newline.
    match file.write_all(b"\n") {
        Ok(()) => Ok((file, size + 1, false)),
        Err(_) => Ok((file, size, true)),
    }
}

impl Writer {
    pub(super) fn open(path: &Path, limits: JournalLimits) -> Result<Self, JournalError> {
        let (file, size, torn) = open_append(path)?;
        super::sync::sync_folder(path);
        let next_seq = read::last_seq(path, limits.keep)?.map_or(0, |s| s + 1);
        Ok(Self {
            path: path.to_owned(),
            file: Arc::new(file),
            size,
            limits,
            next_seq,
            torn,
            reopen: false,
            dirty: false,
        })
    }

    pub(super) fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The file to sync, if written since its last sync.
    pub(super) fn take_dirty(&mut self) -> Option<Arc<File>> {
        std::mem::take(&mut self.dirty).then(|| self.file.clone())
    }

    /// A sync failed: what was written may not be on disk (and after a failed `fsync` the
    /// kernel may not say so twice). Reopen before the next write, to see the file as it is.
    pub(super) fn sync_failed(&mut self) {
        self.reopen = true;
    }

    /// Appends `record` with its `seq` and `ts_ms`. The `seq` is used up even when the write
    /// fails: a gap in `seq` marks a record that is not in the journal. With `synced`, the
    /// caller syncs [`Written::file`] itself.
    pub(super) fn append(&mut self, mut record: Value, synced: bool) -> Written {
        let seq = self.next_seq;
        self.next_seq += 1;
        if let Value::Object(map) = &mut record {
            map.insert("seq".into(), json!(seq));
            map.insert("ts_ms".into(), json!(now_ms()));
        }
        let line = frame(&record.to_string());
        let (mut retired, mut degraded) = (Retired::default(), None);
        if self.reopen {
            // Until the file opens again, write on into the one still open (never rotate a
            // file that a failed rotation already renamed: that would lose an archive each time).
            if let Err(e) = self.reopen_file(&mut retired) {
                degraded = Some(e);
            }
        }
        let full = self.size > 0 && self.size + line.len() as u64 > self.limits.max_bytes;
        if !self.reopen
            && full
            && let Err(e) = self.rotate(&mut retired)
        {
            degraded = Some(e);
        }
        let failed = self.write(&line).err();
        if failed.is_none() {
            // A synced append's sync covers every write before it.
            self.dirty = !synced;
        }
        Written {
            seq,
            file: self.file.clone(),
            retired,
            degraded,
            failed,
        }
    }

    /// Writes `line` in one `write` (more only if the kernel takes part of it), after a
    /// newline if the file ends inside a line. A failure leaves the size and tear as they are
    /// on disk, and makes the next append reopen the file.
    fn write(&mut self, line: &[u8]) -> Result<(), JournalError> {
        let buf: Cow<'_, [u8]> = if self.torn {
            Cow::Owned([b"\n", line].concat())
        } else {
            Cow::Borrowed(line)
        };
        let mut done = 0;
        let result = loop {
            if done == buf.len() {
                break Ok(());
            }
            match (&*self.file).write(&buf[done..]) {
                Ok(0) => break Err(ErrorKind::WriteZero.into()),
                Ok(n) => done += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        self.size += done as u64;
        if done > 0 {
            self.torn = buf[done - 1] != b'\n';
        }
        result.map_err(|e| {
            self.reopen = true;
            err(&self.path, "write")(e)
        })
    }

    /// Opens `path` afresh and writes there from now on; the file left goes to `retired` if
    /// it holds unsynced records.
    fn reopen_file(&mut self, retired: &mut Retired) -> Result<(), JournalError> {
        let (file, size, torn) = open_append(&self.path)?;
        let old = std::mem::replace(&mut self.file, Arc::new(file));
        if std::mem::take(&mut self.dirty) {
            retired.files.push(old);
        }
        // The file may be new: its name must last too.
        retired.folder = true;
        self.size = size;
        self.torn = torn;
        self.reopen = false;
        Ok(())
    }

    /// Rotates: `.1` … up to the first missing number shift up one (so a rotation retried
    /// after a partial failure never pushes out more than the oldest file once the retention
    /// is full), the current file becomes `.1`, and a new one opens.
    fn rotate(&mut self, retired: &mut Retired) -> Result<(), JournalError> {
        let keep = self.limits.keep;
        if keep == 0 {
            // No archives: start the same file over (no descriptor needed).
            self.file.set_len(0).map_err(err(&self.path, "truncate"))?;
            self.size = 0;
            self.torn = false;
            return Ok(());
        }
        let gap = (1..=keep)
            .find(|&i| !numbered(&self.path, i).exists())
            .unwrap_or(keep);
        for i in (1..gap).rev() {
            let from = numbered(&self.path, i);
            fs::rename(&from, numbered(&self.path, i + 1)).map_err(err(&from, "rotate"))?;
        }
        fs::rename(&self.path, numbered(&self.path, 1)).map_err(err(&self.path, "rotate"))?;
        retired.folder = true;
        // From here the handle writes into `.1` until a new file opens.
        self.reopen = true;
        self.reopen_file(retired)
    }
}
