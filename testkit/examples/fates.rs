//! Count fates on a running ring's event stream: which packets were
//! injected, and how many `expired` / `lost` events each got.
//!
//! `cargo run --release -p lwc-testkit --example fates -- RING_ENV N [SECS]`
//! subscribes with the ring's URL and token (ring.env), waits until N
//! packets were injected and all of them have a fate (or SECS, default 60,
//! pass), then prints a line per kind and exits 0 when every injected
//! packet has exactly one fate.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::time::Duration;

use lwc_testkit::Tap;
use lwc_wire::events::PacketEvent;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [env_path, n, rest @ ..] = args.as_slice() else {
        bail!("usage: fates RING_ENV N [SECS]");
    };
    let n: usize = n.parse().context("N: a number of packets")?;
    let secs: u64 = rest.first().map_or(Ok(60), |s| s.parse()).context("SECS: a number")?;
    let text = std::fs::read_to_string(env_path).with_context(|| format!("cannot read {env_path}"))?;
    let get = |k: &str| text.lines().find_map(|l| l.strip_prefix(k)?.strip_prefix('=')).unwrap_or("").to_string();
    let (url, token, lattice) = (get("LWC_NATS_URL"), get("LWC_NATS_TOKEN"), get("LWC_LATTICE"));
    let client = async_nats::ConnectOptions::new()
        .token(token)
        .subscription_capacity(1 << 20)
        .connect(url.as_str())
        .await
        .with_context(|| format!("cannot connect to {url}"))?;
    let tap = Tap::start(&client, &format!("lwc.{lattice}.events.packet")).await?;
    eprintln!("fates: listening on lwc.{lattice}.events.packet at {url}; inject {n} packets now");
    let done = |events: &[PacketEvent]| {
        let t = tally(events);
        t.injected.len() >= n && t.injected.keys().all(|p| t.fates.get(p).copied().unwrap_or(0) >= 1)
    };
    let finished = lwc_testkit::wait::until_async(Duration::from_secs(secs), "every fate", || Ok(done(&tap.events()).then_some(()))).await;
    let t = tally(&tap.events());
    let exactly_one = t.injected.keys().filter(|p| t.fates.get(p) == Some(&1)).count();
    let extra: usize = t.fates.values().filter(|c| **c > 1).count();
    println!(
        "injected {}  expired {}  lost {}  with exactly one fate {}  with more than one {}  without {}",
        t.injected.len(),
        t.expired,
        t.lost,
        exactly_one,
        extra,
        t.injected.keys().filter(|p| !t.fates.contains_key(p)).count()
    );
    if let Err(e) = finished {
        bail!("{e}");
    }
    if exactly_one != t.injected.len() || extra > 0 {
        bail!("not exactly one fate per packet");
    }
    Ok(())
}

#[derive(Default)]
struct Tally {
    injected: BTreeMap<u64, ()>,
    fates: BTreeMap<u64, usize>,
    expired: usize,
    lost: usize,
}

fn tally(events: &[PacketEvent]) -> Tally {
    let mut t = Tally::default();
    for e in events {
        match e {
            PacketEvent::Injected(i) => {
                t.injected.insert(i.packet, ());
            }
            PacketEvent::Expired(x) => {
                t.expired += 1;
                *t.fates.entry(x.packet).or_default() += 1;
            }
            PacketEvent::Lost(l) => {
                t.lost += 1;
                *t.fates.entry(l.packet).or_default() += 1;
            }
            _ => {}
        }
    }
    t
}
