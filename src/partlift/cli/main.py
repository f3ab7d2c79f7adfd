"""``partlift`` entry point.

Each sub-command lives in its own module of this package and exposes ``register(subparsers)``,
which adds its parser and sets ``func`` (a callable taking the parsed ``argparse.Namespace`` and
returning an exit status). The modules are listed explicitly in ``COMMAND_MODULES``: nothing is
registered by import side effect. Only the CLI prints; the library logs.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from partlift.errors import PartliftError

# Sub-command modules, in the order ``partlift --help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "partlift.cli.demo",
    "partlift.cli.segment",
    "partlift.cli.info",
    "partlift.cli.speed",
    "partlift.cli.teachers",
    "partlift.cli.predict",
    "partlift.cli.fit_weights",
    "partlift.cli.render",
    "partlift.cli.synth",
    "partlift.cli.bench",
    "partlift.cli.distill",
    "partlift.cli.pretrain",
    "partlift.cli.train_teacher",
)

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every sub-command."""
    from partlift import __version__

    parser = argparse.ArgumentParser(
        prog="partlift",
        description="Segment 3D shapes into named parts by lifting 2D vision-language predictions.",
    )
    parser.add_argument("--version", action="version", version=f"partlift {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``); returns the exit status.

    A :class:`~partlift.errors.PartliftError` (bad input, unavailable backend, ...) is printed as
    one line on stderr and gives exit status 2.
    """
    # Idle OpenMP threads sleep instead of spinning. On a busy 2-core machine spinning threads
    # made torch 5-10x slower (render: 1.7 s -> 0.31 s for 10 views of 100k points). Only takes
    # effect if torch is not imported yet, and never overrides the user's own setting.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except PartliftError as exc:
        msg = " ".join(str(exc).split())
        print(f"partlift {args.command}: error: {msg}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"partlift {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
