"""What every page of the app shares: the workspace in use, progress bars, and safe text.

Log text is untrusted: a logged prompt may hold HTML or markdown written by anyone. Pages show it
with st.text, st.code, st.json or st.dataframe, which never interpret it. Where an element only
takes markdown (st.error, st.warning), the text goes through `plain` first.
"""

from __future__ import annotations

import math
import re
import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterable, Protocol

import streamlit as st

from mining.store import Workspace, WorkspaceError, default_workspace_path

WORKSPACE_KEY = "workspace_path"
REVIEWER_KEY = "reviewer"
_UPLOADS_KEY = "upload_folder"

# Column titles for workspace_summary's recent_ingests, shown on the Overview and Ingest pages.
INGEST_HISTORY_COLUMNS = {
    "started_at": "Started", "file": "File", "format": "Format", "rows_read": "Read", "rows_added": "Added",
    "rows_present": "Already present", "rows_quarantined": "Quarantined", "rows_skipped": "Skipped",
    "message": "Problem",
}

# Every ASCII punctuation character may be backslash-escaped in CommonMark; escaping them all turns
# any markup (emphasis, links, images, HTML, Streamlit's :color[...] and $math$) into literal text.
_MARKDOWN_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")


class Upload(Protocol):
    """The part of Streamlit's UploadedFile that saving needs."""

    name: str
    file_id: str

    def getbuffer(self) -> memoryview: ...


def plain(text: object) -> str:
    """`text` as markdown that displays exactly `text`: no formatting, links, images or HTML."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))
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


def current_workspace() -> Workspace:
    """The workspace chosen in the sidebar; stops the page with the reason when it cannot be opened."""
    path = st.session_state.get(WORKSPACE_KEY) or initial_workspace_path()
    try:
        return Workspace.open(path)
    except WorkspaceError as exc:
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
    st.dataframe(ingests, hide_index=True, column_order=list(INGEST_HISTORY_COLUMNS),
                 column_config=INGEST_HISTORY_COLUMNS)


def progress_reporter(title: str) -> Callable[[float, str], None]:
    """A progress callback for the library that draws a bar and the latest message as plain text."""
    bar = st.progress(0.0, text=title)
    note = st.empty()

    def report(fraction: float, message: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=title)
        note.text(message)

    return report


def upload_folder() -> Path:
    """This session's folder for uploaded files, so ingest reads them from disk under their own names."""
    if _UPLOADS_KEY not in st.session_state:
        st.session_state[_UPLOADS_KEY] = tempfile.mkdtemp(prefix="faultline-uploads-")
    return Path(st.session_state[_UPLOADS_KEY])


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
