"""MediaPipe adapter on the embedded COCO sample: OKS AP with GT boxes and on full images, the
BlazePose-33 -> COCO-17 mapping and the crop transform (a broken one leaves the AP band), argument
handling through load_adapter.

Boxes (top-down): every non-crowd person box of the GT, with or without keypoints, as the COCO
convention for "GT boxes" (a pose from a box without keypoints matches that ignored GT and counts
neither way). BlazePose is a single-person model tuned for fitness-style footage: on crowded COCO
scenes its own person detector misses about half of the crops, so its AP here is low.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import pytest
from PIL import Image

from posebench.adapter import Adapter, Batch
from posebench.errors import InputError
from posebench.formats import coco
from posebench.metrics import cocoeval
from posebench.metrics.oks import oks_matrix
from posebench.poseset import PoseSet
from posebench.samples import sample_images_dir, sample_path
from posebench.skeletons import COCO17
from tests.conftest import reference

# The real model of the demo and the end-to-end tests: CI installs it (.ci/run), so under
# POSEBENCH_REQUIRE_REFERENCES=1 its absence fails instead of skipping.
reference("mediapipe", "pip install mediapipe==0.10.21 --no-deps && pip install -e '.[mediapipe]'")

NAME = "coco-val2017-sample"
# posebench.adapters is the top-level adapters/ folder mapped by the installer (pyproject
# package-dir); mypy and ruff's import sorting cannot follow that mapping, so it is imported by
# name.
registry = importlib.import_module("posebench.adapters")
load_adapter = registry.load_adapter
mp_adapter = importlib.import_module("posebench.adapters.mediapipe")
MediaPipeAdapter = mp_adapter.MediaPipeAdapter
square_crop = mp_adapter.square_crop


def implements_predict_api(obj: object) -> bool:
    """isinstance against the runtime protocol (kept out of line: it would narrow Any)."""
    return isinstance(obj, Adapter)


class Sample:
    def __init__(self) -> None:
        self.gt = coco.read_gt(sample_path(NAME))
        folder = sample_images_dir(NAME)
        g = self.gt.poses
        self.images = []
        self.boxes = []
        for i, f in zip(self.gt.images.id, self.gt.images.file, strict=True):
            with Image.open(folder / f) as im:
                self.images.append(np.asarray(im.convert("RGB")))
            self.boxes.append(g.bbox[(g.image_id == i) & ~g.iscrowd & (g.category_id == 1)])

    def batch(self, with_boxes: bool) -> Batch:
        return Batch(
            image_ids=self.gt.images.id,
            images=self.images,
            boxes=self.boxes if with_boxes else None,
        )

    def ap(self, dt: PoseSet) -> dict[str, float]:
        params = cocoeval.coco_params(COCO17.oks_sigmas())
        return cocoeval.evaluate_oks(self.gt.poses, dt, self.gt.images, params).stats


@pytest.fixture(scope="module")
def sample() -> Sample:
    return Sample()


@pytest.fixture(scope="module")
def top_down(sample: Sample) -> PoseSet:
    with MediaPipeAdapter() as ad:
        out: PoseSet = ad.predict(sample.batch(with_boxes=True))
    return out


@pytest.fixture(scope="module")
def full_image(sample: Sample) -> PoseSet:
    with MediaPipeAdapter(mode="full-image") as ad:
        out: PoseSet = ad.predict(sample.batch(with_boxes=False))
    return out


def test_top_down_one_pose_per_box(sample: Sample, top_down: PoseSet) -> None:
    counts = [len(b) for b in sample.boxes]
    assert len(top_down) == sum(counts)
    assert top_down.image_id.tolist() == np.repeat(sample.gt.images.id, counts).tolist()
    assert top_down.extra["box_index"].dtype == np.int64
    assert top_down.extra["box_index"].tolist() == [j for c in counts for j in range(c)]
    np.testing.assert_array_equal(top_down.bbox, np.concatenate(sample.boxes))
    assert top_down.keypoints.shape == (len(top_down), 17, 2)
    ks = top_down.keypoint_scores
    assert ks is not None
    assert ((ks >= 0) & (ks <= 1)).all()
    np.testing.assert_allclose(top_down.score, ks.mean(axis=1))
    found = top_down.extra["detected"]
    assert 0 < found.sum() < len(top_down)  # BlazePose misses some crowded COCO crops
    assert (top_down.score[~found] == 0).all()


def test_detector_box_scores_weigh_the_instance_score(sample: Sample, top_down: PoseSet) -> None:
    """Detector boxes (``Batch.box_scores``): score = mean keypoint score x box score, keypoints
    unchanged (the first 6 images; GT boxes, score 1, are ``top_down``)."""
    n = 6
    boxes = sample.boxes[:n]
    rng = np.random.default_rng(0)
    box_scores = [rng.uniform(0.1, 1.0, len(b)) for b in boxes]
    batch = Batch(sample.gt.images.id[:n], sample.images[:n], boxes, box_scores)
    with MediaPipeAdapter() as ad:
        out = ad.predict(batch)
    m = sum(len(b) for b in boxes)
    assert len(out) == m
    np.testing.assert_array_equal(out.keypoints, top_down.keypoints[:m])
    np.testing.assert_allclose(out.score, top_down.score[:m] * np.concatenate(box_scores))


def test_top_down_gt_boxes_ap(sample: Sample, top_down: PoseSet) -> None:
    # Measured 0.2456 (AP50 0.4095) with mediapipe 0.10.21 on CPU, padding 1.5 (1.25: 0.195,
    # 1.75: 0.249, 2.0: 0.203). A left/right swap in the mapping
    # gives AP 0.002, crop coordinates not shifted back to the image 0.0, and
    # a shift of 4% of the crop side 0.006.
    stats = sample.ap(top_down)
    assert 0.20 <= stats["AP"] <= 0.29
    assert 0.34 <= stats["AP50"] <= 0.47


def test_full_image_ap(sample: Sample, full_image: PoseSet) -> None:
    # At most one person per image (BlazePose is single-person). Measured AP 0.126.
    assert len(full_image) <= len(sample.images)
    assert len(set(full_image.image_id.tolist())) == len(full_image)
    stats = sample.ap(full_image)
    assert 0.09 <= stats["AP"] <= 0.17


def test_full_image_finds_the_single_person(sample: Sample, full_image: PoseSet) -> None:
    g = sample.gt.poses
    sigmas = COCO17.oks_sigmas()
    checked = 0
    for image_id in sample.gt.images.id:
        rows = np.flatnonzero((g.image_id == image_id) & (g.num_keypoints > 0))
        # one large, nearly fully labelled person alone in the picture
        if len(rows) != 1 or g.num_keypoints[rows[0]] < 14 or g.area[rows[0]] < 9000:
            continue
        dt = np.flatnonzero(full_image.image_id == image_id)
        assert len(dt) == 1, f"image {image_id}: {len(dt)} poses"
        r = rows[0]
        assert g.visibility is not None
        oks = oks_matrix(
            full_image.keypoints[dt], g.keypoints[[r]], g.visibility[[r]], g.area[[r]], sigmas
        )
        assert oks[0, 0] >= 0.5, f"image {image_id}: OKS {oks[0, 0]:.3f}"
        checked += 1
    assert checked >= 5


def test_square_crop_maps_back_exactly() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (50, 80, 3), dtype=np.uint8)
    box = np.array([60.0, -5.0, 30.0, 20.0])  # leaves the image right and top
    crop, offset = square_crop(image, box, padding=1.25)
    side = crop.shape[0]
    assert crop.shape == (side, side, 3)
    assert side >= 1.25 * 30
    assert crop.flags["C_CONTIGUOUS"]
    ys, xs = np.mgrid[0:side, 0:side]
    ix, iy = xs + int(offset[0]), ys + int(offset[1])
    inside = (ix >= 0) & (ix < 80) & (iy >= 0) & (iy < 50)
    np.testing.assert_array_equal(crop[inside], image[iy[inside], ix[inside]])
    assert (crop[~inside] == 0).all()
    # the crop is centred on the box
    np.testing.assert_allclose(offset + side / 2, box[:2] + box[2:] / 2, atol=1.0)


def test_no_person_gives_a_zero_score_row() -> None:
    with MediaPipeAdapter() as ad:
        out = ad.predict(
            Batch(
                image_ids=np.array([5]),
                images=[np.zeros((120, 160, 3), np.uint8)],
                boxes=[np.array([[10.0, 20.0, 40.0, 60.0]])],
            )
        )
    assert len(out) == 1
    assert not out.extra["detected"][0]
    assert out.score[0] == 0
    np.testing.assert_array_equal(out.keypoints[0], np.tile([30.0, 50.0], (17, 1)))


def test_load_adapter_converts_args() -> None:
    ad: Any = load_adapter("mediapipe", {"mode": "full-image", "padding": "1.5"})
    try:
        assert isinstance(ad, MediaPipeAdapter)
        assert implements_predict_api(ad)
        assert ad.top_down is False
        assert ad.padding == 1.5
        info = ad.info()
        assert info.name == "mediapipe"
        assert info.box_source == "none"
        assert info.skeleton == "coco17"
        assert info.input_size == (256, 256)
        assert info.weights.startswith("mediapipe==")
        assert "pose_landmark_full.tflite" in info.weights
    finally:
        ad.close()
    ad = load_adapter("mediapipe", {"box_source": "detector"})
    try:
        assert ad.top_down is True
        assert ad.info().box_source == "detector"
        with pytest.raises(InputError, match="needs person boxes"):
            ad.predict(Batch(image_ids=np.array([1]), images=[np.zeros((8, 8, 3), np.uint8)]))
    finally:
        ad.close()


@pytest.mark.parametrize("value", ["0", "2"])
def test_model_complexity_other_than_1_refused(value: str) -> None:
    with pytest.raises(InputError, match="download") as e:
        load_adapter("mediapipe", {"model_complexity": value})
    assert e.value.field == "--adapter-arg model_complexity"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("mode", "bottom-up"),
        ("padding", "wide"),
        ("padding", "-1"),
        ("min_detection_confidence", "1.5"),
        ("box_source", "magic"),
    ],
)
def test_bad_args_name_the_argument(key: str, value: str) -> None:
    with pytest.raises(InputError) as e:
        load_adapter("mediapipe", {key: value})
    assert e.value.field == f"--adapter-arg {key}"
    assert key in str(e.value)


def test_closed_adapter_refuses() -> None:
    ad = MediaPipeAdapter(mode="full-image")
    ad.close()
    ad.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        ad.predict(Batch(image_ids=np.array([1]), images=[np.zeros((8, 8, 3), np.uint8)]))


def test_missing_mediapipe_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "mediapipe", None)  # import mediapipe -> ModuleNotFoundError
    monkeypatch.delitem(sys.modules, "posebench.adapters.mediapipe")
    with pytest.raises(InputError, match=r"needs the optional package 'mediapipe': pip install"):
        load_adapter("mediapipe")
