"""The week's figures, gathered once as plain data for the page, the HTML file and the Markdown.

Why one dataclass of plain values: the report is read by people in a meeting and by cron jobs, so
every view of it must show the same numbers; rendering only formats what `weekly_report` found.

Every period is compared with the one just before it, of the same length (by default: last ISO
week against the week before). Days are UTC days; records without a time are left out.

Failure modes come from the latest finished clustering run, whatever the period: mode ids are
stable across runs, and the run holds every failure it saw with its time, so the failures of any
week can be counted per mode. Their trend (new, growing, shrinking, stable, gone) compares the
period with the previous one, not the run with the run before, which is what the Failure modes page
shows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import polars as pl

from mining.review import EFFECTIVE_SQL, NOT_A_REVIEW, REVIEWER_STATE, agreement_report, cohen_kappa
from mining.cluster import ModeKindTable, latest_run, list_clusters, mode_kind_table, trend
from mining.detect import failures_sql
from mining.export.history import list_exports
from mining.report.period import ReportPeriod, utc_start, week_label
from mining.store import Workspace

TOP_MODES = 8
EXAMPLES_PER_MODE = 3
EXAMPLE_CHARS = 600


def weeks_with_activity(workspace: Workspace) -> list[str]:
    """ISO weeks in which anything the report tells happened, newest first: calls logged, reviews
    written, datasets exported, evaluation runs made."""
    rows = workspace.cursor().execute("""
        SELECT DISTINCT CAST(date_trunc('week', moment AT TIME ZONE 'UTC') AS DATE) AS monday FROM (
            SELECT ts AS moment FROM records UNION ALL SELECT event_at FROM review_events
            UNION ALL SELECT created_at FROM exports UNION ALL SELECT updated_at FROM eval_runs)
        WHERE moment IS NOT NULL ORDER BY monday DESC""").fetchall()
    return [week_label(monday) for (monday,) in rows]


def weeks_with_records(workspace: Workspace) -> list[str]:
    """ISO weeks holding at least one dated record, newest first: the weeks worth reporting on."""
    rows = workspace.cursor().execute("""
        SELECT DISTINCT CAST(date_trunc('week', ts AT TIME ZONE 'UTC') AS DATE) AS monday FROM records
        WHERE ts IS NOT NULL ORDER BY monday DESC""").fetchall()
    return [week_label(monday) for (monday,) in rows]


# --- What the report holds ---------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """Calls and failures over some days."""

    records: int
    failures: int

    @property
    def failure_rate(self) -> float | None:
        return self.failures / self.records if self.records else None


@dataclass(frozen=True)
class DayCounts(Counts):
    """Calls and failures of one UTC day."""

    day: date = field(kw_only=True)


@dataclass(frozen=True)
class Volume:
    """Calls and failures per day, in the period and the one before, and their totals."""

    days: list[DayCounts]
    previous_days: list[DayCounts]
    current: Counts
    previous: Counts

    @property
    def rate_change(self) -> float | None:
        """Change of the failure rate in percentage points (0.02 = two points), when both exist."""
        if self.current.failure_rate is None or self.previous.failure_rate is None:
            return None
        return self.current.failure_rate - self.previous.failure_rate


@dataclass(frozen=True)
class Example:
    """One failing call of a mode, its texts cut to EXAMPLE_CHARS."""

    source_id: str
    ts: datetime | None
    request: str
    response: str


@dataclass(frozen=True)
class Mode:
    """A failure mode's failures in the period and the one before, and its trend between them."""

    id: int
    name: str
    keywords: list[str]
    failures: int
    previous: int
    status: str
    examples: list[Example] = field(default_factory=list)
    failure_rate: float | None = None  # of all the calls of this mode's kind (the run's estimate)
    rate_interval: tuple[float, float] | None = None  # its 95% interval


@dataclass(frozen=True)
class Modes:
    """The latest run's modes as seen in the period: the biggest first, then those that went."""

    run_id: str | None
    run_finished_at: datetime | None
    modes: list[Mode]
    unclustered: int  # failures of the period no mode of the run holds
    kinds: ModeKindTable | None = None  # the period's failures of the shown modes by kind (what went wrong)


@dataclass(frozen=True)
class Agreement:
    """Verdict agreement between the first two reviewers of records."""

    records: int
    kappa: float | None
    agreement: float | None


@dataclass(frozen=True)
class Reviews:
    """Review throughput in the period, and agreement."""

    events: int
    reviews: int  # (record, reviewer) pairs given a verdict other than skip
    records: int
    hard_examples: int
    previous_reviews: int
    per_day: list[tuple[date, int]]
    per_reviewer: list[tuple[str, int]]
    agreement: Agreement  # second reviews given in the period
    agreement_to_date: Agreement


@dataclass(frozen=True)
class Score:
    """One group's evaluation figures; intervals are (low, high), None where not computed."""

    n: int
    correct: int
    incorrect: int
    abstained: int
    accuracy: float | None
    accuracy_ci: tuple[float, float] | None
    omniscience_index: float | None
    omniscience_ci: tuple[float, float] | None
    hallucination_rate: float | None
    hallucination_ci: tuple[float, float] | None


@dataclass(frozen=True)
class EvalRun:
    """An evaluation run created or updated in the period, with its overall and per-mode scores."""

    name: str
    created_at: datetime
    updated_at: datetime
    created_by: str | None
    source: str
    status: str
    items: int | None
    overall: Score | None
    by_mode: list[tuple[str, Score]]


@dataclass(frozen=True)
class WeeklyReport:
    """Everything the weekly meeting looks at, for one period."""

    period: ReportPeriod
    workspace: str
    generated_at: datetime
    volume: Volume
    modes: Modes
    reviews: Reviews
    exports: list[dict[str, Any]]
    evaluations: list[EvalRun]


# --- Gathering ---------------------------------------------------------------------------------


def _bounds(period: ReportPeriod) -> dict[str, datetime]:
    """The period's instants as bound SQL parameters."""
    return {"previous_start": utc_start(period.previous_start), "start": utc_start(period.start),
            "end": utc_start(period.end)}


def _days(first: date, count: int) -> list[date]:
    return [first + timedelta(days=n) for n in range(count)]


def _per_day(found: dict[date, tuple[int, int]], first: date, count: int) -> list[DayCounts]:
    """One entry per day from `first`, zero where nothing was logged."""
    return [DayCounts(*found.get(day, (0, 0)), day=day) for day in _days(first, count)]


def _total(days: list[DayCounts]) -> Counts:
    return Counts(sum(day.records for day in days), sum(day.failures for day in days))


def failure_volume(workspace: Workspace, period: ReportPeriod) -> Volume:
    """Calls and failures per UTC day over the period and the previous one."""
    rows = workspace.cursor().execute(f"""
        SELECT CAST(r.ts AT TIME ZONE 'UTC' AS DATE) AS day, count(*), count(f.record_id)
        FROM records r LEFT JOIN ({failures_sql()}) f USING (record_id)
        WHERE r.ts >= $since AND r.ts < $until GROUP BY day""",
                                      {"since": utc_start(period.previous_start), "until": utc_start(period.end)}
                                      ).fetchall()
    found = {day: (records, failures) for day, records, failures in rows}
    days = _per_day(found, period.start, period.days)
    previous_days = _per_day(found, period.previous_start, period.days)
    return Volume(days, previous_days, _total(days), _total(previous_days))


def mode_status(failures: int, previous: int, earlier: int) -> str:
    """The trend of a mode from the period before to this one.

    new: no failure of it before this period; gone: failures before, none now; a mode back after a
    quiet period is growing; otherwise the ratio rule of the runs' own trend (mining.cluster.identity).
    """
    if failures == 0:
        return "gone"
    if previous == 0:
        return "new" if earlier == 0 else "growing"
    return trend(failures, previous)


def _mode_counts(workspace: Workspace, run_id: str, period: ReportPeriod) -> list[tuple[int, int, int, int]]:
    """(cluster id, failures in the period, in the previous one, earlier) for modes seen by the period's end."""
    return workspace.cursor().execute(f"""
        SELECT m.cluster_id,
               count(*) FILTER (WHERE r.ts >= $start),
               count(*) FILTER (WHERE r.ts >= $previous_start AND r.ts < $start),
               count(*) FILTER (WHERE r.ts < $previous_start)
        FROM cluster_members m JOIN records r USING (record_id) JOIN ({failures_sql()}) f USING (record_id)
        WHERE m.run_id = $run_id AND m.cluster_id >= 0 AND r.ts < $end
        GROUP BY m.cluster_id""", {**_bounds(period), "run_id": run_id}).fetchall()


def _clip(text: str | None, empty: str) -> str:
    text = (text or "").strip()
    if not text:
        return empty
    return text if len(text) <= EXAMPLE_CHARS else text[:EXAMPLE_CHARS - 1].rstrip() + "…"


def mode_examples(workspace: Workspace, run_id: str, cluster_ids: list[int],
                  period: ReportPeriod) -> dict[int, list[Example]]:
    """Up to EXAMPLES_PER_MODE failing calls per mode from the period: the run's most typical
    examples first, then the members it placed most surely, then the earliest."""
    rows = workspace.cursor().execute(f"""
        WITH candidates AS (
            SELECT m.cluster_id, coalesce(r.source_id, r.record_id) AS source_id, r.ts, r.record_id,
                   r.cluster_text AS request, coalesce(r.response_text, r.error) AS response, m.probability,
                   coalesce(list_contains(c.examples::VARCHAR[], r.record_id), false) AS typical
            FROM cluster_members m JOIN records r USING (record_id) JOIN ({failures_sql()}) f USING (record_id)
            JOIN clusters c ON c.run_id = m.run_id AND c.cluster_id = m.cluster_id
            WHERE m.run_id = $run_id AND m.cluster_id IN (SELECT unnest($ids::INTEGER[]))
              AND r.ts >= $start AND r.ts < $end)
        SELECT cluster_id, source_id, ts, request, response FROM candidates
        QUALIFY row_number() OVER (PARTITION BY cluster_id
                                   ORDER BY typical DESC, probability DESC NULLS LAST, ts, record_id) <= $limit
        ORDER BY cluster_id, typical DESC, probability DESC NULLS LAST, ts, record_id""",
                                      {"run_id": run_id, "ids": cluster_ids, "start": utc_start(period.start),
                                       "end": utc_start(period.end), "limit": EXAMPLES_PER_MODE}).fetchall()
    examples: dict[int, list[Example]] = {}
    for cluster_id, source_id, ts, request, response in rows:
        examples.setdefault(cluster_id, []).append(
            Example(source_id, ts, _clip(request, "(no request)"), _clip(response, "(no response)")))
    return examples


def failure_modes(workspace: Workspace, period: ReportPeriod, failures: int) -> Modes:
    """The TOP_MODES modes with most failures in the period, with examples, then up to TOP_MODES modes
    that went (those with most failures before first): a week without data must not list every mode."""
    run = latest_run(workspace)
    if run is None:
        return Modes(None, None, [], failures)
    described = {cluster["id"]: cluster for cluster in list_clusters(workspace, run["run_id"])}
    counted = [(cluster_id, now, before, earlier) for cluster_id, now, before, earlier
               in _mode_counts(workspace, run["run_id"], period) if cluster_id in described and (now or before)]
    counted.sort(key=lambda row: (-row[1], -row[2], row[0]))
    top = [row for row in counted if row[1]][:TOP_MODES]
    gone = [row for row in counted if not row[1]][:TOP_MODES]
    examples = mode_examples(workspace, run["run_id"], [row[0] for row in top], period)
    modes = [Mode(cluster_id, described[cluster_id]["name"] or f"mode {cluster_id}",
                  list(described[cluster_id]["keywords"] or []), now, before, mode_status(now, before, earlier),
                  examples.get(cluster_id, []), described[cluster_id]["failure_rate"],
                  _rate_interval(described[cluster_id]))
             for cluster_id, now, before, earlier in top + gone]
    in_modes = sum(row[1] for row in counted)
    bounds = _bounds(period)
    kinds = mode_kind_table(workspace, [{"id": mode.id, "name": mode.name} for mode in modes if mode.failures],
                            run["run_id"], bounds["start"], bounds["end"])
    return Modes(run["run_id"], run["finished_at"], modes, failures - in_modes, kinds if kinds.kinds else None)


def _rate_interval(cluster: dict[str, Any]) -> tuple[float, float] | None:
    low, high = cluster.get("failure_rate_low"), cluster.get("failure_rate_high")
    return None if low is None or high is None else (low, high)


_JUDGED = f"action = 'verdict' AND payload ->> '$.after' <> '{NOT_A_REVIEW}'"


def _agreement_in(workspace: Workspace, period: ReportPeriod) -> Agreement:
    """First against second verdict of the records whose second review came in the period, as
    mining.review.agreement compares them overall (each reviewer's current verdict, ordered by when they
    first gave one)."""
    pairs = workspace.cursor().execute(f"""
        WITH s AS (SELECT * FROM {REVIEWER_STATE}),
        first AS (SELECT record_id, reviewer, min(event_at) AS first_at FROM review_events
                  WHERE action = 'verdict' GROUP BY ALL),
        ranked AS (SELECT record_id, verdict, first_at,
                          row_number() OVER (PARTITION BY record_id ORDER BY first_at, reviewer) AS n
                   FROM s JOIN first USING (record_id, reviewer)
                   WHERE verdict IS NOT NULL AND verdict <> '{NOT_A_REVIEW}')
        SELECT a.verdict, b.verdict FROM ranked a JOIN ranked b USING (record_id)
        WHERE a.n = 1 AND b.n = 2 AND b.first_at >= $start AND b.first_at < $end""",
                                       {"start": utc_start(period.start), "end": utc_start(period.end)}).fetchall()
    return Agreement(len(pairs), cohen_kappa(pairs), sum(a == b for a, b in pairs) / len(pairs) if pairs else None)


def _judged_sql() -> str:
    """Verdicts (other than skip, not undone) given from the previous period's start to the end."""
    return f"""SELECT record_id, reviewer, event_at, payload ->> '$.after' AS verdict FROM ({EFFECTIVE_SQL})
               WHERE {_JUDGED} AND event_at >= $previous_start AND event_at < $end"""


def review_throughput(workspace: Workspace, period: ReportPeriod) -> Reviews:
    """Events, verdicts per day and per reviewer in the period; undone verdicts do not count."""
    cursor = workspace.cursor()
    bounds = _bounds(period)
    events = cursor.execute("SELECT count(*) FROM review_events WHERE event_at >= $start AND event_at < $end",
                            {"start": bounds["start"], "end": bounds["end"]}).fetchone()[0]
    reviews, records, hard, previous = cursor.execute(f"""
        SELECT count(DISTINCT (record_id, reviewer)) FILTER (WHERE event_at >= $start),
               count(DISTINCT record_id) FILTER (WHERE event_at >= $start),
               count(DISTINCT record_id) FILTER (WHERE event_at >= $start AND verdict = 'hard_example'),
               count(DISTINCT (record_id, reviewer)) FILTER (WHERE event_at < $start)
        FROM ({_judged_sql()})""", bounds).fetchone()
    per_day = dict(cursor.execute(f"""
        SELECT CAST(event_at AT TIME ZONE 'UTC' AS DATE), count(DISTINCT (record_id, reviewer))
        FROM ({_judged_sql()}) WHERE event_at >= $start GROUP BY 1""", bounds).fetchall())
    per_reviewer = cursor.execute(f"""
        SELECT reviewer, count(DISTINCT record_id) AS n FROM ({_judged_sql()}) WHERE event_at >= $start
        GROUP BY reviewer ORDER BY n DESC, reviewer""", bounds).fetchall()
    overall = agreement_report(workspace)[0]
    return Reviews(events, reviews, records, hard, previous,
                   [(day, per_day.get(day, 0)) for day in _days(period.start, period.days)],
                   [(reviewer, n) for reviewer, n in per_reviewer], _agreement_in(workspace, period),
                   Agreement(overall.records, overall.verdict_kappa, overall.verdict_agreement))


def exports_in(workspace: Workspace, period: ReportPeriod) -> list[dict[str, Any]]:
    """Dataset versions written in the period, oldest first (name, version, created_at, created_by,
    kinds, rows, golden, leaks)."""
    exports = list_exports(workspace).filter(
        (pl.col("created_at") >= utc_start(period.start)) & (pl.col("created_at") < utc_start(period.end)))
    return exports.sort("created_at").select(
        "name", "version", "created_at", "created_by", "kinds", "rows", "golden", "leaks").to_dicts()


def _interval(value: Any) -> tuple[float, float] | None:
    return (float(value[0]), float(value[1])) if isinstance(value, (list, tuple)) and len(value) == 2 else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def parse_score(data: dict[str, Any]) -> Score:
    """A score object of eval_runs.scores; missing figures are None rather than an error."""
    return Score(int(data.get("n") or 0), int(data.get("correct") or 0), int(data.get("incorrect") or 0),
                 int(data.get("abstained") or 0), _number(data.get("accuracy")), _interval(data.get("accuracy_ci")),
                 _number(data.get("omniscience_index")), _interval(data.get("omniscience_ci")),
                 _number(data.get("hallucination_rate")), _interval(data.get("hallucination_ci")))


def _mode_name(cluster_id: str, score: dict[str, Any]) -> str:
    return "unclustered" if cluster_id == "-1" else str(score.get("name") or f"mode {cluster_id}")


def evaluation_runs(workspace: Workspace, period: ReportPeriod) -> list[EvalRun]:
    """Evaluation runs created or updated in the period, oldest first, with their scores."""
    rows = workspace.cursor().execute("""
        SELECT name, created_at, updated_at, created_by, source, status, items, scores FROM eval_runs
        WHERE (created_at >= $start AND created_at < $end) OR (updated_at >= $start AND updated_at < $end)
        ORDER BY created_at, name""", {"start": utc_start(period.start), "end": utc_start(period.end)}).fetchall()
    runs = []
    for name, created_at, updated_at, created_by, source, status, items, scores in rows:
        scores = json.loads(scores) if scores else {}
        overall = parse_score(scores["overall"]) if isinstance(scores.get("overall"), dict) else None
        by_mode = [(_mode_name(cluster_id, score), parse_score(score))
                   for cluster_id, score in (scores.get("clusters") or {}).items() if isinstance(score, dict)]
        runs.append(EvalRun(name, created_at, updated_at, created_by, source, status, items, overall, by_mode))
    return runs


def weekly_report(workspace: Workspace, period: ReportPeriod) -> WeeklyReport:
    """Every figure of the report for `period`, compared with the period before."""
    volume = failure_volume(workspace, period)
    return WeeklyReport(period, str(workspace.path), datetime.now(timezone.utc), volume,
                        failure_modes(workspace, period, volume.current.failures),
                        review_throughput(workspace, period), exports_in(workspace, period),
                        evaluation_runs(workspace, period))
