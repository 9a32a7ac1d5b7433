//! The EDS import on the test files in tests/data/eds (written for these tests from CiA 306 and
//! CiA 402, see its README): each parses, and its profile skeleton is valid TOML with the
//! expected roles. Real vendor files: `runtime/cli/tests/eds_import.rs`, LINEVISOR_EDS_DIR.

use std::path::PathBuf;

use linevisor_canopen::eds::{Eds, Number, ProfileOptions, to_profile};

const FILES: [&str; 4] = [
    "servo-writable-hex.eds",
    "drive-fixed-crlf.eds",
    "stepper-vfd-compact.eds",
    "servo-node5.dcf",
];

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/eds")
        .join(name)
}

struct Imported {
    eds: Eds,
    text: String,
    notes: Vec<String>,
    fixed: bool,
}

fn import(name: &str) -> Imported {
    let bytes = std::fs::read(data(name)).unwrap();
    let eds = Eds::parse(&bytes).unwrap_or_else(|e| panic!("{}", e.located(name)));
    let options = ProfileOptions {
        name: None,
        version: "1.0".into(),
        source: name.into(),
    };
    let skeleton = to_profile(&eds, &options).unwrap_or_else(|e| panic!("{}", e.located(name)));
    let text = skeleton.to_toml();
    if let Ok(dir) = std::env::var("EDS_DUMP") {
        std::fs::write(PathBuf::from(dir).join(format!("{name}.toml")), &text).unwrap();
    }
    Imported {
        eds,
        text,
        notes: skeleton.notes().to_vec(),
        fixed: skeleton.mapping_fixed(),
    }
}

fn toml(text: &str) -> toml::Table {
    text.parse::<toml::Table>()
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// `[canopen] rpdo` or `tpdo` as lists of point names.
fn pdos(t: &toml::Table, key: &str) -> Vec<Vec<String>> {
    t["canopen"][key]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p.as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap().to_owned())
                .collect()
        })
        .collect()
}

fn has_note(notes: &[String], text: &str) -> bool {
    notes.iter().any(|n| n.contains(text))
}

#[test]
fn every_test_file_imports_to_valid_toml() {
    for name in FILES {
        let i = import(name);
        let t = toml(&i.text);
        assert_eq!(
            t["command"]["point"].as_str(),
            Some("controlword"),
            "{name}"
        );
        // The line ends are part of what each file tests: git must keep them (.gitattributes).
        let bytes = std::fs::read(data(name)).unwrap();
        let crlf = bytes.windows(2).filter(|w| w == b"\r\n").count();
        let lines = bytes.iter().filter(|b| **b == b'\n').count();
        if name == "drive-fixed-crlf.eds" {
            assert_eq!(crlf, lines, "{name}");
        } else {
            assert_eq!(crlf, 0, "{name}");
        }
    }
}

#[test]
fn a_writable_mapping_packs_each_object_once_then_what_linevisor_reads() {
    let i = import("servo-writable-hex.eds");
    assert!(!i.fixed);
    assert_eq!(i.eds.device.vendor_number, Some(0x00AC_E001));
    assert!(i.eds.warnings.is_empty(), "{:?}", i.eds.warnings);
    let t = toml(&i.text);
    assert_eq!(t["profile"]["name"].as_str(), Some("acme-as-200"));
    // `DefaultValue=0x00020192    ; servo drive, CiA 402`: the comment is not the value.
    assert_eq!(t["canopen"]["device_type"].as_integer(), Some(0x0002_0192));
    // RPDO 1 and 2 both carry the controlword by default: once only (a second copy would be
    // stale); RPDO 3 is off by default, so its target velocity is not carried.
    assert_eq!(
        pdos(&t, "rpdo"),
        vec![vec!["controlword", "modes_of_operation", "target_position"]]
    );
    // TPDO 1 holds 4 entries (its sub-objects) but 64 bits: velocity goes on to TPDO 2, with
    // the fault code and torque linevisor reads every cycle.
    assert_eq!(
        pdos(&t, "tpdo"),
        vec![
            vec!["statusword", "modes_display", "position_actual"],
            vec!["velocity_actual", "error_code", "torque_actual"],
        ]
    );
    assert!(
        has_note(&i.notes, "error_code added to TPDO 2"),
        "{:?}",
        i.notes
    );
    for cob in [
        "COB-ID $NODEID+0x180,",
        "COB-ID $NODEID+0x300,",
        "COB-ID $NODEID+0x80000500, disabled by default",
    ] {
        assert!(i.text.contains(cob), "{cob}\n{}", i.text);
    }
    assert_eq!(t["command"]["velocity_mode"].as_integer(), Some(3));
    assert_eq!(t["command"]["position_mode"].as_integer(), Some(1));
    assert_eq!(t["fault"]["code"].as_str(), Some("error_code"));
    assert_eq!(t["homing"]["method_point"].as_str(), Some("homing_method"));
    let accel = t["parameters"]["profile_acceleration"].as_table().unwrap();
    assert_eq!(accel["min"].as_integer(), Some(1));
    assert_eq!(accel["max"].as_integer(), Some(0x7FFF_FFFF));
    assert!(
        t["parameters"]["quick_stop_deceleration"]
            .get("max")
            .is_none()
    );
    assert_eq!(t["identity"].as_array().unwrap().len(), 3);
}

#[test]
fn a_fixed_mapping_is_kept_by_number_and_says_verify() {
    let i = import("drive-fixed-crlf.eds");
    assert!(i.fixed);
    assert!(
        i.text
            .contains("# mapping is fixed (ro) in the EDS: linevisor reads and compares it")
            && i.text.contains("\npdo_mapping = \"verify\"\n")
    );
    // Latin-1 bytes read as such.
    assert_eq!(i.eds.objects[&0x6091].name, "Getriebe\u{fc}bersetzung");
    assert!(
        i.text
            .contains("Getriebe\u{fc}bersetzung: Motorumdrehungen")
    );
    let t = toml(&i.text);
    assert_eq!(t["profile"]["name"].as_str(), Some("nordmark-dx-40"));
    assert_eq!(t["canopen"]["device_type"].as_integer(), Some(131_474));
    assert_eq!(
        pdos(&t, "rpdo"),
        vec![
            vec!["controlword", "target_velocity"],
            vec!["controlword", "target_position"],
        ]
    );
    // TPDO 4 is disabled and empty: a comment, no entry.
    assert_eq!(
        pdos(&t, "tpdo"),
        vec![
            vec!["statusword", "velocity_actual"],
            vec!["statusword", "position_actual"],
            vec!["statusword", "torque_actual", "current_actual"],
        ]
    );
    assert!(i.text.contains(
        "TPDO 4 (0x1803/0x1A03): fixed (0x1A03:00 is const), COB-ID $NODEID+0x80000480, disabled"
    ));
    assert!(i.text.contains("COB-ID $NODEID+0x180, transmission type 1"));
    assert!(
        has_note(&i.notes, "controlword is in several fixed RPDOs"),
        "{:?}",
        i.notes
    );
    // The fault code cannot be read every cycle: left out, with the reason.
    assert!(t["fault"].get("code").is_none());
    assert!(
        has_note(&i.notes, "0x603F (error_code) is in no TPDO"),
        "{:?}",
        i.notes
    );
    assert_eq!(t["telemetry"]["current"].as_str(), Some("current_actual"));
    assert_eq!(t["command"]["velocity_mode"].as_integer(), Some(3));
    let stop = t["parameters"]["quick_stop_deceleration"]
        .as_table()
        .unwrap();
    assert_eq!(stop["max"].as_integer(), Some(2_000_000));
    assert!(t.get("homing").is_none());
}

#[test]
fn compact_arrays_lower_case_sections_and_write_only_rpdo_objects() {
    let i = import("stepper-vfd-compact.eds");
    let eds = &i.eds;
    assert_eq!(eds.device.vendor_name, None);
    assert_eq!(eds.objects[&0x1003].subs.len(), 9);
    let heartbeat = eds.sub(0x1016, 1).unwrap();
    assert_eq!(heartbeat.name, "Master heartbeat");
    assert_eq!(heartbeat.number(), Some(Number::plain(0x0001_03E8)));
    assert_eq!(eds.sub(0x1016, 2).unwrap().number(), None);
    assert_eq!(
        eds.sub(0x6046, 2).unwrap().number(),
        Some(Number::plain(3000))
    );
    assert_eq!(
        eds.warnings,
        vec![(
            23,
            "[mandatoryobjects] lists 0x1000, which has no section".to_owned()
        )]
    );
    let t = toml(&i.text);
    assert_eq!(t["profile"]["name"].as_str(), Some("stepper-vfd-compact"));
    assert!(t["canopen"].get("device_type").is_none());
    // linevisor reads RPDO objects back at boot: the write-only ones are dropped.
    for dropped in [
        "RPDO 1 entry 0x6060:00 (modes_of_operation) is wo",
        "RPDO 2 entry 0x2010:00 (jog_command) is wo",
    ] {
        assert!(has_note(&i.notes, dropped), "{:?}", i.notes);
    }
    assert_eq!(
        pdos(&t, "rpdo"),
        vec![vec!["controlword", "vl_target_velocity"]]
    );
    // No 0x60FF but vl mode (0x6502 bit 1) with 0x6042/0x6044.
    assert_eq!(t["command"]["velocity_mode"].as_integer(), Some(2));
    assert_eq!(
        t["setpoints"]["velocity"].as_str(),
        Some("vl_target_velocity")
    );
    assert_eq!(
        t["telemetry"]["velocity"].as_str(),
        Some("vl_velocity_actual")
    );
    let outputs = t["points"]["digital_outputs_mask"].as_table().unwrap();
    assert_eq!(outputs["subindex"].as_integer(), Some(2));
    assert!(t.get("homing").is_none());
}

#[test]
fn dcf_parameter_values_win_over_defaults() {
    let i = import("servo-node5.dcf");
    let eds = &i.eds;
    assert_eq!(eds.node_id, Some(5));
    assert_eq!(eds.file_name.as_deref(), Some("servo-node5.dcf"));
    assert_eq!(eds.sub(0x1001, 0).unwrap().parameter_value, None);
    assert_eq!(
        eds.sub(0x1018, 4).unwrap().number(),
        Some(Number::plain(0x1234))
    );
    let t = toml(&i.text);
    // RPDO 1 carries the target velocity instead of the mode; RPDO 2 is switched on.
    assert_eq!(
        pdos(&t, "rpdo"),
        vec![
            vec!["controlword", "target_velocity"],
            vec!["target_position"],
        ]
    );
    // TPDO 2 (velocity) is switched off: linevisor maps what it reads into it again.
    assert_eq!(
        pdos(&t, "tpdo"),
        vec![
            vec!["statusword", "position_actual", "modes_display"],
            vec!["error_code", "velocity_actual"],
        ]
    );
    assert!(
        has_note(&i.notes, "velocity_actual added to TPDO 2"),
        "{:?}",
        i.notes
    );
    assert!(
        i.text
            .contains("COB-ID $NODEID+0x180 = 0x185, transmission type 1;")
    );
    // This unit reports csp and csv only (ParameterValue 0x180 over DefaultValue 0x25): no
    // homing although 0x6098 exists.
    assert_eq!(t["command"]["velocity_mode"].as_integer(), Some(9));
    assert_eq!(t["command"]["position_mode"].as_integer(), Some(8));
    assert!(t.get("homing").is_none());
    let accel = t["parameters"]["profile_acceleration"].as_table().unwrap();
    assert_eq!(
        (accel["min"].as_integer(), accel["max"].as_integer()),
        (Some(100), Some(10_000_000))
    );
}

/// A writable TPDO whose mapping object defines one entry sub-object takes no second entry:
/// writing 0x1A00:02 would be refused by the drive.
#[test]
fn a_writable_pdo_holds_only_the_entries_its_object_defines() {
    let text = "\
[6040]\nDataType=0x0006\nAccessType=rw\nPDOMapping=1\n\
[6041]\nDataType=0x0006\nAccessType=ro\nPDOMapping=1\n\
[606C]\nDataType=0x0004\nAccessType=ro\nPDOMapping=1\n\
[6064]\nDataType=0x0004\nAccessType=ro\nPDOMapping=0\n\
[1A00]\nObjectType=0x9\n\
[1A00sub0]\nDataType=0x0005\nAccessType=rw\nDefaultValue=1\n\
[1A00sub1]\nDataType=0x0007\nAccessType=rw\nDefaultValue=0x60410010\n\
[1800]\nObjectType=0x9\n\
[1800sub1]\nDataType=0x0007\nAccessType=rw\nDefaultValue=$NODEID+0x180\n";
    let eds = Eds::parse(text.as_bytes()).unwrap();
    let options = ProfileOptions {
        name: Some("one-entry".into()),
        version: "2.1".into(),
        source: "x.eds".into(),
    };
    let skeleton = to_profile(&eds, &options).unwrap();
    let t = toml(&skeleton.to_toml());
    let tpdo = t["canopen"]["tpdo"].as_array().unwrap();
    assert_eq!(tpdo.len(), 1);
    assert_eq!(tpdo[0].as_array().unwrap().len(), 1);
    assert!(t["telemetry"].get("velocity").is_none());
    assert!(t["telemetry"].get("position").is_none());
    let notes = skeleton.notes().join("\n");
    assert!(
        notes.contains("0x606C (velocity_actual) is in no TPDO and no TPDO has room"),
        "{notes}"
    );
    assert!(
        notes.contains("0x6064 (position_actual) may not be mapped into a PDO"),
        "{notes}"
    );
    assert_eq!(t["profile"]["version"].as_str(), Some("2.1"));
}

#[test]
fn no_controlword_no_profile() {
    let eds = Eds::parse(b"[6041]\nDataType=0x0006\nAccessType=ro\n").unwrap();
    let options = ProfileOptions {
        name: None,
        version: "1.0".into(),
        source: "io.eds".into(),
    };
    let e = to_profile(&eds, &options).unwrap_err();
    assert_eq!(e.line(), None);
    assert!(
        e.located("io.eds")
            .starts_with("io.eds: no usable controlword 0x6040"),
        "{e}"
    );
    let eds = Eds::parse(
        b"[6040]\nDataType=0x0006\nAccessType=ro\n[6041]\nDataType=0x0006\nAccessType=ro\n",
    )
    .unwrap();
    let e = to_profile(&eds, &options).unwrap_err();
    assert_eq!(e.line(), Some(1));
    assert!(e.to_string().contains("not writable"), "{e}");
}
