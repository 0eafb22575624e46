"""How many failure modes the demo shows, with and without merging and one-offs (issue 13: "a number
a meeting can read, with no duplicate names").

Run by hand: `python bench/demo_modes.py [--seeds 0 1 2]`. The demo log (`faultline demo`: 3,000
calls, 8 failing intents asked in 42 ways) is ingested and embedded once into a temporary
workspace; each run clusters a fresh copy of it, so no run matches an earlier one's modes. For each
run: the number of modes, duplicate names (case-insensitive), and with merging the merged modes
with the names of their parts, to check by eye that each merge joins one intent's requests.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# (label, merge modes that are one problem, form modes from recurring failures only)
VARIANTS = [("no merging", False, True), ("merging", True, True), ("merging, one-offs included", True, False)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from mining.cluster import ClusterSettings, list_clusters, mode_parts, run_clustering
    from mining.demo import load_demo
    from mining.embed import embed_records
    from mining.store import Workspace

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        workspace = Workspace.open(folder / "warm.duckdb")
        load_demo(workspace)
        embed_records(workspace)
        Workspace.close_all()
        for seed in args.seeds:
            for label, merge, recurring_only in VARIANTS:
                path = folder / f"seed{seed}-{merge}-{recurring_only}.duckdb"
                shutil.copyfile(folder / "warm.duckdb", path)
                workspace = Workspace.open(path)
                started = time.perf_counter()
                summary = run_clustering(workspace, ClusterSettings(seed=seed, merge_similar=merge,
                                                                    recurring_only=recurring_only))
                seconds = time.perf_counter() - started
                modes = list_clusters(workspace)
                names = [mode["name"].lower() for mode in modes]
                merged = {mode["name"]: mode_parts(workspace, mode["id"]) for mode in modes}
                merged = {mode: parts for mode, parts in merged.items() if parts}
                print(f"seed {seed}, {label}: {len(modes)} modes, "
                      f"{len(names) - len(set(names))} duplicate names, {len(merged)} merged modes from "
                      f"{sum(len(parts) for parts in merged.values())} parts, {summary.unclustered} of "
                      f"{summary.points} unclustered ({summary.one_offs} one-offs), {seconds:.1f} s", flush=True)
                for mode, parts in merged.items():
                    print(f"    {mode}: " + " + ".join(f"{part['name']} ({part['size']}, {part['reason']})"
                                                      for part in parts))
                Workspace.close_all()


if __name__ == "__main__":
    main()
