//! Codec tests: golden vectors, negative cases, property tests and the
//! tshark oracle. `pcap.rs` is reusable test support (Ethernet/IP/UDP
//! framing and classic pcap files, std only).

mod fuzz_seeds;
mod golden;
mod negative;
pub mod pcap;
mod roundtrip;
mod tshark;
mod vectors;
