"""mmpose adapter: conversion of MMPoseInferencer results, and the call flow around it.

mmpose (with mmcv/mmengine) rarely installs beside a recent torch, so most tests run the adapter
against a stand-in ``mmpose.apis.MMPoseInferencer`` that returns results in the documented format
(https://mmpose.readthedocs.io/en/latest/user_guides/inference.html: ``predictions`` is a list
per image of instance dicts ``keypoints``, ``keypoint_scores``, ``bbox`` ``([x1, y1, x2, y2],)``,
``bbox_score``). The test of the real package skips loudly when it cannot be imported.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from posebench.adapter import Batch
from posebench.errors import InputError

K = 17


class FakeInferencer:
    """Stands in for MMPoseInferencer: top-down, one pose per given box, keypoints on a grid
    inside the box; bottom-up, two fixed people."""

    instances: ClassVar[list[FakeInferencer]] = []

    def __init__(self, pose2d: str, pose2d_weights: str, device: str, det_model: str) -> None:
        self.kwargs = {"pose2d": pose2d, "pose2d_weights": pose2d_weights, "device": device}
        self.det_model = det_model
        self.calls: list[tuple[np.ndarray, Any]] = []
        FakeInferencer.instances.append(self)

    def __call__(self, inputs: np.ndarray, bboxes: Any = None) -> Iterator[dict[str, Any]]:
        self.calls.append((inputs, bboxes))
        preds = []
        if bboxes is None:  # bottom-up
            for s in (0.6, 0.3):
                kp = np.stack([np.arange(K) * s, np.arange(K) * 2 * s], axis=1)
                preds.append(
                    {
                        "keypoints": kp.tolist(),
                        "keypoint_scores": [s] * K,
                        "bbox": ([0.0, 0.0, 10.0 * s, 20.0 * s],),
                        "bbox_score": np.float32(s),
                    }
                )
        else:
            for x1, y1, x2, y2, score in np.asarray(bboxes):
                t = np.linspace(0, 1, K)[:, None]
                kp = np.array([x1, y1]) + t * np.array([x2 - x1, y2 - y1])
                preds.append(
                    {
                        "keypoints": kp.tolist(),
                        "keypoint_scores": np.linspace(0.1, 0.9, K).tolist(),
                        "bbox": ([x1, y1, x2, y2],),
                        "bbox_score": np.float32(score),
                    }
                )
        yield {"predictions": [preds], "visualization": []}


@pytest.fixture
def mm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[Any, Path, Path]]:
    """posebench.adapters.mmpose imported against the stand-in inferencer."""
    fake = types.ModuleType("mmpose")
    apis = types.ModuleType("mmpose.apis")
    apis.MMPoseInferencer = FakeInferencer  # type: ignore[attr-defined]
    fake.apis = apis  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "mmpose", fake)
    monkeypatch.setitem(sys.modules, "mmpose.apis", apis)
    monkeypatch.delitem(sys.modules, "posebench.adapters.mmpose", raising=False)
    module = importlib.import_module("posebench.adapters.mmpose")
    cfg = tmp_path / "rtmpose-m_8xb256-420e_coco-256x192.py"
    cfg.write_text("# config\n")
    weights = tmp_path / "rtmpose-m.pth"
    weights.write_bytes(b"\x00" * 16)
    FakeInferencer.instances.clear()
    yield module, cfg, weights
    sys.modules.pop("posebench.adapters.mmpose", None)


def test_result_conversion_documented_format(mm: Any) -> None:
    module, _, _ = mm
    kp = np.random.default_rng(0).uniform(0, 100, (2, K, 2))
    result = {
        "predictions": [
            [
                {
                    "keypoints": kp[0].tolist(),
                    "keypoint_scores": [0.5] * K,
                    "bbox": ([10.0, 20.0, 50.0, 80.0],),
                    "bbox_score": np.float32(0.9),
                },
                {  # a fork's flat bbox list, no bbox_score
                    "keypoints": kp[1].tolist(),
                    "keypoint_scores": [0.1] * (K - 1) + [0.3],
                    "bbox": [0.0, 0.0, 4.0, 4.0],
                },
            ]
        ],
        "visualization": [],
    }
    td = module.inferencer_result_to_poseset(result, 9, K, top_down=True, box_scores=[0.8, 0.5])
    np.testing.assert_array_equal(td.image_id, [9, 9])
    np.testing.assert_allclose(td.keypoints, kp)
    np.testing.assert_allclose(td.bbox, [[10, 20, 40, 60], [0, 0, 4, 4]])
    np.testing.assert_array_equal(td.extra["box_index"], [0, 1])
    # mmpose bbox_keypoint rescoring: box score x mean of keypoint scores above 0.2
    np.testing.assert_allclose(td.score, [0.8 * 0.5, 0.5 * 0.3])
    bu = module.inferencer_result_to_poseset(result, 9, K, top_down=False)
    np.testing.assert_allclose(bu.score, [0.9, np.mean([0.1] * (K - 1) + [0.3])], rtol=1e-6)
    assert "box_index" not in bu.extra
    with pytest.raises(InputError, match="one pose per box"):
        module.inferencer_result_to_poseset(result, 9, K, top_down=True, box_scores=[1.0])
    with pytest.raises(InputError, match="skeleton"):
        module.inferencer_result_to_poseset(result, 9, 14, top_down=False)
    empty = module.inferencer_result_to_poseset({"predictions": [[]]}, 1, K, top_down=False)
    assert empty.keypoints.shape == (0, K, 2)


def test_top_down_call_flow(mm: Any) -> None:
    module, cfg, weights = mm
    adapter = module.MMPoseAdapter(config=str(cfg), weights=str(weights), mode="top-down")
    (inf,) = FakeInferencer.instances
    assert inf.det_model == "whole_image"  # never mmpose's default (downloaded) detector
    assert inf.kwargs["pose2d_weights"] == str(weights)
    rgb = np.zeros((30, 40, 3), np.uint8)
    rgb[..., 0] = 200  # red
    boxes = [np.array([[1.0, 2.0, 10.0, 20.0], [5.0, 5.0, 3.0, 3.0]]), np.zeros((0, 4))]
    boxes.append(np.array([[0.0, 0.0, 40.0, 30.0]]))
    scores = [np.array([0.9, 0.4]), np.zeros(0), np.array([1.0])]
    out = adapter.predict(Batch(np.array([1, 2, 3]), [rgb] * 3, boxes=boxes, box_scores=scores))
    assert len(inf.calls) == 2  # the image without boxes is not sent
    image, bboxes = inf.calls[0]
    assert image[0, 0, 2] == 200  # BGR, as mmpose expects arrays
    assert image[0, 0, 0] == 0
    np.testing.assert_allclose(bboxes, [[1, 2, 11, 22, 0.9], [5, 5, 8, 8, 0.4]])
    np.testing.assert_array_equal(out.image_id, [1, 1, 3])
    np.testing.assert_array_equal(out.extra["box_index"], [0, 1, 0])
    np.testing.assert_allclose(out.bbox, [[1, 2, 10, 20], [5, 5, 3, 3], [0, 0, 40, 30]])
    np.testing.assert_allclose(out.keypoints[0, 0], [1, 2])
    np.testing.assert_allclose(out.keypoints[0, -1], [11, 22])
    info = adapter.info()
    assert info.top_down
    assert info.weights.startswith("rtmpose-m.pth sha256:")
    assert info.architecture == cfg.stem
    with pytest.raises(InputError, match="boxes"):
        adapter.predict(Batch(np.array([1]), [rgb]))


def test_bottom_up_and_missing_files(mm: Any, tmp_path: Path) -> None:
    module, cfg, weights = mm
    adapter = module.MMPoseAdapter(config=str(cfg), weights=str(weights), mode="bottom-up")
    out = adapter.predict(Batch(np.array([4, 5]), [np.zeros((8, 8, 3), np.uint8)] * 2))
    np.testing.assert_array_equal(out.image_id, [4, 4, 5, 5])
    np.testing.assert_allclose(out.score, [0.6, 0.3, 0.6, 0.3], rtol=1e-6)
    assert adapter.info().box_source == "none"
    with pytest.raises(InputError, match="not found"):
        module.MMPoseAdapter(config=str(tmp_path / "nope.py"), weights=str(weights))
    with pytest.raises(InputError, match="not found"):
        module.MMPoseAdapter(config=str(cfg), weights="rtmpose-m_simcc-coco.pth")


def test_load_adapter_gives_install_hint_without_mmpose() -> None:
    from posebench.adapters import load_adapter

    try:
        importlib.import_module("mmpose.apis")
    except ModuleNotFoundError:
        with pytest.raises(InputError, match="pip install mmpose"):
            load_adapter("mmpose", {"config": "c.py", "weights": "w.pth"})
    else:
        pytest.skip("mmpose is installed: the install hint cannot be shown")


def test_real_mmpose_inferencer_signature() -> None:
    try:
        apis = importlib.import_module("mmpose.apis")
    except Exception as e:
        pytest.skip(
            f"MMPOSE NOT INSTALLED: the real MMPoseInferencer is not exercised ({e!r}); "
            "install mmpose with mmcv/mmengine (see DEVELOPERS.md) to run this test. CI does "
            "not: mmcv must be built for the torch at hand and no mmpose weights install offline, "
            "so the adapter is tested on the stand-in above only"
        )
    import inspect

    params = inspect.signature(apis.MMPoseInferencer.__init__).parameters
    for name in ("pose2d", "pose2d_weights", "device", "det_model"):
        assert name in params
    assert "bboxes" in apis.MMPoseInferencer.preprocess_kwargs
