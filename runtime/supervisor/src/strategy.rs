//! Restart strategies: which children restart together.

/// OTP restart strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Only the failed child restarts.
    #[default]
    OneForOne,
    /// All children stop (reverse start order) and all restart (start order).
    OneForAll,
    /// The children started after the failed one stop (reverse order); the failed one and
    /// those after it restart (start order).
    RestForOne,
}

impl Strategy {
    /// Positions (in start order) that restart when the child at `failed` fails, out of `len`.
    pub fn group(self, failed: usize, len: usize) -> std::ops::Range<usize> {
        match self {
            Strategy::OneForOne => failed..failed + 1,
            Strategy::OneForAll => 0..len,
            Strategy::RestForOne => failed..len,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups() {
        assert_eq!(Strategy::OneForOne.group(2, 5), 2..3);
        assert_eq!(Strategy::OneForAll.group(2, 5), 0..5);
        assert_eq!(Strategy::RestForOne.group(2, 5), 2..5);
        assert_eq!(Strategy::RestForOne.group(4, 5), 4..5);
    }
}
