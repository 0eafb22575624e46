"""Planning an export: every row of every kind, built, masked and checked, before a byte is written.

Why plan first: the page previews exactly what would be written (counts, first rows, the
validation report, leakage, redaction) and the writer only serialises a plan, so a preview and the
export it leads to cannot disagree. The steps, in order:

1. select the reviewed records (mining.export.selection);
2. golden set: top it up to `golden_size` by a stratified hold-out (mining.export.golden), or, when
   replaying a manifest, use the ids it recorded;
3. keep golden items and their exact / near duplicates out of training kinds (mining.export.leakage);
4. mask personal data and secrets once per example, with one Redactor for the whole export, so a
   value has the same placeholder in every file;
5. build each kind's rows, check each row as its trainer will read it, and leave out (with the
   reason) rows with problems or more tokens than `max_tokens`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from mining.common import Progress, plural
from mining.export.golden import golden_examples, golden_ids, holdout
from mining.export.kinds import KINDS, BuildContext, Kind, LeftOut, RowProblem
from mining.export.leakage import DEFAULT_THRESHOLD, Leak, find_leaks, twin_counts
from mining.export.messages import redacted
from mining.export.redact import Redactor
from mining.export.selection import Example, ExportFilter, select_examples
from mining.export.tokens import TokenCounter, load_tokenizer
from mining.export.validate import openai_file_warnings
from mining.store import Workspace

FORMATS = ("jsonl", "parquet")
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")
DEFAULT_MAX_TOKENS = 8192


class ExportError(ValueError):
    """An export that cannot be made as asked, with the reason in words."""


@dataclass(frozen=True)
class ExportRequest:
    """Everything that decides an export's content; the manifest stores it so it can be replayed.

    `golden` pins the golden set (a replay); None uses the workspace's, topped up to
    `golden_size` when given. `tokenizer` is a local tokenizer folder: required by sft-tokenized,
    and it makes every token count exact.
    """

    kinds: tuple[str, ...]
    filter: ExportFilter = ExportFilter()
    name: str = "faultline"
    formats: tuple[str, ...] = FORMATS
    golden_size: int | None = None
    golden: tuple[str, ...] | None = None
    leak_threshold: float = DEFAULT_THRESHOLD
    max_tokens: int = DEFAULT_MAX_TOKENS
    tokenizer: str | None = None
    redact: bool = True
    license: str = "other"
    created_by: str | None = None

    def options(self) -> dict[str, Any]:
        """The request as the manifest stores it."""
        return {"kinds": list(self.kinds), "formats": list(self.formats), "golden_size": self.golden_size,
                "leak_threshold": self.leak_threshold, "max_tokens": self.max_tokens, "tokenizer": self.tokenizer,
                "redact": self.redact, "license": self.license}


@dataclass(frozen=True)
class LeftOutRow:
    """A record that gives a kind no row, and why."""

    record_id: str
    source_id: str
    reason: str
    problem: bool  # True when a check failed (a validation problem), False when the record simply has no row


@dataclass
class KindPlan:
    """One kind's rows (row i from record_ids[i]), what was left out, and its warnings."""

    kind: Kind
    rows: list[dict[str, Any]] = field(default_factory=list)
    record_ids: list[str] = field(default_factory=list)
    left_out: list[LeftOutRow] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    over_limit: int = 0  # rows left out for having more tokens than the limit

    @property
    def problems(self) -> list[LeftOutRow]:
        return [row for row in self.left_out if row.problem]


@dataclass
class ExportPlan:
    """What an export will write; see the module docstring."""

    request: ExportRequest
    examples: list[Example]
    golden: list[Example]
    leaks: list[Leak]
    kinds: dict[str, KindPlan]
    redaction: dict[str, int]
    redaction_distinct: dict[str, int]
    exact_tokens: bool
    golden_added: tuple[str, ...] = ()  # drawn by this export's hold-out; stored when it is written

    @property
    def golden_ids(self) -> list[str]:
        return [example.record_id for example in self.golden]

    @property
    def warnings(self) -> list[str]:
        notes = [] if self.request.redact else [
            "redaction is OFF: personal data and secrets in the logs are written as they are"]
        return notes + [warning for plan in self.kinds.values() for warning in plan.warnings]


def _check_request(request: ExportRequest) -> None:
    unknown = [kind for kind in request.kinds if kind not in KINDS]
    if unknown:
        raise ExportError(f"unknown dataset kind {unknown[0]!r}; use one of {', '.join(KINDS)}")
    if not request.kinds:
        raise ExportError("choose at least one dataset kind")
    if not NAME_PATTERN.fullmatch(request.name):
        raise ExportError(f"dataset name {request.name!r}: use letters, digits, '.', '_' or '-' (80 at most)")
    bad_formats = [f for f in request.formats if f not in FORMATS] or ([] if request.formats else ["none"])
    if bad_formats:
        raise ExportError(f"unknown file format {bad_formats[0]!r}; use jsonl, parquet or both")
    if request.golden_size is not None and request.golden_size < 0:
        raise ExportError("the golden set size cannot be negative")
    if not 0.0 < request.leak_threshold <= 1.0:
        raise ExportError(f"the near-duplicate threshold is a cosine similarity in (0, 1], not {request.leak_threshold}")
    if request.max_tokens < 1:
        raise ExportError("the token limit must be at least 1")
    if any(KINDS[kind].needs_tokenizer for kind in request.kinds) and not request.tokenizer:
        raise ExportError("sft-tokenized needs a tokenizer: give the folder of your model's tokenizer (--tokenizer PATH)")


def _build(kind: Kind, examples: list[Example], context: BuildContext, counter: TokenCounter,
           max_tokens: int, excluded: dict[str, str]) -> KindPlan:
    plan = KindPlan(kind)
    for example in examples:
        if kind.training and example.record_id in excluded:
            plan.left_out.append(LeftOutRow(example.record_id, example.source_id, excluded[example.record_id], False))
            continue
        try:
            rows = kind.build(example, context)
        except LeftOut as exc:
            plan.left_out.append(LeftOutRow(example.record_id, example.source_id, str(exc), isinstance(exc, RowProblem)))
            continue
        for row in rows:
            problems = kind.problems(row)
            tokens = counter.count(row)
            if tokens > max_tokens:
                problems.append(f"{tokens:,} tokens, over the limit of {max_tokens:,}")
                plan.over_limit += 1
            if problems:
                plan.left_out.append(LeftOutRow(example.record_id, example.source_id, "; ".join(problems), True))
                continue
            plan.rows.append(row)
            plan.record_ids.append(example.record_id)
            plan.tokens.append(tokens)
    if kind.openai:
        plan.warnings += openai_file_warnings(kind.name, len(plan.rows))
    if not plan.rows:
        plan.warnings.append(f"{kind.name}: no rows (see what was left out and why)")
    return plan


def plan_export(workspace: Workspace, request: ExportRequest, progress: Progress | None = None) -> ExportPlan:
    """Select, hold out, de-leak, mask, build and check; nothing is written (a preview is free)."""
    progress = progress or (lambda fraction, message: None)
    _check_request(request)
    tokenizer = load_tokenizer(request.tokenizer) if request.tokenizer else None
    progress(0.0, "selecting reviewed records")
    examples = select_examples(workspace, request.filter)
    added: tuple[str, ...] = ()
    if request.golden is not None:
        golden_set = list(request.golden)
    else:
        golden_set = golden_ids(workspace)
        if request.golden_size and request.golden_size > len(golden_set):
            progress(0.05, "drawing golden items from the most distinct requests")
            twins = twin_counts(workspace, [example for example in examples if example.target is not None],
                                request.leak_threshold)
            added = tuple(holdout(golden_set, examples, request.golden_size, twins))
            golden_set = sorted(golden_set + list(added))
    golden = golden_examples(workspace, golden_set)
    training = any(KINDS[kind].training for kind in request.kinds)
    progress(0.1, "looking for near duplicates of golden items")
    leaks = find_leaks(workspace, examples, golden, request.leak_threshold,
                       lambda f, m: progress(0.1 + 0.6 * f, m)) if training else []
    excluded = {record_id: "golden item (kept for evaluation)" for record_id in golden_set}
    excluded.update({leak.record_id: leak.reason for leak in leaks})
    redactor = Redactor()
    mask: Callable[[Example], Example] = (lambda e: redacted(e, redactor)) if request.redact else (lambda e: e)
    masked = {example.record_id: mask(example) for example in examples}
    masked_golden = [masked.get(example.record_id) or mask(example) for example in golden]
    context = BuildContext(tokenizer=tokenizer, golden_ids=frozenset(golden_set))
    counter = TokenCounter(tokenizer)
    kinds: dict[str, KindPlan] = {}
    for number, name in enumerate(dict.fromkeys(request.kinds)):
        progress(0.7 + 0.3 * number / len(request.kinds), f"building {name}")
        source = masked_golden if name == "golden" else list(masked.values())
        kinds[name] = _build(KINDS[name], source, context, counter, request.max_tokens, excluded)
    if leaks:
        leaked = {leak.record_id for leak in leaks}
        for plan in kinds.values():
            if plan.kind.training:
                plan.warnings.append(_guard_note(plan, leaked, request.leak_threshold))
    progress(1.0, f"{sum(len(plan.rows) for plan in kinds.values()):,} rows planned")
    return ExportPlan(request, examples, golden, leaks, kinds, redactor.report(), redactor.distinct(),
                      counter.exact, added)


def _guard_note(plan: KindPlan, leaked: set[str], threshold: float) -> str:
    """What the leak guard (`leaked`: the records it keeps out) took from a training kind, and what would keep more."""
    removed = sum(1 for row in plan.left_out if row.record_id in leaked)
    return (f"{plan.kind.name}: the leak guard kept {plural(removed, 'row')} out as the same as or near duplicates "
            f"of golden items ({plural(len(leaked), 'record')} in all, cosine >= {threshold:g}); a smaller golden set, "
            "golden items picked from other requests, or a higher near-duplicate threshold keeps more")


def replay_request(manifest: dict[str, Any], created_by: str | None = None) -> ExportRequest:
    """The request that makes a manifest's export again: the same records and golden set, not
    whatever the filters would select today."""
    options = manifest["options"]
    if not manifest["selected"]:  # an empty id list would mean "no restriction" to the filter
        raise ExportError("the manifest's export selected no records: there is nothing to make again")
    return ExportRequest(
        kinds=tuple(options["kinds"]), filter=ExportFilter(verdicts=(), record_ids=tuple(manifest["selected"])),
        name=manifest["name"], formats=tuple(options["formats"]), golden=tuple(manifest["golden"]),
        leak_threshold=options["leak_threshold"], max_tokens=options["max_tokens"], tokenizer=options["tokenizer"],
        redact=options["redact"], license=options["license"], created_by=created_by)
