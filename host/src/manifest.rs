//! The manifest lives in its own crate (`lwc-manifest`, no wasmtime), shared
//! with the `lwc` CLI so the two read one file the same way.

pub use lwc_manifest::*;
