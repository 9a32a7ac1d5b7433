//! Frame checksums. CRC-8 is CRC-8/SMBUS (polynomial 0x07, initial 0, no reflection, no final
//! XOR), the CRC the Trinamic UART datagrams use; CRC-16 is CRC-16/MODBUS.

use linevisor_core::profile::ChecksumAlgorithm;

/// The checksum of `bytes`.
pub fn compute(algorithm: ChecksumAlgorithm, bytes: &[u8]) -> u16 {
    match algorithm {
        ChecksumAlgorithm::Sum8 => u16::from(sum8(bytes)),
        ChecksumAlgorithm::Xor8 => u16::from(xor8(bytes)),
        ChecksumAlgorithm::Crc8 => u16::from(crc8(bytes)),
        ChecksumAlgorithm::Crc16Modbus => crc16_modbus(bytes),
    }
}

/// Sum of the bytes modulo 256 (TMCL).
pub fn sum8(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b))
}

/// XOR of the bytes.
pub fn xor8(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |a, b| a ^ b)
}

/// CRC-8/SMBUS: polynomial 0x07, initial 0x00, MSB first, no final XOR.
pub fn crc8(bytes: &[u8]) -> u8 {
    let mut crc = 0u8;
    for b in bytes {
        crc ^= b;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 {
                (crc << 1) ^ 0x07
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// CRC-16/MODBUS: polynomial 0x8005 reflected (0xA001), initial 0xFFFF.
pub fn crc16_modbus(bytes: &[u8]) -> u16 {
    let mut crc = 0xFFFFu16;
    for b in bytes {
        crc ^= u16::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xA001
            } else {
                crc >> 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    // The catalogue check value of every CRC is over the ASCII bytes "123456789".
    const CHECK: &[u8] = b"123456789";

    #[test]
    fn catalogue_check_values() {
        assert_eq!(crc8(CHECK), 0xF4, "CRC-8/SMBUS check");
        assert_eq!(crc16_modbus(CHECK), 0x4B37, "CRC-16/MODBUS check");
        assert_eq!(sum8(CHECK), 0xDD);
        assert_eq!(xor8(CHECK), 0x31);
    }

    #[test]
    fn modbus_read_request_crc() {
        // 01 03 00 00 00 01 is sent with CRC bytes 84 0A (low byte first).
        let crc = crc16_modbus(&[0x01, 0x03, 0x00, 0x00, 0x00, 0x01]);
        assert_eq!(crc.to_le_bytes(), [0x84, 0x0A]);
    }

    #[test]
    fn tmcl_rotate_right_sum() {
        // TMCL firmware manual: ROR motor 0 at velocity 500 (0x1F4) to module 1.
        let frame = [0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0xF4];
        assert_eq!(sum8(&frame), 0xF7);
    }

    #[test]
    fn empty_input() {
        assert_eq!(compute(ChecksumAlgorithm::Sum8, &[]), 0);
        assert_eq!(compute(ChecksumAlgorithm::Crc16Modbus, &[]), 0xFFFF);
    }
}
