//! SDO frame parsing must never panic, and whatever parses must encode back to bytes that
//! parse to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use linevisor_canopen::Emcy;
use linevisor_canopen::sdo::wire::{Request, Response};

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = Response::parse(data) {
        assert_eq!(Response::parse(&r.encode()), Ok(r));
    }
    if let Ok(r) = Request::parse(data) {
        assert_eq!(Request::parse(&r.encode()), Ok(r));
    }
    let _ = Emcy::parse(data);
});
