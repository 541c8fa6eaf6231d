//! `Packet::parse` never panics, whatever the bytes (its documented
//! contract), and what it accepts is internally consistent.
#![no_main]

use gw_agent::proto::{HEADER_LEN, Packet, Tlv};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match Packet::parse(data) {
        Ok(p) => {
            assert!(p.group <= 1023, "group {} accepted", p.group);
            // Every accepted TLV fits in what was received (emit is
            // canonical: never longer than the input).
            assert!(p.buffer_len() <= data.len().max(HEADER_LEN));
            let _ = p.hello();
            let _ = p.auth();
            let _ = p.forwarders().count();
            for t in &p.tlvs {
                if let Tlv::Unknown { kind, .. } = t {
                    assert!(!(1..=3).contains(kind), "known type {kind} kept as unknown");
                }
                let _ = t.kind();
            }
        }
        Err(e) => {
            // Every error has a stable counter name.
            assert!(gw_agent::proto::DecodeError::KINDS.contains(&e.kind()));
            let _ = e.to_string();
        }
    }
});
