"""Signatures: a short string saying what a number means, so that only like is compared to like.

``oks|mode:coco|sigmas:coco17|scale:area|maxdets:20|gtid0:match|v:0.1.0`` — a metric name, then
``key:value`` parts in a fixed order. Two numbers are comparable only when their signatures agree
on every part but the version.
"""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt

from posebench import __version__
from posebench.skeletons import SKELETONS


def make_signature(metric: str, parts: dict[str, str]) -> str:
    """``metric|k1:v1|k2:v2|...|v:VERSION`` (parts in the given order)."""
    body = "|".join(f"{k}:{v}" for k, v in parts.items())
    return f"{metric}|{body}|v:{__version__}" if body else f"{metric}|v:{__version__}"


def parse_signature(sig: str) -> tuple[str, dict[str, str]]:
    """Inverse of :func:`make_signature`: ``(metric, parts)`` (the version is part ``v``)."""
    metric, *rest = sig.split("|")
    parts = {}
    for item in rest:
        k, _, v = item.partition(":")
        parts[k] = v
    return metric, parts


def signature_differences(a: str, b: str, *, ignore: tuple[str, ...] = ("v",)) -> list[str]:
    """Human-readable list of the parts in which two signatures differ (empty: comparable)."""
    ma, pa = parse_signature(a)
    mb, pb = parse_signature(b)
    diffs = [f"metric: {ma} vs {mb}"] if ma != mb else []
    for k in dict.fromkeys([*pa, *pb]):
        if k in ignore:
            continue
        if pa.get(k) != pb.get(k):
            diffs.append(f"{k}: {pa.get(k, '(absent)')} vs {pb.get(k, '(absent)')}")
    return diffs


def sigmas_name(sigmas: npt.NDArray[np.float64]) -> str:
    """The built-in skeleton whose sigmas these are, else ``custom-<hash>``."""
    for sk in SKELETONS.values():
        ok = sk.sigmas is not None and len(sk.sigmas) == len(sigmas)
        if ok and np.array_equal(sk.oks_sigmas(), sigmas):
            return sk.name
    digest = hashlib.sha256(np.ascontiguousarray(sigmas, dtype=np.float64).tobytes()).hexdigest()
    return f"custom-{digest[:8]}"
