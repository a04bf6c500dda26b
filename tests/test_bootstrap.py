"""Bootstrap CIs: the OKS replicates equal pycocotools-style accumulation of the materialised
resampled sets bit for bit; per-sample CIs; paired comparisons; determinism; bad input."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posebench import synthetic
from posebench.formats import coco
from posebench.metrics import cocoeval
from posebench.metrics.bootstrap import (
    _min_tp_for_recall,
    bootstrap_mean,
    bootstrap_oks,
    bootstrap_ratio,
    oks_stat_names,
    paired_bootstrap_mean,
    paired_bootstrap_oks,
    paired_bootstrap_ratio,
    resample_counts,
    resample_indices,
)
from posebench.metrics.breakdown import bin_masks, crowd_bins
from posebench.poseset import PoseSet
from posebench.skeletons import COCO17, CROWDPOSE14

Loaded = tuple[coco.CocoGroundTruth, PoseSet, cocoeval.OksEvaluation]


def _load(tmp: Path, skeleton: str, seed: int, n: int = 150) -> Loaded:
    gt_json, res = synthetic.make_keypoint_dataset(n, seed=seed, skeleton=skeleton)  # type: ignore[arg-type]
    g_path, r_path = synthetic.write_dataset(tmp, gt_json, res)
    gt = coco.read_gt(g_path)
    dt = coco.read_results(r_path, gt)
    if skeleton == "coco17":
        params = cocoeval.coco_params(COCO17.oks_sigmas())
        ev = cocoeval.evaluate_oks(gt.poses, dt, gt.images, params)
    else:
        params = cocoeval.crowdpose_params(CROWDPOSE14.oks_sigmas())
        ev = cocoeval.evaluate_oks(gt.poses, dt, gt.images, params, mode="crowdpose")
    return gt, dt, ev


@pytest.fixture(scope="module")
def coco_set(tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    return _load(tmp_path_factory.mktemp("coco"), "coco17", 2)


@pytest.fixture(scope="module")
def crowd_set(tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    return _load(tmp_path_factory.mktemp("crowd"), "crowdpose14", 3)


def _materialise(m: cocoeval.OksMatches, counts: np.ndarray) -> cocoeval.OksMatches:
    """The resampled set spelled out as the file would list it: each drawn image's block of
    detections (and GT) repeated, block after block, as many times as it was drawn."""

    def tiled(image: np.ndarray) -> np.ndarray:
        out = []
        for i in np.unique(image):
            rows = np.flatnonzero(image == i)
            out.append(np.tile(rows, int(counts[i])))
        return np.concatenate(out) if out else np.zeros(0, np.int64)

    d, g = tiled(m.det_image), tiled(m.gt_image)
    return replace(
        m,
        det_row=m.det_row[d],
        det_image=m.det_image[d],
        det_rank=m.det_rank[d],
        det_score=m.det_score[d],
        det_match=m.det_match[..., d],
        det_ignore=m.det_ignore[..., d],
        det_tp=m.det_tp[..., d],
        gt_row=m.gt_row[g],
        gt_image=m.gt_image[g],
        gt_ignore=m.gt_ignore[..., g],
    )


def _reference_stats(
    ms: list[cocoeval.OksMatches], params: cocoeval.OksParams, counts: np.ndarray
) -> dict[str, float]:
    acc = [cocoeval.accumulate(_materialise(m, counts), params) for m in ms]
    precision = np.stack([a[0] for a in acc], axis=2)
    recall = np.stack([a[1] for a in acc], axis=1)
    return cocoeval.coco_stats(precision, recall, params)


def _same(a: float, b: float) -> bool:
    return a == b or (np.isnan(a) and np.isnan(b))


# ----------------------------------------------------------------------------- OKS


def test_oks_stat_names_follow_coco(coco_set: Loaded) -> None:
    params = coco_set[2].params
    assert oks_stat_names(params) == cocoeval.COCO_STATS
    one_area = replace(params, area_ranges=params.area_ranges[:1], area_labels=("all",))
    assert oks_stat_names(one_area) == ("AP", "AP50", "AP75", "AR", "AR50", "AR75")
    odd = replace(params, area_labels=("all", "mid", "large"))
    assert "AP_mid" in oks_stat_names(odd)


def test_oks_replicates_equal_materialised_accumulate(coco_set: Loaded) -> None:
    _, _, ev = coco_set
    ms = list(ev.per_category)
    n_boot = 12
    res = bootstrap_oks(ms, ev.params, n_boot=n_boot, seed=7)
    assert [res[k].estimate for k in cocoeval.COCO_STATS] == [
        ev.stats[k] for k in cocoeval.COCO_STATS
    ]
    counts = np.concatenate(list(resample_counts(len(ms[0].image_ids), n_boot, 7)))
    for b in range(n_boot):
        ref = _reference_stats(ms, ev.params, counts[b])
        for k in cocoeval.COCO_STATS:
            assert _same(res[k].replicates[b], ref[k]), (b, k, res[k].replicates[b], ref[k])


def test_oks_replicates_crowdpose_bucket_mask(crowd_set: Loaded) -> None:
    gt, _, ev = crowd_set
    ms = list(ev.per_category)
    ci = gt.images.crowd_index[np.argsort(gt.images.id)]
    bins, _ = crowd_bins("xtcocotools")
    medium = bin_masks(ci, bins, closed="left")[1]
    res = bootstrap_oks(ms, ev.params, n_boot=8, seed=1, image_mask=medium)
    prec = cocoeval.accumulate(ms[0], ev.params, medium)[0]
    valid = prec[:, :, 0, 0][prec[:, :, 0, 0] > -1]
    assert res["AP"].estimate == float(np.mean(valid))  # the bucket's own AP
    assert round(res["AP"].estimate, 4) == ev.stats["AP_medium"]
    counts = np.concatenate(list(resample_counts(int(medium.sum()), 8, 1)))
    for b in range(8):
        full = np.zeros(len(medium), np.int64)
        full[medium] = counts[b]
        ref = _reference_stats(ms, ev.params, full)
        for k in ("AP", "AP50", "AP75", "AR", "AR50", "AR75"):
            assert _same(res[k].replicates[b], ref[k]), (b, k)


def test_oks_two_categories(coco_set: Loaded) -> None:
    gt, dt, _ = coco_set
    g, d = gt.poses, dt
    # category 2: the same people shifted, half of the detections kept
    half = np.arange(len(d)) % 2 == 0
    g2 = PoseSet(
        image_id=np.r_[g.image_id, g.image_id],
        keypoints=np.r_[g.keypoints, g.keypoints + 3.0],
        visibility=np.r_[g.visibility, g.visibility],  # type: ignore[arg-type]
        bbox=np.r_[g.bbox, g.bbox],
        area=np.r_[g.area, g.area],
        iscrowd=np.r_[g.iscrowd, g.iscrowd],
        num_keypoints=np.r_[g.num_keypoints, g.num_keypoints],
        ann_id=np.r_[g.ann_id, g.ann_id + 10**6],
        category_id=np.r_[np.ones(len(g), np.int64), np.full(len(g), 2)],
    )
    d2 = PoseSet(
        image_id=np.r_[d.image_id, d.image_id[half]],
        keypoints=np.r_[d.keypoints, d.keypoints[half] + 3.0],
        keypoint_scores=np.r_[d.keypoint_scores, d.keypoint_scores[half]],  # type: ignore[index]
        score=np.r_[d.score, d.score[half]],
        bbox=np.r_[d.bbox, d.bbox[half]],
        category_id=np.r_[np.ones(len(d), np.int64), np.full(int(half.sum()), 2)],
    )
    params = cocoeval.coco_params(COCO17.oks_sigmas())
    ev = cocoeval.evaluate_oks(g2, d2, gt.images, params)
    assert ev.category_ids == (1, 2)
    res = bootstrap_oks(ev.per_category, params, n_boot=5, seed=3)
    for k in cocoeval.COCO_STATS:
        assert res[k].estimate == ev.stats[k]
    counts = np.concatenate(list(resample_counts(len(gt.images), 5, 3)))
    for b in range(5):
        ref = _reference_stats(list(ev.per_category), params, counts[b])
        for k in cocoeval.COCO_STATS:
            assert _same(res[k].replicates[b], ref[k]), (b, k)


def test_oks_ci_determinism_and_coverage(coco_set: Loaded) -> None:
    _, _, ev = coco_set
    a = bootstrap_oks(ev.per_category, ev.params, n_boot=100, seed=11)
    b = bootstrap_oks(ev.per_category, ev.params, n_boot=100, seed=11)
    c = bootstrap_oks(ev.per_category, ev.params, n_boot=100, seed=12)
    for k in cocoeval.COCO_STATS:
        np.testing.assert_array_equal(a[k].replicates, b[k].replicates)
        assert (a[k].low, a[k].high, a[k].std) == (b[k].low, b[k].high, b[k].std)
        assert not np.array_equal(a[k].replicates, c[k].replicates)
        assert a[k].low <= a[k].estimate <= a[k].high
        assert 0 < a[k].std < 0.2
        assert a[k].n_boot == 100
        assert a[k].seed == 11
    assert set(a["AP"].as_dict()) == {
        "estimate",
        "low",
        "high",
        "std",
        "n_boot",
        "seed",
        "confidence",
    }


def test_paired_oks_uses_the_same_resamples(coco_set: Loaded) -> None:
    gt, dt, ev = coco_set
    rng = np.random.default_rng(0)
    worse = dt.with_columns(keypoints=dt.keypoints + rng.normal(0, 2.0, dt.keypoints.shape))
    ev_b = cocoeval.evaluate_oks(gt.poses, worse, gt.images, ev.params)
    pair = paired_bootstrap_oks(ev.per_category, ev_b.per_category, ev.params, n_boot=60, seed=4)
    alone_a = bootstrap_oks(ev.per_category, ev.params, n_boot=60, seed=4)
    alone_b = bootstrap_oks(ev_b.per_category, ev.params, n_boot=60, seed=4)
    for k in cocoeval.COCO_STATS:
        np.testing.assert_array_equal(pair[k].a.replicates, alone_a[k].replicates)
        np.testing.assert_array_equal(pair[k].b.replicates, alone_b[k].replicates)
        np.testing.assert_array_equal(
            pair[k].delta.replicates, alone_a[k].replicates - alone_b[k].replicates
        )
        assert pair[k].delta.estimate == ev.stats[k] - ev_b.stats[k]
    assert pair["AP"].delta.estimate > 0  # noise hurts
    assert pair["AP"].delta.low > 0
    assert pair["AP"].p_value < 0.05
    same = paired_bootstrap_oks(ev.per_category, ev.per_category, ev.params, n_boot=20, seed=0)
    assert (same["AP"].delta.low, same["AP"].delta.high, same["AP"].p_value) == (0.0, 0.0, 1.0)


def test_oks_empty_mask_is_undefined(coco_set: Loaded) -> None:
    _, _, ev = coco_set
    none = np.zeros(len(ev.per_category[0].image_ids), bool)
    res = bootstrap_oks(ev.per_category, ev.params, n_boot=5, image_mask=none)
    assert np.isnan(res["AP"].estimate)
    assert np.isnan(res["AP"].low)
    assert np.isnan(res["AP"].replicates).all()


def test_min_tp_for_recall_matches_searchsorted() -> None:
    rec = cocoeval.REC_THRS
    npig = np.arange(1, 3001)
    got = _min_tp_for_recall(rec, npig)
    for i, g in enumerate(npig):
        rc = np.arange(g + 1) / g  # every recall value a tp count can give
        assert np.array_equal(got[i], np.searchsorted(rc, rec, side="left")), g


# ----------------------------------------------------------------------------- per-sample


def test_resamples_are_seeded_and_shared() -> None:
    a = np.concatenate(list(resample_indices(7, 50, 3)))
    b = np.concatenate(list(resample_indices(7, 50, 3)))
    np.testing.assert_array_equal(a, b)
    counts = np.concatenate(list(resample_counts(7, 50, 3)))
    assert counts.shape == (50, 7)
    assert (counts.sum(axis=1) == 7).all()
    np.testing.assert_array_equal(counts, [np.bincount(r, minlength=7) for r in a])
    assert not np.array_equal(a, np.concatenate(list(resample_indices(7, 50, 4))))


def test_two_values_hand_computed() -> None:
    # Replicates of the mean of [0, 1] are 0, 1/2, 1 with probabilities 1/4, 1/2, 1/4.
    r = bootstrap_mean([0.0, 1.0], n_boot=4000, seed=0)
    assert r.estimate == 0.5
    assert set(np.unique(r.replicates).tolist()) == {0.0, 0.5, 1.0}
    freq = [np.mean(r.replicates == v) for v in (0.0, 0.5, 1.0)]
    np.testing.assert_allclose(freq, [0.25, 0.5, 0.25], atol=0.03)
    assert (r.low, r.high) == (0.0, 1.0)
    one = bootstrap_mean([3.0], n_boot=10)
    assert (one.estimate, one.low, one.high, one.std) == (3.0, 3.0, 3.0, 0.0)


def test_weights_ratio_groups_and_nan() -> None:
    rng = np.random.default_rng(5)
    v = rng.normal(10, 2, 40)
    w = rng.integers(1, 5, 40).astype(np.float64)
    weighted = bootstrap_mean(v, w, n_boot=300, seed=2)
    ratio = bootstrap_ratio(w * v, w, n_boot=300, seed=2)
    np.testing.assert_allclose(weighted.replicates, ratio.replicates, rtol=1e-12)
    assert weighted.estimate == pytest.approx(np.average(v, weights=w), rel=1e-12)
    # one group per sample is the same resampling as no groups
    plain = bootstrap_mean(v, n_boot=300, seed=2)
    grouped = bootstrap_mean(v, groups=np.arange(40), n_boot=300, seed=2)
    np.testing.assert_array_equal(plain.replicates, grouped.replicates)
    # NaN samples are left out (without groups: not drawn at all)
    with_nan = bootstrap_mean(np.r_[v, np.nan, np.nan], n_boot=300, seed=2)
    np.testing.assert_array_equal(with_nan.replicates, plain.replicates)
    # groups: whole images are drawn, so the CI is wider when samples of an image agree
    img = np.repeat(np.arange(8), 5)
    clustered = np.repeat(rng.normal(10, 2, 8), 5) + rng.normal(0, 0.01, 40)
    by_image = bootstrap_mean(clustered, groups=img, n_boot=500, seed=0)
    by_sample = bootstrap_mean(clustered, n_boot=500, seed=0)
    assert by_image.std > 1.8 * by_sample.std


def test_pck_pooled_ratio() -> None:
    rng = np.random.default_rng(1)
    correct = rng.integers(0, 15, 60)
    evaluable = np.minimum(correct + rng.integers(0, 3, 60), 16)
    r = bootstrap_ratio(correct, evaluable, n_boot=200, seed=0)
    assert r.estimate == correct.sum() / evaluable.sum()
    assert r.low <= r.estimate <= r.high


def test_paired_means() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(50, 10, 200)
    b = a + 0.5 + rng.normal(0, 0.1, 200)  # b is worse by 0.5 on every sample, give or take
    p = paired_bootstrap_mean(b, a, n_boot=500, seed=9)
    assert p.delta.estimate == pytest.approx(0.5, abs=0.05)
    assert p.delta.low > 0.4
    assert p.delta.high < 0.6
    assert p.p_value == 1 / 501  # no replicate's centred difference reaches 0.5
    # pairing removes the shared variation: the unpaired CIs overlap widely
    assert p.a.low < p.b.high
    np.testing.assert_array_equal(p.a.replicates, bootstrap_mean(b, n_boot=500, seed=9).replicates)
    same = paired_bootstrap_mean(a, a, n_boot=100, seed=0)
    assert (same.delta.low, same.delta.high, same.p_value) == (0.0, 0.0, 1.0)
    pr = paired_bootstrap_ratio([1, 2, 3], [2, 2, 2], [2, 2, 3], [2, 2, 2], n_boot=100, seed=0)
    assert pr.delta.estimate == pytest.approx(-1 / 6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.lists(st.integers(-10_000, 10_000), min_size=2, max_size=60),
    seed=st.integers(0, 2**32 - 1),
    confidence=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_ci_contains_estimate_and_is_reproducible(
    values: list[int], seed: int, confidence: float
) -> None:
    v = np.asarray(values, dtype=np.float64) / 8  # exact sums: no rounding at the edges
    r1 = bootstrap_mean(v, n_boot=200, seed=seed, confidence=confidence)
    r2 = bootstrap_mean(v, n_boot=200, seed=seed, confidence=confidence)
    assert r1.low <= r1.estimate <= r1.high
    assert (r1.low, r1.high, r1.std) == (r2.low, r2.high, r2.std)
    np.testing.assert_array_equal(r1.replicates, r2.replicates)
    assert v.min() <= r1.low <= r1.high <= v.max()


# ----------------------------------------------------------------------------- bad input


def test_bad_arguments(coco_set: Loaded, crowd_set: Loaded) -> None:
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_mean([1.0], n_boot=0)
    with pytest.raises(ValueError, match="seed"):
        bootstrap_mean([1.0], seed=-1)
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_mean([1.0], confidence=1.0)
    with pytest.raises(ValueError, match="values"):
        bootstrap_mean([[1.0]])
    with pytest.raises(ValueError, match="finite"):
        bootstrap_mean([1.0, np.inf])
    with pytest.raises(ValueError, match="weights"):
        bootstrap_mean([1.0, 2.0], [1.0, -1.0])
    with pytest.raises(ValueError, match="groups"):
        bootstrap_mean([1.0, 2.0], groups=[1])
    with pytest.raises(ValueError, match="denominator"):
        bootstrap_ratio([1.0], [-1.0])
    with pytest.raises(ValueError, match="values_b"):
        paired_bootstrap_mean([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="pairing"):
        paired_bootstrap_ratio([1], [1], [1, 2], [1, 1])
    _, _, ev = coco_set
    one_area = replace(ev.params, area_ranges=ev.params.area_ranges[:1], area_labels=("all",))
    with pytest.raises(ValueError, match="not the params"):
        bootstrap_oks(ev.per_category, one_area, n_boot=2)
    with pytest.raises(ValueError, match="image_mask"):
        bootstrap_oks(ev.per_category, ev.params, n_boot=2, image_mask=np.ones(3, bool))
    with pytest.raises(ValueError, match="no match records"):
        bootstrap_oks([], ev.params)
    _, _, ev_c = crowd_set
    with pytest.raises(ValueError, match="different images"):
        paired_bootstrap_oks(ev.per_category, ev_c.per_category, ev.params, n_boot=2)


def test_stratified_mean_is_the_macro_average_and_brackets_it() -> None:
    from posebench.metrics.bootstrap import bootstrap_stratified_mean

    rng = np.random.default_rng(0)
    v = np.r_[rng.normal(10, 1, 50), rng.normal(30, 5, 5)]
    acts = np.array(["walk"] * 50 + ["sit"] * 5)
    r = bootstrap_stratified_mean(v, acts, n_boot=500, seed=4)
    assert r.estimate == pytest.approx((v[:50].mean() + v[50:].mean()) / 2)
    assert r.low < r.estimate < r.high
    again = bootstrap_stratified_mean(v, acts, n_boot=500, seed=4)
    assert np.array_equal(r.replicates, again.replicates)
    with pytest.raises(ValueError, match="strata"):
        bootstrap_stratified_mean(v, acts[:3])
