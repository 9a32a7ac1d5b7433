//! The drive's side (`Device`) and the bus's side (`Codec`), built from the same shipped profile,
//! agree: every request the bus can send is understood as that point and operation, and every
//! reply the drive renders parses back to the value it carried. Profiles are discovered.

use linevisor_config::check_text;
use linevisor_core::profile::{Point, Profile, Protocol, SerialFraming};
use linevisor_serial::number::bounds;
use linevisor_serial::{Codec, Device, Op, Reply, SerialError};
use proptest::prelude::*;

/// Every shipped serial profile (at least one).
fn serial_profiles() -> Vec<Profile> {
    let line = check_text("<test>", "[line]\nname = \"t\"\n", None)
        .line
        .expect("the shipped profiles check clean");
    let mut out: Vec<Profile> = line
        .profiles
        .into_values()
        .map(|lp| lp.profile)
        .filter(|p| p.profile.protocol == Protocol::Serial)
        .collect();
    out.sort_by(|a, b| a.profile.name.cmp(&b.profile.name));
    assert!(!out.is_empty(), "no shipped serial profile");
    out
}

/// A raw value the point's type (and, for ASCII, its text format) can carry.
fn fit(point: &Point, pick: u64) -> i64 {
    let (lo, hi) = bounds(point.data_type);
    let span = (hi - lo) as u64 + 1;
    lo + (pick % span) as i64
}

/// One exchange both ways, every step of it: the bus's requests (one, or a write's sequence),
/// the drive's reading of each, its reply, the bus's reading of that.
fn exchange(profile: &Profile, address: u32, name: &str, op: Op, raw: i64) {
    let pname = &profile.profile.name;
    let section = profile.serial.clone().unwrap_or_default();
    let point = &profile.points[name];
    let codec = Codec::new(&section, address).expect("codec");
    let device = Device::new(&section, address, &profile.points);
    let requests = codec.requests(point, op).expect("requests");
    assert!(!requests.is_empty(), "{pname} {name}");
    for (step, request) in requests.iter().enumerate() {
        let asked = device
            .parse(&request.bytes)
            .unwrap_or_else(|| panic!("{pname} {name} {op:?} step {step}: not understood"));
        assert_eq!(asked.point, name, "{pname} step {step}");
        assert_eq!(asked.follow_up, step > 0, "{pname} {name} step {step}");
        if step == 0 {
            // The drive's reading names a point whose request is these very bytes.
            let again = codec
                .request(&profile.points[&asked.point], asked.op)
                .expect("request");
            assert_eq!(again.bytes, request.bytes, "{pname} {name}");
        }
        let reply = device.reply(&asked, raw).expect("reply");
        let got = codec.reply(point, request, &reply).expect("reply parses");
        match op {
            Op::Read => assert_eq!(got, Reply::Value(raw), "{pname} {name}"),
            Op::Write(_) => assert_eq!(got, Reply::Ack, "{pname} {name} step {step}"),
        }
        // A refusal is the drive's business, with its code.
        let refused = device.refusal(&asked, 4).expect("refusal");
        let e = codec.reply(point, request, &refused).unwrap_err();
        assert!(e.is_refusal(), "{e:?}");
    }
}

#[test]
fn the_shipped_profiles_use_write_sequences() {
    // So that the property below covers follow-up steps at all.
    let sequences = serial_profiles()
        .iter()
        .flat_map(|p| p.points.values())
        .filter(|pt| pt.write.as_ref().is_some_and(|w| w.parts().len() > 1))
        .count();
    assert!(sequences >= 2, "{sequences}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn device_and_codec_agree_on_every_point(address in 1u32..=9, pick in any::<u64>()) {
        for profile in serial_profiles() {
            for (name, point) in &profile.points {
                if point.read.is_some() {
                    exchange(&profile, address, name, Op::Read, fit(point, pick));
                }
                for code in point.write_values.keys() {
                    exchange(&profile, address, name, Op::Write(code.parse().unwrap()), 0);
                }
                if point.write.is_some() {
                    let raw = fit(point, pick.rotate_left(17));
                    exchange(&profile, address, name, Op::Write(raw), 0);
                }
            }
        }
    }
}

#[test]
fn a_drive_stays_silent_for_another_address_and_garbage() {
    for profile in serial_profiles() {
        let section = profile.serial.clone().unwrap_or_default();
        let codec = Codec::new(&section, 2).expect("codec");
        let device = Device::new(&section, 1, &profile.points);
        let (name, point) = profile
            .points
            .iter()
            .find(|(_, p)| p.read.is_some())
            .expect("a readable point");
        let addressed = match section.framing {
            SerialFraming::Ascii => point
                .read
                .as_ref()
                .and_then(|r| r.template())
                .is_some_and(|t| t.contains("{address}")),
            SerialFraming::Binary => true,
        };
        let to_drive_2 = codec.request(point, Op::Read).expect("request");
        if addressed {
            assert_eq!(device.parse(&to_drive_2.bytes), None, "{name}");
        }
        assert_eq!(device.parse(b"\x00\xffgarbage\r"), None);
        assert_eq!(device.parse(&[]), None);
    }
}

#[test]
fn a_nak_without_a_code_is_a_refusal_too() {
    let profile = serial_profiles()
        .into_iter()
        .find(|p| {
            p.serial
                .as_ref()
                .is_some_and(|s| s.framing == SerialFraming::Ascii)
        })
        .expect("an ASCII profile");
    let section = profile.serial.clone().unwrap_or_default();
    let (name, point) = profile
        .points
        .iter()
        .find(|(_, p)| p.read.is_some())
        .expect("a readable point");
    let codec = Codec::new(&section, 1).expect("codec");
    let request = codec.request(point, Op::Read).expect("request");
    let mut nak = Vec::new();
    if section.reply_address {
        nak.extend_from_slice(b"1");
    }
    nak.extend_from_slice(section.nak.as_bytes());
    nak.extend_from_slice(section.terminator.as_bytes());
    let e = codec.reply(point, &request, &nak).unwrap_err();
    assert!(
        matches!(e, SerialError::Nak { code: None }),
        "{name}: {e:?}"
    );
}
