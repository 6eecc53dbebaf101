"""``QrouteBackend``: qroute as a Qiskit ``BackendV2``.

>>> from qroute.qiskit import QrouteBackend
>>> backend = QrouteBackend()
>>> counts = backend.run(circuits, shots=1024).result().get_counts()

Each circuit is routed to the simulator qroute predicts fastest (or by the ``strategy``
option) and run there; the ``Result`` carries the counts, and each experiment's ``metadata``
says which backend ran it, why, and what it took. Needs ``pip install qroute[qiskit]``.
"""

from __future__ import annotations

import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Dict, List, Optional

from qiskit.circuit import IfElseOp, Measure, QuantumCircuit, Reset
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.providers import BackendV2, JobStatus, JobV1, Options
from qiskit.result import Result as QiskitResult
from qiskit.transpiler import Target

from . import Result, Session, __version__

__all__ = ["QrouteBackend", "QrouteJob"]

# Qiskit's standard gates that qroute's OpenQASM reader takes by the same name (its qelib1.inc,
# Qiskit's extended version). Anything else is transpiled into these.
GATES = (
    "id", "x", "y", "z", "h", "s", "sdg", "t", "tdg", "sx", "sxdg",
    "rx", "ry", "rz", "p", "u", "u1", "u2", "u3",
    "cx", "cy", "cz", "ch", "swap", "crx", "cry", "crz", "cp", "cu1", "cu3", "cu", "csx",
    "rxx", "rzz", "ccx", "cswap", "rccx",
)  # fmt: skip

# The most qubits the target admits: qroute's stabilizer and MPS backends go far beyond a
# dense state; the router refuses what no backend can take, with why.
MAX_QUBITS = 1024


def _target() -> Target:
    target = Target(num_qubits=MAX_QUBITS, description="qroute: every qroute backend")
    standard = get_standard_gate_name_mapping()
    for name in GATES:
        target.add_instruction(standard[name], name=name)
    target.add_instruction(Measure())
    target.add_instruction(Reset())
    # Dynamic circuits: exported as OpenQASM 3 `if (c[0]) { ... }`, which qroute reads.
    target.add_instruction(IfElseOp, name="if_else")
    return target


def _hex_counts(counts: Dict[str, int]) -> Dict[str, int]:
    """qroute's bitstrings (classical bit 0 rightmost, registers concatenated) as Qiskit's
    hexadecimal memory keys."""
    out: Dict[str, int] = {}
    for bits, n in counts.items():
        key = hex(int(bits.replace(" ", ""), 2)) if bits.strip() else "0x0"
        out[key] = out.get(key, 0) + n
    return out


def _experiment(circuit: QuantumCircuit, result: Result, shots: int) -> Dict[str, Any]:
    rec = result.recommendation
    return {
        "shots": shots,
        "success": result.ok,
        "status": "DONE" if result.ok else f"ERROR: {result.error}",
        "data": {"counts": _hex_counts(result.counts)},
        "header": {
            "name": circuit.name,
            "memory_slots": circuit.num_clbits,
            "creg_sizes": [[c.name, c.size] for c in circuit.cregs],
            "n_qubits": circuit.num_qubits,
        },
        "metadata": {
            "backend": result.backend,
            "reason": rec.reason if rec else None,
            "predicted_ms": result.predicted_ms,
            "wall_ms": result.wall_ms,
            "cost": result.cost,
            "fidelity": result.fidelity,
            "attempts": [a.__dict__ for a in result.attempts],
            "engine": result.metadata,
        },
    }


class QrouteJob(JobV1):
    """A batch running on qroute; ``result()`` waits for it."""

    def __init__(
        self, backend: "QrouteBackend", job_id: str, pool: ThreadPoolExecutor, fn, circuits, options
    ) -> None:
        super().__init__(backend, job_id)
        self._pool = pool
        self._fn = fn
        self._circuits = circuits
        self._options = options
        self._future: Optional[Future] = None

    def submit(self) -> None:
        if self._future is not None:
            raise RuntimeError("this job was already submitted")
        self._future = self._pool.submit(self._fn, self._circuits, self._options)

    def result(self, timeout: Optional[float] = None) -> QiskitResult:
        if self._future is None:
            raise RuntimeError("this job was not submitted")
        results = self._future.result(timeout=timeout)
        shots = self._options["shots"]
        return QiskitResult.from_dict(
            {
                "backend_name": self.backend().name,
                "backend_version": __version__,
                "job_id": self.job_id(),
                "success": all(r.ok for r in results),
                "results": [_experiment(c, r, shots) for c, r in zip(self._circuits, results)],
            }
        )

    def status(self) -> JobStatus:
        if self._future is None:
            return JobStatus.INITIALIZING
        if self._future.running():
            return JobStatus.RUNNING
        if not self._future.done():
            return JobStatus.QUEUED
        return JobStatus.ERROR if self._future.exception() else JobStatus.DONE


class QrouteBackend(BackendV2):
    """Qiskit's view of qroute: one backend that routes each circuit to qroute's best.

    ``session``: a ``qroute.Session`` to share (default: a new one with the compiled-in
    model set and built-in backends). Options of ``run``: ``shots`` (1024), ``seed`` (0),
    ``strategy`` (performance, cost, balanced, predictive, adaptive), ``max_cost``,
    ``deadline`` (seconds), ``min_fidelity``, ``threads`` (1) and ``telemetry`` (a directory).
    """

    def __init__(self, session: Optional[Session] = None, name: str = "qroute") -> None:
        super().__init__(
            name=name,
            description="qroute: each circuit routed to the simulator predicted fastest",
            backend_version=__version__,
        )
        self._session = session if session is not None else Session()
        self._target = _target()
        # Jobs run one after another on one thread of the backend's own (the simulation
        # releases the interpreter's lock); `threads` parallelises within a job.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qroute")

    @property
    def target(self) -> Target:
        return self._target

    @property
    def max_circuits(self) -> Optional[int]:
        return None

    @classmethod
    def _default_options(cls) -> Options:
        return Options(
            shots=1024,
            seed=0,
            strategy=None,
            max_cost=None,
            deadline=None,
            min_fidelity=None,
            threads=1,
            telemetry=None,
        )

    def run(self, run_input, **options) -> QrouteJob:
        circuits: List[QuantumCircuit] = (
            [run_input] if isinstance(run_input, QuantumCircuit) else list(run_input)
        )
        unknown = set(options) - set(self.options.__dict__)
        if unknown:
            raise ValueError(f"unknown run options: {', '.join(sorted(unknown))}")
        opts = {**self.options.__dict__, **options}
        if opts["seed"] is None:
            opts["seed"] = 0
        job = QrouteJob(self, str(uuid.uuid4()), self._pool, self._execute, circuits, opts)
        job.submit()
        return job

    def _execute(self, circuits: List[QuantumCircuit], opts: Dict[str, Any]) -> List[Result]:
        return self._session.run(circuits, **opts)
