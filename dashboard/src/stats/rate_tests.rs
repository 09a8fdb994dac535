//! The `/s` rate: each host's latest second, summed over hosts, and 0 soon
//! after a series stops arriving (it used to keep its last value for the
//! whole window, beside a header at 0 hops/s).

use super::*;

const S: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * S;

fn hist(n: u64) -> Histogram<u64> {
    let mut h = telemetry::histogram();
    h.record_n(500, n).unwrap();
    h
}

#[test]
fn a_series_that_stops_arriving_falls_to_zero_within_rate_ns() {
    let mut st = Stats::new(60 * S);
    let key = SeriesKey::edge("east", "north");
    for i in 0..5 {
        st.add(key.clone(), T0 + i * S, T0 + (i + 1) * S, hist(87));
        st.expire(T0 + (i + 1) * S + S / 10);
        assert_eq!(st.series[&key].last_rate, 87.0, "second {i}");
    }
    let last_end = T0 + 5 * S;
    // Late but within a report period and its grace: still the last second.
    st.expire(last_end + RATE_NS - S / 10);
    assert_eq!(st.series[&key].last_rate, 87.0);
    // Nothing more: the values are still in the 60 s window, the rate is 0.
    st.expire(last_end + RATE_NS);
    let s = &st.series[&key];
    assert_eq!(s.window_pct.count, 5 * 87);
    assert_eq!(s.last_rate, 0.0);
    // And it comes back with the next interval.
    st.add(key.clone(), T0 + 9 * S, T0 + 10 * S, hist(3));
    assert_eq!(st.series[&key].last_rate, 3.0);
}

#[test]
fn hosts_reporting_one_series_add_up_each_once() {
    let mut st = Stats::new(60 * S);
    let all = SeriesKey::AllEdges;
    // Five hosts, out of step by 0.2 s, each at 100 values a second.
    for second in 0..3u64 {
        for host in 0..5u64 {
            let start = T0 + second * S + host * S / 5;
            st.add(all.clone(), start, start + S, hist(100));
        }
    }
    st.expire(T0 + 4 * S);
    assert_eq!(st.series[&all].last_rate, 500.0);
}

#[test]
fn an_idle_second_between_two_busy_ones_counts_only_the_newest() {
    let mut st = Stats::new(60 * S);
    let key = SeriesKey::Invoke("north".into());
    st.add(key.clone(), T0, T0 + S, hist(10));
    // [T0+1s, T0+2s) recorded nothing, so the host left the series out.
    st.add(key.clone(), T0 + 2 * S, T0 + 3 * S, hist(4));
    st.expire(T0 + 3 * S + S / 10);
    assert_eq!(st.series[&key].last_rate, 4.0);
}
