//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

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
