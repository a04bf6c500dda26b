"""Streaming bytes-to-columns reader for COCO keypoint results files (the fast path).

``read_columns(path, k)`` feeds the file in chunks to the C parser in ``_fastjson.c``, which
writes every number straight into preallocated numpy columns: no Python object per record or per
number, and memory bounded by the columns plus one chunk (the file is never held whole).

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
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

try:
    from posebench.formats import _fastjson  # type: ignore[attr-defined]
except ImportError:  # no C compiler at install time: the validating reader does everything
    _fastjson = None

#: Bytes read per chunk (the buffer holds two). A longer record grows the buffer.
CHUNK_BYTES = 1 << 20

_FINISHED, _MORE, _IRREGULAR = 0, 1, 2
_ST_START = 0


def available() -> bool:
    """Whether the compiled streaming parser is installed."""
    return _fastjson is not None


def min_record_bytes(k: int) -> int:
    """A lower bound on the bytes of one record with K keypoints, its separator included."""
    return 6 * k + 55


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
) -> tuple[int, int, int, int]:
    assert _fastjson is not None
    status, consumed, state, rows = _fastjson.parse(
        data, start, state, row, int(final), 3 * k, cols["keypoints"],
        cols.get("keypoint_scores"), cols["image_id"],
        cols["category_id"], cols["score"], cols["bbox"], cols["has_bbox"],
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


def peek_k(path: str | Path, limit: int = 1 << 16) -> int | None:
    """K as the first record of a results file states it (its ``keypoints`` length / 3), read
    from the first ``limit`` bytes only; None when that is not plain to see."""
    try:
        with Path(path).open("rb") as f:
            head = f.read(limit)
    except (OSError, ValueError):  # ValueError: a NUL in the path; the readers name it
        return None
    at = head.find(b'"keypoints"')
    if at < 0:
        return None
    lo, hi = head.find(b"[", at), head.find(b"]", at)
    if lo < 0 or hi < lo or b"{" in head[lo:hi] or b'"' in head[lo:hi]:
        return None
    n = head.count(b",", lo, hi) + 1
    return n // 3 if n % 3 == 0 else None


def read_columns(
    path: str | Path, k: int, stop: threading.Event | None = None, scores: bool = True
) -> dict[str, np.ndarray] | None:
    """Columns of a plain (uncompressed) results file read in chunks, or None.

    Returns ``image_id`` (N,) int64, ``category_id`` (N,) int64, ``keypoints`` (N, K, 2) float64,
    ``keypoint_scores`` (N, K) float64 (absent with ``scores=False``), ``score`` (N,) float64,
    ``bbox`` (N, 4) float64 (NaN rows where a record has none) and ``has_bbox`` (N,) bool.
    None when the extension is missing, the file is gzip-compressed or unreadable, anything in it
    is not of the regular shape, or ``stop`` is set (the caller lost interest, e.g. because its
    ground truth failed to load).
    """
    if _fastjson is None or k < 1:
        return None
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
        cap = size // min_record_bytes(k) + 1
        cols = _columns(cap, k, scores)
        # One reusable buffer: the unparsed tail of the last chunk is moved to its front and the
        # next chunk read in behind it (no per-chunk allocation).
        buf = bytearray(max(2 * CHUNK_BYTES, 4))
        buf[: len(head)] = head
        have, state, row = len(head), _ST_START, 0
        while True:
            if stop is not None and stop.is_set():
                return None
            if have == len(buf):  # a record longer than the buffer
                buf.extend(bytes(len(buf)))
            got = f.readinto(memoryview(buf)[have:])
            have += got
            final = got == 0
            status, consumed, state, row = _parse(
                memoryview(buf)[:have], 0, state, row, final, k, cols
            )
            if status == _FINISHED:
                break
            if status == _IRREGULAR:
                log.debug("%s: not the regular shape; the validating reader takes over", p)
                return None
            buf[: have - consumed] = buf[consumed:have]
            have -= consumed
    if not _regular_results(cols, row):
        return None
    return _finish(cols, row, k)


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
