//! The shell's tests, on a real nats-server each ([`super::testing`]): one
//! file per shell module. The protocol's own rules are tested (and
//! simulated) in `protocol`; these test what the shell does with them.

mod acker;
mod act;
mod receive;
mod tasks;
