//! Bounds every input is checked against before it is used: durations in seconds and shot
//! counts, shared by the command line, the configuration, the HTTP API, the executor
//! protocol and the Redis queue, so that a number from any of them is refused with a message
//! instead of panicking (`Duration::from_secs_f64(1e300)` does) or sizing an allocation.

use std::time::Duration;

/// Longest duration accepted anywhere, seconds (about 31 years).
pub const MAX_SECONDS: f64 = 1e9;

/// Most shots one run may sample. Counts hold one entry per distinct outcome, so a run's
/// result grows with its shots; this keeps one request or flag from asking for gigabytes.
pub const MAX_SHOTS: u64 = 100_000_000;

/// Most threads one run may ask for.
pub const MAX_THREADS: usize = 1024;

/// A count over its bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{what} must be at most {max}, got {value}")]
pub struct OverBound {
    /// What was counted (`shots`, `threads`, ...).
    pub what: &'static str,
    /// The count given.
    pub value: u64,
    /// The largest accepted.
    pub max: u64,
}

/// `value` when it is at most `max`.
pub fn at_most(what: &'static str, value: u64, max: u64) -> Result<u64, OverBound> {
    if value > max {
        Err(OverBound { what, value, max })
    } else {
        Ok(value)
    }
}

/// Shots within [`MAX_SHOTS`].
pub fn shots(value: u64) -> Result<u64, OverBound> {
    at_most("shots", value, MAX_SHOTS)
}

/// Threads within [`MAX_THREADS`] (0 meaning all cores is within).
pub fn threads(value: usize) -> Result<usize, OverBound> {
    at_most("threads", value as u64, MAX_THREADS as u64).map(|_| value)
}

/// `x` seconds as a duration when it is finite and in `[0, MAX_SECONDS]`.
pub fn seconds(x: f64) -> Option<Duration> {
    if x.is_finite() && (0.0..=MAX_SECONDS).contains(&x) {
        Duration::try_from_secs_f64(x).ok()
    } else {
        None
    }
}

/// `x` seconds as a duration when it is finite and in `(0, MAX_SECONDS]`.
pub fn positive_seconds(x: f64) -> Option<Duration> {
    if x > 0.0 { seconds(x) } else { None }
}

/// A number of seconds that is not one: negative, zero where a positive one is needed, not
/// finite, or beyond [`MAX_SECONDS`].
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("{what} must be a positive number of seconds up to {MAX_SECONDS:e}, got {value}")]
pub struct NotSeconds {
    /// What was given (a flag, a field).
    pub what: &'static str,
    /// The number given.
    pub value: f64,
}

/// `x` seconds given as `what`, as a positive duration: the one check of every duration a
/// user types (timeouts, deadlines, grace periods).
pub fn positive(what: &'static str, x: f64) -> Result<Duration, NotSeconds> {
    positive_seconds(x).ok_or(NotSeconds { what, value: x })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_refuse_what_would_panic_or_mean_nothing() {
        assert_eq!(seconds(1.5), Some(Duration::from_millis(1500)));
        assert_eq!(seconds(0.0), Some(Duration::ZERO));
        assert_eq!(positive_seconds(0.0), None);
        for x in [-1.0, f64::NAN, f64::INFINITY, 1e300, 1e10] {
            assert_eq!(seconds(x), None, "{x}");
            assert_eq!(positive_seconds(x), None, "{x}");
        }
        assert!(seconds(MAX_SECONDS).is_some());
        assert_eq!(positive("--timeout", 2.0), Ok(Duration::from_secs(2)));
        let e = positive("--timeout", -1.0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--timeout must be a positive number of seconds up to 1e9, got -1"
        );
    }
}
