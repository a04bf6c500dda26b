"""The columnar data model: a table of images and a set of poses, as arrays.

Every metric consumes these arrays; file formats convert to and from them at the edge
(``posebench.formats``). Nothing here is a list of dicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class ImageTable:
    """Images of a dataset, one row each.

    Attributes:
        id: (I,) int64 image ids, unique.
        file: (I,) object array of file names relative to the dataset's image root ('' if unknown).
        width, height: (I,) int64 pixel sizes (0 if unknown).
        crowd_index: (I,) float64 CrowdPose crowd index, NaN where the dataset gives none.
        attributes: free per-dataset columns, each an (I,) array (e.g. licence ids).
    """

    id: IntArray
    file: npt.NDArray[np.object_]
    width: IntArray
    height: IntArray
    crowd_index: FloatArray
    attributes: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.id)
        for f in ("file", "width", "height", "crowd_index"):
            if len(getattr(self, f)) != n:
                raise ValueError(f"ImageTable.{f} has {len(getattr(self, f))} rows, id has {n}")
        for k, v in self.attributes.items():
            if len(v) != n:
                raise ValueError(f"ImageTable.attributes[{k!r}] has {len(v)} rows, id has {n}")

    def __len__(self) -> int:
        return len(self.id)

    @classmethod
    def from_ids(cls, ids: npt.ArrayLike) -> ImageTable:
        """A table with only ids known."""
        idx = np.asarray(ids, dtype=np.int64)
        n = len(idx)
        return cls(
            id=idx,
            file=np.full(n, "", dtype=object),
            width=np.zeros(n, np.int64),
            height=np.zeros(n, np.int64),
            crowd_index=np.full(n, np.nan),
        )

    def take(self, rows: npt.ArrayLike) -> ImageTable:
        """The rows selected by an index or boolean array."""
        r = np.asarray(rows)
        return ImageTable(
            id=self.id[r],
            file=self.file[r],
            width=self.width[r],
            height=self.height[r],
            crowd_index=self.crowd_index[r],
            attributes={k: v[r] for k, v in self.attributes.items()},
        )


@dataclass(frozen=True, eq=False)
class PoseSet:
    """N person instances (ground truth or predictions) as columns.

    Attributes:
        image_id: (N,) int64 image each instance belongs to.
        keypoints: (N, K, D) float64 coordinates, D = 2 (pixels) or 3 (3D, any unit).
        visibility: (N, K) float64 ground-truth flags (COCO ``v``: 0 unlabeled, 1 occluded,
            2 visible), or None for predictions.
        keypoint_scores: (N, K) float64 per-keypoint confidences of predictions (the third value of
            a COCO results triple), or None.
        score: (N,) float64 instance confidence of predictions; NaN for ground truth.
        bbox: (N, 4) float64 ``[x, y, w, h]``; NaN rows where absent.
        area: (N,) float64 instance area (segment area for COCO GT); NaN where absent.
        iscrowd: (N,) bool crowd regions (ground truth only).
        num_keypoints: (N,) int64 labelled-keypoint count as the file states it (COCO GT), or as
            counted from ``visibility > 0`` when the file has no such field.
        ann_id: (N,) int64 annotation ids (ground truth) or 1-based result order (predictions).
        category_id: (N,) int64 category ids.
        extra: free per-instance columns, each an (N, ...) array.
    """

    image_id: IntArray
    keypoints: FloatArray
    visibility: FloatArray | None = None
    keypoint_scores: FloatArray | None = None
    score: FloatArray = field(default_factory=lambda: np.zeros(0))
    bbox: FloatArray = field(default_factory=lambda: np.zeros((0, 4)))
    area: FloatArray = field(default_factory=lambda: np.zeros(0))
    iscrowd: BoolArray = field(default_factory=lambda: np.zeros(0, bool))
    num_keypoints: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    ann_id: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    category_id: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.image_id)
        if self.keypoints.ndim != 3 or self.keypoints.shape[0] != n:
            raise ValueError(f"PoseSet.keypoints must be (N={n}, K, D), got {self.keypoints.shape}")
        k = self.keypoints.shape[1]
        # Optional columns given empty take their defaults for N rows.
        defaults: dict[str, Any] = {
            "score": np.full(n, np.nan),
            "bbox": np.full((n, 4), np.nan),
            "area": np.full(n, np.nan),
            "iscrowd": np.zeros(n, bool),
            "ann_id": np.arange(1, n + 1, dtype=np.int64),
            "category_id": np.ones(n, np.int64),
        }
        for name, default in defaults.items():
            if len(getattr(self, name)) == 0 and n > 0:
                object.__setattr__(self, name, default)
        if len(self.num_keypoints) == 0 and n > 0:
            nk = (
                np.count_nonzero(self.visibility > 0, axis=1).astype(np.int64)
                if self.visibility is not None
                else np.full(n, k, np.int64)
            )
            object.__setattr__(self, "num_keypoints", nk)
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "extra" or v is None:
                continue
            if len(v) != n:
                raise ValueError(f"PoseSet.{f.name} has {len(v)} rows, image_id has {n}")
        for name in ("visibility", "keypoint_scores"):
            v = getattr(self, name)
            if v is not None and v.shape != (n, k):
                raise ValueError(f"PoseSet.{name} must be (N={n}, K={k}), got {v.shape}")
        for name, v in self.extra.items():
            if len(v) != n:
                raise ValueError(f"PoseSet.extra[{name!r}] has {len(v)} rows, image_id has {n}")

    def __len__(self) -> int:
        return len(self.image_id)

    @property
    def num_joints(self) -> int:
        """K, the number of keypoints per instance."""
        return int(self.keypoints.shape[1])

    def has_bbox(self) -> BoolArray:
        """(N,) which instances carry a box (``extra["has_bbox"]`` when a reader recorded it)."""
        if "has_bbox" in self.extra:
            return np.asarray(self.extra["has_bbox"], dtype=bool)
        return np.asarray(np.isfinite(self.bbox).all(axis=1), dtype=bool)

    def take(self, rows: npt.ArrayLike) -> PoseSet:
        """The instances selected by an index or boolean array (a copy)."""
        r = np.asarray(rows)
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "extra":
                out["extra"] = {k: a[r] for k, a in v.items()}
            else:
                out[f.name] = None if v is None else v[r]
        return PoseSet(**out)

    def with_columns(self, **changes: Any) -> PoseSet:
        """A copy with some columns replaced."""
        return replace(self, **changes)
