"""The app's pages, run headless with streamlit.testing.v1.AppTest against a temporary workspace."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

import ui
from mining.ingest import ingest_paths
from paths import FIXTURES, ROOT

HTML = "<img src=x onerror=alert(1)><b>bold</b>"


def start(page: str | None = None, **query: str) -> AppTest:
    """The app, run once, then switched to `page` (a path under views/) with `query` as the URL's parameters."""
    at = AppTest.from_file(ROOT / "app.py", default_timeout=60).run()
    assert not at.exception
    if page:
        at.query_params.update(query)
        at.switch_page(page).run()
        assert not at.exception
    return at


def button(at: AppTest, label: str):
    return next(widget for widget in at.button if widget.label == label)


def texts(at: AppTest) -> list[str]:
    return [element.value for element in at.text]


def metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def test_empty_workspace_offers_the_demo_and_loads_it(workspace):
    at = start()
    assert at.sidebar.text_input(key=ui.WORKSPACE_KEY).value == str(workspace.path)
    assert [widget.label for widget in at.button] == ["Load demo data"]
    button(at, "Load demo data").click().run()
    assert not at.exception
    assert metrics(at)["Records"] == "3,000"
    assert not any(widget.label == "Load demo data" for widget in at.button)


def test_reviewer_defaults_to_the_signed_in_user_only(workspace):
    assert start().sidebar.text_input(key=ui.REVIEWER_KEY).value == ""
    at = AppTest.from_file(ROOT / "app.py", default_timeout=60)
    at.user = {"is_logged_in": True, "name": "Ada Lovelace", "email": "ada@example.com"}
    assert at.run().sidebar.text_input(key=ui.REVIEWER_KEY).value == "Ada Lovelace"


@pytest.mark.parametrize("argv, expected", [
    (["--workspace", "w.duckdb"], "w.duckdb"),
    (["--workspace=w.duckdb"], "w.duckdb"),
    (["-q", "tests"], None),
    (["--workspace"], None),
])
def test_workspace_argument(argv, expected):
    assert ui.workspace_arg(argv) == expected


def test_plain_escapes_every_markup():
    assert ui.plain(HTML) == "\\<img src\\=x onerror\\=alert\\(1\\)\\>\\<b\\>bold\\<\\/b\\>"
    assert ui.plain("**a** [x](y) :red[z] $1$") == "\\*\\*a\\*\\* \\[x\\]\\(y\\) \\:red\\[z\\] \\$1\\$"


def test_overview_shows_what_the_workspace_holds(workspace):
    ingest_paths(workspace, [FIXTURES / "broken_openai_chat.jsonl"])
    at = start()
    assert metrics(at)["Records"] == "6"
    assert metrics(at)["Quarantined lines"] == "4"


def test_records_page_lists_records_and_opens_the_selected_one(workspace):
    ingest_paths(workspace, [FIXTURES / "openai_chat.jsonl"])
    at = start("views/records.py")
    table = at.dataframe[0]
    assert table.value.shape[0] == 36
    assert "36 matching records" in texts(at)
    at.session_state[table.key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert at.query_params["record"] == table.value["record_id"][0]
    assert len(at.chat_message) >= 3  # system, user, assistant
    assert table.value["request"][0] in texts(at)


def test_records_page_opens_a_record_by_source_id_from_the_url(workspace):
    ingest_paths(workspace, [FIXTURES / "openai_chat.jsonl"])
    at = start("views/records.py", record="req_00011")
    assert "Cancel my subscription now." in texts(at)
    assert any("cancel_subscription" in str(element.value) for element in at.json)
    assert any("ToolError" in element.value for element in at.error)
    assert any("req_00011" in element.value for element in at.code)  # the raw line


def test_records_page_filters_by_search(workspace):
    ingest_paths(workspace, [FIXTURES / "openai_chat.jsonl"])
    at = start("views/records.py")
    at.text_input(key="records_search").input("cancel my").run()
    assert not at.exception
    count = int(next(text for text in texts(at) if text.endswith("matching records")).split()[0])
    assert 0 < count < 36
    assert all("cancel my" in request.lower() for request in at.dataframe[0].value["request"])


def test_log_text_is_shown_as_plain_text(workspace, write_log, openai_line):
    log = write_log("html.jsonl", [openai_line("html-1", HTML, f"**{HTML}**", error=HTML)])
    ingest_paths(workspace, [log])
    at = start("views/records.py", record="html-1")
    assert HTML in texts(at) and f"**{HTML}**" in texts(at)
    rendered_as_markdown = [element.value for kind in ("markdown", "caption", "error", "warning", "info")
                            for element in getattr(at, kind)]
    assert not any(re.search(r"(?<!\\)<", value) for value in rendered_as_markdown)  # every < escaped
    assert ui.plain(HTML) in rendered_as_markdown  # the error, escaped


@pytest.fixture
def fixtures_are_data(monkeypatch):
    """The shipped fixtures as an operator's data folder ($FAULTLINE_DATA), so the Ingest page may read them."""
    monkeypatch.setenv("FAULTLINE_DATA", str(FIXTURES))


def test_ingest_page_previews_ingests_and_shows_quarantine(workspace, fixtures_are_data):
    broken = FIXTURES / "broken_openai_chat.jsonl"
    at = start("views/ingest.py")
    at.text_input(key="ingest_path").input(str(broken)).run()
    assert not at.exception
    assert "Container: jsonl · format: OpenAI chat completions (request + response)" in texts(at)
    button(at, "Run ingest").click().run()
    assert not at.exception
    assert {key: metrics(at)[key] for key in ("Read", "Added", "Quarantined")} == {
        "Read": "10", "Added": "6", "Quarantined": "4"}
    quarantined = at.dataframe[0].value
    assert quarantined["line"].tolist() == [2, 4, 6, 11]
    assert "this line is not json at all" in quarantined["raw"].tolist()
    history = at.dataframe[1].value
    assert history["file"].tolist() == [str(broken)]  # a file of the machine keeps its path
    assert any("Failure modes" in info.value for info in at.info)  # what to do next


def test_ingest_page_lets_the_user_fix_a_generic_mapping(workspace, fixtures_are_data):
    table = FIXTURES / "generic_support_log.csv"
    at = start("views/ingest.py")
    at.text_input(key="ingest_path").input(str(table)).run()
    key = f"ingest:{table}"
    assert at.selectbox(key=f"{key}:map:input").value == "question"
    assert at.selectbox(key=f"{key}:map:output").value == "bot_answer"
    at.selectbox(key=f"{key}:map:input").select_index(0).run()  # "—": no column
    assert any("no column is mapped to" in warning.value for warning in at.warning)
    at.selectbox(key=f"{key}:map:input").set_value("question").run()
    at.selectbox(key=f"{key}:day_first").set_value(True).run()
    button(at, "Run ingest").click().run()
    assert not at.exception
    assert metrics(at)["Added"] == "36"


def test_ingest_page_reports_a_missing_path(workspace, tmp_path):
    at = start("views/ingest.py")
    at.text_input(key="ingest_path").input(str(tmp_path / "nothing.jsonl")).run()
    assert not at.exception
    assert any("no such file" in error.value for error in at.error)
    assert button(at, "Run ingest").disabled


def test_quarantine_page_lists_unreadable_lines(workspace):
    ingest_paths(workspace, [FIXTURES / "broken_openai_chat.jsonl"])
    at = start("views/quarantine.py")
    rows = at.dataframe[0].value
    assert rows["line"].tolist() == [2, 4, 6, 11]
    assert set(rows.columns) >= {"file", "line", "reason", "raw"}


def test_ingest_page_ingests_uploaded_files_under_their_names(workspace):
    at = start("views/ingest.py")
    content = (FIXTURES / "openai_chat.jsonl").read_bytes()
    at.file_uploader[0].set_value([("support.jsonl", content, "application/jsonl")]).run()
    assert not at.exception
    assert "support.jsonl (uploaded)" in texts(at)
    button(at, "Run ingest").click().run()
    assert metrics(at)["Added"] == "36"
    # the temporary folder the upload was saved in is nobody's business: not in the report, not in the history
    assert "support.jsonl (uploaded)" in texts(at) and not any(ui.UPLOADS_PREFIX in text for text in texts(at))
    assert at.dataframe[0].value["file"].tolist() == ["support.jsonl (uploaded)"]
    assert any(info.value.startswith("Next: **Failures**") for info in at.info)
    at.switch_page("views/records.py").run()
    assert set(at.dataframe[0].value["source_file"]) == {"support.jsonl"}


def test_uploads_are_saved_inside_their_folder(tmp_path):
    class Upload:
        def __init__(self, name: str, file_id: str) -> None:
            self.name, self.file_id = name, file_id

        def getbuffer(self) -> bytes:
            return b"{}\n"

    paths = ui.save_uploads([Upload("../../escape.jsonl", "a"), Upload("..", "b")], tmp_path)
    assert paths == [tmp_path / "a" / "escape.jsonl", tmp_path / "b" / "upload"]
    assert all(path.read_bytes() == b"{}\n" for path in paths)
