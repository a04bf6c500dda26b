"""Streaming bytes-to-columns reader for COCO keypoint results files (the fast path).

``read_columns(path, k)`` feeds the file in chunks to the C parser in ``_fastjson.c``, which
writes every number straight into preallocated numpy columns: no Python object per record or per
number, and memory bounded by the columns plus one chunk per thread (the file is never held
whole). A big file is parsed in pieces, one per thread, each read and parsed by one compiled loop
that never takes the GIL (:func:`_read_pieces`); ``posebench score`` starts that before its
imports (:mod:`posebench.formats.prefetch`). The columns never depend on the number of threads.

It is a fast path only. It returns None when the extension is not built (a machine without a C
compiler), when the file is compressed (the caller decompresses and parses it in memory) or when
anything in the file is not of the regular shape: the caller then reads the file with the
validating reader in :mod:`posebench.formats.coco`, which either accepts it, with the same numbers
(tested on seeded files and on every number literal shape), or raises an error naming record and
field. So the rules of what a valid file is live in one place, the validating reader.

Capacity: a record holds at least ``6K + 54`` bytes (the four required keys, one-character
values, 3K numbers and their commas) plus a separator, so ``size // (6K + 55) + 1`` rows always
suffice. The columns are allocated that large with ``np.empty`` and shrunk in place afterwards;
pages that are never written are never touched, so the over-allocation costs address space only.
In pieces, the ``{`` bytes counted first give the rows exactly.
"""

from __future__ import annotations

import importlib
import io
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from posebench import parallel
from posebench.formats import prefetch
from posebench.formats.prefetch import cut_points, min_record_bytes, peek_k

__all__ = ["CHUNK_BYTES", "available", "gt_columns", "min_record_bytes", "parse_bytes", "peek_k",
           "read_columns"]  # fmt: skip

log = logging.getLogger(__name__)

_fastjson: Any
try:  # (by name: the package's lazy __getattr__ would otherwise type it for mypy)
    _fastjson = importlib.import_module("posebench.formats._fastjson")
except ImportError:  # no C compiler at install time: the validating reader does everything
    _fastjson = None

#: Bytes read per chunk (the buffer holds two). A longer record grows the buffer.
CHUNK_BYTES = 1 << 20

_FINISHED, _MORE, _IRREGULAR = 0, 1, 2
_ST_START, _ST_AFTER_COMMA, _ST_DONE = 0, 3, 4

#: Files at least this large are parsed in pieces, one thread each (see :func:`read_columns`).
PARALLEL_MIN_BYTES = 8 << 20


def available() -> bool:
    """Whether the compiled streaming parser is installed."""
    return _fastjson is not None


def _columns(cap: int, k: int, scores: bool = True) -> dict[str, np.ndarray]:
    cols: dict[str, np.ndarray] = {
        "keypoints": np.empty((cap, k, 2), np.float64),
        "image_id": np.empty(cap, np.int64),
        "category_id": np.empty(cap, np.int64),
        "score": np.empty(cap, np.float64),
        "bbox": np.empty((cap, 4), np.float64),
        "has_bbox": np.empty(cap, np.uint8),
    }
    if scores:
        cols["keypoint_scores"] = np.empty((cap, k), np.float64)
    return cols


def _parse(
    data: bytes | bytearray | memoryview,
    start: int,
    state: int,
    row: int,
    final: bool,
    k: int,
    cols: dict[str, np.ndarray],
    end_state: int = _ST_DONE,
) -> tuple[int, int, int, int]:
    assert _fastjson is not None
    status, consumed, state, rows = _fastjson.parse(
        data, start, state, row, int(final), 3 * k, cols["keypoints"],
        cols.get("keypoint_scores"), cols["image_id"],
        cols["category_id"], cols["score"], cols["bbox"], cols["has_bbox"], end_state,
    )  # fmt: skip
    return int(status), int(consumed), int(state), int(rows)


def _regular_results(cols: dict[str, np.ndarray], n: int) -> bool:
    """The column checks the validating reader's fast path makes too (posebench.formats.rules):
    at least one detection (an empty file is refused unless lenient), box sizes non-negative."""
    if n == 0:
        return False
    has = cols["has_bbox"][:n].view(bool)
    return not (cols["bbox"][:n][has][:, 2:] < 0).any()


def _finish(cols: dict[str, np.ndarray], n: int, k: int) -> dict[str, np.ndarray]:
    """Shrink the columns to n rows in place (no copy: realloc of an mmap-backed block)."""
    out: dict[str, np.ndarray] = {}
    for name, arr in cols.items():
        shape = (n, *arr.shape[1:])
        try:
            arr.resize(shape, refcheck=False)
        except ValueError:  # a view or a non-owning array: fall back to a copy
            arr = arr[:n].copy()
        out[name] = arr
    if "has_bbox" in out:
        out["has_bbox"] = out["has_bbox"].view(bool)
    return out


def parse_bytes(
    data: bytes | bytearray | memoryview, k: int, scores: bool = True
) -> dict[str, np.ndarray] | None:
    """Columns of a results file held in memory, or None (not built, or irregular); as
    :func:`read_columns`."""
    if _fastjson is None or k < 1:
        return None
    cap = len(data) // min_record_bytes(k) + 1
    cols = _columns(cap, k, scores)
    status, _, _, n = _parse(data, 0, _ST_START, 0, True, k, cols)
    if status != _FINISHED or not _regular_results(cols, n):
        return None
    return _finish(cols, n, k)


def read_columns(
    path: str | Path,
    k: int,
    stop: threading.Event | Stop | None = None,
    scores: bool = True,
    *,
    threads: int | None = None,
) -> dict[str, np.ndarray] | None:
    """Columns of a plain (uncompressed) results file read in chunks, or None.

    Returns ``image_id`` (N,) int64, ``category_id`` (N,) int64, ``keypoints`` (N, K, 2) float64,
    ``keypoint_scores`` (N, K) float64 (absent with ``scores=False``), ``score`` (N,) float64,
    ``bbox`` (N, 4) float64 (NaN rows where a record has none) and ``has_bbox`` (N,) bool.
    None when the extension is missing, the file is gzip-compressed or unreadable, anything in it
    is not of the regular shape, or ``stop`` is set (the caller lost interest, e.g. because its
    ground truth failed to load).

    A file of at least :data:`PARALLEL_MIN_BYTES` is parsed in ``threads`` pieces at once
    (default :func:`posebench.parallel.threads`), see :func:`_read_pieces`; the columns are the
    same whatever the number of threads, and where the pieces cannot be used the file is read
    in one piece.
    """
    if _fastjson is None or k < 1:
        return None
    pre = prefetch.take(path, k, scores, stop)
    if pre is not None:
        cols = _from_prefetch(pre, k)
        if cols is not None:
            return cols
    p = Path(path)
    try:
        f = p.open("rb")
    except (OSError, ValueError):
        return None  # the validating reader names the problem
    with f:
        try:
            size = os.fstat(f.fileno()).st_size
        except OSError:
            return None
        head = f.read(2)
        if head == b"\x1f\x8b" or not p.is_file():
            return None
        n_threads = parallel.threads() if threads is None else threads
        if n_threads > 1 and size >= PARALLEL_MIN_BYTES:
            cols = _read_pieces(p, f, size, k, n_threads, stop, scores)
            if cols is not None:
                return cols
            if stop is not None and stop.is_set():
                return None
            f.seek(2)
        cap = size // min_record_bytes(k) + 1
        cols = _columns(cap, k, scores)
        status, row = _parse_range(p, f, 0, size, cols, k, _ST_START, _ST_DONE, stop)
    if status != _FINISHED:
        if status == _IRREGULAR:
            log.debug("%s: not the regular shape; the validating reader takes over", p)
        return None
    if not _regular_results(cols, row):
        return None
    return _finish(cols, row, k)


class Stop:
    """A stop request for the readers, seen by the compiled loops without the GIL (a one-byte
    flag) and by Python (``is_set``), as :class:`threading.Event`'s ``set``/``is_set``."""

    def __init__(self) -> None:
        self.flag = bytearray(1)

    def set(self) -> None:
        self.flag[0] = 1

    def is_set(self) -> bool:
        return bool(self.flag[0])


def _from_prefetch(pre: dict[str, Any], k: int) -> dict[str, np.ndarray] | None:
    """The columns of :func:`posebench.formats.prefetch.take`'s parse, as arrays over its memory
    maps (no copy), finished as :func:`_read_pieces` finishes its own."""
    cap = int(pre["cap"])
    shapes = {"keypoints": (cap, k, 2), "keypoint_scores": (cap, k), "bbox": (cap, 4)}
    cols: dict[str, np.ndarray] = {}
    for name, mm in pre["maps"].items():
        dtype = np.uint8 if name == "has_bbox" else np.int64 if name.endswith("_id") else np.float64
        cols[name] = np.frombuffer(mm, dtype).reshape(shapes.get(name, (cap,)))
    n = _close_gaps(cols, pre["starts"], pre["rows"])
    if not _regular_results(cols, n):
        return None
    out = {name: arr[:n] for name, arr in cols.items()}
    out["has_bbox"] = out["has_bbox"].view(bool)
    return out


def _close_gaps(cols: dict[str, np.ndarray], starts: list[int], rows: list[int]) -> int:
    """Move piece j's ``rows[j]`` rows from ``starts[j]`` to right after piece j - 1's (braces
    that began no record leave gaps); the number of rows."""
    at = rows[0]
    for j in range(1, len(rows)):
        if starts[j] != at:
            for arr in cols.values():
                arr[at : at + rows[j]] = arr[starts[j] : starts[j] + rows[j]]
        at += rows[j]
    return at


def _parse_range(
    path: Path,
    f: io.BufferedReader,
    lo: int,
    hi: int,
    cols: dict[str, np.ndarray],
    k: int,
    state: int,
    end_state: int,
    stop: threading.Event | Stop | None,
) -> tuple[int, int]:
    """Parse bytes ``[lo, hi)`` of the file into ``cols`` from row 0: (status, rows) as
    :func:`_stream`. The compiled loop reads and parses without taking the GIL between chunks
    (so that pieces parse in parallel undisturbed by Python threads); where it cannot open the
    file by name, :func:`_stream` reads it through ``f``."""
    assert _fastjson is not None
    flag = stop.flag if isinstance(stop, Stop) else bytearray(1)
    if stop is not None and stop.is_set():
        return _MORE, 0
    try:
        name = os.fsencode(path)
    except (TypeError, ValueError):
        name = None
    status = 3
    if name is not None and b"\0" not in name:
        status, rows = _fastjson.parse_file(
            name, lo, hi, state, end_state, max(CHUNK_BYTES, 1), 3 * k, cols["keypoints"],
            cols.get("keypoint_scores"), cols["image_id"], cols["category_id"], cols["score"],
            cols["bbox"], cols["has_bbox"], flag,
        )  # fmt: skip
    if status == 3:  # not readable by name (or shorter than its size said): through f
        f.seek(lo)
        return _stream(f, b"", hi - lo, cols, k, state, end_state, stop)
    if status == 4:
        return _MORE, int(rows)
    return int(status), int(rows)


def _stream(
    f: io.BufferedReader,
    head: bytes,
    length: int,
    cols: dict[str, np.ndarray],
    k: int,
    state: int,
    end_state: int,
    stop: threading.Event | Stop | None,
) -> tuple[int, int]:
    """Parse ``head`` and then ``length - len(head)`` more bytes of ``f`` (from its position) in
    chunks into ``cols`` from row 0. Returns (status, rows); status is ``_FINISHED`` only when
    the bytes end in ``end_state``, ``_MORE`` when ``stop`` was set."""
    # One reusable buffer: the unparsed tail of the last chunk is moved to its front and the
    # next chunk read in behind it (no per-chunk allocation).
    buf = bytearray(max(2 * CHUNK_BYTES, 4))
    buf[: len(head)] = head
    have, row = len(head), 0
    left = length - len(head)
    while True:
        if stop is not None and stop.is_set():
            return _MORE, row
        if have == len(buf):  # a record longer than the buffer
            buf.extend(bytes(len(buf)))
        want = min(len(buf) - have, left)
        got = f.readinto(memoryview(buf)[have : have + want]) if want > 0 else 0
        have += got
        left -= got
        final = got == 0
        status, consumed, state, row = _parse(
            memoryview(buf)[:have], 0, state, row, final, k, cols, end_state
        )
        if status != _MORE:
            return status, row
        buf[: have - consumed] = buf[consumed:have]
        have -= consumed


def _count_braces(path: Path, lo: int, hi: int, stop: threading.Event | Stop | None) -> int:
    """How many ``{`` bytes lie in ``[lo, hi)`` of the file."""
    assert _fastjson is not None
    if isinstance(stop, Stop):  # the compiled loop, without the GIL
        n = int(_fastjson.count_file(os.fsencode(path), lo, hi, 0x7B, stop.flag))
        if n >= 0 or n == -2:
            return max(n, 0)
    n = 0
    buf = bytearray(CHUNK_BYTES)
    view = memoryview(buf)
    with path.open("rb") as f:
        f.seek(lo)
        left = hi - lo
        while left > 0:
            if stop is not None and stop.is_set():
                return 0
            got = f.readinto(view[: min(len(buf), left)])
            if not got:
                break
            n += _fastjson.count_byte(view[:got], 0x7B)
            left -= got
    return int(n)


def _read_pieces(
    path: Path,
    f: io.BufferedReader,
    size: int,
    k: int,
    n_threads: int,
    stop: threading.Event | Stop | None,
    scores: bool,
) -> dict[str, np.ndarray] | None:
    """Parse the file in up to ``n_threads`` pieces at once; None: read it in one piece instead.

    The file is cut near ``size * j / n`` where a record seems to begin (a closing brace, a
    comma and an opening brace). Such a guess may be wrong (those bytes could sit inside a key),
    so it is verified: piece j must end exactly where piece j + 1 begins, after a comma, with its
    last record complete (``end_state``). Piece 0 starts at the top of the file, so by induction
    every piece then starts at a true record boundary in the state the one-piece parse would
    have there, and parses what that parse would: the same rows, the same numbers. Each record
    begins with a ``{`` of its own piece, so counting the ``{`` bytes before a piece (a first,
    parallel pass) gives a row where its records can start without overlapping the previous
    piece's; where a piece holds fewer records than braces, the rows are moved together after.
    Any irregularity, a wrong guess included, returns None and the one-piece parse decides, so
    what is regular, and every error message, does not depend on the number of threads.
    """
    cuts = cut_points(f, size, n_threads)
    n = len(cuts) - 1
    if n < 2:
        return None
    with ThreadPoolExecutor(n, thread_name_prefix="posebench-results") as pool:
        braces = list(pool.map(lambda j: _count_braces(path, cuts[j], cuts[j + 1], stop), range(n)))
        if stop is not None and stop.is_set():
            return None
        starts = np.concatenate([[0], np.cumsum(braces)]).astype(int).tolist()
        if starts[-1] > size // min_record_bytes(k) + 1:
            return None  # more braces than records fit: not the regular shape; one piece decides
        cols = _columns(max(starts[-1], 1), k, scores)

        def piece(j: int) -> tuple[int, int]:
            part = {name: arr[starts[j] : starts[j + 1]] for name, arr in cols.items()}
            with path.open("rb") as g:
                state = _ST_START if j == 0 else _ST_AFTER_COMMA
                end_state = _ST_DONE if j == n - 1 else _ST_AFTER_COMMA
                return _parse_range(path, g, cuts[j], cuts[j + 1], part, k, state, end_state, stop)

        results = list(pool.map(piece, range(n)))
    if any(status != _FINISHED for status, _ in results):
        log.debug("%s: the pieces did not verify; parsing it in one piece", path)
        return None
    at = _close_gaps(cols, starts, [r for _, r in results])
    if not _regular_results(cols, at):
        return None
    return _finish(cols, at, k)


def gt_columns(
    data: bytes, k_of: Callable[[list[Any]], int | None]
) -> tuple[list[Any], dict[str, np.ndarray], dict[str, np.ndarray]] | None:
    """The three arrays of a COCO keypoint ground-truth document, or None when irregular.

    Args:
        data: the whole file's bytes (decompressed).
        k_of: K from the parsed ``categories`` list (None: let the validating reader decide).

    Returns:
        ``(categories, images, annotations)``: ``categories`` parsed as Python objects (it is
        small); ``images`` columns ``id``, ``width``, ``height`` (int64, 0 where absent),
        ``file`` (object array of str, "" where absent), ``crowd_index`` (float64, NaN where
        absent); ``annotations`` columns ``id``, ``image_id``, ``category_id``,
        ``num_keypoints`` (int64, 0 where absent), ``has_num_keypoints`` (bool), ``keypoints``
        (N, K, 3) float64, ``bbox`` (N, 4) and ``area`` (N,) float64 (NaN where absent) and
        ``iscrowd`` (bool). Only types are checked here; ids, references and values are checked
        by the caller.
    """
    if _fastjson is None:
        return None
    spans = _fastjson.scan_top(data)
    if spans is None or any(s < 0 for s, _ in spans):
        return None
    (i0, i1), (a0, a1), (c0, c1) = spans
    import orjson

    try:
        categories = orjson.loads(data[c0:c1])
    except orjson.JSONDecodeError:
        return None
    if not isinstance(categories, list):
        return None
    k = k_of(categories)
    if k is None or k < 1:
        return None
    cap = (i1 - i0) // 9 + 1  # {"id":0} and a separator
    img = {name: np.empty(cap, np.int64) for name in ("id", "width", "height", "s", "n")}
    crowd = np.empty(cap, np.float64)
    n_img = _fastjson.parse_images(data, i0, i1, img["id"], img["width"], img["height"],
                                   img["s"], img["n"], crowd)  # fmt: skip
    if n_img < 0:
        return None
    view = memoryview(data)
    try:
        starts, lens = img["s"][:n_img].tolist(), img["n"][:n_img].tolist()
        names = np.array(
            [bytes(view[s : s + n]).decode() for s, n in zip(starts, lens, strict=True)],
            dtype=object,
        ).reshape(n_img)
    except UnicodeDecodeError:
        return None
    images = {
        "id": img["id"][:n_img].copy(),
        "width": img["width"][:n_img].copy(),
        "height": img["height"][:n_img].copy(),
        "file": names,
        "crowd_index": crowd[:n_img].copy(),
    }
    cap = (a1 - a0) // min_record_bytes(k) + 1
    ann: dict[str, np.ndarray] = {
        "id": np.empty(cap, np.int64),
        "image_id": np.empty(cap, np.int64),
        "category_id": np.empty(cap, np.int64),
        "num_keypoints": np.empty(cap, np.int64),
        "keypoints": np.empty((cap, k, 3), np.float64),
        "bbox": np.empty((cap, 4), np.float64),
        "area": np.empty(cap, np.float64),
        "iscrowd": np.empty(cap, np.uint8),
        "has_num_keypoints": np.empty(cap, np.uint8),
    }
    n_ann = _fastjson.parse_annotations(data, a0, a1, 3 * k, *ann.values())
    if n_ann < 0:
        return None
    ann = _finish(ann, n_ann, k)
    ann["iscrowd"] = ann["iscrowd"].view(bool)
    ann["has_num_keypoints"] = ann["has_num_keypoints"].view(bool)
    return categories, images, ann
