"""The period a report covers: days [start, end) in UTC, compared with as many days just before.

Kept apart from the figures (mining.report.data) because the command line and the page parse and
choose periods ("2026-W47", the last complete week, a range of days) before anything is queried.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

_WEEK = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)


class ReportError(ValueError):
    """A period that cannot be reported on; the message is for a person."""


@dataclass(frozen=True)
class ReportPeriod:
    """Days [start, end) in UTC, compared with the same number of days just before."""

    start: date
    end: date
    label: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def previous_start(self) -> date:
        return self.start - timedelta(days=self.days)

    @property
    def previous_end(self) -> date:
        return self.start

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def describe(self) -> str:
        """E.g. '2026-W47 (2026-11-16 to 2026-11-22)'."""
        span = f"{self.start.isoformat()} to {self.last_day.isoformat()}"
        return span if self.label == span else f"{self.label} ({span})"


def utc_start(day: date) -> datetime:
    """The first instant of a UTC day, for comparing with stored times."""
    return datetime.combine(day, time(), tzinfo=timezone.utc)


def week_label(day: date) -> str:
    """The ISO week a day falls in, as '2026-W47'."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def period_for_week(text: str) -> ReportPeriod:
    """The ISO week written as '2026-W47' (also '2026w47'), Monday to Sunday."""
    match = _WEEK.match(text or "")
    try:
        if match is None:
            raise ValueError
        monday = date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError:
        raise ReportError(f"{text!r} is not an ISO week; write it like 2026-W47") from None
    return ReportPeriod(monday, monday + timedelta(days=7), week_label(monday))


def last_week(today: date) -> ReportPeriod:
    """The last complete ISO week before `today` (on a Monday: the week that ended yesterday)."""
    monday = today - timedelta(days=today.weekday() + 7)
    return ReportPeriod(monday, monday + timedelta(days=7), week_label(monday))


def this_week(today: date) -> ReportPeriod:
    """This ISO week so far: Monday to today, included (the meeting's own week, reviews and all)."""
    monday = today - timedelta(days=today.weekday())
    return ReportPeriod(monday, today + timedelta(days=1), f"{week_label(monday)} so far")


def default_period(active_weeks: list[str], today: date) -> ReportPeriod:
    """The period a report opens on: the last complete week when anything happened in it (calls,
    reviews, exports, evaluation runs), else the latest week when something did (this week so far
    when that is the current one), else the last complete week all the same."""
    last = last_week(today)
    if not active_weeks or last.label in active_weeks:
        return last
    current = this_week(today)
    latest = active_weeks[0]
    return current if latest == week_label(current.start) else period_for_week(latest)


def period_between(first: date, last: date) -> ReportPeriod:
    """The days `first` to `last`, both included."""
    if last < first:
        raise ReportError(f"the period ends ({last}) before it starts ({first})")
    return ReportPeriod(first, last + timedelta(days=1), f"{first.isoformat()} to {last.isoformat()}")
