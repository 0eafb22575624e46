"""The log shapes Faultline reads, and how a file's shape is recognised.

A shape is a small object with a `name`, a `label`, `looks_like(item) -> bool` and
`parse(item) -> Iterable[Record | SourceScore]` (raising `BadRow` with a reason a person
understands; an empty result means "not an LLM call", e.g. an HTTP span). Adding a shape means
adding one module and one line to `_SHAPE_FACTORIES`.
"""

from __future__ import annotations

from functools import cache
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


def fits(shape: Shape, value: Any) -> bool:
    """Whether `value` is in one of the forms `shape` reads; a value too deep to look at is not."""
    try:
        return shape.looks_like(value)
    except RecursionError:
        return False


def detect_shape(sample: list[Any]) -> str | None:
    """The name of the shape most of the sampled items have, or None when none fits.

    A known shape that fits at least half the items wins, however many also fit `generic`: the
    generic table shape reads almost any object with an input and an output column, so it is only
    the answer when no known shape is. Items that do not fit the chosen shape are its quarantine
    (see `foreign_shape`), never a reason to read the whole file another way.
    """
    items = [item for item in sample if item is not None]
    if not items:
        return None
    hits = {shape.name: sum(1 for item in items if fits(shape, item)) for shape in _known_shapes()}
    best = max(hits, key=hits.__getitem__)  # the first of equals: _factories lists the specific first
    if hits[best] * 2 >= len(items):
        return best
    generic = GenericTableShape()
    if sum(1 for item in items if fits(generic, item)) * 2 >= len(items):
        return "generic"
    return None


def foreign_shape(shape: Shape, value: Any) -> Shape | None:
    """The known shape `value` is in when it is not in `shape`'s: a line of another log in this file.

    Why: a shape's parser is lenient (the OpenAI shape reads any object with `input` and `output`),
    so a Langfuse observation or a LangSmith run that strays into an OpenAI log would otherwise be
    read, wrongly, as an OpenAI call; the generic shape would read any of them as a table row.
    """
    if shape.name != "generic" and fits(shape, value):
        return None
    return next((other for other in _known_shapes() if other.name != shape.name and fits(other, value)), None)


@cache
def _known_shapes() -> tuple[Shape, ...]:
    """One instance of each known (non-generic) shape; they hold no state, so one serves every file."""
    return tuple(factory() for name, factory in _factories().items() if name != "generic")
