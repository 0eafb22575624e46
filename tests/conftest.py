"""Shared fixtures: a fresh workspace file per test, and the path to the shipped fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from mining.store import Workspace

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def workspace(tmp_path: Path):
    """A new DuckDB workspace on disk, closed after the test."""
    ws = Workspace.open(tmp_path / "workspace.duckdb")
    yield ws
    Workspace.close_all()
