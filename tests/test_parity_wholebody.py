"""COCO-WholeBody: bit-identical to xtcocotools 1.14.3 on seeded random cases.

A generator of small WholeBody sets (1-3 images, up to 4 people, crowds, parts without any
labelled keypoint, unlabelled people, negative and zero GT ids, results with and without boxes,
with and without per-part scores, tied scores, parts with all keypoint scores 0, more than 20
detections in an image, far false positives, all three area ranges) is scored by posebench and by
xtcocotools ``COCOeval(gt, dt, 'keypoints_<part>', sigmas[part], use_area=True)`` for the five
parts and ``keypoints_wholebody`` for all 133 keypoints, as mmpose's ``CocoWholeBodyMetric``
calls it (``keypoints_body`` for the body). Stats and the precision/recall/scores arrays must be
equal, bit for bit.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from posebench.cli.main import main
from posebench.errors import InputError
from posebench.formats import coco_wholebody as cwb
from posebench.metrics import cocoeval
from posebench.skeletons import COCO_WHOLEBODY133, WHOLEBODY_PARTS
from tests.conftest import XTCOCOTOOLS_HINT, quiet, reference

N_CASES = 320
K = 133
SIGMAS = COCO_WHOLEBODY133.oks_sigmas()
PART_OF = {**WHOLEBODY_PARTS, "wholebody": (0, K)}


def make_wholebody_case(seed: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A seeded random COCO-WholeBody ground truth and results (JSON layout)."""
    rng = np.random.default_rng(seed)
    n_img = int(rng.integers(1, 4))
    images = [
        {"id": i + 1, "file_name": f"{i + 1:06d}.jpg", "width": 640, "height": 480}
        for i in range(n_img)
    ]
    with_bbox = bool(rng.random() < 0.5)
    part_scores = bool(rng.random() < 0.5)
    anns: list[dict[str, Any]] = []
    res: list[dict[str, Any]] = []
    next_id = int(rng.integers(0, 2))  # sometimes a GT id 0

    def split(flat: np.ndarray) -> dict[str, list[float]]:
        return {
            key: flat[a:b].ravel().tolist()
            for key, (a, b) in ((cwb.PART_FIELDS[p], WHOLEBODY_PARTS[p]) for p in cwb.PART_FIELDS)
        }

    def score() -> float:
        return float(np.round(rng.random(), 1) if rng.random() < 0.6 else rng.random())

    def detection(image_id: int, pts: np.ndarray) -> None:
        kp = np.c_[np.round(pts, 2), np.round(rng.random(K), 3)]
        for part, (a, b) in WHOLEBODY_PARTS.items():
            if rng.random() < 0.08:
                kp[a:b, 2] = 0.0  # a part with every keypoint score 0: dropped for that part
            del part
        rec: dict[str, Any] = {"image_id": image_id, "category_id": 1, **split(kp)}
        rec["score"] = score()
        if part_scores:
            for key in cwb.SCORE_FIELDS.values():
                if rng.random() < 0.8:
                    rec[key] = score()
        if with_bbox:
            x0, y0 = pts[:, 0].min(), pts[:, 1].min()
            rec["bbox"] = [float(x0), float(y0), float(pts[:, 0].max() - x0),
                           float(pts[:, 1].max() - y0)]  # fmt: skip
        res.append(rec)

    for im in images:
        iid = im["id"]
        for _ in range(int(rng.integers(0, 5))):
            size = float(rng.choice([20.0, 45.0, 80.0, 150.0, 260.0]) * rng.uniform(0.8, 1.2))
            c = rng.uniform([60, 60], [580, 420])
            pts = c + rng.normal(0, size / 3, (K, 2))
            pts = np.round(pts)
            v = rng.choice([0, 1, 2], size=K, p=[0.2, 0.3, 0.5]).astype(float)
            for a, b in WHOLEBODY_PARTS.values():
                if rng.random() < 0.25:
                    v[a:b] = 0  # part not annotated
            if rng.random() < 0.05:
                v[:] = 0  # nobody labelled
            gpts = np.where(v[:, None] > 0, pts, 0.0)
            lab = v > 0
            if lab[:17].any():
                x0, y0 = gpts[:17][lab[:17]].min(axis=0)
                x1, y1 = gpts[:17][lab[:17]].max(axis=0)
                bbox = [float(x0), float(y0), float(x1 - x0 + 1), float(y1 - y0 + 1)]
            else:
                bbox = [float(c[0] - size / 2), float(c[1] - size / 2), size, size]
            aid = next_id
            next_id += 1
            if rng.random() < 0.05:
                aid = -1000 - aid  # a negative id: xtcocotools makes a match to it a FP
            crowd = int(rng.random() < 0.07)
            ann = {
                "id": aid,
                "image_id": iid,
                "category_id": 1,
                **split(np.c_[gpts, v]),
                "num_keypoints": int(np.count_nonzero(v[:17])),
                "bbox": bbox,
                "area": float(size * size * rng.uniform(0.4, 0.7)),
                "iscrowd": crowd,
                "segmentation": [],
            }
            for p in ("face", "lefthand", "righthand", "foot"):
                a, b = WHOLEBODY_PARTS[p]
                ann[f"{p}_valid"] = bool(lab[a:b].any())
                if p != "foot":
                    ann[f"{p}_box"] = [0.0, 0.0, 0.0, 0.0]
            anns.append(ann)
            if crowd or rng.random() < 0.1:
                continue  # a miss
            for _ in range(int(rng.integers(1, 3))):  # duplicates
                noise = size * rng.choice([0.003, 0.01, 0.03, 0.1])
                detection(iid, pts + rng.normal(0, noise, (K, 2)))
        for _ in range(int(rng.integers(0, 3))):  # false positives
            detection(iid, rng.uniform([0, 0], [640, 480]) + rng.normal(0, 30, (K, 2)))
        if rng.random() < 0.1:  # more than max_dets detections
            for _ in range(22):
                detection(iid, rng.uniform([0, 0], [640, 480]) + rng.normal(0, 40, (K, 2)))
    gt = {
        "images": images,
        "annotations": anns,
        "categories": [
            {"id": 1, "name": "person", "keypoints": list(COCO_WHOLEBODY133.keypoints[:17])}
        ],
    }
    order = rng.permutation(len(res))
    return gt, [res[i] for i in order]


def _xtcocotools(g: Path, r: Path) -> dict[str, tuple[np.ndarray, dict[str, np.ndarray]]]:
    """The six evaluations as mmpose runs them; the files are loaded once (each COCOeval only
    sets its own keys on the loaded records: ``ignore``, ``_ignore``, its ``<part>_score``)."""
    reference("xtcocotools", XTCOCOTOOLS_HINT)
    from xtcocotools.coco import COCO
    from xtcocotools.cocoeval import COCOeval

    out = {}
    with quiet(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "'foot_score' not found, use 'score' instead."
        cg = COCO(str(g))
        cd = cg.loadRes(str(r))
        for part in cocoeval.WHOLEBODY_EVALS:
            a, b = PART_OF[part]
            ev = COCOeval(cg, cd, f"keypoints_{part}", SIGMAS[a:b], use_area=True)
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
            out[part] = (np.asarray(ev.stats), ev.eval)
    return out


def _write(tmp: Path, seed: int) -> tuple[Path, Path]:
    gt, res = make_wholebody_case(seed)
    g, r = tmp / f"gt{seed}.json", tmp / f"res{seed}.json"
    g.write_text(json.dumps(gt))
    r.write_text(json.dumps(res))
    return g, r


def _check_case(tmp: Path, seed: int) -> None:
    g, r = _write(tmp, seed)
    gt = cwb.read_wholebody_gt(g)
    dt = cwb.read_wholebody_results(r, gt)
    if len(dt) == 0:
        return  # xtcocotools loadRes cannot load an empty results list
    ours = cocoeval.evaluate_wholebody(gt.poses, dt, gt.images, category_ids=gt.category_ids)
    ref = _xtcocotools(g, r)
    for part in cocoeval.WHOLEBODY_EVALS:
        stats, ev = ref[part]
        mine = np.array([ours[part].stats[k] for k in cocoeval.COCO_STATS])
        mine = np.where(np.isnan(mine), -1.0, mine)  # posebench: NaN for "undefined"
        assert mine.tolist() == stats.tolist(), (seed, part)
        assert np.array_equal(ours[part].precision, ev["precision"]), (seed, part)
        assert np.array_equal(ours[part].recall, ev["recall"]), (seed, part)
        assert np.array_equal(ours[part].scores, ev["scores"]), (seed, part)


@pytest.mark.slow
@pytest.mark.parametrize("block", range(8))
def test_wholebody_bit_identical_to_xtcocotools(tmp_path: Path, block: int) -> None:
    per = N_CASES // 8
    for seed in range(block * per, (block + 1) * per):
        _check_case(tmp_path, seed)


def test_generator_hits_the_quirks() -> None:
    """The cases together contain what the parity test is meant to cover."""
    seen = dict.fromkeys(
        ("crowd", "neg_id", "id0", "part_unlabelled", "no_bbox", "bbox", "part_scores",
         "zero_part", "over_max_dets", "small", "large"),
        False,
    )  # fmt: skip
    for seed in range(60):
        gt, res = make_wholebody_case(seed)
        for a in gt["annotations"]:
            seen["crowd"] |= bool(a["iscrowd"])
            seen["neg_id"] |= a["id"] < 0
            seen["id0"] |= a["id"] == 0
            seen["part_unlabelled"] |= not any(a["face_kpts"][2::3])
            seen["small"] |= a["area"] < 32**2
            seen["large"] |= a["area"] > 96**2
        for r in res:
            seen["bbox" if "bbox" in r else "no_bbox"] = True
            seen["part_scores"] |= "face_score" in r
            seen["zero_part"] |= not any(r["lefthand_kpts"][2::3])
        per_img = np.bincount([r["image_id"] for r in res]) if res else np.zeros(1)
        seen["over_max_dets"] |= bool(per_img.max() > 20)
    assert all(seen.values()), seen


def test_round_trip_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    g, r = _write(tmp_path, 3)
    gt = cwb.read_wholebody_gt(g)
    dt = cwb.read_wholebody_results(r, gt)
    out = tmp_path / "written.json"
    cwb.write_wholebody_results(out, dt)
    back = cwb.read_wholebody_results(out, gt)
    assert np.array_equal(back.keypoints, dt.keypoints)
    assert np.array_equal(back.keypoint_scores, dt.keypoint_scores)  # type: ignore[arg-type]
    assert np.array_equal(back.extra["score_face"], dt.extra["score_face"], equal_nan=True)
    assert main(["score", "--metric", "wholebody", "--gt", str(g), "--pred", str(r),
                 "--format", "json"]) == 0  # fmt: skip
    js = json.loads(capsys.readouterr().out)
    ref = cocoeval.evaluate_wholebody(gt.poses, dt, gt.images, category_ids=gt.category_ids)
    for part in cocoeval.WHOLEBODY_EVALS:
        for k in cocoeval.COCO_STATS:
            v = ref[part].stats[k]
            assert js["metrics"][f"{part}/{k}"] == (None if np.isnan(v) else v)
    assert js["signature"].startswith("oks-wholebody|sigmas:coco_wholebody133|")
    assert main(["score", "--metric", "wholebody", "--gt", str(g), "--pred", str(r)]) == 0
    table = capsys.readouterr().out
    assert "wholebody/AP" in table


@pytest.mark.parametrize(
    ("mutate", "record", "field"),
    [
        (lambda r: r[0].pop("face_kpts"), "results[0]", "face_kpts"),
        (lambda r: r[1]["lefthand_kpts"].pop(), "results[1]", "lefthand_kpts"),
        (lambda r: r[0].__setitem__("foot_score", "high"), "results[0]", "foot_score"),
        (lambda r: r[2]["righthand_kpts"].__setitem__(4, None), "results[2]", "righthand_kpts"),
        (lambda r: r[1]["face_kpts"].__setitem__(7, True), "results[1]", "face_kpts"),
        (lambda r: r[1]["foot_kpts"].__setitem__(0, "1.5"), "results[1]", "foot_kpts"),
        (lambda r: r[0]["keypoints"].pop(), "results[0]", "keypoints"),
        (lambda r: r[1].__setitem__("score", -1), "results[1]", "score"),
    ],
)
def test_bad_results_name_file_record_field(
    tmp_path: Path, mutate: Any, record: str, field: str
) -> None:
    g, r = _write(tmp_path, 5)
    res = json.loads(r.read_text())
    mutate(res)
    r.write_text(json.dumps(res))
    with pytest.raises(InputError) as e:
        cwb.read_wholebody_results(r, cwb.read_wholebody_gt(g))
    assert (e.value.file, e.value.record, e.value.field) == (str(r), record, field)


def test_bad_gt_names_file_record_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    g, r = _write(tmp_path, 5)
    data = json.loads(g.read_text())
    data["annotations"][1]["face_kpts"] = data["annotations"][1]["face_kpts"][:-3]
    g.write_text(json.dumps(data))
    with pytest.raises(InputError) as e:
        cwb.read_wholebody_gt(g)
    assert (e.value.file, e.value.record, e.value.field) == (str(g), "annotations[1]", "face_kpts")
    assert main(["score", "--metric", "wholebody", "--gt", str(g), "--pred", str(r)]) == 2
    assert "face_kpts" in capsys.readouterr().err


def _split(trip: np.ndarray) -> dict[str, list[float]]:
    """(133, 3) keypoint triples as the five WholeBody fields."""
    return {cwb.PART_FIELDS[p]: trip[a:b].ravel().tolist() for p, (a, b) in WHOLEBODY_PARTS.items()}


def _real_wholebody(tmp: Path, seed: int) -> tuple[Path, Path]:
    """The real 4-image COCO-WholeBody GT (mmpose's flattened copy, split into the official
    fields) and seeded predictions around it (noise per part, misses, duplicates, far FPs)."""
    from tests.conftest import DATA

    data = json.loads((DATA / "coco_wholebody/test_keypoint_partition_metric.json").read_text())
    rng = np.random.default_rng(seed)
    res = []
    for a in data["annotations"]:
        kp = np.asarray(a["keypoints"], float).reshape(K, 3)
        a.update(_split(kp))
        if a["iscrowd"] or not (kp[:, 2] > 0).any() or rng.random() < 0.1:
            continue
        for _ in range(int(rng.integers(1, 3))):
            sd = np.sqrt(a["area"]) * rng.choice([0.005, 0.02, 0.06])
            pts = kp[:, :2] + rng.normal(0, sd, (K, 2))
            trip = np.c_[np.round(pts, 2), np.round(rng.random(K), 3)]
            score = float(np.round(rng.random(), 2))
            res.append(
                {"image_id": a["image_id"], "category_id": 1, **_split(trip), "score": score}
            )
    for im in data["images"]:
        pts = rng.uniform([0, 0], [im["width"], im["height"]]) + rng.normal(0, 30, (K, 2))
        trip = np.c_[pts, rng.random(K)]
        res.append({"image_id": im["id"], "category_id": 1, **_split(trip), "score": 0.05})
    g, r = tmp / "wb_gt.json", tmp / "wb_res.json"
    g.write_text(json.dumps(data))
    r.write_text(json.dumps(res))
    return g, r


@pytest.mark.parametrize("seed", range(4))
def test_real_wholebody_annotations(tmp_path: Path, seed: int) -> None:
    g, r = _real_wholebody(tmp_path, seed)
    gt = cwb.read_wholebody_gt(g)
    assert gt.num_joints == K
    assert len(gt.poses) == 14
    dt = cwb.read_wholebody_results(r, gt)
    ours = cocoeval.evaluate_wholebody(gt.poses, dt, gt.images, category_ids=gt.category_ids)
    ref = _xtcocotools(g, r)
    for part in cocoeval.WHOLEBODY_EVALS:
        stats, ev = ref[part]
        mine = np.array([ours[part].stats[k] for k in cocoeval.COCO_STATS])
        assert np.where(np.isnan(mine), -1.0, mine).tolist() == stats.tolist(), part
        for key in ("precision", "recall", "scores"):
            assert np.array_equal(getattr(ours[part], key), ev[key]), (part, key)


def test_real_wholebody_oracle_as_xtcocotools(tmp_path: Path) -> None:
    """The GT as its own prediction: body 1.0, but the parts below 1 in xtcocotools and here
    alike. A person whose face (say) is unlabelled is ignored for the face, yet the oracle's face
    keypoints, copied as (0, 0), are scored against the doubled box and miss it: a false positive
    (the reference's rule for ignored people; the per-keypoint AP of ``score`` avoids it)."""
    g, _ = _real_wholebody(tmp_path, 0)
    data = json.loads(g.read_text())
    res = []
    for a in data["annotations"]:
        if a["iscrowd"] or not any(a["keypoints"][2::3]):
            continue
        rec = {"image_id": a["image_id"], "category_id": 1, "score": 1.0}
        for key in cwb.PART_FIELDS.values():
            trip = np.asarray(a[key], float).reshape(-1, 3)
            trip[:, 2] = 1.0
            rec[key] = trip.ravel().tolist()
        res.append(rec)
    r = tmp_path / "oracle.json"
    r.write_text(json.dumps(res))
    gt = cwb.read_wholebody_gt(g)
    dt = cwb.read_wholebody_results(r, gt)
    ours = cocoeval.evaluate_wholebody(gt.poses, dt, gt.images, category_ids=gt.category_ids)
    ref = _xtcocotools(g, r)
    got = {part: ours[part].stats["AP"] for part in cocoeval.WHOLEBODY_EVALS}
    assert got == {part: float(ref[part][0][0]) for part in cocoeval.WHOLEBODY_EVALS}
    assert got["body"] == 1.0
    assert got["face"] < 1.0
