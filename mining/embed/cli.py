"""The `embed` command: embed every record's text that has no cached vector yet."""

from __future__ import annotations

import argparse
import json

from mining.cli_base import EXIT_OK, AddCommand, CommandFailed, progress_bar
from mining.embed.backends import BACKENDS
from mining.embed.vectors import TEXT_CHOICES
from mining.scale.cli import add_ray_arguments, ray_engine
from mining.store import Workspace


def command_embed(workspace: Workspace, args: argparse.Namespace) -> int:
    from dataclasses import replace

    from mining.embed.vectors import embed_records, embedding_settings, save_embedding_settings

    given = {key: value for key, value in (("model", args.model), ("backend", args.backend), ("text", args.text),
                                           ("max_seq_length", args.max_seq_length), ("batch_size", args.batch_size))
             if value is not None}
    try:
        settings = replace(embedding_settings(workspace), **given)
        settings.model_path  # a model folder that does not exist fails here, before any work
    except ValueError as exc:
        raise CommandFailed(str(exc)) from exc
    if args.save:
        save_embedding_settings(workspace, settings)
    with ray_engine(args) as engine:
        update, close = progress_bar(not args.quiet and not args.json)
        try:
            report = embed_records(workspace, settings=settings, progress=update,
                                   encoder=engine.encode_chunks if engine else None)
        finally:
            close()
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
        return EXIT_OK
    print(f"{report.model_id} ({report.text}): {report.embedded} texts embedded, {report.cached} already cached, "
          f"{report.records} records" + (f", {report.empty} without text" if report.empty else "")
          + (f" ({report.texts_per_second:,.0f} texts/s)" if report.embedded else ""))
    return EXIT_OK


def add_commands(add: AddCommand) -> None:
    """Register `embed` with the entry point's `add(name, handler, help)`."""
    embed = add("embed", command_embed, "Embed the text of every record that has no cached vector yet.")
    embed.add_argument("--model", help="all-MiniLM-L6-v2 (packaged, the default) or a local sentence-transformers folder")
    embed.add_argument("--backend", choices=BACKENDS, help="how the model runs")
    embed.add_argument("--text", choices=TEXT_CHOICES, help="what is embedded: the request (default), the response, or both")
    embed.add_argument("--max-seq-length", type=int, metavar="N", help="tokens kept per text (default: the model's limit)")
    embed.add_argument("--batch-size", type=int, metavar="N", help="texts per forward pass")
    add_ray_arguments(embed)
    embed.add_argument("--save", action="store_true", help="make these options the workspace's embedding settings")
    embed.add_argument("--json", action="store_true", help="print the report as JSON (keys include embedded, cached)")
    embed.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
