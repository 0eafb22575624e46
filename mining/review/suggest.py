"""Suggestions from a small reader: a classifier that learns the reviewers' verdicts and tags from the
calls they reviewed, and suggests both, with how sure it is, for the calls not reviewed yet.

Why a small reader and not a generator: the verdict and the tags are a classification, and a tiny
encoder's sentence vectors with a linear classifier on top learn one from tens of reviews, in
milliseconds, on a laptop. The vectors are the ones already cached for clustering (the request),
plus the answer's, since a tag says what the answer did wrong (a made-up policy, a refusal). One
logistic regression per decision: the verdict (among those reviewers gave), and each tag given at
least MIN_PER_CLASS times (yes or no). Confidence is the classifier's probability; a suggestion is
only a suggestion: the reviewer accepts it (one press, bound to the call) or not, and nothing
is saved without them.

The reader is kept per workspace in the process and learns from the READER_SAMPLE latest settled
reviews, read from the kept review state. The first is fitted in the request that finds enough
reviews when they are few (tens of calls: milliseconds); otherwise, and once enough review events
came since its fit, a new one is fitted in a background thread with a lease of its own while the
old one keeps answering, so a reviewer's page run or save-and-next never waits for a fit. Only calls
nobody reviewed yet get a suggestion. `doubt` (the verdict's uncertainty plus that of the surest
tag) lets the queue put first the calls the reader knows least about, which reaches failure modes
nobody reviewed yet sooner: every failing intent of CLINC150 after 75 reviews instead of 240
(bench/README.md, "Suggestions").
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from mining.embed import embedding_settings, vectors_for
from mining.review.state import NOT_A_REVIEW, RECORD_STATE
from mining.store import Workspace

MIN_REVIEWS = 10  # fewer reviewed calls than this teach nothing worth suggesting
MIN_PER_CLASS = 3  # a verdict or tag seen fewer times than this is not suggested
RETRAIN_EVERY = 10  # reviews since the last fit that make the reader learn again (or a twentieth of those it knows)
READER_SAMPLE = 5_000  # the latest settled reviews a fit learns from: seconds to fit, whatever the log's size
INLINE_FIT = 500  # up to this many review events the first fit runs in the request (well under a second); beyond, in the background
NOT_A_FAILURE = "not_a_failure"

_readers: dict[str, "Reader"] = {}
_fitted_at: dict[str, int] = {}  # review events when a fit was last tried, reader or not (the state query is costly)
_refits: dict[str, threading.Thread] = {}  # workspace -> its background fit, while one runs
_lock = threading.Lock()
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Suggestion:
    """The reader's guess for one call: a verdict with its probability, and tags with theirs (above 0.5)."""

    verdict: str
    confidence: float
    tags: tuple[tuple[str, float], ...]

    @property
    def uncertainty(self) -> float:
        return 1.0 - self.confidence

    @property
    def doubt(self) -> float:
        """How little the reader knows about the call: the verdict's uncertainty, plus, for a failure, how
        unsure its surest tag is (a call of a mode nobody reviewed yet has no tag the reader is sure of)."""
        if self.verdict == NOT_A_FAILURE:
            return self.uncertainty
        return self.uncertainty + 1.0 - max((probability for _, probability in self.tags), default=0.0)


@dataclass
class Reader:
    """The fitted classifiers and how many reviews they learnt from."""

    reviews: int
    verdicts: Any  # LogisticRegression over the verdicts, or None when only one verdict was given
    verdict_only: str | None  # the one verdict given, when there was only one
    tags: dict[str, Any]  # tag -> LogisticRegression (yes / no)
    events: int = 0  # review events in the workspace when it was fitted
    doubts: dict[str, float] = field(default_factory=dict)  # record id -> Suggestion.doubt, filled as asked

    def suggest(self, features: np.ndarray) -> list[Suggestion]:
        if self.verdicts is not None:
            probabilities = self.verdicts.predict_proba(features)
            best = probabilities.argmax(axis=1)
            verdicts = [(str(self.verdicts.classes_[index]), float(row[index])) for index, row in zip(best, probabilities)]
        else:
            verdicts = [(str(self.verdict_only), 1.0)] * len(features)
        tag_probabilities = {tag: model.predict_proba(features)[:, 1] for tag, model in self.tags.items()}
        return [Suggestion(verdict, confidence,
                           () if verdict == NOT_A_FAILURE else  # tags say what went wrong: none when nothing did
                           tuple(sorted(((tag, float(values[row])) for tag, values in tag_probabilities.items()
                                         if values[row] > 0.5), key=lambda pair: -pair[1])))
                for row, (verdict, confidence) in enumerate(verdicts)]


def features(workspace: Workspace, record_ids: list[str]) -> tuple[list[str], np.ndarray]:
    """The request's and the answer's vectors side by side, for the calls that have both (cached or embedded)."""
    settings = embedding_settings(workspace)
    request = vectors_for(workspace, record_ids, replace(settings, text="request"))
    answer = vectors_for(workspace, record_ids, replace(settings, text="response"))
    answer_row = {record_id: row for row, record_id in enumerate(answer.record_ids)}
    kept = [record_id for record_id in request.record_ids if record_id in answer_row]
    if not kept:
        return [], np.zeros((0, 0), dtype=np.float32)
    request_row = {record_id: row for row, record_id in enumerate(request.record_ids)}
    matrix = np.hstack([request.matrix[[request_row[r] for r in kept]], answer.matrix[[answer_row[r] for r in kept]]])
    return kept, matrix


def reviewed_labels(workspace: Workspace, limit: int | None = None) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Calls with a settled verdict (not disputed, not skipped), the `limit` latest changed (None: all):
    record id -> (verdict, tags). Read from the kept review state, not derived from the whole log."""
    rows = workspace.cursor().execute(f"""
        SELECT record_id, verdict, tags FROM {RECORD_STATE}
        WHERE verdict IS NOT NULL AND verdict <> '{NOT_A_REVIEW}' AND NOT coalesce(disputed, false)
        ORDER BY last_change DESC, record_id {'' if limit is None else f'LIMIT {int(limit)}'}""").fetchall()
    return {record_id: (verdict, tuple(tags or ())) for record_id, verdict, tags in rows}


def train_reader(workspace: Workspace, labels: dict[str, tuple[str, tuple[str, ...]]] | None = None) -> Reader | None:
    """A reader fitted on `labels` (default: the READER_SAMPLE latest settled reviews); None with too few to learn from."""
    from sklearn.linear_model import LogisticRegression

    labels = reviewed_labels(workspace, READER_SAMPLE) if labels is None else labels
    if len(labels) < MIN_REVIEWS:
        return None
    ids, matrix = features(workspace, sorted(labels))
    if len(ids) < MIN_REVIEWS:
        return None
    verdicts = np.array([labels[record_id][0] for record_id in ids])
    counts = {verdict: int(np.sum(verdicts == verdict)) for verdict in set(verdicts)}
    kept = np.array([counts[verdict] >= MIN_PER_CLASS for verdict in verdicts])
    verdict_model, only = None, None
    if len({verdict for verdict, count in counts.items() if count >= MIN_PER_CLASS}) >= 2:
        verdict_model = LogisticRegression(max_iter=2000, class_weight="balanced").fit(matrix[kept], verdicts[kept])
    else:
        only = max(counts, key=counts.get)
    tag_models = {}
    for tag in sorted({tag for record_id in ids for tag in labels[record_id][1]}):
        has = np.array([tag in labels[record_id][1] for record_id in ids])
        if MIN_PER_CLASS <= has.sum() <= len(has) - MIN_PER_CLASS:
            tag_models[tag] = LogisticRegression(max_iter=2000, class_weight="balanced").fit(matrix, has)
    return Reader(len(labels), verdict_model, only, tag_models)


def _review_events(workspace: Workspace) -> int:
    """How many review events the workspace holds: a cheap sign of how far the reader is behind."""
    return int(workspace.cursor().execute("SELECT count(*) FROM review_events").fetchone()[0])


def current_reader(workspace: Workspace) -> Reader | None:
    """The workspace's reader. The first is fitted here when it learns from few reviews, so the
    first suggestion shows as soon as enough exist; otherwise, and once enough review events came
    since (`_stale_after`), a new one is fitted in the background while the current one (or none)
    keeps answering, so a page run or a save-and-next never waits for a fit."""
    key = str(workspace.path)
    events = _review_events(workspace)
    with _lock:
        reader, fitted_at = _readers.get(key), _fitted_at.get(key)
        if fitted_at is not None and events - fitted_at < (_stale_after(reader) if reader is not None else 1):
            return reader  # None too: with too few reviews, a fit is tried again only once another review came
        if reader is not None or events > INLINE_FIT:
            if not _refit_running(key):
                _fitted_at[key] = events  # asked for once: the next page run does not start another
                _refits[key] = threading.Thread(target=_refit, args=(workspace, events), daemon=True,
                                                name=f"faultline-reader-{workspace.path.name}")
                _refits[key].start()
            return reader
    reader = train_reader(workspace)
    _keep(key, reader, events)
    return reader


def _stale_after(reader: Reader) -> int:
    """Review events after which a reader is fitted again: RETRAIN_EVERY, or a twentieth of the
    reviews it learnt from, so a big team's every tenth save does not start a fit of thousands."""
    return max(RETRAIN_EVERY, reader.reviews // 20)


def _refit_running(key: str) -> bool:
    thread = _refits.get(key)
    return thread is not None and thread.is_alive()


def _refit(workspace: Workspace, events: int) -> None:
    """Fit a new reader in its own lease and swap it in; on failure the current reader stays, and
    the next review events that make it stale start another try."""
    try:
        with workspace.lease():
            reader = train_reader(workspace)
    except Exception:  # the workspace closed under it, or a read failed: suggestions stay as they were
        logger.warning("the reader could not be fitted again for %s", workspace.path, exc_info=True)
        return
    _keep(str(workspace.path), reader, events)


def _keep(key: str, reader: Reader | None, events: int) -> None:
    with _lock:
        _fitted_at[key] = events
        if reader is None:
            _readers.pop(key, None)
        else:
            reader.events = events
            _readers[key] = reader


def wait_for_refit(workspace: Workspace, timeout: float | None = None) -> None:
    """Block until a background fit of the workspace's reader ends (tests and scripts)."""
    with _lock:
        thread = _refits.get(str(workspace.path))
    if thread is not None:
        thread.join(timeout)


def forget_readers() -> None:
    """Drop every fitted reader, once background fits end (tests start each from none)."""
    with _lock:
        threads = list(_refits.values())
    for thread in threads:
        thread.join()
    with _lock:
        _readers.clear()
        _fitted_at.clear()
        _refits.clear()


def suggestion_for(workspace: Workspace, record_id: str) -> Suggestion | None:
    """The reader's suggestion for one call (see `suggestions`); None for a reviewed call."""
    return suggestions(workspace, [record_id]).get(record_id)


def suggestions(workspace: Workspace, record_ids: list[str]) -> dict[str, Suggestion]:
    """The reader's suggestion for each of `record_ids` nobody has reviewed yet (no review event at all:
    on a reviewed call a suggestion would echo another reviewer's answer and break a blind second
    review); empty with too few reviews. The review form and the queue's column ask the same."""
    reader = current_reader(workspace)
    if reader is None or not record_ids:
        return {}
    reviewed = {row[0] for row in workspace.cursor().execute(
        f"SELECT record_id FROM {RECORD_STATE} WHERE record_id IN (SELECT unnest(?::VARCHAR[]))",
        [record_ids]).fetchall()}
    ids, matrix = features(workspace, [record_id for record_id in record_ids if record_id not in reviewed])
    return dict(zip(ids, reader.suggest(matrix))) if ids else {}


def doubts_for(workspace: Workspace, record_ids: list[str]) -> dict[str, float]:
    """How unsure the reader is about each of `record_ids` (Suggestion.doubt), kept with the reader so a
    queue page asks the classifier only about calls it has not seen; empty with too few reviews."""
    reader = current_reader(workspace)
    if reader is None:
        return {}
    missing = [record_id for record_id in record_ids if record_id not in reader.doubts]
    if missing:
        ids, matrix = features(workspace, missing)
        if ids:
            reader.doubts.update(zip(ids, (suggestion.doubt for suggestion in reader.suggest(matrix))))
    return {record_id: reader.doubts[record_id] for record_id in record_ids if record_id in reader.doubts}
