"""Clustering end to end on a small log with three obvious failure modes, and its stages one by one.

The log (tests/failure_modes_data.py) has 18 failing calls each about refunds, log-in trouble and
parcel tracking, and passing calls on other topics. A person would name the three modes at a
glance; so must Faultline, and it must keep their ids, names and trends across runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from failure_modes_data import MODES, failure_mode_lines, use_fp32_embeddings, write_failure_modes_log
from mining import jobs
from mining.__main__ import main
from mining.cluster import (ClusterSettings, ClusteringError, cluster_detail, latest_run, list_clusters, map_points,
                            member_source_ids, rename_cluster, run_clustering, similar_records)
from mining.cluster.algorithms import NOISE, Assignment, attach_noise, candidate_ks, default_min_cluster_size
from mining.cluster.identity import ClusterShape, match_clusters, trend
from mining.cluster.labels import class_tfidf_keywords, distinct_name, name_from_keywords
from mining.ingest import ingest_paths
from mining.store import Workspace

MODE_WORDS = {"refund": {"refund", "charged", "charge"}, "login": {"password", "login", "log", "sign"},
              "shipping": {"tracking", "parcel", "package", "delivery", "delivered"}}


def _load(workspace: Workspace, tmp_path: Path) -> None:
    ingest_paths(workspace, [write_failure_modes_log(tmp_path / "modes.jsonl")])
    use_fp32_embeddings(workspace)


def _mode_of(source_id: str) -> str | None:
    mode = source_id.split("-")[0]
    return mode if mode in MODES else None


def _cluster_of_each_mode(workspace: Workspace) -> dict[str, int]:
    """The cluster holding most of each mode's calls; asserts it holds nearly all and nothing else."""
    members = member_source_ids(workspace)
    found = {}
    for mode, texts in MODES.items():
        counts = {cluster: sum(_mode_of(s) == mode for s in ids) for cluster, ids in members.items() if cluster != NOISE}
        best = max(counts, key=counts.get)
        assert counts[best] >= len(texts) - 2, (mode, counts)
        assert all(_mode_of(s) == mode for s in members[best]), (mode, members[best])
        found[mode] = best
    assert len(set(found.values())) == 3
    return found


@pytest.fixture
def clustered(workspace: Workspace, tmp_path: Path) -> Workspace:
    _load(workspace, tmp_path)
    run_clustering(workspace, ClusterSettings(seed=0))
    return workspace


def test_each_failure_mode_becomes_one_cluster_named_by_its_words(clustered):
    found = _cluster_of_each_mode(clustered)
    by_id = {cluster["id"]: cluster for cluster in list_clusters(clustered)}
    for mode, cluster_id in found.items():
        cluster = by_id[cluster_id]
        assert set(cluster["name"].replace(",", " ").split()) & MODE_WORDS[mode], cluster["name"]
        assert set(" ".join(cluster["keywords"]).split()) & MODE_WORDS[mode]
        assert cluster["status"] == "new"


def test_cluster_numbers_add_up(clustered):
    total_records = clustered.cursor().execute("SELECT count(*) FROM records").fetchone()[0]
    failures = clustered.cursor().execute("SELECT count(DISTINCT record_id) FROM signals").fetchone()[0]
    overall = failures / total_records
    for cluster in list_clusters(clustered):
        assert cluster["failures"] == cluster["size"]  # only failures were clustered
        # every refund, login or shipping call failed; the passing calls ask about other things
        assert cluster["failure_rate"] >= 0.9 and cluster["failure_rate_low"] <= cluster["failure_rate"] <= 1
        assert cluster["lift"] == pytest.approx(cluster["failure_rate"] / overall)
        assert cluster["lift"] > 1.5  # the passing calls are about other things
        assert sum(week["count"] for week in cluster["weekly"]) == cluster["size"]
        assert [week["week"] for week in cluster["weekly"]] == sorted(week["week"] for week in cluster["weekly"])
        assert cluster["first_seen"] <= cluster["last_seen"]
        assert 3 <= len(cluster["examples"]) <= 5


def test_examples_are_central_distinct_members(clustered):
    members = member_source_ids(clustered)
    for cluster in list_clusters(clustered):
        detail = cluster_detail(clustered, cluster["id"])
        texts = [example["text"] for example in detail["examples"]]
        assert len(set(texts)) == len(texts)
        assert {example["source_id"] for example in detail["examples"]} <= set(members[cluster["id"]])


def test_map_places_every_point_with_its_text(clustered):
    points = map_points(clustered)
    assert points.height == len(failure_mode_lines()) - 36  # the 36 passing calls are not clustered
    assert points["x"].null_count() == 0 and points["y"].null_count() == 0
    assert points.filter(points["text"].str.contains("<img", literal=True)).height == 1


def test_a_rerun_keeps_ids_names_and_renames(clustered, tmp_path):
    before = _cluster_of_each_mode(clustered)
    rename_cluster(clustered, before["refund"], "Refund chasers", "ana")
    names = {cluster["id"]: cluster["name"] for cluster in list_clusters(clustered)}
    run_clustering(clustered, ClusterSettings(seed=1))
    after = _cluster_of_each_mode(clustered)
    assert after == before
    clusters = {cluster["id"]: cluster for cluster in list_clusters(clustered)}
    assert clusters[after["refund"]]["name"] == "Refund chasers"
    assert clusters[after["login"]]["name"] == names[before["login"]]
    assert {clusters[cluster_id]["status"] for cluster_id in after.values()} == {"stable"}


def test_another_week_marks_growth_and_new_modes(clustered, openai_line, write_log):
    before = _cluster_of_each_mode(clustered)
    refunds = [openai_line(f"refund-late-{n}", f"Refund for duplicate charge on order {9000 + n} never came",
                           "Please check our help centre.", ts="2026-11-10T10:00:00Z", thumbs="down")
               for n in range(8)]
    recipes = [openai_line(f"recipe-{n}", text, "Please check our help centre.", ts="2026-11-10T11:00:00Z",
                           thumbs="down")
               for n, text in enumerate([
                   "How long should I bake banana bread?", "Give me a recipe for banana bread with walnuts",
                   "Banana bread recipe without eggs please", "My banana bread is raw in the middle, why?",
                   "What flour is best for banana bread?", "Can I freeze banana bread dough?",
                   "Banana bread came out dry, how to fix the recipe?", "Vegan banana bread recipe?",
                   "How many bananas go into one loaf of banana bread?", "Banana bread baking temperature?",
                   "Is baking soda or baking powder better for banana bread?", "Banana bread sank in the middle",
                   "Chocolate chip banana bread recipe please", "Can banana bread be made in a muffin tin?"])]
    ingest_paths(clustered, [write_log("week.jsonl", refunds + recipes)])
    run_clustering(clustered, ClusterSettings(seed=0))
    after = _cluster_of_each_mode(clustered)
    assert after == before
    clusters = {cluster["id"]: cluster for cluster in list_clusters(clustered)}
    assert clusters[after["refund"]]["status"] == "growing"
    new = [cluster for cluster in clusters.values() if cluster["status"] == "new"]
    assert len(new) == 1 and "banana" in new[0]["name"]
    assert new[0]["id"] > max(before.values())


def test_matching_pairs_by_direction_and_members_and_reports_gone():
    east, north, west = np.eye(3, dtype=np.float32)
    previous = {4: ClusterShape(east, frozenset("abcd")), 7: ClusterShape(north, frozenset("efgh")),
                9: ClusterShape(west, frozenset("ij"))}
    new = {0: ClusterShape(north, frozenset("efghklmn")), 1: ClusterShape(east, frozenset("ab")),
           2: ClusterShape((north + west) / np.sqrt(2), frozenset("xyz"))}
    identities, gone = match_clusters(new, previous, next_id=10)
    assert identities[0].cluster_id == 7 and identities[0].status == "growing"
    assert identities[1].cluster_id == 4 and identities[1].status == "shrinking"
    assert identities[2].cluster_id == 10 and identities[2].status == "new" and identities[2].previous_id is None
    assert gone == [9]
    assert trend(10, 10) == "stable" and trend(11, 10) == "stable" and trend(12, 10) == "growing"


def test_attach_only_joins_points_within_a_clusters_reach():
    vectors = np.array([[1, 0], [0.99, 0.14], [0.98, 0.2], [0, 1], [0.14, 0.99], [0.995, 0.1], [-1, 0]], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = np.array([0, 0, 0, 1, 1, NOISE, NOISE])
    attached = attach_noise(vectors, Assignment(labels, np.ones(7)))
    assert attached.labels.tolist() == [0, 0, 0, 1, 1, 0, NOISE]


def test_class_tfidf_prefers_words_that_set_a_cluster_apart():
    texts = ["refund my order please", "order refund please", "please track my order", "order tracking please"]
    keywords = class_tfidf_keywords(texts, np.array([0, 0, 1, 1]))
    assert keywords[0][0] == "refund" and "track" in keywords[1][0]
    assert "order" not in keywords[0][:1] and "please" not in keywords[0]  # shared and stop words sink
    assert name_from_keywords(["refund", "charged twice", "card", "bank"], "mode 0") == "refund, charged twice, card"
    assert name_from_keywords([], "mode 3") == "mode 3"


def test_a_new_mode_never_takes_a_name_another_mode_has():
    taken = {"refund, card"}
    assert distinct_name("login, password", ["login", "password"], taken, 3) == "login, password"
    assert distinct_name("Refund, card", ["refund", "card", "bank"], taken, 4) == "Refund, card, bank"
    assert distinct_name("refund, card", ["refund", "card"], taken, 5) == "refund, card (mode 5)"


def test_sizes_and_candidate_ks_follow_the_number_of_points():
    assert default_min_cluster_size(300) == 10 and default_min_cluster_size(100_000) == 50
    assert candidate_ks(15, 10) == []
    assert candidate_ks(1000, 10)[0] == 2 and candidate_ks(1000, 10)[-1] == 100


def test_kmeans_separates_the_modes_too(workspace, tmp_path):
    _load(workspace, tmp_path)
    run_clustering(workspace, ClusterSettings(algorithm="kmeans", seed=0))
    _cluster_of_each_mode(workspace)
    assert latest_run(workspace)["algorithm"] == "kmeans"


def test_similar_failures_for_a_record_and_for_free_text(clustered):
    near = similar_records(clustered, query="my parcel never arrived and tracking is stuck", k=5)
    assert near.height == 5 and all(_mode_of(s) == "shipping" for s in near["source_id"])
    assert near["similarity"].to_list() == sorted(near["similarity"].to_list(), reverse=True)
    record_id = clustered.cursor().execute("SELECT record_id FROM records WHERE source_id = 'login-03'").fetchone()[0]
    near = similar_records(clustered, record_id=record_id, k=4)
    assert record_id not in near["record_id"].to_list()
    assert all(_mode_of(s) == "login" for s in near["source_id"])
    assert near["cluster_name"].null_count() == 0


def test_nothing_to_cluster_says_so_and_keeps_the_last_run(workspace):
    with pytest.raises(ClusteringError, match="no failures to cluster"):
        run_clustering(workspace)
    assert latest_run(workspace) is None
    assert workspace.cursor().execute("SELECT status FROM cluster_runs").fetchall() == [("failed",)]


def test_background_job_runs_once_at_a_time(workspace, tmp_path):
    _load(workspace, tmp_path)
    assert jobs.start_clustering(workspace)
    assert not jobs.start_clustering(workspace)  # the second click starts nothing
    state = jobs.wait(workspace, timeout=300)
    assert state.state == "finished" and state.fraction == 1.0 and "failure modes" in state.message
    assert latest_run(workspace) is not None


def test_background_job_reports_failure(workspace):
    assert jobs.start_clustering(workspace)
    state = jobs.wait(workspace, timeout=60)
    assert state.state == "failed" and "no failures to cluster" in state.error


def test_cli_cluster_then_clusters_json_with_members(workspace, tmp_path, capsys):
    _load(workspace, tmp_path)
    assert main(["--workspace", str(workspace.path), "cluster", "--seed", "0", "--quiet"]) == 0
    assert "failure modes" in capsys.readouterr().out
    assert main(["--workspace", str(workspace.path), "clusters", "--json", "--members"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"id", "name", "size", "failure_rate", "lift", "status", "examples", "members"} <= set(rows[0])
    members = [source for row in rows for source in row["members"]]
    failing = [line["id"] for line in failure_mode_lines() if line["feedback"]["thumbs"] == "down"]
    assert sorted(members) == sorted(failing)
    assert all(set(row["examples"]) <= set(row["members"]) for row in rows)
    assert all(len(row["example_texts"]) == len(row["examples"]) for row in rows)
    modes = [row for row in rows if row["id"] != NOISE]
    assert all(row["failure_rate_low"] <= row["failure_rate"] <= row["failure_rate_high"] for row in modes)


def test_cli_clusters_shows_what_each_mode_is_about_not_ids(clustered, capsys):
    """A newcomer reads the modes: each line names the mode, then up to three example requests as text."""
    assert main(["--workspace", str(clustered.path), "clusters"]) == 0
    out = capsys.readouterr().out
    modes = [line for line in out.splitlines() if not line.startswith(" " * 6)]
    examples = [line.strip() for line in out.splitlines() if line.startswith(" " * 6)]
    assert len(modes) == len([c for c in list_clusters(clustered)]) and "lift" in modes[0]
    texts = {line["request"]["messages"][-1]["content"] for line in failure_mode_lines()}
    shown = [line[1:-1].removesuffix("…") for line in examples if line.startswith('"') and line.endswith('"')]
    assert examples and len(shown) == len(examples)
    assert all(any(" ".join(text.split()).startswith(part) for text in texts) for part in shown), shown
    assert not any(source_id in out for ids in member_source_ids(clustered).values() for source_id in ids)


def test_cli_clusters_before_any_run_fails_clearly(workspace, capsys):
    assert main(["--workspace", str(workspace.path), "clusters"]) == 1
    assert "no clustering run yet" in capsys.readouterr().err


def test_names_leave_out_chat_filler_and_say_a_shorthand_once():
    """The demo's "hello max", "vm thx" and "acc, account acc": greetings and thanks name nothing."""
    texts = ["hello, my vm is slow thx", "hi there vm so slow pls help", "hello vm very slow thanks",
             "hey vm slow again thank you", "acc locked", "my acc is locked, account locked",
             "account acc locked out", "locked out of acc"]
    keywords = class_tfidf_keywords(texts, np.array([0, 0, 0, 0, 1, 1, 1, 1]))
    filler = {"hello", "hi", "hey", "thx", "thanks", "thank", "pls"}
    assert not any(word in filler for words in keywords.values() for keyword in words for word in keyword.split())
    assert name_from_keywords(keywords[0], "x").startswith(("slow", "vm"))
    said = [word for keyword in keywords[1] for word in keyword.split()]
    assert not ("acc" in said and "account" in said), keywords[1]  # one concept, said once
