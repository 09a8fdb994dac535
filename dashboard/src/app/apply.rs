//! Folding updates into the state: heartbeats and snapshots into hosts,
//! series and history; events into packets and the log; control-plane
//! changes and HTTP answers into links, chaos and the placement. Anything
//! that can change what runs (a new host, other components, other links,
//! another placement) marks the topology for a rebuild on the next tick.

use super::*;
use hdrhistogram::Histogram;
use lwc_wire::events::PacketEvent;
use lwc_wire::status::Heartbeat;

impl App {
    pub(super) fn host_mut(&mut self, name: &str) -> &mut HostView {
        self.hosts.entry(name.to_string()).or_default()
    }

    /// Fold one update into the state.
    pub fn apply(&mut self, update: Update) {
        match update {
            Update::Conn(c) => {
                if c == Conn::Connected {
                    self.server_error = None;
                }
                self.conn = c;
            }
            Update::ServerError(e) => self.server_error = Some(e),
            Update::SlowConsumer => self.slow_consumer += 1,
            Update::Telemetry(t) => self.apply_telemetry(*t),
            Update::Heartbeat(hb) => self.apply_heartbeat(*hb),
            Update::Event(ev, at_ns) => self.apply_event(*ev, at_ns),
            Update::Ctl(change, at_ns) => {
                self.history.add_change(&change, at_ns);
                self.apply_link_change(&change);
            }
            Update::Lab(status, at_ns) => self.lab = Some((*status, at_ns)),
            Update::Ledger(book, at_ns) => self.book = Some((*book, at_ns)),
            Update::Note(text) => self.note(text, false),
            Update::Http(h) => self.apply_http(h),
        }
    }

    fn apply_heartbeat(&mut self, hb: Heartbeat) {
        let now = self.now_ns;
        let known = self.hosts.contains_key(&hb.host);
        let h = self.host_mut(&hb.host);
        let same = h.heartbeat.as_ref().is_some_and(|old| old.components == hb.components);
        h.seen_ns = now;
        h.set_counters(hb.at_ns, hb.counters.clone());
        h.heartbeat = Some(hb);
        if !known || !same {
            self.topology_dirty = true;
        }
    }

    /// A link put or deleted by the control plane shows at once; the next
    /// `GET /links` confirms it.
    fn apply_link_change(&mut self, change: &lwc_wire::ctl::Change) {
        use lwc_wire::ctl::Change;
        if !self.links_live {
            return; // the first GET /links brings the whole table
        }
        match change {
            Change::LinkPut { link, .. } => {
                self.links.retain(|l| !(l.source == link.source && l.name == link.name));
                self.links.push(Link {
                    source: link.source.clone(),
                    name: link.name.clone(),
                    target: link.target.clone(),
                });
            }
            Change::LinkDelete { source, name, .. } => self.links.retain(|l| !(l.source == *source && l.name == *name)),
            Change::ChaosSet { .. } => return,
        }
        self.topology_dirty = true;
    }

    fn apply_telemetry(&mut self, t: Telemetry) {
        let now = self.now_ns;
        if !self.hosts.contains_key(&t.host) {
            self.topology_dirty = true;
        }
        let h = self.host_mut(&t.host);
        h.worst_in = t
            .series
            .iter()
            .filter(|(k, _)| k.is_edge())
            .map(|(k, hist)| (k.label(), hist.value_at_quantile(0.99)))
            .max_by_key(|(_, p99)| *p99);
        h.seen_ns = now;
        if let Some(last) = h.last_seq {
            if t.seq > last + 1 {
                h.missed_snapshots += t.seq - last - 1;
            }
        }
        h.last_seq = Some(t.seq);
        let secs = (t.end_ns.saturating_sub(t.start_ns) as f64 / 1e9).max(0.001);
        let invocations: u64 = t
            .series
            .iter()
            .filter(|(k, _)| matches!(k, SeriesKey::Invoke(_)))
            .map(|(_, h)| h.len())
            .sum();
        h.inv_rate = invocations as f64 / secs;
        h.set_counters(t.end_ns, t.counters.clone());
        let mut series = t.series;
        if let Some(all) = all_edges(&series) {
            series.push((SeriesKey::AllEdges, all));
        }
        self.history
            .add_snapshot(&t.host, t.seq, t.start_ns, t.end_ns, &series, &t.counters);
        for (key, hist) in series {
            self.stats.add(key, t.start_ns, t.end_ns, hist);
        }
        for log in t.logs {
            self.log.push(Line::Guest {
                host: t.host.clone(),
                log: Box::new(log),
            });
        }
        self.log.guest_not_sent += t.logs_dropped;
    }

    /// Mark hosts that went away or came back (from heartbeats).
    pub(super) fn observe_hosts(&mut self) {
        // The first seconds only say who is there.
        let settled = self.now_ns.saturating_sub(self.started_ns) > hosts::STALE_NS;
        for (name, h) in &self.hosts {
            let status = h.status(self.now_ns);
            self.history.observe(name, status, h.restarts, h.seen_ns, self.now_ns, settled);
        }
    }

    fn apply_event(&mut self, ev: PacketEvent, at_ns: u64) {
        match ev {
            PacketEvent::Injected(e) => self.packets.injected(&e),
            PacketEvent::Hop(e) => {
                self.packets.hop(&e);
                self.log.push(Line::Hop(Box::new(e)));
            }
            PacketEvent::Expired(e) => self.packets.expired(&e),
            PacketEvent::Lost(e) => {
                self.packets.lost(&e, at_ns);
                self.log.push(Line::Lost {
                    at_ns,
                    lost: Box::new(e),
                });
            }
        }
    }

    fn apply_http(&mut self, h: HttpUpdate) {
        match h {
            HttpUpdate::Chaos(r) => self.apply_chaos_answer(r),
            HttpUpdate::ChaosSet { host, result } => {
                match &result {
                    Ok(_) => self.note(format!("chaos set on {host}"), false),
                    Err(e) => self.note(format!("PUT /chaos for {host}: {e}"), true),
                }
                self.apply_chaos_answer(result);
            }
            HttpUpdate::Links(Ok(links)) => {
                self.http_ok = Some(true);
                if links != self.links || !self.links_live {
                    self.topology_dirty = true;
                }
                self.links = links;
                self.links_live = true;
            }
            HttpUpdate::Links(Err(e)) => {
                if matches!(e, HttpError::Unreachable(_)) {
                    self.http_ok = Some(false);
                }
            }
            HttpUpdate::Placement(r) => self.apply_placement_answer(r),
            HttpUpdate::Injected(Ok(n)) => {
                self.http_ok = Some(true);
                self.note(format!("injected {n} packet{}", if n == 1 { "" } else { "s" }), false);
            }
            HttpUpdate::Injected(Err(e)) => {
                if matches!(e, HttpError::Unreachable(_)) {
                    self.http_ok = Some(false);
                }
                self.note(format!("POST /packets: {e}"), true);
            }
        }
    }

    /// A new placement replaces the old; a failed `GET /status` keeps it
    /// (the manifest did not change because the API is away) and is said
    /// once on the status line when the answer made no sense.
    fn apply_placement_answer(&mut self, r: Result<Placement, HttpError>) {
        match r {
            Ok(placement) => {
                self.http_ok = Some(true);
                self.placement_error = None;
                if placement != self.placement {
                    self.placement = placement;
                    self.topology_dirty = true;
                }
            }
            Err(e) => {
                if matches!(e, HttpError::Unreachable(_)) {
                    self.http_ok = Some(false);
                }
                let new = self.placement_error.as_ref() != Some(&e);
                if new && matches!(e, HttpError::BadAnswer(_) | HttpError::Status(..)) {
                    self.note(format!("GET /status: {e}"), true);
                }
                self.placement_error = Some(e);
            }
        }
    }

    fn apply_chaos_answer(&mut self, r: Result<BTreeMap<String, Chaos>, HttpError>) {
        match r {
            Ok(chaos) => {
                self.http_ok = Some(true);
                self.plane = Plane::Available;
                self.history.seed_chaos(&chaos);
                self.chaos = chaos;
            }
            Err(HttpError::NotFound) => {
                self.http_ok = Some(true);
                self.plane = Plane::Missing("control plane not available".into());
            }
            Err(HttpError::Unreachable(_)) => {
                self.http_ok = Some(false);
                self.plane = Plane::Missing("HTTP API unreachable".into());
            }
            // A refused change leaves the plane as it was.
            Err(_) => {}
        }
    }
}

/// One snapshot's edges merged into one histogram (`None` without edges).
fn all_edges(series: &[(SeriesKey, Histogram<u64>)]) -> Option<Histogram<u64>> {
    let mut edges = series.iter().filter(|(k, _)| k.is_edge()).map(|(_, h)| h);
    let mut all = edges.next()?.clone();
    for h in edges {
        // Same bounds on every host (lwc_wire::telemetry); a misfit is skipped.
        let _ = all.add(h);
    }
    Some(all)
}

