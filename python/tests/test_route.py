"""qroute.route answers as `qroute route` does for the same file; bad input is a Python
exception naming file, line and column."""

import json
import subprocess

import pytest

import qroute
from conftest import DEMO

FILES = ["ghz_20.qasm", "qft_16.qasm", "cliff_layered_n100_d10.qasm", "randomcircuit_12.qasm"]


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("strategy", ["performance", "cost", "balanced"])
def test_routing_matches_the_cli(workdir, qroute_bin, name, strategy):
    path = DEMO / name
    cli = subprocess.run(
        [qroute_bin, "route", str(path), "--format", "json", "--strategy", strategy],
        check=True,
        capture_output=True,
        text=True,
    )
    [expected] = json.loads(cli.stdout)
    rec = qroute.route(path, strategy=strategy)
    want = expected["recommendation"]
    assert rec.circuit == expected["circuit"]
    assert rec.backend == want["backend"]
    assert rec.strategy == strategy
    assert rec.predicted_ms == want["chosen"]["latency_ms"]
    assert rec.interval_ms == (want["chosen"]["low_ms"], want["chosen"]["high_ms"])
    assert [a.backend for a in rec.alternatives] == [a["backend"] for a in want["alternatives"]]
    assert rec.reason == want["reason"]
    # The same file given as text routes the same.
    text = qroute.route(path.read_text(), strategy=strategy)
    assert (text.backend, text.predicted_ms) == (rec.backend, rec.predicted_ms)


def test_a_recommendation_explains_itself(workdir):
    rec = qroute.route(DEMO / "ghz_20.qasm")
    low, high = rec.interval_ms
    assert 0 < low <= rec.predicted_ms <= high
    assert 0 <= rec.confidence <= 1
    assert rec.backend in rec.reason
    assert rec.cost >= 0
    assert rec.model_version.startswith("default:")
    assert all(a.backend != rec.backend for a in rec.alternatives)


def test_a_parse_error_names_line_and_column(workdir, tmp_path):
    bad = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncx q[0], q[7];\n'
    with pytest.raises(qroute.QasmError, match=r"^<circuit 0>:4:\d+: "):
        qroute.route(bad)
    path = tmp_path / "bad.qasm"
    path.write_text(bad)
    with pytest.raises(qroute.QasmError, match=rf"^{path}:4:\d+: "):
        qroute.run(path)
    # A one-line string ending in .qasm is a file name; a missing one is named.
    with pytest.raises(qroute.QasmError, match="missing.qasm"):
        qroute.route(str(tmp_path / "missing.qasm"))
    assert issubclass(qroute.QasmError, qroute.QrouteError)


def test_bad_arguments_are_value_errors(workdir):
    ghz = DEMO / "ghz_20.qasm"
    with pytest.raises(ValueError, match="strategy"):
        qroute.route(ghz, strategy="fastest")
    with pytest.raises(ValueError, match="min_fidelity"):
        qroute.route(ghz, min_fidelity=1.5)
    with pytest.raises(ValueError, match="shots"):
        qroute.run(ghz, shots=0)
    with pytest.raises(ValueError, match="deadline"):
        qroute.route(ghz, deadline=-1)
    with pytest.raises(TypeError, match="circuit 0"):
        qroute.route(42)
    with pytest.raises(qroute.QrouteError, match="no backend"):
        qroute.route(ghz, exclude=qroute.Session().backends)


def test_a_missing_model_set_is_a_qroute_error(workdir, tmp_path):
    with pytest.raises(qroute.QrouteError, match="nowhere"):
        qroute.Session(model=tmp_path / "nowhere")
