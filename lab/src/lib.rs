//! `lwc-lab`: runs an experiment file against a ring and writes a report
//! (DESIGN.md, "Experiments").
//!
//! Layers, top to bottom:
//! - [`cli`]: flags, exit codes (0 all hold, 1 one fails, 2 bad file or no ring)
//! - [`run`]: the run: load, timeline, collection, settling, status messages
//! - [`html`]: writes `report.html`, self-contained (inline CSS and SVG)
//! - [`charts`]: its charts, drawn with plotters' SVG backend
//! - [`report`]: expectations judged, and `report.json`
//! - [`figures`]: events and telemetry folded per phase and per second
//! - [`ring`]: finding the ring, its HTTP API, the kill/start command
//! - [`spec`]: the experiment file, parsed with spans and checked
//! - [`time`]: wall-clock seconds as UTC text

pub mod charts;
pub mod cli;
pub mod figures;
pub mod html;
pub mod report;
pub mod ring;
pub mod run;
pub mod spec;
pub mod time;
