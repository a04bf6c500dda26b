"""Tests of the synthetic COCO keypoint generator (posebench.synthetic)."""

from __future__ import annotations

import contextlib
import copy
import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from posebench.synthetic import make_keypoint_dataset, write_dataset

N_IMAGES = 300


@pytest.fixture(scope="module")
def coco() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    return make_keypoint_dataset(N_IMAGES, seed=7)


@pytest.fixture(scope="module")
def crowdpose() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    return make_keypoint_dataset(N_IMAGES, seed=7, skeleton="crowdpose14")


def _persons(gt: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in gt["annotations"] if not a["iscrowd"]]


def _kp(ann: dict[str, Any]) -> np.ndarray:
    return np.asarray(ann["keypoints"], dtype=np.float64).reshape(-1, 3)


# -- determinism -------------------------------------------------------------------------------


def test_same_seed_same_output() -> None:
    a = make_keypoint_dataset(40, seed=3, skeleton="crowdpose14", bbox="mixed")
    b = make_keypoint_dataset(40, seed=3, skeleton="crowdpose14", bbox="mixed")
    assert json.dumps(a) == json.dumps(b)


def test_other_seed_other_output() -> None:
    a = make_keypoint_dataset(40, seed=3)
    b = make_keypoint_dataset(40, seed=4)
    assert json.dumps(a) != json.dumps(b)


def test_gc_state_restored() -> None:
    import gc

    assert gc.isenabled()
    make_keypoint_dataset(5)
    assert gc.isenabled()


# -- structure and counts ---------------------------------------------------------------------


@pytest.mark.parametrize(("skeleton", "k"), [("coco17", 17), ("crowdpose14", 14)])
def test_structure(skeleton: str, k: int) -> None:
    gt, res = make_keypoint_dataset(60, seed=1, skeleton=skeleton)  # type: ignore[arg-type]
    assert len(gt["images"]) == 60
    img_ids = [im["id"] for im in gt["images"]]
    assert len(set(img_ids)) == 60
    assert all(isinstance(i, int) and i > 0 for i in img_ids)
    assert img_ids != sorted(img_ids)  # unsorted, non-contiguous ids
    ann_ids = [a["id"] for a in gt["annotations"]]
    assert len(set(ann_ids)) == len(ann_ids)
    assert all(i > 0 for i in ann_ids)
    (cat,) = gt["categories"]
    assert cat["id"] == 1
    assert len(cat["keypoints"]) == k
    for a in gt["annotations"]:
        assert a["image_id"] in set(img_ids)
        assert a["category_id"] == 1
        assert len(a["keypoints"]) == 3 * k
        assert all(isinstance(x, int) for x in a["keypoints"])
        assert set(a["keypoints"][2::3]) <= {0, 1, 2}
        assert a["area"] > 0
        assert a["bbox"][2] > 0
        assert a["bbox"][3] > 0
    for r in res:
        assert set(r) == {"image_id", "category_id", "keypoints", "score", "bbox"}
        assert r["image_id"] in set(img_ids)
        assert len(r["keypoints"]) == 3 * k
        assert 0 < r["score"] <= 1
    json.dumps([gt, res])  # plain Python objects only


def test_counts_scale(coco: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    gt, res = coco
    assert 1.5 * N_IMAGES < len(gt["annotations"]) < 3.0 * N_IMAGES  # COCO val: ~2.2 / image
    assert 22 * N_IMAGES < len(res) < 34 * N_IMAGES  # dets_per_image=28
    few = make_keypoint_dataset(N_IMAGES, seed=7, dets_per_image=5.0)[1]
    assert len(few) < 9 * N_IMAGES


def test_gt_boxes_enclose_labelled_keypoints(
    coco: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    gt, _ = coco
    sizes = {im["id"]: (im["width"], im["height"]) for im in gt["images"]}
    for a in gt["annotations"]:
        kp = _kp(a)
        x, y, w, h = a["bbox"]
        width, height = sizes[a["image_id"]]
        assert x >= 0
        assert y >= 0
        assert x + w <= width + 0.01
        assert y + h <= height + 0.01
        lab = kp[kp[:, 2] > 0]
        assert np.all(lab[:, 0] >= x - 0.01)
        assert np.all(lab[:, 0] <= x + w + 0.01)
        assert np.all(lab[:, 1] >= y - 0.01)
        assert np.all(lab[:, 1] <= y + h + 0.01)
        assert np.all(kp[kp[:, 2] == 0] == 0)  # unlabelled joints are [0, 0, 0]
        assert 0.3 * w * h <= a["area"] <= 0.85 * w * h


def test_coco_num_keypoints_counts_labelled(
    coco: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    gt, _ = coco
    for a in gt["annotations"]:
        assert a["num_keypoints"] == int((_kp(a)[:, 2] > 0).sum())


# -- promised features --------------------------------------------------------------------------


def test_ground_truth_features(coco: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    gt, _ = coco
    crowd = [a for a in gt["annotations"] if a["iscrowd"]]
    assert any(a["num_keypoints"] > 0 for a in crowd)
    assert any(a["num_keypoints"] == 0 for a in crowd)
    persons = _persons(gt)
    assert sum(a["num_keypoints"] == 0 for a in persons) >= 0.1 * len(persons)
    areas = np.array([a["area"] for a in persons if a["num_keypoints"] > 0])
    for lo, hi in ((0, 32**2), (32**2, 96**2), (96**2, np.inf)):
        assert np.sum((areas >= lo) & (areas < hi)) >= 0.15 * len(areas)
    vis = np.concatenate([_kp(a)[:, 2] for a in persons])
    assert {0, 1, 2} <= set(vis.tolist())
    partial = [a for a in persons if 0 < a["num_keypoints"] < 17]
    assert len(partial) >= 0.3 * len(persons)
    per_image = Counter(a["image_id"] for a in gt["annotations"])
    assert sum(im["id"] not in per_image for im in gt["images"]) >= 0.3 * N_IMAGES
    assert max(per_image.values()) >= 10


def test_tiny_set_still_has_rare_features() -> None:
    gt, res = make_keypoint_dataset(5, seed=11)
    persons_per_image = Counter(a["image_id"] for a in _persons(gt))
    dets_per_image = Counter(r["image_id"] for r in res)
    ids = [im["id"] for im in gt["images"]]
    assert persons_per_image[ids[0]] == 0
    assert dets_per_image[ids[0]] > 0
    assert persons_per_image[ids[1]] >= 16
    assert dets_per_image[ids[1]] >= 40
    crowd = [a for a in gt["annotations"] if a["iscrowd"]]
    assert {a["num_keypoints"] > 0 for a in crowd} == {True, False}
    assert any(a["num_keypoints"] == 0 for a in _persons(gt))
    assert dets_per_image[ids[3]] == 0


def test_detection_features(coco: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    gt, res = coco
    per_image = Counter(r["image_id"] for r in res)
    assert sum(c > 20 for c in per_image.values()) >= 0.3 * N_IMAGES
    assert sum(c >= 40 for c in per_image.values()) >= 5
    assert len(per_image) < N_IMAGES  # some images have no detection
    with_persons = {a["image_id"] for a in gt["annotations"]}
    assert any(i not in with_persons for i in per_image)  # detections on empty images

    scores = [r["score"] for r in res]
    assert sum(s == round(s, 2) for s in scores) >= 0.2 * len(res)
    # Exact ties within an image and across images, beyond 2-decimal rounding.
    full = [r for r in res if r["score"] != round(r["score"], 2)]
    by_score: dict[float, set[int]] = {}
    for r in full:
        by_score.setdefault(r["score"], set()).add(r["image_id"])
    assert any(len(imgs) >= 2 for imgs in by_score.values())
    within = Counter((r["image_id"], r["score"]) for r in full)
    assert any(c >= 2 for c in within.values())

    zero = [r for r in res if not any(r["keypoints"][2::3])]
    assert 0.005 * len(res) < len(zero) < 0.05 * len(res)
    ints = [r for r in res if all(isinstance(v, int) for v in r["keypoints"][0::3])]
    floats = [r for r in res if all(isinstance(v, float) for v in r["keypoints"][0::3])]
    assert len(ints) > 0.03 * len(res)
    assert len(floats) > 0.8 * len(res)


def test_results_grouped_by_image_and_unsorted(
    coco: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    _, res = coco
    order = [r["image_id"] for r in res]
    runs = [k for i, k in enumerate(order) if i == 0 or order[i - 1] != k]
    assert len(runs) == len(set(runs))  # one contiguous block per image
    assert runs != sorted(runs)
    big = Counter(order).most_common(1)[0][0]
    block = [r["score"] for r in res if r["image_id"] == big]
    assert block != sorted(block, reverse=True)  # not pre-sorted by score within an image


def test_crowdpose_features(crowdpose: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    gt, _ = crowdpose
    ci = np.array([im["crowdIndex"] for im in gt["images"]])
    assert np.all((ci >= 0) & (ci <= 1))
    for lo, hi in ((0, 0.2), (0.2, 0.8), (0.8, 1.01)):
        assert np.sum((ci >= lo) & (ci < hi)) >= 0.1 * N_IMAGES
    assert {0.2, 0.8} <= set(ci.tolist())
    for a in gt["annotations"]:
        kp = _kp(a)
        assert a["num_keypoints"] == int((kp[:12, 2] > 0).sum())  # head_top, neck not counted
    head_only = [a for a in _persons(gt) if a["num_keypoints"] == 0 and (_kp(a)[:, 2] > 0).any()]
    assert head_only


# -- options ----------------------------------------------------------------------------------


def test_bbox_modes() -> None:
    _, always = make_keypoint_dataset(30, seed=2, bbox="always")
    _, never = make_keypoint_dataset(30, seed=2, bbox="never")
    _, mixed = make_keypoint_dataset(30, seed=2, bbox="mixed")
    assert all("bbox" in r for r in always)
    assert not any("bbox" in r for r in never)
    assert "bbox" in mixed[0]
    assert 0.2 * len(mixed) < sum("bbox" in r for r in mixed) < 0.8 * len(mixed)
    for r in always:
        _, _, w, h = r["bbox"]
        assert w >= 1
        assert h >= 1
    # Same detections whatever the bbox mode.
    strip = [{k: v for k, v in r.items() if k != "bbox"} for r in always]
    assert strip == never


def test_int_coords() -> None:
    _, res = make_keypoint_dataset(30, seed=2, int_coords=True)
    for r in res:
        kp = r["keypoints"]
        assert all(isinstance(v, int) for i, v in enumerate(kp) if i % 3 != 2)
        assert all(isinstance(v, int) for v in r["bbox"])


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="skeleton"):
        make_keypoint_dataset(5, skeleton="mpii16")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bbox"):
        make_keypoint_dataset(5, bbox="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_images"):
        make_keypoint_dataset(-1)


def test_write_dataset_round_trip(tmp_path: Path) -> None:
    gt, res = make_keypoint_dataset(20, seed=5)
    gt_path, res_path = write_dataset(tmp_path / "new", gt, res)
    assert gt_path.parent == tmp_path / "new"
    assert json.loads(gt_path.read_text()) == gt
    assert json.loads(res_path.read_text()) == res
    assert not list((tmp_path / "new").glob("*.tmp"))


# -- the reference evaluator takes it --------------------------------------------------------


def _pycocotools_stats(gt_path: Path, res_path: Path) -> np.ndarray:
    coco_mod = pytest.importorskip("pycocotools.coco")
    eval_mod = pytest.importorskip("pycocotools.cocoeval")
    with contextlib.redirect_stdout(io.StringIO()):
        cgt = coco_mod.COCO(str(gt_path))
        cdt = cgt.loadRes(str(res_path))
        ev = eval_mod.COCOeval(cgt, cdt, "keypoints")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats)


@pytest.mark.parametrize("bbox", ["always", "never"])
def test_pycocotools_evaluates(tmp_path: Path, bbox: str) -> None:
    gt, res = make_keypoint_dataset(200, seed=0, bbox=bbox)  # type: ignore[arg-type]
    stats = _pycocotools_stats(*write_dataset(tmp_path, gt, res))
    assert stats.shape == (10,)
    assert 0.2 < stats[0] < 0.95  # AP
    assert 0.2 < stats[5] < 0.95  # AR
    assert np.all((stats >= 0) & (stats <= 1))  # every area range populated (no -1)


def test_pycocotools_rejects_mixed_bbox() -> None:
    """pycocotools picks loadRes' bbox branch from the first result: "mixed" is posebench-only."""
    coco_mod = pytest.importorskip("pycocotools.coco")
    gt, res = make_keypoint_dataset(20, seed=0, bbox="mixed")
    with contextlib.redirect_stdout(io.StringIO()):
        cgt = coco_mod.COCO()
        cgt.dataset = copy.deepcopy(gt)
        cgt.createIndex()
        with pytest.raises(KeyError, match="bbox"):
            cgt.loadRes(copy.deepcopy(res))
