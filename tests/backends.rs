//! The prism-q backends, in process: every gate's lowering against its matrix, exact backends
//! against each other on random circuits, stabilizers against the state vector, known states
//! on every backend, dynamic circuits, and the bit order of counts.

mod common;

use approx::assert_abs_diff_eq;
use proptest::prelude::*;
use qroute::backend::prism::{PrismBackend, PrismTarget};
use qroute::backend::{Backend, BackendError, RunSpec};
use qroute::circuit::gate::ALL_GATES;
use qroute::circuit::generate::{GenKind, GenSpec, generate};
use qroute::circuit::qasm::parse_str;
use qroute::circuit::{Circuit, Gate, OpKind};
use qroute::config::default_price;
use qroute::features::extract;
use qroute::rng::Rng;

fn backend(t: PrismTarget) -> PrismBackend {
    PrismBackend::new(t, default_price())
}

fn spec(shots: u64, seed: u64) -> RunSpec {
    RunSpec {
        shots,
        seed,
        ..RunSpec::default()
    }
}

#[test]
fn every_gate_lowers_to_its_matrix() {
    let sv = backend(PrismTarget::Statevector);
    let mut rng = Rng::new(42);
    let quarter = [
        0.0,
        std::f64::consts::FRAC_PI_2,
        std::f64::consts::PI,
        -std::f64::consts::FRAC_PI_2,
    ];
    for &g in ALL_GATES {
        let k = g.arity();
        let n = k as u32 + 1;
        // Arbitrary angles, and quarter turns (which take the named-Clifford lowering).
        for variant in 0..4 {
            let params: Vec<f64> = (0..g.num_params())
                .map(|_| {
                    if variant % 2 == 0 {
                        rng.f64() * 12.0 - 6.0
                    } else {
                        quarter[rng.below(4) as usize]
                    }
                })
                .collect();
            // Operands in a scrambled order so that operand order mistakes show.
            let mut qubits: Vec<u32> = (0..n).collect();
            rng.shuffle(&mut qubits);
            let qubits = &qubits[..k];
            let mut c = Circuit::new();
            c.add_qreg("q", n).unwrap();
            common::random_layer(&mut c, &mut rng);
            c.gate(g, qubits, &params).unwrap();
            common::random_layer(&mut c, &mut rng);
            for q in 1..n {
                c.gate(Gate::Cx, &[q - 1, q], &[]).unwrap();
            }
            common::random_layer(&mut c, &mut rng);
            let got = sv.probabilities(&c, &spec(0, 1)).unwrap();
            let what = format!("{}{params:?} on {qubits:?}", g.name());
            common::assert_probs_eq(&got, &common::reference_probabilities(&c), 1e-9, &what);
        }
    }
}

fn exact_targets() -> Vec<PrismTarget> {
    vec![
        PrismTarget::Statevector,
        PrismTarget::Sparse,
        PrismTarget::Factored,
        PrismTarget::TensorNetwork,
        PrismTarget::Mps { max_bond: 256 },
        PrismTarget::Auto,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, rng_seed: proptest::test_runner::RngSeed::Fixed(7), ..ProptestConfig::default() })]

    #[test]
    fn exact_backends_agree_on_random_circuits(n in 1u32..=12, depth in 1u32..=8, seed in any::<u64>()) {
        let c = common::gates_only(&generate(
            &GenSpec { kind: GenKind::Random, qubits: n, depth: Some(depth), seed }.check().unwrap(),
        ));
        let reference = backend(PrismTarget::Statevector).probabilities(&c, &spec(0, 1)).unwrap();
        for t in exact_targets() {
            let got = backend(t).probabilities(&c, &spec(0, 1))
                .map_err(|e| TestCaseError::fail(format!("{}: {e}", t.name())))?;
            for (i, (g, w)) in got.iter().zip(&reference).enumerate() {
                prop_assert!((g - w).abs() <= 1e-9, "{}: p[{}] = {} vs {}", t.name(), i, g, w);
            }
        }
    }
}

#[test]
fn stabilizers_agree_with_the_state_vector_on_clifford_circuits() {
    for (i, n) in [2u32, 5, 8, 12].into_iter().enumerate() {
        let full = generate(
            &GenSpec {
                kind: GenKind::Clifford,
                qubits: n,
                depth: Some(6),
                seed: i as u64,
            }
            .check()
            .unwrap(),
        );
        let c = common::gates_only(&full);
        let reference = backend(PrismTarget::Statevector)
            .probabilities(&c, &spec(0, 1))
            .unwrap();
        for t in [PrismTarget::Stabilizer, PrismTarget::FactoredStabilizer] {
            let got = backend(t).probabilities(&c, &spec(0, 1)).unwrap();
            common::assert_probs_eq(&got, &reference, 1e-9, &t.name());
        }
        // Sampled counts against the exact distribution: a seeded chi-square test.
        let expected = common::as_bitstrings(&reference, n as usize);
        for t in [
            PrismTarget::Stabilizer,
            PrismTarget::FactoredStabilizer,
            PrismTarget::Statevector,
        ] {
            let out = backend(t).execute(&full, &spec(4000, 9)).unwrap();
            assert_eq!(out.counts.values().sum::<u64>(), 4000);
            let (stat, critical) = common::chi_square(&out.counts, &expected);
            assert!(
                stat < critical,
                "{} n={n}: chi2 {stat} >= {critical}",
                t.name()
            );
        }
    }
}

/// A Clifford circuit followed by its inverse: every shot must read all zeros.
#[test]
fn clifford_circuit_then_its_inverse_is_deterministic() {
    let c = common::gates_only(&generate(
        &GenSpec {
            kind: GenKind::Clifford,
            qubits: 30,
            depth: Some(10),
            seed: 3,
        }
        .check()
        .unwrap(),
    ));
    let mut full = c.clone();
    let ops: Vec<(Gate, Vec<u32>)> = c
        .ops()
        .filter_map(|op| op.gate().map(|g| (g, op.qubits.to_vec())))
        .collect();
    for (g, qs) in ops.into_iter().rev() {
        let inv = match g {
            Gate::S => Gate::Sdg,
            Gate::Sdg => Gate::S,
            Gate::Sx => Gate::Sxdg,
            Gate::Sxdg => Gate::Sx,
            g => g,
        };
        full.gate(inv, &qs, &[]).unwrap();
    }
    full.add_creg("c", 30).unwrap();
    for q in 0..30 {
        full.measure(q, q).unwrap();
    }
    // 30 qubits: the state vector would need 16 GiB, so only the tableaux run it.
    for t in [
        PrismTarget::Stabilizer,
        PrismTarget::FactoredStabilizer,
        PrismTarget::Auto,
    ] {
        let out = backend(t).execute(&full, &spec(500, 1)).unwrap();
        assert_eq!(out.counts.len(), 1, "{}: {:?}", t.name(), out.counts);
        assert_eq!(out.counts.get(&"0".repeat(30)), Some(&500), "{}", t.name());
    }
}

fn known(src: &str) -> Circuit {
    parse_str(&format!("OPENQASM 2.0;\ninclude \"qelib1.inc\";\n{src}")).unwrap()
}

#[test]
fn known_states_on_every_backend() {
    let s = 0.5f64;
    // (name, circuit, nonzero probabilities by basis index)
    type Case<'a> = (&'a str, Circuit, Vec<(usize, f64)>);
    let cases: Vec<Case> = vec![
        (
            "bell",
            known("qreg q[2]; h q[0]; cx q[0],q[1];"),
            vec![(0, s), (3, s)],
        ),
        (
            "ghz5",
            known("qreg q[5]; h q[0]; cx q[0],q[1]; cx q[1],q[2]; cx q[2],q[3]; cx q[3],q[4];"),
            vec![(0, s), (31, s)],
        ),
        (
            "w4",
            common::gates_only(&generate(
                &GenSpec {
                    kind: GenKind::Wstate,
                    qubits: 4,
                    depth: None,
                    seed: 0,
                }
                .check()
                .unwrap(),
            )),
            vec![(1, 0.25), (2, 0.25), (4, 0.25), (8, 0.25)],
        ),
        (
            "plus3 (product)",
            known("qreg q[3]; h q[0]; h q[1]; h q[2];"),
            (0..8).map(|i| (i, 0.125)).collect(),
        ),
    ];
    let all: Vec<PrismTarget> = PrismTarget::defaults();
    for (name, c, want) in &cases {
        let f = extract(c);
        let mut expected = vec![0.0; 1 << c.num_qubits()];
        for &(i, p) in want {
            expected[i] = p;
        }
        let mut ran = 0;
        for &t in &all {
            let b = backend(t);
            if b.check_circuit(c, &f, &spec(0, 1)).is_err() {
                continue;
            }
            let got = b
                .probabilities(c, &spec(0, 1))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            common::assert_probs_eq(&got, &expected, 1e-9, &format!("{name} on {}", t.name()));
            ran += 1;
        }
        assert!(ran >= 5, "{name} ran on only {ran} backends");
    }
    // QFT of every basis state of 4 qubits has uniform magnitudes.
    for k in 0..16u32 {
        let mut c = Circuit::new();
        c.add_qreg("q", 4).unwrap();
        for q in 0..4 {
            if k >> q & 1 == 1 {
                c.gate(Gate::X, &[q], &[]).unwrap();
            }
        }
        let qft = generate(
            &GenSpec {
                kind: GenKind::Qft,
                qubits: 4,
                depth: None,
                seed: 0,
            }
            .check()
            .unwrap(),
        );
        for op in qft.ops() {
            if let OpKind::Gate(g) = op.kind {
                c.gate(g, op.qubits, op.params).unwrap();
            }
        }
        for t in exact_targets() {
            let got = backend(t).probabilities(&c, &spec(0, 1)).unwrap();
            for p in got {
                assert_abs_diff_eq!(p, 1.0 / 16.0, epsilon = 1e-9);
            }
        }
    }
}

#[test]
fn counts_put_classical_bit_zero_rightmost() {
    let c = known("qreg q[3]; creg c[3]; x q[0]; measure q -> c;");
    for t in [
        PrismTarget::Statevector,
        PrismTarget::Stabilizer,
        PrismTarget::Mps { max_bond: 64 },
    ] {
        let out = backend(t).execute(&c, &spec(10, 1)).unwrap();
        assert_eq!(
            out.counts.into_iter().collect::<Vec<_>>(),
            vec![("001".to_string(), 10)]
        );
    }
}

#[test]
fn mid_circuit_measurement_reset_and_conditionals() {
    // Measure a |+>, flip it back to |0> when the register reads 1, measure again: the second
    // bit is always 0 and the first is a fair coin.
    let c = known(
        "qreg q[1]; creg c[2]; h q[0]; measure q[0] -> c[0]; if(c==1) x q[0]; measure q[0] -> c[1];",
    );
    // Reset after X, and a conditional that never fires.
    let r = known("qreg q[2]; creg c[2]; x q[0]; reset q[0]; if(c==3) x q[1]; measure q -> c;");
    for t in [
        PrismTarget::Statevector,
        PrismTarget::Stabilizer,
        PrismTarget::Sparse,
        PrismTarget::Mps { max_bond: 64 },
        PrismTarget::Auto,
    ] {
        let out = backend(t).execute(&c, &spec(2000, 5)).unwrap();
        let keys: Vec<&String> = out.counts.keys().collect();
        assert!(
            keys.iter().all(|k| k.starts_with('0')),
            "{}: {:?}",
            t.name(),
            out.counts
        );
        let ones = out.counts.get("01").copied().unwrap_or(0);
        assert!(
            (800..1200).contains(&ones),
            "{}: {:?}",
            t.name(),
            out.counts
        );
        let out = backend(t).execute(&r, &spec(100, 5)).unwrap();
        assert_eq!(
            out.counts.get("00"),
            Some(&100),
            "{}: {:?}",
            t.name(),
            out.counts
        );
    }
}

#[test]
fn eligibility_reasons_carry_numbers() {
    let t = known("qreg q[3]; t q[0]; cx q[0],q[1];");
    let f = extract(&t);
    let e = backend(PrismTarget::Stabilizer)
        .check_circuit(&t, &f, &spec(0, 1))
        .unwrap_err();
    assert_eq!(
        e.reason,
        "circuit has 1 non-Clifford gate(s); backend is Clifford-only"
    );
    let e = backend(PrismTarget::Product)
        .check_circuit(&t, &f, &spec(0, 1))
        .unwrap_err();
    assert!(e.reason.contains("1 multi-qubit gate"), "{e}");

    let big = known("qreg q[34]; h q[0];");
    let f = extract(&big);
    let budget = RunSpec {
        memory_budget: Some(8 << 30),
        ..spec(0, 1)
    };
    let e = backend(PrismTarget::Statevector)
        .check_circuit(&big, &f, &budget)
        .unwrap_err();
    assert_eq!(e.reason, "needs 256 GiB for 34 qubits, memory budget 8 GiB");

    let exact = RunSpec {
        options: qroute::backend::BackendOptions {
            min_fidelity: Some(1.0),
            ..Default::default()
        },
        ..spec(0, 1)
    };
    let wide =
        known("qreg q[20]; h q; cx q[0],q[19]; cx q[1],q[18]; cx q[2],q[17]; cx q[3],q[16];");
    let e = backend(PrismTarget::Mps { max_bond: 4 })
        .check_circuit(&wide, &extract(&wide), &exact)
        .unwrap_err();
    assert!(e.reason.contains("cap is 4"), "{e}");

    let opaque = known("qreg q[1]; opaque magic a; magic q[0];");
    let e = backend(PrismTarget::Statevector)
        .check_circuit(&opaque, &extract(&opaque), &spec(0, 1))
        .unwrap_err();
    assert!(e.reason.contains("opaque gate `magic`"), "{e}");
    let run = backend(PrismTarget::Statevector).execute(&opaque, &spec(1, 1));
    assert!(
        matches!(run, Err(BackendError::Simulation { .. })),
        "{run:?}"
    );
}

#[test]
fn same_seed_same_counts() {
    let c = generate(
        &GenSpec {
            kind: GenKind::Random,
            qubits: 6,
            depth: Some(5),
            seed: 1,
        }
        .check()
        .unwrap(),
    );
    for t in exact_targets() {
        let a = backend(t).execute(&c, &spec(300, 11)).unwrap();
        let b = backend(t).execute(&c, &spec(300, 11)).unwrap();
        assert_eq!(a.counts, b.counts, "{}", t.name());
    }
}

/// #32: the router's state-vector check and the engine's cap come from one number, the run's
/// memory budget (half of the machine's by default): at each side of the limit, eligible ⇔
/// runs, and a refusal names qroute's setting, not prism-q's variables.
#[test]
fn issue_32_statevector_eligibility_agrees_with_the_engine() {
    let sv = backend(PrismTarget::Statevector);
    for (budget, cap) in [(1u64 << 20, 16u32), ((1 << 24) + (1 << 23), 20)] {
        for n in [cap, cap + 1] {
            let c = ghz_measured(n);
            let spec = RunSpec {
                shots: 10,
                memory_budget: Some(budget),
                ..RunSpec::default()
            };
            let eligible = sv.check_circuit(&c, &extract(&c), &spec);
            let ran = sv.execute(&c, &spec);
            assert_eq!(
                eligible.is_ok(),
                ran.is_ok(),
                "{n} qubits, budget {budget}: check {eligible:?}, run {:?}",
                ran.as_ref().err()
            );
            assert_eq!(eligible.is_ok(), n <= cap, "{n} qubits, budget {budget}");
            if let Err(e) = eligible {
                assert!(e.reason.contains("memory budget"), "{e}");
                assert!(!e.reason.contains("PRISM_"), "{e}");
            }
        }
    }
    // Without a budget: one qubit over the default cap is refused by both (the router used to
    // allow the machine's whole memory while prism-q kept to half; that side is not run here,
    // it would allocate half the machine).
    let Some(mem) = qroute::backend::prism::machine_memory() else {
        return;
    };
    let n = (mem / 2 / 16).ilog2() + 1;
    let c = ghz_measured(n);
    let spec = RunSpec {
        shots: 1,
        ..RunSpec::default()
    };
    let e = sv.check_circuit(&c, &extract(&c), &spec).unwrap_err();
    assert!(e.reason.contains("half of this machine's memory"), "{e}");
    assert!(sv.execute(&c, &spec).is_err());
}

fn ghz_measured(n: u32) -> Circuit {
    let mut c = Circuit::new();
    c.add_qreg("q", n).unwrap();
    c.add_creg("c", n).unwrap();
    c.push(OpKind::Gate(Gate::H), &[0], &[], None, None)
        .unwrap();
    for q in 1..n {
        c.push(OpKind::Gate(Gate::Cx), &[0, q], &[], None, None)
            .unwrap();
    }
    for q in 0..n {
        c.push(OpKind::Measure, &[q], &[], Some(q), None).unwrap();
    }
    c
}

/// #32 item 2: every built-in engine at each side of each of its limits — Clifford-only
/// (stabilizer, factored stabilizer), no multi-qubit gates (product), an exact MPS's bond cap
/// under fidelity 1 — and on a dynamic circuit (mid-circuit measurement and reset) is
/// eligible exactly when it runs.
#[test]
fn issue_32_eligibility_agrees_with_every_engine_at_each_limit() {
    let make = |kind, qubits, depth| {
        generate(
            &GenSpec {
                kind,
                qubits,
                depth,
                seed: 4,
            }
            .check()
            .unwrap(),
        )
    };
    let one_qubit_gates = parse_str(
        "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[4];\ncreg c[4];\n\
         h q[0];\nt q[1];\nry(0.3) q[2];\nmeasure q -> c;\n",
    )
    .unwrap();
    let circuits = [
        ("ghz (Clifford)", make(GenKind::Ghz, 6, None)),
        ("clifford-t (one T)", make(GenKind::CliffordT, 6, Some(1))),
        ("one-qubit gates only", one_qubit_gates),
        ("dynamic", make(GenKind::Dynamic, 6, Some(2))),
        ("brickwork depth 1", make(GenKind::Brickwork, 8, Some(1))),
        ("brickwork depth 8", make(GenKind::Brickwork, 8, Some(8))),
    ];
    let targets = [
        PrismTarget::Statevector,
        PrismTarget::Stabilizer,
        PrismTarget::FactoredStabilizer,
        PrismTarget::Sparse,
        PrismTarget::Mps { max_bond: 4 },
        PrismTarget::Product,
        PrismTarget::TensorNetwork,
        PrismTarget::Factored,
        PrismTarget::Auto,
    ];
    let mut refused = 0;
    for t in targets {
        let b = backend(t);
        for (what, c) in &circuits {
            let mut spec = spec(50, 1);
            spec.options.min_fidelity = Some(1.0);
            let eligible = b.check_circuit(c, &extract(c), &spec);
            let ran = b.execute(c, &spec);
            assert_eq!(
                eligible.is_ok(),
                ran.is_ok(),
                "{} on {what}: check {eligible:?}, run {:?}",
                t.name(),
                ran.as_ref().err()
            );
            refused += usize::from(eligible.is_err());
        }
    }
    // Each limit is crossed: the two stabilizer engines refuse the five non-Clifford
    // circuits, product the five entangling ones, MPS-4 the deep brickwork (every engine
    // here takes dynamic circuits).
    assert_eq!(refused, 16);
}

/// Past the widest dense distribution its memory budget allows, prism-q's tensor network
/// refuses a run and samples shots qubit by qubit, a route that failed or timed out on every
/// circuit of the reference telemetry: the check refuses both, and eligible means it runs.
#[test]
fn issue_32_tensor_network_samples_within_its_dense_cap() {
    let tn = backend(PrismTarget::TensorNetwork);
    // 24 bytes per basis state (amplitude and probability): 2^10 states fit, 2^11 do not.
    let budget = 24 << 10;
    for (qubits, shots, eligible) in [
        (10, 64, true),
        (10, 0, true),
        (11, 64, false),
        (11, 0, false),
    ] {
        let c = generate(
            &GenSpec {
                kind: GenKind::Ghz,
                qubits,
                depth: None,
                seed: 1,
            }
            .check()
            .unwrap(),
        );
        let mut spec = spec(shots, 1);
        spec.memory_budget = Some(budget);
        let check = tn.check_circuit(&c, &extract(&c), &spec);
        assert_eq!(
            check.is_ok(),
            eligible,
            "{qubits} qubits, {shots} shots: {check:?}"
        );
        if let Err(e) = &check {
            let text = e.to_string();
            assert!(
                text.contains("memory budget") && text.contains("at most 10 qubits"),
                "{text}"
            );
        }
        // Past the cap a run without shots fails in the engine as well; sampling past it is
        // refused by measured policy (it may succeed on a low-treewidth circuit like this one).
        if eligible || shots == 0 {
            let out = tn.execute(&c, &spec);
            assert_eq!(
                out.is_ok(),
                eligible,
                "{qubits} qubits, {shots} shots: {:?}",
                out.err()
            );
        }
    }
}
