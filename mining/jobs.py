"""Background work for the app: one clustering job per workspace at a time, with its progress.

Why a thread in the Streamlit process and not a task queue: Faultline is a desktop app with one
server process, DuckDB lets only that process write the workspace anyway, and a thread can share
the process's open workspace and loaded model. A job outlives the browser session that started it,
so every session sees the same progress, and a second click while it runs starts nothing.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from typing import Callable

from mining.cluster import ClusterSettings, run_clustering
from mining.embed import embedding_settings
from mining.store import Workspace


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


def wait(workspace: Workspace, timeout: float | None = None) -> JobState | None:
    """Block until the workspace's job ends (for tests and scripts); its final state."""
    with _lock:
        thread = _threads.get(_key(workspace))
    if thread is not None:
        thread.join(timeout)
    return job_state(workspace)


def start_clustering(workspace: Workspace, algorithm: str = "hdbscan", scope: str = "failures",
                     attach_unclustered: bool = True) -> bool:
    """Embed (with the workspace's embedding settings) and cluster in the background; False if a job runs."""
    settings = ClusterSettings(algorithm=algorithm, scope=scope, attach_unclustered=attach_unclustered)
    embedding = embedding_settings(workspace)
    return start(workspace, lambda progress: run_clustering(workspace, settings, embedding, progress).describe())
