"""COCO-WholeBody-133, Halpe-26 and AIC-14 skeletons: layout, sigmas as mmpose lists them, and
OKS AP on them identical to xtcocotools given the same sigmas."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from posebench import synthetic
from posebench.formats import coco
from posebench.metrics import cocoeval
from posebench.skeletons import (
    AIC14,
    COCO17,
    COCO_WHOLEBODY133,
    CROWDPOSE14,
    HALPE26,
    WHOLEBODY_PARTS,
    get_skeleton,
    mapping,
)
from tests.refeval import xtcocotools_eval


def test_wholebody_layout() -> None:
    sk = get_skeleton("coco_wholebody133")
    assert sk is COCO_WHOLEBODY133
    assert sk.num_keypoints == 133
    assert [b - a for a, b in WHOLEBODY_PARTS.values()] == [17, 6, 68, 21, 21]
    assert sk.keypoints[:17] == COCO17.keypoints
    # The body sigmas are COCO's values, but as mmpose writes them (0.026, passed as such to
    # xtcocotools), not as pycocotools computes them (.26 / 10.0): 5 of 17 differ in the last bit.
    sig = sk.oks_sigmas()
    coco = COCO17.oks_sigmas()
    assert np.flatnonzero(sig[:17] != coco).tolist() == [0, 3, 4, 11, 12]
    assert np.array_equal(np.spacing(coco) >= np.abs(sig[:17] - coco), np.ones(17, bool))
    assert np.array_equal(sig[:17], np.array([0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079,
                                              0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087,
                                              0.087, 0.089, 0.089]))  # fmt: skip
    # spot values of mmpose configs/_base_/datasets/coco_wholebody.py, unscaled literals
    assert (sig[17], sig[22], sig[23], sig[89], sig[93], sig[132]) == (
        0.068,
        0.094,
        0.042,
        0.01,
        0.035,
        0.031,
    )
    assert sig.sum() == pytest.approx(3.861, abs=1e-12)
    perm = sk.flip_permutation()
    assert np.array_equal(perm[perm], np.arange(133))
    names = sk.keypoints
    assert names[perm[names.index("left_heel")]] == "right_heel"
    assert names[perm[names.index("left_pinky_finger4")]] == "right_pinky_finger4"
    assert names[perm[names.index("face_0")]] == "face_16"  # jaw mirrored
    assert names[perm[names.index("face_36")]] == "face_45"  # eye corners
    assert perm[names.index("face_30")] == names.index("face_30")  # nose tip stays
    src, dst = mapping(sk, COCO17)
    assert np.array_equal(src, np.arange(17))
    assert np.array_equal(dst, np.arange(17))


def test_halpe_and_aic_layout() -> None:
    assert get_skeleton("halpe26") is HALPE26
    assert get_skeleton("aic14") is AIC14
    assert HALPE26.keypoints[:17] == COCO17.keypoints
    assert np.array_equal(HALPE26.oks_sigmas()[:17], COCO_WHOLEBODY133.oks_sigmas()[:17])
    assert HALPE26.oks_sigmas()[17:].tolist() == [0.026, 0.026, 0.066] + [0.079] * 6
    assert AIC14.oks_sigmas()[[0, 6, 12, 13]].tolist() == [
        0.01388152,
        0.03909642,
        0.01291456,
        0.01236173,
    ]
    assert dict(zip(*mapping(AIC14, CROWDPOSE14), strict=True)) == {
        AIC14.index(n): CROWDPOSE14.index(n) for n in CROWDPOSE14.keypoints
    }
    halpe_flip = HALPE26.flip_permutation()
    assert HALPE26.keypoints[halpe_flip[HALPE26.index("left_big_toe")]] == "right_big_toe"
    assert halpe_flip[HALPE26.index("hip")] == HALPE26.index("hip")


def _k_keypoint_set(tmp: Path, k: int, seed: int) -> tuple[Path, Path]:
    """A synthetic COCO-17 set turned into K keypoints: extra joints near the ankles and the
    nose (K > 17) or the first K joints (K < 17)."""
    gt, res = synthetic.make_keypoint_dataset(60, seed=seed, bbox="never")
    rng = np.random.default_rng(seed)

    def widen(flat: list[float], is_gt: bool) -> list[float]:
        kp = np.asarray(flat, float).reshape(17, 3)
        if k <= 17:
            return kp[:k].ravel().tolist()
        base = kp[rng.integers(0, 17, k - 17)].copy()
        base[:, :2] += np.round(rng.normal(0, 4, (k - 17, 2)))
        if is_gt:
            base[:, 2] = np.where(base[:, 2] > 0, rng.choice([1, 2], k - 17), 0)
        return np.concatenate([kp, base]).ravel().tolist()

    for a in gt["annotations"]:
        a["keypoints"] = widen(a["keypoints"], True)
        a["num_keypoints"] = int(np.count_nonzero(np.asarray(a["keypoints"])[2::3]))
    for r in res:
        r["keypoints"] = widen(r["keypoints"], False)
    gt["categories"][0]["keypoints"] = [f"k{i}" for i in range(k)]
    g, r = tmp / "gt.json", tmp / "res.json"
    g.write_text(json.dumps(gt))
    r.write_text(json.dumps(res))
    return g, r


@pytest.mark.parametrize(
    ("skeleton", "use_area", "seed"),
    [(HALPE26, True, 0), (HALPE26, True, 1), (AIC14, False, 2), (AIC14, False, 3)],
)
def test_oks_equals_xtcocotools_with_the_same_sigmas(
    tmp_path: Path, skeleton: object, use_area: bool, seed: int
) -> None:
    """mmpose evaluates Halpe with CocoMetric (xtcocotools 'keypoints', use_area=True) and AIC
    with use_area=False; posebench with those semantics gives the same bits."""
    sk = skeleton  # type: ignore[assignment]
    g, r = _k_keypoint_set(tmp_path, sk.num_keypoints, seed)  # type: ignore[attr-defined]
    sig = sk.oks_sigmas()  # type: ignore[attr-defined]
    stats, arrays = xtcocotools_eval(g, r, "keypoints", sig, use_area=use_area)
    gt = coco.read_gt(g)
    dt = coco.read_results(r, gt)
    params = cocoeval.coco_params(
        sig,
        use_area=use_area,
        gt_ignore="visible",
        drop_zero_score_dets=True,
        gt_negative_id="xtcocotools",
    )
    ours = cocoeval.evaluate_oks(gt.poses, dt, gt.images, params)
    assert [ours.stats[k] for k in cocoeval.COCO_STATS] == stats.tolist()
    for key in ("precision", "recall", "scores"):
        assert np.array_equal(getattr(ours, key), arrays[key]), key
