"""Read a results file while the interpreter is still importing (``posebench score``).

A scoring process spends its first tenth of a second importing numpy and posebench, on one core.
:func:`start`, called by the command line before those imports, parses the results file in the
background meanwhile: the same pieces and the same compiled loops as
:func:`posebench.formats.fastjson.read_columns` (``count_file``, ``parse_file``, which run
without the GIL), into anonymous memory maps instead of numpy arrays, so that it needs no numpy.
:func:`take` hands the columns to ``read_columns``, which wraps them as arrays.

It is an optimisation only, and never the judge of a file: it never raises, it is used only when
the file is the one asked for, unchanged (device, inode, size, modification time) and every piece
verified (each ends exactly where the next begins, after a complete record); otherwise
``read_columns`` reads the file itself, and the validating reader decides about anything
irregular, as without it (tests/test_threads.py compares the columns).

This module imports neither numpy nor any posebench module that does.
"""

from __future__ import annotations

import importlib
import mmap
import os
import re
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

#: Grammar states of the compiled parser (see _fastjson.c).
ST_START, ST_AFTER_COMMA, ST_DONE = 0, 3, 4
#: Files at least this large are parsed in pieces, one thread each.
PARALLEL_MIN_BYTES = 8 << 20
#: Bytes read per chunk by the compiled loop (its buffer holds two).
CHUNK_BYTES = 1 << 20
#: Bytes searched after each cut point for the start of a record.
BOUNDARY_WINDOW = 1 << 16
#: A record boundary as the regular shape writes it: the end of one record, the comma, the
#: opening brace of the next (whitespace allowed); the match ends at that brace.
BOUNDARY = re.compile(rb"\}[ \t\r\n]*,[ \t\r\n]*\{")


def min_record_bytes(k: int) -> int:
    """A lower bound on the bytes of one record with K keypoints, its separator included."""
    return 6 * k + 55


def peek_k(path: str | os.PathLike[str], limit: int = 1 << 16) -> int | None:
    """K as the first record of a results file states it (its ``keypoints`` length / 3), read
    from the first ``limit`` bytes only; None when that is not plain to see."""
    try:
        with open(path, "rb") as f:
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


def cut_points(f: Any, size: int, n: int) -> list[int]:
    """Offsets where pieces begin: 0, then near ``size * j / n`` the opening brace of the first
    record that seems to begin there (a guess, verified by the parse), then ``size``."""
    cuts = [0]
    for j in range(1, n):
        f.seek(size * j // n)
        m = BOUNDARY.search(f.read(BOUNDARY_WINDOW))
        if m is not None:
            b = size * j // n + m.end() - 1
            if cuts[-1] < b < size:
                cuts.append(b)
    cuts.append(size)
    return cuts


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class _Job:
    def __init__(self, path: str, scores: bool, threads: int) -> None:
        self.path = path
        self.scores = scores
        self.threads = threads
        self.stop = bytearray(1)
        self.done = threading.Event()
        self.result: dict[str, Any] | None = None


_job: _Job | None = None


def start(path: str, *, scores: bool, threads: int) -> None:
    """Begin parsing the results file ``path`` in the background (nothing when it is small, the
    extension is missing or only one thread may run)."""
    global _job
    if (_job is not None and not _job.done.is_set()) or threads < 2:
        return  # one at a time (a finished one nobody took is dropped)
    try:
        fj = importlib.import_module("posebench.formats._fastjson")
    except ImportError:
        return
    job = _Job(path, scores, threads)
    _job = job
    t = threading.Thread(target=_run, args=(job, fj), name="posebench-prefetch", daemon=True)
    t.start()


def _run(job: _Job, fj: Any) -> None:
    try:
        job.result = _parse(job, fj)
    except Exception:  # an optimisation only: read_columns reads the file itself
        job.result = None
    finally:
        job.done.set()


def _parse(job: _Job, fj: Any) -> dict[str, Any] | None:
    name = os.fsencode(job.path)
    if not stat.S_ISREG(os.stat(job.path).st_mode):  # never open a pipe: its bytes are not ours
        return None
    with open(job.path, "rb") as f:
        st = os.fstat(f.fileno())
        size = st.st_size
        if size < PARALLEL_MIN_BYTES or f.read(2) == b"\x1f\x8b":
            return None
        k = peek_k(job.path)
        if not k:
            return None
        cuts = cut_points(f, size, job.threads)
    n = len(cuts) - 1
    if n < 2:
        return None
    with ThreadPoolExecutor(n, thread_name_prefix="posebench-prefetch") as pool:
        braces = list(pool.map(lambda j: fj.count_file(name, cuts[j], cuts[j + 1], 0x7B, job.stop),
                               range(n)))  # fmt: skip
        if min(braces) < 0:
            return None
        starts = [0]
        for b in braces:
            starts.append(starts[-1] + b)
        if starts[-1] > size // min_record_bytes(k) + 1:
            return None  # more braces than records fit (a file of braces): not for the fast path
        cap = max(starts[-1], 1)
        widths = {"keypoints": 2 * k, "keypoint_scores": k, "image_id": 1, "category_id": 1,
                  "score": 1, "bbox": 4, "has_bbox": 1}  # fmt: skip
        if not job.scores:
            del widths["keypoint_scores"]
        maps = {
            c: mmap.mmap(-1, cap * w * (1 if c == "has_bbox" else 8)) for c, w in widths.items()
        }
        views: dict[str, memoryview] = {}
        for c, m in maps.items():
            fmt = "B" if c == "has_bbox" else "q" if c.endswith("_id") else "d"
            views[c] = memoryview(m).cast(fmt)  # type: ignore[call-overload]

        def piece(j: int) -> tuple[int, int]:
            lo, hi = starts[j], starts[j + 1]
            part = {c: v[lo * widths[c] : hi * widths[c]] for c, v in views.items()}
            state = ST_START if j == 0 else ST_AFTER_COMMA
            end_state = ST_DONE if j == n - 1 else ST_AFTER_COMMA
            out: tuple[int, int] = fj.parse_file(
                name, cuts[j], cuts[j + 1], state, end_state, CHUNK_BYTES, 3 * k,
                part["keypoints"], part.get("keypoint_scores"), part["image_id"],
                part["category_id"], part["score"], part["bbox"], part["has_bbox"], job.stop,
            )  # fmt: skip
            return out

        results = list(pool.map(piece, range(n)))
    if any(status != 0 for status, _ in results):
        return None
    return {
        "identity": _identity(st),
        "k": k,
        "maps": maps,
        "cap": cap,
        "starts": starts,
        "rows": [r for _, r in results],
    }


def take(
    path: str | os.PathLike[str], k: int, scores: bool, stop: Any = None
) -> dict[str, Any] | None:
    """The background parse of ``path`` (waiting for it to finish), when it was started for
    this very file, unchanged since, with this K and keypoint-score choice; else None. Once.
    ``stop`` (anything with ``is_set()``): when it is set while waiting, the parse is stopped."""
    global _job
    job = _job
    if job is None or job.path != os.fspath(path):
        return None
    _job = None
    while not job.done.wait(0.01):
        if stop is not None and stop.is_set():
            job.stop[0] = 1
    res = job.result
    if res is None or res["k"] != k or job.scores != scores:
        return None
    try:
        if _identity(os.stat(path)) != res["identity"]:
            return None
    except OSError:
        return None
    return res


def cancel() -> None:
    """Stop a background parse nobody will take (at exit)."""
    job = _job
    if job is not None:
        job.stop[0] = 1
        job.done.wait(timeout=5)
