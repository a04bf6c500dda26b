"""OKS average precision and recall, bit-identical to pycocotools and xtcocotools, vectorised.

The reference evaluators loop in Python over images, area ranges, thresholds, detections and
ground truth. Here every stage runs over arrays covering all images at once:

1. detections are sorted per image by score (stable, as pycocotools' mergesort) and cut to
   ``max_dets``; OKS is computed for every (detection, ground truth) pair of the same image;
2. the greedy matching, which is sequential only *within* an image, runs as ``max_dets`` steps,
   step r matching the r-th detection of every image for all area ranges and thresholds at once;
3. precision/recall accumulate with one stable sort and cumulative sums per area range.

Where the compiled kernel (``_cocoeval_kernel.c``, built by ``pip install``) is present, the sort
of step 1, the matching (image by image, images shared among threads) and the cumulative sums of
step 3 (one area range and threshold per task) run there instead, with the same numbers (only
comparisons, or the same float64 operations in the same order; tests/test_threads.py).

Reference quirks reproduced on purpose (each marked "pycocotools:" or "xtcocotools:" below):
``np.linspace`` thresholds, stable sorts, ties in matching going to the *last* maximum, the
``np.spacing`` guards, ignored ground truth (crowd or no keypoints) absorbing detections, the
detection area taken from the bbox or from the keypoint extent according to the *first* result,
inclusive area ranges, detections beyond ``max_dets`` per image dropped before anything else;
by name: GT id 0 (pycocotools), negative GT ids (xtcocotools), which GT is ignored.

COCO-WholeBody (:func:`evaluate_wholebody`) runs the same machinery once per part, with the
rules of xtcocotools' ``keypoints_<part>`` modes; per-keypoint AP is :func:`keypoint_ap`.
"""

from __future__ import annotations

import itertools
import logging
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from posebench import parallel
from posebench.arrayutil import isin, unique
from posebench.errors import InputError
from posebench.metrics.oks import oks_pairs
from posebench.poseset import ImageTable, PoseSet

log = logging.getLogger(__name__)

try:
    from posebench.metrics import _cocoeval_kernel  # type: ignore[attr-defined]
except ImportError:  # no C compiler at install time: the numpy path gives the same numbers
    _cocoeval_kernel = None

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# pycocotools Params.setKpParams: np.arange causes trouble, hence linspace.
IOU_THRS: FloatArray = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
REC_THRS: FloatArray = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
AREA_RANGES: tuple[tuple[float, float], ...] = ((0**2, 1e5**2), (32**2, 96**2), (96**2, 1e5**2))
AREA_LABELS: tuple[str, ...] = ("all", "medium", "large")

COCO_STATS = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")
CROWDPOSE_STATS = ("AP", "AP50", "AP75", "AR", "AR50", "AR75", "AP_easy", "AP_medium", "AP_hard")

#: Crowd-index bucket edges by name: (easy < first <= medium < second <= hard).
CROWD_BUCKETS: dict[str, tuple[float, float]] = {
    # xtcocotools 1.14.3 summarize() calls get_type_result(first=0.2, second=0.8); published
    # CrowdPose numbers (mmpose, HigherHRNet, DEKR, ...) were produced with it.
    "xtcocotools": (0.2, 0.8),
    # The CrowdPose paper (Li et al. 2019): easy [0, 0.1], medium [0.1, 0.8], hard [0.8, 1].
    "paper": (0.1, 0.8),
}


@dataclass(frozen=True)
class OksParams:
    """What an OKS evaluation means; every field goes into the signature.

    Attributes:
        sigmas: (K,) per-keypoint OKS sigmas.
        iou_thrs: (T,) OKS thresholds.
        rec_thrs: (R,) recall points of the interpolated precision.
        max_dets: detections kept per image, sorted ascending; the last also cuts before matching.
        area_ranges: (lo, hi) inclusive ranges; the first must be "all".
        area_labels: names of the ranges.
        use_area: scale from the GT ``area``; False uses 0.53·w·h of the GT box (xtcocotools
            ``use_area=False``, as CrowdPose evaluation does).
        gt_ignore: which ground truth is ignored besides crowds: ``"num_keypoints"``
            (pycocotools and xtcocotools ``keypoints_crowd``: the file's ``num_keypoints == 0``)
            or ``"visible"`` (the count of ``v > 0``, as xtcocotools ``keypoints`` mode).
        drop_zero_score_dets: drop detections whose per-keypoint scores are all 0 (xtcocotools does,
            pycocotools does not).
        gt_id0: ``"match"`` (a match to a GT with annotation id 0 counts, the default) or
            ``"pycocotools"`` (it counts as a false positive, the reference's bug).
        gt_negative_id: a match to a GT with a negative annotation id: ``"match"`` counts it
            (pycocotools and the official CrowdPose API, whose ``dtm`` starts at 0 and tests the
            id for truth; the :func:`coco_params` default) or ``"xtcocotools"`` makes the
            detection a false positive, or ignored when its own area is out of range
            (xtcocotools and faster-coco-eval store the id in a ``-1``-initialised ``dtm`` and
            test ``dtm >= 0``; the :func:`crowdpose_params` default).
        det_area: how a detection's area (for area-range ignoring) is taken: ``"first-result"``
            (pycocotools: bbox w·h for all when the first result has a bbox, else keypoint extent),
            ``"bbox"`` or ``"keypoints"``.
    """

    sigmas: FloatArray
    iou_thrs: FloatArray = field(default_factory=lambda: IOU_THRS.copy())
    rec_thrs: FloatArray = field(default_factory=lambda: REC_THRS.copy())
    max_dets: tuple[int, ...] = (20,)
    area_ranges: tuple[tuple[float, float], ...] = AREA_RANGES
    area_labels: tuple[str, ...] = AREA_LABELS
    use_area: bool = True
    gt_ignore: Literal["num_keypoints", "visible"] = "num_keypoints"
    drop_zero_score_dets: bool = False
    gt_id0: Literal["match", "pycocotools"] = "match"
    gt_negative_id: Literal["match", "xtcocotools"] = "match"
    det_area: Literal["first-result", "bbox", "keypoints"] = "first-result"


@dataclass(frozen=True, eq=False)
class OksMatches:
    """Per-detection and per-ground-truth match records of one OKS evaluation.

    Detections are the evaluated ones (per image, sorted by score, at most ``max_dets``), in
    image order then rank; ground truth in image order then file order.

    Attributes:
        image_ids: (I,) evaluated image ids, sorted.
        det_row: (D,) row of each evaluated detection in the predictions PoseSet.
        det_image: (D,) index into ``image_ids``.
        det_rank: (D,) rank of the detection within its image (0 = highest score).
        det_score: (D,) detection scores.
        det_match: (A, T, D) int32 position in ``gt_row`` of the matched GT, -1 when unmatched
            (the GT PoseSet row is ``gt_row[det_match]``).
        det_ignore: (A, T, D) detection ignored (matched an ignored GT, or unmatched out of range).
        det_tp: (A, T, D) counts as a true positive.
        gt_row: (G,) row in the GT PoseSet.
        gt_image: (G,) index into ``image_ids``.
        gt_ignore: (A, G) ignored ground truth per area range.
        gt_match: (A, T, G) int32 position in ``det_row`` of the matched detection, -1 when
            unmatched; a crowd region absorbing several keeps the last.
        pair_det, pair_gt, pair_oks: (P,) every (detection, GT) pair of the same image as rows of
            the two PoseSets, with its OKS.
    """

    image_ids: IntArray
    det_row: IntArray
    det_image: IntArray
    det_rank: IntArray
    det_score: FloatArray
    det_match: npt.NDArray[np.int32]
    det_ignore: BoolArray
    det_tp: BoolArray
    gt_row: IntArray
    gt_image: IntArray
    gt_ignore: BoolArray
    gt_match: npt.NDArray[np.int32]
    pair_det: IntArray
    pair_gt: IntArray
    pair_oks: FloatArray


@dataclass(frozen=True, eq=False)
class OksResult:
    """Accumulated OKS evaluation of one category.

    Attributes:
        precision: (T, R, A, M) interpolated precision, -1 where undefined (as the reference).
        recall: (T, A, M) recall, -1 where undefined.
        scores: (T, R, A, M) score at each recall point.
        matches: the per-detection and per-GT records.
        params: what was computed.
    """

    precision: FloatArray
    recall: FloatArray
    scores: FloatArray
    matches: OksMatches
    params: OksParams


def _stable_rank_in_group(group: IntArray) -> IntArray:
    """(N,) position of each element within its run of equal, contiguous ``group`` values."""
    n = len(group)
    if n == 0:
        return np.zeros(0, np.int64)
    start = np.r_[True, group[1:] != group[:-1]]
    first = np.maximum.accumulate(np.where(start, np.arange(n), 0))
    return np.arange(n) - first


def prepare_detections(
    dt: PoseSet, params: OksParams, category_id: int, image_ids: IntArray
) -> tuple[IntArray, IntArray, IntArray]:
    """Select, sort and cut detections the way the reference does.

    Returns:
        rows: (D,) rows of ``dt`` kept, ordered by image (as ``image_ids``), then score
            descending, ties in file order (pycocotools' mergesort on -score).
        image_index: (D,) index into ``image_ids``.
        rank: (D,) rank within the image.
    """
    keep = dt.category_id == category_id
    if params.drop_zero_score_dets and dt.keypoint_scores is not None:
        # xtcocotools _prepare: "ignore all-zero keypoints" (no keypoint score > 0).
        keep &= (dt.keypoint_scores > 0).any(axis=1)
    img_idx = np.searchsorted(image_ids, dt.image_id)
    img_idx = np.minimum(img_idx, max(len(image_ids) - 1, 0))
    keep &= image_ids[img_idx] == dt.image_id if len(image_ids) else np.zeros(len(dt), bool)
    if _cocoeval_kernel is not None:
        # the same order by a counting sort on the image and a stable sort within each image
        n = len(dt)
        img = np.where(keep, img_idx, -1).astype(np.int64)
        score = np.ascontiguousarray(dt.score, np.float64)
        rows_o, image_o, rank_o = (
            np.empty(n, np.int64),
            np.empty(n, np.int64),
            np.empty(n, np.int64),
        )
        k = _cocoeval_kernel.order(
            img, score, len(image_ids), params.max_dets[-1], rows_o, image_o, rank_o
        )
        return rows_o[:k], image_o[:k], rank_o[:k]
    rows = np.flatnonzero(keep)
    # Two stable sorts = one lexsort by (image, -score), ties in file order; the image pass is a
    # radix sort when the image index fits in 16 bits.
    by_score = np.argsort(-dt.score[rows], kind="stable")
    img_sorted = img_idx[rows][by_score]
    if len(image_ids) <= np.iinfo(np.uint16).max:
        img_sorted = img_sorted.astype(np.uint16)
    rows = rows[by_score[np.argsort(img_sorted, kind="stable")]]
    image_index = img_idx[rows]
    rank = _stable_rank_in_group(image_index)
    cut = rank < params.max_dets[-1]
    return rows[cut], image_index[cut], rank[cut]


def _det_area(
    dt: PoseSet, rows: IntArray, d_box: FloatArray, params: OksParams, file: str
) -> FloatArray:
    """(D,) detection areas for the area-range test; ``d_box`` are the keypoint boxes."""
    has_bbox = dt.has_bbox()
    mode = params.det_area
    if mode == "first-result":
        # pycocotools COCO.loadRes decides by the first record of the whole results list.
        mode = "bbox" if len(dt) and bool(has_bbox[0]) else "keypoints"
        if mode == "bbox" and not has_bbox[rows].all():
            i = int(rows[np.flatnonzero(~has_bbox[rows])[0]])
            log.warning(
                "%s: results[%d] has no bbox while the first result has one (pycocotools raises "
                "KeyError here); its area is taken from its keypoint extent",
                file,
                i,
            )
    # pycocotools loadRes: (x1 - x0) * (y1 - y0) of the keypoint extent.
    ext = (d_box[:, 2] - d_box[:, 0]) * (d_box[:, 3] - d_box[:, 1])
    if mode == "keypoints":
        return np.asarray(ext, dtype=np.float64)
    bb = dt.bbox[rows]
    return np.where(has_bbox[rows], bb[:, 2] * bb[:, 3], ext).astype(np.float64)


def _gt_scale(gt: PoseSet, rows: IntArray, params: OksParams, file: str) -> FloatArray:
    if params.use_area:
        area = gt.area[rows]
        bad = ~np.isfinite(area)
        if bad.any():
            i = int(rows[np.flatnonzero(bad)[0]])
            raise InputError(
                "missing 'area', needed for the OKS scale (or evaluate with use_area=False)",
                file=file,
                record=f"annotations[{i}]",
                field="area",
            )
        return area
    bb = gt.bbox[rows]
    bad_box = ~np.isfinite(bb).all(axis=1)
    if bad_box.any():
        i = int(rows[np.flatnonzero(bad_box)[0]])
        raise InputError(
            "missing 'bbox', needed for the OKS scale with use_area=False",
            file=file,
            record=f"annotations[{i}]",
            field="bbox",
        )
    # xtcocotools: tmparea = bbox[3] * bbox[2] * 0.53 (w*h == h*w exactly in IEEE arithmetic).
    return bb[:, 3] * bb[:, 2] * 0.53


def _keypoint_boxes(kp: FloatArray) -> FloatArray:
    """(N, 4) ``[xmin, ymin, xmax, ymax]`` over all K keypoints of (N, K, 2+) poses.

    Reduces the strided views in place of gathering or copying: no (N, K) temporary.
    """
    xs, ys = kp[:, :, 0], kp[:, :, 1]
    return np.stack([xs.min(1), ys.min(1), xs.max(1), ys.max(1)], axis=1)


def _det_boxes(kp: FloatArray, rows: IntArray) -> FloatArray:
    """(D, 4) :func:`_keypoint_boxes` of the rows ``rows`` of (N, K, 2+) poses."""
    if not len(rows):
        return np.zeros((0, 4))
    if _cocoeval_kernel is not None and kp.dtype == np.float64 and kp.ndim == 3:
        out = np.empty((len(rows), 4))
        _cocoeval_kernel.boxes(np.ascontiguousarray(kp), np.ascontiguousarray(rows, np.int64), out)
        return out
    return _keypoint_boxes(kp)[rows]


def _gt_boxes(
    gt_kp: FloatArray, g_vis: FloatArray, g_nlab: IntArray, g_bbox: FloatArray
) -> FloatArray:
    """(G, 4) region each GT's keypoint distances are measured to: the box of its labelled
    keypoints, or for GT without labelled keypoints its box doubled (as the reference scores
    those: ``[x - w, x + 2w] x [y - h, y + 2h]``). NaN where that box is unknown."""
    lab = g_vis > 0
    gx = np.where(lab, gt_kp[:, :, 0], np.nan)
    gy = np.where(lab, gt_kp[:, :, 1], np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows of unlabelled GT
        box = np.stack([np.nanmin(gx, 1), np.nanmin(gy, 1), np.nanmax(gx, 1), np.nanmax(gy, 1)], 1)
    unl = g_nlab == 0
    if unl.any():
        bb = g_bbox[unl]
        x0, y0 = bb[:, 0] - bb[:, 2], bb[:, 1] - bb[:, 3]
        x1, y1 = bb[:, 0] + bb[:, 2] * 2, bb[:, 1] + bb[:, 3] * 2
        box[unl] = np.stack([x0, y0, x1, y1], axis=1)
    return np.asarray(box, dtype=np.float64)


#: (detection, GT) pairs generated per block, to keep temporaries small and memory reused.
_PAIR_BLOCK = 1 << 16
#: Pairs whose OKS is computed per block: about 20 (block, K) float64 temporaries live at once,
#: so 8192 pairs keep them near 20 MB whatever the data size.
_OKS_BLOCK = 1 << 13


def _candidate_pairs(
    d_img: IntArray,
    gt_start: IntArray,
    gt_count: IntArray,
    d_box: FloatArray,
    g_box: FloatArray,
    g_scale: FloatArray,
    var_max: float,
    e_max: float | None,
) -> tuple[IntArray, IntArray]:
    """(P,) detection and GT positions of every same-image pair that may reach an OKS of
    ``exp(-e_max)`` (all pairs when ``e_max`` is None).

    Each keypoint lies in its pose's box, so every distance the OKS sums is at least the gap
    between the detection's keypoint box and the GT's region (:func:`_gt_boxes`), and
    OKS <= exp(-gap^2 / (2 s^2 (2 sigma_max)^2)). Pairs whose bound is NaN are kept.
    """
    n_det = len(d_img)
    if n_det == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    per_det = gt_count[d_img]
    ends = np.cumsum(per_det)
    cuts = np.searchsorted(ends, np.arange(_PAIR_BLOCK, int(ends[-1]), _PAIR_BLOCK), side="right")
    bounds = unique(np.r_[0, cuts, n_det])
    out_d, out_g = [], []
    for lo, hi in itertools.pairwise(bounds):
        cnt = per_det[lo:hi]
        p_det = np.repeat(np.arange(lo, hi), cnt)
        offs = np.arange(len(p_det)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        p_gt = np.repeat(gt_start[d_img[lo:hi]], cnt) + offs
        if e_max is not None:
            db, gb = d_box[p_det], g_box[p_gt]
            sep_x = np.maximum(np.maximum(db[:, 0] - gb[:, 2], gb[:, 0] - db[:, 2]), 0.0)
            sep_y = np.maximum(np.maximum(db[:, 1] - gb[:, 3], gb[:, 1] - db[:, 3]), 0.0)
            e_low = (sep_x**2 + sep_y**2) / var_max / (g_scale[p_gt] + np.spacing(1)) / 2
            keep = ~(e_low > e_max)
            p_det, p_gt = p_det[keep], p_gt[keep]
        out_d.append(p_det)
        out_g.append(p_gt)
    return np.concatenate(out_d).astype(np.int64), np.concatenate(out_g).astype(np.int64)


def _oks_in_blocks(
    det_kp: FloatArray,
    det_rows: IntArray,
    gt_kp: FloatArray,
    gt_rows: IntArray,
    g_vis: FloatArray,
    g_pos: IntArray,
    gt_bbox: FloatArray,
    g_scale: FloatArray,
    sigmas: FloatArray,
) -> FloatArray:
    """(P,) OKS of the pairs (det_rows[i], gt_rows[i]), computed _OKS_BLOCK pairs at a time so
    that the gathered (P, K, 2) keypoint copies and the (P, K) temporaries never exist whole
    (memory stays flat at 10x COCO size). Each pair's value is independent of the blocking, so
    the bits are the same."""
    out = np.empty(len(det_rows))
    for lo in range(0, len(det_rows), _OKS_BLOCK):
        hi = lo + _OKS_BLOCK
        dr, gr, gp = det_rows[lo:hi], gt_rows[lo:hi], g_pos[lo:hi]
        out[lo:hi] = oks_pairs(
            det_kp[dr, :, :2], gt_kp[gr, :, :2], g_vis[gp], gt_bbox[gr], g_scale[gp], sigmas
        )
    return out


def _greedy_match_numpy(
    p_det: IntArray,
    p_gt: IntArray,
    p_oks: FloatArray,
    d_img: IntArray,
    d_rank: IntArray,
    g_img: IntArray,
    crowd: BoolArray,
    g_ignore: BoolArray,
    thr: FloatArray,
    g_ann: IntArray,
    params: OksParams,
) -> tuple[npt.NDArray[np.int32], BoolArray, BoolArray, npt.NDArray[np.int32]]:
    """The greedy matching, one detection rank at a time over all images, area ranges and
    thresholds at once (the path without the compiled kernel; the same numbers).

    Args:
        p_det, p_gt, p_oks: (P,) the candidate pairs (detection and GT positions, OKS), ordered
            by detection, then GT.
        d_img, d_rank: (D,) each detection's image index and rank within its image.
        g_img: (G,) each GT's image index.
        crowd: (G,) crowd GT (can match several detections).
        g_ignore: (A, G) GT ignored at each area range.
        thr: (T,) thresholds.
        g_ann: (G,) GT annotation ids (read by the ``gt_id0``/``gt_negative_id`` rules).

    Returns:
        ``det_match`` (A, T, D) int32 GT position or -1, ``det_ignore`` (A, T, D) matched to an
        ignored GT, ``counts_as_match`` (A, T, D) a match that counts, ``gt_match`` (A, T, G)
        int32 detection position or -1.
    """
    n_det, n_gt = len(d_img), len(g_img)
    n_area, n_thr = g_ignore.shape[0], len(thr)
    matched = np.zeros((n_area, n_thr, n_gt), bool)
    det_match = np.full((n_area, n_thr, n_det), -1, np.int32)

    cand = np.flatnonzero(p_oks >= thr.min())  # a pair below every threshold never matches
    c_det, c_gt, c_oks = p_det[cand], p_gt[cand], p_oks[cand]
    c_rank = d_rank[c_det]
    order = np.lexsort((c_gt, c_det, c_rank))
    c_det, c_gt, c_oks, c_rank = c_det[order], c_gt[order], c_oks[order], c_rank[order]
    bounds = np.searchsorted(c_rank, np.arange(params.max_dets[-1] + 1))
    for r in range(params.max_dets[-1]):
        s, e = bounds[r], bounds[r + 1]
        if s == e:
            continue
        bd, bg, bo = c_det[s:e], c_gt[s:e], c_oks[s:e]
        seg = np.flatnonzero(np.r_[True, bd[1:] != bd[:-1]])
        seg_len = np.diff(np.r_[seg, len(bd)])
        pos = np.arange(len(bd))
        ok = (~matched[:, :, bg] | crowd[bg]) & (bo >= thr[:, None])  # (A, T, Pb)
        ign = g_ignore[:, None, bg]  # (A, 1, Pb)
        pick = np.full((n_area, n_thr, len(seg)), -1, np.int64)
        # Regular ground truth first; ignored ground truth only when no regular one matches
        # (pycocotools sorts ignored GT last and breaks once a regular match exists).
        for group in (~ign, ign):
            cg = ok & group
            v = np.where(cg, bo, -1.0)
            best = np.maximum.reduceat(v, seg, axis=2)
            # pycocotools: `if ious < iou: continue` lets an equal later value win -> last max.
            at_best = cg & (v == np.repeat(best, seg_len, axis=2))
            last = np.maximum.reduceat(np.where(at_best, pos, -1), seg, axis=2)
            pick = np.where(pick >= 0, pick, last)
        hit = pick >= 0
        aa, tt, ss = np.nonzero(hit)
        pp = pick[hit]
        matched[aa, tt, bg[pp]] = True
        det_match[aa, tt, bd[seg[ss]]] = bg[pp]

    # ---- ignore flags and true positives
    has = det_match >= 0
    det_ignore = np.zeros((n_area, n_thr, n_det), bool)
    counts_as_match = has.copy()
    if n_gt:
        # One (area, threshold) row at a time, so that no (A, T, D) index array is made (numpy
        # would widen it to intp: 0.45 GB at 10x COCO size). An unmatched detection holds -1,
        # which indexes the last GT; `has` masks that value out.
        for a in range(n_area):
            for t in range(n_thr):
                dm, h = det_match[a, t], has[a, t]
                np.logical_and(h, g_ignore[a, dm], out=det_ignore[a, t])
                if params.gt_id0 == "pycocotools":
                    # pycocotools stores the GT *id* as the match and tests it for truth: id 0
                    # reads unmatched.
                    counts_as_match[a, t] &= g_ann[dm] != 0
                if params.gt_negative_id == "xtcocotools":
                    # xtcocotools: dtm = gt['id'] in a -1-initialised array, tps = dtm >= 0,
                    # fps = dtm < 0; a negative id reads unmatched (then also ignored when the
                    # detection is out of range).
                    counts_as_match[a, t] &= g_ann[dm] >= 0
    gt_match = np.full((n_area, n_thr, n_gt), -1, np.int32)
    aa, tt, dd = np.nonzero(has)
    gt_match[aa, tt, det_match[aa, tt, dd]] = dd
    return det_match, det_ignore, counts_as_match, gt_match


def _greedy_match_kernel(
    p_det: IntArray,
    p_gt: IntArray,
    p_oks: FloatArray,
    d_img: IntArray,
    d_rank: IntArray,
    g_img: IntArray,
    crowd: BoolArray,
    g_ignore: BoolArray,
    thr: FloatArray,
    g_ann: IntArray,
    params: OksParams,
) -> tuple[npt.NDArray[np.int32], BoolArray, BoolArray, npt.NDArray[np.int32]]:
    """:func:`_greedy_match_numpy` by the compiled kernel (``_cocoeval_kernel.c``), image by image,
    the images split into contiguous pieces matched in threads (the kernel releases the GIL).
    Pieces share no image, hence no GT: the numbers do not depend on the thread count."""
    assert _cocoeval_kernel is not None
    n_det, n_gt = len(d_img), len(g_img)
    n_area, n_thr = g_ignore.shape[0], len(thr)
    matched = np.empty((n_area, n_thr, n_gt), np.uint8)
    det_match = np.empty((n_area, n_thr, n_det), np.int32)
    det_ign = np.empty((n_area, n_thr, n_det), np.uint8)
    det_count = np.empty((n_area, n_thr, n_det), np.uint8)
    gt_match = np.empty((n_area, n_thr, n_gt), np.int32)
    id_rule = (1 if params.gt_id0 == "pycocotools" else 0) | (
        2 if params.gt_negative_id == "xtcocotools" else 0
    )
    p_det = np.ascontiguousarray(p_det, np.int64)
    p_gt = np.ascontiguousarray(p_gt, np.int64)
    p_oks = np.ascontiguousarray(p_oks, np.float64)
    crowd_u8 = np.ascontiguousarray(crowd, np.uint8)
    ign_u8 = np.ascontiguousarray(g_ignore, np.uint8)
    thr = np.ascontiguousarray(thr, np.float64)
    g_ann = np.ascontiguousarray(g_ann, np.int64)
    n_img = int(max(d_img[-1] if n_det else -1, g_img[-1] if n_gt else -1)) + 1
    # Pieces: images [i_k, i_{k+1}), cut where the detections split evenly.
    n_pieces = max(1, min(parallel.threads(), n_det // _MATCH_MIN_DETS))
    cut_img = [0]
    for k in range(1, n_pieces):
        i = int(d_img[k * n_det // n_pieces])
        if i > cut_img[-1]:
            cut_img.append(i)
    cut_img.append(n_img)
    img_cuts = np.asarray(cut_img, np.int64)
    d_cut = np.searchsorted(d_img, img_cuts)
    g_cut = np.searchsorted(g_img, img_cuts)
    p_cut = np.searchsorted(p_det, d_cut)

    def work(k: int) -> None:
        _cocoeval_kernel.match(
            int(d_cut[k]), int(d_cut[k + 1]), int(g_cut[k]), int(g_cut[k + 1]),
            int(p_cut[k]), int(p_cut[k + 1]), p_det, p_gt, p_oks, crowd_u8, ign_u8, thr, g_ann,
            id_rule, matched, det_match, det_ign, det_count, gt_match,
        )  # fmt: skip

    n_work = len(img_cuts) - 1
    if n_work == 1:
        work(0)
    else:
        with ThreadPoolExecutor(n_work, thread_name_prefix="posebench-match") as pool:
            list(pool.map(work, range(n_work)))
    return det_match, det_ign.view(bool), det_count.view(bool), gt_match


#: Detections per thread below which the matching runs in one piece.
_MATCH_MIN_DETS = 4096


def match_detections(
    gt: PoseSet,
    dt: PoseSet,
    images: ImageTable,
    params: OksParams,
    *,
    category_id: int = 1,
    gt_file: str = "<ground truth>",
    pred_file: str = "<predictions>",
    keypoint: int | None = None,
    all_pairs: bool = False,
) -> OksMatches:
    """Per-image greedy OKS matching for all area ranges and thresholds at once.

    Args:
        gt: ground truth (visibility, bbox, area, iscrowd, num_keypoints, ann_id used).
        dt: predictions (keypoints, score, bbox, keypoint_scores used).
        images: the images evaluated (pycocotools: every GT image).
        params: see :class:`OksParams`.
        category_id: the category evaluated.
        keypoint: score this keypoint alone (per-keypoint AP, see :func:`keypoint_ap`): OKS
            over that keypoint for ground truth with it labelled; ground truth without it
            labelled is ignored and matched on its whole-pose OKS.
        all_pairs: keep the OKS of every (detection, GT) pair of an image in the records. By
            default pairs that provably cannot reach the lowest threshold are skipped (their OKS
            is below it by a bound from the keypoint boxes) and are absent from ``pair_*``.
    """
    image_ids = unique(images.id)
    n_img = len(image_ids)
    d_rows, d_img, d_rank = prepare_detections(dt, params, category_id, image_ids)
    g_sel = np.flatnonzero((gt.category_id == category_id) & isin(gt.image_id, image_ids))
    g_img_all = np.searchsorted(image_ids, gt.image_id[g_sel])
    g_order = np.argsort(g_img_all, kind="stable")
    g_rows = g_sel[g_order]
    g_img = g_img_all[g_order]
    n_det, n_gt = len(d_rows), len(g_rows)

    vis = gt.visibility if gt.visibility is not None else np.full(gt.keypoints.shape[:2], 2.0)
    if keypoint is not None:
        # Per-keypoint AP: GT with keypoint j labelled is scored on j alone; GT without it is
        # ignored for j and keeps its whole-pose OKS, so that it absorbs the detection of that
        # person (neither TP nor FP), as COCOeval's ignored people without keypoints do.
        lab_j = vis[:, keypoint] > 0
        only = np.zeros(vis.shape[1], bool)
        only[keypoint] = True
        vis = np.where(lab_j[:, None] & ~only[None, :], 0.0, vis)
        no_kp = ~lab_j[g_rows]
    elif params.gt_ignore == "num_keypoints":
        no_kp = gt.num_keypoints[g_rows] == 0
    else:
        no_kp = np.count_nonzero(vis[g_rows] > 0, axis=1) == 0
    crowd = gt.iscrowd[g_rows]
    base_ignore = crowd | no_kp
    g_scale = _gt_scale(gt, g_rows, params, gt_file) if n_gt else np.zeros(0)
    # Area used for the range test: the GT area, or the same 0.53·w·h stand-in (xtcocotools).
    g_area = g_scale

    # ---- OKS of all (detection, GT) pairs of the same image
    gt_start = np.searchsorted(g_img, np.arange(n_img))
    gt_count = np.searchsorted(g_img, np.arange(n_img), side="right") - gt_start
    d_box = _det_boxes(dt.keypoints, d_rows)
    g_vis = vis[g_rows]
    g_nlab = np.count_nonzero(g_vis > 0, axis=1)
    g_box = _gt_boxes(gt.keypoints[g_rows], g_vis, g_nlab, gt.bbox[g_rows])
    var_max = float(((params.sigmas * 2) ** 2).max())
    # A pair can match only if its OKS reaches the lowest threshold; 1e-6 of slack in the
    # exponent keeps rounding from ever dropping a pair at the boundary.
    e_max = None if all_pairs else -np.log(float(np.min(params.iou_thrs))) + 1e-6
    p_det, p_gt = _candidate_pairs(d_img, gt_start, gt_count, d_box, g_box, g_scale, var_max, e_max)
    pg_rows = g_rows[p_gt]
    need_box = g_nlab[p_gt] == 0
    if need_box.any() and not np.isfinite(gt.bbox[pg_rows[need_box]]).all():
        bad = pg_rows[need_box][~np.isfinite(gt.bbox[pg_rows[need_box]]).all(axis=1)]
        raise InputError(
            "ground truth without labelled keypoints needs a 'bbox' to be scored against",
            file=gt_file,
            record=f"annotations[{int(bad[0])}]",
            field="bbox",
        )
    p_oks = _oks_in_blocks(dt.keypoints, d_rows[p_det], gt.keypoints, pg_rows, g_vis, p_gt,
                           gt.bbox, g_scale, params.sigmas)  # fmt: skip

    # ---- greedy matching, then which matches count and which are ignored
    lo = np.array([a[0] for a in params.area_ranges], dtype=np.float64)[:, None]
    hi = np.array([a[1] for a in params.area_ranges], dtype=np.float64)[:, None]
    g_ignore = base_ignore[None, :] | (g_area[None, :] < lo) | (g_area[None, :] > hi)  # (A, G)
    thr = np.minimum(params.iou_thrs, 1 - 1e-10)  # pycocotools: iou = min([t, 1-1e-10])
    g_ann = gt.ann_id[g_rows]
    greedy = _greedy_match_kernel if _cocoeval_kernel is not None else _greedy_match_numpy
    det_match, det_ignore, counts_as_match, gt_match = greedy(
        p_det, p_gt, p_oks, d_img, d_rank, g_img, crowd, g_ignore, thr, g_ann, params
    )
    d_area = _det_area(dt, d_rows, d_box, params, pred_file) if n_det else np.zeros(0)
    out_of_range = (d_area[None, :] < lo) | (d_area[None, :] > hi)  # (A, D)
    det_ignore |= ~counts_as_match & out_of_range[:, None, :]
    det_tp = counts_as_match & ~det_ignore
    return OksMatches(
        image_ids=image_ids,
        det_row=d_rows,
        det_image=d_img,
        det_rank=d_rank,
        det_score=dt.score[d_rows],
        det_match=det_match,
        det_ignore=det_ignore,
        det_tp=det_tp,
        gt_row=g_rows,
        gt_image=g_img,
        gt_ignore=g_ignore,
        gt_match=gt_match,
        pair_det=d_rows[p_det],
        pair_gt=pg_rows,
        pair_oks=p_oks,
    )


def accumulate(
    m: OksMatches, params: OksParams, image_mask: BoolArray | None = None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Precision/recall arrays as pycocotools ``accumulate`` (one category).

    Args:
        m: match records.
        params: the evaluation parameters.
        image_mask: (I,) restrict to these images of ``m.image_ids`` (crowd buckets, bootstrap).

    Returns:
        precision (T, R, A, M), recall (T, A, M), scores (T, R, A, M); -1 where undefined.
    """
    n_thr, n_rec = len(params.iou_thrs), len(params.rec_thrs)
    n_area, n_md = len(params.area_ranges), len(params.max_dets)
    precision = -np.ones((n_thr, n_rec, n_area, n_md))
    recall = -np.ones((n_thr, n_area, n_md))
    scores = -np.ones((n_thr, n_rec, n_area, n_md))
    d_in = np.ones(len(m.det_row), bool) if image_mask is None else image_mask[m.det_image]
    g_in = np.ones(len(m.gt_row), bool) if image_mask is None else image_mask[m.gt_image]
    if not d_in.any() and not g_in.any():
        return precision, recall, scores  # pycocotools: no image has GT or detections
    for mi, max_det in enumerate(params.max_dets):
        sel = np.flatnonzero(d_in & (m.det_rank < max_det))
        d_scores = m.det_score[sel]
        # pycocotools: mergesort on -score over detections concatenated in image order.
        inds = np.argsort(-d_scores, kind="mergesort")
        scores_sorted = d_scores[inds]
        nd = len(inds)
        order = sel[inds]
        if _cocoeval_kernel is not None:
            _accumulate_kernel(m, params, order, scores_sorted, g_in, mi, precision, recall, scores)
            continue
        for a in range(n_area):
            npig = int(np.count_nonzero(~m.gt_ignore[a, g_in]))
            if npig == 0:
                continue
            # One threshold at a time: the (D,) temporaries stay small (at 10x COCO size the
            # (T, D) float64 ones were half a gigabyte each); the arithmetic is elementwise,
            # so the bits are those of the reference's (T, D) computation.
            for t in range(n_thr):
                tp = m.det_tp[a, t, order]
                fp = ~m.det_ignore[a, t, order]
                fp &= ~tp
                # Cumulative counts are integers below 2**53: counted as integers and converted,
                # they are the reference's cumsum(...).astype(float) exactly.
                tp_cnt = np.cumsum(tp, dtype=np.int64)
                fp_cnt = np.cumsum(fp, dtype=np.int64)
                fp_cnt += tp_cnt
                tp_sum = tp_cnt.astype(np.float64)
                rc = tp_sum / npig
                denom = fp_cnt.astype(np.float64)
                denom += np.spacing(1)
                pr = np.divide(tp_sum, denom, out=tp_sum)
                recall[t, a, mi] = rc[-1] if nd else 0
                # Interpolated precision: running maximum from the right (no arithmetic, exact).
                pr = np.maximum.accumulate(pr[::-1])[::-1]
                idx = np.searchsorted(rc, params.rec_thrs, side="left")
                ok = idx < nd
                q = np.zeros(n_rec)
                ss = np.zeros(n_rec)
                q[ok] = pr[idx[ok]]
                ss[ok] = scores_sorted[idx[ok]]
                precision[t, :, a, mi] = q
                scores[t, :, a, mi] = ss
    return precision, recall, scores


def _accumulate_kernel(
    m: OksMatches,
    params: OksParams,
    order: IntArray,
    scores_sorted: FloatArray,
    g_in: BoolArray,
    mi: int,
    precision: FloatArray,
    recall: FloatArray,
    scores: FloatArray,
) -> None:
    """The (area range, threshold) loop of :func:`accumulate` by the compiled kernel, the pairs
    shared among threads (each writes its own cells; the same bits as the numpy loop)."""
    assert _cocoeval_kernel is not None
    n_thr, n_area = len(params.iou_thrs), len(params.area_ranges)
    order = np.ascontiguousarray(order, np.int64)
    scores_sorted = np.ascontiguousarray(scores_sorted, np.float64)
    rec_thrs = np.ascontiguousarray(params.rec_thrs, np.float64)
    tp_u8 = np.ascontiguousarray(m.det_tp).view(np.uint8)
    ign_u8 = np.ascontiguousarray(m.det_ignore).view(np.uint8)
    eps = float(np.spacing(1))
    jobs = []
    for a in range(n_area):
        npig = int(np.count_nonzero(~m.gt_ignore[a, g_in]))
        if npig:
            jobs += [(a, t, npig) for t in range(n_thr)]
    n_rec = len(rec_thrs)

    def work(part: list[tuple[int, int, int]]) -> None:
        scratch = np.empty(2 * len(order))
        q, ss, rc = np.empty(n_rec), np.empty(n_rec), np.empty(1)
        for a, t, npig in part:
            _cocoeval_kernel.accumulate(
                order, tp_u8[a, t], ign_u8[a, t], npig, eps, rec_thrs, scores_sorted,
                q, rc, ss, scratch,
            )  # fmt: skip
            precision[t, :, a, mi] = q
            scores[t, :, a, mi] = ss
            recall[t, a, mi] = rc[0]

    n_work = max(1, min(parallel.threads(), len(jobs), len(order) // _ACC_MIN_DETS))
    if n_work == 1:
        work(jobs)
    else:
        with ThreadPoolExecutor(n_work, thread_name_prefix="posebench-accumulate") as pool:
            list(pool.map(work, [jobs[i::n_work] for i in range(n_work)]))


#: Detections below which accumulate runs in one thread.
_ACC_MIN_DETS = 8192


def summarize_stat(
    precision: FloatArray,
    recall: FloatArray,
    params: OksParams,
    *,
    ap: bool,
    iou_thr: float | None = None,
    area: str = "all",
    max_dets: int = 20,
) -> float:
    """One summary number as pycocotools ``_summarize``: mean over the entries > -1, NaN if none.

    ``precision`` is (T, R, K, A, M) and ``recall`` (T, K, A, M), K categories.
    """
    aind = [i for i, lbl in enumerate(params.area_labels) if lbl == area]
    mind = [i for i, md in enumerate(params.max_dets) if md == max_dets]
    s = precision if ap else recall
    if iou_thr is not None:
        s = s[np.where(iou_thr == params.iou_thrs)[0]]
    s = s[:, :, :, aind, mind] if ap else s[:, :, aind, mind]
    valid = s[s > -1]
    # pycocotools returns -1 for "undefined"; posebench returns NaN.
    return float(np.mean(valid)) if len(valid) else float("nan")


def coco_stats(precision: FloatArray, recall: FloatArray, params: OksParams) -> dict[str, float]:
    """The 10 COCO keypoint statistics (pycocotools ``_summarizeKps``)."""
    md = params.max_dets[-1]

    def s(ap: bool, thr: float | None = None, area: str = "all") -> float:
        return summarize_stat(precision, recall, params, ap=ap, iou_thr=thr, area=area, max_dets=md)

    return {
        "AP": s(True),
        "AP50": s(True, 0.5),
        "AP75": s(True, 0.75),
        "APm": s(True, area="medium"),
        "APl": s(True, area="large"),
        "AR": s(False),
        "AR50": s(False, 0.5),
        "AR75": s(False, 0.75),
        "ARm": s(False, area="medium"),
        "ARl": s(False, area="large"),
    }


def coco_params(sigmas: FloatArray, **overrides: object) -> OksParams:
    """pycocotools ``COCOeval(iouType='keypoints')`` semantics."""
    return OksParams(sigmas=np.asarray(sigmas, dtype=np.float64), **overrides)  # type: ignore[arg-type]


def crowdpose_params(sigmas: FloatArray, **overrides: object) -> OksParams:
    """xtcocotools ``COCOeval(iouType='keypoints_crowd', use_area=False)`` semantics."""
    base: dict[str, object] = {
        "use_area": False,
        "drop_zero_score_dets": True,
        "gt_negative_id": "xtcocotools",
    }
    base.update(overrides)
    return OksParams(sigmas=np.asarray(sigmas, dtype=np.float64), **base)  # type: ignore[arg-type]


@dataclass(frozen=True, eq=False)
class OksEvaluation:
    """A complete OKS evaluation.

    Attributes:
        stats: the headline numbers by name (COCO_STATS or CROWDPOSE_STATS), NaN where undefined.
        precision: (T, R, K, A, M) as pycocotools ``eval['precision']`` (-1 where undefined).
        recall: (T, K, A, M) as pycocotools ``eval['recall']``.
        scores: (T, R, K, A, M).
        category_ids: (K,) the categories, sorted.
        per_category: the match records of each category.
        params: what was computed.
        mode: ``"coco"`` or ``"crowdpose"``.
    """

    stats: dict[str, float]
    precision: FloatArray
    recall: FloatArray
    scores: FloatArray
    category_ids: tuple[int, ...]
    per_category: tuple[OksMatches, ...]
    params: OksParams
    mode: str


def evaluate_oks(
    gt: PoseSet,
    dt: PoseSet,
    images: ImageTable,
    params: OksParams,
    *,
    category_ids: tuple[int, ...] | None = None,
    mode: Literal["coco", "crowdpose"] = "coco",
    crowd_buckets: str | tuple[float, float] = "xtcocotools",
    crowd_ap: Literal["xtcocotools", "valid"] = "xtcocotools",
    gt_file: str = "<ground truth>",
    pred_file: str = "<predictions>",
) -> OksEvaluation:
    """OKS AP/AR of predictions against ground truth, every image of ``images`` evaluated.

    Args:
        gt, dt: ground truth and predictions.
        images: the evaluated images (pycocotools: all images of the GT file).
        params: :func:`coco_params` or :func:`crowdpose_params`, possibly changed.
        category_ids: categories to evaluate (default: those of the GT, sorted).
        mode: ``"coco"`` gives COCO_STATS, ``"crowdpose"`` CROWDPOSE_STATS.
        crowd_buckets: name in CROWD_BUCKETS or explicit (first, second) edges.
        crowd_ap: ``"xtcocotools"`` averages the bucket precision including -1 entries and rounds
            to 4 decimals, as xtcocotools ``get_type_result`` (published numbers); ``"valid"``
            averages only defined entries, unrounded, NaN for an empty bucket.
    """
    cats = tuple(sorted(set(gt.category_id.tolist()))) if category_ids is None else category_ids
    per_cat = []
    n_t, n_r = len(params.iou_thrs), len(params.rec_thrs)
    n_a, n_m = len(params.area_ranges), len(params.max_dets)
    precision = -np.ones((n_t, n_r, len(cats), n_a, n_m))
    recall = -np.ones((n_t, len(cats), n_a, n_m))
    scores = -np.ones((n_t, n_r, len(cats), n_a, n_m))
    for k, cat in enumerate(cats):
        m = match_detections(
            gt, dt, images, params, category_id=cat, gt_file=gt_file, pred_file=pred_file
        )
        per_cat.append(m)
        precision[:, :, k], recall[:, k], scores[:, :, k] = accumulate(m, params)
    md = params.max_dets[-1]

    def s(ap: bool, thr: float | None = None, area: str = "all") -> float:
        return summarize_stat(precision, recall, params, ap=ap, iou_thr=thr, area=area, max_dets=md)

    if mode == "coco":
        stats = coco_stats(precision, recall, params)
    elif mode == "crowdpose":
        stats = {
            "AP": s(True),
            "AP50": s(True, 0.5),
            "AP75": s(True, 0.75),
            "AR": s(False),
            "AR50": s(False, 0.5),
            "AR75": s(False, 0.75),
        }
        stats.update(
            crowd_bucket_ap(per_cat, images, params, crowd_buckets, crowd_ap, gt_file=gt_file)
        )
    else:
        raise ValueError(f"unknown mode {mode!r}; expected 'coco' or 'crowdpose'")
    return OksEvaluation(
        stats=stats,
        precision=precision,
        recall=recall,
        scores=scores,
        category_ids=cats,
        per_category=tuple(per_cat),
        params=params,
        mode=mode,
    )


def crowd_bucket_edges(buckets: str | tuple[float, float]) -> tuple[float, float]:
    """(first, second) edges: easy < first <= medium < second <= hard.

    Args:
        buckets: a name in ``CROWD_BUCKETS`` or explicit edges.
    """
    if isinstance(buckets, str):
        try:
            return CROWD_BUCKETS[buckets]
        except KeyError:
            raise ValueError(
                f"unknown crowd buckets {buckets!r}; known: {', '.join(CROWD_BUCKETS)}"
            ) from None
    first, second = (float(v) for v in buckets)
    if not first <= second:
        raise ValueError(f"crowd bucket edges must satisfy first <= second, got {buckets}")
    return first, second


def crowd_bucket_ap(
    per_cat: list[OksMatches],
    images: ImageTable,
    params: OksParams,
    buckets: str | tuple[float, float] = "xtcocotools",
    crowd_ap: Literal["xtcocotools", "valid"] = "xtcocotools",
    *,
    gt_file: str = "<ground truth>",
) -> dict[str, float]:
    """AP_easy / AP_medium / AP_hard by image crowd index (CrowdPose).

    Matching is per image, so a bucket's AP only re-accumulates the bucket's images (xtcocotools
    re-runs the whole evaluation on each bucket's image list, with the same result).
    """
    first, second = crowd_bucket_edges(buckets)
    ci = images.crowd_index[np.argsort(images.id)]  # aligned with the sorted, unique image_ids
    if np.isnan(ci).any():
        i = int(np.flatnonzero(np.isnan(images.crowd_index))[0])
        raise InputError(
            "missing crowd index (CrowdPose mode needs images[].crowdIndex)",
            file=gt_file,
            record=f"images[{i}]",
            field="crowdIndex",
        )
    masks = {
        "AP_easy": ci < first,
        "AP_medium": (ci >= first) & (ci < second),
        "AP_hard": ci >= second,
    }
    out: dict[str, float] = {}
    for name, mask in masks.items():
        prec = np.stack([accumulate(m, params, mask)[0] for m in per_cat], axis=2)
        score = prec[:, :, :, 0, :]  # xtcocotools: eval['precision'][:, :, :, 0, :], area "all"
        if crowd_ap == "xtcocotools":
            # xtcocotools get_type_result: np.mean over every entry, -1 ("undefined") included,
            # then round(..., 4).
            out[name] = float(round(np.mean(score), 4))
        else:
            valid = score[score > -1]
            out[name] = float(np.mean(valid)) if len(valid) else float("nan")
    return out


def keypoint_ap(
    gt: PoseSet,
    dt: PoseSet,
    images: ImageTable,
    params: OksParams,
    names: tuple[str, ...],
    *,
    category_id: int = 1,
) -> dict[str, float]:
    """AP (OKS 0.50:0.95, all areas) of each keypoint scored alone.

    For keypoint j, a detection's OKS to a ground truth with j labelled (``v > 0``) is the
    similarity of that one keypoint (COCOeval's OKS over the single keypoint j). Ground truth
    with j unlabelled (``v = 0``) is *ignored for j*, as COCOeval ignores people without labelled
    keypoints: it is matched on its whole-pose OKS (after the regular ground truth, as ignored
    ground truth always is), and a detection matched to it is neither a true nor a false
    positive. Crowd regions are ignored as usual. So the ground truth scored as its own
    prediction gives AP 1 on every keypoint, and where every person has j labelled the value is
    exactly pycocotools on the file with every other keypoint set to ``v = 0``
    (tests/test_keypoint_ap.py). NaN where a keypoint is never labelled.

    Args:
        gt, dt: ground truth and predictions.
        images: the evaluated images.
        params: the evaluation parameters (``gt_ignore`` is replaced by the rule above).
        names: K keypoint names, the keys of the result.
        category_id: the category evaluated.

    Returns:
        ``{name: AP}`` in keypoint order.
    """
    out = {}
    for j, name in enumerate(names):
        m = match_detections(gt, dt, images, params, category_id=category_id, keypoint=j)
        prec = accumulate(m, params)[0][:, :, 0, -1]
        valid = prec[prec > -1]
        out[name] = float(np.mean(valid)) if len(valid) else float("nan")
    return out


# ----------------------------------------------------------------------------- COCO-WholeBody

#: The six COCO-WholeBody evaluations, in mmpose's order: each part, then all 133 keypoints.
WHOLEBODY_EVALS = ("body", "foot", "face", "lefthand", "righthand", "wholebody")


def wholebody_params(sigmas: FloatArray, **overrides: object) -> OksParams:
    """xtcocotools ``COCOeval(iouType='keypoints_<part>', sigmas, use_area=True)`` semantics.

    GT ignored when it has no ``v > 0`` keypoint in the part (or is a crowd), detections
    dropped when every keypoint score of the part is 0, scale from the GT ``area``; the
    detection area is given by :func:`evaluate_wholebody` (``det_area="bbox"``).
    """
    base: dict[str, object] = {
        "use_area": True,
        "gt_ignore": "visible",
        "drop_zero_score_dets": True,
        "gt_negative_id": "xtcocotools",
        "det_area": "bbox",
    }
    base.update(overrides)
    return OksParams(sigmas=np.asarray(sigmas, dtype=np.float64), **base)  # type: ignore[arg-type]


def _wholebody_det_boxes(dt: PoseSet, file: str) -> FloatArray:
    """(N, 4) boxes whose w*h is the detection area xtcocotools ``loadRes`` gives each result:
    the ``bbox`` when the *first* result has one, else the extent of the 17 *body* keypoints
    (``ann['keypoints']`` alone, whatever part is evaluated), as ``[x0, y0, x1 - x0, y1 - y0]``."""
    has = dt.has_bbox()
    body = dt.keypoints[:, :17]
    x0, x1 = body[:, :, 0].min(axis=1), body[:, :, 0].max(axis=1)
    y0, y1 = body[:, :, 1].min(axis=1), body[:, :, 1].max(axis=1)
    ext = np.stack([x0, y0, x1 - x0, y1 - y0], axis=1)
    if len(dt) and bool(has[0]):
        if not has.all():
            log.warning(
                "%s: results[%d] has no bbox while the first result has one (xtcocotools raises "
                "KeyError here); its area is taken from its body keypoints' extent",
                file,
                int(np.flatnonzero(~has)[0]),
            )
        return np.where(has[:, None], dt.bbox, ext)
    return ext


def evaluate_wholebody(
    gt: PoseSet,
    dt: PoseSet,
    images: ImageTable,
    *,
    sigmas: FloatArray | None = None,
    max_dets: int = 20,
    evals: tuple[str, ...] = WHOLEBODY_EVALS,
    category_ids: tuple[int, ...] | None = None,
    gt_file: str = "<ground truth>",
    pred_file: str = "<predictions>",
) -> dict[str, OksEvaluation]:
    """COCO-WholeBody OKS AP/AR, bit-identical to xtcocotools 1.14.3 as mmpose calls it.

    Each of ``body``, ``foot``, ``face``, ``lefthand``, ``righthand`` is an evaluation of its
    own keypoints with its own sigmas (xtcocotools ``keypoints_<part>``), ``wholebody`` one of
    all 133 (``keypoints_wholebody``). Per evaluation: GT without a labelled keypoint *in that
    part* is ignored; detections with all keypoint scores of the part 0 are dropped; detections
    are ranked by ``<part>_score`` where the result has it (``extra["score_<part>"]``), else
    by ``score`` (the body always by ``score``); the OKS scale and the area ranges use the GT
    ``area``; a detection's area is its ``bbox`` w*h when the first result has a bbox, else the
    extent of its 17 body keypoints (``loadRes`` reads ``keypoints`` only); a match to a
    negative GT id is a false positive.

    Args:
        gt: (N, 133) ground truth (:func:`posebench.formats.coco_wholebody.read_wholebody_gt`).
        dt: (M, 133) predictions (``read_wholebody_results``).
        images: the evaluated images.
        sigmas: (133,) OKS sigmas (default: ``coco_wholebody133``, mmpose's).
        max_dets: detections kept per image.
        evals: which of :data:`WHOLEBODY_EVALS` to run.

    Returns:
        ``{name: OksEvaluation}`` in ``evals`` order, each with the 10 COCO statistics.
    """
    from posebench.skeletons import COCO_WHOLEBODY133, WHOLEBODY_PARTS

    k = COCO_WHOLEBODY133.num_keypoints
    for name, p in (("ground truth", gt), ("predictions", dt)):
        if p.num_joints != k:
            raise InputError(
                f"COCO-WholeBody evaluation needs {k} keypoints, the {name} have {p.num_joints}",
                file=gt_file if p is gt else pred_file,
            )
    sig = COCO_WHOLEBODY133.oks_sigmas() if sigmas is None else np.asarray(sigmas, np.float64)
    if sig.shape != (k,):
        raise ValueError(f"sigmas must be ({k},), got {sig.shape}")
    unknown = [e for e in evals if e not in WHOLEBODY_EVALS]
    if unknown:
        raise ValueError(f"unknown WholeBody evaluation {unknown}; known: {WHOLEBODY_EVALS}")
    vis = gt.visibility if gt.visibility is not None else np.full((len(gt), k), 2.0)
    kps = dt.keypoint_scores if dt.keypoint_scores is not None else np.ones((len(dt), k))
    det_box = _wholebody_det_boxes(dt, pred_file)
    out = {}
    for name in evals:
        a, b = WHOLEBODY_PARTS.get(name, (0, k))
        part_vis = vis[:, a:b]
        g = gt.with_columns(
            keypoints=gt.keypoints[:, a:b],
            visibility=part_vis,
            num_keypoints=np.count_nonzero(part_vis > 0, axis=1).astype(np.int64),
        )
        score = dt.score
        own = dt.extra.get(f"score_{name}")
        if name != "body" and own is not None:
            # xtcocotools: dt[score_key] = dt['score'] where a result lacks its part score
            score = np.where(np.isnan(own), dt.score, own)
        d = dt.with_columns(
            keypoints=dt.keypoints[:, a:b],
            keypoint_scores=kps[:, a:b],
            score=score,
            bbox=det_box,
            extra={**dt.extra, "has_bbox": np.ones(len(dt), bool)},
        )
        params = wholebody_params(sig[a:b], max_dets=(max_dets,))
        out[name] = evaluate_oks(
            g,
            d,
            images,
            params,
            category_ids=category_ids,
            mode="coco",
            gt_file=gt_file,
            pred_file=pred_file,
        )
    return out
