//! Feature extraction: hand-computed values on small circuits, the schema check, the docs
//! table, and a golden file of features for 20 corpus circuits.

mod common;

use approx::assert_abs_diff_eq;
use qroute::circuit::qasm::{parse_file, parse_str};
use qroute::features::{
    self, FEATURE_NAMES, FEATURE_SCHEMA, Feature, FeatureRow, Features, OutputFormat,
};

fn feats(body: &str) -> Features {
    let src = format!("OPENQASM 2.0;\ninclude \"qelib1.inc\";\n{body}");
    features::extract(&parse_str(&src).unwrap_or_else(|e| panic!("{e}")))
}

#[test]
fn ghz_like_circuit_matches_hand_computed_values() {
    let f =
        feats("qreg q[3]; creg c[3]; h q[0]; cx q[0],q[1]; cx q[1],q[2]; t q[2]; measure q -> c;");
    let expect = [
        (Feature::NumQubits, 3.0),
        (Feature::NumClbits, 3.0),
        (Feature::GateCount, 4.0),
        (Feature::Depth, 5.0),
        (Feature::Gates1q, 2.0),
        (Feature::Gates2q, 2.0),
        (Feature::Gates3qPlus, 0.0),
        (Feature::MeasureCount, 3.0),
        (Feature::HasMidCircuitMeasurement, 0.0),
        (Feature::NonCliffordCount, 1.0),
        (Feature::TCount, 1.0),
        (Feature::IsClifford, 0.0),
        (Feature::DiagonalGateCount, 1.0),
        (Feature::ProgramCommunication, 2.0 / 3.0),
        (Feature::CriticalDepth, 1.0),
        (Feature::EntanglementRatio, 0.5),
        (Feature::Parallelism, 0.2),
        (Feature::Liveness, 0.6),
        (Feature::Measurement, 0.0),
        (Feature::InteractionEdges, 2.0),
        (Feature::InteractionMaxDegree, 2.0),
        (Feature::InteractionComponents, 1.0),
        (Feature::LargestComponent, 3.0),
        (Feature::MultiQubitDepth, 2.0),
        (Feature::MaxGateSpan, 1.0),
        (Feature::MaxCutCrossings, 1.0),
        (Feature::Log2BondBound, 1.0),
        (Feature::DenseMemoryBytes, 128.0),
    ];
    for (feature, want) in expect {
        assert_abs_diff_eq!(f[feature], want, epsilon = 1e-12);
    }
}

#[test]
fn mid_circuit_measurement_reset_and_conditionals() {
    let f = feats("qreg q[1]; creg c[1]; measure q[0] -> c[0]; x q[0];");
    assert_eq!(f[Feature::HasMidCircuitMeasurement], 1.0);
    assert_eq!(f[Feature::Measurement], 0.5);
    let f = feats("qreg q[1]; creg c[1]; measure q[0] -> c[0]; measure q[0] -> c[0];");
    assert_eq!(f[Feature::HasMidCircuitMeasurement], 0.0);
    // Two measurements in layers 1 and 2, each followed by a gate: both layers count.
    let f = feats(
        "qreg q[2]; creg c[2]; measure q[0] -> c[0]; h q[1]; measure q[1] -> c[1]; \
         x q[0]; x q[1];",
    );
    assert_eq!(
        (f[Feature::Depth], f[Feature::Measurement]),
        (3.0, 2.0 / 3.0)
    );
    let f = feats("qreg q[1]; reset q[0]; h q[0];");
    assert_eq!(
        (
            f[Feature::HasReset],
            f[Feature::ResetCount],
            f[Feature::Measurement]
        ),
        (1.0, 1.0, 0.5)
    );
    // The condition reads both bits of c, so the two ifs are in consecutive layers.
    let f = feats("qreg q[2]; creg c[2]; if(c==1) x q[0]; if(c==2) x q[1];");
    assert_eq!(
        (f[Feature::ConditionalCount], f[Feature::HasConditional]),
        (2.0, 1.0)
    );
    assert_eq!(f[Feature::Depth], 2.0);
}

#[test]
fn barriers_line_qubits_up_without_adding_a_layer() {
    let f = feats("qreg q[2]; h q[0]; h q[0]; barrier q; h q[1];");
    assert_eq!(f[Feature::Depth], 3.0);
    let f = feats("qreg q[2]; h q[0]; h q[0]; h q[1];");
    assert_eq!(f[Feature::Depth], 2.0);
}

#[test]
fn clifford_is_decided_by_the_matrix() {
    let f = feats("qreg q[2]; rz(pi/2) q[0]; rx(-pi) q[1]; cp(pi) q[0],q[1]; u3(pi/2,0,pi) q[0];");
    assert_eq!(
        (f[Feature::IsClifford], f[Feature::NonCliffordCount]),
        (1.0, 0.0)
    );
    let f = feats("qreg q[2]; rz(pi/4) q[0]; p(3*pi/4) q[1]; rz(pi/8) q[0]; cp(pi/2) q[0],q[1];");
    assert_eq!(f[Feature::NonCliffordCount], 4.0);
    assert_eq!(f[Feature::TCount], 2.0);
}

#[test]
fn long_range_gates_cross_every_cut_in_between() {
    let f = feats("qreg q[6]; cx q[0],q[5]; ccx q[1],q[2],q[4];");
    assert_eq!(f[Feature::MaxGateSpan], 5.0);
    assert_eq!(f[Feature::MaxCutCrossings], 2.0);
    // Cut 2 (3 qubits a side) is crossed by both gates: 2 + 2 bits.
    assert_eq!(f[Feature::Log2BondBound], 3.0);
    assert_eq!(f[Feature::InteractionEdges], 4.0);
    assert_eq!(f[Feature::InteractionComponents], 3.0); // {0,5}, {1,2,4}, {3}
    assert_eq!(f[Feature::LargestComponent], 3.0);
    assert_eq!(f[Feature::Gates3qPlus], 1.0);
}

/// #30: the work estimates of schema v2, computed by hand from docs/features.md.
#[test]
fn issue_30_work_estimates_match_hand_computed_values() {
    let f =
        feats("qreg q[3]; creg c[3]; h q[0]; cx q[0],q[1]; cx q[1],q[2]; t q[2]; measure q -> c;");
    // Fused: h merges into the first cx, t into the second; three measurements.
    let l2 = |x: f64| x.log2();
    let expect = [
        (Feature::FusedOps, 5.0),
        (Feature::Log2SvWork, l2(5.0) + 3.0),
        // Two cuts, each crossed once by a rank-2 gate: bond 2, work 256 + 2³ each.
        (Feature::Log2Mps64Work, l2(1.0 + 2.0 * 264.0)),
        (Feature::Log2Mps256Work, l2(1.0 + 2.0 * 264.0)),
        (Feature::Mps64Saturation, 0.0),
        // h branches once; cx and t keep 2 non-zeros: 4 gates × 2.
        (Feature::Log2SparseWork, l2(1.0 + 8.0)),
        // Components 1, 2, 3, 3 qubits for the gates, 3 for each measurement.
        (
            Feature::Log2FactoredWork,
            l2(1.0 + 2.0 + 4.0 + 8.0 + 8.0 + 3.0 * 8.0),
        ),
        // 3 × (1 + 2 + 2 + 1) gate qubits + 3² × 3 measurements.
        (Feature::Log2StabilizerWork, l2(1.0 + 18.0 + 27.0)),
        (Feature::TnWidth, 1.0),
    ];
    for (feat, want) in expect {
        assert_abs_diff_eq!(f[feat], want, epsilon = 1e-12);
    }
    assert!(f.check_ranges().is_ok());
}

/// #30: a brickwork on 16 qubits wants bonds past 64 but within 256 (the middle cut's exact
/// bound is 2^8): only the χ = 64 estimate saturates, and it costs less work there.
#[test]
fn issue_30_mps_saturation_and_work_follow_the_bond_cap() {
    // 10 gates across every cut: bonds want 2^10.
    let mut gates = String::new();
    for layer in 0..20 {
        for a in (layer % 2..15).step_by(2) {
            gates += &format!("ry(0.3) q[{a}]; cx q[{a}],q[{}];", a + 1);
        }
    }
    let f = feats(&format!("qreg q[16]; {gates}"));
    assert!(f[Feature::Mps64Saturation] > 0.0, "{f:?}");
    assert_eq!(f[Feature::Mps256Saturation], 0.0);
    assert!(f[Feature::Log2Mps256Work] > f[Feature::Log2Mps64Work] + 1.0);
    // A brickwork in a line: the interaction graph is a path.
    assert_eq!(f[Feature::TnWidth], 1.0);
    // Work estimates only grow with more of the same gates.
    let g = feats(&format!("qreg q[16]; {gates} {gates}"));
    for w in [
        Feature::Log2SvWork,
        Feature::Log2Mps64Work,
        Feature::Log2SparseWork,
        Feature::Log2FactoredWork,
        Feature::Log2StabilizerWork,
    ] {
        assert!(g[w] > f[w], "{w}: {} then {}", f[w], g[w]);
    }
}

#[test]
fn features_of_another_schema_version_are_refused() {
    let mut f = feats("qreg q[1]; h q[0];");
    assert!(FEATURE_SCHEMA.check(&f).is_ok());
    f.schema_version = 1;
    let e = FEATURE_SCHEMA.check(&f).unwrap_err();
    assert_eq!(
        e.to_string(),
        "features have schema version 1, but this needs version 2"
    );
    assert!(Features::from_values(vec![0.0; 3]).is_none());
}

#[test]
fn docs_table_lists_every_feature_in_order() {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/features.md")).unwrap();
    let names: Vec<&str> = docs
        .lines()
        .filter_map(|l| l.strip_prefix("| "))
        .filter_map(|l| l.split(" |").next())
        .filter(|n| !n.contains(' ') && *n != "name" && !n.starts_with('-'))
        .collect();
    assert_eq!(names, FEATURE_NAMES);
}

/// One circuit per family, small to mid-sized.
const GOLDEN: &[&str] = &[
    "mqtbench/ae_6.qasm",
    "mqtbench/bv_12.qasm",
    "mqtbench/cdkm_ripple_carry_adder_8.qasm",
    "mqtbench/dj_9.qasm",
    "mqtbench/draper_qft_adder_10.qasm",
    "mqtbench/ghz_16.qasm",
    "mqtbench/graphstate_12.qasm",
    "mqtbench/grover_5.qasm",
    "mqtbench/hhl_7.qasm",
    "mqtbench/qaoa_10.qasm",
    "mqtbench/qft_8.qasm",
    "mqtbench/qftentangled_8.qasm",
    "mqtbench/qnn_6.qasm",
    "mqtbench/qpeexact_9.qasm",
    "mqtbench/qwalk_6.qasm",
    "mqtbench/randomcircuit_7.qasm",
    "mqtbench/vqe_su2_10.qasm",
    "mqtbench/wstate_12.qasm",
    "mqtbench/shor_18.qasm",
    "clifford/cliff_brick1d_n10_d10.qasm",
    "clifford/cliff_stimtableau_n200.qasm",
];

#[test]
fn golden_features_of_corpus_circuits() {
    let rows: Vec<FeatureRow> = GOLDEN
        .iter()
        .map(|f| {
            let c = parse_file(common::corpus_dir().join(f)).unwrap_or_else(|e| panic!("{e}"));
            FeatureRow {
                file: f.to_string(),
                circuit_id: c.id(),
                features: features::extract(&c),
            }
        })
        .collect();
    let got = features::render(&rows, OutputFormat::Csv);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/features.csv");
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    if got != want {
        let new = path.with_extension("csv.new");
        std::fs::write(&new, &got).unwrap();
        panic!(
            "features differ from {}; wrote {} — review the difference and move it over the \
             golden file if the change is intended",
            path.display(),
            new.display()
        );
    }
}
