//! The HTTP API, driven in-process through the application (no socket): every endpoint and
//! every error status, and arbitrary bodies never crash it.
#![cfg(feature = "server")]

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::synthetic::{fixture, registry};
use http_body_util::BodyExt;
use qroute::api::{ApiLimits, AppState, app};
use qroute::circuit::qasm::parse_str;
use qroute::features::{FEATURE_NAMES, extract};
use qroute::model::ModelSet;
use qroute::route::{Constraints, Router, RouterConfig};
use serde_json::{Value, json};
use tower::ServiceExt;

const BELL: &str = "OPENQASM 2.0; include \"qelib1.inc\"; qreg q[2]; creg c[2]; h q[0]; cx q[0], q[1]; t q[1]; measure q -> c;";

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

async fn call(
    app: &axum::Router,
    method: &str,
    path: &str,
    body: Option<String>,
) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, Body::from))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
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
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(message(&v).contains("include"), "{v}");
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
    let app = app(state(&fixture(), ApiLimits::default()));
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
        ("POST", "/v1/models/reload"),
        ("GET", "/v1/stats"),
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
            assert!(
                s.as_u16() < 500 || p == "/v1/models/reload",
                "{m} {p} {body:?} -> {s}"
            );
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
}
