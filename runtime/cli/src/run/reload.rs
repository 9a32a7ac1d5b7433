//! SIGHUP while the line runs: the config file is applied again, as `linevisor apply` would, in
//! its own task. A stop (Ctrl-C, SIGTERM) never waits behind it: the line's shutdown tells a
//! change still running to roll back and waits for that a bounded time
//! (`linevisor_line::CHANGE_GRACE`).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use linevisor_control::ControlPlane;
use tokio::task::JoinHandle;

use crate::systemd::Notifier;

/// Runs until `stop`. Each `hangup` starts the future `reload` gives (none: nothing to
/// reload) as its own task; one at a time, a hang-up meanwhile is ignored. `reloaded` runs when
/// a reload ends.
pub(crate) async fn until_stop<R>(
    stop: impl Future<Output = ()>,
    mut hangup: impl AsyncFnMut(),
    mut reload: impl FnMut() -> Option<R>,
    mut reloaded: impl FnMut(),
) where
    R: Future<Output = ()> + Send + 'static,
{
    tokio::pin!(stop);
    let mut running: Option<JoinHandle<()>> = None;
    loop {
        tokio::select! {
            () = &mut stop => return,
            () = hangup() => {
                if running.is_some() {
                    eprintln!("linevisor: SIGHUP ignored: the previous reload is still running");
                } else {
                    running = reload().map(tokio::spawn);
                }
            }
            _ = async { running.as_mut().expect("guarded").await }, if running.is_some() => {
                running = None;
                reloaded();
            }
        }
    }
}

/// The reload of `config` (SIGHUP), announced to systemd; `None` for the embedded demo, which
/// has no file to re-read. The line keeps running unchanged if it fails. A changed `[control]`
/// key (address, tokens, TLS, journal) refuses the reload: those need a restart of linevisor.
pub(crate) fn reload(
    control: &Arc<ControlPlane>,
    config: Option<&Path>,
    sd: &Notifier,
) -> Option<impl Future<Output = ()> + Send + 'static> {
    let Some(path) = config else {
        eprintln!("linevisor: SIGHUP ignored: the embedded demo line has no file to re-read");
        return None;
    };
    sd.reloading();
    eprintln!("linevisor: SIGHUP: re-reading {}", path.display());
    let (control, path): (_, PathBuf) = (control.clone(), path.to_owned());
    Some(async move {
        match control.reload(&path, "SIGHUP").await {
            Ok(outcome) => {
                let touched = outcome["plan"]["drives"].as_array().map_or(0, |d| {
                    d.iter().filter(|d| d["action"] != "untouched").count()
                });
                eprintln!(
                    "linevisor: reloaded {}: {touched} drive(s) touched in {:.0} ms",
                    path.display(),
                    outcome["took_ms"].as_f64().unwrap_or(0.0)
                );
            }
            Err(e) => eprintln!(
                "error: reload of {} failed; the line runs unchanged: {e}",
                path.display()
            ),
        }
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::sync::{mpsc, oneshot};

    use super::until_stop;

    /// Hang-ups from a channel (each told to `heard` once taken); none once it is closed.
    fn hangups(
        mut rx: mpsc::UnboundedReceiver<()>,
        heard: mpsc::UnboundedSender<()>,
    ) -> impl AsyncFnMut() {
        async move || {
            if rx.recv().await.is_none() {
                std::future::pending::<()>().await;
            }
            let _ = heard.send(());
        }
    }

    /// A stop while a reload runs (one that never ends) takes effect at once.
    #[tokio::test]
    async fn a_stop_is_not_held_up_by_a_running_reload() {
        let (hup, hup_rx) = mpsc::unbounded_channel();
        let (began, mut began_rx) = mpsc::unbounded_channel();
        let (stop, stop_rx) = oneshot::channel::<()>();
        let signals = until_stop(
            async {
                let _ = stop_rx.await;
            },
            hangups(hup_rx, mpsc::unbounded_channel().0),
            move || {
                let began = began.clone();
                Some(async move {
                    let _ = began.send(());
                    std::future::pending::<()>().await;
                })
            },
            || {},
        );
        let operator = async {
            hup.send(()).unwrap();
            began_rx.recv().await.expect("the reload runs");
            stop.send(()).unwrap();
        };
        // A hang guard only: without the fix the stop waits for ever.
        tokio::time::timeout(Duration::from_secs(30), async {
            tokio::join!(signals, operator)
        })
        .await
        .expect("the stop waits behind the reload");
    }

    /// A hang-up during a reload starts no second one; `reloaded` follows each reload.
    #[tokio::test]
    async fn one_reload_at_a_time() {
        let (hup, hup_rx) = mpsc::unbounded_channel();
        let (heard, mut heard_rx) = mpsc::unbounded_channel();
        let (began, mut began_rx) = mpsc::unbounded_channel();
        let (ended, mut ended_rx) = mpsc::unbounded_channel();
        let (release, release_rx) = mpsc::unbounded_channel::<()>();
        let release_rx = std::sync::Arc::new(tokio::sync::Mutex::new(release_rx));
        let (stop, stop_rx) = oneshot::channel::<()>();
        let signals = until_stop(
            async {
                let _ = stop_rx.await;
            },
            hangups(hup_rx, heard),
            move || {
                let (began, release_rx) = (began.clone(), release_rx.clone());
                Some(async move {
                    let _ = began.send(());
                    release_rx.lock().await.recv().await;
                })
            },
            move || {
                let _ = ended.send(());
            },
        );
        let operator = async {
            hup.send(()).unwrap();
            began_rx.recv().await.expect("first reload");
            hup.send(()).unwrap();
            heard_rx.recv().await.unwrap();
            heard_rx.recv().await.unwrap();
            release.send(()).unwrap();
            ended_rx.recv().await.expect("first reload ended");
            // The second hang-up came while the first reload ran: it was ignored.
            hup.send(()).unwrap();
            began_rx
                .recv()
                .await
                .expect("a new reload after the first ended");
            assert!(
                began_rx.try_recv().is_err(),
                "one reload per accepted hang-up"
            );
            stop.send(()).unwrap();
        };
        tokio::join!(signals, operator);
    }
}
