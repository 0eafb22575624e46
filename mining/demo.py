"""A realistic demo log: a month of a customer-support assistant's calls, with its recurring failures.

Why a generator rather than a shipped file: a first-time user (and every test that needs volume)
gets a few thousand varied calls without a download, and the same seed and end date always give
the same bytes, so screenshots, tests and bug reports can point at the same data.

The traffic is "Nimbus", the support assistant of Acme Cloud, logged in the OpenAI chat-completions
shape (FORMATS.md). User requests are templates filled with slots, so texts vary the way real ones
do. Most answers are good; the rest are failure modes a reviewer would recognise, some of them
growing over the weeks (a release mid-month moves to a newer model and a smaller token budget):
hallucinated refund / SLA policies, wrong refusals of legitimate account questions, truncated
answers, invalid JSON when JSON was asked for, abstentions, and tool calls that fail.
"""

from __future__ import annotations

import json
import random
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from mining.common import missing_folder

if TYPE_CHECKING:
    from mining.ingest import IngestReport
    from mining.store import Workspace

DEFAULT_END = datetime(2026, 11, 20, 18, 0, tzinfo=timezone.utc)
WINDOW = timedelta(days=28)
SYSTEM_PROMPT = (
    "You are Nimbus, the support assistant of Acme Cloud. Answer from the policy documents only. "
    "Be concise and tell the user where in the console to go."
)

# Two releases: the second moves to a newer model with a smaller token budget, which is what makes
# truncation and invalid JSON grow in the second half of the window.
RELEASES = [
    {"app_version": "2.3.1", "model": "gpt-4o-mini-2024-07-18", "max_tokens": 400},
    {"app_version": "2.4.0", "model": "gpt-4.1-mini-2025-04-14", "max_tokens": 160},
]
RELEASE_AT = 0.55  # fraction of the window when 2.4.0 starts rolling out
ESCALATION_MODEL = "gpt-4o-2024-08-06"  # long multi-turn conversations are escalated to it

PLANS = ["Starter", "Pro", "Business", "Enterprise"]
SLA = {"Starter": "99.5% monthly uptime", "Pro": "99.9% monthly uptime", "Business": "99.95% monthly uptime",
       "Enterprise": "99.99% monthly uptime"}
REGIONS = ["eu-west", "eu-central", "us-east", "us-west", "ap-south", "ap-northeast"]
GPUS = ["A100", "H100", "L4", "T4"]
SIZES = ["2 vCPU / 4 GB", "4 vCPU / 16 GB", "8 vCPU / 32 GB", "16 vCPU / 64 GB"]
PRICES = {"2 vCPU / 4 GB": "$0.048", "4 vCPU / 16 GB": "$0.19", "8 vCPU / 32 GB": "$0.38", "16 vCPU / 64 GB": "$0.76"}
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October"]
VM_NAMES = ["web-1", "web-2", "api-1", "api-2", "db-1", "db-replica", "worker-1", "worker-2", "cache-1", "batch-7"]
GREETINGS = ["", "", "", "", "Hi, ", "Hello! ", "hey ", "Hi Nimbus, ", "Good morning. ", "Quick question: "]
CLOSINGS = ["", "", "", "", " Thanks!", " thx", " Please help.", " asap please", " Thank you.", " :)"]


@dataclass(frozen=True)
class Intent:
    """One kind of request: how users phrase it, what a good answer says, and how it goes wrong.

    Each question comes with its own good answer, so a good call answers what was asked. Failure
    templates may use `{answer}` (the good answer) and `{answer_cut}` (it, cut by the token budget).
    """

    name: str
    weight: float
    questions: tuple[tuple[str, str], ...]  # (question template, good answer template)
    failure: str | None = None  # the failure mode this request is prone to
    failures: tuple[str, ...] = ()
    kind: str = "chat"  # chat | json | tool


REFUND_POLICY = ("Annual plans can be refunded pro rata within 30 days of purchase from Billing > Subscriptions. "
                 "Monthly plans are not refundable, but you can cancel any time and keep access until the period ends.")
SLA_ANSWER = ("The {plan} plan comes with {sla}. If we miss it, open a claim from Support > SLA credits within "
              "30 days; credits are a share of that month's fee.")
PASSWORD_ANSWER = ("Go to the login page and choose 'Forgot password'. If you no longer have access to your email, "
                   "open an identity-verification request from the help centre and we'll restore access within 24 hours.")

INTENTS: list[Intent] = [
    Intent(
        "refund", 9,
        (("Can I get a refund for the {plan} plan after {days} days?", REFUND_POLICY),
         ("What's your refund window for yearly subscriptions?", REFUND_POLICY),
         ("I bought the annual {plan} plan {days} days ago and want my money back. Possible?",
          "Annual plans are refundable pro rata within 30 days of purchase. If you are inside that window, "
          "request it from Billing > Subscriptions > Cancel and refund; otherwise you can turn off renewal."),
         ("is the {plan} plan refundable if I cancel after {days} days", REFUND_POLICY),
         ("Do you refund monthly plans? I only used it for {days} days.",
          "Monthly plans are not refundable, but you can cancel now from Billing > Subscriptions and keep access "
          "until the end of the month.")),
        "hallucinated_policy",
        ("Yes, Acme Cloud refunds annual plans in full at any time, no questions asked.",
         "You can request a full refund within 90 days of purchase.",
         "Every plan, including {plan}, comes with a 6-month money-back guarantee.",
         "Since you are within {days} days, you qualify for a full refund plus a 20% loyalty credit."),
    ),
    Intent(
        "sla", 6,
        (("What uptime does the {plan} plan guarantee?", SLA_ANSWER),
         ("What's the SLA on {plan}?", SLA_ANSWER),
         ("Do we get service credits if {region} goes down? We're on {plan}.",
          "Yes: the {plan} plan commits to {sla} per region. Claims for {region} go through Support > SLA credits "
          "within 30 days of the incident."),
         ("how much downtime is allowed per month on the {plan} tier", SLA_ANSWER),
         ("Our app in {region} was down for 2 hours. What does the {plan} SLA cover?",
          "The {plan} plan covers {sla}; an outage that breaks it earns a service credit. Open a claim for "
          "{region} from Support > SLA credits and attach the incident times.")),
        "hallucinated_policy",
        ("The {plan} plan SLA guarantees 100% uptime, and we refund the whole month for any outage.",
         "The Pro plan SLA guarantees 99.95% monthly uptime with service credits when it is missed.",
         "Every plan has a 99.999% SLA and credits are applied automatically, no claim needed."),
    ),
    Intent(
        "account_access", 8,
        (("How do I reset my password if I lost access to my email?", PASSWORD_ANSWER),
         ("I forgot my password and the reset link never arrives. Help?",
          "Check your spam folder first; reset links expire after 30 minutes. If it still does not arrive, "
          "use 'Try another way' on the login page to verify your identity and set a new password."),
         ("I can't log in, my 2FA phone was stolen. What do I do?",
          "Sign in with one of your recovery codes, then open Settings > Security to remove the lost device and "
          "enrol a new one. Without recovery codes, contact support for identity verification."),
         ("How do I change the email address on my account?",
          "Open Settings > Account > Email, enter the new address and confirm the link we send to it."),
         ("how can i add a teammate to my {plan} account",
          "Go to Settings > Team > Invite, enter their email and pick a role; the {plan} plan includes unlimited "
          "members."),
         ("Where do I download invoices for {month}?",
          "Invoices for {month} are under Billing > Invoices; each has a PDF download."),
         ("Can I transfer ownership of the account to a colleague?",
          "Yes: the owner can open Settings > Team, choose the colleague and pick 'Make owner'.")),
        "wrong_refusal",
        ("I'm sorry, but I can't help with account access questions.",
         "I cannot assist with that request.",
         "For security reasons I'm not able to discuss account details. Please contact your administrator.",
         "I'm sorry, I can't help with that."),
    ),
    Intent(
        "vm_json", 5,
        (("Return the list of my active VMs as JSON with fields name and region.", "{vms_json}"),
         ("Give me a JSON object with my VMs in {region} and their status.", "{vms_json}"),
         ("List my running instances as JSON (name, region, status).", "{vms_json}"),
         ("export my VM inventory as json please", "{vms_json}")),
        "invalid_json",
        ("{answer_cut}", "Here are your VMs:\n```json\n{answer}\n```", "{answer} Let me know if you need more details!"),
        kind="json",
    ),
    Intent(
        "usage_json", 3,
        (("Return my usage for {month} as JSON with compute_hours and storage_gb.", "{usage_json}"),
         ("JSON please: my spend in {month}.", "{usage_json}"),
         ("Summarise my {month} bill as a JSON object.", "{usage_json}")),
        "invalid_json",
        ("{answer_cut}", "Sure! {answer}", "{{'compute_hours': {hours}, 'storage_gb': {storage}}}"),
        kind="json",
    ),
    Intent(
        "how_to", 10,
        (("Explain how to configure a load balancer health check.",
          "To configure a health check, open Networking > Load balancers, choose your balancer, then set the path, "
          "interval and healthy threshold. The check marks a backend unhealthy after the configured number of "
          "failures and stops routing traffic to it until it recovers. You can also set the timeout, the expected "
          "status codes and the port, and watch each backend's state on the balancer's Health tab."),
         ("How do I set up VPC peering between {region} and {region2}?",
          "Create a peering connection under Networking > VPC > Peering, pick the VPC in {region} and the one in "
          "{region2}, and accept the request on the other side. Then add routes for each side's CIDR block to the "
          "route tables and open the security groups for the traffic you need. Make sure the CIDR blocks do not "
          "overlap, otherwise the peering cannot be created."),
         ("Walk me through enabling autoscaling for my instance group.",
          "Open Compute > Instance groups, pick the group and turn on autoscaling. Choose a metric such as average "
          "CPU, set a target like 60%, and set the minimum and maximum number of instances. New instances use the "
          "group's template, so update the template first if you changed the image, and allow a cool-down of a "
          "few minutes so the group does not flap."),
         ("What are the steps to rotate my API keys without downtime?",
          "Create a second key under Settings > API keys, deploy it to your services, and check in the key's usage "
          "graph that traffic has moved to it. Once the old key shows no requests for a day, revoke it. Keys can "
          "be scoped to projects, so rotate one project at a time if you have several, and store the new key in "
          "your secret manager rather than in code."),
         ("How do I migrate {vm} from {region} to {region2}?",
          "Take a snapshot of {vm}'s disks, copy the snapshot to {region2} from Storage > Snapshots, then create a "
          "new VM from it in {region2}. Update DNS or your load balancer to point at the new VM, check that it "
          "serves traffic, and only then delete the original in {region}. Reserved IPs cannot move between "
          "regions, so plan a new address."),
         ("how do i attach a second disk to {vm}",
          "Open Storage > Disks and create a disk in the same zone as {vm}, then choose Attach and pick {vm}. "
          "Inside the VM, format the new device (for example with mkfs.ext4), mount it, and add it to /etc/fstab "
          "so it is mounted again after a reboot. Disks can be resized later without detaching them, but the "
          "file system has to be grown from inside the VM."),
         ("Can you explain how snapshots and backups differ and how to schedule them?",
          "A snapshot is a point-in-time copy of one disk, kept in the same region and billed per GB changed. A "
          "backup policy takes snapshots on a schedule, keeps a set number of them and can copy them to a second "
          "region. To schedule them, open Storage > Backup policies, create a policy with a time and retention, "
          "and attach it to the disks or VMs you want covered.")),
        "truncated",
        ("{answer_cut}",),
    ),
    Intent(
        "product_facts", 8,
        (("Which regions offer {gpu} GPU instances?",
          "{gpu} instances are available in eu-west, us-east and ap-northeast; see Compute > GPU for quotas."),
         ("How much does the {size} instance cost per hour?",
          "The {size} instance costs {price} per hour on demand, billed per second with a one-minute minimum."),
         ("Is {gpu} available in {region}?",
          "{gpu} capacity is listed per region under Compute > GPU; request quota there if {region} shows none."),
         ("What's the max disk size I can attach to a VM?",
          "A single VM can attach disks of up to 16 TB each, and up to 32 disks per VM."),
         ("Do you have data residency guarantees for {region}?",
          "Data in {region} stays in {region}; backups are replicated within the same jurisdiction."),
         ("what's the price of a {size} vm in {region}",
          "A {size} VM costs {price} per hour in {region}, billed per second.")),
        "abstention",
        ("I'm not sure about that.",
         "I don't know, sorry.",
         "I'm not sure, please check the documentation.",
         "I don't have that information right now."),
    ),
    Intent(
        "tool_action", 7,
        (("Cancel my subscription now.", ""),
         ("Please upgrade me to the {plan} plan.", ""),
         ("Restart {vm}, it's unresponsive.", ""),
         ("Open a support ticket: {vm} in {region} keeps rebooting.", ""),
         ("cancel the {plan} plan on account acc-{account}", "")),
        "tool_error",
        kind="tool",
    ),
    Intent(
        "billing_general", 8,
        (("I was charged twice this month, how do I get the duplicate back?",
          "Duplicate charges are refunded automatically within 3-5 business days; you can also open a billing "
          "ticket from Billing > Invoices."),
         ("When does my {plan} plan renew?",
          "Your {plan} plan renews on the same day each period; Billing > Subscriptions shows the exact date."),
         ("Can I pay by bank transfer instead of card?",
          "Yes, bank transfer is available for annual plans; choose it under Billing > Payment methods."),
         ("why is my {month} invoice higher than usual",
          "Your {month} invoice includes usage above the plan's quota; Billing > Usage breaks it down by service."),
         ("How do I add a VAT number to my invoices?",
          "Add it under Billing > Details > Tax ID; it appears on every invoice issued afterwards.")),
    ),
    Intent(
        "small_talk", 3,
        (("thanks, that worked", "You're welcome! Anything else I can help with?"),
         ("Are you a bot?", "I'm Nimbus, Acme Cloud's support assistant. I can help with billing, accounts and "
                            "infrastructure."),
         ("great, thank you!", "Glad I could help!")),
    ),
]


# --- slot values -------------------------------------------------------------------------------

def _slots(rng: random.Random) -> dict[str, Any]:
    """Every slot a template may name, drawn once per call so question and answer agree."""
    plan = rng.choice(PLANS)
    size = rng.choice(SIZES)
    regions = rng.sample(REGIONS, 2)
    vms = [{"name": name, "region": rng.choice(REGIONS), "status": rng.choice(["running", "running", "stopped"])}
           for name in rng.sample(VM_NAMES, rng.randint(2, 5))]
    hours, storage = rng.randint(40, 2400), rng.randint(5, 900)
    usage = {"month": rng.choice(MONTHS), "compute_hours": hours, "storage_gb": storage,
             "total_usd": round(hours * 0.19 + storage * 0.02, 2)}
    slots = {
        "plan": plan, "sla": SLA[plan], "days": rng.choice([3, 10, 14, 20, 29, 31, 45, 60, 90, 120]),
        "region": regions[0], "region2": regions[1], "gpu": rng.choice(GPUS), "size": size,
        "price": PRICES[size], "month": usage["month"], "vm": rng.choice(VM_NAMES),
        "account": rng.randint(10, 9999), "hours": hours, "storage": storage,
        "vms_json": json.dumps({"vms": vms}), "usage_json": json.dumps(usage),
    }
    return slots


def _cut(text: str, rng: random.Random) -> str:
    """Text cut where a token budget would end it: part way, mid-word or after a space."""
    return text[: int(len(text) * rng.uniform(0.45, 0.8))].rstrip()


def _phrase(question: str, rng: random.Random) -> str:
    """A user's wording: greeting, closing and casing vary as they do in real traffic."""
    text = rng.choice(GREETINGS) + question + rng.choice(CLOSINGS)
    if rng.random() < 0.12:
        text = text.lower()
    return text


# --- one call ----------------------------------------------------------------------------------

def _failure_rate(intent: Intent, progress: float, release: dict[str, Any]) -> float:
    """How often this request fails at this point of the window: some modes grow, some do not."""
    newer = release is RELEASES[1]
    return {
        "hallucinated_policy": 0.12 + 0.38 * progress,
        "wrong_refusal": 0.3,
        "truncated": 0.4 if newer else 0.1,
        "invalid_json": 0.45 if newer else 0.12,
        "abstention": 0.28,
        "tool_error": 0.15 + 0.3 * progress,
    }.get(intent.failure or "", 0.0)


TOOLS = {
    "cancel_subscription": ("billing", {"account_id": {"type": "string"}}),
    "change_plan": ("billing", {"account_id": {"type": "string"}, "plan": {"type": "string"}}),
    "restart_vm": ("compute", {"vm_id": {"type": "string"}}),
    "create_ticket": ("support", {"subject": {"type": "string"}, "priority": {"type": "string"}}),
}
TOOL_ERRORS = [
    "ToolError: {service}.{tool} returned 503",
    "ToolError: {service}.{tool} timed out after 30s",
    "ToolError: {service}.{tool} rejected the arguments: {bad}",
]


def _tool_for(question: str) -> str:
    lowered = question.lower()
    if "cancel" in lowered:
        return "cancel_subscription"
    if "upgrade" in lowered:
        return "change_plan"
    if "restart" in lowered:
        return "restart_vm"
    return "create_ticket"


def _tool_arguments(tool: str, slots: dict[str, Any]) -> dict[str, Any]:
    return {
        "cancel_subscription": {"account_id": f"acc-{slots['account']}"},
        "change_plan": {"account_id": f"acc-{slots['account']}", "plan": slots["plan"].lower()},
        "restart_vm": {"vm_id": slots["vm"]},
        "create_ticket": {"subject": f"{slots['vm']} in {slots['region']} keeps rebooting", "priority": "high"},
    }[tool]


def _tool_schema(name: str) -> dict[str, Any]:
    properties = TOOLS[name][1]
    return {"type": "function", "function": {
        "name": name, "parameters": {"type": "object", "properties": properties, "required": list(properties)}}}


@dataclass
class Turn:
    """What the assistant did on one call: its reply, how it ended, and any application error."""

    content: str | None
    finish_reason: str
    failure: str | None
    tool_calls: list[dict[str, Any]] | None = None
    error: str | None = None


def _reply(intent: Intent, question: str, answer: str, slots: dict[str, Any], failed: bool,
           rng: random.Random, call_number: int) -> Turn:
    """The assistant's answer to one request, good or failing in the intent's way."""
    if intent.kind == "tool":
        return _tool_reply(question, slots, failed, rng, call_number)
    good = answer.format(**slots)
    if not failed:
        return Turn(good, "stop", None)
    template = rng.choice(intent.failures)
    content = template.format(**slots, answer=good, answer_cut=_cut(good, rng))
    return Turn(content, "length" if template == "{answer_cut}" else "stop", intent.failure)


def _tool_reply(question: str, slots: dict[str, Any], failed: bool, rng: random.Random, call_number: int) -> Turn:
    """A function call; when it fails the application logs the tool's error beside it."""
    tool = _tool_for(question)
    arguments = _tool_arguments(tool, slots)
    calls = [{"id": f"call_{call_number:06d}", "type": "function",
              "function": {"name": tool, "arguments": json.dumps(arguments)}}]
    if not failed:
        return Turn(None, "tool_calls", None, calls)
    bad = json.dumps(next(iter(arguments.values())))
    error = rng.choice(TOOL_ERRORS).format(service=TOOLS[tool][0], tool=tool, bad=bad)
    return Turn(None, "tool_calls", "tool_error", calls, error)


FEEDBACK_COMMENTS = {
    "hallucinated_policy": ["That's not what your refund policy says.", "Your docs say something different.",
                            "This contradicts the SLA page.", "Support told me the opposite."],
    "wrong_refusal": ["Why can't you help me with my own account?", "It refused a normal question.",
                      "Useless, I just need to log in."],
    "truncated": ["The answer cut off halfway.", "Incomplete answer.", "It stopped mid-sentence."],
    "invalid_json": ["The JSON doesn't parse.", "Broke our integration, output isn't valid JSON."],
    "abstention": ["It just said it didn't know.", "The pricing page has this, why not the bot?"],
    "tool_error": ["It said it would cancel but nothing happened.", "Got an error, had to do it by hand."],
    None: ["Quick and clear, thanks.", "Solved my problem.", "Helpful.", "Exactly what I needed.",
           "OK but a bit long."],
}


def _feedback(failure: str | None, rng: random.Random) -> dict[str, Any] | None:
    """Sparse feedback: most calls get none; failures get more of it, and more of it negative."""
    if rng.random() > (0.35 if failure else 0.12):
        return None
    negative = rng.random() < (0.8 if failure else 0.1)
    if rng.random() < 0.25:
        rating = rng.choice([1, 1, 2]) if negative else rng.choice([4, 5, 5])
        return {"rating": rating, "comment": rng.choice(FEEDBACK_COMMENTS[failure if negative else None])}
    return {"thumbs": "down" if negative else "up"}


def _tokens(text: str | None) -> int:
    return max(1, round(len((text or "").split()) * 1.35))


# --- sessions and the whole log ----------------------------------------------------------------

@dataclass
class Call:
    """One logged call before serialisation; sorted by time, then written as one JSON line."""

    ts: datetime
    order: int
    line: dict[str, Any]


def _session_start(rng: random.Random, start: datetime) -> datetime:
    """A start time with office-hours and weekday peaks, as support traffic has."""
    while True:
        moment = start + timedelta(seconds=rng.uniform(0, WINDOW.total_seconds() - 3600))
        weight = (1.0 if 7 <= moment.hour <= 19 else 0.35) * (1.0 if moment.weekday() < 5 else 0.5)
        if rng.random() < weight:
            return moment


def _pick_intent(rng: random.Random) -> Intent:
    return rng.choices(INTENTS, weights=[intent.weight for intent in INTENTS])[0]


def _session_calls(rng: random.Random, start: datetime, session: int, user: str,
                   first_call: int, remaining: int) -> list[Call]:
    """One conversation: one call, or several where each call carries the turns before it."""
    when = _session_start(rng, start)
    progress = (when - start) / WINDOW
    release = RELEASES[1] if progress > RELEASE_AT + rng.uniform(-0.08, 0.08) else RELEASES[0]
    turns = min(remaining, rng.choices([1, 2, 3, 4], weights=[70, 18, 8, 4])[0])
    history: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM_PROMPT}]
    calls = []
    for turn in range(turns):
        intent = _pick_intent(rng)
        slots = _slots(rng)
        question, answer = rng.choice(intent.questions)
        question = _phrase(question.format(**slots), rng)
        failed = rng.random() < _failure_rate(intent, progress, release)
        number = first_call + turn
        reply = _reply(intent, question, answer, slots, failed, rng, number)
        messages = history + [{"role": "user", "content": question}]
        model = ESCALATION_MODEL if turn >= 2 else release["model"]
        line = _line(rng, when, user, session, release, model, messages, intent, reply, number)
        calls.append(Call(when, number, line))
        if reply.content is None:  # a tool call ends the conversation
            break
        history = messages + [{"role": "assistant", "content": reply.content}]
        when += timedelta(seconds=rng.uniform(20, 400))
    return calls


def _line(rng: random.Random, when: datetime, user: str, session: int, release: dict[str, Any], model: str,
          messages: list[dict[str, Any]], intent: Intent, reply: Turn, number: int) -> dict[str, Any]:
    """The JSON object an application's logging middleware writes for one call."""
    request: dict[str, Any] = {"model": model, "messages": messages, "temperature": 0.3,
                               "max_tokens": release["max_tokens"]}
    if intent.kind == "json":
        request["response_format"] = {"type": "json_object"}
    if intent.kind == "tool":
        request["tools"] = [_tool_schema(name) for name in TOOLS]
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.tool_calls:
        message["tool_calls"] = reply.tool_calls
    prompt_tokens = sum(_tokens(item["content"]) for item in messages) + (180 if intent.kind == "tool" else 0)
    completion_tokens = release["max_tokens"] if reply.finish_reason == "length" else _tokens(
        reply.content or json.dumps(reply.tool_calls))
    latency = rng.lognormvariate(6.9, 0.45) + completion_tokens * rng.uniform(8, 25)
    line: dict[str, Any] = {
        "id": f"req_{rng.getrandbits(64):016x}",
        "timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z",
        "user": user,
        "metadata": {"session_id": f"sess-{session:05d}", "app_version": release["app_version"]},
        "request": request,
        "response": {
            "id": f"chatcmpl-{rng.getrandbits(48):012x}", "object": "chat.completion",
            "created": int(when.timestamp()), "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        },
        "latency_ms": round(latency),
    }
    if reply.error:
        line["error"] = reply.error
    feedback = _feedback(reply.failure, rng)
    if feedback:
        line["feedback"] = feedback
    return line


def demo_lines(seed: int = 7, calls: int = 3000, end: datetime = DEFAULT_END) -> list[dict[str, Any]]:
    """The demo's calls as JSON objects, in time order; the same arguments give the same objects."""
    rng = random.Random(seed)
    start = end - WINDOW
    users = [f"u-{rng.randint(1000, 9999)}" for _ in range(max(20, calls // 8))]
    user_weights = [1 / (rank + 1) ** 0.8 for rank in range(len(users))]  # a few heavy users, a long tail
    produced: list[Call] = []
    session = 0
    while len(produced) < calls:
        user = rng.choices(users, weights=user_weights)[0]
        produced += _session_calls(rng, start, session, user, len(produced), calls - len(produced))
        session += 1
    produced.sort(key=lambda call: (call.ts, call.order))
    return [call.line for call in produced]


def generate_demo(path: Path, seed: int = 7, calls: int = 3000, end: datetime = DEFAULT_END) -> Path:
    """Write the demo log as JSONL at `path` (byte-identical for the same seed, size and end)."""
    path = Path(path)
    if (folder := missing_folder(path)) is not None:
        raise FileNotFoundError(f"cannot write {path}: the folder {folder} does not exist (create it first)")
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        for line in demo_lines(seed, calls, end):
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return path


def load_demo(workspace: "Workspace", seed: int = 7, calls: int = 3000,
              progress: Callable[[float, str], None] | None = None) -> list["IngestReport"]:
    """Generate the demo log and ingest it into `workspace` like any OpenAI-shape file.

    The file lives in a temporary folder: records keep their raw lines, so nothing needs it after
    ingest, and its stable name keeps `source_file` the same on every load (reloading adds nothing).
    """
    from mining.ingest import ingest_paths

    if progress:
        progress(0.0, f"generating {calls:,} demo calls")
    with tempfile.TemporaryDirectory(prefix="faultline-demo-") as folder:
        path = generate_demo(Path(folder) / f"nimbus_demo_seed{seed}.jsonl", seed=seed, calls=calls)
        return ingest_paths(workspace, [path], format="openai", progress=progress)
