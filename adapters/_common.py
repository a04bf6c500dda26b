"""Helpers shared by the model-family adapters: weights files, resampling, letterbox, boxes.

Everything here is numpy only, so that the adapters' pre- and post-processing can be tested
without the heavy packages. Resampling follows OpenCV's conventions (pixel centres at integer
coordinates): :func:`warp_affine` samples like ``cv2.warpAffine(..., INTER_LINEAR,
BORDER_CONSTANT)`` and :func:`resize_bilinear` like ``cv2.resize(..., INTER_LINEAR)``, up to
OpenCV's fixed-point rounding of the weights (at most one grey level).

    >>> letterbox_params(width=200, height=100, size=(64, 64))
    Letterbox(scale_x=0.32, scale_y=0.32, left=0, top=16, new_width=64, new_height=32)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from posebench.errors import InputError

FloatArray = npt.NDArray[np.float64]
Image = npt.NDArray[np.uint8]

#: Pixel value of the padding around a letterboxed image (YOLO and RTMO use grey 114).
PAD_VALUE = 114


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def weights_label(path: str | Path | None) -> str:
    """What :class:`~posebench.adapter.AdapterInfo` records as ``weights``.

    ``"<file name> sha256:<first 12 hex digits>"`` for a file, ``"random-init"`` for None.
    """
    if path is None:
        return "random-init"
    p = Path(path)
    return f"{p.name} sha256:{file_sha256(p)[:12]}"


def require_file(path: str | Path, adapter: str, arg: str, what: str = "weights file") -> Path:
    """``path`` as a Path when it is an existing file, else an InputError naming the argument.

    Adapters check this before handing a path to a library, because several libraries treat a
    name they cannot find locally as something to download.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise InputError(
            f"adapter {adapter!r}: {what} not found (posebench never downloads weights; "
            "give the path of a local file)",
            file=str(path),
            field=f"--adapter-arg {arg}",
        )
    return p


def require_weights(
    weights: str | None, random_init: bool, adapter: str, arg: str = "weights"
) -> Path | None:
    """The weights path to load, or None for a random initialisation that was asked for."""
    if weights is not None:
        return require_file(weights, adapter, arg)
    if not random_init:
        raise InputError(
            f"adapter {adapter!r} needs --adapter-arg {arg}=PATH to a local weights file "
            "(posebench never downloads weights; see DEVELOPERS.md), or random_init=true for a "
            "randomly initialised model (tests only: its poses are meaningless)",
            field=f"--adapter-arg {arg}",
        )
    return None


def as_rgb(image: npt.ArrayLike, index: int) -> Image:
    """Check one batch image is (H, W, 3) uint8 and return it as such."""
    im = np.asarray(image)
    if im.ndim != 3 or im.shape[2] != 3 or im.dtype != np.uint8:
        raise InputError(
            f"expected an RGB uint8 image of shape (H, W, 3), got {im.dtype} {im.shape}",
            record=f"batch image {index}",
            field="images",
        )
    return im


# --- resampling ---------------------------------------------------------------------------


def _sample_separable(
    image: npt.NDArray[np.generic], xs: FloatArray, ys: FloatArray, border: float | None
) -> npt.NDArray[np.float64]:
    """Bilinear samples of ``image`` at the grid ``xs`` (W',) x ``ys`` (H',) (source pixels).

    ``border`` is the value outside the image (None: clamp to the edge pixel).
    Returns (H', W', C) float64.
    """
    img = np.asarray(image, dtype=np.float64)
    if img.ndim == 2:
        img = img[:, :, None]
    h, w = img.shape[:2]
    x0 = np.floor(xs).astype(np.int64)
    y0 = np.floor(ys).astype(np.int64)
    fx = (xs - x0)[None, :, None]
    fy = (ys - y0)[:, None, None]
    out = np.zeros((len(ys), len(xs), img.shape[2]))
    for dy, wy in ((0, 1 - fy), (1, fy)):
        yi = y0 + dy
        for dx, wx in ((0, 1 - fx), (1, fx)):
            xi = x0 + dx
            v = img[np.clip(yi, 0, h - 1)][:, np.clip(xi, 0, w - 1)]
            if border is not None:
                inside = ((yi >= 0) & (yi < h))[:, None] & ((xi >= 0) & (xi < w))[None, :]
                v = np.where(inside[:, :, None], v, border)
            out += wy * wx * v
    return out


def warp_affine(
    image: npt.NDArray[np.generic],
    matrix: npt.ArrayLike,
    out_size: tuple[int, int],
    border: float = 0.0,
) -> npt.NDArray[np.float64]:
    """An axis-aligned crop-and-scale of ``image`` as ``cv2.warpAffine`` computes it.

    Args:
        image: (H, W, C) or (H, W).
        matrix: 2x3 affine from image pixels to output pixels, without rotation or shear
            (what :func:`posebench.adapter.crop_affine` returns).
        out_size: output ``(width, height)``.
        border: value of pixels sampled outside the image.
    Returns:
        (height, width, C) float64.
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m[0, 1] != 0 or m[1, 0] != 0:
        raise ValueError("warp_affine supports axis-aligned matrices only")
    ow, oh = out_size
    xs = (np.arange(ow, dtype=np.float64) - m[0, 2]) / m[0, 0]
    ys = (np.arange(oh, dtype=np.float64) - m[1, 2]) / m[1, 1]
    return _sample_separable(image, xs, ys, border)


def resize_bilinear(
    image: npt.NDArray[np.generic], size: tuple[int, int]
) -> npt.NDArray[np.float64]:
    """``cv2.resize(image, size, interpolation=INTER_LINEAR)``: half-pixel centres, edge clamp.

    Args:
        image: (H, W, C).
        size: output ``(width, height)``.
    Returns:
        (height, width, C) float64.
    """
    h, w = image.shape[:2]
    ow, oh = size
    xs = np.maximum((np.arange(ow) + 0.5) * (w / ow) - 0.5, 0.0)
    ys = np.maximum((np.arange(oh) + 0.5) * (h / oh) - 0.5, 0.0)
    return _sample_separable(image, xs, ys, None)


# --- letterbox ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Letterbox:
    """How an image was fitted into a network input: ``input = image * scale + (left, top)``."""

    scale_x: float
    scale_y: float
    left: int
    top: int
    new_width: int
    new_height: int

    def to_image(self, points: npt.ArrayLike) -> FloatArray:
        """Map (..., 2) network-input coordinates back to image pixels."""
        p = np.array(points, dtype=np.float64)
        p[..., 0] = (p[..., 0] - self.left) / self.scale_x
        p[..., 1] = (p[..., 1] - self.top) / self.scale_y
        return p

    def to_input(self, points: npt.ArrayLike) -> FloatArray:
        """Map (..., 2) image pixels to network-input coordinates."""
        p = np.array(points, dtype=np.float64)
        p[..., 0] = p[..., 0] * self.scale_x + self.left
        p[..., 1] = p[..., 1] * self.scale_y + self.top
        return p


def letterbox_params(
    width: int, height: int, size: tuple[int, int], center: bool = True
) -> Letterbox:
    """Fit a ``width x height`` image into ``size = (W, H)`` keeping its aspect ratio.

    Mirrors ultralytics' ``LetterBox`` (``auto=False``, ``scaleup=True``): each side is rounded,
    the padding is split between both sides (``center=True``) or put right and bottom
    (``center=False``, as rtmlib's RTMO preprocessing), and the per-axis scale is the rounded
    size over the original one, as ultralytics' ``scale_coords`` inverts it.
    """
    in_w, in_h = size
    r = min(in_w / width, in_h / height)
    new_w = max(round(width * r), 1)
    new_h = max(round(height * r), 1)
    if center:
        left = round((in_w - new_w) / 2 - 0.1)
        top = round((in_h - new_h) / 2 - 0.1)
    else:
        left = top = 0
    return Letterbox(new_w / width, new_h / height, left, top, new_w, new_h)


def letterbox(
    image: Image, size: tuple[int, int], center: bool = True, pad_value: int = PAD_VALUE
) -> tuple[Image, Letterbox]:
    """The image resized into a ``size = (W, H)`` canvas of ``pad_value``, and the mapping.

    Returns:
        (H, W, 3) uint8 network input, and the :class:`Letterbox` that inverts it.
    """
    h, w = image.shape[:2]
    lb = letterbox_params(w, h, size, center)
    if (lb.new_width, lb.new_height) == (w, h):
        resized = image
    else:
        resized = np.clip(np.rint(resize_bilinear(image, (lb.new_width, lb.new_height))), 0, 255)
    out = np.full((size[1], size[0], image.shape[2]), pad_value, dtype=np.uint8)
    out[lb.top : lb.top + lb.new_height, lb.left : lb.left + lb.new_width] = resized
    return out, lb


# --- boxes and scores ---------------------------------------------------------------------


def xyxy_to_xywh(boxes: npt.ArrayLike) -> FloatArray:
    """(N, 4) ``[x1, y1, x2, y2]`` -> (N, 4) ``[x, y, w, h]``."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1)


def xywh_to_xyxy(boxes: npt.ArrayLike) -> FloatArray:
    """(N, 4) ``[x, y, w, h]`` -> (N, 4) ``[x1, y1, x2, y2]``."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)


def nms(
    boxes_xyxy: npt.ArrayLike, scores: npt.ArrayLike, iou_threshold: float
) -> npt.NDArray[np.int64]:
    """Greedy box NMS: indices kept, by decreasing score.

    Args:
        boxes_xyxy: (N, 4).
        scores: (N,).
        iou_threshold: a box whose IoU with a kept one exceeds this is dropped (>= 1 keeps all).
    """
    b = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    if iou_threshold >= 1.0:
        return order.astype(np.int64)
    area = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    keep: list[int] = []
    while len(order):
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        iw = np.clip(np.minimum(b[i, 2], b[rest, 2]) - np.maximum(b[i, 0], b[rest, 0]), 0, None)
        ih = np.clip(np.minimum(b[i, 3], b[rest, 3]) - np.maximum(b[i, 1], b[rest, 1]), 0, None)
        inter = iw * ih
        iou = inter / np.maximum(area[i] + area[rest] - inter, 1e-12)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def rescore(
    box_scores: npt.ArrayLike, keypoint_scores: npt.ArrayLike, threshold: float = 0.2
) -> FloatArray:
    """Top-down instance score as mmpose's ``CocoMetric`` (``score_mode='bbox_keypoint'``).

    ``box_score * mean(keypoint scores above threshold)``; 0 when no keypoint passes, as in
    mmpose, which leaves the keypoint factor at 0 then.

    Args:
        box_scores: (N,).
        keypoint_scores: (N, K).
    Returns:
        (N,) float64.
    """
    bs = np.asarray(box_scores, dtype=np.float64).reshape(-1)
    ks = np.asarray(keypoint_scores, dtype=np.float64)
    above = ks > threshold
    n = above.sum(axis=1)
    # mmpose: kpt_score = sum(scores above thr) / count, left at 0 when none passes.
    mean = np.where(n > 0, (ks * above).sum(axis=1) / np.maximum(n, 1), 0.0)
    return np.asarray(bs * mean, dtype=np.float64)


def box_index_column(counts: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """``extra["box_index"]`` for top-down output: 0..M_i-1 for each image's M_i boxes."""
    c = np.asarray(counts, dtype=np.int64)
    if c.sum() == 0:
        return np.zeros(0, np.int64)
    return np.concatenate([np.arange(n, dtype=np.int64) for n in c])
