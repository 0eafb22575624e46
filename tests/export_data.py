"""A small reviewed workspace for the export tests: every case a writer must handle, made by hand.

Why by hand: each record stands for one rule (a multi-turn prompt, a tool call corrected with a
tool call, secrets of every kind in every field, a correction equal to the model's answer, an
exact and a near duplicate of a golden input, an unsure verdict with a thumbs down, ...), so a
test can name the record whose fate it checks. Modes are written as a cluster run directly.
"""

from __future__ import annotations

import json
from pathlib import Path

from mining.export.plan import ExportRequest
from mining.export.selection import ExportFilter
from mining.export.writer import ExportResult, make_export
from mining.ingest import ingest_paths
from mining.review import save_review
from mining.store import Workspace
from review_data import add_cluster_run

SYSTEM = "You are the billing and network assistant of Acme Cloud."
TOOLS = [{"type": "function", "function": {"name": "restart_vm", "parameters": {
             "type": "object", "properties": {"vm_id": {"type": "string"}}, "required": ["vm_id"]}}},
         {"type": "function", "function": {"name": "create_ticket", "parameters": {
             "type": "object", "properties": {"subject": {"type": "string"}, "priority": {"type": "string"}},
             "required": ["subject", "priority"]}}}]

# Each secret kind as it would appear in a log, and where it is planted.
SECRETS = {
    "EMAIL": "dana.smith@example.org",
    "PHONE": "+44 20 7946 0958",
    "CARD": "4111 1111 1111 1111",
    "IBAN": "DE89 3704 0044 0532 0130 00",
    "IP": "203.0.113.42",
    "API_KEY": "sk-proj-AbCdEf1234567890GhIjKlMnOpQrStUv",
    "TOKEN": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
}
PII_QUESTION = ("My card {CARD} was charged twice, my IBAN is {IBAN}, call me on {PHONE} or mail {EMAIL}. "
                "Our server {IP} uses key {API_KEY} and token {TOKEN}.").format(**SECRETS)
PII_FIELDS = ("question", "model output", "correction", "note")  # each holds every secret of SECRETS

QUESTIONS = {
    "bill-0": "Why was I charged twice for the October invoice?",
    "bill-1": "How can I get a refund for an annual subscription I cancelled yesterday?",
    "bill-2": "Which payment methods do you accept for enterprise accounts?",
    "bill-3": "Can I change the currency my invoices are issued in?",
    "net-0": "My load balancer returns 502 errors after the last deploy, what should I check?",
    "net-1": "How do I open port 8443 in the firewall of my VPC?",
    "net-2": "DNS for my custom domain does not resolve after I changed the nameservers.",
    "net-3": "How do I peer two VPCs that live in different regions?",
    "golden-0": "How do I reset my password for the billing portal?",
    "near-0": "how do I reset the password for my billing portal, please?",
    "exact-0": "HOW DO I RESET MY PASSWORD  FOR THE BILLING PORTAL?",
    "same-0": "What is the uptime SLA of the Pro plan?",
    "nocorr-0": "Can I move a reserved instance to another project?",
    "unsure-0": "Is there a discount for non-profits?",
    "ok-0": "Where do I download my invoices?",
    "ok-1": "How do I add a teammate to my account?",
    "empty-0": "",
}
MODES = {0: ["bill-0", "bill-1", "bill-2", "bill-3", "multi-0", "pii-0", "golden-0", "near-0", "exact-0"],
         1: ["net-0", "net-1", "net-2", "net-3", "tool-0", "same-0", "nocorr-0"]}


def _line(call_id: str, messages: list[dict], answer: str | None, *, thumbs: str, day: int,
          tool_calls: list[dict] | None = None, tools: list[dict] | None = None) -> dict:
    message: dict = {"role": "assistant", "content": answer}
    if tool_calls:
        message["tool_calls"] = tool_calls
    request: dict = {"model": "gpt-test", "messages": messages}
    if tools:
        request["tools"] = tools
    return {"id": call_id, "timestamp": f"2026-11-{day:02d}T10:00:00Z", "request": request,
            "response": {"choices": [{"message": message, "finish_reason": "tool_calls" if tool_calls else "stop"}]},
            "feedback": {"thumbs": thumbs}}


def _simple(call_id: str, question: str, answer: str, thumbs: str, day: int) -> dict:
    return _line(call_id, [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}], answer,
                 thumbs=thumbs, day=day)


def log_lines() -> list[dict]:
    """The calls, as an application would have logged them."""
    lines = [_simple(call_id, question, f"Wrong answer about {call_id}.", "up" if call_id.startswith("ok") else "down",
                     day) for day, (call_id, question) in enumerate(QUESTIONS.items(), start=1)]
    lines.append(_line("multi-0", [{"role": "system", "content": SYSTEM},
                                   {"role": "user", "content": "What does the Starter plan cost?"},
                                   {"role": "assistant", "content": "The Starter plan costs 9 euros a month."},
                                   {"role": "user", "content": "And does it include backups?"}],
                       "Yes, hourly backups are included.", thumbs="down", day=20))
    lines.append(_line("tool-0", [{"role": "system", "content": SYSTEM},
                                  {"role": "user", "content": "Open a ticket: vm-7 keeps rebooting."}], None,
                       thumbs="down", day=21, tools=TOOLS,
                       tool_calls=[{"id": "call_1", "type": "function",
                                    "function": {"name": "restart_vm", "arguments": "{\"vm_id\": \"vm-7\"}"}}]))
    lines.append(_line("pii-0", [{"role": "system", "content": SYSTEM}, {"role": "user", "content": PII_QUESTION}],
                       f"Noted. {PII_QUESTION}", thumbs="down", day=22))
    return lines


def build(workspace: Workspace, folder: Path) -> dict[str, str]:
    """Ingest the calls, write two modes and review them; returns source id -> record id."""
    path = folder / "export_calls.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in log_lines()), encoding="utf-8")
    ingest_paths(workspace, [path])
    ids = dict(workspace.cursor().execute("SELECT source_id, record_id FROM records").fetchall())
    add_cluster_run(workspace, [(mode, len(members), 2.0, "stable", [ids[m] for m in members])
                                for mode, members in MODES.items()])
    for source_id in ("bill-0", "bill-1", "bill-2", "bill-3", "net-0", "net-1", "net-2", "net-3", "golden-0",
                      "near-0", "exact-0", "multi-0", "empty-0"):
        save_review(workspace, ids[source_id], "ana", verdict="hard_example", tags=["wrong_answer"],
                    correction=f"The correct answer for {source_id}.")
    save_review(workspace, ids["tool-0"], "ana", verdict="hard_example", tags=["tool_misuse"],
                tool_calls=[{"id": "call_1", "name": "create_ticket",
                             "arguments": {"subject": f"vm-7 keeps rebooting, reply to {SECRETS['EMAIL']}",
                                           "priority": "high"}}])
    save_review(workspace, ids["pii-0"], "ana", verdict="hard_example", tags=["hallucination"],
                correction=f"Never repeat these: {PII_QUESTION}", note=f"customer leaked: {PII_QUESTION}")
    save_review(workspace, ids["same-0"], "ana", verdict="hard_example", correction="Wrong answer about same-0.")
    save_review(workspace, ids["nocorr-0"], "ana", verdict="hard_example", tags=["incomplete"])
    save_review(workspace, ids["unsure-0"], "ana", verdict="unsure")
    for source_id in ("ok-0", "ok-1"):
        save_review(workspace, ids[source_id], "ana", verdict="not_a_failure")
    save_review(workspace, ids["bill-0"], "bo", verdict="hard_example", tags=["wrong_answer"])
    return ids


def export_training_rows(workspace: Workspace, out: Path, verdict: str = "hard_example") -> ExportResult:
    """SFT rows and DPO pairs of the calls reviewed with `verdict`, exported to `out` (what training reads)."""
    _, result = make_export(workspace, ExportRequest(kinds=("sft", "dpo"), filter=ExportFilter(verdicts=(verdict,))),
                            out)
    return result
