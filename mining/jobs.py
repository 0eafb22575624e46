"""Background work for the app: one job per workspace at a time (clustering, asking an endpoint for
a golden set's answers, training on an export, scoring a training run on the golden set), with its
progress.

Why a thread in the Streamlit process and not a task queue: Faultline is a desktop app with one
server process, DuckDB lets only that process write the workspace anyway, and a thread can share
the process's open workspace and loaded model. A job outlives the browser session that started it,
so every session sees the same progress, and a second click while it runs starts nothing.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from mining.cluster import ClusterSettings, name_with_model, run_clustering
from mining.embed import embedding_settings
from mining.endpoint import EndpointConfig
from mining.evaluate.runs import evaluate_endpoint
from mining.store import Workspace
from mining.train import TrainSettings, evaluate_trained, train_from_export


@dataclass
class JobState:
    """A job as the page sees it: state is 'running', 'finished' or 'failed'."""

    state: str
    fraction: float = 0.0
    message: str = ""
    error: str | None = None
    started_at: float = 0.0
    finished_at: float | None = None


_jobs: dict[str, JobState] = {}
_threads: dict[str, threading.Thread] = {}
_stops: dict[str, threading.Event] = {}
_lock = threading.Lock()


def _key(workspace: Workspace) -> str:
    return str(workspace.path)


def job_state(workspace: Workspace) -> JobState | None:
    """A copy of the workspace's current or last job, None if none ran in this process."""
    with _lock:
        state = _jobs.get(_key(workspace))
        return replace(state) if state else None


def is_running(workspace: Workspace) -> bool:
    state = job_state(workspace)
    return state is not None and state.state == "running"


def start(workspace: Workspace, work: Callable[[Callable[[float, str], None]], str]) -> bool:
    """Run `work(progress)` in a background thread unless a job is running; True if it started.

    `work` reports through `progress(fraction, message)` and returns the message shown at the end.
    """
    key = _key(workspace)
    with _lock:
        if key in _jobs and _jobs[key].state == "running":
            return False
        _jobs[key] = JobState("running", message="starting", started_at=time.time())

    def progress(fraction: float, message: str) -> None:
        with _lock:
            _jobs[key].fraction, _jobs[key].message = fraction, message

    def body() -> None:
        try:
            message = work(progress)
        except Exception as exc:  # shown to the user on the page; the run itself is marked failed
            with _lock:
                _jobs[key] = replace(_jobs[key], state="failed", error=str(exc) or type(exc).__name__,
                                     finished_at=time.time())
            return
        with _lock:
            _jobs[key] = replace(_jobs[key], state="finished", fraction=1.0, message=message, finished_at=time.time())

    thread = threading.Thread(target=body, name=f"faultline-job-{key}", daemon=True)
    with _lock:
        _threads[key] = thread
    thread.start()
    return True


def stop(workspace: Workspace) -> bool:
    """Ask the workspace's running job to stop (jobs that can stop early check this); True if asked."""
    with _lock:
        event = _stops.get(_key(workspace))
    if event is None or not is_running(workspace):
        return False
    event.set()
    return True


def wait(workspace: Workspace, timeout: float | None = None) -> JobState | None:
    """Block until the workspace's job ends (for tests and scripts); its final state."""
    with _lock:
        thread = _threads.get(_key(workspace))
    if thread is not None:
        thread.join(timeout)
    return job_state(workspace)


def start_clustering(workspace: Workspace, algorithm: str = "hdbscan", scope: str = "failures",
                     attach_unclustered: bool = True, merge_similar: bool = True, recurring_only: bool = True) -> bool:
    """Embed (with the workspace's embedding settings) and cluster in the background; False if a job runs."""
    settings = ClusterSettings(algorithm=algorithm, scope=scope, attach_unclustered=attach_unclustered,
                               merge_similar=merge_similar, recurring_only=recurring_only)
    embedding = embedding_settings(workspace)
    return start(workspace, lambda progress: run_clustering(workspace, settings, embedding, progress).describe())


def start_model_naming(workspace: Workspace, config: EndpointConfig) -> bool:
    """Name the latest run's modes with a local model in the background, stoppable with `stop`
    (the names so far are kept); False if a job runs."""
    event = threading.Event()
    started = start(workspace, lambda progress: name_with_model(workspace, config, None, progress, event).describe())
    if started:
        with _lock:
            _stops[_key(workspace)] = event
    return started


def start_endpoint_evaluation(workspace: Workspace, name: str, config: EndpointConfig, checks: list[dict] | None,
                              created_by: str | None, redact: bool = True) -> bool:
    """Ask an endpoint for the golden set's answers as run `name` in the background, stoppable with
    `stop` (the answers so far are kept; starting it again continues); False if a job runs."""
    event = threading.Event()

    def work(progress: Callable[[float, str], None]) -> str:
        summary = evaluate_endpoint(workspace, name, config, checks, created_by, redact, progress, event)
        left = f", {len(summary.unanswered)} not answered yet" if summary.unanswered else ""
        return f"{name}: {summary.scored} of {summary.items} golden items scored{left}"

    started = start(workspace, work)
    if started:
        with _lock:
            _stops[_key(workspace)] = event
    return started


def _stoppable(workspace: Workspace, work: Callable[[Callable[[float, str], None], threading.Event], str]) -> bool:
    """Start `work(progress, stop_event)` as the workspace's job, stoppable with `stop`; False if a job runs."""
    event = threading.Event()
    started = start(workspace, lambda progress: work(progress, event))
    if started:
        with _lock:
            _stops[_key(workspace)] = event
    return started


def start_training(workspace: Workspace, export_folder: Path, out: Path, settings: TrainSettings) -> bool:
    """Train on an export in the background (SFT then DPO, mining.train), stoppable with `stop`: the
    run keeps its last checkpoint, and starting it again with `resume` goes on from it."""
    return _stoppable(workspace, lambda progress, event: train_from_export(export_folder, out, settings, progress,
                                                                           event).describe())


def start_training_evaluation(workspace: Workspace, out: Path, base_model: Path, name: str,
                              created_by: str | None) -> bool:
    """Score the base, SFT and SFT+DPO models of a training run on the golden set in the background."""
    def work(progress: Callable[[float, str], None], event: threading.Event) -> str:
        summaries = evaluate_trained(workspace, out, base_model, name, progress=progress, stop=event,
                                     created_by=created_by)
        return f"scored {', '.join(summary.name for summary in summaries)}: compare them on the Evaluate page"

    return _stoppable(workspace, work)
