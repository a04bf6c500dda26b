"""The compiled bootstrap kernel against the numpy path it replaces: the same bits.

``posebench.metrics._bootstrap_kernel.curves`` computes each replicate's precision/recall curves
in one pass; ``bootstrap._precision_recall`` is the numpy formulation (itself pinned to
pycocotools on materialised resamples in test_bootstrap.py and test_bootstrap_ties.py). Both are
run on seeded synthetic evaluations, ties and crowd regions included, and must agree exactly.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest

from posebench.metrics import bootstrap, cocoeval
from posebench.skeletons import COCO17
from posebench.synthetic import make_keypoint_dataset

if bootstrap._bootstrap_kernel is None:
    msg = "posebench.metrics._bootstrap_kernel is not built: `pip install -e .` builds it"
    if os.environ.get("POSEBENCH_REQUIRE_REFERENCES") == "1" or os.environ.get("CI"):
        pytest.fail(msg, pytrace=False)
    pytest.skip(msg, allow_module_level=True)


def _evaluation(seed: int, n_images: int) -> tuple[list[cocoeval.OksMatches], cocoeval.OksParams]:
    import json
    import tempfile
    from pathlib import Path

    from posebench.formats import coco

    gt_dict, results = make_keypoint_dataset(n_images, seed=seed, dets_per_image=12.0)
    rng = np.random.default_rng(seed)
    for r in results:  # coarse scores: many ties within an image
        r["score"] = float(np.round(rng.random() * 4) / 4)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "gt.json").write_text(json.dumps(gt_dict))
        (Path(tmp) / "res.json").write_text(json.dumps(results))
        gt = coco.read_gt(Path(tmp) / "gt.json")
        dt = coco.read_results(Path(tmp) / "res.json", gt)
    params = cocoeval.coco_params(COCO17.oks_sigmas())
    ev = cocoeval.evaluate_oks(gt.poses, dt, gt.images, params, category_ids=gt.category_ids)
    return list(ev.per_category), params


@pytest.mark.parametrize("seed", range(4))
def test_kernel_equals_numpy_path(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    ms, params = _evaluation(seed, 30 + 20 * seed)
    if seed % 2:  # small blocks of resamples, which the kernel path joins (and the numpy not)
        monkeypatch.setattr(bootstrap, "_BLOCK_ELEMS", 7 * (30 + 20 * seed))
        monkeypatch.setattr(bootstrap, "_KERNEL_ROWS", 50)
    fast = bootstrap.bootstrap_oks(ms, params, n_boot=200, seed=seed)
    monkeypatch.setattr(bootstrap, "_bootstrap_kernel", None)
    slow = bootstrap.bootstrap_oks(ms, params, n_boot=200, seed=seed)
    assert fast.keys() == slow.keys()
    for name in fast:
        a, b = fast[name].as_dict(), slow[name].as_dict()
        assert a.keys() == b.keys()
        for k in a:
            assert a[k] == b[k] or (a[k] != a[k] and b[k] != b[k]), (name, k, a[k], b[k])


@pytest.mark.parametrize("recall_points", ["coco", "unsorted"])
def test_kernel_curves_equal_numpy_curves_replicate_by_replicate(recall_points: str) -> None:
    ms, params = _evaluation(11, 60)
    if recall_points == "unsorted":  # the lane-by-lane lookup (recall points in any order)
        rec = np.random.default_rng(0).permutation(params.rec_thrs)
        params = dataclasses.replace(params, rec_thrs=rec)
    blocks = bootstrap._counts_blocks(len(ms[0].image_ids), 64, 3)
    plan = bootstrap._plan_for(ms, params, None, blocks)
    counts = blocks[0]
    counts_t = bootstrap._unit_counts(plan, params, counts.astype(np.int64))
    assert len(plan.run_units)  # tie runs: virtual units are exercised
    rows = bootstrap._unit_rows(plan, counts)
    np.testing.assert_array_equal(rows, counts_t.T)
    for a, seq in enumerate(plan.seqs[0]):
        p1, r1 = bootstrap._precision_recall(seq, counts_t, plan.npig[0][a], plan.ndet[0], params)
        real = rows[:, : plan.n_units].astype(np.int64)
        g, nd = real @ plan.npig[0][a], real @ plan.ndet[0]
        p2, r2 = bootstrap._precision_recall_kernel(seq, rows, g, nd, params)
        np.testing.assert_array_equal(p1, p2)
        np.testing.assert_array_equal(r1, r2)


@pytest.mark.parametrize(("n_units", "n_boot"), [(1, 5), (7, 300), (5000, 40), (3000, 1500)])
def test_kernel_multiplicities_equal_resample_counts(n_units: int, n_boot: int) -> None:
    fast = bootstrap._counts_blocks(n_units, n_boot, 9)
    slow = list(bootstrap.resample_counts(n_units, n_boot, 9))
    assert len(fast) == len(slow)
    for f, s in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(f, s)
        assert f.dtype == (np.uint8 if s.max() < 256 else np.int32)


def test_row_dots_are_the_integer_products() -> None:
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 9, size=(37, 120)).astype(np.int32)
    weights = rng.integers(0, 5, size=(4, 100)).astype(np.int64)
    out = np.empty((37, 4), np.int64)
    bootstrap._bootstrap_kernel.row_dots(counts, weights, out)
    np.testing.assert_array_equal(out, counts[:, :100].astype(np.int64) @ weights.T)


@pytest.mark.parametrize("seed", range(5))
def test_quantiles_equal_numpy_quantile(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for n in (1, 2, 3, 7, 40, 999, 1000, 1001):
        x = rng.random(n)
        if seed % 2:
            x = np.round(x, 2)  # ties
        for conf in (0.95, 0.9, 0.5, 0.99, 0.683):
            tail = (1.0 - conf) / 2
            qs = (tail, 1.0 - tail, 0.0, 1.0, 0.5, 1 / 3)
            want = [float(v) for v in np.quantile(x, list(qs))]
            assert list(bootstrap.quantiles_linear(x, qs)) == want
