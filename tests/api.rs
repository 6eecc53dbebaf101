//! The HTTP API, driven in-process through the application (no socket): every endpoint and
//! every error status, and arbitrary bodies never crash it.
#![cfg(feature = "server")]

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::synthetic::{fixture, registry};
use http_body_util::BodyExt;
use qroute::api::auth::hash_key;
use qroute::api::{ApiConfig, ApiLimits, AppState, Jobs, JobsConfig, app};
use qroute::circuit::qasm::parse_str;
use qroute::config::Config;
use qroute::exec::{IsolationPolicy, RunOptions};
use qroute::features::{FEATURE_NAMES, extract};
use qroute::model::ModelSet;
use qroute::route::{Constraints, Router, RouterConfig};
use qroute::telemetry::{TelemetryWriter, WriterOptions};
use serde_json::{Value, json};
use tower::ServiceExt;

const BELL: &str = "OPENQASM 2.0; include \"qelib1.inc\"; qreg q[2]; creg c[2]; h q[0]; cx q[0], q[1]; t q[1]; measure q -> c;";
/// [`BELL`] as Qiskit 2's `qasm3.dumps` writes it.
const BELL3: &str = "OPENQASM 3.0;\ninclude \"stdgates.inc\";\nbit[2] c;\nqubit[2] q;\nh q[0];\ncx q[0], q[1];\nt q[1];\nc[0] = measure q[0];\nc[1] = measure q[1];\n";

fn state(model_dir: &std::path::Path, limits: ApiLimits) -> AppState {
    AppState::new(
        Arc::new(Router::new(
            ModelSet::load(model_dir).unwrap(),
            registry(&["statevector", "stabilizer", "mps-64", "prism-auto"]),
            RouterConfig::default(),
        )),
        model_dir.to_path_buf(),
        limits,
    )
}

/// One request through the application: status, headers and the body as JSON (or as a
/// string when it is not JSON).
async fn send(
    app: &axum::Router,
    method: &str,
    path: &str,
    body: Option<String>,
    key: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json");
    if let Some(k) = key {
        req = req.header("authorization", format!("Bearer {k}"));
    }
    let res = app
        .clone()
        .oneshot(req.body(body.map_or_else(Body::empty, Body::from)).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, headers, v)
}

async fn call(
    app: &axum::Router,
    method: &str,
    path: &str,
    body: Option<String>,
) -> (StatusCode, Value) {
    let (status, _, v) = send(app, method, path, body, None).await;
    (status, v)
}

fn message(v: &Value) -> String {
    v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn route_takes_qasm_or_features_and_agrees_with_the_library() {
    let st = state(&fixture(), ApiLimits::default());
    let router = st.router.clone();
    let app = app(st);
    let (s, v) = call(
        &app,
        "POST",
        "/v1/route",
        Some(json!({"qasm": BELL, "constraints": {"strategy": "performance"}}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let c = parse_str(BELL).unwrap();
    let f = extract(&c);
    let want = router
        .recommend(
            &f,
            &Constraints {
                strategy: Some(qroute::route::Strategy::Performance),
                ..Constraints::default()
            },
        )
        .unwrap();
    assert_eq!(v["backend"], want.backend.as_str());
    // The same circuit in OpenQASM 3 (#32).
    let (s3, v3) = call(
        &app,
        "POST",
        "/v1/route",
        Some(json!({"qasm": BELL3, "constraints": {"strategy": "performance"}}).to_string()),
    )
    .await;
    assert_eq!(s3, StatusCode::OK, "{v3}");
    assert_eq!(v3["backend"], v["backend"]);
    assert!(
        v["ineligible"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["backend"] == "stabilizer")
    );
    // The same circuit as a feature object.
    let features: serde_json::Map<String, Value> = FEATURE_NAMES
        .iter()
        .zip(&f.values)
        .map(|(n, x)| (n.to_string(), json!(x)))
        .collect();
    let (s, v) = call(
        &app,
        "POST",
        "/v1/route",
        Some(json!({"features": features, "constraints": {"strategy": "performance"}}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["backend"], want.backend.as_str());
    // Missing and unknown features are named.
    let mut partial = features.clone();
    partial.remove("depth");
    let (s, v) = call(
        &app,
        "POST",
        "/v1/route",
        Some(json!({"features": partial}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(message(&v).contains("missing feature(s): depth"), "{v}");
    let mut extra = features.clone();
    extra.insert("colour".into(), json!(1));
    let (s, v) = call(
        &app,
        "POST",
        "/v1/route",
        Some(json!({"features": extra}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(message(&v).contains("unknown feature `colour`"), "{v}");
    // A name given twice is refused (JSON objects do not say which one counts); a name
    // written with escapes is the same name.
    let body = json!({"features": features}).to_string();
    let twice = body.replacen("{\"features\":{", "{\"features\":{\"depth\":1,", 1);
    assert_ne!(twice, body);
    let (s, v) = call(&app, "POST", "/v1/route", Some(twice)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        message(&v).contains("feature `depth` is given twice"),
        "{v}"
    );
    let escaped = body.replacen("\"depth\"", "\"d\\u0065pth\"", 1);
    assert_ne!(escaped, body);
    let (s, v) = call(&app, "POST", "/v1/route", Some(escaped)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Both or neither.
    let (s, _) = call(
        &app,
        "POST",
        "/v1/route",
        Some(json!({"qasm": BELL, "features": features}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, v) = call(&app, "POST", "/v1/route", Some("{}".into())).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(message(&v).contains("exactly one"), "{v}");
    // Statistics counted the decisions.
    let (s, v) = call(&app, "GET", "/v1/stats", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["routing"]["decisions"].as_u64().unwrap() >= 2, "{v}");
}

#[tokio::test]
async fn bad_input_gets_the_right_status_and_says_why() {
    let limits = ApiLimits {
        max_body_bytes: 4096,
        max_qubits: 64,
        max_gates: 1000,
    };
    let app = app(state(&fixture(), limits));
    // Malformed OpenQASM: 400 with the position.
    let (s, v) = call(
        &app,
        "POST",
        "/v1/route",
        Some(json!({"qasm": "OPENQASM 2.0;\nqreg q[2];\ncx q[0], q[9];"}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(message(&v).starts_with("<input>:3:"), "{v}");
    // Malformed JSON and unknown fields: 400.
    let (s, _) = call(&app, "POST", "/v1/route", Some("{\"qasm\": ".into())).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = call(
        &app,
        "POST",
        "/v1/route",
        Some(json!({"qasm": BELL, "priority": 1}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // Over the configured limits: 422 naming the limit.
    let (s, v) = call(
        &app,
        "POST",
        "/v1/route",
        Some(json!({"qasm": "OPENQASM 2.0; qreg q[100];"}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message(&v).contains("over the limit of 64"), "{v}");
    // Files on the server cannot be included.
    let (s, v) = call(
        &app,
        "POST",
        "/v1/route",
        Some(json!({"qasm": "OPENQASM 2.0; include \"/etc/passwd\";"}).to_string()),
    )
    .await;
    // 400 saying so, not a limit of 0 (#28).
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(message(&v).contains("is not accepted here"), "{v}");
    // A body over the limit: 413.
    let big = json!({"qasm": format!("OPENQASM 2.0; // {}", "x".repeat(5000))}).to_string();
    let (s, _) = call(&app, "POST", "/v1/route", Some(big)).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    // Constraints out of range, and nothing eligible: 422.
    let (s, v) = call(
        &app,
        "POST",
        "/v1/route",
        Some(json!({"qasm": BELL, "constraints": {"min_fidelity": 2.0}}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message(&v).contains("min_fidelity"), "{v}");
    let all = ["statevector", "stabilizer", "mps-64", "prism-auto"];
    let (s, v) = call(
        &app,
        "POST",
        "/v1/route",
        Some(json!({"qasm": BELL, "constraints": {"exclude": all}}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message(&v).contains("no backend can run"), "{v}");
    // Unknown endpoints.
    let (s, v) = call(&app, "GET", "/v2/route", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(message(&v).contains("/v2/route"));
}

#[tokio::test]
async fn health_backends_and_model_reload() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["meta.json", "model.bin"] {
        std::fs::copy(fixture().join(f), dir.path().join(f)).unwrap();
    }
    let st = state(dir.path(), ApiLimits::default());
    let router = st.router.clone();
    let app = app(st);
    let (s, v) = call(&app, "GET", "/healthz", None).await;
    assert_eq!((s, v), (StatusCode::OK, Value::String("ok".into())));
    let (s, v) = call(&app, "GET", "/readyz", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["model_version"], router.model_version().as_str());
    let (s, v) = call(&app, "GET", "/v1/backends", None).await;
    assert_eq!(s, StatusCode::OK);
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["statevector", "stabilizer", "mps-64", "prism-auto"]);
    assert!(v.as_array().unwrap().iter().all(|b| b["modelled"] == true));
    // Reload works; a broken set is refused and the old one keeps serving.
    let (s, _) = call(&app, "POST", "/v1/models/reload", None).await;
    assert_eq!(s, StatusCode::OK);
    let before = router.model_version();
    std::fs::write(dir.path().join("model.bin"), b"not a model").unwrap();
    let (s, v) = call(&app, "POST", "/v1/models/reload", None).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(message(&v).contains("not replaced"), "{v}");
    assert_eq!(router.model_version(), before);
    let (s, _) = call(
        &app,
        "POST",
        "/v1/route",
        Some(json!({"qasm": BELL}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn arbitrary_bodies_never_crash_any_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (st, _jobs) = jobs_state(dir.path(), 10_000);
    let app = app(st);
    let mut rng = qroute::rng::Rng::new(11);
    let seeds = [
        "{}",
        "[]",
        "null",
        "{\"qasm\": 1}",
        "{\"features\": []}",
        "{\"features\": {\"num_qubits\": 1e308}}",
        "{\"constraints\": {\"deadline\": -1}}",
        "{\"qasm\": \"OPENQASM 2.0; qreg q[1]; U(0/0,1,2) q[0];\"}",
    ];
    let endpoints = [
        ("POST", "/v1/route"),
        ("POST", "/v1/plan"),
        ("POST", "/v1/jobs"),
        ("GET", "/v1/jobs/1"),
        ("POST", "/v1/models/reload"),
        ("GET", "/v1/stats"),
        ("GET", "/openapi.json"),
        ("GET", "/metrics"),
        ("GET", "/v1/backends"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
    ];
    for i in 0..300 {
        let body: String = if i < seeds.len() {
            seeds[i].to_string()
        } else {
            let base = seeds[rng.below(seeds.len() as u64) as usize]
                .as_bytes()
                .to_vec();
            let mut b = base.clone();
            for _ in 0..1 + rng.below(6) {
                let at = rng.below(b.len() as u64 + 1) as usize;
                b.insert(at.min(b.len()), rng.below(128) as u8);
            }
            String::from_utf8_lossy(&b).into_owned()
        };
        for (m, p) in endpoints {
            let (s, _) = call(&app, m, p, Some(body.clone())).await;
            // Every endpoint, reload included: its model directory holds a valid set, and
            // it ignores the body (this exempted reload, so it could not fail there; #29).
            assert!(s.as_u16() < 500, "{m} {p} {body:?} -> {s}");
        }
    }
}

#[tokio::test]
async fn plan_assigns_a_batch_and_names_bad_parts() {
    let app = app(state(
        &fixture(),
        ApiLimits {
            max_qubits: 64,
            ..ApiLimits::default()
        },
    ));
    let ghz =
        "OPENQASM 2.0; include \"qelib1.inc\"; qreg q[3]; h q[0]; cx q[0], q[1]; cx q[1], q[2];";
    let body = json!({
        "circuits": [{"name": "bell", "qasm": BELL}, {"name": "ghz", "qasm": ghz}],
        "slots": "statevector=1,stabilizer=1",
        "objective": "makespan",
    });
    let (s, v) = call(&app, "POST", "/v1/plan", Some(body.to_string())).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let assigned = v["assignments"].as_array().unwrap();
    assert_eq!(assigned.len(), 2);
    // The non-Clifford circuit cannot go to the stabilizer.
    let bell = assigned.iter().find(|a| a["name"] == "bell").unwrap();
    assert_eq!(bell["backend"], "statevector");
    let (s, v) = call(
        &app,
        "POST",
        "/v1/plan",
        Some(
            json!({"circuits": [{"name": "bell", "qasm": BELL}], "slots": "statevector"})
                .to_string(),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(message(&v).contains("BACKEND=COUNT"), "{v}");
    let (s, v) = call(&app, "POST", "/v1/plan", Some(json!({"circuits": [{"name": "wide", "qasm": "OPENQASM 2.0; qreg q[100];"}], "slots": "statevector=1"}).to_string())).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message(&v).starts_with("circuit `wide`:"), "{v}");
    let (s, v) = call(
        &app,
        "POST",
        "/v1/plan",
        Some(json!({"circuits": [{"name": "bell", "qasm": BELL}], "slots": "gpu=1"}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message(&v).contains("unknown backend `gpu`"), "{v}");
    let (s, _) = call(
        &app,
        "POST",
        "/v1/plan",
        Some(json!({"circuits": [], "slots": "statevector=1"}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn metrics_count_requests_by_endpoint_and_decisions_by_backend() {
    let app = app(state(&fixture(), ApiLimits::default()));
    for _ in 0..3 {
        let (s, _) = call(
            &app,
            "POST",
            "/v1/route",
            Some(json!({"qasm": BELL}).to_string()),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
    }
    call(&app, "GET", "/no/such/path", None).await;
    let (s, v) = call(&app, "GET", "/metrics", None).await;
    assert_eq!(s, StatusCode::OK);
    let text = v.as_str().unwrap();
    assert!(
        text.contains("qroute_http_request_duration_seconds_count{method=\"POST\",path=\"/v1/route\",status=\"200\"} 3"),
        "{text}"
    );
    assert!(
        text.contains("le=\"0.00005\""),
        "sub-millisecond buckets: {text}"
    );
    // Unknown paths share one series.
    assert!(text.contains("path=\"unmatched\",status=\"404\""), "{text}");
    assert!(!text.contains("/no/such/path"));
    let decided: u64 = text
        .lines()
        .filter(|l| l.starts_with("qroute_decisions_total{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(decided, 3);
    // The same circuit three times: predicted once, then found in the prediction cache.
    let count = |result: &str| -> u64 {
        let series = format!("qroute_prediction_cache_lookups_total{{result=\"{result}\"}} ");
        let line = text.lines().find(|l| l.starts_with(&series));
        line.unwrap_or_else(|| panic!("{series}: {text}"))[series.len()..]
            .parse()
            .unwrap()
    };
    assert!(count("miss") > 0);
    assert_eq!(count("hit"), 2 * count("miss"));
}

/// A state whose jobs run in this process, their attempts written under `telemetry`.
fn jobs_state(telemetry: &std::path::Path, queue: usize) -> (AppState, Arc<Jobs>) {
    let st = state(&fixture(), ApiLimits::default());
    let writer = Arc::new(TelemetryWriter::open(telemetry, WriterOptions::default()).unwrap());
    let jobs = Arc::new(
        Jobs::start(
            st.router.clone(),
            None,
            writer,
            JobsConfig {
                workers: 2,
                queue,
                retention: 100,
                run: RunOptions {
                    timeout: std::time::Duration::from_secs(30),
                    seed: 5,
                    run_id: "api-test".into(),
                    isolation: IsolationPolicy::Never,
                    baseline: None,
                },
            },
        )
        .unwrap(),
    );
    (st.with_jobs(jobs.clone()), jobs)
}

async fn wait_for(app: &axum::Router, id: &str) -> Value {
    let started = std::time::Instant::now();
    loop {
        let (s, v) = call(app, "GET", &format!("/v1/jobs/{id}"), None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        if v["status"] != "queued" && v["status"] != "running" {
            return v;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "{v}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_run_asynchronously_and_every_attempt_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let (st, jobs) = jobs_state(dir.path(), 64);
    let app = app(st);
    let ghz = "OPENQASM 2.0; include \"qelib1.inc\"; qreg q[3]; creg c[3]; h q[0]; cx q[0], q[1]; cx q[1], q[2]; measure q -> c;";
    let mut ids = Vec::new();
    for (i, text) in [BELL, ghz].iter().enumerate() {
        let (s, headers, v) = send(
            &app,
            "POST",
            "/v1/jobs",
            Some(
                json!({"name": format!("c{i}"), "qasm": text, "constraints": {"shots": 500}})
                    .to_string(),
            ),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::ACCEPTED);
        let location = headers["location"].to_str().unwrap().to_string();
        assert_eq!(location, format!("/v1/jobs/{}", v["id"].as_str().unwrap()));
        assert_eq!(v["name"], format!("c{i}"));
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    assert_ne!(ids[0], ids[1]);
    let bell = wait_for(&app, &ids[0]).await;
    let g = wait_for(&app, &ids[1]).await;
    for (v, want) in [(&bell, ["00", "11"]), (&g, ["000", "111"])] {
        assert_eq!(v["status"], "succeeded", "{v}");
        let counts = v["counts"].as_object().unwrap();
        assert_eq!(
            counts.values().map(|n| n.as_u64().unwrap()).sum::<u64>(),
            500
        );
        assert!(counts.keys().all(|k| want.contains(&k.as_str())), "{v}");
        assert_eq!(v["backend"], v["attempts"][0]["backend"], "{v}");
        assert!(v["wall_ms"].as_f64().unwrap() >= 0.0);
        assert!(v["queue_ms"].as_f64().is_some() && v["run_ms"].as_f64().is_some());
        assert!(v["cost"].as_f64().unwrap() >= 0.0);
        assert_eq!(v["recommendation"]["backend"], v["backend"]);
    }
    // Unknown ids are 404; malformed or oversized circuits are refused before queueing.
    let (s, _) = call(&app, "GET", "/v1/jobs/nope", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = call(
        &app,
        "POST",
        "/v1/jobs",
        Some(json!({"qasm": "OPENQASM 2.0; qreg q[1]; hh q[0];"}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(message(&v).contains("1:"), "{v}");
    // Shutdown flushes the attempts to telemetry, then refuses new jobs.
    assert_eq!(
        jobs.shutdown(std::time::Duration::from_secs(30)).unwrap(),
        0
    );
    let read = qroute::telemetry::read_dir(dir.path()).unwrap();
    assert_eq!(read.records.len(), 2);
    assert!(read.records.iter().all(|r| r.run_id == "api-test"));
    let (s, v) = call(
        &app,
        "POST",
        "/v1/jobs",
        Some(json!({"qasm": BELL}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
}

#[tokio::test]
async fn jobs_are_refused_when_disabled() {
    let app = app(state(&fixture(), ApiLimits::default()));
    let (s, v) = call(
        &app,
        "POST",
        "/v1/jobs",
        Some(json!({"qasm": BELL}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert!(message(&v).contains("--job-workers"), "{v}");
}

async fn call_with_key(
    app: &axum::Router,
    method: &str,
    path: &str,
    key: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    send(app, method, path, None, key).await
}

#[tokio::test]
async fn keys_scopes_and_rate_limits() {
    let text = format!(
        "[api]\nrate_per_sec = 0.01\nburst = 3\n\
         [[api.key]]\nname = \"reader\"\nsha256 = \"{}\"\n\
         [[api.key]]\nname = \"ops\"\nsha256 = \"{}\"\nscopes = [\"route\", \"admin\"]\nrate_per_sec = 1000\n",
        hash_key("reader-key"),
        hash_key("ops-key"),
    );
    let cfg = Config::parse(&text, std::path::Path::new("qroute.toml")).unwrap();
    let api = ApiConfig::check(&cfg.api).unwrap();
    let app = app(state(&fixture(), ApiLimits::default()).with_api(api));
    // No key, a malformed header, a wrong key: 401 with a challenge.
    for key in [None, Some("")] {
        let (s, h, v) = call_with_key(&app, "GET", "/v1/backends", key).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
        assert!(
            h["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
    }
    let (s, _, v) = call_with_key(&app, "GET", "/v1/backends", Some("guess")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(message(&v).contains("not valid"), "{v}");
    // A valid key without the scope: 403, naming the scope.
    let (s, _, v) = call_with_key(&app, "POST", "/v1/models/reload", Some("reader-key")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(message(&v).contains("`admin`"), "{v}");
    let (s, _, v) = call_with_key(&app, "POST", "/v1/models/reload", Some("ops-key")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // The open endpoints need no key.
    for p in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        let (s, _, _) = call_with_key(&app, "GET", p, None).await;
        assert_eq!(s, StatusCode::OK, "{p}");
    }
    // The reader's burst of 3 (one was spent on the refused reload), then 429 with
    // Retry-After; the other key has its own bucket.
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(
            call_with_key(&app, "GET", "/v1/stats", Some("reader-key"))
                .await
                .0,
        );
    }
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    let (s, h, v) = call_with_key(&app, "GET", "/v1/stats", Some("reader-key")).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=100).contains(&wait), "{wait}");
    assert!(message(&v).contains("`reader`"), "{v}");
    let (s, _, _) = call_with_key(&app, "GET", "/v1/stats", Some("ops-key")).await;
    assert_eq!(s, StatusCode::OK);
}

/// A model directory whose meta.json is a FIFO with no writer: reloading it blocks until
/// the test writes to it, which makes a request that outlasts the timeout.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_over_the_time_limit_gets_503() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("meta.json");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let mut st = state(&fixture(), ApiLimits::default());
    st.model_dir = dir.path().to_path_buf();
    let cfg = Config::parse(
        "[api]\nrequest_timeout = 0.2\n",
        std::path::Path::new("q.toml"),
    )
    .unwrap();
    let app = app(st.with_api(ApiConfig::check(&cfg.api).unwrap()));
    let t = std::time::Instant::now();
    let (s, v) = call(&app, "POST", "/v1/models/reload", None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert!(message(&v).contains("0.2 s"), "{v}");
    assert!(t.elapsed() < std::time::Duration::from_secs(20));
    // Unblock the reader so the blocking thread ends.
    std::fs::write(&fifo, "{").unwrap();
}

/// Keys of a JSON object, sorted.
fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_lists_every_endpoint_with_the_fields_the_handlers_return() {
    let dir = tempfile::tempdir().unwrap();
    let (st, _jobs) = jobs_state(dir.path(), 64);
    let app = app(st);
    let (s, doc) = call(&app, "GET", "/openapi.json", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    // Every operation is served (an unserved one would reach the fallback's "no endpoint").
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 11);
    for (path, ops) in paths {
        for method in ops.as_object().unwrap().keys() {
            let p = path.replace("{id}", "x");
            let (s, v) = call(&app, &method.to_uppercase(), &p, Some("{}".into())).await;
            assert!(
                s != StatusCode::METHOD_NOT_ALLOWED && !message(&v).starts_with("no endpoint"),
                "{method} {path}: {s} {v}"
            );
        }
    }
    // Every operation has its own operationId and one declared tag, the tag of the scope the
    // server requires for it (#32).
    let tags: Vec<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let mut ids = std::collections::HashSet::new();
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            assert!(ids.insert(op["operationId"].as_str().unwrap()), "{path}");
            let tag = op["tags"][0].as_str().unwrap();
            assert!(tags.contains(&tag), "{path}: {tag}");
            let method: axum::http::Method = method.to_uppercase().parse().unwrap();
            let scope = qroute::api::auth::required_scope(&method, path).map(|s| s.name());
            let want = match scope {
                Some("route") => "routing",
                Some("jobs") => "jobs",
                Some("admin") => "admin",
                _ => "operations",
            };
            assert_eq!(tag, want, "{path}");
        }
    }
    let schema =
        |name: &str| -> Vec<String> { keys(&doc["components"]["schemas"][name]["properties"]) };
    // Response schemas hold exactly the fields the handlers serialise.
    let (_, rec) = call(
        &app,
        "POST",
        "/v1/route",
        Some(json!({"qasm": BELL}).to_string()),
    )
    .await;
    assert_eq!(keys(&rec), schema("Recommendation"));
    assert_eq!(keys(&rec["chosen"]), schema("Estimate"));
    let (_, backends) = call(&app, "GET", "/v1/backends", None).await;
    assert_eq!(keys(&backends[0]), schema("Backend"));
    let (_, stats) = call(&app, "GET", "/v1/stats", None).await;
    assert_eq!(keys(&stats), schema("Stats"));
    let (_, plan) = call(
        &app,
        "POST",
        "/v1/plan",
        Some(
            json!({"circuits": [{"name": "b", "qasm": BELL}], "slots": "statevector=1"})
                .to_string(),
        ),
    )
    .await;
    assert_eq!(keys(&plan), schema("Plan"));
    assert_eq!(
        keys(&plan["assignments"][0]),
        keys(
            &doc["components"]["schemas"]["Plan"]["properties"]["assignments"]["items"]["properties"]
        )
    );
    let (_, job) = call(
        &app,
        "POST",
        "/v1/jobs",
        Some(json!({"qasm": BELL}).to_string()),
    )
    .await;
    let job = wait_for(&app, job["id"].as_str().unwrap()).await;
    assert_eq!(keys(&job), schema("Job"));
    assert_eq!(keys(&job["attempts"][0]), schema("Attempt"));
    let (_, ready) = call(&app, "GET", "/readyz", None).await;
    assert_eq!(keys(&ready), schema("Ready"));
    // Request schemas name exactly the fields the handlers accept.
    assert_eq!(
        keys(&serde_json::to_value(Constraints::default()).unwrap()),
        schema("Constraints")
    );
    assert_eq!(schema("RouteRequest"), ["constraints", "features", "qasm"]);
    assert_eq!(schema("JobRequest"), ["constraints", "name", "qasm"]);
}

// ----- #28: hostile and careless requests -------------------------------------------------

/// One feature object of the Bell circuit with `name` set to `value`.
fn bell_features_with(name: &str, value: Value) -> Value {
    let f = extract(&parse_str(BELL).unwrap());
    let mut m: serde_json::Map<String, Value> = FEATURE_NAMES
        .iter()
        .zip(&f.values)
        .map(|(n, x)| (n.to_string(), json!(x)))
        .collect();
    m.insert(name.to_string(), value);
    json!({ "features": m })
}

#[tokio::test]
async fn r28_plan_slots_are_bounded_before_allocation() {
    let app = app(state(&fixture(), ApiLimits::default()));
    for slots in [
        "statevector=99999999999",
        "statevector=1025",
        "a=1000,b=1000,c=1000,d=1000,e=1000",
    ] {
        let body = json!({"circuits": [{"name": "bell", "qasm": BELL}], "slots": slots});
        let (s, v) = call(&app, "POST", "/v1/plan", Some(body.to_string())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{slots}: {v}");
        assert!(
            message(&v).contains("from 1 to 1024") || message(&v).contains("at most 4096"),
            "{v}"
        );
    }
}

#[tokio::test]
async fn r28_feature_objects_are_range_checked() {
    let app = app(state(&fixture(), ApiLimits::default()));
    for (name, value, says) in [
        ("num_qubits", json!(-5), "whole number"),
        ("num_qubits", json!(0.5), "whole number"),
        ("is_clifford", json!(7), "0 or 1"),
        ("depth", json!(1e300), "whole number"),
        ("parallelism", json!(-1), "from 0 to 1"),
        ("dense_memory_bytes", json!(-1), "positive"),
        ("dense_memory_bytes", json!(1e6), "16 · 2^num_qubits"),
    ] {
        let (s, v) = call(
            &app,
            "POST",
            "/v1/route",
            Some(bell_features_with(name, value.clone()).to_string()),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{name}={value}: {v}");
        let m = message(&v);
        assert!(m.contains(name) && m.contains(says), "{name}={value}: {m}");
    }
    // Every feature -1 is refused at the first.
    let f: serde_json::Map<String, Value> = FEATURE_NAMES
        .iter()
        .map(|n| (n.to_string(), json!(-1)))
        .collect();
    let (s, v) = call(
        &app,
        "POST",
        "/v1/route",
        Some(json!({"features": f}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(message(&v).contains("num_qubits"), "{v}");
}

#[tokio::test]
async fn r28_classical_bits_and_registers_are_bounded_like_qubits() {
    let limits = ApiLimits {
        max_qubits: 64,
        ..ApiLimits::default()
    };
    let app = app(state(&fixture(), limits));
    let mut qasm = String::from("OPENQASM 2.0;\nqreg q[1];\n");
    for i in 0..1000 {
        qasm += &format!("creg c{i}[1];\n");
    }
    let (s, v) = call(
        &app,
        "POST",
        "/v1/route",
        Some(json!({"qasm": qasm}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(message(&v).contains("classical"), "{v}");
}

#[tokio::test]
async fn r28_includes_are_refused_with_400_saying_so() {
    let app = app(state(&fixture(), ApiLimits::default()));
    let qasm = "OPENQASM 2.0;\ninclude \"/etc/passwd\";\nqreg q[1];\n";
    let (s, v) = call(
        &app,
        "POST",
        "/v1/route",
        Some(json!({"qasm": qasm}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let m = message(&v);
    assert!(
        m.contains("not accepted") && m.contains("qelib1.inc"),
        "{m}"
    );
    assert!(m.contains("2:9"), "the position is given: {m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r28_job_names_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let (st, _jobs) = jobs_state(dir.path(), 64);
    let app = app(st);
    for len in [257, 7 << 20] {
        let body = json!({"name": "n".repeat(len), "qasm": BELL});
        let (s, v) = call(&app, "POST", "/v1/jobs", Some(body.to_string())).await;
        let expected = if len > ApiLimits::default().max_body_bytes {
            StatusCode::PAYLOAD_TOO_LARGE
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        assert_eq!(s, expected, "{len}");
        if s == StatusCode::UNPROCESSABLE_ENTITY {
            assert!(message(&v).contains("at most 256 bytes"), "{v}");
            assert!(message(&v).len() < 200, "the name is not echoed whole");
        }
    }
    let body = json!({"name": "n".repeat(256), "qasm": BELL});
    let (s, v) = call(&app, "POST", "/v1/jobs", Some(body.to_string())).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    // Shots are bounded too, and so are the counts they would make.
    let body = json!({"qasm": BELL, "constraints": {"shots": 1_000_000_000_000u64}});
    let (s, v) = call(&app, "POST", "/v1/jobs", Some(body.to_string())).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(message(&v).contains("shots"), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r28_a_large_circuit_is_parsed_under_the_request_timeout() {
    let mut st = state(&fixture(), ApiLimits::default());
    let cfg = Config::parse(
        "[api]\nrequest_timeout = 0.000001\n",
        std::path::Path::new("q.toml"),
    )
    .unwrap();
    st = st.with_api(ApiConfig::check(&cfg.api).unwrap());
    let app = app(st);
    // ~1 MiB of gates: over the size parsed on the async worker.
    let mut qasm = String::from("OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[20];\n");
    while qasm.len() < 1 << 20 {
        qasm += "cx q[0],q[1]; h q[3]; rz(0.25) q[7];\n";
    }
    let (s, v) = call(
        &app,
        "POST",
        "/v1/route",
        Some(json!({"qasm": qasm}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert!(
        message(&v).contains("longer than the server's limit"),
        "{v}"
    );
    // A small one is answered as before.
    let (s, v) = call(
        &app,
        "POST",
        "/v1/route",
        Some(json!({"qasm": BELL}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

/// An app whose model directory holds a damaged payload (reloading it fails), and the
/// directory.
fn app_with_a_damaged_model_dir() -> (axum::Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    for f in ["meta.json", "model.bin"] {
        std::fs::copy(fixture().join(f), dir.path().join(f)).unwrap();
    }
    std::fs::write(dir.path().join("model.bin"), b"not a model").unwrap();
    let mut st = state(&fixture(), ApiLimits::default());
    st.model_dir = dir.path().to_path_buf();
    let app = app(st);
    (app, dir)
}

#[tokio::test]
async fn r28_a_failed_reload_names_no_server_path() {
    let (app, dir) = app_with_a_damaged_model_dir();
    let (s, v) = call(&app, "POST", "/v1/models/reload", None).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{v}");
    let m = message(&v);
    assert!(
        m.contains("not replaced") && m.contains("internal error"),
        "{m}"
    );
    assert!(!m.contains(&dir.path().display().to_string()), "{m}");
    assert!(!m.contains('/'), "no path of any kind: {m}");
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_a_500_names_it() {
    let (app, _dir) = app_with_a_damaged_model_dir();
    let id = |h: &axum::http::HeaderMap| -> u64 {
        h.get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .expect("x-request-id")
    };
    let (_, h1, _) = send(&app, "GET", "/healthz", None, None).await;
    let (_, h2, _) = send(&app, "GET", "/v1/nothing-here", None, None).await;
    assert!(id(&h2) > id(&h1), "ids increase");
    let (s, h, v) = send(&app, "POST", "/v1/models/reload", None, None).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{v}");
    let m = message(&v);
    assert!(
        m.contains(&format!("internal error in request {}", id(&h))),
        "{m}"
    );
}

fn keyed_state() -> AppState {
    let cfg = Config::parse(
        &format!(
            "[[api.key]]\nname = \"ops\"\nsha256 = \"{}\"\nscopes = [\"route\"]\n",
            hash_key("right-key")
        ),
        std::path::Path::new("q.toml"),
    )
    .unwrap();
    state(&fixture(), ApiLimits::default()).with_api(ApiConfig::check(&cfg.api).unwrap())
}

#[tokio::test]
async fn r28_failed_authentication_is_rate_limited_per_address() {
    let app = app(keyed_state());
    let mut statuses = Vec::new();
    for i in 0..200 {
        let (s, h, v) = send(&app, "GET", "/v1/stats", None, Some(&format!("guess-{i}"))).await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            let wait: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=6).contains(&wait), "{wait}");
            assert!(message(&v).contains("failed authentications"), "{v}");
        }
        statuses.push(s);
    }
    let unauthorized = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(unauthorized, 10, "the burst, then 429: {statuses:?}");
    assert_eq!(
        statuses[10..]
            .iter()
            .filter(|s| **s != StatusCode::TOO_MANY_REQUESTS)
            .count(),
        0
    );
    // Even the right key waits while the address is blocked: guessing gains nothing.
    let (s, _, _) = send(&app, "GET", "/v1/stats", None, Some("right-key")).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn r28_the_bearer_scheme_is_matched_in_any_case() {
    let app = app(keyed_state());
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let req = Request::builder()
            .method("GET")
            .uri("/v1/stats")
            .header("authorization", format!("{scheme} right-key"))
            .body(Body::empty())
            .unwrap();
        let res = app.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{scheme}");
    }
}

/// #32: the shipped Grafana dashboard queries only metrics that `GET /metrics` exports.
#[tokio::test]
async fn issue_32_the_grafana_dashboard_queries_exported_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let (st, _jobs) = jobs_state(dir.path(), 64);
    let app = app(st);
    let (s, v) = call(&app, "GET", "/metrics", None).await;
    assert_eq!(s, StatusCode::OK);
    let text = v.as_str().unwrap();
    let exported: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/deploy/grafana-dashboard.json");
    let dash: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut queried = std::collections::HashSet::new();
    for panel in dash["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let mut rest = expr;
            while let Some(i) = rest.find("qroute_") {
                let name: String = rest[i..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                rest = &rest[i + name.len()..];
                // A histogram's series carry suffixes of its one name.
                let base = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s).filter(|b| exported.contains(b)))
                    .unwrap_or(&name);
                assert!(
                    exported.contains(&base),
                    "{name} in `{expr}` is not exported"
                );
                queried.insert(base.to_string());
            }
        }
    }
    // And every exported metric has a panel.
    for m in &exported {
        assert!(queried.contains(*m), "no panel shows {m}");
    }
}
