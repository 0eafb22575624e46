"""Hostile log files for tests/ingest/test_ingest_hostile.py: small good logs of every shape, broken the
ways real files break.

Each `Hostile` starts from a good base log (the first lines of a shipped fixture, see `BASES`) and
adds, cuts or re-encodes something. It says exactly what ingest must make of it: the format, the
lines quarantined (with a fragment of each reason), the good calls lost because the damage is inside
them (an item cut in two), the calls beyond the base's (a failed call, a long one) and the rows that
are duplicates of good ones. Every other call of the base must come out exactly as it comes out of
the clean base.
"""

from __future__ import annotations

import copy
import io
import json
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable
from paths import FIXTURES

BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Base:
    """A clean log to break: a shipped fixture's first lines, written as `filename`."""

    fixture: str
    lines: int  # how many lines of the fixture (a CSV's header not counted)
    filename: str

    def rows(self) -> list[bytes]:
        """The base's lines without their line ends (a CSV's header first)."""
        kept = (FIXTURES / self.fixture).read_bytes().splitlines()
        return kept[:self.lines + (1 if self.fixture.endswith(".csv") else 0)]

    def content(self) -> bytes:
        return _join(self.rows())


BASES = {
    "openai": Base("openai_chat.jsonl", 12, "openai.jsonl"),
    "otel": Base("otel_collector.jsonl", 4, "otel.jsonl"),
    "phoenix": Base("phoenix_spans.jsonl", 12, "phoenix.jsonl"),
    "phoenix_csv": Base("phoenix_spans.csv", 5, "phoenix.csv"),
    "langfuse": Base("langfuse_observations.jsonl", 12, "langfuse.jsonl"),
    "langfuse_scores": Base("langfuse_scores.jsonl", 12, "langfuse_scores.jsonl"),
    "langsmith": Base("langsmith_runs.jsonl", 12, "langsmith.jsonl"),
    "generic": Base("generic_support_log.csv", 12, "generic.csv"),
}


@dataclass
class Hostile:
    """One broken file and what ingesting it must do."""

    id: str
    base: str  # the key in BASES whose clean records are the oracle
    filename: str
    content: bytes
    format: str  # what detection must find (or what `forced` gives)
    quarantined: list[tuple[int | None, str]]  # (line, a fragment of the reason) per quarantined line
    lost: frozenset[str] = frozenset()  # source ids of base calls inside the damage
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)  # source id -> fields, calls not in the base
    present: int = 0  # rows that are the same call as a good row read before
    forced: str | None = None  # a --format given by the user
    max_line_mb: float | None = None  # $FAULTLINE_MAX_LINE_MB for this file


def _join(lines: list[bytes], end: bytes = b"\n") -> bytes:
    return b"".join(line + end for line in lines)


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def _variant(line: bytes, change: Callable[[dict[str, Any]], None]) -> bytes:
    """A copy of a JSON line with `change` applied to its object."""
    value = copy.deepcopy(json.loads(line))
    change(value)
    return _json(value)


def _setting(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(item: dict[str, Any]) -> None:
        target = item
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


def _both(*changes: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def change(item: dict[str, Any]) -> None:
        for each in changes:
            each(item)
    return change


def _inserted(base: str, name: str, bad: list[bytes], fragment: str | None, at: int = 6,
              quarantined: list[tuple[int | None, str]] | None = None, **expected: Any) -> Hostile:
    """The base with `bad` lines inserted after its line `at`: each is quarantined with `fragment`
    (None: they are good lines), unless `quarantined` says otherwise."""
    rows = BASES[base].rows()
    content = _join(rows[:at] + bad + rows[at:])
    if quarantined is None:
        quarantined = [] if fragment is None else [(at + 1 + index, fragment) for index in range(len(bad))]
    return Hostile(f"{base}-{name}", base, BASES[base].filename, content, expected.pop("format", base), quarantined,
                   **expected)


def _half(line: bytes) -> bytes:
    return line[:len(line) // 2]


DEEP = b"[" * 100_000 + b"]" * 100_000


# --- OpenAI JSONL: run on both ingest paths ------------------------------------------------------

def openai_cases() -> list[Hostile]:
    rows = BASES["openai"].rows()
    call = rows[3]  # req_00003
    base = "openai"
    langfuse_line = (FIXTURES / "langfuse_observations.jsonl").read_bytes().splitlines()[0]
    fresh = _both(_setting(("id",), "req_new"))
    return [
        _inserted(base, "failed-call", [b'{"id":"req_timeout_1","timestamp":"2026-11-09T10:08:00Z",'
                                        b'"request":{"model":"gpt-4o-mini"},"response":null,"error":"upstream timeout"}'],
                  None, extra={"req_timeout_1": {"model": "gpt-4o-mini", "status": "error", "error": "upstream timeout",
                                               "response_text": None}}),
        _inserted(base, "all-null-object", [b'{"id":null,"timestamp":null,"request":null,"response":null,"error":null}'],
                  "missing required field 'messages'"),
        _inserted(base, "null-line", [b"null"], "got null"),
        _inserted(base, "ten-foreign-lines", [_json({"question": f"q{n}", "answer": "a"}) for n in range(10)],
                  "missing required field 'messages'"),
        _inserted(base, "a-langfuse-line", [langfuse_line], "looks like Langfuse observations"),
        _inserted(base, "not-json", [b'{"id": "req_x", "request": {"model": '], "not valid JSON"),
        _inserted(base, "a-list", [b"[1, 2, 3]"], "got a list"),
        _inserted(base, "not-utf8", [b'{"id": "req_x", "note": "caf\xe9"}'], "not valid UTF-8"),
        _inserted(base, "tokens-beyond-bigint",
                  [_variant(call, _both(fresh, _setting(("response", "usage", "prompt_tokens"), 10**30)))],
                  "input_tokens 1000000000000000000000000000000 is out of range"),
        _inserted(base, "tokens-not-a-number",
                  [_variant(call, _both(fresh, _setting(("response", "usage", "prompt_tokens"), "many")))],
                  "expected a number, got 'many'"),
        _inserted(base, "timestamp-beyond-time", [_variant(call, _both(fresh, _setting(("timestamp",), 10**30)))],
                  "out of range"),
        _inserted(base, "lone-surrogate",
                  [_variant(call, fresh).replace(b"My 2FA", b"My \\ud83d 2FA").replace(b"Return the", b"Return \\ud83d the")
                   .replace(b"content\": \"", b"content\": \"\\ud83d", 1)],
                  "half of a UTF-16 surrogate pair"),
        _inserted(base, "nested-100000-deep",
                  [_variant(call, fresh).replace(b'"latency_ms"', b'"deep": ' + DEEP + b', "latency_ms"')],
                  "nested too deeply"),
        _inserted(base, "nested-100000-deep-in-metadata",  # a line SQL reads, which Python cannot lay out
                  [_variant(call, fresh).replace(b'"metadata": {', b'"metadata": {"deep": ' + DEEP + b', ')],
                  "nested too deeply"),
        _inserted(base, "same-id-other-call",
                  [_variant(call, _setting(("response", "choices", 0, "message", "content"), "A different answer."))],
                  "id 'req_00003' already holds a different call"),
        _inserted(base, "same-id-same-call", [call], None, present=1),
        _inserted(base, "two-megabyte-line",
                  [_variant(call, _both(_setting(("id",), "req_long"),
                                        _setting(("response", "choices", 0, "message", "content"), "word " * 400_000)))],
                  None, extra={"req_long": {"model": "gpt-4o-mini-2024-07-18", "finish_reason": "stop"}}),
        _inserted(base, "line-over-the-limit",
                  [_variant(call, _both(fresh, _setting(("response", "choices", 0, "message", "content"), "x" * 200_000)))],
                  "longer than the 50.0 KB a line may be", max_line_mb=50 / 1024),
        _cleaned("half-written-last-line", _join(rows) + _half(_variant(call, fresh)), [(13, "not valid JSON")]),
        _cleaned("bom-mid-file", _join(rows[:6]) + BOM + _join(rows[6:]), []),
        _cleaned("bom-and-space-mid-file", _join(rows[:6]) + b"  " + BOM + b" " + _join(rows[6:]), []),
        _cleaned("crlf", _join(rows, b"\r\n"), []),
        _cleaned("blank-lines", b"\n \n" + b"\n\t\n".join(rows) + b"\n\n   ", []),
        _cleaned("no-final-newline", _join(rows)[:-1], []),
        _gzip_cut("openai", mid_line=False),
        _gzip_cut("openai", mid_line=True),
    ]


def _cleaned(name: str, content: bytes, quarantined: list[tuple[int | None, str]], **expected: Any) -> Hostile:
    return Hostile(f"openai-{name}", "openai", "openai.jsonl", content, "openai", quarantined, **expected)


def _gzip_cut(base: str, mid_line: bool) -> Hostile:
    """A .jsonl.gz cut short: on a flush between the last two lines, or inside the last line's data."""
    rows = BASES[base].rows()
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    head = packer.compress(_join(rows[:-1])) + packer.flush(zlib.Z_FULL_FLUSH)
    tail = packer.compress(rows[-1] + b"\n") + packer.flush(zlib.Z_SYNC_FLUSH) + packer.flush()
    content = head + tail[:len(tail) // 2] if mid_line else head
    unpacked = zlib.decompressobj(31).decompress(content)
    partial = unpacked[len(_join(rows[:-1])):]
    assert unpacked.startswith(_join(rows[:-1])) and (bool(partial) == mid_line) and b"\n" not in partial
    last = len(rows)
    quarantined: list[tuple[int | None, str]] = [(last, "not valid JSON")] if mid_line else []
    quarantined.append((None, f"the gzip file ends early, after line {last if mid_line else last - 1}"))
    return Hostile(f"{base}-gzip-cut-{'mid-line' if mid_line else 'between-lines'}", base,
                   BASES[base].filename + ".gz", content, base, quarantined,
                   lost=frozenset({json.loads(rows[-1])["id"]}))


# --- JSON containers built from the OpenAI base ---------------------------------------------------

def json_cases() -> list[Hostile]:
    calls = [json.loads(row) for row in BASES["openai"].rows()]
    pretty = [("  " + json.dumps(call, indent=2)).replace("\n", "\n  ") for call in calls]
    one_per_line = [json.dumps(call) for call in calls]
    cut_pretty = pretty[:5] + [pretty[5][:len(pretty[5]) // 2]] + pretty[6:]
    cut_lines = one_per_line[:5] + [one_per_line[5][:len(one_per_line[5]) // 2]] + one_per_line[6:]
    lost = frozenset({"req_00005"})
    halved = one_per_line[3].replace('"content": "', '"content": "\\ud83d', 1)  # half an emoji, escaped
    surrogate = one_per_line[:3] + [halved] + one_per_line[4:]
    return [
        _array("array-item-cut-pretty", "[\n" + ",\n".join(cut_pretty) + "\n]\n", _line_of(cut_pretty, 5, 2), lost),
        _array("array-item-cut-one-per-line", "[\n" + ",\n".join(cut_lines) + "\n]\n", 7, lost),
        _array("array-item-cut-compact", "[" + ",".join(cut_lines) + "]", 1, lost),
        _array("object-list-item-cut", '{"data": [\n' + ",\n".join(cut_lines) + "\n], \"page\": 1}\n", 7, lost),
        _array("array-last-item-cut-unclosed", "[\n" + ",\n".join(one_per_line)[:-40], 13, frozenset({"req_00011"})),
        Hostile("json-two-arrays-joined-with-bom", "openai", "openai.json",
                ("[" + ",".join(one_per_line[:6]) + "]\n").encode() + BOM + ("[" + ",".join(one_per_line[6:]) + "]").encode(),
                "openai", []),
        Hostile("json-lone-surrogate-item", "openai", "openai.json", ("[\n" + ",\n".join(surrogate) + "\n]").encode(),
                "openai", [(5, "half of a UTF-16 surrogate pair")], lost=frozenset({"req_00003"})),
        Hostile("json-item-not-utf8", "openai", "openai.json",
                b"[\n" + b",\n".join(line.encode() for line in one_per_line[:3])
                + b',\n{"id": "req_x", "note": "caf\xe9"},\n' + b",\n".join(line.encode() for line in one_per_line[3:]) + b"\n]",
                "openai", [(5, "item is not valid UTF-8")]),
    ]


def _array(name: str, text: str, line: int, lost: frozenset[str]) -> Hostile:
    return Hostile(f"json-{name}", "openai", "openai.json", text.encode(), "openai", [(line, "JSON syntax error")],
                   lost=lost)


def _line_of(items: list[str], index: int, first: int) -> int:
    """The line item `index` starts on, items joined with ",\\n" from line `first`."""
    return first + sum(item.count("\n") + 1 for item in items[:index])


# --- the other shapes ----------------------------------------------------------------------------

def other_cases() -> list[Hostile]:
    otel, phoenix, langfuse = BASES["otel"].rows(), BASES["phoenix"].rows(), BASES["langfuse"].rows()
    langsmith, scores = BASES["langsmith"].rows(), BASES["langfuse_scores"].rows()
    openai_line = BASES["openai"].rows()[0]
    llm_span = phoenix[1]
    return [
        # OpenTelemetry, a collector's JSONL
        Hostile("otel-half-written-last-line", "otel", "otel.jsonl", _join(otel) + _half(otel[2]), "otel",
                [(len(otel) + 1, "not valid JSON")]),
        _inserted("otel", "an-openai-line", [openai_line], "looks like OpenAI chat completions", at=2),
        _inserted("otel", "tokens-beyond-bigint",
                  [otel[2].replace(b'"a300000000000001"', b'"a3000000000000ff"')
                   .replace(b'{"intValue": "120"}', b'{"intValue": "99999999999999999999999"}')],
                  "input_tokens 99999999999999999999999 is out of range", at=3),
        Hostile("otel-crlf-and-bom", "otel", "otel.jsonl", BOM + _join(otel, b"\r\n"), "otel", []),
        _otel_json_group_cut(otel),
        # Phoenix spans
        _inserted("phoenix", "nulls-and-blank-lines", [b"null", b"", b"   ", b"{}"], None, at=4,
                  quarantined=[(5, "got null"), (8, "missing 'span_kind'")]),
        _inserted("phoenix", "nested-100000-deep",
                  [llm_span.replace(b'"00000000bbbbbbbb"', b'"00000000bbbbbbff"')
                   .replace(b'"status_code"', b'"attributes.deep": ' + DEEP + b', "status_code"')],
                  "nested too deeply"),
        _inserted("phoenix", "same-span-other-call",
                  [llm_span.replace(b"no questions asked.", b"no questions asked, ever.")],
                  "already holds a different call"),
        Hostile("phoenix_csv-semicolons", "phoenix_csv", "phoenix.csv", _redelimited(BASES["phoenix_csv"], ";"),
                "phoenix", []),
        # Langfuse observations and scores
        _inserted("langfuse", "not-json", [_half(langfuse[3])], "not valid JSON"),
        _inserted("langfuse", "lone-surrogate", [_variant(langfuse[3], _setting(("id",), "lf-gen-new"))
                                                 .replace(b'"content": "', b'"content": "\\udfff', 1)],
                  "half of a UTF-16 surrogate pair"),
        Hostile("langfuse-array-item-cut", "langfuse", "langfuse.json",
                ("[\n" + ",\n".join(row.decode() if index != 4 else _half(row).decode()
                                    for index, row in enumerate(langfuse)) + "\n]\n").encode(),
                "langfuse", [(6, "JSON syntax error")], lost=frozenset({"lf-gen-0004"})),
        _inserted("langfuse_scores", "same-id-other-score", [_variant(scores[0], _setting(("value",), 1))],
                  "score id 'lf-score-0000' already holds a different score"),
        _inserted("langfuse_scores", "same-id-same-score", [scores[0]], None),
        # LangSmith runs
        _inserted("langsmith", "nulls-and-blank-lines", [b"null", b"", b"  \t", b"[]"], None, at=3,
                  quarantined=[(4, "got null"), (7, "got a list")]),
        _inserted("langsmith", "same-id-other-run",
                  [_variant(langsmith[2], _setting(("outputs", "generations", 0, 0, "text"), "Another answer."))],
                  "already holds a different call"),
        _inserted("langsmith", "tokens-beyond-bigint",
                  [_variant(langsmith[2], _both(_setting(("id",), "01900000-7a1c-7000-8000-0000000000ff"),
                                                _setting(("prompt_tokens",), 2**64),
                                                _setting(("outputs", "llm_output", "token_usage", "prompt_tokens"), 2**64)))],
                  "input_tokens 18446744073709551616 is out of range"),
        _gzip_cut("langsmith", mid_line=True),
    ]


def _otel_json_group_cut(lines: list[bytes]) -> Hostile:
    """An OTLP/JSON export, pretty-printed, whose third resourceSpans group is cut short."""
    groups = [json.loads(line)["resourceSpans"][0] for line in lines]
    texts = [("    " + json.dumps(group, indent=2)).replace("\n", "\n    ") for group in groups]
    texts[2] = texts[2][:len(texts[2]) // 2]
    text = '{\n  "resourceSpans": [\n' + ",\n".join(texts) + "\n  ]\n}\n"
    return Hostile("otel-json-group-cut", "otel", "otel.json", text.encode(), "otel",
                   [(_line_of(texts, 2, 3), "JSON syntax error")], lost=frozenset({"a300000000000001"}))


def _redelimited(base: Base, delimiter: str) -> bytes:
    import csv

    rows = list(csv.reader(io.StringIO(base.content().decode(), newline="")))
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def generic_cases() -> list[Hostile]:
    base = BASES["generic"]
    rows = base.rows()
    header = rows[0].decode().split(",")
    as_json = [_json(dict(zip(header, _csv_fields(row)))) for row in rows[1:]]
    return [
        Hostile("generic-semicolons", "generic", "generic.csv", _redelimited(base, ";"), "generic", []),
        Hostile("generic-tabs-in-a-csv", "generic", "generic.csv", _redelimited(base, "\t"), "generic", []),
        Hostile("generic-two-files-joined-with-bom", "generic", "generic.csv",
                BOM + base.content() + BOM + base.content(), "generic", [], present=12),
        _inserted("generic", "row-with-another-delimiter", [b"09/11/2026 11:00;u-9;a question;an answer;5;;m"],
                  "1 fields but the header names 7"),
        Hostile("generic-crlf", "generic", "generic.csv", _join(rows, b"\r\n"), "generic", []),
        Hostile("generic-half-written-last-row", "generic", "generic.csv",
                base.content() + b"09/11/2026 23:00,u-9,What is", "generic", [(14, "3 fields but the header names 7")]),
        _inserted("generic", "row-over-the-limit", [b'09/11/2026 11:00,u-9,"a question\n' + b"that runs on " * 6000
                                                    + b'\n",an answer,5,,m'],
                  "row is 76.2 KB, longer than the 50.0 KB a line may be", max_line_mb=50 / 1024),
        _inserted("generic", "row-not-utf8", [b"09/11/2026 11:00,u-9,caf\xe9?,an answer,5,,m"], "not valid UTF-8"),
        Hostile("generic-jsonl-with-an-openai-line", "generic", "generic.jsonl",
                _join(as_json[:6] + [BASES["openai"].rows()[0]] + as_json[6:]), "generic",
                [(7, "looks like OpenAI chat completions")]),
    ]


def _csv_fields(row: bytes) -> list[str]:
    import csv

    return next(csv.reader(io.StringIO(row.decode())))


def all_cases() -> list[Hostile]:
    return openai_cases() + json_cases() + other_cases() + generic_cases()
