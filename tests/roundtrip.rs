//! Circuit → OpenQASM → parse gives back the same IR (property test), for random circuits that
//! use every gate, several registers, conditions (on a register or one bit), measure, reset,
//! barrier and opaque gates.

use proptest::prelude::*;
use qroute::circuit::gate::ALL_GATES;
use qroute::circuit::generate::{GenKind, GenSpec, generate};
use qroute::circuit::qasm::{parse_str, to_qasm};
use qroute::circuit::{Circuit, Condition, OpKind};

#[derive(Debug, Clone)]
enum OpSpec {
    Gate {
        gate: usize,
        qubits: Vec<u32>,
        params: Vec<f64>,
        cond: Option<(u32, u64)>,
    },
    Opaque {
        qubits: Vec<u32>,
        param: f64,
    },
    Measure {
        qubit: u32,
        clbit: u32,
        cond: Option<(u32, u64)>,
    },
    Reset {
        qubit: u32,
    },
    Barrier {
        qubits: Vec<u32>,
    },
}

fn angle() -> impl Strategy<Value = f64> {
    prop_oneof![
        -10.0f64..10.0,
        any::<f64>().prop_filter("finite", |x| x.is_finite()),
        Just(0.0),
        Just(-0.0),
        Just(std::f64::consts::PI),
        Just(1e-300),
        Just(-2.5e-7),
    ]
}

fn op(nq: u32, nc: u32, ncregs: u32) -> impl Strategy<Value = OpSpec> {
    let qubits = move |k: usize| {
        Just((0..nq).collect::<Vec<u32>>())
            .prop_shuffle()
            .prop_map(move |v| v[..k].to_vec())
    };
    let cond = proptest::option::weighted(0.2, (0..ncregs, 0u64..8));
    let gate = (0..ALL_GATES.len())
        .prop_filter("fits", move |&g| ALL_GATES[g].arity() <= nq as usize)
        .prop_flat_map(move |g| {
            let k = ALL_GATES[g].arity();
            let p = ALL_GATES[g].num_params();
            (
                Just(g),
                qubits(k),
                proptest::collection::vec(angle(), p),
                cond.clone(),
            )
        })
        .prop_map(|(gate, qubits, params, cond)| OpSpec::Gate {
            gate,
            qubits,
            params,
            cond,
        });
    prop_oneof![
        6 => gate,
        1 => (qubits(2.min(nq as usize)), angle()).prop_map(|(qubits, param)| OpSpec::Opaque { qubits, param }),
        1 => (0..nq, 0..nc, proptest::option::weighted(0.2, (0..ncregs, 0u64..8)))
            .prop_map(|(qubit, clbit, cond)| OpSpec::Measure { qubit, clbit, cond }),
        1 => (0..nq).prop_map(|qubit| OpSpec::Reset { qubit }),
        1 => (1..=nq as usize).prop_flat_map(qubits).prop_map(|qubits| OpSpec::Barrier { qubits }),
    ]
}

fn circuit() -> impl Strategy<Value = Circuit> {
    (
        proptest::collection::vec(1u32..4, 1..4),
        proptest::collection::vec(1u32..4, 1..3),
    )
        .prop_flat_map(|(qsizes, csizes)| {
            let nq: u32 = qsizes.iter().sum();
            let nc: u32 = csizes.iter().sum();
            let ncregs = csizes.len() as u32;
            (
                Just(qsizes),
                Just(csizes),
                proptest::collection::vec(op(nq, nc, ncregs), 0..40),
            )
        })
        .prop_map(|(qsizes, csizes, ops)| {
            let mut c = Circuit::new();
            for (i, s) in qsizes.iter().enumerate() {
                c.add_qreg(&format!("q{i}"), *s).unwrap();
            }
            for (i, s) in csizes.iter().enumerate() {
                c.add_creg(&format!("c{i}"), *s).unwrap();
            }
            let opaque = c.declare_opaque("blackbox", 1, 2.min(c.num_qubits() as usize));
            // Values 6 and 7 stand for one-bit conditions on the register's first bit (#32).
            let cond = |x: Option<(u32, u64)>| {
                x.map(|(creg, value)| match value {
                    6 | 7 => Condition {
                        creg,
                        value: value - 6,
                        bit: Some(0),
                    },
                    _ => Condition {
                        creg,
                        value,
                        bit: None,
                    },
                })
            };
            for o in ops {
                match o {
                    OpSpec::Gate {
                        gate,
                        qubits,
                        params,
                        cond: k,
                    } => c
                        .push(
                            OpKind::Gate(ALL_GATES[gate]),
                            &qubits,
                            &params,
                            None,
                            cond(k),
                        )
                        .unwrap(),
                    OpSpec::Opaque { qubits, param } => c
                        .push(OpKind::Opaque(opaque), &qubits, &[param], None, None)
                        .unwrap(),
                    OpSpec::Measure {
                        qubit,
                        clbit,
                        cond: k,
                    } => c
                        .push(OpKind::Measure, &[qubit], &[], Some(clbit), cond(k))
                        .unwrap(),
                    OpSpec::Reset { qubit } => c.reset(qubit).unwrap(),
                    OpSpec::Barrier { qubits } => c.barrier(&qubits).unwrap(),
                }
            }
            c
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, rng_seed: proptest::test_runner::RngSeed::Fixed(2), ..ProptestConfig::default() })]

    #[test]
    fn written_circuit_parses_back_to_the_same_ir(c in circuit()) {
        let text = to_qasm(&c);
        let back = parse_str(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(&back, &c, "{}", text);
        prop_assert_eq!(back.id(), c.id());
    }
}

#[test]
fn generated_circuits_round_trip() {
    for kind in [
        GenKind::Ghz,
        GenKind::Qft,
        GenKind::Wstate,
        GenKind::Random,
        GenKind::Clifford,
        GenKind::Brickwork,
        GenKind::Qaoa,
        GenKind::Hea,
    ] {
        let depth = kind.has_depth().then_some(4);
        let spec = GenSpec {
            kind,
            qubits: 9,
            depth,
            seed: 11,
        }
        .check()
        .unwrap();
        let c = generate(&spec);
        assert_eq!(parse_str(&to_qasm(&c)).unwrap(), c, "{kind:?}");
    }
}
