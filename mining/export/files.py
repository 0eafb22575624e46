"""Serialising rows: JSONL and Parquet, byte for byte the same on every run.

Why deterministic: a manifest promises that replaying it gives identical files (same hashes), so
rows keep the order and key order they were built in, JSON is written one way (UTF-8, no ASCII
escaping, compact separators), and Parquet is written with fixed settings and no timestamps.

Why `tools` is a JSON string in Parquet: tool definitions differ from tool to tool, and a Parquet
struct would merge every tool's parameter names into one schema (absent ones read back as null);
OpenAI's JSONL keeps them as objects, since that is what its API reads.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq


def json_line(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"))


def row_hash(row: dict[str, Any]) -> str:
    return hashlib.sha256(json_line(row).encode("utf-8")).hexdigest()


def _parquet_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: (json.dumps(item, ensure_ascii=False, sort_keys=True) if key == "tools" and isinstance(item, list)
                      else _parquet_safe(item)) for key, item in value.items()}
    if isinstance(value, list):
        return [_parquet_safe(item) for item in value]
    return value


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json_line(row) + "\n")


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    # pa.array infers one struct type over every row (Table.from_pylist would take the first row's keys only)
    table = pa.Table.from_struct_array(pa.array([_parquet_safe(row) for row in rows]))
    pq.write_table(table, path, compression="zstd", write_statistics=False, store_schema=True)


WRITERS = {"jsonl": write_jsonl, "parquet": write_parquet}


def read_rows(path: Path, count: int) -> list[dict[str, Any]]:
    """The first `count` rows of a written JSONL or Parquet file, read back (for previews)."""
    if path.suffix == ".parquet":
        return pq.ParquetFile(path).read_row_group(0).slice(0, count).to_pylist() if count else []
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if len(rows) >= count:
                break
            rows.append(json.loads(line))
    return rows


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def zip_folder(folder: Path) -> bytes:
    """The export folder as a zip (entries under the folder's name), for the page's download."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, Path(folder.name) / path.relative_to(folder))
    return buffer.getvalue()
