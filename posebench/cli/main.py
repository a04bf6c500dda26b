"""``posebench`` entry point: parses the subcommand and owns the terminal.

Exit codes: 0 ok, 1 a failed check (regression), 2 usage or input error, 3 internal error (one
line; ``-v`` prints the traceback), 141 when the reader of stdout went away (``| head``).
Nothing else reaches the terminal: every message that quotes data is escaped
(:func:`posebench.errors.escape_control`), argparse's messages included.
"""

from __future__ import annotations

import argparse
import atexit
import ctypes
import gc
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from posebench import __version__
from posebench.errors import InputError, escape_control

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors are escaped (a flag's value may hold anything).

    Subparsers inherit the class (``add_subparsers`` uses ``type(self)``).
    """

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {escape_control(message)}\n")


class _EscapingFormatter(logging.Formatter):
    """Log records are one line each, control characters escaped (messages quote file data)."""

    def format(self, record: logging.LogRecord) -> str:
        return escape_control(super().format(record), keep_newlines=True)


#: Each subcommand and the module of ``posebench.cli`` that defines it (``add_parser`` or, for a
#: module with several commands, ``add_parsers``). Only the module of the command being run is
#: imported, so that ``posebench score`` does not pay for the suite loader's or the examiner's
#: imports (a quarter of a second and ~15 MB on a COCO-size scoring run).
COMMANDS: dict[str, str] = {
    "score": "score",
    "validate": "validate",
    "ls": "ls",
    "run": "run",
    "merge": "run",
    "demo": "run",
    "compare": "compare",
    "report": "report",
    "examine": "examine",
}


def _command_of(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line, or None (help, version, or not a command)."""
    for arg in argv:
        if arg in ("-h", "--help", "--version"):
            return None
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser: every subcommand, or only ``command``'s module when given."""
    parser = _Parser(
        prog="posebench",
        description="Evaluation and robustness benchmarking for human pose estimation.",
        epilog="Run 'posebench COMMAND --help' for a command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"posebench {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    modules = [COMMANDS[command]] if command else list(dict.fromkeys(COMMANDS.values()))
    for name in modules:
        module = importlib.import_module(f"posebench.cli.{name}")
        (getattr(module, "add_parsers", None) or module.add_parser)(sub)
    return parser


def keep_freed_memory() -> None:
    """Let this process reuse the memory it frees instead of faulting fresh pages in.

    glibc serves large blocks with mmap and unmaps them on free, so every large numpy temporary
    touches new pages; an evaluation makes hundreds of them and page faults become a third of
    its time. Serving everything from the heap and never trimming it keeps freed pages for the
    next array. Process-wide, hence here in the CLI and not in the library; glibc only.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-4, 0)  # M_MMAP_MAX: no mmap-backed blocks
        libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD: keep up to 1 GiB of freed heap
    except (OSError, AttributeError):
        pass


def scoring_process() -> None:
    """Settings for a process that runs ``posebench score`` and exits.

    One BLAS thread: numpy's OpenBLAS starts a worker thread per extra CPU when numpy is
    imported, and each spins for a while waiting for work; measured here, a tenth of a COCO-size
    scoring run's CPU time (on a 2-CPU machine, a core taken from the reader and matching
    threads), where scoring makes no BLAS call. Must run before numpy is imported; a thread
    count the user set wins. No cyclic garbage collection: scoring builds arrays and acyclic
    parsed JSON, and the collector's passes over them (and over the imported modules) were
    another twentieth of the run; everything is freed at exit.
    """
    if "numpy" not in sys.modules and not any(
        v in os.environ for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
    ):
        os.environ["OPENBLAS_NUM_THREADS"] = "1"
    gc.disable()
    _prefetch_results(sys.argv[1:])


def _option(argv: Sequence[str], name: str) -> str | None:
    """The last value of ``--name VALUE`` or ``--name=VALUE`` in argv (spelled in full)."""
    value = None
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith(name + "="):
            value = arg[len(name) + 1 :]
    return value


def _prefetch_results(argv: Sequence[str]) -> None:
    """Start parsing ``--pred`` while numpy and the scoring modules import (an optimisation:
    :mod:`posebench.formats.prefetch`; the reader uses it only for that very, unchanged file)."""
    from posebench.metrics import table as metric_table  # imports no numpy

    pred = _option(argv, "--pred")
    metric = _option(argv, "--metric") or metric_table.score_choices()[0]
    rows = [r for r in metric_table.METRIC_TABLE.values() if r.score_name == metric]
    # only the scorer of people matched by OKS reads a results file the prefetch knows
    if pred is None or pred.startswith("sample:") or not rows or rows[0].records != "matches":
        return
    from posebench import parallel
    from posebench.formats import prefetch

    # score keeps per-keypoint scores only for the zero-score rule (crowdpose's default)
    zero = _option(argv, "--zero-score-dets")
    scores = zero == "drop" or (zero is None and _option(argv, "--mode") == "crowdpose")
    try:
        threads = parallel.parse_threads(_option(argv, "--threads") or "0")
        if _option(argv, "--threads") in (None, "0"):
            threads = parallel.threads()
    except InputError:
        return  # argparse names the bad value
    prefetch.start(pred, scores=scores, threads=threads)
    atexit.register(prefetch.cancel)


def main(argv: Sequence[str] | None = None) -> int:
    command = _command_of(sys.argv[1:] if argv is None else argv)
    if argv is None and command == "score":
        scoring_process()
    parser = build_parser(command)
    args = parser.parse_args(argv)
    if argv is None:  # a real command-line run owns the process
        keep_freed_memory()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_EscapingFormatter("posebench: %(levelname)s: %(message)s"))
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, handlers=[handler])
    try:
        return int(args.func(args))
    except InputError as e:
        _say(f"error: {escape_control(str(e), keep_newlines=True)}")
        return EXIT_USAGE
    except ImportError as e:  # an optional package: its extra in one line (posebench.extras)
        from posebench.extras import missing_package_message

        msg = missing_package_message(e, getattr(args, "command", None))
        if msg is None:
            raise
        print(f"posebench: error: {msg}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
    except RecursionError:
        # a last resort: the readers turn deep nesting into an InputError themselves
        _say("error: input nested too deeply to process (RecursionError)")
        return EXIT_USAGE
    except MemoryError:
        _say(
            "error: out of memory; the input is larger than this machine can hold "
            "(or a limit set on this process is too low)"
        )
        return EXIT_INTERNAL
    except BrokenPipeError:  # the reader went away (| head): not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes at exit
        return 128 + 13  # as a process killed by SIGPIPE
    except OSError as e:
        where = f" {e.filename}" if e.filename is not None else ""
        _say(f"error:{escape_control(where)}: {escape_control(e.strerror or e)}")
        if args.verbose:
            sys.stderr.write(escape_control(traceback.format_exc(), keep_newlines=True))
        return EXIT_INTERNAL
    except Exception as e:
        _say(
            f"internal error: {type(e).__name__}: {escape_control(str(e))[:300]} "
            "(a bug in posebench; rerun as 'posebench -v ...' for the traceback)"
        )
        if args.verbose:
            sys.stderr.write(escape_control(traceback.format_exc(), keep_newlines=True))
        return EXIT_INTERNAL


def _say(message: str) -> None:
    print(f"posebench: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
