"""Shared fixtures: paths to the real NTU sample (skipped when ../shared is absent), CLI runner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
NTU_SAMPLE = SHARED / "data" / "ntu60-sample"


@pytest.fixture
def ntu_sample_dir() -> Path:
    if not NTU_SAMPLE.is_dir():
        pytest.skip("../shared/data/ntu60-sample is not present")
    return NTU_SAMPLE


@pytest.fixture
def runner():
    from click.testing import CliRunner
    try:
        return CliRunner(mix_stderr=False)
    except TypeError:  # click ≥ 8.2 keeps stderr separate by default
        return CliRunner()


@pytest.fixture
def invoke(runner):
    """Run `tdf ARGS…` in-process; returns the click Result (exit_code, stdout, stderr)."""
    from tdf.cli import cli

    def _invoke(*args, **kwargs):
        return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False, **kwargs)
    return _invoke
