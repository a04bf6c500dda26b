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
from posebench.skeletons import Skeleton, Stick

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
        sticks: the L sticks scored (:class:`~posebench.skeletons.Stick`).
        names: L stick names (``"right_ankle-right_knee"``).
        correct: (N, L) bool, evaluable and correct.
        evaluable: (N, L) bool, every ground-truth joint of the stick visible and finite, and
            the ground-truth stick longer than 0.
        limb_count: (L,) int64 evaluable instances per stick.
        per_limb: (L,) float64 rate per stick; NaN where none is evaluable.
        per_sample: (N,) float64 rate per sample; NaN where none is evaluable.
        overall: pooled over all evaluable sticks; NaN when there is none.
    """

    sticks: tuple[Stick, ...]
    names: tuple[str, ...]
    correct: BoolArray
    evaluable: BoolArray
    limb_count: IntArray
    per_limb: FloatArray
    per_sample: FloatArray
    overall: float


def _endpoints(x: FloatArray, ends: Sequence[tuple[int, ...]]) -> FloatArray:
    """(N, L, D) endpoints: the mean of each endpoint's joints (sum, then one division, as
    MATLAB's ``mean`` over two joints in keypoints2sticks.m)."""
    out = np.empty((x.shape[0], len(ends), x.shape[2]))
    for i, js in enumerate(ends):
        out[:, i] = x[:, js[0]] if len(js) == 1 else x[:, list(js)].sum(axis=1) / len(js)
    return out


def limb_errors(
    pred: npt.ArrayLike,
    gt: npt.ArrayLike,
    limbs: Sequence[tuple[int, int]] | Sequence[Stick],
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Endpoint errors and ground-truth lengths of sticks.

    Args:
        pred, gt: (N, K, 2) coordinates.
        limbs: L (a, b) joint index pairs, or L :class:`~posebench.skeletons.Stick` (endpoints
            that are joint midpoints are averaged in ``pred`` and ``gt`` alike).

    Returns:
        (err_a, err_b, length): three (N, L) float64 arrays, ``‖pred_a − gt_a‖``,
        ``‖pred_b − gt_b‖`` and ``‖gt_a − gt_b‖``.
    """
    p = np.asarray(pred, dtype=np.float64)
    g = np.asarray(gt, dtype=np.float64)
    sticks = _as_sticks(limbs, None)
    a = [st.a for st in sticks]
    b = [st.b for st in sticks]
    pa, pb, ga, gb = _endpoints(p, a), _endpoints(p, b), _endpoints(g, a), _endpoints(g, b)
    err_a: FloatArray = np.linalg.norm(pa - ga, axis=-1)
    err_b: FloatArray = np.linalg.norm(pb - gb, axis=-1)
    length: FloatArray = np.linalg.norm(ga - gb, axis=-1)
    return err_a, err_b, length


def _as_sticks(
    limbs: Sequence[tuple[int, int]] | Sequence[Stick], skeleton: Skeleton | None
) -> tuple[Stick, ...]:
    out = []
    for item in limbs:
        if isinstance(item, Stick):
            out.append(item)
            continue
        a, b = (int(i) for i in item)
        name = (
            f"{skeleton.keypoints[a]}-{skeleton.keypoints[b]}"
            if skeleton is not None
            and 0 <= a < skeleton.num_keypoints
            and 0 <= b < skeleton.num_keypoints
            else f"{a}-{b}"
        )
        out.append(Stick(name, (a,), (b,)))
    return tuple(out)


def pcp(
    pred: npt.ArrayLike,
    gt: npt.ArrayLike,
    visible: npt.ArrayLike,
    skeleton: Skeleton,
    *,
    alpha: float = 0.5,
    mode: Literal["strict", "loose"] = "strict",
    compare: Compare = "<=",
    limbs: Sequence[tuple[int, int]] | Sequence[Stick] | None = None,
) -> PCPResult:
    """Percentage of correct parts per stick and overall.

    An endpoint's error is divided by the ground-truth stick length and compared with
    ``alpha``, as ``eval_pcp.m`` does (``norm(gt - pred) / norm(gt_a - gt_b) <= 0.5``). A stick
    whose ground-truth length is 0 is not evaluable (undefined; ``eval_pcp.m`` divides by 0 and
    counts it as a miss, even for a perfect prediction).

    Args:
        pred, gt: (N, K, 2) coordinates in ``skeleton`` order.
        visible: (N, K) bool ground-truth joints; a stick counts when all of its joints are
            visible. (The LSP protocol scores all 14 annotated joints, occluded ones included:
            pass all True, as ``posebench score`` does for LSP files.)
        skeleton: gives the sticks (:meth:`~posebench.skeletons.Skeleton.pcp_sticks`; for
            ``LSP14`` the ten sticks of the LSP protocol, torso from the hip midpoint to the
            shoulder midpoint) and joint names.
        alpha: fraction of the ground-truth stick length (0.5).
        mode: ``"strict"`` (both endpoints within) or ``"loose"`` (mean endpoint error within).
        compare: ``"<="`` (default) or ``"<"``.
        limbs: override the skeleton's sticks with L (a, b) index pairs or L sticks.

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
    sticks = skeleton.pcp_sticks() if limbs is None else _as_sticks(limbs, skeleton)
    if not sticks:
        raise ValueError(f"skeleton {skeleton.name!r} defines no limbs")
    for st in sticks:
        if not (st.a and st.b) or not all(0 <= i < g.shape[1] for i in (*st.a, *st.b)):
            raise ValueError(f"limb {st.name!r} outside joints 0..{g.shape[1] - 1}")
    finite = np.isfinite(g).all(axis=-1) & v
    evaluable = np.stack([finite[:, list(st.a) + list(st.b)].all(axis=1) for st in sticks], axis=1)
    err_a, err_b, length = limb_errors(p, g, sticks)
    evaluable &= length > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        # eval_pcp.m divides each endpoint error by the stick length, then compares.
        if mode == "strict":
            da, db = err_a / length, err_b / length
            ok = (da <= alpha) & (db <= alpha) if compare == "<=" else (da < alpha) & (db < alpha)
        else:
            dm = 0.5 * (err_a + err_b) / length
            ok = dm <= alpha if compare == "<=" else dm < alpha
    correct = ok & evaluable  # NaN predictions compare False: a miss
    count = evaluable.sum(axis=0, dtype=np.int64)
    total = int(count.sum())
    return PCPResult(
        sticks=sticks,
        names=tuple(st.name for st in sticks),
        correct=correct,
        evaluable=evaluable,
        limb_count=count,
        per_limb=_safe_rate(correct.sum(axis=0), count),
        per_sample=_safe_rate(correct.sum(axis=1), evaluable.sum(axis=1)),
        overall=float(correct.sum()) / total if total else float("nan"),
    )


def _column_of(stick: Stick) -> str:
    """The PCP table column of a stick: its ``part``, else by the joint names of its name."""
    if stick.part:
        return stick.part
    members = frozenset(stick.name.split("-", 1))
    for col, sets in _PCP_COLUMNS:
        if any(members <= s for s in sets):
            return col
    return ""


def pcp_table(result: PCPResult) -> dict[str, float]:
    """PCP by body part, in percent: Torso, Upper Leg, Lower Leg, Upper Arm, Forearm, Head, Total.

    Each column is the plain mean of its sticks' rates, left and right together: for two
    sticks ``(pcp + pcp(symmetric)) / 2`` exactly as ``eval_pcp.m`` (bearpaw/eval_pose) computes
    it, so the printed row is the reference's to the last bit. ``Total`` pools every evaluable
    stick by count (``eval_pcp.m``'s "Mean"). A stick joins the column named by its ``part``,
    else the first column whose joint-name set holds both of its endpoints; sticks in none
    count only in ``Total``. Sticks with no evaluable instance are left out of their column; a
    column with none is NaN.
    """
    rates = 100.0 * result.per_limb
    cols = [_column_of(st) for st in result.sticks]
    out: dict[str, float] = {}
    for col, _ in _PCP_COLUMNS:
        vals = [rates[i] for i, c in enumerate(cols) if c == col and result.limb_count[i] > 0]
        out[col] = float(np.sum(vals) / len(vals)) if vals else float("nan")
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
