//! Metric values and the Sparkplug datatype codes (specification §6.4.16), to and from the
//! payload's `oneof value`.

use crate::proto::payload::metric::Value;

/// Sparkplug datatype codes linevisor uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    Int32 = 3,
    Int64 = 4,
    UInt32 = 7,
    UInt64 = 8,
    Float = 9,
    Double = 10,
    Boolean = 11,
    String = 12,
}

impl DataType {
    /// The code written in `datatype`.
    pub fn code(self) -> u32 {
        self as u32
    }

    /// The type of a code, if linevisor handles it.
    pub fn from_code(code: u32) -> Option<Self> {
        Some(match code {
            3 => DataType::Int32,
            4 => DataType::Int64,
            7 => DataType::UInt32,
            8 => DataType::UInt64,
            9 => DataType::Float,
            10 => DataType::Double,
            11 => DataType::Boolean,
            12 => DataType::String,
            _ => return None,
        })
    }
}

/// One metric's value.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricValue {
    Int32(i32),
    Int64(i64),
    UInt32(u32),
    UInt64(u64),
    Float(f32),
    Double(f64),
    Boolean(bool),
    String(String),
}

impl MetricValue {
    pub fn datatype(&self) -> DataType {
        match self {
            MetricValue::Int32(_) => DataType::Int32,
            MetricValue::Int64(_) => DataType::Int64,
            MetricValue::UInt32(_) => DataType::UInt32,
            MetricValue::UInt64(_) => DataType::UInt64,
            MetricValue::Float(_) => DataType::Float,
            MetricValue::Double(_) => DataType::Double,
            MetricValue::Boolean(_) => DataType::Boolean,
            MetricValue::String(_) => DataType::String,
        }
    }

    /// The payload's value: signed 32-bit types as two's complement in `int_value`, 64-bit in
    /// `long_value` (§6.4.17).
    pub fn to_proto(&self) -> Value {
        match self {
            MetricValue::Int32(v) => Value::IntValue(*v as u32),
            MetricValue::Int64(v) => Value::LongValue(*v as u64),
            MetricValue::UInt32(v) => Value::IntValue(*v),
            MetricValue::UInt64(v) => Value::LongValue(*v),
            MetricValue::Float(v) => Value::FloatValue(*v),
            MetricValue::Double(v) => Value::DoubleValue(*v),
            MetricValue::Boolean(v) => Value::BooleanValue(*v),
            MetricValue::String(v) => Value::StringValue(v.clone()),
        }
    }

    /// The value a payload carries as `datatype`; `None` when the two do not fit together.
    pub fn from_proto(datatype: DataType, value: &Value) -> Option<Self> {
        Some(match (datatype, value) {
            (DataType::Int32, Value::IntValue(v)) => MetricValue::Int32(*v as i32),
            (DataType::Int64, Value::LongValue(v)) => MetricValue::Int64(*v as i64),
            (DataType::UInt32, Value::IntValue(v)) => MetricValue::UInt32(*v),
            (DataType::UInt64, Value::LongValue(v)) => MetricValue::UInt64(*v),
            (DataType::Float, Value::FloatValue(v)) => MetricValue::Float(*v),
            (DataType::Double, Value::DoubleValue(v)) => MetricValue::Double(*v),
            (DataType::Boolean, Value::BooleanValue(v)) => MetricValue::Boolean(*v),
            (DataType::String, Value::StringValue(v)) => MetricValue::String(v.clone()),
            _ => return None,
        })
    }

    /// A number as `f64`, for deadbands and commands; `None` for booleans and text.
    pub fn as_f64(&self) -> Option<f64> {
        Some(match self {
            MetricValue::Int32(v) => f64::from(*v),
            MetricValue::Int64(v) => *v as f64,
            MetricValue::UInt32(v) => f64::from(*v),
            MetricValue::UInt64(v) => *v as f64,
            MetricValue::Float(v) => f64::from(*v),
            MetricValue::Double(v) => *v,
            MetricValue::Boolean(_) | MetricValue::String(_) => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn value() -> impl Strategy<Value = MetricValue> {
        prop_oneof![
            any::<i32>().prop_map(MetricValue::Int32),
            any::<i64>().prop_map(MetricValue::Int64),
            any::<u32>().prop_map(MetricValue::UInt32),
            any::<u64>().prop_map(MetricValue::UInt64),
            any::<f64>()
                .prop_filter("not NaN", |v| !v.is_nan())
                .prop_map(MetricValue::Double),
            any::<bool>().prop_map(MetricValue::Boolean),
            ".{0,20}".prop_map(MetricValue::String),
        ]
    }

    proptest! {
        #[test]
        fn values_round_trip_through_the_payload(v in value()) {
            let dt = DataType::from_code(v.datatype().code()).unwrap();
            prop_assert_eq!(MetricValue::from_proto(dt, &v.to_proto()), Some(v));
        }
    }

    #[test]
    fn a_value_of_another_type_is_refused() {
        let v = MetricValue::Boolean(true).to_proto();
        assert_eq!(MetricValue::from_proto(DataType::Double, &v), None);
    }
}
