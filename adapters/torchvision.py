"""torchvision's Keypoint R-CNN (``keypointrcnn_resnet50_fpn``), COCO-17, bottom-up.

The model finds people itself (its own detector), so ``predict`` ignores any boxes. torchvision
resizes (``min_size``/``max_size``), normalises and maps outputs back to image pixels inside the
model; the adapter hands it a whole batch in one call and converts its per-image dicts
(``boxes`` xyxy, ``scores``, ``keypoints`` (N, 17, 3), ``keypoints_scores`` (N, 17)).

Weights are a local file (a ``state_dict`` saved with ``torch.save``, e.g. torchvision's
``keypointrcnn_resnet50_fpn_coco-fc266e95.pth``), loaded with ``weights_only=True``; torchvision
is never asked to download anything (``weights=None, weights_backbone=None``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import torchvision
from torchvision.models.detection import (
    keypointrcnn_resnet50_fpn,
)

from posebench.adapter import AdapterInfo, Batch
from posebench.errors import InputError
from posebench.poseset import PoseSet
from posebench.skeletons import COCO17, Skeleton

from ._common import as_rgb, require_weights, weights_label, xyxy_to_xywh

FloatArray = npt.NDArray[np.float64]


def detections_to_poseset(
    outputs: Sequence[dict[str, Any]], image_ids: npt.ArrayLike, num_joints: int = 17
) -> PoseSet:
    """torchvision detection dicts (one per image, tensors or arrays) as one PoseSet.

    Args:
        outputs: B dicts with ``boxes`` (N, 4) xyxy, ``scores`` (N,), ``keypoints`` (N, K, 3)
            ``[x, y, visibility]`` and ``keypoints_scores`` (N, K), in image pixels.
        image_ids: (B,) ids of the images, in the same order.
    Returns:
        PoseSet with keypoints (N, K, 2), keypoint_scores, score and bbox ``[x, y, w, h]``.
    """
    ids = np.asarray(image_ids, dtype=np.int64)
    if len(outputs) != len(ids):
        raise ValueError(f"{len(outputs)} outputs for {len(ids)} images")

    def arr(d: dict[str, Any], key: str, shape: tuple[int, ...]) -> FloatArray:
        v = d[key]
        if isinstance(v, torch.Tensor):
            v = v.detach().cpu().numpy()
        return np.asarray(v, dtype=np.float64).reshape(shape)

    cols: dict[str, list[FloatArray]] = {"kp": [], "ks": [], "s": [], "b": []}
    owner = []
    for img_id, d in zip(ids, outputs, strict=True):
        n = len(d["scores"])
        cols["kp"].append(arr(d, "keypoints", (n, num_joints, 3))[:, :, :2])
        cols["ks"].append(arr(d, "keypoints_scores", (n, num_joints)))
        cols["s"].append(arr(d, "scores", (n,)))
        cols["b"].append(xyxy_to_xywh(arr(d, "boxes", (n, 4))))
        owner.append(np.full(n, img_id, np.int64))
    if not outputs:
        return PoseSet(
            image_id=np.zeros(0, np.int64),
            keypoints=np.zeros((0, num_joints, 2)),
            keypoint_scores=np.zeros((0, num_joints)),
        )
    return PoseSet(
        image_id=np.concatenate(owner),
        keypoints=np.concatenate(cols["kp"]),
        keypoint_scores=np.concatenate(cols["ks"]),
        score=np.concatenate(cols["s"]),
        bbox=np.concatenate(cols["b"]),
    )


class KeypointRCNNAdapter:
    """Keypoint R-CNN ResNet-50-FPN from torchvision.

    Args:
        weights: path of a local ``state_dict`` file (required unless ``random_init``).
        random_init: build an untrained model (tests only; its poses are meaningless).
        device: torch device string.
        batch_size: images per forward pass.
        score_threshold: torchvision's ``box_score_thresh``: people scored below are dropped.
        detections_per_image: torchvision's ``box_detections_per_img``.
        min_size, max_size: torchvision's input resize (800 and 1333 as trained).
    """

    top_down = False
    dims = 2
    skeleton: Skeleton = COCO17

    def __init__(
        self,
        weights: str | None = None,
        random_init: bool = False,
        device: str = "cpu",
        batch_size: int = 4,
        score_threshold: float = 0.05,
        detections_per_image: int = 100,
        min_size: int = 800,
        max_size: int = 1333,
    ) -> None:
        if batch_size < 1:
            raise InputError("batch_size must be >= 1", field="--adapter-arg batch_size")
        path = require_weights(weights, random_init, "torchvision")
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.score_threshold = score_threshold
        self.min_size, self.max_size = min_size, max_size
        model = keypointrcnn_resnet50_fpn(
            weights=None,
            weights_backbone=None,
            num_classes=2,
            num_keypoints=17,
            box_score_thresh=score_threshold,
            box_detections_per_img=detections_per_image,
            min_size=min_size,
            max_size=max_size,
        )
        if path is not None:
            state = torch.load(path, map_location="cpu", weights_only=True)
            if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
                state = state["model"]  # training checkpoints from torchvision's references
            try:
                model.load_state_dict(state)
            except (RuntimeError, TypeError, AttributeError) as e:
                raise InputError(
                    f"not a keypointrcnn_resnet50_fpn state_dict: {str(e)[:300]}",
                    file=str(path),
                    field="--adapter-arg weights",
                ) from e
        self.model = model.eval().to(self.device)
        self._weights = weights_label(path)

    def info(self) -> AdapterInfo:
        return AdapterInfo(
            name="torchvision",
            architecture="KeypointRCNN-ResNet50-FPN",
            input_size=None,
            weights=self._weights,
            box_source="none",
            skeleton=self.skeleton.name,
            top_down=False,
            extra={
                "torchvision": torchvision.__version__,
                "score_threshold": self.score_threshold,
                "min_size": self.min_size,
                "max_size": self.max_size,
            },
        )

    def _forward(self, tensors: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        with torch.inference_mode():
            out: list[dict[str, torch.Tensor]] = self.model(tensors)
        return out

    def predict(self, batch: Batch) -> PoseSet:
        """Poses for every image of the batch, ``batch_size`` images per forward pass."""
        images = [as_rgb(im, i) for i, im in enumerate(batch.images)]
        outputs: list[dict[str, Any]] = []
        for start in range(0, len(images), self.batch_size):
            chunk = images[start : start + self.batch_size]
            tensors = [
                torch.from_numpy(np.ascontiguousarray(im.transpose(2, 0, 1)))
                .to(self.device)
                .float()
                .div_(255.0)
                for im in chunk
            ]
            outputs.extend(self._forward(tensors))
        return detections_to_poseset(outputs, batch.image_ids, self.skeleton.num_keypoints)
