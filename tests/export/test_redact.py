"""Redaction before export: each kind is masked, consistently across texts, counted in the report,
and nothing that only looks like a number (ids, dates, prices, versions) is touched.

Fake keys are built from parts so this file carries no string a secret scanner would flag."""

from __future__ import annotations

import pytest

from mining.export.redact import Redactor

OPENAI_KEY = "sk-proj-" + "a1B2c3D4" * 5
ANTHROPIC_KEY = "sk-ant-api03-" + "Zx9_Yw8-" * 6
AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLE"
GITHUB_TOKEN = "ghp_" + "k7Lm9Np2" * 5
GITHUB_PAT = "github_pat_" + "11ABCDEFG0" * 3
SLACK_TOKEN = "xoxb-" + "123456789012-" + "AbCdEfGhIjKl"
GOOGLE_KEY = "AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9" + "." + "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkphbmUifQ"
       + "." + "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")


@pytest.mark.parametrize("text, kind", [
    ("write to jane.doe+billing@example.co.uk today", "EMAIL"),
    ("call +1 (555) 123-4567 please", "PHONE"),
    ("call +44 20 7946 0958 please", "PHONE"),
    ("call +4915112345678 please", "PHONE"),
    ("call 020 7946 0958 please", "PHONE"),
    ("call 06 12 34 56 78 please", "PHONE"),
    ("call 555-123-4567 please", "PHONE"),
    ("call (555) 123-4567 please", "PHONE"),
    ("card 4111 1111 1111 1111 expires", "CARD"),
    ("card 4242-4242-4242-4242 expires", "CARD"),
    ("card 4012888888881881 expires", "CARD"),
    ("amex 3782 822463 10005 expires", "CARD"),
    ("iban DE89 3704 0044 0532 0130 00 please", "IBAN"),
    ("iban GB82WEST12345698765432 please", "IBAN"),
    ("host 192.168.1.20 is down", "IP"),
    ("host 10.0.0.1:8080 is down", "IP"),
    ("host 10.0.0.1. Down", "IP"),
    ("host 2001:db8::8a2e:370:7334 is down", "IP"),
    ("host fe80::1 is down", "IP"),
    ("host ::ffff:192.0.2.1 is down", "IP"),
    (f"key {OPENAI_KEY} leaked", "API_KEY"),
    (f"key {ANTHROPIC_KEY} leaked", "API_KEY"),
    (f"key {AWS_KEY} leaked", "API_KEY"),
    (f"key {GITHUB_TOKEN} leaked", "API_KEY"),
    (f"key {GITHUB_PAT} leaked", "API_KEY"),
    (f"key {SLACK_TOKEN} leaked", "API_KEY"),
    (f"key {GOOGLE_KEY} leaked", "API_KEY"),
    (f"key {JWT} leaked", "TOKEN"),
    ("Authorization: Bearer abcdef0123456789abcdef0123 leaked", "TOKEN"),
    ("config api_key=s3cr3tValue99 leaked", "SECRET"),
    ('config {"access_token": "tok_99887766aa"} leaked', "SECRET"),
    ("X-Api-Key: 7f3e9a1c22b4 leaked", "SECRET"),
])
def test_each_kind_is_masked(text: str, kind: str) -> None:
    redactor = Redactor()
    out = redactor.redact(text)
    head, tail = text.split(" ", 1)[0], text.rsplit(" ", 1)[1]
    assert f"[{kind}_1]" in out
    assert out.startswith(head) and out.endswith(tail)  # only the value itself is replaced
    assert redactor.report() == {kind: 1}


def test_bearer_and_assignment_keep_their_label() -> None:
    out = Redactor().redact("Authorization: Bearer abcdef0123456789abcdef0123\napi_key=s3cr3tValue99")
    assert out == "Authorization: Bearer [TOKEN_1]\napi_key=[SECRET_1]"


def test_vendor_key_inside_assignment_is_one_api_key() -> None:
    redactor = Redactor()
    assert redactor.redact(f"OPENAI_API_KEY={OPENAI_KEY}") == "OPENAI_API_KEY=[API_KEY_1]"
    assert redactor.report() == {"API_KEY": 1}


def test_same_value_same_placeholder_across_texts() -> None:
    redactor = Redactor()
    first = redactor.redact("From ann@example.com to bob@example.com")
    second = redactor.redact("Reply to ANN@example.com, cc carol@example.org")
    assert first == "From [EMAIL_1] to [EMAIL_2]"
    assert second == "Reply to [EMAIL_1], cc [EMAIL_3]"


def test_same_card_in_other_spelling_is_the_same_value() -> None:
    redactor = Redactor()
    out = redactor.redact("4111 1111 1111 1111 or 4111-1111-1111-1111 or 4242424242424242")
    assert out == "[CARD_1] or [CARD_1] or [CARD_2]"


def test_numbering_is_per_kind_and_per_redactor() -> None:
    redactor = Redactor()
    assert redactor.redact("a@example.com 10.0.0.1") == "[EMAIL_1] [IP_1]"
    assert Redactor().redact("b@example.com") == "[EMAIL_1]"  # a new export starts again


def test_report_counts_occurrences_and_distinct_values() -> None:
    redactor = Redactor()
    redactor.redact("a@example.com, a@example.com, b@example.com")
    redactor.redact("card 4111 1111 1111 1111, host 10.0.0.1, again a@example.com")
    assert redactor.report() == {"CARD": 1, "EMAIL": 4, "IP": 1}
    assert redactor.distinct() == {"CARD": 1, "EMAIL": 2, "IP": 1}


def test_empty_report_when_nothing_found() -> None:
    redactor = Redactor()
    assert redactor.redact("nothing personal here") == "nothing personal here"
    assert redactor.report() == {} and redactor.distinct() == {}


@pytest.mark.parametrize("text", [
    "order 4111 1111 1111 1112 shipped",           # 16 digits, fails Luhn
    "order 4111111111111112 shipped",
    "ref 1234 5678 9012 3456 7",                   # Luhn-valid digits, but not a card's groups
    "ts 1700000000000 in ms",                      # 13 digits outside the issuer ranges
    "iban DE89 3704 0044 0532 0130 01 wrong",      # fails mod-97
    "code AB12CDEF3456GHIJ7890",
])
def test_invalid_cards_and_ibans_untouched(text: str) -> None:
    redactor = Redactor()
    assert redactor.redact(text) == text
    assert redactor.report() == {}


@pytest.mark.parametrize("text", [
    "Order 4100 was refunded",
    "order #12345678 and invoice 987654321",
    "in 2024 and 1999",
    "costs $1,299.99 or €12.50 or 1 299,00 EUR",
    "upgrade to 2.4.0 or v1.2.3 or 10.2.3",
    "version 1.2.3.4 and release: 4.3.2.1 and v 2.0.0.1",
    "1.2.3.4.5 is not an address, nor is 999.1.1.1 or 256.0.0.1",
    "at 10:30, 10:30:45 or 23:59:59.123",
    "on 2026-11-09, 2026-11-09T10:00:00Z, 09.11.2026, 09/11/2026 and 01-02-2024",
    "unix time 1700000000",
    "uuid 123e4567-e89b-12d3-a456-426614174000",
    "mac 00:1A:2B:3C:4D:5E and std::vector and Foo::Bar and dead::beef",
    "pi is 3.14159265358979",
    "password: incorrect, token: expired, max_tokens=4096, prompt_tokens: 12345678",
    "a Bearer token is sent in the header",
    "the sk-learn-style-estimator-wrapper-class",
    "see @property and user@localhost",
])
def test_lookalikes_untouched(text: str) -> None:
    redactor = Redactor()
    assert redactor.redact(text) == text
    assert redactor.report() == {}


def test_card_is_not_half_masked_as_phone() -> None:
    assert Redactor().redact("pay with 5555 5555 5555 4444 now") == "pay with [CARD_1] now"


def test_redacting_redacted_text_changes_nothing() -> None:
    text = (f"Mail ann@example.com, call +44 20 7946 0958, card 4111 1111 1111 1111, "
            f"IBAN DE89 3704 0044 0532 0130 00, host 10.0.0.1 / fe80::1, key {OPENAI_KEY}, "
            f"Bearer {JWT}, token: tok_99887766aa")
    redactor = Redactor()
    once = redactor.redact(text)
    assert redactor.redact(once) == once
    assert Redactor().redact(once) == once
    fresh = Redactor()
    assert fresh.redact_json({"api_key": "[SECRET_1]", "m": [once]}) == {"api_key": "[SECRET_1]", "m": [once]}
    assert fresh.report() == {}


def test_json_walk_keeps_keys_and_non_strings() -> None:
    record = {
        "messages": [
            {"role": "user", "content": "I am ann@example.com"},
            {"role": "assistant", "content": None, "tool_calls": [{
                "id": "call_1", "type": "function",
                "function": {"name": "lookup", "arguments": '{"email": "ann@example.com", "limit": 5}'}}]},
        ],
        "ann@example.com": 1,   # keys are never changed
        "temperature": 0.2, "stream": False, "n": 3, "stop": None,
    }
    redactor = Redactor()
    out = redactor.redact_json(record)
    assert out == {
        "messages": [
            {"role": "user", "content": "I am [EMAIL_1]"},
            {"role": "assistant", "content": None, "tool_calls": [{
                "id": "call_1", "type": "function",
                "function": {"name": "lookup", "arguments": '{"email": "[EMAIL_1]", "limit": 5}'}}]},
        ],
        "ann@example.com": 1,
        "temperature": 0.2, "stream": False, "n": 3, "stop": None,
    }
    assert record["messages"][0]["content"] == "I am ann@example.com"  # input not mutated
    assert redactor.report() == {"EMAIL": 2}


def test_json_value_under_a_secret_key_is_masked_whole() -> None:
    redactor = Redactor()
    out = redactor.redact_json({"headers": {"x-api-key": "hunter", "password": "", "accept": "json"},
                                "client_secret": OPENAI_KEY, "max_tokens": "4096", "token_count": 7})
    assert out == {"headers": {"x-api-key": "[SECRET_1]", "password": "", "accept": "json"},
                   "client_secret": "[API_KEY_1]", "max_tokens": "4096", "token_count": 7}
    assert redactor.report() == {"API_KEY": 1, "SECRET": 1}


def test_realistic_chat_message() -> None:
    # The customer's first name is masked too since names are detected (it was left before).
    redactor = Redactor()
    messages = [
        {"role": "system", "content": "You are the support assistant of Acme v2.4.0."},
        {"role": "user", "content": (
            "Hi, I'm Jane (jane.doe@acme-mail.com, +33 6 12 34 56 78). Order 4100 from 2026-11-09 was "
            "charged twice on my card 4111 1111 1111 1111, $49.99 each. Please refund to "
            "FR14 2004 1010 0505 0001 3M02 606. Our server 203.0.113.7 logged it with "
            f"Authorization: Bearer {JWT}")},
        {"role": "assistant", "content": "Sorry Jane! I refunded order 4100 to the IBAN you gave and "
                                         "emailed jane.doe@acme-mail.com."},
    ]
    out = redactor.redact_json(messages)
    assert out[0] == messages[0]
    assert out[1]["content"] == (
        "Hi, I'm [PERSON_1] ([EMAIL_1], [PHONE_1]). Order 4100 from 2026-11-09 was charged twice on my card "
        "[CARD_1], $49.99 each. Please refund to [IBAN_1]. Our server [IP_1] logged it with "
        "Authorization: Bearer [TOKEN_1]")
    assert out[2]["content"] == ("Sorry [PERSON_1]! I refunded order 4100 to the IBAN you gave and emailed "
                                 "[EMAIL_1].")
    assert redactor.report() == {"CARD": 1, "EMAIL": 2, "IBAN": 1, "IP": 1, "PERSON": 2, "PHONE": 1, "TOKEN": 1}
