"""Ingest benchmark: Faultline's ingest against DuckDB's own JSON reader on the same big file.

Run by hand (not a test): `python bench/ingest.py [--rows N]`. It writes N OpenAI-shape calls of
about 1 KB each to bench/data/ (gitignored; reused when present), then runs, each in its own
subprocess so peak memory is that run's alone:
  (a) DuckDB `read_json(file, format='newline_delimited')` into a table: the floor to compare with;
  (b) `ingest_paths` into a fresh workspace.
It prints rows/s, wall time, peak RSS and the ratio of the two times. Targets (the issue): ingest
within 3x of DuckDB's raw read, at least 100,000 rows/s, peak memory under 3 GB. `--only reference`
runs the row-by-row Python path instead (the fast path switched off), for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
POOL = 4000  # distinct demo calls; each output row is one of them with a fresh id and time
_ID, _TS = "\x00id\x00", "\x00ts\x00"


def generate(path: Path, rows: int, seed: int = 11) -> Path:
    """Write `rows` calls quickly: demo calls serialised once, then stamped with a new id and time.

    Why templates: json.dumps of a million nested dicts takes minutes; splicing an id and a
    timestamp into pre-serialised text keeps generation to seconds while rows stay realistic.
    """
    sys.path.insert(0, str(ROOT))
    from mining.demo import DEFAULT_END, demo_lines

    templates = []
    for line in demo_lines(seed=seed, calls=POOL):
        line["id"], line["timestamp"] = _ID, _TS
        head, rest = json.dumps(line, ensure_ascii=False).split(json.dumps(_ID), 1)
        middle, tail = rest.split(json.dumps(_TS), 1)
        templates.append((head, middle, tail))
    rng = np.random.default_rng(seed)
    start = np.datetime64((DEFAULT_END - timedelta(days=28)).replace(tzinfo=None), "ms")
    offsets = np.sort(rng.integers(0, 28 * 86_400_000, rows)).astype("timedelta64[ms]")
    stamps = np.datetime_as_string(start + offsets, unit="ms")
    picks = rng.integers(0, len(templates), rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        for begin in range(0, rows, 50_000):
            out.write("".join(
                f'{head}"bench_{index:08d}"{middle}"{stamps[index]}Z"{tail}\n'
                for index in range(begin, min(begin + 50_000, rows))
                for head, middle, tail in (templates[picks[index]],)
            ))
    return path


def run_duckdb(path: Path) -> int:
    """Baseline: DuckDB reads and parses the whole file into a table of typed columns."""
    import duckdb

    with tempfile.TemporaryDirectory() as folder:
        connection = duckdb.connect(str(Path(folder) / "baseline.duckdb"))
        connection.execute(
            "CREATE TABLE calls AS SELECT * FROM read_json(?, format='newline_delimited')", [str(path)])
        return connection.execute("SELECT count(*) FROM calls").fetchone()[0]


def run_faultline(path: Path, fast: bool = True) -> int:
    """Faultline's ingest of the same file into a fresh workspace."""
    sys.path.insert(0, str(ROOT))
    from mining.ingest import fastpath_openai
    from mining.ingest import ingest_paths
    from mining.store import Workspace

    fastpath_openai.ENABLED = fast
    with tempfile.TemporaryDirectory() as folder:
        workspace = Workspace.open(Path(folder) / "bench.duckdb")
        report, = ingest_paths(workspace, [path], format="openai")
        if report.error:
            raise SystemExit(report.error)
        Workspace.close_all()
        return report.rows_added


def measure(kind: str, path: Path) -> dict[str, float]:
    """Run one side in a child process: its wall time and its own peak RSS (from wait4)."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, __file__, "--child", kind, str(path)], stdout=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    output = child.stdout.read().decode().strip()
    child.stdout.close()
    if status != 0:
        raise SystemExit(f"{kind} run failed (status {status}): {output}")
    rows = int(output.splitlines()[-1])
    peak = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)  # bytes
    return {"rows": rows, "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "rows_per_s": rows / wall,
            "peak_rss_mb": peak / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="calls in the test file (default 1,000,000)")
    parser.add_argument("--only", choices=["duckdb", "faultline", "reference"], help="run one side only")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, file = args.child
        print(run_duckdb(Path(file)) if kind == "duckdb" else run_faultline(Path(file), fast=kind == "faultline"))
        return
    path = DATA / f"openai_{args.rows}.jsonl"
    if not path.exists():
        started = time.perf_counter()
        generate(path, args.rows)
        print(f"generated {path} ({path.stat().st_size / 2**20:,.0f} MiB) in {time.perf_counter() - started:.1f} s")
    load = os.getloadavg()[0]  # the machine may be shared: say how busy it was
    results = {kind: measure(kind, path) for kind in ([args.only] if args.only else ["duckdb", "faultline"])}
    print(f"file: {path.name}, {args.rows:,} rows, {path.stat().st_size / 2**20:,.0f} MiB, {os.cpu_count()} cores,"
          f" load average {load:.2f} before")
    for kind, result in results.items():
        print(f"{kind:>9}: {result['wall_s']:7.1f} s  cpu {result['cpu_s']:6.1f} s  {result['rows_per_s']:10,.0f} rows/s"
              f"  peak RSS {result['peak_rss_mb']:7,.0f} MiB  ({result['rows']:,} rows)")
    if len(results) == 2:
        print(f"    ratio: faultline / duckdb = {results['faultline']['wall_s'] / results['duckdb']['wall_s']:.2f}x")


if __name__ == "__main__":
    main()
