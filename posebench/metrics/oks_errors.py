"""OKS error diagnosis after Ronchi & Perona, "Benchmarking and Error Diagnosis in Multi-Instance
Pose Estimation" (ICCV 2017), and their tool coco-analyze (github.com/matteorr/coco-analyze,
``pycocotools/cocoanalyze.py`` and ``analysisAPI/``), re-implemented from its rules, vectorised.

Every labelled keypoint of a detection matched to a ground truth (GT) is classified by its
keypoint similarity ``ks = exp(-d^2 / (2 s (2 sigma)^2))`` (the OKS term) to the joints of every
GT of the image, the left/right flipped GT included:

- **good**: the best ks is to its own joint of its own GT and reaches 0.85;
- **jitter**: the best ks is to its own joint, 0.5 <= ks < 0.85;
- **inversion**: the best ks (>= 0.5) is to the left/right counterpart of its own GT;
- **swap**: the best ks (>= 0.5) is to the same joint, or its counterpart, of another GT;
- **miss**: no ks reaches 0.5.

The AP cost of an error type is the AP gained when the keypoints with that error are corrected
and the evaluation re-run; scoring errors (optimal rescoring), background false positives and
false negatives are costed as coco-analyze's ``errorsAPImpact`` does. Each place that follows a
rule or quirk of coco-analyze says so with "coco-analyze:".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from posebench.metrics.cocoeval import (
    OksEvaluation,
    OksMatches,
    OksParams,
    accumulate,
    evaluate_oks,
    match_detections,
    prepare_detections,
    summarize_stat,
)
from posebench.poseset import ImageTable, PoseSet
from posebench.skeletons import Skeleton

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Keypoint classes, in the order of :attr:`KeypointErrors.kind` and of per-keypoint tables.
ERROR_TYPES: tuple[str, ...] = ("good", "jitter", "inversion", "swap", "miss")
#: Keypoint error types corrected for the AP cost (coco-analyze Params.err_types order).
KEYPOINT_ERRORS: tuple[str, ...] = ("miss", "swap", "inversion", "jitter")
#: coco-analyze Params.jitterKsThrs: ks below the first is a miss, at or above the second good.
JITTER_KS: tuple[float, float] = (0.5, 0.85)
#: coco-analyze Params.oksLocThrs: detections matched at this OKS get their keypoints classified.
LOC_THR = 0.1
#: coco-analyze backgroundFalseNegErrors: size bins of false negatives, on 0.5 * w * h of the box.
FN_SIZE_BINS: tuple[tuple[str, float, float], ...] = (
    ("small", 0.0, 32.0**2),
    ("medium", 32.0**2, 64.0**2),
    ("large", 64.0**2, 96.0**2),
    ("xlarge", 96.0**2, 128.0**2),
    ("xxlarge", 128.0**2, 1e5**2),
)

Correction = Literal["coco-analyze", "ground-truth"]


@dataclass(frozen=True, eq=False)
class KeypointErrors:
    """Per-keypoint classification of M matched detections with K keypoints.

    Attributes:
        det_row: (M,) row of the detection in the predictions PoseSet.
        gt_row: (M,) row of the GT it is matched to in the GT PoseSet.
        oks: (M,) OKS of the match (mean ks over the labelled keypoints).
        labelled: (M, K) the GT keypoint is labelled (``v > 0``); only those are classified.
        ks_own: (M, K) ks to the same joint of the matched GT, NaN where unlabelled.
        ks_best: (M, K) best ks over all candidate joints (own, flipped own, other GT, flipped
            other GT), NaN where unlabelled.
        kind: (E, M, K) one mask per class of :data:`ERROR_TYPES`; exactly one is true at each
            labelled keypoint, none elsewhere.
        corrected: (M, K, 2) keypoints with every error corrected (the correction rule of the
            analysis); good and unlabelled keypoints keep the detection's coordinates.
    """

    det_row: IntArray
    gt_row: IntArray
    oks: FloatArray
    labelled: BoolArray
    ks_own: FloatArray
    ks_best: FloatArray
    kind: BoolArray
    corrected: FloatArray

    def mask(self, error: str) -> BoolArray:
        """(M, K) keypoints of class ``error`` (one of :data:`ERROR_TYPES`)."""
        if error not in ERROR_TYPES:
            raise ValueError(f"unknown error type {error!r}; known: {', '.join(ERROR_TYPES)}")
        return np.asarray(self.kind[ERROR_TYPES.index(error)], dtype=bool)

    def per_keypoint(self) -> IntArray:
        """(K, E) count of each class at each keypoint."""
        return np.asarray(self.kind.sum(axis=1).T, dtype=np.int64)

    def counts(self) -> dict[str, int]:
        """Keypoints of each class over all matched detections."""
        totals = self.kind.sum(axis=(1, 2))
        return {name: int(totals[i]) for i, name in enumerate(ERROR_TYPES)}


@dataclass(frozen=True, eq=False)
class OksErrorAnalysis:
    """OKS error diagnosis of one category.

    AP is COCO AP (OKS 0.50:0.95, area "all", the last ``max_dets``) of the parameters given.

    Attributes:
        keypoint_names: the K keypoint names.
        errors: the per-detection, per-keypoint records.
        ap: AP of the detections as given.
        ap_fixed: AP after correcting one error kind: each of :data:`KEYPOINT_ERRORS` alone,
            ``"keypoints_all"`` (the four together), ``"score"`` (optimal rescoring, NaN when not
            run), ``"background_fp"`` (unmatched detections ignored) and ``"false_negative"``
            (unmatched GT ignored as well, on top of ``"background_fp"``).
        ap_gain: ``ap_fixed - ap`` per kind, except ``"false_negative"``, which is measured
            from ``ap_fixed["background_fp"]`` (coco-analyze errorsAPImpact).
        background_fp: evaluated detections matched at no OKS threshold.
        false_negatives: GT with labelled keypoints matched at no OKS threshold.
        false_negatives_by_size: those by :data:`FN_SIZE_BINS`.
        loc_thr: OKS at which the classified detections were matched.
        correction: how keypoint errors were corrected.
    """

    keypoint_names: tuple[str, ...]
    errors: KeypointErrors
    ap: float
    ap_fixed: dict[str, float]
    ap_gain: dict[str, float]
    background_fp: int
    false_negatives: int
    false_negatives_by_size: dict[str, int]
    loc_thr: float
    correction: str

    @property
    def counts(self) -> dict[str, int]:
        """Keypoints of each class of :data:`ERROR_TYPES`."""
        return self.errors.counts()

    @property
    def per_keypoint(self) -> IntArray:
        """(K, E) count of each class at each keypoint."""
        return self.errors.per_keypoint()

    @property
    def per_keypoint_share(self) -> FloatArray:
        """(K, E) share of each class among a keypoint's labelled instances, NaN where none."""
        c = self.per_keypoint.astype(np.float64)
        tot = c.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(np.where(tot > 0, c / tot, np.nan), dtype=np.float64)


def _gt_scale(gt: PoseSet, rows: IntArray, params: OksParams) -> FloatArray:
    """(R,) OKS scale s of GT rows, as the matcher uses it (already validated there)."""
    if params.use_area:
        return np.asarray(gt.area[rows], dtype=np.float64)
    bb = gt.bbox[rows]
    return np.asarray(bb[:, 3] * bb[:, 2] * 0.53, dtype=np.float64)


def _keypoint_sim(
    det_xy: FloatArray, gt_xy: FloatArray, gt_vis: FloatArray, scale: FloatArray, var: FloatArray
) -> FloatArray:
    """(P, K) ks of P (detection, GT) keypoint sets; -1 where the GT keypoint is unlabelled.

    coco-analyze: the same arithmetic as the OKS terms (``exp(-d^2 / var / (s + eps) / 2)``) and
    -1 for unlabelled joints, so that they never win the argmax below.
    """
    dx = det_xy[:, :, 0] - gt_xy[:, :, 0]
    dy = det_xy[:, :, 1] - gt_xy[:, :, 1]
    e = (dx**2 + dy**2) / var / (scale[:, None] + np.spacing(1)) / 2
    return np.asarray(np.where(gt_vis > 0, np.exp(-e), -1.0), dtype=np.float64)


def classify_keypoints(
    gt: PoseSet,
    dt: PoseSet,
    matches: OksMatches,
    params: OksParams,
    skeleton: Skeleton,
    *,
    threshold_index: int = 0,
    area_index: int = 0,
    ks_thrs: tuple[float, float] = JITTER_KS,
    correction: Correction = "coco-analyze",
) -> KeypointErrors:
    """Classify every labelled keypoint of the detections matched in ``matches``.

    Args:
        gt, dt: the ground truth and predictions ``matches`` was computed on.
        matches: match records (:func:`~posebench.metrics.cocoeval.match_detections`); the match
            at ``matches.det_match[area_index, threshold_index]`` is used, nothing is re-matched.
        params: the evaluation parameters (sigmas, GT scale).
        skeleton: gives the left/right counterpart of each joint (``flip_pairs``).
        ks_thrs: (miss below, good from) ks thresholds.
        correction: ``"coco-analyze"`` moves an error keypoint to where coco-analyze puts it
            (on the GT joint, shifted along x by a distance set by the ks thresholds, see
            :func:`_correct`); ``"ground-truth"`` puts it on the GT joint.

    Returns:
        The records of the M matched detections whose GT has keypoints, in ``matches`` order.
    """
    if correction not in ("coco-analyze", "ground-truth"):
        raise ValueError(
            f"unknown correction {correction!r}; expected 'coco-analyze' or 'ground-truth'"
        )
    k = dt.num_joints
    dm = matches.det_match[area_index, threshold_index]
    sel = np.flatnonzero(dm >= 0)
    g_pos = dm[sel].astype(np.int64)
    gt_rows = matches.gt_row[g_pos]
    # coco-analyze: "if the gt match has no keypoint annotations the analysis cannot be carried
    # out" (gt['num_keypoints'] == 0: crowd regions and unannotated persons absorbing detections).
    keep = gt.num_keypoints[gt_rows] > 0
    sel, g_pos, gt_rows = sel[keep], g_pos[keep], gt_rows[keep]
    det_rows = matches.det_row[sel]
    m = len(sel)
    vis = gt.visibility if gt.visibility is not None else np.full(gt.keypoints.shape[:2], 2.0)
    labelled = vis[gt_rows] > 0
    if m == 0:
        empty = np.zeros((0, k))
        return KeypointErrors(
            det_row=det_rows,
            gt_row=gt_rows,
            oks=np.zeros(0),
            labelled=labelled,
            ks_own=empty,
            ks_best=empty.copy(),
            kind=np.zeros((len(ERROR_TYPES), 0, k), bool),
            corrected=np.zeros((0, k, 2)),
        )

    # Candidates: every GT of the detection's image (coco-analyze: all annotations of the image,
    # crowd and unlabelled ones included; their unlabelled joints score -1).
    n_img = len(matches.image_ids)
    start = np.searchsorted(matches.gt_image, np.arange(n_img))
    count = np.searchsorted(matches.gt_image, np.arange(n_img), side="right") - start
    img = matches.det_image[sel]
    cnt = count[img]  # >= 1: the matched GT is in its image
    seg = np.cumsum(cnt) - cnt
    pair = np.repeat(np.arange(m), cnt)
    cand = np.repeat(start[img], cnt) + (np.arange(len(pair)) - np.repeat(seg, cnt))
    own = cand == g_pos[pair]
    own_at = np.flatnonzero(own)  # one per detection, in detection order
    c_rows = matches.gt_row[cand]
    scale = _gt_scale(gt, c_rows, params)
    var = (params.sigmas * 2) ** 2
    d_xy = dt.keypoints[det_rows[pair], :, :2]
    perm = skeleton.flip_permutation()
    if len(perm) != k:
        raise ValueError(f"skeleton {skeleton.name!r} has {len(perm)} keypoints, poses have {k}")
    g_xy = gt.keypoints[c_rows, :, :2]
    g_vis = vis[c_rows]
    ks = _keypoint_sim(d_xy, g_xy, g_vis, scale, var)  # (P, K)
    ks_flip = _keypoint_sim(d_xy, g_xy[:, perm], g_vis[:, perm], scale, var)
    not_own = np.where(own[:, None], -np.inf, 0.0)
    # coco-analyze stacks the rows [own, others..., own flipped, others flipped...] and takes
    # np.argmax (first maximum) per joint: ties go to the own joint, then to another person,
    # then to the own counterpart. Reducing each group to its maximum keeps that order.
    groups = np.stack(
        [
            ks[own_at],
            np.maximum.reduceat(ks + not_own, seg, axis=0),
            ks_flip[own_at],
            np.maximum.reduceat(ks_flip + not_own, seg, axis=0),
        ]
    )  # (4, M, K)
    best = groups.max(axis=0)
    arg = groups.argmax(axis=0)
    at_own, at_flip = arg == 0, arg == 2
    at_other = (arg == 1) | (arg == 3)
    # coco-analyze: good is ks > 0.85 and jitter 0.5 <= ks < 0.85, which leaves ks == 0.85 in no
    # class (and breaks its own "classes add up to num_keypoints" assertion); here it is good.
    lo, hi = ks_thrs
    good = labelled & at_own & (best >= hi)
    jitter = labelled & at_own & (best >= lo) & (best < hi)
    inversion = labelled & at_flip & (best >= lo)
    swap = labelled & at_other & (best >= lo)
    miss = labelled & (best < lo)
    kind = np.stack([good, jitter, inversion, swap, miss])  # ERROR_TYPES order

    own_scale = scale[own_at]
    corrected = _correct(
        dt.keypoints[det_rows, :, :2],
        gt.keypoints[gt_rows, :, :2],
        own_scale,
        params.sigmas,
        best,
        jitter=jitter,
        inversion=inversion,
        swap=swap,
        miss=miss,
        ks_thrs=ks_thrs,
        correction=correction,
    )
    ks_own = groups[0]
    oks = np.sum(np.where(labelled, ks_own, 0.0), axis=1) / np.maximum(labelled.sum(axis=1), 1)
    return KeypointErrors(
        det_row=det_rows,
        gt_row=gt_rows,
        oks=np.asarray(oks, dtype=np.float64),
        labelled=labelled,
        ks_own=np.where(labelled, ks_own, np.nan),
        ks_best=np.where(labelled, np.maximum(best, 0.0), np.nan),
        kind=kind,
        corrected=corrected,
    )


def _correct(
    det_xy: FloatArray,
    gt_xy: FloatArray,
    scale: FloatArray,
    sigmas: FloatArray,
    best: FloatArray,
    *,
    jitter: BoolArray,
    inversion: BoolArray,
    swap: BoolArray,
    miss: BoolArray,
    ks_thrs: tuple[float, float],
    correction: Correction,
) -> FloatArray:
    """(M, K, 2) keypoints with the errors corrected.

    coco-analyze ("opt_keypoints"): an error keypoint goes to the GT joint shifted along x by
    ``sqrt(-ln(t) * 2 * s * sigma^2)``, t = 0.85 for jitter, 0.5 for a miss, and the ks it had to
    the wrong joint for an inversion or a swap (nudged below 1 by one ulp). With ``sigma^2``
    where the OKS has ``(2 sigma)^2`` that lands at ks = t^(1/4) (0.960 for jitter, 0.841 for a
    miss), not at t; reproduced as is, so that the costs compare with published ones.
    """
    out = np.array(det_xy, dtype=np.float64, copy=True)
    err = jitter | inversion | swap | miss
    if correction == "ground-truth":
        out[err] = gt_xy[err]
        return out
    if correction != "coco-analyze":
        raise ValueError(
            f"unknown correction {correction!r}; expected 'coco-analyze' or 'ground-truth'"
        )
    lo, hi = ks_thrs
    s2 = 2 * scale[:, None] * sigmas[None, :] ** 2  # (M, K)
    moved = inversion | swap
    t = np.where(moved, best, 0.5)
    t = t + np.spacing(1) * (t == 0) - np.spacing(1) * (t == 1)
    gx = gt_xy[:, :, 0]
    x = np.select(
        [jitter, miss, moved],
        [
            gx + np.sqrt(-math.log(hi) * s2),
            gx + np.sqrt(-math.log(lo) * s2),
            gx + np.sqrt(-np.log(t) * s2),
        ],
        out[:, :, 0],
    )
    out[:, :, 0] = x
    out[:, :, 1] = np.where(err, gt_xy[:, :, 1], out[:, :, 1])
    return out


def apply_corrections(dt: PoseSet, errors: KeypointErrors, types: tuple[str, ...]) -> PoseSet:
    """A copy of ``dt`` with the keypoints of the given error types replaced by their correction."""
    if not types:
        return dt
    fix = np.zeros(errors.labelled.shape, bool)
    for name in types:
        fix |= errors.mask(name)
    kp = np.array(dt.keypoints, dtype=np.float64, copy=True)
    di, kj = np.nonzero(fix)
    kp[errors.det_row[di], kj, :2] = errors.corrected[di, kj]
    return dt.with_columns(keypoints=kp)


def optimal_scores(
    gt: PoseSet,
    dt: PoseSet,
    images: ImageTable,
    params: OksParams,
    *,
    category_id: int = 1,
    area_index: int = 0,
) -> FloatArray:
    """(N,) detection scores replaced by coco-analyze's optimal ones (its "score" error).

    coco-analyze find_score_errors: a detection's optimal score is its best OKS with any
    non-ignored GT of its image (0 when there is none), over *all* detections of the image (no
    ``max_dets`` cut); then a Gaussian soft-NMS runs per image: repeatedly take the detection
    with the highest remaining score and multiply each other remaining one by
    ``exp(-oks^2 / 0.5)``, oks between the two over all K keypoints with the mean of their
    keypoint-extent areas as scale. Ties go to the earlier row (coco-analyze: stable sorts, file
    order first). Rows outside ``images``/``category_id`` keep their score.
    """
    image_ids = np.unique(images.id)
    all_dets = replace(params, max_dets=(np.iinfo(np.int32).max,))
    rows, img, _ = prepare_detections(dt, all_dets, category_id, image_ids)
    out = np.array(dt.score, dtype=np.float64, copy=True)
    if len(rows) == 0:
        return out
    n_max = int(np.bincount(img).max())
    m = match_detections(
        gt,
        dt,
        images,
        replace(params, max_dets=(n_max,), iou_thrs=np.array([float(params.iou_thrs.min())])),
        category_id=category_id,
        all_pairs=True,
    )
    counted = np.zeros(len(gt), bool)
    counted[m.gt_row] = ~m.gt_ignore[area_index]
    ok = counted[m.pair_gt]
    max_oks = np.zeros(len(dt))
    np.maximum.at(max_oks, m.pair_det[ok], m.pair_oks[ok])

    order = np.lexsort((rows, img))  # by image, then file order
    rows, img = rows[order], img[order]
    n = len(rows)
    s = max_oks[rows]
    kp = dt.keypoints[rows, :, :2]
    ext = (kp[:, :, 0].max(1) - kp[:, :, 0].min(1)) * (kp[:, :, 1].max(1) - kp[:, :, 1].min(1))
    var = (params.sigmas * 2) ** 2
    starts = np.flatnonzero(np.r_[True, img[1:] != img[:-1]])
    seg_id = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, n]))
    pos = np.arange(n)
    alive = np.ones(n, bool)
    # One soft-NMS step per rank, every image at once.
    for _ in range(n_max):
        v = np.where(alive, s, -np.inf)
        top = np.maximum.reduceat(v, starts)
        pick = np.minimum.reduceat(np.where(alive & (v == top[seg_id]), pos, n), starts)
        src = np.where(pick < n, pick, -1)
        alive[pick[pick < n]] = False
        rest = np.flatnonzero(alive & (src[seg_id] >= 0))
        if len(rest) == 0:
            continue
        mi = src[seg_id[rest]]
        dx = kp[rest, :, 0] - kp[mi, :, 0]
        dy = kp[rest, :, 1] - kp[mi, :, 1]
        e = (dx**2 + dy**2) / var / ((0.5 * (ext[mi] + ext[rest]))[:, None] + np.spacing(1)) / 2
        oks = np.sum(np.exp(-e), axis=1) / e.shape[1]
        s[rest] = s[rest] * np.exp(-(oks**2) / 0.5)  # 0.5: the soft-NMS paper's sigma
    out[rows] = s
    return out


def _ap(m: OksMatches, params: OksParams) -> float:
    prec, rec, _ = accumulate(m, params)
    return summarize_stat(
        prec[:, :, None], rec[:, None], params, ap=True, max_dets=params.max_dets[-1]
    )


def _ap_of(
    gt: PoseSet, dt: PoseSet, images: ImageTable, params: OksParams, category_id: int
) -> float:
    ev = evaluate_oks(gt, dt, images, params, category_ids=(category_id,))
    return float(ev.stats["AP"])


def _background_ap(m: OksMatches, params: OksParams) -> tuple[float, float]:
    """AP with background false positives ignored, then with false negatives ignored as well.

    coco-analyze _summarize_bckgd_errors: at each OKS threshold the detections unmatched at that
    threshold are set to ignore; then GT unmatched at that threshold *or any lower one* (the
    ``gtIgnore`` flags it sets accumulate over its ascending threshold loop) are ignored too,
    which only lowers the GT count. No re-matching.
    """
    m_fp = replace(m, det_ignore=m.det_ignore | ~m.det_tp)
    ap_fp = _ap(m_fp, params)
    order = np.argsort(params.iou_thrs, kind="stable")
    unmatched = np.logical_or.accumulate(m.gt_match[:, order] < 0, axis=1)  # (A, T, G)
    prec, rec, _ = accumulate(m_fp, params)
    for ti, t in enumerate(order):
        p_t, r_t, _ = accumulate(replace(m_fp, gt_ignore=m.gt_ignore | unmatched[:, ti]), params)
        prec[t], rec[t] = p_t[t], r_t[t]
    ap_fn = summarize_stat(
        prec[:, :, None], rec[:, None], params, ap=True, max_dets=params.max_dets[-1]
    )
    return ap_fp, ap_fn


def _false_negatives_by_size(gt: PoseSet, rows: IntArray) -> dict[str, int]:
    # coco-analyze backgroundFalseNegErrors: area = int(w) * int(h) * 0.5 of the GT box, bins
    # closed on the left.
    bb = gt.bbox[rows]
    fin = np.isfinite(bb[:, 2:]).all(axis=1)
    area = np.trunc(bb[fin, 2]) * np.trunc(bb[fin, 3]) * 0.5
    return {name: int(np.count_nonzero((area >= a) & (area < b))) for name, a, b in FN_SIZE_BINS}


def analyze_oks_errors(
    gt: PoseSet,
    dt: PoseSet,
    images: ImageTable,
    params: OksParams,
    skeleton: Skeleton,
    *,
    category_id: int = 1,
    evaluation: OksEvaluation | None = None,
    loc_thr: float = LOC_THR,
    correction: Correction = "coco-analyze",
    ks_thrs: tuple[float, float] = JITTER_KS,
    score_errors: bool = True,
) -> OksErrorAnalysis:
    """Keypoint error breakdown and the AP cost of each error kind.

    Args:
        gt, dt, images, params: as :func:`~posebench.metrics.cocoeval.evaluate_oks`. coco-analyze
            evaluates area "all" as [32^2, 1e5^2]; pass ``area_ranges`` to reproduce that.
        skeleton: keypoint names and left/right pairs; its sigmas are not used (``params``'s are).
        category_id: the category analysed.
        evaluation: an :func:`evaluate_oks` result of the same inputs, to reuse its match records.
        loc_thr: OKS at which detections are matched for the keypoint classification.
            coco-analyze uses 0.1 (``oksLocThrs``); a threshold of ``params.iou_thrs`` (e.g. 0.5)
            reuses the evaluation's records, any other is matched once more with the same matcher.
        correction: ``"coco-analyze"`` or ``"ground-truth"`` (see :func:`classify_keypoints`).
        ks_thrs: (miss below, good from) keypoint-similarity thresholds.
        score_errors: also cost scoring errors (optimal rescoring and soft-NMS).

    Each keypoint error type is corrected alone against the original detections
    (coco-analyze errorsAPImpact sets ``err_types = [err]`` for each), and all four together.
    """
    if evaluation is None:
        evaluation = evaluate_oks(gt, dt, images, params, category_ids=(category_id,))
    params = evaluation.params
    base = evaluation.per_category[evaluation.category_ids.index(category_id)]
    ap = _ap(base, params)

    hit = np.flatnonzero(params.iou_thrs == loc_thr)
    if len(hit):
        loc, t_index = base, int(hit[0])
    else:
        loc_params = replace(params, iou_thrs=np.array([float(loc_thr)]))
        loc = match_detections(gt, dt, images, loc_params, category_id=category_id)
        t_index = 0
    errors = classify_keypoints(
        gt,
        dt,
        loc,
        params,
        skeleton,
        threshold_index=t_index,
        ks_thrs=ks_thrs,
        correction=correction,
    )

    counts = errors.counts()
    ap_fixed: dict[str, float] = {}
    for name in KEYPOINT_ERRORS:
        if counts[name] == 0:
            ap_fixed[name] = ap  # nothing to correct: the same detections
        else:
            fixed = apply_corrections(dt, errors, (name,))
            ap_fixed[name] = _ap_of(gt, fixed, images, params, category_id)
    if any(counts[n] for n in KEYPOINT_ERRORS):
        fixed = apply_corrections(dt, errors, KEYPOINT_ERRORS)
        ap_fixed["keypoints_all"] = _ap_of(gt, fixed, images, params, category_id)
    else:
        ap_fixed["keypoints_all"] = ap
    if score_errors:
        scores = optimal_scores(gt, dt, images, params, category_id=category_id)
        ap_fixed["score"] = _ap_of(gt, dt.with_columns(score=scores), images, params, category_id)
    else:
        ap_fixed["score"] = float("nan")
    ap_fixed["background_fp"], ap_fixed["false_negative"] = _background_ap(base, params)

    ap_gain = {name: v - ap for name, v in ap_fixed.items()}
    ap_gain["false_negative"] = ap_fixed["false_negative"] - ap_fixed["background_fp"]

    # coco-analyze "bad" background errors: unmatched at every OKS threshold (area "all").
    bg_fp = int(np.count_nonzero((base.det_match[0] < 0).all(axis=0)))
    fn = (base.gt_match[0] < 0).all(axis=0) & (gt.num_keypoints[base.gt_row] > 0)
    fn_rows = base.gt_row[fn]

    return OksErrorAnalysis(
        keypoint_names=skeleton.keypoints,
        errors=errors,
        ap=ap,
        ap_fixed=ap_fixed,
        ap_gain=ap_gain,
        background_fp=bg_fp,
        false_negatives=len(fn_rows),
        false_negatives_by_size=_false_negatives_by_size(gt, fn_rows),
        loc_thr=float(loc_thr),
        correction=correction,
    )


def _num(v: float) -> float | None:
    return None if math.isnan(v) else float(v)


def analysis_to_dict(a: OksErrorAnalysis) -> dict[str, Any]:
    """The analysis as plain JSON-ready values (NaN as None), per-detection records left out."""
    per_kp = a.per_keypoint
    share = a.per_keypoint_share
    counts = a.counts
    total = sum(counts.values())
    return {
        "loc_thr": a.loc_thr,
        "correction": a.correction,
        "matched_detections": len(a.errors.det_row),
        "labelled_keypoints": total,
        "counts": counts,
        "shares": {k: _num(v / total) if total else None for k, v in counts.items()},
        "per_keypoint": {
            name: {
                "counts": {t: int(per_kp[j, e]) for e, t in enumerate(ERROR_TYPES)},
                "shares": {t: _num(float(share[j, e])) for e, t in enumerate(ERROR_TYPES)},
            }
            for j, name in enumerate(a.keypoint_names)
        },
        "AP": _num(a.ap),
        "AP_fixed": {k: _num(v) for k, v in a.ap_fixed.items()},
        "AP_gain": {k: _num(v) for k, v in a.ap_gain.items()},
        "background_fp": a.background_fp,
        "false_negatives": a.false_negatives,
        "false_negatives_by_size": dict(a.false_negatives_by_size),
    }
