//! Logs of the long-running services, `serve` and `worker`: one line per event on stderr,
//! filtered by `RUST_LOG` (`info` unless set; e.g. `RUST_LOG=qroute=debug` or
//! `RUST_LOG=warn,qroute::queue=info`), as text or, with `QROUTE_LOG_FORMAT=json`, JSON lines
//! with the event's fields.
//!
//! Events carry fields, not prose: `request_id`, `method`, `path`, `status`, `ms` for HTTP;
//! `job`, `backend`, `attempt`, `status` for jobs.

use std::str::FromStr;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The filter of a `RUST_LOG` value: comma-separated `level` or `target=level` directives.
/// An unusable value falls back to `info`, said once on stderr.
pub fn filter(value: Option<&str>) -> Targets {
    let default = Targets::new().with_default(tracing::Level::INFO);
    match value {
        None => default,
        Some(v) => Targets::from_str(v).unwrap_or_else(|e| {
            eprintln!("warning: RUST_LOG={v:?} is not a log filter ({e}); logging at info");
            default
        }),
    }
}

/// Installs the logger for this process (once; later calls do nothing).
pub fn init() {
    let filter = filter(std::env::var("RUST_LOG").ok().as_deref());
    let json = std::env::var("QROUTE_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let registry = tracing_subscriber::registry().with(filter);
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false);
    let _ = if json {
        registry.with(fmt.json().flatten_event(true)).try_init()
    } else {
        registry.with(fmt).try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn rust_log_directives_set_levels_per_target() {
        let f = filter(Some("warn,qroute::queue=debug"));
        assert!(f.would_enable("qroute::queue::worker", &Level::DEBUG));
        assert!(!f.would_enable("qroute::api", &Level::INFO));
        assert!(f.would_enable("qroute::api", &Level::WARN));
        let d = filter(None);
        assert!(d.would_enable("qroute::api", &Level::INFO));
        assert!(!d.would_enable("qroute::api", &Level::DEBUG));
    }
}
