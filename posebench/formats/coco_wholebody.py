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

import itertools
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


_EXTRA_PARTS = ("foot", "face", "lefthand", "righthand")


def _check_part(rec: Any, part: str, *, file: str, record: str) -> list[float]:
    """One record's keypoint list of ``part``, validated (strict path: names what is wrong)."""
    key = PART_FIELDS[part]
    a, b = WHOLEBODY_PARTS[part]
    if not isinstance(rec, dict):
        raise InputError(f"expected an object, got {json_type(rec)}", file=file, record=record)
    if key not in rec:
        raise InputError(
            "missing field (a COCO-WholeBody record has keypoints, foot_kpts, face_kpts, "
            "lefthand_kpts and righthand_kpts)",
            file=file,
            record=record,
            field=key,
        )
    return coco._number_list(
        rec[key], 3 * (b - a), file=file, record=record, field=key,
        what=f"{b - a} {part} keypoints x (x, y, v)",
    )  # fmt: skip


def _part_arrays(records: list[Any], *, file: str, table: str) -> np.ndarray:
    """(N, 116, 3) foot, face and hand keypoints of the records, in that order.

    Vectorised checks first (every list present, of the right length, of finite int/float
    values); on any irregularity the records are checked one by one, which raises an InputError
    naming the record and the field.
    """
    n = len(records)
    out = []
    for part in _EXTRA_PARTS:
        key = PART_FIELDS[part]
        a, b = WHOLEBODY_PARTS[part]
        arr = None
        try:
            lists = [r[key] for r in records]
            if n == 0 or set(map(type, lists)) == {list}:
                lens = np.fromiter(map(len, lists), np.int64, n)
                flat = itertools.chain.from_iterable(lists)
                if (lens == 3 * (b - a)).all() and set(map(type, flat)) <= {int, float}:
                    vals = np.fromiter(itertools.chain.from_iterable(lists), np.float64)
                    if np.isfinite(vals).all():
                        arr = vals.reshape(n, b - a, 3)
        except (KeyError, TypeError):
            arr = None
        if arr is None:
            for i, r in enumerate(records):
                _check_part(r, part, file=file, record=f"{table}[{i}]")
            raise AssertionError("unreachable: the strict check accepts what the fast one refused")
        out.append(arr)
    return np.concatenate(out, axis=1) if n else np.zeros((0, K - 17, 3))


def read_wholebody_gt(path: str | Path) -> coco.CocoGroundTruth:
    """Read a COCO-WholeBody ground-truth file (``coco_wholebody_val_v1.0.json``).

    Returns:
        The ground truth with K = 133 (``coco_wholebody133`` order); ``num_keypoints`` is the
        count of labelled (``v > 0``) keypoints over all 133 (the file's field counts the body
        only, and xtcocotools' WholeBody evaluation counts ``v > 0`` per part anyway).
    """
    file = str(path)
    data = parse_json(read_bytes(path), file=file)
    # the body (``keypoints``) and every other field are read and checked as COCO
    gt = coco.gt_from_json(data, file=file, num_joints=17, max_num_keypoints=133)
    extra = _part_arrays(data["annotations"], file=file, table="annotations")
    body = gt.poses
    assert body.visibility is not None
    vis = np.concatenate([body.visibility, extra[:, :, 2]], axis=1)
    poses = body.with_columns(
        keypoints=np.concatenate([body.keypoints, extra[:, :, :2]], axis=1),
        visibility=vis,
        num_keypoints=np.count_nonzero(vis > 0, axis=1).astype(np.int64),
        extra={"has_num_keypoints": np.zeros(len(body), bool)},
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
    raw = read_bytes(path)
    records = parse_json(raw, file=file)
    if not isinstance(records, list):
        raise InputError(
            f"top level is {json_type(records)}; a results file is an array of objects", file=file
        )
    cols = coco._columns_fast(records, 17, raw.count(b'"'), coco._no_literals(raw))
    if cols is None:
        cols = coco._strict_results(records, 17, file)  # the body and every other field
    extra = _part_arrays(records, file=file, table="results")
    part_scores = {p: np.full(len(records), np.nan) for p in SCORE_FIELDS}
    for i, r in enumerate(records):
        for part, key in SCORE_FIELDS.items():
            if key in r:
                part_scores[part][i] = coco._check_number(
                    r[key], file=file, record=f"results[{i}]", field=key, nonneg=True
                )
    cols["keypoints"] = np.concatenate([cols["keypoints"], extra], axis=1)
    poses = coco._poses_from_columns(cols, K)
    poses = poses.with_columns(
        extra={**poses.extra, **{f"score_{p}": v for p, v in part_scores.items()}}
    )
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
