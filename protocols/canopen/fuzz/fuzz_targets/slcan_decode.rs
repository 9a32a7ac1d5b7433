//! The slcan decoder must never panic, whatever an adapter sends, and re-encoding a decoded
//! frame must decode to the same frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use linevisor_can::slcan::codec::{encode_reply, parse_command};
use linevisor_can::slcan::{Decoder, Reply};

fuzz_target!(|data: &[u8]| {
    let mut d = Decoder::new();
    // Split where the input says, as a serial port delivers bytes in pieces.
    let cut = data.first().map_or(0, |b| usize::from(*b) % (data.len() + 1));
    for piece in [&data[..cut], &data[cut..]] {
        d.push(piece);
        while let Some(r) = d.next_reply() {
            if let Ok(reply @ Reply::Frame { .. }) = r {
                let mut out = Vec::new();
                encode_reply(&reply, &mut out);
                let mut again = Decoder::new();
                again.push(&out);
                assert_eq!(again.next_reply(), Some(Ok(reply)));
            }
        }
    }
    let mut d = Decoder::new();
    d.push(data);
    while d.next_command().is_some() {}
    let _ = parse_command(data);
});
