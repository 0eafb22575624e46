"""A WHERE clause built from a filter: the one way Records, the Review queue and the export turn
"these files, these modes, these tags, this time range" into SQL.

Why one builder: the SQL is assembled only from constant fragments and column expressions written
in code, while every value a person chose (a tag, a file name, a date) is bound as a named
parameter. Written once, the rule cannot be forgotten in one of three copies.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable


class Where:
    """Conditions joined by AND, with their named parameters (`$name` in DuckDB)."""

    def __init__(self, *clauses: str) -> None:
        self.clauses: list[str] = list(clauses)
        self.params: dict[str, Any] = {}

    def add(self, clause: str, **params: Any) -> None:
        """A condition written in code, with the values it binds."""
        self.clauses.append(clause)
        self.params.update(params)

    def bind(self, **params: Any) -> None:
        """Values that several conditions share (a run id, say), bound once."""
        self.params.update(params)

    def among(self, name: str, column: str, values: Iterable[Any]) -> None:
        """`column` is one of `values`; no values, no condition."""
        values = list(values)
        if values:
            self.add(f"{column} IN (SELECT unnest(${name}))", **{name: values})

    def overlapping(self, name: str, column: str, values: Iterable[str]) -> None:
        """The list `column` holds at least one of `values`; no values, no condition."""
        values = list(values)
        if values:
            self.add(f"list_has_any({column}, ${name}::VARCHAR[])", **{name: values})

    def between(self, column: str, since: datetime | None, until: datetime | None) -> None:
        """`since <= column < until`, either end open when None."""
        if since is not None:
            self.add(f"{column} >= $since", since=since)
        if until is not None:
            self.add(f"{column} < $until", until=until)

    @property
    def sql(self) -> str:
        """The conditions joined by AND ("true" when there are none)."""
        return " AND ".join(self.clauses) or "true"
