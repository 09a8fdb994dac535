//! A probe-world component that misbehaves, for testing the host's limits.
//! Its route picks how; whichever, it never forwards:
//! - `hog`: allocates until memory runs out (the memory limit stops it);
//! - `handles`: creates `call-target-interface` handles and keeps them all,
//!   forever (the cap on host resources stops it);
//! - anything else: spins forever (the epoch deadline stops it).

wit_bindgen::generate!({
    path: "../wit",
    world: "probe",
    generate_all,
});

use exports::wasmcloud::lwc::packet_looper::Guest;
use wasmcloud::bus::lattice::CallTargetInterface;

struct Runaway;

impl Guest for Runaway {
    fn process(_packet: u64, ttl: u64, _chaos: u16, route: Option<String>) {
        match route.as_deref() {
            Some("hog") => hog(),
            Some("handles") => hoard_handles(),
            _ => spin(ttl),
        }
    }
}

fn hog() -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(vec![1u8; 1 << 20]);
        std::hint::black_box(&hoard);
    }
}

/// Each handle is an entry in the host's resource table; none is dropped.
fn hoard_handles() -> ! {
    let mut hoard: Vec<CallTargetInterface> = Vec::new();
    loop {
        hoard.push(CallTargetInterface::new("wasmcloud", "lwc", "packet-looper"));
        std::hint::black_box(&hoard);
    }
}

fn spin(ttl: u64) -> ! {
    let mut n = ttl;
    loop {
        n = std::hint::black_box(n.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
}

export!(Runaway);
