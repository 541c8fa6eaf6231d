//! parse -> emit -> parse: what the codec accepts re-encodes to bytes it
//! accepts again as the same packet, and emitting is a fixed point.
#![no_main]

use gw_agent::proto::Packet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(p) = Packet::parse(data) else {
        return;
    };
    let bytes = p.to_bytes();
    assert_eq!(bytes.len(), p.buffer_len());
    let again = Packet::parse(&bytes).expect("emitted packet parses");
    assert_eq!(again, p, "round trip changed the packet");
    assert_eq!(again.to_bytes(), bytes, "emit is not canonical");
    // emit into a longer buffer writes only buffer_len bytes.
    let mut long = vec![0xa5u8; bytes.len() + 7];
    p.emit(&mut long);
    assert_eq!(&long[..bytes.len()], &bytes[..]);
    assert!(long[bytes.len()..].iter().all(|b| *b == 0xa5));
});
