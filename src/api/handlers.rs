//! The endpoints.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::jobs::JobView;
use super::{ApiError, AppState};
use crate::backend::Availability;
use crate::circuit::qasm::QasmParser;
use crate::features::{FEATURE_NAMES, Feature, Features, NUM_FEATURES, extract};
use crate::route::{Constraints, RouteError, RouterStats};

/// `POST /v1/route`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RouteRequest {
    /// OpenQASM 2 or 3 text.
    #[serde(default)]
    qasm: Option<String>,
    /// Features by name (every feature of the schema).
    #[serde(default)]
    features: Option<FeatureObject>,
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

/// The `features` object of a route request, read without building a map: each name is
/// looked up in the schema as it is read, and what is wrong is kept for
/// [`FeatureObject::check`] to report.
///
/// Hand-written because a derived map cannot refuse a repeated name: serde_json keeps the
/// last value of a key given twice, and a client would be routed on a number it did not mean
/// (tests/api.rs asserts the refusal).
#[derive(Debug)]
pub(super) struct FeatureObject {
    values: [Option<f64>; NUM_FEATURES],
    /// The first name that is not in the schema.
    unknown: Option<String>,
    /// The first name given twice.
    repeated: Option<Feature>,
}

impl<'de> Deserialize<'de> for FeatureObject {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// A key, borrowed from the body when it has no escapes.
        struct Name<'a>(std::borrow::Cow<'a, str>);
        impl<'de> Deserialize<'de> for Name<'de> {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = Name<'de>;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("a feature name")
                    }
                    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Name<'de>, E> {
                        Ok(Name(v.into()))
                    }
                    fn visit_str<E>(self, v: &str) -> Result<Name<'de>, E> {
                        Ok(Name(v.to_string().into()))
                    }
                }
                d.deserialize_str(V)
            }
        }
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = FeatureObject;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of every feature by name")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<FeatureObject, A::Error> {
                let mut o = FeatureObject {
                    values: [None; NUM_FEATURES],
                    unknown: None,
                    repeated: None,
                };
                while let Some(Name(name)) = map.next_key()? {
                    let value: f64 = map.next_value()?;
                    match Feature::from_name(&name) {
                        Some(f) => {
                            if o.values[f as usize].replace(value).is_some() {
                                o.repeated.get_or_insert(f);
                            }
                        }
                        None => {
                            o.unknown.get_or_insert_with(|| name.into_owned());
                        }
                    }
                }
                Ok(o)
            }
        }
        d.deserialize_map(V)
    }
}

impl FeatureObject {
    /// The features, or what is wrong with them: a name not in the schema, one given twice,
    /// missing ones, a value that is not finite.
    fn check(&self) -> Result<Features, ApiError> {
        let bad = |m: String| ApiError::new(StatusCode::BAD_REQUEST, m);
        if let Some(unknown) = &self.unknown {
            return Err(bad(format!(
                "unknown feature `{}` (docs/features.md lists the schema)",
                crate::display::clip(unknown, 64)
            )));
        }
        if let Some(f) = self.repeated {
            return Err(bad(format!("feature `{}` is given twice", f.name())));
        }
        let missing: Vec<&str> = FEATURE_NAMES
            .iter()
            .zip(&self.values)
            .filter(|(_, v)| v.is_none())
            .map(|(n, _)| *n)
            .collect();
        if !missing.is_empty() {
            return Err(bad(format!("missing feature(s): {}", missing.join(", "))));
        }
        let values: Vec<f64> = self.values.iter().flatten().copied().collect();
        if let Some((n, v)) = FEATURE_NAMES
            .iter()
            .zip(&values)
            .find(|(_, v)| !v.is_finite())
        {
            return Err(bad(format!(
                "feature `{n}` is {v}; every value must be finite"
            )));
        }
        let f = Features::from_values(values).ok_or_else(|| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "feature schema mismatch")
        })?;
        f.check_ranges().map_err(|e| bad(e.to_string()))?;
        Ok(f)
    }
}

/// `value` as a JSON response, written into a buffer of `capacity` bytes to start with
/// (axum's `Json` starts at 128 and grows a recommendation's ~4 KB five times).
fn json_sized<T: Serialize>(value: &T, capacity: usize) -> Response {
    let mut buf = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut buf, value) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            buf,
        )
            .into_response(),
        Err(e) => internal("response", &e).into_response(),
    }
}

pub(super) async fn route(
    State(state): State<AppState>,
    body: Result<Json<RouteRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
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
        (Some(text), None) if text.len() <= INLINE_PARSE_BYTES => {
            route_text(&state, text, &req.constraints)?
        }
        (Some(_), None) => {
            let st = state.clone();
            blocking(&state, "route", move || {
                let text = req.qasm.as_deref().unwrap_or_default();
                route_text(&st, text, &req.constraints)
            })
            .await?
        }
        (None, Some(map)) => {
            let f = map.check()?;
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
                "give exactly one of `qasm` (OpenQASM 2 or 3 text) and `features` (an object of \
                 every feature by name)",
            ));
        }
    };
    match result {
        Ok(rec) => Ok(json_sized(&rec, 4096)),
        Err(e @ RouteError::NoBackend { .. }) | Err(e @ RouteError::Constraint { .. }) => Err(
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
        ),
        Err(e) => Err(ApiError::new(StatusCode::BAD_REQUEST, e.to_string())),
    }
}

/// Parses, describes and routes one request circuit.
fn route_text(
    state: &AppState,
    text: &str,
    constraints: &Constraints,
) -> Result<Result<crate::route::Recommendation, RouteError>, ApiError> {
    let circuit = parse_limited(text, &state.limits)?;
    let f = extract(&circuit);
    Ok(state.router.recommend_circuit(&circuit, &f, constraints))
}

/// Runs `work` on a blocking thread under the request timeout (503 past it), so that a large
/// circuit neither stalls the async workers nor runs unbounded (#28). Past the timeout the
/// answer is sent; the thread finishes its (bounded) work unobserved.
async fn blocking<T: Send + 'static>(
    state: &AppState,
    what: &'static str,
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let limit = state.api.request_timeout;
    match tokio::time::timeout(limit, tokio::task::spawn_blocking(work)).await {
        Ok(joined) => joined.map_err(|e| internal(what, &e))?,
        Err(_) => Err(super::auth::over_time(limit)),
    }
}

/// Request circuits up to this size are parsed on the async worker that received them: a
/// 64 KiB circuit (~4,000 gates) parses in about 0.1 ms, less than the hand-off to a
/// blocking thread and back costs in latency under load; larger ones go to a blocking thread
/// under the request timeout.
const INLINE_PARSE_BYTES: usize = 64 << 10;

/// A 500 whose body says what failed, "internal error" and the request's id; the detail goes
/// to the log with the same id, never to the client (it names files on the server).
pub(super) fn internal(what: &str, e: &dyn std::fmt::Display) -> ApiError {
    let id = super::metrics::request_id().unwrap_or(0);
    tracing::error!(request_id = id, what, detail = %e, "internal error");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("{what}: internal error in request {id} (the server's log has the detail)"),
    )
}

/// A name from a request within [`super::MAX_NAME_BYTES`].
fn check_name(name: &str) -> Result<(), ApiError> {
    if name.len() > super::MAX_NAME_BYTES {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "a name may have at most {} bytes; `{}` has {}",
                super::MAX_NAME_BYTES,
                crate::display::clip(name, 32),
                name.len()
            ),
        ));
    }
    Ok(())
}

/// Parses request OpenQASM under the server's limits. No includes beyond qelib1.inc: a
/// request must not read the server's files.
fn parse_limited(
    text: &str,
    limits: &super::ApiLimits,
) -> Result<crate::circuit::Circuit, ApiError> {
    use crate::circuit::qasm::ParseErrorKind;
    let parser = QasmParser::new().limits(limits.parse_limits());
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
    /// OpenQASM 2 or 3 text.
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
        .map_err(|e| internal("plan", &e))?
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
    let slots: crate::plan::Slots = req
        .slots
        .parse()
        .map_err(|e: crate::plan::SlotsError| bad(e.to_string()))?;
    let deadline = match req.deadline {
        Some(d) => Some(crate::bounds::positive_seconds(d).ok_or_else(|| {
            bad(format!(
                "deadline must be a positive number of seconds up to 1e9, got {d}"
            ))
        })?),
        None => None,
    };
    if let Some(b) = req.budget
        && !(b.is_finite() && b >= 0.0)
    {
        return Err(bad(format!("budget must be a number ≥ 0, got {b}")));
    }
    let mut jobs = Vec::with_capacity(req.circuits.len());
    for c in &req.circuits {
        check_name(&c.name)?;
        let circuit = parse_limited(&c.qasm, &state.limits).map_err(|e| ApiError {
            message: format!(
                "circuit `{}`: {}",
                crate::display::clip(&c.name, 64),
                e.message
            ),
            ..e
        })?;
        jobs.push(crate::route::Job::new(c.name.clone(), circuit));
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
    /// The device it runs on, where worth saying (a software rasteriser named as such).
    device: Option<String>,
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
                    device: b.device(),
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
        .map_err(|e| internal("reload", &e))?;
    match result {
        Ok(model_version) => Ok(Json(Reloaded { model_version })),
        // The error names files on the server: logged, not returned (#28).
        Err(e) => Err(internal("the model set was not replaced", &e)),
    }
}

/// `POST /v1/jobs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct JobRequest {
    /// A label (default: `job`).
    #[serde(default)]
    name: Option<String>,
    /// OpenQASM 2 or 3 text.
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
    let name = req.name.unwrap_or_else(|| "job".to_string());
    check_name(&name)?;
    req.constraints
        .check()
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
    let circuit = if req.qasm.len() <= INLINE_PARSE_BYTES {
        parse_limited(&req.qasm, &state.limits)?
    } else {
        let limits = state.limits;
        let text = req.qasm;
        blocking(&state, "parse", move || parse_limited(&text, &limits)).await?
    };
    let shots = req.constraints.shots.unwrap_or(1024);
    let count_bytes = shots.saturating_mul(circuit.num_clbits().max(1) as u64);
    if count_bytes > super::MAX_COUNT_BYTES {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "{shots} shots of {} classical bits could produce {} of counts; this server \
                 returns at most {}",
                circuit.num_clbits(),
                crate::display::human_bytes(count_bytes as f64),
                crate::display::human_bytes(super::MAX_COUNT_BYTES as f64)
            ),
        ));
    }
    let job = crate::route::Job::new(name, circuit);
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
