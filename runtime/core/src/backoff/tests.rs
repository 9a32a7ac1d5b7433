use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

#[test]
fn doubles_up_to_the_cap_and_resets() {
    let mut r = Retry::new(ms(100), Duration::from_secs(1)).with_jitter(0.5, || 0.0);
    let got: Vec<u128> = (0..6).map(|_| r.next_delay().as_millis()).collect();
    assert_eq!(got, [100, 200, 400, 800, 1000, 1000]);
    assert_eq!(r.attempt(), 6);
    r.reset();
    assert_eq!(r.next_delay(), ms(100));
}

#[test]
fn jitter_shortens_within_its_ratio() {
    let mut r = Retry::new(ms(100), Duration::from_secs(1)).with_jitter(0.5, || 0.999_999);
    let d = r.next_delay().as_secs_f64();
    assert!((0.05..0.0501).contains(&d), "{d}");
    let mut wild =
        Retry::new(ms(100), Duration::from_secs(1)).with_jitter(f64::NAN, || f64::INFINITY);
    assert_eq!(wild.next_delay(), ms(100));
}

#[test]
fn no_failure_no_delay_then_doubles_up_to_max() {
    let b = Backoff::exponential(ms(10), ms(100)).with_jitter(0.0);
    let mut j = SeededJitter::new(1);
    let got: Vec<_> = (0..=6).map(|k| b.delay(k, &mut j)).collect();
    assert_eq!(
        got,
        vec![ms(0), ms(10), ms(20), ms(40), ms(80), ms(100), ms(100)]
    );
}

#[test]
fn no_backoff_is_always_zero() {
    let mut j = SeededJitter::new(7);
    for k in 0..100 {
        assert_eq!(Backoff::NONE.delay(k, &mut j), Duration::ZERO);
    }
}

#[test]
fn huge_failure_counts_saturate_at_max() {
    let b = Backoff::exponential(ms(10), Duration::from_secs(10)).with_jitter(0.0);
    let mut j = SeededJitter::new(1);
    assert_eq!(b.delay(u32::MAX, &mut j), Duration::from_secs(10));
    let mut r = Retry::new(Duration::from_secs(1), Duration::from_secs(30));
    for _ in 0..100 {
        assert!(r.next_delay() <= Duration::from_secs(30));
    }
}

#[test]
fn jitter_spreads_delays_within_bounds() {
    let b = Backoff::exponential(ms(100), Duration::from_secs(5)).with_jitter(0.5);
    let mut j = SeededJitter::new(42);
    for k in 1..11 {
        let base = b.base(k);
        let mut seen = BTreeSet::new();
        for _ in 0..200 {
            let d = b.delay(k, &mut j);
            assert!(
                d <= base && d > base.mul_f64(0.5),
                "k={k}: {d:?} vs {base:?}"
            );
            seen.insert(d);
        }
        assert!(
            seen.len() > 100,
            "jitter should spread delays, got {}",
            seen.len()
        );
    }
}

#[test]
fn same_seed_same_delays() {
    let b = Backoff::default();
    let run = |seed| {
        let mut j = SeededJitter::new(seed);
        (0..20).map(|k| b.delay(k, &mut j)).collect::<Vec<_>>()
    };
    assert_eq!(run(9), run(9));
    assert_ne!(run(9), run(10));
}

#[test]
fn out_of_range_jitter_numbers_never_lengthen_or_shorten_wrongly() {
    let b = Backoff::exponential(ms(10), ms(100)).with_jitter(1.0);
    let mut bad = || 7.5;
    assert_eq!(b.delay(1, &mut bad), ms(10));
    let mut nan = || f64::NAN;
    assert_eq!(b.delay(2, &mut nan), ms(20));
    assert_eq!(Backoff::default().with_jitter(f64::NAN).jitter, 0.0);
}

proptest! {
    /// The law both old backoffs implemented: a transport's k-th reopen waited
    /// initial·2^(k−1)·(1 − ratio·u); a supervisor's n-th restart of a streak waited 0 for n = 1
    /// and initial·2^(n−2)·(1 − jitter·u) after. Both sequences are reproduced exactly.
    #[test]
    fn reproduces_both_former_sequences(
        initial_ms in 0u64..5_000,
        extra_ms in 0u64..60_000,
        ratio in 0.0f64..=1.0,
        us in proptest::collection::vec(0.0f64..1.0, 1..40),
    ) {
        let (initial, max) = (ms(initial_ms), ms(initial_ms + extra_ms));
        // Reconnect: the old formula, term by term.
        let source: Vec<f64> = us.clone();
        let mut i = 0;
        let mut retry = Retry::new(initial, max).with_jitter(ratio, move || {
            let u = source[i % source.len()];
            i += 1;
            u
        });
        for (k, u) in us.iter().enumerate() {
            let factor = 2u32.saturating_pow((k as u32).min(31));
            let old = initial.saturating_mul(factor).min(max).mul_f64(1.0 - ratio * u);
            prop_assert_eq!(retry.next_delay(), old);
        }
        // Supervisor restarts: n = 1 immediate, then from `initial`.
        let b = Backoff::exponential(initial, max).with_jitter(ratio);
        for (n, u) in us.iter().enumerate().map(|(i, u)| (i as u32 + 1, *u)) {
            let mut one = move || u;
            let new = if n <= 1 { Duration::ZERO } else { b.delay(n - 1, &mut one) };
            let old = if n <= 1 {
                Duration::ZERO
            } else {
                let factor = 2u32.saturating_pow(n - 2);
                initial.saturating_mul(factor).min(max).mul_f64(1.0 - ratio * u)
            };
            prop_assert_eq!(new, old);
        }
    }
}
