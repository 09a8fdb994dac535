//! Every end-to-end test file but `clocks.rs`, as one test binary: the
//! files are modules here so that the suite compiles and links them once.
//! Run one file's tests with its module name as the filter, e.g.
//! `cargo test --release --test e2e routes::`.

mod api_token;
mod cli;
mod cluster;
mod control_api;
mod control_plane;
mod dashboard;
mod dashboard_exit;
mod docs;
mod fates;
mod faults;
mod guest_limits;
mod host_cli;
mod host_run;
mod lab;
mod ledger;
mod load;
mod otel;
mod packed;
mod packets;
mod probe_harness;
mod replicas;
mod routes;
