"""Synthetic occlusion: random shapes, object-like patches and body-part-targeted occluders.

``occlude(image, keypoints, visibility, boxes, kind, severity, seed, image_id, skeleton=...)``
puts occluders on every eligible person (non-crowd, at least one labelled keypoint, a box with
positive size) and reports which labelled keypoints ended up under one. Kinds (:data:`OCCLUSIONS`):

``rectangles``, ``ellipses`` (random erasing / Cutout style)
    1-3 shapes per person, centred at random inside its box (axis-aligned rectangles; rotated
    ellipses; random aspect), each filled with a uniform colour, uniform noise or a smooth
    procedural texture (chosen at random per shape). Severity ``s`` sets the **fraction of the
    person box covered**: :data:`COVERAGE` ``= (0.1, 0.2, 0.3, 0.4, 0.5)``. The shapes are grown
    pixel by pixel in the order in which a shape of that centre and aspect would swallow them
    (each box pixel's "entry scale"), so the covered area hits the target to one pixel; pixels
    already covered (by another shape or another person's occluder) are not counted twice.
``objects`` (Sárándi et al. 2018, "synthetic occlusion", without Pascal VOC masks)
    1-2 blobs per person cut from ``donor`` (another image of the dataset, chosen by the runner;
    without one, from this image outside the person's box): the blob outline is a random smooth
    star-shaped curve (a few Fourier harmonics of the radius) or a superellipse, its border
    softened over ~8% of its radius, alpha-blended onto the person box. The same severity ->
    covered-fraction table applies to the pixels with alpha > 0.5.
``head``, ``arms``, ``hands``, ``legs``, ``lower_body`` (Pytel et al., ICPR 2020, body-part boxes)
    a box around the labelled keypoints of the part (found by canonical joint name, so it works
    for COCO-17, CrowdPose-14 and every built-in skeleton; arms, hands and legs get one box per
    side), grown by a margin of :data:`PART_MARGIN` ``[s-1]`` times the person scale
    ``sqrt(w * h)`` (hands 1.5x, centred a little beyond the wrist along the forearm), filled
    with noise, a uniform colour or a heavy blur of what is underneath. Every labelled keypoint of
    the part is covered at every severity; severity grows the hidden region around them.

Coverage and covered flags are measured on the final mask (all occluders composited: a pixel
under soft occluders of alpha a1, a2 has alpha 1 - (1 - a1)(1 - a2), the share of it replaced,
as the output pixels show): a person's coverage is the fraction of its box pixels (pixel centres
inside the box, box clipped to the image) with alpha > 0.5. Persons are processed from the
smallest box to the largest, so a person whose box overlaps no other occluded person gets exactly
its target, and overlapping persons get at least theirs (another person's occluder may add to
it). Pixel convention: pixel (r, c) spans ``[c, c+1) x [r, r+1)``; a keypoint (x, y) lies on
pixel ``(floor(y), floor(x))``.

Deterministic per (image id, kind, severity, seed): the generator is seeded by
:func:`posebench.conditions.rng.condition_seed`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from posebench.conditions.rng import condition_seed
from posebench.errors import InputError
from posebench.skeletons import Skeleton

Image = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Rng = np.random.Generator

#: severity s -> fraction of each person box covered (rectangles, ellipses, objects).
COVERAGE = (0.1, 0.2, 0.3, 0.4, 0.5)
#: severity s -> margin around a body part's keypoints, as a fraction of sqrt(box w * h).
PART_MARGIN = (0.04, 0.07, 0.10, 0.13, 0.16)
#: hands extend beyond the wrist: their margin is this much larger.
HAND_FACTOR = 1.5
#: soft border of an object-like occluder, in units of its radius.
OBJECT_SOFT = 0.08

_L, _R = "left_", "right_"
#: body part -> keypoint-name groups (one occluder box per group); canonical joint names of
#: :mod:`posebench.skeletons`, absent names are ignored.
PART_GROUPS: dict[str, tuple[tuple[str, ...], ...]] = {
    "head": (
        (
            "nose",
            "left_eye",
            "right_eye",
            "left_ear",
            "right_ear",
            "head_top",
            "head",
            "neck",
            "left_eye_inner",
            "left_eye_outer",
            "right_eye_inner",
            "right_eye_outer",
            "mouth_left",
            "mouth_right",
        ),
    ),
    "arms": tuple((f"{s}shoulder", f"{s}elbow", f"{s}wrist") for s in (_L, _R)),
    "hands": tuple(
        (f"{s}wrist", f"{s}hand", f"{s}pinky", f"{s}index", f"{s}thumb") for s in (_L, _R)
    ),
    "legs": tuple(
        (f"{s}knee", f"{s}ankle", f"{s}heel", f"{s}foot_index", f"{s}foot") for s in (_L, _R)
    ),
    "lower_body": (
        tuple(
            f"{s}{j}"
            for s in (_L, _R)
            for j in ("hip", "knee", "ankle", "heel", "foot_index", "foot")
        ),
    ),
}

#: kind -> what it is (the explicit table the runner and suites check names against).
OCCLUSIONS: dict[str, str] = {
    "rectangles": "random axis-aligned rectangles (colour/noise/texture) at COVERAGE[s-1]",
    "ellipses": "random rotated ellipses (colour/noise/texture) at COVERAGE[s-1]",
    "objects": "soft-edged blobs cut from another dataset image at COVERAGE[s-1]",
    "head": "box over the head keypoints, margin PART_MARGIN[s-1]",
    "arms": "a box over each arm (shoulder, elbow, wrist), margin PART_MARGIN[s-1]",
    "hands": "a box over each hand (around the wrist), margin HAND_FACTOR*PART_MARGIN[s-1]",
    "legs": "a box over each leg (knee, ankle, foot), margin PART_MARGIN[s-1]",
    "lower_body": "one box over hips, knees and ankles, margin PART_MARGIN[s-1]",
}
_AREA_KINDS = ("rectangles", "ellipses", "objects")


@dataclass(frozen=True)
class OcclusionResult:
    """An occluded image.

    Attributes:
        image: (H, W, 3) uint8 RGB.
        covered: (M, K) bool: labelled keypoints (v > 0) whose pixel is under an occluder
            (alpha > 0.5).
        coverage: (M,) fraction of each person box's pixels with alpha > 0.5 (NaN: no pixels).
        mask: (H, W) float32 alpha of all occluders composited (0 = untouched, 1 = fully
            replaced: the share of the original pixel the occluders replace).
        target: the requested covered fraction (area kinds), NaN for body-part kinds.
        occluded: (M,) bool: persons that got occluders (area kinds: whose coverage reached the
            target, possibly through another person's occluders; part kinds: with a labelled
            keypoint of the part).
    """

    image: Image
    covered: BoolArray
    coverage: FloatArray
    mask: npt.NDArray[np.float32]
    target: float
    occluded: BoolArray


def updated_visibility(visibility: FloatArray, covered: BoolArray) -> FloatArray:
    """COCO visibility after occlusion: covered visible keypoints (v = 2) become v = 1.

    visibility: (M, K); covered: (M, K) bool. Returns a new (M, K) float array.
    """
    v = np.asarray(visibility, dtype=np.float64)
    c = np.asarray(covered, dtype=bool)
    if v.shape != c.shape:
        raise InputError(f"visibility {v.shape} and covered {c.shape} differ", field="covered")
    return np.where(c & (v == 2), 1.0, v)


def keypoint_pixels(keypoints: FloatArray, width: int, height: int) -> tuple[
    npt.NDArray[np.int64], npt.NDArray[np.int64], BoolArray
]:  # fmt: skip
    """Pixel of each keypoint: (cols, rows, inside), each shaped like keypoints[..., 0]."""
    xy = np.asarray(keypoints, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        col = np.floor(np.nan_to_num(xy[..., 0], nan=-1.0)).astype(np.int64)
        row = np.floor(np.nan_to_num(xy[..., 1], nan=-1.0)).astype(np.int64)
    inside = (col >= 0) & (col < width) & (row >= 0) & (row < height)
    return np.clip(col, 0, width - 1), np.clip(row, 0, height - 1), inside


def box_pixels(box: FloatArray, width: int, height: int) -> tuple[int, int, int, int]:
    """Pixel range (c0, r0, c1, r1) whose centres lie inside the xywh box, clipped to the image."""
    x, y, w, h = (float(v) for v in box)
    c0 = min(max(math.ceil(x - 0.5), 0), width)
    c1 = min(max(math.ceil(x + w - 0.5), 0), width)
    r0 = min(max(math.ceil(y - 0.5), 0), height)
    r1 = min(max(math.ceil(y + h - 0.5), 0), height)
    return c0, r0, max(c1, c0), max(r1, r0)


def box_coverage(mask: npt.NDArray[np.floating], boxes: FloatArray) -> FloatArray:
    """Fraction of each box's pixels with alpha > 0.5: boxes (M, 4) xywh -> (M,), NaN if empty."""
    h, w = mask.shape
    out = np.full(len(boxes), np.nan)
    for m, b in enumerate(np.asarray(boxes, np.float64)):
        if not np.isfinite(b).all():
            continue
        c0, r0, c1, r1 = box_pixels(b, w, h)
        if c1 > c0 and r1 > r0:
            out[m] = float(np.count_nonzero(mask[r0:r1, c0:c1] > 0.5)) / ((r1 - r0) * (c1 - c0))
    return out


def _check(
    image: Image, keypoints: FloatArray, visibility: FloatArray, boxes: FloatArray,
    kind: str, severity: int,
) -> None:  # fmt: skip
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, "shape", None)
        raise InputError(f"expected an (H, W, 3) image, got shape {shape}", field="image")
    if image.dtype != np.uint8:
        raise InputError(f"expected a uint8 image, got {image.dtype}", field="image")
    if kind not in OCCLUSIONS:
        import difflib

        close = difflib.get_close_matches(kind, list(OCCLUSIONS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise InputError(
            f"unknown occlusion {kind!r}{hint} (known: {', '.join(OCCLUSIONS)})", field="kind"
        )
    if isinstance(severity, bool) or int(severity) != severity or not 1 <= severity <= 5:
        raise InputError(f"severity {severity!r} outside 1-5", field="severity")
    m = len(boxes)
    if keypoints.ndim != 3 or keypoints.shape[0] != m or keypoints.shape[2] < 2:
        raise InputError(
            f"expected keypoints (M, K, 2) with M = {m} boxes, got {keypoints.shape}",
            field="keypoints",
        )
    if visibility.shape != keypoints.shape[:2]:
        raise InputError(
            f"expected visibility {keypoints.shape[:2]}, got {visibility.shape}", field="visibility"
        )
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise InputError(f"expected boxes (M, 4) xywh, got {boxes.shape}", field="boxes")


def occlude(
    image: Image,
    keypoints: FloatArray,
    visibility: FloatArray,
    boxes: FloatArray,
    kind: str,
    severity: int,
    seed: int,
    image_id: int,
    *,
    skeleton: Skeleton,
    donor: Image | None = None,
    iscrowd: BoolArray | None = None,
) -> OcclusionResult:
    """Occlude the persons of one image.

    Args:
        image: (H, W, 3) uint8 RGB (not modified).
        keypoints: (M, K, 2) ground-truth pixels of the image's persons (0-based).
        visibility: (M, K) COCO v (0 unlabelled, 1 occluded, 2 visible).
        boxes: (M, 4) xywh person boxes.
        kind: a key of :data:`OCCLUSIONS`.
        severity: 1-5.
        seed: the run's condition seed.
        image_id: the image's id (part of the seed).
        skeleton: the keypoints' skeleton (body parts are found by joint name).
        donor: (h, w, 3) uint8 image to cut ``objects`` occluders from.
        iscrowd: (M,) crowd flags; crowd rows get no occluders.
    """
    image = np.asarray(image)
    kp = (
        np.asarray(keypoints, dtype=np.float64)[..., :2]
        if len(keypoints)
        else np.zeros((0, skeleton.num_keypoints, 2))
    )
    vis = np.asarray(visibility, dtype=np.float64)
    if not len(keypoints):
        vis = vis.reshape(kp.shape[:2])
    bx = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    _check(image, kp, vis, bx, kind, int(severity))
    if kp.shape[1] != skeleton.num_keypoints:
        raise InputError(
            f"keypoints have {kp.shape[1]} joints, skeleton {skeleton.name} has "
            f"{skeleton.num_keypoints}",
            field="keypoints",
        )
    h, w = image.shape[:2]
    rng = np.random.default_rng(condition_seed(image_id, f"occlusion/{kind}", severity, seed))
    crowd = np.zeros(len(bx), bool) if iscrowd is None else np.asarray(iscrowd, bool)
    labelled = vis > 0
    eligible = (
        ~crowd & labelled.any(axis=1) & np.isfinite(bx).all(axis=1) & (bx[:, 2] > 0)
        & (bx[:, 3] > 0)
    )  # fmt: skip
    out = image.astype(np.float32)
    mask = np.zeros((h, w), np.float32)
    order = sorted(np.flatnonzero(eligible).tolist(), key=lambda i: (bx[i, 2] * bx[i, 3], i))
    occluded = np.zeros(len(bx), bool)
    # box pixels of persons already at their target, and of any occluded person
    protected = np.zeros((h, w), bool)
    boxed = np.zeros((h, w), bool)
    for m in order:
        c0, r0, c1, r1 = box_pixels(bx[m], w, h)
        boxed[r0:r1, c0:c1] = True
    for m in order:
        if kind in _AREA_KINDS:
            done = _area_occluders(
                out, mask, protected, boxed, bx[m], kind, COVERAGE[severity - 1], rng, donor,
                image,
            )  # fmt: skip
            c0, r0, c1, r1 = box_pixels(bx[m], w, h)
            protected[r0:r1, c0:c1] = True
        else:
            done = _part_occluders(out, mask, kp[m], labelled[m], bx[m], kind, severity, rng,
                                   skeleton, image)  # fmt: skip
        occluded[m] = done
    col, row, inside = keypoint_pixels(kp, w, h)
    covered = labelled & inside & (mask[row, col] > 0.5) if kp.size else labelled.copy()
    return OcclusionResult(
        image=np.clip(np.rint(out), 0, 255).astype(np.uint8),
        covered=covered,
        coverage=box_coverage(mask, bx),
        mask=mask,
        target=COVERAGE[severity - 1] if kind in _AREA_KINDS else float("nan"),
        occluded=occluded,
    )


# ------------------------------------------------------------------------ fills


def _fill(rng: Rng, kind: str, hh: int, ww: int, under: Image | None) -> npt.NDArray[np.float32]:
    """An (hh, ww, 3) float32 fill: ``colour``, ``noise``, ``texture`` or ``blur``."""
    if kind == "colour":
        col = rng.integers(0, 256, 3).astype(np.float32)
        return np.broadcast_to(col, (hh, ww, 3)).astype(np.float32)
    if kind == "noise":
        return rng.integers(0, 256, (hh, ww, 3)).astype(np.float32)
    if kind == "blur":
        assert under is not None
        sigma = max(3.0, 0.2 * min(hh, ww))
        blurred = cv2.GaussianBlur(
            under.astype(np.float32), (0, 0), sigma, borderType=cv2.BORDER_REFLECT
        )
        return np.asarray(blurred, np.float32)
    # texture: a smooth colour field (coarse noise, bicubic) plus an oriented grating
    g = int(rng.integers(2, 7))
    coarse = rng.random((g, g, 3)).astype(np.float32)
    field = np.asarray(cv2.resize(coarse, (ww, hh), interpolation=cv2.INTER_CUBIC), np.float32)
    theta, period = rng.uniform(0, np.pi), rng.uniform(4.0, 24.0)
    yy, xx = np.mgrid[0:hh, 0:ww].astype(np.float32)
    grating = np.sin((xx * np.cos(theta) + yy * np.sin(theta)) * (2 * np.pi / period))
    colour = rng.random(3).astype(np.float32)
    tex = 0.6 * field + 0.4 * (0.5 + 0.5 * grating[..., None]) * colour
    return np.asarray(np.clip(tex * 255.0, 0, 255), np.float32)


def _blend(
    out: npt.NDArray[np.float32],
    mask: npt.NDArray[np.float32],
    win: tuple[int, int, int, int],
    alpha: npt.NDArray[np.float32],
    fill: npt.NDArray[np.float32],
) -> None:
    c0, r0, c1, r1 = win
    a = alpha[..., None]
    region = out[r0:r1, c0:c1]
    region *= 1.0 - a
    region += fill * a
    # the composite's alpha: the share of the original pixel that is replaced (stacked soft
    # occluders of alpha a1, a2 replace 1 - (1 - a1)(1 - a2) of it, more than max(a1, a2))
    m = mask[r0:r1, c0:c1]
    m += alpha * (1.0 - m)


def _cap(m: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """Largest alpha that keeps the composite with an existing alpha ``m`` (<= 0.5) at most
    0.5: ``(0.5 - m) / (1 - m)``, less a float32 margin, never negative."""
    m64 = m.astype(np.float64)
    return np.maximum((0.5 - m64) / (1.0 - m64) - 1e-6, 0.0)


# ------------------------------------------------------------- area-targeted kinds


EntryFn = Callable[[FloatArray, FloatArray], FloatArray]


def _shape_entry(rng: Rng, kind: str) -> tuple[EntryFn, float]:
    """A random shape as its entry-scale function e(dx, dy) (pixel inside at scale s iff
    e <= s) and its extent per unit scale (for the drawing window)."""
    aspect = math.exp(rng.uniform(-0.8, 0.8))
    a, b = math.sqrt(aspect), 1.0 / math.sqrt(aspect)
    if kind == "rectangles":
        return (lambda dx, dy: np.maximum(np.abs(dx) / a, np.abs(dy) / b)), max(a, b)
    if kind == "ellipses":
        t = rng.uniform(0.0, np.pi)
        ct, st = math.cos(t), math.sin(t)

        def ell(dx: FloatArray, dy: FloatArray) -> FloatArray:
            u, v = dx * ct + dy * st, -dx * st + dy * ct
            return np.sqrt((u / a) ** 2 + (v / b) ** 2)

        return ell, max(a, b)
    # objects: a star-shaped blob or a superellipse, radius r(theta) <= ~1.6
    t0 = rng.uniform(0.0, 2 * np.pi)
    if rng.random() < 0.5:
        n = int(rng.integers(2, 6))
        amp = rng.uniform(0.0, 0.35, n) / np.arange(1, n + 1) ** 0.5
        amp *= min(1.0, 0.6 / max(float(amp.sum()), 1e-9))
        ph = rng.uniform(0.0, 2 * np.pi, n)
        freq = np.arange(2, n + 2)

        def radius(th: FloatArray) -> FloatArray:
            r = np.ones_like(th)
            for f, am, p in zip(freq, amp, ph, strict=True):
                r += am * np.cos(f * th + p)
            return r

        rmax = 1.0 + float(amp.sum())
    else:
        p = rng.uniform(1.2, 4.0)

        def radius(th: FloatArray) -> FloatArray:
            c, s = np.abs(np.cos(th)) / a, np.abs(np.sin(th)) / b
            return np.asarray((c**p + s**p + 1e-12) ** (-1.0 / p))

        rmax = max(a, b)

    def blob(dx: FloatArray, dy: FloatArray) -> FloatArray:
        rho = np.hypot(dx, dy)
        return rho / radius(np.arctan2(dy, dx) - t0)

    return blob, rmax


def _area_occluders(
    out: npt.NDArray[np.float32],
    mask: npt.NDArray[np.float32],
    protected: BoolArray,
    boxed: BoolArray,
    box: FloatArray,
    kind: str,
    frac: float,
    rng: Rng,
    donor: Image | None,
    image: Image,
) -> bool:
    h, w = mask.shape
    c0, r0, c1, r1 = box_pixels(box, w, h)
    if c1 <= c0 or r1 <= r0:
        return False
    n_box = (r1 - r0) * (c1 - c0)
    target = round(frac * n_box)
    n_shapes = int(rng.integers(1, 4)) if kind != "objects" else int(rng.integers(1, 3))
    shares = rng.dirichlet(np.ones(n_shapes))
    x0, y0, bw, bh = (float(v) for v in box)
    for i in range(n_shapes):
        have = int(np.count_nonzero(mask[r0:r1, c0:c1] > 0.5))
        left = target - have
        if left <= 0:
            break
        add = left if i == n_shapes - 1 else max(1, round(shares[i] * (target - have)))
        # centre inside the box (inner 70%), unit scale = the box's size
        cx = x0 + bw * rng.uniform(0.15, 0.85)
        cy = y0 + bh * rng.uniform(0.15, 0.85)
        unit = math.sqrt(bw * bh)
        entry, extent = _shape_entry(rng, kind)
        fill_kind = ("colour", "noise", "texture")[int(rng.integers(0, 3))]
        ys, xs = np.mgrid[r0:r1, c0:c1]
        e = entry((xs + 0.5 - cx) / unit, (ys + 0.5 - cy) / unit)
        free = (mask[r0:r1, c0:c1] <= 0.5) & ~protected[r0:r1, c0:c1]
        ef = e[free]
        take = min(add, ef.size)
        if take <= 0:
            break
        # the `take` free box pixels that the growing shape swallows first
        idx = np.argpartition(ef, take - 1)[:take] if take < ef.size else np.arange(ef.size)
        thr = float(ef[idx].max())
        sel_free = np.zeros(ef.size, bool)
        sel_free[idx] = True
        sel_box = np.zeros(e.shape, bool)
        sel_box[free] = sel_free
        soft = OBJECT_SOFT if kind == "objects" else 0.0
        reach = (thr * (1.0 + soft) + 1e-6) * extent * unit + 2.0
        win = (
            max(math.floor(cx - reach), 0), max(math.floor(cy - reach), 0),
            min(math.ceil(cx + reach) + 1, w), min(math.ceil(cy + reach) + 1, h),
        )  # fmt: skip
        wc0, wr0, wc1, wr1 = win
        wy, wx = np.mgrid[wr0:wr1, wc0:wc1]
        ew = entry((wx + 0.5 - cx) / unit, (wy + 0.5 - cy) / unit)
        if soft > 0:
            alpha = np.clip(0.5 + (thr - ew) / (2.0 * soft * max(thr, 1e-6)), 0.0, 1.0)
        else:
            alpha = (ew < thr).astype(np.float64)
        # inside the person box the selection is exact: selected pixels > 0.5, other free
        # pixels <= 0.5 (the window holds every selected pixel: their entry scale is <= thr)
        ic0, ir0, ic1, ir1 = max(c0, wc0), max(r0, wr0), min(c1, wc1), min(r1, wr1)
        if ic1 > ic0 and ir1 > ir0:
            a_in = alpha[ir0 - wr0 : ir1 - wr0, ic0 - wc0 : ic1 - wc0]
            s_in = sel_box[ir0 - r0 : ir1 - r0, ic0 - c0 : ic1 - c0]
            f_in = free[ir0 - r0 : ir1 - r0, ic0 - c0 : ic1 - c0]
            a_in[s_in] = np.maximum(a_in[s_in], 0.5 + 1e-3) if soft > 0 else 1.0
            rest = ~s_in & f_in
            m_in = mask[ir0:ir1, ic0:ic1]
            a_in[rest] = np.minimum(a_in[rest], _cap(m_in[rest])) if soft > 0 else 0.0
        # never add to another person's box (outside this one) nor to a person already at its
        # target: the occluder gets a hole there (soft: the composite stays <= 0.5)
        guard = boxed[wr0:wr1, wc0:wc1].copy()
        if ic1 > ic0 and ir1 > ir0:
            guard[ir0 - wr0 : ir1 - wr0, ic0 - wc0 : ic1 - wc0] = protected[ir0:ir1, ic0:ic1]
        m_win = mask[wr0:wr1, wc0:wc1]
        guard &= m_win <= 0.5
        alpha[guard] = np.minimum(alpha[guard], _cap(m_win[guard])) if soft > 0 else 0.0
        alpha32 = alpha.astype(np.float32)
        hh, ww = wr1 - wr0, wc1 - wc0
        if kind == "objects":
            fill = _donor_patch(rng, donor, image, box, hh, ww)
        else:
            fill = _fill(rng, fill_kind, hh, ww, None)
        _blend(out, mask, win, alpha32, fill)
    return int(np.count_nonzero(mask[r0:r1, c0:c1] > 0.5)) >= target


def _donor_patch(
    rng: Rng, donor: Image | None, image: Image, box: FloatArray, hh: int, ww: int
) -> npt.NDArray[np.float32]:
    """An (hh, ww, 3) patch of the donor image (or of this image away from the box)."""
    src: npt.NDArray[np.uint8] | None = donor
    if src is None or src.ndim != 3 or src.shape[2] != 3 or min(src.shape[:2]) < 2:
        # no donor: the image's own pixels, preferring the side farthest from the person
        h, w = image.shape[:2]
        x0, y0, bw, bh = (float(v) for v in box)
        sides = [
            image[:, : max(int(x0), 0)], image[:, min(int(x0 + bw), w) :],
            image[: max(int(y0), 0)], image[min(int(y0 + bh), h) :],
        ]  # fmt: skip
        src = max(sides, key=lambda s: s.shape[0] * s.shape[1])
        if min(src.shape[:2]) < 2:
            src = image
    sh, sw = src.shape[:2]
    scale = max(hh / sh, ww / sw, 1.0)
    if scale > 1.0:
        src = np.asarray(cv2.resize(
            src, (max(ww, math.ceil(sw * scale)), max(hh, math.ceil(sh * scale))),
            interpolation=cv2.INTER_LINEAR,
        ), np.uint8)  # fmt: skip
        sh, sw = src.shape[:2]
    y = int(rng.integers(0, sh - hh + 1))
    x = int(rng.integers(0, sw - ww + 1))
    patch = src[y : y + hh, x : x + ww].astype(np.float32)
    if rng.random() < 0.5:
        patch = patch[:, ::-1]
    return np.ascontiguousarray(patch)


# ---------------------------------------------------------------- body-part kinds


def _part_occluders(
    out: npt.NDArray[np.float32],
    mask: npt.NDArray[np.float32],
    kp: FloatArray,
    labelled: BoolArray,
    box: FloatArray,
    kind: str,
    severity: int,
    rng: Rng,
    skeleton: Skeleton,
    image: Image,
) -> bool:
    h, w = mask.shape
    scale = math.sqrt(float(box[2]) * float(box[3]))
    margin = PART_MARGIN[severity - 1] * scale * (HAND_FACTOR if kind == "hands" else 1.0)
    names = {n: i for i, n in enumerate(skeleton.keypoints)}
    placed = False
    for group in PART_GROUPS[kind]:
        idx = [names[n] for n in group if n in names and labelled[names[n]]]
        idx = [i for i in idx if np.isfinite(kp[i]).all()]
        if not idx:
            continue
        pts = kp[idx]
        cx0, cy0 = pts.min(axis=0)
        cx1, cy1 = pts.max(axis=0)
        if kind == "hands":
            # centre the hand box a little beyond the wrist, along the forearm when known
            side = group[0][: -len("wrist")]
            elbow = names.get(f"{side}elbow")
            wrist = names.get(f"{side}wrist")
            if (
                elbow is not None and wrist is not None and labelled[elbow] and labelled[wrist]
                and np.isfinite(kp[elbow]).all()
            ):  # fmt: skip
                d = kp[wrist] - kp[elbow]
                n = float(np.hypot(*d))
                if n > 0:
                    shift = d / n * 0.5 * margin
                    cx0, cy0 = min(cx0, cx0 + shift[0]), min(cy0, cy0 + shift[1])
                    cx1, cy1 = max(cx1, cx1 + shift[0]), max(cy1, cy1 + shift[1])
        c0 = max(math.floor(cx0 - margin), 0)
        r0 = max(math.floor(cy0 - margin), 0)
        c1 = min(math.floor(cx1 + margin) + 1, w)
        r1 = min(math.floor(cy1 + margin) + 1, h)
        if c1 <= c0 or r1 <= r0:
            continue
        fill_kind = ("noise", "colour", "blur")[int(rng.integers(0, 3))]
        hh, ww = r1 - r0, c1 - c0
        if fill_kind == "blur":
            pad = int(max(3.0, 0.2 * min(hh, ww)) * 3)
            e0, f0 = max(c0 - pad, 0), max(r0 - pad, 0)
            e1, f1 = min(c1 + pad, w), min(r1 + pad, h)
            big = _fill(rng, "blur", f1 - f0, e1 - e0, image[f0:f1, e0:e1])
            fill = np.ascontiguousarray(big[r0 - f0 : r1 - f0, c0 - e0 : c1 - e0])
        else:
            fill = _fill(rng, fill_kind, hh, ww, None)
        _blend(out, mask, (c0, r0, c1, r1), np.ones((hh, ww), np.float32), fill)
        placed = True
    return placed
