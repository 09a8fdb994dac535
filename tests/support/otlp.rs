//! A small OTLP receiver for the tests: it takes what hosts export, over
//! OTLP/HTTP (protobuf) or gRPC, decodes it with the protocol's own types
//! (opentelemetry-proto) and keeps it for assertions.

use anyhow::Result;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{LogsService, LogsServiceServer};
use opentelemetry_proto::tonic::collector::logs::v1::{ExportLogsServiceRequest, ExportLogsServiceResponse};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::metric;
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;

/// One received span, flattened.
#[derive(Debug, Clone)]
pub struct SpanRec {
    /// `service.instance.id` of the exporting host.
    pub host: String,
    pub service: String,
    pub trace_id: Vec<u8>,
    pub span_id: Vec<u8>,
    pub parent_span_id: Vec<u8>,
    pub name: String,
    pub kind: i32,
    pub start_ns: u64,
    pub end_ns: u64,
    pub attrs: HashMap<String, String>,
    /// 0 unset, 1 ok, 2 error.
    pub status_code: i32,
    pub status_message: String,
}

impl SpanRec {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs.get(key).map(String::as_str)
    }
}

#[derive(Debug, Clone)]
pub struct LogRec {
    pub host: String,
    pub trace_id: Vec<u8>,
    pub span_id: Vec<u8>,
    pub severity_text: String,
    pub body: String,
    pub attrs: HashMap<String, String>,
}

/// One metric data point: the metric's name, its attributes, and its value
/// (a sum's value, or a histogram's count).
#[derive(Debug, Clone)]
pub struct PointRec {
    pub host: String,
    pub metric: String,
    pub attrs: HashMap<String, String>,
    pub value: f64,
}

impl Received {
    /// The sum over hosts and label sets of a cumulative metric's newest
    /// value (each export repeats the running total).
    pub fn total(&self, metric: &str) -> f64 {
        let mut newest: HashMap<(String, Vec<(String, String)>), f64> = HashMap::new();
        for p in self.points.iter().filter(|p| p.metric == metric) {
            let mut attrs: Vec<(String, String)> = p.attrs.clone().into_iter().collect();
            attrs.sort();
            newest.insert((p.host.clone(), attrs), p.value);
        }
        newest.values().sum()
    }
}

#[derive(Debug, Default)]
pub struct Received {
    pub spans: Vec<SpanRec>,
    pub logs: Vec<LogRec>,
    pub points: Vec<PointRec>,
    /// Export requests by path (or gRPC service).
    pub requests: HashMap<String, u64>,
}

/// A running receiver; it stops when dropped.
pub struct Receiver {
    pub addr: SocketAddr,
    pub got: Arc<Mutex<Received>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    /// The endpoint to put in `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn spans(&self) -> Vec<SpanRec> {
        self.lock().spans.clone()
    }

    pub fn logs(&self) -> Vec<LogRec> {
        self.lock().logs.clone()
    }

    pub fn points(&self) -> Vec<PointRec> {
        self.lock().points.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Received> {
        self.got.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wait until `done` holds for what arrived, or fail saying `what`.
    pub async fn wait_for(&self, within: Duration, what: &str, done: impl Fn(&Received) -> bool) {
        let waited = lwc_testkit::wait::until_async(within, what, || Ok(done(&self.lock()).then_some(()))).await;
        if let Err(e) = waited {
            let got = self.lock();
            panic!(
                "receiver: {e}; got {} spans, {} logs, {} points; requests {:?}",
                got.spans.len(),
                got.logs.len(),
                got.points.len(),
                got.requests
            );
        }
    }

    /// An OTLP/HTTP receiver (`http/protobuf`) on a free loopback port.
    pub async fn http() -> Result<Receiver> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let got = Arc::new(Mutex::new(Received::default()));
        let task = tokio::spawn(serve_http(listener, got.clone()));
        Ok(Receiver { addr, got, task })
    }

    /// An OTLP/gRPC receiver on a free loopback port.
    pub async fn grpc() -> Result<Receiver> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let got = Arc::new(Mutex::new(Received::default()));
        let sink = Grpc(got.clone());
        let incoming = tokio_stream_of(listener);
        let server = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(sink.clone()))
            .add_service(MetricsServiceServer::new(sink.clone()))
            .add_service(LogsServiceServer::new(sink))
            .serve_with_incoming(incoming);
        let task = tokio::spawn(async move {
            if let Err(e) = server.await {
                eprintln!("otlp grpc receiver stopped: {e}");
            }
        });
        Ok(Receiver { addr, got, task })
    }
}

/// Accepted connections as the stream tonic serves.
fn tokio_stream_of(
    listener: TcpListener,
) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    futures::stream::unfold(listener, |listener| async move {
        let conn = listener.accept().await.map(|(s, _)| s);
        Some((conn, listener))
    })
}

async fn serve_http(listener: TcpListener, got: Arc<Mutex<Received>>) {
    loop {
        let Ok((conn, _)) = listener.accept().await else {
            continue;
        };
        let got = got.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let got = got.clone();
                async move { Ok::<_, std::convert::Infallible>(handle_http(req, &got).await) }
            });
            let _ = http1::Builder::new().serve_connection(TokioIo::new(conn), service).await;
        });
    }
}

async fn handle_http(req: hyper::Request<hyper::body::Incoming>, got: &Mutex<Received>) -> hyper::Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return reply(400, format!("cannot read body: {e}").into()),
    };
    let decoded = match path.as_str() {
        "/v1/traces" => ExportTraceServiceRequest::decode(body)
            .map(|r| take_traces(got, r))
            .map(|()| ExportTraceServiceResponse::default().encode_to_vec()),
        "/v1/metrics" => ExportMetricsServiceRequest::decode(body)
            .map(|r| take_metrics(got, r))
            .map(|()| ExportMetricsServiceResponse::default().encode_to_vec()),
        "/v1/logs" => ExportLogsServiceRequest::decode(body)
            .map(|r| take_logs(got, r))
            .map(|()| ExportLogsServiceResponse::default().encode_to_vec()),
        _ => return reply(404, Bytes::from_static(b"no such OTLP path")),
    };
    *lock(got).requests.entry(path).or_default() += 1;
    match decoded {
        Ok(answer) => reply(200, answer.into()),
        Err(e) => reply(400, format!("not OTLP protobuf: {e}").into()),
    }
}

fn reply(status: u16, body: Bytes) -> hyper::Response<Full<Bytes>> {
    let mut resp = hyper::Response::new(Full::new(body));
    *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::BAD_REQUEST);
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/x-protobuf"),
    );
    resp
}

#[derive(Clone)]
struct Grpc(Arc<Mutex<Received>>);

impl Grpc {
    fn count(&self, what: &str) {
        *lock(&self.0).requests.entry(what.to_string()).or_default() += 1;
    }
}

#[tonic::async_trait]
impl TraceService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.count("grpc traces");
        take_traces(&self.0, request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        self.count("grpc metrics");
        take_metrics(&self.0, request.into_inner());
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl LogsService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, tonic::Status> {
        self.count("grpc logs");
        take_logs(&self.0, request.into_inner());
        Ok(tonic::Response::new(ExportLogsServiceResponse::default()))
    }
}

fn lock(got: &Mutex<Received>) -> std::sync::MutexGuard<'_, Received> {
    got.lock().unwrap_or_else(|p| p.into_inner())
}

fn text(v: &Option<AnyValue>) -> String {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn attrs(kvs: &[KeyValue]) -> HashMap<String, String> {
    kvs.iter().map(|kv| (kv.key.clone(), text(&kv.value))).collect()
}

/// (service.name, service.instance.id) of a resource.
fn who(resource: &Option<Resource>) -> (String, String) {
    let a = resource.as_ref().map(|r| attrs(&r.attributes)).unwrap_or_default();
    (
        a.get("service.name").cloned().unwrap_or_default(),
        a.get("service.instance.id").cloned().unwrap_or_default(),
    )
}

fn take_traces(got: &Mutex<Received>, req: ExportTraceServiceRequest) {
    let mut out = Vec::new();
    for rs in req.resource_spans {
        let (service, host) = who(&rs.resource);
        for ss in rs.scope_spans {
            for s in ss.spans {
                let status = s.status.unwrap_or_default();
                out.push(SpanRec {
                    host: host.clone(),
                    service: service.clone(),
                    trace_id: s.trace_id,
                    span_id: s.span_id,
                    parent_span_id: s.parent_span_id,
                    name: s.name,
                    kind: s.kind,
                    start_ns: s.start_time_unix_nano,
                    end_ns: s.end_time_unix_nano,
                    attrs: attrs(&s.attributes),
                    status_code: status.code,
                    status_message: status.message,
                });
            }
        }
    }
    lock(got).spans.extend(out);
}

fn take_logs(got: &Mutex<Received>, req: ExportLogsServiceRequest) {
    let mut out = Vec::new();
    for rl in req.resource_logs {
        let (_, host) = who(&rl.resource);
        for sl in rl.scope_logs {
            for r in sl.log_records {
                out.push(LogRec {
                    host: host.clone(),
                    trace_id: r.trace_id,
                    span_id: r.span_id,
                    severity_text: r.severity_text,
                    body: text(&r.body),
                    attrs: attrs(&r.attributes),
                });
            }
        }
    }
    lock(got).logs.extend(out);
}

fn take_metrics(got: &Mutex<Received>, req: ExportMetricsServiceRequest) {
    let mut out = Vec::new();
    for rm in req.resource_metrics {
        let (_, host) = who(&rm.resource);
        for sm in rm.scope_metrics {
            for m in sm.metrics {
                let point = |attributes: &[KeyValue], value: f64| PointRec {
                    host: host.clone(),
                    metric: m.name.clone(),
                    attrs: attrs(attributes),
                    value,
                };
                match &m.data {
                    Some(metric::Data::Sum(sum)) => {
                        for p in &sum.data_points {
                            let v = match p.value {
                                Some(opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsInt(i)) => i as f64,
                                Some(opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsDouble(d)) => d,
                                None => 0.0,
                            };
                            out.push(point(&p.attributes, v));
                        }
                    }
                    Some(metric::Data::Histogram(h)) => {
                        for p in &h.data_points {
                            out.push(point(&p.attributes, p.count as f64));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    lock(got).points.extend(out);
}

/// Hex of an id, for messages.
pub fn hex(id: &[u8]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

