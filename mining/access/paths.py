"""Which server paths a text box in the app may name: only those inside the data folders.

Why: the app's text boxes (a log folder to ingest, the workspace file, an export's output folder, a
tokenizer or model folder) would otherwise let anyone who reaches the page read any file the server
can read and write anywhere it can write. The command line, run by the machine's owner, does not go
through this. Paths are compared after resolving `..` and symbolic links, so a link inside a data
folder that points outside it is refused too.
"""

from __future__ import annotations

from pathlib import Path

from mining.access.config import ServerConfig, data_folders_from_env


class PathRefused(Exception):
    """A typed path outside the data folders; the message says which folders are allowed and how to add one."""


def data_folders(config: ServerConfig, workspace: Path) -> tuple[Path, ...]:
    """The folders the app may touch: the startup workspace's folder, $FAULTLINE_DATA and the config's."""
    folders = [workspace.expanduser().parent, *data_folders_from_env(), *config.data_folders]
    unique: list[Path] = []
    for folder in folders:
        resolved = folder.expanduser().resolve()
        if resolved not in unique:
            unique.append(resolved)
    return tuple(unique)


def inside(path: Path, folders: tuple[Path, ...]) -> bool:
    resolved = path.expanduser().resolve()
    return any(resolved == folder or resolved.is_relative_to(folder) for folder in folders)


def check_path(typed: str, folders: tuple[Path, ...], config: ServerConfig) -> Path:
    """The path a user typed, resolved, if it lies inside one of `folders`; PathRefused otherwise.

    A relative path is read inside the first folder (the workspace's), never the server's working folder.
    """
    text = typed.strip()
    if not text:
        raise PathRefused("no path given")
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = folders[0] / path
    resolved = path.resolve()
    if not inside(resolved, folders):
        listed = ", ".join(str(folder) for folder in folders)
        raise PathRefused(f"{text}: outside the folders this app may use ({listed}). An operator can add a "
                          f"folder with $FAULTLINE_DATA or data_folders in {config.path}.")
    return resolved
