//! HTTP ingress: serves a `wasi:http` component (the control component) on a
//! TCP address, one fresh instance per request.
//!
//! The host caps concurrent requests; over the cap it answers 503 itself
//! rather than queueing without bound.

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

use crate::imports::GuestCtx;
use crate::node::Node;
use crate::otel::spans::RequestTrace;
use crate::runtime::{HostState, Runtime};

/// Requests served at once; more get 503.
const MAX_CONCURRENT_REQUESTS: usize = 64;

pub struct HttpComponent {
    pub name: Arc<str>,
    pre: ProxyPre<HostState>,
    rt: Arc<Runtime>,
    node: Arc<Node>,
    permits: Arc<Semaphore>,
}

type Response = hyper::Response<HyperOutgoingBody>;

impl HttpComponent {
    pub fn new(name: Arc<str>, pre: ProxyPre<HostState>, rt: Arc<Runtime>, node: Arc<Node>) -> Self {
        HttpComponent {
            name,
            pre,
            rt,
            node,
            permits: Arc::new(Semaphore::new(MAX_CONCURRENT_REQUESTS)),
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
        let Ok(_permit) = self.permits.clone().try_acquire_owned() else {
            return json_error(503, "too many requests in flight; try again");
        };
        let trace = self.node.ledger().otel.request(req.method().as_str(), req.uri().path());
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
        let mut guest = GuestCtx::new(self.node.clone(), self.name.clone());
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
