//! `linevisor run`: check the config, start the line's supervision tree, show it, and stop it
//! cleanly (every drive to its safe state) on Ctrl-C or SIGTERM.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use linevisor_config::{DEMO_LINE, DEMO_LINE_NAME, ValidLine};
use linevisor_line::{LineOptions, RunningLine};

use crate::table;

pub(crate) fn run(config: Option<&Path>, logs: bool, duration: Option<u64>) -> ExitCode {
    let checked = match config {
        Some(p) => linevisor_config::check_file(p),
        None => linevisor_config::check_text(DEMO_LINE_NAME, DEMO_LINE, None),
    };
    for d in &checked.diagnostics {
        eprintln!("{d}");
    }
    let Some(line) = checked.line else {
        eprintln!("error: the config is invalid; `linevisor check` explains every problem");
        return ExitCode::from(1);
    };
    let live = !logs && std::io::stdout().is_terminal();
    if !live {
        crate::init_logs();
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(run_line(line, live, duration))
}

async fn run_line(line: ValidLine, live: bool, duration: Option<u64>) -> ExitCode {
    linevisor_supervisor::install_panic_hook();
    let running = match RunningLine::start(&line, LineOptions::default()).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let stop = async {
        match duration {
            Some(s) => {
                tokio::select! {
                    () = crate::signals::terminated() => {}
                    () = tokio::time::sleep(Duration::from_secs(s)) => {}
                }
            }
            None => crate::signals::terminated().await,
        }
    };
    if live {
        table::show_until(&running, stop).await;
    } else {
        stop.await;
    }
    eprintln!("linevisor: stopping the line; drives go to their safe state");
    match running.shutdown().await {
        Ok(()) => {
            eprintln!("linevisor: stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: the line did not stop cleanly: {e}");
            ExitCode::from(1)
        }
    }
}
