"""``results-file``: a COCO keypoint results JSON played back as a model.

How a submitted model is scored without its code: the runner feeds the images as usual and this
adapter returns the file's detections for each image (bottom-up: boxes are not used). The file is
checked against the dataset (image ids, categories, keypoint count) when the runner prepares it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from posebench.adapter import AdapterInfo, Batch, empty_predictions
from posebench.errors import InputError
from posebench.poseset import PoseSet
from posebench.skeletons import COCO17, Skeleton


class ResultsFileAdapter:
    """Replays ``path`` (COCO results JSON: ``[{image_id, category_id, keypoints, score}]``).

    Args:
        path: the results file.
        name: the model's name for leaderboards (default: the file name).
    """

    top_down = False
    dims = 2

    def __init__(self, path: Path, name: str | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError("results file not found", file=str(self.path), field="path")
        self.model_name = name or self.path.stem
        self.skeleton: Skeleton = COCO17
        self._poses: PoseSet | None = None
        self._rows: dict[int, np.ndarray] = {}

    def prepare(self, gt: PoseSet, skeleton: Skeleton, dataset_name: str) -> None:
        """Read the file with the dataset's keypoint count and index it by image."""
        from posebench.formats.coco import read_results

        self.skeleton = skeleton
        poses = read_results(self.path, num_joints=gt.num_joints)
        if len(poses) and poses.num_joints != gt.num_joints:
            raise InputError(
                f"{poses.num_joints} keypoints per result; dataset {dataset_name!r} has "
                f"{gt.num_joints}",
                file=str(self.path),
                record="results[0]",
                field="keypoints",
            )
        self._poses = poses
        order = np.argsort(poses.image_id, kind="stable")
        ids, starts = np.unique(poses.image_id[order], return_index=True)
        ends = np.append(starts[1:], len(order))
        self._rows = {int(i): order[a:b] for i, a, b in zip(ids, starts, ends, strict=True)}

    def info(self) -> AdapterInfo:
        digest = hashlib.sha256(self.path.read_bytes()).hexdigest()[:12]
        return AdapterInfo(
            name="results-file",
            architecture=self.model_name,
            input_size=None,
            weights=f"{self.path.name} sha256:{digest}",
            box_source="file",
            skeleton=self.skeleton.name,
            top_down=False,
        )

    def predict(self, batch: Batch) -> PoseSet:
        if self._poses is None:
            raise InputError(
                "results-file must be prepared with the dataset before predicting",
                file=str(self.path),
            )
        rows = [self._rows.get(int(i), np.zeros(0, np.int64)) for i in batch.image_ids]
        if not rows:
            return empty_predictions(self.skeleton.num_keypoints)
        p = self._poses.take(np.concatenate(rows).astype(np.int64))
        return p.with_columns(extra={k: v for k, v in p.extra.items() if k != "has_bbox"})
