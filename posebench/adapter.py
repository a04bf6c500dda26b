"""The predict API: what every pose model adapter declares and implements.

An adapter receives a :class:`Batch` of RGB images (plus person boxes when it is top-down) and
returns one columnar :class:`~posebench.poseset.PoseSet` of predictions for the whole batch,
``image_id`` telling which image each instance belongs to. Batching is the adapter's business:
a GPU model stacks the batch, a per-image model loops.

Adapters never see metrics; the runner is the only place that connects the two.

    >>> import numpy as np
    >>> from posebench.adapter import Batch
    >>> b = Batch(image_ids=np.array([7]), images=[np.zeros((4, 6, 3), np.uint8)])
    >>> b.sizes()
    array([[6, 4]])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from posebench.poseset import PoseSet
from posebench.skeletons import Skeleton

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Image = npt.NDArray[np.uint8]

BoxSource = Literal["gt", "detector", "none", "file"]


@dataclass(frozen=True)
class AdapterInfo:
    """What a model is, recorded beside every number it produced.

    Attributes:
        name: the adapter's table name (``mediapipe``, ``onnx``...).
        architecture: model family and variant, e.g. ``BlazePose-full``, ``RTMPose-m``.
        input_size: network input ``(width, height)`` in pixels, or None when not fixed.
        weights: what the weights are (file name and sha256 prefix, package version, "random").
        box_source: where person boxes come from: ``gt``, ``detector``, ``file`` or ``none``
            (bottom-up models find people themselves).
        skeleton: name of the skeleton the adapter returns (a key of ``SKELETONS``).
        top_down: whether ``predict`` needs person boxes.
        dims: 2 (image pixels) or 3 (camera space, millimetres).
        reported: numbers the model's authors published (``[METRIC:]STAT`` -> value, OKS as
            fractions), for leaderboards.
        reported_on: where the authors measured them (dataset, input size, source), shown beside
            them in reports.
        extra: anything else worth recording (thresholds, padding, precision).
    """

    name: str
    architecture: str
    input_size: tuple[int, int] | None
    weights: str
    box_source: BoxSource
    skeleton: str
    top_down: bool
    dims: int = 2
    reported: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    reported_on: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples as lists)."""
        return {
            "name": self.name,
            "architecture": self.architecture,
            "input_size": list(self.input_size) if self.input_size else None,
            "weights": self.weights,
            "box_source": self.box_source,
            "skeleton": self.skeleton,
            "top_down": self.top_down,
            "dims": self.dims,
            "reported": dict(self.reported),
            "reported_on": self.reported_on,
            "extra": dict(self.extra),
        }


@dataclass(frozen=True)
class Batch:
    """B images handed to an adapter in one call.

    Attributes:
        image_ids: (B,) int64 dataset image ids; predictions carry them back in ``image_id``.
        images: B RGB uint8 arrays of shape (H_i, W_i, 3) (sizes may differ within a batch).
        boxes: for top-down adapters, B float64 arrays (M_i, 4) of person boxes ``[x, y, w, h]``
            in pixels (possibly empty); None for bottom-up adapters.
        box_scores: B float64 arrays (M_i,) of detector confidences (1.0 for GT boxes), or None.
    """

    image_ids: IntArray
    images: Sequence[Image]
    boxes: Sequence[FloatArray] | None = None
    box_scores: Sequence[FloatArray] | None = None

    def __post_init__(self) -> None:
        if len(self.image_ids) != len(self.images):
            raise ValueError(f"Batch: {len(self.image_ids)} ids for {len(self.images)} images")
        for name in ("boxes", "box_scores"):
            v = getattr(self, name)
            if v is not None and len(v) != len(self.images):
                raise ValueError(f"Batch.{name}: {len(v)} entries for {len(self.images)} images")

    def __len__(self) -> int:
        return len(self.images)

    def sizes(self) -> IntArray:
        """(B, 2) int64 ``(width, height)`` of each image."""
        return np.array([[im.shape[1], im.shape[0]] for im in self.images], dtype=np.int64)


@runtime_checkable
class Adapter(Protocol):
    """A pose model behind the predict API.

    Attributes:
        skeleton: the keypoint layout of the returned poses.
        top_down: True when ``predict`` needs ``Batch.boxes``.
        dims: 2 or 3.
    """

    skeleton: Skeleton
    top_down: bool
    dims: int

    def info(self) -> AdapterInfo:
        """Architecture, input size, weights and box source."""
        ...

    def predict(self, batch: Batch) -> PoseSet:
        """Poses for every image of the batch.

        Returns a PoseSet with ``image_id`` (N,) from ``batch.image_ids``, ``keypoints`` (N, K, 2)
        in the input image's pixels (or (N, K, 3) millimetres for 3D adapters),
        ``keypoint_scores`` (N, K), ``score`` (N,) and ``bbox`` (N, 4) where known.
        Top-down adapters return exactly one pose per input box, in box order, and set
        ``extra["box_index"]`` (N,) int64 to the box's index within its image, so that
        single-person metrics (PCKh, PCK, MPJPE) pair each pose with its ground truth.
        """
        ...


class DatasetAware(Protocol):
    """Optional hook: adapters that replay or perturb ground truth (oracle, jitter, results file)
    are shown the dataset before the first batch. The runner calls ``prepare`` when present."""

    def prepare(self, gt: PoseSet, skeleton: Skeleton, dataset_name: str) -> None:
        """Receive the dataset's ground truth and keypoint layout."""
        ...


def empty_predictions(num_joints: int, dims: int = 2) -> PoseSet:
    """A PoseSet with no instances, K joints of D dims (what an adapter returns for no people)."""
    return PoseSet(
        image_id=np.zeros(0, np.int64),
        keypoints=np.zeros((0, num_joints, dims)),
        keypoint_scores=np.zeros((0, num_joints)),
    )


def concat_posesets(parts: Sequence[PoseSet], num_joints: int, dims: int = 2) -> PoseSet:
    """Row-wise concatenation of prediction sets (columns present in every part are kept)."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_predictions(num_joints, dims)
    cols: dict[str, Any] = {
        name: np.concatenate([getattr(p, name) for p in parts])
        for name in ("image_id", "keypoints", "score", "bbox", "area", "iscrowd", "category_id")
    }
    for name in ("keypoint_scores", "visibility"):
        vals = [getattr(p, name) for p in parts]
        cols[name] = None if any(v is None for v in vals) else np.concatenate(vals)
    common = set.intersection(*(set(p.extra) for p in parts))
    cols["extra"] = {k: np.concatenate([p.extra[k] for p in parts]) for k in sorted(common)}
    return PoseSet(**cols)


def expand_boxes(
    boxes: npt.ArrayLike, padding: float = 1.25, aspect: float | None = None
) -> FloatArray:
    """Person boxes grown about their centre for top-down cropping.

    Args:
        boxes: (M, 4) ``[x, y, w, h]``.
        padding: scale factor on both sides (1.25 is the mmpose/HRNet convention).
        aspect: target width/height ratio of the model input; the shorter side is grown to
            reach it before padding (as mmpose's ``bbox_xywh2cs``), or None to keep the shape.
    Returns:
        (M, 4) float64 ``[x, y, w, h]`` (may extend beyond the image).
    """
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    cx = b[:, 0] + b[:, 2] / 2
    cy = b[:, 1] + b[:, 3] / 2
    w = b[:, 2].copy()
    h = b[:, 3].copy()
    if aspect is not None:
        wide = w > aspect * h
        h = np.where(wide, w / aspect, h)
        w = np.where(wide, w, h * aspect)
    w *= padding
    h *= padding
    return np.stack([cx - w / 2, cy - h / 2, w, h], axis=1)


def crop_affine(box: npt.ArrayLike, out_size: tuple[int, int]) -> FloatArray:
    """The 2x3 affine matrix mapping image pixels into a ``(width, height)`` crop of ``box``.

    Pixel centres follow the continuous convention (pixel i covers [i, i+1)), as OpenCV's
    ``warpAffine`` with ``INTER_LINEAR`` samples them.
    """
    x, y, w, h = (float(v) for v in np.asarray(box, dtype=np.float64).reshape(4))
    ow, oh = out_size
    sx = ow / max(w, 1e-6)
    sy = oh / max(h, 1e-6)
    return np.array([[sx, 0.0, -x * sx], [0.0, sy, -y * sy]])


def invert_affine(points: npt.ArrayLike, matrix: npt.ArrayLike) -> FloatArray:
    """Map (..., 2) crop coordinates back through the inverse of a 2x3 affine matrix."""
    m = np.asarray(matrix, dtype=np.float64)
    a = m[:, :2]
    t = m[:, 2]
    p = np.asarray(points, dtype=np.float64)
    return np.asarray((p - t) @ np.linalg.inv(a).T, dtype=np.float64)
