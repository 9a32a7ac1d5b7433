//! systemd integration of `linevisor run` (a `Type=notify` service): `READY=1` once the line is
//! started and the API listens, `WATCHDOG=1` at half of `WatchdogSec` while the root supervisor
//! answers, `RELOADING=1` … `READY=1` around a SIGHUP reload, `STOPPING=1` on shutdown, and
//! `STATUS=` lines for `systemctl status`.
//!
//! Without `NOTIFY_SOCKET` (not started by systemd) every call does nothing. A failed
//! notification is logged, never fatal: the line matters more than its service manager.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use linevisor_supervisor::SupervisorRef;
use sd_notify::NotifyState;
use tokio::task::JoinHandle;

/// Sends notifications to systemd, if it is listening.
#[derive(Debug)]
pub(crate) struct Notifier {
    enabled: bool,
    /// Only the first failure is logged, so a vanished socket does not flood the log.
    failed: AtomicBool,
}

impl Notifier {
    /// Enabled when `NOTIFY_SOCKET` is set.
    pub(crate) fn from_env() -> Self {
        Self {
            // systemd treats an empty NOTIFY_SOCKET as unset.
            enabled: std::env::var_os("NOTIFY_SOCKET").is_some_and(|s| !s.is_empty()),
            failed: AtomicBool::new(false),
        }
    }

    fn send(&self, states: &[NotifyState<'_>]) {
        if !self.enabled {
            return;
        }
        if let Err(e) = sd_notify::notify(states)
            && !self.failed.swap(true, Ordering::Relaxed)
        {
            tracing::warn!("cannot notify systemd (NOTIFY_SOCKET): {e}");
        }
    }

    /// A `STATUS=` line.
    pub(crate) fn status(&self, status: &str) {
        self.send(&[NotifyState::Status(status)]);
    }

    /// The service is up: `READY=1` with a status line.
    pub(crate) fn ready(&self, status: &str) {
        self.send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    /// A reload starts (`READY=1` follows when it is done). systemd's `Type=notify-reload`
    /// wants the monotonic time with it.
    pub(crate) fn reloading(&self) {
        match NotifyState::monotonic_usec_now() {
            Ok(now) => self.send(&[NotifyState::Reloading, now]),
            Err(_) => self.send(&[NotifyState::Reloading]),
        }
    }

    /// The line is going down: `STOPPING=1`.
    pub(crate) fn stopping(&self, status: &str) {
        self.send(&[NotifyState::Stopping, NotifyState::Status(status)]);
    }

    /// When systemd asked for a watchdog (`WatchdogSec=`, seen as `WATCHDOG_USEC`), pings it at
    /// half the period as long as the root supervisor answers a query within that half period.
    /// A wedged runtime or a dead root stops the pings, and systemd restarts the service.
    pub(crate) fn spawn_watchdog(&self, root: SupervisorRef) -> Option<JoinHandle<()>> {
        if !self.enabled {
            return None;
        }
        let period = sd_notify::watchdog_enabled()?.checked_div(2)?;
        if period.is_zero() {
            return None;
        }
        let me = Self::from_env();
        Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut healthy = true;
            loop {
                tick.tick().await;
                match alive(&root, period).await {
                    Ok(()) => {
                        if !healthy {
                            tracing::info!("root supervisor answers again; watchdog resumed");
                            healthy = true;
                        }
                        me.send(&[NotifyState::Watchdog]);
                    }
                    Err(why) if healthy => {
                        healthy = false;
                        tracing::error!("watchdog withheld: {why}");
                        me.status(&format!("unhealthy: {why}"));
                    }
                    Err(_) => {}
                }
            }
        }))
    }
}

/// The root supervisor runs and its mailbox is served (it lists its children in time).
async fn alive(root: &SupervisorRef, within: Duration) -> Result<(), String> {
    if !root.is_running() {
        return Err("the root supervisor is not running".into());
    }
    match tokio::time::timeout(within, root.which_children()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("the root supervisor does not answer: {e}")),
        Err(_) => Err(format!(
            "the root supervisor did not answer within {} ms",
            within.as_millis()
        )),
    }
}
