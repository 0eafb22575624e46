"""Vectorised ingest of OpenAI-shape JSONL: DuckDB parses and maps the lines, Python only splits them.

Why: parsing each line in Python (json.loads, `OpenAIChatShape.parse`, a dict per row) runs at about
12,000 rows/s, far too slow for production logs of millions of calls. Here Python cuts the file into
lines with numpy over large byte blocks (no Python work per line), hands each block to DuckDB as
one Arrow string column, and DuckDB's JSON functions extract and rebuild every column in SQL.

`OpenAIChatShape` stays the reference. SQL maps a line only when it can prove the result is the one
the reference gives: the line is a plain JSON object with the usual keys and types (the `eligible`
column of `_PARSE` says which).
Every other line (content given as parts, the Responses API, unusual types, invalid JSON or UTF-8,
no id, values out of range, nesting deeper than Python reads, lines over SQL_LINE_BYTES, which DuckDB's
JSON functions would need ten times over in memory...) goes through the reference parser, so
quarantine reasons and records are the same either way. Lines are cut as the row reader cuts them,
byte-order marks and the line limit included. JSON columns are written in Python's `json.dumps`
layout; values SQL cannot lay out exactly (nested objects such as tool schemas) are converted by
Python once per distinct value.

Each block's records go to mining.ingest.commit, as the reference path's batches do, inside the
caller's transaction, so Python's memory stays flat (DuckDB's is capped by the workspace's memory
limit, see store.py) and duplicates are settled the same way: the first call under an id wins, the
same call again is already present, a different one is quarantined.
"""

from __future__ import annotations

import gzip
import json
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Iterator

import numpy as np
import pyarrow as pa

from mining.ingest.commit import commit_records
from mining.ingest.containers import (BOM, RAW_SAMPLE_BYTES, FileProblem, Row, RowReader, jsonl_row, max_line_bytes,
                                      oversize_row, truncation_row)
from mining.ingest.record import RECORD_COLUMNS, THUMB_SCORES
from mining.ingest.rows import BATCH_SCHEMA, FileRun, row_outcomes

if TYPE_CHECKING:
    from mining.ingest.shapes import Shape

BLOCK_BYTES = 64 << 20  # large blocks: each costs one planning of the SQL below (~30 ms)
SCAN_BATCH_ROWS = 8192  # Arrow batch size: DuckDB hands batches to its threads, so a block uses all cores
LAYOUT_CACHE = 100_000  # distinct compact JSON values whose Python layout is remembered
SQL_LINE_BYTES = 1 << 20  # longer lines go to the reference: DuckDB's JSON functions need ~10x a line's size
VIEW_BYTES = (1 << 31) - 1  # a string view's offset is an int32: a longer block (a line of gigabytes in it) is split in Python
_WHITESPACE = np.zeros(256, dtype=bool)
_WHITESPACE[list(b" \t\n\r\x0b\x0c")] = True  # what bytes.strip() removes


ENABLED = True  # tests turn it off to run the reference path on the same files


def applies(shape: "Shape", reader: RowReader) -> bool:
    """The fast path reads JSONL (plain or gzip) in the OpenAI shape; everything else stays as it was."""
    return ENABLED and shape.name == "openai" and reader.container == "jsonl"


# --- lines out of bytes ------------------------------------------------------------------------

@dataclass
class LineBlock:
    """The non-blank lines of one block of the file, stripped as the row reader strips them."""

    table: pa.Table  # line (int64), raw (string): the lines SQL reads
    reference: list[tuple[int, bytes]] = field(default_factory=list)  # not UTF-8, or long: for the reference
    problems: list[Row] = field(default_factory=list)  # lines over the line limit, reported unread

    @property
    def rows(self) -> int:
        return self.table.num_rows + len(self.reference) + len(self.problems)

    @property
    def last_line(self) -> int | None:
        """The number of the block's last non-blank line."""
        numbers = [self.table["line"][-1].as_py()] if self.table.num_rows else []
        numbers += [number for number, _ in self.reference[-1:]] + [row.line for row in self.problems[-1:]]
        return max(numbers, default=None)


def line_blocks(binary: IO[bytes], block_bytes: int = BLOCK_BYTES, limit: int | None = None) -> Iterator[LineBlock]:
    """Blocks of whole lines, numbered like the row reader numbers them (blank lines count).

    A line longer than `limit` (the row reader's `max_line_bytes()`) comes out as a problem row, read
    past without being held, as the row reader does.
    """
    limit = limit or max_line_bytes()
    carry = b""
    first = 1
    while True:
        chunk = binary.read(block_bytes)
        if not chunk:
            if carry:
                yield _block(carry, first, limit)[0]
            return
        cut = chunk.rfind(b"\n") + 1
        if cut == 0:  # no line ends in this chunk: keep reading until one does
            carry += chunk
            if len(carry) > limit:
                problem, carry = _skip_long_line(binary, carry, first, block_bytes, limit)
                first += 1
                yield LineBlock(_batched({"line": pa.array([], pa.int64()), "raw": pa.array([], pa.string())}),
                                problems=[problem])
            continue
        segment = chunk if cut == len(chunk) and not carry else b"".join((carry, memoryview(chunk)[:cut]))
        carry = chunk[cut:]
        block, lines = _block(segment, first, limit)
        first += lines
        yield block


def _skip_long_line(binary: IO[bytes], head: bytes, number: int, block_bytes: int, limit: int) -> tuple[Row, bytes]:
    """Read past a line over the limit: its problem row, and the bytes after it."""
    size = len(head)
    while chunk := binary.read(block_bytes):
        end = chunk.find(b"\n")
        if end >= 0:
            return oversize_row(number, head, size + end, limit), chunk[end + 1:]
        size += len(chunk)
    return oversize_row(number, head, size, limit), b""


def _block(segment: bytes, first: int, limit: int) -> tuple[LineBlock, int]:
    """The block's lines and how many lines (blank ones included) the segment holds."""
    raw = np.frombuffer(segment, dtype=np.uint8)
    ends = np.flatnonzero(raw == 10)
    if segment[-1:] != b"\n":
        ends = np.append(ends, len(raw))
    starts = np.empty_like(ends)
    starts[:1] = 0
    starts[1:] = ends[:-1] + 1
    count = len(ends)
    numbers = np.arange(first, first + count, dtype=np.int64)
    sizes = ends - starts
    problems = [oversize_row(int(numbers[index]), segment[starts[index]:starts[index] + RAW_SAMPLE_BYTES],
                             int(sizes[index]), limit) for index in np.flatnonzero(sizes > limit)]
    _strip(raw, starts, ends)
    marked = _with_bom(raw, starts, ends)
    if marked.size:  # a byte-order mark opens the line: strip it, then the spaces after it
        starts[marked] += len(BOM)
        _strip(raw, starts, ends)
    kept = (ends > starts) & (sizes <= limit)
    if not kept.all():
        starts, ends, numbers = starts[kept], ends[kept], numbers[kept]
    long = ends - starts > SQL_LINE_BYTES
    reference = [(int(numbers[index]), segment[starts[index]:ends[index]]) for index in np.flatnonzero(long)]
    if reference:
        starts, ends, numbers = starts[~long], ends[~long], numbers[~long]
    block = _view_block(segment, raw, starts, ends, numbers)
    if block is None:
        block = _block_by_line(segment, starts, ends, numbers)
    block.reference = sorted(block.reference + reference)
    block.problems = problems
    return block, count


def _view_block(segment: bytes, raw: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                numbers: np.ndarray) -> LineBlock | None:
    """The lines as string views, or None where they cannot be: some line is not UTF-8 (rare), or the
    block is longer than a view's int32 offset reaches (a line of gigabytes in it)."""
    if len(segment) > VIEW_BYTES:
        return None
    strings = _views(segment, raw, starts, ends)
    try:
        strings.validate(full=True)
    except pa.ArrowInvalid:
        return None
    return LineBlock(_batched({"line": pa.array(numbers), "raw": strings}))


def _with_bom(raw: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The lines whose first bytes are a UTF-8 byte-order mark (see containers.strip_line)."""
    open_lines = np.flatnonzero(ends - starts >= len(BOM))
    heads = starts[open_lines]
    marked = np.ones(len(open_lines), dtype=bool)
    for offset, byte in enumerate(BOM):
        marked &= raw[heads + offset] == byte
    return open_lines[marked]


def _strip(raw: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> None:
    """Move line bounds past ASCII whitespace, in place.

    One vectorised step per whitespace byte: a CRLF file takes two passes, a clean file one.
    """
    while (spaced := _spaced(raw, starts, ends, ends - 1)).size:
        ends[spaced] -= 1
    while (spaced := _spaced(raw, starts, ends, starts)).size:
        starts[spaced] += 1


def _spaced(raw: np.ndarray, starts: np.ndarray, ends: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The non-empty lines whose byte at `edges` is whitespace."""
    open_lines = np.flatnonzero(ends > starts)
    return open_lines[_WHITESPACE[raw[edges[open_lines]]]]


def _views(segment: bytes, raw: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> pa.Array:
    """The lines as an Arrow string view array over the segment itself: no byte of it is copied.

    Why views: a plain string array needs its strings back to back, which costs a copy of the whole
    block (newlines, stripped spaces and skipped lines taken out), about a fifth of the time spent
    cutting. A view is 16 bytes: the length, then the string itself when it fits in 12 bytes, else
    its first 4 bytes, a buffer index (0) and its offset in the segment (Arrow's layout, little-endian).
    """
    lengths = (ends - starts).astype(np.int32)
    views = np.zeros((len(lengths), 4), dtype=np.int32)
    views[:, 0] = lengths
    views[:, 3] = starts
    view_bytes = views.view(np.uint8)
    last = len(raw) - 1  # a short line at the very end has fewer than 12 bytes after its start
    view_bytes[:, 4:8] = raw[np.minimum(starts[:, None] + np.arange(4), last)]
    short = np.flatnonzero(lengths <= 12)
    if short.size:  # inlined: the bytes past the string's end are zero, offsets too
        head = raw[np.minimum(starts[short, None] + np.arange(12), last)]
        view_bytes[short, 4:16] = np.where(np.arange(12) < lengths[short, None], head, 0)
    return pa.Array.from_buffers(pa.string_view(), len(lengths), [None, pa.py_buffer(views), pa.py_buffer(segment)])


def _block_by_line(segment: bytes, starts: np.ndarray, ends: np.ndarray, numbers: np.ndarray) -> LineBlock:
    """The slow split, for a block views cannot hold: non-UTF-8 lines go to the reference to be quarantined."""
    good_lines, good_texts, bad = [], [], []
    for start, end, number in zip(starts.tolist(), ends.tolist(), numbers.tolist()):
        line = segment[start:end]
        try:
            good_texts.append(line.decode("utf-8"))
            good_lines.append(number)
        except UnicodeDecodeError:
            bad.append((number, line))
    table = _batched({"line": pa.array(good_lines, pa.int64()), "raw": pa.array(good_texts, pa.string())})
    return LineBlock(table, bad)


def _batched(columns: dict[str, pa.Array]) -> pa.Table:
    """A table in record batches of a few thousand rows: DuckDB scans one batch per thread at a time."""
    table = pa.table(columns)
    return pa.Table.from_batches(table.to_batches(max_chunksize=SCAN_BATCH_ROWS), table.schema)


# --- SQL ---------------------------------------------------------------------------------------
# Each line is parsed by DuckDB three times: json_valid, json_keys (for key checks) and one from_json
# that returns every field the mapping needs as compact JSON text. A value's JSON type is read from
# its first character ('"' string, '{' object, '[' array, 'n'... null is SQL NULL).

_J = "JSON"
# Parameters of OpenAI's chat API; a request with others has its params laid out by Python.
_PARAMS = ["temperature", "top_p", "max_tokens", "max_completion_tokens", "n", "stop", "seed", "stream",
           "stream_options", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs",
           "response_format", "tool_choice", "parallel_tool_calls", "user", "store", "metadata",
           "reasoning_effort", "service_tier", "modalities", "prediction", "audio", "verbosity",
           "web_search_options"]
_NOT_PARAMS = ["messages", "input", "tools", "model", "instructions"]  # as in shapes/openai.py
# Top-level keys the SQL mapping knows; a line with any other key goes to the reference parser.
_TOP_KEYS = ["id", "timestamp", "user", "metadata", "request", "response", "latency_ms", "error", "feedback"]
_LINE_SPEC = {
    **{key: _J for key in _TOP_KEYS if key not in ("request", "response")},
    "request": {"model": _J, "tools": _J, "messages": _J, **{key: _J for key in _PARAMS}},
    "response": {"id": _J, "model": _J, "created": _J, "usage": _J,
                 "choices": [{"finish_reason": _J, "message": {"role": _J, "content": _J, "tool_calls": _J}}]},
}
_MESSAGE_SPEC = {"role": _J, "content": _J, "tool_call_id": _J, "name": _J, "type": _J, "tool_calls": _J}
_CALL_SPEC = {"id": _J, "function": _J}
_FUNCTION_SPEC = {"name": _J, "arguments": _J}
_META_SPEC = {"user_id": _J, "session_id": _J, "conversation_id": _J, "trace_id": _J, "user_feedback": _J}
_USAGE_SPEC = {key: _J for key in ["prompt_tokens", "input_tokens", "completion_tokens", "output_tokens", "total_tokens"]}
_FEEDBACK_SPEC = {"thumbs": _J, "rating": _J, "comment": _J}
_KEY_PATHS = ["$", "$.request", "$.response", "$.response.choices[0]", "$.response.choices[0].message",
              "$.response.usage", "$.metadata", "$.feedback"]


def _spec(spec: dict[str, Any]) -> str:
    return "'" + json.dumps(spec) + "'"


def _quoted(values: list[str]) -> str:
    return ", ".join("'" + value.replace("'", "''") + "'" for value in values)


def _k(path: str) -> str:
    return f"k[{_KEY_PATHS.index(path) + 1}]"


# Python's json.dumps layout from DuckDB's compact JSON: a space after each ':' and ',' outside
# strings. Exact only for values without nested containers (duplicate keys are checked one level
# deep) and without numbers that DuckDB and Python print differently; otherwise NULL.
_SPACING = r'((?:"(?:[^"\\]|\\.)*"|[^",:])*)([,:]|$)'
_FLAT = r'[\[{]?(?:"(?:[^"\\]|\\.)*"|[^"\[{])*'
_ODD_NUMBER = r'(^|[:,\[])-?(\d+(\.\d+)?[eE]|0\.0000|\d{17,}\.)'
# A bare NaN or infinity: DuckDB reads nan, inf and infinity in any letter case, Python only NaN,
# Infinity and -Infinity, so a line holding any of them is left to the reference (which refuses the others).
_NON_FINITE = r'-?(?i:nan|inf|infinity)\s*[,\]}]'
# Lines whose JSON DuckDB reads differently from Python: non-finite numbers, trailing commas, and control
# characters escaped as \u00XX (DuckDB writes their hex digits in upper case). One regex per case, each
# opening with a literal character: RE2 skips ahead to that character, where one alternation opening
# with a character class reads every byte (about 2.5x slower over a whole line).
_LINE_GUARD = " OR ".join([
    f"regexp_matches(raw, ':\\s*{_NON_FINITE}')",
    f"regexp_matches(raw, ',\\s*(?:[\\]}}]|{_NON_FINITE})')",
    f"regexp_matches(raw, '\\[\\s*{_NON_FINITE}')",
    "(contains(raw, '\\u00') AND regexp_matches(raw, '\\\\u00[01][0-9a-fA-F]'))",
])
# Tool-call arguments (JSON in a string) that Python's json.loads and DuckDB judge differently.
_ARGUMENT_GUARD = r'(?i:(^|[:,\[])\s*-?(nan|inf|infinity)\s*($|[,\]}]))|,\s*[\]}]|\\u[dD][89a-fA-F]|\x{FEFF}'
_STRING = r'"(?:[^"\\]|\\.)*"'
_SIMPLE_MESSAGE = r'\{"role":' + _STRING + r',"content":(?:' + _STRING + r'|null)\}'
# A messages list of plain {"role", "content"} objects, the usual case, is laid out with three
# replacements instead of a parse per message: each pattern holds an unescaped quote, so it cannot
# occur inside a string.
_SIMPLE_MESSAGES = r'\[(?:' + _SIMPLE_MESSAGE + r'(?:,' + _SIMPLE_MESSAGE + r')*)?\]'
_ISO_TIME = r'\d{4}-\d{2}-\d{2}[T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?'

# fp_distinct: no key given twice (each key's first position is its own). About 3.5x cheaper than
# comparing with list_distinct, which builds a hash table per list; it runs on ~10 key lists a line.
_MACROS = f"""
CREATE OR REPLACE TEMP MACRO fp_text(c) AS (CASE WHEN left(c, 1) = '"' THEN json_extract_string(c, '$') END);
CREATE OR REPLACE TEMP MACRO fp_opt_str(c) AS (c IS NULL OR left(c, 1) = '"');
CREATE OR REPLACE TEMP MACRO fp_int(c) AS regexp_full_match(c, '-?\\d+');
CREATE OR REPLACE TEMP MACRO fp_distinct(keys) AS (
    len(keys) = 0 OR list_bool_and(list_transform(keys, lambda key, i: list_position(keys, key) = i)));
CREATE OR REPLACE TEMP MACRO fp_py(c) AS (
    CASE WHEN regexp_full_match(c, '{_FLAT}') AND NOT regexp_matches(c, '{_ODD_NUMBER}')
              AND (left(c, 1) <> '{{' OR fp_distinct(json_keys(c)))
         THEN rtrim(regexp_replace(c, '{_SPACING}', '\\1\\2 ', 'g')) END);
CREATE OR REPLACE TEMP MACRO fp_value(c) AS (
    CASE WHEN left(c, 1) IN ('{{', '[') THEN fp_py(c) WHEN NOT regexp_matches(c, '{_ODD_NUMBER}') THEN c END);
CREATE OR REPLACE TEMP MACRO fp_arguments(c) AS (
    CASE WHEN c IS NULL THEN 'null'
         WHEN left(c, 1) <> '"' THEN fp_py(c)
         WHEN regexp_matches(fp_text(c), '{_ARGUMENT_GUARD}') THEN NULL
         WHEN json_valid(fp_text(c)) THEN fp_py(json(fp_text(c))::VARCHAR)
         ELSE c::VARCHAR END);
CREATE OR REPLACE TEMP MACRO fp_call(x) AS {{
    'ok': left(x.c, 1) = '{{' AND fp_distinct(x.k) AND fp_opt_str(x.f.id)
          AND (x.f.function IS NULL OR (left(x.f.function, 1) = '{{' AND fp_distinct(x.fk) AND fp_opt_str(x.fn.name))),
    'json': '{{"id": ' || coalesce(x.f.id, 'null') || ', "name": ' || coalesce(x.fn.name, 'null')
            || ', "arguments": ' || fp_arguments(x.fn.arguments) || '}}'}};
CREATE OR REPLACE TEMP MACRO fp_calls(tc) AS (
    CASE WHEN left(tc, 1) = '[' THEN list_transform(list_transform(list_transform(from_json(tc, '["JSON"]'),
        lambda c: {{'c': c, 'f': from_json(c, {_spec(_CALL_SPEC)}), 'k': json_keys(c)}}),
        lambda x: {{'c': x.c, 'f': x.f, 'k': x.k,
                   'fn': CASE WHEN left(x.f.function, 1) = '{{' THEN from_json(x.f.function, {_spec(_FUNCTION_SPEC)}) END,
                   'fk': CASE WHEN left(x.f.function, 1) = '{{' THEN json_keys(x.f.function) END}}),
        lambda x: fp_call(x)) END);
CREATE OR REPLACE TEMP MACRO fp_calls_ok(tc, calls) AS (
    tc IS NULL OR (left(tc, 1) = '[' AND coalesce(list_bool_and(list_transform(calls,
        lambda c: c.ok AND c.json IS NOT NULL)), true)));
CREATE OR REPLACE TEMP MACRO fp_calls_json(calls) AS (
    CASE WHEN len(calls) > 0 THEN '[' || array_to_string(list_transform(calls, lambda c: c.json), ', ') || ']' END);
CREATE OR REPLACE TEMP MACRO fp_message(x) AS {{
    'ok': left(x.m, 1) = '{{' AND fp_distinct(x.k) AND left(x.f.role, 1) = '"' AND fp_opt_str(x.f.content)
          AND fp_opt_str(x.f.tool_call_id) AND fp_opt_str(x.f.name) AND fp_calls_ok(x.f.tool_calls, x.calls)
          AND coalesce(fp_text(x.f.type) NOT IN ('function_call_output', 'function_call'), true),
    'json': '{{"role": ' || x.f.role || ', "content": ' || coalesce(x.f.content, 'null')
            || coalesce(', "tool_calls": ' || fp_calls_json(x.calls), '')
            || coalesce(', "tool_call_id": ' || x.f.tool_call_id, '') || coalesce(', "name": ' || x.f.name, '') || '}}',
    'user_text': CASE WHEN x.f.role = '"user"' AND left(x.f.content, 1) = '"' AND x.f.content <> '""'
                      THEN fp_text(x.f.content) END}};
CREATE OR REPLACE TEMP MACRO fp_messages(ms) AS list_transform(list_transform(list_transform(ms,
    lambda m: {{'m': m, 'f': from_json(m, {_spec(_MESSAGE_SPEC)}), 'k': json_keys(m)}}),
    lambda x: {{'m': x.m, 'f': x.f, 'k': x.k, 'calls': fp_calls(x.f.tool_calls)}}),
    lambda x: fp_message(x));
"""

_THUMB_UP = [key for key, score in THUMB_SCORES.items() if score == 1.0]
# The request's params in declared order: names present, and each laid out ("name": value).
_PRESENT_PARAMS = ", ".join(f"CASE WHEN s.request.\"{key}\" IS NOT NULL THEN '{key}' END" for key in _PARAMS)
_PARAM_ITEMS = ", ".join(f"'\"{key}\": ' || fp_value(s.request.\"{key}\"::VARCHAR)" for key in _PARAMS)

# One pass over a block: every record column, the compact JSON Python must lay out where SQL
# cannot, and whether the line is one SQL maps exactly (`eligible`).
_PARSE = f"""
CREATE OR REPLACE TEMP TABLE fp_parsed AS
WITH lines AS (
    SELECT line, raw, json_valid(raw) AND left(raw, 1) = '{{' AND NOT ({_LINE_GUARD}) AS readable
    FROM fp_block
), top AS (
    SELECT line, raw,
        CASE WHEN readable THEN json_keys(raw, [{_quoted(_KEY_PATHS)}]) END AS k,
        CASE WHEN readable THEN from_json(raw, {_spec(_LINE_SPEC)}) END AS s
    FROM lines
), facts AS (
    SELECT line, raw, k, s,
        s.request.messages::VARCHAR AS messages_c,
        regexp_full_match(s.request.messages::VARCHAR, '{_SIMPLE_MESSAGES}') AS simple,
        s.response.choices[1] AS choice,
        fp_calls(s.response.choices[1].message.tool_calls) AS reply_calls,
        CASE WHEN {_k('$.response')} IS NULL THEN NULL
             WHEN len({_k('$.response')}) > 0 THEN 'OBJECT' ELSE json_type(raw, '$.response') END AS response_kind,
        CASE WHEN left(s.metadata, 1) = '{{' THEN from_json(s.metadata, {_spec(_META_SPEC)}) END AS meta,
        CASE WHEN left(s.response.usage, 1) = '{{' THEN from_json(s.response.usage, {_spec(_USAGE_SPEC)}) END AS usage,
        CASE WHEN left(s.feedback, 1) = '{{' THEN from_json(s.feedback, {_spec(_FEEDBACK_SPEC)}) END AS fb,
        list_filter({_k('$.request')}, lambda key: key NOT IN ({_quoted(_NOT_PARAMS)})) AS param_keys,
        fp_text(s.id) AS id_s, fp_text(s.timestamp) AS time_s, fp_text(s.response.id) AS response_id_s,
        CASE WHEN fp_int(s.response.created) THEN TRY_CAST(s.response.created AS BIGINT) END AS created,
        CASE WHEN left(s.error, 1) = '"' THEN nullif(fp_text(s.error), '')
             WHEN left(s.error, 1) IN ('{{', '[') AND s.error NOT IN ('{{}}', '[]') THEN s.error::VARCHAR END AS error_any
    FROM top
), fields AS (
    SELECT *,
        CASE WHEN simple THEN from_json(messages_c, '[{{"role": "VARCHAR", "content": "VARCHAR"}}]') END AS plain,
        CASE WHEN NOT simple AND left(messages_c, 1) = '[' THEN fp_messages(from_json(messages_c, '["JSON"]')) END AS messages,
        list_filter([{_PRESENT_PARAMS}], lambda key: key IS NOT NULL) AS declared_keys,
        list_filter([{_PARAM_ITEMS}], lambda item: item IS NOT NULL) AS param_items,
        CASE WHEN left(s.metadata, 1) = '{{' AND fp_distinct({_k('$.metadata')})
             THEN list_transform(map_entries(from_json(s.metadata, '"MAP(VARCHAR, JSON)"')),
                                 lambda e: to_json(e.key) || ': ' || coalesce(fp_value(e.value), CASE WHEN e.value IS NULL THEN 'null' END))
             END AS meta_items,
        CASE WHEN list_contains({_k('$.response.usage')}, 'prompt_tokens') THEN usage.prompt_tokens
             ELSE usage.input_tokens END AS in_c,
        CASE WHEN list_contains({_k('$.response.usage')}, 'completion_tokens') THEN usage.completion_tokens
             ELSE usage.output_tokens END AS out_c,
        list_contains({_k('$.feedback')}, 'thumbs') AS has_thumbs,
        list_contains({_k('$.feedback')}, 'rating') AS has_rating,
        TRY_CAST(fb.rating AS BIGINT) AS rating,
        CASE WHEN left(fb.comment, 1) = '"' AND fb.comment <> '""' THEN fb.comment END AS comment_json,
        coalesce(nullif(id_s, ''), CASE WHEN response_kind = 'OBJECT' THEN nullif(response_id_s, '') END) AS source_id,
        CASE WHEN time_s <> '' THEN TRY_CAST(CASE WHEN regexp_matches(time_s, '(Z|[+-]\\d\\d:\\d\\d)$') THEN time_s
                                                  ELSE time_s || '+00:00' END AS TIMESTAMPTZ)
             WHEN response_kind = 'OBJECT' AND created > 0 THEN to_timestamp(created) END AS ts,
        CASE WHEN left(s.request.tools, 1) IN ('[', '{{') AND s.request.tools NOT IN ('[]', '{{}}')
             THEN s.request.tools::VARCHAR END AS tools_c,
        CASE WHEN left(s.metadata, 1) = '{{' AND s.metadata <> '{{}}' THEN s.metadata::VARCHAR END AS metadata_c,
        CASE WHEN left(s.error, 1) IN ('{{', '[') THEN error_any END AS error_c
    FROM facts
), laid_out AS (
    SELECT *,
        CASE WHEN len(param_keys) > 0 AND declared_keys = param_keys AND len(param_items) = len(param_keys)
             THEN '{{' || array_to_string(param_items, ', ') || '}}' END AS request_params_py,
        CASE WHEN len(meta_items) > 0 AND list_aggregate(meta_items, 'count') = len(meta_items)
             THEN '{{' || array_to_string(meta_items, ', ') || '}}' END AS metadata_py
    FROM fields
)
SELECT line, raw,
    substr(sha256('openai|id:' || source_id), 1, 32) AS record_id, source_id,
    coalesce(nullif(fp_text(meta.session_id), ''), nullif(fp_text(meta.conversation_id), '')) AS session_id,
    nullif(fp_text(meta.trace_id), '') AS trace_id,
    coalesce(nullif(fp_text(s.user), ''), nullif(fp_text(meta.user_id), ''),
             nullif(fp_text(s.request.user), '')) AS user_id,
    ts,
    coalesce(nullif(fp_text(s.request.model), ''),
             CASE WHEN response_kind = 'OBJECT' THEN nullif(fp_text(s.response.model), '') END) AS model,
    CASE WHEN simple THEN replace(replace(replace(messages_c, '[{{"role":', '[{{"role": '),
                                              '}},{{"role":', '}}, {{"role": '), ',"content":', ', "content": ')
         ELSE '[' || array_to_string(list_transform(messages, lambda m: m.json), ', ') || ']' END AS input_messages,
    CASE WHEN simple THEN list_filter(plain, lambda m: m.role = 'user' AND m.content <> '')[-1].content
         ELSE list_filter(list_transform(messages, lambda m: m.user_text), lambda x: x IS NOT NULL)[-1] END AS cluster_text,
    CASE WHEN response_kind = 'VARCHAR' THEN json_extract_string(raw, '$.response')
         WHEN response_kind = 'OBJECT' THEN fp_text(choice.message.content) END AS response_text,
    CASE WHEN response_kind = 'OBJECT' THEN fp_calls_json(reply_calls) END AS tool_calls,
    tools_c, fp_py(tools_c) AS tools_py,
    request_params_py,
    CASE WHEN len(param_keys) > 0 AND request_params_py IS NULL
         THEN json_merge_patch(json_extract(raw, '$.request'),
                               '{{{", ".join(f'"{key}": null' for key in _NOT_PARAMS)}}}')::VARCHAR END AS request_params_c,
    CASE WHEN response_kind = 'OBJECT' THEN nullif(fp_text(choice.finish_reason), '') END AS finish_reason,
    CASE WHEN error_any IS NOT NULL THEN 'error'
         WHEN response_kind IS NOT NULL AND response_kind <> 'NULL' THEN 'ok' END AS status,
    CASE WHEN left(s.error, 1) = '"' THEN error_any END AS error_s, error_c, fp_py(error_c) AS error_py,
    TRY_CAST(s.latency_ms AS DOUBLE) AS latency_ms,
    TRY_CAST(in_c AS BIGINT) AS input_tokens, TRY_CAST(out_c AS BIGINT) AS output_tokens,
    coalesce(TRY_CAST(usage.total_tokens AS BIGINT), TRY_CAST(in_c AS BIGINT) + TRY_CAST(out_c AS BIGINT)) AS total_tokens,
    CASE WHEN has_thumbs THEN CASE WHEN fp_text(fb.thumbs) IN ({_quoted(_THUMB_UP)}) THEN 1.0 ELSE 0.0 END
         WHEN has_rating THEN (rating - 1) / 4 END AS feedback_score,
    fp_text(comment_json) AS feedback_comment,
    '[' || CASE
        WHEN has_thumbs THEN '{{"name": "thumbs", "value": ' || fb.thumbs || ', "score": '
             || CASE WHEN fp_text(fb.thumbs) IN ({_quoted(_THUMB_UP)}) THEN '1.0' ELSE '0.0' END
             || ', "kind": "thumbs", "source": "user", "comment": ' || coalesce(comment_json, 'null') || '}}'
        WHEN has_rating THEN '{{"name": "rating", "value": ' || rating || ', "score": '
             || ['0.0', '0.25', '0.5', '0.75', '1.0'][rating]
             || ', "kind": "rating", "source": "user", "comment": ' || coalesce(comment_json, 'null') || '}}'
        WHEN comment_json IS NOT NULL THEN '{{"name": "comment", "value": ' || comment_json
             || ', "score": null, "kind": "comment", "source": "user", "comment": ' || comment_json || '}}'
        END || ']' AS feedback,
    metadata_c, metadata_py,
    coalesce(
        fp_distinct({_k('$')}) AND list_has_all([{_quoted(_TOP_KEYS)}], {_k('$')})
        -- the request and its messages
        AND fp_distinct({_k('$.request')})
        AND (simple OR (left(messages_c, 1) = '['
                        AND coalesce(list_bool_and(list_transform(messages, lambda m: m.ok AND m.json IS NOT NULL)), true)))
        AND fp_opt_str(s.request.model) AND fp_opt_str(s.request.user)
        AND (s.request.tools IS NULL OR left(s.request.tools, 1) IN ('[', '{{'))
        -- the application's fields
        AND (nullif(id_s, '') IS NOT NULL
             OR (fp_opt_str(s.id) AND response_kind = 'OBJECT' AND response_id_s <> ''))
        AND fp_opt_str(s.user)
        AND CASE WHEN time_s <> '' THEN regexp_full_match(time_s, '{_ISO_TIME}') AND ts IS NOT NULL
                 WHEN fp_opt_str(s.timestamp) THEN response_kind IS DISTINCT FROM 'OBJECT'
                      OR s.response.created IS NULL OR (created >= 0 AND created < 4102444800)
                 ELSE false END
        AND (meta IS NULL
             OR (fp_distinct({_k('$.metadata')}) AND fp_opt_str(meta.user_id) AND fp_opt_str(meta.session_id)
                 AND fp_opt_str(meta.conversation_id) AND fp_opt_str(meta.trace_id) AND meta.user_feedback IS NULL))
        AND (s.latency_ms IS NULL OR (left(s.latency_ms, 1) IN ('-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9')
                                      AND TRY_CAST(s.latency_ms AS DOUBLE) IS NOT NULL))
        AND (s.error IS NULL OR left(s.error, 1) IN ('"', '{{', '['))
        AND (s.feedback IS NULL
             OR (fb IS NOT NULL AND fp_distinct({_k('$.feedback')})
                 AND list_has_all(['thumbs', 'rating', 'comment'], {_k('$.feedback')})
                 AND NOT (has_thumbs AND has_rating) AND fp_opt_str(fb.comment)
                 AND (NOT has_thumbs OR fp_text(fb.thumbs) IN ({_quoted(list(THUMB_SCORES))}))
                 AND (NOT has_rating OR (fp_int(fb.rating) AND rating BETWEEN 1 AND 5))))
        -- the response
        AND (response_kind IS NULL OR response_kind IN ('NULL', 'VARCHAR') OR (
            response_kind = 'OBJECT' AND fp_distinct({_k('$.response')}) AND list_contains({_k('$.response')}, 'choices')
            AND fp_distinct({_k('$.response.choices[0]')})
            AND len({_k('$.response.choices[0].message')}) > 0 AND fp_distinct({_k('$.response.choices[0].message')})
            AND left(choice.message.role, 1) = '"' AND fp_opt_str(choice.message.content)
            AND fp_calls_ok(choice.message.tool_calls, reply_calls)
            AND fp_opt_str(choice.finish_reason) AND fp_opt_str(s.response.model) AND fp_opt_str(s.response.id)
            AND (usage IS NULL OR (
                fp_distinct({_k('$.response.usage')})
                AND (in_c IS NULL OR TRY_CAST(in_c AS BIGINT) IS NOT NULL AND fp_int(in_c))
                AND (out_c IS NULL OR TRY_CAST(out_c AS BIGINT) IS NOT NULL AND fp_int(out_c))
                AND (usage.total_tokens IS NULL
                     OR TRY_CAST(usage.total_tokens AS BIGINT) IS NOT NULL AND fp_int(usage.total_tokens)))))),
        false) AS eligible
FROM laid_out
"""

# The records of one block, as a batch for mining.ingest.commit: the lines SQL mapped plus those the
# reference parsed, in line order (`seq`). Made per block: it reads the block's registered tables.
_ROWS = """
CREATE OR REPLACE TEMP VIEW fp_rows AS
SELECT record_id, source_id, 'openai' AS source_format, {file} AS source_file, line AS source_line,
       {ingest_id} AS ingest_id, trace_id, NULL AS parent_id, session_id, user_id, ts, model,
       input_messages, cluster_text, response_text, tool_calls, coalesce(tools_py, tools_map.py) AS tools,
       coalesce(request_params_py, params_map.py) AS request_params, finish_reason, status,
       coalesce(error_s, error_py, error_map.py) AS error, latency_ms, input_tokens, output_tokens, total_tokens,
       NULL AS token_note, feedback_score, feedback_comment, feedback, NULL AS expected_output,
       coalesce(metadata_py, metadata_map.py) AS metadata, raw, line AS seq
FROM fp_parsed
LEFT JOIN fp_json AS tools_map ON tools_map.c = tools_c AND tools_py IS NULL
LEFT JOIN fp_json AS params_map ON params_map.c = request_params_c AND request_params_py IS NULL
LEFT JOIN fp_json AS error_map ON error_map.c = error_c AND error_py IS NULL
LEFT JOIN fp_json AS metadata_map ON metadata_map.c = metadata_c AND metadata_py IS NULL
WHERE eligible
UNION ALL
SELECT * FROM fp_reference
"""

_NEEDS_PYTHON = """
SELECT DISTINCT c FROM (
    SELECT tools_c AS c FROM fp_parsed WHERE eligible AND tools_py IS NULL
    UNION ALL SELECT request_params_c FROM fp_parsed WHERE eligible AND request_params_py IS NULL
    UNION ALL SELECT error_c FROM fp_parsed WHERE eligible AND error_py IS NULL
    UNION ALL SELECT metadata_c FROM fp_parsed WHERE eligible AND metadata_py IS NULL
) WHERE c IS NOT NULL
"""


# --- ingest ------------------------------------------------------------------------------------

@dataclass
class _Run:
    """What one file's fast ingest carries from block to block."""

    file: FileRun
    source_file: str
    layouts: dict[str, str] = field(default_factory=dict)  # compact JSON -> Python's layout


def stage_and_commit(file: FileRun) -> None:
    """Read the file block by block into `records`, in the caller's transaction; fills its report."""
    run = _Run(file, file.reader.path.name)
    cursor, reader, report = file.cursor, file.reader, file.report
    for statement in _MACROS.strip().split(";\n"):
        cursor.execute(statement)
    last_line = None
    try:
        with reader.open_binary() as binary:
            for block in _read_ahead(line_blocks(binary, BLOCK_BYTES, reader.limit)):
                last_line = block.last_line or last_line
                file.position.lines = _span(block)
                _ingest_block(run, block)
                if file.progress:
                    file.progress(reader.fraction_done(), f"{reader.path.name}: {report.rows_read:,} rows")
    except gzip.BadGzipFile as exc:  # an OSError: caught first, it would read "cannot read"
        raise FileProblem(f"{reader.path}: damaged gzip file: {exc}") from exc
    except OSError as exc:
        raise FileProblem(f"{reader.path}: cannot read: {exc.strerror or exc}") from exc
    except zlib.error as exc:
        raise FileProblem(f"{reader.path}: damaged gzip file: {exc}") from exc
    if reader.truncated:
        report.rows_read += 1
        _quarantine(run, [truncation_row(last_line)])
    cursor.execute("DROP TABLE IF EXISTS fp_parsed")
    cursor.execute("DROP VIEW IF EXISTS fp_rows")


def _read_ahead(blocks: Iterator[LineBlock]) -> Iterator[LineBlock]:
    """The next block is cut in a thread while DuckDB maps this one (numpy and DuckDB release the GIL)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        upcoming = pool.submit(next, blocks, None)
        while (block := upcoming.result()) is not None:
            upcoming = pool.submit(next, blocks, None)
            yield block


def _ingest_block(run: _Run, block: LineBlock) -> None:
    file = run.file
    cursor = file.cursor
    file.report.rows_read += block.rows
    cursor.register("fp_block", block.table)
    cursor.execute(_PARSE)
    cursor.unregister("fp_block")
    cursor.register("fp_json", _layouts(run))  # first: it may hand lines to the reference
    cursor.register("fp_reference", _reference_rows(run, block))
    cursor.execute(_ROWS.format(file=_literal(run.source_file), ingest_id=_literal(file.report.ingest_id)))
    added, present = commit_records(cursor, "fp_rows", file.problems)
    file.report.rows_added += added
    file.report.rows_present += present
    cursor.unregister("fp_json")
    cursor.unregister("fp_reference")


def _span(block: LineBlock) -> str:
    """The block's lines, for a message: "lines 1-52000"."""
    firsts = [number for number, _ in block.reference[:1]] + [row.line for row in block.problems[:1]]
    if block.table.num_rows:
        firsts.append(block.table["line"][0].as_py())
    return f"lines {min(firsts)}-{block.last_line}" if firsts else ""


def _literal(text: str) -> str:
    """A SQL string literal (the view cannot take parameters)."""
    return "'" + text.replace("'", "''") + "'"


def _reference_rows(run: _Run, block: LineBlock) -> pa.Table:
    """Lines SQL does not map, parsed by the reference shape: records as a batch, the rest quarantined."""
    file = run.file
    leftovers = file.cursor.execute("SELECT line, raw FROM fp_parsed WHERE NOT eligible").fetchall()
    lines = sorted([(number, text.encode("utf-8")) for number, text in leftovers] + block.reference)
    records: list[dict[str, Any]] = []
    for number, raw in lines:
        row: Row = jsonl_row(number, raw)
        for item in row_outcomes(file.shape, row, file.report, run.source_file):
            if isinstance(item, dict):
                records.append({**item, "seq": row.line})
            else:
                file.problems.add(row.line, str(item), item.raw or row.raw)
    _quarantine(run, block.problems)
    return pa.Table.from_pylist(records, schema=BATCH_SCHEMA)


def _quarantine(run: _Run, rows: list[Row]) -> None:
    """Rows the reader already found bad (over the line limit, the end of a truncated gzip file)."""
    for row in rows:
        run.file.problems.add(row.line, row.error or "", row.raw)


_TO_REFERENCE = """
UPDATE fp_parsed SET eligible = false
WHERE eligible AND (list_contains($1, tools_c) OR list_contains($1, request_params_c)
                    OR list_contains($1, error_c) OR list_contains($1, metadata_c))
"""


def _layouts(run: _Run) -> pa.Table:
    """Python's json.dumps layout for the compact JSON values SQL could not lay out itself.

    A value nested too deeply for Python (DuckDB reads any depth) sends its lines to the reference,
    which quarantines them as the row-by-row path does.
    """
    needed = [row[0] for row in run.file.cursor.execute(_NEEDS_PYTHON).fetchall()]
    if len(run.layouts) > LAYOUT_CACHE:
        run.layouts.clear()
    too_deep = []
    for compact in needed:
        if compact not in run.layouts:
            try:
                run.layouts[compact] = json.dumps(json.loads(compact), ensure_ascii=False)
            except RecursionError:
                too_deep.append(compact)
    if too_deep:
        run.file.cursor.execute(_TO_REFERENCE, [too_deep]).fetchall()  # read whole: DuckDB refuses `register` on a half-read result
        needed = [compact for compact in needed if compact in run.layouts]
    return pa.table({"c": pa.array(needed, pa.string()),
                     "py": pa.array([run.layouts[compact] for compact in needed], pa.string())})


assert len(RECORD_COLUMNS) == 32  # _ROWS lists the 32 columns of `records` in table order
