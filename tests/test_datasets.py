"""Dataset discovery: every built-in dataset loads from a tiny fake data root made of the real
fixtures in tests/data, and missing or unsafe data gives a clear error."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.io as scipy_io
from PIL import Image

from posebench.datasets import DATASETS, data_root, load_dataset
from posebench.errors import InputError
from posebench.formats.h36m import load_h36m_npz
from posebench.formats.mpii import load_mpii_gt

DATA = Path(__file__).parent / "data"


def _copy(src: Path, root: Path, rel: str) -> Path:
    dst = root / rel
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    return dst


def _jpeg(path: Path, size: tuple[int, int], color: tuple[int, int, int] = (200, 30, 10)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path, quality=95)


def _coco_root(root: Path, *, file_name: str | None = None) -> Path:
    """coco/ with the real val2017 GT of image 139099 (its JPEG replaced by a flat one)."""
    doc = json.loads((DATA / "coco" / "fce_gt_139099.json").read_text())
    if file_name is not None:
        doc["images"][0]["file_name"] = file_name
    ann = root / "coco/annotations/person_keypoints_val2017.json"
    ann.parent.mkdir(parents=True)
    ann.write_text(json.dumps(doc))
    (root / "coco/val2017").mkdir(parents=True)
    return root


def _mpii_root(root: Path) -> Path:
    """mpii/ with mmpose's 5-record json and the matching 5 persons of the official val .mat."""
    _copy(DATA / "mpii" / "test_mpii.json", root, "mpii/annotations/mpii_val.json")
    full = scipy_io.loadmat(str(DATA / "mpii" / "detections_our_format.mat"))
    scipy_io.savemat(
        str(root / "mpii/annotations/mpii_gt_val.mat"),
        {
            "pos_gt_src": full["pos_gt_src"][:, :, :5],
            "jnt_missing": full["jnt_missing"][:, :5],
            "headboxes_src": full["headboxes_src"][:, :, :5],
            "dataset_joints": full["dataset_joints"],
        },
    )
    (root / "mpii/images").mkdir(parents=True)
    return root


def _lsp_root(root: Path) -> Path:
    """lsp/joints.mat in the original 3 x 14 x 2000 layout, built from the 400-person fixture."""
    lspet = scipy_io.loadmat(str(DATA / "lsp" / "joints.mat"))["joints"]  # 14 x 3 x 400
    tiled = np.concatenate([lspet] * 5, axis=2)  # 14 x 3 x 2000, flag 1 = visible
    orig = np.transpose(tiled, (1, 0, 2)).copy()  # 3 x 14 x 2000
    orig[2] = 1.0 - orig[2]  # original LSP: flag 1 = occluded
    (root / "lsp/images").mkdir(parents=True)
    scipy_io.savemat(str(root / "lsp/joints.mat"), {"joints": orig})
    return root


# ----------------------------------------------------------------------------- every dataset


def test_coco_val2017_loads_gt_images_and_boxes(tmp_path: Path) -> None:
    ds = load_dataset("coco-val2017", _coco_root(tmp_path))
    assert ds.skeleton.name == "coco17"
    assert ds.images.id.tolist() == [139099]
    assert (ds.images.width[0], ds.images.height[0]) == (640, 453)
    assert len(ds.gt) == 14
    boxes, rows = ds.gt_boxes(139099)
    # 14 annotations: one crowd region and two persons without keypoints have no GT box here.
    assert len(rows) == 11
    assert boxes.shape == (11, 4)
    assert not ds.gt.iscrowd[rows].any()
    assert (ds.gt.num_keypoints[rows] > 0).all()
    np.testing.assert_array_equal(boxes, ds.gt.bbox[rows])
    assert ds.image_path(139099) == tmp_path / "coco/val2017/000000139099.jpg"


def test_load_image_is_rgb_uint8_and_names_a_missing_file(tmp_path: Path) -> None:
    ds = load_dataset("coco-val2017", _coco_root(tmp_path))
    with pytest.raises(InputError, match=re.escape("000000139099.jpg")) as e:
        ds.load_image(139099)
    assert "not found" in str(e.value)
    _jpeg(tmp_path / "coco/val2017/000000139099.jpg", (640, 453), (250, 0, 0))
    im = ds.load_image(139099)
    assert im.shape == (453, 640, 3)
    assert im.dtype == np.uint8
    assert im[..., 0].mean() > 200
    assert im[..., 2].mean() < 30
    (tmp_path / "coco/val2017/000000139099.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(InputError, match="cannot decode"):
        ds.load_image(139099)
    with pytest.raises(InputError, match="no image with id 5"):
        ds.load_image(5)


def test_detector_boxes_are_read_once_and_sorted(tmp_path: Path) -> None:
    root = _coco_root(tmp_path)
    dets = [
        {"image_id": 139099, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.2},
        {"image_id": 139099, "category_id": 1, "bbox": [5, 6, 7, 8], "score": 0.9},
        {"image_id": 139099, "category_id": 2, "bbox": [0, 0, 1, 1], "score": 1.0},
    ]
    ds = load_dataset("coco-val2017", root)
    with pytest.raises(InputError, match=re.escape("COCO_val2017_detections_AP_H_56_person.json")):
        ds.det_boxes(139099)
    spec = DATASETS["coco-val2017"]
    assert spec.detections is not None
    (root / spec.detections).parent.mkdir(parents=True)
    (root / spec.detections).write_text(json.dumps(dets))
    ds = load_dataset("coco-val2017", root)
    boxes, scores = ds.det_boxes(139099)
    assert scores.tolist() == [0.9, 0.2]
    assert boxes.tolist() == [[5, 6, 7, 8], [1, 2, 3, 4]]


@pytest.mark.parametrize(
    ("name", "rel"),
    [
        ("crowdpose-val", "crowdpose/annotations/mmpose_crowdpose_val.json"),
        ("crowdpose-test", "crowdpose/json/crowdpose_test.json"),  # the release's own name
    ],
)
def test_crowdpose_loads_with_crowd_index(tmp_path: Path, name: str, rel: str) -> None:
    _copy(DATA / "crowdpose" / "test_crowdpose.json", tmp_path, rel)
    (tmp_path / "crowdpose/images").mkdir()
    ds = load_dataset(name, tmp_path)
    assert ds.skeleton.name == "crowdpose14"
    assert ds.gt.num_joints == 14
    assert ds.images.id.tolist() == [103319, 106848]  # sorted by id
    np.testing.assert_allclose(ds.images.crowd_index, [0.39, 0.33])
    assert len(ds.gt) == 5
    one = load_dataset(name, tmp_path, limit=1)
    assert one.images.id.tolist() == [103319]
    assert set(one.gt.image_id.tolist()) == {103319}
    assert len(one.gt) == int(np.count_nonzero(ds.gt.image_id == 103319))


@pytest.mark.parametrize(
    ("name", "rel"),
    [
        ("ochuman-val", "ochuman/annotations/ochuman_coco_format_val_range_0.00_1.00.json"),
        ("ochuman-test", "ochuman/ochuman_coco_format_test_range_0.00_1.00.json"),
    ],
)
def test_ochuman_loads(tmp_path: Path, name: str, rel: str) -> None:
    _copy(DATA / "ochuman" / "test_ochuman.json", tmp_path, rel)
    (tmp_path / "ochuman/images").mkdir()
    ds = load_dataset(name, tmp_path)
    assert ds.skeleton.name == "coco17"
    assert ds.images.id.tolist() == [1, 2, 3]
    assert len(ds.gt) == 5
    assert ds.images.file.tolist() == ["003799.jpg", "000817.jpg", "003896.jpg"]


def test_mpii_val_is_zero_based_with_head_boxes_and_lazy_sizes(tmp_path: Path) -> None:
    ds = load_dataset("mpii-val", _mpii_root(tmp_path))
    official = load_mpii_gt(DATA / "mpii" / "detections_our_format.mat")
    assert ds.spec.persons == "single"
    assert ds.skeleton.name == "mpii16"
    assert len(ds.gt) == 5
    assert len(ds.images) == 5
    # 1-based MATLAB coordinates become 0-based pixels; head boxes shift with them.
    np.testing.assert_allclose(ds.gt.keypoints, official.keypoints[:5] - 1.0)
    np.testing.assert_allclose(ds.gt.extra["headbox"], official.headboxes[:5] - 1.0)
    assert ds.gt.visibility is not None
    np.testing.assert_array_equal(ds.gt.visibility > 0, official.visible[:5])
    # The box is mmpose's scale * 200 square around the annotated centre.
    record0 = json.loads((DATA / "mpii" / "test_mpii.json").read_text())[0]
    image0 = int(ds.gt.image_id[0])
    boxes, rows = ds.gt_boxes(image0)
    side = record0["scale"] * 200
    cx, cy = record0["center"][0] - 1, record0["center"][1] - 1
    np.testing.assert_allclose(boxes[0], [cx - side / 2, cy - side / 2, side, side])
    assert rows.tolist() == [0]
    # Sizes are not in the files: read from the image header.
    assert ds.images.width[0] == 0
    _jpeg(tmp_path / "mpii/images" / record0["image"], (37, 21))
    assert ds.image_size(image0) == (37, 21)


def test_mpii_refuses_files_of_different_splits(tmp_path: Path) -> None:
    root = _mpii_root(tmp_path)
    records = json.loads((root / "mpii/annotations/mpii_val.json").read_text())
    records[0], records[1] = records[1], records[0]
    (root / "mpii/annotations/mpii_val.json").write_text(json.dumps(records))
    with pytest.raises(InputError, match=r"person 0 .* does not match record \[0\]"):
        load_dataset("mpii-val", root)


def test_lsp_test_keeps_images_1001_to_2000(tmp_path: Path) -> None:
    ds = load_dataset("lsp-test", _lsp_root(tmp_path))
    assert ds.images.id.tolist() == list(range(1001, 2001))
    assert ds.images.file[0] == "im1001.jpg"
    assert len(ds.gt) == 1000
    assert ds.gt.num_joints == 14
    lspet = scipy_io.loadmat(str(DATA / "lsp" / "joints.mat"))["joints"]
    # Record 1000 of the five-times tiled file is fixture person 200, in 0-based pixels.
    np.testing.assert_allclose(ds.gt.keypoints[0], lspet[:, :2, 200] - 1.0)
    boxes, rows = ds.gt_boxes(1001)
    assert rows.tolist() == [0]
    labelled = ds.gt.keypoints[0][ds.gt.visibility[0] > 0]  # type: ignore[index]
    np.testing.assert_allclose(boxes[0, :2], labelled.min(axis=0))


def test_lsp_test_refuses_the_lspet_layout(tmp_path: Path) -> None:
    _copy(DATA / "lsp" / "joints.mat", tmp_path, "lsp/joints.mat")
    (tmp_path / "lsp/images").mkdir()
    with pytest.raises(InputError, match=re.escape("original LSP joints.mat")) as e:
        load_dataset("lsp-test", tmp_path)
    assert e.value.file == str(tmp_path / "lsp/joints.mat")


def test_h36m_test_is_3d_in_millimetres(tmp_path: Path) -> None:
    src = DATA / "h36m" / "test_h36m_body3d.npz"
    _copy(src, tmp_path, "h36m/annotation_body3d/fps50/h36m_test.npz")
    (tmp_path / "h36m/images").mkdir()
    ds = load_dataset("h36m-test", tmp_path)
    ann = load_h36m_npz(src)
    assert ds.spec.dims == 3
    assert ds.gt.keypoints.shape == (4, 17, 3)
    np.testing.assert_allclose(ds.gt.keypoints, ann.joints_3d * 1000.0)
    assert ds.images.id.tolist() == [1, 2, 3, 4]
    assert ds.image_path(1) == (
        tmp_path / "h36m/images/S1/S1_Directions_1.54138969/S1_Directions_1.54138969_000001.jpg"
    )
    assert ds.gt.extra["action"].tolist()[0] == "Directions"
    boxes, _ = ds.gt_boxes(2)
    assert ann.center is not None
    assert ann.scale is not None
    np.testing.assert_allclose(boxes[0, 2], ann.scale[1] * 200)


def test_the_embedded_sample_needs_no_root() -> None:
    ds = load_dataset("coco-sample", None, require_images=False)
    assert ds.skeleton.name == "coco17"
    assert len(ds.images) > 0
    ids = np.sort(ds.images.id)
    np.testing.assert_array_equal(ds.images.id, ids)
    limited = load_dataset("coco-sample", None, limit=2, require_images=False)
    assert limited.images.id.tolist() == ids[:2].tolist()
    assert set(limited.gt.image_id.tolist()) <= set(ids[:2].tolist())


# ----------------------------------------------------------------------------- errors


def test_missing_root_or_file_shows_the_layout(tmp_path: Path) -> None:
    with pytest.raises(InputError) as e:
        load_dataset("coco-val2017", tmp_path)
    msg = str(e.value)
    assert f"dataset 'coco-val2017' not found under {tmp_path}" in msg
    assert "missing coco/annotations/person_keypoints_val2017.json" in msg
    assert "expected layout:\n<data root>/coco/" in msg
    assert msg.endswith("Set --data-root or POSEBENCH_DATA.")
    with pytest.raises(InputError, match="no data root given"):
        load_dataset("mpii-val", None)
    with pytest.raises(InputError, match="not a directory"):
        load_dataset("mpii-val", tmp_path / "nowhere")


def test_missing_images_folder(tmp_path: Path) -> None:
    root = _coco_root(tmp_path)
    (root / "coco/val2017").rmdir()
    with pytest.raises(InputError, match="missing coco/val2017/"):
        load_dataset("coco-val2017", root)
    assert len(load_dataset("coco-val2017", root, require_images=False).gt) == 14


def test_mpii_needs_its_head_box_file(tmp_path: Path) -> None:
    root = _mpii_root(tmp_path)
    (root / "mpii/annotations/mpii_gt_val.mat").unlink()
    with pytest.raises(InputError, match=re.escape("missing mpii/annotations/mpii_gt_val.mat")):
        load_dataset("mpii-val", root)


def test_unknown_dataset_and_bad_limit(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="did you mean 'coco-val2017'"):
        load_dataset("coco-val2071", tmp_path)
    with pytest.raises(InputError, match="positive integer"):
        load_dataset("coco-sample", None, limit=0)


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "a/../../b.jpg", "C:\\x.jpg"])
def test_image_paths_never_escape_the_images_folder(tmp_path: Path, name: str) -> None:
    ds = load_dataset("coco-val2017", _coco_root(tmp_path, file_name=name))
    with pytest.raises(InputError, match="not a relative path inside") as e:
        ds.image_path(139099)
    assert e.value.record == "image 139099"
    with pytest.raises(InputError):
        ds.load_image(139099)


def test_data_root_from_flag_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POSEBENCH_DATA", raising=False)
    assert data_root(None) is None
    monkeypatch.setenv("POSEBENCH_DATA", "/env/data")
    assert data_root(None) == Path("/env/data")
    assert data_root("/cli/data") == Path("/cli/data")
    monkeypatch.setenv("POSEBENCH_DATA", "")
    assert data_root(None) is None


def test_every_spec_is_consistent() -> None:
    from posebench.skeletons import SKELETONS

    for name, spec in DATASETS.items():
        assert spec.name == name
        assert spec.skeleton in SKELETONS
        if spec.sample is None:
            assert spec.family in {"coco", "crowdpose", "ochuman", "mpii", "lsp", "h36m"}
            assert spec.images.startswith(spec.family + "/")
            assert f"<data root>/{spec.family}/" in spec.layout
