"""Names and summaries of modes from a local OpenAI-compatible model (a real HTTP server on
127.0.0.1), with the keyword names kept wherever the model's answer is not usable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluate.test_evaluate_endpoint import FakeEndpoint, Reply, completion
from mining.__main__ import main
from mining.cluster import ClusterSettings, cluster_detail, list_clusters, rename_cluster, run_clustering
from mining.cluster.model_names import parse_naming

from cluster.test_cluster import _load


@pytest.fixture
def clustered(workspace, tmp_path: Path):
    _load(workspace, tmp_path)
    run_clustering(workspace, ClusterSettings(seed=0))
    return workspace


def test_parse_naming_takes_one_json_object_and_refuses_what_is_not_a_name():
    assert parse_naming('Sure! {"name": "Refund  policy\\nquestions", "summary": "Asks about refunds."}') == (
        "Refund policy questions", "Asks about refunds.")
    for answer, reason in (("Refunds", "not a JSON object"), ('{"name": ""}', "no name"),
                           ('{"name": "' + "x" * 61 + '"}', "longer than 60"), ("{'name': 1}", "not valid JSON")):
        with pytest.raises(ValueError, match=reason):
            parse_naming(answer)


def test_modes_are_named_and_summarised_renamed_and_unusable_ones_keep_their_names(clustered, capsys):
    modes = list_clusters(clustered)
    renamed, broken, *named = modes
    rename_cluster(clustered, renamed["id"], "Ana's name", "ana")

    def reply(question: str, attempt: int) -> Reply:
        data = json.loads(question)
        if data["keywords"] == broken["keywords"]:
            return Reply(body=completion("I cannot name this."))
        return Reply(body=completion(json.dumps({"name": f"About {data['keywords'][0]}",
                                                 "summary": f"{len(data['example_requests'])} examples"})))

    with FakeEndpoint() as endpoint:
        endpoint.reply = reply
        assert main(["--workspace", str(clustered.path), "name-modes", "--endpoint", endpoint.base_url,
                     "--model", "local-model", "--quiet"]) == 0
        asked = [json.loads(body["messages"][-1]["content"]) for _, body in endpoint.requests]
    out = capsys.readouterr().out
    assert f"{len(named)} failure modes named by the model; 1 kept their keyword names" in out
    assert f"mode {broken['id']} kept its keyword name: the answer is not a JSON object" in out
    assert renamed["keywords"] not in [question["keywords"] for question in asked]  # a reviewer's name is not asked for
    assert all(1 <= len(question["example_requests"]) <= 5 for question in asked)
    for mode in named:
        shown = cluster_detail(clustered, mode["id"])
        assert shown["name"] == f"About {mode['keywords'][0]}"
        assert shown["summary"].endswith("examples") and shown["named_by"] == "model local-model"
    assert cluster_detail(clustered, broken["id"])["name"] == broken["name"]
    assert cluster_detail(clustered, renamed["id"])["name"] == "Ana's name"

    run_clustering(clustered, ClusterSettings(seed=0))  # next week's run keeps the model's names and summaries
    again = {mode["name"]: mode for mode in list_clusters(clustered)}
    for mode in named:
        assert again[f"About {mode['keywords'][0]}"]["named_by"] == "model local-model"


def test_a_name_another_mode_has_is_not_taken(clustered):
    from mining.cluster.model_names import name_with_model
    from mining.endpoint import EndpointConfig

    first = list_clusters(clustered)[0]
    with FakeEndpoint() as endpoint:
        endpoint.reply = lambda question, attempt: Reply(body=completion(json.dumps({"name": first["name"].upper()})))
        report = name_with_model(clustered, EndpointConfig(endpoint.base_url, "m", api_key_env=None))
    assert report.named == 1 and len(report.kept) == len(list_clusters(clustered)) - 1
    assert all("already named" in reason for reason in report.kept.values())
