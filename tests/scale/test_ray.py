"""Embedding and clustering on a real Ray cluster (mining/scale/ray_engine.py), started by this module
on 127.0.0.1 with token authentication and stopped at its end: the same vectors and the same modes
as the local path, on the same input."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from failure_modes_data import use_fp32_embeddings, write_failure_modes_log
from mining.__main__ import main
from mining.cluster import ClusterSettings, run_clustering
from mining.cluster.algorithms import mode_reach, within_reach
from mining.cluster.views import list_clusters, member_source_ids
from mining.embed import embed_records
from mining.ingest import ingest_paths
from mining.scale import RayEngine, RayUnavailable
from mining.store import Workspace

# Ray reads its token once per process, when the driver first joins a cluster: set it before anything
# joins. The cluster below demands it; every driver in this process carries it.
TOKEN = secrets.token_hex(16)
os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=TOKEN)
ray = pytest.importorskip("ray")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A one-node Ray cluster of 2 CPUs on 127.0.0.1 that only a holder of its token may join; its address."""
    port = _free_port()
    ray_cli = str(Path(sys.executable).with_name("ray")) if Path(sys.executable).with_name("ray").exists() else "ray"
    started = subprocess.run([ray_cli, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}",
                              "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats"],
                             capture_output=True, text=True, timeout=180)
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        yield f"127.0.0.1:{port}"
    finally:
        if ray.is_initialized():
            ray.shutdown()
        subprocess.run([ray_cli, "stop", "--force"], capture_output=True, timeout=120)


@pytest.fixture
def twin(workspace: Workspace, tmp_path: Path) -> Workspace:
    """A second workspace holding the same log as `workspace` (both loaded, nothing embedded)."""
    log = write_failure_modes_log(tmp_path / "modes.jsonl")
    other = Workspace.open(tmp_path / "twin.duckdb")
    for each in (workspace, other):
        ingest_paths(each, [log])
        use_fp32_embeddings(each)
    return other


def _cached(workspace: Workspace) -> list[tuple[str, str, list[float]]]:
    return workspace.cursor().execute("SELECT model_id, text_hash, vector FROM embeddings ORDER BY ALL").fetchall()


def test_embedding_on_ray_gives_the_local_vectors_bit_for_bit(cluster, workspace, twin):
    local = embed_records(workspace)
    engine = RayEngine(cluster, workers=2)
    try:
        remote = embed_records(twin, encoder=engine.encode_chunks)
        again = embed_records(twin, encoder=engine.encode_chunks)
    finally:
        engine.shutdown()
    assert remote.embedded == local.embedded > 0
    assert _cached(twin) == _cached(workspace)  # same cache keys, same float32 values
    assert again.embedded == 0 and again.cached == local.embedded


def test_clustering_on_ray_gives_the_local_modes(cluster, workspace, twin):
    settings = ClusterSettings(seed=0, fit_sample=36)  # 54 failures: 18 are placed by Ray tasks
    local = run_clustering(workspace, settings)
    engine = RayEngine(cluster)
    try:
        remote = run_clustering(twin, settings, encoder=engine.encode_chunks, assigner=engine.assign_rows)
    finally:
        engine.shutdown()
    assert (remote.points, remote.clusters, remote.unclustered) == (local.points, local.clusters, local.unclustered)
    assert member_source_ids(twin) == member_source_ids(workspace)
    described = lambda ws: [(c["id"], c["name"], c["size"], c["failure_rate"]) for c in list_clusters(ws)]  # noqa: E731
    assert described(twin) == described(workspace)


def test_placing_rows_in_ray_tasks_equals_placing_them_here(cluster):
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(120_000, 16)).astype(np.float32)  # three chunks
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = np.where(vectors[:, 0] > 0.4, 0, np.where(vectors[:, 1] > 0.4, 1, -1))
    rule = mode_reach(vectors[:5000], labels[:5000])
    engine = RayEngine(cluster)
    try:
        placed = engine.assign_rows(vectors, rule)
    finally:
        engine.shutdown()
    assert np.array_equal(placed, within_reach(vectors, rule))


def test_the_commands_take_ray_and_its_address(cluster, workspace, twin, capsys):
    assert main(["--workspace", str(twin.path), "embed", "--ray", cluster, "--ray-workers", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["embedded"] > 0
    os.environ["RAY_ADDRESS"] = cluster  # what --ray with no address joins
    try:
        assert main(["--workspace", str(twin.path), "cluster", "--ray", "--fit-sample", "36", "--seed", "0",
                     "--quiet", "--json"]) == 0
    finally:
        del os.environ["RAY_ADDRESS"]
    summary = json.loads(capsys.readouterr().out)
    assert summary["clusters"] >= 3 and summary["points"] == 54


def test_a_cluster_refuses_a_driver_without_its_token(cluster, tmp_path):
    script = ("import ray\ntry:\n    ray.init(address=%r, log_to_driver=False)\n    print('joined')\n"
              "except Exception as exc:\n    print('refused', type(exc).__name__)\n") % cluster
    env = {**os.environ, "RAY_AUTH_MODE": "token"}
    env.pop("RAY_AUTH_TOKEN")
    env["HOME"] = str(tmp_path)  # no token file either
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert "refused" in out.stdout and "joined" not in out.stdout, out.stdout + out.stderr


def test_without_ray_installed_the_command_says_what_to_install(workspace, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(RayUnavailable, match="pip install 'ray\\[data\\]'"):
        RayEngine("127.0.0.1:1").connect()
    assert main(["--workspace", str(workspace.path), "embed", "--ray", "127.0.0.1:1"]) != 0
    assert "Ray is not installed" in capsys.readouterr().err


def test_ray_workers_without_ray_is_refused(workspace, capsys):
    assert main(["--workspace", str(workspace.path), "embed", "--ray-workers", "2"]) != 0
    assert "--ray-workers needs --ray" in capsys.readouterr().err


def test_the_local_path_never_imports_ray(workspace, tmp_path):
    ingest_paths(workspace, [write_failure_modes_log(tmp_path / "modes.jsonl")])
    Workspace.close_all()
    script = ("import sys\nfrom mining.__main__ import main\n"
              f"code = main(['--workspace', {str(workspace.path)!r}, 'cluster', '--seed', '0', '--quiet'])\n"
              "assert code == 0, code\nassert 'ray' not in sys.modules, 'ray was imported'\nprint('no ray')\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0 and "no ray" in out.stdout, out.stdout + out.stderr
