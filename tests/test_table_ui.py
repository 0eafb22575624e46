"""table_ui.table: every table of the app titles its columns, shows fractions as the cards do and
times without microseconds; no page draws a table any other way."""

from __future__ import annotations

import ast
import json

from streamlit.testing.v1 import AppTest

from paths import ROOT


def library_frame_app():
    """A table as the library hands it over: code names, a fraction, a microsecond time."""
    from datetime import datetime, timezone

    import polars as pl

    import table_ui

    table_ui.table(pl.DataFrame({
        "cluster_id": [3], "cluster_name": ["<b>refunds</b>"], "hard_examples": [2], "open_claims": [1],
        "a_reason": ["too vague"], "b_reason": ["fine"], "failure_rate": [0.4746], "verdict_kappa": [0.666666],
        "ts": [datetime(2026, 11, 3, 10, 4, 12, 123456, tzinfo=timezone.utc)]}))
    table_ui.table([{"reviewer": "ana", "records": 4}], columns={"records": "Records judged"})


def test_columns_get_titles_fractions_whole_percents_and_times_minutes():
    app = AppTest.from_function(library_frame_app).run()
    assert not app.exception
    first, second = app.dataframe
    config = json.loads(first.proto.columns)
    titles = {name: column.get("label") for name, column in config.items() if name != "_index"}
    assert titles == {"cluster_id": "Mode", "cluster_name": "Failure mode", "hard_examples": "Hard examples",
                      "open_claims": "Open claims", "a_reason": "First reviewer's reason",
                      "b_reason": "Second reviewer's reason", "failure_rate": "Failure rate",
                      "verdict_kappa": "Verdict kappa", "ts": "Time"}
    assert config["failure_rate"]["type_config"]["format"] == "%.0f%%"  # 47%, as the card says
    assert round(float(first.value["failure_rate"][0]), 2) == 47.46
    assert config["verdict_kappa"]["type_config"]["format"] == "%.2f"
    assert config["ts"]["type_config"]["format"] == "YYYY-MM-DD HH:mm"
    assert first.value["cluster_name"][0] == "<b>refunds</b>"  # data, never markup
    assert json.loads(second.proto.columns)["records"]["label"] == "Records judged"
    assert json.loads(second.proto.columns)["reviewer"]["label"] == "Reviewer"


def test_no_page_draws_a_table_but_through_table_ui():
    direct = []
    for path in [*(ROOT / "views").glob("*.py"), ROOT / "ui.py", ROOT / "app.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in {"dataframe", "data_editor", "table"} \
                    and isinstance(node.value, ast.Name) and node.value.id == "st":
                direct.append(f"{path.name}:{node.lineno}")
    assert not direct, direct
