//! `linevisor run`: check the config, start the line's supervision tree, serve its control API,
//! show it, and stop it cleanly (every drive to its safe state) on Ctrl-C or SIGTERM.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use linevisor_config::{DEMO_LINE, DEMO_LINE_NAME, ValidLine};
use linevisor_control::{ControlOptions, ControlPlane, Journal, JournalLimits, Tokens};
use linevisor_line::{LineOptions, RunningLine};

use crate::table;

/// Control-plane options of `linevisor run` that are not config keys yet.
#[derive(Debug)]
pub(crate) struct ApiArgs {
    /// Overrides `line.api_listen`.
    pub(crate) listen: Option<SocketAddr>,
    /// Tokens file (TOML `[[token]]`).
    pub(crate) tokens: Option<PathBuf>,
    /// Journal file.
    pub(crate) journal: Option<PathBuf>,
    /// Rotate the journal at this size.
    pub(crate) journal_max_bytes: u64,
    /// Rotated journal files kept.
    pub(crate) journal_keep: usize,
}

/// Everything that can refuse to start before a drive is touched.
struct Prepared {
    listener: tokio::net::TcpListener,
    control: ControlOptions,
}

async fn prepare(line: &ValidLine, api: &ApiArgs) -> Result<Prepared, String> {
    let tokens = match &api.tokens {
        Some(p) => Some(Tokens::load(p).map_err(|e| e.to_string())?),
        None => None,
    };
    let addr = match api.listen {
        Some(a) => a,
        None => line.config.line.api_listen.parse().map_err(|_| {
            format!(
                "line.api_listen \"{}\" is not ip:port",
                line.config.line.api_listen
            )
        })?,
    };
    linevisor_control::check_listen(addr, tokens.as_ref()).map_err(|e| e.to_string())?;
    let journal = match &api.journal {
        Some(p) => Some(
            Journal::open(
                p,
                JournalLimits {
                    max_bytes: api.journal_max_bytes,
                    keep: api.journal_keep,
                },
            )
            .map_err(|e| e.to_string())?,
        ),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} for the API: {e}"))?;
    Ok(Prepared {
        listener,
        control: ControlOptions {
            tokens,
            journal,
            recent_events: None,
        },
    })
}

pub(crate) fn run(
    config: Option<&Path>,
    logs: bool,
    duration: Option<u64>,
    api: &ApiArgs,
) -> ExitCode {
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
    rt.block_on(run_line(line, live, duration, api))
}

async fn run_line(line: ValidLine, live: bool, duration: Option<u64>, api: &ApiArgs) -> ExitCode {
    linevisor_supervisor::install_panic_hook();
    let prepared = match prepare(&line, api).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let running = match RunningLine::start(&line, LineOptions::default()).await {
        Ok(r) => Arc::new(r),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let control = Arc::new(ControlPlane::new(running.clone(), prepared.control));
    match prepared.listener.local_addr() {
        Ok(a) => eprintln!("linevisor: API on http://{a}"),
        Err(e) => eprintln!("linevisor: API listening (address unknown: {e})"),
    }
    let (stop_api, api_stopped) = tokio::sync::oneshot::channel::<()>();
    let server = {
        let control = control.clone();
        let listener = prepared.listener;
        tokio::spawn(async move {
            let stop = async {
                let _ = api_stopped.await;
            };
            if let Err(e) = control.serve(listener, stop).await {
                eprintln!("error: the API server stopped: {e}");
            }
        })
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
    let _ = stop_api.send(());
    let _ = server.await;
    let result = running.shutdown().await;
    control
        .finish(serde_json::json!({
            "kind": "stopped",
            "line": running.name,
            "clean": result.is_ok(),
        }))
        .await;
    match result {
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
