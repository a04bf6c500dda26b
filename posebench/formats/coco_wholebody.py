"""COCO-WholeBody ground truth and results files (133 keypoints in five fields).

A WholeBody annotation or result stores its keypoints as five ``[x, y, v]*K`` lists:
``keypoints`` (body, 17), ``foot_kpts`` (6), ``face_kpts`` (68), ``lefthand_kpts`` (21) and
``righthand_kpts`` (21). Here they become one (N, 133, 2) array in that order (the
``coco_wholebody133`` skeleton). Results may carry per-part scores (``foot_score``, ...,
``wholebody_score``), kept in ``PoseSet.extra["score_<part>"]`` (NaN where a record has none:
the evaluator then uses ``score``, as xtcocotools does). The boxes and validity flags of the
ground truth (``face_box``, ``face_valid``, ...) are not read: xtcocotools' evaluation does not
use them either (it scores every part with the person's ``area`` and ``bbox``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from posebench.errors import InputError
from posebench.formats import coco
from posebench.formats.jsonio import dump_json, json_type, parse_json, read_bytes
from posebench.poseset import PoseSet
from posebench.skeletons import COCO_WHOLEBODY133, WHOLEBODY_PARTS

log = logging.getLogger(__name__)

#: part -> the JSON field holding its keypoints, in file order.
PART_FIELDS: dict[str, str] = {
    "body": "keypoints",
    "foot": "foot_kpts",
    "face": "face_kpts",
    "lefthand": "lefthand_kpts",
    "righthand": "righthand_kpts",
}
#: part -> the optional per-part score field of a result (xtcocotools' score keys); the body
#: (xtcocotools ``keypoints_body``) is ranked by ``score``.
SCORE_FIELDS: dict[str, str] = {
    "foot": "foot_score",
    "face": "face_score",
    "lefthand": "lefthand_score",
    "righthand": "righthand_score",
    "wholebody": "wholebody_score",
}
K = COCO_WHOLEBODY133.num_keypoints


def _joined(rec: dict[str, Any], *, file: str, record: str) -> list[float]:
    """The five keypoint lists of one record, validated and concatenated (3 * 133 numbers)."""
    out: list[float] = []
    for part, key in PART_FIELDS.items():
        a, b = WHOLEBODY_PARTS[part]
        if key not in rec:
            raise InputError(
                "missing field (a COCO-WholeBody record has keypoints, foot_kpts, face_kpts, "
                "lefthand_kpts and righthand_kpts)",
                file=file,
                record=record,
                field=key,
            )
        out += coco._number_list(
            rec[key], 3 * (b - a), file=file, record=record, field=key,
            what=f"{b - a} {part} keypoints x (x, y, v)",
        )  # fmt: skip
    return out


def read_wholebody_gt(path: str | Path) -> coco.CocoGroundTruth:
    """Read a COCO-WholeBody ground-truth file (``coco_wholebody_val_v1.0.json``).

    Returns:
        The ground truth with K = 133 (``coco_wholebody133`` order); ``num_keypoints`` is the
        count of labelled (``v > 0``) keypoints over all 133 (the file's field counts the body
        only, and xtcocotools' WholeBody evaluation counts ``v > 0`` per part anyway).
    """
    file = str(path)
    data = parse_json(read_bytes(path), file=file)
    if isinstance(data, dict) and isinstance(data.get("annotations"), list):
        anns = []
        for i, a in enumerate(data["annotations"]):
            if isinstance(a, dict):
                a = {**a, "keypoints": _joined(a, file=file, record=f"annotations[{i}]")}
                a.pop("num_keypoints", None)
            anns.append(a)
        data = {**data, "annotations": anns}
    gt = coco.gt_from_json(data, file=file, num_joints=K)
    vis = gt.poses.visibility
    assert vis is not None
    poses = gt.poses.with_columns(
        num_keypoints=np.count_nonzero(vis > 0, axis=1).astype(np.int64),
        extra={"has_num_keypoints": np.zeros(len(gt.poses), bool)},
    )
    return coco.CocoGroundTruth(
        path=gt.path, images=gt.images, poses=poses, categories=gt.categories, num_joints=K
    )


def read_wholebody_results(path: str | Path, gt: coco.CocoGroundTruth | None = None) -> PoseSet:
    """Read COCO-WholeBody results: a JSON array of ``{image_id, category_id, keypoints,
    foot_kpts, face_kpts, lefthand_kpts, righthand_kpts, score[, bbox][, <part>_score]}``.

    Returns:
        A PoseSet with ``keypoints`` (N, 133, 2), ``keypoint_scores`` (N, 133), ``score`` (N,),
        ``bbox`` (N, 4) (NaN rows where absent), ``extra["has_bbox"]`` (N,) and
        ``extra["score_<part>"]`` (N,) for each part of :data:`SCORE_FIELDS` (NaN where absent).
    """
    file = str(path)
    records = parse_json(read_bytes(path), file=file)
    if not isinstance(records, list):
        raise InputError(
            f"top level is {json_type(records)}; a results file is an array of objects", file=file
        )
    joined = []
    part_scores = {p: np.full(len(records), np.nan) for p in SCORE_FIELDS}
    for i, r in enumerate(records):
        rec = f"results[{i}]"
        if not isinstance(r, dict):
            raise InputError(f"expected an object, got {json_type(r)}", file=file, record=rec)
        for part, key in SCORE_FIELDS.items():
            if key in r:
                v = coco._check_number(r[key], file=file, record=rec, field=key, nonneg=True)
                part_scores[part][i] = v
        joined.append({**r, "keypoints": _joined(r, file=file, record=rec)})
    cols = coco._strict_results(joined, K, file)
    poses = coco._poses_from_columns(cols, K)
    extra = {**poses.extra, **{f"score_{p}": v for p, v in part_scores.items()}}
    poses = poses.with_columns(extra=extra)
    if gt is not None:
        coco.check_results_against_gt(poses, gt, file=file)
    return poses


def wholebody_records(poses: PoseSet) -> list[dict[str, Any]]:
    """COCO-WholeBody results records (plain Python) for a 133-keypoint prediction PoseSet."""
    n = len(poses)
    if poses.num_joints != K:
        raise ValueError(f"COCO-WholeBody results need {K} keypoints, got {poses.num_joints}")
    scores = poses.keypoint_scores if poses.keypoint_scores is not None else np.ones((n, K))
    trip = np.concatenate([poses.keypoints[:, :, :2], scores[:, :, None]], axis=2)
    has_bbox = poses.has_bbox()
    out = []
    for i in range(n):
        r: dict[str, Any] = {
            "image_id": int(poses.image_id[i]),
            "category_id": int(poses.category_id[i]),
        }
        for part, key in PART_FIELDS.items():
            a, b = WHOLEBODY_PARTS[part]
            r[key] = trip[i, a:b].ravel().tolist()
        r["score"] = float(poses.score[i])
        for part, key in SCORE_FIELDS.items():
            v = poses.extra.get(f"score_{part}")
            if v is not None and np.isfinite(v[i]):
                r[key] = float(v[i])
        if has_bbox[i]:
            r["bbox"] = poses.bbox[i].tolist()
        out.append(r)
    return out


def write_wholebody_results(path: str | Path, poses: PoseSet) -> None:
    """Write 133-keypoint predictions as a COCO-WholeBody results JSON, atomically."""
    dump_json(wholebody_records(poses), Path(path))
