"""Reading rows out of log files, one at a time, whatever the container.

Why streaming: production logs run to gigabytes. Every reader here yields one row at a time with
its line number and raw text, so memory stays flat and a bad row is reported where it is, while
the good rows around it still flow.

Containers: JSONL, JSON (an array, or an object holding a list), CSV/TSV, Parquet; each may be
gzip-compressed. A row that cannot be decoded comes out as a `Row` with an `error`.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Iterator

LOG_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet")
_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"
_CHUNK = 1 << 20


class FileProblem(Exception):
    """A whole file cannot be read; the message names the file and says why, for a person."""


@dataclass
class Row:
    """One item of a file: its parsed value, or why it could not be parsed."""

    line: int | None
    raw: str
    value: Any = None
    error: str | None = None


def list_log_files(paths: list[Path]) -> list[Path]:
    """Files to ingest: given files as they are, folders expanded to their log files, sorted."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                child for child in path.rglob("*")
                if child.is_file() and not child.name.startswith(".")
                and _strip_gz(child.name.lower()).endswith(LOG_SUFFIXES)
            )
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            raise FileProblem(f"{path}: no such file or folder")
    return files


def _strip_gz(name: str) -> str:
    return name[:-3] if name.endswith(".gz") else name


def container_of(path: Path) -> str:
    """jsonl | json | csv | tsv | parquet, from the name, else from the first bytes."""
    name = _strip_gz(path.name.lower())
    for suffix, kind in ((".jsonl", "jsonl"), (".ndjson", "jsonl"), (".json", "json"), (".csv", "csv"),
                         (".tsv", "tsv"), (".parquet", "parquet")):
        if name.endswith(suffix):
            return kind
    head = _head(path, 4096)
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    text = head.lstrip()
    if text[:1] in (b"{", b"["):
        return "json"
    if b"," in head.split(b"\n", 1)[0]:
        return "csv"
    raise FileProblem(f"{path}: not a log file Faultline can read (expected JSONL, JSON, CSV or Parquet, optionally .gz)")


def _head(path: Path, size: int) -> bytes:
    try:
        with open(path, "rb") as handle:
            start = handle.read(size)
        if start.startswith(_GZIP_MAGIC):
            with gzip.open(path, "rb") as handle:
                return handle.read(size)
        return start
    except OSError as exc:
        raise FileProblem(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except (gzip.BadGzipFile, EOFError) as exc:
        raise FileProblem(f"{path}: damaged gzip file: {exc}") from exc


class RowReader:
    """Iterates a file's rows; `fraction_done()` tells how far through the file it is."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.container = container_of(path)
        self._size = max(path.stat().st_size, 1)
        self._raw_handle: IO[bytes] | None = None
        self._parquet_fraction = 0.0

    def fraction_done(self) -> float:
        if self.container == "parquet":
            return self._parquet_fraction
        if self._raw_handle is None or self._raw_handle.closed:
            return 0.0
        try:
            return min(self._raw_handle.tell() / self._size, 1.0)
        except (OSError, ValueError):
            return 0.0

    def __iter__(self) -> Iterator[Row]:
        try:
            if self.container == "parquet":
                yield from self._parquet_rows()
                return
            with self.open_binary() as binary:
                if self.container == "jsonl":
                    yield from _jsonl_rows(binary)
                elif self.container == "json":
                    yield from _json_rows(binary)
                else:
                    yield from _csv_rows(binary, "\t" if self.container == "tsv" else ",")
        except OSError as exc:
            raise FileProblem(f"{self.path}: cannot read: {exc.strerror or exc}") from exc
        except (gzip.BadGzipFile, EOFError, zlib_error()) as exc:
            raise FileProblem(f"{self.path}: damaged gzip file: {exc}") from exc

    def open_binary(self) -> IO[bytes]:
        """The file's bytes, gunzipped if need be; `fraction_done` follows the compressed position."""
        raw = open(self.path, "rb")
        self._raw_handle = raw
        if raw.read(2) == _GZIP_MAGIC:
            raw.seek(0)
            return gzip.GzipFile(fileobj=raw, mode="rb")  # closing it leaves raw open: close both
        raw.seek(0)
        return raw

    def _parquet_rows(self) -> Iterator[Row]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = self.path
        temporary: str | None = None
        with open(path, "rb") as probe:
            compressed = probe.read(2) == _GZIP_MAGIC
        if compressed:  # parquet needs random access: unpack to a temporary file first
            handle, temporary = tempfile.mkstemp(suffix=".parquet")
            with os.fdopen(handle, "wb") as out, gzip.open(path, "rb") as source:
                shutil.copyfileobj(source, out)
            path = Path(temporary)
        try:
            try:
                parquet = pq.ParquetFile(path)
            except (pa.ArrowException, OSError) as exc:
                raise FileProblem(f"{self.path}: not a readable Parquet file: {exc}") from exc
            number = 0
            total = max(parquet.metadata.num_rows, 1)
            for batch in parquet.iter_batches(batch_size=8192):
                for value in batch.to_pylist():
                    number += 1
                    yield Row(number, json.dumps(value, ensure_ascii=False, default=str), value)
                self._parquet_fraction = number / total
        finally:
            if temporary:
                os.unlink(temporary)


def zlib_error() -> type[Exception]:
    import zlib

    return zlib.error


def _decode(line: bytes) -> str | None:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _jsonl_rows(binary: IO[bytes]) -> Iterator[Row]:
    number = 0
    for raw_line in binary:
        number += 1
        if number == 1 and raw_line.startswith(b"\xef\xbb\xbf"):
            raw_line = raw_line[3:]
        stripped = raw_line.strip()
        if stripped:
            yield jsonl_row(number, stripped)


def jsonl_row(number: int, stripped: bytes) -> Row:
    """One non-blank JSONL line as a Row; shared with the vectorised reader so reasons match."""
    text = _decode(stripped)
    if text is None:
        return Row(number, stripped.decode("utf-8", "replace"), error="line is not valid UTF-8 text")
    try:
        return Row(number, text, json.loads(text))
    except ValueError as exc:
        return Row(number, text, error=f"not valid JSON ({_json_problem(exc)})")


def _json_problem(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at column {exc.colno}"
    return str(exc)


class _TextCursor:
    """A growing window over a decoded text stream, for incremental JSON decoding."""

    def __init__(self, binary: IO[bytes]) -> None:
        self._reader = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="strict")
        self.buffer = ""
        self.position = 0
        self.line = 1
        self.eof = False

    def fill(self) -> bool:
        if self.eof:
            return False
        try:
            chunk = self._reader.read(_CHUNK)
        except UnicodeDecodeError as exc:
            raise FileProblem(f"not valid UTF-8 text near line {self.line + self.buffer.count(chr(10), self.position)}: {exc.reason}") from exc
        if not chunk:
            self.eof = True
            return False
        self.buffer = self.buffer[self.position:] + chunk
        self.position = 0
        return True

    def skip_space(self) -> str:
        """The next non-space character (not consumed), or '' at the end."""
        while True:
            while self.position < len(self.buffer) and self.buffer[self.position] in " \t\r\n":
                if self.buffer[self.position] == "\n":
                    self.line += 1
                self.position += 1
            if self.position < len(self.buffer):
                return self.buffer[self.position]
            if not self.fill():
                return ""

    def expect(self, char: str) -> None:
        found = self.skip_space()
        if found != char:
            raise json.JSONDecodeError(f"expected '{char}'", self.buffer, self.position)
        self.position += 1

    def value(self) -> tuple[Any, str, int]:
        """Decode the next JSON value: (value, its text, its first line)."""
        self.skip_space()
        decoder = json.JSONDecoder()
        start_line = self.line
        while True:
            try:
                value, end = decoder.raw_decode(self.buffer, self.position)
            except json.JSONDecodeError:
                if self.fill():
                    continue
                raise
            if end == len(self.buffer) and not self.eof and isinstance(value, (int, float)):
                if self.fill():  # a number may continue in the next chunk
                    continue
            text = self.buffer[self.position:end]
            self.line += text.count("\n")
            self.position = end
            return value, text, start_line


def _json_rows(binary: IO[bytes]) -> Iterator[Row]:
    """A JSON file: an array of items, an object holding a list of items, or JSON lines."""
    cursor = _TextCursor(binary)
    first = cursor.skip_space()
    if first == "":
        return
    try:
        if first == "[":
            yield from _array_items(cursor)
        elif first == "{":
            yield from _object_items(cursor)
        else:
            raise json.JSONDecodeError("a JSON file must start with '[' or '{'", cursor.buffer, cursor.position)
    except json.JSONDecodeError as exc:
        yield Row(cursor.line, cursor.buffer[cursor.position:cursor.position + 200],
                  error=f"JSON syntax error ({exc.msg}); the rest of the file could not be read")


def _array_items(cursor: _TextCursor) -> Iterator[Row]:
    cursor.expect("[")
    if cursor.skip_space() == "]":
        cursor.position += 1
        return
    while True:
        value, text, line = cursor.value()
        yield Row(line, text, value)
        following = cursor.skip_space()
        cursor.position += 1
        if following == "]":
            return
        if following != ",":
            raise json.JSONDecodeError("expected ',' or ']' between items", cursor.buffer, cursor.position)


# Keys under which exports hold their list of items; such a list is streamed item by item.
CONTAINER_KEYS = {
    "data", "items", "records", "results", "rows", "logs", "spans", "resourceSpans", "observations",
    "scores", "runs", "traces", "examples", "calls", "generations",
}


def _object_items(cursor: _TextCursor) -> Iterator[Row]:
    """One or more top-level objects; a list under a known container key is streamed."""
    while cursor.skip_space() == "{":
        yield from _one_object(cursor)
    if cursor.skip_space() != "":
        raise json.JSONDecodeError("unexpected text after the JSON value", cursor.buffer, cursor.position)


def _one_object(cursor: _TextCursor) -> Iterator[Row]:
    start_line = cursor.line
    cursor.expect("{")
    kept: dict[str, Any] = {}
    streamed = False
    if cursor.skip_space() == "}":
        cursor.position += 1
        yield Row(start_line, "{}", {})
        return
    while True:
        key, _, _ = cursor.value()
        if not isinstance(key, str):
            raise json.JSONDecodeError("expected a key", cursor.buffer, cursor.position)
        cursor.expect(":")
        if key in CONTAINER_KEYS and cursor.skip_space() == "[":
            streamed = True
            yield from _array_items(cursor)
        else:
            kept[key] = cursor.value()[0]
        following = cursor.skip_space()
        cursor.position += 1
        if following == "}":
            break
        if following != ",":
            raise json.JSONDecodeError("expected ',' or '}' in an object", cursor.buffer, cursor.position)
    if not streamed:
        yield Row(start_line, json.dumps(kept, ensure_ascii=False), kept)


def _csv_rows(binary: IO[bytes], delimiter: str) -> Iterator[Row]:
    """CSV/TSV rows as dicts keyed by the header; a row that is not UTF-8 is reported, not dropped."""
    csv.field_size_limit(sys.maxsize)
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = csv.reader(text, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise FileProblem(f"not a readable CSV file: {exc}") from exc
    if not any(name.strip() for name in header):
        raise FileProblem("the CSV file has no header row")
    names = [name.strip() or f"column_{index + 1}" for index, name in enumerate(header)]
    previous_end = reader.line_num
    while True:
        start = previous_end + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            previous_end = reader.line_num
            yield Row(start, "", error=f"CSV syntax error ({exc})")
            continue
        previous_end = reader.line_num
        if not fields or all(not field.strip() for field in fields):
            continue
        raw = delimiter.join(fields)
        if any(_has_surrogates(field) for field in fields):
            yield Row(start, raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace"),
                      error="line is not valid UTF-8 text")
            continue
        if len(fields) > len(names):
            yield Row(start, raw, error=f"{len(fields)} fields but the header names {len(names)}")
            continue
        value = dict(zip(names, fields + [""] * (len(names) - len(fields))))
        yield Row(start, json.dumps(value, ensure_ascii=False), value)


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True
