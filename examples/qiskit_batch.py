"""A mixed batch of Qiskit circuits, routed and run by qroute, against Qiskit Aer's
`AerSimulator(method="automatic")` on the same circuits, on this machine.

    pip install maturin qiskit qiskit-aer && maturin develop --release -m python/Cargo.toml
    python examples/qiskit_batch.py [--shots 1024] [--repeat 3]

Both columns are measured wall times of `backend.run(circuit).result()` (median of --repeat
runs, after one warm-up), including each tool's own overhead; each circuit is transpiled
once, before timing, into gates both take. qroute's predicted time is printed beside its measured one.
"""

from __future__ import annotations

import argparse
import statistics
import time

from qiskit import QuantumCircuit, transpile
from qiskit.circuit.library import QFTGate, efficient_su2
from qiskit.circuit.random import random_circuit
from qiskit.quantum_info import random_clifford
from qiskit_aer import AerSimulator

from qroute.qiskit import GATES, QrouteBackend

# Gates both qroute and Aer take by name.
BASIS = [g for g in ("h", "x", "y", "z", "s", "sdg", "t", "tdg", "sx", "rx", "ry", "rz", "p",
                     "u", "cx", "cz", "swap", "ccx") if g in GATES] + ["measure"]


def ghz(n: int) -> QuantumCircuit:
    qc = QuantumCircuit(n, name=f"ghz_{n}")
    qc.h(0)
    for i in range(n - 1):
        qc.cx(i, i + 1)
    qc.measure_all()
    return qc


def qft(n: int) -> QuantumCircuit:
    qc = QuantumCircuit(n, name=f"qft_{n}")
    qc.h(range(n))
    qc.append(QFTGate(n), range(n))
    qc.measure_all()
    return qc


def clifford(n: int, seed: int) -> QuantumCircuit:
    qc = random_clifford(n, seed=seed).to_circuit()
    qc.name = f"clifford_{n}"
    qc.measure_all()
    return qc


def ansatz(n: int, reps: int, seed: int) -> QuantumCircuit:
    qc = efficient_su2(n, reps=reps, entanglement="linear")
    import random

    rng = random.Random(seed)
    qc = qc.assign_parameters([rng.uniform(0, 6.283) for _ in qc.parameters])
    qc.name = f"su2_linear_{n}"
    qc.measure_all()
    return qc


def rand(n: int, depth: int, seed: int) -> QuantumCircuit:
    qc = random_circuit(n, depth, max_operands=2, seed=seed)
    qc.name = f"random_{n}x{depth}"
    qc.measure_all()
    return qc


def batch() -> list[QuantumCircuit]:
    return [
        ghz(40),
        clifford(60, seed=1),
        qft(18),
        ansatz(40, reps=2, seed=2),
        rand(16, 20, seed=3),
        rand(22, 12, seed=4),
    ]


def timed(backend, circuit, shots: int, repeat: int, **options) -> tuple[float, object]:
    backend.run(circuit, shots=shots, **options).result()  # warm-up
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = backend.run(circuit, shots=shots, **options).result()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shots", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    qroute = QrouteBackend()
    aer = AerSimulator(method="automatic")
    print(f"{'circuit':<16} {'qubits':>6}  {'qroute chose':<20} {'predicted':>10} "
          f"{'qroute ms':>10} {'aer ms':>10} {'aer/qroute':>10}")
    total_q = total_a = 0.0
    failed: list[str] = []
    for circuit in batch():
        # One transpiled circuit for both, in gates both take (Aer's own target stops at the
        # qubits a dense state fits in, though its automatic method goes beyond).
        same = transpile(circuit, basis_gates=BASIS, optimization_level=1, seed_transpiler=0)
        q_ms, q_res = timed(qroute, same, args.shots, args.repeat, seed=1)
        a_ms, a_res = timed(aer, same, args.shots, args.repeat, seed_simulator=1)
        meta = q_res.results[0].metadata
        row = f"{circuit.name:<16} {circuit.num_qubits:>6}  {meta['backend']:<20} " \
              f"{meta['predicted_ms']:>8.2f}ms {q_ms:>10.2f}"
        if not q_res.success:
            print(f"{row}  qroute failed: {q_res.results[0].status}")
        elif not a_res.success:
            failed.append(circuit.name)
            print(f"{row} {'failed':>10}  (Aer: {a_res.results[0].status.splitlines()[0][:60]})")
        else:
            total_q += q_ms
            total_a += a_ms
            print(f"{row} {a_ms:>10.2f} {a_ms / q_ms:>9.2f}×")
    print(f"{'both ran':<16} {'':>6}  {'':<20} {'':>10} {total_q:>10.2f} {total_a:>10.2f} "
          f"{total_a / total_q:>9.2f}×")
    if failed:
        print(f"Aer failed on {len(failed)}: {', '.join(failed)}")


if __name__ == "__main__":
    main()
