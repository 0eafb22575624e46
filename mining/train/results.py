"""What a training run did, stage by stage: read by the command line, the card and the page."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class StageResult:
    """What one stage did: its steps, losses by step, how long it took and how many tokens it saw."""

    stage: str
    rows: int
    steps: int = 0
    losses: list[tuple[int, float]] = field(default_factory=list)
    seconds: float = 0.0
    tokens: int = 0
    resumed_from: str | None = None
    skipped: bool = False  # already trained by an earlier run in the same folder

    @property
    def tokens_per_second(self) -> float | None:
        return self.tokens / self.seconds if self.seconds > 0 and self.tokens else None


@dataclass
class TrainResult:
    """A finished or stopped run: where it wrote, what each stage did, and whether it was stopped."""

    out: Path
    stages: list[StageResult]
    stopped: bool = False
    hardware: str = ""

    def describe(self) -> str:
        done = ", ".join(f"{stage.stage.upper()} {stage.steps} steps"
                         + (f" (loss {stage.losses[-1][1]:.3f})" if stage.losses else "")
                         + (" (already trained)" if stage.skipped else "") for stage in self.stages)
        if self.stopped:
            return f"Stopped after {done or 'no step'}; `--resume` goes on from the last checkpoint in {self.out}"
        return f"Trained {done} on {self.hardware}: adapters in {self.out}"
