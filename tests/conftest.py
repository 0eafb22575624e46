"""Shared fixtures: a fresh workspace per test (found by the app through $FAULTLINE_WORKSPACE) and
small OpenAI-shape logs written on the fly, for texts the shipped fixtures do not have."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterator

import pytest

from mining.access import CONFIG_ENV, DATA_ENV
from mining.store import WORKSPACE_ENV, Workspace
from paths import FIXTURES


@pytest.fixture(autouse=True)
def no_server_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts with no operator settings (mining.access): never the machine's own
    ~/.faultline/server.toml or $FAULTLINE_DATA."""
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "settings" / "server.toml"))
    monkeypatch.delenv(DATA_ENV, raising=False)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """An empty workspace in tmp_path, also set as $FAULTLINE_WORKSPACE so the app opens the same one."""
    path = tmp_path / "workspace.duckdb"
    monkeypatch.setenv(WORKSPACE_ENV, str(path))
    yield Workspace.open(path)
    Workspace.close_all()


def _openai_line(call_id: str, question: str, answer: str, *, ts: str = "2026-11-09T10:00:00Z",
                thumbs: str | None = None, error: str | None = None) -> dict:
    """One call logged in the OpenAI chat-completions shape."""
    line = {
        "id": call_id, "timestamp": ts,
        "request": {"model": "gpt-test", "messages": [
            {"role": "system", "content": "You are a test assistant."}, {"role": "user", "content": question}]},
        "response": {"choices": [{"message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}]},
    }
    if thumbs:
        line["feedback"] = {"thumbs": thumbs}
    if error:
        line["error"] = error
    return line


@pytest.fixture
def openai_line() -> Callable[..., dict]:
    """Build one OpenAI-shape call: openai_line("id-1", "question", "answer", thumbs="down")."""
    return _openai_line


@pytest.fixture
def write_log(tmp_path: Path) -> Callable[..., Path]:
    """Write JSON objects as a JSONL file in tmp_path: write_log("name.jsonl", [line, ...])."""
    def write(name: str, lines: list[dict]) -> Path:
        path = tmp_path / name
        path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
        return path

    return write


@pytest.fixture
def fixtures() -> Path:
    """The folder of small log files shipped with the tests."""
    return FIXTURES
