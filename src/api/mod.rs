//! The HTTP routing API (feature `server`): one shared [`Router`] behind JSON endpoints.
//!
//! [`app`] builds the axum application from an [`AppState`]; serving it (address, shutdown)
//! is the binary's business (`qroute serve`), so tests drive the same application without a
//! socket.
//!
//! | endpoint | what |
//! |---|---|
//! | `POST /v1/route` | `{"qasm": "..."}` or `{"features": {"num_qubits": 5, ...}}`, with optional `"constraints"` → a recommendation |
//! | `POST /v1/plan` | `{"circuits": [{"name", "qasm"}], "slots": "statevector=2,mps-64=1", "objective", "deadline", "budget", "constraints"}` → a plan |
//! | `GET /v1/backends` | the backends, whether each is available and modelled |
//! | `GET /v1/stats` | routing statistics, cost, real-time load, debug info |
//! | `POST /v1/jobs` | `{"name", "qasm", "constraints"}` → 202 and the job (its id); routed and executed by a worker |
//! | `GET /v1/jobs/{id}` | the job: status, counts, timings, cost, attempts |
//! | `POST /v1/models/reload` | reload the model set from its directory; the old one stays if that fails |
//! | `GET /healthz`, `GET /readyz` | liveness, readiness |
//! | `GET /metrics` | Prometheus text: request durations per endpoint (buckets from 50 µs), decisions per backend, prediction error, in-flight work and queue per backend, queued jobs |
//! | `GET /openapi.json` | OpenAPI 3.1 description of all of this |
//!
//! Errors are JSON, `{"error": {"status": 400, "message": "..."}}`: 400 for malformed JSON or
//! OpenQASM (with the position), 401/403 for a missing or invalid key / a key without the
//! scope ([`auth`]), 404 for an unknown endpoint or job, 413 for a body over the limit, 422 for
//! a circuit over the configured qubit or gate limit (naming it) or constraints out of range,
//! 429 over a key's rate (with `Retry-After`), 500 for a model set that fails to reload, 503
//! for a full job queue or a request over the time limit.

pub mod auth;
mod handlers;
pub mod jobs;
mod metrics;
pub mod openapi;
mod server;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Json;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;

use crate::circuit::qasm::ParseLimits;
use crate::route::Router;

/// Limits on what a request may ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ApiLimits {
    /// Largest request body, bytes.
    pub max_body_bytes: usize,
    /// Most qubits of a circuit to route.
    pub max_qubits: u32,
    /// Most operations of a circuit to route.
    pub max_gates: u64,
}

/// Longest name a request may give a job or a plan's circuit, bytes: names are kept (a job
/// for as long as it is retained) and echoed in answers.
pub const MAX_NAME_BYTES: usize = 256;

/// Most bytes of counts one job may produce: shots × classical bits (each distinct outcome
/// is a string of one character per bit), 256 MiB.
pub const MAX_COUNT_BYTES: u64 = 256 << 20;

impl ApiLimits {
    /// What the parser may spend on one request's circuit: its size, qubits and operations
    /// as configured, as many classical bits as qubits, registers and gate declarations in
    /// proportion, and no includes beyond the built-in qelib1.inc (a request must not read
    /// the server's files).
    pub fn parse_limits(&self) -> ParseLimits {
        let qubits = self.max_qubits as u64;
        ParseLimits {
            max_source_bytes: self.max_body_bytes as u64,
            max_total_source_bytes: self.max_body_bytes as u64,
            max_qubits: qubits,
            max_clbits: qubits,
            max_registers: 2 * qubits,
            max_gate_definitions: 10_000,
            max_gate_args: qubits.max(64),
            max_ops: self.max_gates,
            max_include_depth: 0,
            max_includes: 0,
            ..ParseLimits::default()
        }
    }
}

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            max_body_bytes: 8 << 20,
            max_qubits: 4096,
            max_gates: 1_000_000,
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The router.
    pub router: Arc<Router>,
    /// Where the model set is reloaded from.
    pub model_dir: PathBuf,
    /// Request limits.
    pub limits: ApiLimits,
    /// Request-duration histograms for `/metrics`.
    pub metrics: Arc<metrics::HttpMetrics>,
    /// Keys, rates and the request timeout.
    pub api: Arc<ApiConfig>,
    /// Token buckets per key.
    pub limiter: Arc<auth::Limiter>,
    /// Token buckets of failed authentications per client address.
    pub failed_auth: Arc<auth::Limiter>,
    /// Job execution; `None` refuses `POST /v1/jobs`.
    pub jobs: Option<Arc<Jobs>>,
}

impl AppState {
    /// State for a router whose model set lives in `model_dir`.
    pub fn new(router: Arc<Router>, model_dir: PathBuf, limits: ApiLimits) -> AppState {
        AppState {
            router,
            model_dir,
            limits,
            metrics: Arc::default(),
            api: Arc::default(),
            limiter: Arc::default(),
            failed_auth: Arc::default(),
            jobs: None,
        }
    }

    /// With keys, rates and a request timeout.
    pub fn with_api(mut self, api: ApiConfig) -> AppState {
        self.api = Arc::new(api);
        self
    }

    /// With job execution.
    pub fn with_jobs(mut self, jobs: Arc<Jobs>) -> AppState {
        self.jobs = Some(jobs);
        self
    }
}

pub use auth::ApiConfig;
pub use jobs::{Jobs, JobsConfig};
pub use metrics::{BUCKETS, HttpMetrics};
pub use server::{ServeOptions, serve};

/// The application: every endpoint, keys and rates on `/v1/*`, the request timeout on the
/// endpoints that wait for blocking work, the body limit everywhere.
pub fn app(state: AppState) -> axum::Router {
    let limit = state.limits.max_body_bytes;
    // The request timeout can only end a handler at an await point: those that wait for
    // blocking work (planning, reloading) get it; the others answer synchronously in well
    // under a millisecond, and a timer per request would cost them a sixth of their rate.
    let timeout = || axum::middleware::from_fn_with_state(state.clone(), auth::timeout);
    let v1 = axum::Router::new()
        .route("/v1/route", post(handlers::route))
        .route("/v1/plan", post(handlers::plan).layer(timeout()))
        .route("/v1/jobs", post(handlers::submit_job))
        .route("/v1/jobs/{id}", get(handlers::job))
        .route("/v1/backends", get(handlers::backends))
        .route("/v1/stats", get(handlers::stats))
        .route("/v1/models/reload", post(handlers::reload).layer(timeout()));
    // An open API without rates has nothing to check: no layer, no cost per request.
    let v1 = if state.api.keys.is_empty() && state.api.rate.is_none() {
        v1
    } else {
        v1.route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::guard,
        ))
    };
    axum::Router::new()
        .merge(v1)
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz))
        .route("/metrics", get(metrics::metrics))
        .route("/openapi.json", get(handlers::openapi))
        .fallback(handlers::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// A request that failed, as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// What went wrong.
    pub message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    status: u16,
    message: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                status: self.status.as_u16(),
                message: &self.message,
            },
        };
        (self.status, Json(body)).into_response()
    }
}
