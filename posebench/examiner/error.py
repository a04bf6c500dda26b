"""Per-sample errors the examiner maximises (its reward), one rendered person per image.

- ``oks``: 1 - OKS (COCO, :func:`posebench.metrics.oks.oks_pairs`; scale = silhouette area),
  in [0, 1]. The default for 2D adapters.
- ``normalized``: mean 2D distance over the labelled keypoints divided by the diagonal of the
  person box (a scale-free PCK-style error), capped at 1.
- ``mpjpe``: 3D mean per-joint position error in millimetres after aligning the roots (the mean
  of the hips for COCO-17, the pelvis for SMPL-24), for 3D adapters.

Keypoints with visibility 0 (outside the image) are not scored; visibility 1 (hidden) is scored
as COCO scores occluded labelled keypoints. An image where the adapter returned nobody gets the
worst error (1 for ``oks`` and ``normalized``; NaN predictions give NaN for ``mpjpe``, which the
examiner treats as a failure).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from posebench.errors import InputError
from posebench.metrics.oks import oks_pairs
from posebench.poseset import PoseSet

__all__ = [
    "METRICS",
    "Metric",
    "mpjpe_error",
    "normalized_error",
    "oks_error",
    "select_predictions",
]

FloatArray = npt.NDArray[np.float64]
Metric = Literal["oks", "normalized", "mpjpe"]
METRICS: tuple[str, ...] = ("oks", "normalized", "mpjpe")


def oks_error(
    pred: FloatArray, gt: FloatArray, vis: FloatArray, area: FloatArray, sigmas: FloatArray
) -> FloatArray:
    """(B,) 1 - OKS of one prediction per image.

    Args:
        pred: (B, K, 2) predicted keypoints, NaN rows for images without a prediction.
        gt: (B, K, 2) ground truth; vis: (B, K) COCO flags; area: (B,) object scale (pixels);
        sigmas: (K,) OKS sigmas.
    """
    missing = np.asarray(~np.isfinite(pred).all(axis=(1, 2)), dtype=bool)
    p = np.where(missing[:, None, None], 0.0, pred)
    bbox = np.full((len(gt), 4), np.nan)
    oks = oks_pairs(p, gt, vis, bbox, area, sigmas)
    err = 1.0 - oks
    no_label = (vis > 0).sum(1) == 0
    err[no_label] = np.nan  # nothing to score
    err[missing & ~no_label] = 1.0
    return np.asarray(err, np.float64)


def normalized_error(
    pred: FloatArray, gt: FloatArray, vis: FloatArray, boxes: FloatArray
) -> FloatArray:
    """(B,) mean keypoint distance / person-box diagonal over labelled keypoints, capped at 1.

    Args:
        pred, gt: (B, K, 2) pixels (NaN pred rows: no prediction -> 1); vis: (B, K);
        boxes: (B, 4) ``[x, y, w, h]``.
    """
    diag = np.hypot(boxes[:, 2], boxes[:, 3]).clip(1.0)
    d = np.linalg.norm(pred - gt, axis=-1) / diag[:, None]
    lab = vis > 0
    n = lab.sum(1)
    with np.errstate(invalid="ignore"):
        err = np.where(lab, np.nan_to_num(d, nan=1.0), 0.0).sum(1) / np.where(n > 0, n, 1)
    err = np.minimum(err, 1.0)
    return np.asarray(np.where(n > 0, err, np.nan), np.float64)


def mpjpe_error(pred: FloatArray, gt: FloatArray, root: tuple[int, ...]) -> FloatArray:
    """(B,) root-aligned mean per-joint position error (the unit of the inputs).

    Args:
        pred, gt: (B, K, 3); root: joint indices whose mean is the root of each pose.
    """
    r = list(root)
    p = pred - pred[:, r].mean(1, keepdims=True)
    g = gt - gt[:, r].mean(1, keepdims=True)
    return np.asarray(np.linalg.norm(p - g, axis=-1).mean(1), np.float64)


def select_predictions(
    pred: PoseSet,
    image_ids: npt.NDArray[np.int64],
    gt: FloatArray,
    vis: FloatArray,
    area: FloatArray,
    sigmas: FloatArray | None,
) -> FloatArray:
    """The prediction paired with each image's single rendered person: (B, K, D), NaN where none.

    Top-down predictions (``extra["box_index"]``) pair with box 0. Otherwise, among an image's
    predictions the one with the highest OKS against the ground truth wins (as COCO's matching
    would pair them; with no sigmas, e.g. 3D, the highest ``score``).
    """
    b = len(image_ids)
    k, d = pred.keypoints.shape[1], pred.keypoints.shape[2]
    out = np.full((b, k, d), np.nan)
    if not len(pred):
        return out
    pos = {int(i): j for j, i in enumerate(image_ids.tolist())}
    try:
        row_img = np.array([pos[int(i)] for i in pred.image_id], np.int64)
    except KeyError as e:
        raise InputError(f"prediction for image {e} not in the batch", field="image_id") from None
    if "box_index" in pred.extra:
        keep = np.asarray(pred.extra["box_index"]) == 0
    else:
        keep = np.ones(len(pred), bool)
    rows = np.flatnonzero(keep)
    if sigmas is not None and d == 2:
        g = row_img[rows]
        quality = oks_pairs(
            pred.keypoints[rows], gt[g], vis[g], np.full((len(rows), 4), np.nan), area[g], sigmas
        )
    else:
        quality = np.nan_to_num(pred.score[rows], nan=0.0)
    # Per image, the best row: sort by (image, quality) and keep the last of each image.
    order = np.lexsort((quality, row_img[rows]))
    r_sorted = rows[order]
    img_sorted = row_img[r_sorted]
    last = np.r_[img_sorted[1:] != img_sorted[:-1], True]
    out[img_sorted[last]] = pred.keypoints[r_sorted[last]]
    return out
