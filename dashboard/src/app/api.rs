//! The control plane's HTTP API as the app sees it: what it reads back
//! (chaos settings, the link table, the manifest's placement) and the
//! [`Command`]s it asks the HTTP worker to send.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Chaos settings of one host, as `GET /chaos` lists them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Chaos {
    pub trap: u8,
    pub delay_ms: u32,
    pub jitter_ms: u32,
    pub drop: u8,
    pub down_s: u32,
}

impl Chaos {
    pub fn is_calm(&self) -> bool {
        *self == Chaos::default()
    }
}

/// A link of the live table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub source: String,
    pub name: String,
    pub target: String,
}

/// The manifest's placement, from `GET /status`: each component and the
/// hosts the manifest puts it on (its replicas), whether or not they ever
/// reported.
pub type Placement = BTreeMap<String, Vec<String>>;

/// What `i` sends to `POST /packets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InjectSettings {
    pub ttl: u64,
    pub chaos: u16,
    pub route: String,
    pub count: u32,
    pub trace: bool,
}

impl Default for InjectSettings {
    fn default() -> Self {
        InjectSettings {
            ttl: 100,
            chaos: 0,
            route: "default".into(),
            count: 1,
            trace: false,
        }
    }
}

/// A change to one host's chaos: `None` fields stay as they are.
pub use lwc_wire::ctl::ChaosPatch;

/// Work for the HTTP worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Inject(InjectSettings),
    SetChaos(ChaosPatch),
    /// `scripts/experiment.sh file` in `root`.
    RunExperiment { root: std::path::PathBuf, file: std::path::PathBuf },
}
