"""``posebench`` entry point: parses the subcommand and owns the terminal.

Exit codes: 0 ok, 1 a failed check (regression), 2 usage or input error.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import sys
from collections.abc import Sequence

from posebench import __version__
from posebench.cli import compare, examine, ls, report, run, score, validate
from posebench.errors import InputError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="posebench",
        description="Evaluation and robustness benchmarking for human pose estimation.",
        epilog="Run 'posebench COMMAND --help' for a command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"posebench {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    score.add_parser(sub)
    validate.add_parser(sub)
    ls.add_parser(sub)
    run.add_parsers(sub)
    compare.add_parser(sub)
    report.add_parser(sub)
    examine.add_parser(sub)
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if argv is None:  # a real command-line run owns the process
        keep_freed_memory()
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="posebench: %(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.func(args))
    except InputError as e:
        print(f"posebench: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except ImportError as e:  # an optional package: its extra in one line (posebench.extras)
        from posebench.extras import missing_package_message

        msg = missing_package_message(e, getattr(args, "command", None))
        if msg is None:
            raise
        print(f"posebench: error: {msg}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("posebench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
