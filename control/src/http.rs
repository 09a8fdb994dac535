//! The component side: bindings of the `control` world and the `wasi:http`
//! handler (exported through `wstd`).
//!
//! The handler only moves bytes and calls the host; what a request means and
//! whether it is valid is decided in [`crate::endpoint`] and [`crate::request`].

use serde_json::Value;
use wstd::http::{Body, BodyExt, Error, Request, Response, StatusCode};

use crate::endpoint::{self, Endpoint, Refusal};
use crate::request::{self, BadRequest, Inject, MAX_BODY_BYTES};

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

use bindings::wasmcloud::lwc::{control_plane, packet_looper};

#[wstd::http_server]
async fn main(request: Request<Body>) -> Result<Response<Body>, Error> {
    Ok(handle(request).await)
}

/// Every outcome, including client errors, is a JSON answer.
async fn handle(request: Request<Body>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let endpoint = match endpoint::resolve(parts.method.as_str(), parts.uri.path()) {
        Ok(endpoint) => endpoint,
        Err(refusal) => return refused(&refusal),
    };
    let parsed = match endpoint {
        Endpoint::GetRoot => request::parse_query(parts.uri.query()),
        Endpoint::PostPackets => match read_body(body).await {
            Ok(bytes) => request::parse_body(&bytes),
            Err(ReadError::TooLarge) => {
                let message = format!("body over {MAX_BODY_BYTES} bytes");
                return json_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &request::error_body(&message),
                );
            }
            Err(ReadError::Failed(message)) => Err(BadRequest(message)),
        },
    };
    match parsed {
        Ok(inject) => json_response(StatusCode::OK, &inject.answer(&send(&inject))),
        Err(BadRequest(message)) => {
            json_response(StatusCode::BAD_REQUEST, &request::error_body(&message))
        }
    }
}

/// Inject the packets of a validated request; returns their ids in order.
fn send(inject: &Inject) -> Vec<u64> {
    let first = control_plane::reserve_packet_ids(inject.count);
    let ids: Vec<u64> = (0..u64::from(inject.count))
        .map(|i| first.wrapping_add(i))
        .collect();
    for &id in &ids {
        // The host must know a packet is traced before its first hop leaves.
        if inject.trace {
            control_plane::mark_traced(id);
        }
        packet_looper::process(id, inject.ttl, inject.chaos, Some(&inject.route));
    }
    ids
}

enum ReadError {
    /// More than [`MAX_BODY_BYTES`] (declared or actually sent).
    TooLarge,
    /// The body stream failed; the message is for the client.
    Failed(String),
}

/// Read the whole body, but stop as soon as it exceeds [`MAX_BODY_BYTES`] so
/// that a large or endless upload never gets buffered.
async fn read_body(body: Body) -> Result<Vec<u8>, ReadError> {
    if body
        .content_length()
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Err(ReadError::TooLarge);
    }
    let mut stream = body.into_boxed_body();
    let mut bytes = Vec::new();
    while let Some(frame) = stream.frame().await {
        let frame = frame.map_err(|e| ReadError::Failed(format!("could not read body: {e}")))?;
        // Trailers are not data; they are ignored.
        if let Ok(data) = frame.into_data() {
            if bytes.len() + data.len() > MAX_BODY_BYTES {
                return Err(ReadError::TooLarge);
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
}

/// The 404 / 405 answer for a request that selects no endpoint.
fn refused(refusal: &Refusal) -> Response<Body> {
    let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::NOT_FOUND);
    let mut response = json_response(status, &request::error_body(refusal.message()));
    if let Refusal::MethodNotAllowed { allow, .. } = refusal {
        response
            .headers_mut()
            .insert("allow", wstd::http::HeaderValue::from_static(allow));
    }
    response
}

/// A response with a JSON body and `content-type: application/json`.
fn json_response(status: StatusCode, value: &Value) -> Response<Body> {
    let mut response = Response::new(Body::from(value.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        "content-type",
        wstd::http::HeaderValue::from_static("application/json"),
    );
    response
}
