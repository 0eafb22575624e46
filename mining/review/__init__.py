"""Review: reviewers' verdicts, tags, corrections and notes as an append-only log of events, and
everything read from it: each call's current state, the queue, agreement between reviewers,
adjudication, progress, a second reviewer's blind share, the tag taxonomy, JSONL exchange, and a small
reader's suggestions learnt from the reviews.

The pages and the command line use what is named here; nothing in it imports Streamlit.
"""

from mining.review.adjudication import adjudicate, disagreements
from mining.review.agreement import agreement_report, cohen_kappa
from mining.review.context import record_cluster, reviewer_names
from mining.review.events import (ACTIONS, VERDICTS, Action, ReviewError, ReviewEvent, bulk_apply, bulk_preview,
                                  describe_action, last_action, list_events, save_from_editor, save_review, undo)
from mining.review.exchange import export_annotations, import_annotations
from mining.review.progress import progress_by_cluster, progress_by_reviewer, reviews_per_day
from mining.review.queue import (ORDERS, STATES, QueueFilter, claim_batch, in_queue, next_record, queue_count,
                                 queue_page, queue_record_ids, release_claims)
from mining.review.second_review import is_blind, second_review_share, set_second_review_share
from mining.review.state import (EFFECTIVE_SQL, NOT_A_REVIEW, REVIEWER_STATE, ReviewState, record_state, record_state_sql,
                                 reviewer_state, reviewer_state_sql, reviewer_states)
from mining.review.suggest import Suggestion, suggestion_for, suggestions
from mining.review.taxonomy import (UnknownTag, add_tag, describe_tag, list_tags, rename_tag, resolve_tag, retire_tag,
                                    tag_history)

__all__ = [
    "ACTIONS", "EFFECTIVE_SQL", "NOT_A_REVIEW", "REVIEWER_STATE", "ORDERS", "STATES", "VERDICTS", "Action", "QueueFilter", "ReviewError",
    "ReviewEvent", "ReviewState", "UnknownTag", "add_tag", "adjudicate", "agreement_report", "bulk_apply",
    "bulk_preview", "claim_batch", "cohen_kappa", "describe_action", "describe_tag", "disagreements",
    "export_annotations", "import_annotations", "in_queue", "is_blind", "last_action", "list_events", "list_tags",
    "next_record", "progress_by_cluster", "progress_by_reviewer", "queue_count", "queue_page", "queue_record_ids",
    "record_cluster", "record_state", "record_state_sql", "release_claims", "rename_tag", "resolve_tag", "retire_tag",
    "reviewer_names", "reviewer_state", "reviewer_state_sql", "reviewer_states", "reviews_per_day",
    "save_from_editor", "save_review", "second_review_share", "set_second_review_share", "Suggestion",
    "suggestion_for", "suggestions", "tag_history", "undo",
]
