"""How good the small reader's suggestions are (mining/review/suggest.py), on public logs with known truth.

Run by hand: `python bench/suggest_quality.py [DATA] [--name clinc150|banking77] [--seeds 0 1 2]`.

The log is ingested into a temporary workspace, clustered (default settings, seed 0), and reviewed by
a simulated reviewer who follows a fixed policy from the truth file: every failure is a hard example,
tagged with what the answer did (which of the log's four wrong answers it got: answer_1..4) and,
for a failing intent, with the intent (the
mode's problem; a one-off failure gets no intent tag). Then:

1. Quality on a held-out half: per seed, half of the failures (stratified by intent) are reviewed,
   the reader learns from them, and its suggestions for the other half are scored against the
   policy: verdict accuracy, F1 per tag (tag suggested vs tag the policy gives), and the share of
   calls whose suggestion is exactly the review (verdict and every tag), which a reviewer accepts
   with one save instead of choosing: the reviews it saves. Beside it, the baseline a reviewer has
   without a reader: each held-out call gets its failure mode's most common review.
2. Reaching every failing intent: reviews needed until each failing intent has a reviewed failure,
   in the Review queue's priority order (its default) and in the reader's uncertainty order (after
   the first 10 in queue order, the 10 calls the reader is least sure of, retrained after each 10).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BATCH = 10


def policy(truth: dict, failing: set[str], answer_tags: dict[str, str], source_id: str,
           answer: str) -> tuple[str, tuple[str, ...]]:
    intent = truth["records"][source_id]["intent"]
    return "hard_example", tuple(sorted([answer_tags[answer]] + ([f"intent_{intent}"] if intent in failing else [])))


def tag_f1(tags: list[str], said: list[tuple[str, ...]], true: list[tuple[str, ...]]) -> dict[str, float]:
    """F1 of each tag: the tags suggested for each call against the tags the policy gives it."""
    scores = {}
    for tag in tags:
        given = np.array([tag in tagged for tagged in said])
        wanted = np.array([tag in tagged for tagged in true])
        scores[tag] = float(2 * np.sum(given & wanted) / max(np.sum(given) + np.sum(wanted), 1))
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=str(ROOT.parent / "shared" / "benchmarks"))
    parser.add_argument("--name", default="clinc150")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    from sklearn.model_selection import train_test_split

    from mining.cluster import ClusterSettings, member_source_ids, run_clustering
    from mining.embed import embed_records, embedding_settings
    from mining.ingest import ingest_paths
    from mining.review import QueueFilter, queue_record_ids
    from mining.review.suggest import features, train_reader
    from mining.store import Workspace

    data = Path(args.data)
    truth = json.loads((data / f"{args.name}_truth.json").read_text())
    failing = set(truth["failing_intents"])
    with tempfile.TemporaryDirectory() as folder:
        workspace = Workspace.open(Path(folder) / "bench.duckdb")
        ingest_paths(workspace, [data / f"{args.name}_openai.jsonl"])
        settings = embedding_settings(workspace)
        embed_records(workspace, settings=settings)
        embed_records(workspace, settings=replace(settings, text="response"))
        run_clustering(workspace, ClusterSettings(seed=0))
        order = queue_record_ids(workspace, QueueFilter())
        rows = dict((row[0], row[1:]) for row in workspace.cursor().execute(
            "SELECT record_id, source_id, response_text FROM records").fetchall())
        wrong = sorted({rows[record_id][1] for record_id in order})  # each wrong answer is a kind of its own
        answer_tags = {answer: f"answer_{number + 1}" for number, answer in enumerate(wrong)}
        labels = {record_id: policy(truth, failing, answer_tags, *rows[record_id]) for record_id in order}
        intents = {record_id: truth["records"][rows[record_id][0]]["intent"] for record_id in order}
        ids, matrix = features(workspace, order)
        mode_of = {source: mode for mode, members in member_source_ids(workspace).items() for source in members}
        mode_of = {record_id: mode_of.get(rows[record_id][0], -1) for record_id in order}
        row_of = {record_id: row for row, record_id in enumerate(ids)}
        tags = sorted({tag for _, tagged in labels.values() for tag in tagged})
        print(f"{args.name}: {len(order)} failures, {len(tags)} tags ({len(failing)} intents + {len(wrong)} answers)")

        results = []
        for seed in args.seeds:
            strata = [intents[record_id] if intents[record_id] in failing else "one-off" for record_id in ids]
            seen, held = train_test_split(ids, test_size=0.5, random_state=seed, stratify=strata)
            reader = train_reader(workspace, {record_id: labels[record_id] for record_id in seen})
            suggested = reader.suggest(matrix[[row_of[record_id] for record_id in held]])
            verdict = np.mean([s.verdict == labels[r][0] for s, r in zip(suggested, held)])
            exact = np.mean([(s.verdict, tuple(sorted(t for t, _ in s.tags))) == labels[r] for s, r in zip(suggested, held)])
            truth = [labels[record_id][1] for record_id in held]
            f1 = tag_f1(tags, [tuple(tag for tag, _ in s.tags) for s in suggested], truth)
            # the baseline: each held-out call gets its mode's most common review among the reviewed calls
            by_mode: dict[int, list[tuple[str, ...]]] = {}
            for record_id in seen:
                by_mode.setdefault(mode_of.get(record_id, -1), []).append(labels[record_id][1])
            majority = {mode: max(set(given), key=given.count) for mode, given in by_mode.items()}
            guessed = [majority.get(mode_of.get(record_id, -1), ()) for record_id in held]
            base_exact = np.mean([("hard_example", tagged) == labels[r] for tagged, r in zip(guessed, held)])
            base_f1 = tag_f1(tags, guessed, truth)
            results.append((verdict, exact, f1, base_exact, base_f1))
            print(f"seed {seed}: verdict accuracy {verdict:.3f}, suggestion = review {exact:.3f} (mode majority "
                  f"{base_exact:.3f}), mean tag F1 {np.mean(list(f1.values())):.3f} (mode majority "
                  f"{np.mean(list(base_f1.values())):.3f})", flush=True)

        def reviews_to_touch_all(sequence: list[str]) -> int:
            touched: set[str] = set()
            for number, record_id in enumerate(sequence, 1):
                if intents[record_id] in failing:
                    touched.add(intents[record_id])
                if touched == failing:
                    return number
            return len(sequence)

        by_uncertainty = list(order[:BATCH])
        while len(by_uncertainty) < len(order):
            reader = train_reader(workspace, {record_id: labels[record_id] for record_id in by_uncertainty})
            rest = [record_id for record_id in order if record_id not in set(by_uncertainty) and record_id in row_of]
            if reader is None or not rest:
                by_uncertainty += [record_id for record_id in order if record_id not in set(by_uncertainty)][:BATCH]
                continue
            unsure = reader.suggest(matrix[[row_of[record_id] for record_id in rest]])
            doubt = [suggestion.doubt for suggestion in unsure]  # as the queue's "uncertain" order ranks them
            by_uncertainty += [rest[index] for index in np.argsort(doubt)[::-1][:BATCH]]
        Workspace.close_all()

    print()
    def spread(values: list[float]) -> str:
        return f"{np.mean(values):.3f} ({min(values):.3f}-{max(values):.3f})"

    print("| figure | the reader | the mode's most common review (baseline) |")
    print("|---|---:|---:|")
    print(f"| verdict accuracy | {spread([r[0] for r in results])} | 1.000 (every failure is a hard example) |")
    print(f"| suggestion = the review (accepted with one save) | {spread([r[1] for r in results])} "
          f"| {spread([r[3] for r in results])} |")
    print(f"| mean tag F1 | {spread([np.mean(list(r[2].values())) for r in results])} "
          f"| {spread([np.mean(list(r[4].values())) for r in results])} |")
    for tag in tags:
        print(f"| F1 {tag} | {spread([r[2][tag] for r in results])} | {spread([r[4][tag] for r in results])} |")
    print()
    print(f"reviews until every failing intent has one: priority order {reviews_to_touch_all(order)}, "
          f"uncertainty order {reviews_to_touch_all(by_uncertainty)} (of {len(order)} failures)")


if __name__ == "__main__":
    main()
