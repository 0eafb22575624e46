"""Planted personal data and secrets for the redaction tests and the benchmark: Faker values (seeded,
so every run builds the same set) and hand-written hard cases, each a text with the planted value's
span, plus PII-free texts that must come out unchanged.

A case is caught when the redactor's findings cover every letter and digit of its `core` span (the
whole value, or for an address its street line: a city or a postcode left alone is no address).
Fake keys are built from parts so this file carries no string a secret scanner would flag.

`cases(seed)` is the tuned set (en_US, en_GB, de_DE, fr_FR and the hand cases): the tests assert on
it. `bench/redaction.py` also builds an independent set from other locales and other templates.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from typing import Callable, Iterator

from faker import Faker

STRUCTURED = ("SSN", "API_KEY", "TOKEN", "SECRET", "PASSWORD", "CARD", "PHONE", "EMAIL", "IBAN", "IP")
DETECTED = ("PERSON", "ADDRESS", "DATE_OF_BIRTH", "NATIONAL_ID", "PASSPORT")


@dataclass(frozen=True)
class Case:
    text: str
    kind: str
    start: int
    end: int
    core_start: int
    core_end: int
    source: str  # which generator or hand-written group made it

    @property
    def value(self) -> str:
        return self.text[self.start:self.end]


def plant(template: str, value: str, kind: str, source: str, core: str | None = None) -> Case:
    """`template` with `{v}` replaced by `value`; `core` (a part of value) must be covered."""
    start = template.index("{v}")
    text = template.replace("{v}", value, 1)
    core_at = value.index(core) if core else 0
    core_len = len(core) if core else len(value)
    return Case(text, kind, start, start + len(value), start + core_at, start + core_at + core_len, source)


def caught(case: Case, spans: list[tuple[int, int]]) -> bool:
    """Every letter and digit of the core span lies inside some finding."""
    covered = [False] * len(case.text)
    for s, e in spans:
        for i in range(max(s, 0), min(e, len(case.text))):
            covered[i] = True
    return all(covered[i] for i in range(case.core_start, case.core_end) if case.text[i].isalnum())


# --- values ---------------------------------------------------------------------------------------------

def _luhn_complete(body: str) -> str:
    for check in "0123456789":
        digits = body + check
        total = 0
        for i, c in enumerate(reversed(digits)):
            d = int(c) * (2 if i % 2 else 1)
            total += d - 9 if d > 9 else d
        if total % 10 == 0:
            return digits
    raise AssertionError


# brand: (prefixes, lengths, groupings for some lengths)
CARD_BRANDS: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {
    "visa": (("4",), (13, 16, 19)),
    "mastercard": (("51", "52", "53", "54", "55", "2221", "2300", "2500", "2720"), (16,)),
    "amex": (("34", "37"), (15,)),
    "diners": (("300", "301", "302", "303", "304", "305", "3095", "36", "38", "39"), (14, 16)),
    "discover": (("6011", "644", "645", "646", "647", "648", "649", "65"), (16, 19)),
    "jcb": (("3528", "3550", "3589"), (16, 19)),
    "jcb15": (("1800", "2131"), (15,)),
    "unionpay": (("62",), (16, 17, 18, 19)),
    "maestro": (("50", "56", "57", "58", "6304", "6759", "67"), (16, 19)),
    "mir": (("2200", "2201", "2202", "2203", "2204"), (16,)),
}
GROUPINGS = {13: [(4, 4, 5), (4, 3, 3, 3)], 14: [(4, 6, 4), (4, 4, 4, 2)], 15: [(4, 6, 5), (4, 4, 4, 3)],
             16: [(4, 4, 4, 4)], 17: [(4, 4, 4, 5)], 18: [(4, 4, 4, 6)], 19: [(4, 4, 4, 4, 3), (6, 13)]}


def card(rng: random.Random, brand: str, length: int | None = None) -> str:
    prefixes, lengths = CARD_BRANDS[brand]
    length = length or rng.choice(lengths)
    prefix = rng.choice(prefixes)
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    return _luhn_complete(body)


def group(digits: str, sizes: tuple[int, ...], sep: str) -> str:
    out, at = [], 0
    for size in sizes:
        out.append(digits[at:at + size])
        at += size
    return sep.join(out)


def _rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


ALNUM = string.ascii_letters + string.digits


def api_keys(rng: random.Random) -> list[tuple[str, str]]:
    """(vendor, key) pairs of every vendor shape, random each time."""
    b64 = ALNUM + "/+"
    jwt_head = "eyJ" + "hbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    return [
        ("stripe sk_live", "sk_" + "live_" + _rand(rng, ALNUM, 24)),
        ("stripe rk_live", "rk_" + "live_" + _rand(rng, ALNUM, 24)),
        ("stripe sk_test", "sk_" + "test_" + _rand(rng, ALNUM, 24)),
        ("stripe rk_test", "rk_" + "test_" + _rand(rng, ALNUM, 24)),
        ("stripe pk_live", "pk_" + "live_" + _rand(rng, ALNUM, 24)),
        ("stripe whsec", "whsec" + "_" + _rand(rng, ALNUM, 32)),
        ("slack bot", "xox" + "b-" + _rand(rng, string.digits, 12) + "-" + _rand(rng, string.digits, 12) + "-"
         + _rand(rng, ALNUM, 24)),
        ("slack user", "xox" + "p-" + _rand(rng, string.digits, 11) + "-" + _rand(rng, ALNUM, 20)),
        ("slack webhook", "https://hooks" + ".slack.com/services/T" + _rand(rng, string.ascii_uppercase + string.digits, 8)
         + "/B" + _rand(rng, string.ascii_uppercase + string.digits, 8) + "/" + _rand(rng, ALNUM, 24)),
        ("github classic", "gh" + "p_" + _rand(rng, ALNUM, 36)),
        ("github oauth", "gh" + "o_" + _rand(rng, ALNUM, 36)),
        ("github fine-grained", "github" + "_pat_" + _rand(rng, ALNUM, 22) + "_" + _rand(rng, ALNUM, 59)),
        ("aws access key id", "AK" + "IA" + _rand(rng, string.ascii_uppercase + string.digits, 16)),
        ("aws temporary key id", "AS" + "IA" + _rand(rng, string.ascii_uppercase + string.digits, 16)),
        ("openai", "sk-" + _rand(rng, ALNUM, 20) + "T3Blbk" + "FJ" + _rand(rng, ALNUM, 20)),
        ("openai project", "sk-" + "proj-" + _rand(rng, ALNUM + "_-", 56) + "7"),
        ("anthropic", "sk-" + "ant-api03-" + _rand(rng, ALNUM + "_-", 80) + "9AA"),
        ("google", "AI" + "za" + "Sy" + _rand(rng, ALNUM + "_-", 33)),
        ("huggingface", "h" + "f_" + _rand(rng, ALNUM, 34)),
        ("jwt", jwt_head + "." + "eyJ" + _rand(rng, ALNUM, 40) + "." + _rand(rng, ALNUM + "_-", 43)),
        ("aws secret", "aws secret " + _rand(rng, b64, 39) + "Q"),
    ]


def ssn(rng: random.Random) -> str:
    while True:
        area = rng.randint(1, 899)
        if area != 666:
            return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def nino(rng: random.Random) -> str:
    first = rng.choice("ABCEHJKLMNOPRSTWXY")
    second = rng.choice("ABCEGHJKLMNPRSTWXY")
    if first + second in ("BG", "GB", "NK", "KN", "NT", "TN", "ZZ"):
        return nino(rng)
    return f"{first}{second} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.choice('ABCD')}"


def nir(rng: random.Random) -> str:
    body = (f"{rng.choice('12')}{rng.randint(40, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 95):02d}"
            f"{rng.randint(1, 999):03d}{rng.randint(1, 999):03d}")
    key = 97 - int(body) % 97
    return f"{body[0]} {body[1:3]} {body[3:5]} {body[5:7]} {body[7:10]} {body[10:13]} {key:02d}"


def cpf(rng: random.Random) -> str:
    d = [rng.randint(0, 9) for _ in range(9)]
    for n in (9, 10):
        total = sum(d[i] * (n + 1 - i) for i in range(n))
        d.append(total * 10 % 11 % 10)
    s = "".join(map(str, d))
    return f"{s[:3]}.{s[3:6]}.{s[6:9]}-{s[9:]}"


def bsn(rng: random.Random) -> str:
    while True:
        d = [rng.randint(0, 9) for _ in range(8)]
        rest = sum(c * w for c, w in zip(d, (9, 8, 7, 6, 5, 4, 3, 2))) % 11
        if rest < 10 and d[0] != 0:
            return "".join(map(str, d)) + str(rest)


def nric(rng: random.Random) -> str:
    prefix = rng.choice("STFG")
    digits = [rng.randint(0, 9) for _ in range(7)]
    total = sum(c * w for c, w in zip(digits, (2, 7, 6, 5, 4, 3, 2))) + (4 if prefix in "TG" else 0)
    table = "JZIHGFEDCBA" if prefix in "ST" else "XWUTRQPNMLK"
    return prefix + "".join(map(str, digits)) + table[total % 11]


_VERHOEFF_D = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
               [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
               [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
               [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]]
_VERHOEFF_P = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
               [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
               [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8]]
_VERHOEFF_INV = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9]


def aadhaar(rng: random.Random) -> str:
    body = str(rng.randint(2, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(10))
    c = 0
    for i, ch in enumerate(reversed(body)):
        c = _VERHOEFF_D[c][_VERHOEFF_P[(i + 1) % 8][int(ch)]]
    s = body + str(_VERHOEFF_INV[c])
    return f"{s[:4]} {s[4:8]} {s[8:]}"


def pan(rng: random.Random) -> str:
    return (_rand(rng, string.ascii_uppercase, 3) + rng.choice("ABCFGHLJPT") + rng.choice(string.ascii_uppercase)
            + _rand(rng, string.digits, 4) + rng.choice(string.ascii_uppercase))


def sin(rng: random.Random) -> str:
    while True:
        s = _luhn_complete(str(rng.choice("1234567")) + _rand(rng, string.digits, 7))
        return f"{s[:3]} {s[3:6]} {s[6:]}"


def tfn(rng: random.Random) -> str:
    weights = (1, 4, 3, 7, 5, 8, 6, 9, 10)
    while True:
        d = [rng.randint(0, 9) for _ in range(9)]
        if sum(a * b for a, b in zip(d, weights)) % 11 == 0:
            s = "".join(map(str, d))
            return f"{s[:3]} {s[3:6]} {s[6:]}"


def de_tax_id(rng: random.Random) -> str:
    while True:
        d = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(9)]
        counts = sorted((d.count(x) for x in set(d)), reverse=True)
        if counts[0] not in (2, 3) or (len(counts) > 1 and counts[1] > 1):
            continue
        product = 10
        for digit in d:
            total = (digit + product) % 10 or 10
            product = (total * 2) % 11
        check = 11 - product
        return "".join(map(str, d)) + str(0 if check == 10 else check)


def dni(rng: random.Random) -> str:
    n = rng.randint(10_000_000, 99_999_999)
    return f"{n}{'TRWAGMYFPDXBNJZSQVHLCKE'[n % 23]}"


def nie(rng: random.Random) -> str:
    prefix = rng.choice("XYZ")
    n = rng.randint(1_000_000, 9_999_999)
    return f"{prefix}{n:07d}{'TRWAGMYFPDXBNJZSQVHLCKE'[int(str('XYZ'.index(prefix)) + f'{n:07d}') % 23]}"


def passport(rng: random.Random) -> str:
    return rng.choice(string.ascii_uppercase) + _rand(rng, string.digits, 8)


# --- the tuned set ---------------------------------------------------------------------------------------

SSN_TEMPLATES = ["My SSN is {v}, can you update my tax form?", "ssn: {v}", "Social security number {v} is on file.",
                 '{"customer": {"ssn": "{v}"}}', "Verify SSN {v} before the refund.",
                 "the social security no. {v} belongs to the applicant"]
KEY_TEMPLATES = ["I pasted {v} by mistake, can you ignore it?", "export STRIPE={v}", "here is the key {v} for prod",
                 '{"headers": {"X-Custom": "{v}"}}', "key:{v}", "Use {v} in the webhook config.",
                 "curl -H 'Authorization: {v}' https://api.example.com"]
PASSWORD_CASES = [
    "my password is {v}", "pw: {v}", "Password: {v}", "the passcode is {v}", "My new password is {v}, please log in",
    "password={v}", "I set the password to {v} yesterday", '{"user": "ann", "pw": "{v}"}', "passwd: {v}",
    "Login with the passphrase {v} and tell me", "pwd: {v}",
]
PASSWORDS = ["hunter two", "correcthorsebattery", "Tr0ub4dor&3", "sunshine", "dragonfly", "letmein", "qwertyuiop",
             "MonkeyBusiness", "bluebird", "opensesame", "iloveyou", "princess", "starwars", "whatever123",
             "correct horse battery staple"]
PIN_CASES = ["my pin is {v}", "PIN: {v}", "the pin code is {v}", "Card PIN {v} was blocked", "passcode {v}"]
CARD_TEMPLATES = ["My card {v} was declined.", "Card number: {v}", "please charge {v} for the renewal",
                  '{"card_number": "{v}", "exp": "12/27"}', "I paid with {v} twice", "CC {v} exp 03/28 cvv 123"]
PHONE_TEMPLATES = ["call me at {v}", "Phone: {v}", "my mobile is {v}", "reach me on WhatsApp {v} after 6",
                   "Tel. {v}", "You can text me at {v}.", '{"phone": "{v}"}', "Call {v} tomorrow"]
HAND_PHONES = [
    "555-123-4567 x123", "(555) 123-4567 ext. 12", "+1 555 123 4567 extension 4021", "555.123.4567 #204",
    "+1-623-928-6012x9040", "001-555-123-4567x89", "5551234567", "+4915112345678", "015112345678", "030 1234567",
    "07700900123", "+447700900123", "020 7946 0958", "0612345678", "+33612345678", "06 12 34 56 78",
    "9876543210", "+919876543210", "98765 43210", "11987654321", "+5511987654321", "(11) 98765-4321",
    "09012345678", "090-1234-5678", "+819012345678", "0201234567", "+31201234567", "06-12345678",
    "+49(0)5297 48917", "(02328) 60129", "(0141) 496 0232", "+44 (0) 20 7946 0958",
]
EMAIL_TEMPLATES = ["write to {v} please", "Email: {v}", '{"email": "{v}"}', "cc {v} on the ticket"]
IBAN_TEMPLATES = ["refund to {v} please", "IBAN: {v}", "my account {v} was debited"]
IP_TEMPLATES = ["the request came from {v} at noon", "host {v} is down", "allowlist {v} in the firewall"]
NAME_TEMPLATES = ["My name is {v} and I need help with my invoice.", "Hi, this is {v}, calling about my order.",
                  "Please forward this to {v}.", "{v} reported that the app crashes on login.",
                  "Dear {v},\nyour refund has been processed.", "Thanks,\n{v}", "I spoke with {v} yesterday about the bill.",
                  "Can you add {v} as a second user on the account?", "The account holder is {v}.",
                  "Regards,\n{v}", "Ask {v} to confirm the transfer.", "{v} said the package never arrived."]
TITLE_TEMPLATES = ["Please ask {v} to sign the form.", "Appointment with {v} on Monday.", "{v} approved the refund."]
ADDRESS_TEMPLATES = ["Please ship it to {v}.", "My address is {v}", "I moved to {v} last month.",
                     "Billing address:\n{v}", "Deliver to {v} before Friday.", '{"shipping_address": "{v}"}',
                     "I live at {v}, is delivery possible?", "Send the card to {v}"]
DOB_TEMPLATES = ["DOB: {v}", "my date of birth is {v}", "I was born on {v}.", "Date of birth {v}, please verify",
                 "Birthday: {v}", '{"dob": "{v}"}', "born {v} in Leeds", "geb. {v}"]
DOB_FORMATS = ["%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y", "%B %d, %Y", "%d %B %Y", "%d/%m/%Y", "%b %d %Y", "%d-%b-%Y"]
ID_CASES: list[tuple[str, Callable[[random.Random], str], list[str]]] = [
    ("uk nino", nino, ["My NI number is {v}.", "National Insurance: {v}", "NINO {v}"]),
    ("fr nir", nir, ["Mon numéro de sécurité sociale est {v}", "NIR: {v}", "INSEE {v}"]),
    ("br cpf", cpf, ["Meu CPF é {v}", "CPF: {v}", "cpf {v} para a nota"]),
    ("nl bsn", bsn, ["Mijn BSN is {v}", "BSN: {v}", "burgerservicenummer {v}"]),
    ("sg nric", nric, ["NRIC {v}", "My NRIC is {v}.", "FIN: {v}"]),
    ("in aadhaar", aadhaar, ["Aadhaar {v}", "my aadhaar number is {v}", "UID: {v}"]),
    ("in pan", pan, ["PAN {v}", "my PAN card is {v}", "PAN: {v} for the invoice"]),
    ("ca sin", sin, ["SIN {v}", "my social insurance number is {v}", "SIN: {v}"]),
    ("au tfn", tfn, ["TFN {v}", "my tax file number is {v}", "TFN: {v}"]),
    ("de steuer-id", de_tax_id, ["Steuer-ID {v}", "meine Steuer-ID ist {v}", "Steueridentifikationsnummer: {v}"]),
    ("es dni", dni, ["DNI {v}", "mi DNI es {v}", "NIF: {v}"]),
    ("es nie", nie, ["NIE {v}", "mi NIE es {v}", "NIE: {v}"]),
    ("it codice fiscale", lambda rng: _seeded("it_IT", rng).ssn(), ["codice fiscale {v}", "CF: {v}", "il mio codice fiscale è {v}"]),
]
PASSPORT_TEMPLATES = ["Passport number: {v}", "my passport is {v}", "passport no. {v}, expires 2030", "Reisepass {v}"]


def _seeded(locale: str, rng: random.Random) -> Faker:
    fake = Faker(locale)
    fake.seed_instance(rng.randint(0, 2**31))
    return fake


def _locale_fakers(seed: int, locales: tuple[str, ...]) -> list[Faker]:
    fakers = []
    for i, locale in enumerate(locales):
        fake = Faker(locale)
        fake.seed_instance(seed + i)
        fakers.append(fake)
    return fakers


def cases(seed: int = 7, per_kind: int = 60) -> list[Case]:
    """The tuned set: every structured kind's hard cases and Faker values, names, addresses, dates
    of birth and national ids. Deterministic for a seed."""
    rng = random.Random(seed)
    fakers = _locale_fakers(seed, ("en_US", "en_GB", "de_DE", "fr_FR"))
    us, gb, de, fr = fakers
    out: list[Case] = []
    add = out.append
    pick = rng.choice

    # SSN: dashed, spaced, bare, in context
    for i in range(per_kind):
        value = us.ssn() if i % 2 else ssn(rng)
        if i % 5 == 3:
            value = value.replace("-", " ")
        elif i % 5 == 4:
            value = value.replace("-", "")
        template = pick(SSN_TEMPLATES) if "-" not in value else pick(SSN_TEMPLATES + ["her SSN, {v}, is wrong"])
        add(plant(template, value, "SSN", "faker ssn" if i % 2 else "hand ssn"))
    # vendor keys, outside any key= or Bearer context
    for _ in range(3):
        for vendor, key in api_keys(rng):
            kind = "TOKEN" if vendor == "jwt" else ("SECRET" if vendor == "aws secret" else "API_KEY")
            if vendor == "aws secret":
                add(plant("my {v} is what the script uses", key, kind, "hand aws secret", core=key.split()[-1]))
                continue
            add(plant(pick(KEY_TEMPLATES), key, kind, f"hand {vendor}"))
    # passwords: prose, no digits, several wordings
    for template in PASSWORD_CASES:
        for value in rng.sample(PASSWORDS, 4):
            add(plant(template, value, "PASSWORD", "hand password"))
    for template in PIN_CASES:
        add(plant(template, str(rng.randint(1000, 99999999))[: rng.choice((4, 6, 8))], "PASSWORD", "hand pin"))
    # cards: every brand, prefix, length and grouping
    for brand, (prefixes, lengths) in CARD_BRANDS.items():
        for length in lengths:
            for sizes in GROUPINGS[length]:
                for sep in (" ", "-", ""):
                    digits = card(rng, brand, length)
                    value = group(digits, sizes, sep) if sep else digits
                    add(plant(pick(CARD_TEMPLATES), value, "CARD", f"hand card {brand}"))
    for brand in ("visa", "mastercard", "amex", "discover", "diners", "jcb15", "jcb16", "visa13", "visa19"):
        for _ in range(3):
            add(plant(pick(CARD_TEMPLATES), us.credit_card_number(brand), "CARD", "faker card"))
    # phones: extensions, no separators, every locale asked for
    for value in HAND_PHONES:
        add(plant(pick(PHONE_TEMPLATES), value, "PHONE", "hand phone"))
    for fake in fakers:
        for _ in range(per_kind // 3):
            add(plant(pick(PHONE_TEMPLATES), fake.phone_number(), "PHONE", f"faker phone {fake.locales[0]}"))
    for fake in fakers:
        for _ in range(8):
            add(plant(pick(EMAIL_TEMPLATES), fake.email(), "EMAIL", "faker email"))
            add(plant(pick(IBAN_TEMPLATES), fake.iban(), "IBAN", "faker iban"))
    for _ in range(10):
        add(plant(pick(IP_TEMPLATES), us.ipv4_public(), "IP", "faker ip"))
        add(plant(pick(IP_TEMPLATES), us.ipv6(), "IP", "faker ip"))

    # names
    for fake in fakers:
        for _ in range(per_kind // 2):
            name = f"{fake.first_name()} {fake.last_name()}"
            shown = name
            if rng.random() < 0.25:  # prefixes and suffixes as Faker writes them stay outside the core
                shown = f"{fake.prefix()} {name}".strip() if rng.random() < 0.5 else f"{name} {fake.suffix()}".strip()
            add(plant(pick(NAME_TEMPLATES), shown, "PERSON", f"faker name {fake.locales[0]}", core=name))
        for _ in range(per_kind // 6):
            name = fake.last_name()
            title = pick(("Mr.", "Ms.", "Dr.", "Mrs.", "Prof."))
            add(plant(pick(TITLE_TEMPLATES), f"{title} {name}", "PERSON", "faker title name", core=name))
    for _ in range(10):
        name = us.name()
        add(plant("my name is {v} and my order is late", name.lower(), "PERSON", "hand lower-case name"))
    # addresses: the street line is the core
    for fake in fakers:
        for _ in range(per_kind // 2):
            address = fake.address()
            core = address.split("\n")[0]
            if fake is gb and core.startswith(("Flat", "Studio")):
                core = address.split("\n")[1]
            template = pick(ADDRESS_TEMPLATES)
            if template.startswith('{"'):
                address = address.replace("\n", ", ")
                core = core.replace("\n", ", ")
            add(plant(template, address, "ADDRESS", f"faker address {fake.locales[0]}", core=core))
    for address in ["221B Baker Street, London NW1 6XE", "10 Downing Street", "1600 Pennsylvania Avenue NW, Washington, DC 20500",
                    "Hauptstraße 5, 10115 Berlin", "12 rue de la Paix, 75002 Paris", "4 Privet Drive, Little Whinging",
                    "350 Fifth Ave, New York, NY 10118", "Kerkstraat 12, 1234 AB Amsterdam", "Calle Mayor 5, 28013 Madrid",
                    "Via Roma 10, 00184 Roma", "Rua das Flores, 123", "742 Evergreen Terrace, Springfield",
                    "31 Spooner St, Quahog, RI 00093", "Flat 3, 25 Kings Road, Chelsea, SW3 4RP",
                    "8 Avenue des Champs-Élysées, 75008 Paris", "Unter den Linden 77, 10117 Berlin",
                    "5 N. Main St. Apt 4B, Springfield, IL 62701", "Am Markt 3, 28195 Bremen"]:
        add(plant(pick(ADDRESS_TEMPLATES[:5] + ADDRESS_TEMPLATES[6:]), address, "ADDRESS", "hand address",
                  core=address.split(",")[0]))
    # dates of birth
    for i in range(per_kind):
        born = pick(fakers).date_of_birth()
        add(plant(pick(DOB_TEMPLATES), born.strftime(DOB_FORMATS[i % len(DOB_FORMATS)]), "DATE_OF_BIRTH", "faker dob"))
    # national ids and passports
    for name, make, templates in ID_CASES:
        for _ in range(6):
            add(plant(pick(templates), make(rng), "NATIONAL_ID", f"hand {name}"))
    for _ in range(10):
        add(plant(pick(PASSPORT_TEMPLATES), us.passport_number() if rng.random() < 0.5 else passport(rng),
                  "PASSPORT", "faker passport"))
    return out


# --- texts with nothing personal: nothing may be masked ----------------------------------------------------

NEGATIVES = [
    "Order 4100 was refunded", "order #12345678 and invoice 987654321", "in 2024 and 1999",
    "costs $1,299.99 or €12.50 or 1 299,00 EUR", "upgrade to 2.4.0 or v1.2.3 or 10.2.3",
    "at 10:30, 10:30:45 or 23:59:59.123", "on 2026-11-09, 2026-11-09T10:00:00Z, 09.11.2026, 09/11/2026",
    "unix time 1700000000", "uuid 123e4567-e89b-12d3-a456-426614174000",
    "password: incorrect, token: expired, max_tokens=4096, prompt_tokens: 12345678",
    "the password is too short", "my password is not working", "Your password is expired, reset it.",
    "the password was changed yesterday", "password reset link sent", "Password: ********",
    "pin numpy to 2.4.6", "Pin the message to the channel", "the pin is in the drawer",
    "I use Python 3.12 and Java 21 on Monday", "We meet every Tuesday at 9:00 in March",
    "The Starter plan costs 9 euros a month.", "Acme Cloud v2.4.0 release notes", "Is Kubernetes better than Docker?",
    "I have 3 Google Drive folders and 2 Supreme Court cases to read", "Spring 2024 release of Heidelberg 2",
    "Call the API at most 100 times per minute.", "phone case costs $19.99", "set timeout to 30000 ms",
    "tracking number 1Z999AA10123456784", "ISBN 978-3-16-148410-0", "commit 3f2a9b1c on branch main",
    "born to run", "she was born in 1990", "the meeting is on 2024-03-05 at 14:00",
    "Order number 0612345678 shipped", "order 501852650552 shipped", "ticket #0201234567 closed", "build 20240101 failed",
    "Ask Alexa to play music", "Open Excel and PowerPoint", "the Python SDK returns 404",
    "How do I reset my password for the billing portal?", "What is the uptime SLA of the Pro plan?",
    "my pin code is wrong", "Use the passcode you received by SMS", "text me when the build is done",
    "call me in 5 minutes", "the number 12345678 is not a phone", "amount 12345678.90 USD",
    "Dear customer, your ticket 48213 is resolved.", "Thanks for your patience!", "Regards,\nThe Acme Team",
    "Route 66 and Highway 1 are scenic", "2 Supreme Court justices and 3 Google Drive folders",
    "version 4.111.1111.1111", "port 8443 on host localhost", "SELECT * FROM users WHERE id = 42",
    "import numpy as np; np.arange(10)", "Flight BA2490 departs at 07:15", "room 101 on floor 3",
    "Python 3.11.7 on Ubuntu 22.04", "the 3rd of May is a holiday", "it happened on March 3, 2021",
]


def negatives() -> Iterator[str]:
    yield from NEGATIVES
