//! The syncing thread: every [`SYNC_INTERVAL`] it syncs what was written since, and it syncs
//! each file a rotation retired (and the folder, so the renames last). A thread of its own, so
//! no append and no async worker ever waits for the disk unless it asked to.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::Instant;

use super::{Retired, SYNC_INTERVAL, Shared, lock};

/// Rotations waiting for the thread. Each holds open files; past this many (a burst of tiny
/// rotations) the appender syncs its own, so descriptors never pile up.
const QUEUE: usize = 8;

/// The thread and the channel that feeds it; dropping it syncs what is left and joins.
#[derive(Debug)]
pub(super) struct Syncer {
    shared: Arc<Shared>,
    retired: Option<SyncSender<Retired>>,
    thread: Option<JoinHandle<()>>,
}

impl Syncer {
    pub(super) fn start(shared: Arc<Shared>) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::sync_channel::<Retired>(QUEUE);
        let ours = shared.clone();
        let thread = std::thread::Builder::new()
            .name("journal-sync".into())
            .spawn(move || {
                let mut due = Instant::now() + SYNC_INTERVAL;
                loop {
                    let wait = due.saturating_duration_since(Instant::now());
                    match rx.recv_timeout(wait) {
                        Ok(retired) => shared.sync_retired(retired),
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => {
                            sync_dirty(&shared);
                            return;
                        }
                    }
                    // Also when rotations come faster than the interval.
                    if Instant::now() >= due {
                        sync_dirty(&shared);
                        due = Instant::now() + SYNC_INTERVAL;
                    }
                }
            })?;
        Ok(Self {
            shared: ours,
            retired: Some(tx),
            thread: Some(thread),
        })
    }

    /// Hands what a rotation or reopen left to the thread.
    pub(super) fn retired(&self, retired: Retired) {
        if (retired.folder || !retired.files.is_empty())
            && let Some(tx) = &self.retired
            && let Err(TrySendError::Full(retired)) = tx.try_send(retired)
        {
            self.shared.sync_retired(retired);
        }
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        self.retired.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Syncs the current file if something was written since its last sync.
fn sync_dirty(shared: &Shared) {
    let file = lock(&shared.writer).take_dirty();
    if let Some(file) = file {
        let _ = shared.sync(&file);
    }
}

/// Syncs the folder of `path`, so a rotation's renames and the new file survive a power cut.
/// Best effort: a folder that cannot be opened (no descriptor left) is synced next time.
pub(super) fn sync_folder(path: &Path) {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(dir) = File::open(folder) {
        let _ = dir.sync_all();
    }
}
