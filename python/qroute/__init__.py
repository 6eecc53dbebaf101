"""qroute: each quantum circuit routed to the simulator predicted to finish it fastest (or
cheapest within a budget, deadline and fidelity), run there, and its results returned.

>>> import qroute
>>> rec = qroute.route("OPENQASM 2.0; include \\"qelib1.inc\\"; qreg q[2]; h q[0]; cx q[0], q[1];")
>>> res = qroute.run(circuits, shots=1024, seed=7)   # one Result per circuit, counts included

Everything here calls the same Rust library as the ``qroute`` command line; the model set is
compiled in. Inputs are OpenQASM 2.0/3 text, ``pathlib.Path`` objects naming ``.qasm`` files,
or Qiskit ``QuantumCircuit`` objects.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

# Mesa's Vulkan device-select layer prints an error at exit when XDG_RUNTIME_DIR is unset; the
# qroute binary avoids it the same way (qroute::app::quiet_gpu_driver). A host that set
# either variable keeps its choice.
if "XDG_RUNTIME_DIR" not in os.environ:
    os.environ.setdefault("NODEVICE_SELECT", "1")

from ._qroute import QasmError, QrouteError, __version__  # noqa: E402
from ._qroute import Session as _Session  # noqa: E402

__all__ = [
    "Attempt",
    "Estimate",
    "QasmError",
    "QrouteError",
    "Recommendation",
    "Result",
    "Session",
    "__version__",
    "route",
    "run",
]


@dataclass(frozen=True)
class Estimate:
    """One backend's prediction for a circuit (times in milliseconds, predicted)."""

    backend: str
    predicted_ms: float
    interval_ms: Tuple[float, float]
    """The model's 90% interval of the run time."""
    cost: float
    risk: float
    """Predicted share of attempts that fail or time out."""
    fidelity: Optional[float]
    """1 when exact; None for an approximate backend that may truncate."""

    @staticmethod
    def _from(d: Dict[str, Any]) -> "Estimate":
        return Estimate(
            backend=d["backend"],
            predicted_ms=d["latency_ms"],
            interval_ms=(d["low_ms"], d["high_ms"]),
            cost=d["cost"],
            risk=d["risk"],
            fidelity=d.get("fidelity"),
        )


@dataclass(frozen=True)
class Recommendation:
    """Where qroute would run a circuit, and why; nothing was run."""

    circuit: str
    backend: str
    strategy: str
    predicted_ms: float
    interval_ms: Tuple[float, float]
    cost: float
    confidence: float
    """Probability, under the model's own error, that the choice beats the best alternative."""
    reason: str
    alternatives: List[Estimate]
    ineligible: Dict[str, str]
    """Backends that cannot take the circuit, with why."""
    model_version: str
    raw: Dict[str, Any] = field(repr=False, compare=False)
    """The recommendation as ``qroute route --format json`` prints it."""

    @staticmethod
    def _from(circuit: str, d: Dict[str, Any]) -> "Recommendation":
        chosen = Estimate._from(d["chosen"])
        return Recommendation(
            circuit=circuit,
            backend=d["backend"],
            strategy=d["strategy"],
            predicted_ms=chosen.predicted_ms,
            interval_ms=chosen.interval_ms,
            cost=chosen.cost,
            confidence=d["confidence"],
            reason=d["reason"],
            alternatives=[Estimate._from(a) for a in d["alternatives"]],
            ineligible={i["backend"]: i["reason"] for i in d["ineligible"]},
            model_version=d["model_version"],
            raw=d,
        )


@dataclass(frozen=True)
class Attempt:
    """One attempt at running a job (a failure, a timeout, a hedge given up, or the run)."""

    backend: str
    status: str
    wall_ms: Optional[float]
    """Measured wall time of the simulation."""
    predicted_ms: float
    error: Optional[str]


@dataclass(frozen=True)
class Result:
    """What running one circuit gave: counts, where it ran, what it took (measured)."""

    circuit: str
    counts: Dict[str, int]
    """Shots per classical bitstring, classical bit 0 rightmost (Qiskit's order)."""
    backend: Optional[str]
    """The backend that ran it; None when every attempt failed."""
    wall_ms: Optional[float]
    """Measured wall time of the simulation."""
    predicted_ms: Optional[float]
    """The router's prediction for the backend that ran it."""
    cost: Optional[float]
    fidelity: Optional[float]
    """1 when exact; a lower bound for an approximate backend."""
    recommendation: Optional[Recommendation]
    """The router's first choice, before any fallback or hedge."""
    attempts: List[Attempt]
    error: Optional[str]
    """Why no attempt succeeded."""
    metadata: Dict[str, str]
    """The engine's details: which engine ran, its version, bond dimension reached, ..."""
    raw: Dict[str, Any] = field(repr=False, compare=False)
    """The report as ``qroute run --format json`` prints it."""

    @property
    def ok(self) -> bool:
        return self.backend is not None and self.error is None

    @staticmethod
    def _from(d: Dict[str, Any]) -> "Result":
        attempts = [
            Attempt(
                backend=a["backend"],
                status=a["status"],
                wall_ms=a.get("wall_ms"),
                predicted_ms=a["predicted_ms"],
                error=a.get("error"),
            )
            for a in d["attempts"]
        ]
        won = next((a for a in d["attempts"] if a["status"] == "ok"), None)
        outcome = d.get("outcome") or {}
        rec = d.get("recommendation")
        return Result(
            circuit=d["name"],
            counts=dict(outcome.get("counts", {})),
            backend=won["backend"] if won else None,
            wall_ms=won.get("wall_ms") if won else None,
            predicted_ms=won["predicted_ms"] if won else None,
            cost=won.get("cost") if won else None,
            fidelity=outcome.get("fidelity"),
            recommendation=Recommendation._from(d["name"], rec) if rec else None,
            attempts=attempts,
            error=d.get("error"),
            metadata=dict(outcome.get("metadata", {})),
            raw=d,
        )


Circuit = Union[str, "os.PathLike[str]", Any]
"""OpenQASM text, a path to a .qasm file (a ``pathlib.Path``, or a one-line string ending in
``.qasm``), or a qiskit.QuantumCircuit."""


def _source(c: Any, i: int) -> Tuple[str, Optional[str]]:
    """(name, text), or (path, None) for a file to read."""
    if isinstance(c, os.PathLike):
        return (os.fspath(c), None)
    if isinstance(c, str):
        # A one-line string naming a .qasm file is that file, not OpenQASM text.
        if "\n" not in c and c.strip().endswith(".qasm"):
            return (c.strip(), None)
        return (f"<circuit {i}>", c)
    if hasattr(c, "num_qubits") and hasattr(c, "data"):  # a Qiskit QuantumCircuit
        return (c.name or f"<circuit {i}>", _export(c))
    raise TypeError(
        f"circuit {i}: expected OpenQASM text, a path or a qiskit.QuantumCircuit, "
        f"got {type(c).__name__}"
    )


def _export(circuit: Any) -> str:
    """OpenQASM 2.0 for what it can express, else OpenQASM 3."""
    from qiskit import qasm2, qasm3

    try:
        return qasm2.dumps(circuit)
    except qasm2.QASM2ExportError:
        return qasm3.dumps(circuit)


def _many(circuits: Any) -> Tuple[List[Any], bool]:
    """The circuits as a list, and whether one was given alone."""
    single = isinstance(circuits, (str, os.PathLike)) or hasattr(circuits, "num_qubits")
    if single or not hasattr(circuits, "__iter__"):
        return [circuits], True
    return list(circuits), False


def _warn(answer: Dict[str, Any]) -> None:
    for w in answer.get("warnings", []):
        warnings.warn(w, stacklevel=4)


def _constraints(strategy, shots, max_cost, deadline, min_fidelity, exclude) -> Dict[str, Any]:
    """What each decision must respect, as the extension takes it (it checks the values)."""
    return {
        "strategy": strategy,
        "shots": shots,
        "max_cost": max_cost,
        "deadline": deadline,
        "min_fidelity": min_fidelity,
        "exclude": list(exclude) if exclude is not None else None,
    }


class Session:
    """One router, with its model set loaded once, across calls; it learns from each run.

    ``model``: a model set directory (default: the set compiled in). ``config``: a
    ``qroute.toml`` (default: ``./qroute.toml`` when there is one, else the built-in
    backends). ``executor``: a ``qroute`` binary; given one, jobs run in executor processes
    of it that a timeout or hedge can stop, as ``qroute run`` runs them. Without it they run
    in this process, with the interpreter's lock released.
    """

    def __init__(
        self,
        model: Optional[Union[str, "os.PathLike[str]"]] = None,
        config: Optional[Union[str, "os.PathLike[str]"]] = None,
        executor: Optional[Union[str, "os.PathLike[str]"]] = None,
    ) -> None:
        self._inner = _Session(model=model, config=config, executor=executor)

    @staticmethod
    def _ask(call, circuits: Any, constraints: Dict[str, Any], **extra: Any):
        """`call` (the extension's route or run) on the circuits; its answer, parse warnings
        raised as Python warnings, and whether one circuit was given alone."""
        items, one = _many(circuits)
        answer = json.loads(call([_source(c, i) for i, c in enumerate(items)], constraints, **extra))
        _warn(answer)
        return answer, one

    @property
    def model_version(self) -> str:
        return self._inner.model_version

    @property
    def backends(self) -> List[str]:
        return list(self._inner.backends)

    def route(
        self,
        circuits: Union[Circuit, Iterable[Circuit]],
        *,
        strategy: Optional[str] = None,
        shots: int = 1024,
        max_cost: Optional[float] = None,
        deadline: Optional[float] = None,
        min_fidelity: Optional[float] = None,
        exclude: Optional[Sequence[str]] = None,
    ) -> Union[Recommendation, List[Recommendation]]:
        """Where each circuit would run, and why; nothing runs.

        ``strategy``: performance (default), cost, balanced, predictive or adaptive.
        ``deadline`` in seconds. A circuit no backend may take raises ``QrouteError``
        naming each backend and why.
        """
        c = _constraints(strategy, shots, max_cost, deadline, min_fidelity, exclude)
        answer, one = self._ask(self._inner.route, circuits, c)
        recs = []
        for r in answer["results"]:
            if "error" in r:
                raise QrouteError(f"{r['circuit']}: {r['error']}")
            recs.append(Recommendation._from(r["circuit"], r["recommendation"]))
        return recs[0] if one else recs

    def run(
        self,
        circuits: Union[Circuit, Iterable[Circuit]],
        *,
        shots: int = 1024,
        seed: int = 0,
        strategy: Optional[str] = None,
        max_cost: Optional[float] = None,
        deadline: Optional[float] = None,
        min_fidelity: Optional[float] = None,
        exclude: Optional[Sequence[str]] = None,
        threads: int = 1,
        telemetry: Optional[Union[str, "os.PathLike[str]"]] = None,
        timeout: float = 60.0,
    ) -> Union[Result, List[Result]]:
        """Routes and runs each circuit; one ``Result`` per circuit, counts included.

        ``seed`` makes the counts reproducible (circuit i runs with a seed derived from it
        and i). ``threads`` jobs run at once. ``telemetry``: a directory every attempt is
        written to as Parquet, as ``qroute run`` writes it. ``timeout`` (seconds) bounds
        each attempt in an executor process. A job whose every attempt failed is returned
        with ``ok`` false and its ``error``; it does not raise.
        """
        c = _constraints(strategy, shots, max_cost, deadline, min_fidelity, exclude)
        answer, one = self._ask(
            self._inner.run, circuits, c, seed=seed, threads=threads, telemetry=telemetry,
            timeout=timeout,
        )
        results = [Result._from(r) for r in answer["results"]]
        return results[0] if one else results


_default: Optional[Session] = None
_default_lock = threading.Lock()


def _session() -> Session:
    global _default
    with _default_lock:
        if _default is None:
            _default = Session()
        return _default


def route(circuits: Union[Circuit, Iterable[Circuit]], **kwargs: Any):
    """``Session().route`` on a session shared by the module's calls (see ``Session.route``)."""
    return _session().route(circuits, **kwargs)


def run(circuits: Union[Circuit, Iterable[Circuit]], **kwargs: Any):
    """``Session().run`` on a session shared by the module's calls (see ``Session.run``)."""
    return _session().run(circuits, **kwargs)
