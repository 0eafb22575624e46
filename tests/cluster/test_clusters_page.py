"""The Clusters page, run headless with AppTest on the three-mode log of failure_modes_data."""

from __future__ import annotations

import html

import pytest
from streamlit.testing.v1 import AppTest

import ui
from failure_modes_data import HTML, use_fp32_embeddings, write_failure_modes_log
from mining import jobs
from mining.cluster import (ClusterSettings, kinds_of_mode, list_clusters, list_kinds, map_figure, map_points,
                            member_source_ids, run_clustering)
from mining.ingest import ingest_paths
from paths import ROOT

PAGE = "views/clusters.py"


def start() -> AppTest:
    at = AppTest.from_file(ROOT / "app.py", default_timeout=120).run()
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


@pytest.fixture
def loaded(workspace, tmp_path):
    ingest_paths(workspace, [write_failure_modes_log(tmp_path / "modes.jsonl")])
    use_fp32_embeddings(workspace)
    return workspace


@pytest.fixture
def clustered(loaded):
    run_clustering(loaded, ClusterSettings(seed=0))
    return loaded


def test_before_any_run_the_page_explains_and_offers_the_run(loaded):
    at = start()
    assert any("No failure modes yet" in info.value for info in at.info)
    assert any(button.label == "Find failure modes" for button in at.button)


def test_the_button_runs_clustering_in_the_background(loaded):
    at = start()
    next(button for button in at.button if button.label == "Find failure modes").click().run()
    assert not at.exception
    state = jobs.wait(loaded, timeout=300)
    assert state.state == "finished"
    at.run()
    assert not at.exception
    assert at.dataframe[0].value.shape[0] == len(list_clusters(loaded)) == 3


def test_a_lead_can_form_modes_from_every_failure_one_offs_included(loaded):
    import json

    at = start()
    assert at.toggle(key="clusters_recurring").value is True
    at.toggle(key="clusters_recurring").set_value(False)
    next(button for button in at.button if button.label == "Find failure modes").click().run()
    assert jobs.wait(loaded, timeout=300).state == "finished"
    params, = loaded.cursor().execute("SELECT params FROM cluster_runs WHERE status = 'finished'").fetchone()
    assert json.loads(params)["recurring_only"] is False


def test_a_model_folder_that_does_not_exist_is_refused_before_any_work(loaded, tmp_path):
    at = start()
    at.text_input(key="clusters_model").input(str(tmp_path / "no-such-model"))
    next(button for button in at.button if button.label == "Find failure modes").click().run()
    assert any("nor a local model folder" in error.value for error in at.error)
    assert jobs.job_state(loaded) is None


def test_the_list_ranks_modes_and_a_selected_one_opens_in_detail(clustered):
    at = start()
    table = at.dataframe[0]
    ranked = list_clusters(clustered)
    assert table.value["id"].to_list() == [cluster["id"] for cluster in ranked]
    at.session_state[table.key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert any(header.value == ui.plain(ranked[0]["name"]) for header in at.subheader)
    assert {metric.label for metric in at.metric} >= {"Records", "Failure rate", "Lift", "Trend"}
    # each example: what was asked and what the model answered, in the transcript style of Records
    asked = [message for message in at.chat_message if message.name == "user"]
    answered = [message for message in at.chat_message if message.name == "assistant"]
    assert len(asked) == len(answered) >= 3
    assert all(message.text[0].value == "Please check our help centre." for message in answered)  # the failing answer
    assert any(caption.value.startswith(ui.plain("⚑ Negative feedback")) for caption in at.caption)
    assert any(text.startswith("Keywords: ") for text in (element.value for element in at.text))


def test_from_a_mode_to_exactly_its_calls_in_records(clustered):
    at = start()
    table = at.dataframe[0]
    first = list_clusters(clustered)[0]
    assert table.value["interval"][0].endswith("%")  # the rate's 95% interval, e.g. "62–94%"
    at.session_state[table.key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    links = {link.proto.query_string: link.proto for link in at.get("page_link")}
    link = links[f"mode={first['id']}"]
    assert link.page == "records" and link.label == f"Open the {first['size']} calls of this mode in Records"
    records = AppTest.from_file(ROOT / "app.py", default_timeout=120).run()
    records.query_params.update(mode=str(first["id"]))
    records.switch_page("views/records.py").run()
    assert not records.exception
    shown = set(records.dataframe[0].value["source_id"])
    assert shown == set(member_source_ids(clustered)[first["id"]])


def test_the_mode_by_kind_table_and_each_kind_opens_its_calls(workspace, tmp_path):
    ingest_paths(workspace, [write_failure_modes_log(tmp_path / "modes.jsonl", varied_answers=True)])
    use_fp32_embeddings(workspace)
    run_clustering(workspace, ClusterSettings(seed=0))
    at = start()
    kinds = list_kinds(workspace)
    assert "3 of 3 modes get: Refusal (18 calls)" in [element.value for element in at.text]
    grid = at.dataframe[1].value  # the mode x kind table: a row per mode, a column per kind
    assert list(grid.columns) == ["mode", *(f"kind_{kind['id']}" for kind in kinds)]
    assert grid.drop(columns="mode").to_numpy().sum() == 54
    links = {link.proto.query_string: link.proto for link in at.get("page_link")}
    assert all(links[f"kind={kind['id']}"].page == "records" for kind in kinds)
    at.session_state[at.dataframe[0].key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    first = list_clusters(workspace)[0]
    links = {link.proto.query_string: link.proto for link in at.get("page_link")}
    for kind in kinds_of_mode(workspace, first["id"]):
        assert links[f"mode={first['id']}&kind={kind['id']}"].label == ui.plain(f"{kind['name']}: {kind['calls']} calls")
    records = AppTest.from_file(ROOT / "app.py", default_timeout=120).run()
    records.query_params.update(kind=str(kinds[0]["id"]))
    records.switch_page("views/records.py").run()
    assert not records.exception
    assert records.dataframe[0].value.shape[0] == kinds[0]["size"]


def test_a_reviewer_renames_a_mode(clustered):
    at = start()
    at.session_state[at.dataframe[0].key] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    at.run()
    chosen = list_clusters(clustered)[1]["id"]
    at.text_input(key=f"cluster_name_{chosen}").input("Login loops after reset")
    at.session_state[ui.REVIEWER_KEY] = "ana"  # AppTest runs the page alone, without app.py's sidebar
    next(button for button in at.button if button.label == "Rename").click().run()
    assert not at.exception
    renamed = {cluster["id"]: cluster for cluster in list_clusters(clustered)}[chosen]
    assert renamed["name"] == "Login loops after reset" and renamed["renamed"]


def test_similar_search_finds_failures_like_the_query(clustered):
    at = start()
    at.text_input(key="clusters_query").input("the parcel tracking has not moved").run()
    assert not at.exception
    found = at.dataframe[-1].value
    assert found.shape[0] == 10
    assert any("racking" in text for text in found["text"][:3])


def test_map_hover_text_shows_log_html_as_text(clustered):
    points = map_points(clustered)
    figure = map_figure(points)
    hover = [text for trace in figure.data for text in trace.hovertext]
    assert len(hover) == points.height and all(trace.type == "scattergl" for trace in figure.data)
    assert not any("<img" in text or "<b>" in text for text in hover)
    assert any(html.escape(HTML[:40]) in text for text in hover)


def test_a_merged_mode_shows_its_parts_and_a_lead_keeps_one_apart_then_withdraws(loaded, cutting):
    from mining.cluster import list_keep_apart, mode_parts

    run_clustering(loaded, ClusterSettings(seed=0))
    ranked = list_clusters(loaded)
    row = next(number for number, mode in enumerate(ranked) if mode_parts(loaded, mode["id"]))
    parts = mode_parts(loaded, ranked[row]["id"])
    at = start()
    assert at.toggle(key="clusters_merge").value is True
    at.session_state[at.dataframe[0].key] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    assert any(text.value == "**Merged from 2 modes**" for text in at.markdown)
    shown = next(frame for frame in at.dataframe if "why" in frame.value.columns)
    assert shown.value["name"].to_list() == [part["name"] for part in parts]
    assert set(shown.value["why"]) == {"their calls are each other's nearest neighbours"}

    at.selectbox(key=f"keep_apart_part_{ranked[row]['id']}").select(1)
    next(button for button in at.button if button.label == "Keep this part apart").click().run()
    assert any("Enter your name" in warning.value for warning in at.warning) and not list_keep_apart(loaded)
    at.session_state[ui.REVIEWER_KEY] = "ana"
    next(button for button in at.button if button.label == "Keep this part apart").click().run()
    assert not at.exception
    assert any("the next run keeps" in success.value for success in at.success)
    decision, = list_keep_apart(loaded)
    assert decision["made_by"] == "ana"
    at.run()
    assert any(expander.label == "Kept apart (1)" for expander in at.expander)
    next(button for button in at.button if button.label == "Withdraw").click().run()
    assert not at.exception and list_keep_apart(loaded) == []


def test_a_lead_names_the_modes_with_a_local_model_from_the_page(clustered):
    import json

    from evaluate.test_evaluate_endpoint import FakeEndpoint, Reply, completion

    at = start()
    assert any(expander.label == "Name the modes with a local model (optional)" for expander in at.expander)
    next(button for button in at.button if button.label == "Name the modes").click().run()
    assert any("Give the base URL and the model." in error.value for error in at.error)
    assert jobs.job_state(clustered) is None
    with FakeEndpoint() as endpoint:
        endpoint.reply = lambda question, attempt: Reply(body=completion(json.dumps(
            {"name": "Mode about " + json.loads(question)["keywords"][0], "summary": "<b>one line</b>"})))
        at.text_input(key="clusters_naming_base_url").input(endpoint.base_url)
        at.text_input(key="clusters_naming_model").input("local-model")
        next(button for button in at.button if button.label == "Name the modes").click().run()
        assert not at.exception
        assert jobs.wait(clustered, timeout=120).state == "finished"
    modes = list_clusters(clustered)
    assert all(mode["name"].startswith("Mode about ") and mode["named_by"] == "model local-model" for mode in modes)
    at.run()
    at.session_state[at.dataframe[0].key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert any(text.value == "<b>one line</b>" for text in at.text)  # the model's text, shown as text
