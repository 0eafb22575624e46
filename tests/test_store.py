"""The workspace file: schema, migrations, reopening, and sharing across threads."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pytest

from mining import store
from mining.store import Workspace, WorkspaceError


def test_new_workspace_has_the_tables_and_latest_schema(workspace):
    tables = {row[0] for row in workspace.cursor().execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"records", "quarantine", "ingests", "source_scores", "schema_migrations"} <= tables
    assert workspace.schema_version() == store.SCHEMA_VERSION


def test_open_twice_in_one_process_shares_one_connection(tmp_path):
    first = Workspace.open(tmp_path / "w.duckdb")
    second = Workspace.open(str(tmp_path / "w.duckdb"))
    assert first is second
    Workspace.close_all()


def test_data_survives_reopening(tmp_path):
    path = tmp_path / "w.duckdb"
    Workspace.open(path).cursor().execute(
        "INSERT INTO quarantine VALUES ('i', 'f', 1, 'r', 'raw', now())")
    Workspace.close_all()
    assert Workspace.open(path).cursor().execute("SELECT count(*) FROM quarantine").fetchone()[0] == 1
    Workspace.close_all()


def test_older_workspace_is_migrated_forward(tmp_path, monkeypatch):
    path = tmp_path / "old.duckdb"
    Workspace.open(path)
    Workspace.close_all()
    newer = store.MIGRATIONS + [(store.SCHEMA_VERSION + 1, "a test column", "ALTER TABLE records ADD COLUMN extra VARCHAR")]
    monkeypatch.setattr(store, "MIGRATIONS", newer)
    monkeypatch.setattr(store, "SCHEMA_VERSION", store.SCHEMA_VERSION + 1)
    ws = Workspace.open(path)
    assert ws.schema_version() == store.SCHEMA_VERSION
    columns = {row[0] for row in ws.cursor().execute("DESCRIBE records").fetchall()}
    assert "extra" in columns
    Workspace.close_all()


def test_workspace_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "new.duckdb"
    connection = duckdb.connect(str(path))
    connection.execute("CREATE TABLE schema_migrations (version INTEGER, description VARCHAR, applied_at TIMESTAMPTZ)")
    connection.execute("INSERT INTO schema_migrations VALUES (999, 'future', now())")
    connection.close()
    with pytest.raises(WorkspaceError, match="newer Faultline"):
        Workspace.open(path)


def test_a_folder_is_not_a_workspace(tmp_path):
    with pytest.raises(WorkspaceError, match="folder"):
        Workspace.open(tmp_path)


def test_default_path_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(store.WORKSPACE_ENV, str(tmp_path / "env.duckdb"))
    assert store.default_workspace_path() == tmp_path / "env.duckdb"
    monkeypatch.delenv(store.WORKSPACE_ENV)
    assert store.default_workspace_path() == Path.home() / ".faultline" / "workspace.duckdb"


def test_threads_write_through_their_own_cursors_without_losing_rows(workspace):
    def write(thread: int) -> None:
        for line in range(50):
            with workspace.transaction() as cursor:
                cursor.execute("INSERT INTO quarantine VALUES (?, 'f', ?, 'r', 'raw', now())", [f"t{thread}", line])

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert workspace.cursor().execute("SELECT count(*) FROM quarantine").fetchone()[0] == 200


def test_a_failed_transaction_leaves_nothing(workspace):
    with pytest.raises(RuntimeError):
        with workspace.transaction() as cursor:
            cursor.execute("INSERT INTO quarantine VALUES ('i', 'f', 1, 'r', 'raw', now())")
            raise RuntimeError("boom")
    assert workspace.cursor().execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0
