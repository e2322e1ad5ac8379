"""The benchmark still runs: one smoke repetition, no timing assertions (timings belong in bench/)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT, tool


def test_benchmark_smoke_run():
    tool("gen-ci")
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--smoke"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    for row in ("interpreter start (floor)", "cold render, 1 spec", "check in sync, 3 specs", "peer: validate 3 outputs", "warm render"):
        assert row in result.stdout


def test_lint_benchmark_smoke_run():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "lint.py"), "--smoke"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "read, follow includes and run every rule" in result.stdout and "in 1 + 20 files" in result.stdout
