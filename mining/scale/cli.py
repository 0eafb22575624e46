"""The `--ray [ADDRESS]` and `--ray-workers N` options that `embed` and `cluster` share."""

from __future__ import annotations

import argparse
from contextlib import contextmanager
from typing import Iterator

from mining.cli_base import CommandFailed
from mining.scale.ray_engine import ADDRESS_ENV, LOCAL, RayEngine, RayUnavailable


def add_ray_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                        help=f"embed (and place calls beyond the fitted sample) on a Ray cluster: ADDRESS as host:port, "
                             f"else ${ADDRESS_ENV}, else a Ray instance on this machine ('{LOCAL}')")
    parser.add_argument("--ray-workers", type=int, metavar="N", help="embedding actors at once (default: one per "
                                                                    "CPU of the cluster)")


@contextmanager
def ray_engine(args: argparse.Namespace) -> Iterator[RayEngine | None]:
    """The engine `--ray` asks for, connected (None without `--ray`), left when the command ends."""
    if args.ray is None:
        if args.ray_workers is not None:
            raise CommandFailed("--ray-workers needs --ray")
        yield None
        return
    if args.ray_workers is not None and args.ray_workers < 1:
        raise CommandFailed("--ray-workers must be at least 1")
    engine = RayEngine(args.ray or None, args.ray_workers)
    try:
        engine.connect()
    except RayUnavailable as exc:
        raise CommandFailed(str(exc)) from exc
    try:
        yield engine
    finally:
        engine.shutdown()
