"""What every command shares: exit codes, the one-line failure, the progress bar, --workspace.

Kept apart from mining.__main__ so that commands living beside their step (mining.export.cli)
raise the same CommandFailed the entry point catches: `python -m mining` runs __main__ as
`__main__`, and a class defined there would be a different class from the one they import.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable

from mining.store import default_workspace_path

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_WORKSPACE = 0, 1, 2, 3

AddCommand = Callable[[str, Callable[..., int], str], argparse.ArgumentParser]
"""The entry point's `add(name, handler, help)`: each stage's cli.py registers its commands with it."""


class CommandFailed(Exception):
    """The command could not do its work; the message is the one-line reason."""


def progress_bar(enabled: bool) -> tuple[Callable[[float, str], None], Callable[[], None]]:
    """A (callback, close) pair drawing a progress bar on stderr, or doing nothing. Only on a
    terminal: redrawn bars written to a file or a pipe garble it (carriage returns, clipped lines)."""
    if not enabled or not sys.stderr.isatty():
        return (lambda fraction, message: None), (lambda: None)
    from tqdm import tqdm

    bar = tqdm(total=1000, file=sys.stderr, unit="‰", bar_format="{l_bar}{bar}| {elapsed}<{remaining} {postfix}")

    def update(fraction: float, message: str) -> None:
        bar.n = int(min(max(fraction, 0.0), 1.0) * 1000)
        bar.set_postfix_str(message[-60:], refresh=False)
        bar.refresh()

    return update, bar.close


def workspace_option(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument(
        "--workspace", "-w", default=default, metavar="W",
        help=f"workspace file (default: $FAULTLINE_WORKSPACE or {default_workspace_path()})",
    )
