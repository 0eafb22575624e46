"""Reading rows out of every container, streaming, with line numbers and per-row problems."""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
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


def test_a_truncated_gzip_gives_every_line_before_the_cut_and_says_so(tmp_path):
    payload = "".join(json.dumps({"n": n, "text": str(n) * (n % 17)}) + "\n" for n in range(2000)).encode()
    packed = gzip.compress(payload)
    gz = tmp_path / "a.jsonl.gz"
    gz.write_bytes(packed[:len(packed) // 2])
    rows = rows_of(gz)
    prefix = zlib.decompressobj(31).decompress(packed[:len(packed) // 2])  # all the cut file holds
    whole_lines = prefix.count(b"\n")
    assert [row.value for row in rows[:whole_lines]] == [{"n": n, "text": str(n) * (n % 17)} for n in range(whole_lines)]
    assert rows[whole_lines].line == whole_lines + 1 and "not valid JSON" in rows[whole_lines].error  # the cut line
    assert rows[-1].line is None and rows[-1].error.startswith(f"the gzip file ends early, after line {whole_lines + 1}")
    assert len(rows) == whole_lines + 2


def test_damaged_gzip_and_unknown_files_are_file_problems(tmp_path):
    payload = "".join(json.dumps({"n": n, "text": str(n) * (n % 17)}) + "\n" for n in range(2000)).encode()
    packed = bytearray(gzip.compress(payload))
    packed[-8] ^= 0xFF  # the checksum: what was decoded cannot be trusted
    gz = tmp_path / "a.jsonl.gz"
    gz.write_bytes(bytes(packed))
    with pytest.raises(FileProblem, match="damaged gzip file"):
        rows_of(gz)
    packed = bytearray(gzip.compress(payload))
    packed[200:210] = b"\xff" * 10  # a broken block
    gz.write_bytes(bytes(packed))
    with pytest.raises(FileProblem, match="damaged gzip file"):
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


def _calls(count: int) -> list[dict]:
    return [{"id": f"c-{n}", "request": {"model": "m", "messages": [
        {"role": "system", "content": "be brief"}, {"role": "user", "content": f"question {n}"}]},
        "response": {"choices": [{"message": {"role": "assistant", "content": f"answer {n}"}}]}} for n in range(count)]


@pytest.mark.parametrize("layout", ["compact", "pretty"])
def test_a_json_item_broken_in_the_middle_is_skipped_to_the_next_item_not_to_its_own_messages(tmp_path, layout):
    """The broken item's nested messages also follow a comma (compact) or a newline (pretty): not items."""
    texts = [json.dumps(call, indent=2 if layout == "pretty" else None) for call in _calls(5)]
    texts[2] = texts[2].replace('"system"', '"sys"tem"', 1)  # a stray quote early in item 3: the rest is intact
    path = tmp_path / "a.json"
    path.write_text("[" + ",".join(texts) + "]" if layout == "compact" else "[\n" + ",\n".join(texts) + "\n]\n")
    rows = rows_of(path)
    assert [row.value["id"] for row in rows if not row.error] == ["c-0", "c-1", "c-3", "c-4"]
    (bad,) = [row for row in rows if row.error]
    assert bad.raw.startswith('{') and '"c-2"' in bad.raw and '"c-3"' not in bad.raw
    assert "reading went on at the next item" in bad.error


@pytest.mark.parametrize("chunk", [1 << 20, 512], ids=["read-whole", "read-in-pieces"])
def test_a_json_item_over_the_line_limit_is_reported_without_being_kept(tmp_path, monkeypatch, chunk):
    """Read whole, the item is passed over; read in pieces it is given up on before it is all in memory."""
    monkeypatch.setenv(containers.MAX_LINE_ENV, str(2 / 1024))  # 2 KB
    monkeypatch.setattr(containers, "_CHUNK", chunk)
    calls = _calls(3)
    calls[1]["response"]["choices"][0]["message"]["content"] = "x" * 5000
    path = tmp_path / "a.json"
    path.write_text("[\n" + ",\n".join(json.dumps(call) for call in calls) + "\n]")
    rows = rows_of(path)
    assert [row.value["id"] for row in rows if not row.error] == ["c-0", "c-2"]
    assert rows[1].line == 3 and "longer than the 2.0 KB" in rows[1].error


def test_json_values_joined_end_to_end_with_byte_order_marks(tmp_path):
    path = tmp_path / "a.json"
    path.write_bytes(b'[{"id": 1}]\n\xef\xbb\xbf[{"id": 2}]\xef\xbb\xbf{"id": 3}\n')
    assert [row.value for row in rows_of(path)] == [{"id": 1}, {"id": 2}, {"id": 3}]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_csv_delimiter_is_sniffed_and_a_repeated_header_passed_over(tmp_path, delimiter):
    path = tmp_path / "a.csv"
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows([["q", "a"], ["hello, world", "x"]])
    path.write_bytes(out.getvalue().encode() + b"\xef\xbb\xbf" + out.getvalue().encode())  # two exports joined
    rows = rows_of(path)
    assert [row.value for row in rows] == [{"q": "hello, world", "a": "x"}] * 2
    assert [row.line for row in rows] == [2, 4]


def test_a_csv_row_with_fewer_fields_than_the_header_is_reported(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("q,a,b\n1,2,3\n4,5\n")
    rows = rows_of(path)
    assert rows[1].line == 3 and rows[1].error.startswith("2 fields but the header names 3")


def test_a_damaged_parquet_row_group_is_reported_and_the_others_read(tmp_path):
    path = tmp_path / "a.parquet"
    table = pa.table({"q": [f"question {n} " * 20 for n in range(30)], "a": [f"answer {n} " * 20 for n in range(30)]})
    pq.write_table(table, path, row_group_size=10, compression="zstd")
    column = pq.ParquetFile(path).metadata.row_group(1).column(0)
    damaged = bytearray(path.read_bytes())
    start = (column.dictionary_page_offset or column.data_page_offset) + 30
    damaged[start:start + 40] = bytes(byte ^ 0x5A for byte in damaged[start:start + 40])
    path.write_bytes(bytes(damaged))
    rows = rows_of(path)
    assert [row.line for row in rows if not row.error] == [*range(1, 11), *range(21, 31)]
    assert [row.error.split(":")[0] for row in rows if row.error] == ["rows 11-20 (row group 2) could not be read"]
