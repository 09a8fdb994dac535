//! The control component: a `wasi:http` handler that injects packets into the
//! ring (see "Control plane HTTP API" in DESIGN.md).
//!
//! Modules:
//! - [`endpoint`]: which endpoint a method and path select (404 / 405 otherwise).
//! - [`request`]: parsing and validation of `POST /packets` bodies and `GET /`
//!   query strings into an [`request::Inject`], and the JSON answers.
//! - `http` (wasm32 only): the wit-bindgen bindings of the `control` world and
//!   the `wstd` handler that reads the body with a cap, reserves packet ids,
//!   marks traced packets and calls `packet-looper.process`.
//!
//! `endpoint` and `request` import nothing from wasm, so `cargo test -p
//! lwc-control` runs their unit tests natively.

pub mod endpoint;
pub mod request;

#[cfg(target_arch = "wasm32")]
mod http;
