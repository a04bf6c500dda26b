"""Invariants of OKS AP that any correct evaluator must satisfy (hypothesis-driven)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posebench.formats import coco
from posebench.metrics import cocoeval
from posebench.metrics.oks import oks_matrix
from posebench.poseset import PoseSet
from posebench.samples import sample_path
from posebench.skeletons import COCO17
from tests.conftest import DATA

PAIRS = [
    (sample_path("coco-val2017-4"), sample_path("coco-val2017-4-results")),
    (DATA / "coco/fce_gt_139099.json", DATA / "coco/fce_dt_139099.json"),
]
LOADED = [(coco.read_gt(g), coco.read_results(r, coco.read_gt(g))) for g, r in PAIRS]
PARAMS = cocoeval.coco_params(COCO17.oks_sigmas())
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _stats(gt: coco.CocoGroundTruth, dt: PoseSet) -> dict[str, float]:
    return cocoeval.evaluate_oks(gt.poses, dt, gt.images, PARAMS).stats


def _gt_as_prediction(gt: coco.CocoGroundTruth) -> PoseSet:
    keep = np.flatnonzero(~gt.poses.iscrowd & (gt.poses.num_keypoints > 0))
    p = gt.poses.take(keep)
    n = len(p)
    return PoseSet(
        image_id=p.image_id,
        keypoints=p.keypoints,
        keypoint_scores=np.ones((n, p.num_joints)),
        score=np.ones(n),
        category_id=p.category_id,
        extra={"has_bbox": np.zeros(n, bool)},
    )


def test_ground_truth_as_prediction_scores_one() -> None:
    for gt, _ in LOADED:
        stats = _stats(gt, _gt_as_prediction(gt))
        assert stats["AP"] == 1.0
        assert stats["AR"] == 1.0
        assert stats["AP50"] == 1.0
        assert stats["AP75"] == 1.0


def test_oks_of_identical_pose_is_one_and_falls_with_distance() -> None:
    rng = np.random.default_rng(0)
    g = rng.random((1, 17, 2)) * 200
    vis = np.full((1, 17), 2.0)
    shifts = np.array([0.0, 1.0, 5.0, 20.0, 80.0])
    preds = g + shifts[:, None, None]
    o = oks_matrix(preds, g, vis, np.array([10000.0]), COCO17.oks_sigmas())[:, 0]
    assert o[0] == 1.0
    assert np.all(np.diff(o) < 0)


@SETTINGS
@given(which=st.integers(0, len(LOADED) - 1), seed=st.integers(0, 2**31 - 1))
def test_permuting_results_with_distinct_scores_changes_nothing(which: int, seed: int) -> None:
    gt, dt = LOADED[which]
    rng = np.random.default_rng(seed)
    # make scores distinct so that no tie is broken by file order (which is the reference rule)
    dt = dt.with_columns(score=dt.score + np.arange(len(dt)) * 1e-9)
    perm = rng.permutation(len(dt))
    shuffled = dt.take(perm).with_columns(extra={"has_bbox": dt.extra["has_bbox"][perm]})
    assert _stats(gt, shuffled) == _stats(gt, dt)


@SETTINGS
@given(
    which=st.integers(0, len(LOADED) - 1),
    n_fp=st.integers(1, 30),
    score=st.floats(0, 1),
    seed=st.integers(0, 2**31 - 1),
)
def test_far_away_false_positives_never_raise_ap(
    which: int, n_fp: int, score: float, seed: int
) -> None:
    gt, dt = LOADED[which]
    rng = np.random.default_rng(seed)
    img = rng.choice(gt.images.id, n_fp)
    far = rng.uniform(1e5, 2e5, (n_fp, 1, 2)) + rng.normal(0, 5, (n_fp, dt.num_joints, 2))
    fp = PoseSet(
        image_id=img,
        keypoints=far,
        keypoint_scores=np.ones((n_fp, dt.num_joints)),
        score=np.full(n_fp, score),
        category_id=np.ones(n_fp, np.int64),
        extra={"has_bbox": np.zeros(n_fp, bool)},
    )
    both = PoseSet(
        image_id=np.r_[dt.image_id, fp.image_id],
        keypoints=np.r_[dt.keypoints, fp.keypoints],
        keypoint_scores=np.r_[dt.keypoint_scores, fp.keypoint_scores],
        score=np.r_[dt.score, fp.score],
        category_id=np.r_[dt.category_id, fp.category_id],
        extra={"has_bbox": np.r_[dt.extra["has_bbox"], fp.extra["has_bbox"]]},
    )
    before, after = _stats(gt, dt), _stats(gt, both)
    for key in ("AP", "AP50", "AP75"):
        assert after[key] <= before[key]


@SETTINGS
@given(seed=st.integers(0, 2**31 - 1))
def test_relabelling_image_ids_changes_nothing(seed: int) -> None:
    gt, dt = LOADED[0]
    rng = np.random.default_rng(seed)
    old = gt.images.id
    new = rng.choice(np.arange(1, 10**6), len(old), replace=False)
    # keep the relative order of images (the reference concatenates detections in image-id order,
    # which decides between equal scores on different images)
    new = np.sort(new)
    lut = dict(zip(old.tolist(), new.tolist(), strict=True))
    remap = np.vectorize(lut.__getitem__, otypes=[np.int64])
    images = gt.images.__class__(
        id=remap(old), file=gt.images.file, width=gt.images.width,
        height=gt.images.height, crowd_index=gt.images.crowd_index,
    )  # fmt: skip
    g2 = coco.CocoGroundTruth(
        path=gt.path, images=images, poses=gt.poses.with_columns(image_id=remap(gt.poses.image_id)),
        categories=gt.categories, num_joints=gt.num_joints,
    )  # fmt: skip
    d2 = dt.with_columns(image_id=remap(dt.image_id))
    assert _stats(g2, d2) == _stats(gt, dt)
