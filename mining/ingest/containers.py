"""Reading rows out of log files, one at a time, whatever the container.

Why streaming: production logs run to gigabytes. Every reader here yields one row at a time with
its line number and raw text, so memory stays flat and a bad row is reported where it is, while
the good rows around it still flow.

Containers: JSONL, JSON (an array, or an object holding a list), CSV/TSV, Parquet; each may be
gzip-compressed. A row that cannot be decoded comes out as a `Row` with an `error`, and reading goes
on after it: a JSON item that is cut short is skipped up to the next item, a line longer than
`max_line_bytes()` is reported without being held in memory, a gzip file that ends early gives
every line before the cut and one row saying it was cut.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import shutil
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Generator, Iterator

LOG_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet")
_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"
BOM = b"\xef\xbb\xbf"
_CHUNK = 1 << 20

MAX_LINE_ENV = "FAULTLINE_MAX_LINE_MB"
DEFAULT_MAX_LINE_MB = 64
RAW_SAMPLE_BYTES = 64 << 10  # how much of an over-long line or broken item quarantine keeps


class FileProblem(Exception):
    """A whole file cannot be read; the message names the file and says why, for a person."""


@dataclass
class Row:
    """One item of a file: its parsed value, or why it could not be parsed."""

    line: int | None
    raw: str
    value: Any = None
    error: str | None = None


def max_line_bytes() -> int:
    """The longest line (or JSON item, or CSV field) Faultline reads: $FAULTLINE_MAX_LINE_MB, else 64 MB.

    Why a limit: a line is parsed whole, and takes about fifteen times its size in memory on the way
    into the workspace (its text, the parsed value, the record, DuckDB's copies). A runaway line of a
    few gigabytes must be reported, not take the machine down.
    """
    try:
        megabytes = float(os.environ.get(MAX_LINE_ENV, DEFAULT_MAX_LINE_MB))
    except ValueError:
        megabytes = DEFAULT_MAX_LINE_MB
    return max(int(megabytes * (1 << 20)), 1)


def describe_size(size: int) -> str:
    """A byte count as a person reads it."""
    if size >= 1 << 20:
        return f"{size / (1 << 20):.1f} MB"
    if size >= 1 << 10:
        return f"{size / (1 << 10):.1f} KB"
    return f"{size} bytes"


def oversize_row(number: int | None, head: bytes, size: int, limit: int) -> Row:
    """The row for a line longer than the limit: its start is kept so a person can see what it was."""
    return Row(number, head[:min(RAW_SAMPLE_BYTES, limit)].decode("utf-8", "replace"),
               error=f"line is {describe_size(size)}, longer than the {describe_size(limit)} a line may be; "
                     f"only its start is kept here (set ${MAX_LINE_ENV} higher to read it)")


def truncation_row(last_line: int | None) -> Row:
    """The row that says a gzip file ends early: the lines before the cut were read, what followed is lost."""
    after = f"after line {last_line}" if last_line else "before its first line"
    return Row(None, "", error=f"the gzip file ends early, {after}: it was cut short (copied while being "
                               f"written, or not downloaded whole), so whatever followed is missing")


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
                handle.seek(0)
                with io.BufferedReader(GzipStream(handle)) as unpacked:
                    return unpacked.read(size)
        return start
    except gzip.BadGzipFile as exc:
        raise FileProblem(f"{path}: damaged gzip file: {exc}") from exc
    except OSError as exc:
        raise FileProblem(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except zlib.error as exc:
        raise FileProblem(f"{path}: damaged gzip file: {exc}") from exc


class GzipStream(io.RawIOBase):
    """A gzip file's bytes that stop, rather than fail, where a truncated file ends.

    Why: a log copied while it was being written, or a download cut short, ends mid-stream, and
    Python's gzip then raises and takes the bytes of its last read with it. Everything before the cut
    decompressed correctly and is good data, so this reads in small steps (`read1`), keeps all of it,
    and sets `truncated`. Damage inside the stream (a bad block, a wrong checksum) still raises: the
    bytes decoded before it cannot be trusted.
    """

    def __init__(self, handle: IO[bytes]) -> None:
        super().__init__()
        self._handle = handle
        self._gzip = gzip.GzipFile(fileobj=handle, mode="rb")
        self.truncated = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        """Fill `buffer` from one step of decompression; 0 at the end, or where a cut file ends."""
        if self.truncated:
            return 0
        try:
            data = self._gzip.read1(len(buffer))
        except EOFError:
            self.truncated = True
            return 0
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._gzip.close()
            self._handle.close()
        super().close()


class RowReader:
    """Iterates a file's rows; `fraction_done()` tells how far through the file it is."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.container = container_of(path)
        self.limit = max_line_bytes()
        self._size = max(path.stat().st_size, 1)
        self._raw_handle: IO[bytes] | None = None
        self._gzip: GzipStream | None = None
        self._parquet_fraction = 0.0

    @property
    def truncated(self) -> bool:
        """Whether the last read of this gzip file found it cut short."""
        return self._gzip is not None and self._gzip.truncated

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
        last_line = None
        try:
            for row in self._rows():
                last_line = row.line if row.line is not None else last_line
                yield row
        except gzip.BadGzipFile as exc:  # an OSError: caught first, it would read "cannot read"
            raise FileProblem(f"{self.path}: damaged gzip file: {exc}") from exc
        except OSError as exc:
            raise FileProblem(f"{self.path}: cannot read: {exc.strerror or exc}") from exc
        except zlib.error as exc:
            raise FileProblem(f"{self.path}: damaged gzip file: {exc}") from exc
        if self.truncated:
            yield truncation_row(last_line)

    def _rows(self) -> Iterator[Row]:
        if self.container == "parquet":
            yield from self._parquet_rows()
            return
        with self.open_binary() as binary:
            if self.container == "jsonl":
                yield from _jsonl_rows(binary, self.limit)
            elif self.container == "json":
                yield from _json_rows(binary, self.limit)
            else:
                yield from _csv_rows(binary, "\t" if self.container == "tsv" else ",", self.limit)

    def open_binary(self) -> IO[bytes]:
        """The file's bytes, gunzipped if need be; `fraction_done` follows the compressed position."""
        raw = open(self.path, "rb")
        self._raw_handle = raw
        self._gzip = None
        if raw.read(2) == _GZIP_MAGIC:
            raw.seek(0)
            self._gzip = GzipStream(raw)
            return io.BufferedReader(self._gzip, buffer_size=_CHUNK)  # closing it closes raw too
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
            try:
                with os.fdopen(handle, "wb") as out, gzip.open(path, "rb") as source:
                    shutil.copyfileobj(source, out)
            except EOFError as exc:
                os.unlink(temporary)
                raise FileProblem(f"{self.path}: damaged gzip file: it ends early ({exc})") from exc
            path = Path(temporary)
        try:
            try:
                parquet = pq.ParquetFile(path)
            except (pa.ArrowException, OSError) as exc:
                raise FileProblem(f"{self.path}: not a readable Parquet file: {exc}") from exc
            yield from self._row_groups(parquet)
        finally:
            if temporary:
                os.unlink(temporary)

    def _row_groups(self, parquet: Any) -> Iterator[Row]:
        """Rows group by group: a damaged row group is reported as one row, the groups around it are read."""
        import pyarrow as pa

        total = max(parquet.metadata.num_rows, 1)
        number = 0
        for group in range(parquet.num_row_groups):
            first, size = number + 1, parquet.metadata.row_group(group).num_rows
            try:
                for batch in parquet.iter_batches(batch_size=8192, row_groups=[group]):
                    for value in batch.to_pylist():
                        number += 1
                        yield Row(number, json.dumps(value, ensure_ascii=False, default=str), value)
            except (pa.ArrowException, OSError) as exc:
                yield Row(number + 1, "", error=f"rows {number + 1}-{first + size - 1} (row group {group + 1}) "
                                                f"could not be read: {exc}")
                number = first + size - 1
            self._parquet_fraction = number / total


# --- JSONL -------------------------------------------------------------------------------------

def strip_line(line: bytes) -> bytes:
    """A line as Faultline reads it: surrounding whitespace and a leading byte-order mark removed.

    Why a mark on any line: two files joined end to end (`cat a.jsonl b.jsonl`) put the second
    file's mark in the middle of the result.
    """
    stripped = line.strip()
    if stripped.startswith(BOM):
        stripped = stripped[len(BOM):].strip()
    return stripped


def _bounded_lines(binary: IO[bytes], limit: int) -> Iterator[tuple[int, bytes, int | None]]:
    """(number, line, None) for each line, or (number, its start, its size) for a line over `limit` bytes,
    read past without holding it."""
    number = 0
    while line := binary.readline(limit + 1):
        number += 1
        if len(line) <= limit or line.endswith(b"\n"):
            yield number, line, None
            continue
        head, size = line, len(line)
        while line and not line.endswith(b"\n"):
            line = binary.readline(_CHUNK)
            size += len(line)
        yield number, head, size - (1 if line.endswith(b"\n") else 0)


def _jsonl_rows(binary: IO[bytes], limit: int) -> Iterator[Row]:
    for number, line, size in _bounded_lines(binary, limit):
        if size is not None:
            yield oversize_row(number, line, size, limit)
            continue
        stripped = strip_line(line)
        if stripped:
            yield jsonl_row(number, stripped)


NESTED_TOO_DEEP = "nested too deeply to read (lists or objects more than about a thousand levels deep)"


def jsonl_row(number: int, stripped: bytes) -> Row:
    """One non-blank JSONL line as a Row; shared with the vectorised reader so reasons match."""
    text = _decode(stripped)
    if text is None:
        return Row(number, stripped.decode("utf-8", "replace"), error="line is not valid UTF-8 text")
    try:
        return Row(number, text, json.loads(text))
    except ValueError as exc:
        return Row(number, text, error=f"not valid JSON ({_json_problem(exc)})")
    except RecursionError:
        return Row(number, text, error=NESTED_TOO_DEEP)


def _decode(line: bytes) -> str | None:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _json_problem(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg.removesuffix(' at')} at column {exc.colno}"
    return str(exc)


# --- JSON --------------------------------------------------------------------------------------

_SPACE = re.compile(r"[ \t\r\n\ufeff]*")  # a byte-order mark between values: files joined end to end
_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8, kept by 'surrogateescape'
_DECODER = json.JSONDecoder()
_TAIL = 4096  # text kept across refills while looking for the next item, for a match on the boundary


class _TooLarge(Exception):
    """A JSON item longer than the line limit; `consumed` when the cursor already stands after it."""

    def __init__(self, head: str, size: int, consumed: bool) -> None:
        super().__init__(f"an item of {describe_size(size)} or more")
        self.head, self.size, self.consumed = head, size, consumed


_UNREADABLE = (json.JSONDecodeError, RecursionError, _TooLarge)


@dataclass
class _ItemStart:
    """Where an item began, and how items are laid out, to find the next one after a broken item."""

    line: int
    column: int
    own_line: bool  # the item is the first thing on its line: items are one per line, or pretty-printed


class _TextCursor:
    """A growing window over a decoded text stream, for incremental JSON decoding.

    `line`, `column` and `blank_line` (nothing but spaces since the last newline) follow `position`,
    so items and problems are reported where they are.
    """

    def __init__(self, binary: IO[bytes], limit: int) -> None:
        self._reader = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape")
        self.limit = limit
        self.buffer = ""
        self.position = 0
        self.line = 1
        self.column = 0
        self.blank_line = True
        self.eof = False

    def fill(self) -> bool:
        """Read more: at least a chunk, and as much again as is pending, so that a long value is
        re-scanned a logarithmic number of times rather than once per chunk."""
        if self.eof:
            return False
        chunk = self._reader.read(max(_CHUNK, len(self.buffer) - self.position))
        if not chunk:
            self.eof = True
            return False
        self.buffer = self.buffer[self.position:] + chunk
        self.position = 0
        return True

    def advance(self, end: int) -> str:
        """Consume the text up to `end`, keeping line and column; returns it."""
        text = self.buffer[self.position:end]
        newline = text.rfind("\n")
        if newline >= 0:
            self.line += text.count("\n")
            self.column = len(text) - newline - 1
            tail = text[newline + 1:]
        else:
            self.column += len(text)
            tail = text
        self.blank_line = (newline >= 0 or self.blank_line) and _SPACE.fullmatch(tail) is not None
        self.position = end
        return text

    def skip_space(self) -> str:
        """The next non-space character (not consumed), or '' at the end."""
        while True:
            self.advance(_SPACE.match(self.buffer, self.position).end())
            if self.position < len(self.buffer):
                return self.buffer[self.position]
            if not self.fill():
                return ""

    def item_start(self) -> _ItemStart:
        return _ItemStart(self.line, self.column, self.blank_line)

    def expect(self, char: str) -> None:
        found = self.skip_space()
        if found != char:
            raise json.JSONDecodeError(f"expected '{char}'", self.buffer, self.position)
        self.advance(self.position + 1)

    def value(self) -> tuple[Any, str, int]:
        """Decode the next JSON value: (value, its text, its first line)."""
        self.skip_space()
        start_line = self.line
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buffer, self.position)
            except json.JSONDecodeError:
                if len(self.buffer) - self.position > self.limit:
                    raise _TooLarge(self.buffer[self.position:self.position + RAW_SAMPLE_BYTES],
                                    len(self.buffer) - self.position, consumed=False) from None
                if self.fill():
                    continue
                raise
            if end == len(self.buffer) and isinstance(value, (int, float)) and self.fill():
                continue  # a number may continue in the next chunk
            if end - self.position > self.limit:
                head = self.buffer[self.position:self.position + RAW_SAMPLE_BYTES]
                raise _TooLarge(head, len(self.advance(end)), consumed=True)
            return value, self.advance(end), start_line

    def peek_value(self) -> tuple[Any, int] | None:
        """The value starting at the position and the index after it, without consuming it; None
        when no value starts here."""
        while True:
            try:
                return _DECODER.raw_decode(self.buffer, self.position)
            except json.JSONDecodeError as exc:
                cut = exc.pos >= len(self.buffer) - 1 or exc.msg.startswith("Unterminated string")
                if cut and len(self.buffer) - self.position <= self.limit and self.fill():
                    continue
                return None
            except RecursionError:
                return None

    def after(self, end: int) -> str:
        """The first non-space character after index `end` (not consumed), or '' at the end."""
        while True:
            found = _SPACE.match(self.buffer, end).end()
            if found < len(self.buffer):
                return self.buffer[found]
            before = self.position
            if not self.fill():
                return ""
            end -= before


def _readable(text: str) -> str:
    """Text with bytes that were not UTF-8 shown as replacement characters, fit to store."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _problem(cursor: _TextCursor, exc: Exception) -> str:
    """What is wrong with an item that starts at the cursor, and where in the file."""
    if isinstance(exc, json.JSONDecodeError):
        offset = min(max(exc.pos, cursor.position), len(cursor.buffer))
        before = cursor.buffer[cursor.position:offset]
        line = cursor.line + before.count("\n")
        column = (len(before) - before.rfind("\n") if "\n" in before else cursor.column + len(before) + 1)
        return (f"JSON syntax error in the item starting on this line "
                f"({exc.msg.removesuffix(' at')} at line {line} column {column})")
    if isinstance(exc, RecursionError):
        return f"the item starting on this line is {NESTED_TOO_DEEP}"
    return (f"the item starting on this line is longer than the {describe_size(cursor.limit)} an item may be "
            f"(set ${MAX_LINE_ENV} higher to read it)")


def _json_rows(binary: IO[bytes], limit: int) -> Iterator[Row]:
    """A JSON file: lists of items, objects (holding a list of items, or items themselves), one after another."""
    cursor = _TextCursor(binary, limit)
    while (char := cursor.skip_space()) != "":
        start = cursor.item_start()
        try:
            if char == "[":
                yield from _array_items(cursor)
            elif char == "{":
                yield from _one_object(cursor)
            else:
                raise json.JSONDecodeError("a JSON log holds lists ('[') or objects ('{')", cursor.buffer,
                                           cursor.position)
        except _UNREADABLE as exc:
            row, resumed = _skip_bad_item(cursor, start, _problem(cursor, exc), None, top_level=True)
            yield row
            if not resumed:
                return


def _array_items(cursor: _TextCursor) -> Generator[Row, None, bool]:
    """The items of a list, each a Row; a broken item is one bad Row and reading goes on at the next item.

    Returns whether the list was closed: when the file ends inside it, that has been reported."""
    cursor.expect("[")
    previous: Any = None
    while True:
        char = cursor.skip_space()
        if char == "]":
            cursor.advance(cursor.position + 1)
            return True
        if char == "":
            yield Row(cursor.line, "", error="JSON syntax error (the file ends before the list is closed with "
                                             "']'); it may have been cut short")
            return False
        if char == ",":  # an empty slot (",,") or a trailing comma: nothing is lost by passing over it
            cursor.advance(cursor.position + 1)
            continue
        start = cursor.item_start()
        try:
            value, text, line = cursor.value()
        except _TooLarge as exc:
            if exc.consumed:
                yield oversize_row(start.line, exc.head.encode("utf-8", "surrogateescape"), exc.size, cursor.limit)
                _skip_separator(cursor)
                continue
            row, resumed = _skip_bad_item(cursor, start, _problem(cursor, exc), previous)
        except (json.JSONDecodeError, RecursionError) as exc:
            row, resumed = _skip_bad_item(cursor, start, _problem(cursor, exc), previous)
        else:
            previous = value
            yield _item_row(line, text, value)
            _skip_separator(cursor)
            continue
        yield row
        if not resumed:
            return False


def _skip_separator(cursor: _TextCursor) -> None:
    """Step over the ',' after an item; a missing one is let pass (nothing is lost), ']' is left for the loop."""
    if cursor.skip_space() == ",":
        cursor.advance(cursor.position + 1)


def _item_row(line: int, text: str, value: Any) -> Row:
    """A decoded item as a Row; one with bytes that were not UTF-8 is a bad Row, as a JSONL line would be."""
    if _NOT_UTF8.search(text):
        return Row(line, _readable(text), error="item is not valid UTF-8 text")
    return Row(line, text, value)


_OWN_LINE = re.compile(r"\n([ \t]*)(\S)")
_AFTER_COMMA = re.compile(r",\s*([\[{])")


def _skip_bad_item(cursor: _TextCursor, start: _ItemStart, problem: str, previous: Any,
                   top_level: bool = False) -> tuple[Row, bool]:
    """Quarantine a broken item and move the cursor to the next item; False when none follows.

    Why a search: an item cut short (a writer that crashed and restarted, a failed copy) leaves the
    parser not knowing whether it is inside a string, so it cannot simply carry on. Items laid out
    one per line, or pretty-printed, start at the broken item's column: the next line starting there
    with '{' or '[' is the next item, and a ']' to its left closes the list. In a list written on one
    line the candidates are values after a comma, and one counts as the next item only when it is of
    the same kind as the item before the broken one (an object with mostly the same keys), so that
    the messages or tool calls nested in the broken item are not taken for items.
    """
    kept: list[str] = []
    scan = cursor.position + 1
    while True:
        found = _candidate(cursor, start, scan, previous, top_level)
        if found is None:
            boundary = max(scan, len(cursor.buffer) - _TAIL)
            _keep(kept, cursor.advance(boundary))
            if not cursor.fill():
                _keep(kept, cursor.advance(len(cursor.buffer)))
                return _bad_item_row(start, kept, problem, "no item could be found after it"), False
            scan = cursor.position
            continue
        where, closes = found
        _keep(kept, cursor.advance(where))
        if closes:
            return _bad_item_row(start, kept, problem, "the list closes after it"), True
        if _accepted(cursor, start, previous, top_level):
            return _bad_item_row(start, kept, problem, "reading went on at the next item"), True
        scan = cursor.position + 1


def _candidate(cursor: _TextCursor, start: _ItemStart, scan: int, previous: Any,
               top_level: bool) -> tuple[int, bool] | None:
    """The next place in the buffer where an item might start (or, with True, where the list closes)."""
    buffer = cursor.buffer
    if not (start.own_line or top_level):
        opener = "[" if isinstance(previous, list) else "{"
        while match := _AFTER_COMMA.search(buffer, scan):
            if match.group(1) == opener:
                return match.start(1), False
            scan = match.end()
        return None
    column = 0 if top_level else start.column
    while match := _OWN_LINE.search(buffer, scan):
        indent, char = len(match.group(1)), match.group(2)
        if char == "]" and indent <= column and not top_level:
            return match.start(2), True
        if indent == column and char in "{[":
            return match.start(2), False
        scan = match.start(2)
    return None


def _accepted(cursor: _TextCursor, start: _ItemStart, previous: Any, top_level: bool) -> bool:
    """Whether the value at the cursor is the next item (see `_skip_bad_item`)."""
    peeked = cursor.peek_value()
    if peeked is None:
        return False
    if start.own_line or top_level:
        return True
    value, end = peeked
    return _alike(previous, value) and cursor.after(end) in (",", "]", "")


def _alike(previous: Any, value: Any) -> bool:
    """Same kind of value as the item before; for objects, at least half their keys in common."""
    if previous is None:
        return isinstance(value, (dict, list))
    if type(previous) is not type(value):
        return False
    if not isinstance(value, dict):
        return True
    keys, before = set(value), set(previous)
    return len(keys & before) * 2 >= len(keys | before)


def _keep(kept: list[str], text: str) -> None:
    """Collect a broken item's text for quarantine, up to RAW_SAMPLE_BYTES characters."""
    room = RAW_SAMPLE_BYTES - sum(map(len, kept))
    if room > 0:
        kept.append(text[:room])


def _bad_item_row(start: _ItemStart, kept: list[str], problem: str, outcome: str) -> Row:
    """The Row for a broken item: its text (up to the next item), what is wrong, and where reading went on."""
    text = "".join(kept).rstrip().rstrip(",").rstrip()
    return Row(start.line, _readable(text), error=f"{problem}; {outcome}")


# Keys under which exports hold their list of items; such a list is streamed item by item.
CONTAINER_KEYS = {
    "data", "items", "records", "results", "rows", "logs", "spans", "resourceSpans", "observations",
    "scores", "runs", "traces", "examples", "calls", "generations",
}


def _one_object(cursor: _TextCursor) -> Iterator[Row]:
    """One top-level object: the items of its list under a container key, or itself as one item."""
    start_line = cursor.line
    cursor.expect("{")
    kept: dict[str, Any] = {}
    streamed = False
    if cursor.skip_space() == "}":
        cursor.advance(cursor.position + 1)
        yield Row(start_line, "{}", {})
        return
    while True:
        key, _, _ = cursor.value()
        if not isinstance(key, str):
            raise json.JSONDecodeError("expected a key", cursor.buffer, cursor.position)
        cursor.expect(":")
        if key in CONTAINER_KEYS and cursor.skip_space() == "[":
            streamed = True
            if not (yield from _array_items(cursor)):
                return  # the file ends inside the list, which said so
        else:
            kept[key] = cursor.value()[0]
        following = cursor.skip_space()
        if following not in ("}", ","):
            raise json.JSONDecodeError("expected ',' or '}' in an object", cursor.buffer, cursor.position)
        cursor.advance(cursor.position + 1)
        if following == "}":
            break
    if not streamed:
        yield Row(start_line, json.dumps(kept, ensure_ascii=False), kept)


# --- CSV ---------------------------------------------------------------------------------------

_DELIMITERS = (",", ";", "\t", "|")
_SNIFF_CHARS = 64 << 10
_SNIFF_ROWS = 50


def sniff_delimiter(sample: str, default: str) -> str:
    """The delimiter the table's first rows agree on; `default` wins a tie.

    Why: a `.csv` is often written with ';' (spreadsheets in much of Europe) or tabs, and read with
    ',' it is a single column that no mapping fits. A delimiter fits when the header has at least two
    columns and the rows under it have as many; the share of rows that agree decides.
    """
    def fit(delimiter: str) -> tuple[float, bool, int]:
        rows = list(_sample_rows(sample, delimiter))
        if not rows or len(rows[0]) < 2:
            return 0.0, delimiter == default, 0
        body = [row for row in rows[1:] if any(field.strip() for field in row)]
        agreeing = sum(len(row) == len(rows[0]) for row in body) / len(body) if body else 1.0
        return agreeing, delimiter == default, len(rows[0])

    return max(_DELIMITERS, key=fit)


def _sample_rows(sample: str, delimiter: str) -> Iterator[list[str]]:
    """The sample's complete rows (a last row the sample cuts is left out)."""
    complete = sample if sample.endswith(("\n", "\r")) or len(sample) < _SNIFF_CHARS else \
        sample[:max(sample.rfind("\n"), 0)]
    try:
        yield from (row for _, row in zip(range(_SNIFF_ROWS), csv.reader(io.StringIO(complete, newline=""),
                                                                         delimiter=delimiter)))
    except csv.Error:
        return


def _csv_rows(binary: IO[bytes], default_delimiter: str, limit: int) -> Iterator[Row]:
    """CSV/TSV rows as dicts keyed by the header; a row that is not UTF-8 is reported, not dropped.

    The delimiter is sniffed (see `sniff_delimiter`); a copy of the header further down (two files
    joined end to end) is passed over, not read as a call; a row over the line limit is reported
    and read past (see `_RecordLines`).
    """
    csv.field_size_limit(sys.maxsize)  # the limit is kept by _RecordLines, which can also read past
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")
    sample = text.read(_SNIFF_CHARS)
    delimiter = sniff_delimiter(sample, default_delimiter)
    head = io.StringIO(sample + text.readline(limit + 1), newline="")  # the sample, to its line's end
    lines = _RecordLines(lambda: head.readline(limit + 1) or text.readline(limit + 1), limit)
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return
    except (csv.Error, _RecordTooLong) as exc:
        raise FileProblem(f"not a readable CSV file: {exc}") from exc
    if not any(name.strip() for name in header):
        raise FileProblem("the CSV file has no header row")
    names = [name.strip() or f"column_{index + 1}" for index, name in enumerate(header)]
    yield from _csv_body(reader, lines, header, names, delimiter)


class _RecordTooLong(Exception):
    """A CSV row longer than the line limit; `size` is how long it was, in characters."""

    def __init__(self, size: int) -> None:
        super().__init__(f"a row of {describe_size(size)}")
        self.size = size


class _RecordLines:
    """The text's lines as csv.reader pulls them, counted, with each row kept within the line limit.

    Why here and not csv's own field limit: after csv gives up on a long quoted field it starts the
    next row on the next line, which may still be inside that field, and its end would be read as a
    row. Here lines are read at most `limit` characters at a time, and a row over the limit is read
    past to the end of the line where its quotes close (CSV doubles a quote inside a quoted field, so
    an odd count means the field is still open), then reported.
    """

    def __init__(self, read: Callable[[], str], limit: int) -> None:
        self._read = read
        self.limit = limit
        self.count = 0  # whole lines read
        self._size = 0  # of the row being read
        self._quotes = 0
        self._ended = True  # the last piece read ended its line

    def __iter__(self) -> "_RecordLines":
        return self

    def __next__(self) -> str:
        line = self._read()
        if not line:
            raise StopIteration
        self._take(line)
        if self._size > self.limit:
            while (self._quotes % 2 or not self._ended) and (rest := self._read()):
                self._take(rest)
            raise _RecordTooLong(self._size)
        return line

    def _take(self, piece: str) -> None:
        """Count a piece read: whole lines, and the row's size and quotes."""
        self._ended = piece.endswith(("\n", "\r"))
        self.count += 1 if self._ended else 0
        self._size += len(piece)
        self._quotes += piece.count('"')

    def row_done(self) -> None:
        """A row ended (read, or reported): the next starts from nothing."""
        self._size = self._quotes = 0


def _csv_body(reader: Any, lines: _RecordLines, header: list[str], names: list[str],
              delimiter: str) -> Iterator[Row]:
    """The rows under the header, each numbered by the line it starts on."""
    repeated_header = [name.strip() for name in header]
    lines.row_done()
    while True:
        start = lines.count + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except _RecordTooLong as exc:
            lines.row_done()
            yield Row(start, "", error=f"row is {describe_size(exc.size)}, longer than the "
                                       f"{describe_size(lines.limit)} a line may be (set ${MAX_LINE_ENV} higher to read it)")
            continue
        except csv.Error as exc:
            lines.row_done()
            yield Row(start, "", error=f"CSV syntax error ({exc})")
            continue
        lines.row_done()
        if fields:
            fields[0] = fields[0].lstrip("\ufeff")
        if not fields or all(not field.strip() for field in fields):
            continue
        if [field.strip() for field in fields] == repeated_header:
            continue
        yield _csv_row(start, fields, names, delimiter)


def _csv_row(start: int, fields: list[str], names: list[str], delimiter: str) -> Row:
    raw = delimiter.join(fields)
    if any(_has_surrogates(field) for field in fields):
        return Row(start, raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace"),
                   error="line is not valid UTF-8 text")
    if len(fields) != len(names):
        return Row(start, raw, error=f"{len(fields)} fields but the header names {len(names)}: "
                                     f"a broken row, or one written with another delimiter than {delimiter!r}")
    value = dict(zip(names, fields))
    return Row(start, json.dumps(value, ensure_ascii=False), value)


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True
