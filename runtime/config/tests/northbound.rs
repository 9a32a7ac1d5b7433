//! `[northbound.sparkplug]`: a full section checks clean; each bad value is reported at its key
//! with a hint.

use linevisor_config::check_text;

const LINE: &str = "[line]\nname = \"bottling-2\"\n";

fn diagnostics(section: &str) -> Vec<String> {
    let text = format!("{LINE}\n[northbound.sparkplug]\n{section}");
    check_text("line.toml", &text, None)
        .diagnostics
        .iter()
        .map(ToString::to_string)
        .collect()
}

const GOOD: &str = r#"brokers = ["mqtts://broker-a.plant:8883", "mqtts://broker-b.plant:8883"]
group_id = "plant-1"
client_id = "linevisor-bottling-2"
username = "line"
password_file = "mqtt-password"
ca_file = "ca.pem"
client_cert = "line.pem"
client_key = "line.key"
data_qos = 1
keep_alive_s = 30
max_interval_ms = 60000
deadband = { velocity = 0.5, position = 1.0 }
metrics = ["state", "velocity", "position", "fault_code"]
primary_host = "scada"
allow_commands = true
buffer_max_bytes = 1048576
buffer_max_age_s = 600
buffer_path = "sparkplug.buffer"
"#;

#[test]
fn a_full_section_checks_clean_and_defaults_fill_the_rest() {
    assert_eq!(diagnostics(GOOD), Vec::<String>::new());
    let minimal = "brokers = [\"mqtt://127.0.0.1:1883\"]\ngroup_id = \"plant-1\"\n";
    let c = check_text(
        "line.toml",
        &format!("{LINE}\n[northbound.sparkplug]\n{minimal}"),
        None,
    );
    let line = c.line.expect("valid");
    let s = line.config.northbound.sparkplug.expect("section");
    assert_eq!(s.edge_node(&line.config.line.name), "bottling-2");
    assert_eq!(
        (s.data_qos, s.keep_alive_s, s.allow_commands),
        (0, 30, false)
    );
    assert_eq!(s.metrics.len(), 10);
}

#[test]
fn each_bad_value_is_located_with_a_hint() {
    let cases = [
        (
            "brokers = [\"http://x:1\"]",
            "northbound.sparkplug.brokers[0]: \"http://x:1\" is not an mqtt:// or mqtts:// URL",
        ),
        (
            "brokers = [\"mqtt://broker\"]",
            "\"mqtt://broker\" needs host:port",
        ),
        ("brokers = []", "northbound.sparkplug.brokers: no broker"),
        (
            "group_id = \"plant/1\"",
            "\"plant/1\" is not a Sparkplug group_id",
        ),
        ("primary_host = \"\"", "is not a Sparkplug primary_host"),
        ("data_qos = 2", "northbound.sparkplug.data_qos"),
        ("keep_alive_s = 1", "northbound.sparkplug.keep_alive_s"),
        ("metrics = [\"velocty\"]", "unknown metric \"velocty\""),
        (
            "deadband = { velocity = -1.0 }",
            "deadband -1 is not a number ≥ 0",
        ),
        (
            "client_key = \"k.pem\"",
            "client_cert and client_key go together",
        ),
        ("ca_file = \"ca.pem\"", "ca_file is for mqtts:// brokers"),
        (
            "brokers = [\"mqtts://b:8883\"]",
            "mqtts:// brokers need ca_file",
        ),
        ("brokr = 1", "unknown"),
    ];
    for (line, want) in cases {
        let key = line.split_once(" = ").map(|(k, _)| k).unwrap_or("");
        let base: String = "brokers = [\"mqtt://127.0.0.1:1883\"]\ngroup_id = \"plant-1\"\n"
            .lines()
            .filter(|l| !l.starts_with(&format!("{key} =")))
            .map(|l| format!("{l}\n"))
            .collect();
        let got = diagnostics(&format!("{base}{line}\n"));
        assert!(
            got.iter()
                .any(|d| d.starts_with("line.toml:") && d.contains(want)),
            "{line}: no {want:?} in {got:#?}"
        );
    }
    let got = diagnostics(
        "brokers = [\"mqtt://127.0.0.1:1883\"]\ngroup_id = \"p\"\nmetrics = [\"velocty\"]\n",
    );
    assert!(
        got.iter().any(|d| d.contains("velocity")),
        "did-you-mean: {got:#?}"
    );
}

/// The demo line with `section` as its `[northbound.sparkplug]`.
fn demo_with(section: &str) -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let demo = std::fs::read_to_string(root.join("demo-line.toml")).expect("demo line");
    let text = format!(
        "{demo}\n[northbound.sparkplug]\nbrokers = [\"mqtt://127.0.0.1:1883\"]\ngroup_id = \"p\"\n{section}"
    );
    check_text("line.toml", &text, Some(&root))
        .diagnostics
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn a_drive_can_publish_its_own_metrics_and_deadbands() {
    let good = "[northbound.sparkplug.drives.infeed-conveyor]\nmetrics = [\"state\", \"velocity\"]\ndeadband = { velocity = 2.0 }\n";
    assert_eq!(demo_with(good), Vec::<String>::new());
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let demo = std::fs::read_to_string(root.join("demo-line.toml")).expect("demo line");
    let text = format!(
        "{demo}\n[northbound.sparkplug]\nbrokers = [\"mqtt://127.0.0.1:1883\"]\ngroup_id = \"p\"\ndeadband = {{ velocity = 0.5 }}\n{good}"
    );
    let line = check_text("line.toml", &text, Some(&root))
        .line
        .expect("valid");
    let s = line.config.northbound.sparkplug.expect("section");
    assert_eq!(s.metrics_of("infeed-conveyor"), ["state", "velocity"]);
    assert_eq!(s.metrics_of("transfer-axis").len(), 10);
    assert_eq!(s.deadband_of("infeed-conveyor", "velocity"), 2.0);
    assert_eq!(s.deadband_of("transfer-axis", "velocity"), 0.5);
}

#[test]
fn a_drive_table_for_no_drive_or_an_unknown_metric_is_located() {
    let got = demo_with("[northbound.sparkplug.drives.infeed-conveyr]\nmetrics = [\"state\"]\n");
    assert!(
        got.iter().any(|d| d.contains(
            "northbound.sparkplug.drives.\"infeed-conveyr\": no drive \"infeed-conveyr\" on this line"
        ) && d.contains("infeed-conveyor")),
        "{got:#?}"
    );
    let got = demo_with("[northbound.sparkplug.drives.infeed-conveyor]\nmetrics = [\"sate\"]\n");
    assert!(
        got.iter().any(|d| d.contains(
            "northbound.sparkplug.drives.\"infeed-conveyor\".metrics[0]: unknown metric \"sate\""
        )),
        "{got:#?}"
    );
}

#[test]
fn a_viewer_role_with_commands_allowed_is_warned() {
    let got = demo_with("allow_commands = true\nrole = \"viewer\"\n");
    assert!(
        got.iter().any(|d| d
            .contains("warning: northbound.sparkplug.role: role viewer: every DCMD is refused")),
        "{got:#?}"
    );
    assert_eq!(
        demo_with("allow_commands = true\nrole = \"operator\"\n"),
        Vec::<String>::new()
    );
    let got = demo_with("role = \"admin\"\n");
    assert!(
        got.iter()
            .any(|d| d.contains("unknown value \"admin\"; expected one of: viewer, operator")),
        "{got:#?}"
    );
}
