//! Links `offcloud` and `offcloud-exec` as position-dependent executables on Linux.
//!
//! A position-independent executable must have its relative relocations applied at every start: `offcloud` has
//! over 80,000 of them, and applying them writes to, and so copies, some 1.4 MB of its pages. Linked at a fixed
//! address it needs none: `offcloud --version` takes 142 page faults instead of 497, and `offcloud serve` reaches
//! its ready line in about 6 ms instead of 8.5 ms (`just bench`, the start-up rows). The cost is that the binaries'
//! own code is not at a random address; for a local emulator that serves loopback by default, that is the right
//! trade. The objects are still compiled position-independent, so only the final link changes.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        for bin in ["offcloud", "offcloud-exec"] {
            println!("cargo:rustc-link-arg-bin={bin}=-no-pie");
        }
    }
}
