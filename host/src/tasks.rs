//! The host's long-running tasks, each with a name, so that the one that
//! ends says which it was. Every task of a serving host runs until it is
//! told to stop: one that ends on its own (or panics) is a host that
//! would stay up deaf, and [`Tasks::first_end`] turns it into an error.

use anyhow::anyhow;
use std::collections::HashMap;
use std::future::Future;
use tokio::task::{Id, JoinSet};
use tracing::Instrument;

pub struct Tasks {
    set: JoinSet<()>,
    names: HashMap<Id, String>,
    /// `--test-fail-task`: this task panics instead of running.
    fail: Option<String>,
}

impl Tasks {
    pub fn new(fail: Option<String>) -> Tasks {
        Tasks {
            set: JoinSet::new(),
            names: HashMap::new(),
            fail,
        }
    }

    /// Run `fut` as the task `name` (e.g. `receiver north`).
    pub fn spawn(&mut self, name: impl Into<String>, fut: impl Future<Output = ()> + Send + 'static) {
        let name = name.into();
        let fail = self.fail.as_deref() == Some(name.as_str());
        // In the spawner's span: in a process of several hosts, `host{name=…}`.
        let handle = self.set.spawn(
            async move {
                if fail {
                    panic!("--test-fail-task: this task panics as asked");
                }
                fut.await
            }
            .in_current_span(),
        );
        self.names.insert(handle.id(), name);
    }

    /// For spawners that take a plain `JoinSet` (the lattice's
    /// `spawn_tasks`): their tasks are named "a lattice task".
    pub fn raw(&mut self) -> &mut JoinSet<()> {
        &mut self.set
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// Wait for the first task to end and describe how it ended. Pending
    /// forever when there are no tasks, so it can sit in a `select!`.
    pub async fn first_end(&mut self) -> anyhow::Error {
        let Some(done) = self.set.join_next_with_id().await else {
            return std::future::pending().await;
        };
        match done {
            Ok((id, ())) => anyhow!("host task {:?} ended unexpectedly", self.name(id)),
            Err(e) if e.is_panic() => anyhow!("host task {:?} panicked: {}", self.name(e.id()), panic_text(e)),
            Err(e) => anyhow!("host task {:?} failed: {e}", self.name(e.id())),
        }
    }

    /// Wait for every task to end (those that were told to stop). A task
    /// that panics on the way is logged; the others are still waited for.
    pub async fn join_all(&mut self) {
        while let Some(done) = self.set.join_next_with_id().await {
            if let Err(e) = done {
                tracing::error!("host task {:?} failed while stopping: {e}", self.name(e.id()));
            }
        }
    }

    pub fn abort_all(&mut self) {
        self.set.abort_all();
    }

    fn name(&self, id: Id) -> &str {
        self.names.get(&id).map_or("a lattice task", String::as_str)
    }
}

fn panic_text(e: tokio::task::JoinError) -> String {
    let payload = e.into_panic();
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_task_that_ends_is_named() {
        let mut tasks = Tasks::new(None);
        tasks.spawn("forever", std::future::pending());
        tasks.spawn("sweeper", async {});
        let err = tasks.first_end().await.to_string();
        assert!(err.contains("\"sweeper\" ended unexpectedly"), "{err}");
        tasks.abort_all();
    }

    #[tokio::test]
    async fn the_test_hook_makes_the_named_task_panic() {
        let mut tasks = Tasks::new(Some("acker".into()));
        tasks.spawn("heartbeat", std::future::pending());
        tasks.spawn("acker", std::future::pending());
        let err = tasks.first_end().await.to_string();
        assert!(err.contains("\"acker\" panicked: --test-fail-task"), "{err}");
        tasks.abort_all();
    }

    #[tokio::test]
    async fn join_all_waits_for_every_task() {
        let mut tasks = Tasks::new(None);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tasks.spawn("a", async {
            let _ = rx.await;
        });
        tasks.spawn("b", async move {
            let _ = tx.send(());
        });
        tasks.join_all().await;
        assert!(tasks.is_empty());
    }
}
