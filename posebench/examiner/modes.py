"""Failure modes in words, and the check of each mode on real photos.

A mode is described by the 2D geometry of the person in the image, computed the same way for
a rendered body (its projected ground truth) and for a person of a dataset (its annotation), so
that the two can be matched:

- each arm: ``down``, ``raised`` (wrist above the shoulder) or ``above the head`` (wrist above
  every face keypoint);
- each leg: ``raised`` when the knee is above the middle of the thigh's rest length below the
  hip (knee lifted), else ``down``;
- view: ``front`` or ``back`` from the left-right order of the shoulders in the image (a person
  seen from the front has their left shoulder on the image's right), ``side`` when the shoulders
  are closer than a quarter of the torso length;
- torso: ``upright`` or ``tilted`` (more than 45 degrees from vertical), ``upside down`` when
  the hips are above the shoulders;
- occlusion: the share of the labelled keypoints that are hidden (COCO ``v = 1``), in bins
  (``none`` < 10% <= ``partly`` < 40% <= ``heavily``);
- size: the person's height as a share of the image height (``small`` < 1/3).

:func:`describe` turns the features into words ("right arm raised above the head, seen from
behind, 30% of keypoints occluded"); :func:`photo_check` finds the people of a dataset whose
annotated pose falls in the same mode (every feature of the mode that differs from an ordinary
standing person must agree) and reports the model's OKS on them against the others: the
evidence that a failure belongs to the model, not to the renderer.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from posebench.skeletons import COCO17

__all__ = ["ORDINARY", "ModeFeatures", "describe", "mode_features", "photo_check"]

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]

_K = {n: i for i, n in enumerate(COCO17.keypoints)}
_FACE = [_K[n] for n in ("nose", "left_eye", "right_eye", "left_ear", "right_ear")]

#: Feature values of an ordinary person (what a mode's description leaves out).
ORDINARY: dict[str, str] = {
    "left_arm": "down",
    "right_arm": "down",
    "left_leg": "down",
    "right_leg": "down",
    "view": "front",
    "torso": "upright",
    "occlusion": "none",
    "size": "large",
}


@dataclass(frozen=True)
class ModeFeatures:
    """Per-person discrete features (N rows) and the occluded share (N,)."""

    values: dict[str, npt.NDArray[np.object_]]
    occluded: FloatArray

    def row(self, i: int) -> dict[str, str]:
        return {k: str(v[i]) for k, v in self.values.items()}


def _lab(vis: FloatArray, *idx: int) -> npt.NDArray[np.bool_]:
    return np.asarray((vis[:, list(idx)] > 0).all(1))


def mode_features(
    keypoints: FloatArray, visibility: FloatArray, image_height: FloatArray | float
) -> ModeFeatures:
    """Features of N people.

    Args:
        keypoints: (N, 17, 2) COCO-17 pixels (y down); visibility: (N, 17) COCO flags (0 not
            labelled, 1 hidden, 2 visible); image_height: (N,) or scalar pixels.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: unlabelled people
        return _features(np.asarray(keypoints, np.float64), np.asarray(visibility, np.float64),
                         image_height)  # fmt: skip


def _features(kp: FloatArray, vis: FloatArray, image_height: FloatArray | float) -> ModeFeatures:
    n = len(kp)
    y = kp[..., 1]
    x = kp[..., 0]
    face_lab = vis[:, _FACE] > 0
    face_top = np.where(face_lab, y[:, _FACE], np.inf).min(1)
    out: dict[str, npt.NDArray[np.object_]] = {}
    sh_y = np.nanmean(np.where(vis[:, [5, 6]] > 0, y[:, [5, 6]], np.nan), 1)
    hip_y = np.nanmean(np.where(vis[:, [11, 12]] > 0, y[:, [11, 12]], np.nan), 1)
    torso = np.abs(hip_y - sh_y)
    for side in ("left", "right"):
        s, w = _K[f"{side}_shoulder"], _K[f"{side}_wrist"]
        lab = _lab(vis, s, w)
        arm = np.full(n, "down", object)
        arm[lab & (y[:, w] < y[:, s])] = "raised"
        arm[lab & (y[:, w] < face_top)] = "above the head"
        out[f"{side}_arm"] = arm
        h, k = _K[f"{side}_hip"], _K[f"{side}_knee"]
        labl = _lab(vis, h, k)
        leg = np.full(n, "down", object)
        with np.errstate(invalid="ignore"):
            leg[labl & (y[:, k] < y[:, h] + 0.35 * np.nan_to_num(torso, nan=0.0))] = "raised"
        out[f"{side}_leg"] = leg
    ls, rs = _K["left_shoulder"], _K["right_shoulder"]
    both = _lab(vis, ls, rs)
    dx = x[:, ls] - x[:, rs]
    view = np.full(n, "front", object)
    with np.errstate(invalid="ignore"):
        side_v = both & (np.abs(dx) < 0.25 * np.nan_to_num(torso, nan=np.inf))
        view[both & (dx < 0)] = "back"
        view[side_v] = "side"
    out["view"] = view
    # torso direction: shoulders' middle minus hips' middle (y down: upright points up)
    sx = np.nanmean(np.where(vis[:, [5, 6]] > 0, x[:, [5, 6]], np.nan), 1)
    hx = np.nanmean(np.where(vis[:, [11, 12]] > 0, x[:, [11, 12]], np.nan), 1)
    tor = np.full(n, "upright", object)
    with np.errstate(invalid="ignore"):
        up = hip_y - sh_y  # > 0 when the shoulders are above the hips
        ang = np.degrees(np.arctan2(np.abs(sx - hx), up))
        tor[np.isfinite(ang) & (ang > 45)] = "tilted"
        tor[np.isfinite(ang) & (ang > 135)] = "upside down"
    out["torso"] = tor
    labelled = (vis > 0).sum(1)
    hidden = (vis == 1).sum(1)
    occ = np.where(labelled > 0, hidden / np.maximum(labelled, 1), 0.0)
    ob = np.full(n, "none", object)
    ob[occ >= 0.1] = "partly"
    ob[occ >= 0.4] = "heavily"
    out["occlusion"] = ob
    ext = np.where(vis > 0, y, np.nan)
    height = np.nanmax(ext, 1) - np.nanmin(ext, 1)
    size = np.full(n, "large", object)
    size[np.nan_to_num(height / np.asarray(image_height, np.float64), nan=1.0) < 1 / 3] = "small"
    out["size"] = size
    return ModeFeatures(out, occ)


_WORDS = {
    ("left_arm", "raised"): "left arm raised",
    ("left_arm", "above the head"): "left arm raised above the head",
    ("right_arm", "raised"): "right arm raised",
    ("right_arm", "above the head"): "right arm raised above the head",
    ("left_leg", "raised"): "left knee lifted",
    ("right_leg", "raised"): "right knee lifted",
    ("view", "back"): "seen from behind",
    ("view", "side"): "seen from the side",
    ("torso", "tilted"): "torso tilted",
    ("torso", "upside down"): "upside down",
    ("size", "small"): "small in the image",
}


def describe(
    features: dict[str, str], occluded: float, params: dict[str, float] | None = None
) -> str:
    """One mode in words, e.g. ``right arm raised above the head, seen from behind, 30% of
    keypoints occluded``; scene parameters (dark light, occluder) are added when given."""
    parts = [_WORDS[(k, v)] for k, v in features.items() if (k, v) in _WORDS]
    if occluded >= 0.1:
        parts.append(f"{100 * occluded:.0f}% of keypoints occluded")
    if params:
        ow, oh = params.get("occluder.width", 0.0), params.get("occluder.height", 0.0)
        if ow * oh > 0.02:
            parts.append(f"an object covering {100 * ow * oh:.0f}% of the image")
        exp = params.get("light.exposure")
        if exp is not None and exp < 0.5:
            parts.append(f"dark (exposure {exp:.2f})")
        el = params.get("camera.elevation")
        if el is not None and el > 25:
            parts.append(f"seen from above ({el:.0f} deg)")
    return ", ".join(parts) if parts else "an ordinary standing pose seen from the front"


def photo_check(
    features: dict[str, str],
    dataset_features: ModeFeatures,
    oks: FloatArray,
    *,
    dataset: str,
    min_people: int = 3,
) -> dict[str, Any]:
    """The model's OKS on a dataset's people in the same mode as ``features`` vs the others.

    The mode's non-ordinary features must all agree; when fewer than ``min_people`` people
    match, features are dropped one by one, the most common in the dataset first (the rarest,
    most telling ones are kept longest), until enough do; when even the rarest alone has too
    few, the rarest single feature that has enough is used (``matched_on`` lists the features
    used; empty when the mode is ordinary or no feature has enough people).

    Args:
        features: the failure mode's features (:meth:`ModeFeatures.row`).
        dataset_features: features of the dataset's N people.
        oks: (N,) the model's OKS on each person (NaN: not scorable, ignored).
    """
    keys = [k for k, v in features.items() if ORDINARY.get(k) != v]
    ok = np.isfinite(oks)
    vals = dataset_features.values
    # rarest features last to be dropped: sort by how common each is in the dataset
    freq = {k: float((vals[k] == features[k])[ok].mean()) if ok.any() else 0.0 for k in keys}
    keys.sort(key=lambda k: freq[k])
    used = list(keys)
    while True:
        sel = ok.copy()
        for k in used:
            sel &= vals[k] == features[k]
        if sel.sum() >= min_people or not used:
            break
        used.pop()  # drop the most common remaining feature
    if not used and keys:
        # even the rarest feature alone has too few people: the rarest one that has enough
        count = {k: int((ok & (vals[k] == features[k])).sum()) for k in keys}
        enough = [k for k in keys if count[k] >= min_people]
        if enough:
            used = [enough[0]]  # keys are sorted rarest first
            sel = ok & (vals[used[0]] == features[used[0]])
    rest = ok & ~sel
    return {
        "dataset": dataset,
        "matched_on": {k: features[k] for k in used},
        "in_mode": int(sel.sum()),
        "rest": int(rest.sum()),
        "oks_in_mode": float(np.mean(oks[sel])) if sel.any() else None,
        "oks_rest": float(np.mean(oks[rest])) if rest.any() else None,
        "holds": bool(sel.any() and rest.any() and np.mean(oks[sel]) < np.mean(oks[rest])),
    }


def dataset_oks(
    adapter: Any, name: str, root: Any = None, *, limit: int | None = None, batch_size: int = 16
) -> tuple[ModeFeatures, FloatArray, int]:
    """Run a 2D COCO-17 adapter on a dataset and score every annotated person.

    Top-down adapters get each image's ground-truth boxes; bottom-up ones the whole image and
    each person is paired with the prediction of highest OKS. Returns the people's
    :func:`mode_features`, their OKS (N,) and the number of images.
    """
    from posebench.adapter import Batch
    from posebench.datasets import load_dataset
    from posebench.metrics.oks import oks_pairs

    ds = load_dataset(name, root, limit=limit)
    gt = ds.gt
    keep = (gt.iscrowd == 0) & (np.asarray(gt.visibility) > 0).any(1)
    gt = gt.take(np.flatnonzero(keep))
    sig = np.asarray(COCO17.oks_sigmas(), np.float64)
    vis = np.asarray(gt.visibility, np.float64)
    kp = np.asarray(gt.keypoints[..., :2], np.float64)
    area = np.asarray(gt.area, np.float64)
    bbox = np.asarray(gt.bbox, np.float64)
    oks = np.full(len(gt), np.nan)
    img_ids = np.unique(gt.image_id)
    heights = dict(zip(ds.images.id.tolist(), ds.images.height.tolist(), strict=True))
    top = bool(adapter.top_down)
    prepare = getattr(adapter, "prepare", None)
    if callable(prepare):  # adapters that replay ground truth (oracle, jitter), as the runner does
        prepare(gt, ds.skeleton, name)
    for s in range(0, len(img_ids), batch_size):
        ids = img_ids[s : s + batch_size]
        rows = [np.flatnonzero(gt.image_id == i) for i in ids]
        images = [ds.load_image(int(i)) for i in ids]
        batch = Batch(
            image_ids=ids.astype(np.int64),
            images=images,
            boxes=[bbox[r] for r in rows] if top else None,
            box_scores=[np.ones(len(r)) for r in rows] if top else None,
        )
        pred = adapter.predict(batch)
        pk = np.asarray(pred.keypoints[..., :2], np.float64)
        for i, r in zip(ids, rows, strict=True):
            mine = np.flatnonzero(pred.image_id == i)
            if not len(mine):
                oks[r] = 0.0
                continue
            if top and "box_index" in pred.extra:
                bi = np.asarray(pred.extra["box_index"])[mine]
                for j, row in enumerate(r):
                    m = mine[bi == j]
                    if not len(m):
                        oks[row] = 0.0
                        continue
                    oks[row] = oks_pairs(pk[m[:1]], kp[[row]], vis[[row]], bbox[[row]],
                                         area[[row]], sig)[0]  # fmt: skip
            else:
                for row in r:
                    o = oks_pairs(pk[mine], np.repeat(kp[[row]], len(mine), 0),
                                  np.repeat(vis[[row]], len(mine), 0),
                                  np.repeat(bbox[[row]], len(mine), 0),
                                  np.repeat(area[[row]], len(mine), 0), sig)  # fmt: skip
                    oks[row] = float(o.max())
    h = np.array([heights.get(int(i), 0) for i in gt.image_id], np.float64)
    feats = mode_features(kp, vis, np.where(h > 0, h, np.nan))
    return feats, oks, len(img_ids)
