"""The review tests' shared check: the kept review state never drifts from the log.

Why here: every path that writes review events is exercised somewhere in these tests, so checking
`drift` whenever a test closes its workspaces (its teardown included) covers paths that
tests/review/test_review_state_table.py does not name.
"""

from __future__ import annotations

import pytest

from mining.review.state import REVIEWER_STATE
from mining.review.state_table import drift
from mining.store import Workspace


@pytest.fixture(autouse=True)
def kept_state_matches_the_log(monkeypatch: pytest.MonkeyPatch) -> None:
    close_all = Workspace.close_all.__func__

    def checked(cls: type[Workspace]) -> None:
        for workspace in list(cls._open.values()):
            cursor = workspace.cursor()
            if cursor.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?",
                              [REVIEWER_STATE]).fetchone()[0]:  # not in a test's workspace of an older schema
                assert drift(cursor) == [], f"the kept review state of {workspace.path} drifted from its log"
        close_all(cls)

    monkeypatch.setattr(Workspace, "close_all", classmethod(checked))
