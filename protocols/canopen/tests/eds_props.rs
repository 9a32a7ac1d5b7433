//! Property tests on the EDS parser: no input makes it (or the profile mapping) panic, any
//! skeleton it writes is valid TOML, and numbers read back as written.

use linevisor_canopen::eds::{Eds, Number, ProfileOptions, to_profile};
use proptest::prelude::*;

fn options() -> ProfileOptions {
    ProfileOptions {
        name: None,
        version: "1.0".into(),
        source: "fuzz.eds".into(),
    }
}

/// Parse, map, render: errors are fine, panics and invalid TOML are not.
fn exercise(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(eds) = Eds::parse(bytes)
        && let Ok(skeleton) = to_profile(&eds, &options())
    {
        let text = skeleton.to_toml();
        prop_assert!(text.parse::<toml::Table>().is_ok(), "invalid TOML:\n{text}");
    }
    Ok(())
}

/// A section of an EDS as real files write them: mostly consistent keys and values (so that
/// the object model and the profile mapping are reached), sometimes not.
fn eds_section() -> impl Strategy<Value = String> {
    let index = prop::sample::select(vec![
        "1000", "1018", "1400", "1600", "1800", "1A00", "1A01", "1A03", "603F", "6060", "6064",
        "606C", "60FF", "6078", "6502", "2000", "0001",
    ]);
    let sub = prop::option::of(0u8..6);
    let header = (index, sub).prop_map(|(i, s)| match s {
        Some(s) => format!("[{i}sub{s:X}]"),
        None => format!("[{i}]"),
    });
    let pick = |v: Vec<&'static str>| prop::sample::select(v).prop_map(str::to_owned);
    let pairs = (
        pick(vec!["0x7", "0x8", "0x9", "VAR", "0x2", "0x0"]),
        pick(vec![
            "0x0006",
            "0x0007",
            "0x0002",
            "0x0004",
            "0x0005",
            "UNSIGNED8",
            "0x0009",
            "0x001B",
            "0x0001",
        ]),
        pick(vec!["rw", "ro", "const", "wo", "rww", "RWR"]),
        prop_oneof![
            pick(vec![
                "$NODEID+0x180",
                "$NODEID+0x80000280",
                "0x60410010",
                "0x606C0020",
                "0x60640020",
                "0x603F0010",
                "0x60780010",
                "0x00010008",
                "0x60FF0040",
                "",
                "1",
                "0",
                "2",
                "8",
                "0x192",
                "-5",
                "0x20000008",
            ]),
            any::<u32>().prop_map(|v| format!("0x{v:X}")),
        ],
        prop::option::of(0u8..4),
        prop::bool::ANY,
    );
    let body = pairs.prop_map(|(object, data, access, value, compact, mapping)| {
        let mut lines = vec![
            format!("ObjectType={object}"),
            format!("DataType={data}"),
            format!("AccessType={access}"),
        ];
        lines.push(format!("DefaultValue={value}"));
        if let Some(n) = compact {
            lines.push(format!("CompactSubObj={n}"));
        }
        lines.push(format!("PDOMapping={}", u8::from(mapping)));
        lines
    });
    let junk = prop::collection::vec("[ -~]{0,16}", 0..2);
    (header, body, junk, prop::bool::weighted(0.9)).prop_map(|(h, b, junk, clean)| {
        let mut lines = vec![h];
        lines.extend(b);
        if !clean {
            lines.extend(junk);
        }
        lines.join("\n")
    })
}

/// `value` written the ways EDS files write it.
fn spelled(n: Number, style: u8) -> String {
    let literal = match style % 4 {
        0 => format!("0x{:X}", n.base),
        1 => format!("0x{:x}", n.base),
        2 => n.base.to_string(),
        _ if n.base == 0 => "0".into(),
        _ => format!("0{:o}", n.base),
    };
    match (n.plus_node_id, style / 4 % 3) {
        (false, _) => literal,
        (true, 0) => format!("$NODEID+{literal}"),
        (true, 1) => format!("{literal} + $nodeid"),
        (true, _) => format!("$NodeId + {literal}"),
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        exercise(&bytes)?;
    }

    #[test]
    fn arbitrary_eds_sections_never_panic(sections in prop::collection::vec(eds_section(), 0..12), crlf: bool) {
        let mut text = String::from("[6040]\nDataType=0x0006\nAccessType=rw\n[6041]\nDataType=0x0006\nAccessType=ro\nPDOMapping=1\n");
        text.push_str(&sections.join("\n"));
        if crlf {
            text = text.replace('\n', "\r\n");
        }
        exercise(text.as_bytes())?;
    }

    #[test]
    fn numbers_read_back_as_written(base in 0i128..=u32::MAX as i128 * 2, node: bool, style in 0u8..12) {
        let n = Number { base, plus_node_id: node };
        let text = spelled(n, style);
        prop_assert_eq!(Number::parse(&text), Ok(n), "{}", text);
        prop_assert_eq!(Number::parse(&n.to_string()), Ok(n));
    }

    #[test]
    fn any_magnitude_parses_or_fails_without_panic(base in prop_oneof![any::<i128>(), i128::MAX - 300..=i128::MAX, i128::MIN..=i128::MIN + 300], node in any::<u8>()) {
        for text in [format!("$NODEID+{base}"), format!("{base}+$NODEID"), format!("{base}+{base}")] {
            if let Ok(n) = Number::parse(&text) {
                let _ = n.resolve(node);
            }
        }
        let cob = format!("[1800]\nObjectType=0x9\n[1800sub1]\nDataType=0x0007\nAccessType=rw\nDefaultValue=$NODEID+{base}\n");
        exercise(cob.as_bytes())?;
    }

    #[test]
    fn negative_decimals_read_back(v in i64::MIN..0) {
        prop_assert_eq!(Number::parse(&v.to_string()), Ok(Number::plain(v.into())));
        prop_assert_eq!(Number::parse(&Number::plain(v.into()).to_string()), Ok(Number::plain(v.into())));
    }
}
