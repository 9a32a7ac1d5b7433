//! Property tests on the controlword and statusword tables (protocols.md §3.6).

use linevisor_cia402::{Command, Controlword, PowerState, Statusword, UndefinedState};
use proptest::prelude::*;

fn any_state() -> impl Strategy<Value = PowerState> {
    prop::sample::select(PowerState::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    /// Every word decodes, to the one table row that matches it or to `UndefinedState`.
    #[test]
    fn statusword_decode_is_total_and_matches_the_table(word in any::<u16>()) {
        let rows: Vec<PowerState> = PowerState::ALL
            .into_iter()
            .filter(|&s| { let (m, v) = Statusword::mask_value(s); word & m == v })
            .collect();
        prop_assert!(rows.len() <= 1, "{word:#06x} matches {rows:?}");
        match rows.first() {
            Some(s) => prop_assert_eq!(Statusword(word).state(), Ok(*s)),
            None => prop_assert_eq!(Statusword(word).state(), Err(UndefinedState(word))),
        }
    }

    /// state → canonical statusword (plus any bits outside the state mask) → same state.
    #[test]
    fn state_round_trips_through_its_statusword(state in any_state(), noise in any::<u16>()) {
        let (mask, _) = Statusword::mask_value(state);
        prop_assert_eq!(Statusword::canonical(state).state(), Ok(state));
        let word = Statusword::canonical(state).0 | (noise & !mask);
        prop_assert_eq!(Statusword(word).state(), Ok(state));
    }

    /// With bit 7 low, a controlword carries exactly one command pattern (switch on and
    /// disable operation share theirs); with bit 7 high it carries only the fault reset.
    #[test]
    fn controlword_carries_one_command(word in any::<u16>()) {
        let cw = Controlword(word);
        let patterns = [
            Command::Shutdown,
            Command::SwitchOn,
            Command::EnableOperation,
            Command::DisableVoltage,
            Command::QuickStop,
        ];
        let n = patterns.iter().filter(|c| cw.matches(**c)).count();
        if cw.has(Controlword::FAULT_RESET) {
            prop_assert_eq!(n, 0);
            prop_assert!(cw.matches(Command::FaultReset));
        } else {
            prop_assert_eq!(n, 1);
        }
        // Replacing the command keeps every other bit.
        for c in Command::ALL {
            let replaced = cw.with_command(c);
            prop_assert!(replaced.matches(c));
            prop_assert_eq!(replaced.0 & !Controlword::COMMAND_BITS, word & !Controlword::COMMAND_BITS);
        }
    }
}
