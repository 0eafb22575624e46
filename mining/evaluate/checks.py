"""Checks: whether a candidate answer to a golden item is correct, incorrect, or an abstention.

Why abstention comes first and is its own verdict: an honest "I don't know" must cost nothing, a
confident wrong answer must cost something (mining.evaluate.scores), so an answer that abstains is
never scored by the other checks. Abstention is recognised by the same phrases the failure
signals use (mining.detect's abstention patterns, the workspace's setting), and an empty answer
abstains too. When the reference itself abstains ("I don't know" is the right answer to a question
nobody can answer), abstaining is correct.

Checks, each chosen per golden item or for the whole set, all of which must pass:

- `exact`: the same text, outer whitespace ignored;
- `normalized`: the same after case folding, Unicode normalisation, dropping punctuation, the
  articles a/an/the, and extra spaces (the usual answer normalisation of QA benchmarks);
- `contains[:TEXT]`: the normalised answer contains TEXT (default: the reference), normalised;
- `regex:PATTERN`: the pattern is found in the answer (Python syntax; `(?i)` for any case);
- `numeric[:TOLERANCE]`: the first number in the answer is within TOLERANCE (absolute, default 0)
  of the reference's first number; `1,234.5`, `$0.19` and `-3e2` are read as numbers;
- `json`: the answer is valid JSON (a surrounding ```json fence is allowed);
- `json_schema:SCHEMA`: valid JSON that matches the JSON schema (inline JSON);
- `semantic[:THRESHOLD]`: cosine similarity of answer and reference embeddings (the workspace's
  model, cached by text) at least THRESHOLD (default 0.8).

A check is written as a spec string (`numeric:0.01`, `semantic:0.85`, `regex:(?i)\\bpro plan\\b`)
or as the dict `parse_check` returns; `DEFAULT_CHECKS` applies when neither the item nor the set
names any.
"""

from __future__ import annotations

import json
import re
import string
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable

CHECK_TYPES = ("exact", "normalized", "contains", "regex", "numeric", "json", "json_schema", "semantic")
DEFAULT_SEMANTIC_THRESHOLD = 0.8
DEFAULT_CHECKS: tuple[dict[str, Any], ...] = ({"type": "semantic", "threshold": DEFAULT_SEMANTIC_THRESHOLD},)
VERDICTS = ("correct", "incorrect", "abstained")
_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+]?\.\d+")
_FENCE = re.compile(r"^\s*```[a-zA-Z]*\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)
_ARTICLES = re.compile(r"\b(?:a|an|the)\b")

Similarity = Callable[[str, str], float]


class CheckError(ValueError):
    """A check spec that cannot be used, with the reason."""


@dataclass(frozen=True)
class Judgement:
    """An answer's verdict (correct, incorrect or abstained) and why, in words."""

    verdict: str
    reason: str
    checks: list[dict[str, Any]] = field(default_factory=list)  # each check's outcome: type, passed, detail


def _number(check: dict[str, Any], key: str, default: float) -> float:
    try:
        return float(check.get(key, default))
    except (TypeError, ValueError) as exc:
        raise CheckError(f"the {check['type']} check needs a number, not {check.get(key)!r}") from exc


def _schema(value: Any) -> dict[str, Any]:
    from jsonschema import Draft202012Validator, SchemaError

    try:
        schema = json.loads(value) if isinstance(value, str) else value
    except ValueError as exc:
        raise CheckError(f"the json_schema check's schema is not JSON: {exc}") from exc
    if not isinstance(schema, dict):
        raise CheckError("the json_schema check needs a schema object: json_schema:{...}")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise CheckError(f"bad JSON schema: {exc.message}") from exc
    return schema


def parse_check(spec: str | dict[str, Any]) -> dict[str, Any]:
    """A check as a dict ({"type": ..., parameters}), from a spec string or a dict; refuses unknown
    types and bad parameters with the reason."""
    if isinstance(spec, dict):
        check = dict(spec)
    else:
        kind, _, argument = spec.strip().partition(":")
        check = {"type": kind.strip().lower()}
        if argument:
            check[{"contains": "text", "regex": "pattern", "numeric": "tolerance", "json_schema": "schema",
                   "semantic": "threshold"}.get(check["type"], "argument")] = argument
    kind = check.get("type")
    if kind not in CHECK_TYPES:
        raise CheckError(f"unknown check {kind!r}; use one of {', '.join(CHECK_TYPES)}")
    if "argument" in check:
        raise CheckError(f"the {kind} check takes no argument")
    if kind == "regex":
        if not check.get("pattern"):
            raise CheckError("the regex check needs a pattern: regex:PATTERN")
        try:
            re.compile(check["pattern"])
        except re.error as exc:
            raise CheckError(f"bad regex {check['pattern']!r}: {exc}") from exc
    elif kind == "numeric":
        check["tolerance"] = _number(check, "tolerance", 0.0)
        if check["tolerance"] < 0:
            raise CheckError("a numeric tolerance cannot be negative")
    elif kind == "semantic":
        check["threshold"] = _number(check, "threshold", DEFAULT_SEMANTIC_THRESHOLD)
        if not -1.0 <= check["threshold"] <= 1.0:
            raise CheckError("a semantic threshold is a cosine similarity between -1 and 1")
    elif kind == "json_schema":
        check["schema"] = _schema(check.get("schema"))
    return check


def describe(check: dict[str, Any]) -> str:
    """A check as its spec string (what the command line and the page show)."""
    kind = check["type"]
    for key in ("text", "pattern", "tolerance", "threshold"):
        if key in check:
            return f"{kind}:{check[key]:g}" if isinstance(check[key], float) else f"{kind}:{check[key]}"
    if kind == "json_schema":
        return f"json_schema:{json.dumps(check['schema'], separators=(',', ':'))}"
    return kind


def normalize(text: str) -> str:
    """Case-folded, NFKC-normalised text without punctuation, articles or extra spaces."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(" " if unicodedata.category(c).startswith("P") or c in string.punctuation else c for c in text)
    return " ".join(_ARTICLES.sub(" ", text).split())


def first_number(text: str) -> float | None:
    match = _NUMBER.search(text)
    return float(match.group(0).replace(",", "")) if match else None


def _json(text: str) -> Any:
    fenced = _FENCE.match(text)
    return json.loads(fenced.group(1) if fenced else text)


def _run(check: dict[str, Any], answer: str, reference: str, similarity: Similarity) -> tuple[bool, str]:
    """One check: (passed, detail)."""
    kind = check["type"]
    if kind == "exact":
        return answer.strip() == reference.strip(), "the same text" if answer.strip() == reference.strip() else "differs from the reference"
    if kind == "normalized":
        same = normalize(answer) == normalize(reference)
        return same, "the same after normalising" if same else "differs from the reference after normalising"
    if kind == "contains":
        needle = check.get("text") or reference
        found = normalize(needle) in normalize(answer)
        return found, f"{'contains' if found else 'does not contain'} {needle[:60]!r}"
    if kind == "regex":
        found = re.search(check["pattern"], answer) is not None
        return found, f"{'matches' if found else 'does not match'} /{check['pattern']}/"
    if kind == "numeric":
        expected, given = first_number(reference), first_number(answer)
        if expected is None:
            return False, "the reference holds no number"
        if given is None:
            return False, "the answer holds no number"
        close = abs(given - expected) <= check["tolerance"]
        return close, f"{given:g} {'is' if close else 'is not'} within {check['tolerance']:g} of {expected:g}"
    if kind in ("json", "json_schema"):
        try:
            value = _json(answer)
        except ValueError as exc:
            return False, f"not valid JSON ({exc.args[0].split(':')[0]})"
        if kind == "json":
            return True, "valid JSON"
        from jsonschema import Draft202012Validator
        errors = sorted(Draft202012Validator(check["schema"]).iter_errors(value), key=lambda e: list(e.path))
        return (not errors, "matches the schema" if not errors
                else f"does not match the schema: {errors[0].message[:120]}")
    score = similarity(answer, reference)
    passed = score >= check["threshold"]
    return passed, f"similarity {score:.2f} {'>=' if passed else '<'} {check['threshold']:.2f}"


def abstains(text: str, patterns: list[str]) -> str | None:
    """The abstention phrase the text says (or "no answer" when it is empty), else None."""
    if not text.strip():
        return "no answer"
    for pattern in patterns:
        match = re.search(pattern, text, re.IGNORECASE)
        if match:
            return match.group(0)
    return None


def judge(answer: str | None, reference: str, checks: list[dict[str, Any]], abstention_patterns: list[str],
          similarity: Similarity) -> Judgement:
    """The verdict on one answer (see the module docstring for the rules)."""
    answer = answer or ""
    said = abstains(answer, abstention_patterns)
    expected_abstention = abstains(reference, abstention_patterns) is not None
    if said is not None:
        if expected_abstention:
            return Judgement("correct", f"abstains ({said!r}), as the reference does")
        return Judgement("abstained", "no answer" if said == "no answer" else f"abstains: {said!r}")
    if expected_abstention:
        return Judgement("incorrect", "answers where the reference abstains")
    outcomes = []
    for check in checks:
        passed, detail = _run(check, answer, reference, similarity)
        outcomes.append({"type": check["type"], "passed": passed, "detail": detail})
    failed = [outcome for outcome in outcomes if not outcome["passed"]]
    if failed:
        return Judgement("incorrect", f"{failed[0]['type']}: {failed[0]['detail']}", outcomes)
    return Judgement("correct", "; ".join(f"{o['type']}: {o['detail']}" for o in outcomes), outcomes)
