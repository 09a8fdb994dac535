//! Everything wasmtime: the WIT bindings of the probe and control worlds,
//! the host side of the guests' imports, and the engine that instantiates
//! them. The three refer to each other (the bindings name the host state,
//! the imports implement the bindings' traits, the runtime links both), so
//! they live in one folder and nothing outside depends on their insides
//! beyond what is `pub` here.
//!
//! - [`runtime`]: wasmtime engine, linkers, pooled and limited stores
//! - [`cache`]: compiled components on disk (`--compile-cache`)
//! - [`bindings`]: WIT bindings for the probe and control worlds
//! - [`imports`]: host side of the guests' imports (`process`, logging) and
//!   the handles they use ([`imports::GuestHandles`], one per component)
//! - `control_plane`: host side of the control component's own imports

pub mod bindings;
pub mod cache;
mod control_plane;
pub mod imports;
pub mod runtime;

#[cfg(test)]
mod tests;
