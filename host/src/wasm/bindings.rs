//! Host-side bindings for the WIT worlds in `components/wit`.

/// The probe world: imports the bus, logging and the next hop; exports
/// `packet-looper`.
pub mod probe {
    wasmtime::component::bindgen!({
        path: "../components/wit",
        world: "probe",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "wasmcloud:bus/lattice.call-target-interface": crate::wasm::imports::CallTarget,
        },
        anyhow: true,
    });
}

/// The control world's own imports (its HTTP export is served through
/// wasmtime-wasi-http's `ProxyPre`). `packet-looper` is shared with the probe
/// world so one host implementation serves both.
pub mod control {
    wasmtime::component::bindgen!({
        path: "../components/wit",
        world: "control",
        imports: { default: async | trappable },
        with: {
            "wasmcloud:lwc/packet-looper": crate::wasm::bindings::probe::wasmcloud::lwc::packet_looper,
        },
        anyhow: true,
    });
}
