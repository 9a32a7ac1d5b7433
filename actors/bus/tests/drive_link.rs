//! A drive's typed link comes from its bus: a profile of another protocol, or an address the
//! bus's protocol cannot carry, is refused when the link is made, with the numbers, never at run
//! time.

use std::sync::Arc;

use linevisor_bus::{BusHandle, CanopenHandle, LinkSetupError, ModbusHandle};
use linevisor_config::check_text;
use linevisor_profile::ProfileCodec;

fn codec(name: &str) -> Arc<ProfileCodec> {
    let checked = check_text("<test>", "[line]\nname = \"t\"\n", None);
    let line = checked.line.expect("the shipped profiles check clean");
    let profile = line
        .profiles
        .into_values()
        .map(|lp| lp.profile)
        .find(|p| p.profile.name == name)
        .expect("shipped profile");
    Arc::new(ProfileCodec::new(&profile).expect("codec"))
}

#[test]
fn a_modbus_bus_links_modbus_profiles_at_unit_ids_1_to_255() {
    let bus: BusHandle = ModbusHandle::unbound("rs485").into();
    assert_eq!(bus.kind(), "modbus");
    let servo = codec("linevisor-sim-servo");
    // 248–255 only a TCP bus carries; an RTU line refuses them when the drive attaches.
    for unit in [1, 17, 247, 255] {
        let link = bus.drive_link(servo.clone(), unit).expect("linked");
        assert_eq!(u32::from(link.unit()), unit);
        assert!(!link.up_with_first_cycle());
    }
    for address in [0, 256, 70_000] {
        match bus.drive_link(servo.clone(), address) {
            Err(LinkSetupError::Address {
                address: a, lo, hi, ..
            }) => {
                assert_eq!((a, lo, hi), (address, 1, 255));
            }
            other => panic!("address {address}: {other:?}"),
        }
    }
}

#[test]
fn a_profile_of_another_protocol_is_refused_naming_both() {
    let modbus: BusHandle = ModbusHandle::unbound("rs485").into();
    let can: BusHandle = CanopenHandle::unbound("can0").into();
    let canopen_profile = codec("generic-cia402-canopen");
    let modbus_profile = codec("generic-cia402-modbus");

    let e = modbus.drive_link(canopen_profile.clone(), 5).unwrap_err();
    assert!(
        matches!(
            &e,
            LinkSetupError::Protocol {
                protocol: "canopen",
                bus_kind: "modbus",
                ..
            }
        ),
        "{e:?}"
    );
    let e = can.drive_link(modbus_profile, 5).unwrap_err();
    assert!(
        matches!(
            &e,
            LinkSetupError::Protocol {
                protocol: "modbus",
                bus_kind: "canopen",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("generic-cia402-modbus"), "{e}");

    let link = can
        .drive_link(canopen_profile.clone(), 127)
        .expect("node 127");
    assert!(
        link.up_with_first_cycle(),
        "a CANopen node is booted by its bus"
    );
    assert!(matches!(
        can.drive_link(canopen_profile, 128),
        Err(LinkSetupError::Address { lo: 1, hi: 127, .. })
    ));
}
