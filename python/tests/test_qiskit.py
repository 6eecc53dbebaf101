"""qroute.qiskit.QrouteBackend: a BackendV2 whose results are Qiskit Results with counts,
agreeing with Aer, and whose metadata says where each circuit ran and why."""

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
from qiskit.circuit.library import QFTGate
from qiskit.providers import JobStatus
from qiskit.result import Result

from qroute.qiskit import QrouteBackend
from test_run import assert_matches, exact, ghz


def test_counts_from_a_transpiled_batch_match_exact(workdir):
    backend = QrouteBackend()
    qft = QuantumCircuit(5, name="qft")
    qft.h(range(5))
    qft.append(QFTGate(5), range(5))
    qft.measure_all()
    circuits = transpile([ghz(6), qft], backend)
    job = backend.run(circuits, shots=4000, seed=3)
    result = job.result()
    assert isinstance(result, Result)
    assert job.status() == JobStatus.DONE
    assert result.success
    for i, original in enumerate([ghz(6), qft]):
        assert_matches(result.get_counts(i), exact(original))
        meta = result.results[i].metadata
        assert meta["backend"] in backend._session.backends
        assert meta["reason"] and meta["backend"] in meta["reason"]
        assert meta["wall_ms"] >= 0


def test_registers_are_formatted_as_qiskit_formats_them(workdir):
    q = QuantumRegister(2, "q")
    x = ClassicalRegister(1, "x")
    y = ClassicalRegister(2, "y")
    qc = QuantumCircuit(q, x, y)
    qc.x(0)
    qc.measure(0, x[0])
    qc.measure(0, y[1])
    counts = QrouteBackend().run(qc, shots=10).result().get_counts()
    assert counts == {"10 1": 10}


def test_dynamic_circuits_run(workdir):
    qc = QuantumCircuit(2, 2)
    qc.h(0)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)):
        qc.x(1)
    qc.measure(1, 1)
    backend = QrouteBackend()
    counts = backend.run(transpile(qc, backend), shots=2000, seed=1).result().get_counts()
    assert set(counts) == {"00", "11"}
    assert abs(counts["11"] - 1000) < 200


def test_a_register_condition_with_else_runs_the_other_branch(workdir):
    # Qiskit exports if_else on a register as OpenQASM 3 `if (c == 2) {...} else {...}` (#32).
    q = QuantumRegister(3, "q")
    c = ClassicalRegister(2, "c")
    r = ClassicalRegister(3, "r")
    qc = QuantumCircuit(q, c, r)
    qc.x(0)
    qc.measure(0, c[0])
    with qc.if_test((c, 2)) as else_:
        qc.x(1)
    with else_:
        qc.x(2)
    qc.measure(q, r)
    backend = QrouteBackend()
    counts = backend.run(transpile(qc, backend), shots=20).result().get_counts()
    # c = 1, not 2: the else branch flips q[2] once.
    assert counts == {"101 01": 20}


def test_options_and_unknown_options(workdir):
    backend = QrouteBackend()
    import pytest

    with pytest.raises(ValueError, match="unknown run options: shot"):
        backend.run(ghz(2), shot=10)
    result = backend.run(ghz(3), shots=50, strategy="cost").result()
    assert sum(result.get_counts().values()) == 50
    assert "cost" in result.results[0].metadata["reason"] or result.results[0].metadata["backend"]
