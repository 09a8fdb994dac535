//! CPU time used by processes, from `/proc/<pid>/stat` (user + system, all
//! threads). The bench divides it by hops: CPU per hop is steadier than
//! hops/s on a shared machine.

use anyhow::{bail, Context, Result};
use std::time::Duration;

/// User + system CPU time process `pid` has used so far.
pub fn cpu_time(pid: u32) -> Result<Duration> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    let ticks = stat_ticks(&text).with_context(|| format!("{path}: unexpected contents"))?;
    Ok(ticks_to_duration(ticks, clock_ticks_per_s()))
}

/// The sum of [`cpu_time`] over `pids`.
pub fn total_cpu_time(pids: &[u32]) -> Result<Duration> {
    pids.iter().map(|&p| cpu_time(p)).sum()
}

/// utime + stime (fields 14 and 15, in clock ticks) of a `stat` line. The
/// command name (field 2) is in parentheses and may hold spaces or
/// parentheses itself, so fields are counted after the last `)`.
fn stat_ticks(text: &str) -> Result<u64> {
    let Some(close) = text.rfind(')') else {
        bail!("no command name in parentheses");
    };
    // After the name: field 3 (state) is index 0, so field n is index n - 3.
    let fields: Vec<&str> = text[close + 1..].split_whitespace().collect();
    let field = |n: usize| -> Result<u64> {
        let v = fields.get(n - 3).with_context(|| format!("only {} fields", fields.len() + 2))?;
        v.parse().with_context(|| format!("field {n} is {v:?}, not a number"))
    };
    Ok(field(14)? + field(15)?)
}

fn clock_ticks_per_s() -> u64 {
    // SAFETY: sysconf only reads a configuration value.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

fn ticks_to_duration(ticks: u64, per_s: u64) -> Duration {
    Duration::from_nanos(ticks.saturating_mul(1_000_000_000) / per_s.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_utime_and_stime_after_the_name() {
        let line = "4242 (tokio (rt) x) S 1 4242 4242 0 -1 4194560 1234 0 0 0 170 30 0 0 20 0 9 0 555 100 10 18446744073709551615";
        assert_eq!(stat_ticks(line).unwrap(), 200);
        assert_eq!(ticks_to_duration(200, 100), Duration::from_secs(2));
    }

    #[test]
    fn a_short_or_garbled_line_is_an_error() {
        assert!(stat_ticks("12 (x) S 1 2").is_err());
        assert!(stat_ticks("no parentheses").is_err());
        let garbled = "1 (x) S 1 1 1 0 -1 0 0 0 0 0 abc 30 0";
        assert!(stat_ticks(garbled).unwrap_err().to_string().contains("field 14"));
    }

    #[test]
    fn busy_work_shows_as_cpu_time() {
        let before = cpu_time(std::process::id()).unwrap();
        // Spin until a clock tick of CPU shows: on a crowded machine 100 ms
        // of wall time may bring none. The deadline only bounds a failure.
        let start = std::time::Instant::now();
        let mut x = 0u64;
        let mut after = before;
        while after <= before && start.elapsed() < Duration::from_secs(20) {
            for _ in 0..1_000_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(1));
            }
            after = cpu_time(std::process::id()).unwrap();
        }
        assert!(after > before, "{before:?} → {after:?}");
        assert!(cpu_time(u32::MAX).is_err());
    }
}
