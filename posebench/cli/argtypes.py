"""argparse ``type=`` validators: a bad number is refused by the flag that holds it.

argparse names the flag itself (``argument --seed: invalid seed value: '-1' (expected ...)``)
and exits with status 2, before anything is read or run.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

#: numpy's SeedSequence and Python's hash-based seeds take any non-negative integer; posebench
#: records seeds in results.json as JSON integers, so keep them in int64.
MAX_SEED = 2**63 - 1


def _int(text: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def int_range(
    lo: int | None = None, hi: int | None = None, name: str = "int"
) -> Callable[[str], int]:
    """A validator for integers in ``[lo, hi]`` (either bound may be open)."""

    def parse(text: str) -> int:
        v = _int(text)
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            if hi is None:
                want = f"an integer >= {lo}"
            elif lo is None:
                want = f"an integer <= {hi}"
            else:
                want = f"an integer from {lo} to {hi}"
            raise argparse.ArgumentTypeError(f"expected {want}, got {v}")
        return v

    parse.__name__ = name
    return parse


positive_int = int_range(1, 2**31 - 1, "positive integer")
nonneg_int = int_range(0, 2**31 - 1, "non-negative integer")
seed = int_range(0, MAX_SEED, "seed")
#: bootstrap replicates: each one is a resample of every image; a million is already generous
replicates = int_range(0, 1_000_000, "replicates")
#: population sizes and batches of the examiner (rendered bodies live in memory together)
population = int_range(1, 65_536, "count")


def float_range(
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
    name: str = "float",
) -> Callable[[str], float]:
    """A validator for finite floats in a range (NaN and infinity are refused)."""

    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        below = lo is not None and (v <= lo if lo_open else v < lo)
        above = hi is not None and (v >= hi if hi_open else v > hi)
        if not math.isfinite(v) or below or above:
            parts = []
            if lo is not None:
                parts.append(f"{'>' if lo_open else '>='} {lo:g}")
            if hi is not None:
                parts.append(f"{'<' if hi_open else '<='} {hi:g}")
            want = " and ".join(parts) or "finite"
            raise argparse.ArgumentTypeError(f"expected a finite number {want}, got {text!r}")
        return v

    parse.__name__ = name
    return parse


positive_float = float_range(0.0, lo_open=True, name="positive number")


def _blocked_by_file(path: Path) -> Path | None:
    """The first ancestor of ``path`` (or ``path`` itself) that exists but is not a folder."""
    for parent in (path, *path.parents):
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def output_folder(text: str) -> Path:
    """A folder to write into: missing (it is created) or an existing folder, never a file."""
    if "\x00" in text:
        raise argparse.ArgumentTypeError("a path cannot hold a NUL character")
    p = Path(text).expanduser()
    if p.exists() and not p.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is an existing file; expected a folder")
    blocker = _blocked_by_file(p.parent)
    if blocker is not None:
        raise argparse.ArgumentTypeError(f"cannot create {text!r}: {str(blocker)!r} is a file")
    return p


def output_file(text: str) -> Path:
    """A file to write: not an existing folder; missing parent folders are created on write."""
    if "\x00" in text:
        raise argparse.ArgumentTypeError("a path cannot hold a NUL character")
    p = Path(text).expanduser()
    if p.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder; expected a file name")
    blocker = _blocked_by_file(p.parent)
    if blocker is not None:
        raise argparse.ArgumentTypeError(f"cannot create {text!r}: {str(blocker)!r} is a file")
    return p
