//! What each endpoint does with a request, against an abstract
//! [`ControlPlane`], with no wasm imports.
//!
//! The component implements [`ControlPlane`] with the `control` world's
//! imports; the unit tests implement it with a recorder, which is how they
//! check that a bad request calls nothing on the host.

use serde_json::Value;

use crate::endpoint::{Endpoint, Refusal};
use crate::load::{self, LoadSpec, LoadState, LoadStatus};
use crate::plane::{self, ChaosPatch, CtlError, HostChaos, Link};
use crate::request::{self, BadRequest, MAX_BODY_BYTES};

/// The host functions the endpoints use: `packet-looper.process` and the
/// `control-plane` interface.
pub trait ControlPlane {
    fn reserve_packet_ids(&mut self, count: u32) -> u64;
    fn mark_traced(&mut self, packet: u64);
    fn process(&mut self, packet: u64, ttl: u64, chaos: u16, route: &str);
    fn get_chaos(&mut self) -> Vec<HostChaos>;
    fn set_chaos(&mut self, host: &str, patch: &ChaosPatch) -> Result<Vec<HostChaos>, CtlError>;
    fn get_links(&mut self) -> Vec<Link>;
    fn put_link(&mut self, link: &Link) -> Result<Vec<Link>, CtlError>;
    fn delete_link(&mut self, source: &str, name: &str) -> Result<Vec<Link>, CtlError>;
    fn status(&mut self) -> String;
    fn start_load(&mut self, spec: &LoadSpec) -> Result<LoadStatus, CtlError>;
    fn get_load(&mut self) -> LoadState;
    fn stop_load(&mut self) -> LoadState;
}

/// Why the body of a request could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// More than [`MAX_BODY_BYTES`] (declared or actually sent): 413.
    TooLarge,
    /// The body stream failed; the message is for the client (400).
    Failed(String),
}

/// An HTTP answer: always a JSON body (`content-type: application/json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    /// The `allow` header, on a 405.
    pub allow: Option<&'static str>,
    pub body: String,
}

impl Reply {
    fn ok(body: String) -> Reply {
        Reply::with_status(200, body)
    }

    fn with_status(status: u16, body: String) -> Reply {
        Reply {
            status,
            allow: None,
            body,
        }
    }

    fn error(status: u16, message: &str) -> Reply {
        Reply {
            status,
            allow: None,
            body: request::error_body(message).to_string(),
        }
    }
}

/// The 404 / 405 answer for a request that selects no endpoint.
pub fn refused(refusal: &Refusal) -> Reply {
    let mut reply = Reply::error(refusal.status(), refusal.message());
    if let Refusal::MethodNotAllowed { allow, .. } = refusal {
        reply.allow = Some(allow);
    }
    reply
}

/// Serve `endpoint`. `body` is the request body as read (endpoints that do not
/// [read it](Endpoint::reads_body) ignore it); `query` is the query string
/// without `?`. The request is validated completely before anything is called
/// on `plane`.
pub fn serve(
    plane: &mut impl ControlPlane,
    endpoint: Endpoint,
    query: Option<&str>,
    body: Result<Vec<u8>, BodyError>,
) -> Reply {
    match answer(plane, endpoint, query, body) {
        Ok(reply) => reply,
        Err(Failure::TooLarge) => Reply::error(413, &format!("body over {MAX_BODY_BYTES} bytes")),
        Err(Failure::Bad(BadRequest(message))) => Reply::error(400, &message),
        Err(Failure::Host(error)) => Reply::error(error.status(), error.message()),
        Err(Failure::Internal(message)) => Reply::error(500, &message),
    }
}

enum Failure {
    TooLarge,
    Bad(BadRequest),
    Host(CtlError),
    Internal(String),
}

impl From<BadRequest> for Failure {
    fn from(bad: BadRequest) -> Self {
        Failure::Bad(bad)
    }
}

impl From<CtlError> for Failure {
    fn from(error: CtlError) -> Self {
        Failure::Host(error)
    }
}

fn answer(
    plane: &mut impl ControlPlane,
    endpoint: Endpoint,
    query: Option<&str>,
    body: Result<Vec<u8>, BodyError>,
) -> Result<Reply, Failure> {
    // Only the endpoints that take a body look at it (and so at its errors).
    let body = || match &body {
        Ok(bytes) => Ok(bytes.as_slice()),
        Err(BodyError::TooLarge) => Err(Failure::TooLarge),
        Err(BodyError::Failed(message)) => Err(Failure::Bad(BadRequest(message.clone()))),
    };
    Ok(Reply::ok(match endpoint {
        Endpoint::GetRoot => inject(plane, &request::parse_query(query)?),
        Endpoint::PostPackets => inject(plane, &request::parse_body(body()?)?),
        Endpoint::GetChaos => plane::chaos_answer(&plane.get_chaos()),
        Endpoint::PutChaos => {
            let set = plane::parse_set_chaos(body()?)?;
            plane::chaos_answer(&plane.set_chaos(&set.host, &set.patch)?)
        }
        Endpoint::GetLinks => plane::links_answer(&plane.get_links()),
        Endpoint::PutLinks => {
            let link = plane::parse_put_link(body()?)?;
            plane::links_answer(&plane.put_link(&link)?)
        }
        Endpoint::DeleteLinks => {
            let delete = plane::parse_delete_link(body()?)?;
            plane::links_answer(&plane.delete_link(&delete.source, &delete.name)?)
        }
        Endpoint::GetStatus => {
            let status = plane.status();
            // Passed through as is, but never as something that is not JSON.
            match serde_json::from_str::<Value>(&status) {
                Ok(Value::Object(_)) => status,
                _ => {
                    return Err(Failure::Internal(
                        "the host's status is not a JSON object".to_string(),
                    ))
                }
            }
        }
        Endpoint::PostLoad => {
            let spec = load::parse_load(body()?)?;
            // Accepted, not done: the load runs on after the answer.
            return Ok(Reply::with_status(
                202,
                load::started_answer(&plane.start_load(&spec)?),
            ));
        }
        Endpoint::GetLoad => load::state_answer(&plane.get_load()),
        Endpoint::DeleteLoad => load::state_answer(&plane.stop_load()),
    }))
}

/// Inject the packets of a validated request; the answer lists their ids.
fn inject(plane: &mut impl ControlPlane, inject: &request::Inject) -> String {
    let first = plane.reserve_packet_ids(inject.count);
    let ids: Vec<u64> = (0..u64::from(inject.count))
        .map(|i| first.wrapping_add(i))
        .collect();
    for &id in &ids {
        // The host must know a packet is traced before its first hop leaves.
        if inject.trace {
            plane.mark_traced(id);
        }
        plane.process(id, inject.ttl, inject.chaos, &inject.route);
    }
    inject.answer(&ids).to_string()
}

#[cfg(test)]
mod tests;
