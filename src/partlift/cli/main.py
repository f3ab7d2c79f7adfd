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

from partlift.cli import interrupt, outdir
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
EXIT_INTERRUPTED = interrupt.EXIT_INTERRUPTED

# What each writing command's --out is (see partlift.cli.outdir): checked before any work.
OUT_KINDS: dict[str, str] = {
    "segment": "folder",
    "render": "folder",
    "predict": "folder",
    "demo": "folder",
    "bench": "bench",
    "synth": "root",
    "fit-weights": "file",
    "distill": "file",
    "pretrain": "file",
    "train-teacher": "file",
}


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
    one line on stderr and gives exit status 2; Ctrl-C (SIGINT) at any stage gives exit status
    130 (:mod:`partlift.cli.interrupt`). A command's ``--out`` is checked before it starts
    (:data:`OUT_KINDS`, :mod:`partlift.cli.outdir`). Called without ``argv`` (as the ``partlift``
    program), the process ends here with :func:`partlift.cli.interrupt.exit_process`.
    """
    if argv is None:
        interrupt.exit_process(_main(None, settle=False))
    return _main(argv, settle=True)


def _main(argv: Sequence[str] | None, *, settle: bool) -> int:
    # Idle OpenMP threads sleep instead of spinning. On a busy 2-core machine spinning threads
    # made torch 5-10x slower (render: 1.7 s -> 0.31 s for 10 views of 100k points). Only takes
    # effect if torch is not imported yet, and never overrides the user's own setting.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    words = list(sys.argv[1:] if argv is None else argv)
    command = next((w for w in words if not w.startswith("-")), "command")  # until parsed
    with interrupt.catching_sigint() as sigint:
        try:
            parser = build_parser()
            args = parser.parse_args(argv)
            command = args.command or command
            level = logging.WARNING - 10 * min(args.verbose, 2)
            logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
            if not getattr(args, "func", None):
                parser.print_help()
                return EXIT_USAGE
            return _run_command(args, sigint)
        except PartliftError as exc:
            msg = " ".join(str(exc).split())
            print(f"partlift {command}: error: {msg}", file=sys.stderr)
            return EXIT_USAGE
        except KeyboardInterrupt:
            sigint.stop()
            if settle:  # in-process caller: let worker threads finish before it goes on
                interrupt.settle_threads()
            print(f"partlift {command}: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED


def _call(args: argparse.Namespace, sigint: interrupt.SigintFlag) -> int:
    """Run the command; a SIGINT during it (even one a library swallowed) is KeyboardInterrupt.

    Once the command has returned, its outcome is decided: a later SIGINT is only recorded, so
    that committing the output folder is never cut in half.
    """
    status = int(args.func(args) or 0)
    sigint.stop()
    return sigint.checked(status)


def _run_command(args: argparse.Namespace, sigint: interrupt.SigintFlag) -> int:
    """Check ``--out`` before any work, run the command (owned folders: into a staging folder
    that replaces ``--out`` whole only on success), and return its status."""
    kind = OUT_KINDS.get(args.command)
    out = getattr(args, "out", None)
    if kind is None or not out:
        return _call(args, sigint)
    existed = os.path.lexists(os.path.abspath(os.path.expanduser(str(out))))
    target = outdir.check_out(out, kind)
    if kind == "folder":
        args.out_final = str(out)
        try:
            with outdir.owned_folder(target, args.command) as staging:
                args.out = str(staging)
                status = _call(args, sigint)
                if status != 0:
                    raise _Failed(status)
        except _Failed as failed:
            return failed.status
        return status
    if kind == "bench":
        try:
            with outdir.lock_folder(target, args.command):
                return _call(args, sigint)
        finally:
            if not existed:  # a run refused before any work leaves no empty folder behind
                outdir.remove_if_unused(target)
    return _call(args, sigint)


class _Failed(Exception):
    """A command returned a non-zero status: its staging folder is discarded."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
