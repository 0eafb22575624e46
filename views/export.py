"""Export: turn reviewed hard examples into versioned, validated datasets, keep the golden set, and
see what each new version of a dataset changed.

Why Preview before Export: mining.export.plan.plan_export builds, masks and checks every row
without writing a byte, and make_export writes exactly such a plan, so what the preview shows
(counts, the validation report, leakage, redaction, the first rows) is what the folder will hold.
Every action is one call into mining/export. Rows, ids, reasons and file contents come from logs
and reviewers: they are shown with st.text, st.code, st.json and st.dataframe, and through
ui.plain where an element reads markdown.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl
import streamlit as st

import access_ui
import table_ui
import ui
from mining.browse import filter_options
from mining.cluster import mode_names
from mining.common import plural
from mining.export.files import read_rows, zip_folder
from mining.export.golden import add_golden, golden_items, record_ids_for, remove_golden
from mining.export.history import diff_exports, list_exports, previous_version
from mining.export.kinds import KINDS
from mining.export.leakage import DEFAULT_THRESHOLD
from mining.export.plan import (DEFAULT_MAX_TOKENS, FORMATS, ExportError, ExportPlan, ExportRequest,
                                plan_export)
from mining.export.selection import ExportFilter
from mining.export.tokens import TokenizerError
from mining.export.writer import ExportResult, make_export
from mining.review import VERDICTS, list_tags, reviewer_names
from mining.store import Workspace

DEFAULT_KINDS = ["sft", "dpo", "kto", "corrections", "golden"]
FIRST_ROWS = 5
RESULT_KEY = "export_result"
NOTICE_KEY = "export_notice"
UNKNOWN_IDS_KEY = "export_unknown_ids"
OUT_DIR_KEY = "export_out_dir"
HISTORY_CHOSEN_KEY = "export_history_chosen"
COUNT_COLUMNS = {
    "kind": st.column_config.TextColumn("Kind"),
    "rows": st.column_config.NumberColumn("Rows"),
    "left_out": st.column_config.NumberColumn("Left out"),
    "problems": st.column_config.NumberColumn("Problems", help="Rows left out because a check failed."),
    "tokens": st.column_config.NumberColumn("Tokens"),
}
LEFT_OUT_COLUMNS = {
    "kind": st.column_config.TextColumn("Kind", width="small"),
    "id": st.column_config.TextColumn("Id"),
    "reason": st.column_config.TextColumn("Reason", width="large"),
    "problem": st.column_config.TextColumn("Problem", width="small",
                                           help="yes: a check failed; no: the record simply gives this kind no row."),
}
LEAK_COLUMNS = {
    "id": st.column_config.TextColumn("Id"),
    "golden_twin": st.column_config.TextColumn("Golden twin"),
    "similarity": st.column_config.NumberColumn("Similarity", format="%.3f"),
    "exact": st.column_config.CheckboxColumn("Same input"),
}
HISTORY_COLUMNS = {
    "name": st.column_config.TextColumn("Dataset"),
    "version": st.column_config.NumberColumn("Version", width="small"),
    "created_at": st.column_config.DatetimeColumn("Created (UTC)", format="YYYY-MM-DD HH:mm", timezone="UTC"),
    "created_by": st.column_config.TextColumn("By"),
    "rows": st.column_config.TextColumn("Rows per kind", width="large"),
    "golden": st.column_config.NumberColumn("Golden"),
    "leaks": st.column_config.NumberColumn("Leaks kept out"),
    "warnings": st.column_config.NumberColumn("Warnings"),
    "folder": st.column_config.TextColumn("Folder"),
}
DIFF_SCHEMA = {"kind": pl.String, "added": pl.Int64, "removed": pl.Int64, "changed": pl.Int64, "unchanged": pl.Int64,
               "added_ids": pl.List(pl.String), "removed_ids": pl.List(pl.String), "changed_ids": pl.List(pl.String)}
DIFF_COLUMNS = {
    "kind": st.column_config.TextColumn("Kind"),
    "added": st.column_config.NumberColumn("Added"),
    "removed": st.column_config.NumberColumn("Removed"),
    "changed": st.column_config.NumberColumn("Changed", help="The record's rows differ, e.g. a rewritten correction."),
    "unchanged": st.column_config.NumberColumn("Unchanged"),
    "added_ids": st.column_config.ListColumn("Added ids"),
    "removed_ids": st.column_config.ListColumn("Removed ids"),
    "changed_ids": st.column_config.ListColumn("Changed ids"),
}
GOLDEN_COLUMNS = {
    "source_id": st.column_config.TextColumn("Id"),
    "method": st.column_config.TextColumn("Added by", width="small", help="hand or holdout"),
    "added_by": st.column_config.TextColumn("Who"),
    "added_at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm", timezone="UTC"),
    "request": st.column_config.TextColumn("Request", width="large"),
}


def notice() -> None:
    """The outcome of the last golden-set change, shown once after the rerun it caused."""
    message = st.session_state.pop(NOTICE_KEY, None)
    if message:
        st.success(ui.plain(message))


def show_error(exc: Exception | str) -> None:
    st.error(ui.plain(str(exc)))


# --- The request -------------------------------------------------------------------------------


def filter_form(workspace: Workspace) -> ExportFilter:
    """Which reviewed records go in: verdicts, tags, failure modes, days, reviewers, agreement."""
    tags = {tag.tag_id: tag.name for tag in list_tags(workspace)}
    clusters = mode_names(workspace)
    first = st.columns(3)
    verdicts = first[0].multiselect("Verdicts", list(VERDICTS), default=["hard_example"],
                                    format_func=ui.VERDICT_LABELS.get, key="export_verdicts")
    chosen_tags = first[1].multiselect("Tags", list(tags), format_func=tags.get, key="export_tags",
                                       help="Records with any of these tags; none chosen means every tag.")
    chosen_clusters = first[2].multiselect("Failure modes", list(clusters), format_func=clusters.get,
                                           key="export_clusters", help="Failure modes of the latest clustering run.")
    second = st.columns(3, vertical_alignment="bottom")
    reviewers = second[0].multiselect("Reviewers", reviewer_names(workspace), key="export_reviewers",
                                      help="Records reviewed by any of these people.")
    with second[1]:
        since, until = ui.time_range(filter_options(workspace), key="export_days")
    agreed = second[2].toggle("Only records both reviewers agreed on", key="export_agreed",
                              help="Reviewed by two or more people who gave the same answer.")
    return ExportFilter(verdicts=tuple(verdicts), tags=tuple(chosen_tags), clusters=tuple(chosen_clusters),
                        since=since, until=until, reviewers=tuple(reviewers), agreed_only=agreed)


def options_form(workspace: Workspace, export_filter: ExportFilter) -> tuple[ExportRequest, str]:
    """The dataset kinds, files and checks; returns the request and the output folder."""
    st.session_state.setdefault(OUT_DIR_KEY, str(Path(workspace.path).expanduser().parent / "exports"))
    first = st.columns([3, 1])
    kinds = first[0].multiselect("Dataset kinds", list(KINDS), default=DEFAULT_KINDS, key="export_kinds",
                                 help="; ".join(f"{kind.name}: {kind.summary}" for kind in KINDS.values()))
    formats = first[1].multiselect("File formats", list(FORMATS), default=list(FORMATS), key="export_formats")
    second = st.columns([1, 2, 1])
    name = second[0].text_input("Dataset name", value="faultline", key="export_name",
                                help="The folder is NAME-vN; every export of a name is a new version.")
    out_dir = second[1].text_input("Output folder", key=OUT_DIR_KEY)
    license_id = second[2].text_input("License", value="other", key="export_license",
                                      help="Written in the dataset card, e.g. cc-by-4.0 or other.")
    third = st.columns(4)
    golden_size = third[0].number_input("Golden set size", min_value=0, value=0, step=1, key="export_golden_size",
                                        help="Top the golden set up to this many items by a stratified hold-out; "
                                             "0 keeps it as it is.")
    threshold = third[1].number_input("Near-duplicate threshold", min_value=0.01, max_value=1.0,
                                      value=DEFAULT_THRESHOLD, step=0.01, format="%.2f", key="export_threshold",
                                      help="Training records at least this similar to a golden item are left out.")
    max_tokens = third[2].number_input("Token limit", min_value=1, value=DEFAULT_MAX_TOKENS, step=256,
                                       key="export_max_tokens", help="Rows with more tokens are left out.")
    tokenizer = third[3].text_input("Tokenizer folder", key="export_tokenizer",
                                    help="Your model's tokenizer, a local folder: needed for sft-tokenized, "
                                         "and it makes every token count exact.")
    redact = st.toggle("Mask personal data and secrets", value=True, key="export_redact",
                       help="E-mails, phone numbers, cards, IBANs, IPs, API keys and tokens become placeholders.")
    if not redact:
        st.warning("Redaction is off: personal data and secrets in the logs will be written as they were logged.")
    if tokenizer.strip() and access_ui.checked_path(tokenizer) is None:
        tokenizer = ""  # refused (the reason is shown): never read a folder outside the app's folders
    request = ExportRequest(kinds=tuple(kinds), filter=export_filter, name=name.strip(), formats=tuple(formats),
                            golden_size=int(golden_size) or None, leak_threshold=float(threshold),
                            max_tokens=int(max_tokens), tokenizer=tokenizer.strip() or None, redact=redact,
                            license=license_id.strip() or "other")
    return request, out_dir.strip()


def run_preview(workspace: Workspace, request: ExportRequest) -> None:
    """Plan the export (nothing is written) and keep the plan for the reruns that follow."""
    try:
        plan = plan_export(workspace, request, ui.progress_reporter("Planning the export"))
    except (ExportError, TokenizerError) as exc:
        st.session_state.pop(RESULT_KEY, None)
        show_error(exc)
        return
    st.session_state[RESULT_KEY] = {"request": request, "plan": plan, "result": None}


def run_export(workspace: Workspace, request: ExportRequest, out_dir: str) -> None:
    """Write the export as a new version, in the name of the sidebar's reviewer when one is set."""
    if not out_dir:
        show_error("Give the output folder the export is written to.")
        return
    folder = access_ui.checked_path(out_dir)
    if folder is None:
        return
    try:
        plan, result = make_export(workspace, replace(request, created_by=ui.reviewer_name() or None), folder,
                                   ui.progress_reporter("Writing the export"))
    except (ExportError, TokenizerError) as exc:
        st.session_state.pop(RESULT_KEY, None)
        show_error(exc)
        return
    st.session_state[RESULT_KEY] = {"request": request, "plan": plan, "result": result}
    st.session_state[HISTORY_CHOSEN_KEY] = result.export_id  # the history shows what this version changed


# --- What a plan holds -------------------------------------------------------------------------


def source_ids(plan: ExportPlan) -> dict[str, str]:
    return {example.record_id: example.source_id for example in plan.examples + plan.golden}


def counts(plan: ExportPlan) -> None:
    """Records selected, golden items and leaks; rows, left out and problems per kind."""
    columns = st.columns(4)
    columns[0].metric("Records selected", f"{len(plan.examples):,}")
    columns[1].metric("Golden items", f"{len(plan.golden):,}")
    columns[2].metric("Kept out as leaks", f"{len(plan.leaks):,}")
    columns[3].metric("Rows with problems", f"{sum(len(kind.problems) for kind in plan.kinds.values()):,}")
    table_ui.table(pl.DataFrame([{"kind": name, "rows": len(kind.rows), "left_out": len(kind.left_out),
                                  "problems": len(kind.problems), "tokens": sum(kind.tokens)}
                                 for name, kind in plan.kinds.items()]),
                   columns=COUNT_COLUMNS, column_order=list(COUNT_COLUMNS))
    st.caption("Token counts are exact." if plan.exact_tokens
               else "Token counts are estimated: give a tokenizer folder for exact ones.")
    for warning in plan.warnings:
        st.warning(ui.plain(warning))


def validation_report(plan: ExportPlan) -> None:
    """Every record a kind left out, with the reason; problems (failed checks) first."""
    rows = [{"kind": name, "id": row.source_id, "reason": row.reason, "problem": "yes" if row.problem else "no"}
            for name, kind in plan.kinds.items() for row in kind.left_out]
    st.subheader("Validation report")
    if not rows:
        st.text("Every selected record gave every kind a row.")
        return
    rows.sort(key=lambda row: row["problem"] != "yes")
    table_ui.table(pl.DataFrame(rows), columns=LEFT_OUT_COLUMNS,
                   column_order=list(LEFT_OUT_COLUMNS))


def leakage_and_golden(plan: ExportPlan) -> None:
    """Training records kept out as (near) duplicates of golden items, and the items this export draws."""
    st.subheader("Leakage")
    if plan.leaks:
        table_ui.table(pl.DataFrame([{"id": leak.source_id, "golden_twin": leak.golden_id,
                                      "similarity": leak.similarity, "exact": leak.exact} for leak in plan.leaks]),
                       columns=LEAK_COLUMNS, column_order=list(LEAK_COLUMNS))
    else:
        st.text("No training record is a duplicate or near duplicate of a golden item.")
    if plan.golden_added:
        ids = source_ids(plan)
        st.text(f"Golden items drawn by the hold-out ({len(plan.golden_added)}): "
                + ", ".join(ids.get(record_id, record_id) for record_id in plan.golden_added))


def redaction(plan: ExportPlan) -> None:
    st.subheader("Redaction")
    if not plan.request.redact:
        st.text("Redaction is off: nothing was masked.")
    elif not plan.redaction:
        st.text("Nothing to mask was found.")
    else:
        table_ui.table(pl.DataFrame([{"kind": kind, "masked": count,
                                      "distinct values": plan.redaction_distinct.get(kind, 0)}
                                     for kind, count in plan.redaction.items()]))


def first_rows(plan: ExportPlan) -> None:
    """The first rows of each kind, as JSON (they hold log text)."""
    kinds = [name for name, kind in plan.kinds.items() if kind.rows]
    st.subheader(f"First {FIRST_ROWS} rows per kind")
    if not kinds:
        st.text("No kind has rows.")
        return
    for tab, name in zip(st.tabs(kinds), kinds):
        with tab:
            rows = plan.kinds[name].rows
            st.caption(f"{min(len(rows), FIRST_ROWS)} of {len(rows):,} rows")
            st.json(rows[:FIRST_ROWS], expanded=2)


def written_files(result: ExportResult) -> None:
    """Where the export went, the first rows of each file, and the folder as a zip."""
    st.success(ui.plain(f"Wrote {result.name} version {result.version}."))
    st.text("Folder")
    st.code(str(result.folder), language=None)
    st.download_button(ui.plain(f"Download {result.folder.name}.zip"), data=lambda: zip_folder(result.folder),
                       file_name=f"{result.folder.name}.zip", mime="application/zip", key="export_download",
                       on_click="ignore", icon=":material/download:")
    files = result.manifest["files"]
    st.subheader("Files")
    table_ui.table(pl.DataFrame([{"file": path, "rows": info["rows"], "bytes": info["bytes"], "sha256": info["sha256"]}
                                 for path, info in files.items()]))
    for path in files:
        with st.expander(f"First rows of {path}"):  # the kinds' own file names
            st.json(read_rows(result.folder / path, FIRST_ROWS), expanded=2)


def result_section(request: ExportRequest) -> None:
    """The last preview or export, kept across reruns; flagged when the form has changed since."""
    last = st.session_state.get(RESULT_KEY)
    if not last:
        return
    st.divider()
    plan, result = last["plan"], last["result"]
    st.header("Export" if result else "Preview")
    if last["request"] != request:
        st.caption("The options have changed since: press Preview to see what they give.")
    if result:
        written_files(result)
    else:
        st.caption("Nothing has been written: press Export to write these files.")
    counts(plan)
    validation_report(plan)
    leakage_and_golden(plan)
    redaction(plan)
    if not result:
        first_rows(plan)


def export_tab(workspace: Workspace) -> None:
    if not filter_options(workspace).source_files:
        st.info("No records yet: ingest logs on the Ingest page, then review failures on the Review page.")
        return
    st.subheader("Records")
    export_filter = filter_form(workspace)
    st.subheader("Datasets")
    request, out_dir = options_form(workspace, export_filter)
    with st.container(horizontal=True):
        preview = st.button("Preview", key="export_preview", icon=":material/preview:")
        export = st.button("Export", key="export_write", type="primary", icon=":material/save:")
    if preview:
        run_preview(workspace, request)
    elif export:
        run_export(workspace, request, out_dir)
    result_section(request)


# --- The golden set ----------------------------------------------------------------------------


def parse_ids(text: str) -> list[str]:
    """Ids separated by spaces, commas or new lines, each once, in the order given."""
    return list(dict.fromkeys(text.replace(",", " ").split()))


def add_by_id(workspace: Workspace, text: str) -> None:
    """Add the records the ids name (the source's ids or record ids); report ids that name none."""
    ids = parse_ids(text)
    if not ids:
        st.warning("Enter the ids of the records to add.")
        return
    found, unknown = record_ids_for(workspace, ids)
    if found:
        change = add_golden(workspace, list(dict.fromkeys(found.values())), added_by=ui.reviewer_name() or None)
        message = f"Added {plural(len(change.changed), 'record')} to the golden set"
        already = len(change.unchanged)
        message += f" ({already:,} {'was' if already == 1 else 'were'} in it already)." if already else "."
        st.session_state[NOTICE_KEY] = message
    if unknown:
        st.session_state[UNKNOWN_IDS_KEY] = unknown
    st.rerun()


def unknown_ids() -> None:
    unknown = st.session_state.pop(UNKNOWN_IDS_KEY, None)
    if unknown:
        st.warning(ui.plain(f"No record has the id{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}"))


def golden_tab(workspace: Workspace) -> None:
    """The golden set (never in training exports): list it, add records by id, remove selected ones."""
    unknown_ids()
    items = golden_items(workspace)
    st.caption("Golden items are kept out of every training export, with their near duplicates, and are "
               "written as the golden (evaluation) kind.")
    selected: list[str] = []
    if items:
        table = pl.DataFrame(items)
        event = table_ui.table(table, key="export_golden_table", on_select="rerun",
                               selection_mode="multi-row", columns=GOLDEN_COLUMNS,
                               column_order=list(GOLDEN_COLUMNS))
        selected = [items[row]["record_id"] for row in event.selection.rows if row < len(items)]
        if st.button(f"Remove {len(selected)} selected from the golden set", key="export_golden_remove",
                     disabled=not selected):
            change = remove_golden(workspace, selected)
            st.session_state[NOTICE_KEY] = f"Removed {plural(len(change.changed), 'record')} from the golden set."
            st.rerun()
    else:
        st.text("The golden set is empty.")
    with st.form("export_golden_add", border=True):
        text = st.text_area("Record ids to add", key="export_golden_ids",
                            help="The ids the logs gave the calls (or record ids), separated by spaces or new lines.")
        if st.form_submit_button("Add to the golden set"):
            add_by_id(workspace, text)


# --- History -----------------------------------------------------------------------------------


def history_tab(workspace: Workspace) -> None:
    """Every export, newest first; one chosen shows what changed since the version before it."""
    exports = list_exports(workspace)
    if exports.is_empty():
        st.text("No exports yet.")
        return
    table_ui.table(exports, columns=HISTORY_COLUMNS, column_order=list(HISTORY_COLUMNS))
    labels = {row["export_id"]: f"{row['name']} v{row['version']}" for row in exports.iter_rows(named=True)}
    chosen = st.selectbox("What changed in", list(labels), format_func=labels.get, key=HISTORY_CHOSEN_KEY)
    if chosen is None:
        return
    previous = previous_version(workspace, chosen)
    if previous is None:
        st.info(ui.plain(f"{labels[chosen]} is the first version: there is nothing to compare it with."))
        return
    st.text(f"Changes from {labels.get(previous, 'the version before')} to {labels[chosen]}")
    table_ui.table(pl.DataFrame([{"kind": diff.kind, "added": len(diff.added), "removed": len(diff.removed),
                                  "changed": len(diff.changed), "unchanged": diff.unchanged,
                                  "added_ids": list(diff.added), "removed_ids": list(diff.removed),
                                  "changed_ids": list(diff.changed)}
                                 for diff in diff_exports(workspace, previous, chosen)], schema=DIFF_SCHEMA),
                   columns=DIFF_COLUMNS)


# --- The page ----------------------------------------------------------------------------------


if not access_ui.lead_only("export"):  # not in a reviewer's navigation; a second lock
    st.stop()
workspace = ui.current_workspace()
st.title("Export")
notice()
tabs = st.tabs(["Export", "Golden set", "History"])
with tabs[0]:
    export_tab(workspace)
with tabs[1]:
    golden_tab(workspace)
with tabs[2]:
    history_tab(workspace)
