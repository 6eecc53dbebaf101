//! The endpoints.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::jobs::JobView;
use super::{ApiError, AppState};
use crate::backend::Availability;
use crate::circuit::qasm::{ParseLimits, QasmParser};
use crate::features::{FEATURE_NAMES, Feature, Features, extract};
use crate::route::{Constraints, Recommendation, RouteError, RouterStats};

/// `POST /v1/route`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RouteRequest {
    /// OpenQASM 2 text.
    #[serde(default)]
    qasm: Option<String>,
    /// Features by name (every feature of the schema).
    #[serde(default)]
    features: Option<BTreeMap<String, f64>>,
    /// Strategy, deadline, cost limit, fidelity, shots, exclusions.
    #[serde(default)]
    constraints: Constraints,
}

fn json_error(e: JsonRejection) -> ApiError {
    let status = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        StatusCode::PAYLOAD_TOO_LARGE
    } else {
        StatusCode::BAD_REQUEST
    };
    ApiError::new(status, e.body_text())
}

fn features_from_map(map: &BTreeMap<String, f64>) -> Result<Features, ApiError> {
    if let Some(unknown) = map.keys().find(|k| Feature::from_name(k).is_none()) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("unknown feature `{unknown}` (docs/features.md lists the schema)"),
        ));
    }
    let missing: Vec<&str> = FEATURE_NAMES
        .iter()
        .copied()
        .filter(|n| !map.contains_key(*n))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("missing feature(s): {}", missing.join(", ")),
        ));
    }
    if let Some((k, v)) = map.iter().find(|(_, v)| !v.is_finite()) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("feature `{k}` is {v}; every value must be finite"),
        ));
    }
    let values = FEATURE_NAMES.iter().map(|n| map[*n]).collect();
    Features::from_values(values)
        .ok_or_else(|| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "feature schema mismatch"))
}

pub(super) async fn route(
    State(state): State<AppState>,
    body: Result<Json<RouteRequest>, JsonRejection>,
) -> Result<Json<Recommendation>, ApiError> {
    let Json(req) = body.map_err(json_error)?;
    let limits = state.limits;
    let too_big = |what: &str, n: f64, max: f64| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("the circuit has {n} {what}; this server routes at most {max}"),
        )
    };
    let router = &state.router;
    let result = match (&req.qasm, &req.features) {
        (Some(text), None) => {
            let circuit = parse_limited(text, &limits)?;
            let f = extract(&circuit);
            router.recommend_circuit(&circuit, &f, &req.constraints)
        }
        (None, Some(map)) => {
            let f = features_from_map(map)?;
            let q = f[Feature::NumQubits];
            if q > limits.max_qubits as f64 {
                return Err(too_big("qubits", q, limits.max_qubits as f64));
            }
            let g = f[Feature::GateCount];
            if g > limits.max_gates as f64 {
                return Err(too_big("gates", g, limits.max_gates as f64));
            }
            router.recommend(&f, &req.constraints)
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "give exactly one of `qasm` (OpenQASM 2 text) and `features` (an object of \
                 every feature by name)",
            ));
        }
    };
    match result {
        Ok(rec) => Ok(Json(rec)),
        Err(e @ RouteError::NoBackend { .. }) | Err(e @ RouteError::Constraint { .. }) => Err(
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
        ),
        Err(e) => Err(ApiError::new(StatusCode::BAD_REQUEST, e.to_string())),
    }
}

/// Parses request OpenQASM under the server's limits. No includes beyond qelib1.inc: a
/// request must not read the server's files.
fn parse_limited(
    text: &str,
    limits: &super::ApiLimits,
) -> Result<crate::circuit::Circuit, ApiError> {
    use crate::circuit::qasm::ParseErrorKind;
    let parser = QasmParser::new().limits(ParseLimits {
        max_source_bytes: limits.max_body_bytes as u64,
        max_qubits: limits.max_qubits as u64,
        max_ops: limits.max_gates,
        max_include_depth: 0,
        ..ParseLimits::default()
    });
    parser.parse_str(text).map_err(|e| {
        let status = if matches!(
            e.kind,
            ParseErrorKind::Limit { .. } | ParseErrorKind::TooManyBits { .. }
        ) {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::BAD_REQUEST
        };
        ApiError::new(status, e.to_string())
    })
}

/// One circuit of `POST /v1/plan`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PlanCircuit {
    /// A label for the plan.
    name: String,
    /// OpenQASM 2 text.
    qasm: String,
}

/// `POST /v1/plan`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PlanBody {
    circuits: Vec<PlanCircuit>,
    /// `statevector=2,mps-64=1`.
    slots: String,
    #[serde(default = "makespan")]
    objective: crate::plan::Objective,
    /// Seconds.
    #[serde(default)]
    deadline: Option<f64>,
    #[serde(default)]
    budget: Option<f64>,
    #[serde(default)]
    constraints: Constraints,
}

fn makespan() -> crate::plan::Objective {
    crate::plan::Objective::Makespan
}

/// Most circuits in one plan request.
const MAX_PLAN_CIRCUITS: usize = 10_000;

pub(super) async fn plan(
    State(state): State<AppState>,
    body: Result<Json<PlanBody>, JsonRejection>,
) -> Result<Json<crate::plan::Plan>, ApiError> {
    let Json(req) = body.map_err(json_error)?;
    // Parsing and planning thousands of circuits takes a while: off the async threads, so
    // that other requests go on and the request timeout can fire.
    tokio::task::spawn_blocking(move || plan_blocking(&state, req))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map(Json)
}

fn plan_blocking(state: &AppState, req: PlanBody) -> Result<crate::plan::Plan, ApiError> {
    let bad = |m: String| ApiError::new(StatusCode::BAD_REQUEST, m);
    if req.circuits.is_empty() || req.circuits.len() > MAX_PLAN_CIRCUITS {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "a plan takes 1 to {MAX_PLAN_CIRCUITS} circuits, got {}",
                req.circuits.len()
            ),
        ));
    }
    let slots: crate::plan::Slots = req.slots.parse().map_err(|e: String| bad(e))?;
    let deadline = match req.deadline {
        Some(d) if d.is_finite() && d > 0.0 && d < 1e9 => {
            Some(std::time::Duration::from_secs_f64(d))
        }
        Some(d) => {
            return Err(bad(format!(
                "deadline must be a positive number of seconds, got {d}"
            )));
        }
        None => None,
    };
    if let Some(b) = req.budget
        && !(b.is_finite() && b >= 0.0)
    {
        return Err(bad(format!("budget must be a number ≥ 0, got {b}")));
    }
    let mut jobs = Vec::with_capacity(req.circuits.len());
    for c in &req.circuits {
        let circuit = parse_limited(&c.qasm, &state.limits).map_err(|e| ApiError {
            message: format!("circuit `{}`: {}", c.name, e.message),
            ..e
        })?;
        jobs.push(crate::route::run::Job::new(c.name.clone(), circuit));
    }
    let request = crate::plan::PlanRequest {
        slots,
        objective: req.objective,
        deadline,
        budget: req.budget,
        constraints: req.constraints,
    };
    crate::plan::plan(&state.router, &jobs, &request)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))
}

/// One backend in `GET /v1/backends`.
#[derive(Debug, Serialize)]
pub(super) struct BackendInfo {
    name: String,
    kind: String,
    available: bool,
    unavailable_reason: Option<String>,
    modelled: bool,
}

pub(super) async fn backends(State(state): State<AppState>) -> Json<Vec<BackendInfo>> {
    let r = &state.router;
    let shots = 1024;
    let probe = Features::from_values(vec![0.0; crate::features::NUM_FEATURES]);
    Json(
        r.registry()
            .iter()
            .map(|b| {
                let (available, why) = match b.availability() {
                    Availability::Available => (true, None),
                    Availability::Unavailable(w) => (false, Some(w)),
                };
                BackendInfo {
                    name: b.name().to_string(),
                    kind: b.kind().to_string(),
                    available,
                    unavailable_reason: why,
                    modelled: probe
                        .as_ref()
                        .is_some_and(|f| r.predict_backend(b.name(), f, shots, 1).is_some()),
                }
            })
            .collect(),
    )
}

pub(super) async fn stats(State(state): State<AppState>) -> Json<RouterStats> {
    Json(state.router.stats())
}

#[derive(Debug, Serialize)]
pub(super) struct Reloaded {
    model_version: String,
}

pub(super) async fn reload(State(state): State<AppState>) -> Result<Json<Reloaded>, ApiError> {
    let router = state.router.clone();
    let dir = state.model_dir.clone();
    let result = tokio::task::spawn_blocking(move || router.reload_models(&dir))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    match result {
        Ok(model_version) => Ok(Json(Reloaded { model_version })),
        Err(e) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the model set was not replaced: {e}"),
        )),
    }
}

/// `POST /v1/jobs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct JobRequest {
    /// A label (default: `job`).
    #[serde(default)]
    name: Option<String>,
    /// OpenQASM 2 text.
    qasm: String,
    #[serde(default)]
    constraints: Constraints,
}

pub(super) async fn submit_job(
    State(state): State<AppState>,
    body: Result<Json<JobRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body.map_err(json_error)?;
    let Some(jobs) = state.jobs.clone() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "this server does not execute jobs (it was started with --job-workers 0)",
        ));
    };
    let circuit = parse_limited(&req.qasm, &state.limits)?;
    let name = req.name.unwrap_or_else(|| "job".to_string());
    let job = crate::route::run::Job::new(name, circuit);
    match jobs.submit(job, req.constraints) {
        Ok(view) => {
            let location = format!("/v1/jobs/{}", view.id);
            let mut res = (StatusCode::ACCEPTED, Json(view)).into_response();
            if let Ok(v) = HeaderValue::from_str(&location) {
                res.headers_mut().insert(header::LOCATION, v);
            }
            Ok(res)
        }
        Err(e) => {
            let mut res =
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response();
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            Ok(res)
        }
    }
}

pub(super) async fn job(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    state
        .jobs
        .as_ref()
        .and_then(|j| j.get(&id))
        .map(Json)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no job `{id}` (unknown, or finished long enough ago to be forgotten)"),
            )
        })
}

pub(super) async fn openapi() -> Json<serde_json::Value> {
    Json(super::openapi::document())
}

pub(super) async fn healthz() -> &'static str {
    "ok"
}

#[derive(Debug, Serialize)]
pub(super) struct Ready {
    ready: bool,
    model_version: String,
}

pub(super) async fn readyz(State(state): State<AppState>) -> Json<Ready> {
    Json(Ready {
        ready: true,
        model_version: state.router.model_version(),
    })
}

pub(super) async fn not_found(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no endpoint {} {}", req.method(), req.uri().path()),
    )
}
