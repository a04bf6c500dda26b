"""PCP (percentage of correct parts) and PDJ (percentage of detected joints).

PCP scores limbs (sticks) rather than joints. For a limb with ground-truth endpoints ``a, b``
and length ``L = ‖gt_a − gt_b‖``, with endpoint errors ``e_a, e_b``:

* strict PCP (Ferrari et al. 2008; the LSP/Buffy protocol): correct when **both** ``e_a`` and
  ``e_b`` are within ``alpha × L`` (alpha 0.5);
* loose PCP: correct when the **mean** ``(e_a + e_b) / 2`` is within ``alpha × L``, the looser
  reading used by some papers and pointed out by Pishchulin et al. (CVPR'13).

A limb is evaluable when both of its ground-truth endpoints are visible and finite. Comparison
is ``<=`` by default (Eichner's/Buffy ``EvalStickmen``), ``"<"`` on request.

PDJ (Toshev & Szegedy, DeepPose) is PCK normalised by the torso diameter (the ``skeleton.torso``
pair, left shoulder to right hip in the built-in skeletons), reported as a curve over fractions.

Rates are fractions in [0, 1]; NaN where undefined. Functions never write to their inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from posebench.metrics.pck import (
    Compare,
    PCKCurve,
    _check_compare,
    _check_inputs,
    _safe_rate,
    pck_curve,
    torso_size,
)
from posebench.skeletons import Skeleton

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Default PDJ fractions of the torso diameter: 0, 0.01, ..., 0.5.
PDJ_FRACTIONS: FloatArray = np.arange(51, dtype=np.float64) / 100.0

# Body-part columns of a PCP table: a limb belongs to a column when both endpoint names are in
# the column's name set (first match wins). Limbs in no column count only towards "Total".
_HEAD = frozenset({"neck", "head_top", "head", "nose"})
_TORSO = frozenset(
    {"neck", "thorax", "pelvis", "spine", "spine1", "spine2", "spine3"}
    | {f"{s}_{j}" for s in ("left", "right") for j in ("shoulder", "hip")}
)
_PCP_COLUMNS: tuple[tuple[str, tuple[frozenset[str], ...]], ...] = (
    ("Torso", (_TORSO,)),
    ("Upper Leg", (frozenset({"left_hip", "left_knee"}), frozenset({"right_hip", "right_knee"}))),
    (
        "Lower Leg",
        (frozenset({"left_knee", "left_ankle"}), frozenset({"right_knee", "right_ankle"})),
    ),
    (
        "Upper Arm",
        (
            frozenset({"left_shoulder", "left_elbow"}),
            frozenset({"right_shoulder", "right_elbow"}),
        ),
    ),
    (
        "Forearm",
        (frozenset({"left_elbow", "left_wrist"}), frozenset({"right_elbow", "right_wrist"})),
    ),
    ("Head", (_HEAD,)),
)


@dataclass(frozen=True, eq=False)
class PCPResult:
    """Outcome of :func:`pcp`.

    Attributes:
        limbs: the L (a, b) joint index pairs scored.
        names: L limb names ``"a_name-b_name"``.
        correct: (N, L) bool, evaluable and correct.
        evaluable: (N, L) bool, both ground-truth endpoints visible.
        limb_count: (L,) int64 evaluable instances per limb.
        per_limb: (L,) float64 rate per limb; NaN where none is evaluable.
        per_sample: (N,) float64 rate per sample; NaN where none is evaluable.
        overall: pooled over all evaluable limbs; NaN when there is none.
    """

    limbs: tuple[tuple[int, int], ...]
    names: tuple[str, ...]
    correct: BoolArray
    evaluable: BoolArray
    limb_count: IntArray
    per_limb: FloatArray
    per_sample: FloatArray
    overall: float


def limb_errors(
    pred: npt.ArrayLike, gt: npt.ArrayLike, limbs: Sequence[tuple[int, int]]
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Endpoint errors and ground-truth lengths of limbs.

    Args:
        pred, gt: (N, K, 2) coordinates.
        limbs: L (a, b) joint index pairs.

    Returns:
        (err_a, err_b, length): three (N, L) float64 arrays, ``‖pred_a − gt_a‖``,
        ``‖pred_b − gt_b‖`` and ``‖gt_a − gt_b‖``.
    """
    p = np.asarray(pred, dtype=np.float64)
    g = np.asarray(gt, dtype=np.float64)
    lb = np.asarray(limbs, dtype=np.int64).reshape(-1, 2)
    a, b = lb[:, 0], lb[:, 1]
    err_a: FloatArray = np.linalg.norm(p[:, a] - g[:, a], axis=-1)
    err_b: FloatArray = np.linalg.norm(p[:, b] - g[:, b], axis=-1)
    length: FloatArray = np.linalg.norm(g[:, a] - g[:, b], axis=-1)
    return err_a, err_b, length


def pcp(
    pred: npt.ArrayLike,
    gt: npt.ArrayLike,
    visible: npt.ArrayLike,
    skeleton: Skeleton,
    *,
    alpha: float = 0.5,
    mode: Literal["strict", "loose"] = "strict",
    compare: Compare = "<=",
    limbs: Sequence[tuple[int, int]] | None = None,
) -> PCPResult:
    """Percentage of correct parts per limb and overall.

    Args:
        pred, gt: (N, K, 2) coordinates in ``skeleton`` order.
        visible: (N, K) bool ground-truth joints; a limb counts when both endpoints are visible.
            (The LSP protocol scores all 14 joints, occluded ones included: pass all True.)
        skeleton: gives the limbs (``LSP14.limbs`` are the ten classic PCP sticks) and names.
        alpha: fraction of the ground-truth limb length (0.5).
        mode: ``"strict"`` (both endpoints within) or ``"loose"`` (mean endpoint error within).
        compare: ``"<="`` (default) or ``"<"``.
        limbs: override the skeleton's limbs with L (a, b) index pairs.

    >>> import numpy as np
    >>> from posebench.skeletons import LSP14
    >>> gt = np.zeros((1, 14, 2)); gt[0, :, 0] = 10 * np.arange(14)
    >>> pcp(gt, gt, np.ones((1, 14), bool), LSP14).overall
    1.0
    """
    _check_compare(compare)
    if mode not in ("strict", "loose"):
        raise ValueError(f"mode must be 'strict' or 'loose', got {mode!r}")
    p, g, v = _check_inputs(pred, gt, visible)
    if g.shape[1] != skeleton.num_keypoints:
        raise ValueError(
            f"gt has {g.shape[1]} joints, skeleton {skeleton.name!r} has {skeleton.num_keypoints}"
        )
    lb = tuple((int(a), int(b)) for a, b in (skeleton.limbs if limbs is None else limbs))
    if not lb:
        raise ValueError(f"skeleton {skeleton.name!r} defines no limbs")
    for a, b in lb:
        if not (0 <= a < g.shape[1] and 0 <= b < g.shape[1]):
            raise ValueError(f"limb {(a, b)} outside joints 0..{g.shape[1] - 1}")
    ia = np.array([a for a, _ in lb], dtype=np.int64)
    ib = np.array([b for _, b in lb], dtype=np.int64)
    finite = np.isfinite(g).all(axis=-1) & v
    evaluable = finite[:, ia] & finite[:, ib]
    err_a, err_b, length = limb_errors(p, g, lb)
    limit = alpha * length
    with np.errstate(invalid="ignore"):
        if mode == "strict":
            ok = (
                (err_a <= limit) & (err_b <= limit)
                if compare == "<="
                else ((err_a < limit) & (err_b < limit))
            )
        else:
            mean_err = 0.5 * (err_a + err_b)
            ok = mean_err <= limit if compare == "<=" else mean_err < limit
    correct = ok & evaluable  # NaN predictions compare False: a miss
    count = evaluable.sum(axis=0, dtype=np.int64)
    total = int(count.sum())
    names = tuple(f"{skeleton.keypoints[a]}-{skeleton.keypoints[b]}" for a, b in lb)
    return PCPResult(
        limbs=lb,
        names=names,
        correct=correct,
        evaluable=evaluable,
        limb_count=count,
        per_limb=_safe_rate(correct.sum(axis=0), count),
        per_sample=_safe_rate(correct.sum(axis=1), evaluable.sum(axis=1)),
        overall=float(correct.sum()) / total if total else float("nan"),
    )


def pcp_table(result: PCPResult) -> dict[str, float]:
    """PCP by body part, in percent: Torso, Upper Leg, Lower Leg, Upper Arm, Forearm, Head, Total.

    Each column pools its limbs by count (left and right together). A limb joins the first column
    whose joint-name set holds both of its endpoints; limbs in none count only in ``Total``.
    Columns with no evaluable limb are NaN.
    """
    hits = result.correct.sum(axis=0)
    out: dict[str, float] = {}
    members = [frozenset(n.split("-", 1)) for n in result.names]
    taken = np.zeros(len(members), bool)
    for col, sets in _PCP_COLUMNS:
        sel = np.array(
            [not taken[i] and any(m <= s for s in sets) for i, m in enumerate(members)], dtype=bool
        )
        taken |= sel
        out[col] = float(100.0 * _safe_rate(hits[sel].sum(), result.limb_count[sel].sum()))
    out["Total"] = 100.0 * result.overall
    return out


def pdj(
    pred: npt.ArrayLike,
    gt: npt.ArrayLike,
    visible: npt.ArrayLike,
    skeleton: Skeleton,
    *,
    fractions: npt.ArrayLike = PDJ_FRACTIONS,
    compare: Compare = "<=",
) -> PCKCurve:
    """Percentage of detected joints at fractions of the torso diameter; rates in [0, 1].

    Args:
        pred, gt: (N, K, 2) coordinates in ``skeleton`` order.
        visible: (N, K) bool ground-truth joints to score; samples whose torso pair is not
            visible have no torso diameter and are left out.
        skeleton: gives the torso pair (``skeleton.torso``).
        fractions: (F,) strictly increasing fractions (default 0, 0.01, ..., 0.5).

    Returns:
        :class:`~posebench.metrics.pck.PCKCurve`: ``per_joint`` (F, K), ``overall`` (F,), AUC.
    """
    torso = torso_size(gt, visible, skeleton)
    return pck_curve(pred, gt, visible, torso, fractions, compare=compare)
