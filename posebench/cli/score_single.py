"""``posebench score --metric pckh|pck|pcp|pdj|mpjpe``: single-person benchmarks.

Ground truth is read by format (MPII ``detections_our_format.mat``-style, LSP ``joints.mat``,
Human3.6M ``.npz``); predictions are ``(N, K, D)`` arrays (``posebench.formats.arrays``) in the
ground truth's joint order and sample order.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import numpy as np

from posebench.errors import InputError
from posebench.skeletons import LSP14, MPII16, Skeleton

FloatArray = np.ndarray


def _gt_2d(
    path: str, annotation: str = "person-centric"
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, Skeleton, str]:
    """(keypoints (N,K,2), scored joints (N,K), headboxes or None, skeleton, kind) of a 2D GT
    file. MPII: the joints not missing; LSP: every annotated joint (all 14 in the original
    layout, occluded ones included, as the LSP protocol scores them); ``kind`` is ``mpii``,
    ``lsp-pc`` or ``lsp-oc``."""
    from posebench.formats.mpii import read_mat

    p = Path(path)
    if p.suffix.lower() != ".mat":
        raise InputError("expected a .mat ground truth (MPII or LSP)", file=path)
    probe = read_mat(p, ["pos_gt_src", "joints"])
    if "pos_gt_src" in probe:
        from posebench.formats.mpii import load_mpii_gt

        g = load_mpii_gt(p)
        return g.keypoints, g.visible, g.headboxes, MPII16, "mpii"
    if "joints" in probe:
        from posebench.formats.lsp import ANNOTATION_TAGS, load_lsp_joints

        lsp = load_lsp_joints(p, annotation=annotation)  # type: ignore[arg-type]
        return lsp.keypoints, lsp.annotated, None, LSP14, f"lsp-{ANNOTATION_TAGS[annotation]}"
    raise InputError("neither MPII ('pos_gt_src') nor LSP ('joints') ground truth", file=path)


def _preds(path: str, key: str | None, k: int, d: int, n: int) -> np.ndarray:
    from posebench.formats.arrays import load_pose_array

    pred = load_pose_array(path, num_joints=k, dims=d, key=key)
    if len(pred) != n:
        raise InputError(f"{len(pred)} predictions for {n} ground-truth samples", file=path)
    return pred


def _ratio_ci(
    correct: np.ndarray, evaluable: np.ndarray, args: argparse.Namespace, *, scale: float
) -> dict[str, Any]:
    """Bootstrap CI (over samples) of a pooled rate sum(correct) / sum(evaluable)."""
    from posebench.metrics.bootstrap import bootstrap_ratio

    ci = bootstrap_ratio(
        correct.sum(axis=1), evaluable.sum(axis=1), n_boot=args.ci, seed=args.seed
    ).as_dict()
    return {k: (v * scale if k in ("estimate", "low", "high", "std") else v) for k, v in ci.items()}


def _num(v: float) -> float | None:
    return None if math.isnan(v) else float(v)


def score_single(args: argparse.Namespace, gt_path: str, pred_path: str) -> dict[str, Any]:
    """Compute the single-person metric ``args.metric`` (a ``posebench score --metric`` choice)
    with the scorer its metric-table row names; returns the JSON-ready payload."""
    from posebench.metrics import table as metric_table

    payload: dict[str, Any] = metric_table.for_score_name(args.metric).resolve_scorer()(
        args, gt_path, pred_path
    )
    return payload


def _load_2d(
    args: argparse.Namespace, gt_path: str, pred_path: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, Skeleton, str, np.ndarray, float]:
    """(gt, scored joints, headboxes or None, skeleton, kind, predictions, threshold) of a 2D
    benchmark; the threshold is ``--threshold``, else the metric table's default."""
    from posebench.metrics import table as metric_table

    gt, vis, headboxes, sk, kind = _gt_2d(
        gt_path, getattr(args, "lsp_annotation", "person-centric")
    )
    pred = _preds(pred_path, args.pred_key, sk.num_keypoints, 2, len(gt))
    thr = args.threshold
    if thr is None:
        thr = float(metric_table.for_score_name(args.metric).defaults["threshold"])
    return gt, vis, headboxes, sk, kind, pred, thr


def _payload(
    args: argparse.Namespace,
    metrics: dict[str, float],
    sk: Skeleton,
    parts: dict[str, str],
    vis: np.ndarray,
    extra: dict[str, Any],
) -> dict[str, Any]:
    from posebench.signature import make_signature

    return {
        "metrics": {k: _num(v) for k, v in metrics.items()},
        "signature": make_signature(args.metric, {"skeleton": sk.name, **parts}),
        "counts": {"samples": len(vis), "scored_joints": int(np.count_nonzero(vis))},
        **extra,
    }


def score_pckh(args: argparse.Namespace, gt_path: str, pred_path: str) -> dict[str, Any]:
    """MPII PCKh (official evaluation), its curve, and intervals of both means."""
    from posebench.metrics import pck as pckm

    gt, vis, headboxes, sk, kind, pred, thr = _load_2d(args, gt_path, pred_path)
    compare, extra = args.compare, {}
    if headboxes is None:
        raise InputError("PCKh needs MPII head boxes ('headboxes_src')", file=gt_path)
    metrics = pckm.mpii_pckh(pred, gt, vis, headboxes, threshold=thr, compare=compare,
                             head=args.head)  # fmt: skip
    curve = pckm.mpii_pckh_curve(pred, gt, vis, headboxes, compare=compare)
    extra["curve"] = {"thresholds": curve.thresholds.tolist(),
                      "mean": [_num(v) for v in curve.overall.tolist()],
                      "auc": _num(curve.auc)}  # fmt: skip
    if args.ci:
        # Both means over the 14 joints without pelvis and thorax: the plain mean of the
        # per-joint rates (published tables) and the pooled correct / labelled.
        joints = pckm.mean_joints(sk)
        keep = np.zeros(sk.num_keypoints, bool)
        keep[joints] = True
        norm = pckm.normaliser("head_box", gt, vis, sk, headboxes=headboxes)
        r = pckm.pck(pred, gt, vis & keep[None, :], norm, thr, compare=compare)
        avg = pckm.bootstrap_joint_average(
            r.correct, r.evaluable, joints, n_boot=args.ci, seed=args.seed
        ).as_dict()
        extra["ci"] = {
            "Mean_joint_avg": {
                k: (v * 100.0 if k in ("estimate", "low", "high", "std") else v)
                for k, v in avg.items()
            },
            "Mean_pooled": _ratio_ci(r.correct, r.evaluable, args, scale=100.0),
        }
    parts = {"gt": kind, "thr": str(thr), "cmp": compare, "head": args.head}
    return _payload(args, metrics, sk, parts, vis, extra)


def score_pck(args: argparse.Namespace, gt_path: str, pred_path: str) -> dict[str, Any]:
    """PCK at ``--threshold`` with eval_pck.m's table (symmetric columns, AUC)."""
    from posebench.metrics import pck as pckm

    gt, vis, headboxes, sk, kind, pred, thr = _load_2d(args, gt_path, pred_path)
    compare, extra = args.compare, {}
    alpha = thr
    norm_kind = args.norm or ("head" if headboxes is not None else "torso")
    bbox = None
    if norm_kind == "bbox":  # the box of the visible GT joints
        xy = np.where(vis[:, :, None], gt, np.nan)
        lo, hi = np.nanmin(xy, axis=1), np.nanmax(xy, axis=1)
        bbox = np.concatenate([lo, hi - lo], axis=1)
    kinds = {"bbox": "bbox", "torso": "torso"}
    kinds["head"] = "head_box" if headboxes is not None else "head_segment"
    norm = pckm.normaliser(kinds[norm_kind], gt, vis, sk, bbox=bbox, headboxes=headboxes)  # type: ignore[arg-type]
    res = pckm.pck(pred, gt, vis, norm, alpha, compare=compare)
    metrics = {"PCK": 100 * res.overall}
    # eval_pck.m's table: symmetric columns, then the AUC of the mean curve over 0:0.01:alpha
    metrics.update(pckm.symmetric_columns(100 * res.per_joint, sk))
    upto = pckm.hundredths(alpha)
    if upto is not None:
        err, ev = pckm.normalized_errors(pred, gt, vis, norm)
        metrics["AUC"] = 100 * pckm.pck_curve_from_errors(err, ev, upto, compare=compare).auc
    metrics.update({f"PCK/{n}": 100 * v for n, v in zip(sk.keypoints, res.per_joint, strict=True)})
    if args.ci:
        extra["ci"] = {"PCK": _ratio_ci(res.correct, res.evaluable, args, scale=100.0)}
    parts = {"gt": kind, "alpha": str(alpha), "norm": norm_kind, "cmp": compare}
    return _payload(args, metrics, sk, parts, vis, extra)


def score_pcp(args: argparse.Namespace, gt_path: str, pred_path: str) -> dict[str, Any]:
    """PCP (strict or loose) with its per-limb table."""
    from posebench.metrics import pcp as pcpm

    gt, vis, _, sk, kind, pred, thr = _load_2d(args, gt_path, pred_path)
    compare, extra = args.compare, {}
    alpha = thr
    res_p = pcpm.pcp(pred, gt, vis, sk, alpha=alpha, mode=args.pcp_mode, compare=compare)
    metrics = {k: v for k, v in pcpm.pcp_table(res_p).items()}
    if args.ci:
        extra["ci"] = {"Total": _ratio_ci(res_p.correct, res_p.evaluable, args, scale=100.0)}
    parts = {"gt": kind, "alpha": str(alpha), "mode": args.pcp_mode, "cmp": compare}
    return _payload(args, metrics, sk, parts, vis, extra)


def score_pdj(args: argparse.Namespace, gt_path: str, pred_path: str) -> dict[str, Any]:
    """PDJ at ``--threshold``, its AUC and curve (eval_pdj.m's rows)."""
    from posebench.metrics import pck as pckm
    from posebench.metrics import pcp as pcpm

    gt, vis, _, sk, kind, pred, thr = _load_2d(args, gt_path, pred_path)
    compare, extra = args.compare, {}
    curve_p = pcpm.pdj(pred, gt, vis, sk, compare=compare)
    at = thr
    idx = int(np.argmin(np.abs(curve_p.thresholds - at)))
    label = f"PDJ@{curve_p.thresholds[idx]:.2f}"
    metrics = {label: 100 * float(curve_p.overall[idx]), "AUC": 100 * float(curve_p.auc)}
    # eval_pdj.m's rows: symmetric columns at the reported fraction
    cols = pckm.symmetric_columns(100 * curve_p.per_joint[idx], sk)
    metrics.update({f"{label}/{c}": v for c, v in cols.items()})
    extra["curve"] = {"thresholds": curve_p.thresholds.tolist(),
                      args.metric: [_num(v) for v in curve_p.overall.tolist()]}  # fmt: skip
    parts = {"gt": kind, "cmp": compare}
    return _payload(args, metrics, sk, parts, vis, extra)


def score_mpjpe(args: argparse.Namespace, gt_path: str, pred_path: str) -> dict[str, Any]:
    """Human3.6M MPJPE, N-MPJPE and PA-MPJPE (per action and averaged) of a ``.npz`` GT."""
    from posebench.formats.h36m import load_h36m_npz
    from posebench.metrics import mpjpe as m
    from posebench.signature import make_signature

    ann = load_h36m_npz(gt_path).h36m17()
    to_mm = {"m": 1000.0, "mm": 1.0}[args.unit]
    gt = ann.joints_3d * to_mm
    pred = _preds(pred_path, args.pred_key, gt.shape[1], 3, len(gt)) * to_mm
    bad = np.logical_not(np.isfinite(pred).all(axis=2)).reshape(pred.shape[:2])
    if bad.any():  # MPJPE has no "not predicted": a NaN would poison the mean or the alignment
        i, j = (int(v) for v in np.argwhere(bad)[0])
        raise InputError(
            f"joint {j} is not a finite 3D point ({int(bad.sum())} such joints in "
            f"{int(np.count_nonzero(bad.any(axis=1)))} samples); MPJPE needs every joint predicted",
            file=pred_path,
            record=f"sample {i}",
            field=args.pred_key or "(array)",
        )
    mask = ann.visible_3d
    per = {
        "MPJPE": m.mpjpe(pred, gt, mask=mask, root=0),
        "N-MPJPE": m.n_mpjpe(pred, gt, mask=mask, root=0),
        "PA-MPJPE": m.pa_mpjpe(pred, gt, mask=mask),
    }
    metrics = {k: m.average(v, ann.action, protocol=args.average) for k, v in per.items()}
    by_action = {k: m.per_action(v, ann.action).as_dict() for k, v in per.items()}
    extra: dict[str, Any] = {}
    if args.ci:
        from posebench.metrics.bootstrap import bootstrap_mean, bootstrap_stratified_mean

        def ci(v: np.ndarray) -> dict[str, Any]:
            if args.average == "micro":
                return bootstrap_mean(v, n_boot=args.ci, seed=args.seed).as_dict()
            # per action, then over actions: resample frames within each action
            return bootstrap_stratified_mean(
                v, ann.action, n_boot=args.ci, seed=args.seed
            ).as_dict()

        extra["ci"] = {k: ci(v) for k, v in per.items()}
    return {
        **extra,
        "metrics": {k: _num(v) for k, v in metrics.items()},
        "signature": make_signature(
            args.metric,
            {"skeleton": "h36m17", "root": "pelvis", "avg": args.average, "unit": "mm"},
        ),
        "counts": {"frames": len(gt)},
        "per_action": {k: {a: _num(x) for a, x in d.items()} for k, d in by_action.items()},
    }
