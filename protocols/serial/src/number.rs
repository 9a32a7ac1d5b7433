//! ASCII numbers: a point's raw value as text and back, per its format and type. Decimal is
//! signed per the type, hex is two's complement at the type's width, fixed-point moves the
//! decimal point (raw 1025 with 2 decimals is `10.25`). An `f32` point's raw value is its IEEE
//! bits: decimal text is the float, hex text the bits.

use linevisor_core::profile::{DataType, NumberFormat};

use crate::SerialError;

/// How a point's numbers are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Number {
    pub data_type: DataType,
    pub format: NumberFormat,
    pub decimals: u8,
}

/// Inclusive raw range of a type (`f32`: its 32 bits, unsigned).
pub fn bounds(t: DataType) -> (i64, i64) {
    match t {
        DataType::U8 => (0, 0xFF),
        DataType::I8 => (i8::MIN.into(), i8::MAX.into()),
        DataType::U16 => (0, 0xFFFF),
        DataType::I16 => (i16::MIN.into(), i16::MAX.into()),
        DataType::U32 | DataType::F32 => (0, u32::MAX.into()),
        DataType::I32 => (i32::MIN.into(), i32::MAX.into()),
    }
}

/// The raw value of type `t` that the low bits of `field` carry: a value field is often wider
/// or of another sign than the point (a `u32` bit field in TMCL's signed 32-bit value), so its
/// bits are reinterpreted at the point's width and sign.
pub fn as_type(field: i64, t: DataType) -> i64 {
    let (lo, hi) = bounds(t);
    let bits = (hi - lo + 1).trailing_zeros();
    let mask = (1i64 << bits) - 1;
    let low = field & mask;
    if lo < 0 && low > hi {
        low - (1i64 << bits)
    } else {
        low
    }
}

fn type_name(t: DataType) -> &'static str {
    match t {
        DataType::U8 => "u8",
        DataType::I8 => "i8",
        DataType::U16 => "u16",
        DataType::I16 => "i16",
        DataType::U32 => "u32",
        DataType::I32 => "i32",
        DataType::F32 => "f32 bits",
    }
}

fn bad(text: &str, why: &'static str) -> SerialError {
    SerialError::Number {
        text: text.chars().take(32).collect(),
        why,
    }
}

impl Number {
    /// The raw value as text.
    pub fn format(&self, raw: i64) -> Result<String, SerialError> {
        let (lo, hi) = bounds(self.data_type);
        if raw < lo || raw > hi {
            return Err(SerialError::ValueRange {
                value: raw,
                what: type_name(self.data_type),
            });
        }
        let bits = self.data_type.bits();
        Ok(match (self.format, self.data_type) {
            (NumberFormat::Hex, _) => {
                let mask = (1u64 << bits) - 1;
                let digits = (bits / 4) as usize;
                format!("{:0digits$X}", (raw as u64) & mask)
            }
            (NumberFormat::Decimal, DataType::F32) => {
                format!("{}", f32::from_bits(raw as u32))
            }
            (NumberFormat::Decimal, _) if self.decimals == 0 => raw.to_string(),
            (NumberFormat::Decimal, _) => {
                let scale = 10u64.pow(u32::from(self.decimals));
                let sign = if raw < 0 { "-" } else { "" };
                let abs = raw.unsigned_abs();
                let d = usize::from(self.decimals);
                format!("{sign}{}.{:0d$}", abs / scale, abs % scale)
            }
        })
    }

    /// Parses text as a raw value, checking the type's range.
    pub fn parse(&self, text: &str) -> Result<i64, SerialError> {
        let v = match (self.format, self.data_type) {
            (NumberFormat::Hex, t) => self.parse_hex(text, t)?,
            (NumberFormat::Decimal, DataType::F32) => {
                let f: f32 = text.trim().parse().map_err(|_| bad(text, "not a number"))?;
                i64::from(f.to_bits())
            }
            (NumberFormat::Decimal, _) => self.parse_decimal(text)?,
        };
        let (lo, hi) = bounds(self.data_type);
        if v < lo || v > hi {
            return Err(bad(text, "out of the point's type range"));
        }
        Ok(v)
    }

    fn parse_hex(&self, text: &str, t: DataType) -> Result<i64, SerialError> {
        let digits = text.trim();
        let bits = t.bits();
        if digits.is_empty() || digits.len() > (bits / 4) as usize {
            return Err(bad(text, "wrong number of hex digits for the type"));
        }
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad(text, "not hex digits"));
        }
        let u = u64::from_str_radix(digits, 16).map_err(|_| bad(text, "not hex digits"))?;
        let signed = matches!(t, DataType::I8 | DataType::I16 | DataType::I32);
        Ok(if signed && (u >> (bits - 1)) & 1 == 1 {
            u as i64 - (1i64 << bits)
        } else {
            u as i64
        })
    }

    fn parse_decimal(&self, text: &str) -> Result<i64, SerialError> {
        let t = text.trim();
        let (neg, body) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        let (int, frac) = match body.split_once('.') {
            Some((i, f)) => (i, f),
            None => (body, ""),
        };
        let d = usize::from(self.decimals);
        if body.contains('.') && d == 0 {
            return Err(bad(text, "a fraction on an integer point"));
        }
        if frac.len() > d {
            return Err(bad(text, "more decimals than the point has"));
        }
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() && frac.is_empty() || !all_digits(int) || !all_digits(frac) {
            return Err(bad(text, "not a decimal number"));
        }
        if int.len() + d > 20 {
            return Err(bad(text, "too many digits"));
        }
        let mut v: i128 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            v = v * 10 + i128::from(b - b'0');
        }
        v *= 10i128.pow((d - frac.len()) as u32);
        if neg {
            v = -v;
        }
        i64::try_from(v).map_err(|_| bad(text, "out of the point's type range"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(data_type: DataType, format: NumberFormat, decimals: u8) -> Number {
        Number {
            data_type,
            format,
            decimals,
        }
    }

    #[test]
    fn hex_is_twos_complement_at_the_type_width() {
        let h = n(DataType::I32, NumberFormat::Hex, 0);
        assert_eq!(h.format(-100).unwrap(), "FFFFFF9C");
        assert_eq!(h.parse("FFFFFF9C").unwrap(), -100);
        assert_eq!(h.parse("ffffff9c").unwrap(), -100);
        let w = n(DataType::U16, NumberFormat::Hex, 0);
        assert_eq!(w.format(9).unwrap(), "0009");
        assert_eq!(w.parse("9").unwrap(), 9);
        assert!(w.parse("10000").is_err());
    }

    #[test]
    fn fixed_point() {
        let d = n(DataType::I32, NumberFormat::Decimal, 2);
        assert_eq!(d.format(1025).unwrap(), "10.25");
        assert_eq!(d.format(-5).unwrap(), "-0.05");
        assert_eq!(d.parse("10.25").unwrap(), 1025);
        assert_eq!(d.parse("10.2").unwrap(), 1020);
        assert_eq!(d.parse("10").unwrap(), 1000);
        assert_eq!(d.parse("-.5").unwrap(), -50);
        assert!(d.parse("10.255").is_err());
        assert!(d.parse(".").is_err());
    }

    #[test]
    fn decimal_range_follows_the_type() {
        let u = n(DataType::U16, NumberFormat::Decimal, 0);
        assert!(u.parse("-1").is_err());
        assert!(u.parse("65536").is_err());
        assert_eq!(u.parse("+65535").unwrap(), 65535);
        assert!(u.format(70_000).is_err());
        assert!(u.parse("99999999999999999999999").is_err());
    }
}
