"""The ONNX adapter (RTMPose top-down SimCC, RTMO bottom-up) on tiny graphs built here.

The graphs' outputs are a known function of the input: the SimCC graph puts the peak of
``simcc_x`` / ``simcc_y`` at the column / row of the brightest pixel of channel 0, and the RTMO
graph reports one person whose keypoints sit on the brightest pixel. Drawing a blob at a known
image position and decoding it checks the whole chain: crop (or letterbox), normalisation,
batching, decoding, inverse mapping.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip(
    "onnx", reason="ONNX ADAPTER NOT TESTED: its tests build graphs with `pip install onnx`"
)
pytest.importorskip(
    "onnxruntime", reason="ONNX ADAPTER NOT TESTED: it needs `pip install 'posebench[onnx]'`"
)
from onnx import TensorProto, helper  # noqa: E402

from posebench.adapter import Adapter, Batch  # noqa: E402
from posebench.adapters import load_adapter  # noqa: E402
from posebench.adapters._common import (  # noqa: E402
    letterbox,
    letterbox_params,
    nms,
    rescore,
    resize_bilinear,
    warp_affine,
)
from posebench.adapters.onnx import OnnxAdapter, decode_simcc  # noqa: E402
from posebench.errors import InputError  # noqa: E402

K = 17


def _save(path: Path, nodes: list, inputs: list, outputs: list, inits: list | None = None) -> str:
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=inits or [])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return str(path)


def _i64(name: str, values: list[int]) -> onnx.TensorProto:
    return helper.make_tensor(name, TensorProto.INT64, [len(values)], values)


def simcc_model(
    path: Path, w: int = 48, h: int = 64, batch: int | str = "B", extra_bin: bool = False
) -> str:
    """RTMPose-shaped graph: (B,3,H,W) -> simcc_x (B,K,2W), simcc_y (B,K,2H).

    Every keypoint's SimCC vectors are channel 0's column / row maxima, each bin doubled.
    ``extra_bin`` appends one bin to simcc_x (a wrong-shaped model).
    """
    nodes = [
        helper.make_node("Slice", ["input", "s0", "s1", "ax1"], ["c0"]),
        helper.make_node("ReduceMax", ["c0"], ["colmax"], axes=[2], keepdims=0),  # (B,1,W)
        helper.make_node("ReduceMax", ["c0"], ["rowmax"], axes=[3], keepdims=0),  # (B,1,H)
    ]
    for src, out in (("colmax", "simcc_x"), ("rowmax", "simcc_y")):
        nodes += [
            helper.make_node("Unsqueeze", [src, "ax3"], [f"{src}_u"]),
            helper.make_node("Concat", [f"{src}_u", f"{src}_u"], [f"{src}_d"], axis=3),
            helper.make_node("Reshape", [f"{src}_d", "flat"], [f"{src}_f"]),
            helper.make_node(
                "Tile",
                [f"{src}_f", "reps"],
                [out if not (extra_bin and out == "simcc_x") else "sx0"],
            ),
        ]
    if extra_bin:
        nodes.append(helper.make_node("Pad", ["sx0", "pads"], ["simcc_x"]))
    inits = [
        _i64("s0", [0]),
        _i64("s1", [1]),
        _i64("ax1", [1]),
        _i64("ax3", [3]),
        _i64("flat", [0, 1, -1]),
        _i64("reps", [1, K, 1]),
        _i64("pads", [0, 0, 0, 0, 0, 1]),
    ]
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 3, h, w])
    ox = helper.make_tensor_value_info("simcc_x", TensorProto.FLOAT, [batch, K, None])
    oy = helper.make_tensor_value_info("simcc_y", TensorProto.FLOAT, [batch, K, 2 * h])
    return _save(path, nodes, [x], [ox, oy], inits)


def rtmo_model(path: Path, w: int = 128, h: int = 96, batch: int | str = 1) -> str:
    """RTMO-shaped graph: one detection per image, keypoints on channel 0's brightest pixel.

    dets (B,1,5) = [x-5, y-5, x+5, y+5, 0.9]; keypoints (B,1,K,3) = [x, y, 0.8].
    """
    nodes = [
        helper.make_node("Slice", ["input", "s0", "s1", "ax1"], ["c0"]),
        helper.make_node("Reshape", ["c0", "flat2"], ["f"]),  # (B, H*W)
        helper.make_node("ArgMax", ["f"], ["idx"], axis=1, keepdims=1),  # (B,1)
        helper.make_node("Mod", ["idx", "wconst"], ["xi"]),
        helper.make_node("Div", ["idx", "wconst"], ["yi"]),
        helper.make_node("Cast", ["xi"], ["x"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["yi"], ["y"], to=TensorProto.FLOAT),
        helper.make_node("Sub", ["x", "five"], ["x1"]),
        helper.make_node("Sub", ["y", "five"], ["y1"]),
        helper.make_node("Add", ["x", "five"], ["x2"]),
        helper.make_node("Add", ["y", "five"], ["y2"]),
        helper.make_node("Mul", ["x", "zero"], ["z"]),
        helper.make_node("Add", ["z", "det_score"], ["ds"]),
        helper.make_node("Add", ["z", "kpt_score"], ["ks"]),
        helper.make_node("Concat", ["x1", "y1", "x2", "y2", "ds"], ["d"], axis=1),  # (B,5)
        helper.make_node("Unsqueeze", ["d", "ax1"], ["dets"]),  # (B,1,5)
        helper.make_node("Concat", ["x", "y", "ks"], ["p"], axis=1),  # (B,3)
        helper.make_node("Reshape", ["p", "kshape"], ["p4"]),  # (B,1,1,3)
        helper.make_node("Tile", ["p4", "kreps"], ["keypoints"]),  # (B,1,K,3)
    ]
    inits = [
        _i64("s0", [0]),
        _i64("s1", [1]),
        _i64("ax1", [1]),
        _i64("flat2", [0, -1]),
        helper.make_tensor("wconst", TensorProto.INT64, [], [w]),
        helper.make_tensor("five", TensorProto.FLOAT, [], [5.0]),
        helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]),
        helper.make_tensor("det_score", TensorProto.FLOAT, [], [0.9]),
        helper.make_tensor("kpt_score", TensorProto.FLOAT, [], [0.8]),
        _i64("kshape", [-1, 1, 1, 3]),
        _i64("kreps", [1, 1, K, 1]),
    ]
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 3, h, w])
    od = helper.make_tensor_value_info("dets", TensorProto.FLOAT, [batch, None, 5])
    ok = helper.make_tensor_value_info("keypoints", TensorProto.FLOAT, [batch, None, K, 3])
    return _save(path, nodes, [x], [od, ok], inits)


def blob_image(width: int, height: int, centres: list[tuple[float, float]], sigma: float = 2.0):
    """Black RGB image with white Gaussian blobs (peak 255) at ``centres`` (pixel coordinates)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    v = np.zeros((height, width))
    for cx, cy in centres:
        v = np.maximum(v, np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma**2)))
    return np.repeat(np.rint(255 * v).astype(np.uint8)[:, :, None], 3, axis=2)


class CountingSession:
    """Wraps an onnxruntime session and counts ``run`` calls and their batch sizes."""

    def __init__(self, session) -> None:
        self.session = session
        self.batches: list[int] = []

    def run(self, names, feeds):
        self.batches.append(len(next(iter(feeds.values()))))
        return self.session.run(names, feeds)

    def __getattr__(self, name):
        return getattr(self.session, name)


# --- rtmpose ------------------------------------------------------------------------------


def test_rtmpose_dot_lands_on_the_keypoint(tmp_path: Path) -> None:
    adapter = OnnxAdapter(simcc_model(tmp_path / "m.onnx"), kind="rtmpose")
    assert isinstance(adapter, Adapter)
    assert adapter.top_down
    assert adapter.input_size == (48, 64)
    dots = [(61.3, 47.8), (150.0, 120.2), (30.6, 150.4)]
    # boxes of several sizes and aspects around each dot (crop scale between ~0.5 and ~3)
    boxes = np.array([[41, 20, 40, 60], [110, 60, 90, 110], [20, 140, 12, 20]], dtype=np.float64)
    image = blob_image(240, 180, dots)
    out = adapter.predict(Batch(np.array([5]), [image], boxes=[boxes]))
    assert len(out) == 3
    np.testing.assert_array_equal(out.image_id, [5, 5, 5])
    np.testing.assert_array_equal(out.extra["box_index"], [0, 1, 2])
    np.testing.assert_array_equal(out.bbox, boxes)
    for i, (cx, cy) in enumerate(dots):
        # every keypoint decodes to the dot of its own box, within a pixel
        err = np.abs(out.keypoints[i] - [cx, cy])
        assert err.max() <= 1.0, (i, out.keypoints[i, 0], (cx, cy))
    # score: peak of channel 0 after mmpose normalisation, min over x and y
    assert out.keypoint_scores.shape == (3, K)
    assert out.keypoint_scores.max() <= (255 - 123.675) / 58.395 + 1e-6


def test_rtmpose_batched_equals_one_by_one(tmp_path: Path) -> None:
    dynamic = OnnxAdapter(simcc_model(tmp_path / "dyn.onnx"), kind="rtmpose", batch_size=3)
    static = OnnxAdapter(simcc_model(tmp_path / "one.onnx", batch=1), kind="rtmpose")
    dynamic.session = CountingSession(dynamic.session)
    static.session = CountingSession(static.session)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (90 + 10 * i, 120, 3), dtype=np.uint8) for i in range(3)]
    boxes = [
        np.array([[10, 10, 50, 60], [40, 5, 30, 80]], float),
        np.zeros((0, 4)),
        np.array([[0, 0, 120, 110], [60, 30, 20, 20], [5.5, 7.25, 33.3, 41.9]]),
    ]
    scores = [np.array([0.9, 0.5]), np.zeros(0), np.array([1.0, 0.8, 0.7])]
    batch = Batch(np.array([1, 2, 3]), images, boxes=boxes, box_scores=scores)
    a = dynamic.predict(batch)
    b = static.predict(batch)
    assert dynamic.session.batches == [3, 2]  # 5 crops from 3 images, batch_size 3
    assert static.session.batches == [1] * 5
    np.testing.assert_allclose(a.keypoints, b.keypoints, atol=1e-9)
    np.testing.assert_allclose(a.keypoint_scores, b.keypoint_scores, atol=1e-5)
    np.testing.assert_array_equal(a.image_id, [1, 1, 3, 3, 3])
    np.testing.assert_array_equal(a.extra["box_index"], [0, 1, 0, 1, 2])
    np.testing.assert_allclose(a.score, rescore(np.concatenate(scores), a.keypoint_scores))


def test_rtmpose_empty_boxes(tmp_path: Path) -> None:
    adapter = OnnxAdapter(simcc_model(tmp_path / "m.onnx"), kind="rtmpose")
    images = [np.zeros((20, 30, 3), np.uint8)] * 2
    out = adapter.predict(Batch(np.array([1, 2]), images, boxes=[np.zeros((0, 4))] * 2))
    assert len(out) == 0
    assert out.keypoints.shape == (0, K, 2)
    assert out.extra["box_index"].shape == (0,)
    with pytest.raises(InputError, match="top-down"):
        adapter.predict(Batch(np.array([1]), images[:1]))


def test_wrong_shaped_models_name_file_and_tensor(tmp_path: Path) -> None:
    bad = simcc_model(tmp_path / "bad_bins.onnx", extra_bin=True)
    adapter = OnnxAdapter(bad, kind="rtmpose")
    batch = Batch(
        np.array([1]), [np.zeros((40, 40, 3), np.uint8)], boxes=[np.array([[0, 0, 9, 9]])]
    )
    with pytest.raises(InputError) as e:
        adapter.predict(batch)
    assert "bad_bins.onnx" in str(e.value)
    assert "simcc_x" in str(e.value)
    # an input that is not (B, 3, H, W)
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 64, 48])
    y = helper.make_tensor_value_info("simcc_x", TensorProto.FLOAT, [1, 64, 48])
    flat = _save(
        tmp_path / "rank3.onnx", [helper.make_node("Identity", ["input"], ["simcc_x"])], [x], [y]
    )
    with pytest.raises(InputError) as e:
        OnnxAdapter(flat, kind="rtmpose")
    assert "rank3.onnx" in str(e.value)
    assert "'input'" in str(e.value)
    # an RTMPose file loaded as RTMO: outputs are not dets/keypoints-shaped
    with pytest.raises(InputError) as e:
        OnnxAdapter(simcc_model(tmp_path / "simcc.onnx"), kind="rtmo").predict(
            Batch(np.array([1]), [np.zeros((40, 40, 3), np.uint8)])
        )
    assert "simcc.onnx" in str(e.value)


# --- rtmo ---------------------------------------------------------------------------------


@pytest.mark.parametrize("batch_dim", [1, "B"])
def test_rtmo_letterbox_maps_back(tmp_path: Path, batch_dim: int | str) -> None:
    adapter = OnnxAdapter(rtmo_model(tmp_path / "rtmo.onnx", batch=batch_dim), kind="rtmo")
    adapter.session = CountingSession(adapter.session)
    assert not adapter.top_down
    assert adapter.info().box_source == "none"
    # 50x75 -> scale 1.28 into 128x96 (padding on the right); 100x30 -> 1.28, padding below
    images = [blob_image(50, 75, [(31.4, 20.7)]), blob_image(100, 30, [(80.2, 11.6)])]
    out = adapter.predict(Batch(np.array([10, 11]), images))
    assert adapter.session.batches == ([1, 1] if batch_dim == 1 else [2])
    np.testing.assert_array_equal(out.image_id, [10, 11])
    assert np.abs(out.keypoints[0] - [31.4, 20.7]).max() <= 1.0
    assert np.abs(out.keypoints[1] - [80.2, 11.6]).max() <= 1.0
    np.testing.assert_allclose(out.keypoint_scores, 0.8, rtol=1e-6)
    np.testing.assert_allclose(out.score, 0.9, rtol=1e-6)
    # the 10x10 input-pixel box maps back through each image's per-axis letterbox scale
    for i, im in enumerate(images):
        lb = letterbox_params(im.shape[1], im.shape[0], (128, 96), center=False)
        np.testing.assert_allclose(out.bbox[i, 2:], [10 / lb.scale_x, 10 / lb.scale_y], rtol=1e-6)
    high = OnnxAdapter(rtmo_model(tmp_path / "rtmo2.onnx"), kind="rtmo", score_threshold=0.95)
    assert len(high.predict(Batch(np.array([10]), images[:1]))) == 0


# --- helpers and registry -----------------------------------------------------------------


def test_decode_simcc_picks_argmax_and_min_score() -> None:
    sx = np.zeros((1, 2, 8))
    sy = np.zeros((1, 2, 6))
    sx[0, 0, 5], sy[0, 0, 3] = 0.9, 0.4
    sx[0, 1, 2], sy[0, 1, 1] = 0.3, 0.7
    locs, scores = decode_simcc(sx, sy, (2.0, 2.0))
    np.testing.assert_allclose(locs[0], [[2.5, 1.5], [1.0, 0.5]])
    np.testing.assert_allclose(scores[0], [0.4, 0.3])


def test_resampling_matches_opencv() -> None:
    cv2 = pytest.importorskip("cv2", reason="OpenCV is the reference for the resampling helpers")
    rng = np.random.default_rng(1)
    im = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    for size in [(80, 21), (20, 11), (53, 37)]:
        ours = np.rint(resize_bilinear(im, size))
        assert np.abs(ours - cv2.resize(im, size, interpolation=cv2.INTER_LINEAR)).max() <= 1
    m = np.array([[0.59, 0.0, -3.1], [0.0, 0.64, 2.7]])
    ref = cv2.warpAffine(im, m, (24, 32), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    assert np.abs(np.rint(warp_affine(im, m, (24, 32))) - ref).max() <= 1


def test_letterbox_round_trip() -> None:
    lb = letterbox_params(200, 100, (64, 64))
    assert (lb.left, lb.top, lb.new_width, lb.new_height) == (0, 16, 64, 32)
    pts = np.array([[0.0, 0.0], [199.5, 99.25], [13.0, 57.0]])
    np.testing.assert_allclose(lb.to_image(lb.to_input(pts)), pts)
    out, lb2 = letterbox(np.full((100, 200, 3), 7, np.uint8), (64, 64))
    assert out.shape == (64, 64, 3)
    assert lb2 == lb
    assert (out[:16] == 114).all()
    assert (out[48:] == 114).all()
    assert (out[16:48] == 7).all()


def test_nms_keeps_best_of_overlapping() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], float)
    np.testing.assert_array_equal(nms(boxes, [0.5, 0.9, 0.1], 0.5), [1, 2])
    np.testing.assert_array_equal(nms(boxes, [0.5, 0.9, 0.1], 1.0), [1, 0, 2])


def test_load_adapter_converts_args_and_rejects_missing_file(tmp_path: Path) -> None:
    path = simcc_model(tmp_path / "m.onnx")
    adapter = load_adapter("onnx", {"model": path, "kind": "rtmpose", "batch_size": "4"})
    assert isinstance(adapter, OnnxAdapter)
    assert adapter.batch_size == 4
    info = adapter.info()
    assert info.input_size == (48, 64)
    assert info.skeleton == "coco17"
    assert info.top_down
    assert info.weights.startswith("m.onnx sha256:")
    assert len(info.weights.split(":")[1]) == 12
    with pytest.raises(InputError, match="not found"):
        load_adapter("onnx", {"model": str(tmp_path / "nope.onnx")})
    with pytest.raises(InputError, match="not one of"):
        load_adapter("onnx", {"model": path, "kind": "openpose"})
