//! The runtime and the guests' imports, with the real release-built guests
//! (`cargo build --release --target wasm32-wasip2 -p lwc-probe -p lwc-runaway`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::imports::{CallCtx, GuestCtx, GuestHandles};
use super::runtime::{Limits, Runtime, MAX_GUEST_RESOURCES};
use crate::lattice::protocol::Upstream;
use crate::node::{testing, Node};

fn wasm(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../target/wasm32-wasip2/release/{name}.wasm"))
}

fn runtime() -> Runtime {
    let limits = Limits {
        max_memory: 16 << 20,
        deadline: Duration::from_millis(100),
        max_instances: 8,
    };
    Runtime::new(limits, 0).unwrap()
}

fn call(packet: u64, ttl: u64) -> CallCtx {
    CallCtx {
        packet,
        ttl,
        hops: 1,
        gen: 0,
        age: crate::lattice::Age::born(lwc_wire::now_ns()),
        trace: false,
        traceparent: None,
        span: None,
        upstream: Upstream {
            peer: Arc::from("control"),
            hop_id: 1,
        },
    }
}

/// Run `wasm`'s `process` once in a fresh store of host east's `east`; the
/// guest's state after, and east's node.
async fn process(rt: &Runtime, wasm_name: &str, ttl: u64, route: &str) -> (wasmtime::Result<()>, GuestCtx, Arc<Node>) {
    let pre = rt.load_probe(&wasm(wasm_name)).unwrap();
    let node = testing::node("east").await;
    let mut store = rt.store(GuestCtx::with_handles(GuestHandles::new(&node, Arc::from("east"))));
    let probe = pre.instantiate_async(&mut store).await.unwrap();
    let packet = lwc_wire::now_ns();
    store.data_mut().guest.begin(call(packet, ttl), false);
    let res = probe
        .wasmcloud_lwc_packet_looper()
        .call_process(&mut store, packet, ttl, 0, Some(route))
        .await;
    (res, store.into_data().guest, node)
}

#[test]
fn a_missing_component_names_its_path_and_how_to_build_it() {
    let err = format!("{:#}", runtime().load_probe(&wasm("no_such_component")).err().unwrap());
    assert!(err.contains("no_such_component.wasm"), "{err}");
    assert!(err.contains("cargo build --release --target wasm32-wasip2"), "{err}");
}

#[test]
fn the_control_component_does_not_fit_the_probe_world() {
    let err = format!("{:#}", runtime().load_probe(&wasm("lwc_control")).err().unwrap());
    assert!(err.contains("does not fit the probe world"), "{err}");
}

#[tokio::test]
async fn the_probe_forwards_on_its_route_and_stops_at_ttl_zero() {
    let rt = runtime();
    let (res, guest, node) = process(&rt, "lwc_probe", 3, "special").await;
    res.unwrap();
    assert!(guest.forwarded);
    assert_eq!(guest.link_name.as_deref(), Some("special"));
    assert!(guest.forward_loss.is_none(), "{:?}", guest.forward_loss);
    assert_eq!(node.lattice.awaiting_ack(), 1);

    let (res, guest, node) = process(&rt, "lwc_probe", 0, "default").await;
    res.unwrap();
    assert!(!guest.forwarded, "ttl 0 is the last stop");
    assert_eq!(node.lattice.awaiting_ack(), 0);
}

#[tokio::test]
async fn a_route_without_a_link_is_a_loss_the_call_reports() {
    let (res, guest, _) = process(&runtime(), "lwc_probe", 3, "nowhere").await;
    res.unwrap();
    assert!(guest.forwarded);
    let (reason, detail) = guest.forward_loss.expect("no link named nowhere");
    assert_eq!(reason, lwc_wire::events::LostReason::NoLink);
    assert!(detail.contains("\"nowhere\""), "{detail}");
}

#[tokio::test]
async fn hoarding_handles_traps_at_the_resource_cap() {
    let (res, guest, _) = process(&runtime(), "lwc_runaway", 3, "handles").await;
    let err = format!("{:#}", res.unwrap_err());
    assert!(err.contains(&format!("east holds {MAX_GUEST_RESOURCES} host resources")), "{err}");
    assert!(!guest.forwarded);
}

#[tokio::test]
async fn a_spinning_guest_is_interrupted_at_its_deadline() {
    let started = std::time::Instant::now();
    let (res, ..) = process(&runtime(), "lwc_runaway", 3, "spin").await;
    let err = res.unwrap_err();
    assert_eq!(err.downcast_ref::<wasmtime::Trap>(), Some(&wasmtime::Trap::Interrupt), "{err:#}");
    // Bounds a failure only: the deadline is 100 ms.
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn host_chaos_traps_a_forward_naming_host_and_component() {
    let rt = runtime();
    let pre = rt.load_probe(&wasm("lwc_probe")).unwrap();
    let node = testing::node("east").await;
    let mut store = rt.store(GuestCtx::with_handles(GuestHandles::new(&node, Arc::from("east"))));
    let probe = pre.instantiate_async(&mut store).await.unwrap();
    store.data_mut().guest.begin(call(1, 5), true);
    let res = probe.wasmcloud_lwc_packet_looper().call_process(&mut store, 1, 5, 0, None).await;
    let err = format!("{:#}", res.unwrap_err());
    assert!(err.contains("chaos: host east trapped east before it forwarded"), "{err}");
    assert!(!store.data().guest.forwarded);
}
