"""OKS error diagnosis (posebench.metrics.oks_errors), after Ronchi & Perona / coco-analyze."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from posebench.formats import coco
from posebench.metrics import cocoeval
from posebench.metrics.oks import oks_pairs
from posebench.metrics.oks_errors import (
    ERROR_TYPES,
    KEYPOINT_ERRORS,
    analysis_to_dict,
    analyze_oks_errors,
    apply_corrections,
    classify_keypoints,
    optimal_scores,
)
from posebench.poseset import ImageTable, PoseSet
from posebench.samples import sample_path
from posebench.skeletons import COCO17
from posebench.synthetic import make_keypoint_dataset, write_dataset
from tests.conftest import DATA, PYCOCOTOOLS_HINT, quiet, reference

PARAMS = cocoeval.coco_params(COCO17.oks_sigmas())
SIGMAS = COCO17.oks_sigmas()
LW, RW = COCO17.index("left_wrist"), COCO17.index("right_wrist")
REAL = {
    "sample": (sample_path("coco-val2017-4"), sample_path("coco-val2017-4-results")),
    "fce": (DATA / "coco/fce_gt_139099.json", DATA / "coco/fce_dt_139099.json"),
}

# Upright person in a unit box (x from the left, y from the top); left and right well apart.
_TEMPLATE = np.array(
    [
        (0.50, 0.08), (0.53, 0.06), (0.47, 0.06), (0.57, 0.07), (0.43, 0.07),
        (0.70, 0.20), (0.30, 0.20), (0.78, 0.38), (0.22, 0.38), (0.82, 0.52), (0.18, 0.52),
        (0.62, 0.53), (0.38, 0.53), (0.62, 0.75), (0.38, 0.75), (0.62, 0.96), (0.38, 0.96),
    ]
)  # fmt: skip


def _person(cx: float, top: float = 100.0, w: float = 100.0, h: float = 200.0) -> np.ndarray:
    return np.stack([cx + (_TEMPLATE[:, 0] - 0.5) * w, top + _TEMPLATE[:, 1] * h], axis=1)


def _load(name: str) -> tuple[coco.CocoGroundTruth, PoseSet]:
    g, r = REAL[name]
    gt = coco.read_gt(g)
    return gt, coco.read_results(r, gt)


def _gt_set(image_id: np.ndarray, kp: np.ndarray, vis: np.ndarray | None = None) -> PoseSet:
    n = len(image_id)
    v = np.full((n, 17), 2.0) if vis is None else vis
    lo, hi = kp.min(axis=1), kp.max(axis=1)
    return PoseSet(
        image_id=image_id,
        keypoints=kp,
        visibility=v,
        bbox=np.concatenate([lo, hi - lo], axis=1),
        area=np.full(n, 10000.0),
    )


def _dets(image_id: np.ndarray, kp: np.ndarray, score: np.ndarray) -> PoseSet:
    n = len(image_id)
    return PoseSet(
        image_id=image_id,
        keypoints=kp,
        keypoint_scores=np.ones((n, 17)),
        score=score,
        extra={"has_bbox": np.zeros(n, bool)},
    )


# Planted errors: images 1..5 each hold person A (x = 200) and person B (x = 360); one detection
# of A per image, an exact copy but for the planted joints.
PLANTED = ("jitter", "inversion", "swap", "swap", "miss")
ARMS = tuple(COCO17.index(n) for n in ("left_wrist", "right_wrist", "left_elbow", "right_elbow"))


def _planted(joints: tuple[int, ...] = (LW,)) -> tuple[PoseSet, PoseSet, ImageTable]:
    """Images 1..5 plant jitter, inversion, swap (B's joint), swap (B's counterpart), miss."""
    j = np.array(joints)
    perm = COCO17.flip_permutation()
    a, b = _person(200.0), _person(360.0)
    n_img = len(PLANTED)
    gt_img = np.repeat(np.arange(1, n_img + 1), 2)
    gt_kp = np.stack([a, b] * n_img)
    vis = np.full((2 * n_img, 17), 2.0)
    vis[0, COCO17.index("left_ankle")] = 0.0  # one unlabelled joint: never classified
    det = np.stack([a.copy() for _ in range(n_img)])
    det[0, j] += (10.0, 0.0)  # ks = exp(-100 / 307.5) = 0.72 for a wrist: jitter
    det[1, j] = a[perm[j]]  # on its own counterparts: inversion
    det[2, j] = b[j]  # on B's same joints: swap
    det[3, j] = b[perm[j]]  # on B's counterparts (another person's): swap
    det[4, j] += (0.0, 1000.0)  # far from everything: miss
    far = _person(3000.0)[None]  # one background false positive in image 1
    dt_img = np.r_[np.arange(1, n_img + 1), 1]
    dt = _dets(dt_img, np.concatenate([det, far]), np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.95]))
    return _gt_set(gt_img, gt_kp, vis), dt, ImageTable.from_ids(np.arange(1, n_img + 1))


def _ks(xy: np.ndarray, g: np.ndarray, j: int, area: float = 10000.0) -> float:
    d2 = float(((xy - g) ** 2).sum())
    return math.exp(-d2 / (2 * SIGMAS[j]) ** 2 / (area + np.spacing(1)) / 2)


# -- planted cases -----------------------------------------------------------------------------


def test_each_planted_error_is_classified_as_planted() -> None:
    gt, dt, images = _planted()
    m = cocoeval.match_detections(gt, dt, images, cocoeval.coco_params(SIGMAS, iou_thrs=[0.1]))
    err = classify_keypoints(gt, dt, m, PARAMS, COCO17)
    assert sorted(err.det_row.tolist()) == [0, 1, 2, 3, 4]  # the far detection is not matched
    assert (gt.image_id[err.gt_row] == dt.image_id[err.det_row]).all()
    assert (err.gt_row % 2 == 0).all()  # every detection matched to its person A
    for i, d in enumerate(err.det_row):
        want = PLANTED[d]
        got = [t for t in ERROR_TYPES if err.mask(t)[i, LW]]
        assert got == [want], (d, got)
        others = np.ones(17, bool)
        others[LW] = False
        others &= err.labelled[i]
        assert err.mask("good")[i, others].all()
        assert err.kind[:, i].sum(axis=0)[err.labelled[i]].tolist() == [1] * int(
            err.labelled[i].sum()
        )
    counts = err.counts()
    assert counts == {"good": 5 * 16 - 1, "jitter": 1, "inversion": 1, "swap": 2, "miss": 1}


def test_unlabelled_joints_are_not_classified_and_nan() -> None:
    gt, dt, images = _planted()
    m = cocoeval.match_detections(gt, dt, images, cocoeval.coco_params(SIGMAS, iou_thrs=[0.1]))
    err = classify_keypoints(gt, dt, m, PARAMS, COCO17)
    i = int(np.flatnonzero(err.det_row == 0)[0])
    la = COCO17.index("left_ankle")
    assert not err.labelled[i, la]
    assert not err.kind[:, i, la].any()
    assert math.isnan(err.ks_own[i, la])
    assert math.isnan(err.ks_best[i, la])
    assert not np.isnan(err.ks_own[err.labelled]).any()


def test_jitter_threshold_edges() -> None:
    # ks just above / below 0.85 and 0.5 to the own joint, nothing else near.
    a = _person(200.0)
    s2 = 2 * 10000.0 * (2 * SIGMAS[LW]) ** 2  # ks = exp(-d^2 / s2)
    dists = [math.sqrt(-math.log(k) * s2) for k in (0.86, 0.84, 0.51, 0.49)]
    det = np.stack([a.copy() for _ in dists])
    for n, d in enumerate(dists):
        det[n, LW, 1] += d  # along y: away from the right wrist too
    gt = _gt_set(np.arange(1, 5), np.stack([a] * 4))
    dt = _dets(np.arange(1, 5), det, np.full(4, 0.9))
    images = ImageTable.from_ids(np.arange(1, 5))
    m = cocoeval.match_detections(gt, dt, images, PARAMS)
    err = classify_keypoints(gt, dt, m, PARAMS, COCO17)
    got = [next(t for t in ERROR_TYPES if err.mask(t)[i, LW]) for i in range(4)]
    assert got == ["good", "jitter", "jitter", "miss"]
    np.testing.assert_allclose(err.ks_own[:, LW], [0.86, 0.84, 0.51, 0.49], rtol=1e-12)


def test_corrections_land_where_coco_analyze_puts_them() -> None:
    gt, dt, images = _planted()
    loc = cocoeval.match_detections(gt, dt, images, cocoeval.coco_params(SIGMAS, iou_thrs=[0.1]))
    err = classify_keypoints(gt, dt, loc, PARAMS, COCO17)
    gt_lw = gt.keypoints[err.gt_row, LW]
    ks_fixed = [_ks(err.corrected[i, LW], gt_lw[i], LW) for i in range(len(err.det_row))]
    by_det = dict(zip(err.det_row.tolist(), ks_fixed, strict=True))
    # coco-analyze shifts by sqrt(-ln t * 2 * s * sigma^2) along x: ks = t ** (1/4).
    assert by_det[0] == pytest.approx(0.85**0.25, rel=1e-9)  # jitter, t = 0.85
    assert by_det[4] == pytest.approx(0.5**0.25, rel=1e-9)  # miss, t = 0.5
    for d in (1, 2, 3):  # inversion/swap: t = the ks to the wrong joint (1 here)
        assert by_det[d] == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_array_equal(err.corrected[:, LW, 1], gt_lw[:, 1])  # y on the GT joint
    gt_err = classify_keypoints(gt, dt, loc, PARAMS, COCO17, correction="ground-truth")
    np.testing.assert_array_equal(gt_err.corrected[:, LW], gt_lw)
    # Good keypoints are left alone.
    good = err.mask("good")
    np.testing.assert_array_equal(err.corrected[good], dt.keypoints[err.det_row][good])


def test_planted_ap_costs() -> None:
    # Four arm joints planted per detection: OKS falls below the top thresholds, so every kind
    # of error costs AP and its correction wins it back.
    gt, dt, images = _planted(ARMS)
    base = cocoeval.evaluate_oks(gt, dt, images, PARAMS)
    assert base.stats["AP"] < 0.5
    for correction in ("coco-analyze", "ground-truth"):
        a = analyze_oks_errors(gt, dt, images, PARAMS, COCO17, correction=correction)
        assert a.ap == base.stats["AP"]
        assert a.counts == {"good": 5 * 13 - 1, "jitter": 4, "inversion": 4, "swap": 8, "miss": 4}
        for name in (*KEYPOINT_ERRORS, "keypoints_all", "background_fp", "false_negative"):
            assert a.ap_gain[name] > 0.0, (correction, name)
        assert a.ap_gain["keypoints_all"] >= max(a.ap_gain[n] for n in KEYPOINT_ERRORS)
        assert a.ap_gain["score"] >= 0.0
        assert a.background_fp == 1
        assert a.false_negatives == 5  # every person B
        assert a.false_negatives_by_size["large"] == 5  # 100 x 200 box: 0.5 * w * h = 100^2
    # Ground-truth corrections make every matched detection exact.
    loc = cocoeval.match_detections(gt, dt, images, cocoeval.coco_params(SIGMAS, iou_thrs=[0.1]))
    err = classify_keypoints(gt, dt, loc, PARAMS, COCO17, correction="ground-truth")
    fixed = apply_corrections(dt, err, KEYPOINT_ERRORS)
    np.testing.assert_array_equal(fixed.keypoints[:5], gt.keypoints[0::2])
    np.testing.assert_array_equal(dt.keypoints[5], fixed.keypoints[5])
    assert not np.array_equal(dt.keypoints[:5], fixed.keypoints[:5])  # input untouched
    after = cocoeval.evaluate_oks(gt, fixed, images, PARAMS).stats
    assert after["AP"] == after["AP50"] == after["AP75"] > base.stats["AP"]


def test_inputs_are_not_mutated() -> None:
    gt, dt, images = _planted()
    before = (dt.keypoints.copy(), dt.score.copy(), gt.keypoints.copy())
    analyze_oks_errors(gt, dt, images, PARAMS, COCO17)
    np.testing.assert_array_equal(dt.keypoints, before[0])
    np.testing.assert_array_equal(dt.score, before[1])
    np.testing.assert_array_equal(gt.keypoints, before[2])


# -- ground truth as prediction ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(REAL))
def test_ground_truth_as_prediction_is_all_good_at_no_cost(name: str) -> None:
    gt, _ = _load(name)
    keep = np.flatnonzero(~gt.poses.iscrowd & (gt.poses.num_keypoints > 0))
    p = gt.poses.take(keep)
    dt = _dets(p.image_id, p.keypoints, np.linspace(1.0, 0.5, len(p)))
    a = analyze_oks_errors(gt.poses, dt, gt.images, PARAMS, COCO17)
    counts = a.counts
    assert counts["good"] == int((p.visibility > 0).sum()) > 0
    assert all(counts[t] == 0 for t in ERROR_TYPES if t != "good")
    assert a.ap == 1.0
    assert all(v == 0.0 for v in a.ap_gain.values()), a.ap_gain
    assert a.background_fp == 0
    assert a.false_negatives == 0


# -- real predictions --------------------------------------------------------------------------


def _reference_classify(
    gt: PoseSet, dt: PoseSet, det_rows: np.ndarray, gt_rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One detection at a time, as coco-analyze's _find_kpt_errors: rows [own, others..., own
    flipped, others flipped...], np.argmax per joint. Returns (E, M, K) masks, (M, K, 2)."""
    assert gt.visibility is not None
    var = (2 * SIGMAS) ** 2
    perm = COCO17.flip_permutation()
    kinds, fixed = [], []
    for d, g in zip(det_rows, gt_rows, strict=True):
        same = np.flatnonzero(gt.image_id == gt.image_id[g])
        rows = [g, *[r for r in same if r != g]]
        n = len(rows)
        xy = np.concatenate([gt.keypoints[rows], gt.keypoints[rows][:, perm]])
        vv = np.concatenate([gt.visibility[rows], gt.visibility[rows][:, perm]])
        ar = np.r_[gt.area[rows], gt.area[rows]]
        d2 = ((xy - dt.keypoints[d]) ** 2).sum(axis=-1)
        ks = np.where(vv > 0, np.exp(-d2 / var / (ar[:, None] + np.spacing(1)) / 2), -1.0)
        best, arg = np.maximum(ks.max(axis=0), 0.0), ks.argmax(axis=0)
        lab = gt.visibility[g] > 0
        good = lab & (arg == 0) & (best >= 0.85)
        jit = lab & (arg == 0) & (best >= 0.5) & (best < 0.85)
        inv = lab & (arg == n) & (best >= 0.5)
        swp = lab & (arg != 0) & (arg != n) & (best >= 0.5)
        mis = lab & (best < 0.5)
        kinds.append(np.stack([good, jit, inv, swp, mis]))
        t = best + np.spacing(1) * (best == 0) - np.spacing(1) * (best == 1)

        def off(t: np.ndarray | float, g: int = g) -> np.ndarray:
            return np.sqrt(-np.log(t) * 2 * gt.area[g] * SIGMAS**2)

        gx, gy = gt.keypoints[g, :, 0], gt.keypoints[g, :, 1]
        x = dt.keypoints[d, :, 0].copy()
        y = dt.keypoints[d, :, 1].copy()
        x[jit], x[mis] = (gx + off(0.85))[jit], (gx + off(0.5))[mis]
        x[inv | swp] = (gx + off(np.where(inv | swp, t, 0.5)))[inv | swp]
        y[jit | mis | inv | swp] = gy[jit | mis | inv | swp]
        fixed.append(np.stack([x, y], axis=1))
    return np.stack(kinds, axis=1), np.stack(fixed)


@pytest.mark.parametrize("name", sorted(REAL))
def test_vectorised_classification_matches_a_per_detection_loop(name: str) -> None:
    gt, dt = _load(name)
    loc = cocoeval.match_detections(
        gt.poses, dt, gt.images, cocoeval.coco_params(SIGMAS, iou_thrs=[0.1])
    )
    err = classify_keypoints(gt.poses, dt, loc, PARAMS, COCO17)
    kinds, fixed = _reference_classify(gt.poses, dt, err.det_row, err.gt_row)
    np.testing.assert_array_equal(err.kind, kinds)
    np.testing.assert_allclose(err.corrected, fixed, rtol=0, atol=1e-9)


@pytest.mark.parametrize("name", sorted(REAL))
def test_localization_matches_are_pycocotools_matches_at_oks_0_1(name: str) -> None:
    """coco-analyze classifies the detections pycocotools matches at OKS 0.1 (oksLocThrs)."""
    reference("pycocotools", PYCOCOTOOLS_HINT)
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    g, r = REAL[name]
    gt, dt = _load(name)
    with quiet():
        cg = COCO(str(g))
        cd = cg.loadRes(str(r))
        ev = COCOeval(cg, cd, "keypoints")
        ev.params.iouThrs = np.array([0.1])
        ev.evaluate()
    ref = set()
    for e in ev.evalImgs:
        if e is None or e["aRng"] != ev.params.areaRng[0]:
            continue
        for did, gid in zip(e["dtIds"], e["dtMatches"][0], strict=True):
            if gid and cg.anns[int(gid)]["num_keypoints"] > 0:
                ref.add((int(did), int(gid)))
    a = analyze_oks_errors(gt.poses, dt, gt.images, PARAMS, COCO17)
    ours = {
        (int(dt.ann_id[d]), int(gt.poses.ann_id[g]))
        for d, g in zip(a.errors.det_row, a.errors.gt_row, strict=True)
    }
    assert ours == ref
    assert len(ours) > 0


def test_embedded_sample_golden_numbers() -> None:
    gt, dt = _load("sample")
    a = analyze_oks_errors(gt.poses, dt, gt.images, PARAMS, COCO17)
    assert len(a.errors.det_row) == 12
    assert a.counts == {"good": 160, "jitter": 8, "inversion": 3, "swap": 0, "miss": 10}
    assert a.ap == pytest.approx(0.8608896054440609, abs=1e-12)  # pycocotools' AP on the pair
    assert a.ap_gain["miss"] == pytest.approx(0.0693277, abs=1e-6)
    assert a.ap_gain["jitter"] == pytest.approx(0.0241392, abs=1e-6)
    assert a.ap_gain["inversion"] == pytest.approx(0.0060320, abs=1e-6)
    assert a.ap_gain["swap"] == 0.0
    assert a.ap_fixed["keypoints_all"] == pytest.approx(0.9720072, abs=1e-6)
    assert a.background_fp == 58


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_counts_add_up_to_labelled_matched_joints(name: str) -> None:
    gt, dt = _load(name)
    a = analyze_oks_errors(gt.poses, dt, gt.images, PARAMS, COCO17)
    assert gt.poses.visibility is not None
    n_lab = int((gt.poses.visibility[a.errors.gt_row] > 0).sum())
    assert sum(a.counts.values()) == n_lab == int(a.errors.labelled.sum()) > 0
    assert (a.per_keypoint.sum(axis=1) == a.errors.labelled.sum(axis=0)).all()
    # exactly one class per labelled joint
    assert (a.errors.kind.sum(axis=0) == a.errors.labelled).all()
    share = a.per_keypoint_share
    has = a.per_keypoint.sum(axis=1) > 0
    np.testing.assert_allclose(share[has].sum(axis=1), 1.0)
    assert np.isnan(share[~has]).all()
    for kind, gain in a.ap_gain.items():
        assert gain >= 0.0, (kind, gain)
    d = analysis_to_dict(a)
    json.dumps(d, allow_nan=False)
    assert d["labelled_keypoints"] == n_lab
    assert set(d["per_keypoint"]) == set(COCO17.keypoints)


def test_loc_thr_on_an_evaluation_threshold_reuses_its_records() -> None:
    gt, dt = _load("sample")
    ev = cocoeval.evaluate_oks(gt.poses, dt, gt.images, PARAMS)
    at_05 = analyze_oks_errors(gt.poses, dt, gt.images, PARAMS, COCO17, evaluation=ev, loc_thr=0.5)
    direct = classify_keypoints(gt.poses, dt, ev.per_category[0], PARAMS, COCO17)
    np.testing.assert_array_equal(at_05.errors.det_row, direct.det_row)
    np.testing.assert_array_equal(at_05.errors.kind, direct.kind)
    assert at_05.loc_thr == 0.5


# -- scoring errors ----------------------------------------------------------------------------


def _reference_soft_nms(gt: PoseSet, dt: PoseSet, images: ImageTable) -> np.ndarray:
    """coco-analyze find_score_errors + _soft_nms, one image and one detection at a time."""
    var = (2 * SIGMAS) ** 2
    ev = cocoeval.evaluate_oks(gt, dt, images, PARAMS)
    ignore = np.zeros(len(gt), bool)
    m = ev.per_category[0]
    ignore[m.gt_row] = m.gt_ignore[0]
    out = dt.score.copy()
    for img in np.unique(images.id):
        rows = np.flatnonzero(dt.image_id == img)
        g_rows = np.flatnonzero((gt.image_id == img) & ~ignore)
        if len(g_rows):
            o = oks_pairs(
                np.repeat(dt.keypoints[rows], len(g_rows), axis=0),
                np.tile(gt.keypoints[g_rows], (len(rows), 1, 1)),
                np.tile(gt.visibility[g_rows], (len(rows), 1)),
                np.tile(gt.bbox[g_rows], (len(rows), 1)),
                np.tile(gt.area[g_rows], len(rows)),
                SIGMAS,
            ).reshape(len(rows), len(g_rows))
            s = {int(r): float(v) for r, v in zip(rows, o.max(axis=1), strict=True)}
        else:
            s = {int(r): 0.0 for r in rows}
        todo = [int(r) for r in rows]

        def ext(r: int) -> float:
            k = dt.keypoints[r]
            return float(np.ptp(k[:, 0]) * np.ptp(k[:, 1]))

        while todo:
            todo.sort(key=lambda r: -s[r])
            top = todo.pop(0)
            for r in todo:
                d2 = ((dt.keypoints[r] - dt.keypoints[top]) ** 2).sum(axis=1)
                e = d2 / var / (0.5 * (ext(top) + ext(r)) + np.spacing(1)) / 2
                oks = np.sum(np.exp(-e)) / len(e)
                s[r] *= math.exp(-(oks**2) / 0.5)
        for r, v in s.items():
            out[r] = v
    return out


@pytest.mark.parametrize("name", sorted(REAL))
def test_optimal_scores_match_a_per_image_soft_nms_loop(name: str) -> None:
    gt, dt = _load(name)
    ours = optimal_scores(gt.poses, dt, gt.images, PARAMS)
    ref = _reference_soft_nms(gt.poses, dt, gt.images)
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-15)
    assert not np.allclose(ours, dt.score)


def test_optimal_scores_rank_the_better_duplicate_first() -> None:
    a = _person(200.0)
    poor = a.copy()
    poor[:, 0] += 6.0
    gt = _gt_set(np.array([1]), a[None])
    dt = _dets(np.array([1, 1]), np.stack([poor, a]), np.array([0.9, 0.1]))
    s = optimal_scores(gt, dt, ImageTable.from_ids([1]), PARAMS)
    assert s[1] == 1.0 > s[0]


# -- invariants on synthetic data ----------------------------------------------------------------


def _synthetic(seed: int, tmp_path: Path) -> tuple[coco.CocoGroundTruth, PoseSet]:
    g_json, r_json = make_keypoint_dataset(40, seed=seed, dets_per_image=8.0)
    g, r = write_dataset(tmp_path, g_json, r_json)
    gt = coco.read_gt(g)
    return gt, coco.read_results(r, gt)


@pytest.mark.parametrize("seed", [0, 1, 3, 4])
def test_corrections_do_not_lower_ap_on_synthetic_data(seed: int, tmp_path: Path) -> None:
    gt, dt = _synthetic(seed, tmp_path)
    for correction in ("coco-analyze", "ground-truth"):
        a = analyze_oks_errors(gt.poses, dt, gt.images, PARAMS, COCO17, correction=correction)
        assert all(a.counts[t] > 0 for t in KEYPOINT_ERRORS)
        for kind, gain in a.ap_gain.items():
            assert gain >= 0.0, (seed, correction, kind, gain)
        assert sum(a.counts.values()) == int(a.errors.labelled.sum())


def test_a_keypoint_correction_can_cost_ap_through_rematching(tmp_path: Path) -> None:
    """Not an invariant: the corrected detections are re-matched greedily at every threshold.

    Here a detection is matched at OKS 0.1 (where it is classified) to GT X, but at OKS 0.5-0.65
    it is the true positive of another GT Y, whose joints its "swapped" keypoints are on. Moving
    them to X loses Y without reaching 0.5 on X, so correcting swaps costs a little AP, exactly as
    coco-analyze's procedure would.
    """
    gt, dt = _synthetic(2, tmp_path)
    a = analyze_oks_errors(gt.poses, dt, gt.images, PARAMS, COCO17)
    assert -1e-3 < a.ap_gain["swap"] < 0.0
    base = cocoeval.evaluate_oks(gt.poses, dt, gt.images, PARAMS).per_category[0]
    fixed_dt = apply_corrections(dt, a.errors, ("swap",))
    fixed = cocoeval.evaluate_oks(gt.poses, fixed_dt, gt.images, PARAMS).per_category[0]
    np.testing.assert_array_equal(base.det_row, fixed.det_row)
    lost = []
    for i in np.flatnonzero(a.errors.mask("swap").any(axis=1)):
        d = int(np.flatnonzero(base.det_row == a.errors.det_row[i])[0])
        for t in range(len(PARAMS.iou_thrs)):
            g = base.det_match[0, t, d]
            if base.det_tp[0, t, d] and base.gt_row[g] != a.errors.gt_row[i]:
                lost.append(not fixed.det_tp[0, t, d])
    assert any(lost)
    assert a.ap_gain["background_fp"] >= 0.0
    assert a.ap_gain["false_negative"] >= 0.0


def test_bad_arguments_are_named() -> None:
    gt, dt, images = _planted()
    m = cocoeval.match_detections(gt, dt, images, PARAMS)
    with pytest.raises(ValueError, match="unknown correction 'nearest'"):
        classify_keypoints(gt, dt, m, PARAMS, COCO17, correction="nearest")  # type: ignore[arg-type]
    err = classify_keypoints(gt, dt, m, PARAMS, COCO17)
    with pytest.raises(ValueError, match="unknown error type 'drift'"):
        err.mask("drift")
