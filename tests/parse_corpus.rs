//! The parser on every real circuit of ../shared/corpus, checked against manifest.csv.

mod common;

use qroute::circuit::qasm;
use qroute::features::{self, Feature};

#[test]
fn every_corpus_file_parses_with_the_manifest_counts() {
    let rows = common::manifest();
    assert!(rows.len() >= 694, "manifest has {} rows", rows.len());
    let mut failures = Vec::new();
    for row in &rows {
        let path = common::corpus_dir().join(&row.path);
        let circuit = match qasm::parse_file(&path) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{e}"));
                continue;
            }
        };
        let f = features::extract(&circuit);
        let checks = [
            ("num_qubits", f[Feature::NumQubits], row.num_qubits as f64),
            ("num_gates", f[Feature::GateCount], row.num_gates as f64),
            (
                "num_2q_gates (multi-qubit)",
                f[Feature::Gates2q] + f[Feature::Gates3qPlus],
                row.num_2q_gates as f64,
            ),
            ("depth", f[Feature::Depth], row.depth as f64),
        ];
        for (what, got, want) in checks {
            if got != want {
                failures.push(format!(
                    "{}: {what} is {got}, manifest says {want}",
                    row.path
                ));
            }
        }
        // The manifest decides Clifford by gate name, which implies Clifford by matrix.
        if row.is_clifford && f[Feature::IsClifford] != 1.0 {
            failures.push(format!("{}: Clifford by name but not by matrix", row.path));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn written_corpus_circuits_parse_back_to_the_same_ir() {
    for row in common::manifest().iter().step_by(7) {
        let c = qasm::parse_file(common::corpus_dir().join(&row.path)).unwrap();
        let text = qasm::to_qasm(&c);
        let back = qasm::parse_str(&text).unwrap_or_else(|e| panic!("{}: {e}", row.path));
        assert_eq!(back, c, "{}", row.path);
        assert_eq!(back.id(), c.id());
    }
}
