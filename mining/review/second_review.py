"""Which records get a blind second review: a fixed share, chosen by a hash of the record id.

Why a hash and not a random draw: the choice is the same on every machine, in every session and
after every re-ingest, needs no table, and SQL (the queue) and Python (the page) compute the same
answer. A chosen record wants reviews from two different reviewers; the second one sees the record
without the first one's review (see mining.review.queue), so their agreement can be measured.
"""

from __future__ import annotations

import hashlib

from mining.review.state import record_state, reviewer_state
from mining.settings import get_setting, set_setting
from mining.store import Workspace

SHARE_KEY = "review_second_share"
DEFAULT_SHARE = 0.10
_BUCKETS = 10_000  # shares are kept to 0.01% steps


def second_review_share(workspace: Workspace) -> float:
    """The share (0..1) of failures that get a second, blind review; 10% unless set."""
    return float(get_setting(workspace, SHARE_KEY, DEFAULT_SHARE))


def set_second_review_share(workspace: Workspace, share: float) -> None:
    """Change the share; the hash keeps earlier choices, so raising it only adds records."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"the second-review share is between 0 and 1, not {share}")
    set_setting(workspace, SHARE_KEY, share)


def _bucket_limit(share: float) -> int:
    return int(round(share * _BUCKETS))


def needs_second_review(record_id: str, share: float) -> bool:
    """Whether the record is among the `share` that get a second review."""
    bucket = int(hashlib.sha256(record_id.encode("utf-8")).hexdigest()[:8], 16) % _BUCKETS
    return bucket < _bucket_limit(share)


def second_review_sql(column: str, share: float) -> str:
    """The same test as `needs_second_review`, as a SQL boolean over a record-id column."""
    return f"((('0x' || substr(sha256({column}), 1, 8))::UBIGINT % {_BUCKETS}) < {_bucket_limit(share)})"


def is_blind(workspace: Workspace, record_id: str, reviewer: str) -> bool:
    """Whether `reviewer` must not see the record's other review yet: it was picked for a second
    review, exactly one reviewer (someone else) has judged it, and nobody adjudicated it."""
    state = record_state(workspace, record_id)
    return (needs_second_review(record_id, second_review_share(workspace)) and state.adjudicated_by is None
            and len(state.reviewers) == 1 and reviewer not in state.reviewers
            and reviewer_state(workspace, record_id, reviewer).verdict is None)
