"""Export folders a killed export left half written, and their removal.

Why: an export is assembled in a hidden `.NAME-vN.partial-*` folder beside its destination and
renamed when complete, so a reader never sees half a dataset; the folder names the process writing
it, so the next export (or the next start, mining.recovery) can remove one whose writer is gone.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from mining.processes import is_gone

PARTIAL_MARK = ".partial-"
OWNER_FILE = ".owner"
# A partial export folder that names no owner (written before owners were recorded) is taken for
# abandoned once it is this old: no export takes an hour to write.
UNOWNED_PARTIAL_SECONDS = 3600


def remove_abandoned_exports(folder: Path) -> list[Path]:
    """Delete the partial export folders in `folder` whose writer is gone; the ones removed."""
    removed = []
    try:
        candidates = [child for child in folder.iterdir()
                      if child.name.startswith(".") and PARTIAL_MARK in child.name and child.is_dir()
                      and not child.is_symlink()]
    except OSError:
        return removed
    for partial in candidates:
        owner_file = partial / OWNER_FILE
        try:
            owner = owner_file.read_text(encoding="utf-8")
            abandoned = is_gone(owner)
        except OSError:
            try:
                abandoned = time.time() - partial.stat().st_mtime > UNOWNED_PARTIAL_SECONDS
            except OSError:
                continue
        if abandoned:
            shutil.rmtree(partial, ignore_errors=True)
            removed.append(partial)
    return removed
