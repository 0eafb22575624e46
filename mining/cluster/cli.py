"""The `cluster` and `clusters` commands: group the failures into failure modes, and list them."""

from __future__ import annotations

import argparse
import json

from mining.cli_base import EXIT_OK, AddCommand, CommandFailed, progress_bar
from mining.common import plural
from mining.cluster.algorithms import ALGORITHMS
from mining.cluster.run import SCOPES
from mining.cluster.sample_fit import FIT_SAMPLE
from mining.embed import TEXT_CHOICES
from mining.scale.cli import add_ray_arguments, ray_engine
from mining.store import Workspace


def command_cluster(workspace: Workspace, args: argparse.Namespace) -> int:
    from dataclasses import replace

    from mining.cluster.run import ClusterSettings, ClusteringError, run_clustering
    from mining.embed import embedding_settings

    try:
        settings = ClusterSettings(algorithm=args.algorithm, scope=args.scope, attach_unclustered=not args.no_attach,
                                   min_cluster_size=args.min_cluster_size, seed=args.seed,
                                   merge_similar=not args.no_merge, recurring_only=not args.include_one_offs,
                                   fit_sample=None if args.fit_sample == 0 else args.fit_sample)
        embedding = embedding_settings(workspace)
        embedding = replace(embedding, text=args.text) if args.text else embedding
    except ValueError as exc:
        raise CommandFailed(str(exc)) from exc
    with ray_engine(args) as engine:
        update, close = progress_bar(not args.quiet and not args.json)
        try:
            summary = run_clustering(workspace, settings, embedding, update,
                                     encoder=engine.encode_chunks if engine else None,
                                     assigner=engine.assign_rows if engine else None)
        except ClusteringError as exc:
            raise CommandFailed(str(exc)) from exc
        finally:
            close()
    print(json.dumps(summary.as_json(), indent=2) if args.json else summary.describe())
    return EXIT_OK


EXAMPLE_CHARS = 100  # an example request on one line of a terminal


def _one_line(text: str | None) -> str:
    """A text on one line, cut at EXAMPLE_CHARS with an ellipsis, quoted so its ends are visible."""
    flat = " ".join((text or "").split())
    return f'"{flat if len(flat) <= EXAMPLE_CHARS else flat[:EXAMPLE_CHARS - 1] + "…"}"'


def command_clusters(workspace: Workspace, args: argparse.Namespace) -> int:
    from mining.cluster.views import NOISE, example_texts, latest_run, list_clusters, member_source_ids

    if latest_run(workspace) is None:
        raise CommandFailed("no clustering run yet: run `faultline cluster` first")
    clusters = list_clusters(workspace)
    members = member_source_ids(workspace) if args.members else {}
    rows = []
    for cluster in clusters:
        examples = example_texts(workspace, cluster["examples"])
        rows.append({"id": cluster["id"], "name": cluster["name"], "size": cluster["size"],
                     "failures": cluster["failures"], "failure_rate": cluster["failure_rate"], "lift": cluster["lift"],
                     "failure_rate_low": cluster["failure_rate_low"], "failure_rate_high": cluster["failure_rate_high"],
                     "status": cluster["status"], "keywords": cluster["keywords"],
                     "examples": [example["source_id"] for example in examples],
                     "example_texts": [example["text"] for example in examples],
                     **({"members": members.get(cluster["id"], [])} if args.members else {})})
    unclustered = members.get(NOISE, []) if args.members else None
    if args.json:
        if unclustered:
            rows.append({"id": NOISE, "name": "unclustered", "size": len(unclustered), "failures": None,
                         "failure_rate": None, "failure_rate_low": None, "failure_rate_high": None, "lift": None,
                         "status": None, "keywords": [], "examples": [], "example_texts": [], "members": unclustered})
        print(json.dumps(rows, indent=2, default=str, ensure_ascii=False))
        return EXIT_OK
    for row in rows:
        rate = "-" if row["failure_rate"] is None else f"{row['failure_rate']:.0%}" + (
            f" ({row['failure_rate_low']:.0%}-{row['failure_rate_high']:.0%})" if row["failure_rate_low"] is not None else "")
        lift = "-" if row["lift"] is None else f"{row['lift']:.1f}x"
        print(f"{row['id']:>4}  {row['name']}  {plural(row['size'], 'call')}  failure rate {rate}  lift {lift}  "
              f"{row['status']}")
        for text in row["example_texts"][:3]:
            print(f"      {_one_line(text)}")
        if args.members:
            print(f"      members {', '.join(row['members'])}")
    if unclustered:
        print(f"{NOISE:>4}  unclustered  {plural(len(unclustered), 'call')}\n      members {', '.join(unclustered)}")
    return EXIT_OK


def command_name_modes(workspace: Workspace, args: argparse.Namespace) -> int:
    from mining.cluster.model_names import name_with_model
    from mining.endpoint import EndpointConfig, EndpointError

    try:
        config = EndpointConfig(base_url=args.endpoint, model=args.model, api_key_env=args.api_key_env or None,
                                concurrency=args.concurrency, timeout_s=args.timeout)
    except ValueError as exc:
        raise CommandFailed(str(exc)) from exc
    update, close = progress_bar(not args.quiet and not args.json)
    try:
        report = name_with_model(workspace, config, progress=update)
    except EndpointError as exc:
        raise CommandFailed(str(exc)) from exc
    finally:
        close()
    if args.json:
        print(json.dumps({"named": report.named, "kept": {str(key): value for key, value in report.kept.items()}},
                         indent=2))
    else:
        print(report.describe())
        for cluster_id, reason in sorted(report.kept.items()):
            print(f"  mode {cluster_id} kept its keyword name: {reason}")
    return EXIT_OK


def add_commands(add: AddCommand) -> None:
    """Register `cluster`, `clusters` and `name-modes` with the entry point's `add(name, handler, help)`."""
    cluster = add("cluster", command_cluster,
                  "Embed what is not cached yet and group the failures into failure modes.")
    cluster.add_argument("--algorithm", "-a", choices=ALGORITHMS, default="hdbscan",
                         help="hdbscan (default: finds how many modes) or kmeans (k chosen by silhouette)")
    cluster.add_argument("--scope", choices=SCOPES, default="failures", help="cluster the failures (default) or all records")
    cluster.add_argument("--text", choices=TEXT_CHOICES, help="what is compared (default: the embedding setting)")
    cluster.add_argument("--min-cluster-size", type=int, metavar="N", help="smallest mode (default: from the count)")
    cluster.add_argument("--no-attach", action="store_true", help="leave outliers unclustered instead of attaching "
                                                                  "those within a mode's reach")
    cluster.add_argument("--no-merge", action="store_true", help="keep every group the clusterer finds, even two "
                                                                 "that are one problem (see mining/cluster/merge.py)")
    cluster.add_argument("--include-one-offs", action="store_true",
                         help="form modes from every failure; by default a failure whose nearest calls mostly pass "
                              "joins a mode only when it lies within it (see mining/cluster/recurrence.py)")
    cluster.add_argument("--fit-sample", type=int, default=FIT_SAMPLE, metavar="N",
                         help=f"with more failures than N, find the modes on a fixed sample of N and place the others "
                              f"in them (default {FIT_SAMPLE:,}; 0: group every failure)")
    add_ray_arguments(cluster)
    cluster.add_argument("--seed", type=int, help="fix the randomness so that a run can be repeated exactly")
    cluster.add_argument("--json", action="store_true", help="print the run's summary as JSON")
    cluster.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

    clusters = add("clusters", command_clusters, "List the failure modes of the latest run, biggest impact first.")
    clusters.add_argument("--json", action="store_true", help="a JSON list of objects (id, name, size, failure_rate, "
                                                              "lift, status, examples, ...)")
    clusters.add_argument("--members", action="store_true", help="with every member's id as the source gave it; "
                                                                 "unclustered failures under id -1")

    naming = add("name-modes", command_name_modes,
                 "Name the latest run's failure modes (and summarise each) with a local OpenAI-compatible model.")
    naming.add_argument("--endpoint", required=True, metavar="URL", help="base URL, e.g. http://127.0.0.1:8000/v1")
    naming.add_argument("--model", required=True, help="the model name the endpoint serves")
    naming.add_argument("--api-key-env", metavar="VAR", help="environment variable holding the API key (default: "
                                                             "none sent)")
    naming.add_argument("--concurrency", type=int, default=4, help="requests at once (default 4)")
    naming.add_argument("--timeout", type=float, default=60.0, help="seconds per request (default 60)")
    naming.add_argument("--json", action="store_true", help="print how many were named, and why others were not")
    naming.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
