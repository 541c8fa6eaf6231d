//! Builds the XDP object (gw-ebpf) with the nightly toolchain and
//! bpf-linker through aya-build; the agent embeds it (dataplane::EBPF_OBJECT).

use aya_build::{Package, Toolchain};

fn main() -> anyhow::Result<()> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../gw-ebpf");
    aya_build::build_ebpf(
        [Package {
            name: "gw-ebpf",
            root_dir: root,
            ..Default::default()
        }],
        Toolchain::default(),
    )
}
