"""Small array helpers for the scoring path.

:func:`unique` is ``np.unique(a)`` for 1-D arrays without its import cost: numpy 2's
``np.unique`` imports ``numpy.ma`` on its first call (about 35 ms, a twentieth of a COCO-size
``posebench score`` run), which the scoring path has no other use for.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def unique(a: npt.ArrayLike) -> np.ndarray:
    """The sorted distinct values of ``a`` (flattened), as ``np.unique(a)``: one NaN kept, last.

    >>> unique([3, 1, 3, 2]).tolist()
    [1, 2, 3]
    >>> unique([2.0, float("nan"), 1.0, float("nan")]).tolist()
    [1.0, 2.0, nan]
    """
    s = np.sort(np.asarray(a).ravel())
    if s.size == 0:
        return s
    keep = np.empty(s.shape, bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    if s.dtype.kind == "f" and np.isnan(s[-1]):  # NaNs sort last; np.unique keeps one
        first = int(np.argmax(np.isnan(s)))
        keep[first] = True
        keep[first + 1 :] = False
    return s[keep]


def isin(a: npt.ArrayLike, b: npt.ArrayLike) -> np.ndarray:
    """``np.isin(a, b)`` (same shape as ``a``, bool) by a binary search in ``unique(b)``.

    >>> isin([1, 5, 2], [2, 3, 1]).tolist()
    [True, False, True]
    """
    a = np.asarray(a)
    table = unique(b)
    if table.size == 0:
        return np.zeros(a.shape, bool)
    at = np.minimum(np.searchsorted(table, a), table.size - 1)
    out: np.ndarray = table[at] == a
    return out
