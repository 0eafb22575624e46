"""Ingest several files, each read its own way.

Why: `ingest_paths` reads every file with one format and one mapping, which is what a command line
wants. In the app a person looks at each file's preview and may fix the format or the column
mapping of one file only; a plan per file carries those choices into a single ingest action.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mining.common import Progress
from mining.ingest.pipeline import IngestReport, ingest_paths
from mining.ingest.shapes.generic import ColumnMapping
from mining.store import Workspace


@dataclass
class FilePlan:
    """One file and how to read it: None means "detect" for the format, "suggest" for the mapping."""

    path: Path
    format: str | None = None
    mapping: ColumnMapping | None = None


def ingest_plans(workspace: Workspace, plans: list[FilePlan], progress: Progress | None = None) -> list[IngestReport]:
    """Ingest each planned file with its own format and mapping; one report per file, in order."""
    reports: list[IngestReport] = []
    for index, plan in enumerate(plans):
        def file_progress(fraction: float, message: str, index: int = index) -> None:
            if progress:
                progress((index + fraction) / len(plans), message)

        reports += ingest_paths(workspace, [plan.path], format=plan.format, mapping=plan.mapping,
                                progress=file_progress)
    if progress:
        progress(1.0, f"done: {len(plans)} file(s)")
    return reports
