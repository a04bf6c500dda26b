"""Evaluation: a condition's cached predictions -> metric blocks, once, on the driver.

The only place where predictions meet metrics (:func:`posebench.evaluate.evaluate_metric`); the
per-image rows it returns become ``samples.parquet``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from posebench.adapter import concat_posesets
from posebench.engine.plan import Condition
from posebench.engine.store import UnitOutput
from posebench.evaluate import MetricBlock, evaluate_metric
from posebench.metrics import table as metric_table
from posebench.poseset import PoseSet

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Covered:
    """Which ground-truth keypoints a condition covered: ``rows`` (R,) dataset GT rows and
    ``flags`` (R, K) bool."""

    rows: npt.NDArray[np.int64]
    flags: npt.NDArray[np.bool_]


@dataclass
class PredictStats:
    """Counters of one condition's prediction pass."""

    images: int = 0
    predicted_images: int = 0
    cached_batches: int = 0
    new_batches: int = 0
    predict_seconds: float = 0.0
    load_seconds: float = 0.0


@dataclass
class ConditionResult:
    """Metric blocks of one condition, and its predictions (None once they are on disk: a run
    keeps one condition's predictions in memory at a time; ``n_predictions`` counts them)."""

    condition: Condition
    predictions: PoseSet | None
    metrics: list[MetricBlock]
    stats: PredictStats
    n_predictions: int = 0

    def __post_init__(self) -> None:
        if self.predictions is not None:
            self.n_predictions = len(self.predictions)


def assemble(
    outputs: Sequence[UnitOutput], cond: Condition, num_keypoints: int, dims: int, gt_joints: int
) -> tuple[PoseSet, Covered | None]:
    """The units' outputs of one condition as one PoseSet sorted by image id (stable within an
    image) and, for occlusion, the covered keypoints."""
    allp = concat_posesets([o.predictions for o in outputs], num_keypoints, dims)
    allp = allp.take(np.argsort(allp.image_id, kind="stable"))
    covered = None
    if cond.kind == "occlusion":
        rows = [o.covered_rows for o in outputs if o.covered_rows is not None]
        flags = [o.covered for o in outputs if o.covered is not None]
        covered = Covered(
            np.concatenate(rows).astype(np.int64) if rows else np.zeros(0, np.int64),
            np.concatenate(flags).astype(bool) if flags else np.zeros((0, gt_joints), bool),
        )
    return allp, covered


def evaluate_condition(
    suite: Any,
    dataset: Any,
    ids: IntArray,
    pred: PoseSet,
    *,
    n_boot: int,
    seed: int,
    covered: Covered | None = None,
    box_source: str | None = None,
) -> list[MetricBlock]:
    """Every metric of the suite on the images ``ids``.

    With ``covered`` (occlusion), the ground truth's covered visible keypoints become occluded
    (v 2 -> 1), every metric is computed on all keypoints as usual, and an OKS metric is followed
    by ``keypoints/occluded``: the keypoint similarity on the covered keypoints alone and on the
    others, persons paired as the OKS evaluation paired them
    (:func:`posebench.evaluate.occluded_keypoints`).
    """
    from posebench.evaluate import occluded_keypoints

    sel_img = np.isin(dataset.images.id, ids)
    images = dataset.images.take(np.flatnonzero(sel_img))
    gt = dataset.gt
    flags = None
    if covered is not None and gt.visibility is not None:
        flags = np.zeros(gt.visibility.shape, bool)
        flags[covered.rows] = covered.flags
        gt = gt.with_columns(visibility=np.where(flags & (gt.visibility == 2), 1.0, gt.visibility))
    gt_rows = np.flatnonzero(np.isin(gt.image_id, ids))
    gt_sub = gt.take(gt_rows)
    pred = pred.take(np.flatnonzero(np.isin(pred.image_id, ids)))
    source = box_source or str(suite.boxes)
    out = []
    for spec in suite.metrics:
        s = spec.model_dump() if hasattr(spec, "model_dump") else dict(spec)
        matched = metric_table.for_suite_entry(s).records == "matches"  # OKS: people matched
        block = evaluate_metric(
            s,
            gt_sub,
            pred,
            images,
            dataset.skeleton,
            gt_rows=gt_rows,
            box_source=source,
            n_boot=n_boot,
            seed=seed,
            breakdowns=tuple(getattr(suite, "breakdowns", ()) or ()) if matched else (),
        )
        out.append(block)
        if flags is not None and matched and block.matches:
            out.append(
                occluded_keypoints(
                    gt_sub,
                    pred,
                    images,
                    dataset.skeleton,
                    flags[gt_rows],
                    block.matches[0],
                    box_source=source,
                    n_boot=n_boot,
                    seed=seed,
                )
            )
    return out


def per_image_rows(r: ConditionResult) -> dict[str, np.ndarray]:
    """One condition's per-image records (``samples.parquet`` rows)."""
    ids: np.ndarray | None = None
    cols: dict[str, np.ndarray] = {}
    for b in r.metrics:
        pid = b.per_image["image_id"]
        if ids is None:
            ids = pid
        elif not np.array_equal(ids, pid):
            raise AssertionError("metrics disagree on the evaluated images")
        for k, v in b.per_image.items():
            if k != "image_id":
                cols[f"{b.key}.{k}"] = v
    ids = np.zeros(0, np.int64) if ids is None else ids
    n = len(ids)
    return {
        "condition": np.full(n, r.condition.key, dtype=object),
        "kind": np.full(n, r.condition.kind, dtype=object),
        "name": np.full(n, r.condition.name, dtype=object),
        "severity": np.full(n, r.condition.severity, np.int64),
        "image_id": ids,
        **cols,
    }


def samples_table(results: Sequence[ConditionResult]) -> dict[str, np.ndarray] | None:
    """Every condition's per-image rows in one table (columns a condition lacks filled with NaN,
    -1 or ''), or None when there are no conditions."""
    tables = [per_image_rows(r) for r in results]
    if not tables:
        return None
    names = list(dict.fromkeys(k for t in tables for k in t))
    like = {k: next(t[k] for t in tables if k in t) for k in names}
    return {
        k: np.concatenate(
            [t[k] if k in t else _missing_column(like[k], len(t["image_id"])) for t in tables]
        )
        for k in names
    }


def _missing_column(like: np.ndarray, n: int) -> np.ndarray:
    if like.dtype.kind == "f":
        return np.full(n, np.nan)
    if like.dtype.kind in "iu":
        return np.full(n, -1, like.dtype)
    return np.full(n, "", dtype=object)
