//! Stopping without losing what the host holds (SIGTERM): stop taking hops,
//! run and settle the ones already taken, wait until every hop this host
//! sent is answered or given up on, flush acks and events, then exit.
//!
//! - [`Stop`]: tells the serving tasks (`lattice::run_receiver`) to stop taking work
//! - [`settle`]: waits until the lattice has no hop awaiting an answer

use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::lattice::Lattice;

/// Set once, when the host starts draining.
#[derive(Clone)]
pub struct Stop(watch::Receiver<bool>);

impl Stop {
    /// The switch and its first listener.
    pub fn pair() -> (watch::Sender<bool>, Stop) {
        let (tx, rx) = watch::channel(false);
        (tx, Stop(rx))
    }

    /// Resolves once the switch is set (or dropped).
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// How often [`settle`] looks at the lattice's pending hops.
const SETTLE_POLL: Duration = Duration::from_millis(10);

/// Wait until no hop this host sent awaits an answer (each is done at the
/// next host, or given up on and its packet reported lost), or until
/// `deadline`, or until NATS is away (`connected` false): then nothing can
/// be handed over, and the lattice's clocks stand still, so waiting would
/// only delay the exit (a whole ring stopping takes its NATS server down
/// too). Returns how many were still pending then.
pub async fn settle(lattice: &Lattice, deadline: Instant, connected: impl Fn() -> bool) -> u64 {
    loop {
        let pending = lattice.awaiting_ack();
        if pending == 0 || Instant::now() >= deadline || !connected() {
            return pending;
        }
        tokio::time::sleep(SETTLE_POLL).await;
    }
}

/// The longest a drain may take: a hop sent just before the signal is
/// re-sent with doubling waits (`timeout`, `retries` times) or, once
/// accepted, passed on within `finish`; one second more for the lattice
/// to settle what is left.
pub fn bound(timeout: Duration, retries: u32, finish: Duration) -> Duration {
    let resending = timeout * (2u32.saturating_pow(retries.min(16) + 1) - 1);
    resending.max(finish) + Duration::from_secs(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stop_wakes_every_listener() {
        let (tx, stop) = Stop::pair();
        let (mut a, mut b) = (stop.clone(), stop);
        let waiting = tokio::spawn(async move {
            a.wait().await;
            b.wait().await;
        });
        tx.send_replace(true);
        tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .expect("listeners woke")
            .expect("listener task");
    }

    #[tokio::test]
    async fn a_dropped_switch_also_stops() {
        let (tx, mut stop) = Stop::pair();
        drop(tx);
        tokio::time::timeout(Duration::from_secs(10), stop.wait()).await.expect("woke");
    }

    #[test]
    fn the_bound_covers_the_longer_wait() {
        let ms = Duration::from_millis;
        // 500 + 1000 + 2000 ms of re-sends, less than the 6 s finish timeout.
        assert_eq!(bound(ms(500), 2, ms(6000)), ms(7000));
        assert_eq!(bound(ms(2000), 2, ms(6000)), ms(15000));
    }
}
