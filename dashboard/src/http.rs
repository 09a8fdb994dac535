//! The HTTP worker: one thread that talks to the control component's API,
//! so a slow or absent API never stalls a frame. It runs the [`Command`]s
//! keys ask for and polls `GET /chaos` and `GET /links`, and, less often,
//! the manifest's placement from `GET /status`; every answer goes back to
//! the UI as an [`Update`].

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, SyncSender};
use std::time::{Duration, Instant};

use crate::app::{Chaos, Command, HttpError, HttpUpdate, Link, Placement, Update};

/// How often chaos and links are re-read.
const POLL: Duration = Duration::from_secs(2);

/// How often the placement is re-read once it has been: it only changes
/// when the ring is started again, and `/status` is large on a big ring.
/// Until an answer arrives it is asked for every [`POLL`].
const PLACEMENT_POLL: Duration = Duration::from_secs(10);

pub struct Worker {
    tx: Sender<Command>,
}

impl Worker {
    /// Start the worker thread; it ends when the `Worker` is dropped.
    pub fn spawn(base: String, updates: SyncSender<Update>) -> std::io::Result<Worker> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("lwc-dash-http".into())
            .spawn(move || run(Api::new(base), rx, updates))?;
        Ok(Worker { tx })
    }

    pub fn send(&self, cmd: Command) {
        // The worker only stops when we do.
        let _ = self.tx.send(cmd);
    }
}

fn run(api: Api, commands: Receiver<Command>, updates: SyncSender<Update>) {
    let send = |u: HttpUpdate| updates.send(Update::Http(u)).is_ok();
    let mut next_poll = Instant::now();
    let mut next_placement = Instant::now();
    loop {
        let wait = next_poll.min(next_placement).saturating_duration_since(Instant::now());
        let update = match commands.recv_timeout(wait) {
            Ok(Command::Inject(s)) => HttpUpdate::Injected(api.inject(&s)),
            Ok(Command::SetChaos(patch)) => HttpUpdate::ChaosSet {
                host: patch.host.clone(),
                result: api.set_chaos(&patch),
            },
            Err(RecvTimeoutError::Timeout) => {
                if Instant::now() >= next_placement {
                    let placement = api.get_placement();
                    let again = if placement.is_ok() { PLACEMENT_POLL } else { POLL };
                    next_placement = Instant::now() + again;
                    if !send(HttpUpdate::Placement(placement)) {
                        return;
                    }
                }
                if Instant::now() < next_poll {
                    continue;
                }
                next_poll = Instant::now() + POLL;
                if !send(HttpUpdate::Chaos(api.get_chaos())) {
                    return;
                }
                HttpUpdate::Links(api.get_links())
            }
            // Not HTTP: the UI loop runs experiments itself.
            Ok(Command::RunExperiment { .. }) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        if !send(update) {
            return;
        }
    }
}

struct Api {
    base: String,
    agent: ureq::Agent,
}

impl Api {
    fn new(base: String) -> Api {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(1))
            .timeout(Duration::from_secs(5))
            .build();
        Api { base, agent }
    }

    fn call(&self, method: &str, path: &str, body: Option<String>) -> Result<Value, HttpError> {
        let text = self.call_text(method, path, body)?;
        serde_json::from_str(&text).map_err(|e| HttpError::BadAnswer(e.to_string()))
    }

    /// The answer's body, unparsed.
    fn call_text(&self, method: &str, path: &str, body: Option<String>) -> Result<String, HttpError> {
        let req = self
            .agent
            .request(method, &format!("{}{path}", self.base))
            .set("content-type", "application/json");
        let res = match body {
            Some(b) => req.send_string(&b),
            None => req.call(),
        };
        match res {
            Ok(resp) => resp.into_string().map_err(|e| HttpError::BadAnswer(e.to_string())),
            Err(ureq::Error::Status(404, _)) => Err(HttpError::NotFound),
            Err(ureq::Error::Status(code, resp)) => {
                let text = resp.into_string().unwrap_or_default();
                let msg = serde_json::from_str::<Value>(&text)
                    .ok()
                    .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string))
                    .unwrap_or(text);
                Err(HttpError::Status(code, msg.chars().take(200).collect()))
            }
            Err(ureq::Error::Transport(t)) => Err(HttpError::Unreachable(t.kind().to_string())),
        }
    }

    fn inject(&self, s: &crate::app::InjectSettings) -> Result<usize, HttpError> {
        let body = serde_json::to_string(s).map_err(|e| HttpError::BadAnswer(e.to_string()))?;
        let v = self.call("POST", "/packets", Some(body))?;
        v.get("packets")
            .and_then(Value::as_array)
            .map(Vec::len)
            .ok_or_else(|| HttpError::BadAnswer("no \"packets\" in the answer".into()))
    }

    fn get_chaos(&self) -> Result<BTreeMap<String, Chaos>, HttpError> {
        parse_chaos(&self.call("GET", "/chaos", None)?)
    }

    fn set_chaos(&self, patch: &crate::app::ChaosPatch) -> Result<BTreeMap<String, Chaos>, HttpError> {
        let body = serde_json::to_string(patch).map_err(|e| HttpError::BadAnswer(e.to_string()))?;
        parse_chaos(&self.call("PUT", "/chaos", Some(body))?)
    }

    fn get_links(&self) -> Result<Vec<Link>, HttpError> {
        parse_links(&self.call("GET", "/links", None)?)
    }

    fn get_placement(&self) -> Result<Placement, HttpError> {
        parse_placement(&self.call_text("GET", "/status", None)?)
    }
}

/// `{"chaos":[{"host":"a","trap":0,…},…]}`; a host → settings map is
/// read too.
pub fn parse_chaos(v: &Value) -> Result<BTreeMap<String, Chaos>, HttpError> {
    let list = v.get("chaos").unwrap_or(v);
    let mut out = BTreeMap::new();
    match list {
        Value::Array(items) => {
            for item in items {
                let host = item
                    .get("host")
                    .and_then(Value::as_str)
                    .ok_or_else(|| HttpError::BadAnswer("chaos entry without host".into()))?;
                let settings = item.get("chaos").unwrap_or(item);
                let chaos: Chaos = serde_json::from_value(settings.clone())
                    .map_err(|e| HttpError::BadAnswer(e.to_string()))?;
                out.insert(host.to_string(), chaos);
            }
        }
        Value::Object(map) => {
            for (host, settings) in map {
                let chaos: Chaos = serde_json::from_value(settings.clone())
                    .map_err(|e| HttpError::BadAnswer(e.to_string()))?;
                out.insert(host.clone(), chaos);
            }
        }
        _ => return Err(HttpError::BadAnswer("chaos is neither a list nor a map".into())),
    }
    Ok(out)
}

/// `{"links":[{"source":…,"name":…,"target":…},…]}`.
pub fn parse_links(v: &Value) -> Result<Vec<Link>, HttpError> {
    let list = v.get("links").unwrap_or(v);
    serde_json::from_value(list.clone()).map_err(|e| HttpError::BadAnswer(e.to_string()))
}

/// The part of a `GET /status` answer the placement is read from; the rest
/// (hosts, ledger, links) is skipped, not built.
#[derive(Deserialize)]
struct StatusAnswer {
    components: Vec<PlacedWire>,
}

/// `{"name":"north","host":"north-1","hosts":["north-1","north-2"]}`:
/// `hosts` lists every replica, `host` is the first (an answer with only
/// `host` is read as one replica).
#[derive(Deserialize)]
struct PlacedWire {
    name: String,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    hosts: Option<Vec<String>>,
}

/// `GET /status`'s `components` as component → hosts. An answer without
/// them, or of another shape, is a [`HttpError::BadAnswer`].
pub fn parse_placement(text: &str) -> Result<Placement, HttpError> {
    let answer: StatusAnswer =
        serde_json::from_str(text).map_err(|e| HttpError::BadAnswer(format!("/status: {e}")))?;
    let mut out = Placement::new();
    for c in answer.components {
        let hosts = c.hosts.unwrap_or_else(|| c.host.into_iter().collect());
        let replicas: &mut Vec<String> = out.entry(c.name).or_default();
        for h in hosts {
            if !h.is_empty() && !replicas.contains(&h) {
                replicas.push(h);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
