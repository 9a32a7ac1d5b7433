//! One simulated servo on a simulated Modbus segment, driven through the real bus and drive
//! actors under the supervision tree: enable it, command a speed, watch the telemetry, crash its
//! actor and see it adopted without a bump, then stop it to its safe state.
//!
//! Hardware: none. Run: `cargo run -p linevisor-examples --example sim_single_drive`
#![allow(clippy::print_stdout)]

use std::time::Duration;

use linevisor_config::check_text;
use linevisor_drive::{Command, DriveMsg, send_command, snapshot};
use linevisor_line::{LineOptions, RunningLine};
use linevisor_profile::Direction;

const LINE: &str = r#"
[line]
name = "example"
cycle_ms = 10

[[bus]]
id = "sim"
type = "simulated"
protocol = "modbus"

[[drive]]
id = "axis"
bus = "sim"
address = 1
profile = { name = "linevisor-sim-servo", version = "1.0" }
limits = { velocity_max = 3000.0 }
safe_state = { on_stop = "quick_stop", on_crash = "hold" }
"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let checked = check_text("example.toml", LINE, None);
    for d in &checked.diagnostics {
        eprintln!("{d}");
    }
    let line = checked.line.ok_or("invalid line")?;
    // One structured line per panic, without a backtrace on the restart path.
    linevisor_supervisor::install_panic_hook();
    let running = RunningLine::start(&line, LineOptions::default()).await?;
    let axis = &running.drive("axis").unwrap();

    send_command(&axis.handle, Command::Enable(Direction::Forward)).await?;
    send_command(&axis.handle, Command::SetVelocity(1500.0)).await?;
    println!("enabled, 1500 rpm commanded and read back");
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        show(&axis.handle, "running").await?;
    }

    axis.handle.cast(DriveMsg::Crash)?;
    // The new instance adopts the running drive: no write, the speed is kept.
    tokio::time::sleep(Duration::from_millis(100)).await;
    show(&axis.handle, "after a crash of its actor").await?;

    running.shutdown().await?;
    println!("stopped: the drive was brought to its safe state (quick stop)");
    Ok(())
}

async fn show(
    handle: &linevisor_supervisor::ChildHandle<DriveMsg>,
    when: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let snap = snapshot(handle).await?;
    let last = snap.last.as_ref();
    println!(
        "{when}: generation {}, {:?}, {:7.1} rpm, position {:8.3} mm, {} cycles, {} missed",
        snap.generation,
        snap.state,
        last.and_then(|s| s.velocity).unwrap_or(0.0),
        last.and_then(|s| s.position).unwrap_or(0.0),
        snap.stats.cycles,
        snap.stats.missed
    );
    Ok(())
}
