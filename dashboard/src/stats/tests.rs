use super::*;

fn hist(values: &[u64]) -> Histogram<u64> {
    let mut h = telemetry::histogram();
    for v in values {
        h.record(*v).unwrap();
    }
    h
}

const S: u64 = 1_000_000_000;

#[test]
fn merges_intervals_into_window_and_run() {
    let mut st = Stats::new(10 * S);
    let key = SeriesKey::edge("east", "north");
    st.add(key.clone(), 0, S, hist(&[100, 200, 300]));
    st.add(key.clone(), S, 2 * S, hist(&[400, 10_000]));
    let s = &st.series[&key];
    assert_eq!(s.window_pct.count, 5);
    assert_eq!(s.run_pct.count, 5);
    assert_eq!(s.window_pct.p50, 300);
    assert!((10_000..10_010).contains(&s.window_pct.max));
    assert!((s.last_rate - 2.0).abs() < 1e-9);

    // Eleven seconds later the first interval has left the window; the
    // run keeps everything.
    st.expire(12 * S);
    let s = &st.series[&key];
    assert_eq!(s.window_pct.count, 2);
    assert_eq!(s.run_pct.count, 5);
    st.expire(13 * S);
    assert_eq!(st.series[&key].window_pct.count, 0);
    assert_eq!(st.series[&key].last_rate, 0.0);
    assert_eq!(st.series[&key].run_pct.count, 5);
}

#[test]
fn reset_window_keeps_the_run() {
    let mut st = Stats::new(10 * S);
    st.add(SeriesKey::Lifetime, 0, S, hist(&[5_000]));
    st.reset_window();
    assert_eq!(st.series[&SeriesKey::Lifetime].window_pct, Percentiles::default());
    assert_eq!(st.series[&SeriesKey::Lifetime].run_pct.count, 1);
}

#[test]
fn percentiles_are_hdr_accurate() {
    let values: Vec<u64> = (1..=1000).collect();
    let p = Percentiles::of(&hist(&values));
    assert_eq!(p.count, 1000);
    assert_eq!(p.p50, 500);
    assert_eq!(p.p90, 900);
    assert_eq!(p.p99, 990);
    assert_eq!(p.p999, 999);
    assert_eq!(p.max, 1000);
}

#[test]
fn buckets_cover_every_value() {
    let h = hist(&[10, 20, 100, 1_000, 1_000, 50_000]);
    // Five distinct values: five bars at most.
    let b = buckets(&h, 12);
    assert_eq!(b.len(), 5);
    assert_eq!(b.iter().map(|b| b.count).sum::<u64>(), 6);
    assert!(b.windows(2).all(|w| w[0].high == w[1].low));
    assert!(b[0].low <= 10 && b[4].high >= 49_000);
    let wide = buckets(&hist(&(1..=10_000).collect::<Vec<_>>()), 12);
    assert_eq!(wide.len(), 12);
    assert_eq!(wide.iter().map(|b| b.count).sum::<u64>(), 10_000);
    assert!(buckets(&telemetry::histogram(), 10).is_empty());
    // A single value makes one bar.
    let one = buckets(&hist(&[7]), 5);
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].count, 1);
}
