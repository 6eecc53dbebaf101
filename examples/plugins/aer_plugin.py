#!/usr/bin/env python3
"""Qiskit Aer as a qroute executor plugin.

Speaks qroute's executor protocol (docs/executor-protocol.md): JSON lines on stdin/stdout.
Configure it in qroute.toml:

    [[backend]]
    kind = "external"
    name = "aer-mps"
    command = ["python3", "examples/plugins/aer_plugin.py", "--method", "matrix_product_state"]

Needs `pip install qiskit qiskit-aer`. The method is one of Aer's: automatic, statevector,
matrix_product_state, stabilizer, ...
"""

import argparse
import json
import sys
import time

PROTOCOL = 1


def reply(msg):
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


def error(job_id, kind, message):
    return {"ok": False, "id": job_id, "error": {"kind": kind, "message": message}}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--method", default="automatic", help="Aer simulation method")
    ap.add_argument("--name", default=None, help="name reported by describe")
    args = ap.parse_args()

    import qiskit
    import qiskit_aer
    from qiskit import qasm2
    from qiskit_aer import AerSimulator

    name = args.name or f"aer-{args.method}"
    caps = {
        "max_qubits": None,
        "clifford_only": args.method == "stabilizer",
        "gates": None,
        "dynamic_circuits": True,
        "approximate": args.method == "matrix_product_state",
    }
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
        except ValueError as e:
            reply(error(None, "protocol", f"invalid request: {e}"))
            continue
        op = req.get("op")
        if op == "shutdown":
            return
        if op == "describe":
            reply({
                "ok": True,
                "describe": {
                    "protocol": PROTOCOL,
                    "name": name,
                    "version": f"qiskit-aer {qiskit_aer.__version__}, qiskit {qiskit.__version__}",
                    "capabilities": caps,
                    "price": None,
                },
            })
            continue
        if op != "run":
            reply(error(req.get("id"), "protocol", f"unknown op {op!r}"))
            continue
        job_id = req.get("id")
        try:
            circuit = qasm2.loads(req["qasm"], custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
        except Exception as e:  # the parent sent something Qiskit cannot read
            reply(error(job_id, "parse", str(e)))
            continue
        opts = {"method": args.method, "seed_simulator": int(req.get("seed", 0)) % (2**31)}
        threads = int(req.get("threads") or 0)
        if threads > 0:
            opts["max_parallel_threads"] = threads
        bond = (req.get("options") or {}).get("max_bond_dim")
        if bond and args.method == "matrix_product_state":
            opts["matrix_product_state_max_bond_dimension"] = int(bond)
        shots = int(req.get("shots", 0))
        try:
            sim = AerSimulator(**opts)
            wall0, cpu0 = time.perf_counter(), time.process_time()
            result = sim.run(circuit, shots=max(shots, 1)).result()
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            if not result.success:
                reply(error(job_id, "simulation", str(result.status)))
                continue
            try:
                raw = result.get_counts() if shots > 0 else {}
            except Exception:
                # No measurements: every shot reads the all-zero register.
                raw = {"0" * circuit.num_clbits: shots} if shots > 0 else {}
            counts = {}
            for key, n in raw.items():
                k = key.replace(" ", "")
                counts[k] = counts.get(k, 0) + int(n)
            reply({
                "ok": True,
                "id": job_id,
                "result": {
                    "counts": counts,
                    "wall_s": wall,
                    "cpu_s": cpu,
                    "peak_memory": None,
                    "fidelity": 1.0,
                    "metadata": {"engine": f"aer {args.method}"},
                },
            })
        except Exception as e:
            reply(error(job_id, "simulation", f"{type(e).__name__}: {e}"))


if __name__ == "__main__":
    main()
