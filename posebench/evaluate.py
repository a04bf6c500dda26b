"""Metrics of one (predictions, ground truth) pair as a run records them.

The runner calls :func:`evaluate_metric` once per metric of the suite and per condition; each call
returns a :class:`MetricBlock`: headline values, bootstrap intervals, the signature, per-image
records, breakdowns, and for OKS the match records that ``posebench compare`` pairs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from posebench.errors import InputError
from posebench.metrics import table as metric_table
from posebench.metrics.cocoeval import OksMatches
from posebench.poseset import ImageTable, PoseSet
from posebench.signature import make_signature, sigmas_name
from posebench.skeletons import Skeleton

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class MetricBlock:
    """What one metric computed on one condition.

    Attributes:
        name: the metric's suite name (``oks``, ``pckh``...).
        key: unique within a suite: the name plus what tells two of its kind apart
            (``pckh@0.5``, ``pck@0.2/torso``, ``mpjpe/procrustes``); see :func:`metric_key`.
        values: headline numbers by key (``AP``, ``AP50``, ``PCKh``...), NaN where undefined.
        ci: bootstrap intervals by key (``BootstrapCI.as_dict()``), only for the keys it covers.
        signature: what the numbers mean.
        higher_is_better: direction of the headline values.
        per_image: per-image columns ``image_id`` (I,) plus metric columns (I,), for the
            per-sample records.
        per_joint: per-keypoint values (name -> value), where the metric has them.
        breakdowns: name -> label -> values.
        matches: OKS match records per category (for paired comparisons), else empty.
    """

    name: str
    key: str
    values: dict[str, float]
    ci: dict[str, dict[str, Any]]
    signature: str
    higher_is_better: bool
    per_image: dict[str, np.ndarray]
    per_joint: dict[str, float] = field(default_factory=dict)
    breakdowns: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    matches: tuple[OksMatches, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (NaN as null)."""
        return {
            "values": {k: _num(v) for k, v in self.values.items()},
            "ci": {
                k: {a: _num(b) if isinstance(b, float) else b for a, b in v.items()}
                for k, v in self.ci.items()
            },
            "signature": self.signature,
            "higher_is_better": self.higher_is_better,
            "per_joint": {k: _num(v) for k, v in self.per_joint.items()},
            "breakdowns": {
                b: {lbl: {k: _num(v) for k, v in row.items()} for lbl, row in t.items()}
                for b, t in self.breakdowns.items()
            },
        }


def metric_key(spec: Mapping[str, Any]) -> str:
    """The results key of a suite metric entry: ``oks``, ``pckh@0.5``, ``pck@0.2/torso``,
    ``pcp@0.5``, ``pdj@0.2``, ``mpjpe``, ``mpjpe/procrustes``: the first results key of the row
    it selects, then ``@threshold`` and ``/normalizer`` for a row with those options."""
    row = metric_table.for_suite_entry(spec)
    key = row.result_keys[0]
    if "threshold" in row.defaults:
        thr = spec.get("threshold")
        key += f"@{float(row.defaults['threshold'] if thr is None else thr):g}"
    if "normalizer" in row.defaults:
        key += f"/{spec.get('normalizer') or row.defaults['normalizer']}"
    return key


def _num(v: float) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def evaluate_metric(
    spec: Mapping[str, Any],
    gt: PoseSet,
    pred: PoseSet,
    images: ImageTable,
    skeleton: Skeleton,
    *,
    box_source: str,
    gt_rows: IntArray | None = None,
    n_boot: int = 0,
    seed: int = 0,
    breakdowns: tuple[str, ...] = (),
) -> MetricBlock:
    """Compute the metric described by ``spec`` (a suite metric entry as a dict).

    Args:
        spec: ``{"name": "oks", "mode": "coco"}``, ``{"name": "pckh", "threshold": 0.5}``...
        gt, pred: ground truth and predictions of the evaluated images.
        images: the evaluated images (every one counts, with or without people).
        skeleton: the keypoint layout of both.
        gt_rows: (G,) dataset rows of ``gt`` (pairs predictions that carry ``gt_row``).
        box_source: ``gt``, ``detector``... (recorded in the signature).
        n_boot: bootstrap replicates for the intervals (0: none).
        seed: bootstrap seed.
        breakdowns: ``crowd``, ``size``, ``keypoints`` (OKS only).
    """
    name = str(spec["name"])
    if not spec.get("ci", True):
        n_boot = 0
    if pred.num_joints != gt.num_joints and len(pred):
        raise InputError(
            f"the adapter returns {pred.num_joints} keypoints, the dataset has {gt.num_joints}",
            field="--adapter",
        )
    if not metric_table.family_rows(name):
        raise InputError(f"unknown metric {name!r}", field="metrics")
    if metric_table.for_suite_entry(spec).persons == "multi":
        return _oks(spec, gt, pred, images, skeleton, box_source, n_boot, seed, breakdowns)
    return _single(spec, gt, pred, images, skeleton, gt_rows, box_source, n_boot, seed)


# ----------------------------------------------------------------------------------------- OKS


def _oks(
    spec: Mapping[str, Any],
    gt: PoseSet,
    pred: PoseSet,
    images: ImageTable,
    skeleton: Skeleton,
    box_source: str,
    n_boot: int,
    seed: int,
    breakdowns: tuple[str, ...],
) -> MetricBlock:
    from posebench.metrics import breakdown as bd
    from posebench.metrics import cocoeval

    row = metric_table.for_suite_entry(spec)
    mode = str(row.options["mode"])
    sigmas = skeleton.oks_sigmas()
    params = row.resolve_params()(sigmas)
    need_crowd = "crowd" in breakdowns or "crowd_index" in row.needs
    if need_crowd and len(images) and np.isnan(images.crowd_index).any():
        from posebench.metrics.crowd import crowd_index

        # CrowdPose's definition, computed from the GT where the file has no crowdIndex
        have = images.crowd_index
        images = replace(
            images, crowd_index=np.where(np.isnan(have), crowd_index(gt, images), have)
        )
    dt = pred
    ev = cocoeval.evaluate_oks(gt, dt, images, params, category_ids=(1,), mode=mode)  # type: ignore[arg-type]
    ci: dict[str, dict[str, Any]] = {}
    if n_boot > 0 and len(images):
        from posebench.metrics.bootstrap import bootstrap_oks

        ci = {
            k: v.as_dict()
            for k, v in bootstrap_oks(
                list(ev.per_category), params, n_boot=n_boot, seed=seed
            ).items()
        }
    per_joint = cocoeval.keypoint_ap(gt, dt, images, params, skeleton.keypoints, category_id=1)
    tables: dict[str, dict[str, dict[str, float]]] = {}
    for b in breakdowns:
        if b == "crowd":
            # images without a person have no crowd index: their false positives count as easy
            res = bd.crowd_breakdown(list(ev.per_category), images, params, missing="easy")
        elif b == "size":
            res = bd.area_breakdown(gt, dt, images, params)
        elif b == "keypoints":
            res = bd.keypoint_count_breakdown(gt, dt, images, params)
        else:
            raise InputError(f"unknown breakdown {b!r}", field="breakdowns")
        tables[b] = {lbl: dict(row) for lbl, row in res.as_dict().items()}
    parts = {
        "mode": mode,
        "sigmas": sigmas_name(sigmas),
        "scale": "area" if params.use_area else "bbox",
        "maxdets": str(params.max_dets[-1]),
        "boxes": box_source,
    }
    return MetricBlock(
        name=row.signature_name,
        key=metric_key(spec),
        values=dict(ev.stats),
        ci=ci,
        signature=make_signature(row.signature_name, parts),
        higher_is_better=row.higher_is_better,
        per_image=_oks_per_image(ev.per_category[0], images),
        per_joint=per_joint,
        breakdowns=tables,
        matches=tuple(ev.per_category),
    )


def _oks_per_image(m: OksMatches, images: ImageTable) -> dict[str, np.ndarray]:
    """Per image: GT counted, detections evaluated, mean OKS of each counted GT's match at
    OKS 0.5 (0 when unmatched), and the number matched at 0.5 and 0.75."""
    n = len(m.image_ids)
    counted = ~m.gt_ignore[0]
    n_gt = np.bincount(m.gt_image[counted], minlength=n)
    n_dt = np.bincount(m.det_image, minlength=n)
    match50 = m.gt_match[0, 0]
    oks = np.zeros(len(m.gt_row))
    hit = match50 >= 0
    if hit.any() and len(m.pair_oks):
        # OKS of each matched (det, gt) pair, looked up among the image's candidate pairs
        key_pairs = m.pair_det * (len(m.gt_row) + 1 + int(m.gt_row.max(initial=0))) + m.pair_gt
        order = np.argsort(key_pairs)
        width = len(m.gt_row) + 1 + int(m.gt_row.max(initial=0))
        want = m.det_row[match50[hit]] * width + m.gt_row[hit]
        pos = np.searchsorted(key_pairs[order], want)
        pos = np.clip(pos, 0, len(order) - 1)
        found = key_pairs[order][pos] == want
        vals = np.where(found, m.pair_oks[order][pos], np.nan)
        oks[hit] = vals
    oks_sum = np.bincount(m.gt_image[counted], weights=oks[counted], minlength=n)
    m75 = m.gt_match[0, min(5, m.gt_match.shape[1] - 1)] >= 0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_oks = np.where(n_gt > 0, oks_sum / np.maximum(n_gt, 1), np.nan)
    return {
        "image_id": m.image_ids.astype(np.int64),
        "n_gt": n_gt.astype(np.int64),
        "n_pred": n_dt.astype(np.int64),
        "matched50": np.bincount(m.gt_image[counted & hit], minlength=n).astype(np.int64),
        "matched75": np.bincount(m.gt_image[counted & m75], minlength=n).astype(np.int64),
        "mean_oks": mean_oks,
    }


# ------------------------------------------------------------------------------ single person


def pair_with_gt(
    gt: PoseSet, pred: PoseSet, gt_rows: IntArray | None = None
) -> tuple[FloatArray, FloatArray]:
    """Each GT row's prediction: (G, K, D) coordinates (NaN where none) and (G,) scores.

    Predictions made from GT boxes carry ``extra["gt_row"]``, the dataset GT row of their box
    (the runner sets it); ``gt_rows`` (G,) are the dataset rows of ``gt`` (default 0..G-1).
    Other predictions are assigned greedily by the IoU of their box (or keypoint extent) with
    the GT box, highest score first, each used at most once.
    """
    g, k = len(gt), gt.num_joints
    d = pred.keypoints.shape[2] if len(pred) else gt.keypoints.shape[2]
    out = np.full((g, k, d), np.nan)
    score = np.full(g, np.nan)
    if not len(pred):
        return out, score
    rows_of_gt = np.arange(g) if gt_rows is None else np.asarray(gt_rows, np.int64)
    assigned = np.zeros(len(pred), bool)
    if "gt_row" in pred.extra:
        want = np.asarray(pred.extra["gt_row"], np.int64)
        pos = np.clip(np.searchsorted(rows_of_gt, want), 0, max(g - 1, 0))
        ok = (want >= 0) & (rows_of_gt[pos] == want) if g else np.zeros(len(pred), bool)
        out[pos[ok]] = pred.keypoints[ok]
        score[pos[ok]] = pred.score[ok]
        assigned = want >= 0
    rest = np.flatnonzero(~assigned)
    if not len(rest):
        return out, score
    gbox = _boxes_of(gt)
    pbox = _boxes_of(pred)
    taken = ~np.isnan(score)
    for img in np.unique(gt.image_id):
        gi = np.flatnonzero((gt.image_id == img) & ~taken)
        pi = rest[pred.image_id[rest] == img]
        if not len(pi) or not len(gi):
            continue
        pi = pi[np.argsort(-np.nan_to_num(pred.score[pi], nan=0.0), kind="stable")]
        iou = _iou(pbox[pi], gbox[gi])
        used = np.zeros(len(gi), bool)
        for r, p in enumerate(pi):
            cand = np.where(used, -1.0, iou[r])
            j = int(np.argmax(cand))
            if cand[j] > 0:
                used[j] = True
                out[gi[j]] = pred.keypoints[p]
                score[gi[j]] = pred.score[p]
    return out, score


def _boxes_of(p: PoseSet) -> FloatArray:
    box = np.array(p.bbox, dtype=np.float64)
    bad = ~np.isfinite(box).all(axis=1)
    if bad.any():
        xy = p.keypoints[bad, :, :2]
        lo, hi = np.nanmin(xy, axis=1), np.nanmax(xy, axis=1)
        box[bad] = np.concatenate([lo, hi - lo], axis=1)
    return box


def _iou(a: FloatArray, b: FloatArray) -> FloatArray:
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2[:, None], bx2) - np.maximum(a[:, 0:1], b[:, 0]), 0, None)
    ih = np.clip(np.minimum(ay2[:, None], by2) - np.maximum(a[:, 1:2], b[:, 1]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + b[:, 2] * b[:, 3] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.nan_to_num(inter / union), dtype=np.float64)


def _single(
    spec: Mapping[str, Any],
    gt: PoseSet,
    pred: PoseSet,
    images: ImageTable,
    skeleton: Skeleton,
    gt_rows: IntArray | None,
    box_source: str,
    n_boot: int,
    seed: int,
) -> MetricBlock:
    from posebench.metrics import pck as pckm
    from posebench.metrics.bootstrap import bootstrap_mean, bootstrap_ratio

    row = metric_table.for_suite_entry(spec)
    name = row.signature_name
    # what the row needs says which kind of metric it is: 3D joints (MPJPE), head boxes (PCKh:
    # two means, head-size normaliser), limbs (PCP); the rest are PCK-style (PCK, PDJ)
    head = "head_boxes" in row.needs
    limbs = "limbs" in row.needs
    p_all, _ = pair_with_gt(gt, pred, gt_rows)
    keep = ~gt.iscrowd
    gt = gt.take(np.flatnonzero(keep))
    p = p_all[keep]
    vis = gt.visibility > 0 if gt.visibility is not None else np.ones(gt.keypoints.shape[:2], bool)
    ci: dict[str, dict[str, Any]] = {}
    per_joint: dict[str, float] = {}
    n_img = len(images)
    img_index = np.searchsorted(images.id, gt.image_id)
    if row.dims == 3:
        from posebench.metrics import mpjpe as m

        align = str(spec.get("align", "root"))
        pr = np.nan_to_num(p, nan=0.0)
        if align == "procrustes":
            err = m.pa_mpjpe(pr, gt.keypoints, mask=vis)
        else:
            err = m.mpjpe(pr, gt.keypoints, mask=vis, root=0 if align == "root" else None)
        key = row.headline
        values = {key: float(np.nanmean(err)) if len(err) else math.nan}
        # per joint: mean error of each joint over the frames where it is valid
        if align == "procrustes":
            joint_err = m.pa_mpjpe(pr, gt.keypoints, mask=vis, reduce="joint")
        else:
            root = 0 if align == "root" else None
            joint_err = m.mpjpe(pr, gt.keypoints, mask=vis, root=root, reduce="joint")
        per_joint_err = (
            {n: float(v) for n, v in zip(skeleton.keypoints, joint_err, strict=True)}
            if len(err)
            else {}
        )
        if n_boot and len(err):
            ci[key] = bootstrap_mean(err, n_boot=n_boot, seed=seed).as_dict()
        per_img = np.bincount(img_index, weights=np.nan_to_num(err), minlength=n_img)
        cnt = np.bincount(img_index, minlength=n_img)
        with np.errstate(invalid="ignore", divide="ignore"):
            cols = {"mean_error": per_img / cnt}
        parts = {"align": align, "unit": "mm"}
        return MetricBlock(
            name=name,
            key=metric_key(spec),
            values=values,
            ci=ci,
            signature=make_signature(name, parts),
            higher_is_better=row.higher_is_better,
            per_joint=per_joint_err,
            per_image={
                "image_id": images.id.astype(np.int64),
                "n_gt": cnt.astype(np.int64),
                **cols,
            },
        )
    threshold = float(spec.get("threshold", row.defaults["threshold"]))
    xy = gt.keypoints[:, :, :2]
    if head:
        hb = gt.extra.get("headbox")
        kind = "head_box" if hb is not None else "head_segment"
        norm = pckm.normaliser(kind, xy, vis, skeleton, headboxes=hb)  # type: ignore[arg-type]
    elif "normalizer" in row.defaults:
        kind = str(spec.get("normalizer") or row.defaults["normalizer"])
        norm = pckm.normaliser(kind, xy, vis, skeleton, bbox=_boxes_of(gt))  # type: ignore[arg-type]
    else:
        kind = "torso"
        norm = pckm.normaliser("torso", xy, vis, skeleton)
    if head:
        # The two MPII means over all joints but pelvis and thorax, the published one first:
        # PCKh_joint_avg (plain mean of the per-joint rates, the papers' "Mean") and
        # PCKh_pooled (correct / labelled, HRNet's and mmpose's "Mean").
        joints = pckm.mean_joints(skeleton)
        in_mean = np.zeros(skeleton.num_keypoints, bool)
        in_mean[joints] = True
        res = pckm.pck(p[:, :, :2], xy, vis & in_mean[None, :], norm, threshold)
        key = "PCKh_pooled"
        values = {
            "PCKh_joint_avg": 100 * pckm.joint_average(res.correct, res.evaluable, joints),
            "PCKh_pooled": 100 * res.overall,
        }
        every = pckm.pck(p[:, :, :2], xy, vis, norm, threshold).per_joint  # pelvis, thorax too
        per_joint = {n: 100 * float(v) for n, v in zip(skeleton.keypoints, every, strict=True)}
        correct, evaluable = res.correct, res.evaluable
        if n_boot and len(gt):
            c = pckm.bootstrap_joint_average(correct, evaluable, joints, n_boot=n_boot, seed=seed)
            ci["PCKh_joint_avg"] = {
                a: (100 * b if a in ("estimate", "low", "high", "std") else b)
                for a, b in c.as_dict().items()
            }
    elif not limbs:
        res = pckm.pck(p[:, :, :2], xy, vis, norm, threshold)
        key = row.headline
        values = {key: 100 * res.overall}
        per_joint = {
            n: 100 * float(v) for n, v in zip(skeleton.keypoints, res.per_joint, strict=True)
        }
        correct, evaluable = res.correct, res.evaluable
    else:
        from posebench.metrics import pcp as pcpm

        r = pcpm.pcp(p[:, :, :2], xy, vis, skeleton, alpha=threshold)
        values = {row.headline: 100 * float(r.overall)}
        # per stick (PCP scores limbs): keyed by the stick's name
        per_joint = {n: 100 * float(v) for n, v in zip(r.names, r.per_limb, strict=True)}
        correct, evaluable = r.correct, r.evaluable
        key = row.headline
    if n_boot and len(gt):
        c = bootstrap_ratio(correct.sum(axis=1), evaluable.sum(axis=1), n_boot=n_boot, seed=seed)
        ci[key] = {
            a: (100 * b if a in ("estimate", "low", "high", "std") else b)
            for a, b in c.as_dict().items()
        }
    n_c = np.bincount(img_index, weights=correct.sum(axis=1), minlength=n_img)
    n_e = np.bincount(img_index, weights=evaluable.sum(axis=1), minlength=n_img)
    parts = {"skeleton": skeleton.name, "thr": str(threshold), "norm": kind, "boxes": box_source}
    if head:  # what its two means average (runs before them recorded one "PCKh")
        parts["mean"] = "joint_avg+pooled:no-pelvis-thorax"
    return MetricBlock(
        name=name,
        key=metric_key(spec),
        values=values,
        ci=ci,
        signature=make_signature(name, parts),
        higher_is_better=row.higher_is_better,
        per_joint=per_joint,
        per_image={
            "image_id": images.id.astype(np.int64),
            "correct": n_c.astype(np.int64),
            "evaluable": n_e.astype(np.int64),
        },
    )


# ------------------------------------------------------------------------ occluded keypoints


def occluded_keypoints(
    gt: PoseSet,
    pred: PoseSet,
    images: ImageTable,
    skeleton: Skeleton,
    covered: npt.NDArray[np.bool_],
    matches: OksMatches,
    *,
    box_source: str,
    n_boot: int = 0,
    seed: int = 0,
) -> MetricBlock:
    """Keypoint similarity on the keypoints an occluder covered, and on the others.

    Persons are paired as the OKS evaluation paired them (the detection matched to each counted
    GT at OKS 0.5); each labelled keypoint then scores its COCO keypoint similarity
    ``exp(-d^2 / (2 s^2 k^2))`` (0 when the person was not matched). ``KS_occluded`` averages it
    over covered keypoints, ``KS_other`` over the rest, ``PCK_occluded`` counts covered keypoints
    with similarity >= 0.5. An exact model scores 1.0 on each.

    Args:
        gt, pred, images: as :func:`evaluate_metric` (the condition's images and GT rows).
        covered: (G, K) bool, covered keypoints of ``gt`` rows.
        matches: the OKS match records of the same evaluation (``MetricBlock.matches[0]``).
    """
    from posebench.metrics.bootstrap import bootstrap_ratio

    vis = gt.visibility > 0 if gt.visibility is not None else np.ones(gt.keypoints.shape[:2], bool)
    sig = skeleton.oks_sigmas()
    var = (2 * sig) ** 2
    counted = ~matches.gt_ignore[0]
    det_pos = matches.gt_match[0, 0]
    g_rows = matches.gt_row
    ks = np.zeros(gt.keypoints.shape[:2])
    hit = counted & (det_pos >= 0)
    if hit.any():
        gr = g_rows[hit]
        dr = matches.det_row[det_pos[hit]]
        d2 = ((pred.keypoints[dr, :, :2] - gt.keypoints[gr, :, :2]) ** 2).sum(axis=2)
        area = gt.area[gr] if np.isfinite(gt.area[gr]).all() else gt.bbox[gr, 2] * gt.bbox[gr, 3]
        ks[gr] = np.exp(-d2 / var[None, :] / (area[:, None] + np.spacing(1)) / 2)
    use = np.zeros(len(gt), bool)
    use[g_rows[counted]] = True
    occ = covered & vis & use[:, None]
    other = ~covered & vis & use[:, None]
    n_occ, n_oth = int(occ.sum()), int(other.sum())
    values = {
        "KS_occluded": float(ks[occ].mean()) if n_occ else math.nan,
        "PCK_occluded": float((ks[occ] >= 0.5).mean()) if n_occ else math.nan,
        "KS_other": float(ks[other].mean()) if n_oth else math.nan,
        "covered_keypoints": float(n_occ),
    }
    per_joint = {
        n: float(ks[occ[:, j], j].mean()) if occ[:, j].any() else math.nan
        for j, n in enumerate(skeleton.keypoints)
    }
    img_index = np.searchsorted(images.id, gt.image_id)
    num = np.bincount(img_index, weights=(ks * occ).sum(axis=1), minlength=len(images))
    den = np.bincount(img_index, weights=occ.sum(axis=1), minlength=len(images))
    ci: dict[str, dict[str, Any]] = {}
    if n_boot and n_occ:
        ci["KS_occluded"] = bootstrap_ratio(
            num[den > 0], den[den > 0], n_boot=n_boot, seed=seed
        ).as_dict()
    parts = {"sigmas": sigmas_name(sig), "pairing": "oks0.5", "boxes": box_source}
    # this function's row of the metric table names its results key and direction
    row = next(m for m in metric_table.METRIC_TABLE.values()
               if m.function == f"{__name__}:{occluded_keypoints.__name__}")  # fmt: skip
    key = row.result_keys[0]
    return MetricBlock(
        name=metric_table.key_family(key),
        key=key,
        values=values,
        ci=ci,
        signature=make_signature(metric_table.key_family(key), parts),
        higher_is_better=row.higher_is_better,
        per_image={"image_id": images.id.astype(np.int64), "ks_sum": num, "covered": den},
        per_joint=per_joint,
    )


__all__ = ["MetricBlock", "evaluate_metric", "metric_key", "occluded_keypoints", "pair_with_gt"]
