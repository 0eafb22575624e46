"""Fixtures of the training tests: an export of reviewed hard examples and a tiny chat model folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from export_data import build, export_training_rows
from tiny_model import save_tiny_chat_model
from mining.store import Workspace
from mining.train import MIN_ROWS


@pytest.fixture(scope="package")
def export_folder(tmp_path_factory) -> Path:
    """An export of the reviewed hard examples: SFT rows and DPO pairs."""
    folder = tmp_path_factory.mktemp("export")
    workspace = Workspace.open(folder / "workspace.duckdb")
    try:
        build(workspace, folder)
        result = export_training_rows(workspace, folder / "out")
    finally:
        Workspace.close_all()
    assert result.manifest["kinds"]["sft"]["rows"] >= MIN_ROWS and result.manifest["kinds"]["dpo"]["rows"] >= MIN_ROWS
    return result.folder


@pytest.fixture(scope="package")
def base_model(tmp_path_factory) -> Path:
    return save_tiny_chat_model(tmp_path_factory.mktemp("base"))
