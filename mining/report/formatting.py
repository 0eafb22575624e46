"""Numbers and words the page, the HTML file and the Markdown write alike: section titles, rates,
changes, intervals, and what an empty section says.

Why shared: a figure that reads "12.5%" on the page and "0.125" in the file would make the
meeting argue about the report instead of the week.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from mining.report.data import Agreement, EvalRun, Mode, Modes, Score, WeeklyReport

TITLES = {"volume": "Failure volume", "modes": "Failure modes", "kinds": "What went wrong, across the modes",
          "examples": "Examples", "reviews": "Review",
          "exports": "Datasets exported", "evaluations": "Evaluation runs"}


def count(value: int) -> str:
    return f"{value:,}"


def percent(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value * 100:.{digits}f}%"


def signed(value: int) -> str:
    """+3, -2 or ±0."""
    return f"{value:+,}" if value else "±0"


def change(now: int, before: int) -> str:
    """'+12 (+25%)' against the period before; no share when there was nothing before."""
    if not before or now == before:
        return signed(now - before)
    return f"{signed(now - before)} ({(now - before) / before * 100:+.0f}%)"


def points(value: float | None) -> str:
    """A rate's change in percentage points."""
    return "n/a" if value is None else f"{value * 100:+.1f} pts"


def day(value: date) -> str:
    return value.strftime("%a %d %b %Y")


def moment(value: datetime | None) -> str:
    return "n/a" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _interval(low: float, high: float, scale: float, unit: str) -> str:
    return f" [{low * scale:.1f}{unit}, {high * scale:.1f}{unit}]"


def with_interval(value: float | None, interval: tuple[float, float] | None, percent_scale: bool) -> str:
    """A score with its interval: '72.0% [64.0%, 80.0%]', or '12.0 [-4.0, 26.0]' for the index."""
    if value is None:
        return "n/a"
    scale, unit = (100.0, "%") if percent_scale else (1.0, "")
    return f"{value * scale:.1f}{unit}" + (_interval(*interval, scale, unit) if interval else "")


def score_figures(score: Score | None) -> tuple[str, str, str]:
    """(accuracy, omniscience index, hallucination rate), each with its interval."""
    if score is None:
        return "n/a", "n/a", "n/a"
    return (with_interval(score.accuracy, score.accuracy_ci, True),
            with_interval(score.omniscience_index, score.omniscience_ci, False),
            with_interval(score.hallucination_rate, score.hallucination_ci, True))


def scored_of(run: EvalRun) -> str:
    """'18 of 20': golden items scored out of those the run holds."""
    scored = count(run.overall.n) if run.overall else "0"
    return scored if run.items is None else f"{scored} of {count(run.items)}"


def kappa(agreement: Agreement) -> str:
    """'κ 0.62 (agreed 80%, 10 records)' or why there is none."""
    if not agreement.records:
        return "no record reviewed twice"
    value = "n/a" if agreement.kappa is None else f"{agreement.kappa:.2f}"
    return f"κ {value} (agreed on {percent(agreement.agreement, 0)} of {agreement.records:,} records)"


def period_line(report: WeeklyReport) -> str:
    """What is compared with what."""
    period = report.period
    return (f"{day(period.start)} to {day(period.last_day)}, compared with "
            f"{day(period.previous_start)} to {day(period.start - timedelta(days=1))}")


def no_modes_reason(modes: Modes) -> str | None:
    """Why the modes section is empty, or None when it has modes."""
    if modes.run_id is None:
        return "No data: failure modes have not been found yet (Failure modes page, or `faultline cluster`)."
    if not modes.modes:
        return "No data: no failure of a known mode in this period or the one before."
    return None


def top_modes(modes: Modes) -> list[Mode]:
    """The modes with failures in the period (those that went have no examples)."""
    return [mode for mode in modes.modes if mode.failures]


EMPTY = {
    "volume": "No data: no calls were logged in this period or the one before.",
    "reviews": "No data: no reviews were given in this period.",
    "exports": "No datasets were exported in this period.",
    "evaluations": "No evaluation runs were made in this period.",
    "examples": "No examples: no failure mode has failures in this period.",
    "kinds": "No failure kinds: no mode has failures in this period, or the clustering run predates kinds.",
}


def rate_text(mode: Mode) -> str:
    """A mode's failure rate with its 95% interval, in whole percents: '82% (62–94%)'."""
    if mode.failure_rate is None:
        return "n/a"
    interval = f" ({mode.rate_interval[0]:.0%}–{mode.rate_interval[1]:.0%})" if mode.rate_interval else ""
    return f"{mode.failure_rate:.0%}{interval}"


def kind_grid(modes: Modes) -> tuple[list[str], list[list[object]]]:
    """The mode x kind table as headers and rows: a row per shown mode, a column per kind that
    any of them has in the period."""
    table = modes.kinds
    if table is None:
        return [], []
    kinds = table.present_kinds()
    headers = ["Failure mode", *(kind["name"] for kind in kinds)]
    rows = [[mode["name"], *(count(table.cell(mode["id"], kind["id"])) for kind in kinds)] for mode in table.modes]
    return headers, rows
