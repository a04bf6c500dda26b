"""COCO keypoint annotations and results <-> the columnar data model.

Readers validate as they go and raise :class:`~posebench.errors.InputError` naming the file, the
record (``annotations[12]``, ``results[40311]``) and the field. Results files, which can hold
hundreds of thousands of detections, take a vectorised path: parse (two processes on two cores
for big files), pull each field out as one array, then check whole columns at once; only when a
check fails is the file walked record by record to say exactly where.
"""

from __future__ import annotations

import itertools
import logging
import math
import mmap
import operator
import os
import pickle
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from posebench.arrayutil import isin, unique
from posebench.errors import InputError
from posebench.formats import fastjson, rules
from posebench.formats.jsonio import (
    dump_json,
    find_duplicate_key,
    json_type,
    may_have_duplicate_keys,
    parse_json,
    read_bytes,
)
from posebench.poseset import ImageTable, PoseSet

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]

#: Results files larger than this are parsed in two halves on two cores.
PARALLEL_PARSE_BYTES = 8 << 20


@dataclass(frozen=True, eq=False)
class CocoGroundTruth:
    """A COCO-style keypoint ground-truth file as arrays.

    Attributes:
        path: where it was read from.
        images: the images table (``crowd_index`` from ``images[].crowdIndex`` when present).
        poses: the annotations; ``extra`` holds ``has_num_keypoints`` (N,) bool (the file stated
            ``num_keypoints``) and ``segment_area`` is the ``area`` column (NaN where absent).
        categories: ``(id, name, keypoint names)`` per category.
        num_joints: K.
    """

    path: str
    images: ImageTable
    poses: PoseSet
    categories: tuple[tuple[int, str, tuple[str, ...]], ...]
    num_joints: int

    @property
    def category_ids(self) -> tuple[int, ...]:
        return tuple(c[0] for c in self.categories)


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _check_number(
    v: object, *, file: str, record: str, field: str, finite: bool = True, nonneg: bool = False
) -> float:
    if isinstance(v, bool):
        rules.tolerate(
            "boolean",
            InputError(f"expected a number, got boolean {str(v).lower()}", file=file, record=record,
                       field=field),
        )  # fmt: skip
    elif not _is_number(v):
        raise InputError(
            f"expected a number, got {json_type(v)}", file=file, record=record, field=field
        )
    f = float(v)  # type: ignore[arg-type]
    if finite and not math.isfinite(f):
        raise InputError(
            f"expected a finite number, got {f!r}", file=file, record=record, field=field
        )
    if nonneg and f < 0:
        raise InputError(
            f"expected a non-negative number, got {v!r}", file=file, record=record, field=field
        )
    return f


def _check_int(v: object, *, file: str, record: str, field: str) -> int:
    """An integer that fits int64 (``3.0`` counts as 3); a boolean only under ``--lenient``."""
    if isinstance(v, bool):
        rules.tolerate(
            "boolean",
            InputError(f"expected an integer, got boolean {str(v).lower()}", file=file,
                       record=record, field=field),
        )  # fmt: skip
        return int(v)
    if not isinstance(v, int):
        if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
            v = int(v)  # beyond 2**53 a float is not an exact integer (2**63 + 1 reads as 2**63)
        else:
            exact = " (beyond 2**53 not an exact integer)" if isinstance(v, float) else ""
            raise InputError(
                f"expected an integer, got {json_type(v)} {v!r}{exact}"[:160],
                file=file,
                record=record,
                field=field,
            )
    return rules.check_int64(v, file=file, record=record, field=field)


def _require(rec: dict[str, Any], key: str, *, file: str, record: str) -> Any:
    if key not in rec:
        raise InputError("missing field", file=file, record=record, field=key)
    return rec[key]


def _unique_id(rec: dict[str, Any], seen: dict[int, int], i: int, *, file: str, table: str) -> int:
    """The integer ``id`` of ``table[i]``, unique among those ``seen`` (updated)."""
    where = f"{table}[{i}]"
    value = _check_int(
        _require(rec, "id", file=file, record=where), file=file, record=where, field="id"
    )
    if value in seen:
        what = "annotation" if table == "annotations" else "image"
        raise InputError(
            f"duplicate {what} id {value} (also {table}[{seen[value]}])",
            file=file,
            record=where,
            field="id",
        )
    seen[value] = i
    return value


def _number_list(
    v: object, length: int | None, *, file: str, record: str, field: str, what: str
) -> list[float]:
    if not isinstance(v, list):
        raise InputError(
            f"expected an array ({what}), got {json_type(v)}", file=file, record=record, field=field
        )
    if length is not None and len(v) != length:
        raise InputError(
            f"expected {length} numbers ({what}), got {len(v)}",
            file=file,
            record=record,
            field=field,
        )
    out = []
    for i, x in enumerate(v):
        if isinstance(x, bool):
            rules.tolerate(
                "boolean",
                InputError(f"element {i} is boolean {str(x).lower()}, expected a number",
                           file=file, record=record, field=field),
            )  # fmt: skip
        elif not _is_number(x):
            flat = " (a flat list x1, y1, v1, x2, ...)" if isinstance(x, list) else ""
            raise InputError(
                f"element {i} is {json_type(x)}, expected a number{flat}",
                file=file,
                record=record,
                field=field,
            )
        if not math.isfinite(x):
            raise InputError(
                f"element {i} is {x!r}; NaN and infinity are not allowed",
                file=file,
                record=record,
                field=field,
            )
        out.append(float(x))
    return out


def _check_box(box: list[float], *, file: str, record: str) -> list[float]:
    """A COCO ``[x, y, w, h]``; negative sizes are refused (tolerated under --lenient)."""
    if box[2] < 0 or box[3] < 0:
        rules.tolerate(
            "negative-box",
            InputError(f"negative box size: width {box[2]!r}, height {box[3]!r} (expected "
                       "[x, y, w, h] with w, h >= 0)", file=file, record=record, field="bbox"),
        )  # fmt: skip
    return box


# ----------------------------------------------------------------------------- ground truth


def read_gt(
    path: str | Path, *, num_joints: int | None = None, cache: bool = False
) -> CocoGroundTruth:
    """Read a COCO keypoint ground-truth file (``.json`` or ``.json.gz``).

    Args:
        path: the file.
        num_joints: K; by default the length of the first category's ``keypoints`` names.

    Ground truth without ``iscrowd`` counts as not crowd, without ``num_keypoints`` as the count of
    ``v > 0``; ``area`` and ``bbox`` may be absent (NaN) and are checked by the evaluator that
    needs them. With ``cache``, a columnar copy is kept on disk (``posebench.formats.gtcache``,
    keyed on a hash of the contents) and later reads of the same contents load it instead of
    parsing.
    """
    file = str(path)
    raw = read_bytes(path)
    if cache and num_joints is None:
        from posebench.formats import gtcache

        # keyed on the hash of these very bytes, which are also the ones parsed on a miss
        hit = gtcache.load(path, data=raw)
        if hit is not None:
            return hit
        gt = _read_gt_bytes(raw, file, None)
        if not rules.is_lenient():  # only a file that passed every rule is cached
            gtcache.store(path, gt, data=raw)
        return gt
    return _read_gt_bytes(raw, file, num_joints)


def _read_gt_bytes(raw: bytes, file: str, num_joints: int | None) -> CocoGroundTruth:
    fast = _read_gt_fast(raw, file, num_joints)
    if fast is not None:
        return fast
    return gt_from_json(parse_json(raw, file=file), file=file, num_joints=num_joints)


def gt_from_json(
    data: Any, *, file: str, num_joints: int | None = None, max_num_keypoints: int | None = None
) -> CocoGroundTruth:
    """Validate a parsed COCO keypoint ground-truth object and convert it to columns.

    Args:
        data: the parsed JSON (``images``, ``annotations``, ``categories``).
        file: the file name used in errors.
        num_joints: K; by default the length of the first category's ``keypoints`` names.
        max_num_keypoints: the largest ``num_keypoints`` that is not an error (default K;
            COCO-WholeBody counts all 133 keypoints there while K is the body's 17).
    """
    if not isinstance(data, dict):
        raise InputError(
            f"top level is {json_type(data)}; a ground-truth file is an object with "
            "'images', 'annotations' and 'categories'",
            file=file,
        )
    for key in ("images", "annotations", "categories"):
        if key not in data:
            raise InputError("missing top-level field", file=file, field=key)
        if not isinstance(data[key], list):
            raise InputError(f"expected an array, got {json_type(data[key])}", file=file, field=key)

    categories: list[tuple[int, str, tuple[str, ...]]] = []
    cat_seen: dict[int, int] = {}
    for i, c in enumerate(data["categories"]):
        rec = f"categories[{i}]"
        if not isinstance(c, dict):
            raise InputError(f"expected an object, got {json_type(c)}", file=file, record=rec)
        cid = _check_int(
            _require(c, "id", file=file, record=rec), file=file, record=rec, field="id"
        )
        names = c.get("keypoints", [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise InputError("expected an array of names", file=file, record=rec, field="keypoints")
        entry = (cid, str(c.get("name", "")), tuple(names))
        if cid in cat_seen:
            rules.tolerate(
                "duplicate-category",
                InputError(f"duplicate category id {cid} (also categories[{cat_seen[cid]}])",
                           file=file, record=rec, field="id"),
            )  # fmt: skip
            categories[cat_seen[cid]] = entry  # pycocotools' index keeps the last
            continue
        cat_seen[cid] = len(categories)
        categories.append(entry)
    if num_joints is None:
        named = [len(c[2]) for c in categories if c[2]]
        num_joints = named[0] if named else None
    cat_ids = {c[0] for c in categories}

    images = _read_images(data["images"], file)
    image_ids = set(images.id.tolist())
    anns = data["annotations"]
    if num_joints is None:
        first = next(
            (a for a in anns if isinstance(a, dict) and isinstance(a.get("keypoints"), list)), None
        )
        if first is None:
            raise InputError(
                "no category lists keypoint names and no annotation has keypoints", file=file
            )
        num_joints = len(first["keypoints"]) // 3
    k = num_joints

    nk_max = k if max_num_keypoints is None else max_num_keypoints
    cols = _gt_columns_fast(anns, k, images.id, cat_ids, nk_max=nk_max)
    if cols is None:
        cols = _gt_columns_strict(anns, k, image_ids, cat_ids, file, nk_max=nk_max)
    return _gt_from_columns(cols, images, tuple(categories), k, file)


def _read_gt_fast(raw: bytes, file: str, num_joints: int | None) -> CocoGroundTruth | None:
    """The ground truth through the compiled columnar parser, or None (not built, or anything
    irregular: the validating reader then reads the file and names what is wrong).

    Accepts only what the validating path accepts, with the same numbers: the C parser checks
    types (integer ids, numeric arrays of the right length, finite non-negative areas, iscrowd
    0/1, no duplicate keys) and the checks below are those of :func:`_gt_columns_fast`.
    """

    def k_of(categories: list[Any]) -> int | None:
        if num_joints is not None:
            return num_joints
        named = [
            c.get("keypoints") for c in categories if isinstance(c, dict) and c.get("keypoints")
        ]
        return len(named[0]) if named and isinstance(named[0], list) else None

    got = fastjson.gt_columns(raw, k_of)
    if got is None:
        return None
    cats_raw, im, cols = got
    categories: list[tuple[int, str, tuple[str, ...]]] = []
    for c in cats_raw:
        if not isinstance(c, dict) or type(c.get("id")) is not int:
            return None
        names = c.get("keypoints", [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            return None
        categories.append((c["id"], str(c.get("name", "")), tuple(names)))
    k = int(cols["keypoints"].shape[1])
    if num_joints is None and k != next(len(c[2]) for c in categories if c[2]):
        return None
    if len(unique(im["id"])) != len(im["id"]) or len(unique(cols["id"])) != len(cols["id"]):
        return None
    cat_ids = np.array([c[0] for c in categories], np.int64)
    if len(unique(cat_ids)) != len(cat_ids):  # duplicate categories: the rules decide
        return None
    # the column checks of _gt_columns_fast (the rules of posebench.formats.rules)
    if (cols["num_keypoints"] > k).any():
        return None
    has_bbox = ~np.isnan(cols["bbox"]).any(axis=1)
    if (cols["bbox"][has_bbox][:, 2:] < 0).any():
        return None
    if not (isin(cols["image_id"], im["id"]).all() and isin(cols["category_id"], cat_ids).all()):
        return None
    images = ImageTable(
        id=im["id"], file=im["file"], width=im["width"], height=im["height"],
        crowd_index=im["crowd_index"],
    )  # fmt: skip
    return _gt_from_columns(cols, images, tuple(categories), k, file)


def _gt_from_columns(
    cols: dict[str, np.ndarray],
    images: ImageTable,
    categories: tuple[tuple[int, str, tuple[str, ...]], ...],
    k: int,
    file: str,
) -> CocoGroundTruth:
    """The ground truth from validated annotation columns (either reader)."""
    kpts, bbox, area = cols["keypoints"], cols["bbox"], cols["area"]
    iscrowd, num_kp, has_nk = cols["iscrowd"], cols["num_keypoints"], cols["has_num_keypoints"]
    ann_id, img_id, cat_id = cols["id"], cols["image_id"], cols["category_id"]
    n = len(ann_id)
    vis = kpts[:, :, 2].copy()
    num_kp[~has_nk] = np.count_nonzero(vis[~has_nk] > 0, axis=1)
    if (ann_id == 0).any():
        j = int(np.flatnonzero(ann_id == 0)[0])
        log.warning(
            "%s: annotations[%d] has id 0; pycocotools counts a match to it as a false positive. "
            "posebench counts it as a true positive (gt_id0='match'); pass gt_id0='pycocotools' "
            "to reproduce the reference.",
            file,
            j,
        )
    if (ann_id < 0).any():
        j = int(np.flatnonzero(ann_id < 0)[0])
        log.warning(
            "%s: annotations[%d] has a negative id; xtcocotools counts a match to it as a false "
            "positive, pycocotools as a true positive (gt_negative_id='xtcocotools' is the "
            "crowdpose default, 'match' the coco default).",
            file,
            j,
        )
    poses = PoseSet(
        image_id=img_id,
        keypoints=np.ascontiguousarray(kpts[:, :, :2]),
        visibility=vis,
        score=np.full(n, np.nan),
        bbox=bbox,
        area=area,
        iscrowd=iscrowd,
        num_keypoints=num_kp,
        ann_id=ann_id,
        category_id=cat_id,
        extra={"has_num_keypoints": has_nk},
    )
    return CocoGroundTruth(
        path=file, images=images, poses=poses, categories=categories, num_joints=k
    )


def _gt_columns_strict(
    anns: list[Any],
    k: int,
    image_ids: set[int],
    cat_ids: set[int],
    file: str,
    *,
    nk_max: int | None = None,
) -> dict[str, np.ndarray]:
    """Annotation columns, validated record by record (raises on the first problem)."""
    n = len(anns)
    kpts = np.zeros((n, k, 3))
    bbox = np.full((n, 4), np.nan)
    area = np.full(n, np.nan)
    iscrowd = np.zeros(n, bool)
    num_kp = np.zeros(n, np.int64)
    has_nk = np.zeros(n, bool)
    ann_id = np.zeros(n, np.int64)
    img_id = np.zeros(n, np.int64)
    cat_id = np.zeros(n, np.int64)
    seen: dict[int, int] = {}
    for i, a in enumerate(anns):
        rec = f"annotations[{i}]"
        if not isinstance(a, dict):
            raise InputError(f"expected an object, got {json_type(a)}", file=file, record=rec)
        aid = _unique_id(a, seen, i, file=file, table="annotations")
        iid = _check_int(
            _require(a, "image_id", file=file, record=rec), file=file, record=rec, field="image_id"
        )
        if iid not in image_ids:
            raise InputError(
                f"image id {iid} is not in 'images'", file=file, record=rec, field="image_id"
            )
        cid = _check_int(
            _require(a, "category_id", file=file, record=rec),
            file=file,
            record=rec,
            field="category_id",
        )
        if cid not in cat_ids:
            raise InputError(
                f"category id {cid} is not in 'categories'",
                file=file,
                record=rec,
                field="category_id",
            )
        kp = _number_list(
            _require(a, "keypoints", file=file, record=rec), 3 * k, file=file, record=rec,
            field="keypoints", what=f"{k} keypoints x (x, y, v)",
        )  # fmt: skip
        kpts[i] = np.asarray(kp).reshape(k, 3)
        if "bbox" in a:
            bbox[i] = _check_box(
                _number_list(a["bbox"], 4, file=file, record=rec, field="bbox", what="x, y, w, h"),
                file=file,
                record=rec,
            )
        if "area" in a:
            area[i] = _check_number(a["area"], file=file, record=rec, field="area", nonneg=True)
        if "iscrowd" in a:
            ic = a["iscrowd"]
            if isinstance(ic, bool):
                rules.tolerate(
                    "boolean",
                    InputError(f"expected 0 or 1, got boolean {str(ic).lower()}", file=file,
                               record=rec, field="iscrowd"),
                )  # fmt: skip
            elif ic not in (0, 1) or isinstance(ic, float | str):
                raise InputError(
                    f"expected 0 or 1, got {ic!r}", file=file, record=rec, field="iscrowd"
                )
            iscrowd[i] = bool(ic)
        if "num_keypoints" in a:
            nk = _check_int(a["num_keypoints"], file=file, record=rec, field="num_keypoints")
            if nk < 0:
                raise InputError(
                    f"expected >= 0, got {nk}", file=file, record=rec, field="num_keypoints"
                )
            if nk > (k if nk_max is None else nk_max):
                rules.tolerate(
                    "num-keypoints",
                    InputError(f"{nk} keypoints labelled but the skeleton has {k}", file=file,
                               record=rec, field="num_keypoints"),
                )  # fmt: skip
            num_kp[i] = nk
            has_nk[i] = True
        ann_id[i], img_id[i], cat_id[i] = aid, iid, cid
    return {
        "keypoints": kpts, "bbox": bbox, "area": area, "iscrowd": iscrowd,
        "num_keypoints": num_kp, "has_num_keypoints": has_nk, "id": ann_id,
        "image_id": img_id, "category_id": cat_id,
    }  # fmt: skip


_NUMBER_TYPES = frozenset({int, float})


def _gt_columns_fast(
    anns: list[Any], k: int, image_ids: np.ndarray, cat_ids: set[int], *, nk_max: int | None = None
) -> dict[str, np.ndarray] | None:
    """Annotation columns of a well-formed file with whole-column checks, or None when any check
    fails (the strict reader then names the record)."""
    n = len(anns)
    get = operator.itemgetter
    try:
        if not all(type(a) is dict for a in anns):
            return None
        ann_id = np.array(list(map(get("id"), anns)))
        img_id = np.array(list(map(get("image_id"), anns)))
        cat_id = np.array(list(map(get("category_id"), anns)))
        kp_lists = list(map(get("keypoints"), anns))
        if n and not all(c.dtype.kind == "i" for c in (ann_id, img_id, cat_id)):
            return None
        for col in ("id", "image_id", "category_id"):  # no boolean among the ints
            if not set(map(type, map(get(col), anns))) <= {int}:
                return None
        if not all(type(x) is list and len(x) == 3 * k for x in kp_lists):
            return None
        if not set(map(type, itertools.chain.from_iterable(kp_lists))) <= _NUMBER_TYPES:
            return None
        kpts = np.fromiter(itertools.chain.from_iterable(kp_lists), np.float64, n * 3 * k)
        kpts = kpts.reshape(n, k, 3)
        has_bbox = np.fromiter(("bbox" in a for a in anns), bool, n)
        bbox = np.full((n, 4), np.nan)
        if has_bbox.any():
            bbs = [a["bbox"] for a in itertools.compress(anns, has_bbox)]
            if not all(type(b) is list and len(b) == 4 for b in bbs):
                return None
            if not set(map(type, itertools.chain.from_iterable(bbs))) <= _NUMBER_TYPES:
                return None
            bbox[has_bbox] = np.array(bbs, dtype=np.float64).reshape(-1, 4)
        area = np.array([a.get("area", np.nan) for a in anns], dtype=np.float64).reshape(n)
        if not set(type(a.get("area", 0.0)) for a in anns) <= _NUMBER_TYPES:
            return None
        crowd_vals = [a.get("iscrowd", 0) for a in anns]
        if not set(map(type, crowd_vals)) <= {int} or not set(crowd_vals) <= {0, 1}:
            return None
        has_nk = np.fromiter(("num_keypoints" in a for a in anns), bool, n)
        nk_vals = [a.get("num_keypoints", 0) for a in anns]
        if not set(map(type, nk_vals)) <= {int}:
            return None
        num_kp = np.array(nk_vals, dtype=np.int64).reshape(n)
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    if n == 0:
        ann_id = img_id = cat_id = np.zeros(0, np.int64)
    if (
        len(unique(ann_id)) != n
        or (num_kp < 0).any()
        or (num_kp > (k if nk_max is None else nk_max)).any()
    ):
        return None
    if (bbox[has_bbox][:, 2:] < 0).any():
        return None
    if not isin(img_id, image_ids).all() or not isin(cat_id, list(cat_ids)).all():
        return None
    if not (np.isfinite(kpts).all() and np.isfinite(bbox[has_bbox]).all()):
        return None
    if not (np.isnan(area) | (np.isfinite(area) & (area >= 0))).all():
        return None
    if np.isnan(area).any() and any("area" in a and a["area"] != a["area"] for a in anns):
        return None  # an explicit NaN area (not a missing one)
    return {
        "keypoints": kpts, "bbox": bbox, "area": area,
        "iscrowd": np.array(crowd_vals, dtype=bool).reshape(n),
        "num_keypoints": num_kp, "has_num_keypoints": has_nk,
        "id": ann_id.astype(np.int64), "image_id": img_id.astype(np.int64),
        "category_id": cat_id.astype(np.int64),
    }  # fmt: skip


def _read_images(images: list[Any], file: str) -> ImageTable:
    n = len(images)
    ids = np.zeros(n, np.int64)
    names = np.full(n, "", dtype=object)
    width = np.zeros(n, np.int64)
    height = np.zeros(n, np.int64)
    crowd = np.full(n, np.nan)
    seen: dict[int, int] = {}
    for i, im in enumerate(images):
        rec = f"images[{i}]"
        if not isinstance(im, dict):
            raise InputError(f"expected an object, got {json_type(im)}", file=file, record=rec)
        iid = _unique_id(im, seen, i, file=file, table="images")
        ids[i] = iid
        fn = im.get("file_name", "")
        names[i] = fn if isinstance(fn, str) else ""
        for key, col in (("width", width), ("height", height)):
            if key in im:
                col[i] = _check_int(im[key], file=file, record=rec, field=key)
        if "crowdIndex" in im:
            crowd[i] = _check_number(
                im["crowdIndex"], file=file, record=rec, field="crowdIndex", nonneg=True
            )
    return ImageTable(id=ids, file=names, width=width, height=height, crowd_index=crowd)


# ----------------------------------------------------------------------------- results


def read_results(
    path: str | Path,
    gt: CocoGroundTruth | None = None,
    *,
    num_joints: int | None = None,
    keypoint_scores: bool = True,
) -> PoseSet:
    """Read a COCO keypoint results file: a JSON array of ``{image_id, category_id, keypoints,
    score[, bbox]}``.

    Args:
        path: the file (``.json`` / ``.json.gz``).
        gt: when given, image and category ids are checked against it and K is taken from it.
        num_joints: K when no ``gt`` is given (default: from the first record).
        keypoint_scores: False: leave out the per-keypoint scores (``keypoint_scores`` None), a
            third less memory, for metrics that never read them (COCO-mode OKS: pycocotools
            ignores them; CrowdPose's zero-score rule does read them).

    Returns:
        A PoseSet with ``keypoints`` (N, K, 2), ``keypoint_scores`` (N, K), ``score`` (N,),
        ``bbox`` (N, 4) (NaN rows where a record has none), ``ann_id`` = 1..N in file order and
        ``extra["has_bbox"]`` (N,) bool.
    """
    file = str(path)
    k = gt.num_joints if gt is not None else num_joints
    # The compiled streaming reader first (bytes to columns, the file never held whole); it
    # returns None on anything irregular, and the validating path below then decides.
    cols = fastjson.read_columns(path, k, scores=keypoint_scores) if k else None
    if cols is not None:
        return _finish_results(cols, gt, file)
    data = read_bytes(path)
    if k and fastjson.available():
        cols = fastjson.parse_bytes(data, k, scores=keypoint_scores)  # gzip-compressed files
    if cols is None and len(data) > PARALLEL_PARSE_BYTES and k is not None:
        cols = _parse_parallel(data, k)
    if cols is None and k is not None:
        cols = _columns_simdjson(data, k)
    if cols is None:
        records = parse_json(data, file=file, duplicate_keys="unchecked")
        if not isinstance(records, list):
            raise InputError(
                f"top level is {json_type(records)}; a results file is an array of objects",
                file=file,
            )
        if k is None:
            first = records[0] if records else None
            if isinstance(first, dict) and isinstance(first.get("keypoints"), list):
                kps = first["keypoints"]
                if len(kps) % 3 or not all(_is_number(x) for x in kps):
                    raise InputError(
                        f"expected a flat list of 3K numbers x1, y1, s1, x2, ... (K keypoints), "
                        f"got {len(kps)} elements"
                        + ("" if all(_is_number(x) for x in kps) else " that are not all numbers"),
                        file=file,
                        record="results[0]",
                        field="keypoints",
                    )
                k = len(kps) // 3
            elif records:
                _strict_results(records[:1], 0, file)  # raises, naming what is wrong in results[0]
                k = 0
            else:
                k = 0
        cols = _columns_fast(records, k, data.count(b'"'), _no_literals(data))
        if cols is None:
            where = None
            if may_have_duplicate_keys(data, records):  # cheap; the exact search is slow
                where = find_duplicate_key(data, file=file, root="results")
            if where is not None:
                rules.tolerate(
                    "duplicate-key",
                    InputError(f"duplicate key {where[1]!r} in one object (a JSON reader would "
                               "silently keep only one of the values)", file=file,
                               record=where[0], field=where[1]),
                )  # fmt: skip
            cols = _strict_results(records, k, file)
        del records
    return _finish_results(cols, gt, file)


def _finish_results(cols: dict[str, np.ndarray], gt: CocoGroundTruth | None, file: str) -> PoseSet:
    poses = _poses_from_columns(cols, int(cols["keypoints"].shape[1]))
    if len(poses) == 0:
        rules.tolerate(
            "no-detections",
            InputError("no detections: the results array is empty (every AP would be 0)",
                       file=file),
        )  # fmt: skip
    if gt is not None:
        poses = check_results_against_gt(poses, gt, file=file)
    return poses


def read_gt_and_results(
    gt_path: str | Path, pred_path: str | Path, *, cache: bool = False, keypoint_scores: bool = True
) -> tuple[CocoGroundTruth, PoseSet, float]:
    """:func:`read_gt` and :func:`read_results` together, the results parsed in a second thread
    while the ground truth loads (the compiled parser releases the GIL; K is taken from the
    results file's first record and checked against the ground truth afterwards).

    Returns:
        ``(gt, predictions, seconds until the ground truth was ready)``. Identical to the two
        calls in sequence: whenever the overlap cannot be used, they are what runs.
    """
    t0 = time.perf_counter()
    k_guess = fastjson.peek_k(pred_path) if fastjson.available() else None
    if not k_guess:
        gt = read_gt(gt_path, cache=cache)
        dt = read_results(pred_path, gt, keypoint_scores=keypoint_scores)
        return gt, dt, time.perf_counter() - t0
    stop = fastjson.Stop()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="posebench-results") as pool:
        fut = pool.submit(fastjson.read_columns, pred_path, k_guess, stop, keypoint_scores)
        try:
            gt = read_gt(gt_path, cache=cache)
        except BaseException:
            stop.set()
            raise
        t_gt = time.perf_counter() - t0
        cols = fut.result()
    if cols is not None and gt.num_joints == k_guess:
        return gt, _finish_results(cols, gt, str(pred_path)), t_gt
    del cols
    return gt, read_results(pred_path, gt, keypoint_scores=keypoint_scores), t_gt


def _no_literals(data: bytes) -> bool:
    """No ``true``/``false``/``null`` anywhere in the text (outside strings they are the only
    JSON values that are neither numbers, strings, arrays nor objects)."""
    return b"true" not in data and b"false" not in data and b"null" not in data


#: an array directly inside an array (whitespace allowed between the brackets)
_NESTED_ARRAY = re.compile(rb"\[\s*\[")


def _nbytes(buf: Any) -> int:
    return memoryview(buf).nbytes


def _columns_simdjson(
    data: bytes, k: int, out: memoryview | None = None
) -> dict[str, np.ndarray] | None:
    """Columns straight from simdjson's parse tree, or None when simdjson is missing or anything
    is irregular (the caller then takes the validating path).

    Keypoints and boxes are copied out as raw float64 buffers (``as_buffer``), so no Python float
    is created for them; ``as_buffer`` refuses anything but numbers, which is the type check.
    With ``out``, the (N, K, 3) keypoint block is written there (exactly N*K*3 doubles) and the
    returned ``keypoints`` is None.
    """
    try:
        import simdjson
    except ImportError:
        return None
    try:
        parser = simdjson.Parser()
        doc = parser.parse(data)
        if not isinstance(doc, simdjson.Array):
            return None
        recs: list[Any] = list(doc)
        n = len(recs)
        # A record that is not an object raises TypeError on the first lookup.
        kp_bufs: list[Any] = [r["keypoints"].as_buffer(of_type="d") for r in recs]
        if not all(_nbytes(b) == 24 * k for b in kp_bufs):
            return None
        img_l = [r["image_id"] for r in recs]
        cat_l = [r["category_id"] for r in recs]
        score_l = [r["score"] for r in recs]
        if not (set(map(type, img_l)) <= {int} and set(map(type, cat_l)) <= {int}):
            return None
        if not set(map(type, score_l)) <= {int, float}:
            return None
        has_bbox = np.fromiter(("bbox" in r for r in recs), bool, n)
        # No duplicate key (simdjson's len() counts a repeated key twice, its lookup returns the
        # first value, orjson's the last). Each record holds at least the four fields and its
        # bbox, so a total of exactly that proves it; extra keys (mmpose's center, scale) need
        # a look at each record's keys.
        n_box = int(has_bbox.sum())
        exact = sum(map(len, recs)) == 4 * n + n_box
        if not exact and not all(len(r) == len(set(r.keys())) for r in recs):
            return None
        # as_buffer flattens nested arrays: [[x, y, v], ...] (or 3K one-element arrays) must not
        # pass as 3K numbers. One array per keypoints/bbox plus the outer one prove there is no
        # nesting; otherwise (extra array fields, a '[' in a string) no array may sit directly in
        # another anywhere, or the orjson path, which sees the nesting, takes the file.
        if data.count(b"[") != 1 + n + n_box and _NESTED_ARRAY.search(data) is not None:
            return None
        bbox = np.full((n, 4), np.nan)
        if has_bbox.any():
            bb_bufs: list[Any] = [
                r["bbox"].as_buffer(of_type="d") for r in itertools.compress(recs, has_bbox)
            ]
            if not all(_nbytes(b) == 32 for b in bb_bufs):
                return None
            bbox[has_bbox] = np.frombuffer(b"".join(bb_bufs), np.float64).reshape(-1, 4)
        joined = b"".join(kp_bufs)
        del kp_bufs, recs, doc
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError):
        return None
    try:
        score = np.array(score_l, dtype=np.float64).reshape(n)
        img_a = np.array(img_l, dtype=np.int64).reshape(n)
        cat_a = np.array(cat_l, dtype=np.int64).reshape(n)
    except (OverflowError, ValueError):  # an id beyond int64: the strict reader names it
        return None
    kp: np.ndarray | None
    if out is not None:
        if out.nbytes != len(joined):
            return None
        out[:] = joined
        kp_check = np.frombuffer(out, np.float64)
        kp = None
    else:
        kp = kp_check = np.frombuffer(joined, np.float64).reshape(n, k, 3)
    if not (np.isfinite(kp_check).all() and np.isfinite(score).all() and (score >= 0).all()):
        return None
    if not np.isfinite(bbox[has_bbox]).all() or (bbox[has_bbox][:, 2:] < 0).any():
        return None
    cols: dict[str, np.ndarray] = {
        "image_id": img_a,
        "category_id": cat_a,
        "score": score,
        "bbox": bbox,
        "has_bbox": has_bbox,
    }
    if kp is not None:
        cols["keypoints"] = kp
    return cols


def _parse_parallel(data: bytes, k: int) -> dict[str, np.ndarray] | None:
    """Parse the two halves of a results array in two processes (fork), or None when simdjson is
    missing, the layout is not a plain array of flat objects, or anything else is off (the
    caller then takes the ordinary path, which produces precise errors).

    Both processes write their keypoints straight into one shared anonymous mapping at offsets
    known in advance (the count of ``"keypoints"`` keys in each half), so nothing large is
    pickled or concatenated.
    """
    if not hasattr(os, "fork") or (os.cpu_count() or 1) < 2:
        return None
    try:
        import simdjson  # noqa: F401
    except ImportError:
        return None
    body = data.strip()
    if body[:1] != b"[" or body[-1:] != b"]":
        return None
    cut = body.find(b"},", len(body) // 2)
    if cut < 0:
        return None
    # Each half must parse as an array on its own; a cut anywhere but between two top-level
    # records leaves an unbalanced half and the parse fails, so validity implies a correct cut.
    first = body[: cut + 1] + b"]"
    second = b"[" + body[cut + 2 :]
    n1, n2 = first.count(b'"keypoints"'), second.count(b'"keypoints"')
    rec = 24 * k
    shared = mmap.mmap(-1, max((n1 + n2) * rec, 1))
    view = memoryview(shared)
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: parse the second half, send the small columns, exit without cleanup
        try:
            os.close(rfd)
            cols = _columns_simdjson(second, k, out=view[n1 * rec : (n1 + n2) * rec])
            payload = pickle.dumps(cols, protocol=5)
            with os.fdopen(wfd, "wb") as w:
                w.write(payload)
        finally:
            os._exit(0)
    os.close(wfd)
    try:
        cols_a = _columns_simdjson(first, k, out=view[: n1 * rec])
    finally:
        with os.fdopen(rfd, "rb") as r:
            payload = r.read()
        os.waitpid(pid, 0)
    try:
        cols_b = pickle.loads(payload) if payload else None  # our own child's bytes, not input data
    except Exception:
        return None
    if cols_a is None or cols_b is None:
        return None
    out = {name: np.concatenate([cols_a[name], cols_b[name]]) for name in cols_a}
    out["keypoints"] = np.frombuffer(shared, np.float64, count=(n1 + n2) * 3 * k).reshape(-1, k, 3)
    return out


_RESULT_FIELDS = ("image_id", "category_id", "keypoints", "score")


def _columns_fast(
    records: list[Any], k: int, quote_count: int, no_literals: bool
) -> dict[str, np.ndarray] | None:
    """Columns of a regular results array, or None when any record needs a closer look.

    Checks, all vectorised: every record is an object with the four fields; no string values
    and no duplicate key (the number of quote characters in the file equals twice the number of
    keys the parser kept); no ``true``/``false``/``null`` in the text (``no_literals``); ids
    integral and within int64; keypoints exactly 3K long; everything finite; scores
    non-negative; box sizes non-negative.
    """
    n = len(records)
    if not no_literals:
        return None
    try:
        if not all(type(r) is dict for r in records):
            return None
        n_keys = sum(map(len, records))
        if quote_count != 2 * n_keys:
            return None
        kp_lists = list(map(operator.itemgetter("keypoints"), records))
        if not all(type(x) is list for x in kp_lists):
            return None
        lens = np.fromiter(map(len, kp_lists), np.int64, n)
        if n and (lens != 3 * k).any():
            return None
        kp = np.fromiter(itertools.chain.from_iterable(kp_lists), np.float64, n * 3 * k)
        score = np.fromiter(map(operator.itemgetter("score"), records), np.float64, n)
        img = np.array(list(map(operator.itemgetter("image_id"), records)))
        cat = np.array(list(map(operator.itemgetter("category_id"), records)))
        has_bbox = np.fromiter(("bbox" in r for r in records), bool, n)
        bbox = np.full((n, 4), np.nan)
        if has_bbox.any():
            bb_lists = [r["bbox"] for r in itertools.compress(records, has_bbox)]
            if not all(type(b) is list and len(b) == 4 for b in bb_lists):
                return None
            if not set(map(type, itertools.chain.from_iterable(bb_lists))) <= _NUMBER_TYPES:
                return None  # [[x], [y], [w], [h]] would reshape silently
            bbox[has_bbox] = np.array(bb_lists, dtype=np.float64).reshape(-1, 4)
    except (KeyError, TypeError, ValueError):
        return None
    if n and (img.dtype.kind != "i" or cat.dtype.kind != "i"):
        return None
    if not (np.isfinite(kp).all() and np.isfinite(score).all() and (score >= 0).all()):
        return None
    if not np.isfinite(bbox[has_bbox]).all() or (bbox[has_bbox][:, 2:] < 0).any():
        return None
    return {
        "image_id": img.astype(np.int64).reshape(n),
        "category_id": cat.astype(np.int64).reshape(n),
        "keypoints": kp.reshape(n, k, 3),
        "score": score,
        "bbox": bbox,
        "has_bbox": has_bbox,
    }


def _strict_results(records: list[Any], k: int, file: str) -> dict[str, np.ndarray]:
    """Record-by-record validation; raises on the first problem, naming record and field."""
    n = len(records)
    kp = np.zeros((n, k, 3))
    score = np.zeros(n)
    img = np.zeros(n, np.int64)
    cat = np.zeros(n, np.int64)
    bbox = np.full((n, 4), np.nan)
    has_bbox = np.zeros(n, bool)
    for i, r in enumerate(records):
        rec = f"results[{i}]"
        if not isinstance(r, dict):
            raise InputError(f"expected an object, got {json_type(r)}", file=file, record=rec)
        for key in _RESULT_FIELDS:
            if key not in r:
                raise InputError("missing field", file=file, record=rec, field=key)
        img[i] = _check_int(r["image_id"], file=file, record=rec, field="image_id")
        cat[i] = _check_int(r["category_id"], file=file, record=rec, field="category_id")
        kp[i] = np.asarray(
            _number_list(r["keypoints"], 3 * k, file=file, record=rec, field="keypoints",
                         what=f"{k} keypoints x (x, y, score)")
        ).reshape(k, 3)  # fmt: skip
        score[i] = _check_number(r["score"], file=file, record=rec, field="score")
        if score[i] < 0:
            raise InputError(f"negative score {r['score']!r}", file=file, record=rec, field="score")
        if "bbox" in r:
            bbox[i] = _check_box(
                _number_list(r["bbox"], 4, file=file, record=rec, field="bbox", what="x, y, w, h"),
                file=file,
                record=rec,
            )
            has_bbox[i] = True
    return {
        "image_id": img,
        "category_id": cat,
        "keypoints": kp,
        "score": score,
        "bbox": bbox,
        "has_bbox": has_bbox,
    }


def _poses_from_columns(cols: dict[str, np.ndarray], k: int) -> PoseSet:
    kp = cols["keypoints"]
    n = len(kp)
    if kp.shape[2] == 2:  # the compiled reader: (N, K, 2) and (N, K) (or no) keypoint scores
        xy, kp_scores = kp, cols.get("keypoint_scores")
    else:  # strided views into the (N, K, 3) block: no copy of the largest arrays
        xy, kp_scores = kp[:, :, :2], kp[:, :, 2]
    return PoseSet(
        image_id=cols["image_id"],
        keypoints=xy,
        keypoint_scores=kp_scores,
        score=cols["score"],
        bbox=cols["bbox"],
        area=np.full(n, np.nan),
        iscrowd=np.zeros(n, bool),
        num_keypoints=np.full(n, k, np.int64),
        ann_id=np.arange(1, n + 1, dtype=np.int64),
        category_id=cols["category_id"],
        extra={"has_bbox": cols["has_bbox"]},
    )


def check_results_against_gt(poses: PoseSet, gt: CocoGroundTruth, *, file: str) -> PoseSet:
    """``poses`` when image ids exist in the ground truth and categories are known.

    An unknown image id is always an error (pycocotools' ``loadRes`` asserts it too); an unknown
    category is an error, or under ``--lenient`` the detection is dropped, as pycocotools'
    ``COCOeval`` never looks at it.
    """
    if len(poses) == 0:
        return poses
    known = isin(poses.image_id, gt.images.id)
    if not known.all():
        bad = np.flatnonzero(~known)
        ids = list(dict.fromkeys(poses.image_id[bad].tolist()))
        shown = ", ".join(map(str, ids[:5])) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
        raise InputError(
            f"{len(ids)} image id(s) not in the ground truth {gt.path}: {shown}",
            file=file,
            record=f"results[{int(bad[0])}]",
            field="image_id",
        )
    cats = isin(poses.category_id, np.asarray(gt.category_ids, dtype=np.int64))
    if not cats.all():
        i = int(np.flatnonzero(~cats)[0])
        rules.tolerate(
            "unknown-category",
            InputError(
                f"unknown category {int(poses.category_id[i])}; "
                f"the ground truth has {list(gt.category_ids)}",
                file=file,
                record=f"results[{i}]",
                field="category_id",
            ),
        )
        return poses.take(np.flatnonzero(cats))
    return poses


def results_records(poses: PoseSet) -> list[dict[str, Any]]:
    """COCO results records (plain Python) for a prediction PoseSet."""
    n, k = len(poses), poses.num_joints
    scores = poses.keypoint_scores if poses.keypoint_scores is not None else np.ones((n, k))
    trip = np.concatenate([poses.keypoints[:, :, :2], scores[:, :, None]], axis=2).reshape(n, 3 * k)
    has_bbox = poses.has_bbox()
    out = []
    for i in range(n):
        r: dict[str, Any] = {
            "image_id": int(poses.image_id[i]),
            "category_id": int(poses.category_id[i]),
            "keypoints": trip[i].tolist(),
            "score": float(poses.score[i]),
        }
        if has_bbox[i]:
            r["bbox"] = poses.bbox[i].tolist()
        out.append(r)
    return out


def write_results(path: str | Path, poses: PoseSet) -> None:
    """Write predictions as a COCO results JSON (``.gz`` compresses), atomically."""
    dump_json(results_records(poses), Path(path))
