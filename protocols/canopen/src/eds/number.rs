//! Integers as an EDS writes them (CiA 306 §4.6.3): decimal, `0x` hexadecimal, octal with a
//! leading `0`, optionally negative, and COB-IDs relative to the node: `$NODEID+0x180`,
//! `0x180 + $NODEID`, `$NODEID`.

use std::fmt;

/// An integer value, possibly plus the node id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Number {
    /// The value without the node id.
    pub base: i128,
    /// `$NODEID` is added to `base`.
    pub plus_node_id: bool,
}

impl Number {
    /// A plain value.
    pub const fn plain(base: i128) -> Self {
        Self {
            base,
            plus_node_id: false,
        }
    }

    /// The value for node `node`.
    pub fn resolve(self, node: u8) -> i128 {
        if self.plus_node_id {
            self.base.saturating_add(i128::from(node))
        } else {
            self.base
        }
    }

    /// The value, when it does not depend on the node.
    pub fn fixed(self) -> Option<i128> {
        (!self.plus_node_id).then_some(self.base)
    }

    /// Parses a value; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.is_empty() {
            return Err("empty number".into());
        }
        let mut out = Number::plain(0);
        let mut terms = 0;
        for term in compact.split('+') {
            terms += 1;
            if term.eq_ignore_ascii_case("$NODEID") {
                if out.plus_node_id {
                    return Err("$NODEID appears twice".into());
                }
                out.plus_node_id = true;
                continue;
            }
            let v = literal(term)?;
            out.base = out.base.checked_add(v).ok_or("number too large")?;
        }
        if terms > 1 && out.base < 0 {
            return Err("a node-relative value cannot be negative".into());
        }
        Ok(out)
    }
}

impl fmt::Display for Number {
    /// `$NODEID+0x180` or `0x180`: hexadecimal, as COB-IDs and mapping entries are read.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.plus_node_id {
            write!(f, "$NODEID+")?;
        }
        if self.base < 0 {
            write!(f, "-0x{:X}", self.base.unsigned_abs())
        } else {
            write!(f, "0x{:X}", self.base)
        }
    }
}

/// One literal: `-`? then `0x` hex, `0` octal, or decimal digits.
fn literal(term: &str) -> Result<i128, String> {
    let (negative, digits) = match term.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, term),
    };
    if digits.is_empty() {
        return Err(if term.is_empty() {
            "a '+' without a number".into()
        } else {
            format!("\"{term}\" has no digits")
        });
    }
    let hex = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"));
    let (radix, body) = match hex {
        Some(h) => (16, h),
        // CiA 306: a leading 0 means octal; a digit 8 or 9 can only mean decimal.
        None if digits.len() > 1
            && digits.starts_with('0')
            && digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) =>
        {
            (8, &digits[1..])
        }
        None => (10, digits),
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return Err(format!("\"{term}\" is not a number"));
    }
    let magnitude = u128::from_str_radix(body, radix).map_err(|_| "number too large")?;
    let v = i128::try_from(magnitude).map_err(|_| "number too large")?;
    Ok(if negative { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_real_files_use() {
        let p = |s: &str| Number::parse(s).unwrap();
        assert_eq!(p("0x60410010"), Number::plain(0x6041_0010));
        assert_eq!(p("0x60b20010"), Number::plain(0x60B2_0010));
        assert_eq!(p("255"), Number::plain(255));
        assert_eq!(p("010"), Number::plain(8));
        assert_eq!(p("0"), Number::plain(0));
        assert_eq!(p("09"), Number::plain(9));
        assert_eq!(p("-2147483648"), Number::plain(-2_147_483_648));
        let cob = Number {
            base: 0x180,
            plus_node_id: true,
        };
        assert_eq!(p("$NODEID+0x180"), cob);
        assert_eq!(p("$NODEID + 0x180"), cob);
        assert_eq!(p("0x180+$nodeid"), cob);
        assert_eq!(p("$NODEID+384"), cob);
        assert_eq!(p("$NODEID").resolve(5), 5);
        assert_eq!(p("$NODEID+0x80000380").resolve(1), 0x8000_0381);
        assert_eq!(cob.to_string(), "$NODEID+0x180");
    }

    #[test]
    fn malformed_numbers_say_why() {
        // Near the limit of the representation: no overflow, whatever is added.
        let huge = Number::parse("$NODEID+170141183460469231731687303715884105727").unwrap();
        assert_eq!(huge.resolve(127), i128::MAX);
        for bad in [
            "",
            "0x",
            "12a",
            "$NODEID+",
            "$NODEID+$NODEID",
            "+",
            "--1",
            "0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
        ] {
            assert!(Number::parse(bad).is_err(), "{bad:?} parsed");
        }
    }
}
