//! The component side: bindings of the `control` world, the
//! [`ControlPlane`] they implement, and the `wasi:http` handler (exported
//! through `wstd`).
//!
//! The handler only moves bytes and calls the host; what a request means and
//! whether it is valid is decided in [`crate::endpoint`], [`crate::request`],
//! [`crate::plane`] and [`crate::api`].

use wstd::http::{Body, BodyExt, Error, HeaderValue, Request, Response, StatusCode};

use crate::api::{self, BodyError, ControlPlane, Reply};
use crate::endpoint;
use crate::load::{LoadSpec, LoadState, LoadStatus};
use crate::plane::{ChaosPatch, CtlError, HostChaos, Link};
use crate::request::MAX_BODY_BYTES;

mod bindings {
    // Only our own imports are generated here; the wasi:http export and the
    // WASI imports come from wstd's own bindings (the `wasip2` crate), so
    // there is a single copy of each WASI interface.
    wit_bindgen::generate!({
        path: "../components/wit",
        world: "control",
        generate_all,
    });
}

use bindings::wasmcloud::lwc::{control_plane as cp, packet_looper};

#[wstd::http_server]
async fn main(request: Request<Body>) -> Result<Response<Body>, Error> {
    Ok(handle(request).await)
}

/// Every outcome, including client errors, is a JSON answer.
async fn handle(request: Request<Body>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let reply = match endpoint::resolve(parts.method.as_str(), parts.uri.path()) {
        Err(refusal) => api::refused(&refusal),
        Ok(endpoint) => {
            // A GET's body is never read: it is ignored, whatever its size.
            let body = if endpoint.reads_body() {
                read_body(body).await
            } else {
                Ok(Vec::new())
            };
            api::serve(&mut Host, endpoint, parts.uri.query(), body)
        }
    };
    response(reply)
}

/// The host, through the `control` world's imports.
struct Host;

impl ControlPlane for Host {
    fn reserve_packet_ids(&mut self, count: u32) -> u64 {
        cp::reserve_packet_ids(count)
    }

    fn mark_traced(&mut self, packet: u64) {
        cp::mark_traced(packet)
    }

    fn process(&mut self, packet: u64, ttl: u64, chaos: u16, route: &str) {
        packet_looper::process(packet, ttl, chaos, Some(route))
    }

    fn get_chaos(&mut self) -> Vec<HostChaos> {
        from_wit_chaos(cp::get_chaos())
    }

    fn set_chaos(&mut self, host: &str, patch: &ChaosPatch) -> Result<Vec<HostChaos>, CtlError> {
        let patch = cp::ChaosPatch {
            trap: patch.trap,
            delay_ms: patch.delay_ms,
            jitter_ms: patch.jitter_ms,
            drop: patch.drop,
            down_s: patch.down_s,
        };
        cp::set_chaos(host, patch)
            .map(from_wit_chaos)
            .map_err(from_wit_error)
    }

    fn get_links(&mut self) -> Vec<Link> {
        from_wit_links(cp::get_links())
    }

    fn put_link(&mut self, link: &Link) -> Result<Vec<Link>, CtlError> {
        let link = cp::Link {
            source: link.source.clone(),
            name: link.name.clone(),
            target: link.target.clone(),
        };
        cp::put_link(&link)
            .map(from_wit_links)
            .map_err(from_wit_error)
    }

    fn delete_link(&mut self, source: &str, name: &str) -> Result<Vec<Link>, CtlError> {
        cp::delete_link(source, name)
            .map(from_wit_links)
            .map_err(from_wit_error)
    }

    fn status(&mut self) -> String {
        cp::status()
    }

    fn start_load(&mut self, spec: &LoadSpec) -> Result<LoadStatus, CtlError> {
        let spec = cp::LoadSpec {
            rate: spec.rate,
            ttl: spec.ttl,
            chaos: spec.chaos,
            route: spec.route.clone(),
            duration_s: spec.duration_s,
        };
        cp::start_load(&spec)
            .map(from_wit_load)
            .map_err(from_wit_error)
    }

    fn get_load(&mut self) -> LoadState {
        from_wit_load_state(cp::get_load())
    }

    fn stop_load(&mut self) -> LoadState {
        from_wit_load_state(cp::stop_load())
    }
}

fn from_wit_load(s: cp::LoadStatus) -> LoadStatus {
    LoadStatus {
        spec: LoadSpec {
            rate: s.spec.rate,
            ttl: s.spec.ttl,
            chaos: s.spec.chaos,
            route: s.spec.route,
            duration_s: s.spec.duration_s,
        },
        started_ns: s.started_ns,
        injected: s.injected,
        late_p99_us: s.late_p99_us,
        late_max_us: s.late_max_us,
        running: s.running,
    }
}

fn from_wit_load_state(state: cp::LoadState) -> LoadState {
    LoadState {
        running: state.running.map(from_wit_load),
        last: state.last.map(from_wit_load),
    }
}

fn from_wit_chaos(hosts: Vec<cp::HostChaos>) -> Vec<HostChaos> {
    hosts
        .into_iter()
        .map(|h| HostChaos {
            host: h.host,
            trap: h.chaos.trap,
            delay_ms: h.chaos.delay_ms,
            jitter_ms: h.chaos.jitter_ms,
            drop: h.chaos.drop,
            down_s: h.chaos.down_s,
        })
        .collect()
}

fn from_wit_links(links: Vec<cp::Link>) -> Vec<Link> {
    links
        .into_iter()
        .map(|l| Link {
            source: l.source,
            name: l.name,
            target: l.target,
        })
        .collect()
}

fn from_wit_error(error: cp::CtlError) -> CtlError {
    match error {
        cp::CtlError::BadRequest(message) => CtlError::BadRequest(message),
        cp::CtlError::Unavailable(message) => CtlError::Unavailable(message),
        cp::CtlError::Conflict(message) => CtlError::Conflict(message),
    }
}

/// Bodies over the limit are still read (and thrown away) up to this size,
/// so the client is done sending when the 413 arrives: closing on unread
/// data makes the client see a reset instead of the answer.
const DRAIN_LIMIT: u64 = 1 << 20;

/// Read the whole body, keeping at most [`MAX_BODY_BYTES`]: a large upload is
/// never buffered, and an endless one is cut off at [`DRAIN_LIMIT`].
async fn read_body(body: Body) -> Result<Vec<u8>, BodyError> {
    if body.content_length().is_some_and(|n| n > DRAIN_LIMIT) {
        return Err(BodyError::TooLarge);
    }
    let mut stream = body.into_boxed_body();
    let mut bytes = Vec::new();
    let mut total: u64 = 0;
    while let Some(frame) = stream.frame().await {
        let frame = frame.map_err(|e| BodyError::Failed(format!("could not read body: {e}")))?;
        // Trailers are not data; they are ignored.
        if let Ok(data) = frame.into_data() {
            total += data.len() as u64;
            if total > DRAIN_LIMIT {
                return Err(BodyError::TooLarge);
            }
            if total <= MAX_BODY_BYTES as u64 {
                bytes.extend_from_slice(&data);
            }
        }
    }
    if total > MAX_BODY_BYTES as u64 {
        return Err(BodyError::TooLarge);
    }
    Ok(bytes)
}

/// The HTTP response for a [`Reply`], with `content-type: application/json`.
fn response(reply: Reply) -> Response<Body> {
    let mut response = Response::new(Body::from(reply.body));
    *response.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    if let Some(allow) = reply.allow {
        headers.insert("allow", HeaderValue::from_static(allow));
    }
    response
}
