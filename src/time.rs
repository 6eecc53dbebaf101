//! Wall-clock time as qroute stores it: microseconds since the Unix epoch (UTC), and its
//! calendar forms. One definition for telemetry rows, date partitions, job timestamps and
//! model sets.

/// Microseconds since the Unix epoch, now (0 on a clock set before 1970).
pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// `YYYY-MM-DD` (UTC) of a timestamp in microseconds.
pub fn date_of(ts_us: i64) -> String {
    // Howard Hinnant's civil-from-days.
    let z = ts_us.div_euclid(86_400_000_000) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a timestamp in microseconds.
pub fn rfc3339_of(us: i64) -> String {
    let secs = us.div_euclid(1_000_000).rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        date_of(us),
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_forms_of_known_instants() {
        assert_eq!(date_of(0), "1970-01-01");
        assert_eq!(rfc3339_of(0), "1970-01-01T00:00:00Z");
        // 2000-02-29T12:34:56Z, a leap day.
        assert_eq!(rfc3339_of(951_827_696_000_000), "2000-02-29T12:34:56Z");
        // Before the epoch, the floor of the day.
        assert_eq!(rfc3339_of(-1), "1969-12-31T23:59:59Z");
    }
}
