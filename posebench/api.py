"""The stable Python API: :func:`score`, :func:`run`, :func:`examine`.

Plain keyword arguments, predictions first (``(preds, gt)``, as torchmetrics' ``(preds,
target)``), every option keyword-only. Metric names are those of the metric table
(``posebench ls metrics``).

    >>> import posebench
    >>> s = posebench.score("sample:coco-val2017-4-results", "sample:coco-val2017-4")
    >>> s.metric, s.headline, round(s.value, 4)      # pycocotools 2.0.11: AP 0.86089
    ('oks-coco', 'AP', 0.8609)
    >>> s.signature.split("|")[:3]
    ['oks', 'mode:coco', 'sigmas:coco17']

Single-person metrics take arrays (or the files ``posebench score`` reads):

    >>> import numpy as np
    >>> gt = np.zeros((4, 17, 3)); pred = gt + [3.0, 4.0, 0.0]     # every joint 5 mm off
    >>> posebench.score(pred, gt, metric="mpjpe-abs").values
    {'MPJPE-abs': 5.0}
"""

from __future__ import annotations

import argparse
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from posebench.errors import InputError
from posebench.metrics import table as metric_table
from posebench.poseset import ImageTable, PoseSet

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

PathLike = str | Path


@dataclass(frozen=True)
class Score:
    """What :func:`score` computed.

    Attributes:
        metric: the metric table name.
        values: every statistic by name (fractions for OKS, percent for PCK-like metrics, mm for
            MPJPE), NaN where undefined.
        signature: what the numbers mean (``oks|mode:coco|sigmas:coco17|...|v:0.1.0``).
        headline: the key of the headline statistic.
        higher_is_better: its direction.
    """

    metric: str
    values: dict[str, float]
    signature: str
    headline: str
    higher_is_better: bool

    @property
    def value(self) -> float:
        """The headline statistic."""
        return self.values[self.headline]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN as None), the ``posebench score --format json`` keys where shared.

        >>> s = Score("mpjpe", {"MPJPE": float("nan")}, "mpjpe|v:0", "MPJPE", False)
        >>> s.as_dict()["metrics"]
        {'MPJPE': None}
        """
        return {
            "metric": self.metric,
            "metrics": {k: None if math.isnan(v) else v for k, v in self.values.items()},
            "signature": self.signature,
            "headline": self.headline,
            "higher_is_better": self.higher_is_better,
        }

    def __str__(self) -> str:
        return f"{self.metric} {self.headline} {metric_table.get(self.metric).format(self.value)}"


# ----------------------------------------------------------------------------------- score


def score(
    preds: Any,
    gt: Any,
    *,
    metric: str = "oks-coco",
    images: ImageTable | None = None,
    sigmas: str | Sequence[float] | npt.NDArray[np.float64] | None = None,
    max_dets: int = 20,
    scale: Literal["area", "bbox"] | None = None,
    gt_ignore: Literal["num_keypoints", "visible"] = "num_keypoints",
    gt_id0: Literal["match", "pycocotools"] = "match",
    gt_negative_id: Literal["match", "xtcocotools"] | None = None,
    zero_score_dets: Literal["keep", "drop"] | None = None,
    crowd_buckets: str | tuple[float, float] = "xtcocotools",
    crowd_ap: Literal["xtcocotools", "valid"] = "xtcocotools",
    visible: Any = None,
    headboxes: Any = None,
    boxes: Any = None,
    mask: Any = None,
    actions: Any = None,
    skeleton: str | None = None,
    threshold: float | None = None,
    normalizer: Literal["bbox", "torso"] | None = None,
    compare: Literal["<=", "<"] = "<=",
    head: Literal["head_top", "head_neck_mean"] = "head_top",
    pcp_mode: Literal["strict", "loose"] = "strict",
    average: Literal["micro", "macro"] | None = None,
    pred_key: str | None = None,
    unit: Literal["m", "mm"] = "m",
) -> Score:
    """Score predictions against ground truth with one metric of the table.

    Args:
        preds: OKS metrics: a COCO results file (path or ``sample:NAME``) or a
            :class:`~posebench.poseset.PoseSet`. Single-person metrics: an (N, K, D) array in
            GT order, or a predictions file as ``posebench score`` reads it.
        gt: OKS metrics: a COCO ground-truth file, a
            :class:`~posebench.formats.coco.CocoGroundTruth` or a PoseSet (then ``images``
            lists the evaluated images; default: every image id of ``gt`` and ``preds``).
            Single-person metrics: an (N, K, D) array (pixels; millimetres for 3D) or a GT file
            (MPII/LSP ``.mat``, Human3.6M ``.npz``).
        metric: a table name: ``oks-coco``, ``oks-crowdpose``, ``oks-wholebody``, ``pckh``,
            ``pck``, ``pcp``, ``pdj``, ``mpjpe``, ``mpjpe-abs``, ``pa-mpjpe``, ``n-mpjpe``.
        sigmas, max_dets, scale, gt_ignore, gt_id0, gt_negative_id, zero_score_dets,
            crowd_buckets, crowd_ap: OKS options, as the ``posebench score`` flags of the same
            names (defaults per mode, as there).
        visible: (N, K) bool labelled GT joints (2D single-person arrays; default all).
        headboxes: (N, 2, 2) MPII head boxes (``pckh`` arrays).
        boxes: (N, 4) ``x, y, w, h`` GT boxes (``pck`` with the bbox normaliser).
        mask: (N, K) bool joints to evaluate (3D arrays; default all).
        actions: (N,) action labels (``average="macro"``).
        skeleton: joint layout of 2D arrays (``mpii16`` for pckh; required for pck/pcp/pdj).
        threshold: pckh 0.5, pck 0.2, pcp 0.5, pdj 0.2 by default.
        normalizer: pck: ``bbox`` (default with arrays) or ``torso``.
        compare, head, pcp_mode: as ``posebench score``.
        average: MPJPE over all frames (``micro``, the default for arrays) or per action first
            (``macro``, the default for Human3.6M files, as ``posebench score``).
        pred_key, unit: single-person files, as ``posebench score``.

    Returns:
        A :class:`Score`.

    Raises:
        InputError: an unknown metric, a bad file, record or field, or arrays of the wrong shape.
    """
    m = metric_table.get(metric)
    # the row names the implementation; each takes the options it uses
    score_row: Any = m.resolve_batch()
    result: Score = score_row(
        m, preds, gt, images=images, sigmas=sigmas, max_dets=max_dets, scale=scale,
        gt_ignore=gt_ignore, gt_id0=gt_id0, gt_negative_id=gt_negative_id,
        zero_score_dets=zero_score_dets, crowd_buckets=crowd_buckets, crowd_ap=crowd_ap,
        visible=visible, headboxes=headboxes, boxes=boxes, mask=mask, actions=actions,
        skeleton=skeleton, threshold=threshold, normalizer=normalizer, compare=compare,
        head=head, pcp_mode=pcp_mode, average=average, pred_key=pred_key, unit=unit,
    )  # fmt: skip
    return result


def _single_batch(m: metric_table.MetricDef, preds: Any, gt: Any, **o: Any) -> Score:
    """:func:`score` of the single-person rows (``o``: every option of :func:`score`): files
    through ``posebench score``'s code, 3D or 2D arrays here."""
    if isinstance(preds, (str, Path)) or isinstance(gt, (str, Path)):
        return _score_single_files(
            m, preds, gt, threshold=o["threshold"], normalizer=o["normalizer"],
            compare=o["compare"], head=o["head"], pcp_mode=o["pcp_mode"],
            average=o["average"] or "macro", pred_key=o["pred_key"], unit=o["unit"],
        )  # fmt: skip
    if m.dims == 3:
        return _score_3d(
            m, preds, gt, mask=o["mask"], actions=o["actions"], average=o["average"] or "micro"
        )
    return _score_2d(m, preds, gt, **o)


def _resolve(p: PathLike) -> str:
    from posebench.samples import resolve

    return resolve(str(p))


def _sigmas(value: Any, default: str, k: int) -> tuple[np.ndarray, str]:
    from posebench.signature import sigmas_name
    from posebench.skeletons import SKELETONS

    if value is None or isinstance(value, str):
        name = value or default
        if name not in SKELETONS or SKELETONS[name].sigmas is None:
            known = ", ".join(n for n, s in SKELETONS.items() if s.sigmas is not None)
            raise InputError(f"unknown sigmas {name!r} (known: {known})", field="sigmas")
        sig = SKELETONS[name].oks_sigmas()
    else:
        sig = np.asarray(value, dtype=np.float64)
        if sig.ndim != 1 or not (np.isfinite(sig).all() and (sig > 0).all()):
            raise InputError("sigmas must be (K,) positive finite numbers", field="sigmas")
    if len(sig) != k:
        raise InputError(f"{len(sig)} sigmas for {k} keypoints in the ground truth", field="sigmas")
    return sig, sigmas_name(sig)


def _score_oks(
    m: metric_table.MetricDef,
    preds: Any,
    gt: Any,
    *,
    images: ImageTable | None,
    sigmas: Any,
    max_dets: int,
    scale: Literal["area", "bbox"] | None,
    gt_ignore: Literal["num_keypoints", "visible"],
    gt_id0: Literal["match", "pycocotools"],
    gt_negative_id: Literal["match", "xtcocotools"] | None,
    zero_score_dets: Literal["keep", "drop"] | None,
    crowd_buckets: str | tuple[float, float],
    crowd_ap: Literal["xtcocotools", "valid"],
    **_: Any,
) -> Score:
    """:func:`score` of the OKS rows (their ``mode`` option: coco or crowdpose)."""
    from posebench.formats import coco

    gt_file = pred_file = None
    cats: tuple[int, ...] | None = None
    imgs: ImageTable | None = None
    cocogt: coco.CocoGroundTruth | None = None
    if isinstance(gt, (str, Path)):
        gt_file = _resolve(gt)
        gt = coco.read_gt(gt_file)
    if isinstance(gt, coco.CocoGroundTruth):
        cocogt = gt
        gt_poses, imgs, cats = gt.poses, gt.images, gt.category_ids
    elif isinstance(gt, PoseSet):
        gt_poses = gt
    else:
        raise InputError(
            f"expected a path, CocoGroundTruth or PoseSet, got {type(gt).__name__}", field="gt"
        )
    if isinstance(preds, (str, Path)):
        pred_file = _resolve(preds)
        dt = coco.read_results(pred_file, cocogt, num_joints=gt_poses.num_joints)
    elif isinstance(preds, PoseSet):
        dt = preds
    else:
        raise InputError(f"expected a path or PoseSet, got {type(preds).__name__}", field="preds")
    if images is not None:
        imgs = images
    if imgs is None:
        imgs = ImageTable.from_ids(np.unique(np.concatenate([gt_poses.image_id, dt.image_id])))
    return score_posesets(
        dt, gt_poses, imgs, mode=m.options["mode"], sigmas=sigmas, max_dets=max_dets, scale=scale,
        gt_ignore=gt_ignore, gt_id0=gt_id0, gt_negative_id=gt_negative_id,
        zero_score_dets=zero_score_dets, crowd_buckets=crowd_buckets, crowd_ap=crowd_ap,
        category_ids=cats, gt_file=gt_file, pred_file=pred_file,
    )  # fmt: skip


def score_posesets(
    preds: PoseSet,
    gt: PoseSet,
    images: ImageTable,
    *,
    mode: Literal["coco", "crowdpose"] = "coco",
    sigmas: Any = None,
    max_dets: int = 20,
    scale: Literal["area", "bbox"] | None = None,
    gt_ignore: Literal["num_keypoints", "visible"] = "num_keypoints",
    gt_id0: Literal["match", "pycocotools"] = "match",
    gt_negative_id: Literal["match", "xtcocotools"] | None = None,
    zero_score_dets: Literal["keep", "drop"] | None = None,
    crowd_buckets: str | tuple[float, float] = "xtcocotools",
    crowd_ap: Literal["xtcocotools", "valid"] = "xtcocotools",
    category_ids: tuple[int, ...] | None = None,
    gt_file: str | None = None,
    pred_file: str | None = None,
) -> Score:
    """OKS AP/AR of columnar predictions and ground truth over ``images`` (every image counts,
    with or without people), with the options and signature of ``posebench score``.

    Args:
        preds, gt: (D,) and (G,) instances; ``gt.visibility`` (G, K) is required.
        images: (I,) the evaluated images; ``crowd_index`` is computed from the GT (CrowdPose's
            definition) where it is NaN and the mode needs it.
    """
    from posebench.metrics import cocoeval
    from posebench.signature import make_signature

    # the OKS row of this mode
    rows = metric_table.METRIC_TABLE.values()
    row = next((r for r in rows if r.params and r.options.get("mode") == mode), None)
    if row is None:
        raise InputError(f"no OKS metric has mode {mode!r}", field="mode")
    crowd = "crowd_index" in row.needs  # CrowdPose: crowd buckets, its own defaults
    if max_dets < 1:
        raise InputError("must be at least 1", field="max_dets")
    sig, sig_name = _sigmas(sigmas, row.defaults["sigmas"], gt.num_joints)
    if len(preds) and preds.num_joints != gt.num_joints:
        raise InputError(
            f"predictions have {preds.num_joints} keypoints, the ground truth {gt.num_joints}",
            field="preds.keypoints",
        )
    if crowd and len(images) and np.isnan(images.crowd_index).any():
        from posebench.metrics.crowd import crowd_index

        have = images.crowd_index
        computed = crowd_index(gt, images, gt_file=gt_file or "<ground truth>")
        images = replace(images, crowd_index=np.where(np.isnan(have), computed, have))
    scale = scale or ("bbox" if crowd else "area")
    zero = zero_score_dets or ("drop" if crowd else "keep")
    neg = gt_negative_id or ("xtcocotools" if crowd else "match")
    params = cocoeval.OksParams(
        sigmas=sig, max_dets=(int(max_dets),), use_area=scale == "area", gt_ignore=gt_ignore,
        drop_zero_score_dets=zero == "drop", gt_id0=gt_id0, gt_negative_id=neg,
    )  # fmt: skip
    ev = cocoeval.evaluate_oks(
        gt, preds, images, params, category_ids=category_ids, mode=mode,
        crowd_buckets=crowd_buckets, crowd_ap=crowd_ap,
        gt_file=gt_file or "<ground truth>", pred_file=pred_file or "<predictions>",
    )  # fmt: skip
    parts = {
        "mode": mode, "sigmas": sig_name, "scale": scale, "maxdets": str(max_dets),
        "gtignore": gt_ignore, "gtid0": gt_id0, "gtneg": neg, "zerodets": zero,
    }  # fmt: skip
    if crowd:
        parts["buckets"] = (
            crowd_buckets if isinstance(crowd_buckets, str) else ",".join(map(str, crowd_buckets))
        )
        parts["bucketap"] = crowd_ap
    return Score(
        metric=row.name,
        values=dict(ev.stats),
        signature=make_signature(row.signature_name, parts),
        headline=row.headline,
        higher_is_better=row.higher_is_better,
    )


def _score_wholebody(
    m: metric_table.MetricDef, preds: Any, gt: Any, *, sigmas: Any, max_dets: int, **_: Any
) -> Score:
    """:func:`score` of COCO-WholeBody."""
    from posebench.formats import coco, coco_wholebody
    from posebench.metrics import cocoeval
    from posebench.signature import make_signature

    gt_file = pred_file = "<ground truth>"
    if isinstance(gt, (str, Path)):
        gt_file = _resolve(gt)
        gt = coco_wholebody.read_wholebody_gt(gt_file)
    if not isinstance(gt, coco.CocoGroundTruth):
        raise InputError("expected a COCO-WholeBody file or its CocoGroundTruth", field="gt")
    if isinstance(preds, (str, Path)):
        pred_file = _resolve(preds)
        preds = coco_wholebody.read_wholebody_results(pred_file, gt)
    if not isinstance(preds, PoseSet):
        raise InputError("expected a results file or a PoseSet", field="preds")
    if max_dets < 1:
        raise InputError("must be at least 1", field="max_dets")
    sig, sig_name = _sigmas(sigmas, m.defaults["sigmas"], gt.num_joints)
    evs = cocoeval.evaluate_wholebody(
        gt.poses, preds, gt.images, sigmas=sig, max_dets=max_dets,
        category_ids=gt.category_ids, gt_file=gt_file, pred_file=pred_file,
    )  # fmt: skip
    parts = {
        "sigmas": sig_name, "scale": "area", "maxdets": str(max_dets), "gtignore": "visible",
        "zerodets": "drop", "gtneg": "xtcocotools", "detarea": "bbox-or-body",
    }  # fmt: skip
    return Score(
        metric=m.name,
        values={f"{part}/{k}": v for part, ev in evs.items() for k, v in ev.stats.items()},
        signature=make_signature(m.signature_name, parts),
        headline=m.headline,
        higher_is_better=True,
    )


def _score_single_files(m: metric_table.MetricDef, preds: Any, gt: Any, **opts: Any) -> Score:
    """Files, exactly as ``posebench score --metric ...`` reads and scores them."""
    from posebench.cli.score_single import score_single

    if not isinstance(preds, (str, Path)) or not isinstance(gt, (str, Path)):
        raise InputError("give both preds and gt as files, or both as arrays", field="preds")
    # the `posebench score --metric` choice that computes it: its own, else the one of its
    # kind of data (Human3.6M files: `mpjpe` reports MPJPE, N-MPJPE and PA-MPJPE)
    choice = m.score_name or next(
        r.score_name
        for r in metric_table.METRIC_TABLE.values()
        if r.score_name and (r.dims, r.persons) == (m.dims, m.persons)
    )
    args = argparse.Namespace(metric=choice, ci=0, seed=0, norm=opts["normalizer"],
                              **{k: v for k, v in opts.items() if k != "normalizer"})  # fmt: skip
    payload = score_single(args, _resolve(gt), _resolve(preds))
    values = {k: math.nan if v is None else float(v) for k, v in payload["metrics"].items()}

    def output(key: str) -> float:
        if key.endswith("@"):  # the first output key with that prefix (PDJ@0.20)
            key = next(k for k in values if k.startswith(key))
        return values[key]

    # the row's statistics under their table names first (PCP = the table's Total)
    values = {**{stat: output(key) for stat, key in m.file_statistics.items()}, **values}
    if m.headline not in values:  # MPJPE-abs: the files are scored root-relative
        raise InputError(
            f"posebench score --metric {choice} reports {', '.join(values)}, not {m.headline}; "
            "give arrays",
            field="metric",
        )
    return Score(m.name, values, str(payload["signature"]), m.headline, m.higher_is_better)


def _score_3d(
    m: metric_table.MetricDef, preds: Any, gt: Any, *, mask: Any, actions: Any, average: str
) -> Score:
    from posebench.metrics import mpjpe as mp
    from posebench.signature import make_signature

    p = _arr(preds, "preds")
    g = _arr(gt, "gt")
    if g.ndim != 3 or g.shape[2] != 3 or p.shape != g.shape:
        raise InputError(
            f"expected (N, K, 3) preds and gt, got {p.shape} and {g.shape}", field="preds"
        )
    try:
        err = m.resolve()(p, g, mask=mask, **m.call_options)
        if average not in ("micro", "macro"):
            raise InputError(f"expected 'micro' or 'macro', got {average!r}", field="average")
        value = mp.average(err, actions, protocol=average)  # type: ignore[arg-type]
    except ValueError as e:
        if isinstance(e, InputError):
            raise
        raise InputError(str(e), field="preds") from None
    parts = {"align": str(m.options["align"]), "avg": average, "unit": "mm"}
    sig = make_signature(m.signature_name, parts)
    return Score(m.name, {m.headline: value}, sig, m.headline, m.higher_is_better)


def _arr(v: Any, field: str) -> np.ndarray:
    if hasattr(v, "detach"):
        v = v.detach().cpu().numpy()
    try:
        return np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise InputError(f"not a numeric array: {e}", field=field) from None


def _score_2d(
    m: metric_table.MetricDef,
    preds: Any,
    gt: Any,
    *,
    visible: Any,
    headboxes: Any,
    boxes: Any,
    skeleton: str | None,
    threshold: float | None,
    normalizer: str | None,
    compare: Literal["<=", "<"],
    head: Literal["head_top", "head_neck_mean"],
    pcp_mode: Literal["strict", "loose"],
    **_: Any,
) -> Score:
    from posebench.metrics import pck as pckm
    from posebench.metrics import pcp as pcpm
    from posebench.signature import make_signature
    from posebench.skeletons import SKELETONS

    p = _arr(preds, "preds")
    g = _arr(gt, "gt")
    if g.ndim != 3 or g.shape[2] != 2 or p.shape != g.shape:
        raise InputError(
            f"expected (N, K, 2) preds and gt, got {p.shape} and {g.shape}", field="preds"
        )
    vis = (
        np.ones(g.shape[:2], bool)
        if visible is None
        else np.asarray(_arr(visible, "visible"), bool)
    )
    if vis.shape != g.shape[:2]:
        raise InputError(f"expected (N, K) = {g.shape[:2]}, got {vis.shape}", field="visible")
    sk_name = skeleton or m.defaults.get("skeleton")
    if sk_name is None:
        raise InputError(f"{m.name} needs skeleton= (a skeleton name)", field="skeleton")
    if sk_name not in SKELETONS:
        raise InputError(f"unknown skeleton {sk_name!r}", field="skeleton")
    sk = SKELETONS[sk_name]
    if sk.num_keypoints != g.shape[1]:
        raise InputError(
            f"skeleton {sk_name} has {sk.num_keypoints} joints, the arrays {g.shape[1]}",
            field="skeleton",
        )
    thr = float(m.defaults["threshold"] if threshold is None else threshold)
    # what the row needs says which it is: head boxes (PCKh), GT boxes (PCK), limbs (PCP),
    # else the torso (PDJ)
    try:
        if "head_boxes" in m.needs:
            if headboxes is None:
                raise InputError(f"{m.name} needs headboxes (N, 2, 2)", field="headboxes")
            table = pckm.mpii_pckh(p, g, vis, _arr(headboxes, "headboxes"), skeleton=sk,
                                   threshold=thr, compare=compare, head=head)  # fmt: skip
            # the published (unweighted) mean is the headline; the pooled one beside it
            values = {**{s: table[k] for s, k in m.file_statistics.items()}, **table}
            parts = {"skeleton": sk.name, "thr": str(thr), "norm": "head_box", "cmp": compare,
                     "head": head}  # fmt: skip
        elif "gt_boxes" in m.needs:
            kind = normalizer or m.defaults["normalizer"]
            if kind == "bbox":
                if boxes is None:
                    raise InputError("normalizer 'bbox' needs boxes (N, 4)", field="boxes")
                norm = pckm.normaliser("bbox", g, vis, sk, bbox=_arr(boxes, "boxes"))
            elif kind == "torso":
                norm = pckm.normaliser("torso", g, vis, sk)
            else:
                raise InputError(f"expected 'bbox' or 'torso', got {kind!r}", field="normalizer")
            res = pckm.pck(p, g, vis, norm, thr, compare=compare)
            values = {"PCK": 100 * res.overall}
            values.update(
                {
                    f"PCK/{n}": 100 * float(v)
                    for n, v in zip(sk.keypoints, res.per_joint, strict=True)
                }
            )
            parts = {"skeleton": sk.name, "thr": str(thr), "norm": kind, "cmp": compare}
        elif "limbs" in m.needs:
            r = pcpm.pcp(p, g, vis, sk, alpha=thr, mode=pcp_mode, compare=compare)
            values = {"PCP": 100 * float(r.overall), **pcpm.pcp_table(r)}
            parts = {"skeleton": sk.name, "thr": str(thr), "mode": pcp_mode, "cmp": compare}
        else:  # pdj
            curve = pcpm.pdj(p, g, vis, sk, compare=compare)
            res = pckm.pck(p, g, vis, pckm.normaliser("torso", g, vis, sk), thr, compare=compare)
            values = {"PDJ": 100 * res.overall, "AUC": 100 * float(curve.auc)}
            parts = {"skeleton": sk.name, "thr": str(thr), "norm": "torso", "cmp": compare}
    except ValueError as e:
        if isinstance(e, InputError):
            raise
        raise InputError(str(e), field="preds") from None
    return Score(
        m.name, {k: float(v) for k, v in values.items()}, make_signature(m.signature_name, parts),
        m.headline, m.higher_is_better,
    )  # fmt: skip


# ------------------------------------------------------------------------------ run, examine


def _cli_args(args: Mapping[str, Any] | None) -> dict[str, str]:
    """Adapter arguments as the command line gives them (strings, parsed by the adapter's
    annotations), so that a run from Python and the same run from the CLI share the adapter
    signature and the prediction cache."""
    out: dict[str, str] = {}
    for k, v in (args or {}).items():
        out[str(k)] = ("true" if v else "false") if isinstance(v, bool) else str(v)
    return out


def run(
    *,
    adapter: str,
    suite: str | Path,
    output: str | Path,
    adapter_args: Mapping[str, Any] | None = None,
    data_root: str | Path | None = None,
    dataset: str | None = None,
    boxes: Literal["gt", "detector"] | None = None,
    limit: int | None = None,
    shard: tuple[int, int] | str = (1, 1),
    device: Literal["cpu", "cuda"] | None = None,
    batch_size: int | None = None,
    n_boot: int = 1000,
    seed: int | None = None,
    progress: bool = False,
    condition_backend: Literal["numpy", "torch"] = "numpy",
) -> dict[str, Any]:
    """Run an adapter on a suite (as ``posebench run``) and return the run's ``results.json``.

    Args:
        adapter: an adapter name (``posebench ls adapters``), entry point or ``module:attr``.
        suite: a suite name or YAML file.
        output: the run folder to write (a killed run resumes from it).
        adapter_args: keyword arguments of the adapter (given to it as the CLI gives them:
            strings, parsed by the adapter's annotations; ``True`` becomes ``"true"``).
        data_root: datasets folder (default ``$POSEBENCH_DATA``).
        dataset, boxes, limit, device, batch_size, condition_backend: as the CLI flags.
        shard: ``(i, n)`` or ``"i/n"``: the i-th of n shards (1-based).
        n_boot: bootstrap replicates for confidence intervals (0: none).
        seed: condition and bootstrap seed (default: the suite's).

    Returns:
        The parsed ``results.json`` of ``output``.
    """
    from posebench.datasets import data_root as find_root
    from posebench.results import read_results_json
    from posebench.runner import RunOptions, parse_shard
    from posebench.runner import run as run_suite

    if limit is not None and limit < 1:
        raise InputError("must be at least 1", field="limit")
    if n_boot < 0:
        raise InputError("must be >= 0", field="n_boot")
    if isinstance(shard, str):
        shard_t = parse_shard(shard)
    else:
        shard_t = parse_shard(f"{shard[0]}/{shard[1]}")
    opts = RunOptions(
        adapter=adapter,
        suite=str(suite),
        output=Path(output),
        adapter_args=_cli_args(adapter_args),
        data_root=find_root(str(data_root) if data_root is not None else None),
        limit=limit,
        shard=shard_t,
        device=device,
        batch_size=batch_size,
        n_boot=n_boot,
        seed=seed,
        progress=progress,
        dataset=dataset,
        boxes=boxes,
        condition_backend=condition_backend,
    )
    out = run_suite(opts)
    res: dict[str, Any] = read_results_json(out)
    return res


def examine(
    *,
    adapter: str,
    output: str | Path,
    adapter_args: Mapping[str, Any] | None = None,
    body: str = "mannequin",
    budget: int = 2000,
    device: Literal["cpu", "cuda"] = "cpu",
    renderer: Literal["torch", "moderngl"] = "torch",
    agents: int = 8,
    rollouts: int = 8,
    max_iters: int = 300,
    seed: int = 0,
    size: int = 256,
    space: Sequence[str] = ("pose", "camera", "occluder", "light", "shape"),
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    metric: Literal["auto", "oks", "normalized", "mpjpe"] = "auto",
    threshold: float | Literal["auto"] | None = None,
    region_rate: float = 0.9,
    batch_size: int = 64,
    executor: Literal["local", "ray"] = "local",
    address: str | None = None,
    workers: int | None = None,
    gpus_per_worker: float = 0.0,
    torch_threads: int | None = None,
) -> dict[str, Any]:
    """Search rendered bodies for poses where a model fails (as ``posebench examine``) and
    return the run's ``results.json`` (its ``examiner`` section holds the failure modes).

    Args:
        adapter, adapter_args: the model, as :func:`run`.
        output: the folder to write (results.json, failures/*.png, samples.parquet).
        body: ``mannequin`` (shipped) or an SMPL ``.npz``/``.pkl`` path.
        budget: adapter queries (scored bodies).
        space, include, exclude: dimension groups to search, extra and held dimensions.
        threshold: failure threshold on the error, ``"auto"`` (calibrated), or None (default
            per metric).
        batch_size: bodies per adapter call; also the chunk a Ray worker scores.
        executor: ``local`` (in this process) or ``ray``: the bodies rendered and scored on
            Ray actors (``pip install 'posebench[ray]'``), with the same results as locally.
        address, workers, gpus_per_worker: the Ray cluster to join (default: start a local
            one), the actors and the GPUs each reserves, as ``posebench run``.
        torch_threads: torch threads for rendering, here and on every Ray worker (default:
            torch's own here); a Ray run equals a local one made with the same count.
        Other options: as the CLI flags of the same names.
    """
    from posebench.cli.examine import examine as run_examiner
    from posebench.results import read_results_json

    args = argparse.Namespace(
        adapter=adapter,
        adapter_arg=[f"{k}={v}" for k, v in _cli_args(adapter_args).items()],
        body=body, budget=budget, device=device, renderer=renderer, output=Path(output),
        agents=agents, rollouts=rollouts, max_iters=max_iters, seed=seed, size=size,
        space=",".join(space), include=",".join(include), exclude=",".join(exclude),
        metric=metric, threshold=None if threshold is None else str(threshold),
        region_rate=region_rate, batch_size=batch_size, executor=executor, address=address,
        workers=workers, gpus_per_worker=gpus_per_worker, torch_threads=torch_threads,
    )  # fmt: skip
    out = run_examiner(args)
    res: dict[str, Any] = read_results_json(out)
    return res


__all__ = ["Score", "examine", "run", "score", "score_posesets"]
