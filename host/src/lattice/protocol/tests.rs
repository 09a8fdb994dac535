//! Unit tests of the protocol's rules, one event at a time.

use super::*;

type P = Protocol<u32>;

const MS: Nanos = 1_000_000;

fn peer(s: &str) -> Peer {
    Arc::from(s)
}

fn key(hop_id: u64, hops: u32) -> HopKey {
    HopKey { hop_id, packet: 7, hops }
}

#[test]
fn accepted_is_acked_at_once_and_a_duplicate_runs_once() {
    let mut r: P = Protocol::new(peer("r"), Policy::default(), 1);
    let mut acts = Vec::new();
    assert_eq!(r.on_hop(0, &peer("s"), key(1, 1), true, false, &mut acts), Verdict::Accept);
    assert_eq!(acts, vec![Action::AckNow { to: peer("s"), hop_id: 1, status: AckStatus::Accepted }]);
    acts.clear();
    assert_eq!(r.on_hop(1, &peer("s"), key(1, 1), true, false, &mut acts), Verdict::Duplicate);
    r.settled(2, 1, true, &mut acts);
    r.fate_seen(2, 7, &mut acts);
    acts.clear();
    assert_eq!(r.on_hop(3, &peer("s"), key(1, 1), true, false, &mut acts), Verdict::Duplicate);
    assert_eq!(acts, vec![Action::Ack { to: peer("s"), hop_id: 1, status: AckStatus::Done }]);
}

#[test]
fn done_waits_for_the_next_hop_to_be_accepted() {
    let mut r: P = Protocol::new(peer("r"), Policy::default(), 1);
    let mut acts = Vec::new();
    r.on_hop(0, &peer("s"), key(1, 1), true, false, &mut acts);
    let up = Upstream { peer: peer("s"), hop_id: 1 };
    r.send(1, key(2, 2), peer("c-next"), 0, Some(up), &mut acts);
    r.settled(2, 1, false, &mut acts);
    acts.clear();
    r.on_acks(3, &peer("r"), &[(2, AckStatus::Accepted)], &mut acts);
    assert_eq!(acts, vec![Action::Ack { to: peer("s"), hop_id: 1, status: AckStatus::Done }]);
}

#[test]
fn a_silent_lattice_gets_a_query_then_a_declared_loss() {
    let policy = Policy::default();
    let mut s: P = Protocol::new(peer("s"), policy, 100);
    let mut acts = Vec::new();
    s.send(0, key(1, 1), peer("c"), 0, None, &mut acts);
    let mut t = 0;
    let mut queried = None;
    while t < 10_000 * MS && queried.is_none() {
        t += 10 * MS;
        acts.clear();
        s.tick(t, &mut acts);
        queried = acts.iter().find_map(|a| match a {
            Action::Query { qid, .. } => Some(*qid),
            _ => None,
        });
    }
    let qid = queried.expect("a query after the retries");
    assert_eq!(t, policy.give_up_after(), "asked once the re-sends are spent");
    acts.clear();
    s.tick(t + policy.query_window, &mut acts);
    assert!(matches!(acts[0], Action::Lost { reason: LostReason::Unreachable, visits: 0, .. }));
    assert_eq!(acts[1], Action::Declare { qid, packet: 7, hops: 1 });
}

#[test]
fn an_answer_from_further_on_cancels_the_loss() {
    let policy = Policy::default();
    let mut s: P = Protocol::new(peer("s"), policy, 100);
    let mut acts = Vec::new();
    s.send(0, key(1, 1), peer("c"), 0, None, &mut acts);
    s.on_acks(1, &peer("r"), &[(1, AckStatus::Accepted)], &mut acts);
    acts.clear();
    s.tick(policy.finish_timeout + 1, &mut acts);
    let Some(Action::Query { qid, .. }) = acts.first().cloned() else { panic!("expected a query, got {acts:?}") };
    acts.clear();
    s.on_answer(policy.finish_timeout + 2, qid, Answer::Has { hops: 2, passed: false }, &mut acts);
    assert_eq!(acts, vec![Action::Unfence { qid, packet: 7 }]);
    assert_eq!(s.stats().awaiting_ack, 0);
}

#[test]
fn a_fenced_packet_is_refused_until_unfenced_and_a_tombstone_is_final() {
    let mut x: P = Protocol::new(peer("x"), Policy::default(), 1);
    let mut acts = Vec::new();
    x.on_query(0, &peer("s"), 9, 7, 3, &mut acts);
    assert!(acts.is_empty(), "nothing to say: silence, and a fence");
    assert_eq!(x.on_hop(1, &peer("r"), key(5, 4), true, false, &mut acts), Verdict::Refused);
    assert_eq!(x.on_hop(1, &peer("r"), key(4, 2), true, false, &mut acts), Verdict::Accept, "earlier hops are not fenced");
    x.on_unfence(9, 7);
    assert_eq!(x.on_hop(2, &peer("r"), key(5, 4), true, false, &mut acts), Verdict::Accept);
    x.on_declare(3, 10, 8, 1);
    assert_eq!(x.on_hop(4, &peer("r"), HopKey { hop_id: 6, packet: 8, hops: 9 }, true, false, &mut acts), Verdict::Refused);
    acts.clear();
    x.on_query(5, &peer("t"), 11, 8, 9, &mut acts);
    assert_eq!(acts, vec![Action::Answer { to: peer("t"), qid: 11, packet: 8, answer: Answer::Tombstone }]);
}

#[test]
fn an_outage_pauses_give_up_and_resends_on_reconnect() {
    let policy = Policy::default();
    let mut s: P = Protocol::new(peer("s"), policy, 100);
    let mut acts = Vec::new();
    s.send(0, key(1, 1), peer("c"), 0, None, &mut acts);
    s.disconnected();
    acts.clear();
    s.tick(60_000 * MS, &mut acts);
    assert!(acts.is_empty(), "nothing is given up while NATS is away: {acts:?}");
    s.reconnected(60_001 * MS, &mut acts);
    assert!(acts.is_empty(), "first the others reconnect: {acts:?}");
    s.tick(61_000 * MS, &mut acts);
    let Some(Action::Query { qid, .. }) = acts.first().cloned() else { panic!("asks first: {acts:?}") };
    acts.clear();
    s.tick(62_000 * MS, &mut acts);
    assert_eq!(acts, vec![Action::Unfence { qid, packet: 7 }, Action::Publish { target: peer("c"), frame: 0 }]);
}

#[test]
fn the_census_claims_a_packet_while_here_or_watched_and_its_fate_once_ended() {
    let none = Claims::default();
    let held = Claims { held: vec![7], ended: vec![] };
    let mut r: P = Protocol::new(peer("r"), Policy::default(), 1);
    let mut acts = Vec::new();
    assert_eq!(r.claims(&[7]), none);
    r.on_hop(0, &peer("s"), key(1, 1), true, false, &mut acts);
    assert_eq!(r.claims(&[7, 8]), held, "running here");
    let up = Upstream { peer: peer("s"), hop_id: 1 };
    r.send(1, key(2, 2), peer("c-next"), 0, Some(up), &mut acts);
    r.settled(2, 1, false, &mut acts);
    r.on_acks(3, &peer("r"), &[(2, AckStatus::Accepted)], &mut acts);
    assert_eq!(r.claims(&[7]), held, "passed on, but its next holder has not passed it on yet");
    r.on_acks(4, &peer("r"), &[(2, AckStatus::Done)], &mut acts);
    assert_eq!(r.claims(&[7]), none, "moved two hops on: no longer ours to answer for");

    r.on_hop(5, &peer("s"), key(3, 5), true, false, &mut acts);
    r.settled(6, 3, true, &mut acts);
    assert_eq!(r.claims(&[7]), held, "ended here, but the witness has not got its fate yet");
    r.fate_seen(7, 7, &mut acts);
    assert_eq!(r.claims(&[7]), Claims { held: vec![], ended: vec![7] });
}

#[test]
fn a_packet_that_ends_here_is_passed_on_only_once_the_witness_has_its_fate() {
    let mut r: P = Protocol::new(peer("r"), Policy::default(), 1);
    let mut acts = Vec::new();
    r.on_hop(0, &peer("s"), key(1, 1), true, false, &mut acts);
    acts.clear();
    r.settled(1, 1, true, &mut acts);
    assert!(acts.is_empty(), "no done before the witness acks: {acts:?}");
    // Asked meanwhile, we still hold it: the sender keeps watching.
    r.on_query(2, &peer("s"), 9, 7, 1, &mut acts);
    assert_eq!(acts, vec![Action::Answer { to: peer("s"), qid: 9, packet: 7, answer: Answer::Has { hops: 1, passed: false } }]);
    acts.clear();
    r.fate_seen(3, 7, &mut acts);
    assert_eq!(acts, vec![Action::Ack { to: peer("s"), hop_id: 1, status: AckStatus::Done }]);

    // Without a witness, done goes at once.
    let direct = Policy { witness: false, ..Policy::default() };
    let mut r: P = Protocol::new(peer("r"), direct, 1);
    r.on_hop(0, &peer("s"), key(1, 1), true, false, &mut acts);
    acts.clear();
    r.settled(1, 1, true, &mut acts);
    assert_eq!(acts, vec![Action::Ack { to: peer("s"), hop_id: 1, status: AckStatus::Done }]);
}

/// Replicas: the first `held` is committed, any other aborted, and the
/// committed replica runs the hop only then, acking `accepted` first.
#[test]
fn a_replica_runs_a_hop_only_on_its_senders_word() {
    let mut s: P = Protocol::new(peer("s"), Policy::default(), 100);
    let (mut r1, mut r2): (P, P) = (Protocol::new(peer("r1"), Policy::default(), 1), Protocol::new(peer("r2"), Policy::default(), 2));
    let mut acts = Vec::new();
    s.send(0, key(1, 1), peer("c"), 0, None, &mut acts);
    acts.clear();
    // The hop reached r1, and a re-send r2: both hold it.
    assert_eq!(r1.on_hop(1, &peer("s"), key(1, 1), true, true, &mut acts), Verdict::Held);
    assert_eq!(acts, vec![Action::AckNow { to: peer("s"), hop_id: 1, status: AckStatus::Held }]);
    acts.clear();
    assert_eq!(r2.on_hop(2, &peer("s"), key(1, 1), true, true, &mut acts), Verdict::Held);
    acts.clear();
    // r2's `held` arrived first: r2 is committed, for good; r1 aborted.
    s.on_acks(3, &peer("r2"), &[(1, AckStatus::Held)], &mut acts);
    assert_eq!(acts, vec![Action::AckNow { to: peer("r2"), hop_id: 1, status: AckStatus::Commit }]);
    acts.clear();
    s.on_acks(4, &peer("r1"), &[(1, AckStatus::Held)], &mut acts);
    assert_eq!(acts, vec![Action::AckNow { to: peer("r1"), hop_id: 1, status: AckStatus::Abort }]);
    acts.clear();
    // r2 asks again (its word lost?): committed again, never r1.
    s.on_acks(5, &peer("r2"), &[(1, AckStatus::Held)], &mut acts);
    assert_eq!(acts, vec![Action::AckNow { to: peer("r2"), hop_id: 1, status: AckStatus::Commit }]);
    acts.clear();
    r1.on_acks(6, &peer("s"), &[(1, AckStatus::Abort)], &mut acts);
    assert_eq!(acts, vec![Action::Discard { hop_id: 1 }]);
    acts.clear();
    r2.on_acks(6, &peer("s"), &[(1, AckStatus::Commit)], &mut acts);
    assert_eq!(acts, vec![Action::AckNow { to: peer("s"), hop_id: 1, status: AckStatus::Accepted }, Action::Run { hop_id: 1 }]);
    acts.clear();
    // A second commit runs nothing again: it only repeats `accepted`.
    r2.on_acks(7, &peer("s"), &[(1, AckStatus::Commit)], &mut acts);
    assert_eq!(acts, vec![Action::AckNow { to: peer("s"), hop_id: 1, status: AckStatus::Accepted }]);
}

/// A held hop answers queries "pending" (its sender may still commit it),
/// asks again while unanswered, and is dropped after `fence_ttl`.
#[test]
fn a_held_hop_is_pending_to_queries_asks_again_and_expires() {
    let policy = Policy::default();
    let mut r: P = Protocol::new(peer("r"), policy, 1);
    let mut acts = Vec::new();
    r.on_hop(0, &peer("s"), key(1, 3), true, true, &mut acts);
    acts.clear();
    r.on_query(1, &peer("u"), 9, 7, 2, &mut acts);
    assert_eq!(acts, vec![Action::Answer { to: peer("u"), qid: 9, packet: 7, answer: Answer::Pending }]);
    acts.clear();
    r.tick(policy.timeout, &mut acts);
    assert_eq!(acts, vec![Action::AckNow { to: peer("s"), hop_id: 1, status: AckStatus::Held }]);
    acts.clear();
    r.tick(policy.fence_ttl, &mut acts);
    assert_eq!(acts, vec![Action::Discard { hop_id: 1 }]);
    acts.clear();
    // Its sender's word comes too late: nothing runs.
    r.on_acks(policy.fence_ttl + 1, &peer("s"), &[(1, AckStatus::Commit)], &mut acts);
    assert!(acts.is_empty(), "{acts:?}");
}

/// A `held` for a hop the sender no longer has (another replica ran it,
/// and its packet moved on) is aborted.
#[test]
fn a_held_for_a_settled_hop_is_aborted() {
    let mut s: P = Protocol::new(peer("s"), Policy::default(), 100);
    let mut acts = Vec::new();
    s.on_acks(1, &peer("r1"), &[(42, AckStatus::Held)], &mut acts);
    assert_eq!(acts, vec![Action::AckNow { to: peer("r1"), hop_id: 42, status: AckStatus::Abort }]);
}
