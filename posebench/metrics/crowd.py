"""CrowdPose crowd index computed from ground truth, vectorised over a whole dataset.

Li et al., "CrowdPose: Efficient Crowded Scenes Pose Estimation and A New Benchmark" (CVPR 2019),
eq. 1: for the n persons of an image,

    CI = (1/n) · Σ_i N_b^i / N_a^i,

N_a^i the number of person i's own joints, N_b^i the number of joints of *other* persons that lie
inside person i's bounding box. The paper leaves the details open and the CrowdPose repository
publishes no code for it (Jeff-sjtu/CrowdPose issue #25 asks for it; a reader applying the paper
literally gets 1.0 where the file says 0.62). The conventions below were pinned by reproducing the
``images[].crowdIndex`` of the official ``crowdpose_val.json``: with them every one of its 2000
values is reproduced exactly (``tests/test_crowd_index.py``):

- the persons averaged over (the i of the sum, "reference persons") are the non-crowd annotations
  whose ``num_keypoints`` is at least 4. CrowdPose's ``num_keypoints`` counts the 12 limb joints
  only (head and neck excluded), so a person with only head and neck labelled is no reference;
- N_a^i counts *all* of person i's labelled joints (``v > 0``, head and neck included), whether
  or not they lie inside its box;
- N_b^i counts the labelled joints (``v > 0``) of every other annotation of the image, crowd
  regions and persons with few joints included, that lie in person i's GT ``bbox``
  ``[x, x + w] × [y, y + h]``, borders included;
- an image with persons but no reference person has crowd index 0; the file rounds to 2 decimals.

Changing any one of these loses exact agreement (share of the 2000 values reproduced, measured on
the same file): reference persons gated on the count of ``v > 0`` over all 14 joints instead of
``num_keypoints`` (best gate, >= 6): 95.4 %; crowd regions' joints left out of N_b: 97.1 %; box
borders excluded: 91.2 %; N_a counted inside the box only: 62 %; the 12 limb joints only: 17.5 %;
``v == 2`` only: 7 %. The paper read literally (every person, N_a inside its box) reproduces 53 %
(Pearson 0.80, Spearman 0.93, same xtcocotools bucket for 90 %).

Images with no non-crowd person at all get NaN (the index is a mean over no one).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

from posebench.errors import InputError
from posebench.poseset import ImageTable, PoseSet

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

__all__ = [
    "CROWDPOSE_MIN_KEYPOINTS",
    "CrowdIndexAgreement",
    "crowd_index",
    "crowd_index_agreement",
]

#: CrowdPose: persons with fewer labelled keypoints (its ``num_keypoints``) are not averaged over.
CROWDPOSE_MIN_KEYPOINTS = 4

#: (reference, other) pairs processed per block, to keep the (pairs, K) temporaries small.
_PAIR_BLOCK = 1 << 16


def crowd_index(
    gt: PoseSet,
    images: ImageTable,
    *,
    category_id: int | None = None,
    min_keypoints: int = CROWDPOSE_MIN_KEYPOINTS,
    decimals: int | None = 2,
    gt_file: str = "<ground truth>",
) -> FloatArray:
    """CrowdPose crowd index of every image, from ground-truth keypoints and boxes.

    Args:
        gt: ground truth; ``keypoints`` (N, K, 2), ``visibility`` (N, K), ``bbox`` (N, 4)
            ``[x, y, w, h]``, ``iscrowd`` and ``num_keypoints`` (N,) are used.
        images: the images; the result is aligned with its rows.
        category_id: only annotations of this category (default: all).
        min_keypoints: a non-crowd person is averaged over when its ``num_keypoints`` reaches
            this (CrowdPose: 4, see the module docstring).
        decimals: round as the CrowdPose files do (2); None keeps the exact ratio.
        gt_file: named in errors.

    Returns:
        (I,) float64 crowd index per row of ``images``, >= 0 (it can exceed 1: the joints of
        several others may crowd one box); 0 for an image with persons but none with enough
        keypoints; NaN for an image without a non-crowd person.

    >>> import numpy as np
    >>> from posebench.poseset import ImageTable, PoseSet
    >>> kp = np.array([[[1, 1], [2, 2], [3, 3], [4, 4]], [[3, 3], [9, 9], [9, 9], [9, 9]]], float)
    >>> gt = PoseSet(image_id=np.array([7, 7]), keypoints=kp, visibility=np.full((2, 4), 2.0),
    ...              bbox=np.array([[0, 0, 5, 5], [2, 2, 8, 8]], float))
    >>> crowd_index(gt, ImageTable.from_ids([7, 8])).tolist()  # (1/4 + 3/4) / 2
    [0.5, nan]
    """
    if isinstance(min_keypoints, bool) or not isinstance(min_keypoints, int | np.integer):
        raise TypeError(f"min_keypoints must be an int, got {type(min_keypoints).__name__}")
    if min_keypoints < 1:
        raise ValueError(f"min_keypoints must be >= 1, got {min_keypoints}")
    if decimals is not None and (isinstance(decimals, bool) or not isinstance(decimals, int)):
        raise TypeError(f"decimals must be an int or None, got {type(decimals).__name__}")
    if gt.visibility is None:
        raise ValueError("crowd_index needs ground truth with visibility flags (gt.visibility)")
    n_img = len(images)
    order = np.argsort(images.id, kind="stable")
    sorted_ids = images.id[order]
    if n_img and (sorted_ids[1:] == sorted_ids[:-1]).any():
        raise ValueError("images.id must be unique")

    keep = np.ones(len(gt), bool) if category_id is None else gt.category_id == category_id
    pos = np.searchsorted(sorted_ids, gt.image_id)
    pos_c = np.minimum(pos, max(n_img - 1, 0))
    keep &= (sorted_ids[pos_c] == gt.image_id) if n_img else np.zeros(len(gt), bool)
    rows = np.flatnonzero(keep)
    rows = rows[np.argsort(pos[rows], kind="stable")]
    img = pos[rows]  # index into sorted_ids, non-decreasing

    vis = gt.visibility[rows]
    lab = vis > 0
    kp = gt.keypoints[rows, :, :2]
    crowd = gt.iscrowd[rows]
    n_a = np.count_nonzero(lab, axis=1)
    ref = ~crowd & (gt.num_keypoints[rows] >= min_keypoints) & (n_a > 0)
    box = gt.bbox[rows]
    bad = ref & ~np.isfinite(box).all(axis=1)
    if bad.any():
        i = int(rows[np.flatnonzero(bad)[0]])
        raise InputError(
            "missing 'bbox', needed for the crowd index",
            file=gt_file,
            record=f"annotations[{i}]",
            field="bbox",
        )
    # Labelled joints only: an unlabelled joint's [0, 0] must never fall into a box.
    x = np.where(lab, kp[:, :, 0], np.nan)
    y = np.where(lab, kp[:, :, 1], np.nan)

    start = np.searchsorted(img, np.arange(n_img))
    count = np.searchsorted(img, np.arange(n_img), side="right") - start
    refs = np.flatnonzero(ref)
    per_ref = count[img[refs]]
    n_b = np.zeros(len(img), np.int64)
    if len(refs):
        ends = np.cumsum(per_ref)
        cuts = np.searchsorted(ends, np.arange(_PAIR_BLOCK, int(ends[-1]), _PAIR_BLOCK), "right")
        for lo, hi in itertools.pairwise(np.unique(np.r_[0, cuts, len(refs)])):
            cnt = per_ref[lo:hi]
            p_ref = np.repeat(refs[lo:hi], cnt)
            offs = np.arange(len(p_ref)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
            p_oth = start[img[p_ref]] + offs
            other = p_oth != p_ref
            p_ref, p_oth = p_ref[other], p_oth[other]
            b = box[p_ref]
            ox, oy = x[p_oth], y[p_oth]
            with np.errstate(invalid="ignore"):
                inside = (
                    (ox >= b[:, 0:1])
                    & (ox <= b[:, 0:1] + b[:, 2:3])
                    & (oy >= b[:, 1:2])
                    & (oy <= b[:, 1:2] + b[:, 3:4])
                )
            n_b += np.bincount(
                p_ref, weights=np.count_nonzero(inside, axis=1), minlength=len(img)
            ).astype(np.int64)

    ratio = n_b[refs] / n_a[refs]
    total = np.bincount(img[refs], weights=ratio, minlength=n_img)
    n_ref = np.bincount(img[refs], minlength=n_img)
    has_person = np.bincount(img[~crowd], minlength=n_img) > 0
    ci = np.full(n_img, np.nan)
    ci[has_person] = 0.0
    np.divide(total, n_ref, out=ci, where=n_ref > 0)
    if decimals is not None:
        ci = np.round(ci, decimals)
    out = np.empty(n_img)
    out[order] = ci
    return out


@dataclass(frozen=True)
class CrowdIndexAgreement:
    """How well a computed crowd index agrees with a stored one, over images where both exist.

    Attributes:
        n: images compared (both values finite).
        pearson, spearman: correlation coefficients (NaN when either side is constant).
        mean_abs_diff, max_abs_diff: absolute differences.
        exact: share of images with equal values.
        same_bucket: share of images landing in the same easy/medium/hard bucket, per bucket
            convention name (``posebench.metrics.cocoeval.CROWD_BUCKETS``).
    """

    n: int
    pearson: float
    spearman: float
    mean_abs_diff: float
    max_abs_diff: float
    exact: float
    same_bucket: dict[str, float]


def crowd_index_agreement(
    computed: npt.ArrayLike,
    stored: npt.ArrayLike,
    buckets: dict[str, tuple[float, float]] | None = None,
) -> CrowdIndexAgreement:
    """Agreement of two (I,) crowd-index arrays (e.g. :func:`crowd_index` vs ``crowdIndex``).

    Args:
        computed, stored: (I,) values for the same images; NaN entries are left out.
        buckets: bucket edges ``(first, second)`` by name (easy < first <= medium < second <=
            hard); default ``CROWD_BUCKETS`` (xtcocotools 0.2/0.8 and the paper's 0.1/0.8).
    """
    from posebench.metrics.cocoeval import CROWD_BUCKETS

    a = np.asarray(computed, dtype=np.float64)
    b = np.asarray(stored, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"computed and stored must both be (I,), got {a.shape} and {b.shape}")
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    n = len(a)
    edges = CROWD_BUCKETS if buckets is None else buckets
    nan = float("nan")
    if n == 0:
        return CrowdIndexAgreement(0, nan, nan, nan, nan, nan, {k: nan for k in edges})

    def corr(u: FloatArray, v: FloatArray) -> float:
        if n < 2 or np.ptp(u) == 0 or np.ptp(v) == 0:
            return nan
        return float(np.corrcoef(u, v)[0, 1])

    spearman = corr(sps.rankdata(a), sps.rankdata(b))
    diff = np.abs(a - b)
    same = {
        name: float(np.mean(np.digitize(a, e, right=False) == np.digitize(b, e, right=False)))
        for name, e in edges.items()
    }
    return CrowdIndexAgreement(
        n=n,
        pearson=corr(a, b),
        spearman=spearman,
        mean_abs_diff=float(diff.mean()),
        max_abs_diff=float(diff.max()),
        exact=float(np.mean(a == b)),
        same_bucket=same,
    )
