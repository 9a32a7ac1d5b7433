//! Property tests on the CANopen wire types: SDO frames, PDO mappings, EMCY.

use linevisor_canopen::pdo::{MappingEntry, PdoMapping, sign_extend};
use linevisor_canopen::sdo::wire::{Request, Response};
use linevisor_canopen::{AbortCode, Emcy};
use proptest::prelude::*;

proptest! {
    #[test]
    fn sdo_frames_never_panic_and_reparse_to_themselves(data in prop::collection::vec(any::<u8>(), 0..12)) {
        if let Ok(r) = Response::parse(&data) {
            prop_assert_eq!(Response::parse(&r.encode()), Ok(r));
        }
        if let Ok(r) = Request::parse(&data) {
            prop_assert_eq!(Request::parse(&r.encode()), Ok(r));
        }
        let _ = Emcy::parse(&data);
    }

    #[test]
    fn segments_round_trip(toggle: bool, last: bool, data in prop::collection::vec(any::<u8>(), 0..=7)) {
        let r = Response::UploadSegment { toggle, data: data.clone(), last };
        prop_assert_eq!(Response::parse(&r.encode()), Ok(r));
        let q = Request::DownloadSegment { toggle, data, last };
        prop_assert_eq!(Request::parse(&q.encode()), Ok(q));
    }

    #[test]
    fn aborts_round_trip(index: u16, subindex: u8, code: u32) {
        let r = Response::Abort { index, subindex, code: AbortCode(code) };
        prop_assert_eq!(Response::parse(&r.encode()), Ok(r));
    }

    #[test]
    fn pdo_payloads_round_trip(widths in prop::collection::vec(prop::sample::select(vec![8u8, 16, 24, 32]), 1..=2), values in prop::collection::vec(any::<u32>(), 2)) {
        let entries: Vec<MappingEntry> = widths.iter().enumerate().map(|(i, b)| MappingEntry::new(0x6000 + i as u16, 0, *b)).collect();
        let m = PdoMapping::new(entries.clone()).unwrap();
        let vals: Vec<u64> = entries.iter().zip(&values).map(|(e, v)| u64::from(*v) & ((1u64 << e.bits) - 1)).collect();
        let bytes = m.pack(&vals).unwrap();
        prop_assert_eq!(bytes.len(), m.len_bytes());
        prop_assert_eq!(m.unpack(&bytes).unwrap(), vals);
        for e in &entries {
            prop_assert_eq!(MappingEntry::from_u32(e.to_u32()), *e);
        }
        prop_assert_eq!(sign_extend(u64::from(values[0] as u16), 16), i64::from(values[0] as u16 as i16));
    }
}
