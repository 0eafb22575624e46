"""Train: LoRA adapters from an export (SFT then DPO), and the trained models scored on the golden set.

Why on a page of its own: training is the step the exports are for, and a lead starts it the same
way as a clustering run: in the background (mining/jobs.py), with progress, a Stop button that keeps
the last checkpoint, and Resume. Every folder typed here must lie inside the app's folders, as on
every page (access_ui.checked_path). The training card's figures come from the run's training.json,
shown as text, and the loss curve is drawn again from its numbers (a loss.svg in the folder could
have been replaced by anything).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

import access_ui
import table_ui
import ui
from mining import jobs
from mining.common import plural
from mining.export.history import list_exports
from mining.store import Workspace
from mining.train import STAGES, CardError, TrainingError, TrainSettings, loss_svg, read_card

WATCHING_KEY = "train_watching_job"
NOTICE_KEY = "train_notice"
RUN_FOLDER_KEY = "train_run_folder"
BASE_MODEL_KEY = "train_base_model"


def export_choice(workspace: Workspace) -> Path | None:
    """The export to train on, from the workspace's export history (newest first)."""
    exports = list_exports(workspace)
    if exports.is_empty():
        st.info("No export yet: export SFT and DPO rows on the Export page first.")
        return None
    labels = {f"{row['name']}-v{row['version']} ({row['kinds']})": row["folder"] for row in exports.iter_rows(named=True)}
    chosen = st.selectbox("Export", list(labels), key="train_export")
    return Path(labels[chosen])


def run_form(workspace: Workspace) -> None:
    """The training run's choices and its Start button."""
    export = export_choice(workspace)
    if export is None:
        return
    with st.form("train_run", border=True):
        st.subheader("Train on an export")
        left, right = st.columns(2)
        base = left.text_input("Base model folder", key=BASE_MODEL_KEY,
                               help="A local Hugging Face causal LM with a chat template. Nothing is downloaded.")
        out = right.text_input("Output folder", key=RUN_FOLDER_KEY, value=str(export.parent / f"{export.name}-run"),
                               help="An empty folder for the adapters and the training card; or the folder of a "
                                    "stopped run, with Resume.")
        columns = st.columns(6)
        stages = columns[0].multiselect("Stages", list(STAGES), default=list(STAGES), format_func=str.upper,
                                        key="train_stages")
        rank = columns[1].number_input("LoRA rank", 1, 256, 16, key="train_rank")
        alpha = columns[2].number_input("LoRA alpha", 1, 512, 32, key="train_alpha")
        rate = columns[3].number_input("Learning rate", 1e-6, 1e-2, 2e-4, format="%.0e", key="train_lr")
        sft_epochs = columns[4].number_input("SFT epochs", 0.1, 50.0, 3.0, key="train_sft_epochs")
        dpo_epochs = columns[5].number_input("DPO epochs", 0.1, 50.0, 1.0, key="train_dpo_epochs")
        merge = st.toggle("Also write the merged model", key="train_merge")
        resume = st.toggle("Resume a stopped run in this folder", key="train_resume")
        submitted = st.form_submit_button("Start training", type="primary")
    if not submitted:
        return
    base_path = access_ui.checked_path(base) if base.strip() else None
    out_path = access_ui.checked_path(out) if out.strip() else None
    if base_path is None or out_path is None:
        if not base.strip() or not out.strip():
            st.error("Give the base model's folder and an output folder.")
        return
    try:
        settings = TrainSettings(base_model=base_path, stages=tuple(stage for stage in STAGES if stage in stages),
                                 rank=int(rank), alpha=int(alpha), learning_rate=float(rate),
                                 sft_epochs=float(sft_epochs), dpo_epochs=float(dpo_epochs), merge=merge, resume=resume)
    except TrainingError as exc:
        st.error(ui.plain(exc))
        return
    if not jobs.start_training(workspace, export, out_path, settings):
        st.info("A job is already running for this workspace; its progress is below.")
    st.session_state[WATCHING_KEY] = True


def stop_button(workspace: Workspace) -> None:
    if jobs.is_running(workspace) and st.button("Stop", key="train_stop",
                                                help="Training stops after the current step and keeps a checkpoint."):
        jobs.stop(workspace)
        st.info("Stopping after the current step.")


def training_card(folder: Path) -> bool:
    """The run's card: what it learnt from, each stage's steps, time, tokens/s and loss, and the curves;
    False when the folder holds no card to show."""
    try:
        card = read_card(folder)
    except CardError as exc:
        st.warning(ui.plain(str(exc)))
        return False
    if card is None:
        return False
    st.subheader("Training card")
    if card.stopped:
        st.warning("This run was stopped before the end: resume it to finish.")
    st.text(card.summary)
    table_ui.table(card.stages)
    if any(card.curves.values()):
        st.image(loss_svg(card.curves), caption="Loss by step")
    return True


def golden_form(workspace: Workspace, folder: Path) -> None:
    """Score the base, SFT and SFT+DPO models of the run on the golden set, as evaluation runs."""
    with st.form("train_golden", border=True):
        st.subheader("Before and after on the golden set")
        st.caption("The base model and each trained stage answer every golden prompt here, and each is scored "
                   "as an evaluation run NAME-base, NAME-sft, NAME-dpo: compare them on the Evaluate page.")
        name = st.text_input("Run name", value=folder.name, key="train_eval_name")
        submitted = st.form_submit_button("Score on the golden set")
    if not submitted:
        return
    base = access_ui.checked_path(st.session_state.get(BASE_MODEL_KEY, ""))
    if base is None or not name.strip():
        st.error("Give the base model's folder above and a run name.")
        return
    if not jobs.start_training_evaluation(workspace, folder, base, name.strip(), ui.reviewer_name() or None):
        st.info("A job is already running for this workspace; its progress is below.")
        return
    st.session_state[WATCHING_KEY] = True
    st.rerun()  # the progress panel sits above this form: draw the page again to show it


workspace = ui.current_workspace()
st.title("Train")
st.caption("SFT on the reviewed corrections (the loss on the answer only), then DPO on correction vs error, "
           "with LoRA on every linear layer of a local model.")
if access_ui.lead_only("train"):
    ui.job_outcome(NOTICE_KEY, "The job failed")
    run_form(workspace)
    ui.job_progress(workspace, "Working", WATCHING_KEY, NOTICE_KEY)
    stop_button(workspace)
    typed = st.session_state.get(RUN_FOLDER_KEY, "")
    run_folder = access_ui.checked_path(typed) if typed.strip() else None  # a typed path is read only inside
    if run_folder is not None and training_card(run_folder):
        golden_form(workspace, run_folder)
    elif not jobs.is_running(workspace):
        st.caption(f"Adapters, checkpoints and the card go to the output folder; {plural(len(STAGES), 'stage')} "
                   "run in order.")
