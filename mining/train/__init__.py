"""Training on an export: SFT then DPO with LoRA on all linear layers (mining.train.run).

The public face: settings and errors are light; `train_from_export` loads torch, transformers,
TRL and PEFT only when it is called.
"""

from mining.train.settings import MIN_ROWS, STAGES, TrainingError, TrainSettings

__all__ = ["MIN_ROWS", "STAGES", "TrainSettings", "TrainingError", "train_from_export"]


def train_from_export(*args, **kwargs):  # noqa: ANN002, ANN003 - the same signature as mining.train.run's
    """See mining.train.run.train_from_export (imported here on first use: it loads torch)."""
    from mining.train.run import train_from_export as run

    return run(*args, **kwargs)
