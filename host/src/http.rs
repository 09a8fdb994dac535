//! HTTP ingress: serves a `wasi:http` component (the control component) on a
//! TCP address, one fresh instance per request.
//!
//! The host caps concurrent requests; over the cap it answers 503 itself
//! rather than queueing without bound. On an address other than loopback
//! every request must carry the API token (`Authorization: Bearer …`),
//! checked here before the component sees the request.

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::WasiHttpView;

use crate::wasm::imports::{GuestCtx, GuestHandles};
use crate::node::Node;
use crate::otel::spans::RequestTrace;
use crate::wasm::runtime::{HostState, Runtime};

/// Requests served at once; more get 503.
const MAX_CONCURRENT_REQUESTS: usize = 64;

pub struct HttpComponent {
    pub name: Arc<str>,
    pre: ProxyPre<HostState>,
    rt: Arc<Runtime>,
    /// What its instances' imports use, shared by every request.
    handles: Arc<GuestHandles>,
    permits: Arc<Semaphore>,
    /// The bearer token every request must carry (see [`required_token`]).
    token: Option<Arc<str>>,
}

type Response = hyper::Response<HyperOutgoingBody>;

impl HttpComponent {
    pub fn new(
        name: Arc<str>,
        pre: ProxyPre<HostState>,
        rt: Arc<Runtime>,
        node: Arc<Node>,
        token: Option<Arc<str>>,
    ) -> Self {
        HttpComponent {
            handles: GuestHandles::new(&node, name.clone()),
            name,
            pre,
            rt,
            permits: Arc::new(Semaphore::new(MAX_CONCURRENT_REQUESTS)),
            token,
        }
    }

    /// Bind now (so a taken port fails the host at start), serve later.
    pub async fn bind(addr: SocketAddr) -> Result<TcpListener> {
        TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} (is another ring running?)"))
    }

    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        loop {
            let (conn, peer) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let this = self.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let this = this.clone();
                    async move { Ok::<_, std::convert::Infallible>(this.handle(req).await) }
                });
                if let Err(e) = http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(conn), service)
                    .await
                {
                    tracing::debug!("http connection from {peer} ended: {e}");
                }
            });
        }
    }

    async fn handle(&self, req: hyper::Request<hyper::body::Incoming>) -> Response {
        if let Some(token) = &self.token {
            if !authorized(req.headers().get(hyper::header::AUTHORIZATION), token) {
                return unauthorized();
            }
        }
        let Ok(_permit) = self.permits.clone().try_acquire_owned() else {
            return json_error(503, "too many requests in flight; try again");
        };
        let trace = self.handles.otel.request(req.method().as_str(), req.uri().path());
        let resp = match self.call(req, trace.clone()).await {
            Ok(resp) => resp,
            Err(e) => {
                tracing::warn!(component = %self.name, "request failed: {e:#}");
                json_error(500, &format!("{} failed: {e}", self.name))
            }
        };
        if let Some(trace) = trace {
            trace.finish(resp.status().as_u16());
        }
        resp
    }

    async fn call(
        &self,
        req: hyper::Request<hyper::body::Incoming>,
        trace: Option<Arc<RequestTrace>>,
    ) -> Result<Response> {
        let mut guest = GuestCtx::with_handles(self.handles.clone());
        guest.request = trace;
        let mut store = self.rt.store(guest);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let req = store.data_mut().http().new_incoming_request(Scheme::Http, req)?;
        let out = store.data_mut().http().new_response_outparam(tx)?;
        let pre = self.pre.clone();
        // The guest may keep streaming the body after it set the response,
        // so it runs in its own task.
        let task = self.rt.guests().spawn(async move {
            let proxy = pre.instantiate_async(&mut store).await?;
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, req, out)
                .await
        });
        match rx.await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(code)) => Ok(json_error(500, &format!("component error: {code:?}"))),
            Err(_) => {
                let why = match task.await {
                    Ok(Ok(())) => "component set no response".to_string(),
                    Ok(Err(e)) => format!("component trapped: {e:#}"),
                    Err(e) => format!("component task failed: {e}"),
                };
                anyhow::bail!(why)
            }
        }
    }
}

/// The token requests to an API on `addr` must carry: none on loopback
/// (only this machine can reach it); on any other address `token`, which
/// must then be set, or the host does not start.
pub fn required_token(addr: SocketAddr, token: Option<&str>) -> Result<Option<Arc<str>>> {
    if addr.ip().is_loopback() {
        return Ok(None);
    }
    match token.map(str::trim) {
        Some(t) if !t.is_empty() => Ok(Some(Arc::from(t))),
        _ => anyhow::bail!(
            "the control API would listen on {addr}, beyond loopback: set LWC_API_TOKEN \
             (clients then send `Authorization: Bearer <token>`), or listen on 127.0.0.1"
        ),
    }
}

/// Whether `header` is `Bearer <token>`. Compared in constant time: the
/// answer's timing says nothing about how much of a guess was right.
fn authorized(header: Option<&hyper::header::HeaderValue>, token: &str) -> bool {
    let Some(given) = header.and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let Some(given) = given.strip_prefix("Bearer ") else {
        return false;
    };
    let (a, b) = (given.trim().as_bytes(), token.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn unauthorized() -> Response {
    let mut resp = json_error(401, "missing or wrong API token: send `Authorization: Bearer <LWC_API_TOKEN>`");
    resp.headers_mut().insert(
        hyper::header::WWW_AUTHENTICATE,
        hyper::header::HeaderValue::from_static("Bearer"),
    );
    resp
}

fn json_error(status: u16, message: &str) -> Response {
    let body = serde_json::json!({ "error": message }).to_string();
    let body = Full::new(Bytes::from(body))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut resp = hyper::Response::new(body);
    *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    #[test]
    fn loopback_needs_no_token() {
        for addr in ["127.0.0.1:30000", "[::1]:0", "127.0.0.2:1"] {
            assert_eq!(required_token(addr.parse().unwrap(), None).unwrap(), None, "{addr}");
        }
    }

    #[test]
    fn beyond_loopback_a_token_is_required() {
        for addr in ["0.0.0.0:0", "10.0.0.5:30000", "[::]:30000"] {
            let addr: SocketAddr = addr.parse().unwrap();
            let err = required_token(addr, None).unwrap_err().to_string();
            assert!(err.contains("LWC_API_TOKEN") && err.contains(&addr.to_string()), "{err}");
            assert!(required_token(addr, Some("  ")).is_err(), "a blank token is no token");
            assert_eq!(required_token(addr, Some("s3cret")).unwrap().as_deref(), Some("s3cret"));
        }
    }

    #[test]
    fn only_the_exact_bearer_token_passes() {
        let h = |v: &'static str| HeaderValue::from_static(v);
        assert!(authorized(Some(&h("Bearer s3cret")), "s3cret"));
        assert!(!authorized(None, "s3cret"));
        assert!(!authorized(Some(&h("Bearer s3cre")), "s3cret"));
        assert!(!authorized(Some(&h("Bearer s3cret2")), "s3cret"));
        assert!(!authorized(Some(&h("Basic s3cret")), "s3cret"));
        assert!(!authorized(Some(&h("s3cret")), "s3cret"));
    }
}
