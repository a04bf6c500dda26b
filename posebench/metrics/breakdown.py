"""Metrics broken down by an attribute: crowd index, person size, labelled-keypoint count, or any
per-sample attribute.

Every breakdown returns a :class:`Breakdown` whose first bin is ``"all"`` (the headline number,
computed exactly as the headline is) followed by the requested bins, NaN where a bin is empty.

OKS AP/AR (one evaluation, several slices; what "ignored" means is pycocotools' notion: an ignored
ground truth can still absorb a detection, which is then neither a true nor a false positive):

- by crowd index (:func:`crowd_breakdown`): a slice is a set of *images*; matching is per image,
  so a bucket only re-accumulates its images' match records (as CrowdPose's AP_easy/medium/hard).
- by person size (:func:`area_breakdown`): COCO area ranges. Ground truth outside the bin is
  ignored, and so are unmatched detections whose own area is outside it; one matching call
  evaluates every bin (the area-range axis of :func:`~posebench.metrics.cocoeval.match_detections`).
- by the ground truth's labelled-keypoint count (:func:`keypoint_count_breakdown`): ground truth
  outside the bin is ignored and detections matched to it are ignored; an unmatched detection has
  no keypoint count, so it counts as a false positive in *every* bin (unlike the area ranges, which
  can give a detection an area). A bin's AP thus answers "how well are people with this many
  labelled joints found, among all the detector's output". Matching runs once per bin (the
  ignore flags steer the greedy matching, so bins cannot share one), reusing the same OKS code.

Per-sample metrics (PCKh, PCP, MPJPE, ...): :func:`binned_mean` averages a per-sample value
within bins of any per-sample attribute.

Bins are ``(lo, hi)`` pairs. OKS area and keypoint-count bins include both ends (as pycocotools'
area ranges); crowd buckets are ``[lo, hi)`` (easy < first <= medium < second <= hard, as
xtcocotools); :func:`binned_mean` lets the caller choose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import numpy.typing as npt

from posebench.errors import InputError
from posebench.metrics.cocoeval import (
    OksMatches,
    OksParams,
    accumulate,
    crowd_bucket_edges,
    match_detections,
    summarize_stat,
)
from posebench.poseset import ImageTable, PoseSet

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

__all__ = [
    "BREAKDOWN_STATS",
    "COCO_AREA_BINS",
    "Breakdown",
    "area_breakdown",
    "bin_masks",
    "binned_mean",
    "crowd_bins",
    "crowd_breakdown",
    "keypoint_count_bins",
    "keypoint_count_breakdown",
]

#: Statistics of every OKS breakdown bin (area "all" within the bin, the last ``max_dets``).
BREAKDOWN_STATS = ("AP", "AP50", "AP75", "AR", "AR50", "AR75")
#: COCO's person sizes (pycocotools ``areaRng`` small, medium, large), both ends included.
COCO_AREA_BINS: tuple[tuple[float, float], ...] = (
    (0.0, 32.0**2),
    (32.0**2, 96.0**2),
    (96.0**2, 1e10),
)
COCO_AREA_LABELS = ("small", "medium", "large")
CROWD_LABELS = ("easy", "medium", "hard")

Closed = Literal["both", "left"]


@dataclass(frozen=True, eq=False)
class Breakdown:
    """Metric values per bin of an attribute; bin 0 is ``"all"``.

    Attributes:
        attribute: what was binned (``"crowd_index"``, ``"area"``, ``"num_keypoints"``, ...).
        labels: (B,) bin names, ``labels[0] == "all"``.
        bins: (B,) ``(lo, hi)`` per bin; ``(-inf, inf)`` for ``"all"``.
        values: statistic name -> (B,) float64 values, NaN for an empty bin.
        counts: unit name (``"images"``, ``"gt"``, ``"samples"``) -> (B,) int64 units per bin;
            ``"gt"`` counts the ground truth a bin's recall is over (not ignored).
        masks: (B, U) bool membership of each unit (images, in the order of the matches'
            ``image_ids``, or samples) where bins are sets of units, else None.
    """

    attribute: str
    labels: tuple[str, ...]
    bins: tuple[tuple[float, float], ...]
    values: dict[str, FloatArray]
    counts: dict[str, IntArray]
    masks: BoolArray | None = None

    def as_dict(self) -> dict[str, dict[str, float]]:
        """``{label: {statistic: value}}``."""
        return {
            lbl: {k: float(v[i]) for k, v in self.values.items()}
            for i, lbl in enumerate(self.labels)
        }


# ----------------------------------------------------------------------------- bins


def _check_bins(
    bins: Sequence[tuple[float, float]], labels: Sequence[str] | None
) -> tuple[tuple[tuple[float, float], ...], tuple[str, ...]]:
    try:
        out = tuple((float(lo), float(hi)) for lo, hi in bins)
    except (TypeError, ValueError):
        raise ValueError(f"bins must be (lo, hi) pairs of numbers, got {bins!r}") from None
    if not out:
        raise ValueError("bins must not be empty")
    for lo, hi in out:
        if np.isnan(lo) or np.isnan(hi) or lo > hi:
            raise ValueError(f"bin ({lo}, {hi}) must have lo <= hi")
    names = tuple(labels) if labels is not None else tuple(_fmt_bin(lo, hi) for lo, hi in out)
    if len(names) != len(out):
        raise ValueError(f"{len(names)} labels for {len(out)} bins")
    if "all" in names or len(set(names)) != len(names):
        raise ValueError(f"bin labels must be unique and not 'all', got {names}")
    return out, names


def _fmt_bin(lo: float, hi: float) -> str:
    def f(v: float) -> str:
        return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else f"{v:g}"

    return f"{f(lo)}-{f(hi)}"


def bin_masks(
    attribute: npt.ArrayLike, bins: Sequence[tuple[float, float]], *, closed: Closed = "both"
) -> BoolArray:
    """(B, N) membership of N values in B ``(lo, hi)`` bins; NaN belongs to no bin.

    ``closed="both"``: ``lo <= x <= hi``; ``"left"``: ``lo <= x < hi``.
    """
    x = np.asarray(attribute, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"attribute must be (N,), got {x.shape}")
    if closed not in ("both", "left"):
        raise ValueError(f"closed must be 'both' or 'left', got {closed!r}")
    b = np.asarray([(lo, hi) for lo, hi in bins], dtype=np.float64).reshape(-1, 2)
    lo, hi = b[:, :1], b[:, 1:]
    upper = x[None, :] <= hi if closed == "both" else x[None, :] < hi
    out: BoolArray = (x[None, :] >= lo) & upper
    return out


def crowd_bins(
    buckets: str | tuple[float, float] = "xtcocotools",
) -> tuple[tuple[tuple[float, float], ...], tuple[str, ...]]:
    """Bins (closed on the left) and labels of the CrowdPose easy/medium/hard buckets.

    Args:
        buckets: a name in ``CROWD_BUCKETS`` (``"xtcocotools"``: 0.2/0.8, the default, what
            published numbers use; ``"paper"``: 0.1/0.8) or explicit ``(first, second)`` edges.
    """
    first, second = crowd_bucket_edges(buckets)
    inf = float("inf")
    return ((-inf, first), (first, second), (second, inf)), CROWD_LABELS


def keypoint_count_bins(num_joints: int) -> tuple[tuple[float, float], ...]:
    """Default labelled-keypoint bins 1-5, 6-10, 11-K (K >= 11)."""
    if num_joints < 11:
        raise ValueError(f"no default keypoint-count bins for K={num_joints} < 11: pass bins")
    return ((1.0, 5.0), (6.0, 10.0), (11.0, float(num_joints)))


# ----------------------------------------------------------------------------- OKS helpers


def _as_list(matches: OksMatches | Sequence[OksMatches]) -> list[OksMatches]:
    ms = [matches] if isinstance(matches, OksMatches) else list(matches)
    if not ms:
        raise ValueError("no match records given")
    for m in ms[1:]:
        if not np.array_equal(m.image_ids, ms[0].image_ids):
            raise ValueError("match records of different categories cover different images")
    return ms


def _stats(
    ms: list[OksMatches], params: OksParams, area: str, image_mask: BoolArray | None
) -> dict[str, float]:
    """The :data:`BREAKDOWN_STATS` of one slice, as ``summarize_stat`` computes the headline."""
    acc = [accumulate(m, params, image_mask) for m in ms]
    precision = np.stack([a[0] for a in acc], axis=2)  # (T, R, K, A, M)
    recall = np.stack([a[1] for a in acc], axis=1)  # (T, K, A, M)
    md = params.max_dets[-1]

    def s(ap: bool, thr: float | None = None) -> float:
        return summarize_stat(precision, recall, params, ap=ap, iou_thr=thr, area=area, max_dets=md)

    return {
        "AP": s(True),
        "AP50": s(True, 0.5),
        "AP75": s(True, 0.75),
        "AR": s(False),
        "AR50": s(False, 0.5),
        "AR75": s(False, 0.75),
    }


def _gt_counted(ms: list[OksMatches], area: int, image_mask: BoolArray | None) -> int:
    n = 0
    for m in ms:
        keep = ~m.gt_ignore[area]
        if image_mask is not None:
            keep &= image_mask[m.gt_image]
        n += int(np.count_nonzero(keep))
    return n


def _collect(rows: list[dict[str, float]]) -> dict[str, FloatArray]:
    return {k: np.array([r[k] for r in rows], dtype=np.float64) for k in BREAKDOWN_STATS}


def _category_ids(gt: PoseSet, category_ids: Sequence[int] | None) -> tuple[int, ...]:
    return (
        tuple(sorted(set(gt.category_id.tolist()))) if category_ids is None else tuple(category_ids)
    )


# ----------------------------------------------------------------------------- OKS breakdowns


def crowd_breakdown(
    matches: OksMatches | Sequence[OksMatches],
    images: ImageTable,
    params: OksParams,
    *,
    buckets: str | tuple[float, float] = "xtcocotools",
    crowd_index: npt.ArrayLike | None = None,
    missing: Literal["error", "exclude", "easy"] = "error",
    gt_file: str = "<ground truth>",
) -> Breakdown:
    """OKS AP/AR by CrowdPose crowd-index bucket (image level).

    Args:
        matches: the match records of one evaluation (``OksEvaluation.per_category``).
        images: the image table the evaluation ran on.
        params: the evaluation's parameters.
        buckets: see :func:`crowd_bins`.
        crowd_index: (I,) per row of ``images`` (e.g. from
            :func:`posebench.metrics.crowd.crowd_index`); default ``images.crowd_index``.
        missing: images with a NaN crowd index (no person): ``"error"`` raises
            :class:`~posebench.errors.InputError`, ``"exclude"`` leaves them out of every bucket
            (not out of ``"all"``), ``"easy"`` counts them as easy (crowd index 0).

    Returns:
        :class:`Breakdown` with bins all, easy, medium, hard; ``masks`` (4, I) over the matches'
        ``image_ids``; ``counts["images"]`` and ``counts["gt"]``. A bucket's AP is the mean of
        its defined precision entries, unrounded (``evaluate_oks(mode="crowdpose")`` reports
        xtcocotools' rounded AP_easy/medium/hard, equal to these to 4 decimals).
    """
    ms = _as_list(matches)
    if missing not in ("error", "exclude", "easy"):
        raise ValueError(f"missing must be 'error', 'exclude' or 'easy', got {missing!r}")
    ci_rows = images.crowd_index if crowd_index is None else np.asarray(crowd_index, np.float64)
    if ci_rows.shape != (len(images),):
        raise ValueError(f"crowd_index must be (I={len(images)},), got {ci_rows.shape}")
    order = np.argsort(images.id, kind="stable")
    if not np.array_equal(images.id[order], ms[0].image_ids):
        raise ValueError("images do not match the images of the match records")
    ci = ci_rows[order]  # aligned with image_ids
    nan = np.isnan(ci)
    if nan.any():
        if missing == "error":
            i = int(np.flatnonzero(np.isnan(ci_rows))[0])
            raise InputError(
                "missing crowd index (pass crowd_index=..., or missing='exclude' / 'easy')",
                file=gt_file,
                record=f"images[{i}]",
                field="crowdIndex",
            )
        if missing == "easy":
            ci = np.where(nan, 0.0, ci)
    bins, labels = crowd_bins(buckets)
    masks = np.concatenate([np.ones((1, len(ci)), bool), bin_masks(ci, bins, closed="left")])
    a_all = params.area_labels.index("all") if "all" in params.area_labels else 0
    rows = [
        _stats(ms, params, params.area_labels[a_all], None if i == 0 else masks[i])
        for i in range(len(masks))
    ]
    inf = float("inf")
    return Breakdown(
        attribute="crowd_index",
        labels=("all", *labels),
        bins=((-inf, inf), *bins),
        values=_collect(rows),
        counts={
            "images": masks.sum(axis=1).astype(np.int64),
            "gt": np.array(
                [_gt_counted(ms, a_all, None if i == 0 else masks[i]) for i in range(len(masks))],
                dtype=np.int64,
            ),
        },
        masks=masks,
    )


def area_breakdown(
    gt: PoseSet,
    dt: PoseSet,
    images: ImageTable,
    params: OksParams,
    *,
    bins: Sequence[tuple[float, float]] = COCO_AREA_BINS,
    labels: Sequence[str] | None = None,
    category_ids: Sequence[int] | None = None,
    gt_file: str = "<ground truth>",
    pred_file: str = "<predictions>",
) -> Breakdown:
    """OKS AP/AR by person size: COCO area ranges, both ends included.

    The area tested is the one the evaluation scales OKS by (the GT ``area``, or 0.53·w·h of the
    GT box with ``use_area=False``); a detection's area is taken as ``params.det_area`` says.

    Args:
        gt, dt, images, params: as :func:`~posebench.metrics.cocoeval.evaluate_oks`; the
            parameters' own area ranges are replaced by ``params.area_ranges[0]`` ("all") and
            ``bins``.
        bins: ``(lo, hi)`` area ranges in px² (default COCO small, medium, large).
        labels: bin names (default ``small, medium, large`` for the COCO bins, else ``lo-hi``).
        category_ids: categories averaged over (default: those of the GT).

    Returns:
        :class:`Breakdown` with ``"all"`` then one bin per range; ``counts["gt"]``.
    """
    if labels is None and tuple(tuple(b) for b in bins) == COCO_AREA_BINS:
        labels = COCO_AREA_LABELS
    bins_t, names = _check_bins(bins, labels)
    p = replace(params, area_ranges=(params.area_ranges[0], *bins_t), area_labels=("all", *names))
    ms = [
        match_detections(gt, dt, images, p, category_id=c, gt_file=gt_file, pred_file=pred_file)
        for c in _category_ids(gt, category_ids)
    ]
    rows = [_stats(ms, p, lbl, None) for lbl in p.area_labels]
    return Breakdown(
        attribute="area",
        labels=p.area_labels,
        bins=p.area_ranges,
        values=_collect(rows),
        counts={
            "gt": np.array([_gt_counted(ms, a, None) for a in range(len(p.area_ranges))], np.int64)
        },
    )


def keypoint_count_breakdown(
    gt: PoseSet,
    dt: PoseSet,
    images: ImageTable,
    params: OksParams,
    *,
    bins: Sequence[tuple[float, float]] | None = None,
    labels: Sequence[str] | None = None,
    count: Literal["visible", "num_keypoints"] = "visible",
    category_ids: Sequence[int] | None = None,
    gt_file: str = "<ground truth>",
    pred_file: str = "<predictions>",
) -> Breakdown:
    """OKS AP/AR by the ground truth's number of labelled keypoints.

    Ground truth outside a bin is ignored (detections matched to it are ignored); unmatched
    detections are false positives in every bin (see the module docstring). Ground truth the
    evaluation ignores anyway (crowd regions, no keypoints) stays ignored.

    Args:
        gt, dt, images, params: as :func:`~posebench.metrics.cocoeval.evaluate_oks`; only the
            first area range ("all") is evaluated.
        bins: inclusive ``(lo, hi)`` keypoint counts (default 1-5, 6-10, 11-K).
        labels: bin names (default ``lo-hi``).
        count: ``"visible"``: joints with ``v > 0``; ``"num_keypoints"``: the file's
            ``num_keypoints`` (CrowdPose counts 12 of its 14 joints there).
        category_ids: categories averaged over (default: those of the GT).

    Returns:
        :class:`Breakdown` with ``"all"`` then one bin per range; ``counts["gt"]``.
    """
    if count not in ("visible", "num_keypoints"):
        raise ValueError(f"count must be 'visible' or 'num_keypoints', got {count!r}")
    bins_t, names = _check_bins(
        keypoint_count_bins(gt.num_joints) if bins is None else bins, labels
    )
    vis = gt.visibility if gt.visibility is not None else np.full(gt.keypoints.shape[:2], 2.0)
    n_vis = np.count_nonzero(vis > 0, axis=1)
    attr = n_vis if count == "visible" else gt.num_keypoints
    # What the evaluation already ignores for lack of keypoints (crowd regions stay as they are).
    no_kp = gt.num_keypoints == 0 if params.gt_ignore == "num_keypoints" else n_vis == 0
    base = replace(
        params,
        area_ranges=params.area_ranges[:1],
        area_labels=("all",),
        gt_ignore="num_keypoints",
    )
    cats = _category_ids(gt, category_ids)

    def run(g: PoseSet) -> list[OksMatches]:
        return [
            match_detections(
                g, dt, images, base, category_id=c, gt_file=gt_file, pred_file=pred_file
            )
            for c in cats
        ]

    # The bins steer the greedy matching through the ignore flag only: num_keypoints == 0 marks
    # a ground truth ignored (OKS itself reads the v flags, which are left as they are).
    runs = [run(gt.with_columns(num_keypoints=np.where(no_kp, 0, 1).astype(np.int64)))]
    for lo, hi in bins_t:
        out = (attr < lo) | (attr > hi)
        runs.append(
            run(gt.with_columns(num_keypoints=np.where(no_kp | out, 0, 1).astype(np.int64)))
        )
    rows = [_stats(ms, base, "all", None) for ms in runs]
    inf = float("inf")
    return Breakdown(
        attribute="num_keypoints" if count == "num_keypoints" else "visible_keypoints",
        labels=("all", *names),
        bins=((-inf, inf), *bins_t),
        values=_collect(rows),
        counts={"gt": np.array([_gt_counted(ms, 0, None) for ms in runs], np.int64)},
    )


# ----------------------------------------------------------------------------- per-sample


def binned_mean(
    values: npt.ArrayLike,
    attribute: npt.ArrayLike,
    bins: Sequence[tuple[float, float]],
    *,
    labels: Sequence[str] | None = None,
    weights: npt.ArrayLike | None = None,
    closed: Closed = "both",
    name: str = "mean",
    attribute_name: str = "attribute",
) -> Breakdown:
    """Mean of a per-sample metric within bins of a per-sample attribute.

    Args:
        values: (N,) per-sample metric (PCKh ``per_sample``, an MPJPE per frame, ...); NaN marks
            an undefined sample and is left out.
        attribute: (N,) what to bin by (e.g. the crowd index of each sample's image); a sample
            whose attribute is NaN is in ``"all"`` only.
        bins: ``(lo, hi)`` pairs, may overlap.
        labels: bin names (default ``lo-hi``).
        weights: (N,) non-negative weights: the bin value is ``Σ w·v / Σ w`` (e.g. PCK pooled
            over joints: per-sample rate weighted by its evaluable joint count).
        closed: ``"both"`` (``lo <= x <= hi``) or ``"left"`` (``lo <= x < hi``).
        name: the statistic's key in ``values``.

    Returns:
        :class:`Breakdown` with ``values[name]`` (B,), ``counts["samples"]`` (defined samples
        per bin) and ``masks`` (B, N).
    """
    v = np.asarray(values, dtype=np.float64)
    a = np.asarray(attribute, dtype=np.float64)
    if v.ndim != 1 or a.shape != v.shape:
        raise ValueError(f"values and attribute must both be (N,), got {v.shape} and {a.shape}")
    w = np.ones_like(v) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != v.shape:
        raise ValueError(f"weights must be (N={len(v)},), got {w.shape}")
    if not (w >= 0).all():
        raise ValueError("weights must be finite and >= 0")
    bins_t, names = _check_bins(bins, labels)
    masks = np.concatenate([np.ones((1, len(v)), bool), bin_masks(a, bins_t, closed=closed)])
    defined = ~np.isnan(v) & (w > 0)
    wv = np.where(defined, w * np.where(defined, v, 0.0), 0.0)
    wd = np.where(defined, w, 0.0)
    num = masks.astype(np.float64) @ wv
    den = masks.astype(np.float64) @ wd
    mean = np.full(len(masks), np.nan)
    np.divide(num, den, out=mean, where=den > 0)
    inf = float("inf")
    return Breakdown(
        attribute=attribute_name,
        labels=("all", *names),
        bins=((-inf, inf), *bins_t),
        values={name: mean},
        counts={"samples": (masks & defined[None, :]).sum(axis=1).astype(np.int64)},
        masks=masks,
    )
