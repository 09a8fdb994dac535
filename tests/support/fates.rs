//! Counting fates per packet on the event stream, for the tests that hold
//! the ledger's promise: exactly one fate each.

use std::collections::HashMap;
use std::time::Duration;

use lwc_wire::events::PacketEvent;

use crate::{packet_ids, Ring, Tap};

/// Fate events per packet among `events` ("expired by H", "lost by H
/// (reason: detail)"), for the tests that count one fate per packet.
pub fn fates(events: &[PacketEvent]) -> HashMap<u64, Vec<String>> {
    let mut out: HashMap<u64, Vec<String>> = HashMap::new();
    for e in events {
        match e {
            PacketEvent::Expired(x) => out.entry(x.packet).or_default().push(format!("expired by {}", x.host)),
            PacketEvent::Lost(l) => out
                .entry(l.packet)
                .or_default()
                .push(format!("lost by {} ({}: {})", l.host, l.reason.as_str(), l.detail)),
            _ => {}
        }
    }
    out
}

/// Wait until every packet of `ids` has a fate, then until a marker packet
/// sent after them has one too, and return the fates. Late fates come at
/// most a finish timeout (2 s in the tests' rings) plus a query window after
/// the last first fate: the marker (ttl 10,000, about 3 s) outlives that,
/// so a second fate would be on the stream by then.
pub async fn settled_fates(ring: &Ring, tap: &Tap, ids: &[u64], within: Duration) -> HashMap<u64, Vec<String>> {
    tap.wait_until(within, "every packet to get a fate", |evs| {
        let f = fates(evs);
        ids.iter().all(|id| f.contains_key(id))
    })
    .await;
    let (status, answer) = ring.post("/packets", r#"{"ttl":10000}"#);
    assert_eq!(status, 200, "{answer}");
    let marker = packet_ids(&answer)[0];
    tap.wait_until(Duration::from_secs(60), "the marker packet's fate", |evs| fates(evs).contains_key(&marker))
        .await;
    fates(&tap.events())
}

/// Fail naming every packet of `ids` without exactly one fate in `f`.
pub fn assert_one_fate_each(f: &HashMap<u64, Vec<String>>, ids: &[u64]) {
    let bad: Vec<String> = ids
        .iter()
        .filter(|id| f.get(id).map(Vec::len) != Some(1))
        .map(|id| format!("{id}: {:?}", f.get(id)))
        .collect();
    assert!(bad.is_empty(), "{} of {} packets without exactly one fate: {bad:#?}", bad.len(), ids.len());
}
