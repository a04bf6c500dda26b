"""Breakdowns by crowd index, person size, keypoint count and per-sample attributes."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posebench import synthetic
from posebench.errors import InputError
from posebench.formats import coco
from posebench.metrics import cocoeval
from posebench.metrics.breakdown import (
    BREAKDOWN_STATS,
    area_breakdown,
    bin_masks,
    binned_mean,
    crowd_bins,
    crowd_breakdown,
    keypoint_count_bins,
    keypoint_count_breakdown,
)
from posebench.metrics.crowd import crowd_index
from posebench.metrics.pck import pck
from posebench.poseset import ImageTable, PoseSet
from posebench.skeletons import COCO17, CROWDPOSE14

Loaded = tuple[coco.CocoGroundTruth, PoseSet, cocoeval.OksEvaluation]


def _load(tmp: Path, skeleton: str, seed: int) -> Loaded:
    gt_json, res = synthetic.make_keypoint_dataset(120, seed=seed, skeleton=skeleton)  # type: ignore[arg-type]
    g_path, r_path = synthetic.write_dataset(tmp, gt_json, res)
    gt = coco.read_gt(g_path)
    dt = coco.read_results(r_path, gt)
    if skeleton == "coco17":
        ev = cocoeval.evaluate_oks(
            gt.poses, dt, gt.images, cocoeval.coco_params(COCO17.oks_sigmas())
        )
    else:
        params = cocoeval.crowdpose_params(CROWDPOSE14.oks_sigmas())
        ev = cocoeval.evaluate_oks(
            gt.poses, dt, gt.images, params, mode="crowdpose", crowd_ap="valid"
        )
    return gt, dt, ev


@pytest.fixture(scope="module")
def coco_set(tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    return _load(tmp_path_factory.mktemp("coco"), "coco17", 4)


@pytest.fixture(scope="module")
def crowd_set(tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    return _load(tmp_path_factory.mktemp("crowd"), "crowdpose14", 6)


def _headline(ev: cocoeval.OksEvaluation) -> dict[str, float]:
    return {k: ev.stats[k] for k in BREAKDOWN_STATS}


# ----------------------------------------------------------------------------- crowd index


def test_crowd_buckets_match_crowdpose_stats(crowd_set: Loaded) -> None:
    gt, _, ev = crowd_set
    bd = crowd_breakdown(ev.per_category, gt.images, ev.params)
    assert bd.labels == ("all", "easy", "medium", "hard")
    assert bd.as_dict()["all"] == _headline(ev)  # exactly
    for name in ("easy", "medium", "hard"):
        assert bd.values["AP"][bd.labels.index(name)] == ev.stats[f"AP_{name}"]
    assert bd.masks is not None
    assert bd.counts["images"].tolist() == [120, *bd.masks[1:].sum(axis=1).tolist()]
    # the three buckets partition the images, and each bucket's GT is counted once
    assert (bd.masks[1:].sum(axis=0) == 1).all()
    assert bd.counts["gt"][0] == bd.counts["gt"][1:].sum()


def test_crowd_buckets_paper_edges_and_xtcocotools_rounding(crowd_set: Loaded) -> None:
    gt, dt, ev = crowd_set
    ref = cocoeval.evaluate_oks(
        gt.poses, dt, gt.images, ev.params, mode="crowdpose", crowd_buckets="paper"
    )
    bd = crowd_breakdown(ev.per_category, gt.images, ev.params, buckets="paper")
    for i, name in enumerate(("easy", "medium", "hard"), start=1):
        # xtcocotools rounds its bucket AP to 4 decimals; the breakdown does not
        assert round(bd.values["AP"][i], 4) == ref.stats[f"AP_{name}"]
    assert crowd_bins("paper")[0][1] == (0.1, 0.8)


def test_crowd_breakdown_from_a_computed_index(crowd_set: Loaded) -> None:
    gt, _, ev = crowd_set
    ci = crowd_index(gt.poses, gt.images)
    with pytest.raises(InputError, match="crowd index"):
        crowd_breakdown(ev.per_category, gt.images, ev.params, crowd_index=ci, gt_file="g.json")
    easy = crowd_breakdown(ev.per_category, gt.images, ev.params, crowd_index=ci, missing="easy")
    excl = crowd_breakdown(ev.per_category, gt.images, ev.params, crowd_index=ci, missing="exclude")
    n_nan = int(np.isnan(ci).sum())
    assert n_nan > 0  # the synthetic set has images without persons
    assert excl.counts["images"][1] == easy.counts["images"][1] - n_nan
    assert excl.counts["images"][1:].sum() == 120 - n_nan
    assert excl.values["AP"][2:].tolist() == easy.values["AP"][2:].tolist()
    assert excl.as_dict()["all"] == easy.as_dict()["all"] == _headline(ev)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    buckets=st.sampled_from(["xtcocotools", "paper", (0.3, 0.3), (0.0, 2.0)]),
    missing=st.sampled_from(["exclude", "easy"]),
)
def test_crowd_buckets_partition_images(
    crowd_set: Loaded, data: st.DataObject, buckets: object, missing: str
) -> None:
    gt, _, ev = crowd_set
    values = st.one_of(
        st.sampled_from([0.0, 0.1, 0.2, 0.3, 0.8, 1.0, np.nan]), st.floats(0, 3, width=32)
    )
    ci = np.array(data.draw(st.lists(values, min_size=120, max_size=120)), dtype=np.float64)
    bd = crowd_breakdown(
        ev.per_category, gt.images, ev.params, buckets=buckets, crowd_index=ci, missing=missing
    )  # type: ignore[arg-type]
    assert bd.masks is not None
    in_some = bd.masks[1:].sum(axis=0)
    order = np.argsort(gt.images.id)
    defined = ~np.isnan(ci[order]) if missing == "exclude" else np.ones(120, bool)
    assert (in_some == defined).all()  # each image in exactly one bucket (or none if excluded)
    assert bd.counts["gt"][1:].sum() == bd.masks[1:].any(axis=0) @ _gt_per_image(ev)
    assert bd.as_dict()["all"] == _headline(ev)
    empty = bd.counts["images"] == 0
    assert np.isnan(bd.values["AP"][empty]).all()


def _gt_per_image(ev: cocoeval.OksEvaluation) -> np.ndarray:
    m = ev.per_category[0]
    return np.bincount(m.gt_image[~m.gt_ignore[0]], minlength=len(m.image_ids))


# ----------------------------------------------------------------------------- person size


def test_area_breakdown_coco_bins(coco_set: Loaded, tmp_path: Path) -> None:
    gt, dt, ev = coco_set
    bd = area_breakdown(gt.poses, dt, gt.images, ev.params)
    assert bd.labels == ("all", "small", "medium", "large")
    got = bd.as_dict()
    assert got["all"] == _headline(ev)
    assert got["medium"]["AP"] == ev.stats["APm"]
    assert got["large"]["AP"] == ev.stats["APl"]
    assert got["medium"]["AR"] == ev.stats["ARm"]
    assert got["large"]["AR"] == ev.stats["ARl"]
    # the "small" bin (COCO's keypoint evaluation has none): pycocotools with that area range
    assert _pycocotools_area_ap(gt.path, dt, tmp_path, (0.0, 32.0**2)) == pytest.approx(
        got["small"]["AP"], abs=0, nan_ok=True
    )
    assert bd.counts["gt"][0] == bd.counts["gt"][1:].sum()  # the COCO ranges share only edges


def _pycocotools_area_ap(gt_path: str, dt: PoseSet, tmp: Path, rng: tuple[float, float]) -> float:
    """pycocotools' AP over one area range (its precision array averaged as _summarize does)."""
    from tests.conftest import PYCOCOTOOLS_HINT, quiet, reference

    reference("pycocotools", PYCOCOTOOLS_HINT)
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    res = tmp / "res.json"
    coco.write_results(res, dt)
    with quiet():
        cg = COCO(gt_path)
        e = COCOeval(cg, cg.loadRes(str(res)), "keypoints")
        e.params.areaRng = [list(rng)]
        e.params.areaRngLbl = ["bin"]
        e.evaluate()
        e.accumulate()
    prec = e.eval["precision"][:, :, :, 0, -1]
    return float(prec[prec > -1].mean()) if (prec > -1).any() else float("nan")


def test_area_breakdown_custom_bins(crowd_set: Loaded) -> None:
    gt, dt, ev = crowd_set
    bd = area_breakdown(
        gt.poses, dt, gt.images, ev.params, bins=[(0, 4000), (4000, 1e10), (1e11, 1e12)]
    )
    assert bd.labels == ("all", "0-4000", "4000-10000000000", "100000000000-1000000000000")
    assert bd.as_dict()["all"] == _headline(ev)
    assert bd.counts["gt"][3] == 0
    assert np.isnan(bd.values["AP"][3])
    assert np.isnan(bd.values["AR"][3])


# ----------------------------------------------------------------------------- keypoint count


def _person(x0: float, n_lab: int) -> tuple[np.ndarray, np.ndarray]:
    kp = np.c_[x0 + 5.0 * np.arange(17), 100.0 + 7.0 * np.arange(17)]
    vis = np.where(np.arange(17) < n_lab, 2.0, 0.0)
    return kp, vis


def test_keypoint_count_hand_computed() -> None:
    # A has 3 labelled keypoints, B 12. Detections: a far false positive (score .95), A exactly
    # (.9), B exactly (.8).
    (ka, va), (kb, vb) = _person(100, 3), _person(400, 12)
    gt = PoseSet(
        image_id=np.array([1, 1]),
        keypoints=np.stack([ka, kb]),
        visibility=np.stack([va, vb]),
        bbox=np.array([[90, 90, 100, 130], [390, 90, 100, 130]], float),
        area=np.array([10000.0, 10000.0]),
    )
    far = np.c_[np.full(17, 900.0), np.full(17, 900.0)]
    dt = PoseSet(
        image_id=np.array([1, 1, 1]),
        keypoints=np.stack([far, ka, kb]),
        score=np.array([0.95, 0.9, 0.8]),
    )
    images = ImageTable.from_ids([1])
    params = cocoeval.coco_params(COCO17.oks_sigmas())
    bd = keypoint_count_breakdown(gt, dt, images, params, bins=[(1, 5), (6, 17)])
    assert bd.labels == ("all", "1-5", "6-17")
    assert bd.counts["gt"].tolist() == [2, 1, 1]
    # all: FP, TP, TP -> interpolated precision 2/3 everywhere, recall 1.
    # 1-5: FP, TP(A), B ignored -> 1/2; 6-17: FP, A ignored, TP(B) -> 1/2: the false positive
    # counts in both bins.
    np.testing.assert_allclose(bd.values["AP"], [2 / 3, 1 / 2, 1 / 2], rtol=1e-12)
    np.testing.assert_allclose(bd.values["AR"], [1.0, 1.0, 1.0], rtol=0)
    ev = cocoeval.evaluate_oks(gt, dt, images, params)
    assert bd.as_dict()["all"] == _headline(ev)
    # An empty bin is NaN.
    bd2 = keypoint_count_breakdown(gt, dt, images, params, bins=[(13, 17)])
    assert np.isnan(bd2.values["AP"][1])
    assert bd2.counts["gt"][1] == 0


def test_keypoint_count_breakdown_synthetic(coco_set: Loaded, crowd_set: Loaded) -> None:
    gt, dt, ev = coco_set
    bd = keypoint_count_breakdown(gt.poses, dt, gt.images, ev.params)
    assert bd.labels == ("all", "1-5", "6-10", "11-17")
    assert bd.as_dict()["all"] == _headline(ev)
    # bins partition the non-ignored GT, and recall adds up over them
    assert bd.counts["gt"][0] == bd.counts["gt"][1:].sum()
    tp = bd.values["AR"][1:] * bd.counts["gt"][1:]
    assert tp.sum() / bd.counts["gt"][0] == pytest.approx(bd.values["AR"][0], abs=1e-12)
    gt2, dt2, ev2 = crowd_set
    bd2 = keypoint_count_breakdown(
        gt2.poses, dt2, gt2.images, ev2.params, count="num_keypoints", bins=[(1, 6), (7, 12)]
    )
    assert bd2.attribute == "num_keypoints"
    assert bd2.as_dict()["all"] == _headline(ev2)
    assert bd2.counts["gt"][0] == bd2.counts["gt"][1:].sum()
    assert keypoint_count_bins(14) == ((1.0, 5.0), (6.0, 10.0), (11.0, 14.0))


# ----------------------------------------------------------------------------- per-sample


def test_binned_mean_hand_computed() -> None:
    v = np.array([1.0, 2.0, 3.0, 4.0, np.nan, 10.0])
    a = np.array([0.0, 0.5, 1.0, 1.0, 0.5, np.nan])
    bd = binned_mean(v, a, [(0, 0.5), (0.5, 1.0), (2, 3)], closed="left", name="mpjpe")
    assert bd.labels == ("all", "0-0.5", "0.5-1", "2-3")
    np.testing.assert_array_equal(bd.values["mpjpe"], [4.0, 1.0, 2.0, np.nan])
    assert bd.counts["samples"].tolist() == [5, 1, 1, 0]
    closed = binned_mean(v, a, [(0.5, 1.0)], closed="both", labels=["crowded"])
    assert closed.as_dict()["crowded"] == {"mean": 3.0}
    w = np.array([1.0, 1.0, 1.0, 3.0, 1.0, 0.0])
    weighted = binned_mean(v, a, [(1.0, 1.0)], weights=w)
    assert weighted.values["mean"].tolist() == [(1 + 2 + 3 + 12) / 6, (3 + 12) / 4]


def test_binned_mean_all_is_pooled_pck() -> None:
    rng = np.random.default_rng(0)
    gt = rng.uniform(0, 100, (50, 16, 2))
    pred = gt + rng.normal(0, 4, gt.shape)
    vis = rng.random((50, 16)) < 0.8
    vis[3] = False  # a sample with no visible joint: NaN per-sample rate
    r = pck(pred, gt, vis, np.full(50, 20.0), alpha=0.5)
    attr = rng.random(50)
    bd = binned_mean(r.per_sample, attr, [(0, 0.5), (0.5, 1)], weights=r.evaluable.sum(axis=1))
    assert bd.values["mean"][0] == pytest.approx(r.overall, rel=1e-12)
    pooled = [
        r.correct[m].sum() / r.evaluable[m].sum() for m in (attr < 0.5, (attr >= 0.5) & (attr <= 1))
    ]
    np.testing.assert_allclose(bd.values["mean"][1:], pooled, rtol=1e-12)


@settings(max_examples=50, deadline=None)
@given(
    values=st.lists(st.integers(-1000, 1000), min_size=1, max_size=40),
    edges=st.lists(st.integers(0, 10), min_size=2, max_size=5, unique=True),
    seed=st.integers(0, 2**16),
)
def test_binned_mean_bins_partition(values: list[int], edges: list[int], seed: int) -> None:
    v = np.asarray(values, dtype=np.float64) / 4
    attr = np.random.default_rng(seed).integers(-2, 13, len(v)).astype(np.float64)
    e = sorted(edges)
    bins = list(itertools.pairwise(e))
    bd = binned_mean(v, attr, bins, closed="left")
    assert bd.masks is not None
    inside = (attr >= e[0]) & (attr < e[-1])
    assert (bd.masks[1:].sum(axis=0) == inside).all()
    n = bd.counts["samples"]
    assert n[1:].sum() == inside.sum()
    filled = n[1:] > 0
    assert np.isnan(bd.values["mean"][1:][~filled]).all()
    if inside.all():
        total = (bd.values["mean"][1:][filled] * n[1:][filled]).sum() / n[0]
        assert total == pytest.approx(bd.values["mean"][0], abs=1e-9)


def test_bin_masks_edges() -> None:
    x = np.array([0.0, 0.2, 0.5, 0.8, 1.0, np.nan])
    bins, labels = crowd_bins("xtcocotools")
    assert labels == ("easy", "medium", "hard")
    m = bin_masks(x, bins, closed="left")
    assert m.astype(int).tolist() == [
        [1, 0, 0, 0, 0, 0],
        [0, 1, 1, 0, 0, 0],
        [0, 0, 0, 1, 1, 0],
    ]
    assert bin_masks(x, [(0.2, 0.8)]).astype(int).tolist() == [[0, 1, 1, 1, 0, 0]]


# ----------------------------------------------------------------------------- bad input


def test_bad_arguments(coco_set: Loaded, crowd_set: Loaded) -> None:
    gt, dt, ev = coco_set
    with pytest.raises(ValueError, match="lo <= hi"):
        area_breakdown(gt.poses, dt, gt.images, ev.params, bins=[(10, 5)])
    with pytest.raises(ValueError, match="labels"):
        area_breakdown(gt.poses, dt, gt.images, ev.params, bins=[(0, 5)], labels=["a", "b"])
    with pytest.raises(ValueError, match="'all'"):
        area_breakdown(gt.poses, dt, gt.images, ev.params, bins=[(0, 5)], labels=["all"])
    with pytest.raises(ValueError, match="not be empty"):
        keypoint_count_breakdown(gt.poses, dt, gt.images, ev.params, bins=[])
    with pytest.raises(ValueError, match="count"):
        keypoint_count_breakdown(gt.poses, dt, gt.images, ev.params, count="v")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="K=6"):
        keypoint_count_bins(6)
    g2, _, ev2 = crowd_set
    with pytest.raises(ValueError, match="unknown crowd buckets"):
        crowd_breakdown(ev2.per_category, g2.images, ev2.params, buckets="hard")
    with pytest.raises(ValueError, match="first <= second"):
        crowd_breakdown(ev2.per_category, g2.images, ev2.params, buckets=(0.8, 0.2))
    with pytest.raises(ValueError, match="do not match"):
        crowd_breakdown(ev2.per_category, gt.images, ev2.params, crowd_index=np.zeros(120))
    with pytest.raises(ValueError, match=r"\(I=120,\)"):
        crowd_breakdown(ev2.per_category, g2.images, ev2.params, crowd_index=np.zeros(3))
    with pytest.raises(ValueError, match="missing"):
        crowd_breakdown(ev2.per_category, g2.images, ev2.params, missing="drop")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"\(N,\)"):
        binned_mean([1.0, 2.0], [1.0], [(0, 1)])
    with pytest.raises(ValueError, match="weights"):
        binned_mean([1.0], [1.0], [(0, 1)], weights=[-1.0])
    with pytest.raises(ValueError, match="closed"):
        bin_masks([1.0], [(0, 1)], closed="right")  # type: ignore[arg-type]
