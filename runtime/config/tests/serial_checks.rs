//! The serial profile checks: each broken variant of a shipped serial profile fails with a
//! located diagnostic naming what cannot work.

use std::path::{Path, PathBuf};

use linevisor_config::check_text;

fn shipped(name: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/profiles");
    std::fs::read_to_string(dir.join(format!("{name}.toml"))).unwrap()
}

/// Checks `profile` (renamed so it does not clash with the compiled-in copy) beside an empty
/// line; returns the diagnostics as printed.
fn diagnostics(case: &str, profile: &str) -> Vec<String> {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("linevisor-serial-{case}-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("profiles")).unwrap();
    let profile = profile.replacen("version = \"1.0\"", "version = \"9.0\"", 1);
    std::fs::write(dir.join("profiles/p.toml"), profile).unwrap();
    let c = check_text("line.toml", "[line]\nname = \"t\"\n", Some(&dir));
    std::fs::remove_dir_all(&dir).ok();
    for d in &c.diagnostics {
        assert!(d.line >= 1 && d.column >= 1, "{d}");
    }
    c.diagnostics.iter().map(ToString::to_string).collect()
}

fn assert_reports(case: &str, profile: &str, wants: &[&str]) {
    let got = diagnostics(case, profile);
    for want in wants {
        assert!(
            got.iter().any(|d| d.contains(want)),
            "{case}: no {want:?} in {got:#?}"
        );
    }
}

#[test]
fn the_shipped_serial_profiles_check_clean() {
    for name in [
        "applied-motion-scl-stepper",
        "trinamic-tmcl-axis",
        "ascii-stepper",
    ] {
        assert_eq!(
            diagnostics(name, &shipped(name)),
            Vec::<String>::new(),
            "{name}"
        );
    }
}

#[test]
fn binary_layout_past_the_frame_or_overlapping() {
    let tmcl = shipped("trinamic-tmcl-axis");
    let past = tmcl.replacen(
        "{ name = \"value\", offset = 4",
        "{ name = \"value\", offset = 6",
        1,
    );
    assert_reports(
        "past",
        &past,
        &[
            "serial.request.fields[4].offset: bytes 6..10 run past the 9-byte frame",
            "checksum (bytes 8..9) overlaps value (bytes 6..10)",
        ],
    );
    let overlap = tmcl.replacen(
        "{ name = \"bank\", offset = 3 }",
        "{ name = \"bank\", offset = 4 }",
        1,
    );
    assert_reports(
        "overlap",
        &overlap,
        &["value (bytes 4..8) overlaps bank (bytes 4..5)"],
    );
}

#[test]
fn checksum_over_missing_bytes_or_its_own_position() {
    let tmcl = shipped("trinamic-tmcl-axis");
    let own = tmcl.replacen("over = [0, 8], at = 8", "over = [0, 9], at = 8", 1);
    assert_reports("own", &own, &["the checksum covers its own position"]);
    let missing = tmcl.replacen("over = [0, 8], at = 8", "over = [0, 12], at = 8", 1);
    assert_reports(
        "missing",
        &missing,
        &["checksum over bytes [0, 12) of a 9-byte frame"],
    );
}

#[test]
fn templates_use_value_where_it_belongs_and_known_placeholders() {
    let scl = shipped("applied-motion-scl-stepper");
    let read_value = scl.replacen("read = \"{address}SC\"", "read = \"{address}SC{value}\"", 1);
    assert_reports(
        "read",
        &read_value,
        &["points.status.read: a read template cannot use {value}"],
    );
    let write_no_value = scl.replacen(
        "write = [\"{address}DI{value}\", \"{address}FP\"]",
        "write = [\"{address}DI\", \"{address}FP\"]",
        1,
    );
    assert_reports(
        "write",
        &write_no_value,
        &["points.target_position.write: a write template needs {value}"],
    );
    let typo = scl.replacen("read = \"{address}AL\"", "read = \"{adress}AL\"", 1);
    assert_reports(
        "typo",
        &typo,
        &["unknown placeholder {adress}", "did you mean \"address\""],
    );
    let f32_decimals = scl.replacen(
        "target_position = { type = \"i32\"",
        "target_position = { type = \"f32\", decimals = 1",
        1,
    );
    assert_reports("f32", &f32_decimals, &["decimals needs an integer type"]);
    let frame_in_ascii = scl.replacen("read = \"{address}IP\"", "read = { command = 6 }", 1);
    assert_reports(
        "fields",
        &frame_in_ascii,
        &["an ascii profile's requests are text templates"],
    );
}

#[test]
fn sequences_only_for_writes_and_one_level_deep() {
    let scl = shipped("applied-motion-scl-stepper");
    let read_sequence = scl.replacen(
        "read = \"{address}DI\"",
        "read = [\"{address}DI\", \"{address}FP\"]",
        1,
    );
    assert_reports(
        "read-seq",
        &read_sequence,
        &["points.target_position.read: a read is one request, not a sequence"],
    );
    let nested = scl.replacen("\"{address}CJ\"]", "[\"{address}CJ\"]]", 1);
    assert_reports(
        "nested",
        &nested,
        &["points.target_velocity.write[1]: a sequence cannot contain a sequence"],
    );
    let tmcl = shipped("trinamic-tmcl-axis");
    let template_in_binary = tmcl.replacen(
        "write = { command = 1, type = 0, bank = 0 }",
        "write = [{ command = 1, type = 0, bank = 0 }, \"{address}CJ\"]",
        1,
    );
    assert_reports(
        "binary-seq",
        &template_in_binary,
        &["points.target_velocity.write[1]: a binary profile's requests are field values"],
    );
}

#[test]
fn homing_fits_the_command_encoding() {
    let scl = shipped("applied-motion-scl-stepper");
    let no_code = scl.replacen("[homing]\ncode = 9", "[homing]\nmode = 6", 1);
    assert_reports(
        "no-code",
        &no_code,
        &["homing: homing on an enumerated drive needs a code"],
    );
    let unsendable = scl.replacen("[homing]\ncode = 9", "[homing]\ncode = 7", 1);
    assert_reports(
        "unsendable",
        &unsendable,
        &["homing.code: point \"command\" has no request for code 7"],
    );
}

/// A line of `drives` drives of `profile` (version 9.0, from the line's folder) on one serial
/// bus; returns the diagnostics as printed.
fn line_diagnostics(case: &str, profile: &str, drives: u32) -> Vec<String> {
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "linevisor-serial-line-{case}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(dir.join("profiles")).unwrap();
    let profile = profile.replacen("version = \"1.0\"", "version = \"9.0\"", 1);
    let name = profile
        .lines()
        .find_map(|l| l.strip_prefix("name = "))
        .unwrap()
        .trim_matches('"')
        .to_owned();
    std::fs::write(dir.join("profiles/p.toml"), profile).unwrap();
    let mut line = String::from(
        "[line]\nname = \"t\"\ncycle_ms = 200\nprofile_dirs = [\"profiles\"]\n\n[[bus]]\nid = \"rs485\"\ntype = \"serial\"\nport = \"/dev/ttyUSB0\"\nbaud = 115200\n",
    );
    for i in 1..=drives {
        line.push_str(&format!(
            "\n[[drive]]\nid = \"d{i}\"\nbus = \"rs485\"\naddress = {i}\nprofile = {{ name = \"{name}\", version = \"9.0\" }}\n"
        ));
    }
    let c = check_text("line.toml", &line, Some(&dir));
    std::fs::remove_dir_all(&dir).ok();
    c.diagnostics.iter().map(ToString::to_string).collect()
}

#[test]
fn a_multi_drop_line_needs_every_request_addressed() {
    let ascii = shipped("ascii-stepper");
    // Addressed everywhere: two drives share the line.
    let ok = line_diagnostics("addressed", &ascii, 2);
    assert!(
        !ok.iter().any(|d| d.contains("cannot share bus")),
        "{ok:#?}"
    );
    // One template without {address}: fine alone, an error with a neighbour, at the drive.
    let bare = ascii.replacen("read = \"{address}RV\"", "read = \"RV\"", 1);
    assert_ne!(bare, ascii, "the template to break exists");
    let alone = line_diagnostics("alone", &bare, 1);
    assert!(
        !alone.iter().any(|d| d.contains("cannot share bus")),
        "{alone:#?}"
    );
    let shared = line_diagnostics("shared", &bare, 2);
    let hits: Vec<_> = shared
        .iter()
        .filter(|d| d.contains("cannot share bus \"rs485\"") && d.contains("no {address}"))
        .collect();
    assert_eq!(hits.len(), 2, "one per drive: {shared:#?}");
    assert!(
        hits[0].contains("line.toml:"),
        "located in the line: {}",
        hits[0]
    );

    // Binary frames: the request layout must have an address field.
    let tmcl = shipped("trinamic-tmcl-axis");
    let unaddressed = tmcl.replacen("{ name = \"address\", offset = 0 },", "", 1);
    assert_ne!(unaddressed, tmcl, "the address field to drop exists");
    let shared = line_diagnostics("binary", &unaddressed, 2);
    assert!(
        shared.iter().any(|d| d.contains("no address field")),
        "{shared:#?}"
    );
}

#[test]
fn one_serial_line_carries_one_framing() {
    for bus in [
        "type = \"serial\"\nport = \"/dev/ttyS1\"\nbaud = 57600",
        "type = \"simulated\"\nprotocol = \"serial\"",
    ] {
        let line = format!(
            "[line]\nname = \"t\"\n\n[[bus]]\nid = \"s\"\n{bus}\n\n\
             [[drive]]\nid = \"scl\"\nbus = \"s\"\naddress = 1\n\
             profile = {{ name = \"applied-motion-scl-stepper\", version = \"1.0\" }}\n\n\
             [[drive]]\nid = \"tmcl\"\nbus = \"s\"\naddress = 2\n\
             profile = {{ name = \"trinamic-tmcl-axis\", version = \"1.0\" }}\n"
        );
        let c = check_text("line.toml", &line, None);
        let got: Vec<String> = c.diagnostics.iter().map(ToString::to_string).collect();
        let want = "error: drive[1].profile.name: profile \"trinamic-tmcl-axis\" speaks binary 9-byte frames, but drive \"scl\" on this line speaks ascii lines ended by \"\\r\"";
        // Located at the second drive's profile name (file:line:col first).
        assert!(
            got.iter()
                .any(|d| d.starts_with("line.toml:") && d.contains(want)),
            "{bus}: {got:#?}"
        );
    }
}
