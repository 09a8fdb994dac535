//! The control component: a `wasi:http` handler that injects packets into the
//! ring and serves the control plane (see "Control plane HTTP API" in
//! DESIGN.md).
//!
//! Modules:
//! - [`endpoint`]: which endpoint a method and path select (404 / 405 otherwise).
//! - [`request`]: parsing and validation of `POST /packets` bodies and `GET /`
//!   query strings into an [`request::Inject`], the JSON-object body machinery
//!   every endpoint shares, and the error body.
//! - [`plane`]: bodies and answers of `/chaos` and `/links`.
//! - [`load`]: the `POST /load` body and the answers of `/load`.
//! - [`api`]: what each endpoint does, against a [`api::ControlPlane`] (the
//!   host functions), giving a status and a JSON body.
//! - `http` (wasm32 only): the wit-bindgen bindings of the `control` world,
//!   their [`api::ControlPlane`] implementation, and the `wstd` handler that
//!   reads the body with a cap and writes the answer.
//!
//! Everything but `http` imports nothing from wasm, so `cargo test -p
//! lwc-control` runs the unit tests natively.

pub mod api;
pub mod endpoint;
pub mod load;
pub mod plane;
pub mod request;

#[cfg(target_arch = "wasm32")]
mod http;
