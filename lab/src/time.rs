//! Wall-clock seconds as UTC text, for report names and headers (no
//! time-zone database: UTC only).

/// (year, month, day, hour, minute, second) of `unix_s`, proleptic
/// Gregorian: the well-known days-to-civil era arithmetic.
fn civil(unix_s: u64) -> (i64, i64, i64, u64, u64, u64) {
    let (days, rem) = (unix_s / 86_400, unix_s % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, rem / 3_600, rem % 3_600 / 60, rem % 60)
}

/// `20261202T052437Z`: for directory names.
pub fn stamp(unix_s: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(unix_s);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
}

/// `2026-12-02 05:24:37 UTC`: for people.
pub fn readable(unix_s: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(unix_s);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_text() {
        assert_eq!(stamp(0), "19700101T000000Z");
        assert_eq!(stamp(951_782_400), "20000229T000000Z");
        assert_eq!(stamp(1_796_189_077), "20261202T052437Z");
        assert_eq!(readable(1_796_189_077), "2026-12-02 05:24:37 UTC");
    }
}
