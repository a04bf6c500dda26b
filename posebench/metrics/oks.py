"""Object keypoint similarity (OKS), vectorised over detection/ground-truth pairs.

The arithmetic mirrors pycocotools ``COCOeval.computeOks`` operation by operation, so that every
value is bit-identical to the reference: the same order of divisions, the ``np.spacing(1)`` guard
on the area, the "distance to a box twice the GT box" branch for ground truth without labelled
keypoints, and numpy's pairwise summation over exactly the labelled keypoints.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from posebench.arrayutil import unique

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def oks_pairs(
    det_xy: FloatArray,
    gt_xy: FloatArray,
    gt_vis: FloatArray,
    gt_bbox: FloatArray,
    gt_scale: FloatArray,
    sigmas: FloatArray,
) -> FloatArray:
    """OKS of P (detection, ground truth) pairs.

    Args:
        det_xy: (P, K, 2) detected keypoints in pixels.
        gt_xy: (P, K, 2) ground-truth keypoints.
        gt_vis: (P, K) ground-truth ``v`` flags; keypoints with ``v > 0`` are scored.
        gt_bbox: (P, 4) ground-truth ``[x, y, w, h]``, used only by pairs whose ground truth has no
            labelled keypoint (then the distance to the box doubled around the GT box is scored).
        gt_scale: (P,) the object scale s² (the COCO segment area, or 0.53·w·h for CrowdPose).
        sigmas: (K,) per-keypoint OKS sigmas.

    Returns:
        (P,) OKS in [0, 1].
    """
    p, k = gt_vis.shape
    out = np.empty(p)
    if p == 0:
        return out
    variances = (sigmas * 2) ** 2
    labelled = gt_vis > 0
    n_lab = np.count_nonzero(labelled, axis=1)
    dx = det_xy[:, :, 0] - gt_xy[:, :, 0]
    dy = det_xy[:, :, 1] - gt_xy[:, :, 1]
    unl = n_lab == 0
    if unl.any():
        # pycocotools: measure the distance to the box [x - w, x + 2w] x [y - h, y + 2h].
        bb = gt_bbox[unl]
        x0 = (bb[:, 0] - bb[:, 2])[:, None]
        x1 = (bb[:, 0] + bb[:, 2] * 2)[:, None]
        y0 = (bb[:, 1] - bb[:, 3])[:, None]
        y1 = (bb[:, 1] + bb[:, 3] * 2)[:, None]
        xd = det_xy[unl, :, 0]
        yd = det_xy[unl, :, 1]
        dx[unl] = np.maximum(0.0, x0 - xd) + np.maximum(0.0, xd - x1)
        dy[unl] = np.maximum(0.0, y0 - yd) + np.maximum(0.0, yd - y1)
    e = (dx**2 + dy**2) / variances / (gt_scale[:, None] + np.spacing(1)) / 2
    sim = np.exp(-e)
    # The reference sums np.exp(-e[vg > 0]) as a 1-D array: numpy's pairwise summation over the
    # labelled entries only. Summing row blocks of equal count c, compressed to (rows, c), gives
    # the same bits (numpy reduces each row of a 2-D array with the same pairwise kernel).
    for c in unique(n_lab):
        rows = np.flatnonzero(n_lab == c)
        if c == 0:
            out[rows] = np.sum(sim[rows], axis=1) / k
        else:
            block = sim[rows][labelled[rows]].reshape(len(rows), int(c))
            out[rows] = np.sum(block, axis=1) / int(c)
    return out


def oks_matrix(
    pred: FloatArray,
    gt: FloatArray,
    gt_vis: FloatArray,
    gt_area: FloatArray,
    sigmas: FloatArray,
    gt_bbox: FloatArray | None = None,
) -> FloatArray:
    """OKS between every prediction and every ground truth of one image.

    Args:
        pred: (N, K, 2) predicted keypoints.
        gt: (M, K, 2) ground-truth keypoints.
        gt_vis: (M, K) ground-truth visibility flags.
        gt_area: (M,) object scales (segment areas).
        sigmas: (K,) OKS sigmas.
        gt_bbox: (M, 4) boxes, needed only for ground truth without labelled keypoints.

    Returns:
        (N, M) OKS values.

    >>> import numpy as np
    >>> from posebench.skeletons import COCO17
    >>> g = np.random.default_rng(0).random((1, 17, 2)) * 100
    >>> vis, area = np.full((1, 17), 2.0), np.array([5000.0])
    >>> float(oks_matrix(g, g, vis, area, COCO17.oks_sigmas())[0, 0])
    1.0
    """
    n, m = len(pred), len(gt)
    di = np.repeat(np.arange(n), m)
    gi = np.tile(np.arange(m), n)
    bbox = gt_bbox if gt_bbox is not None else np.full((m, 4), np.nan)
    vals = oks_pairs(pred[di], gt[gi], gt_vis[gi], bbox[gi], gt_area[gi], sigmas)
    return vals.reshape(n, m)
