"""The ways a sentence-transformers model can run on a CPU, each behind one small `Encoder`.

Why several: on the two cores Faultline is sized for, the plain PyTorch model embeds a few hundred
short texts a second, too slow for a week of logs; an int8 ONNX export of the same model, or static
token embeddings distilled from it, is several times faster (bench/README.md has the figures that
chose the default). Every artefact is built here, on first use, from the local model folder and
kept under the model cache (FAULTLINE_MODEL_CACHE, else ~/.cache/faultline/models): nothing is
ever downloaded.

Backends:
  torch          the model as sentence-transformers runs it, fp32
  onnx           the same network exported to ONNX (mean pooling inside the graph), ONNX Runtime
  onnx-int8      that export with int8 weights (dynamic, per-channel quantisation), ONNX Runtime
  openvino       the fp32 ONNX export run by OpenVINO
  openvino-int8  that export quantised to int8 weights and activations by NNCF (static: scales
                 calibrated on the fixed texts of calibration.txt), run by OpenVINO
  static         static token embeddings distilled from the model with model2vec (256 dims)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import warnings
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np

BACKENDS = ("torch", "onnx", "onnx-int8", "openvino", "openvino-int8", "static")
CACHE_ENV = "FAULTLINE_MODEL_CACHE"
STATIC_DIMENSIONS = 256  # model2vec's default PCA size; see bench/README.md for its quality


class Encoder(Protocol):
    """Turns texts into unit-length float32 vectors, one row per text, in order."""

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray: ...


def model_cache_dir() -> Path:
    """Where exported and distilled models are kept between runs."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "faultline" / "models"


def go_offline() -> None:
    """Switch the Hugging Face libraries off the network before they load anything."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # Faultline's callers draw their own progress


def load_encoder(model_path: Path, backend: str, max_seq_length: int | None) -> Encoder:
    """An encoder for the local model folder `model_path` run by `backend`."""
    go_offline()
    if backend == "torch":
        return TorchEncoder(_sentence_transformer(model_path), max_seq_length)
    if backend == "static":
        return StaticEncoder(_artefact(model_path, "static", _distil_static), max_seq_length)
    if backend in ("onnx", "onnx-int8", "openvino", "openvino-int8"):
        return OnnxEncoder(_runner(model_path, backend), model_path, max_seq_length)
    raise ValueError(f"unknown embedding backend {backend!r}; choose one of {', '.join(BACKENDS)}")


def _sentence_transformer(model_path: Path) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_path), device="cpu", local_files_only=True)


class TorchEncoder:
    """The sentence-transformers model itself (it sorts each call's texts by length for batching)."""

    def __init__(self, model: Any, max_seq_length: int | None) -> None:
        if max_seq_length is not None:
            model.max_seq_length = max_seq_length
        self.model = model

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        vectors = self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)


class OnnxEncoder:
    """The exported network: tokenise a batch of alike lengths, run it, normalise."""

    def __init__(self, run: Callable[[dict[str, np.ndarray]], np.ndarray], model_path: Path,
                 max_seq_length: int | None) -> None:
        from transformers import AutoTokenizer

        self.run = run
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_path), local_files_only=True)
        self.max_length = max_seq_length or _model_max_length(model_path)

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        order = np.argsort([len(text) for text in texts], kind="stable")  # less padding per batch
        vectors: np.ndarray | None = None
        for start in range(0, len(texts), batch_size):
            rows = order[start:start + batch_size]
            tokens = self.tokenizer([texts[row] for row in rows], padding=True, truncation=True,
                                    max_length=self.max_length, return_tensors="np")
            batch = self.run({name: np.asarray(values, dtype=np.int64) for name, values in tokens.items()})
            if vectors is None:
                vectors = np.empty((len(texts), batch.shape[1]), dtype=np.float32)
            vectors[rows] = batch
        return _unit_rows(vectors if vectors is not None else np.zeros((0, 0), dtype=np.float32))


class StaticEncoder:
    """model2vec static embeddings: a token-vector lookup and a mean, no network to run."""

    def __init__(self, folder: Path, max_seq_length: int | None) -> None:
        from model2vec import StaticModel

        self.model = StaticModel.from_pretrained(str(folder))
        self.max_length = max_seq_length

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        vectors = self.model.encode(texts, batch_size=max(batch_size, 1024), max_length=self.max_length,
                                    use_multiprocessing=False, show_progress_bar=False)
        return _unit_rows(np.asarray(vectors, dtype=np.float32))


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


def _model_max_length(model_path: Path) -> int:
    """The model's own token limit, as sentence-transformers reads it."""
    config = model_path / "sentence_bert_config.json"
    if config.exists():
        return int(json.loads(config.read_text()).get("max_seq_length") or 512)
    return 512


_build_lock = threading.Lock()


def _artefact(model_path: Path, kind: str, build: Callable[[Path, Path], None]) -> Path:
    """The folder of a model derived from `model_path`, built on first use.

    Keyed by the model folder's name and a fingerprint of its files, so a changed model is
    rebuilt. Built into a scratch folder and renamed into place, so a crash or a second process
    never leaves a half-written model where a reader looks.
    """
    target = model_cache_dir() / f"{model_path.name}-{_fingerprint(model_path)}" / kind
    with _build_lock:
        if target.exists():
            return target
        scratch = target.with_name(f".{kind}.{os.getpid()}.building")
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        build(model_path, scratch)
        try:
            scratch.rename(target)
        except OSError:
            if not target.exists():
                raise
            shutil.rmtree(scratch, ignore_errors=True)  # another process finished first
        return target


def _fingerprint(model_path: Path) -> str:
    """A short hash of the model folder's path, file names and sizes: cheap, and changes with it."""
    files = sorted((str(path.relative_to(model_path)), path.stat().st_size)
                   for path in model_path.rglob("*") if path.is_file())
    return hashlib.sha256(json.dumps([str(model_path.resolve()), files]).encode()).hexdigest()[:12]


def _export_onnx(model_path: Path, folder: Path) -> None:
    """Export the transformer with mean pooling to ONNX; only mean-pooled models are supported."""
    import torch

    model = _sentence_transformer(model_path)
    names = [type(module).__name__ for module in model]
    if names[:2] != ["Transformer", "Pooling"] or set(names[2:]) - {"Normalize"} or model[1].pooling_mode != "mean":
        raise ValueError(f"the ONNX backends support Transformer + mean Pooling models; {model_path} is {names}")
    inputs = model.tokenizer(["an example", "a slightly longer example"], padding=True, return_tensors="pt")
    input_names = list(inputs.keys())
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes on shape checks that hold for every input here
        torch.onnx.export(
            _mean_pooled(model[0].auto_model.eval(), input_names), tuple(inputs[name] for name in input_names),
            str(folder / "model.onnx"), input_names=input_names, output_names=["embedding"],
            dynamic_axes={**{name: {0: "batch", 1: "tokens"} for name in input_names}, "embedding": {0: "batch"}},
            opset_version=17, dynamo=False)


def _mean_pooled(transformer: Any, input_names: list[str]) -> Any:
    """The transformer followed by mean pooling over real tokens, as one torch module to export."""
    import torch

    class MeanPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            named = dict(zip(input_names, inputs))
            tokens = self.transformer(**named).last_hidden_state
            mask = named["attention_mask"].unsqueeze(-1).to(tokens.dtype)
            return (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    return MeanPooled()


def _quantise_onnx(onnx_file: Path, folder: Path) -> None:
    """int8 weights, one scale per output channel: per-tensor scales cost ~4% cosine, per-channel <1%."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(onnx_file), str(folder / "model.onnx"), weight_type=QuantType.QInt8, per_channel=True)


CALIBRATION_FILE = Path(__file__).with_name("calibration.txt")


def calibration_texts() -> list[str]:
    """The fixed texts int8 activation scales are calibrated on (see the file's header)."""
    lines = CALIBRATION_FILE.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def _quantise_openvino(onnx_file: Path, model_path: Path, folder: Path) -> None:
    """int8 weights and activations with NNCF, calibrated one text at a time (no padding to skew ranges)."""
    import logging

    import nncf
    import openvino
    from transformers import AutoTokenizer

    nncf.set_log_level(logging.ERROR)
    tokenizer = AutoTokenizer.from_pretrained(str(model_path), local_files_only=True)
    samples = [{name: np.asarray(values, dtype=np.int64) for name, values in
                tokenizer([text], truncation=True, max_length=_model_max_length(model_path), return_tensors="np").items()}
               for text in calibration_texts()]
    quantised = nncf.quantize(openvino.Core().read_model(str(onnx_file)), nncf.Dataset(samples),
                              model_type=nncf.ModelType.TRANSFORMER, subset_size=len(samples))
    openvino.save_model(quantised, str(folder / "model.xml"))


def _distil_static(model_path: Path, folder: Path) -> None:
    """Distil static token embeddings from the model (one forward pass per vocabulary token)."""
    from model2vec.distill import distill

    distill(model_name=str(model_path), pca_dims=STATIC_DIMENSIONS).save_pretrained(str(folder))


def _runner(model_path: Path, backend: str) -> Callable[[dict[str, np.ndarray]], np.ndarray]:
    """Build (once) the exported file `backend` runs, and a function that runs one batch on it."""
    onnx_file = _artefact(model_path, "onnx", _export_onnx) / "model.onnx"
    if backend == "onnx":
        return _onnxruntime_runner(onnx_file)
    if backend == "onnx-int8":
        folder = _artefact(model_path, "onnx-int8", lambda path, into: _quantise_onnx(onnx_file, into))
        return _onnxruntime_runner(folder / "model.onnx")
    if backend == "openvino":
        return _openvino_runner(onnx_file)
    folder = _artefact(model_path, "openvino-int8", lambda path, into: _quantise_openvino(onnx_file, path, into))
    return _openvino_runner(folder / "model.xml")


def _onnxruntime_runner(onnx_file: Path) -> Callable[[dict[str, np.ndarray]], np.ndarray]:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # the quantised graph's shape-inference notes are not for users
    session = onnxruntime.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
    return lambda feed: session.run(None, feed)[0]


def _openvino_runner(onnx_file: Path) -> Callable[[dict[str, np.ndarray]], np.ndarray]:
    """OpenVINO reads the ONNX export directly; one infer request at a time (it is not thread-safe)."""
    import openvino

    compiled = openvino.Core().compile_model(str(onnx_file), "CPU")
    lock = threading.Lock()

    def run(feed: dict[str, np.ndarray]) -> np.ndarray:
        with lock:
            return np.array(compiled(feed)[0])

    return run
