//! The probe component: one stop on the ring.
//!
//! It receives a packet, logs how long the packet has been alive, and hands it
//! to whatever component its link (`default` or `special`) points at. It never
//! names that component: the host resolves the link name at run time. With
//! probability `chaos`% it then traps, *after* forwarding, so that a trap is a
//! failure the lattice must absorb rather than a lost packet.

wit_bindgen::generate!({
    path: "../wit",
    world: "probe",
    generate_all,
});

use exports::wasmcloud::lwc::packet_looper::Guest;
use wasi::logging::logging::{log, Level};
use wasmcloud::bus::lattice::{set_link_name, CallTargetInterface};
use wasmcloud::lwc::packet_looper;

struct Probe;

impl Guest for Probe {
    fn process(packet: u64, ttl: u64, chaos: u16, route: Option<String>) {
        let route = route.unwrap_or_else(|| "default".to_string());
        let delta_us = now_ns().saturating_sub(packet) / 1_000;
        log(
            Level::Info,
            "probe",
            &format!("packet {packet} ttl {ttl} route {route} alive {delta_us}us"),
        );
        if ttl == 0 {
            return;
        }
        let looper = CallTargetInterface::new("wasmcloud", "lwc", "packet-looper");
        set_link_name(&route, vec![looper]);
        packet_looper::process(packet, ttl - 1, chaos, Some(&route));
        if rolls_under(chaos) {
            panic!("chaos: probe trapped after forwarding packet {packet} ({chaos}%)");
        }
    }
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// True with probability `percent`%.
fn rolls_under(percent: u16) -> bool {
    if percent == 0 {
        return false;
    }
    if percent >= 100 {
        return true;
    }
    let roll = getrandom::u32().unwrap_or(0) % 100;
    roll < u32::from(percent)
}

export!(Probe);
