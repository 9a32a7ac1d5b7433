//! Serves a sim config until Ctrl-C, as `linevisor sim <sim-config>` will:
//! `cargo run -p linevisor-sim --example serve -- configs/sim/three-servos.toml`

use std::path::PathBuf;
use std::process::ExitCode;

use linevisor_sim::{SimConfig, run_sim};

#[tokio::main]
async fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: serve <sim-config.toml>");
        return ExitCode::from(2);
    };
    let config = match SimConfig::load(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match run_sim(config, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
