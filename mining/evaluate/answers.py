"""Candidate answers from a file: JSONL, CSV or Parquet, one row per golden item.

By default a row is `{"id": ID as the source gave it, "answer": TEXT}` (Faultline's record id is
accepted too); other column names are mapped (`id_column`, `answer_column`), or rows are matched
to golden items by their input text (`key="input"`, compared ignoring case and spacing), for
answers generated from a prompt list that lost the ids.

Why so strict about what did not match: a candidate file made for last month's golden set, or
keyed by the wrong column, would otherwise score as a model that abstains on everything. The
result lists ids that are not golden items, rows given twice (the first one counts) and golden
items with no answer (scored as abstained, "no answer"), and a malformed file is refused with
its name, line and problem.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import polars as pl

from mining.evaluate.items import GoldenItem

Key = Literal["id", "input"]
SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")


class AnswerFileError(ValueError):
    """A candidate file that cannot be read as asked, with the file, line and problem."""


@dataclass(frozen=True)
class AnswerMapping:
    """How a file's rows become answers: which column holds the answer, and what keys a row."""

    key: Key = "id"
    id_column: str = "id"
    answer_column: str = "answer"
    input_column: str = "input"

    def as_json(self) -> dict[str, str]:
        return {"key": self.key, "id_column": self.id_column, "answer_column": self.answer_column,
                "input_column": self.input_column}


@dataclass
class AnswerFile:
    """Answers by golden record id (None for a null answer) and what did not match."""

    path: str
    rows: int = 0
    answers: dict[str, str | None] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # golden items' source ids with no row


def _jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise AnswerFileError(f"{path}, line {number}: not JSON ({exc})") from exc
            if not isinstance(row, dict):
                raise AnswerFileError(f"{path}, line {number}: expected an object, got {type(row).__name__}")
            rows.append(row)
    return rows


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The file's rows as dicts, by its extension (a .json file may hold a list of objects)."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise AnswerFileError(f"{path}: use a .jsonl, .json, .csv or .parquet file")
    if not path.is_file():
        raise AnswerFileError(f"{path}: no such file")
    try:
        if suffix == ".jsonl":
            return _jsonl(path)
        if suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
                raise AnswerFileError(f"{path}: expected a list of objects")
            return data
        frame = pl.read_csv(path, infer_schema=False) if suffix == ".csv" else pl.read_parquet(path)
        return frame.to_dicts()
    except (ValueError, OSError, pl.exceptions.PolarsError) as exc:
        if isinstance(exc, AnswerFileError):
            raise
        raise AnswerFileError(f"{path}: cannot read it: {exc}") from exc


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value)


def _normalised(text: str | None) -> str:
    return " ".join((text or "").lower().split())


def match_answers(path: str | Path, items: list[GoldenItem], mapping: AnswerMapping = AnswerMapping()) -> AnswerFile:
    """Read the file and match its rows to the golden items (see the module docstring)."""
    path = Path(path).expanduser()
    rows = read_rows(path)
    key_column = mapping.id_column if mapping.key == "id" else mapping.input_column
    for column in (key_column, mapping.answer_column):
        if rows and not any(column in row for row in rows):
            raise AnswerFileError(f"{path}: no column {column!r}; the file has {', '.join(sorted(rows[0]))}")
    if mapping.key == "id":
        index = {item.source_id: item for item in items} | {item.record_id: item for item in items}
    else:
        index = {_normalised(item.input): item for item in items if item.input}
    result = AnswerFile(str(path), len(rows))
    for number, row in enumerate(rows, start=1):
        key = _text(row.get(key_column))
        if key is None:
            raise AnswerFileError(f"{path}, row {number}: no {key_column!r}")
        item = index.get(key if mapping.key == "id" else _normalised(key))
        if item is None:
            result.unknown.append(key)
        elif item.record_id in result.answers:
            result.duplicates.append(item.source_id)
        else:
            result.answers[item.record_id] = _text(row.get(mapping.answer_column))
    result.missing = [item.source_id for item in items if item.record_id not in result.answers]
    return result
