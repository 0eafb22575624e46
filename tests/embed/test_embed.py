"""Embedding with the real packaged model (no mocks): vectors, the cache, text choice, offline use."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import numpy as np
import pytest

from mining.embed import vectors as embed
from mining.__main__ import main
from mining.embed.vectors import (EmbeddingSettings, embed_query, embed_records, embedding_settings, save_embedding_settings,
                          text_for, text_sql, vectors_for)
from mining.ingest import ingest_paths
from mining.store import Workspace


def ingest(workspace: Workspace, write_log, openai_line, name: str, calls: list[tuple[str, str, str]]) -> list[str]:
    """Ingest (id, question, answer) calls; the record ids, in order."""
    path = write_log(name, [openai_line(call_id, question, answer) for call_id, question, answer in calls])
    ingest_paths(workspace, [path])
    ids = [call_id for call_id, _, _ in calls]
    rows = workspace.cursor().execute(
        "SELECT source_id, record_id FROM records WHERE source_id IN (SELECT unnest(?))", [ids]).fetchall()
    by_source = dict(rows)
    return [by_source[call_id] for call_id in ids]


def cached_rows(workspace: Workspace, model_id: str = EmbeddingSettings().model_id) -> int:
    return workspace.cursor().execute("SELECT count(*) FROM embeddings WHERE model_id = ?", [model_id]).fetchone()[0]


CALLS = [
    ("c1", "How do I reset my password?", "Click 'forgot password' on the login page."),
    ("c2", "How do I reset my password?", "Use the reset link we emailed you."),
    ("c3", "What is the weather in Paris tomorrow?", "Sunny, 21 degrees."),
    ("c4", "Cancel my subscription", "Your subscription is cancelled."),
]


def test_vectors_are_unit_length_384_dims_in_the_order_asked(workspace, write_log, openai_line):
    ids = ingest(workspace, write_log, openai_line, "a.jsonl", CALLS)
    asked = [ids[3], ids[0], "no-such-record", ids[2]]
    result = vectors_for(workspace, asked)
    assert result.record_ids == [ids[3], ids[0], ids[2]]
    assert result.matrix.dtype == np.float32 and result.matrix.shape == (3, 384)
    assert np.allclose(np.linalg.norm(result.matrix, axis=1), 1.0, atol=1e-5)


def test_similar_requests_are_closer_than_unrelated_ones():
    password = embed_query("I forgot my password and cannot log in")
    assert password.shape == (384,)
    reset = embed_query("how can I reset my login password")
    weather = embed_query("will it rain in Paris tomorrow")
    assert float(password @ reset) > float(password @ weather) + 0.3


def test_the_cache_embeds_each_text_once(workspace, write_log, openai_line):
    ingest(workspace, write_log, openai_line, "a.jsonl", CALLS)
    first = embed_records(workspace)
    assert (first.records, first.texts, first.embedded, first.cached) == (4, 3, 3, 0)
    assert cached_rows(workspace) == 3  # c1 and c2 share their request

    again = embed_records(workspace)
    assert (again.embedded, again.cached) == (0, 3)
    assert cached_rows(workspace) == 3

    ingest(workspace, write_log, openai_line, "b.jsonl", [
        ("c5", "What is the weather in Paris tomorrow?", "Rain."),
        ("c6", "Where is my parcel?", "It ships tomorrow."),
    ])
    later = embed_records(workspace)
    assert (later.records, later.embedded, later.cached) == (6, 1, 3)
    assert cached_rows(workspace) == 4


def test_a_cached_vector_is_the_one_the_model_gives(workspace, write_log, openai_line):
    ids = ingest(workspace, write_log, openai_line, "a.jsonl", CALLS)
    embed_records(workspace, [ids[2]])
    (vector,) = vectors_for(workspace, [ids[2]]).matrix
    assert np.allclose(vector, embed_query(CALLS[2][1]), atol=1e-5)


def test_the_text_setting_changes_what_is_embedded(workspace, write_log, openai_line):
    ids = ingest(workspace, write_log, openai_line, "a.jsonl", CALLS[:1])
    question, answer = CALLS[0][1], CALLS[0][2]
    for text, expected in (("request", question), ("response", answer), ("both", f"{question}\n{answer}")):
        settings = EmbeddingSettings(text=text)
        (vector,) = vectors_for(workspace, ids, settings).matrix
        assert np.allclose(vector, embed_query(expected), atol=1e-5), text
    assert cached_rows(workspace) == 3


def test_records_without_text_are_left_out(workspace, write_log, openai_line):
    ids = ingest(workspace, write_log, openai_line, "a.jsonl", [("e1", "", "Hello!"), ("e2", "Hi there", "Hello!")])
    report = embed_records(workspace)
    assert (report.records, report.empty, report.embedded) == (1, 1, 1)
    assert vectors_for(workspace, ids).record_ids == [ids[1]]


@pytest.mark.parametrize("row", [
    {"cluster_text": "q", "response_text": "a"}, {"cluster_text": None, "response_text": "a"},
    {"cluster_text": "q", "response_text": ""}, {"cluster_text": "", "response_text": None},
])
@pytest.mark.parametrize("text", ["request", "response", "both"])
def test_python_and_sql_choose_the_same_text(workspace, row, text):
    (in_sql,) = workspace.cursor().execute(
        f"SELECT {text_sql(text, 'r')} FROM (SELECT ?::VARCHAR AS cluster_text, ?::VARCHAR AS response_text) r",
        [row["cluster_text"], row["response_text"]]).fetchone()
    assert in_sql == text_for(row, text)


def test_settings_round_trip_and_name_the_cache(workspace):
    assert embedding_settings(workspace) == EmbeddingSettings()
    chosen = EmbeddingSettings(text="both", max_seq_length=64, batch_size=16)
    save_embedding_settings(workspace, chosen)
    assert embedding_settings(workspace) == chosen
    assert EmbeddingSettings().model_id == "all-MiniLM-L6-v2+openvino-int8"
    assert EmbeddingSettings(backend="torch").model_id == "all-MiniLM-L6-v2"
    assert chosen.model_id == "all-MiniLM-L6-v2+openvino-int8+len64"
    with pytest.raises(ValueError, match="backend"):
        EmbeddingSettings(backend="tensorflow")
    with pytest.raises(ValueError, match="text"):
        EmbeddingSettings(text="everything")
    with pytest.raises(ValueError, match="local model folder"):
        EmbeddingSettings(model="/no/such/model").model_path


def test_models_load_offline(monkeypatch):
    """A fresh load must never reach for the network: the hub is switched off, sockets refuse."""
    def refuse(*args, **kwargs):
        raise AssertionError("the embedding model tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(embed, "_models", {})
    settings = EmbeddingSettings(backend="torch", max_seq_length=32)
    model = embed.load_model(settings)
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert model.model.max_seq_length == 32
    assert embed_query("offline", settings).shape == (384,)


@pytest.mark.parametrize("backend, dims, agreement", [
    ("onnx", 384, 0.999), ("onnx-int8", 384, 0.97), ("openvino", 384, 0.999), ("openvino-int8", 384, 0.97),
    ("static", 256, None)])
def test_every_backend_gives_unit_vectors_that_keep_meaning(backend, dims, agreement):
    """Exported backends agree with the torch model; the static one at least keeps meaning."""
    settings = EmbeddingSettings(backend=backend)
    texts = ["I forgot my password and cannot log in", "how can I reset my login password",
             "will it rain in Paris tomorrow"]
    vectors = embed.encode(texts, settings)
    assert vectors.shape == (3, dims) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
    if agreement:
        reference = embed.encode(texts, EmbeddingSettings(backend="torch"))
        assert np.all(np.sum(vectors * reference, axis=1) > agreement)
    assert settings.model_id == f"all-MiniLM-L6-v2+{backend}"


def test_exported_models_are_built_locally_and_offline(tmp_path, monkeypatch):
    """An empty model cache is filled from the packaged model alone, with sockets refusing."""
    def refuse(*args, **kwargs):
        raise AssertionError("building a model tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setenv("FAULTLINE_MODEL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(embed, "_models", {})
    assert embed_query("offline").shape == (384,)  # the default backend, openvino-int8
    built = sorted(path.name for path in (tmp_path / "cache").glob("*/*"))
    assert built == ["onnx", "openvino-int8"]


def test_cli_embeds_then_finds_everything_cached(workspace, write_log, openai_line, capsys):
    ingest(workspace, write_log, openai_line, "a.jsonl", CALLS)
    path = str(workspace.path)
    assert main(["-w", path, "embed", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["embedded"] == 3
    assert main(["-w", path, "embed", "--text", "response", "--save", "--quiet"]) == 0
    assert "4 texts embedded, 0 already cached" in capsys.readouterr().out
    assert embedding_settings(Workspace.open(Path(path))).text == "response"
    assert main(["-w", path, "embed", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cached"] == 4
    assert main(["-w", path, "embed", "--model", "/no/such/model"]) == 1
