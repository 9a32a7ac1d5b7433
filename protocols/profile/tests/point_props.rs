//! Property tests of the point codec: raw ↔ words ↔ engineering round trips for every type and
//! word order, range errors instead of wrapping.

use linevisor_core::profile::{
    Access, DataType, ModbusSection, Point, PointTable, WordOrder, WriteFunction,
};
use linevisor_profile::{CodecError, PointCodec};
use proptest::prelude::*;

const TYPES: [DataType; 7] = [
    DataType::U8,
    DataType::I8,
    DataType::U16,
    DataType::I16,
    DataType::U32,
    DataType::I32,
    DataType::F32,
];

fn point(data_type: DataType, scale: f64, offset: f64, order: Option<WordOrder>) -> Point {
    Point {
        register: Some(40_001),
        table: PointTable::Holding,
        readable_gap: true,
        index: None,
        subindex: 0,
        data_type,
        scale,
        offset,
        word_order: order,
        access: Access::Rw,
        read: None,
        write: None,
        response_bytes: None,
        write_values: Default::default(),
        pattern: None,
        format: Default::default(),
        decimals: None,
    }
}

fn modbus(order: WordOrder) -> ModbusSection {
    ModbusSection {
        address_base: 1,
        word_order: order,
        write_function: WriteFunction::Multiple,
        max_registers_per_read: 125,
        span_gaps: 0,
    }
}

fn any_type() -> impl Strategy<Value = DataType> {
    prop::sample::select(TYPES.to_vec())
}

fn any_order() -> impl Strategy<Value = WordOrder> {
    prop::sample::select(vec![WordOrder::HighFirst, WordOrder::LowFirst])
}

/// A raw bit pattern valid for `t` (and not a NaN for f32).
fn raw_for(t: DataType, bits: u32) -> u32 {
    match t.bits() {
        8 => bits & 0xFF,
        16 => bits & 0xFFFF,
        _ if t == DataType::F32 && f32::from_bits(bits).is_nan() => 0x3F80_0000,
        _ => bits,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn raw_words_and_bytes_round_trip(
        t in any_type(), order in any_order(), point_order in prop::option::of(any_order()),
        bits in any::<u32>(),
    ) {
        let c = PointCodec::new("p", &point(t, 1.0, 0.0, point_order), Some(&modbus(order))).unwrap();
        prop_assert_eq!(c.address(), Some(40_000));
        let raw = raw_for(t, bits);
        let words = c.raw_to_words(raw);
        prop_assert_eq!(words.len(), usize::from(c.registers()));
        prop_assert_eq!(c.words_to_raw(&words).unwrap(), raw);
        prop_assert_eq!(c.le_bytes_to_raw(&c.raw_to_le_bytes(raw)).unwrap(), raw);
        if t.bits() == 32 {
            // The point's own order wins over the section's.
            let effective = point_order.unwrap_or(order);
            let high_first = words[0] == (raw >> 16) as u16;
            prop_assert!(high_first == (effective == WordOrder::HighFirst) || words[0] == words[1]);
        }
    }

    #[test]
    fn raw_value_raw_round_trip_with_scale_and_offset(
        t in any_type(), order in any_order(), bits in any::<u32>(),
        scale in prop::sample::select(vec![1.0, 0.1, 0.01, 0.001, 2.5, -1.0, 1000.0]),
        offset in -1000.0..1000.0f64,
    ) {
        let c = PointCodec::new("p", &point(t, scale, offset, None), Some(&modbus(order))).unwrap();
        let raw = raw_for(t, bits);
        let value = c.decode_raw(raw);
        prop_assume!(value.is_finite());
        let back = c.encode_raw(value).unwrap();
        if t == DataType::F32 {
            let (a, b) = (f32::from_bits(raw), f32::from_bits(back));
            // f32 rounding, plus the f64 error of removing the offset again.
            let tolerance = f64::from(a.abs()) * 1e-6 + (offset / scale).abs() * 1e-12;
            prop_assert!(f64::from((a - b).abs()) <= tolerance, "{a} vs {b}");
        } else {
            prop_assert_eq!(back, raw);
        }
        let words = c.encode_words(value).unwrap();
        prop_assert_eq!(c.decode_words(&words).unwrap(), c.decode_raw(back));
    }

    #[test]
    fn values_outside_the_type_are_errors_with_the_range(t in any_type(), excess in 1.0..1e6f64) {
        let c = PointCodec::new("speed", &point(t, 0.1, 0.0, None), None).unwrap();
        let (min, max) = c.value_range();
        for v in [max + excess, min - excess] {
            if t == DataType::F32 {
                // f32 reaches 3.4e37 here: only far-out values fail.
                continue;
            }
            match c.encode_raw(v) {
                Err(CodecError::OutOfRange { point, value, min: lo, max: hi, .. }) => {
                    prop_assert_eq!(point, "speed");
                    prop_assert_eq!(value, v);
                    prop_assert_eq!((lo, hi), (min, max));
                }
                other => prop_assert!(false, "{v} encoded as {other:?}"),
            }
        }
        prop_assert!(c.encode_raw(max).is_ok() && c.encode_raw(min).is_ok());
    }
}

#[test]
fn unsigned_16_bit_edges_and_non_finite_values() {
    let c = PointCodec::new("f", &point(DataType::U16, 0.01, 0.0, None), None).unwrap();
    assert_eq!(c.encode_raw(655.35), Ok(65_535));
    assert!(matches!(
        c.encode_raw(655.36),
        Err(CodecError::OutOfRange { .. })
    ));
    assert!(matches!(
        c.encode_raw(-0.01),
        Err(CodecError::OutOfRange { .. })
    ));
    assert!(matches!(
        c.encode_raw(f64::NAN),
        Err(CodecError::NotFinite { .. })
    ));
    let f = PointCodec::new("x", &point(DataType::F32, 1.0, 0.0, None), None).unwrap();
    assert!(matches!(
        f.encode_raw(1e300),
        Err(CodecError::OutOfRange { .. })
    ));
    assert_eq!(f.encode_saturating(1e300), f32::MAX.to_bits());
    let i = PointCodec::new("i", &point(DataType::I16, 1.0, 0.0, None), None).unwrap();
    assert_eq!(i.encode_raw(-1.0), Ok(0xFFFF));
    assert_eq!(i.decode_raw(0xFFFF), -1.0);
    assert_eq!(i.encode_saturating(-1e9), 0x8000);
}

#[test]
fn registers_below_the_base_or_past_65535_are_rejected() {
    let mut p = point(DataType::U32, 1.0, 0.0, None);
    p.register = Some(0);
    let e = PointCodec::new("p", &p, Some(&modbus(WordOrder::HighFirst))).unwrap_err();
    assert!(
        matches!(
            e,
            CodecError::Address {
                register: 0,
                base: 1,
                ..
            }
        ),
        "{e}"
    );
    p.register = Some(65_536);
    assert!(PointCodec::new("p", &p, Some(&modbus(WordOrder::HighFirst))).is_err());
    p.register = Some(65_535);
    assert_eq!(
        PointCodec::new("p", &p, Some(&modbus(WordOrder::HighFirst)))
            .unwrap()
            .address(),
        Some(65_534)
    );
}
