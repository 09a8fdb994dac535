//! The probe component alone, in wasmtime, with its imports stubbed (in the
//! spirit of wadge): it sets the link name to the route, forwards with
//! ttl − 1, and forwards nothing at ttl 0.

use std::sync::{Arc, Mutex};
use wasmtime::component::{HasSelf, Linker, Resource, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

wasmtime::component::bindgen!({
    path: "../components/wit",
    world: "probe",
    imports: { default: trappable },
    with: {
        "wasmcloud:bus/lattice.call-target-interface": Target,
    },
    anyhow: true,
});

use wasi::logging::logging::Level;
use wasmcloud::bus::lattice;
use wasmcloud::lwc::packet_looper;

pub struct Target(String);

/// What the probe did, as its imports saw it.
#[derive(Default, Debug, Clone)]
struct Record {
    link_names: Vec<(String, Vec<String>)>,
    forwards: Vec<(u64, u64, u16, Option<String>)>,
    logs: Vec<String>,
}

struct Stub {
    wasi: WasiCtx,
    table: ResourceTable,
    record: Arc<Mutex<Record>>,
}

impl WasiView for Stub {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl lattice::Host for Stub {
    fn set_link_name(&mut self, name: String, interfaces: Vec<Resource<Target>>) -> anyhow::Result<()> {
        let mut names = Vec::new();
        for i in interfaces {
            names.push(self.table.delete(i)?.0);
        }
        self.record.lock().unwrap().link_names.push((name, names));
        Ok(())
    }
}

impl lattice::HostCallTargetInterface for Stub {
    fn new(&mut self, ns: String, pkg: String, iface: String) -> anyhow::Result<Resource<Target>> {
        Ok(self.table.push(Target(format!("{ns}:{pkg}/{iface}")))?)
    }
    fn drop(&mut self, r: Resource<Target>) -> anyhow::Result<()> {
        self.table.delete(r)?;
        Ok(())
    }
}

impl packet_looper::Host for Stub {
    fn process(&mut self, packet: u64, ttl: u64, chaos: u16, route: Option<String>) -> anyhow::Result<()> {
        self.record.lock().unwrap().forwards.push((packet, ttl, chaos, route));
        Ok(())
    }
}

impl wasi::logging::logging::Host for Stub {
    fn log(&mut self, _level: Level, context: String, message: String) -> anyhow::Result<()> {
        self.record.lock().unwrap().logs.push(format!("{context}: {message}"));
        Ok(())
    }
}

/// Call the probe once; returns what it did and whether it trapped.
fn call(packet: u64, ttl: u64, chaos: u16, route: Option<&str>) -> (Record, bool) {
    let engine = Engine::default();
    let component = wasmtime::component::Component::from_file(&engine, lwc_tests::wasm("lwc_probe")).unwrap();
    let mut linker = Linker::<Stub>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
    Probe::add_to_linker::<_, HasSelf<Stub>>(&mut linker, |s| s).unwrap();
    let record = Arc::new(Mutex::new(Record::default()));
    let stub = Stub {
        wasi: WasiCtx::builder().build(),
        table: ResourceTable::new(),
        record: record.clone(),
    };
    let mut store = Store::new(&engine, stub);
    let probe = Probe::instantiate(&mut store, &component, &linker).unwrap();
    let trapped = probe
        .wasmcloud_lwc_packet_looper()
        .call_process(&mut store, packet, ttl, chaos, route)
        .is_err();
    let r = record.lock().unwrap().clone();
    (r, trapped)
}

#[test]
fn sets_the_link_name_to_the_route_and_forwards_ttl_minus_one() {
    let (r, trapped) = call(42, 5, 0, Some("special"));
    assert!(!trapped);
    assert_eq!(
        r.link_names,
        vec![("special".to_string(), vec!["wasmcloud:lwc/packet-looper".to_string()])]
    );
    assert_eq!(r.forwards, vec![(42, 4, 0, Some("special".to_string()))]);
    assert_eq!(r.logs.len(), 1, "logs once through wasi:logging: {:?}", r.logs);
}

#[test]
fn no_route_means_default() {
    let (r, _) = call(7, 1, 0, None);
    assert_eq!(r.link_names[0].0, "default");
    assert_eq!(r.forwards, vec![(7, 0, 0, Some("default".to_string()))]);
}

#[test]
fn ttl_zero_forwards_nothing() {
    let (r, trapped) = call(42, 0, 100, Some("special"));
    assert!(!trapped, "the last stop returns before the chaos dice");
    assert!(r.link_names.is_empty());
    assert!(r.forwards.is_empty());
}

#[test]
fn chaos_100_traps_after_forwarding() {
    let (r, trapped) = call(42, 3, 100, Some("default"));
    assert!(trapped);
    assert_eq!(r.forwards.len(), 1, "forwarded before the trap");
}
