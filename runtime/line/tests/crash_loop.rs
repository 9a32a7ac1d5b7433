//! A drive whose actor crashes every second for a minute: its siblings are never restarted and
//! miss no cycle; the crash loop stays inside the drive's own subtree (backoff, then the drive
//! is taken out of service in its safe state) and never escalates past the drives supervisor.

use std::time::Duration;

use linevisor_config::{DEMO_LINE, DEMO_LINE_NAME, check_text};
use linevisor_drive::{DriveMsg, snapshot};
use linevisor_line::{LineOptions, RunningLine};
use linevisor_supervisor::EventKind;

#[tokio::test(start_paused = true)]
async fn a_crash_loop_never_touches_the_siblings() {
    let line = check_text(DEMO_LINE_NAME, DEMO_LINE, None)
        .line
        .expect("valid");
    let running = RunningLine::start(&line, LineOptions::default())
        .await
        .expect("start");
    let mut events = running.tree.subscribe();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let victim = &running.drive("labeler").unwrap();
    let mut before = Vec::new();
    for (id, d) in &running.drives() {
        if id != "labeler" {
            before.push((id.clone(), snapshot(&d.handle).await.unwrap()));
        }
    }
    for _ in 0..60 {
        let _ = victim.handle.cast(DriveMsg::Crash);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    for (id, b) in &before {
        let now = snapshot(&running.drive(id).unwrap().handle).await.unwrap();
        assert_eq!(
            now.generation, b.generation,
            "{id} was restarted by its sibling's crash loop"
        );
        assert_eq!(now.stats.missed, b.stats.missed, "{id} missed cycles");
        // 60 s of its cycle, less a sixth for start-up and the edges.
        let cycle_ms = line
            .config
            .drive
            .iter()
            .find(|d| d.id == *id)
            .and_then(|d| d.cycle_ms)
            .unwrap_or(line.config.line.cycle_ms);
        let expected = u64::from(50_000 / cycle_ms);
        assert!(
            now.stats.cycles >= b.stats.cycles + expected,
            "{id} stopped cycling ({} cycles of {cycle_ms} ms in 60 s)",
            now.stats.cycles - b.stats.cycles
        );
    }
    let mut escalated_past_drive = Vec::new();
    while let Ok(ev) = events.try_recv() {
        let touches_sibling = before.iter().any(|(id, _)| ev.child.to_string() == *id);
        assert!(!touches_sibling, "a sibling got an event: {ev:?}");
        if matches!(ev.kind, EventKind::Escalated { .. }) && !ev.supervisor.contains("labeler") {
            escalated_past_drive.push(ev);
        }
    }
    assert!(escalated_past_drive.is_empty(), "{escalated_past_drive:?}");
}
