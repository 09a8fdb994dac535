//! OpenTelemetry: the real ring exports to an OTLP receiver started here,
//! which decodes what arrives with the protocol's own types.

use lwc_tests::otlp::{hex, Receiver, SpanRec};
use lwc_tests::{host_bin, packet_ids, Ring, RingOpts};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

const INVOCATION: &str = "packet-looper.process";
/// OTLP span kinds.
const SERVER: i32 = 2;
const CONSUMER: i32 = 5;
const STATUS_ERROR: i32 = 2;

/// A ring exporting to `receiver`, with short export intervals so the test
/// does not wait out the SDK defaults (5 s for spans, 60 s for metrics).
async fn ring_exporting_to(receiver: &Receiver, protocol: &str) -> Ring {
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.to_string()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100".to_string()),
        ("OTEL_BLRP_SCHEDULE_DELAY", "100".to_string()),
        ("OTEL_METRIC_EXPORT_INTERVAL", "300".to_string()),
    ];
    let opts = RingOpts {
        env: env.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
        ..RingOpts::default()
    };
    Ring::start_with(opts).await.unwrap()
}

fn one_packet(ring: &Ring, body: &str) -> u64 {
    let (status, answer) = ring.post("/packets", body);
    assert_eq!(status, 200, "{answer}");
    let ids = packet_ids(&answer);
    assert_eq!(ids.len(), 1, "{answer}");
    ids[0]
}

fn of_packet<'a>(spans: &'a [SpanRec], packet: u64) -> Vec<&'a SpanRec> {
    let id = packet.to_string();
    spans.iter().filter(|s| s.attr("lwc.packet.id") == Some(id.as_str())).collect()
}

/// Order a packet's invocation spans from the root down, by parent links;
/// fails if they do not form one chain.
fn chain<'a>(root: &'a SpanRec, spans: &[&'a SpanRec]) -> Vec<&'a SpanRec> {
    let by_parent: HashMap<&[u8], Vec<&SpanRec>> = spans.iter().fold(HashMap::new(), |mut m, s| {
        m.entry(s.parent_span_id.as_slice()).or_default().push(*s);
        m
    });
    let mut out = Vec::new();
    let mut at = root;
    while let Some(children) = by_parent.get(at.span_id.as_slice()) {
        assert_eq!(children.len(), 1, "span {} has {} children: {children:#?}", hex(&at.span_id), children.len());
        at = children[0];
        out.push(at);
    }
    assert_eq!(out.len(), spans.len(), "not one chain: {spans:#?}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traced_packet_is_one_trace_across_the_hosts() {
    let receiver = Receiver::http().await.unwrap();
    let ring = ring_exporting_to(&receiver, "http/protobuf").await;
    let packet = one_packet(&ring, r#"{"ttl":8,"trace":true}"#);
    // An untraced packet alongside: with the default sampling it makes no spans.
    let quiet = one_packet(&ring, r#"{"ttl":8}"#);

    // ttl 8 → 9 invocations (ttl 8 down to 0), plus the request's root span.
    receiver
        .wait_for(Duration::from_secs(30), "9 invocation spans", |got| {
            of_packet(&got.spans, packet).len() >= 9 && got.spans.iter().any(|s| s.kind == SERVER)
        })
        .await;
    let spans = receiver.spans();
    let invocations = of_packet(&spans, packet);
    assert_eq!(invocations.len(), 9, "{invocations:#?}");

    let trace_id = &invocations[0].trace_id;
    assert!(invocations.iter().all(|s| &s.trace_id == trace_id), "one trace for the packet");
    let roots: Vec<&SpanRec> = spans.iter().filter(|s| &s.trace_id == trace_id && s.parent_span_id.is_empty()).collect();
    assert_eq!(roots.len(), 1, "one root: {roots:#?}");
    let root = roots[0];
    assert_eq!(root.name, "POST /packets");
    assert_eq!(root.kind, SERVER);
    assert_eq!(root.host, "control");
    assert_eq!(root.attr("http.response.status_code"), Some("200"));
    assert_eq!(
        spans.iter().filter(|s| &s.trace_id == trace_id).count(),
        10,
        "the root and the nine invocations, nothing else"
    );

    // Parent links run root → first hop → … → last hop, in hop order.
    let hops = chain(root, &invocations);
    for (i, span) in hops.iter().enumerate() {
        assert_eq!(span.name, INVOCATION);
        assert_eq!(span.kind, CONSUMER);
        assert_eq!(span.service, "lwc-host");
        assert_eq!(span.attr("lwc.packet.ttl"), Some((8 - i).to_string().as_str()), "{span:#?}");
        assert_eq!(span.attr("lwc.packet.hop"), Some((i + 1).to_string().as_str()));
        assert_eq!(span.attr("lwc.packet.route"), Some("default"));
        assert_eq!(span.attr("lwc.link.name"), Some("default"));
        assert!(span.attr("lwc.caller").is_some() && span.attr("lwc.component").is_some());
        assert_eq!(span.status_code == STATUS_ERROR, false, "{span:#?}");
        if i > 0 {
            let before = hops[i - 1];
            assert_eq!(span.attr("lwc.caller"), before.attr("lwc.component"));
            assert!(span.start_ns >= before.start_ns, "hop {i} starts after hop {}", i - 1);
        }
        // Each invocation runs on the host its component is placed on.
        assert_eq!(span.attr("lwc.component"), Some(span.host.as_str()));
    }
    assert_eq!(hops[0].attr("lwc.caller"), Some("control"));
    assert_eq!(hops[8].attr("lwc.outcome"), Some("expired"));
    assert!(hops[..8].iter().all(|s| s.attr("lwc.outcome") == Some("forwarded")));
    let hosts: HashSet<&str> = spans.iter().filter(|s| &s.trace_id == trace_id).map(|s| s.host.as_str()).collect();
    assert!(hosts.len() >= 4, "spans from at least four hosts: {hosts:?}");

    // The guests' logs arrive with the trace and span of the hop that wrote them.
    receiver
        .wait_for(Duration::from_secs(15), "a log record per hop", |got| {
            got.logs.iter().filter(|l| &l.trace_id == trace_id).count() >= 9
        })
        .await;
    let logs = receiver.logs();
    for span in &hops {
        let log = logs
            .iter()
            .find(|l| l.span_id == span.span_id)
            .unwrap_or_else(|| panic!("no log record for span {}: {logs:#?}", hex(&span.span_id)));
        assert_eq!(&log.trace_id, trace_id);
        assert!(log.body.contains(&packet.to_string()), "{log:#?}");
        assert_eq!(log.attrs.get("lwc.component").map(String::as_str), span.attr("lwc.component"));
    }

    // Metrics: both packets' 18 invocations counted per component and
    // outcome, both expiries; durations per component and per edge.
    receiver
        .wait_for(Duration::from_secs(15), "invocation metrics", |got| {
            got.total("lwc.invocations") == 18.0
                && got.total("lwc.packets.expired") == 2.0
                && got.total("lwc.hop.duration") == 18.0
                && got.total("lwc.invocation.duration") == 18.0
        })
        .await;
    let points = receiver.points();
    for p in points.iter().filter(|p| p.metric == "lwc.invocations") {
        assert!(["north", "south", "east", "west"].contains(&p.attrs["lwc.component"].as_str()), "{p:?}");
        assert!(["forwarded", "expired"].contains(&p.attrs["lwc.outcome"].as_str()), "{p:?}");
    }
    assert!(points.iter().any(|p| p.metric == "lwc.hop.duration" && p.attrs.get("lwc.caller").is_some()));

    // The untraced packet expired too, without a span.
    let settled = ring.settled_ledger(2, Duration::from_secs(20)).await;
    assert_eq!(settled["expired"], 2, "{settled}");
    assert!(of_packet(&receiver.spans(), quiet).is_empty(), "untraced packets make no spans by default");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traps_and_losses_are_error_spans() {
    let receiver = Receiver::http().await.unwrap();
    let ring = ring_exporting_to(&receiver, "http/protobuf").await;
    // Every probe traps after forwarding: each hop's span is an error.
    let trapped = one_packet(&ring, r#"{"ttl":3,"chaos":100,"trace":true}"#);
    receiver
        .wait_for(Duration::from_secs(30), "4 trapped spans", |got| of_packet(&got.spans, trapped).len() >= 4)
        .await;
    for span in of_packet(&receiver.spans(), trapped) {
        if span.attr("lwc.packet.ttl") == Some("0") {
            // The last stop returns before its chaos roll: it only expires.
            assert_eq!(span.attr("lwc.outcome"), Some("expired"), "{span:#?}");
            continue;
        }
        assert_eq!(span.status_code, STATUS_ERROR, "{span:#?}");
        assert!(span.status_message.contains("trap"), "{span:#?}");
        assert_eq!(span.attr("lwc.outcome"), Some("trap"));
    }

    // west drops everything it forwards: the packet is lost there, and the
    // span of the invocation that lost it says so.
    let (status, answer) = ring.request("PUT", "/chaos", br#"{"host":"west","drop":100}"#);
    assert_eq!(status, 200, "{answer}");
    let dropped = one_packet(&ring, r#"{"ttl":8,"trace":true}"#);
    receiver
        .wait_for(Duration::from_secs(30), "the dropping span", |got| {
            of_packet(&got.spans, dropped).iter().any(|s| s.status_code == STATUS_ERROR)
        })
        .await;
    let spans = receiver.spans();
    let failed: Vec<&SpanRec> = of_packet(&spans, dropped).into_iter().filter(|s| s.status_code == STATUS_ERROR).collect();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_eq!(failed[0].host, "west");
    assert_eq!(failed[0].attr("lwc.loss.reason"), Some("dropped"));
    assert!(failed[0].status_message.contains("dropped"), "{:#?}", failed[0]);

    receiver
        .wait_for(Duration::from_secs(15), "lost and error counters", |got| {
            got.points.iter().any(|p| p.metric == "lwc.packets.lost" && p.attrs.get("lwc.loss.reason").map(String::as_str) == Some("dropped"))
                && got.points.iter().any(|p| p.metric == "lwc.errors" && p.attrs.get("error.type").map(String::as_str) == Some("trap"))
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_export_works_too() {
    let receiver = Receiver::grpc().await.unwrap();
    let ring = ring_exporting_to(&receiver, "grpc").await;
    let packet = one_packet(&ring, r#"{"ttl":4,"trace":true}"#);
    receiver
        .wait_for(Duration::from_secs(30), "5 invocation spans and their root over gRPC", |got| {
            // The root comes from the control host's exporter, on its own
            // timer: wait for it too, not only for the probes' spans.
            let invocations = of_packet(&got.spans, packet);
            invocations.len() >= 5
                && got.spans.iter().any(|s| s.trace_id == invocations[0].trace_id && s.parent_span_id.is_empty())
        })
        .await;
    let spans = receiver.spans();
    let invocations = of_packet(&spans, packet);
    let root = spans
        .iter()
        .find(|s| s.trace_id == invocations[0].trace_id && s.parent_span_id.is_empty())
        .expect("a root span");
    assert_eq!(chain(root, &invocations).len(), 5);
}

#[test]
fn bad_otel_settings_stop_the_host_with_the_variable_named() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("m.toml");
    std::fs::write(&manifest, "[hosts.a]\n").unwrap();
    let cases = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318", "OTEL_EXPORTER_OTLP_ENDPOINT"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", "OTEL_EXPORTER_OTLP_PROTOCOL"),
        ("OTEL_TRACES_SAMPLER", "sometimes", "OTEL_TRACES_SAMPLER"),
    ];
    for (var, value, named) in cases {
        let mut cmd = std::process::Command::new(host_bin());
        cmd.args(["--manifest", manifest.to_str().unwrap(), "--host", "a"])
            .env("LWC_NATS_URL", "nats://127.0.0.1:1")
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
            .env(var, value);
        let out = cmd.output().unwrap();
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{var}={value} accepted");
        assert!(text.contains(named) && text.contains(value), "{var}={value}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hop_nobody_takes_ends_the_trace_with_a_lost_span() {
    let receiver = Receiver::http().await.unwrap();
    let mut ring = ring_exporting_to(&receiver, "http/protobuf").await;
    ring.kill_host("west");
    // east → north → (west is gone): north retries, then reports it lost.
    let packet = one_packet(&ring, r#"{"ttl":8,"trace":true}"#);
    receiver
        .wait_for(Duration::from_secs(30), "a packet.lost span", |got| {
            of_packet(&got.spans, packet).iter().any(|s| s.name == "packet.lost")
        })
        .await;
    let spans = receiver.spans();
    let mine = of_packet(&spans, packet);
    let lost = mine.iter().find(|s| s.name == "packet.lost").unwrap();
    assert_eq!(lost.status_code, STATUS_ERROR, "{lost:#?}");
    assert_eq!(lost.attr("lwc.loss.reason"), Some("unreachable"));
    assert_eq!(lost.attr("lwc.target"), Some("west"));
    assert_eq!(lost.host, "north");
    let sender = mine
        .iter()
        .find(|s| s.span_id == lost.parent_span_id)
        .expect("the lost span's parent is an invocation span of the packet");
    assert_eq!(sender.attr("lwc.component"), Some("north"));
    assert_eq!(sender.attr("lwc.outcome"), Some("forwarded"));
    assert!(mine.iter().all(|s| s.trace_id == lost.trace_id));
}
