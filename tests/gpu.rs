//! The wgpu GPU state vector against the CPU state vector and known states. Runs on any
//! adapter; CI installs Mesa's software Vulkan driver and sets QROUTE_REQUIRE_GPU=1.
#![cfg(feature = "gpu")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use qroute::backend::gpu::GpuBackend;
use qroute::backend::prism::{PrismBackend, PrismTarget};
use qroute::backend::process::ProcessBackend;
use qroute::backend::{Backend, BackendOptions, Precision, RunSpec};
use qroute::circuit::gate::ALL_GATES;
use qroute::circuit::generate::{GenKind, GenSpec, generate};
use qroute::circuit::qasm::parse_str;
use qroute::circuit::{Circuit, Gate};
use qroute::config::default_price;
use qroute::features::extract;
use qroute::rng::Rng;

fn gpu() -> GpuBackend {
    GpuBackend::new(default_price())
}

fn spec(shots: u64, seed: u64, precision: Precision) -> RunSpec {
    RunSpec {
        shots,
        seed,
        options: BackendOptions {
            precision: Some(precision),
            ..Default::default()
        },
        ..RunSpec::default()
    }
}

fn random(n: u32, depth: u32, seed: u64) -> Circuit {
    generate(
        &GenSpec {
            kind: GenKind::Random,
            qubits: n,
            depth: Some(depth),
            seed,
        }
        .check()
        .unwrap(),
    )
}

#[test]
fn gpu_matches_the_cpu_state_vector_on_random_circuits() {
    let g = gpu();
    if !common::gpu_or_skip(&g) {
        return;
    }
    let sv = PrismBackend::new(PrismTarget::Statevector, default_price());
    let mut precisions = vec![(Precision::F32, 1e-4)];
    if g.supports_f64() {
        precisions.push((Precision::F64, 1e-10));
    }
    for (i, n) in [1u32, 2, 3, 5, 8, 11, 14, 16].into_iter().enumerate() {
        for seed in 0..3 {
            let c = common::gates_only(&random(n, 6, 100 * i as u64 + seed));
            let want = sv.probabilities(&c, &spec(0, 1, Precision::F64)).unwrap();
            for &(p, tol) in &precisions {
                let got = g.probabilities(&c, &spec(0, 1, p)).unwrap();
                common::assert_probs_eq(&got, &want, tol, &format!("n={n} seed={seed} {p:?}"));
            }
        }
    }
}

#[test]
fn every_gate_matches_its_matrix_on_the_gpu() {
    let g = gpu();
    if !common::gpu_or_skip(&g) {
        return;
    }
    let (p, tol) = if g.supports_f64() {
        (Precision::F64, 1e-10)
    } else {
        (Precision::F32, 1e-4)
    };
    let mut rng = Rng::new(8);
    for &gate in ALL_GATES {
        let k = gate.arity();
        let n = k as u32 + 1;
        let params: Vec<f64> = (0..gate.num_params())
            .map(|_| rng.f64() * 12.0 - 6.0)
            .collect();
        let mut qubits: Vec<u32> = (0..n).collect();
        rng.shuffle(&mut qubits);
        let mut c = Circuit::new();
        c.add_qreg("q", n).unwrap();
        common::random_layer(&mut c, &mut rng);
        c.gate(gate, &qubits[..k], &params).unwrap();
        common::random_layer(&mut c, &mut rng);
        for q in 1..n {
            c.gate(Gate::Cx, &[q - 1, q], &[]).unwrap();
        }
        common::random_layer(&mut c, &mut rng);
        let got = g.probabilities(&c, &spec(0, 1, p)).unwrap();
        common::assert_probs_eq(&got, &common::reference_probabilities(&c), tol, gate.name());
    }
}

#[test]
fn known_states_and_sampled_counts() {
    let g = gpu();
    if !common::gpu_or_skip(&g) {
        return;
    }
    let w = common::gates_only(&generate(
        &GenSpec {
            kind: GenKind::Wstate,
            qubits: 5,
            depth: None,
            seed: 0,
        }
        .check()
        .unwrap(),
    ));
    let probs = g.probabilities(&w, &spec(0, 1, Precision::F32)).unwrap();
    for (i, p) in probs.iter().enumerate() {
        let want = if i.count_ones() == 1 { 0.2 } else { 0.0 };
        assert!((p - want).abs() < 1e-5, "w5 p[{i}] = {p}");
    }
    let qft = generate(
        &GenSpec {
            kind: GenKind::Qft,
            qubits: 6,
            depth: None,
            seed: 0,
        }
        .check()
        .unwrap(),
    );
    let probs = g
        .probabilities(&common::gates_only(&qft), &spec(0, 1, Precision::F32))
        .unwrap();
    assert!(probs.iter().all(|p| (p - 1.0 / 64.0).abs() < 1e-5));

    // Bell counts, bit order, and a seeded chi-square test on a random circuit.
    let bell = parse_str(
        "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[3]; creg c[3]; h q[0]; cx q[0],q[1]; x q[2]; measure q -> c;",
    )
    .unwrap();
    let out = g.execute(&bell, &spec(2000, 4, Precision::F32)).unwrap();
    assert_eq!(out.counts.keys().collect::<Vec<_>>(), ["100", "111"]);
    assert!(out.metadata.get("adapter").is_some_and(|a| !a.is_empty()));
    assert!(out.metadata.contains_key("graphics_backend"));

    let c = random(7, 5, 3);
    let exact = PrismBackend::new(PrismTarget::Statevector, default_price())
        .probabilities(&common::gates_only(&c), &spec(0, 1, Precision::F64))
        .unwrap();
    let out = g.execute(&c, &spec(5000, 12, Precision::F32)).unwrap();
    let (stat, critical) = common::chi_square(&out.counts, &common::as_bitstrings(&exact, 7));
    assert!(stat < critical, "chi2 {stat} >= {critical}");
}

#[test]
fn ineligible_circuits_are_refused_with_reasons() {
    let g = gpu();
    if !common::gpu_or_skip(&g) {
        return;
    }
    let dynamic = parse_str(
        "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[1]; creg c[1]; h q[0]; measure q[0] -> c[0]; x q[0];",
    )
    .unwrap();
    let e = g
        .check_circuit(&dynamic, &extract(&dynamic), &spec(1, 1, Precision::F32))
        .unwrap_err();
    assert!(e.reason.contains("mid-circuit measurement"), "{e}");
    let wide = parse_str("OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[31]; h q[0];").unwrap();
    let e = g
        .check_circuit(&wide, &extract(&wide), &spec(1, 1, Precision::F32))
        .unwrap_err();
    assert!(e.reason.contains("31 qubits"), "{e}");
    let mid = parse_str("OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[20]; h q[0];").unwrap();
    let budget = RunSpec {
        memory_budget: Some(8 << 20),
        ..spec(1, 1, Precision::F32)
    };
    let e = g.check_circuit(&mid, &extract(&mid), &budget).unwrap_err();
    assert!(
        e.reason.contains("needs 16 MiB for 20 qubits") && e.reason.contains("memory budget 8 MiB"),
        "{e}"
    );
    // 2^30 amplitudes: 8 GiB at f32, more than any adapter allows in one buffer.
    let huge = parse_str("OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[30]; h q[0];").unwrap();
    let e = g
        .check_circuit(&huge, &extract(&huge), &spec(1, 1, Precision::F32))
        .unwrap_err();
    assert!(e.reason.contains("per buffer"), "{e}");
}

#[test]
fn the_gpu_backend_runs_in_executor_processes() {
    let g = gpu();
    if !common::gpu_or_skip(&g) {
        return;
    }
    let inner: Arc<dyn Backend> = Arc::new(gpu());
    let process = ProcessBackend::builtin(common::qroute_exe(), inner.clone(), None);
    let c = random(6, 4, 9);
    let s = RunSpec {
        timeout: Some(Duration::from_secs(120)),
        ..spec(300, 5, Precision::F32)
    };
    let a = inner.execute(&c, &s).unwrap();
    let b = process.execute(&c, &s).unwrap();
    assert_eq!(a.counts, b.counts);
    assert_eq!(b.metadata.get("adapter"), a.metadata.get("adapter"));
    assert!(b.peak_memory.is_some());
}

#[test]
fn the_adapter_is_named_and_a_software_rasteriser_says_so() {
    let g = gpu();
    if !common::gpu_or_skip(&g) {
        return;
    }
    let device = g
        .device()
        .expect("an available GPU backend names its device");
    // Mesa's lavapipe (CI's driver) is llvmpipe, a CPU device: it must not pass for a GPU.
    assert_eq!(
        device.contains("llvmpipe"),
        device.contains("software rasteriser"),
        "{device}"
    );
    // Listed the same way, and without the Vulkan loader's noise on a headless machine (#32).
    let out = std::process::Command::new(common::qroute_exe())
        .args(["backends", "--format", "json"])
        .env_remove("XDG_RUNTIME_DIR")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("XDG_RUNTIME_DIR"), "driver noise: {err}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed = v
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "gpu")
        .expect("gpu is listed");
    assert_eq!(listed["device"], device.as_str());
}
