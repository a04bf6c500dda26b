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

Implementation (speed; see bench/bench_corruptions.py): float32 throughout; Gaussian blurs and
filters with OpenCV (``BORDER_REPLICATE`` for scikit-image's ``mode='nearest'``,
``BORDER_REFLECT`` for scipy's ``'reflect'``); motion blur (and snow's) as a direct float32 sum
of the shifted copies, one per kernel tap (``motion_filter``: faster than ``cv2.filter2D``'s DFT
for these sparse kernels, and it agrees with the torch path exactly where the DFT's rounding
moved 640x480 results by up to 7 grey levels); brightness and saturate as closed-form HSV
updates (the RGB result of changing V or S with H fixed, without the round trip through HSV)
whose per-pixel terms are tabulated over (max, value) or (max, min) channel levels with the same
float32 arithmetic; contrast and shot noise through exact tables; zoom blur's
``scipy.ndimage.zoom(order=1)`` layers as ``cv2.warpAffine`` (OpenCV quantises bilinear weights
to 1/32 pixel: zoom blur may differ from the reference by a few grey levels at sharp edges, mean
difference below 0.1; tested); pixelate as an integer port of Pillow's BOX reduce and NEAREST
enlarge (byte-identical to Pillow 13 at COCO-like sizes; within 1 grey level on a few values for
some tiny odd sizes), computed as run sums through rounding tables; JPEG with OpenCV's libjpeg
at the same quality (4:2:0, like Pillow; not byte-identical, tested for a mean difference below
1 grey level). Per-value work (noise, HSV, warps) runs block by block (``_BLOCK`` values) or on
channel planes, so that temporaries stay in cache and no loop broadcasts over a length-3 axis.
Frost blends the reference's own photographs, read at run time from the installed
``imagecorruptions`` package (``frost_photos.py``: the same photograph, size and crop give the
reference's bytes), and falls back to a procedural texture without it (``textures.py``; with
the photographs' per-channel statistics, comparable to COCO-C frost only in distribution);
``frost_photos.frost_source()`` says which one runs. Deviations: shot noise samples Poisson by
table inversion of one 24-bit uniform (exact distribution up to the 2**-24 tail; ``shot_plan``
buckets the inversion by the top 8 bits); impulse noise draws one uniform per value (pepper below
amount/2, salt below amount), the same distribution as scikit-image's two Bernoulli draws.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from posebench.conditions import frost_photos, rng, textures

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


_BLOCK = rng.CHUNK  # elements per block of the fused per-value loops (cache-resident)


def _blocks(n: int) -> range:
    """Start offsets of the ``_BLOCK``-element blocks of a length-n flat array."""
    return range(0, n, _BLOCK)


def _row_blocks(height: int, width: int) -> list[tuple[int, int]]:
    """(row0, row1) blocks of about ``_BLOCK`` values of an (H, W, 3) image."""
    rows = max(1, _BLOCK // (3 * max(width, 1)))
    return [(r, min(height, r + rows)) for r in range(0, height, rows)]


def _plane_blocks(height: int, width: int) -> list[tuple[int, int]]:
    """(row0, row1) blocks of about ``_BLOCK`` values of an (H, W) plane."""
    rows = max(1, _BLOCK // max(width, 1))
    return [(r, min(height, r + rows)) for r in range(0, height, rows)]


def _trunc_into(x01: np.ndarray, out: np.ndarray) -> None:
    """``to_uint8_trunc`` of a float32 block into the uint8 block ``out`` (x01 is clobbered)."""
    np.clip(x01, 0.0, 1.0, out=x01)
    x01 *= _F255
    np.copyto(out, x01, casting="unsafe")


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


def zoom_full_shape(n0: int, n1: int, z: float) -> tuple[int, int]:
    """Un-cropped output size of ``clipped_zoom`` on an (n0, n1) array."""
    return round(int(np.ceil(n0 / z)) * z), round(int(np.ceil(n1 / z)) * z)


def zoom_full_np(
    x: np.ndarray, z: float, rows: int | None = None, cols: int | None = None
) -> np.ndarray:
    """Exact ``clipped_zoom`` (un-cropped output, (out0, out1, ...)) by separable lerp, float32.

    ``rows`` / ``cols`` compute only the first rows / columns of that output (same values).
    """
    n0, n1 = x.shape[:2]
    ch0, ch1 = int(np.ceil(n0 / z)), int(np.ceil(n1 / z))
    t0, t1 = (n0 - ch0) // 2, (n1 - ch1) // 2
    crop = x[t0 : t0 + ch0, t1 : t1 + ch1]
    o0, o1 = round(ch0 * z), round(ch1 * z)
    for axis, (c, o, lim) in enumerate(((ch0, o0, rows), (ch1, o1, cols))):
        s = (c - 1) / (o - 1) if o > 1 else 0.0
        pos = np.arange(o, dtype=np.float64) * s
        if lim is not None:
            pos = pos[:lim]
        i0 = np.minimum(np.floor(pos).astype(np.int64), max(c - 2, 0))
        i1 = np.minimum(i0 + 1, c - 1)
        f = (pos - i0).astype(np.float32)
        shp = [1] * crop.ndim
        shp[axis] = pos.size
        f = f.reshape(shp)
        a = np.take(crop, i0, axis=axis)
        b = np.take(crop, i1, axis=axis)
        b -= a
        b *= f
        a += b
        crop = a
    return crop


def motion_filter(x: np.ndarray, ker: np.ndarray) -> np.ndarray:
    """Correlation with a motion (line) kernel, replicated border: float32, x's shape.

    A direct sum of the shifted copies, one per non-zero tap (row-major order), in float32:
    a few times faster than ``cv2.filter2D``'s DFT for these sparse kernels, and within float
    rounding of it.
    """
    r = ker.shape[0] // 2
    iy, ix = np.nonzero(ker)
    h, w = x.shape[:2]
    if iy.size == 0:
        return np.zeros(x.shape, np.float32)
    py, px = int(np.abs(iy - r).max()), int(np.abs(ix - r).max())
    xp = cv2.copyMakeBorder(np.asarray(x, np.float32), py, py, px, px, cv2.BORDER_REPLICATE)
    acc = np.zeros(x.shape, np.float32)
    for i, j in zip(iy.tolist(), ix.tolist(), strict=True):
        y0, x0 = py + i - r, px + j - r
        cv2.scaleAdd(xp[y0 : y0 + h, x0 : x0 + w], float(ker[i, j]), acc, dst=acc)
    return acc


def reflect_index(i: np.ndarray, n: int) -> np.ndarray:
    """scipy 'reflect' (half-sample symmetric, cv2 BORDER_REFLECT) for integer indices."""
    p = 2 * n
    i = np.mod(i, p)
    return np.where(i >= n, p - 1 - i, i)


def glass_sources(height: int, width: int, delta: int, seed: int, iteration: int) -> np.ndarray:
    """Final source pixel of every pixel after one glass-blur shuffle pass: (H*W,) intp.

    Equivalent to the reference's sequential loop (see module docstring): pixel p in the visited
    region (rows and columns delta+1 .. n-delta) copies from p + (dy, dx), dx, dy uniform in
    [-delta, delta - 1] (dx drawn first); if that source was visited before p (larger raster
    index), the value it holds is its own final value, so the chain is followed. The visited
    region is a rectangle, so "source visited and later in raster order" is arithmetic; the
    chains are followed by pointer jumping (each round doubles the steps taken).
    """
    h, w, d = height, width, delta
    n = h * w
    if h - d < d + 1 or w - d < d + 1:  # no pixel is visited
        return np.arange(n, dtype=np.intp)
    r0, r1, c0, c1 = d + 1, h - d + 1, d + 1, w - d + 1  # visited rows r0..r1-1, cols c0..c1-1
    bits = rng.bits_np(seed, S_GLASS + iteration, 2 * n).reshape(h, w, 2)[r0:r1, c0:c1]
    span = np.uint32(2 * d)
    dx = (bits[..., 0] % span).astype(np.int32)
    dx -= d
    dy = (bits[..., 1] % span).astype(np.int32)
    dy -= d
    move = dy * np.int32(w)
    move += dx
    # a move follows on when its source comes later in raster order (move > 0, so dy >= 0) and
    # was visited too: only the bottom rows and the side columns can leave the region
    on = move > 0
    rr = np.arange(r0, r1, dtype=np.int32)[:, None]
    cc = np.arange(c0, c1, dtype=np.int32)[None, :]
    b = max(r1 - r0 - d, 0)
    on[b:] &= (rr[b:] + dy[b:]) < r1
    on[:, :d] &= (cc[:, :d] + dx[:, :d]) >= c0
    e = max(c1 - c0 - d, 0)
    on[:, e:] &= (cc[:, e:] + dx[:, e:]) < c1
    src2d = np.arange(n, dtype=np.intp).reshape(h, w)
    src2d[r0:r1, c0:c1] += move
    src = src2d.reshape(-1)
    # pointer jumping over the pixels whose move follows on
    pos = (rr * np.int32(w) + cc)[on].astype(np.intp)
    cur = src[pos]
    jump = np.arange(n, dtype=np.intp)
    jump[pos] = cur
    while True:
        nxt = np.take(jump, cur)
        if np.array_equal(nxt, cur):
            break
        cur = nxt
        jump[pos] = cur
    out = src.copy()
    out[pos] = np.take(src, cur)
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
    liquid *= np.float32(c[1])
    liquid += np.float32(c[0])
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
    """x + N(0, sigma^2) in [0, 1], sigma = GAUSSIAN_NOISE[s-1] (fused, block by block)."""
    sigma = np.float32(GAUSSIAN_NOISE[severity - 1])
    flat = image.reshape(-1)
    out = np.empty(flat.shape, np.uint8)
    buf = np.empty(min(flat.size, _BLOCK), np.float32)
    for s in _blocks(flat.size):
        e = min(flat.size, s + _BLOCK)
        x = buf[: e - s]
        np.divide(flat[s:e], _F255, out=x)
        n = rng.normal_np(seed, S_GAUSS, e - s, s)
        n *= sigma
        x += n
        _trunc_into(x, out[s:e])
    return out.reshape(image.shape)


@lru_cache(maxsize=8)
def shot_plan(c: int) -> tuple[np.ndarray, np.ndarray]:
    """Bucketed inversion tables for ``shot_noise``: (thr (65536,) uint32, out (131072,) uint8).

    Index q = v * 256 + (b >> 16) (v the pixel value, b the 24-bit word). With k0 the sample
    at the bucket's first word, every bucket that holds at most one threshold T[v, j] has
    k = k0 + (b >= thr[q]) and output ``out[2 q + (b >= thr[q])]``. ``thr[q] == 0`` marks the
    few buckets (<= 2% per value) holding two or more: those take the full binary search.
    """
    t = poisson_thresholds(c)
    kmax = t.shape[1]
    lut = shot_lut(c, kmax)
    lo = np.arange(256, dtype=np.int64) << 16
    hi = lo + (1 << 16) - 1
    thr = np.empty((256, 256), np.uint32)
    out = np.empty((256, 256, 2), np.uint8)
    for v in range(256):
        k0 = np.minimum(np.searchsorted(t[v], lo, side="right"), kmax - 1)
        cnt = np.searchsorted(t[v], hi, side="right") - np.searchsorted(t[v], lo, side="right")
        last = k0 >= kmax - 1  # the search caps k at kmax - 1
        tv = np.where(last, 1 << 25, t[v][np.minimum(k0, kmax - 1)])
        thr[v] = np.where((cnt >= 2) & ~last, 0, tv)
        out[v, :, 0] = lut[k0]
        out[v, :, 1] = lut[np.minimum(k0 + 1, kmax - 1)]
    thr.setflags(write=False)
    out.setflags(write=False)
    return thr.reshape(-1), out.reshape(-1)


def _shot_search(v: np.ndarray, b: np.ndarray, c: int) -> np.ndarray:
    """Full inverse-CDF binary search: values v, 24-bit words b (both (n,)) -> k (n,) int64."""
    t = poisson_thresholds(c)
    kmax = t.shape[1]
    flat_t = t.reshape(-1)
    base = v.astype(np.int64) * kmax
    bb = b.astype(np.int64)
    k = np.zeros(v.shape, np.int64)
    step = kmax // 2
    while step >= 1:
        cand = k + step
        k = np.where(flat_t[base + cand - 1] <= bb, cand, k)
        step //= 2
    return k


def shot_noise(image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """Poisson(x * c) / c, c = SHOT_NOISE[s-1] (exact inversion, one 24-bit uniform a value).

    The inversion goes through ``shot_plan``'s per-(value, top-8-bits) buckets, block by block;
    identical to the plain binary search over ``poisson_thresholds`` (which the torch path runs).
    """
    c = SHOT_NOISE[severity - 1]
    thr_t, out_t = shot_plan(c)
    lut = shot_lut(c, poisson_thresholds(c).shape[1])
    k0, k1 = rng.stream_key(seed, S_SHOT)
    flat = image.reshape(-1)
    out = np.empty(flat.shape, np.uint8)
    m = min(flat.size, _BLOCK)
    b_buf, tmp, q_buf = (np.empty(m, np.uint32) for _ in range(3))
    thr_buf = np.empty(m, np.uint32)
    ge = np.empty(m, bool)
    for s in _blocks(flat.size):
        e = min(flat.size, s + _BLOCK)
        n = e - s
        b, q, thr, g = b_buf[:n], q_buf[:n], thr_buf[:n], ge[:n]
        rng._bits_block(k0, k1, s, b, tmp)
        b >>= np.uint32(8)
        np.left_shift(flat[s:e], np.uint32(8), out=q, dtype=np.uint32)
        np.right_shift(b, np.uint32(16), out=tmp[:n])
        q |= tmp[:n]
        np.take(thr_t, q, out=thr)
        np.greater_equal(b, thr, out=g)
        q <<= np.uint32(1)
        q += g
        np.take(out_t, q, out=out[s:e])
        multi = np.flatnonzero(thr == 0)
        if multi.size:
            out[s + multi] = lut[_shot_search(flat[s:e][multi], b[multi], c)]
    return out.reshape(image.shape)


@lru_cache(maxsize=32)
def uniform_cut(a: float) -> int:
    """Smallest 24-bit word w whose ``rng`` uniform ``(w + 0.5) * 2**-24`` is not ``< a``.

    ``uniform < a`` (float32, as numpy compares) is monotone in w, so it equals ``w < cut``.
    """
    lo, hi = 0, 1 << 24  # answer in [lo, hi]
    while lo < hi:
        mid = (lo + hi) // 2
        u = (np.array([mid], np.uint32).astype(np.float32) + np.float32(0.5)) * np.float32(2.0**-24)
        if bool((u < a)[0]):
            lo = mid + 1
        else:
            hi = mid
    return lo


def impulse_noise(image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """Salt-and-pepper: each value becomes 0 (prob amount/2) or 255 (prob amount/2).

    Value i is 0 if uniform_i < amount / 2, else 255 if uniform_i < amount; the comparisons run
    on the 24-bit words (``uniform_cut``), block by block.
    """
    a = IMPULSE_NOISE[severity - 1]
    cut_pepper, cut_salt = np.uint32(uniform_cut(a / 2)), np.uint32(uniform_cut(a))
    k0, k1 = rng.stream_key(seed, S_IMPULSE)
    flat = image.reshape(-1)
    out = np.empty_like(flat)
    m = min(flat.size, _BLOCK)
    b_buf, tmp = np.empty(m, np.uint32), np.empty(m, np.uint32)
    mask, bytes_ = np.empty(m, bool), np.empty(m, np.uint8)
    for s in _blocks(flat.size):
        e = min(flat.size, s + _BLOCK)
        b, mk, ob = b_buf[: e - s], mask[: e - s], out[s:e]
        mu, by = mk.view(np.uint8), bytes_[: e - s]
        rng._bits_block(k0, k1, s, b, tmp)
        b >>= np.uint32(8)
        # branch-free (masked stores are slow): x | (salt ? 255 : 0), then & (pepper ? 0 : 255)
        np.less(b, cut_salt, out=mk)
        np.negative(mu, out=by)
        np.bitwise_or(flat[s:e], by, out=ob)
        np.less(b, cut_pepper, out=mk)
        np.subtract(mu, np.uint8(1), out=by)
        ob &= by
    return out.reshape(image.shape)


def speckle_noise(image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """x + x * N(0, sigma^2), sigma = SPECKLE_NOISE[s-1] (fused, block by block)."""
    sigma = np.float32(SPECKLE_NOISE[severity - 1])
    flat = image.reshape(-1)
    out = np.empty(flat.shape, np.uint8)
    buf = np.empty(min(flat.size, _BLOCK), np.float32)
    for s in _blocks(flat.size):
        e = min(flat.size, s + _BLOCK)
        x = buf[: e - s]
        np.divide(flat[s:e], _F255, out=x)
        n = rng.normal_np(seed, S_SPECKLE, e - s, s)
        n *= x
        n *= sigma
        x += n
        _trunc_into(x, out[s:e])
    return out.reshape(image.shape)


def gaussian_blur(image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """scikit-image ``gaussian`` (mode nearest, truncate 4), sigma = GAUSSIAN_BLUR[s-1]."""
    return to_uint8_trunc(_gauss(_f01(image), GAUSSIAN_BLUR[severity - 1]))


def glass_blur(image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """Gaussian blur, local pixel shuffles (reference semantics, vectorised), Gaussian blur.

    The shuffle passes compose into one source index per pixel, applied as one 32-bit gather
    of the pixels (RGB padded to RGBX).
    """
    sigma, delta, iters = GLASS_BLUR[severity - 1]
    h, w = image.shape[:2]
    x = to_uint8_trunc(_gauss(_f01(image), sigma))
    idx: np.ndarray | None = None
    for i in range(iters):  # x_i+1 = x_i[g_i]  =>  x_n = x_0[g_0[g_1[...]]]
        g = glass_sources(h, w, delta, seed, i)
        idx = g if idx is None else np.take(idx, g)
    if idx is not None:
        rgbx = cv2.cvtColor(x, cv2.COLOR_RGB2RGBA)
        moved = np.take(rgbx.view(np.uint32).reshape(-1), idx)
        x = cv2.cvtColor(moved.view(np.uint8).reshape(h, w, 4), cv2.COLOR_RGBA2RGB)
    return to_uint8_trunc(_gauss(_f01(x), sigma))


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
    y = motion_filter(image, ker)
    return np.clip(y, 0, 255, out=y).astype(np.uint8)


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
    """The cropped snow layer of ``snow`` (before adding it and its 180-degree rotation): (H, W).

    Only the part of the zoomed flake field that reaches the crop (the crop plus the motion
    kernel's reach) is computed; the rest never influences the output.
    """
    c = SNOW[severity - 1]
    n = rng.normal_np(seed, S_SNOW, height * width).reshape(height, width)
    n *= np.float32(c[1])
    n += np.float32(c[0])
    full = zoom_full_shape(height, width, c[2])
    ang = motion_angle(seed, S_SNOW_ANGLE, -135.0, -45.0)
    ker = motion_kernel(c[4], c[5], ang, full[0], full[1])
    reach = ker.shape[0] // 2
    layer = zoom_full_np(n, c[2], rows=height + reach, cols=width + reach)
    layer[layer < c[3]] = 0
    np.clip(layer, 0, 1, out=layer)
    layer = motion_filter(layer, ker)
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
    layer += layer[::-1, ::-1]
    gray = np.asarray(cv2.cvtColor(x, cv2.COLOR_RGB2GRAY), np.float32)
    gray *= np.float32(1.5)
    gray += np.float32(0.5)
    outs = []
    for xc in cv2.split(x):  # channel planes
        m = np.maximum(xc, gray)
        m *= np.float32(1 - c[6])
        xc *= np.float32(c[6])
        xc += m
        xc += layer
        outs.append(to_uint8_trunc(xc))
    return cv2.merge(outs)


def frost(image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """c0 * x + c1 * frost layer: the reference's photographs when ``imagecorruptions`` is
    installed (:mod:`frost_photos`, byte-identical to the reference for the same draws), else
    the procedural texture (:mod:`textures`)."""
    c = FROST[severity - 1]
    h, w = image.shape[:2]
    if frost_photos.find_frost_photos() is not None:
        return frost_photos.blend(image, frost_photos.frost_layer(h, w, seed, S_FROST), c)
    tex = textures.frost_planes(h, w, seed, S_FROST)
    outs = []
    for x, t in zip(cv2.split(image), tex, strict=True):  # channel planes
        y = np.multiply(x, np.float32(c[0]), dtype=np.float32)
        t *= np.float32(c[1])
        y += t
        np.clip(y, 0, 255, out=y)
        outs.append(y.astype(np.uint8))
    return cv2.merge(outs)


def fog(image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """x + c0 * plasma fractal, rescaled by max / (max + c0)."""
    c = FOG[severity - 1]
    h, w = image.shape[:2]
    mx = np.float32(image.max()) / _F255
    pl = textures.plasma_np(fog_mapsize(h, w), c[1], seed, S_FOG, crop=(h, w))
    pl *= np.float32(c[0])
    k = mx / (mx + np.float32(c[0]))
    outs = []
    for x8 in cv2.split(image):  # channel planes
        x = np.divide(x8, _F255, dtype=np.float32)
        x += pl
        x *= k
        outs.append(to_uint8_trunc(x))
    return cv2.merge(outs)


def _hsv_grid() -> tuple[np.ndarray, np.ndarray]:
    """V (256, 1) and a second grey level (1, 256), both ``u8 / 255`` in float32."""
    lv = np.arange(256, dtype=np.float32) / _F255
    return lv[:, None], lv[None, :]


@lru_cache(maxsize=8)
def brightness_table(severity: int) -> np.ndarray:
    """``brightness`` of value x in a pixel of HSV value v: (256 * 256,) uint8 at v * 256 + x.

    The float32 formula of the closed form, evaluated once per (v, x) pair (x <= v matters).
    """
    c = np.float32(BRIGHTNESS[severity - 1])
    v, x = _hsv_grid()
    v2 = np.minimum(v + c, np.float32(1.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.where(v > 0, x * (v2 / v), v2)
    t = to_uint8_trunc(np.ascontiguousarray(y, np.float32)).reshape(-1)
    t.setflags(write=False)
    return t


def brightness(image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """HSV value + c (H, S kept): rgb * min(V + c, 1) / V; black becomes grey V + c.

    Through ``brightness_table`` (exact: the same float32 arithmetic, tabulated).
    """
    table = brightness_table(severity)
    h, w = image.shape[:2]
    planes = cv2.split(image)
    outs = [np.empty((h, w), np.uint8) for _ in range(3)]
    for r0, r1 in _plane_blocks(h, w):
        p = [q[r0:r1] for q in planes]
        idx = np.left_shift(np.maximum(np.maximum(p[0], p[1]), p[2]), 8, dtype=np.uint16)
        for ch in range(3):
            np.take(table, idx | p[ch], out=outs[ch][r0:r1])
    return cv2.merge(outs)


@lru_cache(maxsize=8)
def saturate_tables(severity: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per (max v, min m) pixel terms of ``saturate``: three (256 * 256,) float32 at v * 256 + m.

    ``s2 * v`` (new saturation times value), ``d = v - m`` (1 where d = 0, grey) and
    ``v * (1 - s2)`` (a grey pixel's green and blue), in the closed form's float32 arithmetic.
    """
    a, b = SATURATE[severity - 1]
    v, mn = _hsv_grid()
    d = v - mn
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(v > 0, d / v, 0)
    s2 = np.clip(s * np.float32(a) + np.float32(b), 0, 1).astype(np.float32)
    s2v = (s2 * v).astype(np.float32)
    grey = (v * (1 - s2)).astype(np.float32)
    dd = np.where(d > 0, d, np.float32(1.0)).astype(np.float32)
    out = tuple(np.ascontiguousarray(t, np.float32).reshape(-1) for t in (s2v, dd, grey))
    for t in out:
        t.setflags(write=False)
    return out[0], out[1], out[2]


_LEVELS = np.arange(256, dtype=np.float32) / _F255


def saturate(image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """HSV saturation * a + b (H, V kept), in closed form on RGB.

    y = v - s2 v (v - x) / d per channel (d = v - min > 0); grey pixels take scikit-image's hue
    0 (red): (V, V(1-S'), V(1-S')). Per-pixel terms come from ``saturate_tables``; the work
    runs on channel planes, block by block.
    """
    s2v_t, d_t, grey_t = saturate_tables(severity)
    h, w = image.shape[:2]
    planes = cv2.split(image)
    outs = [np.empty((h, w), np.uint8) for _ in range(3)]
    for r0, r1 in _plane_blocks(h, w):
        p = [q[r0:r1] for q in planes]
        v8 = np.maximum(np.maximum(p[0], p[1]), p[2])
        m8 = np.minimum(np.minimum(p[0], p[1]), p[2])
        idx = np.left_shift(v8, 8, dtype=np.uint16)
        idx |= m8
        v = np.take(_LEVELS, v8)
        s2v = np.take(s2v_t, idx)
        d = np.take(d_t, idx)
        grey = v8 == m8
        g = np.take(grey_t, idx) if grey.any() else None
        for ch in range(3):
            y = np.divide(p[ch], _F255, dtype=np.float32)
            np.subtract(v, y, out=y)
            y *= s2v
            y /= d
            np.subtract(v, y, out=y)
            if g is not None and ch > 0:
                np.copyto(y, g, where=grey)
            _trunc_into(y, outs[ch][r0:r1])
    return cv2.merge(outs)


def contrast_lut(counts_sum: np.ndarray, n: int, c: float) -> np.ndarray:
    """Per-channel table clip((v/255 - m) * c + m), float64 as the reference: (3, 256) uint8."""
    m = counts_sum.astype(np.float64) / n / 255.0
    v = np.arange(256, dtype=np.float64)[None, :] / 255.0
    y = (v - m[:, None]) * c + m[:, None]
    return (np.clip(y, 0, 1) * 255).astype(np.uint8)


def contrast(image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """(x - channel mean) * c + channel mean, c = CONTRAST[s-1] (exact, through a table)."""
    h, w = image.shape[:2]
    sums = np.array(cv2.sumElems(image)[:3], np.int64)  # exact: integer sums < 2**53
    lut = contrast_lut(sums, h * w, CONTRAST[severity - 1])
    return cv2.LUT(image, np.ascontiguousarray(lut.T).reshape(256, 1, 3))


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
        u *= np.float32(2.0)
        u -= np.float32(1.0)
        u *= np.float32(amp)
        ky = gaussian_kernel1d(sy, 3.0).astype(np.float32) if sy > 0 else np.ones(1, np.float32)
        kx = gaussian_kernel1d(sx, 3.0).astype(np.float32) if sx > 0 else np.ones(1, np.float32)
        f = np.asarray(
            cv2.sepFilter2D(u, cv2.CV_32F, kx, ky, borderType=cv2.BORDER_REFLECT), np.float32
        )
        f *= np.float32(alpha)
        out.append(f)
    dx, dy = out
    return dy, dx


def elastic_transform(image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """Bilinear resampling at (y + dy, x + dx) with scipy's 'reflect' border.

    Block by block: the four neighbours come as one 32-bit gather each (RGB padded to RGBX),
    reflected through small index tables; the interpolation is the float32 arithmetic of the
    plain formula (same result).
    """
    h, w = image.shape[:2]
    dy, dx = elastic_fields(h, w, severity, seed)
    pad = int(np.ceil(max(float(np.abs(dy).max()), float(np.abs(dx).max())))) + 2
    ry = (reflect_index(np.arange(-pad, h + pad + 1), h) * w).astype(np.int32)
    rx = reflect_index(np.arange(-pad, w + pad + 1), w).astype(np.int32)
    rgbx = np.zeros((h * w, 4), np.uint8)
    rgbx[:, :3] = image.reshape(-1, 3)
    src = rgbx.view(np.uint32).reshape(-1)
    ar_y = np.arange(h, dtype=np.float32)
    ar_x = np.arange(w, dtype=np.float32)
    out = np.empty_like(image)
    for r0, r1 in _row_blocks(h, w):
        cy = ar_y[r0:r1, None] + dy[r0:r1]
        cx = ar_x[None, :] + dx[r0:r1]
        y0f, x0f = np.floor(cy), np.floor(cx)
        fy, fx = cy - y0f, cx - x0f
        yi = y0f.astype(np.int32)
        yi += pad
        xi = x0f.astype(np.int32)
        xi += pad
        ya, yb = np.take(ry, yi), np.take(ry, yi + 1)
        xa, xb = np.take(rx, xi), np.take(rx, xi + 1)
        corners = [
            np.take(src, iy + ix).view(np.uint8).reshape(*iy.shape, 4)
            for iy, ix in ((ya, xa), (ya, xb), (yb, xa), (yb, xb))
        ]
        for ch in range(3):  # channel planes: no broadcasting over a length-3 axis
            v00, v01, v10, v11 = (np.divide(c[..., ch], _F255, dtype=np.float32) for c in corners)
            v01 -= v00
            v01 *= fx
            v00 += v01  # top
            v11 -= v10
            v11 *= fx
            v10 += v11  # bottom
            v10 -= v00
            v10 *= fy
            v00 += v10
            _trunc_into(v00, out[r0:r1, :, ch])
    return out


def box_runs(xmin: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``pillow_box_coeffs`` as runs of equal weights: (start, stop, weight), each (out,) int64.

    Pillow's BOX gives every output a contiguous run of inputs with one shared weight, so that
    the output is ``(weight * run_sum + 2**21) >> 22``; None if some output does not (fallback).
    """
    n_out = k.shape[0]
    start, stop, wt = (np.zeros(n_out, np.int64) for _ in range(3))
    for o in range(n_out):
        nz = np.flatnonzero(k[o])
        if nz.size == 0:
            start[o] = stop[o] = xmin[o]
            continue
        if nz[-1] - nz[0] + 1 != nz.size or (k[o, nz] != k[o, nz[0]]).any():
            return None
        start[o], stop[o], wt[o] = xmin[o] + nz[0], xmin[o] + nz[-1] + 1, k[o, nz[0]]
    return start, stop, wt


def _run_taps(
    start: np.ndarray, stop: np.ndarray, wt: np.ndarray, ch: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Gather plan of a run-sum pass over an axis interleaving ``ch`` channels.

    Returns (idx (J, out * ch) intp, on (J, out * ch) uint16, off (out * ch,) intp,
    table (uint8)): run sum ``S = sum_j x[idx[j]] * on[j]``, output ``table[off + S]``.
    """
    n = int(np.max(stop - start, initial=1))
    lens = stop - start
    j = np.arange(max(n, 1))[:, None]
    src = np.minimum(start[None, :] + j, np.maximum(stop - 1, start)[None, :])
    on = (j < lens[None, :]).astype(np.uint16)
    chans = np.arange(ch)
    idx = (src[:, :, None] * ch + chans).reshape(src.shape[0], -1).astype(np.intp)
    on = np.repeat(on, ch, axis=1)
    wts, cls = np.unique(wt, return_inverse=True)
    span = 255 * n + 1
    sums = np.arange(span, dtype=np.int64)
    table = np.clip((wts[:, None] * sums[None, :] + (1 << 21)) >> 22, 0, 255).astype(np.uint8)
    off = np.repeat(cls * span, ch).astype(np.intp)
    return idx, on, off, table.ravel()


@lru_cache(maxsize=256)
def pixelate_fast_plan(h: int, w: int, c: float) -> tuple[Any, ...] | None:
    """Run form of ``pixelate_plan`` and NEAREST-enlarge maps; None where runs do not apply."""
    _, _, (xmin_x, kx), (xmin_y, ky), nx, ny = pixelate_plan(h, w, c)
    rx, ry = box_runs(xmin_x, kx), box_runs(xmin_y, ky)
    if rx is None or ry is None:
        return None
    nmap = None
    if max(h, w) < 2**15:  # OpenCV's int16 maps: an exact gather
        nmap = np.empty((h, w, 2), np.int16)
        nmap[..., 0] = nx[None, :]
        nmap[..., 1] = ny[:, None]
    return _run_taps(*rx, ch=3), _run_taps(*ry, ch=1), nx, ny, nmap


def _run_sum_pass(x: np.ndarray, plan: tuple[np.ndarray, ...], axis: int) -> np.ndarray:
    """One BOX pass over axis 0 or 1 of a 2-D uint8 array, through ``_run_taps``' plan."""
    idx, on, off, table = plan
    shp = (-1, 1) if axis == 0 else (1, -1)
    acc: np.ndarray | None = None
    for j in range(idx.shape[0]):
        term = np.take(x, idx[j], axis=axis).astype(np.uint16)
        if not on[j].all():
            term *= on[j].reshape(shp)
        acc = term if acc is None else np.add(acc, term, out=acc)
    assert acc is not None
    sums = acc.astype(np.intp)
    sums += off.reshape(shp)  # in place: a fresh large temporary costs its page faults
    return np.take(table, sums)


def pixelate(image: np.ndarray, severity: int, seed: int) -> np.ndarray:
    """Pillow BOX downscale by c then NEAREST back (integer port of Pillow's resampling).

    Fast path (identical results): Pillow's BOX weights are equal over a run of inputs, so each
    pass is a run sum (a few gathers) through a rounding table, and the enlarge an exact OpenCV
    nearest-neighbour remap.
    """
    h, w = image.shape[:2]
    fast = pixelate_fast_plan(h, w, PIXELATE[severity - 1])
    if fast is None:
        _, _, (xmin_x, kx), (xmin_y, ky), nx, ny = pixelate_plan(h, w, PIXELATE[severity - 1])
        small = _box_pass(image, xmin_x, kx, axis=1)
        small = _box_pass(small, xmin_y, ky, axis=0)
        return np.ascontiguousarray(small[ny][:, nx])
    px, py, nx, ny, nmap = fast
    small = _run_sum_pass(image.reshape(h, w * 3), px, axis=1)  # (h, sw * 3)
    small = _run_sum_pass(small, py, axis=0).reshape(-1, small.shape[1] // 3, 3)
    if nmap is not None:
        # an int16 (x, y) map needs no second map (some OpenCV stubs do not allow None)
        return np.asarray(cv2.remap(small, nmap, None, cv2.INTER_NEAREST))  # type: ignore[call-overload,unused-ignore]
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
    water = SPATTER[severity - 1][5] == 0
    keep = None if water else np.float32(1.0) - layer
    outs = []
    for ch, x8 in enumerate(cv2.split(image)):  # channel planes
        x = np.divide(x8, _F255, dtype=np.float32)
        if keep is None:
            x += layer * SPATTER_WATER[ch]
        else:
            x *= keep
            x += SPATTER_MUD[ch] * layer
        outs.append(to_uint8_trunc(x))
    return cv2.merge(outs)


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
#: The 15 corruptions COCO-C and ImageNet-C score (mPC, rPC in ``posebench.robustness``), named
#: once, here; the 4 extra are generated, not scored. ``tests/test_robustness_families.py``
#: fails if any other module spells the set again.
BENCHMARK_CORRUPTIONS: tuple[str, ...] = (
    "gaussian_noise", "shot_noise", "impulse_noise",
    "defocus_blur", "glass_blur", "motion_blur", "zoom_blur",
    "snow", "frost", "fog",
    "brightness", "contrast", "elastic_transform", "pixelate", "jpeg_compression",
)  # fmt: skip
EXTRA_CORRUPTIONS: tuple[str, ...] = tuple(n for n in CORRUPTIONS if n not in BENCHMARK_CORRUPTIONS)
if not set(BENCHMARK_CORRUPTIONS) <= set(CORRUPTIONS):  # pragma: no cover - a typo above
    raise ImportError(
        f"unknown benchmark corruptions {set(BENCHMARK_CORRUPTIONS) - set(CORRUPTIONS)}"
    )


def corrupt(image: np.ndarray, name: str, severity: int, seed: int) -> np.ndarray:
    """Corrupt one image: (H, W, 3) uint8 RGB -> (H, W, 3) uint8; pure in (image, name, s, seed)."""
    check_condition(name, severity)
    check_image(image)
    out = CORRUPTIONS[name](np.ascontiguousarray(image), int(severity), int(seed))
    return np.ascontiguousarray(out, dtype=np.uint8)
