"""What a training run is given: the base model, the export it learns from, and the knobs.

Why these defaults (rank 16, alpha 32, lr 2e-4, 3 SFT epochs, 1 DPO epoch at beta 0.1): they are the
usual starting point for LoRA on all linear layers of a small model for a narrow task (the QLoRA and
TRL examples use the same order of magnitude), and a team's weekly export holds tens to hundreds of
examples, where more epochs over-fit and fewer learn nothing. Everything is an option.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

STAGES = ("sft", "dpo")
MIN_ROWS = 4  # fewer training rows than this teach a model nothing but noise: refused, with the reason


class TrainingError(Exception):
    """A training run that cannot start or go on, with a message meant for a person."""


@dataclass(frozen=True)
class TrainSettings:
    """One training run: SFT on the export's `sft` rows, then DPO on its `dpo` pairs from the SFT model.

    base_model: a local folder with a Hugging Face causal LM and its tokenizer (nothing is downloaded).
    stages: which of STAGES run, in that order.
    rank, alpha, dropout: the LoRA adapters, on every linear layer.
    learning_rate, sft_epochs, dpo_epochs, beta: the optimisation; beta is DPO's strength.
    batch_size, max_length: examples per step and the longest example in tokens (longer ones are cut).
    merge: also write the merged model (base + adapters) for serving without PEFT.
    resume: go on from the last checkpoint of an interrupted run in the same output folder.
    seed: the run's randomness, so that it can be repeated.
    """

    base_model: Path
    stages: tuple[str, ...] = STAGES
    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    learning_rate: float = 2e-4
    sft_epochs: float = 3.0
    dpo_epochs: float = 1.0
    beta: float = 0.1
    batch_size: int = 4
    max_length: int = 1024
    merge: bool = False
    resume: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = [stage for stage in self.stages if stage not in STAGES]
        if unknown or not self.stages:
            raise TrainingError(f"stages must be some of {', '.join(STAGES)}; got {', '.join(self.stages) or 'none'}")
        if list(self.stages) != [stage for stage in STAGES if stage in self.stages]:
            raise TrainingError("SFT runs before DPO: give the stages in that order")
        for name in ("rank", "alpha", "batch_size", "max_length"):
            if getattr(self, name) < 1:
                raise TrainingError(f"{name.replace('_', ' ')} must be at least 1")
        for name in ("learning_rate", "sft_epochs", "dpo_epochs", "beta"):
            if getattr(self, name) <= 0:
                raise TrainingError(f"{name.replace('_', ' ')} must be above 0")
        if not 0 <= self.dropout < 1:
            raise TrainingError("dropout must be from 0 up to 1")

    def as_json(self) -> dict[str, Any]:
        values = asdict(self)
        values["base_model"] = str(self.base_model)
        values["stages"] = list(self.stages)
        return values
