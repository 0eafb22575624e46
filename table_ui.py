"""Tables as a person reads them: every table of the app goes through `table`.

Why one door: the library returns columns named for code (`cluster_id`, `hard_examples`,
`a_reason`), fractions (0.4746) and microsecond timestamps. Shown as they are, a reviewer reads
raw names, "47.46%" in a table beside "47%" on the card above it, and `10:04:12.123456`. Here
every column gets a title, fractions are whole percents as the cards show them, times are minutes
in UTC, and other decimals keep two places. Cells stay data (st.dataframe never renders markup).
"""

from __future__ import annotations

from typing import Any, Mapping

import polars as pl
import streamlit as st

PERCENT = "%.0f%%"  # a fraction shown as a whole percent (its values are scaled by 100 for the table)
DECIMALS = "%.2f"
TIME = "YYYY-MM-DD HH:mm"

# Column names whose title is not just the name in words.
TITLES = {
    "cluster_id": "Mode", "cluster_name": "Failure mode", "source_id": "Source id", "record_id": "Record id",
    "ts": "Time", "a_reason": "First reviewer's reason", "b_reason": "Second reviewer's reason",
    "a_verdict": "First reviewer's verdict", "b_verdict": "Second reviewer's verdict", "a": "First reviewer",
    "b": "Second reviewer", "open_claims": "Open claims", "n": "Items", "kappa": "Kappa",
}
# A float column whose name ends so holds a fraction of 1.
FRACTION_ENDINGS = ("rate", "agreement", "share", "accuracy")


def title(name: str) -> str:
    """A column's title: its own in TITLES, else its name in words ("hard_examples" -> "Hard examples")."""
    words = name.replace("_", " ").strip()
    return TITLES.get(name) or words[:1].upper() + words[1:]


def percent_column(label: str, **options: Any) -> dict[str, Any]:
    """A column of fractions, shown as whole percents."""
    return st.column_config.NumberColumn(label, format=PERCENT, **options)


def _default_column(name: str, dtype: pl.DataType) -> dict[str, Any]:
    if isinstance(dtype, pl.Datetime):
        return st.column_config.DatetimeColumn(title(name), format=TIME, timezone="UTC")
    if dtype.is_float() and name.endswith(FRACTION_ENDINGS):
        return percent_column(title(name))
    if dtype.is_float():
        return st.column_config.NumberColumn(title(name), format=DECIMALS)
    return st.column_config.Column(title(name))


def _frame(data: Any) -> pl.DataFrame:
    if isinstance(data, pl.DataFrame):
        return data
    rows = list(data or [])
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()


def table(data: Any, columns: Mapping[str, Any] | None = None, **options: Any) -> Any:
    """st.dataframe with a title for every column. `columns` maps a name to a title or a
    st.column_config column; the rest are titled by `title`. Other options go to st.dataframe."""
    frame = _frame(data)
    config: dict[str, Any] = {}
    for name, dtype in frame.schema.items():
        given = (columns or {}).get(name)
        config[name] = (st.column_config.Column(given) if isinstance(given, str)
                        else given if given is not None else _default_column(name, dtype))
    percents = [name for name, column in config.items()
                if (column.get("type_config") or {}).get("format") == PERCENT and frame.schema[name].is_numeric()]
    if percents:
        frame = frame.with_columns(pl.col(name) * 100 for name in percents)
    return st.dataframe(frame, column_config=config, hide_index=True, **options)
