"""Start-up cost of the command line and of the library the pages import, this tree against a
baseline commit, side by side in one run.

Why: the packages per stage put an `__init__` in front of every stage (mining.review imports all
of review's modules). That must not make `faultline --help`, a cron job's `faultline info`, or a
page's imports slower. Each measurement is a fresh `python` process, run alternately for this tree
and the baseline (a `git worktree` of BASELINE), so machine load falls on both alike.

    python bench/startup.py [--baseline COMMIT] [--runs 9]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "e05def5"  # the last commit before the package moves (issue 12)

# What the pages import from the library, as each tree names it.
PAGE_IMPORTS = {
    "this": "import mining.ingest, mining.embed, mining.cluster, mining.review, mining.detect, mining.browse",
    "baseline": ("import mining.ingest.pipeline, mining.embed, mining.embed_backends, mining.cluster, "
                 "mining.cluster_views, mining.similar, mining.review_events, mining.review_queue, "
                 "mining.review_state, mining.taxonomy, mining.agreement, mining.adjudication, "
                 "mining.review_progress, mining.second_review, mining.review_exchange, mining.review_view, "
                 "mining.detect, mining.browse"),
}


def seconds(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        baseline = Path(scratch) / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", str(baseline), args.baseline], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            workspace = Path(scratch) / "w.duckdb"
            env = {**os.environ, "FAULTLINE_WORKSPACE": str(workspace)}
            subprocess.run([sys.executable, "-m", "mining", "demo", "--calls", "500", "-q"], cwd=ROOT, env=env,
                           check=True, capture_output=True)
            trees = {"this": ROOT, "baseline": baseline}
            tasks = {"--help": lambda tree: [sys.executable, "-m", "mining", "--help"],
                     "info": lambda tree: [sys.executable, "-m", "mining", "info"],
                     "page imports": lambda tree: [sys.executable, "-c", PAGE_IMPORTS[tree]]}
            times: dict[tuple[str, str], list[float]] = {}
            for _ in range(args.runs):
                for task, command in tasks.items():
                    for tree, folder in trees.items():  # alternate, so load falls on both alike
                        run_env = {**env, "PYTHONPATH": str(folder)}
                        times.setdefault((task, tree), []).append(seconds(command(tree), folder, run_env))
            load = os.getloadavg()
            print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; {os.cpu_count()} cores; "
                  f"median of {args.runs} fresh processes; baseline {args.baseline}")
            print(f"{'':<14}{'this tree':>11}{'baseline':>11}{'ratio':>8}")
            for task in tasks:
                mine, theirs = (statistics.median(times[(task, tree)]) for tree in trees)
                print(f"{task:<14}{mine:>10.2f}s{theirs:>10.2f}s{mine / theirs:>8.2f}")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(baseline)], cwd=ROOT, check=False,
                           capture_output=True)


if __name__ == "__main__":
    main()
