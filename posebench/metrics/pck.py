"""PCK family: PCK under a bbox, head or torso normaliser, MPII PCKh, PCK curves and their AUC.

A joint is *correct* when its normalised error ``‖pred − gt‖ / norm`` is within ``alpha``. Every
function here is pure (inputs are never written to), vectorised over samples, and returns NaN
where a value is undefined (a joint with no evaluable instance, a sample with no evaluable joint).

Threshold comparison, ``compare``:
    ``"<="`` (default) counts an error exactly at the threshold as correct. This is what the
    official MPII toolkit (``evalMPII``/``computePCK.m``: ``dist <= range(k)``) and HRNet's python
    ``mpii.py`` do. ``"<"`` is bearpaw's ``eval_PCKh.m`` / ``eval_PCKh.py`` and mmpose's
    ``keypoint_pck_accuracy``. The two agree on every published MPII file in the test data at
    threshold 0.5; they differ only on exact ties (e.g. a perfect prediction at threshold 0).

Evaluable joints: ``visible`` is true, the ground truth is finite, and the sample's normaliser is
finite and > 0. A sample whose normaliser is 0 (a degenerate torso or head box) is left out as
undefined; the reference scripts (MPII toolkit, HRNet, bearpaw/eval_pose) divide by it and so
count its joints as misses, even for a perfect prediction (tested in
``tests/test_lsp_protocol.py``). A non-finite prediction (NaN for "not predicted") is evaluable
and counts as a miss, as in the official MPII toolkit (``pred(isnan(pred)) = inf``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from posebench.skeletons import MPII16, Skeleton

if TYPE_CHECKING:
    from posebench.metrics.bootstrap import BootstrapCI

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

Compare = Literal["<=", "<"]
Normaliser = Literal["bbox", "bbox_diagonal", "head_box", "head_segment", "torso"]

#: MPII head-size factor: head size = SC_BIAS x head-box diagonal (``util_get_head_size.m``).
MPII_SC_BIAS = 0.6
#: The PCKh threshold of the MPII tables.
MPII_THRESHOLD = 0.5
#: The curve of the MPII toolkit, MATLAB ``0:0.01:0.5`` (51 thresholds). Written as ``i / 100``,
#: the float nearest each decimal, rather than the accumulated ``arange`` steps.
MPII_CURVE_THRESHOLDS: FloatArray = np.arange(51, dtype=np.float64) / 100.0
#: Keys of :func:`mpii_pckh`, in table order (what ``posebench score --metric pckh`` prints).
#: Two means, named so that neither can be mistaken for the other: ``Mean_joint_avg`` (the plain
#: mean of the 14 per-joint values, the "Mean" of the published MPII tables: bearpaw's
#: ``eval_PCKh.m``, the hourglass and most paper rows) comes first, right after the columns it
#: averages; ``Mean_pooled`` (correct / labelled over the same 14 joints, count-weighted: the
#: "Mean" HRNet's ``mpii.py`` and mmpose print, the official toolkit's "Total") after it.
PCKH_TABLE_KEYS = (
    "Head",
    "Shoulder",
    "Elbow",
    "Wrist",
    "Hip",
    "Knee",
    "Ankle",
    "Mean_joint_avg",
    "Mean_pooled",
    "Mean_pooled@0.1",
)

# Table columns made of a left/right pair of joints (canonical names).
_PAIRED_COLUMNS = {
    "Shoulder": ("left_shoulder", "right_shoulder"),
    "Elbow": ("left_elbow", "right_elbow"),
    "Wrist": ("left_wrist", "right_wrist"),
    "Hip": ("left_hip", "right_hip"),
    "Knee": ("left_knee", "right_knee"),
    "Ankle": ("left_ankle", "right_ankle"),
}
# Joints every MPII "Mean" leaves out (HRNet masks indices 6:8; bearpaw averages [1:6, 9:16]).
_MPII_NOT_IN_MEAN = ("pelvis", "thorax")


@dataclass(frozen=True, eq=False)
class PCKResult:
    """Outcome of :func:`pck` at one threshold; rates are fractions in [0, 1].

    Attributes:
        correct: (N, K) bool, evaluable and within the threshold.
        evaluable: (N, K) bool, counted in the denominators.
        joint_count: (K,) int64 evaluable instances per joint.
        per_joint: (K,) float64 correct / evaluable per joint; NaN where none is evaluable.
        per_sample: (N,) float64 correct / evaluable per sample; NaN where none is evaluable.
        overall: pooled over all evaluable joints (count-weighted); NaN when there is none.
    """

    correct: BoolArray
    evaluable: BoolArray
    joint_count: IntArray
    per_joint: FloatArray
    per_sample: FloatArray
    overall: float


@dataclass(frozen=True, eq=False)
class PCKCurve:
    """PCK as a function of the threshold.

    Attributes:
        thresholds: (T,) float64 normalised-distance thresholds, increasing.
        per_joint: (T, K) float64 rate per joint at each threshold; NaN where none is evaluable.
        overall: (T,) float64 rate pooled (count-weighted) over the selected joints.
        joint_count: (K,) int64 evaluable instances per joint.
        auc: area under ``overall`` with the thresholds rescaled to [0, 1] (see :func:`auc`).
        percent: whether rates are in percent (MPII functions) rather than fractions.
    """

    thresholds: FloatArray
    per_joint: FloatArray
    overall: FloatArray
    joint_count: IntArray
    auc: float
    percent: bool = False


# ----------------------------------------------------------------------------- input checks


def _check_compare(compare: str) -> None:
    if compare not in ("<=", "<"):
        raise ValueError(f"compare must be '<=' or '<', got {compare!r}")


def _check_inputs(
    pred: npt.ArrayLike, gt: npt.ArrayLike, visible: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, BoolArray]:
    p = np.asarray(pred, dtype=np.float64)
    g = np.asarray(gt, dtype=np.float64)
    v = np.asarray(visible)
    if g.ndim != 3:
        raise ValueError(f"gt must be (N, K, D), got shape {g.shape}")
    if p.shape != g.shape:
        raise ValueError(f"pred has shape {p.shape}, gt has {g.shape}; they must match")
    if v.shape != g.shape[:2]:
        raise ValueError(f"visible must be (N, K) = {g.shape[:2]}, got {v.shape}")
    if v.dtype != np.bool_:
        v = v > 0
    return p, g, v


def _check_norm(norm: npt.ArrayLike, n: int) -> FloatArray:
    s = np.asarray(norm, dtype=np.float64)
    if s.shape != (n,):
        raise ValueError(f"norm must be (N,) = ({n},), got {s.shape}")
    return s


def _safe_rate(num: npt.ArrayLike, den: npt.ArrayLike) -> FloatArray:
    """num / den as float64 with NaN where den == 0 (no warnings)."""
    a = np.asarray(num, dtype=np.float64)
    b = np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast(a, b).shape, np.nan)
    np.divide(a, b, out=out, where=b > 0)
    return out


# ----------------------------------------------------------------------------- core


def normalized_errors(
    pred: npt.ArrayLike, gt: npt.ArrayLike, visible: npt.ArrayLike, norm: npt.ArrayLike
) -> tuple[FloatArray, BoolArray]:
    """Per-joint errors divided by the per-sample normaliser.

    Args:
        pred, gt: (N, K, D) coordinates (D = 2 in pixels; any D works).
        visible: (N, K) bool (or 0/1) ground-truth joints to evaluate.
        norm: (N,) per-sample normaliser (head size, bbox size, torso diameter, ...).

    Returns:
        (errors, evaluable): (N, K) float64 ``‖pred − gt‖ / norm`` (NaN where the prediction is
        not finite or the sample is not evaluable) and the (N, K) bool evaluable mask.
    """
    p, g, v = _check_inputs(pred, gt, visible)
    s = _check_norm(norm, g.shape[0])
    norm_ok = np.isfinite(s) & (s > 0)
    evaluable = v & np.isfinite(g).all(axis=-1) & norm_ok[:, None]
    # Same operations, in the same order, as HRNet's mpii.py (norm over the coordinate axis, then
    # one division), so that threshold decisions are bit-identical to it.
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        err = np.linalg.norm(p - g, axis=-1) / np.where(norm_ok, s, np.nan)[:, None]
    err = np.where(evaluable, err, np.nan)
    return err, evaluable


def _within(err: FloatArray, alpha: float, compare: Compare) -> BoolArray:
    with np.errstate(invalid="ignore"):
        out: BoolArray = err <= alpha if compare == "<=" else err < alpha
    return out  # NaN compares False: a missing prediction is a miss


def pck_from_errors(
    errors: npt.ArrayLike, evaluable: npt.ArrayLike, alpha: float, *, compare: Compare = "<="
) -> PCKResult:
    """PCK from precomputed normalised errors (N, K) and evaluable mask (N, K)."""
    _check_compare(compare)
    e = np.asarray(errors, dtype=np.float64)
    ev = np.asarray(evaluable, dtype=bool)
    if e.ndim != 2 or ev.shape != e.shape:
        raise ValueError(f"errors and evaluable must both be (N, K), got {e.shape}, {ev.shape}")
    correct = _within(e, float(alpha), compare) & ev
    count = ev.sum(axis=0, dtype=np.int64)
    total = int(count.sum())
    return PCKResult(
        correct=correct,
        evaluable=ev,
        joint_count=count,
        per_joint=_safe_rate(correct.sum(axis=0), count),
        per_sample=_safe_rate(correct.sum(axis=1), ev.sum(axis=1)),
        overall=float(correct.sum()) / total if total else float("nan"),
    )


def pck(
    pred: npt.ArrayLike,
    gt: npt.ArrayLike,
    visible: npt.ArrayLike,
    norm: npt.ArrayLike,
    alpha: float = 0.5,
    *,
    compare: Compare = "<=",
) -> PCKResult:
    """Percentage of correct keypoints with a per-sample normaliser.

    Args:
        pred, gt: (N, K, 2) predicted and ground-truth coordinates (pixels).
        visible: (N, K) bool ground-truth joints to evaluate.
        norm: (N,) normaliser per sample, e.g. from :func:`normaliser`.
        alpha: threshold on ``‖pred − gt‖ / norm``.
        compare: ``"<="`` (default, MPII toolkit, HRNet) or ``"<"`` (bearpaw, mmpose).

    Returns:
        :class:`PCKResult` with per-joint (K,) and per-sample (N,) rates in [0, 1].

    >>> import numpy as np
    >>> gt = np.zeros((1, 2, 2)); pred = np.array([[[3.0, 4.0], [30.0, 40.0]]])
    >>> r = pck(pred, gt, np.ones((1, 2), bool), np.array([10.0]), alpha=0.5)
    >>> r.per_joint.tolist(), r.overall
    ([1.0, 0.0], 0.5)
    """
    err, ev = normalized_errors(pred, gt, visible, norm)
    return pck_from_errors(err, ev, alpha, compare=compare)


def _counts_at(errors: FloatArray, thresholds: FloatArray, compare: Compare) -> IntArray:
    """(T, K) number of errors within each threshold; NaN errors never count."""
    side: Literal["left", "right"] = "right" if compare == "<=" else "left"
    srt = np.sort(np.where(np.isnan(errors), np.inf, errors), axis=0)
    return np.stack(
        [np.searchsorted(srt[:, k], thresholds, side=side) for k in range(srt.shape[1])],
        axis=1,
    ).astype(np.int64)


def auc(thresholds: npt.ArrayLike, values: npt.ArrayLike) -> float:
    """Area under a PCK curve with the thresholds rescaled to [0, 1] (trapezoids).

    This is the official MPII toolkit's ``area_under_curve(scale01(range), pck)``: the integral
    of the piecewise-linear curve over the normalised threshold axis, so the AUC is in the units
    of ``values`` (a curve at 100 % everywhere has AUC 100). NaN with fewer than two distinct
    thresholds or a NaN value.

    Args:
        thresholds: (T,) increasing thresholds.
        values: (T,) rates at those thresholds.
    """
    t = np.asarray(thresholds, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    if t.ndim != 1 or y.shape != t.shape:
        raise ValueError(f"thresholds and values must be (T,), got {t.shape}, {y.shape}")
    if t.size < 2 or not t[-1] > t[0] or np.isnan(y).any():
        return float("nan")
    x = (t - t[0]) / (t[-1] - t[0])
    return float(np.sum((y[1:] + y[:-1]) * 0.5 * np.diff(x)))


def pck_curve_from_errors(
    errors: npt.ArrayLike,
    evaluable: npt.ArrayLike,
    thresholds: npt.ArrayLike,
    *,
    joints: Sequence[int] | None = None,
    compare: Compare = "<=",
    percent: bool = False,
) -> PCKCurve:
    """PCK at every threshold from precomputed errors (N, K) and evaluable mask (N, K).

    Args:
        joints: indices pooled into ``overall`` (default: all K).
        percent: report rates in percent instead of fractions.
    """
    _check_compare(compare)
    e = np.asarray(errors, dtype=np.float64)
    ev = np.asarray(evaluable, dtype=bool)
    t = np.asarray(thresholds, dtype=np.float64)
    if e.ndim != 2 or ev.shape != e.shape:
        raise ValueError(f"errors and evaluable must both be (N, K), got {e.shape}, {ev.shape}")
    if t.ndim != 1 or t.size == 0 or not np.isfinite(t).all() or (np.diff(t) <= 0).any():
        raise ValueError("thresholds must be a non-empty, finite, strictly increasing (T,) array")
    hits = _counts_at(np.where(ev, e, np.nan), t, compare)
    count = ev.sum(axis=0, dtype=np.int64)
    sel = np.arange(e.shape[1]) if joints is None else np.asarray(joints, dtype=np.int64)
    scale = 100.0 if percent else 1.0
    overall = scale * _safe_rate(hits[:, sel].sum(axis=1), np.full(t.size, count[sel].sum()))
    return PCKCurve(
        thresholds=t.copy(),
        per_joint=scale * _safe_rate(hits, count[None, :]),
        overall=overall,
        joint_count=count,
        auc=auc(t, overall),
        percent=percent,
    )


def pck_curve(
    pred: npt.ArrayLike,
    gt: npt.ArrayLike,
    visible: npt.ArrayLike,
    norm: npt.ArrayLike,
    thresholds: npt.ArrayLike = MPII_CURVE_THRESHOLDS,
    *,
    joints: Sequence[int] | None = None,
    compare: Compare = "<=",
) -> PCKCurve:
    """PCK at every threshold, per joint and pooled, with its AUC; rates in [0, 1].

    Args:
        pred, gt: (N, K, 2) coordinates; visible: (N, K) bool; norm: (N,) normaliser.
        thresholds: (T,) strictly increasing thresholds (default 0, 0.01, ..., 0.5).
        joints: joint indices pooled into ``overall`` and the AUC (default: all).
        compare: ``"<="`` or ``"<"`` (see the module docstring).
    """
    err, ev = normalized_errors(pred, gt, visible, norm)
    return pck_curve_from_errors(err, ev, thresholds, joints=joints, compare=compare)


# ----------------------------------------------------------------------------- normalisers


def bbox_size(bbox: npt.ArrayLike, mode: Literal["max", "diagonal"] = "max") -> FloatArray:
    """(N,) size of ``[x, y, w, h]`` boxes (N, 4).

    ``"max"`` (default) is ``max(w, h)``, mmpose's ``PCKAccuracy(norm_item='bbox')``;
    ``"diagonal"`` is ``sqrt(w² + h²)``. NaN rows stay NaN (and make the sample not evaluable).
    """
    b = np.asarray(bbox, dtype=np.float64)
    if b.ndim != 2 or b.shape[1] != 4:
        raise ValueError(f"bbox must be (N, 4) [x, y, w, h], got {b.shape}")
    if mode == "max":
        return np.maximum(b[:, 2], b[:, 3])
    if mode == "diagonal":
        return np.hypot(b[:, 2], b[:, 3])
    raise ValueError(f"mode must be 'max' or 'diagonal', got {mode!r}")


def head_box_size(headboxes: npt.ArrayLike, sc_bias: float = MPII_SC_BIAS) -> FloatArray:
    """(N,) MPII head size: ``sc_bias × ‖corner₁ − corner₀‖`` of (N, 2, 2) head boxes.

    ``headboxes[n]`` is ``[[x1, y1], [x2, y2]]`` (MPII ``headboxes_src`` transposed to N first).
    """
    h = np.asarray(headboxes, dtype=np.float64)
    if h.ndim != 3 or h.shape[1:] != (2, 2):
        raise ValueError(f"headboxes must be (N, 2, 2) [[x1, y1], [x2, y2]], got {h.shape}")
    # HRNet: np.linalg.norm(headboxes_src[1] - headboxes_src[0], axis=0) * SC_BIAS.
    size: FloatArray = np.linalg.norm(h[:, 1, :] - h[:, 0, :], axis=-1)
    return size * sc_bias


def segment_length(
    keypoints: npt.ArrayLike, visible: npt.ArrayLike, pair: tuple[int, int]
) -> FloatArray:
    """(N,) distance between two ground-truth joints (N, K, D); NaN where either is not visible."""
    k = np.asarray(keypoints, dtype=np.float64)
    v = np.asarray(visible)
    if k.ndim != 3 or v.shape != k.shape[:2]:
        raise ValueError(
            f"keypoints (N, K, D) and visible (N, K) expected, got {k.shape}, {v.shape}"
        )
    a, b = pair
    ok = (v[:, a] > 0) & (v[:, b] > 0)
    d: FloatArray = np.linalg.norm(k[:, a, :] - k[:, b, :], axis=-1)
    return np.where(ok, d, np.nan)


def torso_size(keypoints: npt.ArrayLike, visible: npt.ArrayLike, skeleton: Skeleton) -> FloatArray:
    """(N,) torso diameter: distance of the ``skeleton.torso`` pair (PDJ, PCK@torso)."""
    if skeleton.torso is None:
        raise ValueError(f"skeleton {skeleton.name!r} defines no torso pair")
    return segment_length(keypoints, visible, skeleton.torso)


def head_segment_size(
    keypoints: npt.ArrayLike, visible: npt.ArrayLike, skeleton: Skeleton
) -> FloatArray:
    """(N,) head segment length: distance of the ``skeleton.head`` pair (PCK@head, no box)."""
    if skeleton.head is None:
        raise ValueError(f"skeleton {skeleton.name!r} defines no head pair")
    return segment_length(keypoints, visible, skeleton.head)


def normaliser(
    kind: Normaliser,
    gt: npt.ArrayLike,
    visible: npt.ArrayLike,
    skeleton: Skeleton,
    *,
    bbox: npt.ArrayLike | None = None,
    headboxes: npt.ArrayLike | None = None,
) -> FloatArray:
    """(N,) normaliser of the named kind for ground truth (N, K, 2).

    ``bbox`` max(w, h) of ``bbox`` (N, 4); ``bbox_diagonal`` its diagonal; ``head_box`` the MPII
    head size of ``headboxes`` (N, 2, 2); ``head_segment`` the ``skeleton.head`` pair length;
    ``torso`` the ``skeleton.torso`` pair length.
    """
    if kind in ("bbox", "bbox_diagonal"):
        if bbox is None:
            raise ValueError(f"normaliser {kind!r} needs bbox (N, 4)")
        return bbox_size(bbox, "max" if kind == "bbox" else "diagonal")
    if kind == "head_box":
        if headboxes is None:
            raise ValueError("normaliser 'head_box' needs headboxes (N, 2, 2)")
        return head_box_size(headboxes)
    if kind == "head_segment":
        return head_segment_size(gt, visible, skeleton)
    if kind == "torso":
        return torso_size(gt, visible, skeleton)
    raise ValueError(
        f"unknown normaliser {kind!r}; known: bbox, bbox_diagonal, head_box, head_segment, torso"
    )


# ----------------------------------------------------------------------------- MPII PCKh


def _mpii_indices(skeleton: Skeleton) -> tuple[dict[str, int], IntArray]:
    names = ("head_top", "neck", *(n for pair in _PAIRED_COLUMNS.values() for n in pair))
    missing = [n for n in names if n not in skeleton.keypoints]
    if missing:
        raise ValueError(f"skeleton {skeleton.name!r} lacks joints {missing} needed for PCKh")
    idx = {n: skeleton.index(n) for n in names}
    in_mean = np.array(
        [i for i, n in enumerate(skeleton.keypoints) if n not in _MPII_NOT_IN_MEAN],
        dtype=np.int64,
    )
    return idx, in_mean


def _mpii_check(gt: npt.ArrayLike, skeleton: Skeleton) -> None:
    k = np.asarray(gt).shape
    if len(k) != 3 or k[1] != skeleton.num_keypoints:
        raise ValueError(
            f"gt must be (N, {skeleton.num_keypoints}, 2) for {skeleton.name}, got {k}"
        )


def mpii_pckh_curve(
    pred: npt.ArrayLike,
    gt: npt.ArrayLike,
    visible: npt.ArrayLike,
    headboxes: npt.ArrayLike,
    *,
    skeleton: Skeleton = MPII16,
    thresholds: npt.ArrayLike = MPII_CURVE_THRESHOLDS,
    compare: Compare = "<=",
) -> PCKCurve:
    """MPII PCKh curve over ``0:0.01:0.5`` and its AUC, in percent.

    ``overall`` (and the AUC) pool the joints other than pelvis and thorax, count-weighted
    (``Mean_pooled`` of :func:`mpii_pckh`): the official toolkit's "total" column, the curve its
    ``evaluatePCKh.m`` integrates.

    Args:
        pred, gt: (N, 16, 2) in the joint order of ``skeleton`` (MPII16 by default).
        visible: (N, 16) bool, ``jnt_missing == 0``.
        headboxes: (N, 2, 2) head boxes ``[[x1, y1], [x2, y2]]``.
    """
    _mpii_check(gt, skeleton)
    _, in_mean = _mpii_indices(skeleton)
    err, ev = normalized_errors(pred, gt, visible, head_box_size(headboxes))
    return pck_curve_from_errors(
        err, ev, thresholds, joints=in_mean.tolist(), compare=compare, percent=True
    )


def mpii_pckh_per_joint(
    pred: npt.ArrayLike,
    gt: npt.ArrayLike,
    visible: npt.ArrayLike,
    headboxes: npt.ArrayLike,
    *,
    threshold: float = MPII_THRESHOLD,
    compare: Compare = "<=",
) -> PCKResult:
    """PCKh per joint at one threshold (rates in [0, 1]); inputs as :func:`mpii_pckh`."""
    return pck(pred, gt, visible, head_box_size(headboxes), threshold, compare=compare)


def mpii_pckh(
    pred: npt.ArrayLike,
    gt: npt.ArrayLike,
    visible: npt.ArrayLike,
    headboxes: npt.ArrayLike,
    *,
    skeleton: Skeleton = MPII16,
    threshold: float = MPII_THRESHOLD,
    low_threshold: float = 0.1,
    compare: Compare = "<=",
    head: Literal["head_top", "head_neck_mean"] = "head_top",
    combine: Literal["mean", "pooled"] = "mean",
) -> dict[str, float]:
    """The MPII PCKh table, in percent, with exactly the keys of :data:`PCKH_TABLE_KEYS`.

    Head size is ``0.6 × ‖headbox[1] − headbox[0]‖``; joints with ``jnt_missing == 1`` (not
    ``visible``) are skipped.

    Columns:
        Head: PCKh of the head top (``head="head_top"``, the default): what bearpaw's
            ``eval_PCKh.m``/``.py``, HRNet's ``mpii.py`` and mmpose's ``MpiiPCKAccuracy`` print,
            and what reproduces the published hourglass tables. ``head="head_neck_mean"`` gives
            the official MPII toolkit's ``genTablePCK.m`` column, the mean of upper neck and
            head top.
        Shoulder ... Ankle: left and right combined; ``combine="mean"`` (default) is the plain
            mean of the two per-joint values as all the reference scripts do; ``"pooled"`` weights
            them by their visible counts. The same rule combines neck and head top.
        Mean_joint_avg: plain (unweighted) mean of the 14 per-joint values of all joints but
            pelvis and thorax (bearpaw's ``mean(PCKh([1:6, 9:16]))``): the "Mean" of the
            published MPII tables (e.g. the 2-stack hourglass row's 86.76). Upper neck is one of
            the 14, so this is not the mean of the 7 columns printed beside it.
        Mean_pooled: correct / labelled over the same 14 joints, count-weighted (HRNet's and
            mmpose's ``Mean``/``PCKh``, and the official toolkit's ``Total``; 87.30 for that row).
        Mean_pooled@0.1: ``Mean_pooled`` at ``low_threshold`` (0.1, as mmpose's ``pckAll[10]``).
            HRNet prints ``pckAll[11]`` of ``arange(0, 0.51, 0.01)``, i.e. threshold 0.11, as
            ``Mean@0.1``; pass ``low_threshold=0.11`` to reproduce HRNet's number.

    Args:
        pred, gt: (N, K, 2) coordinates in ``skeleton`` order (MPII16 by default: predictions in
            the same pixel convention as the ground truth, 1-based for the official ``.mat``).
        visible: (N, K) bool.
        headboxes: (N, 2, 2) head boxes.
        skeleton: joint layout; columns are found by canonical joint name, so any joint order
            with the MPII names gives the same table.
        threshold: PCKh threshold (0.5).
        compare: ``"<="`` (MPII toolkit, HRNet) or ``"<"`` (bearpaw MATLAB, mmpose).

    Undefined columns (no visible instance) are NaN.
    """
    _check_compare(compare)
    if head not in ("head_top", "head_neck_mean"):
        raise ValueError(f"head must be 'head_top' or 'head_neck_mean', got {head!r}")
    if combine not in ("mean", "pooled"):
        raise ValueError(f"combine must be 'mean' or 'pooled', got {combine!r}")
    _mpii_check(gt, skeleton)
    idx, in_mean = _mpii_indices(skeleton)
    err, ev = normalized_errors(pred, gt, visible, head_box_size(headboxes))
    at = pck_from_errors(err, ev, threshold, compare=compare)
    low = pck_from_errors(err, ev, low_threshold, compare=compare)
    hits = at.correct.sum(axis=0)
    count = at.joint_count
    per_joint = 100.0 * at.per_joint

    def pair(a: str, b: str) -> float:
        i, j = idx[a], idx[b]
        if combine == "mean":
            return float(0.5 * (per_joint[i] + per_joint[j]))
        return float(100.0 * _safe_rate(hits[i] + hits[j], count[i] + count[j]))

    table = {
        "Head": float(per_joint[idx["head_top"]])
        if head == "head_top"
        else pair("neck", "head_top"),
        **{col: pair(a, b) for col, (a, b) in _PAIRED_COLUMNS.items()},
        "Mean_joint_avg": float(np.mean(per_joint[in_mean])),
        "Mean_pooled": float(100.0 * _safe_rate(hits[in_mean].sum(), count[in_mean].sum())),
        "Mean_pooled@0.1": float(
            100.0 * _safe_rate(low.correct.sum(axis=0)[in_mean].sum(), count[in_mean].sum())
        ),
    }
    return {k: table[k] for k in PCKH_TABLE_KEYS}


# ----------------------------------------------------------------------------- the two means


def mean_joints(skeleton: Skeleton) -> IntArray:
    """(J,) indices of the joints the MPII means average: all but pelvis and thorax."""
    return np.array(
        [i for i, n in enumerate(skeleton.keypoints) if n not in _MPII_NOT_IN_MEAN], dtype=np.int64
    )


def joint_average(correct: npt.ArrayLike, evaluable: npt.ArrayLike, joints: npt.ArrayLike) -> float:
    """Plain mean over ``joints`` of the per-joint rates ``sum correct / sum evaluable``.

    Args:
        correct, evaluable: (N, K) bool. joints: (J,) indices.

    Returns:
        A fraction; NaN when one of the joints has no evaluable instance (as the published
        means, which are undefined then).
    """
    c = np.asarray(correct, dtype=bool)[:, np.asarray(joints, dtype=np.int64)]
    e = np.asarray(evaluable, dtype=bool)[:, np.asarray(joints, dtype=np.int64)]
    return float(np.mean(_safe_rate(c.sum(axis=0), e.sum(axis=0))))


def bootstrap_joint_average(
    correct: npt.ArrayLike,
    evaluable: npt.ArrayLike,
    joints: npt.ArrayLike,
    *,
    n_boot: int,
    seed: int = 0,
    confidence: float = 0.95,
) -> BootstrapCI:
    """Bootstrap CI (over samples) of :func:`joint_average`, a fraction.

    Samples are drawn with replacement as :func:`posebench.metrics.bootstrap.bootstrap_ratio`
    draws them (the same resamples for the same ``n_boot``/``seed``; samples with no evaluable
    joint among ``joints`` are no unit), and each replicate recomputes every joint's rate.
    """
    from posebench.metrics.bootstrap import _summary, resample_counts

    j = np.asarray(joints, dtype=np.int64)
    c = np.asarray(correct, dtype=bool)[:, j]
    e = np.asarray(evaluable, dtype=bool)[:, j]
    units = e.any(axis=1)
    c, e = c[units].astype(np.float64), e[units].astype(np.float64)
    reps = np.empty(int(n_boot))
    at = 0
    for counts in resample_counts(len(c), int(n_boot), int(seed)):
        w = counts.astype(np.float64)
        rates = _safe_rate(w @ c, w @ e)  # (rows, J)
        reps[at : at + len(w)] = rates.mean(axis=1)
        at += len(w)
    return _summary(
        joint_average(c, e, np.arange(len(j))), reps, int(n_boot), int(seed), confidence
    )


# ----------------------------------------------------------------------------- symmetric columns

#: Columns of the LSP/FLIC PCK and PDJ tables (bearpaw/eval_pose ``eval_pck.m``/``eval_pdj.m``):
#: a joint and its symmetric one averaged; "Head" averages neck and head top.
SYMMETRIC_COLUMNS: tuple[tuple[str, tuple[str, str]], ...] = (
    ("Ankle", ("right_ankle", "left_ankle")),
    ("Knee", ("right_knee", "left_knee")),
    ("Hip", ("right_hip", "left_hip")),
    ("Wrist", ("right_wrist", "left_wrist")),
    ("Elbow", ("right_elbow", "left_elbow")),
    ("Shoulder", ("right_shoulder", "left_shoulder")),
    ("Head", ("neck", "head_top")),
)


def symmetric_columns(per_joint: npt.ArrayLike, skeleton: Skeleton) -> dict[str, float]:
    """Per-joint rates (K,) combined into the LSP table columns: for each column the plain mean
    of its two joints' values, as ``eval_pck.m`` computes ``(pck + pck(symmetry_joint_id)) / 2``
    (columns whose joints the skeleton lacks are left out)."""
    v = np.asarray(per_joint, dtype=np.float64)
    if v.shape != (skeleton.num_keypoints,):
        raise ValueError(f"per_joint must be ({skeleton.num_keypoints},), got {v.shape}")
    names = set(skeleton.keypoints)
    return {
        col: float((v[skeleton.index(a)] + v[skeleton.index(b)]) / 2)
        for col, (a, b) in SYMMETRIC_COLUMNS
        if a in names and b in names
    }


def hundredths(upto: float) -> FloatArray | None:
    """Thresholds ``0:0.01:upto`` (as ``i / 100``) when ``upto`` is a positive multiple of 0.01,
    else None."""
    n = round(upto * 100)
    if n < 1 or abs(n - upto * 100) > 1e-9:
        return None
    return np.arange(n + 1, dtype=np.float64) / 100.0
