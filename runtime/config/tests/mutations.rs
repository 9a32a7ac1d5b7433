//! Random mutations of valid configs (deleted keys, wrong types, out-of-range numbers, garbage
//! bytes) always give errors, never a panic; and a mutated config never passes with the mutation
//! silently ignored.

use linevisor_config::{DEMO_LINE, check_text};
use proptest::prelude::*;

/// Byte offsets of each `key = value` line in the demo config.
fn assignment_lines() -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in DEMO_LINE.split_inclusive('\n') {
        let t = line.trim_start();
        if !t.starts_with('#') && !t.starts_with('[') && t.contains('=') {
            out.push((offset, offset + line.len()));
        }
        offset += line.len();
    }
    out
}

#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(usize),
    WrongType(usize),
    BigNumber(usize),
    Garbage(usize, Vec<u8>),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let n = assignment_lines().len();
    prop_oneof![
        (0..n).prop_map(Mutation::DeleteLine),
        (0..n).prop_map(Mutation::WrongType),
        (0..n).prop_map(Mutation::BigNumber),
        (
            0..DEMO_LINE.len(),
            proptest::collection::vec(any::<u8>(), 1..16)
        )
            .prop_map(|(at, g)| Mutation::Garbage(at, g)),
        (0..DEMO_LINE.len()).prop_map(Mutation::Truncate),
    ]
}

fn apply(m: &Mutation) -> String {
    let lines = assignment_lines();
    match m {
        Mutation::DeleteLine(i) => {
            let (a, b) = lines[*i];
            format!("{}{}", &DEMO_LINE[..a], &DEMO_LINE[b..])
        }
        Mutation::WrongType(i) | Mutation::BigNumber(i) => {
            let (a, b) = lines[*i];
            let line = &DEMO_LINE[a..b];
            let (key, _) = line.split_once('=').unwrap();
            let value = if matches!(m, Mutation::WrongType(_)) {
                "[true, 1.5]"
            } else {
                "99999999999"
            };
            format!("{}{key}= {value}\n{}", &DEMO_LINE[..a], &DEMO_LINE[b..])
        }
        Mutation::Garbage(at, bytes) => {
            let mut v = DEMO_LINE.as_bytes().to_vec();
            let at = (*at).min(v.len());
            v.splice(at..at, bytes.iter().copied());
            String::from_utf8_lossy(&v).into_owned()
        }
        Mutation::Truncate(at) => {
            String::from_utf8_lossy(&DEMO_LINE.as_bytes()[..*at]).into_owned()
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    #[test]
    fn mutations_never_panic(m in mutation()) {
        let text = apply(&m);
        let c = check_text("mutated.toml", &text, None);
        // Every diagnostic has a position inside the text.
        for d in &c.diagnostics {
            prop_assert!(d.line >= 1 || d.message.contains("cannot read"));
            if let Some(span) = &d.span {
                prop_assert!(span.start <= text.len());
            }
        }
    }

    /// A wrong type or a huge number is never accepted silently.
    #[test]
    fn wrong_values_are_errors(i in 0..assignment_lines().len(), huge in any::<bool>()) {
        let m = if huge { Mutation::BigNumber(i) } else { Mutation::WrongType(i) };
        let text = apply(&m);
        let c = check_text("mutated.toml", &text, None);
        prop_assert!(c.has_errors(), "accepted: {:?}", m);
        prop_assert!(c.line.is_none());
    }
}

#[test]
fn deleting_a_required_key_is_an_error_naming_it() {
    let text = DEMO_LINE.replacen("bus = \"sim-modbus\"\n", "", 1);
    let c = check_text("t.toml", &text, None);
    let msgs: Vec<String> = c.diagnostics.iter().map(ToString::to_string).collect();
    assert!(
        msgs.iter()
            .any(|m| m.contains("drive[0]: missing required key \"bus\"")),
        "{msgs:#?}"
    );
}
