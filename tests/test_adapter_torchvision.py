"""torchvision Keypoint R-CNN adapter: known outputs -> PoseSet, batching, weights handling.

PyPI's torchvision must match the installed torch exactly; where it does not (e.g. CPU torch
2.13.0 beside torchvision 0.28: "operator torchvision::nms does not exist") these tests skip
with the reason. DEVELOPERS.md shows how to run them in a venv with a matching pair.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

try:
    import torch
    import torchvision  # noqa: F401
except Exception as e:  # ImportError, or RuntimeError from a torch/torchvision mismatch
    pytest.skip(
        f"TORCHVISION ADAPTER NOT TESTED: torch/torchvision cannot be imported ({e!r}); "
        "install a matching pair, e.g. `pip install torch==2.14.1 torchvision==0.29.1` "
        "in a venv (see DEVELOPERS.md). CI installs torchvision 0.28.0 for ultralytics beside "
        "the CPU torch 2.13.0, where its compiled ops do not load, and no Keypoint R-CNN weights "
        "install offline, so CI does not run these tests (random weights only where it can)",
        allow_module_level=True,
    )

from posebench.adapter import Adapter, Batch
from posebench.adapters import load_adapter
from posebench.adapters.torchvision import KeypointRCNNAdapter, detections_to_poseset
from posebench.errors import InputError

SMALL = {"random_init": True, "min_size": 96, "max_size": 128}


def test_detections_to_poseset_known_values() -> None:
    kp = np.arange(2 * 17 * 3, dtype=np.float64).reshape(2, 17, 3)
    outputs = [
        {
            "boxes": torch.tensor([[10.0, 20.0, 50.0, 80.0], [0.0, 0.0, 5.0, 6.0]]),
            "scores": torch.tensor([0.9, 0.4]),
            "keypoints": torch.tensor(kp, dtype=torch.float32),
            "keypoints_scores": torch.full((2, 17), 3.5),
            "labels": torch.tensor([1, 1]),
        },
        {
            "boxes": torch.zeros((0, 4)),
            "scores": torch.zeros(0),
            "keypoints": torch.zeros((0, 17, 3)),
            "keypoints_scores": torch.zeros((0, 17)),
        },
    ]
    out = detections_to_poseset(outputs, [7, 8])
    np.testing.assert_array_equal(out.image_id, [7, 7])
    np.testing.assert_allclose(out.keypoints, kp[:, :, :2])
    np.testing.assert_allclose(out.bbox, [[10, 20, 40, 60], [0, 0, 5, 6]])
    np.testing.assert_allclose(out.score, [0.9, 0.4], rtol=1e-6)
    np.testing.assert_allclose(out.keypoint_scores, 3.5)
    assert len(detections_to_poseset([], [])) == 0


class FixedHeads(torch.nn.Module):
    """Stands in for ``roi_heads``: one person per image at fixed fractions of the resized size.

    Detections are in the network's resized coordinates; torchvision's ``postprocess`` must map
    them back to the original image.
    """

    def __init__(self, fractions: np.ndarray) -> None:
        super().__init__()
        self.fractions = torch.tensor(fractions, dtype=torch.float32)  # (17, 2)
        self.sizes: list[tuple[int, int]] = []

    def forward(self, features, proposals, image_sizes, targets=None):  # type: ignore[no-untyped-def]
        dets = []
        for h, w in image_sizes:
            self.sizes.append((h, w))
            xy = self.fractions * torch.tensor([w, h], dtype=torch.float32)
            kp = torch.cat([xy, torch.ones(17, 1)], dim=1)[None]
            dets.append(
                {
                    "boxes": torch.tensor([[0.25 * w, 0.25 * h, 0.75 * w, 0.75 * h]]),
                    "scores": torch.tensor([0.8]),
                    "labels": torch.tensor([1]),
                    "keypoints": kp,
                    "keypoints_scores": torch.full((1, 17), 2.0),
                }
            )
        return dets, {}


def test_network_coordinates_map_back_to_image_pixels() -> None:
    adapter = KeypointRCNNAdapter(**SMALL, batch_size=2)
    assert isinstance(adapter, Adapter)
    fractions = np.random.default_rng(0).uniform(0.05, 0.95, (17, 2))
    heads = FixedHeads(fractions)
    adapter.model.roi_heads = heads
    calls = []
    forward = adapter._forward
    adapter._forward = lambda t: calls.append(len(t)) or forward(t)  # type: ignore[method-assign]
    sizes = [(160, 120), (90, 200), (64, 64)]  # (width, height)
    images = [np.zeros((h, w, 3), np.uint8) for w, h in sizes]
    out = adapter.predict(Batch(np.array([3, 4, 5]), images))
    assert calls == [2, 1]  # batch_size images per forward pass
    assert len(heads.sizes) == 3
    assert heads.sizes[0] != (120, 160)  # the network saw resized images
    np.testing.assert_array_equal(out.image_id, [3, 4, 5])
    for i, (w, h) in enumerate(sizes):
        np.testing.assert_allclose(out.keypoints[i], fractions * [w, h], rtol=1e-4, atol=1e-3)
        np.testing.assert_allclose(out.bbox[i], [w / 4, h / 4, w / 2, h / 2], rtol=1e-4)
    np.testing.assert_allclose(out.keypoint_scores, 2.0)


def test_random_init_model_runs_on_a_batch() -> None:
    adapter = KeypointRCNNAdapter(**SMALL, batch_size=2, score_threshold=0.0)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (70, 90, 3), dtype=np.uint8) for _ in range(3)]
    out = adapter.predict(Batch(np.array([1, 2, 3]), images))
    assert out.keypoints.shape == (len(out), 17, 2)
    assert out.keypoint_scores.shape == (len(out), 17)
    assert set(out.image_id.tolist()) <= {1, 2, 3}
    assert np.isfinite(out.keypoints).all()
    info = adapter.info()
    assert info.weights == "random-init"
    assert info.box_source == "none"
    assert not info.top_down


def test_weights_file_is_required_and_loaded(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="random_init"):
        KeypointRCNNAdapter()
    with pytest.raises(InputError, match="not found"):
        KeypointRCNNAdapter(weights=str(tmp_path / "missing.pth"))
    source = KeypointRCNNAdapter(**SMALL)
    path = tmp_path / "kprcnn.pth"
    torch.save(source.model.state_dict(), path)
    loaded = load_adapter(
        "torchvision", {"weights": str(path), "min_size": "96", "max_size": "128"}
    )
    assert loaded.info().weights.startswith("kprcnn.pth sha256:")
    a, b = source.model.state_dict(), loaded.model.state_dict()  # type: ignore[attr-defined]
    assert all(torch.equal(a[k], b[k]) for k in a)
    bad = tmp_path / "bad.pth"
    torch.save({"something": torch.zeros(1)}, bad)
    with pytest.raises(InputError, match=r"bad\.pth"):
        KeypointRCNNAdapter(weights=str(bad))
