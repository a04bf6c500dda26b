"""COCO-style keypoint files of other datasets (OCHuman, CrowdPose, ExLPose) through the same
reader and evaluator, checked against the reference tools with ground truth as predictions."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from posebench.formats import coco
from posebench.metrics import cocoeval
from posebench.skeletons import COCO17, CROWDPOSE14
from tests.conftest import DATA
from tests.refeval import pycocotools_eval, xtcocotools_crowd_eval


def _gt_as_results(gt_path: Path, tmp: Path) -> Path:
    d = json.loads(gt_path.read_text())
    res = [
        {
            "image_id": a["image_id"],
            "category_id": a["category_id"],
            "keypoints": a["keypoints"],
            "score": 1.0,
        }
        for a in d["annotations"]
        if a.get("num_keypoints", 0) > 0 and not a.get("iscrowd", 0)
    ]
    p = tmp / "res.json"
    p.write_text(json.dumps(res))
    return p


def test_ochuman_coco_mode(tmp_path: Path) -> None:
    gt_path = DATA / "ochuman/test_ochuman.json"
    gt = coco.read_gt(gt_path)
    assert gt.num_joints == 17
    assert len(gt.images) == 3
    assert len(gt.poses) == 5
    res = _gt_as_results(gt_path, tmp_path)
    ev = cocoeval.evaluate_oks(
        gt.poses, coco.read_results(res, gt), gt.images, cocoeval.coco_params(COCO17.oks_sigmas())
    )
    ref = pycocotools_eval(gt_path, res)
    assert [ev.stats[k] for k in cocoeval.COCO_STATS] == [
        v if v != -1 else ev.stats[k]
        for k, v in zip(cocoeval.COCO_STATS, ref.stats.tolist(), strict=True)
    ]
    assert ev.stats["AP"] == 1.0


@pytest.mark.parametrize(
    "path", [DATA / "exlpose/test_exlpose.json", DATA / "crowdpose/test_crowdpose.json"]
)
def test_crowdpose_style_files(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, path: Path
) -> None:
    with caplog.at_level(logging.WARNING):
        gt = coco.read_gt(path)
    assert gt.num_joints == 14
    if "exlpose" in path.name:
        assert "id 0" in caplog.text  # ExLPose numbers its annotations from 0
    res = _gt_as_results(path, tmp_path)
    dt = coco.read_results(res, gt)
    ev = cocoeval.evaluate_oks(
        gt.poses,
        dt,
        gt.images,
        cocoeval.crowdpose_params(CROWDPOSE14.oks_sigmas()),
        mode="crowdpose",
    )
    ref = xtcocotools_crowd_eval(path, res, CROWDPOSE14.oks_sigmas())
    assert [ev.stats[k] for k in cocoeval.CROWDPOSE_STATS] == ref.stats.tolist()
    assert ev.stats["AP"] == 1.0
