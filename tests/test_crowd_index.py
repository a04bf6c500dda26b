"""Crowd index from ground truth: hand-computed cases, an independent per-image implementation,
and the agreement with the official CrowdPose ``crowdIndex`` values, pinned."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posebench.errors import InputError
from posebench.formats import coco
from posebench.metrics.crowd import crowd_index, crowd_index_agreement
from posebench.poseset import ImageTable, PoseSet

DATA = Path(__file__).parent / "data" / "crowdpose"


def _poses(
    image_id: list[int],
    keypoints: list[list[tuple[float, float]]],
    bbox: list[tuple[float, float, float, float]],
    *,
    vis: list[list[float]] | None = None,
    iscrowd: list[bool] | None = None,
    num_keypoints: list[int] | None = None,
    category_id: list[int] | None = None,
) -> PoseSet:
    kp = np.asarray(keypoints, dtype=np.float64)
    n, k = kp.shape[:2]
    return PoseSet(
        image_id=np.asarray(image_id, np.int64),
        keypoints=kp,
        visibility=np.full((n, k), 2.0) if vis is None else np.asarray(vis, np.float64),
        bbox=np.asarray(bbox, np.float64),
        iscrowd=np.zeros(n, bool) if iscrowd is None else np.asarray(iscrowd, bool),
        num_keypoints=np.zeros(0, np.int64)
        if num_keypoints is None
        else np.asarray(num_keypoints, np.int64),
        category_id=np.zeros(0, np.int64) if category_id is None else np.asarray(category_id),
    )


SQUARE = [(1.0, 1.0), (2.0, 2.0), (3.0, 3.0), (4.0, 4.0)]


# ----------------------------------------------------------------------------- hand-computed


def test_two_persons_hand_computed() -> None:
    # A: joints (1,1)..(4,4), box [0,5]²; B: (3,3) and three at (9,9), box [2,10]².
    # N_b^A = 1 (B's (3,3)); N_b^B = 3 (A's (2,2) on the border, (3,3), (4,4)); N_a = 4 each.
    gt = _poses(
        [7, 7],
        [SQUARE, [(3, 3), (9, 9), (9, 9), (9, 9)]],
        [(0, 0, 5, 5), (2, 2, 8, 8)],
    )
    out = crowd_index(gt, ImageTable.from_ids([7]), decimals=None)
    assert out.tolist() == [(1 / 4 + 3 / 4) / 2]


def test_isolated_persons_have_index_zero() -> None:
    gt = _poses(
        [1, 1], [SQUARE, [(50 + x, 50 + y) for x, y in SQUARE]], [(0, 0, 5, 5), (50, 50, 5, 5)]
    )
    assert crowd_index(gt, ImageTable.from_ids([1])).tolist() == [0.0]


def test_reference_gate_and_who_counts() -> None:
    # R is the only reference (num_keypoints 4). S has 3 keypoints: not averaged over, but its
    # joints inside R's box count; so do a crowd region's labelled joints. Unlabelled joints (v=0,
    # stored at (0, 0) inside R's box) never count.
    r = SQUARE
    s = [(1.5, 1.5), (2.5, 2.5), (3.5, 3.5), (0.0, 0.0)]
    crowd = [(4.5, 4.5), (0.0, 0.0), (0.0, 0.0), (0.0, 0.0)]
    gt = _poses(
        [3, 3, 3],
        [r, s, crowd],
        [(0, 0, 5, 5), (0, 0, 5, 5), (0, 0, 20, 20)],
        vis=[[2, 2, 2, 2], [2, 1, 2, 0], [1, 0, 0, 0]],
        iscrowd=[False, False, True],
        num_keypoints=[4, 3, 0],
    )
    # N_b^R = 3 (S) + 1 (crowd) = 4; N_a^R = 4.
    assert crowd_index(gt, ImageTable.from_ids([3]), decimals=None).tolist() == [1.0]
    # With the gate at 3, S is a reference too: N_b^S = 4 (R) + 1 (crowd), N_a^S = 3.
    out = crowd_index(gt, ImageTable.from_ids([3]), min_keypoints=3, decimals=None)
    assert out.tolist() == [(1.0 + 5 / 3) / 2]


def test_own_joints_outside_own_box_still_count() -> None:
    # N_a counts every labelled joint of the person, not only those in its box (what reproduces
    # the official values; the paper's wording suggests otherwise).
    a = [(1, 1), (2, 2), (3, 3), (40, 40)]
    b = [(2, 3), (60, 60), (60, 60), (60, 60)]
    gt = _poses([5, 5], [a, b], [(0, 0, 5, 5), (50, 50, 20, 20)])
    out = crowd_index(gt, ImageTable.from_ids([5]), decimals=None)
    assert out.tolist() == [(1 / 4 + 0 / 4) / 2]


def test_no_person_nan_no_reference_zero_and_row_alignment() -> None:
    gt = _poses(
        [30, 10, 10, 20],
        [SQUARE, SQUARE, SQUARE, SQUARE],
        [(0, 0, 5, 5)] * 4,
        iscrowd=[False, False, False, True],
        num_keypoints=[2, 4, 4, 0],
    )
    # rows: 20 (a crowd region only), 40 (nothing), 10 (two identical persons), 30 (one person
    # below the gate).
    out = crowd_index(gt, ImageTable.from_ids([20, 40, 10, 30]), decimals=None)
    assert np.isnan(out[:2]).all()
    assert out[2] == 1.0  # each sees the other's 4 joints in its box: 4/4
    assert out[3] == 0.0


def test_index_can_exceed_one_and_rounds_like_the_files() -> None:
    # Three identical persons: each box holds the other two's 8 joints, N_a = 4: index 2.
    gt = _poses([1, 1, 1], [SQUARE] * 3, [(0, 0, 5, 5)] * 3)
    assert crowd_index(gt, ImageTable.from_ids([1])).tolist() == [2.0]
    three = _poses(
        [2, 2, 2], [SQUARE, SQUARE, [(50, 50)] * 4], [(0, 0, 5, 5)] * 2 + [(49, 49, 2, 2)]
    )
    exact = crowd_index(three, ImageTable.from_ids([2]), decimals=None)[0]
    assert exact == pytest.approx(2 / 3, abs=0)
    assert crowd_index(three, ImageTable.from_ids([2]))[0] == 0.67


def test_category_filter() -> None:
    gt = _poses([1, 1], [SQUARE, SQUARE], [(0, 0, 5, 5)] * 2, category_id=[1, 2])
    assert crowd_index(gt, ImageTable.from_ids([1])).tolist() == [1.0]
    assert crowd_index(gt, ImageTable.from_ids([1]), category_id=1).tolist() == [0.0]
    assert np.isnan(crowd_index(gt, ImageTable.from_ids([1]), category_id=3)[0])


# ----------------------------------------------------------------------------- independent check


def _naive(gt: PoseSet, ids: np.ndarray, min_keypoints: int) -> np.ndarray:
    """The same definition, one image and one person at a time."""
    out = np.full(len(ids), np.nan)
    assert gt.visibility is not None
    for i, iid in enumerate(ids):
        rows = np.flatnonzero(gt.image_id == iid)
        if not (~gt.iscrowd[rows]).any():
            continue
        ratios = []
        for r in rows:
            lab = gt.visibility[r] > 0
            if gt.iscrowd[r] or gt.num_keypoints[r] < min_keypoints or not lab.any():
                continue
            x, y, w, h = gt.bbox[r]
            n_b = 0
            for o in rows:
                if o == r:
                    continue
                kx, ky = gt.keypoints[o, :, 0], gt.keypoints[o, :, 1]
                inside = (kx >= x) & (kx <= x + w) & (ky >= y) & (ky <= y + h)
                n_b += int((inside & (gt.visibility[o] > 0)).sum())
            ratios.append(n_b / lab.sum())
        out[i] = np.mean(ratios) if ratios else 0.0
    return out


def _random_gt(seed: int, n_img: int, max_persons: int, k: int = 6) -> tuple[PoseSet, np.ndarray]:
    rng = np.random.default_rng(seed)
    ids = rng.permutation(np.arange(100, 100 + n_img))
    per = rng.integers(0, max_persons + 1, n_img)
    img = np.repeat(ids, per)
    n = len(img)
    kp = rng.integers(0, 30, (n, k, 2)).astype(np.float64)  # integers: many border hits
    vis = rng.choice([0.0, 1.0, 2.0], (n, k), p=[0.3, 0.3, 0.4])
    xy = rng.integers(0, 20, (n, 2))
    wh = rng.integers(0, 15, (n, 2))
    order = rng.permutation(n)
    gt = PoseSet(
        image_id=img[order],
        keypoints=kp[order],
        visibility=vis[order],
        bbox=np.c_[xy, wh].astype(np.float64)[order],
        iscrowd=(rng.random(n) < 0.1)[order],
        num_keypoints=rng.integers(0, k + 1, n)[order],
    )
    return gt, ids


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), min_kp=st.integers(1, 6))
def test_matches_a_naive_loop(seed: int, min_kp: int) -> None:
    gt, ids = _random_gt(seed, n_img=8, max_persons=6)
    ours = crowd_index(gt, ImageTable.from_ids(ids), min_keypoints=min_kp, decimals=None)
    ref = _naive(gt, ids, min_kp)
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=0)  # NaN where NaN


def test_many_pairs_cross_block_boundaries() -> None:
    # One image of 300 persons (90k pairs, more than one block of 65536) among smaller ones.
    gt, ids = _random_gt(1, n_img=12, max_persons=4)
    rng = np.random.default_rng(2)
    n = 300
    big = PoseSet(
        image_id=np.full(n, 999),
        keypoints=rng.integers(0, 60, (n, 6, 2)).astype(np.float64),
        visibility=np.full((n, 6), 2.0),
        bbox=np.c_[rng.integers(0, 50, (n, 2)), rng.integers(1, 20, (n, 2))].astype(np.float64),
    )
    merged = PoseSet(
        image_id=np.r_[gt.image_id, big.image_id],
        keypoints=np.r_[gt.keypoints, big.keypoints],
        visibility=np.r_[gt.visibility, big.visibility],  # type: ignore[arg-type]
        bbox=np.r_[gt.bbox, big.bbox],
        iscrowd=np.r_[gt.iscrowd, big.iscrowd],
        num_keypoints=np.r_[gt.num_keypoints, big.num_keypoints],
    )
    all_ids = np.r_[ids, 999]
    ours = crowd_index(merged, ImageTable.from_ids(all_ids), decimals=None)
    np.testing.assert_allclose(ours, _naive(merged, all_ids, 4), rtol=1e-12, atol=0)


# ----------------------------------------------------------------------------- official values


@pytest.fixture(scope="module")
def crowdpose_val() -> coco.CocoGroundTruth:
    return coco.read_gt(DATA / "crowdpose_val.json.gz")


def test_reproduces_every_official_crowd_index(crowdpose_val: coco.CocoGroundTruth) -> None:
    gt = crowdpose_val
    ours = crowd_index(gt.poses, gt.images)
    stored = gt.images.crowd_index
    assert len(stored) == 2000
    assert np.isfinite(stored).all()
    np.testing.assert_array_equal(ours, stored)
    agree = crowd_index_agreement(ours, stored)
    assert agree.n == 2000
    assert (agree.exact, agree.max_abs_diff, agree.mean_abs_diff) == (1.0, 0.0, 0.0)
    assert agree.same_bucket == {"xtcocotools": 1.0, "paper": 1.0}
    assert agree.pearson == pytest.approx(1.0, abs=1e-12)
    assert agree.spearman == pytest.approx(1.0, abs=1e-12)


def test_unrounded_agreement_pinned(crowdpose_val: coco.CocoGroundTruth) -> None:
    # Without the files' 2-decimal rounding, values differ by the rounding only (< 0.005), and
    # that is enough to move 18 (resp. 17) images across a bucket edge.
    gt = crowdpose_val
    agree = crowd_index_agreement(
        crowd_index(gt.poses, gt.images, decimals=None), gt.images.crowd_index
    )
    assert agree.n == 2000
    assert 0.0022075 <= agree.mean_abs_diff <= 0.0022076
    assert 0.004999 <= agree.max_abs_diff <= 0.005000001
    assert agree.exact == 0.1805
    assert agree.same_bucket == {"xtcocotools": 0.991, "paper": 0.9915}
    assert 0.999966 <= agree.pearson <= 0.999967
    assert 0.999945 <= agree.spearman <= 0.999946


def test_mmpose_fixture_values() -> None:
    gt = coco.read_gt(DATA / "test_crowdpose.json")
    np.testing.assert_array_equal(crowd_index(gt.poses, gt.images), gt.images.crowd_index)
    assert gt.images.crowd_index.tolist() == [0.33, 0.39]


def test_agreement_of_disagreeing_values() -> None:
    a = np.array([0.1, 0.5, 0.9, np.nan, 0.15])
    b = np.array([0.1, 0.6, 0.7, 0.3, 0.25])
    agree = crowd_index_agreement(a, b)
    assert agree.n == 4
    assert agree.exact == 0.25
    assert agree.mean_abs_diff == pytest.approx((0 + 0.1 + 0.2 + 0.1) / 4)
    assert agree.max_abs_diff == pytest.approx(0.2)
    # xtcocotools (0.2/0.8): easy/easy, med/med, hard/med, easy/med -> 2/4; paper (0.1/0.8):
    # med/med, med/med, hard/med, med/med -> 3/4.
    assert agree.same_bucket == {"xtcocotools": 0.5, "paper": 0.75}
    assert agree.spearman == pytest.approx(1.0)  # same order on both sides
    empty = crowd_index_agreement([np.nan], [0.2])
    assert empty.n == 0
    assert np.isnan(empty.pearson)


# ----------------------------------------------------------------------------- bad input


def test_bad_arguments() -> None:
    gt = _poses([1], [SQUARE], [(0, 0, 5, 5)])
    images = ImageTable.from_ids([1])
    with pytest.raises(ValueError, match="min_keypoints"):
        crowd_index(gt, images, min_keypoints=0)
    with pytest.raises(TypeError, match="min_keypoints"):
        crowd_index(gt, images, min_keypoints=2.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="decimals"):
        crowd_index(gt, images, decimals=1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="visibility"):
        crowd_index(gt.with_columns(visibility=None), images)
    with pytest.raises(ValueError, match="unique"):
        crowd_index(gt, ImageTable.from_ids([1, 1]))
    with pytest.raises(ValueError, match=r"\(I,\)"):
        crowd_index_agreement([0.1, 0.2], [0.1])


def test_missing_bbox_is_an_input_error() -> None:
    gt = _poses([1, 1], [SQUARE, SQUARE], [(0, 0, 5, 5), (np.nan,) * 4])
    with pytest.raises(InputError, match=r"annotations\[1\].*bbox"):
        crowd_index(gt, ImageTable.from_ids([1]), gt_file="gt.json")
