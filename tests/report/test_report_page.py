"""The Report page, run headless with AppTest: the week picker, every section, log text as text,
and the downloads."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from streamlit.testing.v1 import AppTest

import report_data
from mining.report import last_week
from mining.report.data import weeks_with_activity, weeks_with_records
from mining.report.formatting import TITLES
from paths import ROOT

PAGE = "views/report.py"


def start() -> AppTest:
    """The app, switched to the Report page."""
    at = AppTest.from_file(ROOT / "app.py", default_timeout=120).run()
    assert not at.exception, at.exception
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def pick_week(at: AppTest, week: str) -> AppTest:
    next(box for box in at.selectbox if box.label == "Week").set_value(week).run()
    assert not at.exception, at.exception
    return at


def test_a_workspace_whose_only_calls_are_this_week_opens_on_this_week_so_far(workspace, write_log, openai_line):
    from mining.ingest import ingest_paths

    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    ingest_paths(workspace, [write_log("new.jsonl", [openai_line("new-1", "Hi?", "Sorry.", ts=now, thumbs="down")])])
    at = start()
    period = next(control for control in at.button_group if control.label == "Period")
    assert period.value == "this"  # the meeting sees this week's calls, not an empty last week
    period.set_value("days").run()
    assert not at.exception and any(box.label == "Days" for box in at.date_input)


def test_an_empty_workspace_shows_last_week_and_says_no_data(workspace):
    at = start()
    assert at.title[0].value == "Weekly report"
    assert at.selectbox[0].value == last_week(datetime.now(timezone.utc).date()).label
    assert [header.value for header in at.subheader] == list(TITLES.values())
    infos = " ".join(info.value for info in at.info)
    assert "no calls were logged" in infos and "have not been found yet" in infos and "no reviews" in infos
    assert "No datasets were exported" in infos and "No evaluation runs" in infos
    assert len(at.get("download_button")) == 2


@pytest.fixture
def ids(workspace, write_log, openai_line) -> dict[str, str]:
    return report_data.build(workspace, write_log, openai_line)


def test_a_week_with_data_shows_every_section(workspace, ids):
    at = start()
    assert "2026-W46 (2026-11-09 to 2026-11-15)" in at.selectbox[0].options
    pick_week(at, report_data.WEEK)
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Calls"] == "12" and metrics["Failures"] == "10" and metrics["Failure rate"] == "83.3%"
    assert metrics["Reviews"] == "4" and metrics["Reviewers"] == "2"
    modes = next(frame.value for frame in at.dataframe if "status" in frame.value.columns)
    assert modes["status"].tolist() == ["new", "growing", "stable", "growing", "gone"]
    assert modes["name"][1] == report_data.EVIL_NAME  # a table shows the name as text
    assert len(at.get("plotly_chart")) == 4
    assert [expander.label for expander in at.expander][:2] == [r"\#1 mode 1", "\\#0 " + (
        r"\<img src\=x onerror\=\"window\.pwned\=1\"\> billing \| refunds")]
    codes = [code.value for code in at.code]
    assert report_data.SCRIPT in codes  # the planted script, shown verbatim as code
    links = {link.proto.query_string: link.proto for link in at.get("page_link")}
    assert {"mode=1", "mode=0"} <= set(links) and links["mode=1"].page == "records"  # the mode's calls, in Records
    runs = next(frame.value for frame in at.dataframe if "Run" in frame.value.columns)
    assert runs["Run"].tolist() == ["cand-old", "cand-a", "cand-wip"]
    assert runs["Accuracy"][0] == "60.0% [50.0%, 70.0%]"


def test_a_quiet_last_week_opens_on_the_latest_week_with_data_and_says_where_calls_are(workspace, ids, monkeypatch):
    from mining.report import period

    monkeypatch.setattr(period, "last_week", lambda today: period.period_for_week("2026-W50"))  # after the data
    at = start()
    assert at.selectbox[0].value == weeks_with_activity(workspace)[0]  # not the empty 2026-W50
    pick_week(at, "2026-W50")
    infos = " ".join(info.value for info in at.info)
    assert f"No calls were logged in 2026-W50; the latest week with calls is {weeks_with_records(workspace)[0]}." in infos
    pick_week(at, report_data.WEEK)
    assert not any("the latest week with calls" in info.value for info in at.info)
