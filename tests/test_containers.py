"""Reading rows out of every container, streaming, with line numbers and per-row problems."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mining.ingest import containers
from mining.ingest.containers import FileProblem, RowReader, list_log_files


def rows_of(path: Path):
    return list(RowReader(path))


def test_jsonl_keeps_line_numbers_and_reports_bad_lines(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"a": 1}\r\n\n{"a": 2\n\xff\xfe{"x": 1}\n{"a": "\xc3\xa9t\xc3\xa9"}\n')
    rows = rows_of(path)
    assert [(row.line, row.value) for row in rows if not row.error] == [(1, {"a": 1}), (5, {"a": "été"})]
    errors = {row.line: row.error for row in rows if row.error}
    assert "not valid JSON" in errors[3]
    assert errors[4] == "line is not valid UTF-8 text"


def test_gzip_is_read_transparently(tmp_path):
    path = tmp_path / "a.jsonl.gz"
    with gzip.open(path, "wt") as handle:
        handle.write('{"a": 1}\n{"a": 2}\n')
    assert [row.value for row in rows_of(path)] == [{"a": 1}, {"a": 2}]


def test_json_array_streams_items_with_their_first_line(tmp_path, monkeypatch):
    monkeypatch.setattr(containers, "_CHUNK", 7)  # force many refills mid-value
    path = tmp_path / "a.json"
    path.write_text('[\n  {"a": 1},\n  {"b": [1, 2, 3]},\n  {"c": "x\\ny"}\n]\n')
    rows = rows_of(path)
    assert [row.value for row in rows] == [{"a": 1}, {"b": [1, 2, 3]}, {"c": "x\ny"}]
    assert [row.line for row in rows] == [2, 3, 4]


def test_json_object_with_a_list_streams_the_list(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"meta": {"page": 1}, "data": [{"id": 1}, {"id": 2}]}))
    assert [row.value for row in rows_of(path)] == [{"id": 1}, {"id": 2}]


def test_single_json_object_and_concatenated_objects(tmp_path):
    path = tmp_path / "a.json"
    path.write_text('{"id": 1, "tags": [{"x": 1}]}\n{"id": 2}\n')
    assert [row.value["id"] for row in rows_of(path)] == [1, 2]


def test_json_syntax_error_keeps_what_came_before(tmp_path):
    path = tmp_path / "a.json"
    path.write_text('[{"id": 1},\n{"id": 2,,}]')
    rows = rows_of(path)
    assert rows[0].value == {"id": 1}
    assert rows[-1].error and "JSON syntax error" in rows[-1].error and rows[-1].line == 2


def test_csv_rows_with_embedded_newlines_keep_their_starting_line(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b'q,a\n"multi\nline",x\nplain,y\n\xff,z\n')
    rows = rows_of(path)
    assert [(row.line, row.value) for row in rows[:2]] == [(2, {"q": "multi\nline", "a": "x"}), (4, {"q": "plain", "a": "y"})]
    assert rows[2].line == 5 and rows[2].error == "line is not valid UTF-8 text"


def test_parquet_rows(tmp_path):
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"q": ["a", "b"], "n": [1, 2]}), path)
    assert [row.value for row in rows_of(path)] == [{"q": "a", "n": 1}, {"q": "b", "n": 2}]
    gz = tmp_path / "b.parquet.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert [row.line for row in rows_of(gz)] == [1, 2]


def test_damaged_gzip_and_unknown_files_are_file_problems(tmp_path):
    gz = tmp_path / "a.jsonl.gz"
    payload = "".join(json.dumps({"n": n, "text": str(n) * (n % 17)}) + "\n" for n in range(2000)).encode()
    gz.write_bytes(gzip.compress(payload)[:3000])
    with pytest.raises(FileProblem, match="gzip"):
        rows_of(gz)
    binary = tmp_path / "picture.bin"
    binary.write_bytes(bytes(range(256)))
    with pytest.raises(FileProblem, match="not a log file"):
        RowReader(binary)


def test_folders_expand_to_their_log_files(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("a.jsonl", "sub/b.csv.gz", "c.txt", ".hidden.jsonl"):
        (tmp_path / name).write_text("x")
    assert [p.relative_to(tmp_path).as_posix() for p in list_log_files([tmp_path])] == ["a.jsonl", "sub/b.csv.gz"]
    with pytest.raises(FileProblem, match="no such file"):
        list_log_files([tmp_path / "missing"])
