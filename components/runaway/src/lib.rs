//! A probe-world component that misbehaves, for testing the host's limits:
//! route `hog` allocates until memory runs out; any other route spins
//! forever. Either way it never forwards.

wit_bindgen::generate!({
    path: "../wit",
    world: "probe",
    generate_all,
});

use exports::wasmcloud::lwc::packet_looper::Guest;

struct Runaway;

impl Guest for Runaway {
    fn process(_packet: u64, ttl: u64, _chaos: u16, route: Option<String>) {
        if route.as_deref() == Some("hog") {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 1 << 20]);
                std::hint::black_box(&hoard);
            }
        }
        let mut n = ttl;
        loop {
            n = std::hint::black_box(n.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
}

export!(Runaway);
