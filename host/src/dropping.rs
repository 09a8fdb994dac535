//! Dropping one host of a process at once (`lwc kill HOST` on a packed
//! host; the process does the dropping): a request on
//! `lwc.<l>.hosts.<host>.drop` with the process's pid, answered before the
//! host goes. It is as authenticated as everything on the lattice: by the
//! NATS credentials.

use anyhow::{Context, Result};
use futures::StreamExt;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Where a host's drop listener asks the process to drop it.
pub type DropTx = mpsc::UnboundedSender<Arc<str>>;

/// A drop request: the pid of the process the host is meant to be in.
#[derive(Debug, serde::Deserialize)]
struct DropRequest {
    pid: u32,
}

/// The answer: `dropped` true and the host then goes, or why not.
#[derive(Debug, serde::Serialize)]
struct DropAnswer<'a> {
    dropped: bool,
    host: &'a str,
    pid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub async fn subscribe(client: &async_nats::Client, lattice: &str, host: &str) -> Result<async_nats::Subscriber> {
    let subject = lwc_wire::subjects::host_drop(lattice, host);
    client.subscribe(subject.clone()).await.with_context(|| format!("cannot subscribe to {subject}"))
}

/// Answer drop requests; after a valid one, flush the answer, ask the
/// process to drop this host, and wait to be dropped.
pub async fn run_listener(client: async_nats::Client, host: Arc<str>, mut sub: async_nats::Subscriber, drops: DropTx) {
    let pid = std::process::id();
    while let Some(msg) = sub.next().await {
        let Some(reply) = msg.reply.clone() else { continue };
        let answer = match serde_json::from_slice::<DropRequest>(&msg.payload) {
            Ok(req) if req.pid == pid => None,
            Ok(req) => Some(format!("{host} runs in process {pid}, not {}", req.pid)),
            Err(e) => Some(format!("a drop request is {{\"pid\":N}}: {e}")),
        };
        let dropping = answer.is_none();
        let body = DropAnswer { dropped: dropping, host: &host, pid, error: answer };
        let body = serde_json::to_vec(&body).unwrap_or_default();
        if client.publish(reply, body.into()).await.is_ok() && dropping {
            let _ = client.flush().await;
            tracing::warn!(host = %host, "drop requested: dropping this host at once (no drain)");
            if drops.send(host.clone()).is_ok() {
                // Ending would read as a dead task; the runtime goes instead.
                return std::future::pending().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drop_subject_is_under_the_host() {
        assert_eq!(lwc_wire::subjects::host_drop("default", "p001"), "lwc.default.hosts.p001.drop");
    }

    #[test]
    fn answers_say_why_not() {
        let a = DropAnswer { dropped: false, host: "a", pid: 7, error: Some("no".into()) };
        assert_eq!(serde_json::to_string(&a).unwrap(), r#"{"dropped":false,"host":"a","pid":7,"error":"no"}"#);
        let a = DropAnswer { dropped: true, host: "a", pid: 7, error: None };
        assert_eq!(serde_json::to_string(&a).unwrap(), r#"{"dropped":true,"host":"a","pid":7}"#);
        assert!(serde_json::from_slice::<DropRequest>(b"{}").is_err());
    }
}
