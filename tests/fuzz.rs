//! A seeded mutation fuzzer for the OpenQASM parser and the HTTP API's request bodies: the
//! stand-in for `cargo fuzz` that runs on the stable toolchain, in CI, for a bounded time
//! (#28). Inputs start from the corpus in `fuzz/` (`seeds/*.qasm`, `seeds-api/*.json`, the
//! tokens of `qasm.dict`) and are mutated by inserting tokens, deleting, repeating and splicing
//! spans, and swapping numbers for extreme ones.
//!
//! - Parser: no panic; a parsed circuit comes back unchanged through `to_qasm` → parse; its
//!   features are within their domains; no input takes more than a second.
//! - API: `POST /v1/route` and `POST /v1/plan` never answer 5xx and always answer JSON errors.
//!
//! `QROUTE_FUZZ_SECS` sets each target's time budget (default 5 s; CI gives 30 s each). The
//! sequence of inputs is fixed by the seed, so a failure names the iteration that reproduces
//! it; how far the sequence gets depends on the machine's speed.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use qroute::circuit::qasm::{ParseLimits, QasmParser, to_qasm};
use qroute::rng::Rng;

fn budget() -> Duration {
    let secs = std::env::var("QROUTE_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .unwrap_or(5.0);
    Duration::from_secs_f64(secs)
}

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn read_all(dir: &str, ext: &str) -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fuzz_dir().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds in fuzz/{dir}");
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// The tokens of `fuzz/qasm.dict` (libFuzzer's format: one quoted string a line).
fn dictionary() -> Vec<Vec<u8>> {
    let text = std::fs::read_to_string(fuzz_dir().join("qasm.dict")).unwrap();
    let mut out: Vec<Vec<u8>> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix('"')?.strip_suffix('"'))
        .map(|t| t.replace("\\\"", "\"").into_bytes())
        .collect();
    for extreme in [
        "99999999999",
        "18446744073709551616",
        "1e308",
        "-1e308",
        "0",
        "-0",
        "4294967295",
        "nan",
        "((((((((((",
        "\u{0}",
        "é",
    ] {
        out.push(extreme.as_bytes().to_vec());
    }
    out
}

/// One mutation of `input`.
fn mutate(rng: &mut Rng, input: &mut Vec<u8>, dict: &[Vec<u8>], seeds: &[Vec<u8>]) {
    let at = |rng: &mut Rng, len: usize| rng.below(len as u64 + 1) as usize;
    match rng.below(6) {
        0 => {
            let t = rng.pick(dict).clone();
            let i = at(rng, input.len());
            input.splice(i..i, t);
        }
        1 if !input.is_empty() => {
            let i = at(rng, input.len() - 1);
            let n = 1 + rng.below(16) as usize;
            input.drain(i..(i + n).min(input.len()));
        }
        2 if !input.is_empty() => {
            // Repeat a span: what makes a parser's non-linear paths show.
            let i = at(rng, input.len() - 1);
            let n = (1 + rng.below(64) as usize).min(input.len() - i);
            let span = input[i..i + n].to_vec();
            for _ in 0..1 + rng.below(32) {
                input.splice(i..i, span.iter().copied());
            }
        }
        3 if !input.is_empty() => {
            let i = at(rng, input.len() - 1);
            input[i] = rng.below(128) as u8;
        }
        4 => {
            let other = rng.pick(seeds);
            let cut = at(rng, input.len());
            let from = at(rng, other.len());
            input.truncate(cut);
            input.extend_from_slice(&other[from..]);
        }
        _ => {
            // Replace a run of digits by an extreme number.
            if let Some(i) = input.iter().position(|b| b.is_ascii_digit()) {
                let end = input[i..]
                    .iter()
                    .position(|b| !b.is_ascii_digit())
                    .map_or(input.len(), |k| i + k);
                let t = rng.pick(&dict[dict.len() - 11..]).clone();
                input.splice(i..end, t);
            }
        }
    }
    input.truncate(64 << 10);
}

#[test]
fn fuzz_the_parser() {
    let seeds = read_all("seeds", "qasm");
    let dict = dictionary();
    let limits = ParseLimits {
        max_ops: 200_000,
        max_qubits: 4096,
        max_clbits: 4096,
        ..ParseLimits::default()
    };
    let parser = QasmParser::new().limits(limits).include_dir("/nonexistent");
    let mut rng = Rng::new(28);
    let started = Instant::now();
    let (mut runs, mut parsed) = (0u64, 0u64);
    while started.elapsed() < budget() {
        let mut input = rng.pick(&seeds).clone();
        for _ in 0..1 + rng.below(8) {
            mutate(&mut rng, &mut input, &dict, &seeds);
        }
        let t = Instant::now();
        let result = parser.parse_bytes(&input);
        let took = t.elapsed();
        assert!(
            took < Duration::from_secs(1),
            "iteration {runs}: {} bytes took {took:?}",
            input.len()
        );
        if let Ok(circuit) = result {
            parsed += 1;
            let f = qroute::features::extract(&circuit);
            f.check_ranges()
                .unwrap_or_else(|e| panic!("iteration {runs}: {e}"));
            let text = to_qasm(&circuit);
            let back = parser
                .parse_str(&text)
                .unwrap_or_else(|e| panic!("iteration {runs}: written circuit: {e}\n{text}"));
            assert_eq!(back, circuit, "iteration {runs}: write -> parse changed it");
        }
        runs += 1;
    }
    eprintln!(
        "parser: {runs} inputs, {parsed} parsed, in {:?}",
        started.elapsed()
    );
    assert!(runs > 100, "{runs}");
    assert!(parsed > 0, "some mutations must still parse");
}

#[cfg(feature = "server")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_the_api_bodies() {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::Request;
    use common::synthetic::{fixture, registry};
    use http_body_util::BodyExt;
    use qroute::api::{ApiLimits, AppState, app};
    use qroute::model::ModelSet;
    use qroute::route::{Router, RouterConfig};
    use tower::ServiceExt;

    let router = Arc::new(Router::new(
        ModelSet::load(&fixture()).unwrap(),
        registry(&["statevector", "stabilizer", "mps-64", "prism-auto"]),
        RouterConfig::default(),
    ));
    let limits = ApiLimits {
        max_qubits: 256,
        max_gates: 100_000,
        ..ApiLimits::default()
    };
    let app = app(AppState::new(router, fixture(), limits));
    let seeds = read_all("seeds-api", "json");
    let dict = dictionary();
    let mut rng = Rng::new(2028);
    let started = Instant::now();
    let mut runs = 0u64;
    let mut ok = 0u64;
    while started.elapsed() < budget() {
        let k = rng.below(seeds.len() as u64) as usize;
        let mut body = seeds[k].clone();
        for _ in 0..1 + rng.below(6) {
            mutate(&mut rng, &mut body, &dict, &seeds);
        }
        let path = if rng.below(2) == 0 {
            "/v1/route"
        } else {
            "/v1/plan"
        };
        let req = Request::builder()
            .method("POST")
            .uri(path)
            .header("content-type", "application/json")
            .body(Body::from(body.clone()))
            .unwrap();
        let res = app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        assert!(
            status.as_u16() < 500,
            "iteration {runs}: {path} {:?} -> {status}: {}",
            String::from_utf8_lossy(&body),
            String::from_utf8_lossy(&bytes)
        );
        let v: serde_json::Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("iteration {runs}: not JSON ({e})"));
        if status.is_success() {
            ok += 1;
        } else {
            assert!(v["error"]["message"].is_string(), "iteration {runs}: {v}");
        }
        runs += 1;
    }
    eprintln!(
        "api: {runs} bodies, {ok} answered 200, in {:?}",
        started.elapsed()
    );
    assert!(runs > 50, "{runs}");
}
