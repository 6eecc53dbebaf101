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
//! | `POST /v1/models/reload` | reload the model set from its directory; the old one stays if that fails |
//! | `GET /healthz`, `GET /readyz` | liveness, readiness |
//! | `GET /metrics` | Prometheus text: request durations per endpoint (buckets from 50 µs), decisions per backend, prediction error, in-flight work and queue per backend |
//!
//! Errors are JSON, `{"error": {"status": 400, "message": "..."}}`: 400 for malformed JSON or
//! OpenQASM (with the position), 413 for a body over the limit, 422 for a circuit over the
//! configured qubit or gate limit (naming it) or constraints out of range, 500 for a model set
//! that fails to reload.

mod handlers;
mod metrics;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Json;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;

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
}

impl AppState {
    /// State for a router whose model set lives in `model_dir`.
    pub fn new(router: Arc<Router>, model_dir: PathBuf, limits: ApiLimits) -> AppState {
        AppState {
            router,
            model_dir,
            limits,
            metrics: Arc::default(),
        }
    }
}

pub use metrics::{BUCKETS, HttpMetrics};

/// The application: every endpoint, with the body limit.
pub fn app(state: AppState) -> axum::Router {
    let limit = state.limits.max_body_bytes;
    axum::Router::new()
        .route("/v1/route", post(handlers::route))
        .route("/v1/plan", post(handlers::plan))
        .route("/v1/backends", get(handlers::backends))
        .route("/v1/stats", get(handlers::stats))
        .route("/v1/models/reload", post(handlers::reload))
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz))
        .route("/metrics", get(metrics::metrics))
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
