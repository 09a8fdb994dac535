//! The lattice's loops. Each moves messages (or timer ticks) into the
//! protocol through [`Lattice`] and nothing else.

use anyhow::{Context, Result};
use async_nats::{Client, Subscriber};
use futures::{FutureExt, StreamExt};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tracing::Instrument;

use super::acker::{run_acker, AckRx};
use super::{Fates, Inbound, Lattice};
use crate::chaos::Chaos;

/// Most invocations taken from NATS in one go (one ack frame per sender).
const RECEIVE_BATCH: usize = 64;

/// Subscribe and start the lattice's own loops: the acker, the listeners
/// for acks, questions, answers and the census, and the timer, each in the
/// caller's span (a packed host's `host{name=…}`). They run
/// until the host stops; each ending early is an error for `run` to report.
pub async fn spawn_tasks(lattice: &Arc<Lattice>, acks_rx: AckRx, tasks: &mut JoinSet<()>) -> Result<()> {
    let client = lattice.client.clone();
    let acks = subscribe(&client, lattice.ack_subject.to_string(), "the ack subject").await?;
    let whohas = subscribe(&client, lattice.whohas_subject.to_string(), "whohas questions").await?;
    let answers = lwc_wire::subjects::answers(&lattice.name, &lattice.me);
    let answers = subscribe(&client, answers, "whohas answers").await?;
    let census = subscribe(&client, lwc_wire::census::subject(&lattice.name), "census questions").await?;
    tasks.spawn(run_acker(client, lattice.name.clone(), lattice.me.clone(), acks_rx, lattice.policy.ack_window).in_current_span());
    tasks.spawn(listen(acks, lattice.clone(), |l, m| async move { l.on_acks(&m.payload).await }).in_current_span());
    tasks.spawn(listen(whohas, lattice.clone(), |l, m| async move { l.on_ask(&m.payload).await }).in_current_span());
    tasks.spawn(listen(answers, lattice.clone(), |l, m| async move { l.on_answer(&m.payload).await }).in_current_span());
    tasks.spawn(listen(census, lattice.clone(), |l, m| async move { l.on_census(m).await }).in_current_span());
    tasks.spawn(run_timer(lattice.clone()).in_current_span());
    spawn_fate_tasks(lattice, tasks).await
}

/// Fates through the witness: the ledger hands them to the lattice, which
/// reports them and hears the acks; the control host also witnesses.
async fn spawn_fate_tasks(lattice: &Arc<Lattice>, tasks: &mut JoinSet<()>) -> Result<()> {
    let mode = lattice.policy.fates;
    if mode == Fates::Direct {
        return Ok(());
    }
    let client = lattice.client.clone();
    if mode == Fates::Witness {
        let reports = subscribe(&client, lattice.fates_subject.to_string(), "fate reports").await?;
        tasks.spawn(listen(reports, lattice.clone(), |l, m| async move { l.on_fate_report(m).await }).in_current_span());
    }
    let acks = subscribe(&client, lattice.fate_acks_subject.to_string(), "fate acks").await?;
    tasks.spawn(listen(acks, lattice.clone(), |l, m| async move { l.on_fate_acks(&m.payload).await }).in_current_span());
    let (tx, rx) = mpsc::unbounded_channel();
    lattice.ledger.report_fates_to(tx);
    tasks.spawn(super::fates::run_fate_reporter(lattice.clone(), rx).in_current_span());
    Ok(())
}

async fn subscribe(client: &Client, subject: String, what: &str) -> Result<Subscriber> {
    client
        .subscribe(subject.clone())
        .await
        .with_context(|| format!("cannot subscribe to {what} ({subject})"))
}

async fn listen<F, Fut>(mut sub: Subscriber, lattice: Arc<Lattice>, on: F)
where
    F: Fn(Arc<Lattice>, async_nats::Message) -> Fut,
    Fut: Future<Output = ()>,
{
    while let Some(msg) = sub.next().await {
        on(lattice.clone(), msg).await;
    }
}

/// Feed one component's invocations from NATS into its queue, a batch of
/// whatever is ready at a time, until `stop` resolves (the host draining).
/// `replicated`: other hosts run the component too, so a hop waits for its
/// sender's word before it runs.
/// `stop` is looked at only between batches: a batch taken (its hops acked
/// `accepted`) is always queued whole, so a drain never drops a hop it took.
/// Returning drops the subscription: NATS then sends the component's hops
/// elsewhere, or their senders find no taker and settle them.
pub async fn run_receiver(
    lattice: Arc<Lattice>,
    mut sub: Subscriber,
    queue: mpsc::Sender<Inbound>,
    replicated: bool,
    chaos: Arc<Chaos>,
    stop: impl Future<Output = ()>,
) {
    tokio::pin!(stop);
    let mut batch = Vec::with_capacity(RECEIVE_BATCH);
    // One subscription, one component: named once, from the first subject.
    let mut component: Option<String> = None;
    loop {
        let msg = tokio::select! {
            biased;
            () = &mut stop => return,
            msg = sub.next() => match msg {
                Some(msg) => msg,
                None => return,
            },
        };
        batch.push(msg);
        while batch.len() < RECEIVE_BATCH {
            match sub.next().now_or_never() {
                Some(Some(msg)) => batch.push(msg),
                _ => break,
            }
        }
        if chaos.is_down() {
            // A simulated outage: no ack, exactly as if the host were gone.
            batch.clear();
            continue;
        }
        let component = component.get_or_insert_with(|| super::receive::component_of(&lattice.name, &batch[0].subject).to_owned());
        lattice.receive(component, replicated, &mut batch, &queue).await;
    }
}

/// The protocol's clock: re-sends, questions and declared losses fall due
/// here, and connection changes are noticed.
async fn run_timer(lattice: Arc<Lattice>) {
    let period = (lattice.policy.timeout / 25).clamp(Duration::from_millis(5), Duration::from_millis(20));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        lattice.tick().await;
    }
}

