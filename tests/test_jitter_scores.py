"""The jitter adapter's confidence: a documented monotone function of the realised error plus
seeded noise, so that AP rises as the score becomes more informative."""

from __future__ import annotations

import numpy as np
import pytest

from posebench.adapter import Batch
from posebench.adapters.oracle import JitterAdapter, jitter_score, realised_error
from posebench.formats import coco
from posebench.metrics import cocoeval
from posebench.samples import sample_path
from posebench.skeletons import COCO17


@pytest.fixture(scope="module")
def sample() -> coco.CocoGroundTruth:
    return coco.read_gt(sample_path("coco-val2017-sample"))


def _predict(gt: coco.CocoGroundTruth, **args: float) -> object:
    a = JitterAdapter(**args)  # type: ignore[arg-type]
    a.prepare(gt.poses, COCO17, "sample")
    images = [
        np.zeros((int(h), int(w), 3), np.uint8)
        for w, h in zip(gt.images.width, gt.images.height, strict=True)
    ]
    return a.predict(Batch(image_ids=gt.images.id.astype(np.int64), images=images))


def _ap(gt: coco.CocoGroundTruth, **args: float) -> float:
    dt = _predict(gt, **args)
    params = cocoeval.coco_params(COCO17.oks_sigmas())
    return float(cocoeval.evaluate_oks(gt.poses, dt, gt.images, params).stats["AP"])  # type: ignore[arg-type]


def test_score_is_the_documented_function() -> None:
    e = np.array([0.0, 0.05, 0.15, 0.3])
    np.testing.assert_allclose(jitter_score(e, np.zeros(4), 0.0), 1 / (1 + np.exp(-(3 - e / 0.05))))
    assert jitter_score(np.array([0.15]), np.zeros(1), 0.0)[0] == pytest.approx(0.5)
    z = np.array([0.3, -1.2, 2.0, 0.0])
    np.testing.assert_allclose(
        jitter_score(e, z, 0.7), 1 / (1 + np.exp(-(3 - e / 0.05 + 0.7 * z))), rtol=1e-15
    )


def test_realised_error_by_hand() -> None:
    gt = np.zeros((2, 3, 2))
    pred = gt.copy()
    pred[0, 0] = [3.0, 4.0]  # 5 px
    pred[1, 2] = [6.0, 8.0]  # 10 px, but not labelled
    labelled = np.array([[True, True, True], [True, True, False]])
    np.testing.assert_allclose(
        realised_error(pred, gt, labelled, np.array([10.0, 10.0])), [5 / 10 / 3, 0.0]
    )


def test_without_score_noise_ranking_is_by_realised_error(sample: coco.CocoGroundTruth) -> None:
    dt = _predict(sample, noise=0.08, swap=0.2, score_noise=0.0)
    gt = sample.poses
    usable = np.flatnonzero(~gt.iscrowd & (gt.num_keypoints > 0))
    assert len(dt) == len(usable)  # no misses or false positives asked for
    # jitter keeps each person's GT box: pair predictions with their GT by (image, box)
    where = {(int(gt.image_id[r]), tuple(gt.bbox[r])): r for r in usable}
    rows = np.array([where[(int(i), tuple(b))] for i, b in zip(dt.image_id, dt.bbox, strict=True)])
    scale = np.sqrt(np.clip(gt.bbox[rows, 2] * gt.bbox[rows, 3], 1.0, None))
    assert gt.visibility is not None
    err = realised_error(dt.keypoints, gt.keypoints[rows], gt.visibility[rows] > 0, scale)
    np.testing.assert_allclose(dt.score, jitter_score(err, np.zeros(len(err)), 0.0), rtol=1e-12)
    assert len(np.unique(err)) == len(err)
    # strictly monotone: sorting by score sorts by error, reversed
    ranks = np.argsort(-dt.score, kind="stable")
    assert (np.diff(err[ranks]) > 0).all()


def test_ap_rises_as_scores_become_more_informative(sample: coco.CocoGroundTruth) -> None:
    args = {"noise": 0.06, "swap": 0.1, "false_positives": 1.0}
    aps = [
        np.mean([_ap(sample, score_noise=s, seed=seed, **args) for seed in range(3)])
        for s in (30.0, 3.0, 1.0, 0.0)
    ]
    assert (np.diff(aps) > 0).all(), aps
    assert aps[-1] - aps[0] > 0.03, aps
