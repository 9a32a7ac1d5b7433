//! `linevisor run`: check the config, start the line's supervision tree, serve its control API
//! (HTTPS when `[control]` names a certificate), tell systemd, show the line, re-read the config
//! on SIGHUP, and stop cleanly (every drive to its safe state) on Ctrl-C or SIGTERM.

mod prepare;
mod reload;

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use linevisor_config::{DEMO_LINE, DEMO_LINE_NAME, ValidLine};
use linevisor_control::ControlPlane;
use linevisor_line::{LineOptions, RunningLine};

pub(crate) use prepare::ApiArgs;

use crate::signals::{self, Hangups};
use crate::systemd::Notifier;
use crate::table;

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
    if let Err(e) = realtime_process(&line) {
        eprintln!("error: {e}");
        return ExitCode::from(1);
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
    rt.block_on(run_line(line, config, live, duration, api))
}

/// `[realtime]` settings of the whole process, before any thread starts: the affinity of
/// everything but the cycle threads (inherited by every thread started later), and memory
/// locking. The cycle threads take their own settings when the line starts them.
fn realtime_process(line: &ValidLine) -> Result<(), linevisor_line::RealtimeError> {
    let r = &line.config.realtime;
    if !r.other_cpus.is_empty() {
        linevisor_line::exec::pin_current_thread("linevisor", &r.other_cpus)?;
    }
    if r.lock_memory {
        linevisor_line::exec::lock_memory()?;
    }
    Ok(())
}

async fn run_line(
    line: ValidLine,
    config: Option<&Path>,
    live: bool,
    duration: Option<u64>,
    api: &ApiArgs,
) -> ExitCode {
    linevisor_supervisor::install_panic_hook();
    let sd = Notifier::from_env();
    // Before READY=1: from then on `systemctl reload` may send SIGHUP, which must not kill us.
    let mut hangups = Hangups::new();
    let name = line.config.line.name.clone();
    sd.status(&format!("line {name}: starting"));
    let prepared = match prepare::prepare(&line, config, api).await {
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
    // The northbound publisher runs beside the control plane and journals into its journal.
    let northbound = match &line.config.northbound.sparkplug {
        Some(section) => {
            let c = control.clone();
            let journal: linevisor_northbound::Journal = Arc::new(move |r| c.journal(r));
            let base = config.and_then(Path::parent);
            match linevisor_northbound::start(running.clone(), section, base, journal) {
                Ok(n) => Some(n),
                Err(e) => {
                    eprintln!("error: {e}");
                    let _ = running.shutdown().await;
                    return ExitCode::from(1);
                }
            }
        }
        None => None,
    };
    let scheme = if prepared.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let url = match prepared.listener.local_addr() {
        Ok(a) => format!("{scheme}://{a}"),
        Err(e) => format!("{scheme}://? ({e})"),
    };
    eprintln!("linevisor: API on {url}");
    let (stop_api, api_stopped) = tokio::sync::oneshot::channel::<()>();
    let credentials = Credentials {
        tokens_file: prepared.tokens_file.clone(),
        tls: prepared.tls.clone(),
    };
    let server = {
        let control = control.clone();
        let (listener, tls, limits) = (prepared.listener, prepared.tls, prepared.limits);
        // Returns at most the grace period after the stop, whatever the clients do.
        tokio::spawn(async move {
            let stop = async {
                let _ = api_stopped.await;
            };
            control.serve(listener, tls, limits, stop).await;
        })
    };
    let status = format!(
        "line {name}: {} on {}; API on {url}",
        count(line.config.drive.len(), "drive"),
        count(line.config.bus.len(), "bus")
    );
    sd.ready(&status);
    let watchdog = sd.spawn_watchdog(running.tree.root.clone());

    let terminated = async {
        match duration {
            Some(s) => tokio::select! {
                () = signals::terminated() => {}
                () = tokio::time::sleep(Duration::from_secs(s)) => {}
            },
            None => signals::terminated().await,
        }
    };
    let until_stop = reload::until_stop(
        terminated,
        async || hangups.recv().await,
        || {
            // Tokens and the TLS certificate are re-read at once, a config reload in its task.
            credentials.reload(&control);
            reload::reload(&control, config, &sd)
        },
        || sd.ready(&status),
    );
    if live {
        table::show_until(&running, until_stop).await;
    } else {
        until_stop.await;
    }
    eprintln!("linevisor: stopping the line; drives go to their safe state");
    sd.stopping(&format!(
        "line {name}: stopping, drives to their safe state"
    ));
    if let Some(w) = watchdog {
        w.abort();
    }
    let _ = stop_api.send(());
    let _ = server.await;
    // The plant hears the node go (NDEATH) before the drives go to their safe states.
    if let Some(n) = northbound {
        n.stop().await;
    }
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

/// What SIGHUP re-reads besides the config: the tokens file and the TLS certificate and key,
/// swapped in for new requests and connections without stopping a drive. A file that fails
/// to load keeps the old one in use.
struct Credentials {
    tokens_file: Option<std::path::PathBuf>,
    tls: Option<linevisor_control::tls::TlsSetup>,
}

impl Credentials {
    fn reload(&self, control: &ControlPlane) {
        if let Some(path) = &self.tokens_file {
            let loaded = linevisor_control::Tokens::load(path).map_err(|e| e.to_string());
            let outcome = loaded.and_then(|t| control.replace_tokens(t));
            match &outcome {
                Ok(()) => eprintln!("linevisor: SIGHUP: tokens re-read from {}", path.display()),
                Err(e) => eprintln!("error: SIGHUP: tokens kept unchanged: {e}"),
            }
            control.journal(serde_json::json!({
                "kind": "credentials", "what": "tokens", "by": "SIGHUP",
                "outcome": if outcome.is_ok() { "ok" } else { "failed" },
                "reason": outcome.err(),
            }));
        }
        if let Some(tls) = &self.tls {
            match tls.reload() {
                Ok(()) => eprintln!(
                    "linevisor: SIGHUP: TLS certificate re-read from {}",
                    tls.cert_path().display()
                ),
                Err(e) => eprintln!("error: SIGHUP: TLS certificate kept unchanged: {e}"),
            }
        }
    }
}

/// `1 drive`, `3 drives`, `2 buses`.
fn count(n: usize, word: &str) -> String {
    match (n, word.ends_with('s')) {
        (1, _) => format!("1 {word}"),
        (_, true) => format!("{n} {word}es"),
        (_, false) => format!("{n} {word}s"),
    }
}
