//! `GET /metrics`: Prometheus text — request durations per endpoint (histograms with
//! sub-millisecond buckets), decisions per backend, prediction error, load.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::http::HeaderValue;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;

/// Upper bounds of the duration buckets, seconds.
pub const BUCKETS: [f64; 14] = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0,
];

#[derive(Debug, Clone, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// Request-duration histograms by (method, endpoint, status).
#[derive(Debug, Default)]
pub struct HttpMetrics {
    by_route: Mutex<BTreeMap<(String, String, u16), Histogram>>,
}

impl HttpMetrics {
    fn record(&self, method: &str, path: &str, status: u16, seconds: f64) {
        let mut m = self.by_route.lock().unwrap_or_else(|p| p.into_inner());
        let h = m
            .entry((method.to_string(), path.to_string(), status))
            .or_default();
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                h.counts[i] += 1;
            }
        }
        h.sum += seconds;
        h.count += 1;
    }
}

tokio::task_local! {
    /// The id of the request a handler answers (see [`request_id`]).
    static REQUEST_ID: u64;
}

/// The id of the request being answered, when called while answering one: the number in its
/// `x-request-id` header and in its log line.
pub(crate) fn request_id() -> Option<u64> {
    REQUEST_ID.try_with(|id| *id).ok()
}

/// Middleware timing every request under its route pattern (not its raw path, so that
/// arbitrary paths do not create series). Times each request, gives it an id (the `x-request-id` response header), and logs one
/// line per request: id, method, route, status and milliseconds; a 5xx at `error`, a 4xx at
/// `info`, others at `debug`.
pub(super) async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    let method = req.method().to_string();
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let t = Instant::now();
    let mut res = REQUEST_ID.scope(id, next.run(req)).await;
    let secs = t.elapsed().as_secs_f64();
    let status = res.status().as_u16();
    state.metrics.record(&method, &path, status, secs);
    res.headers_mut()
        .insert("x-request-id", HeaderValue::from(id));
    let ms = secs * 1e3;
    match status {
        500.. => tracing::error!(request_id = id, %method, %path, status, ms, "request"),
        400..500 => tracing::info!(request_id = id, %method, %path, status, ms, "request"),
        _ => tracing::debug!(request_id = id, %method, %path, status, ms, "request"),
    }
    res
}

fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub(super) async fn metrics(State(state): State<AppState>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP qroute_http_request_duration_seconds Time to answer a request.\n\
         # TYPE qroute_http_request_duration_seconds histogram"
    );
    {
        let m = state
            .metrics
            .by_route
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for ((method, path, status), h) in m.iter() {
            let l = format!(
                "method=\"{}\",path=\"{}\",status=\"{status}\"",
                label(method),
                label(path)
            );
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "qroute_http_request_duration_seconds_bucket{{{l},le=\"{b}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "qroute_http_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "qroute_http_request_duration_seconds_sum{{{l}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "qroute_http_request_duration_seconds_count{{{l}}} {}",
                h.count
            );
        }
    }
    let s = state.router.stats();
    let _ = writeln!(
        out,
        "# HELP qroute_decisions_total Routing decisions by chosen backend.\n\
         # TYPE qroute_decisions_total counter"
    );
    for (b, n) in &s.routing.by_backend {
        let _ = writeln!(
            out,
            "qroute_decisions_total{{backend=\"{}\"}} {n}",
            label(b)
        );
    }
    let _ = writeln!(
        out,
        "# HELP qroute_prediction_median_ape Median |predicted - actual| / actual of recent \
         executions.\n# TYPE qroute_prediction_median_ape gauge"
    );
    for (b, e) in &s.debug.prediction_error {
        if let Some(v) = e.median_ape {
            let _ = writeln!(
                out,
                "qroute_prediction_median_ape{{backend=\"{}\"}} {v}",
                label(b)
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP qroute_backend_in_flight Jobs in flight per backend.\n\
         # TYPE qroute_backend_in_flight gauge"
    );
    for (b, l) in &s.realtime.load {
        let _ = writeln!(
            out,
            "qroute_backend_in_flight{{backend=\"{}\"}} {}",
            label(b),
            l.in_flight
        );
    }
    let _ = writeln!(
        out,
        "# HELP qroute_backend_queue_seconds Expected wait for the work in flight per backend.\n\
         # TYPE qroute_backend_queue_seconds gauge"
    );
    for (b, l) in &s.realtime.load {
        let secs = l.queue_ms / 1e3;
        let _ = writeln!(
            out,
            "qroute_backend_queue_seconds{{backend=\"{}\"}} {}",
            label(b),
            if secs.is_finite() {
                secs.to_string()
            } else {
                "+Inf".to_string()
            }
        );
    }
    let _ = writeln!(
        out,
        "# HELP qroute_queue_backlog Jobs in a backend's shared queue (waiting or running), \
         when it runs on workers behind one.\n# TYPE qroute_queue_backlog gauge"
    );
    for (b, l) in &s.realtime.load {
        if let Some(r) = &l.remote {
            let _ = writeln!(
                out,
                "qroute_queue_backlog{{backend=\"{}\"}} {}",
                label(b),
                r.backlog
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP qroute_model_swaps_total Model sets swapped in.\n\
         # TYPE qroute_model_swaps_total counter\nqroute_model_swaps_total {}",
        s.routing.model_swaps
    );
    let c = s.routing.prediction_cache;
    let _ = writeln!(
        out,
        "# HELP qroute_prediction_cache_lookups_total Backend predictions looked up in the \
         prediction cache of the model set in use, by result.\n\
         # TYPE qroute_prediction_cache_lookups_total counter\n\
         qroute_prediction_cache_lookups_total{{result=\"hit\"}} {}\n\
         qroute_prediction_cache_lookups_total{{result=\"miss\"}} {}",
        c.hits, c.misses
    );
    if let Some(j) = &state.jobs {
        let _ = writeln!(
            out,
            "# HELP qroute_jobs_queued Jobs waiting for a worker.\n\
             # TYPE qroute_jobs_queued gauge\nqroute_jobs_queued {}",
            j.queued()
        );
    }
    out
}
