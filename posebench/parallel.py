"""How many threads posebench's compiled kernels use (results reader, matching, bootstrap).

One number for the whole process: ``POSEBENCH_THREADS`` when set (``posebench score
--threads N`` sets it), else the processors this process may run on (``os.sched_getaffinity``,
so a container's or ``taskset``'s limit is respected). Results never depend on it: every kernel
splits its work at boundaries where the pieces are independent (records, images, replicates) and
writes each piece's numbers where one thread would have (tests/test_threads.py).
"""

from __future__ import annotations

import os

from posebench.errors import InputError

#: Environment variable naming the thread count.
ENV = "POSEBENCH_THREADS"


def available_cpus() -> int:
    """The processors this process may run on (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def parse_threads(text: str, *, field: str = ENV) -> int:
    """A thread count from text: a positive integer, or 0 / ``auto`` for the available CPUs."""
    t = text.strip().lower()
    if t in ("", "auto", "0"):
        return available_cpus()
    want = f"expected a positive integer or 'auto', got {text!r}"
    try:
        n = int(t)
    except ValueError:
        raise InputError(want, field=field) from None
    if n < 0:
        raise InputError(want, field=field)
    return min(n, 256)


def threads() -> int:
    """Threads to use: ``POSEBENCH_THREADS`` if set, else :func:`available_cpus`."""
    env = os.environ.get(ENV)
    return available_cpus() if env is None else parse_threads(env)
