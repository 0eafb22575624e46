"""Checks and scores on hand-made cases: each check passing and failing, abstention first, the
omniscience index and hallucination rate against a hand-computed example, bootstrap intervals."""

from __future__ import annotations

import pytest

from mining.detect import DEFAULT_ABSTENTION_PATTERNS
from mining.evaluate.checks import CheckError, describe, first_number, judge, normalize, parse_check
from mining.evaluate.scores import deltas, grouped_scores, score

PATTERNS = list(DEFAULT_ABSTENTION_PATTERNS)


def verdict(answer: str | None, reference: str, *specs: str, similarity: float = 0.0) -> tuple[str, str]:
    judgement = judge(answer, reference, [parse_check(spec) for spec in specs], PATTERNS, lambda a, b: similarity)
    return judgement.verdict, judgement.reason


@pytest.mark.parametrize("spec, answer, reference, expected", [
    ("exact", "  Paris ", "Paris", "correct"),
    ("exact", "paris", "Paris", "incorrect"),
    ("normalized", "The  Eiffel-Tower!", "eiffel tower", "correct"),
    ("normalized", "Eiffel Towers", "eiffel tower", "incorrect"),
    ("contains", "It is in Paris, France.", "paris", "correct"),
    ("contains:Settings > Billing", "Open settings > billing, then Invoices", "ignored", "correct"),
    ("contains:Settings > Billing", "Open Settings, then Invoices", "ignored", "incorrect"),
    ("regex:(?i)\\bpro plan\\b", "Upgrade to the Pro Plan today", "x", "correct"),
    ("regex:^\\d{4}$", "year 2024", "x", "incorrect"),
    ("numeric", "It costs $1,234.50 a year.", "1234.5", "correct"),
    ("numeric:0.01", "about 0.215 per hour", "0.19", "incorrect"),
    ("numeric:0.01", "0.195", "0.19", "correct"),
    ("numeric", "no idea of the price, sorry", "0.19", "incorrect"),
    ("json", "```json\n{\"a\": 1}\n```", "x", "correct"),
    ("json", "{'a': 1}", "x", "incorrect"),
    ("json_schema:{\"type\":\"object\",\"required\":[\"vms\"]}", "{\"vms\": []}", "x", "correct"),
    ("json_schema:{\"type\":\"object\",\"required\":[\"vms\"]}", "{\"instances\": []}", "x", "incorrect"),
])
def test_each_check_passes_and_fails(spec, answer, reference, expected):
    assert verdict(answer, reference, spec)[0] == expected


def test_semantic_uses_the_similarity_against_the_threshold():
    assert verdict("a paraphrase", "the reference", "semantic:0.8", similarity=0.83) == (
        "correct", "semantic: similarity 0.83 >= 0.80")
    assert verdict("something else", "the reference", "semantic", similarity=0.5)[1] == \
        "semantic: similarity 0.50 < 0.80"


def test_every_check_must_pass_and_the_first_failure_is_the_reason():
    assert verdict("42 apples", "42", "numeric", "contains:apples") == (
        "correct", "numeric: 42 is within 0 of 42; contains: contains 'apples'")
    assert verdict("42 pears", "42", "numeric", "contains:apples") == ("incorrect", "contains: does not contain 'apples'")


def test_abstention_comes_first_and_costs_nothing():
    assert verdict("I'm not sure, sorry.", "Paris", "exact") == ("abstained", "abstains: \"I'm not sure\"")
    assert verdict("", "Paris", "exact") == ("abstained", "no answer")
    assert verdict(None, "Paris", "exact") == ("abstained", "no answer")
    # when the right answer is to abstain, abstaining is correct and answering is not
    assert verdict("I do not know.", "I don't know: nobody can tell.", "exact")[0] == "correct"
    assert verdict("It is 42.", "I don't know: nobody can tell.", "exact")[0] == "incorrect"


def test_bad_check_specs_are_refused_with_the_reason():
    with pytest.raises(CheckError, match="unknown check 'fuzzy'"):
        parse_check("fuzzy")
    with pytest.raises(CheckError, match="bad regex"):
        parse_check("regex:(unclosed")
    with pytest.raises(CheckError, match="needs a number"):
        parse_check("numeric:abc")
    with pytest.raises(CheckError, match="bad JSON schema"):
        parse_check('json_schema:{"type": "no-such-type"}')
    with pytest.raises(CheckError, match="takes no argument"):
        parse_check("exact:yes")
    assert describe(parse_check("semantic:0.85")) == "semantic:0.85" and describe(parse_check("json")) == "json"


def test_normalising_and_reading_numbers():
    assert normalize("  The Café, an ÉLAN!  ") == "café élan"
    assert first_number("total: -3e2 units") == -300.0 and first_number("$0.19/h") == 0.19
    assert first_number("no digits") is None


def test_scores_match_a_hand_computed_example():
    verdicts = ["correct"] * 6 + ["incorrect"] * 2 + ["abstained"] * 2
    result = score(verdicts)
    assert (result["n"], result["correct"], result["incorrect"], result["abstained"]) == (10, 6, 2, 2)
    assert result["accuracy"] == 0.6
    assert result["omniscience_index"] == 40.0  # 100 * (6 - 2) / 10
    assert result["hallucination_rate"] == 0.5  # 2 / (2 + 2)
    for key, value in (("accuracy_ci", 0.6), ("omniscience_ci", 40.0), ("hallucination_ci", 0.5)):
        low, high = result[key]
        assert low < value < high
    assert score(verdicts) == result  # a fixed seed: the same interval every time


def test_guessing_scores_below_abstaining_at_the_same_accuracy():
    guesser = score(["correct"] * 5 + ["incorrect"] * 5)
    honest = score(["correct"] * 5 + ["abstained"] * 5)
    assert guesser["accuracy"] == honest["accuracy"] == 0.5
    assert guesser["omniscience_index"] == 0.0 and honest["omniscience_index"] == 50.0
    assert guesser["hallucination_rate"] == 1.0 and honest["hallucination_rate"] == 0.0


def test_a_run_that_is_never_wrong_has_no_hallucination_rate():
    result = score(["correct"] * 4)
    assert result["hallucination_rate"] is None and result["hallucination_ci"] is None
    assert result["omniscience_index"] == 100.0


def test_groups_and_paired_deltas():
    items = [{"verdict": v, "cluster_id": c, "cluster": f"mode {c}", "tags": t} for v, c, t in (
        ("correct", 0, ("a",)), ("incorrect", 0, ("a", "b")), ("abstained", 1, ()), ("correct", 1, ("b",)))]
    grouped = grouped_scores(items)
    assert grouped["overall"]["n"] == 4 and grouped["clusters"]["0"]["name"] == "mode 0"
    assert grouped["clusters"]["0"]["omniscience_index"] == 0.0 and grouped["clusters"]["1"]["accuracy"] == 0.5
    assert grouped["tags"]["a"]["n"] == 2 and grouped["tags"]["b"]["correct"] == 1
    changes = {d.metric: d for d in deltas(["incorrect"] * 10, ["correct"] * 6 + ["abstained"] * 4)}
    assert changes["omniscience_index"].delta == 160.0 and changes["accuracy"].delta == 0.6
    low, high = changes["omniscience_index"].ci
    assert low <= 160.0 <= high and low > 0
