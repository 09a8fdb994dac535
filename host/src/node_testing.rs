//! A whole [`Node`] for unit tests, built as `lib::run` builds one, on the
//! ring of `scripts/ring.toml`. Its NATS client never connects (nothing
//! listens on its port): publishes queue inside the client, so everything
//! up to the wire (links, chaos, ledger counters, the hop protocol) is real.

use std::path::Path;
use std::sync::Arc;

use crate::lattice::HopPolicy;
use crate::node::Node;
use crate::otel::Otel;
use lwc_manifest::Manifest;

pub fn ring() -> Manifest {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/ring.toml");
    Manifest::load(&path).expect("scripts/ring.toml loads")
}

/// A client that is never connected: `retry_on_initial_connect` hands it
/// back at once, and port 1 never answers.
pub async fn offline_client() -> async_nats::Client {
    async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connect("nats://127.0.0.1:1")
        .await
        .expect("an offline client")
}

/// Host `host` of the ring, with export off.
pub async fn node(host: &str) -> Arc<Node> {
    node_with(host, Arc::new(Otel::disabled())).await
}

/// Host `host` of the ring, exporting through `otel`.
pub async fn node_with(host: &str, otel: Arc<Otel>) -> Arc<Node> {
    let manifest = ring();
    let client = offline_client().await;
    let link = Box::new(|| (false, 0));
    let parts = crate::node::wire(Arc::from(host), client, &manifest, &manifest.lattice, otel, HopPolicy::default(), link);
    parts.node
}
