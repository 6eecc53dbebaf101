"""qroute.run: counts agree with the exact distribution, on the routed backend and on each
exact backend forced in turn; seeds reproduce; results carry where and how long."""

import math
import threading
import time

import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.library import QFTGate
from qiskit.circuit.random import random_circuit
from qiskit.quantum_info import Statevector

import qroute

SHOTS = 4000


def ghz(n):
    qc = QuantumCircuit(n, n, name=f"ghz_{n}")
    qc.h(0)
    for i in range(n - 1):
        qc.cx(i, i + 1)
    qc.measure(range(n), range(n))
    return qc


def qft(n):
    qc = QuantumCircuit(n, n, name=f"qft_{n}")
    for i in range(n):
        qc.ry(0.3 + 0.4 * i, i)
    qc.append(QFTGate(n), range(n))
    qc.measure(range(n), range(n))
    return qc.decompose(reps=2)


def rand(n, depth, seed):
    qc = random_circuit(n, depth, max_operands=2, measure=False, seed=seed)
    qc.name = f"random_{n}_{seed}"
    qc.measure_all()
    return qc


def exact(qc):
    """Qiskit's exact outcome probabilities of a circuit measured at its end."""
    probs = Statevector(qc.remove_final_measurements(inplace=False)).probabilities_dict()
    return {k: p for k, p in probs.items() if p > 1e-12}


def assert_matches(counts, probs, shots=SHOTS):
    """Pearson's chi-square over outcomes of expected count ≥ 5 (the rest pooled) against
    the exact distribution, at a 1e-6 false-alarm level; and no outcome of probability 0."""
    from scipy.stats import chi2

    assert sum(counts.values()) == shots
    impossible = set(counts) - set(probs)
    assert not impossible, f"outcomes of probability 0: {sorted(impossible)[:5]}"
    stat, bins, rest_obs, rest_exp = 0.0, 0, 0, 0.0
    for k, p in probs.items():
        e = p * shots
        if e >= 5:
            stat += (counts.get(k, 0) - e) ** 2 / e
            bins += 1
        else:
            rest_obs += counts.get(k, 0)
            rest_exp += e
    if rest_exp >= 5:
        stat += (rest_obs - rest_exp) ** 2 / rest_exp
        bins += 1
    if bins >= 2:
        p_value = chi2.sf(stat, bins - 1)
        assert p_value > 1e-6, f"chi-square {stat:.1f} on {bins - 1} dof, p = {p_value:.2e}"


@pytest.mark.parametrize(
    "circuit",
    [ghz(5), ghz(12), qft(6), rand(6, 8, seed=3), rand(8, 10, seed=11)],
    ids=lambda c: c.name,
)
def test_routed_counts_match_exact_probabilities(workdir, circuit):
    res = qroute.run(circuit, shots=SHOTS, seed=42)
    assert res.ok, res.error
    assert res.backend in qroute.Session().backends
    assert_matches(res.counts, exact(circuit))


EXACT_BACKENDS = ["statevector", "sparse", "tensor-network", "factored", "mps-256", "prism-auto"]


@pytest.mark.parametrize("backend", EXACT_BACKENDS)
def test_each_exact_backend_agrees_with_qiskit(workdir, backend):
    session = qroute.Session()
    others = [b for b in session.backends if b != backend]
    circuit = rand(6, 8, seed=5)
    res = session.run(circuit, shots=SHOTS, seed=9, exclude=others)
    assert res.ok, res.error
    assert res.backend == backend
    assert_matches(res.counts, exact(circuit))


def test_same_seed_same_counts_other_seed_other_counts(workdir):
    qc = qft(5)
    a = qroute.run(qc, shots=2000, seed=1)
    b = qroute.run(qc, shots=2000, seed=1)
    c = qroute.run(qc, shots=2000, seed=2)
    assert a.backend == b.backend
    assert a.counts == b.counts
    assert a.counts != c.counts


def test_a_batch_returns_one_result_per_circuit_in_order(workdir, tmp_path):
    path = tmp_path / "bell.qasm"
    path.write_text(
        'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
        "h q[0];\ncx q[0],q[1];\nmeasure q -> c;\n"
    )
    text3 = "OPENQASM 3.0;\ninclude \"stdgates.inc\";\nqubit[1] q;\nbit[1] c;\nx q[0];\nc[0] = measure q[0];\n"
    results = qroute.run([ghz(3), path, text3, str(path)], shots=500, seed=0, threads=2)
    assert [r.circuit for r in results] == ["ghz_3", str(path), "<circuit 2>", str(path)]
    assert results[3].counts.keys() == results[1].counts.keys()
    assert set(results[0].counts) == {"000", "111"}
    assert set(results[1].counts) == {"00", "11"}
    assert results[2].counts == {"1": 500}
    for r in results:
        assert r.wall_ms is not None and r.wall_ms >= 0
        assert r.recommendation is not None and r.recommendation.backend
        assert r.attempts[-1].status == "ok"
        assert r.fidelity == 1.0


def test_telemetry_is_written_when_asked(workdir, tmp_path):
    out = tmp_path / "telemetry"
    qroute.run([ghz(4), qft(4)], shots=100, telemetry=out)
    files = list(out.rglob("*.parquet"))
    assert files, "no telemetry file written"
    import polars as pl  # as tests/dataframes.rs reads what `qroute run` writes

    rows = pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")
    assert rows.height == 2
    assert set(rows["status"]) == {"ok"}


def spin(until: threading.Event) -> int:
    """Counts loop turns of this thread until `until` is set."""
    ticks = 0
    while not until.is_set():
        ticks += 1
    return ticks


def test_the_interpreter_runs_other_threads_while_qroute_simulates(workdir):
    # 20 qubits on the dense state vector: a few hundred ms, long enough to see whether this
    # thread gets the interpreter while the simulation runs in another. Held, the lock would
    # leave it only the moments before and after the simulation: a small share of its rate.
    qc = rand(20, 30, seed=1)
    session = qroute.Session()
    others = [b for b in session.backends if b != "statevector"]
    alone = threading.Event()
    threading.Timer(0.2, alone.set).start()
    start = time.perf_counter()
    rate = spin(alone) / (time.perf_counter() - start)

    done = threading.Event()

    def work():
        session.run(qc, shots=10, exclude=others)
        done.set()

    t = threading.Thread(target=work)
    start = time.perf_counter()
    t.start()
    ticks = spin(done)
    t.join()
    elapsed = time.perf_counter() - start
    assert elapsed > 0.05, f"the run took only {elapsed:.3f} s: too short to tell"
    share = ticks / (rate * elapsed)
    assert share > 0.4, f"this thread ran at {share:.0%} of its rate while qroute simulated"


def test_no_backend_left_is_a_failed_result_not_a_crash(workdir):
    session = qroute.Session()
    res = session.run(ghz(3), shots=10, exclude=session.backends)
    assert not res.ok
    assert res.counts == {}
    assert "no backend" in res.error


def test_a_session_with_an_executor_runs_jobs_as_qroute_run_does(workdir, qroute_bin):
    # Given a qroute binary, jobs run as `qroute run` runs them: in executor processes of it
    # unless predicted far below the timeout. A binary that is not there is refused up front.
    session = qroute.Session(executor=qroute_bin)
    res = session.run(ghz(12), shots=200, seed=1, timeout=30)
    assert res.ok, res.error
    assert set(res.counts) == {"0" * 12, "1" * 12}
    with pytest.raises(qroute.QrouteError, match="nowhere"):
        qroute.Session(executor=workdir / "nowhere")
