"""What every page of the app shares: the workspace in use, progress bars, safe text, and a record
read as a chat transcript (the Records and Review pages).

Log text is untrusted: a logged prompt may hold HTML or markdown written by anyone. Pages show it
with st.text, st.code, st.json or st.dataframe, which never interpret it. Where an element only
takes markdown (st.error, st.warning), the text goes through `plain` first.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol
from urllib.parse import unquote

import streamlit as st

import table_ui
from mining.access import PathRefused, ServerConfigError, check_path, data_folders, load_server_config
from mining.browse import FilterOptions
from mining.recovery import recover
from mining.store import Workspace, WorkspaceError, default_workspace_path

WORKSPACE_KEY = "workspace_path"
REVIEWER_KEY = "reviewer"
_UPLOADS_KEY = "upload_folder"
UPLOADS_PREFIX = "faultline-uploads-"  # the temporary folders uploads are saved in
# Known roles get their own avatar; anything else a log calls a role is shown as text.
VERDICT_LABELS = {"hard_example": "Hard example", "not_a_failure": "Not a failure", "unsure": "Unsure",
                  "skip": "Skip"}
AVATARS = {"user": None, "assistant": None, "system": ":material/settings:", "tool": ":material/build:"}

# Column titles for workspace_summary's recent_ingests, shown on the Overview and Ingest pages.
INGEST_HISTORY_COLUMNS = {
    "started_at": "Started", "file": "File", "format": "Format", "rows_read": "Read", "rows_added": "Added",
    "rows_present": "Already present", "rows_quarantined": "Quarantined", "rows_skipped": "Skipped",
    "message": "Problem",
}

# Columns of mining.cluster.similar.similar_records' neighbours, shown on the Failure modes and Review pages.
SIMILAR_COLUMNS = {
    "similarity": st.column_config.NumberColumn("Similarity", format="%.2f", width="small"),
    "text": st.column_config.TextColumn("Text", width="large"),
    "cluster_name": st.column_config.TextColumn("Failure mode"),
    "source_id": st.column_config.TextColumn("Source id"),
}

# Every ASCII punctuation character may be backslash-escaped in CommonMark; escaping them all turns
# any markup (emphasis, links, images, HTML, Streamlit's :color[...] and $math$) into literal text.
_MARKDOWN_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")
# Escapes act while markdown is parsed, but GFM's autolinks are found afterwards, in the parsed text:
# `http://`, `www.` and `name@host.tld` would still become links. An invisible WORD JOINER after
# `http`, `https`, `www` and `@` keeps the text as it reads while no longer matching.
_AUTOLINK_START = re.compile(r"(?i)https?(?=:)|www(?=\.)|@")
WORD_JOINER = "\u2060"
# Indentation would start a code block: leading spaces and tabs become no-break spaces, which it ignores.
_INDENT = re.compile(r"(?m)^[ \t]+")


class Upload(Protocol):
    """The part of Streamlit's UploadedFile that saving needs."""

    name: str
    file_id: str

    def getbuffer(self) -> memoryview: ...


def plain(text: object) -> str:
    """`text` as markdown that displays exactly `text`: no formatting, links, images, HTML, math,
    colours, icons or emoji (checked in a browser: tests/e2e/test_hostile_strings_browser.py). Every
    line break stays a line break; the only changes, invisible, are WORD_JOINER in would-be links
    and no-break spaces for leading ones."""
    text = str(text).replace("\r\n", "\n").replace("\r", "\n")
    text = _AUTOLINK_START.sub(lambda match: match.group() + WORD_JOINER, text)
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    escaped = _INDENT.sub(lambda match: "\u00a0" * len(match.group()), escaped)
    return escaped.replace("\n", "  \n")


def workspace_arg(argv: list[str]) -> str | None:
    """The value of `--workspace W` (or `--workspace=W`) in the script's arguments, if given.

    Why by hand: `streamlit run app.py -- --workspace W` passes the arguments after `--` to the
    script, but under tests sys.argv is pytest's, which argparse would choke on.
    """
    for index, arg in enumerate(argv):
        if arg == "--workspace" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--workspace="):
            return arg.partition("=")[2]
    return None


def initial_workspace_path() -> str:
    """The workspace a new session starts on: --workspace, else $FAULTLINE_WORKSPACE, else the default."""
    return workspace_arg(sys.argv[1:]) or str(default_workspace_path())


def workspace_folders() -> tuple[Path, ...]:
    """The folders a text box in the app may name (mining.access.paths): the startup workspace's,
    $FAULTLINE_DATA's and the server settings' data_folders."""
    return data_folders(load_server_config(), Path(initial_workspace_path()))


def current_workspace() -> Workspace:
    """The workspace chosen in the sidebar; stops the page with the reason when it cannot be opened
    or lies outside the app's folders (the sidebar refuses such a path, this is the second lock)."""
    path = st.session_state.get(WORKSPACE_KEY) or initial_workspace_path()
    try:
        return Workspace.open(check_path(path, workspace_folders(), load_server_config()))
    except (WorkspaceError, PathRefused, ServerConfigError) as exc:
        st.error(plain(exc))
        st.stop()


@contextmanager
def workspace_turn() -> Iterator[None]:
    """Hold the session's workspace for the whole page run (processes take turns on the file, see
    mining.store), saying so while another program, such as a script's ingest, has it. A workspace
    that cannot be opened is left to the page, which shows why."""
    notice = st.empty()

    def waiting(seconds: float, reason: str) -> None:
        notice.info(plain(f"Waiting for the workspace ({seconds:.0f} s so far): {reason}"))

    path = st.session_state.get(WORKSPACE_KEY) or initial_workspace_path()
    try:
        workspace = Workspace.open(check_path(path, workspace_folders(), load_server_config()), waiting)
    except (WorkspaceError, PathRefused, ServerConfigError):
        notice.empty()
        yield
        return
    try:
        with workspace.lease(waiting):
            notice.empty()
            for note in recover(workspace):
                st.info(plain(note))
            yield
    except WorkspaceError as exc:  # busy past the wait: say so instead of a traceback
        notice.empty()
        st.error(plain(exc))
        st.stop()


def page_picker(total: int, page_size: int, key: str, noun: str) -> int:
    """A page number input (1-based) with the total beside it; kept in range when a filter narrows."""
    pages = max(1, math.ceil(total / page_size))
    if st.session_state.get(key, 1) > pages:
        st.session_state[key] = pages
    columns = st.columns([1, 4], vertical_alignment="bottom")
    page = columns[0].number_input(f"Page (of {pages:,})", min_value=1, max_value=pages, step=1, key=key)
    columns[1].text(f"{total:,} {noun}")
    return int(page)


def ingest_history(ingests: list[dict]) -> None:
    """The latest ingests as a table: what happened to every file, failed ones included."""
    ingests = [{**ingest, "file": shown_path(ingest["file"]), "message": shown_message(ingest["message"], ingest["file"])}
               for ingest in ingests]
    table_ui.table(ingests, column_order=list(INGEST_HISTORY_COLUMNS),
                   columns=INGEST_HISTORY_COLUMNS)


def progress_reporter(title: str) -> Callable[[float, str], None]:
    """A progress callback for the library that draws a bar and the latest message as plain text."""
    bar = st.progress(0.0, text=title)
    note = st.empty()

    def report(fraction: float, message: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=title)
        note.text(message)

    return report


def reviewer_name() -> str:
    """The reviewer's name from the sidebar, spaces tidied (empty when none is set)."""
    return " ".join(str(st.session_state.get(REVIEWER_KEY) or "").split())


def need_reviewer(what: str) -> bool:
    """Warn and return True when no reviewer name is set: nothing is recorded without one."""
    if reviewer_name():
        return False
    st.warning(f"Enter your name as Reviewer in the sidebar first: {what} is recorded with who did it. "
               "Nothing was saved.")
    return True


def job_outcome(notice_key: str, failed: str, finished: str = "") -> None:
    """How the last background job this page watched ended (set by `job_progress`), once: the error
    after `failed`, or the job's own message (`finished` when it gave none)."""
    state = st.session_state.pop(notice_key, None)
    if state is None:
        return
    if state.error:
        st.error(plain(f"{failed}: {state.error}"))
    else:
        st.success(plain(state.message or finished))


def job_progress(workspace: Workspace, title: str, watching_key: str, notice_key: str) -> None:
    """The workspace's background job (mining/jobs.py) as a progress bar, redrawn every second while
    it runs (only this part of the page reruns). When a job this session watches (`watching_key`
    set) ends, its final state goes to `notice_key` and the whole page reruns to show the result."""
    from mining import jobs  # here, not at the top: it loads the clustering stack, which most pages never need

    def panel() -> None:
        state = jobs.job_state(workspace)
        if state is None:
            return
        if state.state == "running":
            st.session_state[watching_key] = True
            st.progress(min(max(state.fraction, 0.0), 1.0), text=title)
            st.text(state.message)
            return
        if st.session_state.pop(watching_key, False):
            st.session_state[notice_key] = state
            st.rerun(scope="app")

    running = jobs.is_running(workspace)
    if running or st.session_state.get(watching_key):
        st.fragment(panel, run_every=1.0 if running else None)()


def upload_folder() -> Path:
    """This session's folder for uploaded files, so ingest reads them from disk under their own names."""
    if _UPLOADS_KEY not in st.session_state:
        st.session_state[_UPLOADS_KEY] = tempfile.mkdtemp(prefix=UPLOADS_PREFIX)
    return Path(st.session_state[_UPLOADS_KEY])


def shown_path(path: str | Path) -> str:
    """A file as the person who chose it knows it: an upload by its own name ("orders.jsonl
    (uploaded)"), not the temporary folder it was saved in; any other file by its path."""
    path = Path(path)
    try:
        inside = path.resolve().relative_to(Path(tempfile.gettempdir()).resolve()).parts
    except ValueError:
        return str(path)
    return f"{path.name} (uploaded)" if inside and inside[0].startswith(UPLOADS_PREFIX) else str(path)


def save_uploads(files: Iterable[Upload], folder: Path) -> list[Path]:
    """Write uploaded files under `folder`, keeping their names; each upload is written once.

    One sub-folder per upload keeps two files of the same name apart, and the name is reduced to
    its last part so an upload can never write outside `folder`.
    """
    paths = []
    for upload in files:
        name = Path(upload.name).name
        target = folder / upload.file_id / (name if name not in ("", ".", "..") else "upload")
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(upload.getbuffer())
        paths.append(target)
    return paths


# --- Records as a reader sees them (the Records and Review pages) ------------------------------


def utc_day(value: datetime) -> date:
    """The UTC day of a time: DuckDB hands times back in the machine's zone, the filter works in UTC."""
    return value.astimezone(timezone.utc).date()


def time_range(options: FilterOptions, key: str | None = None) -> tuple[datetime | None, datetime | None]:
    """The chosen days as [since, until); the full span means no limit, so undated records stay in."""
    if options.first_ts is None or options.last_ts is None:
        return None, None
    first, last = utc_day(options.first_ts), utc_day(options.last_ts)
    days = st.date_input("Days (UTC)", value=(first, last), min_value=first, max_value=last, key=key)
    if not isinstance(days, tuple) or len(days) != 2 or days == (first, last):
        return None, None
    since = datetime.combine(days[0], time(), tzinfo=timezone.utc)
    return since, datetime.combine(days[1] + timedelta(days=1), time(), tzinfo=timezone.utc)


def show_conversation(record: dict[str, Any]) -> None:
    """The call as a chat: the input messages, then the response (or the error)."""
    for message in record["input_messages"] or []:
        role = str(message.get("role"))
        with st.chat_message(role if role in AVATARS else "other", avatar=AVATARS.get(role, ":material/help:")):
            if role not in ("user", "assistant"):
                st.text(role)
            if message.get("tool_call_id"):
                st.text(f"result of tool call {message['tool_call_id']}")
            if message.get("content") is not None:
                st.text(message["content"])
            if message.get("tool_calls"):
                st.caption("Tool calls")
                st.json(message["tool_calls"])
    show_response(record)
    if record["expected_output"] is not None:
        st.text("Expected output")
        st.code(record["expected_output"], language=None, wrap_lines=True)


def shown_message(message: str | None, path: str) -> str | None:
    """A message about the file at `path` with the file named as `shown_path` names it."""
    return message and message.replace(path, shown_path(path))


def show_response(record: dict[str, Any]) -> None:
    """What the model answered, as the chat's last message: text, tool calls, or the error."""
    with st.chat_message("assistant"):
        if record["response_text"] is not None:
            st.text(record["response_text"])
        if record["tool_calls"]:
            st.caption("Tool calls")
            st.json(record["tool_calls"])
        if record["error"]:
            st.error(plain(record["error"]))
        if record["response_text"] is None and not record["tool_calls"] and not record["error"]:
            st.text("(no response logged)")


def show_exchange(record: dict[str, Any], signals: list[dict[str, Any]]) -> None:
    """One call in short, in the transcript style of Records: the signals that fired, the user's
    last message and what the model answered (a mode's examples: what was asked and what went wrong)."""
    for signal in signals:
        st.caption(plain(f"⚑ {signal['label']}" + (f": {signal['detail']}" if signal["detail"] else "")))
    asked = [message for message in record["input_messages"] or [] if message.get("role") == "user"]
    request = (asked[-1].get("content") or "") if asked else (record.get("cluster_text") or "(no request logged)")
    with st.chat_message("user"):
        st.text(request)
    show_response(record)


def call_details(record: dict[str, Any]) -> dict[str, Any]:
    """Everything about the call that is not conversation, feedback or the raw line."""
    skip = {"input_messages", "cluster_text", "response_text", "feedback", "feedback_score", "feedback_comment",
            "expected_output", "raw"}
    return {key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in record.items() if key not in skip and value is not None}


# --- Presses bound to what they were drawn for (the Review page) ------------------------------

_PRESSED_KEY = "pressed"  # set by a bound button's callback, before the run that press starts
_THIS_RUN_KEY = "pressed_this_run"  # the press this run answers, until the button drawn for it claims it


@dataclass(frozen=True)
class Press:
    """A press of a button bound to what it acted on when it was drawn.

    Why: a page reruns between drawing a button and its press arriving (a filter changed, another
    row was opened, someone else saved). A button read at click time would then act on whatever
    the page shows by then; a bound one acts only if it is drawn again for the same target.
    """

    action: str  # which button: "save", "undo", "pick", ...
    target: str  # what it acts on as drawn: a record and its review's version, a batch id, ...
    what: str  # the press in words, for a refusal: "Save and next on call f-0"
    kept: tuple[tuple[str, str], ...] = ()  # (field, text typed), shown back when the press is refused


def _remember_press(action: str, target: str, what: str, keep: tuple[tuple[str, str], ...]) -> None:
    """The button's callback: runs before the script, while the form's typed values are in session state."""
    kept = tuple((field, str(st.session_state.get(key) or "")) for field, key in keep)
    st.session_state[_PRESSED_KEY] = Press(action, target, what, kept)


def bound_press(action: str, target: str, what: str, keep: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    """The on_click arguments of a button or form submit button whose press is bound to `target`;
    `keep` names (field, widget key) whose typed text a refusal shows back, so nothing typed is lost."""
    return {"on_click": _remember_press, "args": (action, target, what, keep)}


def start_presses(carry: bool) -> None:
    """At the top of a page with bound buttons: the press this run answers, if any. With `carry` (the
    run before drew this page, so its widgets still hold what was pressed with), a press that run
    left unanswered, cut short by the next rerun, which Streamlit starts at once, is answered now
    rather than lost without a word; otherwise it is dropped."""
    pressed = st.session_state.pop(_PRESSED_KEY, None)
    st.session_state[_THIS_RUN_KEY] = pressed or (st.session_state.get(_THIS_RUN_KEY) if carry else None)


def take_press(action: str, target: str) -> bool:
    """True (once) when this run answers a press of `action` that was drawn for `target`, the target
    the page draws the button for now; a press for anything else stays unclaimed."""
    press = st.session_state.get(_THIS_RUN_KEY)
    if isinstance(press, Press) and (press.action, press.target) == (action, target):
        st.session_state[_THIS_RUN_KEY] = None
        return True
    return False


def refuse_unclaimed_press(where: Any, now_showing: str = "") -> None:
    """At the end of the page: a press that no button drawn in this run claimed was for something the
    page had moved on from; say so in `where` (a container near the top) and show back what was typed."""
    press = st.session_state.pop(_THIS_RUN_KEY, None)
    if not isinstance(press, Press):
        return
    with where:
        st.error(plain(f"Not done: you pressed {press.what}, but the page had moved on before the press "
                       f"arrived{now_showing}, so nothing was saved or undone. Check what it shows and try again."))
        for field, text in press.kept:
            if text.strip():
                st.text(f"What you typed in {field}:")
                st.code(text, language=None, wrap_lines=True)


def table_key(prefix: str, ids: Iterable[str], *parts: object) -> str:
    """A selectable table's widget key, from what it shows. Why: Streamlit keeps a table's selection
    per key as row numbers, so a table whose rows changed (a filter, a page, a save that took a call
    off the queue) must be a new table, or its old selection would point at another call."""
    digest = hashlib.sha256("\x1f".join([*map(str, parts), *ids]).encode()).hexdigest()[:16]
    return f"{prefix}_{digest}"


# --- The reviewer's name across reloads (this machine alone) ---------------------------------

REVIEWER_COOKIE = "faultline_reviewer"
_REVIEWER_HANDED_KEY = "reviewer_cookie_handed"  # the name the browser's cookie holds, as far as we know
# A constant script (only a random token varies, so it runs again for each new name): it copies the
# sidebar's Reviewer field into a cookie, so the name itself never goes into the page's HTML.
REVIEWER_SCRIPT = """<script>
(() => {
  const flag = "faultlineReviewer_%s";
  for (const wait of [50, 200, 500, 1000, 2000]) {
    setTimeout(() => {
      const field = document.querySelector('[data-testid="stSidebar"] input[aria-label="Reviewer"]');
      if (!field || window[flag]) return;
      window[flag] = true;
      const name = field.value.trim();
      document.cookie = "%s=" + encodeURIComponent(name) + "; path=/; samesite=strict; max-age="
                        + (name ? 31536000 : 0);
    }, wait);
  }
})();
</script>"""


def browser_cookies() -> Mapping[str, str]:
    """The cookies the browser sent when this session connected (AppTest sends none: tests patch this)."""
    return st.context.cookies


def remembered_reviewer() -> str:
    """The reviewer's name this browser used here last (its cookie), so a reload or a new tab does not
    drop it: a session starts with it. Untrusted like any typed name: tidied, and only ever shown as text."""
    name = " ".join(unquote(browser_cookies().get(REVIEWER_COOKIE) or "").split())[:200]
    st.session_state.setdefault(_REVIEWER_HANDED_KEY, name)
    return name


def remember_reviewer() -> None:
    """Hand the browser the Reviewer field's name as a cookie whenever it changed (an empty name clears it)."""
    name = reviewer_name()
    if st.session_state.get(_REVIEWER_HANDED_KEY) == name:
        return
    st.session_state[_REVIEWER_HANDED_KEY] = name
    st.html(REVIEWER_SCRIPT % (secrets.token_hex(8), REVIEWER_COOKIE), unsafe_allow_javascript=True)
