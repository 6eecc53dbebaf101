//! One `POST /v1/route` through the API's application, in process (no socket): the share of
//! a request that qroute itself spends (JSON in, decision, JSON out). `benches/api_load.sh`
//! measures the whole server over HTTP.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;
use qroute::api::{ApiLimits, AppState, app};
use qroute::backend::Isolation;
use qroute::circuit::qasm::parse_str;
use qroute::config::Config;
use qroute::features::{FEATURE_NAMES, extract};
use qroute::model::ModelSet;
use qroute::route::{Router, RouterConfig};
use tower::ServiceExt;

fn bench(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(dir.join("datasets/demo/qft_16.qasm")).expect("demo file");
    let f = extract(&parse_str(&text).expect("parses"));
    let features: serde_json::Map<String, serde_json::Value> = FEATURE_NAMES
        .iter()
        .zip(&f.values)
        .map(|(n, v)| (n.to_string(), serde_json::json!(v)))
        .collect();
    let body = serde_json::json!({ "features": features }).to_string();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    // As `qroute serve` runs with no configuration, and with the prediction cache off (what a
    // circuit the server has not seen costs: the bench repeats one body).
    for (name, cache) in [("", 1024), ("_prediction_cache_off", 0)] {
        let models = ModelSet::load(&dir.join("models/default")).expect("models/default");
        let registry = Config::default()
            .registry(&Isolation::InProcess)
            .expect("registry");
        let config = RouterConfig {
            prediction_cache: cache,
            ..RouterConfig::default()
        };
        let state = AppState::new(
            Arc::new(Router::new(models, registry, config)),
            dir.join("models/default"),
            ApiLimits::default(),
        );
        let app = app(state);
        c.bench_function(&format!("api/route_features_in_process{name}"), |b| {
            b.iter(|| {
                rt.block_on(async {
                    let req = Request::post("/v1/route")
                        .header("content-type", "application/json")
                        .body(Body::from(body.clone()))
                        .expect("request");
                    let res = app.clone().oneshot(req).await.expect("response");
                    assert!(res.status().is_success());
                    res.into_body()
                        .collect()
                        .await
                        .expect("body")
                        .to_bytes()
                        .len()
                })
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
