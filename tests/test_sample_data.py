"""The embedded COCO val2017 sample: counts, images that decode at their stated sizes, GT as
prediction scores AP 1.0, and the sample-name helpers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from posebench.errors import InputError
from posebench.formats import coco
from posebench.metrics import cocoeval
from posebench.poseset import PoseSet
from posebench.samples import resolve, sample_images_dir, sample_path
from posebench.skeletons import COCO17

NAME = "coco-val2017-sample"


@pytest.fixture(scope="module")
def gt() -> coco.CocoGroundTruth:
    return coco.read_gt(sample_path(NAME))


def test_counts(gt: coco.CocoGroundTruth) -> None:
    p = gt.poses
    assert len(gt.images) == 36
    with_people = set(p.image_id[~p.iscrowd & (p.num_keypoints > 0)].tolist())
    assert len(with_people) == 32
    # the 4 person-free images carry no annotation at all (false-positive checks)
    assert sorted(set(gt.images.id.tolist()) - set(p.image_id.tolist())) == [
        802,
        11813,
        18575,
        22192,
    ]
    assert len(p) == 93
    assert int((p.num_keypoints > 0).sum()) == 68
    assert int(p.iscrowd.sum()) == 1
    assert int(p.num_keypoints.sum()) == 652
    assert len(set(p.ann_id.tolist())) == len(p)


def test_official_tables_kept() -> None:
    d = json.loads(sample_path(NAME).read_text())
    assert d["info"]["description"] == "COCO 2017 Dataset"
    assert [c["name"] for c in d["categories"]] == ["person"]
    assert tuple(d["categories"][0]["keypoints"]) == COCO17.keypoints
    licences = {lic["id"] for lic in d["licenses"]}
    assert all(im["license"] in licences for im in d["images"])
    readme = (sample_path(NAME).parent / "README.md").read_text()
    for im in d["images"]:  # every image's licence is listed in the README
        assert f"| {im['id']} | `{im['file_name']}` |" in readme


def test_images_decode_at_their_sizes(gt: coco.CocoGroundTruth) -> None:
    image_mod = pytest.importorskip("PIL.Image", reason="decoding JPEGs needs pillow")
    folder = sample_images_dir(NAME)
    assert sorted(p.name for p in folder.iterdir()) == sorted(gt.images.file.tolist())
    for f, w, h in zip(gt.images.file, gt.images.width, gt.images.height, strict=True):
        with image_mod.open(folder / f) as im:
            assert im.format == "JPEG"
            assert im.size == (w, h)
            rgb = np.asarray(im.convert("RGB"))
        assert rgb.shape == (h, w, 3)
        assert rgb.std() > 0  # real content, not a blank file


def test_gt_as_prediction_scores_one(gt: coco.CocoGroundTruth) -> None:
    g = gt.poses
    keep = ~g.iscrowd & (g.num_keypoints > 0)
    dt = PoseSet(
        image_id=g.image_id[keep],
        keypoints=g.keypoints[keep],
        keypoint_scores=np.ones((int(keep.sum()), g.num_joints)),
        score=np.ones(int(keep.sum())),
    )
    ev = cocoeval.evaluate_oks(g, dt, gt.images, cocoeval.coco_params(COCO17.oks_sigmas()))
    assert ev.stats["AP"] == 1.0
    assert ev.stats["AR"] == 1.0


def test_sample_names() -> None:
    assert resolve("sample:" + NAME) == str(sample_path(NAME))
    assert sample_images_dir(NAME) == sample_path(NAME).parent / "images"
    with pytest.raises(InputError, match="ships no images"):
        sample_images_dir("coco-val2017-4")
    with pytest.raises(InputError, match="unknown sample"):
        sample_images_dir("nope")
