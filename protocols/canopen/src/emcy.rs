//! EMCY (protocols.md §3.5): 0x080 + node, error code u16 LE, error register (0x1001), five
//! manufacturer bytes; code 0x0000 = error reset. The same code appears in CiA 402 0x603F.

use std::fmt;

/// An emergency message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Emcy {
    /// Error code (0x0000 = error reset / no error).
    pub code: u16,
    /// Error register, object 0x1001.
    pub register: u8,
    /// Manufacturer-specific bytes.
    pub manufacturer: [u8; 5],
}

/// EMCY payload too short to hold code and register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("EMCY frame has {0} bytes, need at least 3")]
pub struct EmcyError(pub usize);

impl Emcy {
    /// Parses an EMCY payload; missing manufacturer bytes read as 0.
    pub fn parse(data: &[u8]) -> Result<Emcy, EmcyError> {
        let [lo, hi, register, rest @ ..] = data else {
            return Err(EmcyError(data.len()));
        };
        let mut manufacturer = [0u8; 5];
        for (m, b) in manufacturer.iter_mut().zip(rest) {
            *m = *b;
        }
        Ok(Emcy {
            code: u16::from_le_bytes([*lo, *hi]),
            register: *register,
            manufacturer,
        })
    }

    /// The 8 data bytes.
    pub fn encode(&self) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[..2].copy_from_slice(&self.code.to_le_bytes());
        b[2] = self.register;
        b[3..].copy_from_slice(&self.manufacturer);
        b
    }

    /// True for the error-reset message (code 0x0000).
    pub fn is_reset(&self) -> bool {
        self.code == 0
    }

    /// The error-code class (§3.5).
    pub fn class(&self) -> &'static str {
        match self.code >> 12 {
            _ if self.code == 0 => "error reset / no error",
            _ if self.code >> 8 == 0xFF => "device specific",
            0x1 => "generic error",
            0x2 => "current",
            0x3 => "voltage",
            0x4 => "temperature",
            0x5 => "device hardware",
            0x6 => "device software",
            0x7 => "additional modules",
            0x8 => "monitoring / communication",
            0x9 => "external error",
            _ => "unknown class",
        }
    }
}

impl fmt::Display for Emcy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "EMCY {:#06X} ({}), error register {:#04X}",
            self.code,
            self.class(),
            self.register
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_codes_classes_and_reset() {
        let e = Emcy::parse(&[0x10, 0x23, 0x03, 1, 2, 3, 4, 5]).unwrap();
        assert_eq!(
            (e.code, e.register, e.manufacturer),
            (0x2310, 0x03, [1, 2, 3, 4, 5])
        );
        assert_eq!(e.class(), "current");
        assert_eq!(Emcy::parse(&e.encode()), Ok(e));
        let reset = Emcy::parse(&[0, 0, 0]).unwrap();
        assert!(reset.is_reset());
        assert_eq!(
            Emcy::parse(&[0x00, 0xFF, 0]).unwrap().class(),
            "device specific"
        );
        assert_eq!(Emcy::parse(&[1, 2]), Err(EmcyError(2)));
    }
}
