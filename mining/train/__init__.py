"""Training on an export: SFT then DPO with LoRA on all linear layers (mining.train.run).

The public face, light to import: torch, transformers, TRL and PEFT load only when a run starts.
"""

from mining.train.card import CardError, loss_svg, read_card
from mining.train.golden_runs import GenerationSettings, evaluate_trained
from mining.train.results import TrainResult
from mining.train.run import load_trained, train_from_export
from mining.train.settings import MIN_ROWS, STAGES, TrainingError, TrainSettings

__all__ = ["MIN_ROWS", "STAGES", "CardError", "GenerationSettings", "TrainResult", "TrainSettings", "TrainingError",
           "evaluate_trained", "load_trained", "loss_svg", "read_card", "train_from_export"]
