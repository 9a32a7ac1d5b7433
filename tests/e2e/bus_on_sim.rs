//! The Modbus bus actor against the simulator over a pseudo-terminal pair (the real
//! tokio-serial path): three drives on one RTU line polled in turn with the profile's own read
//! plan, and a unit that goes silent is demoted, then restored when it answers again.

use std::time::Duration;

use linevisor_bus::{
    Attach, BusEvent, BusSpec, FnOpener, LinkStream, ModbusArgs, ModbusBus, ModbusHandle,
    ReadBlock, RegisterTable,
};
use linevisor_config::model::{ModbusRtuBus, Parity, Profile};
use linevisor_profile::ProfileCodec;
use linevisor_sim::{PtyEndpoint, SimDrive, SimDriveOptions, SimHandle};
use ractor::Actor;
use tokio::sync::mpsc;

const BAUD: u32 = 115_200;

fn sim_servo() -> Profile {
    let checked = linevisor_config::check_text(
        linevisor_config::DEMO_LINE_NAME,
        linevisor_config::DEMO_LINE,
        None,
    );
    let line = checked.line.expect("demo line is valid");
    line.profiles[&("linevisor-sim-servo".to_owned(), "1.0".to_owned())]
        .profile
        .clone()
}

/// The bus on the far end of a pty the simulator serves; the endpoint must be kept alive.
async fn bus_on_pty(sim: &SimHandle) -> (ModbusHandle, PtyEndpoint) {
    let mut pty = sim.serve_pty(BAUD).expect("pty pair");
    let mut far_end = pty.far_end.take();
    let path = pty.path.display().to_string();
    let opener = FnOpener::new(path.clone(), move || {
        let stream = far_end.take();
        async move {
            stream
                .map(|s| Box::new(s) as LinkStream)
                .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "pty gone"))
        }
    });
    let spec = ModbusRtuBus {
        id: "rs485-e2e".into(),
        port: path,
        baud: BAUD,
        parity: Parity::Even,
        data_bits: 8,
        stop_bits: 1,
        // Generous: a loaded 2-core machine must not turn into a false timeout.
        response_timeout_ms: 500,
        retries: 0,
        inter_frame_gap_us: None,
        echo_suppression: false,
        broadcast_turnaround_ms: 20,
        demote_after_timeouts: 2,
        probe_interval_ms: 200,
    };
    let args = ModbusArgs::new(BusSpec::Rtu(spec), Box::new(opener));
    let (actor, _) = Actor::spawn(None, ModbusBus, args).await.expect("bus");
    (ModbusHandle::new("rs485-e2e", actor), pty)
}

/// Waits for the next event matching `pred` (the timeout is only a hang guard).
async fn until(rx: &mut mpsc::Receiver<BusEvent>, what: &str, pred: impl Fn(&BusEvent) -> bool) {
    let guard = tokio::time::sleep(Duration::from_secs(30));
    tokio::pin!(guard);
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Some(ev) if pred(&ev) => return,
                Some(_) => {}
                None => panic!("sink closed while waiting for {what}"),
            },
            () = &mut guard => panic!("no {what} within 30 s"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_sim_drives_on_one_rtu_line_and_a_silent_unit() {
    let profile = sim_servo();
    let codec = ProfileCodec::new(&profile).expect("codec");
    let sim = SimHandle::new();
    for unit in 1..=3u8 {
        let options = SimDriveOptions {
            serial_number: 5000 + u32::from(unit),
            ..SimDriveOptions::default()
        };
        sim.add_drive(unit, SimDrive::new(&profile, options).expect("sim drive"))
            .expect("add");
    }
    let (bus, _pty) = bus_on_pty(&sim).await;
    let plan = codec.poll_plan();
    let blocks: Vec<ReadBlock> = plan
        .blocks()
        .iter()
        .map(|b| ReadBlock {
            table: RegisterTable::Holding,
            address: b.address,
            count: b.count,
        })
        .collect();
    assert_eq!(
        blocks.len(),
        1,
        "the sim servo's poll set is one contiguous read"
    );
    let (tx, mut rx) = mpsc::channel(1024);
    for unit in 1..=3u8 {
        let attach = Attach {
            unit,
            blocks: blocks.clone(),
            period: Duration::from_millis(20),
            sink: tx.clone(),
        };
        bus.attach(attach).await.expect("attach");
    }

    // All three are polled in turn, and each sample decodes to switch on disabled.
    let mut seen = [0u32; 4];
    while seen[1..].iter().any(|n| *n < 5) {
        match tokio::time::timeout(Duration::from_secs(30), rx.recv()).await {
            Ok(Some(BusEvent::Sample(s))) => {
                let sample = plan.decode(&s.blocks).expect("decode");
                let state = codec.decode_status(&sample).expect("state");
                assert_eq!(format!("{state:?}"), "SwitchOnDisabled");
                seen[usize::from(s.unit)] += 1;
            }
            Ok(Some(_)) => {}
            other => panic!("no samples: {other:?}"),
        }
    }

    // Unit 2 goes silent: demoted; its neighbours keep getting samples; it comes back.
    sim.go_silent(2).expect("silent");
    until(&mut rx, "demotion of unit 2", |e| {
        matches!(e, BusEvent::Demoted { unit: 2, .. })
    })
    .await;
    let mut neighbours = [0u32; 4];
    while neighbours[1] < 5 || neighbours[3] < 5 {
        if let Some(BusEvent::Sample(s)) = rx.recv().await {
            assert_ne!(
                s.unit, 2,
                "a demoted unit is only probed, never sampled while silent"
            );
            neighbours[usize::from(s.unit)] += 1;
        }
    }
    sim.come_back(2).expect("come back");
    until(&mut rx, "restoration of unit 2", |e| {
        matches!(e, BusEvent::Restored { unit: 2, .. })
    })
    .await;
    until(
        &mut rx,
        "a sample of unit 2",
        |e| matches!(e, BusEvent::Sample(s) if s.unit == 2),
    )
    .await;
    let _ = bus.stop().await;
}
