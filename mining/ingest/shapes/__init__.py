"""The log shapes Faultline reads, and how a file's shape is recognised.

A shape is a small object with a `name`, a `label`, `looks_like(item) -> bool` and
`parse(item) -> Iterable[Record | SourceScore]` (raising `BadRow` with a reason a person
understands; an empty result means "not an LLM call", e.g. an HTTP span). Adding a shape means
adding one module and one line to `_SHAPE_FACTORIES`.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Protocol

from mining.ingest.record import Record, SourceScore
from mining.ingest.shapes.generic import ColumnMapping, GenericTableShape
from mining.ingest.shapes.openai import OpenAIChatShape


class Shape(Protocol):
    name: str
    label: str

    def looks_like(self, value: Any) -> bool: ...

    def parse(self, value: Any) -> Iterable[Record | SourceScore]: ...


def _factories() -> dict[str, Callable[[], Shape]]:
    # Most specific first: detection picks the first shape that recognises most sampled items.
    from mining.ingest.shapes.langfuse import LangfuseObservationShape, LangfuseScoreShape
    from mining.ingest.shapes.langsmith import LangSmithRunShape
    from mining.ingest.shapes.otel import OtelGenAIShape
    from mining.ingest.shapes.phoenix import PhoenixSpanShape

    return {
        "otel": OtelGenAIShape,
        "phoenix": PhoenixSpanShape,
        "langfuse": LangfuseObservationShape,
        "langfuse_scores": LangfuseScoreShape,
        "langsmith": LangSmithRunShape,
        "openai": OpenAIChatShape,
        "generic": GenericTableShape,
    }


def shape_names() -> list[str]:
    return list(_factories())


def shape_labels() -> dict[str, str]:
    return {name: factory().label for name, factory in _factories().items()}


def make_shape(name: str, mapping: ColumnMapping | None = None) -> Shape:
    """The shape called `name`; `mapping` applies to the generic table shape."""
    factories = _factories()
    if name not in factories:
        raise ValueError(f"unknown format {name!r}; known formats: {', '.join(factories)}")
    if name == "generic":
        return GenericTableShape(mapping)
    return factories[name]()


def detect_shape(sample: list[Any]) -> str | None:
    """The name of the shape most of the sampled items have, or None when none fits."""
    items = [item for item in sample if item is not None]
    if not items:
        return None
    best, best_hits = None, 0
    for name, factory in _factories().items():
        shape = factory()
        hits = sum(1 for item in items if shape.looks_like(item))
        if hits > best_hits:
            best, best_hits = name, hits
    if best_hits * 2 < len(items):  # fewer than half fit: not confident enough to guess
        return None
    return best
