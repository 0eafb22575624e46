"""Masking personal data and secrets before an export is written.

Why: a dataset leaves the app and is handed to trainers and vendors, so a customer's e-mail or a
leaked API key in a logged prompt must not travel with it. Why consistent placeholders instead of a
bare `[REDACTED]`: the model still learns that the same person or key appears twice in a dialogue
(`[EMAIL_1]` ... `[EMAIL_1]`), and two different values stay distinguishable. One `Redactor` lives
for one export, so numbering is shared by all texts of that export and never leaks across exports;
its mapping is kept in memory only, and the report holds counts, never values.

Why these rules are strict (validators, context checks): a false positive silently damages the
training data (an order id or a version string turned into `[PHONE_1]`), so each kind must look
like the real thing, not merely like a run of digits:

- secrets: vendor key prefixes (OpenAI `sk-`/`sk-proj-`, Anthropic `sk-ant-`, AWS `AKIA`/`ASIA`,
  GitHub `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_`/`github_pat_`, Slack `xox[baprs]-`, Google `AIza`),
  JWTs (`eyJ...`.`eyJ...`.`...`), the token after `Bearer`, and the value of an assignment whose
  name says secret (`api_key=`, `token: `, `"password": "..."`; in `redact_json` also any string
  under such a key). Bearer and assignment values need
  8+ characters (16+ for Bearer) with a digit, so prose such as "password: incorrect" stays.
- e-mail: a practical `local@domain.tld` pattern.
- IBAN: country code, check digits, groups of four (spaces optional), 15-34 characters, and the
  ISO 13616 mod-97 check.
- card: 13-19 digits starting 2-6 (the issuer ranges of Visa, Mastercard, Amex, Discover, ...),
  spaces or dashes only between groups of 3+ digits, and the Luhn check.
- IP: IPv6 as parsed by `ipaddress` and containing a digit (so `dead::beef`-like code is left);
  IPv4 as four octets 0-255 without leading zeros, not inside a longer dotted run (`1.2.3.4.5`),
  and not right after `v`, `version`, `ver`, `release` or `build` (a four-part version number).
- phone: `+CC` international numbers, national numbers with a trunk `0` and separators
  (`020 7946 0958`, `06 12 34 56 78`), or the North-American `(555) 123-4567` / `555-123-4567`
  shape; 8-15 digits, not a date, and not part of a longer run of digit groups (the rest of a
  failed IBAN, a table of numbers; cards have the same rule). Plain digit runs (order ids, years,
  timestamps), prices, versions and times never match.

A card or IBAN directly followed by more digit groups is left alone: where it ends is a guess, and
a guessed end would mask a neighbouring number too.

Rules run in order, and each later rule sees the placeholders of the earlier ones: secrets first
(a key can contain anything), then e-mails, IBANs and cards before IPs and phones, so that a card
number is never half-masked as a phone number. Placeholders (`[KIND_N]`) match no rule, so
redacting redacted text changes nothing.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable

_PLACEHOLDER = re.compile(r"\[[A-Z][A-Z_]*_\d+\]")

# A field or variable name that says its value is a secret: api_key, x-api-key, client_secret, ...
_SECRET_NAME = (r"(?:[A-Za-z0-9]+[_-])*(?:api[_-]?key|access[_-]?key|secret[_-]?key|private[_-]?key"
                r"|token|secret|password|passwd|pwd)")
_SECRET_KEY = re.compile(_SECRET_NAME, re.IGNORECASE)
_DATE = re.compile(r"\d{4}[./ -]\d{1,2}[./ -]\d{1,2}|\d{1,2}[./ -]\d{1,2}[./ -]\d{2,4}")
_VERSION_CONTEXT = re.compile(r"(?:\b(?:version|ver|release|build)|\bv)\.?\s*[:=]?\s*$", re.IGNORECASE)


def _has_digit(value: str) -> bool:
    return any(c.isdigit() for c in value)


def _digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


def _compact(value: str) -> str:
    """The value without separators, so `4111 1111 ...` and `4111-1111-...` are one value."""
    return re.sub(r"[^\w+]", "", value).upper()


def _luhn(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _card_ok(m: re.Match[str]) -> bool:
    groups = re.split(r"[ -]", m.group(0))
    return all(len(g) >= 3 for g in groups) and _luhn("".join(groups))


def _iban_ok(m: re.Match[str]) -> bool:
    iban = m.group(0).replace(" ", "")
    if not 15 <= len(iban) <= 34:
        return False
    return int("".join(str(int(c, 36)) for c in iban[4:] + iban[:4])) % 97 == 1


def _ipv6_ok(m: re.Match[str]) -> bool:
    try:
        ipaddress.IPv6Address(m.group(0))
    except ValueError:
        return False
    return _has_digit(m.group(0))


def _ipv4_ok(m: re.Match[str]) -> bool:
    return not _VERSION_CONTEXT.search(m.string[max(0, m.start() - 12):m.start()])


def _phone_ok(m: re.Match[str]) -> bool:
    return 8 <= len(_digits(m.group(0))) <= 15 and not _DATE.fullmatch(m.group(0))


def _secret_ok(m: re.Match[str]) -> bool:
    return _has_digit(m.group("value"))


def _ip(value: str) -> str:
    return str(ipaddress.ip_address(value))


@dataclass(frozen=True)
class _Rule:
    """One kind of value: where it may be (pattern), whether a candidate really is one (accept), and
    which spelling counts as the same value (normalize). A `value` group masks only that part."""
    kind: str
    pattern: re.Pattern[str]
    accept: Callable[[re.Match[str]], bool] = lambda m: True
    normalize: Callable[[str], str] = str


_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
# A secret value runs to the next space, quote or bracket, and does not end on punctuation.
_SECRET_VALUE = r"[^\s\"'<>()\[\]{},;&]{7,}[^\s\"'<>()\[\]{},;&.:!?]"

_RULES: tuple[_Rule, ...] = (
    _Rule("API_KEY", re.compile(
        r"(?<![\w-])(?:sk-(?=[\w-]*\d)[\w-]{20,}|(?:AKIA|ASIA)[A-Z0-9]{16}|gh[pousr]_[A-Za-z0-9]{36,}"
        r"|github_pat_\w{22,}|xox[baprs]-[A-Za-z0-9-]{10,}|AIza[\w-]{35})(?![\w-])")),
    _Rule("TOKEN", re.compile(r"\beyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}")),
    _Rule("TOKEN", re.compile(r"\bBearer\s+(?P<value>[\w.~+/-]{16,}=*)", re.IGNORECASE), _secret_ok),
    _Rule("SECRET", re.compile(
        rf"(?<![\w-]){_SECRET_NAME}[\"']?\s*[:=]\s*[\"']?(?P<value>{_SECRET_VALUE})", re.IGNORECASE),
          _secret_ok),
    _Rule("EMAIL", re.compile(
        r"(?<![\w.%+-])[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"), normalize=str.lower),
    _Rule("IBAN", re.compile(
        r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"), _iban_ok, _compact),
    _Rule("CARD", re.compile(
        r"(?<![\w.+-])(?<!\d[ -])[2-6](?:[ -]?\d){12,18}(?![\w-]|[.,]\d|[ -]\d)"), _card_ok, _compact),
    _Rule("IP", re.compile(
        r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?(?![\w:]|\.\d)"),
          _ipv6_ok, _ip),
    _Rule("IP", re.compile(rf"(?<![\w.])(?:{_OCTET}\.){{3}}{_OCTET}(?!\w|\.\d)"), _ipv4_ok, _ip),
    _Rule("PHONE", re.compile(
        r"(?<![\w+.-])(?<!\d[ .-])"
        r"(?:\+\d{1,3}(?:[ .-]?(?:\(\d{1,5}\)|\d{1,5})){1,6}"  # international
        r"|(?:\(0\d{1,4}\)|0\d{1,4})(?:[ .-]\d{2,8}){1,4}"    # national, trunk 0
        r"|(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4})"        # North American
        r"(?![\w-]|[ .]\d)"), _phone_ok, _compact),
)


class Redactor:
    """Masks one export: the same value always gets the same placeholder, in every text it masks."""

    def __init__(self) -> None:
        self._placeholders: dict[tuple[str, str], str] = {}
        self._counts: Counter[str] = Counter()
        self._distinct: Counter[str] = Counter()

    def redact(self, text: str) -> str:
        """`text` with every value the rules find replaced by its placeholder."""
        for rule in _RULES:
            text = rule.pattern.sub(lambda m, rule=rule: self._replace(rule, m), text)
        return text

    def redact_json(self, value: Any) -> Any:
        """A copy of a JSON value (message lists, tool calls) with every string redacted; keys and
        non-strings are kept. A string under a key named like a secret (`"api_key": "..."`) is
        masked whole even when nothing in it looks like one: the key is the evidence."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, list):
            return [self.redact_json(v) for v in value]
        if isinstance(value, dict):
            return {k: self._field(k, v) for k, v in value.items()}
        return value

    def report(self) -> dict[str, int]:
        """How many occurrences of each kind were masked."""
        return dict(sorted(self._counts.items()))

    def distinct(self) -> dict[str, int]:
        """How many different values of each kind were masked."""
        return dict(sorted(self._distinct.items()))

    def _field(self, key: Any, value: Any) -> Any:
        redacted = self.redact_json(value)
        if (isinstance(key, str) and _SECRET_KEY.fullmatch(key) and isinstance(value, str)
                and redacted == value and value.strip() and not _PLACEHOLDER.fullmatch(value)):
            return self._placeholder("SECRET", value)
        return redacted

    def _replace(self, rule: _Rule, m: re.Match[str]) -> str:
        if not rule.accept(m):
            return m.group(0)
        if "value" not in rule.pattern.groupindex:
            return self._placeholder(rule.kind, rule.normalize(m.group(0)))
        start, end = m.span("value")
        placeholder = self._placeholder(rule.kind, rule.normalize(m.group("value")))
        return m.string[m.start():start] + placeholder + m.string[end:m.end()]

    def _placeholder(self, kind: str, value: str) -> str:
        self._counts[kind] += 1
        key = (kind, value)
        if key not in self._placeholders:
            self._distinct[kind] += 1
            self._placeholders[key] = f"[{kind}_{self._distinct[kind]}]"
        return self._placeholders[key]
