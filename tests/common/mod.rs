//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

pub mod synthetic;

use std::path::PathBuf;

/// ../shared/corpus beside the repository.
pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
}

/// One row of ../shared/corpus/manifest.csv.
#[derive(Debug, Clone)]
pub struct ManifestRow {
    pub path: String,
    pub family: String,
    pub num_qubits: u32,
    pub depth: u64,
    pub num_gates: u64,
    pub num_2q_gates: u64,
    pub is_clifford: bool,
}

/// Every row of the corpus manifest. Panics (failing the test) when it is missing.
pub fn manifest() -> Vec<ManifestRow> {
    let path = corpus_dir().join("manifest.csv");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let (p, f, q, d, g, g2, c) = (
        col("path"),
        col("family"),
        col("num_qubits"),
        col("depth"),
        col("num_gates"),
        col("num_2q_gates"),
        col("is_clifford"),
    );
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Vec<&str> = l.split(',').collect();
            ManifestRow {
                path: v[p].to_string(),
                family: v[f].to_string(),
                num_qubits: v[q].parse().unwrap(),
                depth: v[d].parse().unwrap(),
                num_gates: v[g].parse().unwrap(),
                num_2q_gates: v[g2].parse().unwrap(),
                is_clifford: v[c] == "1",
            }
        })
        .collect()
}

use std::collections::BTreeMap;

use qroute::circuit::{Circuit, OpKind};

/// The qroute binary built for these tests.
pub fn qroute_exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_qroute"))
}

/// The circuit's gates only (measurements dropped), for comparing exact distributions.
pub fn gates_only(c: &Circuit) -> Circuit {
    let mut out = Circuit::new();
    for r in c.qregs() {
        out.add_qreg(&r.name, r.size).unwrap();
    }
    for op in c.ops() {
        if let OpKind::Gate(g) = op.kind {
            out.gate(g, op.qubits, op.params).unwrap();
        }
    }
    out
}

/// Probabilities over the classical bitstrings a circuit that measures every qubit `q[i]`
/// into `c[i]` produces, from a state's probabilities (qubit 0 = least significant bit),
/// keyed like counts (bit 0 rightmost).
pub fn as_bitstrings(probs: &[f64], n: usize) -> BTreeMap<String, f64> {
    probs
        .iter()
        .enumerate()
        .filter(|(_, p)| **p > 0.0)
        .map(|(i, p)| {
            let s: String = (0..n)
                .rev()
                .map(|b| if i >> b & 1 == 1 { '1' } else { '0' })
                .collect();
            (s, *p)
        })
        .collect()
}

/// Pearson's chi-square test of observed counts against expected probabilities, with cells
/// of small expectation pooled. Returns (statistic, critical value at significance 1e-6).
/// With fixed seeds the result is deterministic; the tiny significance means a correct
/// sampler essentially never fails, while a wrong distribution fails by a wide margin.
pub fn chi_square(counts: &BTreeMap<String, u64>, expected: &BTreeMap<String, f64>) -> (f64, f64) {
    let shots: u64 = counts.values().sum();
    let n = shots as f64;
    let mut stat = 0.0;
    let mut cells = 0usize;
    let (mut pooled_obs, mut pooled_exp) = (0.0, 0.0);
    for (k, p) in expected {
        let e = p * n;
        let o = *counts.get(k).unwrap_or(&0) as f64;
        if e < 5.0 {
            pooled_obs += o;
            pooled_exp += e;
        } else {
            stat += (o - e) * (o - e) / e;
            cells += 1;
        }
    }
    // Outcomes the distribution says are impossible.
    let stray: u64 = counts
        .iter()
        .filter(|(k, _)| expected.get(*k).is_none_or(|p| *p == 0.0))
        .map(|(_, c)| *c)
        .sum();
    pooled_obs += stray as f64;
    if pooled_exp > 0.0 {
        stat += (pooled_obs - pooled_exp).powi(2) / pooled_exp.max(1e-9);
        cells += 1;
    } else if pooled_obs > 0.0 {
        stat = f64::INFINITY;
    }
    let df = cells.saturating_sub(1).max(1) as f64;
    // Wilson–Hilferty approximation of the chi-square quantile; z for 1 - 1e-6 is 4.753.
    let z = 4.753;
    let t = 1.0 - 2.0 / (9.0 * df) + z * (2.0 / (9.0 * df)).sqrt();
    (stat, df * t * t * t)
}

/// Two-sample chi-square test of homogeneity (equal shot counts or not), cells with a small
/// pooled count merged. Returns (statistic, critical value at significance 1e-6).
pub fn two_sample_chi_square(a: &BTreeMap<String, u64>, b: &BTreeMap<String, u64>) -> (f64, f64) {
    let (na, nb) = (
        a.values().sum::<u64>() as f64,
        b.values().sum::<u64>() as f64,
    );
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let (mut stat, mut cells) = (0.0, 0usize);
    let (mut pa, mut pb) = (0.0, 0.0);
    let add = |oa: f64, ob: f64, stat: &mut f64| {
        let total = oa + ob;
        let ea = total * na / (na + nb);
        let eb = total * nb / (na + nb);
        *stat += (oa - ea).powi(2) / ea + (ob - eb).powi(2) / eb;
    };
    for k in keys {
        let oa = *a.get(k).unwrap_or(&0) as f64;
        let ob = *b.get(k).unwrap_or(&0) as f64;
        if oa + ob < 10.0 {
            pa += oa;
            pb += ob;
        } else {
            add(oa, ob, &mut stat);
            cells += 1;
        }
    }
    if pa + pb > 0.0 {
        add(pa, pb, &mut stat);
        cells += 1;
    }
    let df = cells.saturating_sub(1).max(1) as f64;
    let z = 4.753;
    let t = 1.0 - 2.0 / (9.0 * df) + z * (2.0 / (9.0 * df)).sqrt();
    (stat, df * t * t * t)
}

/// `QROUTE_PYTHON`: the Python interpreter that has qiskit-aer (tests only; default
/// `python3`). `.ci/run` points it at the virtual environment it makes.
pub const ENV_PYTHON: &str = "QROUTE_PYTHON";
/// `QROUTE_REQUIRE_AER=1`: fail the Aer tests when qiskit-aer is missing instead of skipping
/// them (CI sets it).
pub const ENV_REQUIRE_AER: &str = "QROUTE_REQUIRE_AER";

/// The Python (`QROUTE_PYTHON`, default `python3`) that can `import modules`, or `None`
/// (after saying why) when the tests should skip; a panic when `require` is set to 1.
fn python_with(modules: &str, require: &str) -> Option<String> {
    let python = std::env::var(ENV_PYTHON).unwrap_or_else(|_| "python3".into());
    let ok = std::process::Command::new(&python)
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(python);
    }
    if std::env::var(require).is_ok_and(|v| v == "1") {
        panic!("{require}=1 but `{python}` cannot import {modules} (set {ENV_PYTHON})");
    }
    eprintln!(
        "skipping: `{python}` cannot import {modules} (set {ENV_PYTHON}, or {require}=1 to fail)"
    );
    None
}

/// The Python with qiskit-aer, or `None` (after saying why) when the tests should skip.
pub fn aer_python() -> Option<String> {
    python_with("qiskit_aer, qiskit", ENV_REQUIRE_AER)
}

/// `QROUTE_REQUIRE_DATAFRAMES=1`: fail the Python-reader tests when polars or duckdb is
/// missing instead of skipping them (CI sets it).
pub const ENV_REQUIRE_DATAFRAMES: &str = "QROUTE_REQUIRE_DATAFRAMES";

/// The Python with polars and duckdb, or `None` (after saying why) when the tests should skip.
pub fn dataframe_python() -> Option<String> {
    python_with("polars, duckdb, pandas, pyarrow", ENV_REQUIRE_DATAFRAMES)
}

/// The exact state of a measurement-free circuit from |0…0⟩, by multiplying gate matrices.
pub fn reference_probabilities(c: &Circuit) -> Vec<f64> {
    let n = c.num_qubits() as usize;
    let mut u = qroute::circuit::GateMatrix::identity(n);
    for op in c.ops() {
        if let OpKind::Gate(g) = op.kind {
            let qs: Vec<usize> = op.qubits.iter().map(|&q| q as usize).collect();
            u.apply(&g.matrix(op.params), &qs);
        }
    }
    (0..u.dim()).map(|r| u.get(r, 0).norm_sqr()).collect()
}

pub fn assert_probs_eq(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol, "{what}: p[{i}] = {g}, expected {w}");
    }
}

pub fn random_layer(c: &mut Circuit, rng: &mut qroute::rng::Rng) {
    for q in 0..c.num_qubits() {
        let a: Vec<f64> = (0..3).map(|_| rng.f64() * 6.3).collect();
        c.gate(qroute::circuit::Gate::U3, &[q], &a).unwrap();
    }
}

/// `QROUTE_REQUIRE_GPU=1`: fail the GPU tests when no adapter is found instead of skipping
/// them (CI sets it, with Mesa's software Vulkan driver installed).
pub const ENV_REQUIRE_GPU: &str = "QROUTE_REQUIRE_GPU";

/// Whether GPU tests should run: an adapter exists, or (with the variable set) fail.
#[cfg(feature = "gpu")]
pub fn gpu_or_skip(b: &qroute::backend::gpu::GpuBackend) -> bool {
    use qroute::backend::{Availability, Backend};
    match b.availability() {
        Availability::Available => true,
        Availability::Unavailable(why) => {
            if std::env::var(ENV_REQUIRE_GPU).is_ok_and(|v| v == "1") {
                panic!("{ENV_REQUIRE_GPU}=1 but the GPU backend is unavailable: {why}");
            }
            eprintln!("skipping: no GPU adapter ({why}); set {ENV_REQUIRE_GPU}=1 to fail instead");
            false
        }
    }
}

/// Reads `qroute serve`'s standard error up to its "qroute serving on" line; the address.
pub fn serving_addr(err: &mut impl std::io::BufRead) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "serve exited early");
        if let Some(rest) = line.strip_prefix("qroute serving on http://") {
            return rest.split_whitespace().next().unwrap().to_string();
        }
    }
}

/// One HTTP/1.1 request with a JSON body on a new connection to `addr`; the whole response.
pub fn http(addr: &str, method: &str, path: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    response
}

/// The JSON body of an HTTP response.
pub fn json_body(response: &str) -> serde_json::Value {
    serde_json::from_str(response.split("\r\n\r\n").nth(1).unwrap()).unwrap()
}

/// Which backends a job tried, in order, and how each attempt ended.
pub fn tried(rep: &qroute::exec::JobReport) -> Vec<(&str, qroute::telemetry::Status)> {
    rep.attempts
        .iter()
        .map(|a| (a.backend.as_str(), a.status))
        .collect()
}
