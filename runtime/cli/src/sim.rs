//! `linevisor sim <sim-config>`: simulated drives in their own process, Modbus drives served as
//! real Modbus (TCP, RTU on a pty), plain serial drives on serial lines (a pty each), CANopen
//! drives as CiA 402 nodes behind an emulated slcan adapter on a pty (every path is printed).

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
