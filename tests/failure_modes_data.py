"""A small hand-made log with three obvious failure modes, for the Clusters page tests.

Why hand-made: the tests need clusters a person would name at a glance (refunds, log-in, parcel
tracking), with enough varied wording (18 texts each) that a density clusterer finds them, and a
few good calls on other topics so failure rates and lift mean something. One refund request holds
HTML, to check that map hover text and examples show it as text.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

HTML = "<b>bold</b> <img src=x onerror=alert(1)> & co"

REFUNDS = [
    "I was charged twice for order {n}, where is my refund?",
    "Refund for order {n} still has not arrived after two weeks",
    "You billed my credit card twice this month, please refund the duplicate charge",
    "Why was I charged again for order {n}? I want my money back",
    "My refund for the returned jacket never showed up on my card",
    "The duplicate payment on my account needs to be refunded today",
    "I cancelled order {n} but my card was still charged, refund it",
    "How long does a refund take? Order {n} was returned ten days ago",
    "Double charge on my Visa for order {n}, please reverse it",
    "I returned the shoes and still no refund on my credit card",
    "Charged the full price twice for one order, need a refund",
    "Refund status for order {n}? The money is not back yet",
    "You took payment two times for the same order, give me a refund",
    "My bank shows two charges for order {n}, refund one of them",
    "Still waiting for the refund of my cancelled order {n}",
    "Please refund the extra charge on my card from order {n}",
    "Where is the money for my returned order {n}? Refund missing",
    "Refund me for the double billing " + HTML,
]

LOGIN = [
    "I can't log in after resetting my password",
    "Password reset link says it expired, I cannot sign in",
    "Login keeps failing with the new password I just set",
    "The reset password email never arrives so I can't log in",
    "My account is locked after too many login attempts",
    "Two-factor code is rejected when I try to sign in",
    "I reset my password twice and still cannot log into my account",
    "Sign in page says invalid password even though I just changed it",
    "Can't access my account, the password reset link is broken",
    "Locked out of my account, login says wrong password",
    "The app logs me out and won't accept my password anymore",
    "Forgot my password and the reset code does not work",
    "Login error after password change, account inaccessible",
    "Why does my password reset not let me sign in?",
    "I cannot sign into my account on the mobile app after resetting the password",
    "Password reset token invalid, still locked out",
    "My login verification code never comes, can't sign in",
    "After changing my password the login page rejects me",
]

SHIPPING = [
    "My package tracking number has not updated in five days",
    "Where is my parcel? Tracking still says label created",
    "The delivery for order {n} is late and tracking shows nothing",
    "Tracking says delivered but the package is not at my door",
    "Courier lost my parcel, tracking stuck in transit for a week",
    "When will my shipment arrive? Tracking hasn't moved",
    "Package shows out for delivery since Monday but never came",
    "My order {n} shipped ten days ago and still isn't delivered",
    "Tracking link for my parcel gives an error, where is it?",
    "The shipment is stuck at the sorting center according to tracking",
    "Delivery date keeps getting pushed back for order {n}",
    "Parcel marked delivered to the wrong address, tracking proof?",
    "No tracking updates on my package since it left the warehouse",
    "My shipment for order {n} seems lost in transit",
    "The courier never delivered my package, tracking says attempted",
    "Is my parcel lost? Tracking number shows no movement",
    "Order {n} delivery is overdue and the tracking page is blank",
    "Tracking shows the package returned to sender, why?",
]

GOOD = [
    "What are your opening hours on Sunday?",
    "Do you sell gift cards?",
    "Can I change the colour of my order before it ships?",
    "Which sizes does the linen shirt come in?",
    "Do you have a store in Lyon?",
    "Is the blue kettle dishwasher safe?",
    "How do I subscribe to the newsletter?",
    "What material is the winter coat made of?",
    "Can I pick up my order in store?",
    "Do you offer student discounts?",
    "Is there a warranty on the headphones?",
    "How do I update my delivery address?",
]

MODES = {"refund": REFUNDS, "login": LOGIN, "shipping": SHIPPING}
START = datetime(2026, 10, 19, 9, 0, tzinfo=timezone.utc)  # a Monday: three full ISO weeks of calls


WRONG_ANSWERS = [  # what a failing call answers when the log varies them (failure kinds)
    "Please check our help centre.",
    "Call our 24/7 hotline on 0800 123 4567 and quote code SHOP-{n}.",
    "I'm sorry, I can't help with that.",
]


def _line(call_id: str, question: str, when: datetime, thumbs: str, wrong: str = WRONG_ANSWERS[0]) -> dict:
    """One OpenAI-shape call with thumbs feedback; unless `wrong` is a refusal, only the thumbs mark failures."""
    answer = "Thanks for asking, here is what I found." if thumbs == "up" else wrong
    return {
        "id": call_id, "timestamp": when.isoformat().replace("+00:00", "Z"),
        "request": {"model": "gpt-test", "messages": [
            {"role": "system", "content": "You are a shop's support assistant."},
            {"role": "user", "content": question}]},
        "response": {"choices": [{"message": {"role": "assistant", "content": answer},
                                  "finish_reason": "stop"}]},
        "feedback": {"thumbs": thumbs},
    }


def failure_mode_lines(varied_answers: bool = False) -> list[dict]:
    """Every failing call (thumbs down) of the three modes, spread over three weeks, and the good calls.

    With `varied_answers` the failing calls of every mode answer one of WRONG_ANSWERS in turn, so the
    three kinds of wrong answer cut across the three modes."""
    lines = []
    for mode, texts in MODES.items():
        for index, text in enumerate(texts):
            when = START + timedelta(days=index, hours=len(lines) % 7)
            wrong = WRONG_ANSWERS[index % len(WRONG_ANSWERS) if varied_answers else 0].format(n=index)
            lines.append(_line(f"{mode}-{index:02d}", text.format(n=4100 + index * 7), when, "down", wrong))
    for repeat in range(3):
        for index, text in enumerate(GOOD):
            when = START + timedelta(days=index + repeat * 7, hours=3)
            lines.append(_line(f"good-{repeat}-{index:02d}", text, when, "up"))
    return lines


def write_failure_modes_log(path: Path, varied_answers: bool = False) -> Path:
    """The log as a JSONL file at `path` (see failure_mode_lines for `varied_answers`)."""
    path.write_text("".join(json.dumps(line) + "\n" for line in failure_mode_lines(varied_answers)), encoding="utf-8")
    return path


def use_fp32_embeddings(workspace) -> None:
    """Embed this log with the fp32 model (OpenVINO) instead of the int8 default.

    Why: int8 kernels compute differently on different CPUs (with or without VNNI), and on some of
    them the int8 vectors of these 54 texts put refunds and parcel tracking close enough that UMAP
    and HDBSCAN merge the two for a third of the seeds; the fp32 vectors separate them for every
    seed tried. What these tests check (modes, names, identity across runs, the page) does not
    depend on quantisation; int8's quality is measured in bench/README.md.
    """
    from mining.embed import EmbeddingSettings, save_embedding_settings

    save_embedding_settings(workspace, EmbeddingSettings(backend="openvino"))
