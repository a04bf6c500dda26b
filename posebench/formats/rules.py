"""The input rules every reader of COCO-style files applies, and ``--lenient``.

One place for what posebench refuses in ground-truth and results files, so that a faster reader
added later applies the same rules (``tests/test_input_rules.py`` replays each rule through every
reader path: simdjson columns, orjson columns, the record-by-record validator, the two-process
parser). Strict by default: each rule is an :class:`~posebench.errors.InputError` naming file,
record and field. Under :func:`lenient` the rules marked *tolerable* accept what pycocotools
accepts, as pycocotools reads it, with one warning per kind of problem; the others always refuse.

Tolerable (pycocotools reads these without complaint):

- ``boolean``: ``true``/``false`` where a number is expected (Python's ``True == 1``).
- ``duplicate-key``: an object with the same key twice (``json.load`` keeps the last value).
- ``unknown-category``: a detection whose ``category_id`` is not in the ground truth
  (pycocotools' ``COCOeval`` never looks at it: the detection is dropped).
- ``negative-box``: a ``bbox`` with negative width or height (kept as written).
- ``num-keypoints``: a GT ``num_keypoints`` larger than the skeleton (kept; it only decides
  whether the GT is ignored).
- ``duplicate-category``: two GT categories with one id (the last one wins, as in pycocotools'
  index).
- ``no-detections``: a results file with no detection at all (every AP is 0; pycocotools'
  ``loadRes`` crashes on it).

Always refused: ids outside int64 (``2**63``), non-finite numbers, keypoints that are not a flat
list of 3K numbers, unknown image ids, unknown JSON, nesting deeper than
:data:`posebench.formats.jsonio.MAX_DEPTH`, decompressed data beyond the inflate limit.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar

from posebench.errors import InputError

log = logging.getLogger(__name__)

#: Bumped whenever a rule changes: part of the key of anything cached from a parsed input (the GT
#: cache), so that a file cached under older rules is read again under the new ones.
RULES_VERSION = 1

#: The kinds of problem ``--lenient`` accepts (see the module docstring).
TOLERABLE = (
    "boolean",
    "duplicate-key",
    "unknown-category",
    "negative-box",
    "num-keypoints",
    "duplicate-category",
    "no-detections",
)

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class _Tolerance:
    def __init__(self) -> None:
        self.warned: set[str] = set()


_CURRENT: ContextVar[_Tolerance | None] = ContextVar("posebench_lenient", default=None)


@contextlib.contextmanager
def lenient(enabled: bool = True) -> Iterator[None]:
    """Inside the block, tolerable problems are warnings (one per kind) instead of errors."""
    token = _CURRENT.set(_Tolerance() if enabled else None)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def is_lenient() -> bool:
    """Whether the current reads run under :func:`lenient`."""
    return _CURRENT.get() is not None


def tolerate(kind: str, error: InputError) -> None:
    """Raise ``error`` (strict), or log it once per ``kind`` and return (lenient)."""
    if kind not in TOLERABLE:
        raise ValueError(f"not a tolerable kind: {kind!r}")
    tol = _CURRENT.get()
    if tol is None:
        raise error
    if kind not in tol.warned:
        tol.warned.add(kind)
        log.warning("%s (accepted under --lenient as pycocotools reads it; further problems of "
                    "this kind are not reported)", error)  # fmt: skip


def check_int64(value: int, *, file: str, record: str, field: str) -> int:
    """``value`` when it fits an int64 id column; InputError otherwise."""
    if not INT64_MIN <= value <= INT64_MAX:
        raise InputError(
            f"integer {value} does not fit in 64 bits (expected -2**63 <= id < 2**63)"[:160],
            file=file,
            record=record,
            field=field,
        )
    return value
