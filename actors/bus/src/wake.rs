//! Waking for the next poll. tokio's timer has a 1 ms tick and rounds up, so a poll woken by it
//! goes out up to 1–2 ms after its slot. A cycle thread (see `linevisor-line`'s `exec`) marks
//! itself with [`precise_wakeups`]; bus tasks on it then wake on a one-shot `timerfd`, the
//! kernel's high-resolution timer: no spinning, and the thread's timerfds are kept in a pool
//! and re-armed, so a wake-up costs two system calls. Elsewhere (and always under a paused test
//! clock, which no kernel timer follows) the tokio timer is used.

use std::cell::{Cell, RefCell};
use std::os::fd::{AsFd, AsRawFd, RawFd};

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::time::Instant;

thread_local! {
    static PRECISE: Cell<bool> = const { Cell::new(false) };
    /// Idle timerfds of this thread (one per bus task waiting at once, in practice one).
    static POOL: RefCell<Vec<AsyncFd<Timer>>> = const { RefCell::new(Vec::new()) };
}

/// A timerfd on loan from the pool, given back when the wait ends or is cancelled.
struct Loan(Option<AsyncFd<Timer>>);

impl Drop for Loan {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            // A cancelled wait may leave it armed: re-arming replaces that, and a stale
            // readiness only costs one more read that finds nothing (`WouldBlock`).
            POOL.with(|p| p.borrow_mut().push(t));
        }
    }
}

/// Bus tasks run on this thread from now on wake on the high-resolution timer.
pub fn precise_wakeups() {
    PRECISE.with(|p| p.set(true));
}

/// A timerfd that tokio can wait on.
struct Timer(TimerFd);

impl AsRawFd for Timer {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// Sleeps until `at`: precisely on a cycle thread, on tokio's timer elsewhere.
pub(crate) async fn wake_at(at: Instant) {
    if PRECISE.with(Cell::get)
        && let Some(loan) = arm(at)
        && let Some(timer) = loan.0.as_ref()
    {
        loop {
            let Ok(mut ready) = timer.readable().await else {
                break;
            };
            let mut buf = [0u8; 8];
            let read = ready.try_io(|t| {
                nix::unistd::read(t.get_ref().0.as_fd(), &mut buf).map_err(std::io::Error::from)
            });
            if !matches!(read, Err(_would_block)) {
                return;
            }
        }
    }
    tokio::time::sleep_until(at).await;
}

/// A timerfd from the pool (or a new one) armed to expire at `at`, or `None` (already due, or
/// no timerfd): the caller falls back to tokio's timer.
fn arm(at: Instant) -> Option<Loan> {
    let after = at
        .checked_duration_since(Instant::now())
        .filter(|d| !d.is_zero())?;
    let timer = match POOL.with(|p| p.borrow_mut().pop()) {
        Some(t) => t,
        None => new_timer()?,
    };
    let armed = timer.get_ref().0.set(
        Expiration::OneShot(TimeSpec::from_duration(after)),
        TimerSetTimeFlags::empty(),
    );
    armed.ok()?;
    Some(Loan(Some(timer)))
}

fn new_timer() -> Option<AsyncFd<Timer>> {
    let fd = TimerFd::new(
        ClockId::CLOCK_MONOTONIC,
        TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
    )
    .ok()?;
    // Deprecated for types whose descriptor could be closed while registered; `Timer` owns
    // its descriptor, which lives exactly as long as the registration. (The replacement is
    // an `unsafe fn`, and this workspace forbids unsafe code.)
    #[allow(deprecated)]
    let registered = AsyncFd::with_interest(Timer(fd), Interest::READABLE);
    registered.ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// On a marked thread the wait ends at or after its deadline (never early), through the
    /// timerfd; unmarked, through tokio's timer.
    #[test]
    fn a_wake_never_comes_early() {
        for marked in [true, false] {
            std::thread::spawn(move || {
                if marked {
                    precise_wakeups();
                }
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if marked {
                        // A wait cancelled early leaves its timer armed in the pool; the next
                        // wait re-arms it and still does not end early.
                        let far = Instant::now() + Duration::from_millis(2);
                        let _ =
                            tokio::time::timeout(Duration::from_micros(100), wake_at(far)).await;
                        assert_eq!(POOL.with(|p| p.borrow().len()), 1, "given back");
                    }
                    for ms in [0u64, 1, 3, 5] {
                        let at = Instant::now() + Duration::from_millis(ms);
                        if marked && ms > 0 {
                            assert!(arm(at).is_some(), "a timerfd for {ms} ms");
                        }
                        wake_at(at).await;
                        assert!(Instant::now() >= at, "woke before {ms} ms");
                    }
                });
            })
            .join()
            .unwrap();
        }
    }
}
