"""The 19 ImageNet-C / COCO-C image corruptions, numpy + OpenCV (CPU path).

``corrupt(image, name, severity, seed)`` corrupts one ``(H, W, 3)`` uint8 RGB image of any size
(at least 1x1). Definitions and parameters are those of the ``imagecorruptions`` package 1.1.2
(Michaelis et al. 2019), which COCO-C / MPII-C / OCHuman-C (Wang et al., CVPR 2021) used: the 15
benchmark corruptions (noise: gaussian, shot, impulse; blur: defocus, glass, motion, zoom;
weather: snow, frost, fog; digital: brightness, contrast, elastic, pixelate, jpeg) and the 4 extra
(speckle_noise, gaussian_blur, spatter, saturate). ``CORRUPTIONS`` is the explicit name ->
function table; ``BENCHMARK_CORRUPTIONS`` the 15 scored ones.

Determinism: every random draw comes from ``rng.py``'s counter-based generator keyed by ``seed``
(and a per-draw stream), never from a global state, so the output is a pure function of (image,
name, severity, seed); ``rng.condition_seed`` derives ``seed`` from (image key, name, severity,
run seed). ``corruptions_torch.corrupt_batch`` draws the same numbers. Because the reference draws
from ``np.random`` (and scikit-image's own generator for impulse noise), the random corruptions
match the reference in distribution, not byte for byte.

Reference quirks mirrored on purpose (the reference's name in brackets):
- pixels are scaled to [0, 1] and the final ``np.uint8`` truncates instead of rounding;
- glass_blur's "swap" ``x[h, w], x[h', w'] = x[h', w'], x[h, w]`` on numpy views is really a copy
  ``x[h, w] = x[h', w']`` (the second assignment reads the already-overwritten view); the pixels
  are visited in descending raster order, so a pixel can receive a value that was itself moved
  earlier in the same pass. posebench computes the identical result without the Python loop: each
  pixel follows the chain of moves (to a source visited earlier, i.e. later in raster order) until
  the chain ends, a vectorised pointer walk (chains are geometric, about 15 steps at most);
- elastic_transform uses ``shape[0] * 0.005`` for both the x and the y displacement amplitude;
- contrast uses the per-channel mean; saturate turns grey pixels reddish at severities 4-5
  (scikit-image's HSV gives grey hue 0 = red, and the saturation offset makes them coloured);
- motion blur's shifts replicate the border, and the kernel stops at taps beyond the image.

Implementation (speed; see bench/bench_corruptions.py): float32 throughout; Gaussian blurs,
filters and motion blur with OpenCV (``BORDER_REPLICATE`` for scikit-image's ``mode='nearest'``,
``BORDER_REFLECT`` for scipy's ``'reflect'``); brightness and saturate as closed-form HSV updates
(the RGB result of changing V or S with H fixed, without the round trip through HSV); contrast
and shot noise through exact 256-entry tables; zoom blur's ``scipy.ndimage.zoom(order=1)`` layers
as ``cv2.warpAffine`` (OpenCV quantises bilinear weights to 1/32 pixel: zoom blur may differ from
the reference by a few grey levels at sharp edges, mean difference below 0.1; tested); pixelate as
an integer port of Pillow's BOX reduce and NEAREST enlarge (byte-identical to Pillow 13 at
COCO-like sizes; within 1 grey level on a few values for some tiny odd sizes); JPEG with
OpenCV's libjpeg at the same quality (4:2:0, like Pillow; not byte-identical, tested for a mean
difference below 1 grey level). Deviations: frost uses a procedural texture (see ``textures.py``);
shot noise samples Poisson by table inversion of one 24-bit uniform (exact distribution up to the
2**-24 tail); impulse noise draws one uniform per value (pepper below amount/2, salt below amount),
the same distribution as scikit-image's two Bernoulli draws.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from posebench.conditions import rng, textures

# ------------------------------------------------ parameters (imagecorruptions 1.1.2)

GAUSSIAN_NOISE = (0.08, 0.12, 0.18, 0.26, 0.38)
SHOT_NOISE = (60, 25, 12, 5, 3)
IMPULSE_NOISE = (0.03, 0.06, 0.09, 0.17, 0.27)
SPECKLE_NOISE = (0.15, 0.2, 0.35, 0.45, 0.6)
GAUSSIAN_BLUR = (1, 2, 3, 4, 6)
GLASS_BLUR = ((0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2))  # sigma, delta, iters
DEFOCUS_BLUR = ((3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5))  # radius, alias blur
MOTION_BLUR = ((10, 3), (15, 5), (15, 8), (15, 12), (20, 15))  # radius, sigma
ZOOM_BLUR = (
    tuple(np.arange(1, 1.11, 0.01)),
    tuple(np.arange(1, 1.16, 0.01)),
    tuple(np.arange(1, 1.21, 0.02)),
    tuple(np.arange(1, 1.26, 0.02)),
    tuple(np.arange(1, 1.31, 0.03)),
)
SNOW = (
    (0.1, 0.3, 3, 0.5, 10, 4, 0.8),
    (0.2, 0.3, 2, 0.5, 12, 4, 0.7),
    (0.55, 0.3, 4, 0.9, 12, 8, 0.7),
    (0.55, 0.3, 4.5, 0.85, 12, 8, 0.65),
    (0.55, 0.3, 2.5, 0.85, 12, 12, 0.55),
)
FROST = ((1, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75))
FOG = ((1.5, 2), (2.0, 2), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4))
BRIGHTNESS = (0.1, 0.2, 0.3, 0.4, 0.5)
CONTRAST = (0.4, 0.3, 0.2, 0.1, 0.05)
ELASTIC = (250 * 0.05, 250 * 0.065, 250 * 0.085, 250 * 0.1, 250 * 0.12)
PIXELATE = (0.6, 0.5, 0.4, 0.3, 0.25)
JPEG = (25, 18, 15, 10, 7)
SPATTER = (
    (0.65, 0.3, 4, 0.69, 0.6, 0),
    (0.65, 0.3, 3, 0.68, 0.6, 0),
    (0.65, 0.3, 2, 0.68, 0.5, 0),
    (0.65, 0.3, 1, 0.65, 1.5, 1),
    (0.67, 0.4, 1, 0.65, 1.5, 1),
)
SATURATE = ((0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (20, 0.2))

# Random streams (one per independent draw), shared with corruptions_torch.
S_GAUSS, S_SHOT, S_IMPULSE, S_SPECKLE = 1, 2, 3, 4
S_GLASS = 10  # + iteration
S_MOTION, S_SNOW, S_SNOW_ANGLE, S_FOG, S_FROST = 20, 21, 22, 23, 24
S_ELASTIC_X, S_ELASTIC_Y, S_SPATTER = 25, 26, 27

_F255 = np.float32(255.0)


# ---------------------------------------------------------------- validation


def check_image(image: np.ndarray) -> tuple[int, int]:
    """Validate an (H, W, 3) uint8 RGB image; return (H, W)."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"corrupt: image must be a numpy array, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(
            f"corrupt: image must be (H, W, 3) RGB, got shape {image.shape}; "
            "convert grayscale first (e.g. np.repeat(gray[..., None], 3, axis=2))"
        )
    if image.dtype != np.uint8:
        raise ValueError(f"corrupt: image dtype must be uint8, got {image.dtype}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"corrupt: empty image, shape {image.shape}")
    return int(image.shape[0]), int(image.shape[1])


def check_condition(name: str, severity: int) -> None:
    """Raise a clear error for an unknown corruption name or a severity outside 1..5."""
    if name not in CORRUPTIONS:
        import difflib

        near = difflib.get_close_matches(name, list(CORRUPTIONS), n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise ValueError(f"unknown corruption {name!r}{hint} (known: {', '.join(CORRUPTIONS)})")
    if isinstance(severity, bool) or int(severity) != severity or not 1 <= severity <= 5:
        raise ValueError(f"corruption {name}: severity must be an integer 1..5, got {severity!r}")


# ---------------------------------------------------------------- helpers shared with torch


def to_uint8_trunc(x01: np.ndarray) -> np.ndarray:
    """imagecorruptions' ending ``np.uint8(np.clip(x, 0, 1) * 255)``: truncation, not rounding."""
    y = np.clip(x01, 0.0, 1.0, out=x01)
    y *= _F255
    return y.astype(np.uint8)


def gauss_radius(sigma: float, truncate: float = 4.0) -> int:
    """scipy.ndimage.gaussian_filter's kernel radius (scikit-image ``gaussian`` uses truncate 4)."""
    return int(truncate * float(sigma) + 0.5)


def gaussian_kernel1d(sigma: float, truncate: float = 4.0) -> np.ndarray:
    """scipy's normalised Gaussian taps: (2r+1,) float64."""
    r = gauss_radius(sigma, truncate)
    x = np.arange(-r, r + 1, dtype=np.float64)
    k = np.exp(-0.5 * x * x / (float(sigma) ** 2))
    return np.asarray(k / k.sum(), np.float64)


def _gauss(x: np.ndarray, sigma: float, border: int = cv2.BORDER_REPLICATE) -> np.ndarray:
    """scikit-image ``gaussian(x, sigma, mode='nearest')`` on the spatial axes, float32."""
    k = gaussian_kernel1d(sigma).astype(np.float32)
    return cv2.sepFilter2D(x, cv2.CV_32F, k, k, borderType=border)


def disk_kernel(radius: float, alias_blur: float) -> np.ndarray:
    """imagecorruptions' anti-aliased disk for defocus blur: (k, k) float32, k = 17 or 2r+1."""
    ax: np.ndarray
    if radius <= 8:
        ax = np.arange(-8, 8 + 1)
        ksize = (3, 3)
    else:
        ax = np.arange(-radius, radius + 1)
        ksize = (5, 5)
    xx, yy = np.meshgrid(ax, ax)
    d = np.array((xx**2 + yy**2) <= radius**2, dtype=np.float32)
    d /= np.sum(d)
    return cv2.GaussianBlur(d, ksize=ksize, sigmaX=alias_blur)


def motion_kernel(radius: int, sigma: float, angle: float, height: int, width: int) -> np.ndarray:
    """imagecorruptions' ``_motion_blur`` as one correlation kernel: (2R+1, 2R+1) float32.

    Tap i (weight Gaussian(i; sigma), normalised over 2*radius+1 taps) samples the image at
    offset ``(-dy_i, -dx_i)`` with a replicated border; the reference stops at the first tap whose
    shift reaches the image size, so small images get fewer taps (and a darker result).
    """
    width_k = radius * 2 + 1
    k = np.exp(-(np.arange(width_k) ** 2) / (2 * sigma**2)) / (np.sqrt(2 * np.pi) * sigma)
    k = k / np.sum(k)
    py = width_k * np.sin(np.deg2rad(angle))
    px = width_k * np.cos(np.deg2rad(angle))
    hyp = math.hypot(py, px)
    taps: list[tuple[int, int, float]] = []
    for i in range(width_k):
        dy = -math.ceil(((i * py) / hyp) - 0.5)
        dx = -math.ceil(((i * px) / hyp) - 0.5)
        if abs(dy) >= height or abs(dx) >= width:
            break
        taps.append((dy, dx, float(k[i])))
    r = max([max(abs(dy), abs(dx)) for dy, dx, _ in taps] + [0])
    ker = np.zeros((2 * r + 1, 2 * r + 1), np.float64)
    for dy, dx, w in taps:
        ker[r - dy, r - dx] += w
    return ker.astype(np.float32)


def zoom_coords(n: int, z: float) -> tuple[np.ndarray, np.ndarray, int, int]:
    """imagecorruptions' ``clipped_zoom`` along one axis of length n (scipy zoom, order 1).

    Returns (i0, frac, top, out): output position o < min(n, out) samples crop coordinate
    ``o * (ch - 1) / (out - 1)`` (i0 its floor, clipped so that i0 + 1 < ch, plus ``top``), where
    ch = ceil(n / z) is the centred crop and out = round(ch * z) the zoomed length.
    """
    ch = int(np.ceil(n / float(z)))
    top = (n - ch) // 2
    out = round(ch * float(z))
    m = min(n, out)
    scale = (ch - 1) / (out - 1) if out > 1 else 0.0
    pos = np.arange(m, dtype=np.float64) * scale
    i0 = np.minimum(np.floor(pos).astype(np.int64), max(ch - 2, 0))
    frac = pos - i0
    if ch == 1:
        frac[:] = 0.0
    return i0 + top, frac, top, out


def zoom_full_np(x: np.ndarray, z: float) -> np.ndarray:
    """Exact ``clipped_zoom`` (un-cropped output, (out0, out1, ...)) by separable lerp, float32."""
    n0, n1 = x.shape[:2]
    ch0, ch1 = int(np.ceil(n0 / z)), int(np.ceil(n1 / z))
    t0, t1 = (n0 - ch0) // 2, (n1 - ch1) // 2
    crop = x[t0 : t0 + ch0, t1 : t1 + ch1]
    o0, o1 = round(ch0 * z), round(ch1 * z)
    for axis, (c, o) in enumerate(((ch0, o0), (ch1, o1))):
        s = (c - 1) / (o - 1) if o > 1 else 0.0
        pos = np.arange(o, dtype=np.float64) * s
        i0 = np.minimum(np.floor(pos).astype(np.int64), max(c - 2, 0))
        i1 = np.minimum(i0 + 1, c - 1)
        f = (pos - i0).astype(np.float32)
        shp = [1] * crop.ndim
        shp[axis] = o
        f = f.reshape(shp)
        a = np.take(crop, i0, axis=axis)
        b = np.take(crop, i1, axis=axis)
        crop = a + (b - a) * f
    return crop


def reflect_index(i: np.ndarray, n: int) -> np.ndarray:
    """scipy 'reflect' (half-sample symmetric, cv2 BORDER_REFLECT) for integer indices."""
    p = 2 * n
    i = np.mod(i, p)
    return np.where(i >= n, p - 1 - i, i)


def glass_sources(height: int, width: int, delta: int, seed: int, iteration: int) -> np.ndarray:
    """Final source pixel of every pixel after one glass-blur shuffle pass: (H*W,) int64.

    Equivalent to the reference's sequential loop (see module docstring): pixel p in the visited
    region (rows and columns delta+1 .. n-delta) copies from p + (dy, dx), dx, dy uniform in
    [-delta, delta - 1] (dx drawn first); if that source was visited before p (larger raster
    index), the value it holds is its own final value, so the chain is followed.
    """
    h, w, d = height, width, delta
    n = h * w
    src = np.arange(n, dtype=np.int64)
    rows = np.arange(d + 1, h - d + 1)
    cols = np.arange(d + 1, w - d + 1)
    if rows.size == 0 or cols.size == 0:
        return src
    p = (rows[:, None] * w + cols[None, :]).reshape(-1)
    b = rng.bits_np(seed, S_GLASS + iteration, 2 * n).reshape(n, 2)[p]
    span = np.uint32(2 * d)
    dx = (b[:, 0] % span).astype(np.int64) - d
    dy = (b[:, 1] % span).astype(np.int64) - d
    src[p] = p + dy * w + dx
    visited = np.zeros(n, bool)
    visited[p] = True
    node = p.copy()
    active = np.arange(p.size)
    while active.size:
        s = src[node[active]]
        cont = visited[s] & (s > node[active])
        active = active[cont]
        node[active] = s[cont]
    out = np.arange(n, dtype=np.int64)
    out[p] = src[node]
    return out


@lru_cache(maxsize=64)
def poisson_thresholds(c: int) -> np.ndarray:
    """Poisson(v * c / 255) inverse-CDF thresholds on 24-bit uniforms: (256, K) int64.

    A 24-bit word b yields k = #{j : T[v, j] <= b}; with u = (b + 0.5) / 2**24 this is the
    smallest k with u <= CDF(k), i.e. exact inversion. K is a power of two covering the tail.
    """
    from scipy.stats import poisson

    lam = np.arange(256, dtype=np.float64) / 255.0 * c
    kmax = 1 << int(np.ceil(np.log2(c + 6 * np.sqrt(c) + 10)))
    cdf = poisson.cdf(np.arange(kmax)[None, :], lam[:, None])
    t = np.floor(cdf * 2.0**24 - 0.5).astype(np.int64) + 1
    return np.asarray(np.minimum(t, 2**24 + 1), np.int64)


def shot_lut(c: int, kmax: int) -> np.ndarray:
    """uint8(clip(k / c, 0, 1) * 255) for k < kmax, in float64 like the reference: (kmax,) uint8."""
    return (np.clip(np.arange(kmax) / float(c), 0, 1) * 255).astype(np.uint8)


def pillow_box_coeffs(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pillow's BOX resampling coefficients (8-bit fixed point, 22 fractional bits).

    Returns (xmin (out,) int64, k (out, ksize) int64); output = (sum k * in[xmin + j] + 2**21)
    >> 22, clipped to 0..255 (Pillow Resample.c precompute_coeffs / normalize_coeffs_8bpc).
    """
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support = 0.5 * filterscale
    ksize = math.ceil(support) * 2 + 1
    xmins = np.zeros(out_size, np.int64)
    kk = np.zeros((out_size, ksize), np.int64)
    for xx in range(out_size):
        center = (xx + 0.5) * scale
        ss = 1.0 / filterscale
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), in_size) - xmin
        ws = []
        for x in range(xmax):
            t = (x + xmin - center + 0.5) * ss
            ws.append(1.0 if -0.5 < t <= 0.5 else 0.0)
        tot = sum(ws)
        for j, wv in enumerate(ws):
            v = wv / tot if tot != 0.0 else wv
            kk[xx, j] = int(0.5 + v * (1 << 22)) if v >= 0 else int(-0.5 + v * (1 << 22))
        xmins[xx] = xmin
    return xmins, kk


def pillow_nearest_index(in_size: int, out_size: int) -> np.ndarray:
    """Pillow's NEAREST resize source index (Geometry.c ImagingScaleAffine accumulates): (out,)."""
    a = in_size / out_size
    xo = a * 0.5
    idx = np.empty(out_size, np.int64)
    for x in range(out_size):
        idx[x] = int(xo) if xo >= 0 else -1
        xo += a
    return np.minimum(idx, in_size - 1)


@lru_cache(maxsize=256)
def pixelate_plan(h: int, w: int, c: float) -> tuple[Any, ...]:
    """Coefficients and indices for pixelate on an (h, w) image (downsample size >= 1)."""
    sw, sh = max(int(w * c), 1), max(int(h * c), 1)
    return (
        sw,
        sh,
        pillow_box_coeffs(w, sw),
        pillow_box_coeffs(h, sh),
        pillow_nearest_index(sw, w),
        pillow_nearest_index(sh, h),
    )


def _box_pass(x: np.ndarray, xmin: np.ndarray, k: np.ndarray, axis: int) -> np.ndarray:
    n_in = x.shape[axis]
    acc = np.full(
        tuple(k.shape[0] if a == axis else s for a, s in enumerate(x.shape)), 1 << 21, np.int64
    )
    shp = [1] * x.ndim
    shp[axis] = k.shape[0]
    for j in range(k.shape[1]):
        idx = np.minimum(xmin + j, n_in - 1)
        acc += np.take(x, idx, axis=axis).astype(np.int64) * k[:, j].reshape(shp)
    return np.asarray(np.clip(acc >> 22, 0, 255), np.uint8)


def spatter_layer(height: int, width: int, severity: int, seed: int) -> np.ndarray:
    """The additive (severities 1-3) or mud (4-5) mask of spatter: (H, W) float32.

    Severities 1-3: liquid = Gaussian-smoothed normal field, thresholded; an embossed distance
    map of its Canny edges (OpenCV, uint8, as the reference) times the liquid, normalised to max
    1 and scaled by c[4] (a liquid-free image gets 0, where the reference divides by zero).
    Severities 4-5: the smoothed liquid mask, zero below 0.8.
    """
    c = SPATTER[severity - 1]
    liquid = rng.normal_np(seed, S_SPATTER, height * width).reshape(height, width)
    liquid = liquid * np.float32(c[1]) + np.float32(c[0])
    liquid = _gauss(liquid, c[2])
    liquid[liquid < c[3]] = 0
    if c[5] == 0:
        lq = np.clip(liquid * _F255, 0, 255).astype(np.uint8)
        dist = 255 - cv2.Canny(lq, 50, 150)
        dist = cv2.distanceTransform(dist, cv2.DIST_L2, 5)
        _, dist = cv2.threshold(dist, 20, 20, cv2.THRESH_TRUNC)
        dist = cv2.blur(dist, (3, 3)).astype(np.uint8)
        dist = cv2.equalizeHist(dist)
        ker = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])
        dist = cv2.filter2D(dist, cv2.CV_8U, ker)
        dist = cv2.blur(dist, (3, 3)).astype(np.float32)
        m = lq.astype(np.float32) * dist
        mx = float(m.max())
        if mx > 0:
            m /= np.float32(mx)
        return (m * np.float32(c[4])).astype(np.float32)
    mask = (liquid > c[3]).astype(np.float32)
    mask = _gauss(mask, c[4])
    mask[mask < 0.8] = 0
    return mask


SPATTER_WATER = np.array([175, 238, 238], np.float32) / 255.0  # pale turquoise (channel order
# as the reference applies it to the RGB array through OpenCV's "BGR" conversions)
SPATTER_MUD = np.array([63, 42, 20], np.float32) / 255.0


def fog_mapsize(height: int, width: int) -> int:
    return textures.next_power_of_2(max(height, width, 3))


# ---------------------------------------------------------------- corruptions


def _f01(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) / _F255


def gaussian_noise(image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """x + N(0, sigma^2) in [0, 1], sigma = GAUSSIAN_NOISE[s-1]."""
    x = _f01(image)
    n = rng.normal_np(seed, S_GAUSS, x.size).reshape(x.shape)
    x += n * np.float32(GAUSSIAN_NOISE[severity - 1])
    return to_uint8_trunc(x)


def shot_noise(image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """Poisson(x * c) / c, c = SHOT_NOISE[s-1] (exact inversion, one 24-bit uniform a value)."""
    c = SHOT_NOISE[severity - 1]
    t = poisson_thresholds(c)
    kmax = t.shape[1]
    flat_t = t.reshape(-1)
    v = image.reshape(-1).astype(np.int64) * kmax
    b = (rng.bits_np(seed, S_SHOT, image.size) >> np.uint32(8)).astype(np.int64)
    k = np.zeros(image.size, np.int64)
    step = kmax // 2
    while step >= 1:
        cand = k + step
        k = np.where(flat_t[v + cand - 1] <= b, cand, k)
        step //= 2
    return shot_lut(c, kmax)[k].reshape(image.shape)


def impulse_noise(image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """Salt-and-pepper: each value becomes 0 (prob amount/2) or 255 (prob amount/2)."""
    a = IMPULSE_NOISE[severity - 1]
    u = rng.uniform_np(seed, S_IMPULSE, image.size).reshape(image.shape)
    out = image.copy()
    out[u < a] = 255
    out[u < a / 2] = 0
    return out


def speckle_noise(image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """x + x * N(0, sigma^2), sigma = SPECKLE_NOISE[s-1]."""
    x = _f01(image)
    n = rng.normal_np(seed, S_SPECKLE, x.size).reshape(x.shape)
    x += x * n * np.float32(SPECKLE_NOISE[severity - 1])
    return to_uint8_trunc(x)


def gaussian_blur(image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """scikit-image ``gaussian`` (mode nearest, truncate 4), sigma = GAUSSIAN_BLUR[s-1]."""
    return to_uint8_trunc(_gauss(_f01(image), GAUSSIAN_BLUR[severity - 1]))


def glass_blur(image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """Gaussian blur, local pixel shuffles (reference semantics, vectorised), Gaussian blur."""
    sigma, delta, iters = GLASS_BLUR[severity - 1]
    h, w = image.shape[:2]
    x = to_uint8_trunc(_gauss(_f01(image), sigma)).reshape(h * w, 3)
    for i in range(iters):
        x = x[glass_sources(h, w, delta, seed, i)]
    return to_uint8_trunc(_gauss(_f01(x.reshape(h, w, 3)), sigma))


def defocus_blur(image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """Correlation with an anti-aliased disk (OpenCV filter2D, BORDER_REFLECT_101)."""
    r, ab = DEFOCUS_BLUR[severity - 1]
    y = cv2.filter2D(_f01(image), -1, disk_kernel(r, ab), borderType=cv2.BORDER_REFLECT_101)
    return to_uint8_trunc(y)


def motion_angle(seed: int, stream: int, lo: float, hi: float) -> float:
    """One uniform angle in degrees, U(lo, hi), from the counter generator."""
    return lo + (hi - lo) * rng.scalar_uniform(seed, stream)


def motion_blur(image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """Gaussian-weighted line of shifted copies, angle U(-45, 45) degrees."""
    radius, sigma = MOTION_BLUR[severity - 1]
    h, w = image.shape[:2]
    ang = motion_angle(seed, S_MOTION, -45.0, 45.0)
    ker = motion_kernel(radius, sigma, ang, h, w)
    y = cv2.filter2D(image.astype(np.float32), -1, ker, borderType=cv2.BORDER_REPLICATE)
    return np.clip(y, 0, 255).astype(np.uint8)


def zoom_blur(image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """Mean of the image and its centre zooms by the factors ZOOM_BLUR[s-1]."""
    zs = ZOOM_BLUR[severity - 1]
    h, w = image.shape[:2]
    x = _f01(image)
    acc = x.copy()
    for z in zs:
        iy, fy, _, oy = zoom_coords(h, z)
        ix, fx, _, ox = zoom_coords(w, z)
        sy = float(iy[1] + fy[1] - iy[0] - fy[0]) if h > 1 else 0.0
        sx = float(ix[1] + fx[1] - ix[0] - fx[0]) if w > 1 else 0.0
        m = np.array([[sx, 0.0, ix[0] + fx[0]], [0.0, sy, iy[0] + fy[0]]], np.float64)
        mh, mw = min(h, oy), min(w, ox)
        layer = cv2.warpAffine(
            x,
            m,
            (mw, mh),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )
        acc[:mh, :mw] += layer
    acc /= np.float32(len(zs) + 1)
    return to_uint8_trunc(acc)


def snow_layer(height: int, width: int, severity: int, seed: int) -> np.ndarray:
    """The cropped snow layer of ``snow`` (before adding it and its 180-degree rotation): (H, W)."""
    c = SNOW[severity - 1]
    n = rng.normal_np(seed, S_SNOW, height * width).reshape(height, width)
    layer = n * np.float32(c[1]) + np.float32(c[0])
    layer = zoom_full_np(layer, c[2])
    layer[layer < c[3]] = 0
    layer = np.clip(layer, 0, 1)
    ang = motion_angle(seed, S_SNOW_ANGLE, -135.0, -45.0)
    ker = motion_kernel(c[4], c[5], ang, layer.shape[0], layer.shape[1])
    layer = np.asarray(cv2.filter2D(layer, -1, ker, borderType=cv2.BORDER_REPLICATE), np.float32)
    q = np.round(layer * _F255).astype(np.uint8)[:height, :width]
    out = np.zeros((height, width), np.float32)
    out[: q.shape[0], : q.shape[1]] = q.astype(np.float32) / _F255
    return out


def snow(image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """Zoomed, thresholded, motion-blurred noise flakes over a brightened, greyed image."""
    c = SNOW[severity - 1]
    h, w = image.shape[:2]
    x = _f01(image)
    layer = snow_layer(h, w, severity, seed)
    gray = cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)[..., None] * np.float32(1.5) + np.float32(0.5)
    x = np.float32(c[6]) * x + np.float32(1 - c[6]) * np.maximum(x, gray)
    x += (layer + layer[::-1, ::-1])[..., None]
    return to_uint8_trunc(x)


def frost(image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """c0 * x + c1 * frost layer (procedural texture instead of the reference's photographs)."""
    c = FROST[severity - 1]
    h, w = image.shape[:2]
    tex = textures.frost_texture(h, w, seed, S_FROST)
    y = image.astype(np.float32) * np.float32(c[0]) + tex * np.float32(c[1])
    return np.clip(y, 0, 255).astype(np.uint8)


def fog(image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """x + c0 * plasma fractal, rescaled by max / (max + c0)."""
    c = FOG[severity - 1]
    h, w = image.shape[:2]
    x = _f01(image)
    mx = np.float32(image.max()) / _F255
    pl = textures.plasma_np(fog_mapsize(h, w), c[1], seed, S_FOG)[:h, :w]
    x += (np.float32(c[0]) * pl)[..., None]
    x *= mx / (mx + np.float32(c[0]))
    return to_uint8_trunc(x)


def brightness(image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """HSV value + c (H, S kept): rgb * min(V + c, 1) / V; black becomes grey V + c."""
    c = np.float32(BRIGHTNESS[severity - 1])
    x = _f01(image)
    v = x.max(axis=2, keepdims=True)
    v2 = np.minimum(v + c, np.float32(1.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.where(v > 0, x * (v2 / v), v2)
    return to_uint8_trunc(y.astype(np.float32))


def saturate(image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """HSV saturation * a + b (H, V kept), in closed form on RGB."""
    a, b = SATURATE[severity - 1]
    x = _f01(image)
    v = x.max(axis=2, keepdims=True)
    mn = x.min(axis=2, keepdims=True)
    d = v - mn
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(v > 0, d / v, 0)
        s2 = np.clip(s * np.float32(a) + np.float32(b), 0, 1).astype(np.float32)
        y = np.where(d > 0, v - s2 * v * (v - x) / d, 0)
    # grey pixels (delta 0): scikit-image's hue 0 (red) -> (V, V(1-S'), V(1-S'))
    grey = np.concatenate([v, v * (1 - s2), v * (1 - s2)], axis=2)
    y = np.where(d > 0, y, grey)
    return to_uint8_trunc(y.astype(np.float32))


def contrast_lut(counts_sum: np.ndarray, n: int, c: float) -> np.ndarray:
    """Per-channel table clip((v/255 - m) * c + m), float64 as the reference: (3, 256) uint8."""
    m = counts_sum.astype(np.float64) / n / 255.0
    v = np.arange(256, dtype=np.float64)[None, :] / 255.0
    y = (v - m[:, None]) * c + m[:, None]
    return (np.clip(y, 0, 1) * 255).astype(np.uint8)


def contrast(image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """(x - channel mean) * c + channel mean, c = CONTRAST[s-1] (exact, through a table)."""
    h, w = image.shape[:2]
    sums = image.reshape(-1, 3).sum(axis=0, dtype=np.int64)
    lut = contrast_lut(sums, h * w, CONTRAST[severity - 1])
    out = np.empty_like(image)
    for ch in range(3):
        out[..., ch] = lut[ch][image[..., ch]]
    return out


def elastic_fields(
    height: int, width: int, severity: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed random displacements (dy, dx): two (H, W) float32 arrays, in pixels."""
    alpha = ELASTIC[severity - 1]
    amp = height * 0.005  # the reference uses shape[0] for both axes
    sy, sx = 0.01 * height, 0.01 * width
    out = []
    for stream in (S_ELASTIC_X, S_ELASTIC_Y):
        u = rng.uniform_np(seed, stream, height * width).reshape(height, width)
        u = (u * np.float32(2.0) - np.float32(1.0)) * np.float32(amp)
        ky = gaussian_kernel1d(sy, 3.0).astype(np.float32) if sy > 0 else np.ones(1, np.float32)
        kx = gaussian_kernel1d(sx, 3.0).astype(np.float32) if sx > 0 else np.ones(1, np.float32)
        f = cv2.sepFilter2D(u, cv2.CV_32F, kx, ky, borderType=cv2.BORDER_REFLECT)
        out.append(f * np.float32(alpha))
    dx, dy = out
    return dy, dx


def elastic_transform(image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """Bilinear resampling at (y + dy, x + dx) with scipy's 'reflect' border."""
    h, w = image.shape[:2]
    dy, dx = elastic_fields(h, w, severity, seed)
    cy = np.arange(h, dtype=np.float32)[:, None] + dy
    cx = np.arange(w, dtype=np.float32)[None, :] + dx
    y0f, x0f = np.floor(cy), np.floor(cx)
    fy, fx = (cy - y0f)[..., None], (cx - x0f)[..., None]
    y0, x0 = y0f.astype(np.int64), x0f.astype(np.int64)
    ya, yb = reflect_index(y0, h) * w, reflect_index(y0 + 1, h) * w
    xa, xb = reflect_index(x0, w), reflect_index(x0 + 1, w)
    src = _f01(image).reshape(h * w, 3)
    v00 = src[(ya + xa).reshape(-1)].reshape(h, w, 3)
    v01 = src[(ya + xb).reshape(-1)].reshape(h, w, 3)
    v10 = src[(yb + xa).reshape(-1)].reshape(h, w, 3)
    v11 = src[(yb + xb).reshape(-1)].reshape(h, w, 3)
    top = v00 + (v01 - v00) * fx
    bot = v10 + (v11 - v10) * fx
    return to_uint8_trunc(top + (bot - top) * fy)


def pixelate(image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """Pillow BOX downscale by c then NEAREST back (integer port of Pillow's resampling)."""
    h, w = image.shape[:2]
    _, _, (xmin_x, kx), (xmin_y, ky), nx, ny = pixelate_plan(h, w, PIXELATE[severity - 1])
    small = _box_pass(image, xmin_x, kx, axis=1)
    small = _box_pass(small, xmin_y, ky, axis=0)
    return np.ascontiguousarray(small[ny][:, nx])


def jpeg_compression(image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """JPEG encode/decode at quality JPEG[s-1] (OpenCV's libjpeg, 4:2:0)."""
    q = JPEG[severity - 1]
    ok, buf = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, q])
    dec = cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else None
    if dec is None:  # pragma: no cover - OpenCV always encodes a valid uint8 image
        raise RuntimeError("jpeg_compression: OpenCV failed to encode/decode the image")
    return np.ascontiguousarray(dec[..., ::-1])


def spatter(image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """Water droplets (severities 1-3, added turquoise) or mud (4-5, brown blended over)."""
    layer = spatter_layer(image.shape[0], image.shape[1], severity, seed)
    x = _f01(image)
    if SPATTER[severity - 1][5] == 0:
        x += layer[..., None] * SPATTER_WATER
    else:
        m = layer[..., None]
        x = x * (1 - m) + SPATTER_MUD * m
    return to_uint8_trunc(x.astype(np.float32))


CorruptionFn = Callable[[np.ndarray, int, int], np.ndarray]

CORRUPTIONS: dict[str, CorruptionFn] = {
    "gaussian_noise": gaussian_noise,
    "shot_noise": shot_noise,
    "impulse_noise": impulse_noise,
    "defocus_blur": defocus_blur,
    "glass_blur": glass_blur,
    "motion_blur": motion_blur,
    "zoom_blur": zoom_blur,
    "snow": snow,
    "frost": frost,
    "fog": fog,
    "brightness": brightness,
    "contrast": contrast,
    "elastic_transform": elastic_transform,
    "pixelate": pixelate,
    "jpeg_compression": jpeg_compression,
    "speckle_noise": speckle_noise,
    "gaussian_blur": gaussian_blur,
    "spatter": spatter,
    "saturate": saturate,
}
BENCHMARK_CORRUPTIONS: tuple[str, ...] = tuple(list(CORRUPTIONS)[:15])
EXTRA_CORRUPTIONS: tuple[str, ...] = tuple(list(CORRUPTIONS)[15:])


def corrupt(image: np.ndarray, name: str, severity: int, seed: int) -> np.ndarray:
    """Corrupt one image: (H, W, 3) uint8 RGB -> (H, W, 3) uint8; pure in (image, name, s, seed)."""
    check_condition(name, severity)
    check_image(image)
    out = CORRUPTIONS[name](np.ascontiguousarray(image), int(severity), int(seed))
    return np.ascontiguousarray(out, dtype=np.uint8)
