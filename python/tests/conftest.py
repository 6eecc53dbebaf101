"""Shared fixtures: the repository, the qroute binary the CLI comparisons run, and circuits."""

import os
import pathlib
import shutil

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
DEMO = REPO / "datasets" / "demo"


@pytest.fixture(scope="session")
def qroute_bin() -> str:
    """The `qroute` binary: $QROUTE_BIN (what .ci/run sets), else one on PATH or under the
    target directory. Missing, the tests that compare with the CLI fail, naming how to build it."""
    candidates = [os.environ.get("QROUTE_BIN"), shutil.which("qroute")]
    target = os.environ.get("CARGO_TARGET_DIR", str(REPO / "target"))
    candidates.append(os.path.join(target, "release", "qroute"))
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    pytest.fail("no qroute binary: build it with `cargo build --release` or set QROUTE_BIN")


@pytest.fixture()
def workdir(tmp_path, monkeypatch):
    """An empty working directory, so that no ./qroute.toml or ./models/default is picked up."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
