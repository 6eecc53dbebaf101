#!/usr/bin/env python3
"""Compare qroute's backends with Qiskit Aer on the same corpus files.

Runs every file through `qroute simulate --in-process` (statevector, mps-64, stabilizer for
Clifford circuits, prism-auto) and through Qiskit Aer (statevector, matrix_product_state,
stabilizer, automatic) at 1 and 2 threads, 1024 shots, and prints the simulation wall times
and the ratios Aer / qroute (above 1: qroute is faster). Each number is the best of --repeat
runs. Needs a release build (`cargo build --release`) and `pip install qiskit qiskit-aer`.

    python3 benches/compare_aer.py [--qroute target/release/qroute] [--corpus ../shared/corpus]
"""

import argparse
import os
import re
import subprocess
import sys
import time

FILES = [
    "mqtbench/ghz_20.qasm",
    "mqtbench/qft_16.qasm",
    "mqtbench/wstate_24.qasm",
    "mqtbench/qpeexact_16.qasm",
    "mqtbench/vqe_su2_20.qasm",
    "mqtbench/grover_10.qasm",
    "mqtbench/randomcircuit_16.qasm",
    "mqtbench/ae_20.qasm",
    "clifford/cliff_layered_n100_d100.qasm",
    "clifford/cliff_stimtableau_n200.qasm",
]
PAIRS = [  # (qroute backend, Aer method)
    ("statevector", "statevector"),
    ("mps-64", "matrix_product_state"),
    ("stabilizer", "stabilizer"),
    ("prism-auto", "automatic"),
]


def qroute_time(exe, backend, path, threads, shots, timeout, repeat):
    best = None
    for _ in range(repeat):
        try:
            out = subprocess.run(
                [exe, "simulate", "--in-process", "--backend", backend, "--threads", str(threads),
                 "--shots", str(shots), "--seed", "1", path],
                capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return "timeout"
        if out.returncode != 0:
            return "n/a"
        m = re.search(r"wall time\s+([0-9.]+) ms", out.stdout)
        t = float(m.group(1)) / 1e3
        best = t if best is None else min(best, t)
    return best


def aer_time(circuit, method, threads, shots, repeat, budget):
    from qiskit import transpile
    from qiskit_aer import AerSimulator
    best = None
    sim = AerSimulator(method=method, max_parallel_threads=threads, seed_simulator=1)
    try:
        # Aer does not run every qelib1 gate natively under every method; translating to its
        # basis first is what an Aer user does, and is not timed.
        circuit = transpile(circuit, sim, optimization_level=0)
    except Exception:
        return "n/a"
    for _ in range(repeat):
        t0 = time.perf_counter()
        try:
            res = sim.run(circuit, shots=shots).result()
        except Exception:
            return "n/a"
        t = time.perf_counter() - t0
        if not res.success:
            return "n/a"
        best = t if best is None else min(best, t)
        if t > budget:
            break
    return best


def fmt(t):
    return t if isinstance(t, str) else f"{t * 1e3:10.2f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--qroute", default="target/release/qroute")
    ap.add_argument("--corpus", default=os.path.join(os.path.dirname(__file__), "../../shared/corpus"))
    ap.add_argument("--shots", type=int, default=1024)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("files", nargs="*", default=FILES)
    args = ap.parse_args()
    from qiskit import qasm2

    print(f"{'file':38} {'thr':>3} {'pair':32} {'qroute ms':>10} {'aer ms':>10} {'aer/qroute':>10}")
    for rel in args.files:
        path = os.path.join(args.corpus, rel)
        circuit = qasm2.load(path, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
        for threads in args.threads:
            for ours, method in PAIRS:
                q = qroute_time(args.qroute, ours, path, threads, args.shots, args.timeout, args.repeat)
                # Aer cannot be stopped mid-run: skip it where qroute already gave up.
                a = q if isinstance(q, str) else aer_time(circuit, method, threads, args.shots, args.repeat, args.timeout)
                ratio = f"{a / q:10.2f}" if not isinstance(a, str) and not isinstance(q, str) and q > 0 else "-"
                print(f"{rel:38} {threads:>3} {ours + ' / ' + method:32} {fmt(q):>10} {fmt(a):>10} {ratio:>10}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
