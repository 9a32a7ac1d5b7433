//! The Modbus read options in the load model (issue 15): a status map with holes (registers 1,
//! 3, 5, 8–10) costs four reads a cycle, or one with `span_gaps = 2`, and `linevisor check`
//! finds the line three such drives overload at 150 ms on 19200 baud feasible once gaps are
//! spanned; a point that must not be read as padding splits the read; coils and discrete inputs
//! are read in bit blocks; a drive's own response timeout is what a silent drive holds the line.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use linevisor_config::model::{PointTable, Profile};
use linevisor_config::{Checked, check_text, modbus_poll_reads, modbus_reads, render_tree};

const PROFILE: &str = r#"
[profile]
name = "holed"
version = "1.0"
protocol = "modbus"

[units]
position = "mm"
velocity = "rpm"
acceleration = "rpm/s"

[modbus]
span_gaps = SPAN

[points]
statusword = { register = 1, type = "u16" }
modes_display = { register = 3, type = "i16" }
current_actual = { register = 5, type = "i16", scale = 0.01 }
velocity_actual = { register = 8, type = "i32", scale = 0.1 }
error_code = { register = 10, type = "u16" }
controlword = { register = 100, type = "u16", access = "rw" }
EXTRA

[command]
encoding = "cia402"
point = "controlword"

[status]
point = "statusword"
states = [
    { state = "operation_enabled", mask = 0x006F, value = 0x0027 },
    { state = "fault", mask = 0x004F, value = 0x0008 },
]

[fault]
code = "error_code"
reset = { method = "controlword_edge" }

[poll]
points = ["statusword", "modes_display", "current_actual", "velocity_actual", "error_code" POLLED]

[telemetry]
velocity = "velocity_actual"
"#;

fn profile_text(span_gaps: u32, extra: &str, polled: &str) -> String {
    PROFILE
        .replace("SPAN", &span_gaps.to_string())
        .replace("EXTRA", extra)
        .replace("POLLED", polled)
}

fn profile(span_gaps: u32, extra: &str, polled: &str) -> Profile {
    toml::from_str(&profile_text(span_gaps, extra, polled)).expect("profile")
}

/// Three drives of the holed profile on a 19200-baud line at 150 ms; `drive3` is appended to
/// the third drive's entry.
fn check_line(span_gaps: u32, drive3: &str) -> Checked {
    // One folder per call: the tests run in parallel and each removes its own folder.
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "linevisor-modbus-reads-{}-{}",
        std::process::id(),
        CALLS.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(dir.join("profiles")).expect("temp dir");
    std::fs::write(
        dir.join("profiles/holed.toml"),
        profile_text(span_gaps, "", ""),
    )
    .expect("profile");
    let mut line = String::from(
        "[line]\nname = \"holed\"\ncycle_ms = 150\nprofile_dirs = [\"profiles\"]\n\n\
         [[bus]]\nid = \"rs485\"\ntype = \"modbus_rtu\"\nport = \"/dev/ttyUSB0\"\nbaud = 19200\n",
    );
    for unit in 1..=3 {
        line.push_str(&format!(
            "\n[[drive]]\nid = \"d{unit}\"\nbus = \"rs485\"\naddress = {unit}\n\
             profile = {{ name = \"holed\", version = \"1.0\" }}\n"
        ));
    }
    line.push_str(drive3);
    let checked = check_text("holed.toml", &line, Some(&dir));
    let _ = std::fs::remove_dir_all(&dir);
    checked
}

#[test]
fn spanning_the_gaps_of_a_holed_map_makes_an_overloaded_line_feasible() {
    assert_eq!(modbus_reads(&profile(0, "", "")), [1, 1, 1, 3]);
    assert_eq!(modbus_reads(&profile(1, "", "")), [5, 3]);
    assert_eq!(modbus_reads(&profile(2, "", "")), [10]);

    let over = check_line(0, "");
    assert!(over.line.is_none());
    let msgs: Vec<String> = over.diagnostics.iter().map(ToString::to_string).collect();
    assert!(
        msgs.iter()
            .any(|m| m.contains("bus[0].baud") && m.contains("needs 105.4% of the wire")),
        "{msgs:#?}"
    );

    let spanned = check_line(2, "");
    let line = spanned.line.expect("feasible with spanning");
    let pct = line.loads[0].percent.expect("a wire load");
    assert!((pct - 45.8).abs() < 0.05, "{pct}");
}

#[test]
fn a_point_that_must_not_be_read_as_padding_splits_the_read() {
    let keep_out = "fault_history = { register = 6, type = \"u16\", readable_gap = false }";
    assert_eq!(modbus_reads(&profile(2, keep_out, "")), [5, 3]);
    // Polled, it is read like any point (the rule is about padding only).
    let polled = profile(2, keep_out, ", \"fault_history\"");
    assert_eq!(modbus_reads(&polled), [10]);
}

#[test]
fn coils_and_discrete_inputs_are_read_in_bit_blocks_spanning_gaps_in_bits() {
    let bits = "brake = { table = \"coil\", register = 0, type = \"u16\" }\n\
                enable_out = { table = \"coil\", register = 2, type = \"u16\" }\n\
                door = { table = \"discrete_input\", register = 7, type = \"u16\" }";
    let polled = ", \"brake\", \"enable_out\", \"door\"";
    let p = profile(2, bits, polled);
    let reads = modbus_poll_reads(&p);
    let got: Vec<(PointTable, u32, u32)> =
        reads.iter().map(|r| (r.table, r.start, r.len)).collect();
    assert_eq!(
        got,
        [
            (PointTable::Holding, 1, 10),
            (PointTable::Coil, 0, 3),
            (PointTable::DiscreteInput, 7, 1),
        ]
    );
}

#[test]
fn a_drives_own_response_timeout_is_what_its_silence_holds_the_line() {
    // One read a cycle, retries 1 (two attempts): the bus's 100 ms hold 200 ms; d3's 500 ms, 1 s.
    let c = check_line(2, "response_timeout_ms = 500\n");
    let line = c.line.expect("valid");
    let hold = line.loads[0].silent_hold.clone().expect("a hold on RTU");
    assert_eq!((hold.drive.as_str(), hold.ms), ("d3", 1000));
    let tree = render_tree(&line);
    assert!(
        tree.contains("silent, drive d3 would hold the line 1000 ms a cycle"),
        "{tree}"
    );
    let plain = check_line(2, "").line.expect("valid");
    let hold = plain.loads[0].silent_hold.clone().expect("a hold on RTU");
    assert_eq!((hold.drive.as_str(), hold.ms), ("d1", 200));
}
