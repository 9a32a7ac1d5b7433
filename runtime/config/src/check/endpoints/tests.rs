use super::*;

fn key(address: &str) -> (Host, u16) {
    endpoint(address).unwrap_or_else(|| panic!("{address} is host:port"))
}

#[test]
fn spellings_of_one_endpoint_compare_equal() {
    let loopback = key("127.0.0.1:502");
    for same in [
        "localhost:502",
        "LocalHost.:502",
        "[::1]:502",
        "[::ffff:127.0.0.1]:502",
    ] {
        assert_eq!(key(same), loopback, "{same}");
    }
    assert_eq!(key("PLC-1.Cell.:0502"), key("plc-1.cell:502"));
    assert_eq!(key("[::ffff:10.0.0.5]:502"), key("10.0.0.5:502"));
    // Distinct: another port, another loopback address, another name, a name and an IP.
    for other in [
        "127.0.0.1:503",
        "127.0.0.2:502",
        "plc-2.cell:502",
        "10.0.0.5:502",
    ] {
        assert_ne!(key(other), loopback, "{other}");
    }
    assert_ne!(key("plc-1.cell:502"), key("10.0.0.5:502"), "no DNS");
    for bad in ["nohost", ":502", "[]:502", "h:0", "h:70000"] {
        assert_eq!(endpoint(bad), None, "{bad}");
    }
}

const LINE: &str = r#"
[line]
name = "two writers"

[[bus]]
id = "cell-a"
type = "modbus_tcp"
address = "127.0.0.1:502"

[[bus]]
id = "cell-b"
type = "modbus_tcp"
address = "localhost:502"

[[bus]]
id = "cell-c"
type = "modbus_tcp"
address = "127.0.0.1:502"

[[bus]]
id = "cell-d"
type = "modbus_tcp"
address = "127.0.0.1:503"
"#;

#[test]
fn a_second_bus_on_one_endpoint_is_a_located_error() {
    let checked = crate::check_text("line.toml", LINE, None);
    let errors: Vec<String> = checked
        .diagnostics
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[0].starts_with("line.toml:13:11: error: bus[1].address: Modbus TCP endpoint \"localhost:502\" is already claimed by bus \"cell-a\" (bus[0]) as \"127.0.0.1:502\""),
        "{errors:#?}"
    );
    assert!(
        errors[1].starts_with("line.toml:18:11: error: bus[2].address: Modbus TCP endpoint \"127.0.0.1:502\" is already claimed by bus \"cell-a\" (bus[0]);"),
        "{errors:#?}"
    );
    assert!(errors[1].contains("one [[bus]]"), "{errors:#?}");
    assert!(checked.line.is_none());
}

#[test]
fn one_bus_per_endpoint_checks_clean() {
    let clean = LINE.replace("localhost:502", "10.0.0.7:502").replace(
        "address = \"127.0.0.1:502\"\n\n[[bus]]\nid = \"cell-d\"",
        "address = \"127.0.0.2:502\"\n\n[[bus]]\nid = \"cell-d\"",
    );
    let checked = crate::check_text("line.toml", &clean, None);
    assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);
}
