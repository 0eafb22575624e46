"""The weekly report's library and command: periods, the week's figures against hand counts, the
HTML and Markdown files (escaping included), and `python -m mining report`."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

import report_data
from mining.__main__ import main
from mining.ingest import ingest_paths
from mining.report import (ReportError, last_week, period_between, period_for_week, render_html, render_markdown,
                           weekly_report)
from mining.report import charts
from mining.report.data import mode_status, weeks_with_activity
from mining.report.period import default_period, this_week
from mining.report.formatting import TITLES
from mining.store import Workspace

W46 = period_for_week(report_data.WEEK)


@pytest.fixture
def ids(workspace, write_log, openai_line) -> dict[str, str]:
    return report_data.build(workspace, write_log, openai_line)


@pytest.fixture
def report(workspace, ids):
    return weekly_report(workspace, W46)


# --- Periods -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text, monday", [("2026-W47", date(2026, 11, 16)), ("2026w47", date(2026, 11, 16)),
                                          (" 2026-W01 ", date(2025, 12, 29)), ("2026-W53", date(2026, 12, 28))])
def test_an_iso_week_is_monday_to_sunday_compared_with_the_week_before(text, monday):
    period = period_for_week(text)
    assert (period.start, period.end, period.days) == (monday, date.fromordinal(monday.toordinal() + 7), 7)
    assert (period.previous_start, period.previous_end) == (date.fromordinal(monday.toordinal() - 7), monday)
    assert period.label == f"{monday.isocalendar()[0]}-W{monday.isocalendar()[1]:02d}"


@pytest.mark.parametrize("text", ["2026-47", "W47", "2026-W00", "2026-W54", "2025-W53", "", "next week", "2026-W4x"])
def test_a_bad_week_is_refused_with_a_clear_message(text):
    with pytest.raises(ReportError, match="is not an ISO week; write it like 2026-W47"):
        period_for_week(text)


@pytest.mark.parametrize("today, week", [(date(2026, 12, 1), "2026-W48"), (date(2026, 11, 23), "2026-W47"),
                                         (date(2026, 11, 22), "2026-W46"), (date(2027, 1, 4), "2026-W53")])
def test_the_default_is_the_last_complete_week_before_today(today, week):
    assert last_week(today) == period_for_week(week)


def test_a_date_range_is_compared_with_as_many_days_before():
    period = period_between(date(2026, 11, 10), date(2026, 11, 12))
    assert (period.days, period.previous_start, period.label) == (3, date(2026, 11, 7), "2026-11-10 to 2026-11-12")
    with pytest.raises(ReportError):
        period_between(date(2026, 11, 12), date(2026, 11, 10))


# --- The week's figures ------------------------------------------------------------------------


def test_calls_failures_and_rates_of_the_week_and_the_week_before(report):
    volume = report.volume
    assert (volume.current.records, volume.current.failures) == (12, 10)
    assert (volume.previous.records, volume.previous.failures) == (5, 4)
    assert volume.rate_change == pytest.approx(10 / 12 - 4 / 5)
    assert [d.day.day for d in volume.days] == list(range(9, 16))
    assert [d.day.day for d in volume.previous_days] == list(range(2, 9))
    by_day = {d.day.day: (d.records, d.failures) for d in volume.days}
    assert by_day == {9: (2, 2), 10: (3, 2), 11: (1, 1), 12: (2, 2), 13: (1, 1), 14: (1, 1), 15: (2, 1)}
    assert volume.days[6].failure_rate == 0.5


def test_modes_are_ranked_by_the_weeks_failures_with_their_trend(report):
    modes = report.modes
    assert modes.run_id == "run-1"
    assert [(m.id, m.failures, m.previous, m.status) for m in modes.modes] == [
        (1, 4, 0, "new"), (0, 3, 2, "growing"), (3, 1, 1, "stable"), (4, 1, 0, "growing"), (2, 0, 1, "gone")]
    assert modes.unclustered == 1
    assert modes.modes[1].name == report_data.EVIL_NAME and modes.modes[0].keywords == ["bill", "high"]


@pytest.mark.parametrize("now, before, earlier, status", [(3, 0, 0, "new"), (3, 0, 2, "growing"), (0, 2, 0, "gone"),
                                                          (11, 10, 0, "stable"), (6, 4, 0, "growing"),
                                                          (4, 6, 9, "shrinking")])
def test_mode_status(now, before, earlier, status):
    assert mode_status(now, before, earlier) == status


def test_three_examples_per_mode_from_the_week_the_typical_one_first(report):
    examples = {m.id: [e.source_id for e in m.examples] for m in report.modes.modes}
    assert examples == {1: ["cur-1script", "cur-1a", "cur-1b"], 0: ["cur-0a", "cur-0b", "cur-0c"], 3: ["cur-3"],
                        4: ["cur-4"], 2: []}
    first = report.modes.modes[0].examples[0]
    assert first.request == report_data.SCRIPT and first.response == "answer to cur-1script"


def test_without_a_clustering_run_failures_are_all_unclustered(workspace, write_log, openai_line):
    report_data.load(workspace, write_log, openai_line)
    workspace.cursor().execute("DELETE FROM cluster_runs")
    modes = weekly_report(workspace, W46).modes
    assert (modes.run_id, modes.modes, modes.unclustered) == (None, [], 10)


def test_review_throughput_and_agreement_of_the_week(report):
    reviews = report.reviews
    assert (reviews.events, reviews.reviews, reviews.records, reviews.hard_examples) == (5, 4, 2, 2)
    assert reviews.previous_reviews == 2
    assert [n for _, n in reviews.per_day] == [0, 2, 2, 0, 0, 0, 0]
    assert reviews.per_reviewer == [("ana", 2), ("bob", 2)]
    assert (reviews.agreement.records, reviews.agreement.agreement) == (2, 0.5)
    assert reviews.agreement.kappa == pytest.approx(0.0)
    assert (reviews.agreement_to_date.records, reviews.agreement_to_date.agreement) == (3, pytest.approx(2 / 3))


def test_only_exports_and_evaluation_runs_of_the_week_are_included(report):
    assert [(e["name"], e["version"]) for e in report.exports] == [("faultline", 2)]
    assert report.exports[0]["rows"] == "sft 5, dpo 3" and report.exports[0]["golden"] == 2
    assert [run.name for run in report.evaluations] == ["cand-old", "cand-a", "cand-wip"]
    scored = report.evaluations[1]
    assert scored.overall.n == 20 and scored.overall.accuracy == 0.6
    assert scored.overall.accuracy_ci == pytest.approx((0.5, 0.7)) and scored.overall.omniscience_index == 35.0
    assert scored.overall.hallucination_rate == 5 / 8
    assert [name for name, _ in scored.by_mode] == ["billing", "unclustered"]
    assert scored.by_mode[1][1].hallucination_rate is None and scored.by_mode[1][1].hallucination_ci is None
    assert report.evaluations[2].overall is None and report.evaluations[2].status == "answering"


def test_runs_scored_by_mining_evaluate_are_read_with_their_scores(workspace, tmp_path):
    from export_data import build
    from mining.demo_answers import write_candidates
    from mining.evaluate.runs import evaluate_file
    from mining.export.golden import add_golden

    ids = build(workspace, tmp_path)
    add_golden(workspace, [ids[source] for source in ("bill-1", "bill-2", "net-1", "net-2", "tool-0")], "ana")
    production, tuned = write_candidates(workspace, tmp_path / "candidates")
    evaluate_file(workspace, "production", production, checks=["normalized"])
    evaluate_file(workspace, "tuned", tuned, checks=["normalized"])
    today = datetime.now(timezone.utc).date()
    runs = weekly_report(workspace, period_between(today, today)).evaluations
    assert [run.name for run in runs] == ["production", "tuned"]
    for run in runs:
        assert run.status == "scored" and run.overall.n == 5 and run.overall.accuracy_ci is not None
        assert run.overall.omniscience_index is not None and {name for name, _ in run.by_mode} == {"mode 0", "mode 1"}
    assert runs[1].overall.omniscience_index > runs[0].overall.omniscience_index


def test_an_empty_workspace_reports_no_data_in_every_section(workspace):
    report = weekly_report(workspace, W46)
    markdown = render_markdown(report)
    assert markdown.count("No data") >= 3 and "No datasets were exported" in markdown
    assert "No evaluation runs" in markdown and "have not been found yet" in markdown
    page = render_html(report)
    assert "js-plotly-plot" not in page and 'class="empty"' in page


# --- The files ---------------------------------------------------------------------------------


def test_markdown_has_every_section_and_keeps_log_text_inert(report):
    markdown = render_markdown(report)
    assert markdown.startswith("# Faultline weekly report: 2026-W46\n")
    for title in TITLES.values():
        assert f"\n## {title}\n" in markdown
    assert "| Failures | 10 | 4 | +6 (+150%) |" in markdown
    assert r'\<img src=x onerror="window.pwned=1"\> billing \| refunds' in markdown
    assert "<img" not in markdown.replace(r"\<img", "")
    assert f"```text\n{report_data.SCRIPT}\n```" in markdown  # the example verbatim, in a fence
    assert "| cand-a | scored | 2026-11-10 12:00 UTC | 20 of 20 |" in markdown and "60.0% \\[50.0%, 70.0%\\]" in markdown
    for block in markdown.split("\n\n"):
        if block.startswith("|"):  # a table: a `|` in the text must not add a column
            assert len({len(re.findall(r"(?<!\\)\|", row)) for row in block.splitlines()}) == 1, block


def test_chart_labels_are_escaped_for_plotly(report):
    labels = charts.modes_figure(report.modes.modes).data[1].y
    assert labels[1].startswith('#0 &lt;img src=x onerror="') and "<" not in "".join(labels)
    assert charts.evaluation_figure(report.evaluations).data[0].x == ("cand-old", "cand-a")


def test_html_is_one_offline_document_with_log_text_escaped(report):
    page = render_html(report)
    assert page.startswith("<!DOCTYPE html>") and "Content-Security-Policy" in page
    assert "<script>window.pwned" not in page and "&lt;script&gt;window.pwned" in page
    assert "<img src=x" not in page and "&lt;img src=x" in page
    assert page.count('class="plotly-graph-div"') == 4  # volume, modes, reviews, evaluations
    assert page.count("Plotly.newPlot") == 4
    assert len(re.findall(r"<script[^>]*\bsrc=", page)) == 0 and "<link" not in page
    for title in TITLES.values():
        assert f"<h2>{title}</h2>" in page


# --- The command -------------------------------------------------------------------------------


@pytest.fixture
def path(workspace, ids) -> str:
    Workspace.close_all()
    return str(workspace.path)


def test_the_command_writes_the_file_and_prints_its_path(path, tmp_path, capsys):
    out = tmp_path / "reports" / "week.html"
    out.parent.mkdir()
    assert main(["-w", path, "report", "--week", "2026-W46", "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"{out.resolve()}\n"
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    notes = tmp_path / "week.md"
    assert main(["-w", path, "report", "--week", "2026-W46", "-o", str(notes)]) == 0
    assert notes.read_text(encoding="utf-8").startswith("# Faultline weekly report: 2026-W46")
    capsys.readouterr()


def test_the_command_names_the_file_after_the_week_in_the_current_folder(path, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["-w", path, "report", "--week", "2026-W46"]) == 0
    assert Path(capsys.readouterr().out.strip()) == tmp_path / "faultline-report-2026-W46.html"
    assert main(["-w", path, "report", "--week", "2026-W46", "--format", "md"]) == 0
    assert Path(capsys.readouterr().out.strip()) == tmp_path / "faultline-report-2026-W46.md"
    assert main(["-w", path, "report"]) == 0  # last week: no calls, still a report
    assert re.fullmatch(r".*faultline-report-\d{4}-W\d\d\.html\n", capsys.readouterr().out)


def test_a_file_in_a_folder_that_does_not_exist_is_refused_not_made(path, tmp_path, capsys):
    """A typo in --out must not leave a tree of new folders behind: the folder has to be there."""
    out = tmp_path / "no" / "such" / "dir" / "x.html"
    assert main(["-w", path, "report", "--week", "2026-W46", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "does not exist" in err and str(out.parent) in err
    assert not (tmp_path / "no").exists()


def test_a_bad_week_or_file_fails_with_one_line(path, tmp_path, capsys):
    assert main(["-w", path, "report", "--week", "2026-W60", "--out", str(tmp_path / "r.html")]) == 1
    error = capsys.readouterr().err
    assert error == "error: '2026-W60' is not an ISO week; write it like 2026-W47\n"
    assert not (tmp_path / "r.html").exists()
    assert main(["-w", path, "report", "--week", "2026-W46", "--out", str(tmp_path / "r.txt")]) == 1
    assert capsys.readouterr().err.startswith("error: cannot tell the format of r.txt")


def test_the_command_takes_a_range_of_days_instead_of_a_week(path, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["-w", path, "report", "--from", "2026-11-09", "--to", "2026-11-15", "--format", "md"]) == 0
    written = Path(capsys.readouterr().out.strip())
    assert written.name == "faultline-report-2026-11-09_to_2026-11-15.md"
    by_week = tmp_path / "week.md"
    assert main(["-w", path, "report", "--week", "2026-W46", "-o", str(by_week)]) == 0
    capsys.readouterr()
    body = written.read_text(encoding="utf-8").split("\n", 1)[1]
    assert body == by_week.read_text(encoding="utf-8").split("\n", 1)[1]  # the same days: the same figures
    assert main(["-w", path, "report", "--from", "2026-11-09"]) == 1
    assert capsys.readouterr().err.strip() == "error: give both --from and --to, or neither"
    assert main(["-w", path, "report", "--from", "2026-11-15", "--to", "2026-11-09"]) == 1
    assert "ends (2026-11-09) before it starts" in capsys.readouterr().err


def test_gone_modes_are_capped_like_the_top_ones_most_failures_before_first(workspace, ids, monkeypatch):
    from mining.report import data

    w47 = period_for_week("2026-W47")
    gone = [mode for mode in weekly_report(workspace, w47).modes.modes if mode.status == "gone"]
    assert len(gone) > 1
    monkeypatch.setattr(data, "TOP_MODES", 1)
    capped = [mode for mode in weekly_report(workspace, w47).modes.modes if mode.status == "gone"]
    assert len(capped) == 1 and capped[0].previous == max(mode.previous for mode in gone)


# --- Which period a report opens on ------------------------------------------------------------

def test_this_week_so_far_runs_from_monday_to_today_included():
    period = this_week(date(2026, 12, 3))  # a Thursday
    assert (period.start, period.end, period.label) == (date(2026, 11, 30), date(2026, 12, 4), "2026-W49 so far")


@pytest.mark.parametrize("active, expected", [
    (["2026-W48", "2026-W47"], "2026-W48"),  # the last complete week had work: it
    (["2026-W45", "2026-W44"], "2026-W45"),  # a quiet last week: the latest week when something happened
    (["2026-W49", "2026-W47"], "2026-W49 so far"),  # only this week since: this week so far
    ([], "2026-W48"),  # nothing at all: the last complete week all the same
])
def test_a_report_opens_on_the_latest_period_with_something_in_it(active, expected):
    assert default_period(active, date(2026, 12, 3)).label == expected


def test_reviews_exports_and_evaluations_make_a_week_worth_reporting(workspace, write_log, openai_line):
    from mining.review import save_review

    log = write_log("old.jsonl", [openai_line("old-1", "Where is my parcel?", "Sorry.", ts="2026-10-05T10:00:00Z",
                                              thumbs="down")])
    ingest_paths(workspace, [log])
    assert weeks_with_activity(workspace) == ["2026-W41"]
    record_id, = workspace.cursor().execute("SELECT record_id FROM records").fetchone()
    save_review(workspace, record_id, "ana", verdict="hard_example", at=datetime(2026, 11, 18, tzinfo=timezone.utc))
    assert weeks_with_activity(workspace) == ["2026-W47", "2026-W41"]  # a review this later week: worth a report


def test_the_command_reports_this_week_when_that_is_all_there_is(workspace, write_log, openai_line, tmp_path,
                                                                   monkeypatch, capsys):
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    ingest_paths(workspace, [write_log("new.jsonl", [openai_line("new-1", "Hi?", "Sorry.", ts=now, thumbs="down")])])
    Workspace.close_all()
    monkeypatch.chdir(tmp_path)
    assert main(["-w", str(workspace.path), "report"]) == 0
    written = Path(capsys.readouterr().out.strip())
    assert written.name.endswith("_so_far.html")
    monday = this_week(datetime.now(timezone.utc).date()).start
    assert f"period {monday:%a %d %b %Y} to" in written.read_text(encoding="utf-8")
    assert main(["-w", str(workspace.path), "report", "--this-week", "--week", "2026-W47"]) == 1
    assert "give one of --week, --this-week or --from/--to" in capsys.readouterr().err
