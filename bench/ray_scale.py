"""Ray benchmark: embedding and placing calls in modes here, and on local Ray clusters of 1 and 2 workers.

Run by hand (not a test): `python bench/ray_scale.py [DATA] [--texts N] [--rows N]`, DATA being the
folder holding clinc150_openai.jsonl (default ../shared/benchmarks).

Embedding: N distinct texts (CLINC150's 4,500 requests, each also with a numbered suffix until N
are made), in the chunks `embed_records` makes (shortest first, CHUNK_TEXTS each), with the default
settings (openvino-int8). "here" is `encode_locally`, the default ChunkEncoder, in this process;
"Ray, k workers" is `RayEngine.encode_chunks` on a cluster this script starts on 127.0.0.1 with
k CPUs (token authentication on), k actors each loading the model once. The Ray figures include
the actors' start and model load (it is part of every job); the vectors are checked to equal the
local ones bit for bit. Placement: `--rows` random unit vectors of 384 dimensions placed in 50
modes (`within_reach`) here, chunk after chunk, and in Ray tasks (`RayEngine.assign_rows`).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

TOKEN = secrets.token_hex(16)
os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=TOKEN)  # before any driver joins (read once)
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from clinc import requests_and_intents  # noqa: E402
from mining.cluster.algorithms import mode_reach  # noqa: E402
from mining.cluster.sample_fit import assign_locally  # noqa: E402
from mining.embed.vectors import CHUNK_TEXTS, EmbeddingSettings, encode_locally  # noqa: E402
from mining.scale import RayEngine  # noqa: E402


def texts_to_embed(data: Path, count: int) -> list[str]:
    """`count` distinct texts from CLINC150's requests, in embed_records' order (shortest first)."""
    requests, _ = requests_and_intents(data)
    texts, round_ = list(dict.fromkeys(requests)), 1
    while len(texts) < count:
        texts += [f"{text} (case {round_})" for text in requests]
        round_ += 1
    return sorted(texts[:count], key=lambda text: (len(text), text))


def start_cluster(cpus: int) -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ray_cli = shutil.which("ray") or str(Path(sys.executable).with_name("ray"))
    subprocess.run([ray_cli, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", f"--num-cpus={cpus}",
                    "--include-dashboard=false", "--disable-usage-stats"], check=True, capture_output=True)
    return f"127.0.0.1:{port}"


def stop_cluster() -> None:
    subprocess.run([shutil.which("ray") or "ray", "stop", "--force"], capture_output=True)


def embed(chunks: list[list[str]], settings: EmbeddingSettings, encoder) -> tuple[float, float, np.ndarray]:
    """Wall time, texts a second once the first chunk is back (the start and model load paid), vectors."""
    started = time.perf_counter()
    parts, first = {}, None
    for index, vectors in encoder(chunks, settings):
        parts[index] = vectors
        if first is None:
            first = (time.perf_counter(), len(vectors))
    seconds = time.perf_counter() - started
    steady = (sum(map(len, chunks)) - first[1]) / max(time.perf_counter() - first[0], 1e-9)
    return seconds, steady, np.concatenate([parts[index] for index in range(len(chunks))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", type=Path, default=ROOT.parent / "shared" / "benchmarks")
    parser.add_argument("--texts", type=int, default=18_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    texts = texts_to_embed(args.data, args.texts)
    chunks = [texts[start:start + CHUNK_TEXTS] for start in range(0, len(texts), CHUNK_TEXTS)]
    settings = EmbeddingSettings()
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(args.rows, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    centres = rng.normal(size=(50, 384)).astype(np.float32)
    labels = np.argmax(vectors[:20_000] @ centres.T, axis=1)
    rule = mode_reach(vectors[:20_000], labels)
    print(f"load before: {os.getloadavg()}; {len(texts):,} texts in {len(chunks)} chunks; {args.rows:,} rows to place")

    list(encode_locally(chunks[:1], settings))  # the model loaded, as in a process that embedded before
    seconds, steady, local = embed(chunks, settings, encode_locally)
    started = time.perf_counter()
    placed = assign_locally(vectors, rule)
    place_seconds = time.perf_counter() - started
    rows = [("here (this process, 2 cores)", seconds, steady, place_seconds)]
    for workers in (1, 2):
        address = start_cluster(workers)
        engine = RayEngine(address, workers=workers)
        try:
            engine.connect()
            seconds, steady, remote = embed(chunks, settings, engine.encode_chunks)
            assert np.array_equal(remote, local), "Ray's vectors differ from the local ones"
            started = time.perf_counter()
            assert np.array_equal(engine.assign_rows(vectors, rule), placed)
            rows.append((f"Ray, {workers} worker{'s' if workers > 1 else ''}", seconds, steady,
                         time.perf_counter() - started))
        finally:
            engine.shutdown()
            stop_cluster()
    print(f"load after: {os.getloadavg()}")
    print("| run | embedding | texts/s | after the first chunk | per worker, after the first chunk | placing | rows/s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, seconds, steady, place_seconds in rows:
        workers = 2 if "2 workers" in name else 1 if "1 worker" in name else None
        per = f"{steady / workers:,.0f}" if workers else "-"
        print(f"| {name} | {seconds:.1f} s | {len(texts) / seconds:,.0f} | {steady:,.0f} | {per} | "
              f"{place_seconds:.2f} s | {args.rows / place_seconds:,.0f} |")


if __name__ == "__main__":
    main()
