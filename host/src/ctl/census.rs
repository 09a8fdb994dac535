//! The control host's census of packets long in flight (`lwc_wire::census`):
//! every few seconds it asks the lattice which of them some host still
//! holds, and the book counts those nobody claims as orphaned.

use futures::StreamExt;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use super::ControlPlane;
use lwc_wire::census::{self, Claims, MAX_PACKETS};

/// How often the lattice is asked.
const CENSUS_EVERY: Duration = Duration::from_secs(5);

/// How long a round collects claims: hosts answer from memory, in
/// milliseconds, unless their NATS link is away (then the round misses them).
const CENSUS_WINDOW: Duration = Duration::from_secs(1);

/// Packets younger than this are not asked about: nearly all of them are
/// moving, and their fates come soon.
const MIN_AGE_S: u32 = 5;

impl ControlPlane {
    /// Control host: ask about long-lived packets, round after round.
    pub async fn run_census(self: Arc<Self>) {
        let mut tick = tokio::time::interval(CENSUS_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let asked = self.watch().book.census_candidates(MIN_AGE_S, MAX_PACKETS);
            if asked.is_empty() {
                continue;
            }
            match self.census_round(&asked).await {
                Some(claims) => self.watch().book.census_heard(&asked, &claims),
                None => tracing::debug!("census round skipped: NATS was away"),
            }
        }
    }

    /// One round: every claim heard within the window, or `None` if the
    /// connection was not up all along (silence would then mean nothing).
    async fn census_round(&self, asked: &[u64]) -> Option<Claims> {
        let connects = || self.client.statistics().connects.load(Relaxed);
        let up = || self.client.connection_state() == async_nats::connection::State::Connected;
        let before = connects();
        if !up() {
            return None;
        }
        let inbox = self.client.new_inbox();
        let mut replies = self.client.subscribe(inbox.clone()).await.ok()?;
        let subject = census::subject(&self.lattice);
        let ask = bytes::Bytes::from(census::encode_ask(asked));
        self.client.publish_with_reply(subject, inbox, ask).await.ok()?;
        let mut claims = Claims::default();
        let window = tokio::time::sleep(CENSUS_WINDOW);
        tokio::pin!(window);
        loop {
            tokio::select! {
                () = &mut window => break,
                msg = replies.next() => match msg.map(|m| census::decode_answer(&m.payload)) {
                    Some(Ok(heard)) => {
                        claims.held.extend(heard.held);
                        claims.ended.extend(heard.ended);
                    }
                    Some(Err(_)) => self.ledger.counters.reject("census-answer"),
                    None => return None,
                },
            }
        }
        (up() && connects() == before).then_some(claims)
    }
}
