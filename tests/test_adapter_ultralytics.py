"""Ultralytics YOLO-pose adapter: letterbox inverse, batching, output shapes, weights handling.

The model is built untrained from ultralytics' bundled ``yolov8n-pose.yaml`` (nothing is
downloaded). Its forward pass is replaced by known raw outputs in letterboxed coordinates to
check that ultralytics' NMS plus the adapter's inverse mapping returns the image pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

try:
    import torch
    import ultralytics  # noqa: F401
except Exception as e:  # ImportError, or a torch/torchvision mismatch raised at import
    pytest.skip(
        f"ULTRALYTICS ADAPTER NOT TESTED: ultralytics cannot be imported ({e!r}); "
        "`pip install ultralytics` beside a matching torch/torchvision pair (see DEVELOPERS.md)",
        allow_module_level=True,
    )

from posebench.adapter import Adapter, Batch
from posebench.adapters import load_adapter
from posebench.adapters._common import letterbox, letterbox_params
from posebench.adapters.ultralytics import YoloPoseAdapter
from posebench.errors import InputError

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


def test_letterbox_matches_ultralytics() -> None:
    from ultralytics.data.augment import LetterBox

    rng = np.random.default_rng(3)
    for h, w in [(100, 200), (171, 93), (320, 320), (500, 40)]:
        im = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        ref = LetterBox(new_shape=(IMGSZ, IMGSZ), auto=False, scaleup=True, center=True)(image=im)
        ours, lb = letterbox(im, (IMGSZ, IMGSZ))
        assert ours.shape == ref.shape
        # same placement; pixel values equal up to OpenCV's fixed-point rounding
        assert np.abs(ours.astype(int) - ref.astype(int)).max() <= 1
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
