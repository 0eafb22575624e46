"""What one file's ingest did: the report the command prints, the Ingest page shows, and the
`ingests` table keeps. Its own module because every part of an ingest fills it in (the parsers,
the quarantine, the commit), and none of them should import another to reach it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class IngestReport:
    """What one file's ingest did; the same numbers are kept in the `ingests` table."""

    file: str
    format: str | None
    ingest_id: str
    rows_read: int = 0
    rows_added: int = 0
    rows_present: int = 0
    rows_quarantined: int = 0
    rows_skipped: int = 0
    scores_read: int = 0
    rows_resolved: int = 0  # lines of this file quarantined before that now read (or are gone)
    error: str | None = None
    quarantine_samples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)
