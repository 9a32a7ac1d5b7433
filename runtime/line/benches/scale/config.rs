//! The line config of a scenario, as an integrator would write it: Modbus TCP buses to the
//! simulators' ports, CANopen buses on the emulated slcan adapters' terminals, then whatever
//! `LINEVISOR_BENCH_LINE_EXTRA` holds (e.g. a `[realtime]` section).

use std::fmt::Write as _;
use std::path::Path;

use linevisor_config::model::Profile;
use linevisor_config::{BUILTIN_PROFILES, ValidLine, check_text};

use crate::scenario::{CAN_BITRATE, CAN_NODES_MAX, MODBUS_PER_CONNECTION, Points, Scenario};
use crate::sim::BusPlan;

pub(crate) const CANOPEN_PROFILE: &str = "generic-cia402-canopen";
const STOCK_SERVO: &str = "linevisor-sim-servo";
const TEN_POINT_SERVO: &str = "bench-servo-10";
const STOCK_POLL: &str = r#"points = ["statusword", "modes_display", "velocity_actual", "position_actual", "current_actual", "error_code"]"#;
const TEN_POINT_POLL: &str = r#"points = ["statusword", "modes_display", "velocity_actual", "position_actual", "current_actual", "error_code", "controlword", "modes_of_operation", "target_velocity", "target_position"]"#;

/// The Modbus drives' profile: name, version.
pub(crate) fn modbus_profile(points: Points) -> (String, String) {
    let name = match points {
        Points::Stock => STOCK_SERVO,
        Points::Ten => TEN_POINT_SERVO,
    };
    (name.to_owned(), "1.0".to_owned())
}

/// The shipped simulated servo reading 10 points a cycle (its setpoints too): same register
/// map, so the simulator serves it unchanged.
pub(crate) fn ten_point_profile() -> String {
    let (_, text) = BUILTIN_PROFILES
        .iter()
        .find(|(file, _)| file.starts_with(STOCK_SERVO))
        .unwrap_or_else(|| panic!("{STOCK_SERVO} is not shipped"));
    let renamed = text.replace(
        &format!("name = \"{STOCK_SERVO}\""),
        &format!("name = \"{TEN_POINT_SERVO}\""),
    );
    let ten = renamed.replace(STOCK_POLL, TEN_POINT_POLL);
    assert!(
        ten != renamed && renamed != **text,
        "the shipped {STOCK_SERVO} changed; update the bench's copy"
    );
    ten
}

/// `n` drives over the fewest buses of at most `per` each, as evenly as possible.
fn spread(n: usize, per: usize) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    let buses = n.div_ceil(per);
    (0..buses)
        .map(|i| n / buses + usize::from(i < n % buses))
        .collect()
}

/// The buses of a scenario.
pub(crate) fn plan(sc: &Scenario) -> Vec<BusPlan> {
    let (modbus, canopen) = sc.kind.split(sc.drives);
    let mut plan: Vec<BusPlan> = spread(modbus, MODBUS_PER_CONNECTION)
        .into_iter()
        .map(BusPlan::Modbus)
        .collect();
    let per_segment = can_nodes_per_segment(sc.cycle_ms);
    plan.extend(
        spread(canopen, per_segment)
            .into_iter()
            .map(BusPlan::Canopen),
    );
    plan
}

fn canopen_bus(s: &mut String, id: &str, port: &str, cycle_ms: u32) {
    let _ = write!(
        s,
        "\n[[bus]]\nid = \"{id}\"\ntype = \"canopen\"\nadapter = \"slcan\"\nport = \"{port}\"\nbitrate = {CAN_BITRATE}\nsync_period_ms = {cycle_ms}\n"
    );
}

fn drive(s: &mut String, id: &str, bus: &str, address: usize, profile: &str) {
    let _ = write!(
        s,
        "\n[[drive]]\nid = \"{id}\"\nbus = \"{bus}\"\naddress = {address}\nprofile = {{ name = \"{profile}\", version = \"1.0\" }}\nlimits = {{ velocity_max = 3000.0 }}\n"
    );
}

/// The most CANopen nodes (≤ [`CAN_NODES_MAX`]) one segment carries at this cycle with its
/// wire load, by linevisor's own load model, under the line's warning threshold (70 %).
pub(crate) fn can_nodes_per_segment(cycle_ms: u32) -> usize {
    (1..=CAN_NODES_MAX)
        .rev()
        .find(|&n| {
            let mut s = format!("[line]\nname = \"probe\"\ncycle_ms = {cycle_ms}\n");
            canopen_bus(&mut s, "can", "/dev/null", cycle_ms);
            for i in 1..=n {
                drive(&mut s, &format!("c{i}"), "can", i, CANOPEN_PROFILE);
            }
            let checked = check_text("probe.toml", &s, None);
            checked.diagnostics.is_empty()
                && checked
                    .line
                    .is_some_and(|l| l.loads.iter().all(|b| b.percent.unwrap_or(0.0) <= 70.0))
        })
        .unwrap_or(1)
}

/// The config text of a scenario on `plan`, whose buses are reached at `endpoints`.
pub(crate) fn line_text(sc: &Scenario, plan: &[BusPlan], endpoints: &[String]) -> String {
    let mut s = format!("[line]\nname = \"scale\"\ncycle_ms = {}\n", sc.cycle_ms);
    if sc.points == Points::Ten {
        s.push_str("profile_dirs = [\".\"]\n");
    }
    let (servo, _) = modbus_profile(sc.points);
    let mut drives = String::new();
    let mut n = 0;
    for (b, (bus, at)) in plan.iter().zip(endpoints).enumerate() {
        match *bus {
            BusPlan::Modbus(units) => {
                let id = format!("mb{b:03}");
                let _ = write!(
                    s,
                    "\n[[bus]]\nid = \"{id}\"\ntype = \"modbus_tcp\"\naddress = \"{at}\"\n"
                );
                for unit in 1..=units {
                    n += 1;
                    drive(&mut drives, &format!("m{n:04}"), &id, unit, &servo);
                }
            }
            BusPlan::Canopen(nodes) => {
                let id = format!("can{b:03}");
                canopen_bus(&mut s, &id, at, sc.cycle_ms);
                for node in 1..=nodes {
                    n += 1;
                    drive(&mut drives, &format!("c{n:04}"), &id, node, CANOPEN_PROFILE);
                }
            }
        }
    }
    s.push_str(&drives);
    if let Ok(extra) = std::env::var("LINEVISOR_BENCH_LINE_EXTRA") {
        s.push('\n');
        s.push_str(&extra);
        s.push('\n');
    }
    s
}

/// Checks the text; the refusal's diagnostics on stderr.
pub(crate) fn check(text: &str, dir: &Path, sc: &Scenario) -> Option<ValidLine> {
    let base = (sc.points == Points::Ten).then_some(dir);
    let checked = check_text("scale.toml", text, base);
    for d in &checked.diagnostics {
        eprintln!("scale.toml: {d:?}");
    }
    checked.line
}

/// Points a drive delivers a sample: its poll set (Modbus) or its TPDOs' points (CANopen).
pub(crate) fn points_per_sample(profile: &Profile) -> usize {
    let mut names: Vec<&String> = match (&profile.poll, &profile.canopen) {
        (Some(poll), _) => poll.points.iter().collect(),
        (None, Some(co)) => co.tpdo.iter().flatten().collect(),
        (None, None) => Vec::new(),
    };
    names.sort();
    names.dedup();
    names.len()
}
