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
        "write = \"{address}FP{value}\"",
        "write = \"{address}FP\"",
        1,
    );
    assert_reports(
        "write",
        &write_no_value,
        &["a write template needs {value}"],
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
