"""Bootstrap OKS replicates with tied scores equal pycocotools run on the materialised resample.

Each replicate is written out as a real COCO ground truth and results file: the drawn images in
image order, an image drawn c times as c consecutive copies (new image and annotation ids), each
copy with its GT and results in file order. pycocotools 2.0.11 scores that file; its mergesort
orders tied detections by image copy, then by rank, which the replicate must reproduce (a run of
tied detections d1 d2 of one image drawn twice reads d1 d2 d1 d2).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from posebench import synthetic
from posebench.formats import coco
from posebench.metrics import cocoeval
from posebench.metrics.bootstrap import bootstrap_oks, resample_counts
from posebench.skeletons import COCO17
from tests.refeval import pycocotools_eval


def _tie_heavy(seed: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    gt, res = synthetic.make_keypoint_dataset(12, seed=seed, dets_per_image=7.0, bbox="always")
    rng = np.random.default_rng(seed)
    by_img: dict[int, list[dict[str, Any]]] = {}
    for r in res:
        by_img.setdefault(r["image_id"], []).append(r)
    for r in res:
        r["score"] = float(np.round(r["score"], 1))  # ties across and within images
    for rs in by_img.values():  # and some whole images' detections sharing one score
        if rng.random() < 0.3:
            s = float(np.round(rng.random(), 1))
            for r in rs:
                r["score"] = s
    return gt, res


def _materialise(
    gt: dict[str, Any], res: list[dict[str, Any]], counts: np.ndarray, order: np.ndarray
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The resampled files: images in ``order`` (the sorted image ids) repeated in place."""
    images, anns, out = [], [], []
    by_img_gt: dict[int, list[dict[str, Any]]] = {}
    by_img_res: dict[int, list[dict[str, Any]]] = {}
    for a in gt["annotations"]:
        by_img_gt.setdefault(a["image_id"], []).append(a)
    for r in res:
        by_img_res.setdefault(r["image_id"], []).append(r)
    next_img, next_ann = 1, 1
    for u, img in enumerate(order):
        for _ in range(int(counts[u])):
            images.append({"id": next_img, "file_name": f"{next_img}.jpg", "width": 640,
                           "height": 480})  # fmt: skip
            for a in by_img_gt.get(int(img), []):
                anns.append({**a, "id": next_ann, "image_id": next_img})
                next_ann += 1
            out += [{**r, "image_id": next_img} for r in by_img_res.get(int(img), [])]
            next_img += 1
    return {**gt, "images": images, "annotations": anns}, out


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(24))
def test_replicates_equal_pycocotools_on_materialised_files(tmp_path: Path, seed: int) -> None:
    gt_json, res = _tie_heavy(seed)
    g, r = synthetic.write_dataset(tmp_path, gt_json, res)
    gt = coco.read_gt(g)
    dt = coco.read_results(r, gt)
    params = cocoeval.coco_params(COCO17.oks_sigmas())
    ev = cocoeval.evaluate_oks(gt.poses, dt, gt.images, params)
    n_boot = 6
    boot = bootstrap_oks(ev.per_category, params, n_boot=n_boot, seed=seed)
    order = np.sort(gt.images.id)
    counts = np.concatenate(list(resample_counts(len(order), n_boot, seed)))
    for b in range(n_boot):
        mg, mr = _materialise(gt_json, res, counts[b], order)
        if not mr:
            continue  # pycocotools cannot load an empty results list
        gp, rp = tmp_path / f"g{b}.json", tmp_path / f"r{b}.json"
        gp.write_text(json.dumps(mg))
        rp.write_text(json.dumps(mr))
        ref = pycocotools_eval(gp, rp)
        want = [np.nan if v == -1 else v for v in ref.stats.tolist()]
        got = [boot[k].replicates[b] for k in cocoeval.COCO_STATS]
        np.testing.assert_array_equal(got, want, err_msg=f"seed {seed} replicate {b}")


def test_within_image_tie_run_is_interleaved() -> None:
    """Hand case: one image, a TP and a FP tied (the TP first in the file), drawn twice. The
    file reads TP FP TP FP: precision 1 up to recall 1/2, then 2/3; adjacent copies
    (TP TP FP FP) would give precision 1 everywhere."""
    from posebench.metrics.bootstrap import _oks_replicates, _plan
    from posebench.poseset import ImageTable, PoseSet

    k = 17
    kp = np.stack([np.linspace(100, 180, k), np.linspace(50, 250, k)], axis=1)
    gt = PoseSet(
        image_id=np.array([1]),
        keypoints=kp[None],
        visibility=np.full((1, k), 2.0),
        bbox=np.array([[100.0, 50, 80, 200]]),
        area=np.array([12000.0]),
    )
    dt = PoseSet(
        image_id=np.array([1, 1]),
        keypoints=np.stack([kp, kp + 400.0]),
        score=np.array([0.5, 0.5]),
        keypoint_scores=np.ones((2, k)),
    )
    params = cocoeval.coco_params(COCO17.oks_sigmas(), area_ranges=((0, 1e10),),
                                  area_labels=("all",))  # fmt: skip
    ev = cocoeval.evaluate_oks(gt, dt, ImageTable.from_ids([1]), params)
    boot = bootstrap_oks(ev.per_category, params, n_boot=1, seed=0)
    assert boot["AP"].replicates[0] == ev.stats["AP"]  # one image, drawn once
    plan = _plan(list(ev.per_category), params, None, kmax=2)
    two = _oks_replicates(plan, params, np.array([[2]]))
    eps = np.spacing(1)
    q = np.r_[np.full(51, 1 / (1 + eps)), np.full(50, 2 / (3 + eps))]
    assert two["AP"][0] == np.mean(np.tile(q, (10, 1)))
    assert two["AP"][0] < ev.stats["AP"]


@pytest.mark.slow
def test_many_tie_heavy_sets_against_materialised_accumulate() -> None:
    """100 small sets with scores from very few values (ties everywhere, within and across
    images), 12 replicates each: every replicate equals ``accumulate`` on the resample spelled
    out in file order (the same computation pycocotools does, checked on files above)."""
    from tests.test_bootstrap import _materialise

    params = cocoeval.coco_params(COCO17.oks_sigmas())
    checked = 0
    for seed in range(100):
        gt_json, res = synthetic.make_keypoint_dataset(5, seed=1000 + seed, dets_per_image=6.0)
        rng = np.random.default_rng(seed)
        levels = rng.choice([2, 3, 5])
        for r in res:
            r["score"] = float(rng.integers(1, levels + 1)) / levels
        gt = coco.gt_from_json(gt_json, file="<gt>")
        dt = coco._poses_from_columns(coco._strict_results(res, 17, "<res>"), 17)
        ev = cocoeval.evaluate_oks(gt.poses, dt, gt.images, params)
        boot = bootstrap_oks(ev.per_category, params, n_boot=12, seed=seed)
        counts = np.concatenate(list(resample_counts(len(gt.images), 12, seed)))
        for b in range(12):
            acc = [cocoeval.accumulate(_materialise(m, counts[b]), params) for m in ev.per_category]
            ref = cocoeval.coco_stats(
                np.stack([a[0] for a in acc], axis=2), np.stack([a[1] for a in acc], axis=1), params
            )
            for k in cocoeval.COCO_STATS:
                got, want = boot[k].replicates[b], ref[k]
                assert got == want or (np.isnan(got) and np.isnan(want)), (seed, b, k)
            checked += 1
    assert checked == 1200
