//! NCMD and DCMD payloads: every command a host can write, by name and by alias; each kind of
//! bad input refused with its reason; arbitrary bytes never panic.

use linevisor_sparkplug::proto::Payload;
use linevisor_sparkplug::proto::payload::Metric;
use linevisor_sparkplug::{
    CommandError, DeviceCommand, MetricValue, NodeCommand, REBIRTH, command_metrics, parse_dcmd,
    parse_ncmd,
};
use proptest::prelude::*;
use prost::Message as _;

fn metric(name: &str, v: MetricValue) -> Metric {
    Metric {
        name: Some(name.to_owned()),
        datatype: Some(v.datatype().code()),
        value: Some(v.to_proto()),
        ..Metric::default()
    }
}

fn bytes(metrics: Vec<Metric>) -> Vec<u8> {
    Payload {
        timestamp: Some(1),
        metrics,
        ..Payload::default()
    }
    .encode_to_vec()
}

fn no_alias(_: u64) -> Option<String> {
    None
}

#[test]
fn every_command_by_name() {
    let t = |n: &str| metric(&format!("Command/{n}"), MetricValue::Boolean(true));
    let cases = [
        (vec![t("Enable")], vec![DeviceCommand::Enable]),
        (
            vec![t("Enable Reverse")],
            vec![DeviceCommand::EnableReverse],
        ),
        (vec![t("Disable")], vec![DeviceCommand::Disable]),
        (vec![t("Stop")], vec![DeviceCommand::Stop]),
        (vec![t("Quick Stop")], vec![DeviceCommand::QuickStop]),
        (vec![t("Fault Reset")], vec![DeviceCommand::FaultReset]),
        (vec![t("Home")], vec![DeviceCommand::Home]),
        (
            vec![metric("Command/Set Velocity", MetricValue::Double(12.5))],
            vec![DeviceCommand::SetVelocity(12.5)],
        ),
        (
            vec![
                metric("Command/Move To", MetricValue::Int32(-250)),
                metric("Command/Move Velocity", MetricValue::Float(40.0)),
            ],
            vec![DeviceCommand::MoveTo {
                position: -250.0,
                velocity: Some(40.0),
            }],
        ),
    ];
    for (metrics, want) in cases {
        assert_eq!(parse_dcmd(&bytes(metrics), no_alias), Ok(want));
    }
    // Every declared command metric is one a DCMD may write.
    for m in command_metrics() {
        let v = match m.value {
            MetricValue::Boolean(_) => MetricValue::Boolean(true),
            _ => MetricValue::Double(1.0),
        };
        let r = parse_dcmd(&bytes(vec![metric(&m.name, v)]), no_alias);
        assert!(
            r.is_ok() || m.name == "Command/Move Velocity",
            "{}: {r:?}",
            m.name
        );
    }
}

#[test]
fn a_command_without_a_datatype_takes_its_values() {
    // Sparkplug 3.0: a command metric may omit the datatype the birth declared.
    let mut m = metric("Command/Set Velocity", MetricValue::Double(7.5));
    m.datatype = None;
    assert_eq!(
        parse_dcmd(&bytes(vec![m]), no_alias),
        Ok(vec![DeviceCommand::SetVelocity(7.5)])
    );
    let mut r = metric(REBIRTH, MetricValue::Boolean(true));
    r.datatype = None;
    assert_eq!(parse_ncmd(&bytes(vec![r])), Ok(vec![NodeCommand::Rebirth]));
}

#[test]
fn a_command_by_alias() {
    let m = Metric {
        alias: Some(17),
        datatype: Some(MetricValue::Boolean(true).datatype().code()),
        value: Some(MetricValue::Boolean(true).to_proto()),
        ..Metric::default()
    };
    let alias = |a| (a == 17).then(|| "Command/Enable".to_owned());
    assert_eq!(
        parse_dcmd(&bytes(vec![m.clone()]), alias),
        Ok(vec![DeviceCommand::Enable])
    );
    assert_eq!(
        parse_dcmd(&bytes(vec![m]), no_alias),
        Err(CommandError::UnknownAlias(17))
    );
}

#[test]
fn bad_commands_are_refused_with_their_reason() {
    type Case = (Vec<u8>, fn(&CommandError) -> bool);
    let cases: [Case; 7] = [
        (vec![0xFF, 0xFF, 0xFF], |e| {
            matches!(e, CommandError::Decode(_))
        }),
        (bytes(vec![]), |e| *e == CommandError::Empty),
        (
            bytes(vec![metric("Command/Explode", MetricValue::Boolean(true))]),
            |e| matches!(e, CommandError::Unknown(_)),
        ),
        (
            bytes(vec![metric("Command/Enable", MetricValue::Double(1.0))]),
            |e| {
                matches!(
                    e,
                    CommandError::DataType {
                        expected: "Boolean",
                        ..
                    }
                )
            },
        ),
        (
            bytes(vec![metric(
                "Command/Set Velocity",
                MetricValue::String("fast".into()),
            )]),
            |e| matches!(e, CommandError::DataType { .. }),
        ),
        (
            bytes(vec![metric(
                "Command/Set Velocity",
                MetricValue::Double(f64::NAN),
            )]),
            |e| matches!(e, CommandError::Value { .. }),
        ),
        (
            bytes(vec![Metric {
                name: Some("Command/Stop".into()),
                datatype: Some(11),
                value: Some(MetricValue::Double(1.0).to_proto()),
                ..Metric::default()
            }]),
            |e| matches!(e, CommandError::DataType { .. }),
        ),
    ];
    for (b, ok) in cases {
        let r = parse_dcmd(&b, no_alias);
        assert!(r.as_ref().is_err_and(ok), "{r:?}");
    }
    // A DCMD mixing a good and a bad metric is refused whole: nothing reaches the drive.
    let mixed = bytes(vec![
        metric("Command/Enable", MetricValue::Boolean(true)),
        metric("Command/Nope", MetricValue::Boolean(true)),
    ]);
    assert!(parse_dcmd(&mixed, no_alias).is_err());
}

#[test]
fn rebirth_by_ncmd() {
    let b = bytes(vec![metric(REBIRTH, MetricValue::Boolean(true))]);
    assert_eq!(parse_ncmd(&b), Ok(vec![NodeCommand::Rebirth]));
    let no = bytes(vec![metric(REBIRTH, MetricValue::Boolean(false))]);
    assert_eq!(parse_ncmd(&no), Ok(vec![]));
    let other = bytes(vec![metric(
        "Node Control/Reboot",
        MetricValue::Boolean(true),
    )]);
    assert!(matches!(parse_ncmd(&other), Err(CommandError::Unknown(_))));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse_dcmd(&b, |a| Some(format!("Command/{a}")));
        let _ = parse_ncmd(&b);
    }
}

mod primary_host {
    use linevisor_sparkplug::{HostChange, PrimaryHost};

    #[test]
    fn online_offline_and_stale_state_messages() {
        let mut h = PrimaryHost::default();
        assert!(!h.is_online());
        let on = |t: u64| format!("{{\"online\": true, \"timestamp\": {t}}}");
        let off = |t: u64| format!("{{\"online\":false,\"timestamp\":{t}}}");
        assert_eq!(h.on_state(on(10).as_bytes()), Ok(HostChange::CameOnline));
        assert_eq!(h.on_state(on(11).as_bytes()), Ok(HostChange::Unchanged));
        // A retained offline from before the host's last online is stale.
        assert_eq!(h.on_state(off(5).as_bytes()), Ok(HostChange::Stale));
        assert!(h.is_online());
        assert_eq!(h.on_state(off(12).as_bytes()), Ok(HostChange::WentOffline));
        assert!(!h.is_online());
        // Another broker: its retained STATE counts, even if older than the last one here.
        h.reset();
        assert_eq!(h.on_state(on(8).as_bytes()), Ok(HostChange::CameOnline));
    }

    #[test]
    fn a_malformed_state_is_an_error_and_changes_nothing() {
        let mut h = PrimaryHost::default();
        h.on_state(br#"{"online":true,"timestamp":1}"#)
            .expect("valid");
        for bad in [
            &b"online"[..],
            b"{\"online\":\"yes\",\"timestamp\":2}",
            b"{\"online\":false}",
            b"\xff",
        ] {
            let e = h.on_state(bad).expect_err("malformed");
            assert!(e.to_string().starts_with("STATE payload is not"), "{e}");
            assert!(h.is_online());
        }
    }
}
