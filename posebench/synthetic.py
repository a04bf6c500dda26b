"""Seeded synthetic COCO-format keypoint ground truth and results, for parity tests and benchmarks.

``make_keypoint_dataset`` returns a ground-truth dataset and a results list as plain JSON-ready
Python objects (dicts, lists, ints, floats, strings), in the layout of COCO ``person_keypoints``
files and of a submitted keypoint results file. The data is made to hit every branch of the
reference OKS evaluators (pycocotools, xtcocotools, faster-coco-eval, hotcoco), not to look like
real people:

Ground truth
    - images of several sizes with non-contiguous, unsorted ids; about 45% hold no person, a few
      are crowded (10-30 persons);
    - persons of every COCO area range (small < 32², medium 32²-96², large > 96²); ``area`` is a
      plausible segment area (0.5-0.8 of the box), the box encloses the whole pose (clipped to the
      image), a hexagon inside the box stands in for the segmentation;
    - keypoints labelled in part, ``v`` in {0, 1, 2}; unlabelled ones are ``[0, 0, 0]``; joints
      outside the image are never labelled; GT coordinates are integers as in COCO;
    - non-crowd persons with no labelled keypoint (``num_keypoints == 0``; the evaluators ignore
      them), more often small ones;
    - crowd regions (``iscrowd == 1``), some with labelled keypoints and some without (OKS against
      them then falls back to pycocotools' doubled-box distance);
    - ``crowdpose14`` only: ``images[i]["crowdIndex"]`` in [0, 1] covering the three CrowdPose
      buckets (< 0.2, 0.2-0.8, >= 0.8, boundaries included), and ``num_keypoints`` counting the 12
      limb joints with ``v > 0`` (head_top and neck excluded) as CrowdPose does; some persons have
      only head/neck labelled, hence ``num_keypoints == 0`` with visible keypoints (xtcocotools
      ``keypoints_crowd`` reads ``num_keypoints``, pycocotools counts ``v > 0``).

Results (``{image_id, category_id, keypoints, score[, bbox]}``)
    - per detected person, keypoints = true pose + Gaussian noise scaled like OKS
      (per-axis std ``t * sqrt(area) * 2 * sigma_k``, so a joint's expected OKS is
      ``1 / (1 + t²)``), with a spread of qualities ``t`` and scores that follow quality loosely;
    - misses, duplicates of a person (lower or *equal* score), left/right swaps, false positives
      near a person and anywhere in the image, detections inside crowd regions, detections on
      images without persons, some images with no detection at all;
    - the detection count per image is over-dispersed around ``dets_per_image``: many images have
      more than 20 (pycocotools keeps the 20 best per image) and some more than 40;
    - score ties: about 30% of scores rounded to 2 decimals, some exact copies of another
      detection's score (mostly on other images), duplicates with their original's score;
    - about 2% of detections with every per-keypoint score 0 (xtcocotools drops those,
      pycocotools keeps them);
    - coordinates as floats (2 decimals, a few at full precision) with ~8% of detections in
      integers, or all integers with ``int_coords=True``;
    - ``bbox`` per the ``bbox`` option (see ``make_keypoint_dataset``).

Everything comes from one ``np.random.default_rng(seed)``: the same arguments give the same
objects. 5000 images (~140k detections) take about 2 s, writing them as JSON about 3 s.
"""

from __future__ import annotations

import gc
import json
import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from posebench.skeletons import COCO17, CROWDPOSE14, Skeleton

__all__ = ["BBoxMode", "SkeletonName", "make_keypoint_dataset", "write_dataset"]

SkeletonName = Literal["coco17", "crowdpose14"]
BBoxMode = Literal["always", "never", "mixed"]

_F = npt.NDArray[np.float64]
_I = npt.NDArray[np.int64]

_SKELETONS: dict[str, Skeleton] = {"coco17": COCO17, "crowdpose14": CROWDPOSE14}

# Upright person facing the camera, in a unit box: x from the image's left, y from the top.
_TEMPLATE: dict[str, tuple[float, float]] = {
    "nose": (0.50, 0.08), "left_eye": (0.53, 0.06), "right_eye": (0.47, 0.06),
    "left_ear": (0.57, 0.07), "right_ear": (0.43, 0.07), "head_top": (0.50, 0.00),
    "neck": (0.50, 0.17),
    "left_shoulder": (0.70, 0.20), "right_shoulder": (0.30, 0.20),
    "left_elbow": (0.78, 0.38), "right_elbow": (0.22, 0.38),
    "left_wrist": (0.82, 0.52), "right_wrist": (0.18, 0.52),
    "left_hip": (0.62, 0.53), "right_hip": (0.38, 0.53),
    "left_knee": (0.62, 0.75), "right_knee": (0.38, 0.75),
    "left_ankle": (0.62, 0.96), "right_ankle": (0.38, 0.96),
}  # fmt: skip
# Per-joint pose variation (unit-box std): extremities move most.
_JITTER: dict[str, float] = {
    "nose": 0.02, "left_eye": 0.02, "right_eye": 0.02, "left_ear": 0.02, "right_ear": 0.02,
    "head_top": 0.02, "neck": 0.02, "left_shoulder": 0.03, "right_shoulder": 0.03,
    "left_elbow": 0.08, "right_elbow": 0.08, "left_wrist": 0.12, "right_wrist": 0.12,
    "left_hip": 0.03, "right_hip": 0.03, "left_knee": 0.05, "right_knee": 0.05,
    "left_ankle": 0.07, "right_ankle": 0.07,
}  # fmt: skip
_IMAGE_SIZES = np.array(
    [(640, 480), (480, 640), (640, 427), (427, 640), (640, 360), (500, 375), (640, 640)],
    dtype=np.int64,
)
# CrowdPose: head_top and neck (the last two joints) do not count in num_keypoints.
_CROWDPOSE_COUNTED = 12

# Shares and rates; named so that the docstring's promises can be checked against them.
_P_EMPTY_IMAGE = 0.45
_P_CROWDED_IMAGE = 0.05
_P_CROWD_REGION = 0.05
_P_SILENT_IMAGE = 0.03  # images with no detection at all
_P_ZERO_KP = {"small": 0.45, "medium": 0.15, "large": 0.05}
_P_HEAD_ONLY = 0.03  # crowdpose14: only head_top/neck labelled
_P_MISS, _P_MISS_ZERO_KP = 0.12, 0.5
_P_DUPLICATE, _P_DUP_SAME_SCORE = 0.12, 0.15
_P_NEAR_FP = 0.25
_P_SWAP = 0.05
_P_SCORE_2DEC, _P_SCORE_COPY = 0.30, 0.03
_P_ZERO_KP_SCORES = 0.02
_P_INT_ROW, _P_FULL_PRECISION_ROW = 0.08, 0.02
_P_BBOX_IN_MIXED = 0.5


def make_keypoint_dataset(
    n_images: int = 100,
    *,
    seed: int = 0,
    skeleton: SkeletonName = "coco17",
    dets_per_image: float = 28.0,
    bbox: BBoxMode = "always",
    int_coords: bool = False,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Synthetic keypoint ground truth and results in COCO JSON layout.

    Args:
        n_images: number of images (I). With I >= 5 the first images generated carry the rarest
            features for sure: an empty image with detections, a crowded image with >= 40
            detections, an image with two crowd regions (one with keypoints, one without) and a
            zero-keypoint person, an image with no detection.
        seed: seed of ``np.random.default_rng``; same arguments, same output.
        skeleton: ``"coco17"`` (K = 17) or ``"crowdpose14"`` (K = 14, adds ``crowdIndex``).
        dets_per_image: mean detection count per image. Detections of persons are made first;
            false positives fill each image up to its own over-dispersed target.
        bbox: ``"always"``: every result has ``bbox`` [x, y, w, h] (a detector box; pycocotools'
            ``loadRes`` then takes ``area`` = w * h from it); ``"never"``: none has one (the
            area then comes from the keypoints' extent); ``"mixed"``: the first result has one and
            later ones only sometimes. pycocotools and xtcocotools ``loadRes`` look only at the
            first result to pick a branch and raise KeyError on ``"mixed"``: use it only to test
            posebench.
        int_coords: every result coordinate (keypoints and bbox) an ``int``. GT keypoints are
            always ints.

    Returns:
        ``(gt, results)``. ``gt`` has ``info``, ``images`` (``id``, ``file_name``, ``width``,
        ``height``[, ``crowdIndex``]), ``annotations`` (``id``, ``image_id``, ``category_id`` 1,
        ``iscrowd``, ``keypoints`` (3K,), ``num_keypoints``, ``bbox``, ``area``,
        ``segmentation``) and ``categories`` (one ``person`` with the skeleton's keypoint names
        and 1-based limb pairs). ``results`` is a list of ``{image_id, category_id, keypoints
        (3K,), score[, bbox]}``, grouped by image in random image order, unsorted within an image.
    """
    if n_images < 0:
        raise ValueError(f"n_images must be >= 0, got {n_images}")
    if not dets_per_image >= 0:
        raise ValueError(f"dets_per_image must be >= 0, got {dets_per_image}")
    if skeleton not in _SKELETONS:
        raise ValueError(f"skeleton must be one of {sorted(_SKELETONS)}, got {skeleton!r}")
    if bbox not in ("always", "never", "mixed"):
        raise ValueError(f"bbox must be 'always', 'never' or 'mixed', got {bbox!r}")
    # Building ~10^7 small Python objects: the cyclic GC would rescan them all many times over
    # (x2.5 the run time) and none of them can form a cycle; restore the caller's GC state after.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _make(n_images, seed, skeleton, dets_per_image, bbox, int_coords)
    finally:
        if gc_was_enabled:
            gc.enable()


def _make(
    n_images: int,
    seed: int,
    skeleton: SkeletonName,
    dets_per_image: float,
    bbox: BBoxMode,
    int_coords: bool,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    sk = _SKELETONS[skeleton]
    rng = np.random.default_rng(seed)
    images = _make_images(rng, n_images, dets_per_image, crowdpose=skeleton == "crowdpose14")
    persons = _make_persons(rng, sk, images, crowdpose=skeleton == "crowdpose14")
    crowds = _make_crowd_regions(rng, sk, images)
    dets = _make_detections(rng, sk, images, persons, crowds)
    gt = _gt_json(rng, sk, images, persons, crowds, seed=seed)
    gt["info"]["generator_args"] = {
        "n_images": n_images,
        "seed": seed,
        "skeleton": skeleton,
        "dets_per_image": dets_per_image,
        "bbox": bbox,
        "int_coords": int_coords,
    }
    results = _results_json(rng, images, dets, bbox_mode=bbox, int_coords=int_coords)
    return gt, results


def write_dataset(
    directory: str | Path, gt: dict[str, Any], results: list[dict[str, Any]]
) -> tuple[Path, Path]:
    """Write ``gt`` and ``results`` as ``gt.json`` and ``results.json`` (compact) in ``directory``.

    The directory is created when missing; existing files are replaced. Returns the two paths.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = (out / "gt.json", out / "results.json")
    for path, obj in zip(paths, (gt, results), strict=True):
        tmp = path.with_name(path.name + ".tmp")
        # json.dumps + one write is ~3x faster than json.dump's chunked writes.
        tmp.write_text(json.dumps(obj, separators=(",", ":")), encoding="utf-8")
        tmp.replace(path)
    return paths


# --------------------------------------------------------------------------------------------
# images


def _make_images(
    rng: np.random.Generator, n: int, dets_per_image: float, *, crowdpose: bool
) -> dict[str, Any]:
    ids = rng.choice(max(600_000, 10 * n), size=n, replace=False).astype(np.int64) + 1
    wh = _IMAGE_SIZES[rng.integers(len(_IMAGE_SIZES), size=n)]
    empty = rng.random(n) < _P_EMPTY_IMAGE
    n_person = np.where(empty, 0, rng.geometric(0.316, size=n)).astype(np.int64)
    crowded = ~empty & (rng.random(n) < _P_CROWDED_IMAGE)
    n_person[crowded] = rng.integers(10, 31, size=int(crowded.sum()))
    n_crowd = (~empty & (rng.random(n) < _P_CROWD_REGION)).astype(np.int64)
    silent = rng.random(n) < _P_SILENT_IMAGE
    # Over-dispersed detection target: Poisson with a Gamma(2, 1/2) rate factor (mean 1).
    target = rng.poisson(
        dets_per_image / (1 - _P_SILENT_IMAGE) * rng.gamma(2.0, 0.5, size=n)
    ).astype(np.int64)
    crowd_index = np.round(rng.random(n), 2)
    if n >= 5:
        # Make the rare features certain on small sets.
        n_person[0], crowded[0], n_crowd[0], silent[0] = 0, False, 0, False
        target[0] = max(int(target[0]), 3)
        n_person[1], crowded[1], n_crowd[1], silent[1] = max(int(n_person[1]), 16), True, 0, False
        target[1] = max(int(target[1]), 45)
        n_person[2], crowded[2], n_crowd[2], silent[2] = max(int(n_person[2]), 3), False, 2, False
        silent[3] = True
        silent[4] = False
        # The three CrowdPose buckets, and both of xtcocotools' boundaries (< 0.2, < 0.8).
        crowd_index[:5] = (0.05, 0.5, 0.9, 0.2, 0.8)
    target[silent] = 0
    return {
        "n": n,
        "id": ids,
        "width": wh[:, 0].copy(),
        "height": wh[:, 1].copy(),
        "n_person": n_person,
        "crowded": crowded,
        "n_crowd": n_crowd,
        "silent": silent,
        "target": target,
        "crowd_index": crowd_index if crowdpose else None,
    }


# --------------------------------------------------------------------------------------------
# poses and persons


def _template(sk: Skeleton) -> tuple[_F, _F]:
    tpl = np.array([_TEMPLATE[name] for name in sk.keypoints], dtype=np.float64)
    jit = np.array([_JITTER[name] for name in sk.keypoints], dtype=np.float64)
    return tpl, jit


def _sample_poses(rng: np.random.Generator, sk: Skeleton, cx: _F, cy: _F, height: _F) -> _F:
    """(n, K, 2) poses of persons ``height`` px tall centred on (cx, cy), varied and rotated."""
    tpl, jit = _template(sk)
    n, k = len(cx), sk.num_keypoints
    unit = tpl[None] + rng.normal(size=(n, k, 2)) * jit[None, :, None]
    away = rng.random(n) < 0.3  # seen from the back: left joints on the image's left
    unit[away, :, 0] = 1.0 - unit[away, :, 0]
    theta = rng.normal(0.0, 0.2, size=n)
    lying = rng.random(n) < 0.05
    theta[lying] += rng.choice([-math.pi / 2, math.pi / 2], size=int(lying.sum()))
    width = height * rng.uniform(0.35, 0.6, size=n)
    lx = (unit[..., 0] - 0.5) * width[:, None]
    ly = (unit[..., 1] - 0.5) * height[:, None]
    c, s = np.cos(theta)[:, None], np.sin(theta)[:, None]
    return np.stack([cx[:, None] + c * lx - s * ly, cy[:, None] + s * lx + c * ly], axis=-1)


def _box_around(
    rng: np.random.Generator, xy: _F, w_img: _I | None = None, h_img: _I | None = None
) -> _F:
    """(n, 4) [x0, y0, x1, y1] enclosing each (n, K, 2) pose with a margin.

    Clipped to the (n,) image sizes when given; at least 1 px wide and high.
    """
    lo, hi = xy.min(axis=1), xy.max(axis=1)
    margin = (hi - lo) * rng.uniform(0.03, 0.12, size=(len(xy), 1))
    x0, y0 = lo[:, 0] - margin[:, 0], lo[:, 1] - margin[:, 1]
    x1, y1 = hi[:, 0] + margin[:, 0], hi[:, 1] + margin[:, 1]
    if w_img is not None and h_img is not None:
        x0, x1 = np.clip(x0, 0, w_img), np.clip(x1, 0, w_img)
        y0, y1 = np.clip(y0, 0, h_img), np.clip(y1, 0, h_img)
    return np.stack([x0, y0, np.maximum(x1, x0 + 1.0), np.maximum(y1, y0 + 1.0)], axis=1)


def _coco_box(xyxy: _F) -> _F:
    """[x0, y0, x1, y1] -> COCO [x, y, w, h] on a 0.01 grid, still enclosing the input box."""
    x0 = np.floor(xyxy[:, 0] * 100) / 100
    y0 = np.floor(xyxy[:, 1] * 100) / 100
    w = np.round(np.ceil(xyxy[:, 2] * 100) / 100 - x0, 2)
    h = np.round(np.ceil(xyxy[:, 3] * 100) / 100 - y0, 2)
    return np.stack([x0, y0, w, h], axis=1)


def _make_persons(
    rng: np.random.Generator, sk: Skeleton, images: dict[str, Any], *, crowdpose: bool
) -> dict[str, Any]:
    img = np.repeat(np.arange(images["n"]), images["n_person"])
    p, k = len(img), sk.num_keypoints
    w_img = images["width"][img]
    h_img = images["height"][img]
    crowded = images["crowded"][img]
    hi = np.where(crowded, 0.5, 1.1) * h_img
    lo = np.where(crowded, 16.0, 20.0)
    height = np.exp(rng.uniform(np.log(lo), np.log(hi)))
    cx = rng.uniform(0.05, 0.95, size=p) * w_img
    cy = rng.uniform(0.15, 0.85, size=p) * h_img
    true = _sample_poses(rng, sk, cx, cy, height)
    # GT coordinates are integers, as in COCO; the box encloses them and the true pose.
    gt_xy = np.rint(true)
    box = _box_around(rng, np.concatenate([true, gt_xy], axis=1), w_img, h_img)
    cbox = _coco_box(box)
    area = np.round(cbox[:, 2] * cbox[:, 3] * rng.uniform(0.5, 0.8, size=p), 2)

    inside = (
        (gt_xy[..., 0] >= 0)
        & (gt_xy[..., 0] <= w_img[:, None] - 1)
        & (gt_xy[..., 1] >= 0)
        & (gt_xy[..., 1] <= h_img[:, None] - 1)
    )
    p_zero = np.where(
        area < 32**2,
        _P_ZERO_KP["small"],
        np.where(area < 96**2, _P_ZERO_KP["medium"], _P_ZERO_KP["large"]),
    )
    zero = rng.random(p) < p_zero
    rate = rng.uniform(0.4, 1.0, size=p)
    labelled = inside & (rng.random((p, k)) < rate[:, None]) & ~zero[:, None]
    # A person not meant to be unlabelled keeps at least one labelled joint (when one is inside).
    need = ~zero & ~labelled.any(axis=1) & inside.any(axis=1)
    first_inside = np.argmax(inside, axis=1)
    labelled[need, first_inside[need]] = True
    if crowdpose:
        head_only = ~zero & (rng.random(p) < _P_HEAD_ONLY) & inside[:, -2:].any(axis=1)
        labelled[head_only, :_CROWDPOSE_COUNTED] = False
        labelled[head_only, _CROWDPOSE_COUNTED:] = inside[head_only, _CROWDPOSE_COUNTED:]
    if p >= 1 and images["n"] >= 5:
        # The third image's first person has no labelled keypoint, for sure.
        first_of_img2 = int(np.searchsorted(img, 2))
        labelled[first_of_img2] = False
    v = np.where(labelled, np.where(rng.random((p, k)) < 0.75, 2, 1), 0).astype(np.int64)
    counted = v[:, :_CROWDPOSE_COUNTED] if crowdpose else v
    return {
        "n": p,
        "img": img,
        "true": true,
        "gt_xy": np.where(labelled[..., None], gt_xy, 0.0).astype(np.int64),
        "v": v,
        "num_keypoints": (counted > 0).sum(axis=1).astype(np.int64),
        "box": cbox,
        "area": area,
    }


def _make_crowd_regions(
    rng: np.random.Generator, sk: Skeleton, images: dict[str, Any]
) -> dict[str, Any]:
    img = np.repeat(np.arange(images["n"]), images["n_crowd"])
    c, k = len(img), sk.num_keypoints
    w_img = images["width"][img].astype(np.float64)
    h_img = images["height"][img].astype(np.float64)
    w = rng.uniform(0.3, 0.8, size=c) * w_img
    h = rng.uniform(0.25, 0.6, size=c) * h_img
    x0 = rng.uniform(0.0, 1.0, size=c) * (w_img - w)
    y0 = rng.uniform(0.0, 1.0, size=c) * (h_img - h)
    cbox = _coco_box(np.stack([x0, y0, x0 + w, y0 + h], axis=1))
    area = np.round(cbox[:, 2] * cbox[:, 3] * rng.uniform(0.4, 0.7, size=c), 2)
    # Half the regions carry one labelled pose inside them (COCO has such crowd annotations).
    with_kp = rng.random(c) < 0.5
    if c >= 1 and images["n"] >= 5:
        first = int(np.searchsorted(img, 2))
        with_kp[first], with_kp[first + 1] = True, False
    pose = _sample_poses(rng, sk, x0 + w / 2, y0 + h / 2, 0.8 * h)
    xy = np.rint(pose)
    inside = (
        (xy[..., 0] >= x0[:, None])
        & (xy[..., 0] <= x0[:, None] + w[:, None])
        & (xy[..., 1] >= y0[:, None])
        & (xy[..., 1] <= y0[:, None] + h[:, None])
    )
    labelled = inside & with_kp[:, None] & (rng.random((c, k)) < 0.7)
    labelled[with_kp, 0] = inside[with_kp, 0] | ~labelled[with_kp].any(axis=1)
    v = np.where(labelled, 2, 0).astype(np.int64)
    return {
        "n": c,
        "img": img,
        "gt_xy": np.where(labelled[..., None], xy, 0.0).astype(np.int64),
        "v": v,
        "box": cbox,
        "area": area,
    }


# --------------------------------------------------------------------------------------------
# detections


def _noisy(rng: np.random.Generator, sk: Skeleton, xy: _F, scale: _F, t: _F) -> _F:
    """``xy`` (n, K, 2) plus per-axis noise of std ``t * scale * 2 * sigma_k`` (OKS units)."""
    std = t[:, None] * scale[:, None] * 2.0 * sk.oks_sigmas()[None, :]
    return xy + rng.normal(size=xy.shape) * std[..., None]


def _sigmoid(x: _F) -> _F:
    out: _F = 1.0 / (1.0 + np.exp(-x))
    return out


def _make_detections(
    rng: np.random.Generator,
    sk: Skeleton,
    images: dict[str, Any],
    persons: dict[str, Any],
    crowds: dict[str, Any],
) -> dict[str, Any]:
    k = sk.num_keypoints
    silent = images["silent"]
    p_img = persons["img"]
    p_scale = np.sqrt(persons["area"])
    p_box = persons["box"]

    # Detected persons (true positives when the person counts).
    p_miss = np.where(persons["num_keypoints"] > 0, _P_MISS, _P_MISS_ZERO_KP)
    tp_src = np.flatnonzero((rng.random(persons["n"]) >= p_miss) & ~silent[p_img])
    t_tp = np.exp(rng.normal(np.log(0.25), 0.6, size=len(tp_src)))
    tp_xy = _noisy(rng, sk, persons["true"][tp_src], p_scale[tp_src], t_tp)
    tp_score = _sigmoid(2.0 - 2.5 * t_tp + rng.normal(0.0, 0.8, size=len(tp_src)))

    # Duplicates of a detected person: another noisy copy, lower or equal score.
    dup_of = np.flatnonzero(rng.random(len(tp_src)) < _P_DUPLICATE)
    dup_src = tp_src[dup_of]
    t_dup = t_tp[dup_of] * rng.uniform(1.0, 2.5, size=len(dup_of))
    dup_xy = _noisy(rng, sk, persons["true"][dup_src], p_scale[dup_src], t_dup)
    same = rng.random(len(dup_of)) < _P_DUP_SAME_SCORE
    dup_score = np.where(same, 1.0, rng.uniform(0.3, 1.0, size=len(dup_of))) * tp_score[dup_of]

    # False positives beside a person: the pose shifted by about a box width.
    near_src = np.flatnonzero((rng.random(persons["n"]) < _P_NEAR_FP) & ~silent[p_img])
    n_near = len(near_src)
    shift = np.stack(
        [
            rng.choice([-1.0, 1.0], size=n_near)
            * rng.uniform(0.5, 1.3, size=n_near)
            * np.maximum(p_box[near_src, 2], 8.0),
            rng.uniform(-0.3, 0.3, size=n_near) * p_box[near_src, 3],
        ],
        axis=1,
    )
    near_xy = _noisy(
        rng,
        sk,
        persons["true"][near_src] + shift[:, None, :],
        p_scale[near_src],
        np.full(n_near, 0.4),
    )
    near_score = rng.beta(2.0, 5.0, size=n_near)

    # Detections of people inside crowd regions.
    c_img = crowds["img"]
    n_members = np.where(silent[c_img], 0, rng.integers(2, 7, size=crowds["n"]))
    m_src = np.repeat(np.arange(crowds["n"]), n_members)
    cb = crowds["box"][m_src]
    m_h = cb[:, 3] * rng.uniform(0.3, 0.8, size=len(m_src))
    m_xy = _sample_poses(
        rng,
        sk,
        cb[:, 0] + rng.random(len(m_src)) * cb[:, 2],
        cb[:, 1] + rng.random(len(m_src)) * cb[:, 3],
        m_h,
    )
    m_score = rng.beta(3.0, 3.0, size=len(m_src)) * 0.9

    # False positives anywhere, filling each image up to its target count.
    planned = (
        np.bincount(p_img[tp_src], minlength=images["n"])
        + np.bincount(p_img[dup_src], minlength=images["n"])
        + np.bincount(p_img[near_src], minlength=images["n"])
        + np.bincount(c_img[m_src], minlength=images["n"])
    )
    f_img = np.repeat(np.arange(images["n"]), np.maximum(images["target"] - planned, 0))
    n_far = len(f_img)
    fw = images["width"][f_img].astype(np.float64)
    fh = images["height"][f_img].astype(np.float64)
    f_h = np.exp(rng.uniform(np.log(20.0), np.log(np.maximum(fh, 21.0))))
    f_xy = _sample_poses(rng, sk, rng.random(n_far) * fw, rng.random(n_far) * fh, f_h)
    f_score = rng.beta(1.0, 8.0, size=n_far)

    xy = np.concatenate([tp_xy, dup_xy, near_xy, m_xy, f_xy])
    n = len(xy)
    img = np.concatenate([p_img[tp_src], p_img[dup_src], p_img[near_src], c_img[m_src], f_img])
    score = np.concatenate([tp_score, dup_score, near_score, m_score, f_score])
    n_true = len(tp_src) + len(dup_src)
    t_true = np.concatenate([t_tp, t_dup])

    # Per-keypoint scores: high for true detections, low for false ones.
    kp_score = rng.uniform(0.02, 0.6, size=(n, k))
    kp_score[:n_true] = np.clip(
        0.95 - 0.25 * t_true[:, None] + rng.normal(0.0, 0.12, size=(n_true, k)), 0.001, 1.0
    )

    # Left/right swaps of true detections.
    swap = np.zeros(n, dtype=np.bool_)
    swap[:n_true] = rng.random(n_true) < _P_SWAP
    perm = sk.flip_permutation()
    xy[swap] = xy[swap][:, perm]
    kp_score[swap] = kp_score[swap][:, perm]

    # Detector boxes: the GT box jittered for true detections, the pose's extent otherwise.
    box = _box_around(rng, xy)
    src = np.concatenate([tp_src, dup_src])
    g = p_box[src]
    jit = rng.normal(0.0, 0.05, size=(n_true, 4)) * np.concatenate([g[:, 2:], g[:, 2:]], axis=1)
    gx0, gy0 = g[:, 0] + jit[:, 0], g[:, 1] + jit[:, 1]
    gx1, gy1 = g[:, 0] + g[:, 2] + jit[:, 2], g[:, 1] + g[:, 3] + jit[:, 3]
    box[:n_true] = np.stack([gx0, gy0, np.maximum(gx1, gx0 + 1), np.maximum(gy1, gy0 + 1)], 1)

    # Score ties: rounding to 2 decimals, and exact copies of other detections' scores.
    r2 = rng.random(n) < _P_SCORE_2DEC
    score[r2] = np.round(score[r2], 2)
    if n >= 2:
        copy_to = np.flatnonzero(rng.random(n) < _P_SCORE_COPY)
        score[copy_to] = score[rng.integers(n, size=len(copy_to))]
    score = np.clip(score, 1e-6, 1.0)
    # Duplicates meant to tie with their original keep its final score.
    dup_rows = len(tp_src) + np.flatnonzero(same)
    score[dup_rows] = score[dup_of[same]]

    zero_scores = rng.random(n) < _P_ZERO_KP_SCORES
    kp_score = np.round(kp_score, 3)
    kp_score[zero_scores] = 0.0

    return {
        "n": n,
        "img": img,
        "xy": xy,
        "kp_score": kp_score,
        "score": score,
        "box": box,
    }


# --------------------------------------------------------------------------------------------
# JSON objects


def _gt_json(
    rng: np.random.Generator,
    sk: Skeleton,
    images: dict[str, Any],
    persons: dict[str, Any],
    crowds: dict[str, Any],
    *,
    seed: int,
) -> dict[str, Any]:
    ids = images["id"].tolist()
    image_list: list[dict[str, Any]] = [
        {"id": i, "file_name": f"{i:012d}.jpg", "width": w, "height": h}
        for i, w, h in zip(ids, images["width"].tolist(), images["height"].tolist(), strict=True)
    ]
    if images["crowd_index"] is not None:
        for rec, ci in zip(image_list, images["crowd_index"].tolist(), strict=True):
            rec["crowdIndex"] = ci

    iscrowd = np.concatenate([np.zeros(persons["n"], np.int64), np.ones(crowds["n"], np.int64)])
    img = np.concatenate([persons["img"], crowds["img"]])
    order = np.argsort(img, kind="stable")  # annotations grouped by image, persons first
    k = sk.num_keypoints
    kps = np.concatenate(
        [
            np.concatenate([persons["gt_xy"], persons["v"][..., None]], axis=2),
            np.concatenate([crowds["gt_xy"], crowds["v"][..., None]], axis=2),
        ]
    ).reshape(-1, 3 * k)
    # Crowd regions count their joints with the same rule as persons (CrowdPose: limbs only).
    counted = crowds["v"][:, :_CROWDPOSE_COUNTED] if sk.name == "crowdpose14" else crowds["v"]
    crowd_num = (counted > 0).sum(axis=1)
    num_kp = np.concatenate([persons["num_keypoints"], crowd_num])
    box = np.concatenate([persons["box"], crowds["box"]])
    area = np.concatenate([persons["area"], crowds["area"]])
    x0, y0, w, h = box.T
    seg = np.round(
        np.stack(
            [x0 + 0.25 * w, y0, x0 + 0.75 * w, y0, x0 + w, y0 + 0.5 * h,
             x0 + 0.75 * w, y0 + h, x0 + 0.25 * w, y0 + h, x0, y0 + 0.5 * h],
            axis=1,
        ),
        2,
    )  # fmt: skip
    n_ann = len(img)
    ann_ids = rng.choice(max(1_000_000, 10 * n_ann), size=n_ann, replace=False) + 1

    annotations: list[dict[str, Any]] = []
    img_ids, kp_l, nk_l, box_l, area_l, seg_l, crowd_l = (
        images["id"][img[order]].tolist(),
        kps[order].tolist(),
        num_kp[order].tolist(),
        box[order].tolist(),
        area[order].tolist(),
        seg[order].tolist(),
        iscrowd[order].tolist(),
    )
    for j in range(n_ann):
        annotations.append(
            {
                "id": int(ann_ids[j]),
                "image_id": img_ids[j],
                "category_id": 1,
                "iscrowd": crowd_l[j],
                "keypoints": kp_l[j],
                "num_keypoints": nk_l[j],
                "bbox": box_l[j],
                "area": area_l[j],
                "segmentation": [seg_l[j]],
            }
        )
    category = {
        "id": 1,
        "name": "person",
        "supercategory": "person",
        "keypoints": list(sk.keypoints),
        "skeleton": [[a + 1, b + 1] for a, b in sk.limbs],
    }
    return {
        "info": {"description": "posebench synthetic keypoint dataset", "seed": seed},
        "images": image_list,
        "annotations": annotations,
        "categories": [category],
    }


def _results_json(
    rng: np.random.Generator,
    images: dict[str, Any],
    dets: dict[str, Any],
    *,
    bbox_mode: BBoxMode,
    int_coords: bool,
) -> list[dict[str, Any]]:
    n = dets["n"]
    if n == 0:
        return []
    # Grouped by image (images in random order), random order within an image.
    img_rank = rng.permutation(images["n"])
    order = np.lexsort((rng.random(n), img_rank[dets["img"]]))
    xy = dets["xy"][order]
    kp_score = dets["kp_score"][order]
    box = dets["box"][order]
    k = xy.shape[1]

    if int_coords:
        int_row = np.ones(n, dtype=np.bool_)
        full_row = np.zeros(n, dtype=np.bool_)
    else:
        u = rng.random(n)
        int_row = u < _P_INT_ROW
        full_row = (u >= _P_INT_ROW) & (u < _P_INT_ROW + _P_FULL_PRECISION_ROW)
    xy_out = np.where(full_row[:, None, None], xy, np.round(xy, 2))
    flat = np.concatenate([xy_out, kp_score[..., None]], axis=2).reshape(n, 3 * k).tolist()
    int_rows = np.flatnonzero(int_row)
    for i, xy_i in zip(
        int_rows.tolist(), np.rint(xy[int_rows]).astype(np.int64).tolist(), strict=True
    ):
        row = flat[i]
        row[0::3] = [p[0] for p in xy_i]
        row[1::3] = [p[1] for p in xy_i]

    coco_box = np.stack([box[:, 0], box[:, 1], box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]], 1)
    box_l = np.round(coco_box, 2).tolist()
    int_box = np.rint(coco_box[int_rows])
    int_box[:, 2:] = np.maximum(int_box[:, 2:], 1)
    for i, b in zip(int_rows.tolist(), int_box.astype(np.int64).tolist(), strict=True):
        box_l[i] = b
    if bbox_mode == "always":
        has_box = np.ones(n, dtype=np.bool_)
    elif bbox_mode == "never":
        has_box = np.zeros(n, dtype=np.bool_)
    else:
        has_box = rng.random(n) < _P_BBOX_IN_MIXED
        has_box[0] = True  # pycocotools picks its loadRes branch from the first result only
    has_box_l = has_box.tolist()

    image_ids = images["id"][dets["img"][order]].tolist()
    scores = dets["score"][order].tolist()
    results: list[dict[str, Any]] = []
    for i in range(n):
        rec: dict[str, Any] = {
            "image_id": image_ids[i],
            "category_id": 1,
            "keypoints": flat[i],
            "score": scores[i],
        }
        if has_box_l[i]:
            rec["bbox"] = box_l[i]
        results.append(rec)
    return results
