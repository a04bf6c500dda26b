"""mmpose models through ``mmpose.apis.MMPoseInferencer``: top-down (boxes given) or bottom-up.

The adapter builds ``MMPoseInferencer(pose2d=<config file>, pose2d_weights=<checkpoint file>,
device=..., det_model="whole_image")``; ``det_model="whole_image"`` keeps mmpose from loading
(and downloading) its default person detector: top-down boxes come from posebench.

Each image is passed alone (``MMPoseInferencer`` takes ``bboxes`` for one image per call) as a
BGR array (mmpose's convention) with its boxes as ``[x1, y1, x2, y2, score]`` rows. Images
without boxes are not sent at all, because mmpose would then use the whole image as a box.

The result dicts are converted by :func:`inferencer_result_to_poseset`, a pure function over
the documented format::

    {"predictions": [[{"keypoints": [[x, y], ...], "keypoint_scores": [...],
                       "bbox": ([x1, y1, x2, y2],), "bbox_score": 0.98}, ...]],
     "visualization": []}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from mmpose.apis import MMPoseInferencer

from posebench.adapter import AdapterInfo, Batch, BoxSource
from posebench.errors import InputError
from posebench.poseset import PoseSet
from posebench.skeletons import Skeleton, get_skeleton

from ._common import as_rgb, box_index_column, require_file, rescore, weights_label, xywh_to_xyxy

FloatArray = npt.NDArray[np.float64]


def _instances(result: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The instance dicts of a one-image MMPoseInferencer result."""
    preds = result.get("predictions")
    if not isinstance(preds, Sequence) or isinstance(preds, str):
        raise InputError("MMPoseInferencer result has no 'predictions' list", field="predictions")
    # predictions: one entry per image; each a list of instance dicts
    if len(preds) and isinstance(preds[0], Mapping):
        return list(preds)  # already one image's instances
    out: list[Mapping[str, Any]] = []
    for per_image in preds:
        out.extend(per_image)
    return out


def inferencer_result_to_poseset(
    result: Mapping[str, Any],
    image_id: int,
    num_joints: int,
    top_down: bool,
    box_scores: npt.ArrayLike | None = None,
    record: str | None = None,
) -> PoseSet:
    """One image's ``MMPoseInferencer`` result as a PoseSet.

    Args:
        result: ``{"predictions": [[instance, ...]]}`` with instances ``keypoints`` (K, 2),
            ``keypoint_scores`` (K,), optional ``bbox`` ``([x1, y1, x2, y2],)`` (a 1-tuple in
            mmpose 1.x, a flat list in some forks) and ``bbox_score``.
        image_id: id written to every row.
        num_joints: K expected.
        top_down: when True, instances are the input boxes in order: ``extra["box_index"]`` is
            0..N-1 and ``score`` is mmpose's ``bbox_keypoint`` rescoring of ``box_scores``
            (or of each instance's ``bbox_score``); bottom-up: ``score`` is ``bbox_score`` where
            given, else the mean keypoint score.
        box_scores: (N,) scores of the input boxes (top-down).
        record: name used in error messages.
    Returns:
        PoseSet of N rows: keypoints (N, K, 2), keypoint_scores (N, K), score (N,),
        bbox (N, 4) ``[x, y, w, h]`` (NaN where the instance has none).
    """
    where = record or f"image {image_id}"
    insts = _instances(result)
    n = len(insts)
    kpts = np.zeros((n, num_joints, 2))
    kscores = np.zeros((n, num_joints))
    boxes = np.full((n, 4), np.nan)
    bscores = np.full(n, np.nan)
    for i, inst in enumerate(insts):
        try:
            kp = np.asarray(inst["keypoints"], dtype=np.float64)
            ks = np.asarray(inst["keypoint_scores"], dtype=np.float64).reshape(-1)
        except KeyError as e:
            raise InputError(
                f"MMPoseInferencer instance lacks {e.args[0]!r}", record=where, field=str(e.args[0])
            ) from None
        if kp.ndim != 2 or kp.shape[0] != num_joints or kp.shape[1] < 2 or len(ks) != num_joints:
            raise InputError(
                f"instance {i}: expected {num_joints} keypoints (K, 2) and scores (K,), got "
                f"keypoints {kp.shape} and scores {ks.shape}; is the skeleton right?",
                record=where,
                field="keypoints",
            )
        kpts[i] = kp[:, :2]
        kscores[i] = ks
        if inst.get("bbox") is not None:
            b = np.asarray(inst["bbox"], dtype=np.float64).reshape(-1)[:4]
            boxes[i] = [b[0], b[1], b[2] - b[0], b[3] - b[1]]
        if inst.get("bbox_score") is not None:
            bscores[i] = float(np.asarray(inst["bbox_score"]).reshape(-1)[0])
    extra: dict[str, np.ndarray] = {}
    if top_down:
        given = (
            np.asarray(box_scores, dtype=np.float64).reshape(-1) if box_scores is not None else None
        )
        if given is not None and len(given) != n:
            raise InputError(
                f"{n} poses for {len(given)} boxes: a top-down model returns one pose per box",
                record=where,
                field="predictions",
            )
        s = given if given is not None else np.where(np.isnan(bscores), 1.0, bscores)
        score = rescore(s, kscores)
        extra = {"box_index": np.arange(n, dtype=np.int64), "box_score": s}
    else:
        score = np.where(np.isnan(bscores), kscores.mean(axis=1) if n else 0.0, bscores)
    return PoseSet(
        image_id=np.full(n, image_id, np.int64),
        keypoints=kpts,
        keypoint_scores=kscores,
        score=np.asarray(score, dtype=np.float64),
        bbox=boxes,
        extra=extra,
    )


class MMPoseAdapter:
    """Any mmpose 2D model from a local config file and checkpoint.

    Args:
        config: path of the model's mmpose config (``.py``).
        weights: path of the checkpoint (``.pth``).
        mode: ``top-down`` (needs boxes; one pose per box) or ``bottom-up``.
        device: ``cpu``, ``cuda``, ``cuda:1``...
        skeleton: keypoint layout the model outputs (K must match).
        box_source: what the top-down boxes are, recorded in ``info()``.
        architecture: label for ``info()`` (default: the config file name).
    """

    dims = 2

    def __init__(
        self,
        config: str,
        weights: str,
        mode: Literal["top-down", "bottom-up"] = "top-down",
        device: str = "cpu",
        skeleton: str = "coco17",
        box_source: Literal["gt", "detector", "file"] = "gt",
        architecture: str | None = None,
    ) -> None:
        cfg = require_file(config, "mmpose", "config", what="mmpose config file")
        path = require_file(weights, "mmpose", "weights")
        self.top_down = mode == "top-down"
        self.skeleton: Skeleton = get_skeleton(skeleton)
        self.box_source: BoxSource = box_source if self.top_down else "none"
        self.config = cfg
        self.architecture = architecture or cfg.stem
        self.inferencer = MMPoseInferencer(
            pose2d=str(cfg), pose2d_weights=str(path), device=device, det_model="whole_image"
        )
        self._weights = weights_label(path)

    def info(self) -> AdapterInfo:
        return AdapterInfo(
            name="mmpose",
            architecture=self.architecture,
            input_size=None,
            weights=self._weights,
            box_source=self.box_source,
            skeleton=self.skeleton.name,
            top_down=self.top_down,
            extra={"config": self.config.name},
        )

    def _call(self, image_bgr: npt.NDArray[np.uint8], **kwargs: Any) -> Mapping[str, Any]:
        """One image through the inferencer (a generator yielding one result per image)."""
        results = list(self.inferencer(image_bgr, **kwargs))
        if len(results) != 1:
            raise RuntimeError(f"MMPoseInferencer yielded {len(results)} results for one image")
        return results[0]  # type: ignore[no-any-return]

    def predict(self, batch: Batch) -> PoseSet:
        """Poses for every image of the batch, one inferencer call per image."""
        k = self.skeleton.num_keypoints
        parts: list[PoseSet] = []
        counts: list[int] = []
        if self.top_down and batch.boxes is None:
            raise InputError(
                "mmpose top-down: the batch carries no person boxes", field="Batch.boxes"
            )
        for i, image in enumerate(batch.images):
            bgr = np.ascontiguousarray(as_rgb(image, i)[:, :, ::-1])
            img_id = int(batch.image_ids[i])
            if not self.top_down:
                parts.append(inferencer_result_to_poseset(self._call(bgr), img_id, k, False))
                continue
            assert batch.boxes is not None
            boxes = np.asarray(batch.boxes[i], dtype=np.float64).reshape(-1, 4)
            counts.append(len(boxes))
            if not len(boxes):
                continue  # mmpose would use the whole image as a box
            scores = (
                np.asarray(batch.box_scores[i], dtype=np.float64).reshape(-1)
                if batch.box_scores is not None
                else np.ones(len(boxes))
            )
            bboxes = np.concatenate([xywh_to_xyxy(boxes), scores[:, None]], axis=1)
            result = self._call(bgr, bboxes=bboxes)
            parts.append(inferencer_result_to_poseset(result, img_id, k, True, scores))
        return _concat(parts, k, self.top_down, counts)


def _concat(parts: list[PoseSet], k: int, top_down: bool, counts: list[int]) -> PoseSet:
    parts = [p for p in parts if len(p)]
    if not parts:
        return PoseSet(
            image_id=np.zeros(0, np.int64),
            keypoints=np.zeros((0, k, 2)),
            keypoint_scores=np.zeros((0, k)),
            extra={"box_index": np.zeros(0, np.int64)} if top_down else {},
        )
    extra = (
        {
            "box_index": box_index_column(counts),
            "box_score": np.concatenate([p.extra["box_score"] for p in parts]),
        }
        if top_down
        else {}
    )
    return PoseSet(
        image_id=np.concatenate([p.image_id for p in parts]),
        keypoints=np.concatenate([p.keypoints for p in parts]),
        keypoint_scores=np.concatenate(
            [p.keypoint_scores for p in parts if p.keypoint_scores is not None]
        ),
        score=np.concatenate([p.score for p in parts]),
        bbox=np.concatenate([p.bbox for p in parts]),
        extra=extra,
    )
