"""The training card: what was trained, on what, how, how it went, on what hardware.

Why a card beside the adapters: next quarter someone asks which reviews a model learnt from. The
card names the export (name, version, the manifest's and each trained file's sha256), the base
model (its folder and the sha256 of its config), every hyperparameter, each stage's steps, time
and tokens per second, and the loss curves, drawn as an SVG (no plotting library needed, and it
opens in any browser). `training.json` holds the same for programs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mining import __version__
from mining.common import now_utc

if TYPE_CHECKING:
    from mining.train.data import TrainingData
    from mining.train.results import TrainResult
    from mining.train.settings import TrainSettings

CARD = "TRAINING.md"
FACTS = "training.json"
CURVES = "loss.svg"
COLOURS = {"sft": "#1f77b4", "dpo": "#d62728"}
WIDTH, PANEL, MARGIN = 640, 220, 40  # each stage's panel is PANEL high


def write_card(out: Path, data: TrainingData, settings: TrainSettings, result: TrainResult) -> None:
    """TRAINING.md, training.json and loss.svg in `out`."""
    facts = card_facts(data, settings, result)
    (out / FACTS).write_text(json.dumps(facts, indent=2), encoding="utf-8")
    (out / CURVES).write_text(loss_svg({stage.stage: stage.losses for stage in result.stages}), encoding="utf-8")
    (out / CARD).write_text(_markdown(facts), encoding="utf-8")


@dataclass(frozen=True)
class CardView:
    """A run's card as the Train page shows it: one line on what was trained, each stage's figures,
    and each stage's loss by step (to draw again: a loss.svg in the folder is never shown as it is)."""

    summary: str
    stopped: bool
    stages: list[dict[str, Any]]
    curves: dict[str, list[tuple[int, float]]]


class CardError(ValueError):
    """A training.json that is not a card Faultline wrote, with the file and the problem."""


def read_card(folder: Path) -> CardView | None:
    """The card in `folder` (None when it has none); CardError when its training.json cannot be read."""
    path = folder / FACTS
    if not path.is_file():
        return None
    try:
        facts = json.loads(path.read_text(encoding="utf-8"))
        summary = (f"Export {facts['export']['name']} (manifest sha256 {facts['export']['manifest_sha256'][:12]}), "
                   f"base model {facts['base_model']['folder']}, on {facts['hardware']}")
        stages = [{"stage": str(stage["stage"]).upper(), "rows": int(stage["rows"]), "steps": int(stage["steps"]),
                   "seconds": float(stage["seconds"]), "tokens_per_second": round(stage["tokens_per_second"] or 0),
                   "final_loss": stage["final_loss"]} for stage in facts["stages"]]
        curves = {str(stage["stage"]): [(int(step), float(loss)) for step, loss in stage["losses"]]
                  for stage in facts["stages"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CardError(f"{path}: not a training card Faultline can read ({type(exc).__name__}: {exc})") from exc
    return CardView(summary, bool(facts.get("stopped")), stages, curves)


def card_facts(data: TrainingData, settings: TrainSettings, result: TrainResult) -> dict[str, Any]:
    config = settings.base_model / "config.json"
    return {
        "faultline_version": __version__, "written_at": now_utc().isoformat(), "stopped": result.stopped,
        "export": {"name": data.name, "folder": str(data.folder), "manifest_sha256": data.manifest_sha256,
                   "files_sha256": data.hashes(), "rows": data.rows},
        "base_model": {"folder": str(settings.base_model),
                       "config_sha256": hashlib.sha256(config.read_bytes()).hexdigest()},
        "hyperparameters": {**settings.as_json(), "target_modules": "all-linear"},
        "hardware": result.hardware,
        "stages": [{"stage": stage.stage, "rows": stage.rows, "steps": stage.steps, "seconds": round(stage.seconds, 2),
                    "tokens": stage.tokens, "tokens_per_second": stage.tokens_per_second,
                    "final_loss": stage.losses[-1][1] if stage.losses else None,
                    "resumed_from": stage.resumed_from, "already_trained": stage.skipped,
                    "losses": stage.losses} for stage in result.stages],
    }


def _markdown(facts: dict[str, Any]) -> str:
    export, base = facts["export"], facts["base_model"]
    lines = [
        "# Training card", "",
        f"Trained with Faultline {facts['faultline_version']} on {facts['written_at'][:16].replace('T', ' ')} UTC"
        + (" — **stopped before the end**; resume to finish." if facts["stopped"] else "."), "",
        "## Data", "",
        f"- Export **{export['name']}** (`{export['folder']}`), manifest sha256 `{export['manifest_sha256']}`",
        *[f"- {stage.upper()}: {export['rows'][stage]} rows, file sha256 `{digest}`"
          for stage, digest in export["files_sha256"].items()],
        "", "## Model", "",
        f"- Base model: `{base['folder']}` (config sha256 `{base['config_sha256']}`)",
        "- LoRA on all linear layers; SFT on the answer tokens only, then DPO from the SFT model",
        "", "## Hyperparameters", "",
        *[f"- {name.replace('_', ' ')}: {', '.join(value) if isinstance(value, list) else value}"
          for name, value in facts["hyperparameters"].items() if name != "base_model"],
        "", "## Run", "", f"Hardware: {facts['hardware']}", "",
        "| stage | rows | steps | time | tokens/s | final loss |", "|---|---:|---:|---:|---:|---:|",
        *[f"| {stage['stage'].upper()} | {stage['rows']} | {stage['steps']} | {stage['seconds']:.1f} s "
          f"| {stage['tokens_per_second'] or 0:.0f} | "
          + (f"{stage['final_loss']:.4f}" if stage["final_loss"] is not None else "—")
          + (" (already trained)" if stage["already_trained"] else "") + " |" for stage in facts["stages"]],
        "", f"![Loss by step]({CURVES})", "",
    ]
    return "\n".join(lines)


def loss_svg(curves: dict[str, list[tuple[int, float]]]) -> str:
    """Each stage's loss by step in a panel of its own, one above the other: SFT's loss (around ln of
    the vocabulary at first) and DPO's (from ln 2) on one scale would flatten one of them."""
    panels = [(stage, losses) for stage, losses in curves.items()]
    height = PANEL * max(len(panels), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
             f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">',
             f'<rect width="{WIDTH}" height="{height}" fill="white"/>']
    for number, (stage, losses) in enumerate(panels):
        parts += _panel(stage, losses, number * PANEL)
    parts.append("</svg>")
    return "\n".join(parts)


def _panel(stage: str, losses: list[tuple[int, float]], top: int) -> list[str]:
    """One stage's axes, its curve and its label, `top` pixels down."""
    colour = COLOURS.get(stage, "#555555")
    values = [loss for _, loss in losses]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    high = high if high > low else low + 1.0
    last = max((step for step, _ in losses), default=1) or 1
    bottom = top + PANEL - MARGIN

    def x(step: float) -> float:
        return MARGIN + (WIDTH - 2 * MARGIN) * step / last

    def y(loss: float) -> float:
        return bottom - (PANEL - 2 * MARGIN) * (loss - low) / (high - low)

    parts = [f'<line x1="{MARGIN}" y1="{bottom}" x2="{WIDTH - MARGIN}" y2="{bottom}" stroke="black"/>',
             f'<line x1="{MARGIN}" y1="{top + MARGIN}" x2="{MARGIN}" y2="{bottom}" stroke="black"/>',
             f'<text x="{MARGIN}" y="{top + MARGIN - 8}" fill="{colour}">{escape(stage.upper())} loss '
             f'({low:.3f} to {high:.3f})</text>',
             f'<text x="{WIDTH - MARGIN}" y="{bottom + 20}" text-anchor="end">step ({last})</text>']
    if losses:
        path = " ".join(f"{x(step):.1f},{y(loss):.1f}" for step, loss in losses)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
    return parts
