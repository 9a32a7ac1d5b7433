//! What the isolation benchmark measures on the untouched drives, and how it prints it.

use std::time::Duration;

use linevisor_drive::snapshot;
use linevisor_line::RunningLine;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use crate::VICTIM;

pub(crate) fn emit(metric: &str, value: f64, unit: &str) {
    println!(r#"{{"bench":"isolation","metric":"{metric}","value":{value:.3},"unit":"{unit}"}}"#);
}

pub(crate) fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Completion offsets (ms) of every untouched drive, collected for `window`.
pub(crate) async fn collect(line: &RunningLine, window: Duration) -> Vec<f64> {
    let mut tasks = Vec::new();
    for d in line.drives().values().filter(|d| d.id != VICTIM) {
        let mut rx = d.channels.telemetry.subscribe();
        tasks.push(tokio::spawn(async move {
            let end = Instant::now() + window;
            let mut offsets = Vec::new();
            loop {
                match tokio::time::timeout_at(end, rx.recv()).await {
                    Ok(Ok(s)) => offsets.push(ms(s.completed_at - s.scheduled_at)),
                    Ok(Err(RecvError::Lagged(_))) => {}
                    Ok(Err(RecvError::Closed)) | Err(_) => return offsets,
                }
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap_or_default());
    }
    all
}

/// Missed cycles summed and (id, generation) of every untouched drive.
pub(crate) async fn untouched(line: &RunningLine) -> (u64, Vec<(String, u64)>) {
    let mut missed = 0;
    let mut generations = Vec::new();
    for d in line.drives().values().filter(|d| d.id != VICTIM) {
        let s = snapshot(&d.handle)
            .await
            .expect("snapshot of an untouched drive");
        missed += s.stats.missed;
        generations.push((d.id.clone(), s.generation));
    }
    (missed, generations)
}
