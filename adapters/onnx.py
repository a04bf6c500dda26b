"""ONNX pose models under onnxruntime: RTMPose (top-down SimCC) and RTMO (bottom-up).

The ``.onnx`` files are the ones mmdeploy exports and rtmlib distributes (``end2end.onnx``);
the pre- and post-processing follow mmpose's configs:

- ``rtmpose``: each person box is grown to the model's aspect ratio and by 1.25
  (:func:`~posebench.adapter.expand_boxes`), cropped with an affine warp to the input size,
  normalised with ImageNet mean/std in RGB order (mmpose's ``bgr_to_rgb=True``), and run as a
  batch of crops. The SimCC outputs ``simcc_x`` (B, K, W*r) and ``simcc_y`` (B, K, H*r) decode to
  ``argmax / r`` (r = 2 for RTMPose) with score ``min(max_x, max_y)`` (mmpose's
  ``get_simcc_maximum``), mapped back through the inverse affine.
- ``rtmo``: the image is letterboxed into the (fixed) input, padding grey 114 right and bottom
  (rtmlib), raw 0-255 pixel values in BGR order (mmpose's RTMO config has no ``bgr_to_rgb`` and
  mean 0, std 1). Outputs ``dets`` (1, N, 5) ``[x1, y1, x2, y2, score]`` and ``keypoints``
  (1, N, K, 3) ``[x, y, score]`` in input pixels; detections under ``score_threshold`` are
  dropped and the rest go through box NMS (mmpose's RTMO ``test_cfg``: 0.1 and 0.65).

Input size comes from the model's input shape; a dynamic batch dimension lets one session run
take ``batch_size`` crops (or images) at once.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from posebench.adapter import (
    AdapterInfo,
    Batch,
    BoxSource,
    crop_affine,
    expand_boxes,
    invert_affine,
)
from posebench.errors import InputError
from posebench.poseset import PoseSet
from posebench.skeletons import Skeleton, get_skeleton

from ._common import (
    as_rgb,
    box_index_column,
    letterbox,
    nms,
    require_file,
    rescore,
    warp_affine,
    weights_label,
    xyxy_to_xywh,
)

FloatArray = npt.NDArray[np.float64]

#: mmpose RTMPose data_preprocessor (RGB order).
RTMPOSE_MEAN = (123.675, 116.28, 103.53)
RTMPOSE_STD = (58.395, 57.12, 57.375)


def decode_simcc(
    simcc_x: npt.ArrayLike, simcc_y: npt.ArrayLike, split_ratio: tuple[float, float]
) -> tuple[FloatArray, FloatArray]:
    """SimCC maxima as mmpose's ``get_simcc_maximum``.

    Args:
        simcc_x: (B, K, Wx) horizontal classification vectors.
        simcc_y: (B, K, Hy) vertical ones.
        split_ratio: ``(Wx / W, Hy / H)``, bins per input pixel (2.0 for RTMPose).
    Returns:
        keypoints (B, K, 2) in input pixels, scores (B, K) = ``min(max_x, max_y)``.
    """
    sx = np.asarray(simcc_x, dtype=np.float64)
    sy = np.asarray(simcc_y, dtype=np.float64)
    locs = np.stack([sx.argmax(axis=-1) / split_ratio[0], sy.argmax(axis=-1) / split_ratio[1]], -1)
    scores = np.minimum(sx.max(axis=-1), sy.max(axis=-1))
    return locs.astype(np.float64), scores


def _dims(shape: list[Any]) -> list[int | None]:
    """ONNX shape entries as ints, None where symbolic or unknown."""
    return [d if isinstance(d, int) and d > 0 else None for d in shape]


class OnnxAdapter:
    """RTMPose or RTMO from a local ``.onnx`` file.

    Args:
        model: path of the ``.onnx`` file.
        kind: ``rtmpose`` (top-down: needs person boxes) or ``rtmo`` (bottom-up).
        device: ``cpu`` or ``cuda`` (onnxruntime-gpu's CUDA provider).
        batch_size: crops (rtmpose) or images (rtmo) per session run when the model's batch
            dimension is dynamic.
        skeleton: name of the keypoint layout the model outputs (K must match).
        channel_order: ``auto`` (rgb for rtmpose, bgr for rtmo, as mmpose trains them), or force
            ``rgb`` / ``bgr``.
        padding: box enlargement before cropping (rtmpose).
        score_threshold: minimum detection score kept (rtmo).
        nms_threshold: IoU above which a lower-scored detection is dropped (rtmo; 1 disables).
        box_source: what the top-down boxes are, recorded in ``info()``.
        architecture: label for ``info()`` (default: the kind and the file name).
    """

    dims = 2

    def __init__(
        self,
        model: str,
        kind: Literal["rtmpose", "rtmo"] = "rtmpose",
        device: str = "cpu",
        batch_size: int = 16,
        skeleton: str = "coco17",
        channel_order: Literal["auto", "rgb", "bgr"] = "auto",
        padding: float = 1.25,
        score_threshold: float = 0.1,
        nms_threshold: float = 0.65,
        box_source: Literal["gt", "detector", "file"] = "gt",
        architecture: str | None = None,
    ) -> None:
        if kind not in ("rtmpose", "rtmo"):
            raise InputError(
                f"kind must be rtmpose or rtmo, got {kind!r}", field="--adapter-arg kind"
            )
        if batch_size < 1:
            raise InputError("batch_size must be >= 1", field="--adapter-arg batch_size")
        self.path = require_file(model, "onnx", "model", what="ONNX model")
        self.kind = kind
        self.top_down = kind == "rtmpose"
        self.skeleton: Skeleton = get_skeleton(skeleton)
        self.batch_size = batch_size
        self.rgb = (kind == "rtmpose") if channel_order == "auto" else channel_order == "rgb"
        self.padding = padding
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.box_source: BoxSource = box_source if self.top_down else "none"
        self.architecture = (
            architecture or f"{'RTMPose' if self.top_down else 'RTMO'} ({self.path.name})"
        )
        providers = ["CPUExecutionProvider"]
        if device.startswith("cuda"):
            providers = ["CUDAExecutionProvider", *providers]
        try:
            self.session = ort.InferenceSession(str(self.path), providers=providers)
        except Exception as e:  # onnxruntime raises its own exception types for a bad file
            raise InputError(f"onnxruntime cannot load the model: {e}", file=str(self.path)) from e
        self._check_io()
        self._weights = weights_label(self.path)

    # --- model introspection ---------------------------------------------------------------

    def _bad(self, tensor: str, message: str) -> InputError:
        return InputError(f"{self.kind} model: {message}", file=str(self.path), field=tensor)

    def _check_io(self) -> None:
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            names = ", ".join(i.name for i in inputs)
            raise self._bad("inputs", f"expected one image input, found {len(inputs)} ({names})")
        inp = inputs[0]
        shape = _dims(inp.shape)
        if len(shape) != 4 or shape[1] != 3 or shape[2] is None or shape[3] is None:
            raise self._bad(
                f"input {inp.name!r}",
                f"expected shape (B, 3, H, W) with fixed H and W, got {list(inp.shape)}",
            )
        self.input_name: str = inp.name
        self.input_size: tuple[int, int] = (int(shape[3]), int(shape[2]))  # (W, H)
        self.fixed_batch: int | None = shape[0]
        outputs = {o.name: o for o in self.session.get_outputs()}
        order = list(outputs)
        want = ("simcc_x", "simcc_y") if self.top_down else ("dets", "keypoints")
        if all(w in outputs for w in want):
            self.output_names = list(want)
        elif len(order) == 2:
            self.output_names = order  # unnamed exports: by position, as rtmlib reads them
        else:
            raise self._bad(
                "outputs", f"expected outputs {', '.join(want)}, found {', '.join(order) or 'none'}"
            )
        # Static checks where the file declares ranks; sizes are checked again on real outputs.
        ranks = (3, 3) if self.top_down else (3, 4)
        for name, rank in zip(self.output_names, ranks, strict=True):
            declared = outputs[name].shape
            if declared is not None and len(declared) != rank:
                raise self._bad(
                    f"output {name!r}", f"expected rank {rank}, got shape {list(declared)}"
                )

    def info(self) -> AdapterInfo:
        extra: dict[str, Any] = {
            "kind": self.kind,
            "channel_order": "rgb" if self.rgb else "bgr",
            "batch_dim": self.fixed_batch if self.fixed_batch is not None else "dynamic",
            "providers": list(self.session.get_providers()),
        }
        if self.top_down:
            extra.update(
                padding=self.padding,
                mean=list(RTMPOSE_MEAN),
                std=list(RTMPOSE_STD),
                instance_score="box_score * mean(keypoint_scores > 0.2) (mmpose bbox_keypoint)",
            )
        else:
            extra.update(score_threshold=self.score_threshold, nms_threshold=self.nms_threshold)
        return AdapterInfo(
            name="onnx",
            architecture=self.architecture,
            input_size=self.input_size,
            weights=self._weights,
            box_source=self.box_source,
            skeleton=self.skeleton.name,
            top_down=self.top_down,
            dims=2,
            extra=extra,
        )

    # --- running ---------------------------------------------------------------------------

    def _run(self, x: npt.NDArray[np.float32]) -> list[npt.NDArray[np.float32]]:
        """Session runs over (N, 3, H, W), split to fit the model's batch dimension."""
        step = self.fixed_batch or self.batch_size
        parts: list[list[npt.NDArray[np.float32]]] = []
        for start in range(0, len(x), step):
            chunk = x[start : start + step]
            n = len(chunk)
            if self.fixed_batch is not None and n < self.fixed_batch:
                pad = np.zeros((self.fixed_batch - n, *chunk.shape[1:]), np.float32)
                chunk = np.concatenate([chunk, pad])
            out = self.session.run(self.output_names, {self.input_name: chunk})
            parts.append([np.asarray(o)[:n] for o in out])
        return [np.concatenate([p[i] for p in parts]) for i in range(len(self.output_names))]

    def _to_input(self, pixels: FloatArray) -> npt.NDArray[np.float32]:
        """(N, H, W, 3) RGB pixel values -> (N, 3, H, W) network input."""
        if not self.rgb:
            pixels = pixels[..., ::-1]
        if self.top_down:
            pixels = (pixels - np.asarray(RTMPOSE_MEAN)) / np.asarray(RTMPOSE_STD)
        return np.ascontiguousarray(pixels.transpose(0, 3, 1, 2), dtype=np.float32)

    def predict(self, batch: Batch) -> PoseSet:
        """Poses for every image of the batch (see :class:`~posebench.adapter.Adapter`)."""
        images = [as_rgb(im, i) for i, im in enumerate(batch.images)]
        if self.top_down:
            return self._predict_rtmpose(batch, images)
        return self._predict_rtmo(batch, images)

    def _predict_rtmpose(self, batch: Batch, images: list[npt.NDArray[np.uint8]]) -> PoseSet:
        if batch.boxes is None:
            raise InputError(
                "rtmpose is top-down: the batch carries no person boxes", field="Batch.boxes"
            )
        k = self.skeleton.num_keypoints
        w, h = self.input_size
        crops, mats, owners, box_rows, score_rows, counts = [], [], [], [], [], []
        for i, (im, boxes) in enumerate(zip(images, batch.boxes, strict=True)):
            b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
            counts.append(len(b))
            if batch.box_scores is not None:
                s = np.asarray(batch.box_scores[i], dtype=np.float64).reshape(-1)
            else:
                s = np.ones(len(b))
            for box in expand_boxes(b, self.padding, aspect=w / h):
                m = crop_affine(box, (w, h))
                crops.append(warp_affine(im, m, (w, h), border=0.0))
                mats.append(m)
                owners.append(i)
            box_rows.append(b)
            score_rows.append(s)
        n = len(crops)
        if n == 0:
            return PoseSet(
                image_id=np.zeros(0, np.int64),
                keypoints=np.zeros((0, k, 2)),
                keypoint_scores=np.zeros((0, k)),
                extra={"box_index": np.zeros(0, np.int64)},
            )
        simcc_x, simcc_y = self._run(self._to_input(np.stack(crops)))
        names = self.output_names
        for name, arr, size in ((names[0], simcc_x, w), (names[1], simcc_y, h)):
            if arr.ndim != 3 or arr.shape[:2] != (n, k) or arr.shape[2] % size:
                raise self._bad(
                    f"output {name!r}",
                    f"expected shape (B, K={k}, {size}*r) for input size {w}x{h}, "
                    f"got {tuple(arr.shape)}",
                )
        ratio = (simcc_x.shape[2] / w, simcc_y.shape[2] / h)
        locs, kpt_scores = decode_simcc(simcc_x, simcc_y, ratio)
        kpts = np.stack([invert_affine(p, m) for p, m in zip(locs, mats, strict=True)])
        boxes_all = np.concatenate(box_rows)
        box_scores = np.concatenate(score_rows)
        return PoseSet(
            image_id=np.asarray(batch.image_ids, dtype=np.int64)[np.asarray(owners)],
            keypoints=kpts,
            keypoint_scores=kpt_scores,
            score=rescore(box_scores, kpt_scores),
            bbox=boxes_all,
            extra={"box_index": box_index_column(counts), "box_score": box_scores},
        )

    def _predict_rtmo(self, batch: Batch, images: list[npt.NDArray[np.uint8]]) -> PoseSet:
        k = self.skeleton.num_keypoints
        inputs, boxes = [], []
        for im in images:
            x, lb = letterbox(im, self.input_size, center=False)
            inputs.append(x.astype(np.float64))
            boxes.append(lb)
        if not inputs:
            return PoseSet(
                image_id=np.zeros(0, np.int64),
                keypoints=np.zeros((0, k, 2)),
                keypoint_scores=np.zeros((0, k)),
            )
        dets, kpts = self._run(self._to_input(np.stack(inputs)))
        if dets.ndim != 3 or dets.shape[2] < 5:
            raise self._bad(
                f"output {self.output_names[0]!r}",
                f"expected shape (B, N, 5) [x1, y1, x2, y2, score], got {tuple(dets.shape)}",
            )
        if kpts.ndim != 4 or kpts.shape[1] != dets.shape[1] or kpts.shape[2:] != (k, 3):
            raise self._bad(
                f"output {self.output_names[1]!r}",
                f"expected shape (B, N={dets.shape[1]}, K={k}, 3), got {tuple(kpts.shape)}",
            )
        ids, kp, ks, sc, bb = [], [], [], [], []
        for i, lb in enumerate(boxes):
            d = dets[i].astype(np.float64)
            p = kpts[i].astype(np.float64)
            keep = np.flatnonzero(d[:, 4] >= self.score_threshold)
            keep = keep[nms(d[keep, :4], d[keep, 4], self.nms_threshold)]
            ids.append(np.full(len(keep), batch.image_ids[i], np.int64))
            kp.append(lb.to_image(p[keep, :, :2]))
            ks.append(p[keep, :, 2])
            sc.append(d[keep, 4])
            corners = lb.to_image(d[keep, :4].reshape(-1, 2, 2)).reshape(-1, 4)
            bb.append(xyxy_to_xywh(corners))
        return PoseSet(
            image_id=np.concatenate(ids),
            keypoints=np.concatenate(kp).reshape(-1, k, 2),
            keypoint_scores=np.concatenate(ks).reshape(-1, k),
            score=np.concatenate(sc),
            bbox=np.concatenate(bb).reshape(-1, 4),
        )
