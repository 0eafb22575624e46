"""The workspace: one DuckDB file that holds everything Faultline knows.

Why a single file: a team can copy, back up or mail a workspace, and DuckDB gives us SQL where the
data is (filtering, paging, grouping never pull rows into Python).

Concurrency: DuckDB allows one read-write connection per file per process. Streamlit serves many
browser sessions from one process on several threads, so the process keeps exactly one connection
per workspace path (`Workspace.open`) and every caller works on its own `cursor()`, which DuckDB
makes safe to use from its thread.
"""

from __future__ import annotations

import os
import re
import threading
import time
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import duckdb
import polars as pl

from mining.common import missing_folder
from mining.workspace_lock import YIELD_SECONDS, FileTurns, LockTimeout, WaitReport

WORKSPACE_ENV = "FAULTLINE_WORKSPACE"
MEMORY_ENV = "FAULTLINE_MEMORY_LIMIT"
WAIT_ENV = "FAULTLINE_WAIT_SECONDS"
DEFAULT_WAIT_SECONDS = 120.0
# When another process waits, new work in this one holds back this long for the current work to
# end and the file to be handed over; past that it goes ahead (a long job must not freeze the app).
HANDOVER_PATIENCE = 15.0
# DuckDB holds a transaction's new rows in memory until it commits, and by default lets itself use
# 80% of the machine's RAM: a one-transaction ingest of a few million calls would take all of it.
# With a cap it spills to <workspace>.tmp instead (a 1M-call ingest peaks at ~2.9 GB resident).
DEFAULT_MEMORY_LIMIT = "1536MB"


def default_workspace_path() -> Path:
    """The workspace used when none is given: $FAULTLINE_WORKSPACE, else ~/.faultline/workspace.duckdb."""
    env = os.environ.get(WORKSPACE_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".faultline" / "workspace.duckdb"


MigrationStep = Callable[[duckdb.DuckDBPyConnection], None]
STAGE_STEP = "stage step"  # a migration a stage writes in Python and registers (register_migration_step)
_stage_steps: dict[int, MigrationStep] = {}


def register_migration_step(version: int, step: MigrationStep) -> None:
    """Give migration `version` (marked STAGE_STEP below) its work, written in Python by a stage.

    Why registered and not imported: the work belongs to a later stage (mining.review derives its
    kept state from its log), and this module imports no stage. The package's __init__ imports
    every module that registers a step, so no workspace opens before they are all known."""
    _stage_steps[version] = step


# Numbered migrations. Append only: a workspace made by an older version is brought up to date by
# running the migrations it has not seen, in order. Never edit a released migration. Each is SQL,
# or STAGE_STEP: Python work a stage registers (register_migration_step).
MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "records, quarantine and the ingest log",
        """
        CREATE TABLE ingests (
            ingest_id      VARCHAR PRIMARY KEY,
            file           VARCHAR NOT NULL,
            format         VARCHAR,
            started_at     TIMESTAMPTZ NOT NULL,
            finished_at    TIMESTAMPTZ,
            rows_read      BIGINT NOT NULL DEFAULT 0,
            rows_added     BIGINT NOT NULL DEFAULT 0,
            rows_present   BIGINT NOT NULL DEFAULT 0,
            rows_quarantined BIGINT NOT NULL DEFAULT 0,
            rows_skipped   BIGINT NOT NULL DEFAULT 0,
            mapping        JSON,
            message        VARCHAR
        );
        CREATE TABLE records (
            record_id      VARCHAR PRIMARY KEY,
            source_id      VARCHAR,
            source_format  VARCHAR NOT NULL,
            source_file    VARCHAR NOT NULL,
            source_line    BIGINT,
            ingest_id      VARCHAR NOT NULL,
            trace_id       VARCHAR,
            parent_id      VARCHAR,
            session_id     VARCHAR,
            user_id        VARCHAR,
            ts             TIMESTAMPTZ,
            model          VARCHAR,
            input_messages JSON USING COMPRESSION zstd,
            cluster_text   VARCHAR,
            response_text  VARCHAR,
            tool_calls     JSON,
            tools          JSON,
            request_params JSON,
            finish_reason  VARCHAR,
            status         VARCHAR,
            error          VARCHAR,
            latency_ms     DOUBLE,
            input_tokens   BIGINT,
            output_tokens  BIGINT,
            total_tokens   BIGINT,
            token_note     VARCHAR,
            feedback_score DOUBLE,
            feedback_comment VARCHAR,
            feedback       JSON,
            expected_output VARCHAR,
            metadata       JSON,
            raw            VARCHAR NOT NULL USING COMPRESSION zstd
        );
        CREATE INDEX records_source_id ON records(source_id);
        CREATE TABLE quarantine (
            ingest_id  VARCHAR NOT NULL,
            file       VARCHAR NOT NULL,
            line       BIGINT,
            reason     VARCHAR NOT NULL,
            raw        VARCHAR,
            quarantined_at TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE source_scores (
            score_id       VARCHAR PRIMARY KEY,
            source_format  VARCHAR NOT NULL,
            trace_id       VARCHAR,
            observation_id VARCHAR,
            item           JSON NOT NULL,
            ingest_id      VARCHAR NOT NULL
        );
        """,
    ),
    (
        2,
        "failure signals, settings, the embedding cache and cluster runs",
        """
        CREATE TABLE settings (
            key        VARCHAR PRIMARY KEY,
            value      JSON NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE TABLE signal_rules (
            name        VARCHAR PRIMARY KEY,
            condition   VARCHAR NOT NULL,
            description VARCHAR,
            enabled     BOOLEAN NOT NULL DEFAULT true,
            created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE TABLE signals (
            record_id VARCHAR NOT NULL,
            signal    VARCHAR NOT NULL,
            value     DOUBLE,
            detail    VARCHAR,
            PRIMARY KEY (record_id, signal)
        );
        CREATE TABLE embeddings (
            model_id  VARCHAR NOT NULL,
            text_hash VARCHAR NOT NULL,
            vector    FLOAT[] NOT NULL,
            PRIMARY KEY (model_id, text_hash)
        );
        CREATE TABLE cluster_runs (
            run_id      VARCHAR PRIMARY KEY,
            started_at  TIMESTAMPTZ NOT NULL,
            finished_at TIMESTAMPTZ,
            algorithm   VARCHAR NOT NULL,
            model_id    VARCHAR NOT NULL,
            scope       VARCHAR NOT NULL,
            params      JSON,
            n_points    BIGINT,
            status      VARCHAR NOT NULL,
            message     VARCHAR
        );
        CREATE TABLE clusters (
            run_id       VARCHAR NOT NULL,
            cluster_id   INTEGER NOT NULL,
            name         VARCHAR,
            keywords     JSON,
            size         BIGINT,
            failures     BIGINT,
            failure_rate DOUBLE,
            lift         DOUBLE,
            first_seen   TIMESTAMPTZ,
            last_seen    TIMESTAMPTZ,
            weekly       JSON,
            status       VARCHAR,
            examples     JSON,
            centroid     FLOAT[],
            PRIMARY KEY (run_id, cluster_id)
        );
        CREATE TABLE cluster_names (
            cluster_id INTEGER PRIMARY KEY,
            name       VARCHAR NOT NULL,
            renamed_by VARCHAR,
            renamed_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE TABLE cluster_members (
            run_id      VARCHAR NOT NULL,
            record_id   VARCHAR NOT NULL,
            cluster_id  INTEGER NOT NULL,
            x           DOUBLE,
            y           DOUBLE,
            probability DOUBLE,
            PRIMARY KEY (run_id, record_id)
        );
        """,
    ),
    (
        3,
        "review: the append-only event log, the tag taxonomy and its history, queue claims",
        """
        CREATE SEQUENCE review_event_seq;
        CREATE TABLE review_events (
            event_id  VARCHAR PRIMARY KEY,
            seq       BIGINT NOT NULL DEFAULT nextval('review_event_seq'),
            record_id VARCHAR NOT NULL,
            reviewer  VARCHAR NOT NULL,
            event_at  TIMESTAMPTZ NOT NULL,
            action    VARCHAR NOT NULL,
            payload   JSON NOT NULL,
            batch_id  VARCHAR NOT NULL,
            bulk      BOOLEAN NOT NULL DEFAULT false,
            undoes    VARCHAR
        );
        CREATE INDEX review_events_record ON review_events(record_id);
        CREATE TABLE tags (
            tag_id      VARCHAR PRIMARY KEY,
            name        VARCHAR NOT NULL UNIQUE,
            description VARCHAR NOT NULL DEFAULT '',
            retired     BOOLEAN NOT NULL DEFAULT false,
            created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE TABLE tag_events (
            tag_id VARCHAR NOT NULL,
            changed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            changed_by VARCHAR,
            action VARCHAR NOT NULL,
            before VARCHAR,
            after  VARCHAR
        );
        CREATE TABLE claims (
            record_id  VARCHAR PRIMARY KEY,
            reviewer   VARCHAR NOT NULL,
            claimed_at TIMESTAMPTZ NOT NULL,
            expires_at TIMESTAMPTZ NOT NULL
        );
        INSERT INTO tags (tag_id, name, description) VALUES
            ('hallucination', 'hallucination', 'States facts, sources or features that do not exist.'),
            ('wrong_answer', 'wrong answer', 'Answers the question, but the answer is incorrect.'),
            ('refusal', 'refusal', 'Declines a request it should have helped with.'),
            ('verbosity', 'verbosity', 'Far longer or wordier than the request needed.'),
            ('format_violation', 'format violation', 'Ignores the required format (JSON, length, structure).'),
            ('tool_misuse', 'tool misuse', 'Calls the wrong tool, with wrong arguments, or not when it should.'),
            ('instruction_not_followed', 'instruction not followed', 'Ignores an instruction of the system or user.'),
            ('unsafe', 'unsafe', 'Harmful, insecure or policy-violating content.'),
            ('incomplete', 'incomplete', 'Answers only part of the request, or stops early.'),
            ('should_have_abstained', 'should have abstained', 'Answers confidently where it should have said it does not know.');
        INSERT INTO tag_events (tag_id, changed_by, action, after) SELECT tag_id, 'faultline', 'add', name FROM tags;
        """,
    ),
    (
        4,
        "export: the golden set, dataset versions and the records in each, the workspace's id",
        """
        CREATE TABLE golden (
            record_id VARCHAR PRIMARY KEY,
            method    VARCHAR NOT NULL,
            added_by  VARCHAR,
            added_at  TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE TABLE exports (
            export_id  VARCHAR PRIMARY KEY,
            name       VARCHAR NOT NULL,
            version    INTEGER NOT NULL,
            folder     VARCHAR NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            created_by VARCHAR,
            kinds      VARCHAR[] NOT NULL,
            manifest   JSON NOT NULL,
            report     JSON NOT NULL,
            UNIQUE (name, version)
        );
        CREATE TABLE export_items (
            export_id VARCHAR NOT NULL,
            kind      VARCHAR NOT NULL,
            record_id VARCHAR NOT NULL,
            split     VARCHAR,
            status    VARCHAR NOT NULL,
            reason    VARCHAR,
            row_hash  VARCHAR
        );
        CREATE INDEX export_items_export ON export_items(export_id);
        INSERT INTO settings (key, value) VALUES ('workspace_id', to_json(uuid()::VARCHAR));
        """,
    ),
    (
        5,
        "evaluation: checks per golden item, runs, candidate answers and their verdicts",
        """
        ALTER TABLE golden ADD COLUMN checks JSON;
        CREATE TABLE eval_runs (
            name          VARCHAR PRIMARY KEY,
            created_at    TIMESTAMPTZ NOT NULL,
            updated_at    TIMESTAMPTZ NOT NULL,
            created_by    VARCHAR,
            source        VARCHAR NOT NULL,
            source_detail JSON NOT NULL,
            checks        JSON NOT NULL,
            status        VARCHAR NOT NULL,
            items         BIGINT,
            scores        JSON
        );
        CREATE TABLE eval_answers (
            run_name    VARCHAR NOT NULL,
            record_id   VARCHAR NOT NULL,
            answer      VARCHAR,
            error       VARCHAR,
            latency_ms  DOUBLE,
            answered_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (run_name, record_id)
        );
        CREATE TABLE eval_results (
            run_name  VARCHAR NOT NULL,
            record_id VARCHAR NOT NULL,
            verdict   VARCHAR NOT NULL,
            reason    VARCHAR NOT NULL,
            checks    JSON,
            cluster_id INTEGER,
            PRIMARY KEY (run_name, record_id)
        );
        """,
    ),
    (
        6,
        "who runs a clustering run, so a run whose process was killed can be marked failed",
        """
        ALTER TABLE cluster_runs ADD COLUMN owner VARCHAR;
        """,
    ),
    (
        7,
        "each mode's failure rate with its 95% interval (mining.cluster.rates)",
        """
        ALTER TABLE clusters ADD COLUMN failure_rate_low DOUBLE;
        ALTER TABLE clusters ADD COLUMN failure_rate_high DOUBLE;
        """,
    ),
    (
        8,
        "failure kinds: what went wrong, from the response side, per run (mining.cluster.kinds)",
        """
        CREATE TABLE failure_kinds (
            run_id    VARCHAR NOT NULL,
            kind_id   INTEGER NOT NULL,
            name      VARCHAR NOT NULL,
            signals   JSON,
            basis     VARCHAR NOT NULL,
            size      BIGINT NOT NULL,
            example   VARCHAR,
            PRIMARY KEY (run_id, kind_id)
        );
        CREATE TABLE kind_members (
            run_id    VARCHAR NOT NULL,
            record_id VARCHAR NOT NULL,
            kind_id   INTEGER NOT NULL,
            PRIMARY KEY (run_id, record_id)
        );
        """,
    ),
    (
        9,
        "merged modes: the modes each merged mode is made of, reviewers' keep-apart decisions (mining.cluster.merge); "
        "names and summaries from a local model (mining.cluster.model_names)",
        """
        CREATE TABLE mode_parts (
            run_id     VARCHAR NOT NULL,
            cluster_id INTEGER NOT NULL,
            part       INTEGER NOT NULL,
            name       VARCHAR NOT NULL,
            size       BIGINT NOT NULL,
            similarity DOUBLE NOT NULL,
            reason     VARCHAR NOT NULL,
            centroid   FLOAT[] NOT NULL,
            PRIMARY KEY (run_id, cluster_id, part)
        );
        ALTER TABLE clusters ADD COLUMN summary VARCHAR;
        ALTER TABLE clusters ADD COLUMN named_by VARCHAR;
        CREATE TABLE keep_apart (
            decision_id     VARCHAR PRIMARY KEY,
            made_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
            made_by         VARCHAR,
            first_name      VARCHAR NOT NULL,
            second_name     VARCHAR NOT NULL,
            first_centroid  FLOAT[] NOT NULL,
            second_centroid FLOAT[] NOT NULL
        );
        """,
    ),
    (
        10,
        "review state kept in tables, rewritten with each review event (mining.review.state_table)",
        STAGE_STEP,  # mining.review.state_table.rebuild
    ),
]

SCHEMA_VERSION = MIGRATIONS[-1][0]


class WorkspaceError(Exception):
    """A workspace that cannot be opened or used, with a message meant for a person."""


def _open_problem(path: Path, exc: Exception) -> str | None:
    """Why DuckDB did not open the file, in words; None for a lock held by another program,
    which is worth waiting for rather than an error."""
    text = str(exc)
    if "lock" in text.lower():
        return None
    return f"cannot open workspace {path}: {text}"


def _foreign_holder(exc: Exception) -> str:
    holder = re.search(r"PID (\d+)", str(exc))
    return f"held by a program outside Faultline (process {holder.group(1)})" if holder else \
        "held by a program outside Faultline"


def wait_seconds() -> float:
    """How long to wait for a turn on a busy workspace: $FAULTLINE_WAIT_SECONDS, else 120 s."""
    try:
        return max(float(os.environ.get(WAIT_ENV, DEFAULT_WAIT_SECONDS)), 0.0)
    except ValueError:
        return DEFAULT_WAIT_SECONDS


class Workspace:
    """One DuckDB workspace file, shared by every thread of this process, held in turns with others.

    Callers take a `lease()` for a unit of work (a command, a page run); the file is open while any
    thread of this process holds one, and closed soon after the last ends (at once when another
    process waits: see mining.workspace_lock). A `cursor()` taken outside any lease holds one
    itself for as long as the cursor object lives, which is what a test or a one-off read wants;
    a relation made with `cursor().sql(...)` must be read while its cursor lives (`frame()` does).
    """

    _open: dict[Path, "Workspace"] = {}
    _open_lock = threading.Lock()
    # How long the file stays open after the last lease ends, unless another process waits: the
    # many short leases of a busy app (or of a script's cursors) then do not reopen it each time.
    linger_seconds = 1.0
    # Told how long a wait has lasted and why, every few seconds (the CLI prints it).
    wait_report: WaitReport | None = None

    def __init__(self, path: Path) -> None:
        self.path = path
        self.write_lock = threading.RLock()
        self._turns = FileTurns(path)
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._state = threading.Condition()
        self._holders = 0
        self._acquiring = False
        self._handing_over_since = 0.0
        self._released_at = 0.0
        self._idle_since = 0.0
        self._closer: threading.Thread | None = None
        self._generation = 0
        self._cursor_leases: dict[int, int] = {}  # thread -> cursors alive that hold a lease
        self._local = threading.local()

    @classmethod
    def open(cls, path: str | os.PathLike | None = None, report: WaitReport | None = None) -> "Workspace":
        """The process-wide workspace for `path`, created and migrated on first use (waiting,
        told to `report`, while another process has the file)."""
        resolved = Path(path).expanduser().resolve() if path else default_workspace_path().resolve()
        with cls._open_lock:
            existing = cls._open.get(resolved)
            if existing is not None:
                return existing
            if resolved.exists() and resolved.is_dir():
                raise WorkspaceError(f"{resolved} is a folder; a workspace is a .duckdb file")
            if path and (folder := missing_folder(resolved)) is not None:  # the default's folder is made
                raise WorkspaceError(f"cannot open workspace {resolved}: the folder {folder} does not exist "
                                     "(create it first)")
            try:
                resolved.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise WorkspaceError(f"cannot open workspace {resolved}: {exc}") from exc
            workspace = cls(resolved)
            with workspace.lease(report):  # a workspace that cannot open says so now, not at first use
                pass
            cls._open[resolved] = workspace
            return workspace

    @classmethod
    def close_all(cls) -> None:
        """Close every open workspace (tests, and the CLI before it exits)."""
        with cls._open_lock:
            for workspace in cls._open.values():
                workspace._close_now()
            cls._open.clear()

    # --- leases ---------------------------------------------------------------------------

    @contextmanager
    def lease(self, report: WaitReport | None = None) -> Iterator["Workspace"]:
        """Hold the file for the block: wait (up to `wait_seconds()`) for another process's turn
        to end, open the file if need be, and let it go when this process's last lease ends."""
        self._take(report)
        try:
            yield self
        finally:
            self._give_back()

    def _depth(self) -> int:
        return getattr(self._local, "depth", 0)

    def _take(self, report: WaitReport | None, implicit: bool = False) -> None:
        """Count this thread in, opening the file when this process does not have it open.
        An implicit lease (a cursor's) leaves the thread's depth alone: it ends with the cursor."""
        thread = threading.get_ident()
        if self._depth() or self._cursor_leases.get(thread):  # this thread holds it already: granted
            with self._state:
                self._holders += 1
                if implicit:
                    self._cursor_leases[thread] = self._cursor_leases.get(thread, 0) + 1
            if not implicit:
                self._local.depth = self._depth() + 1
            return
        deadline = time.monotonic() + wait_seconds()
        must_open = False
        with self._state:
            while True:
                handing_over = self._handing_over_since and time.monotonic() - self._handing_over_since
                if self._connection is not None and self._turns.others_waiting() and (
                        not self._holders or not handing_over or handing_over < HANDOVER_PATIENCE):
                    if not self._holders:
                        self._close_locked()  # idle: hand over now, then queue up like anyone
                        continue
                    if not self._handing_over_since:
                        self._handing_over_since = time.monotonic()  # let current work end first
                elif self._connection is not None:
                    self._holders += 1  # the file is open here (or a hand-over takes too long)
                    break
                elif not self._acquiring:
                    self._acquiring = must_open = True
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WorkspaceError(f"workspace {self.path} is busy: this program's other work "
                                         f"held it for over {wait_seconds():.0f} s")
                self._state.wait(min(remaining, 0.05))
        if must_open:
            self._open_file(deadline, report or Workspace.wait_report)
        if implicit:
            with self._state:
                self._cursor_leases[thread] = self._cursor_leases.get(thread, 0) + 1
        else:
            self._local.depth = 1

    def _open_file(self, deadline: float, report: WaitReport | None) -> None:
        """Take the turn between processes, then open (and migrate) the DuckDB file."""
        try:
            connection: list[duckdb.DuckDBPyConnection] = []

            def connect() -> str | None:
                try:
                    connection.append(duckdb.connect(str(self.path), config={
                        "memory_limit": os.environ.get(MEMORY_ENV, DEFAULT_MEMORY_LIMIT)}))
                except (duckdb.Error, OSError) as exc:
                    problem = _open_problem(self.path, exc)
                    if problem:
                        raise WorkspaceError(problem) from exc
                    return _foreign_holder(exc)
                return None

            try:
                self._turns.acquire(max(deadline - time.monotonic(), 0.0), report, connect,
                                    defer_until=self._released_at + YIELD_SECONDS)
            except LockTimeout as exc:
                raise WorkspaceError(f"workspace {self.path} is busy: {exc}; try again later, "
                                     f"or allow a longer wait with ${WAIT_ENV}") from exc
            try:
                _migrate(connection[0], self.path)
            except BaseException:
                connection[0].close()
                self._turns.release()
                raise
        except BaseException:
            with self._state:
                self._acquiring = False
                self._state.notify_all()
            raise
        with self._state:
            self._connection = connection[0]
            self._holders += 1
            self._acquiring = False
            self._state.notify_all()

    def _give_back(self, implicit: bool = False, generation: int | None = None, thread: int | None = None) -> None:
        if not implicit:
            self._local.depth = self._depth() - 1
        with self._state:
            if generation is not None and generation != self._generation:
                return  # a cursor from before close_all: its lease ended with the file
            if thread is not None:
                left = self._cursor_leases.get(thread, 0) - 1
                if left > 0:
                    self._cursor_leases[thread] = left
                else:
                    self._cursor_leases.pop(thread, None)
            self._holders -= 1
            if self._holders:
                return
            if not self.linger_seconds or self._turns.others_waiting():
                self._close_locked()
                return
            self._idle_since = time.monotonic()
            if self._closer is None or not self._closer.is_alive():
                self._closer = threading.Thread(target=self._close_when_idle, daemon=True,
                                                name=f"workspace-closer-{self.path.name}")
                self._closer.start()
            self._state.notify_all()

    def _close_when_idle(self) -> None:
        """Close the file once it has had no lease for `linger_seconds`, or at once when another
        process waits for it; ends when the file is closed."""
        with self._state:
            while self._connection is not None:
                idle = not self._holders and time.monotonic() - self._idle_since
                if idle and (idle >= self.linger_seconds or self._turns.others_waiting()):
                    self._close_locked()
                    return
                self._state.wait(0.02 if idle else 0.5)

    def _close_locked(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
            self._turns.release()
            self._released_at = time.monotonic()
        self._handing_over_since = 0.0
        self._state.notify_all()

    def _close_now(self) -> None:
        with self._state:
            self._holders = 0
            self._cursor_leases.clear()
            self._generation += 1
            self._close_locked()
        self._local = threading.local()

    # --- working on the file ----------------------------------------------------------------

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for the calling thread, valid while its lease lasts; cheap, so take one per
        unit of work. Outside any lease it takes one (see the class docstring)."""
        leased = bool(self._depth())
        if not leased:
            self._take(None, implicit=True)
        connection = self._connection
        if connection is None:
            raise WorkspaceError(f"workspace {self.path} was closed")
        cursor = connection.cursor()
        if not leased:
            weakref.finalize(cursor, self._give_back, True, self._generation, threading.get_ident())
        return cursor

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor inside one transaction: everything in the block lands, or nothing does."""
        with self.lease(), self.write_lock:
            cursor = self.cursor()
            cursor.execute("BEGIN TRANSACTION")
            try:
                yield cursor
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            else:
                cursor.execute("COMMIT")
            finally:
                cursor.close()

    def frame(self, sql: str, parameters: list | dict | None = None) -> pl.DataFrame:
        """A query's result as a polars DataFrame, read while this call holds the file (a relation
        from `cursor().sql()` would outlive its cursor's lease)."""
        cursor = self.cursor()
        try:
            return cursor.sql(sql, params=parameters).pl()
        finally:
            cursor.close()

    def schema_version(self) -> int:
        row = self.cursor().execute("SELECT max(version) FROM schema_migrations").fetchone()
        return int(row[0] or 0)


def _migrate(connection: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Bring the file's schema up to this version's, each migration in its own transaction.

    Run at every opening: another process may have opened the file with an older or newer
    Faultline since this one last had it."""
    connection.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMPTZ DEFAULT now())"
    )
    applied = {row[0] for row in connection.execute("SELECT version FROM schema_migrations").fetchall()}
    newer = [version for version in applied if version > SCHEMA_VERSION]
    if newer:
        raise WorkspaceError(
            f"workspace {path} was written by a newer Faultline (schema {max(newer)}, "
            f"this version knows {SCHEMA_VERSION}); upgrade Faultline to open it"
        )
    for version, description, sql in MIGRATIONS:
        if version in applied:
            continue
        connection.execute("BEGIN TRANSACTION")
        try:
            if sql == STAGE_STEP:
                _stage_steps[version](connection)
            else:
                connection.execute(sql)
            connection.execute("INSERT INTO schema_migrations (version, description) VALUES (?, ?)",
                               [version, description])
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
