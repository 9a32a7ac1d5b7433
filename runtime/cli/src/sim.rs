//! `linevisor sim <sim-config>`: simulated drives served as real Modbus, in their own process.

use std::path::Path;
use std::process::ExitCode;

use linevisor_sim::{SimConfig, run_sim};

pub(crate) fn run(path: &Path) -> ExitCode {
    let config = match SimConfig::load(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    crate::init_logs();
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
    match rt.block_on(run_sim(config, crate::signals::terminated())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
