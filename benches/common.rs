//! Inputs shared by the parse and features benches.
#![allow(unreachable_pub, dead_code)]

use std::path::PathBuf;

use qroute::circuit::Circuit;
use qroute::circuit::generate::{GenKind, GenSpec, generate};

/// The largest files of the shared corpus (by gate count), each a different family.
pub const LARGEST: &[&str] = &[
    "clifford/cliff_stimtableau_n200.qasm",
    "mqtbench/qwalk_28.qasm",
    "mqtbench/grover_14.qasm",
];

/// ../shared/corpus beside the repository.
pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
}

/// A generated random circuit of `qubits` × `depth` / 2 gates or so (random 1–3 qubit gates
/// on random qubits, long-range ones included), seed 1.
pub fn random_circuit(qubits: u32, depth: u32) -> Circuit {
    let spec = GenSpec {
        kind: GenKind::Random,
        qubits,
        depth: Some(depth),
        seed: 1,
    };
    generate(&spec.check().expect("valid spec"))
}

/// A generated random circuit of about one million gates (100 qubits × 10,000 layers of
/// random 1–3 qubit gates ≈ 500k gates; 200 qubits ≈ 1M), seed 1.
pub fn million_gates() -> Circuit {
    random_circuit(200, 10_000)
}
