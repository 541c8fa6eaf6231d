//! BPF_PROG_TEST_RUN tests of gw's XDP program (gw-ebpf): crafted frames
//! in; verdict, output bytes and map side effects checked (STYLE.md
//! "Tests", XDP). Replies are judged by an independent ARP parser
//! (arp_oracle.rs), never by gw code; the property tests compare against a
//! reference model of the contract (model.rs).
//!
//! Every run goes through `Xdp::run_counted`, which also checks that each
//! frame moved exactly one GW_STATS counter by exactly one.
//!
//! Needs root (CAP_BPF + CAP_NET_ADMIN). Without it each test prints why it
//! is skipped and passes, unless CI=true, where it fails.
//!
//! Run: `cargo test -p gw-agent --test xdp`; the benchmark:
//! `cargo test -p gw-agent --test xdp -- --ignored --nocapture bench_ns_per_packet`.

// Infrastructure.
mod arp_oracle;
mod fixture;
mod frames;
mod frames6;
mod harness;
mod model;
mod nd6_oracle;
mod pool;

// Tests, by behaviour.
mod bench;
mod client_cache;
mod clients;
mod counters;
mod drops;
mod lease;
mod nd6;
mod nd6_drops;
mod nd6_props;
mod pass;
mod policies;
mod production;
mod proptest_frames;
mod rate_limit;
mod reply;
mod round_robin;
mod truncated;
mod unicast;
mod vlan;
mod vmac_rewrite;
