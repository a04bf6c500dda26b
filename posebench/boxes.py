"""Person boxes for top-down models from a file: a COCO detections file or another model's run.

``posebench run --boxes PATH`` gives a top-down adapter (mediapipe, mmpose top-down, RTMPose)
the boxes of

- a COCO detection results file (``[{image_id, category_id, bbox, score}, ...]``, ``bbox`` as
  ``[x, y, w, h]`` in pixels; non-person categories are skipped), as mmpose's top-down COCO
  protocol does with ``COCO_val2017_detections_AP_H_56_person.json``; a keypoint results file
  works too (its ``bbox`` and ``score`` are used); or
- a run folder of a bottom-up model (``posebench run`` output): the boxes and scores of its
  clean predictions (``predictions/clean.npz``), so that a top-down model is scored on another
  model's detections.

The boxes are identified by a digest of their content (image id, box, score), recorded in every
signature as ``boxes:file-<12 hex>`` and in ``results.json["boxes_from"]``: two runs on the same
boxes share it, runs on other boxes never do. Top-down runs on such boxes are ranked beside
bottom-up models (the "detected people" protocol), never beside runs on GT boxes.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from posebench.errors import InputError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class BoxFile:
    """Person boxes read from a file, sorted by (image id, decreasing score).

    Attributes:
        image_id: (M,) int64.
        bbox: (M, 4) float64 ``[x, y, w, h]`` in pixels.
        score: (M,) float64 detector confidence.
        path: where they were read.
        kind: ``coco-detections`` or ``run``.
        label: what the report shows (``yolo11n-pose run``, ``dets.json``).
        digest: 12 hex digits of sha256 over the arrays (the signature's ``file-<digest>``).
    """

    image_id: IntArray
    bbox: FloatArray
    score: FloatArray
    path: str
    kind: str
    label: str
    digest: str

    @property
    def box_source(self) -> str:
        """The signature's box source: ``file-<digest>``."""
        return f"file-{self.digest}"

    def for_image(self, image_id: int) -> tuple[FloatArray, FloatArray]:
        """((K, 4) boxes, (K,) scores) on one image, highest score first."""
        lo, hi = np.searchsorted(self.image_id, [image_id, image_id + 1])
        return self.bbox[lo:hi], self.score[lo:hi]

    def to_json(self) -> dict[str, Any]:
        """What ``results.json["boxes_from"]`` records."""
        return {
            "path": self.path,
            "kind": self.kind,
            "label": self.label,
            "sha256": self.digest,
            "boxes": len(self.image_id),
            "images": len(np.unique(self.image_id)),
        }


def _digest(image_id: IntArray, bbox: FloatArray, score: FloatArray) -> str:
    h = hashlib.sha256()
    for a in (image_id.astype("<i8"), bbox.astype("<f8"), score.astype("<f8")):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:12]


def _build(
    ids: IntArray, bbox: FloatArray, score: FloatArray, path: Path, kind: str, label: str
) -> BoxFile:
    order = np.lexsort((-score, ids))
    ids, bbox, score = ids[order], bbox[order], score[order]
    return BoxFile(ids, bbox, score, str(path), kind, label, _digest(ids, bbox, score))


def _read_coco(path: Path) -> BoxFile:
    from posebench.formats.jsonio import json_type, load_json

    file = str(path)
    doc = load_json(path)
    if not isinstance(doc, list):
        raise InputError(f"expected a list of detections, got {json_type(doc)}", file=file)
    ids: list[int] = []
    boxes: list[FloatArray] = []
    scores: list[float] = []
    for i, rec in enumerate(doc):
        where = f"[{i}]"
        if not isinstance(rec, dict):
            raise InputError(f"expected an object, got {json_type(rec)}", file=file, record=where)
        if rec.get("category_id", 1) != 1:
            continue
        for key in ("image_id", "bbox", "score"):
            if key not in rec:
                raise InputError("missing field", file=file, record=where, field=key)
        try:
            image_id = int(rec["image_id"])
            score = float(rec["score"])
            box = np.asarray(rec["bbox"], dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise InputError(f"not a number ({e})", file=file, record=where) from None
        if box.shape != (4,) or not np.isfinite(box).all() or (box[2:] < 0).any():
            raise InputError(
                "expected 4 finite numbers [x, y, w, h] with w, h >= 0",
                file=file,
                record=where,
                field="bbox",
            )
        if not np.isfinite(score):
            raise InputError("expected a finite number", file=file, record=where, field="score")
        ids.append(image_id)
        boxes.append(box)
        scores.append(score)
    n = len(ids)
    return _build(
        np.asarray(ids, np.int64).reshape(n),
        np.asarray(boxes, np.float64).reshape(n, 4),
        np.asarray(scores, np.float64).reshape(n),
        path,
        "coco-detections",
        path.name,
    )


def _read_run(folder: Path) -> BoxFile:
    from posebench.results import read_results_json
    from posebench.runner import load_poses

    res = read_results_json(folder)
    file = str(folder / "results.json")
    if res.get("box_source") not in ("none", None):
        raise InputError(
            f"boxes come from bottom-up runs (box source 'none'); this run used "
            f"{res.get('box_source')!r} boxes",
            file=file,
            field="box_source",
        )
    pred_file = folder / "predictions" / "clean.npz"
    if not pred_file.is_file():
        raise InputError("the run has no clean predictions to take boxes from", file=str(pred_file))
    try:
        pred = load_poses(pred_file)
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as e:
        raise InputError(f"cannot read predictions ({e})", file=str(pred_file)) from None
    if pred.bbox is None or pred.score is None:
        raise InputError("predictions without boxes or scores", file=str(pred_file), field="bbox")
    bbox = np.asarray(pred.bbox, np.float64).reshape(-1, 4)
    score = np.asarray(pred.score, np.float64).reshape(-1)
    bad = ~(np.isfinite(bbox).all(axis=1) & np.isfinite(score))
    if bad.any():
        raise InputError(
            f"{int(bad.sum())} predictions with a non-finite box or score",
            file=str(pred_file),
            record=f"row {int(np.flatnonzero(bad)[0])}",
            field="bbox",
        )
    name = str((res.get("adapter") or {}).get("name") or folder.name)
    return _build(np.asarray(pred.image_id, np.int64), bbox, score, folder, "run", f"{name} run")


def read_box_file(path: str | Path) -> BoxFile:
    """Boxes from a COCO detections JSON or a bottom-up run folder (see the module docstring).

    Raises:
        InputError: missing path, not a detections list or a run folder, bad records (naming
            the file, the record and the field).
    """
    p = Path(path).expanduser()
    if p.is_dir():
        return _read_run(p)
    if p.is_file():
        return _read_coco(p)
    raise InputError(
        "not found (expected gt, detector, a COCO detections JSON or a run folder)",
        file=str(path),
        field="--boxes",
    )


def check_images(boxes: BoxFile, image_ids: npt.ArrayLike) -> None:
    """Refuse boxes none of which is on the dataset's images (a file for another dataset)."""
    ids = np.asarray(image_ids, np.int64)
    if len(boxes.image_id) and not np.isin(boxes.image_id, ids).any():
        raise InputError(
            f"none of its {len(boxes.image_id)} boxes is on an image of this dataset "
            "(image ids differ)",
            file=boxes.path,
            field="image_id",
        )
