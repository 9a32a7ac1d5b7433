//! Reads that span register gaps (issue 15), against the simulator on an in-memory RTU line
//! under paused time: a drive whose status registers are 1, 3, 5 and 8–10 is polled with one
//! read per cycle when its profile spans gaps of two registers (four reads otherwise); a point
//! that must not be read as padding splits the read; a drive that refuses the padded read with
//! exception 02 makes its bus fall back to the unpadded reads once, in the same cycle, without
//! a missed or failed cycle and without demotion.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{once, options, rtu_spec, spawn};
use linevisor_bus::{BusEvent, BusHandle, BusSpec, Counters, DriveLink, ModbusHandle};
use linevisor_config::model::{Point, Profile};
use linevisor_profile::ProfileCodec;
use linevisor_sim::{ServeTask, SimDrive, SimDriveOptions, SimHandle};
use tokio::sync::mpsc;

const BAUD: u32 = 115_200;
const PERIOD: Duration = Duration::from_millis(150);
const HOLED: &str = include_str!("data/holed-servo.toml");

fn holed(span_gaps: u32) -> Profile {
    let mut p: Profile = toml::from_str(HOLED).expect("test profile");
    p.modbus.as_mut().expect("[modbus]").span_gaps = span_gaps;
    p
}

/// A point at register 6 (in the gap between 5 and 8) that must never be read as padding.
fn with_clear_on_read(mut p: Profile) -> Profile {
    let point: Point =
        toml::from_str("register = 6\ntype = \"u16\"\nreadable_gap = false").expect("point");
    p.points.insert("fault_history_pop".into(), point);
    p
}

struct Rig {
    sim: SimHandle,
    bus: ModbusHandle,
    codec: Arc<ProfileCodec>,
    link: Arc<dyn DriveLink>,
    rx: mpsc::Receiver<BusEvent>,
    _serve: ServeTask,
}

/// The simulator serving `profile` at unit 1, a bus on its RTU line, and the drive's link
/// attached at [`PERIOD`].
async fn rig(profile: &Profile, refuse_holes: bool) -> Rig {
    let sim = SimHandle::new();
    let drive = SimDrive::new(profile, SimDriveOptions::default()).expect("sim drive");
    sim.add_drive(1, drive).expect("add");
    sim.with_drive(1, |d| d.refuse_holes(refuse_holes))
        .expect("unit 1");
    let (stream, serve) = sim.serve_duplex_rtu(BAUD);
    let (bus, _join) = spawn(BusSpec::Rtu(rtu_spec(BAUD)), once(stream), options(100)).await;
    let codec = Arc::new(ProfileCodec::new(profile).expect("codec"));
    let link = BusHandle::from(bus.clone())
        .drive_link(codec.clone(), 1)
        .expect("link");
    let (tx, rx) = mpsc::channel(64);
    link.attach(tx, PERIOD).await.expect("attach");
    Rig {
        sim,
        bus,
        codec,
        link,
        rx,
        _serve: serve,
    }
}

impl Rig {
    /// The next `n` events, which must all be samples of consecutive cycles from 0 that decode
    /// to the simulated drive's state.
    async fn samples(&mut self, n: u64) {
        for seq in 0..n {
            let e = common::next(&mut self.rx, Duration::from_secs(10), "a sample").await;
            let BusEvent::Sample(s) = e else {
                panic!("cycle {seq}: expected a sample, got {e:?}");
            };
            assert_eq!(s.seq, seq, "no cycle skipped");
            let points = self.link.decode(&s.blocks).expect("decode");
            let state = self.codec.decode_status(&points).expect("state");
            assert_eq!(format!("{state:?}"), "SwitchOnDisabled");
        }
    }

    fn requests(&self) -> u64 {
        self.sim.requests_received(1).expect("unit 1")
    }

    async fn counters(&self) -> Counters {
        let m = self.bus.metrics().await.expect("metrics");
        m.units
            .into_iter()
            .find(|u| u.unit == 1)
            .expect("unit 1")
            .counters
    }
}

#[tokio::test(start_paused = true)]
async fn a_holed_status_map_is_one_read_per_cycle_when_gaps_are_spanned() {
    // Gaps of 1 join 1, 3 and 5; the gap of 2 before 8 needs span_gaps = 2.
    for (span_gaps, reads_per_cycle) in [(0, 4), (1, 2), (2, 1)] {
        let mut r = rig(&holed(span_gaps), false).await;
        r.samples(5).await;
        assert_eq!(r.requests(), 5 * reads_per_cycle, "span_gaps = {span_gaps}");
        let c = r.counters().await;
        assert_eq!((c.transactions, c.span_fallbacks), (5 * reads_per_cycle, 0));
        let _ = r.bus.stop().await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_point_that_must_not_be_read_as_padding_splits_the_read() {
    // 1..5 spans gaps 2 and 4; register 6 must not be read, so 8–10 is a read of its own.
    let mut r = rig(&with_clear_on_read(holed(2)), false).await;
    r.samples(3).await;
    assert_eq!(r.requests(), 3 * 2);
    let _ = r.bus.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_refused_padded_read_falls_back_once_and_the_drive_keeps_its_cycle() {
    let mut r = rig(&holed(2), true).await;
    // Cycle 0: the padded read is refused (exception 02), then its four unpadded reads; every
    // cycle after that is four reads. No cycle is missed or failed, nothing is demoted.
    r.samples(6).await;
    assert_eq!(r.requests(), 1 + 6 * 4);
    let c = r.counters().await;
    assert_eq!(c.span_fallbacks, 1, "counted once");
    assert_eq!(c.exceptions, 1);
    assert_eq!(
        (c.missed_cycles, c.cycle_failures, c.demotions),
        (0, 0, 0),
        "the device's refusal costs the drive no cycle"
    );
    assert_eq!(c.samples, 6);
    let _ = r.bus.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_refusal_of_an_unpadded_read_is_still_the_drives_business() {
    // Without spanning there is nothing to fall back to: the exception fails the cycle.
    let mut r = rig(&holed(0), false).await;
    r.samples(1).await;
    r.sim
        .answer_exception(
            1,
            linevisor_modbus::ExceptionCode::IllegalDataAddress,
            Some(1),
        )
        .expect("unit 1");
    let (_, seq) = common::until(
        &mut r.rx,
        Duration::from_secs(10),
        "a failed cycle",
        |e| match e {
            BusEvent::CycleFailed { seq, .. } => Some(*seq),
            _ => None,
        },
    )
    .await;
    assert_eq!(seq, 1);
    let c = r.counters().await;
    assert_eq!((c.span_fallbacks, c.cycle_failures), (0, 1));
    let _ = r.bus.stop().await;
}
