//! The live table `linevisor run` shows on a terminal: one row per drive, redrawn in place.

use std::fmt::Write as _;
use std::future::Future;
use std::io::Write as _;
use std::time::Duration;

use linevisor_drive::snapshot;
use linevisor_line::RunningLine;

/// Redraws every 250 ms until `stop` completes.
pub(crate) async fn show_until(line: &RunningLine, stop: impl Future<Output = ()>) {
    tokio::pin!(stop);
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut out = std::io::stdout();
    // Clear the screen once; afterwards only move the cursor home, so nothing flickers.
    let _ = write!(out, "\x1b[2J");
    loop {
        tokio::select! {
            () = &mut stop => return,
            _ = tick.tick() => {
                let frame = render(line).await;
                let _ = write!(out, "\x1b[H{frame}\x1b[J");
                let _ = out.flush();
            }
        }
    }
}

async fn render(line: &RunningLine) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "linevisor · line \"{}\" · Ctrl-C stops every drive to its safe state\n",
        line.name
    );
    let _ = writeln!(
        s,
        "{:<20} {:<10} {:<22} {:>10} {:>11} {:>9} {:>7} {:>8} {:>8}",
        "drive", "bus", "state", "velocity", "position", "cycles", "missed", "jitter", "restarts"
    );
    for d in line.drives().values() {
        let row = match snapshot(&d.handle).await {
            Ok(snap) => {
                let last = snap.last.as_ref();
                let v = last
                    .and_then(|l| l.velocity)
                    .map_or("-".into(), |v| format!("{v:.1}"));
                let p = last
                    .and_then(|l| l.position)
                    .map_or("-".into(), |p| format!("{p:.3}"));
                format!(
                    "{:<20} {:<10} {:<22} {:>10} {:>11} {:>9} {:>7} {:>6}ms {:>8}",
                    d.id,
                    d.bus,
                    format!("{:?}", snap.state),
                    v,
                    p,
                    snap.stats.cycles,
                    snap.stats.missed,
                    snap.stats.jitter_max_us / 1000,
                    snap.generation.saturating_sub(1)
                )
            }
            Err(e) => format!("{:<20} {:<10} {}", d.id, d.bus, e),
        };
        let _ = writeln!(s, "{row}");
    }
    s
}
