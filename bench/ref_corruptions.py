"""Straight numpy/scipy port of the imagecorruptions 1.1.2 formulas: the bench's baseline.

Written from the reference's definitions (same libraries where the reference calls them:
scipy.ndimage for Gaussian filtering, zoom and map_coordinates; OpenCV where it uses OpenCV;
Pillow for pixelate and JPEG; scikit-image's HSV formulas in numpy), float64 as the reference,
including glass blur's per-pixel Python loop. Random numbers come from
``np.random.default_rng(seed)``. Frost uses posebench's procedural texture (the reference's
photographs are not shipped). Not part of the library; used only by bench_corruptions.py.
"""

from __future__ import annotations

import io
import math

import cv2
import numpy as np
from PIL import Image
from scipy import ndimage

from posebench.conditions import corruptions as P
from posebench.conditions import textures


def _gauss(x: np.ndarray, sigma: float) -> np.ndarray:
    s = (sigma, sigma, 0) if x.ndim == 3 else sigma
    return ndimage.gaussian_filter(x, s, mode="nearest", truncate=4.0)


def _rgb2hsv(a: np.ndarray) -> np.ndarray:
    v = a.max(-1)
    d = np.ptp(a, -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = d / v
        s[d == 0] = 0
        h = np.zeros_like(v)
        for ch, off, i1, i2 in ((0, 0.0, 1, 2), (1, 2.0, 2, 0), (2, 4.0, 0, 1)):
            idx = a[..., ch] == v
            h[idx] = off + (a[idx, i1] - a[idx, i2]) / d[idx]
    h = (h / 6.0) % 1.0
    h[d == 0] = 0
    return np.stack([h, s, v], -1)


def _hsv2rgb(hsv: np.ndarray) -> np.ndarray:
    h, s, v = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    hi = np.floor(h * 6)
    f = h * 6 - hi
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    hi = hi.astype(np.int64) % 6
    choices = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    out = np.zeros(hsv.shape)
    for k, (r, g, b) in enumerate(choices):
        m = hi == k
        out[m] = np.stack([r[m], g[m], b[m]], -1)
    return out


def _clipped_zoom(x: np.ndarray, z: float) -> np.ndarray:
    c0 = int(np.ceil(x.shape[0] / z))
    c1 = int(np.ceil(x.shape[1] / z))
    t0, t1 = (x.shape[0] - c0) // 2, (x.shape[1] - c1) // 2
    return ndimage.zoom(x[t0 : t0 + c0, t1 : t1 + c1], (z, z, 1), order=1)


def _shift(x: np.ndarray, dx: int, dy: int) -> np.ndarray:
    h, w = x.shape[:2]
    iy = np.clip(np.arange(h) - dy, 0, h - 1)
    ix = np.clip(np.arange(w) - dx, 0, w - 1)
    return x[iy][:, ix]


def _motion(x: np.ndarray, radius: int, sigma: float, angle: float) -> np.ndarray:
    width = 2 * radius + 1
    k = np.exp(-(np.arange(width) ** 2) / (2 * sigma**2))
    k /= k.sum()
    py, px = width * np.sin(np.deg2rad(angle)), width * np.cos(np.deg2rad(angle))
    hyp = math.hypot(py, px)
    out = np.zeros(x.shape, np.float64)
    for i in range(width):
        dy = -math.ceil(i * py / hyp - 0.5)
        dx = -math.ceil(i * px / hyp - 0.5)
        if abs(dy) >= x.shape[0] or abs(dx) >= x.shape[1]:
            break
        out += k[i] * _shift(x, dx, dy)
    return out


def _u8(x: np.ndarray) -> np.ndarray:
    return np.uint8(np.clip(x, 0, 1) * 255)


def corrupt(img: np.ndarray, name: str, s: int, seed: int) -> np.ndarray:
    """Reference-formula corruption of an (H, W, 3) uint8 RGB image."""
    r = np.random.default_rng(seed)
    x = img / 255.0
    h, w = img.shape[:2]
    if name == "gaussian_noise":
        return _u8(x + r.normal(size=x.shape, scale=P.GAUSSIAN_NOISE[s - 1]))
    if name == "shot_noise":
        c = P.SHOT_NOISE[s - 1]
        return _u8(r.poisson(x * c) / float(c))
    if name == "impulse_noise":
        a = P.IMPULSE_NOISE[s - 1]
        flip = r.random(x.shape) <= a
        salt = r.random(x.shape) <= 0.5
        y = x.copy()
        y[flip & salt] = 1
        y[flip & ~salt] = 0
        return _u8(y)
    if name == "speckle_noise":
        return _u8(x + x * r.normal(size=x.shape, scale=P.SPECKLE_NOISE[s - 1]))
    if name == "gaussian_blur":
        return _u8(_gauss(x, P.GAUSSIAN_BLUR[s - 1]))
    if name == "glass_blur":
        sigma, d, iters = P.GLASS_BLUR[s - 1]
        y = np.uint8(_gauss(x, sigma) * 255)
        for _ in range(iters):
            for hh in range(h - d, d, -1):
                for ww in range(w - d, d, -1):
                    dx, dy = r.integers(-d, d, size=2)
                    y[hh, ww] = y[hh + dy, ww + dx]  # the reference's "swap" is a copy
        return _u8(_gauss(y / 255.0, sigma))
    if name == "defocus_blur":
        k = P.disk_kernel(*P.DEFOCUS_BLUR[s - 1])
        return _u8(np.stack([cv2.filter2D(x[..., c], -1, k) for c in range(3)], -1))
    if name == "motion_blur":
        rad, sig = P.MOTION_BLUR[s - 1]
        return np.uint8(np.clip(_motion(img, rad, sig, r.uniform(-45, 45)), 0, 255))
    if name == "zoom_blur":
        xf = x.astype(np.float32)
        out = np.zeros_like(xf)
        for z in P.ZOOM_BLUR[s - 1]:
            layer = _clipped_zoom(xf, z)[:h, :w]
            out[: layer.shape[0], : layer.shape[1]] += layer
        return _u8((xf + out) / (len(P.ZOOM_BLUR[s - 1]) + 1))
    if name == "snow":
        c = P.SNOW[s - 1]
        xf = x.astype(np.float32)
        layer = r.normal(size=(h, w), loc=c[0], scale=c[1])
        layer = _clipped_zoom(layer[..., None], c[2])
        layer[layer < c[3]] = 0
        layer = np.clip(layer[..., 0], 0, 1)
        layer = _motion(layer, c[4], c[5], r.uniform(-135, -45))
        layer = (np.round(layer * 255).astype(np.uint8) / 255.0)[:h, :w, None]
        gray = cv2.cvtColor(xf, cv2.COLOR_RGB2GRAY)[..., None] * 1.5 + 0.5
        xf = c[6] * xf + (1 - c[6]) * np.maximum(xf, gray)
        return _u8(xf + layer + np.rot90(layer, k=2))
    if name == "frost":
        c = P.FROST[s - 1]
        tex = textures.frost_texture(h, w, seed)
        return np.uint8(np.clip(c[0] * img + c[1] * tex, 0, 255))
    if name == "fog":
        c = P.FOG[s - 1]
        size = textures.next_power_of_2(max(h, w))
        pl = _plasma(size, c[1], r)[:h, :w, None]
        mx = x.max()
        return _u8((x + c[0] * pl) * mx / (mx + c[0]))
    if name == "brightness":
        hsv = _rgb2hsv(x)
        hsv[..., 2] = np.clip(hsv[..., 2] + P.BRIGHTNESS[s - 1], 0, 1)
        return _u8(_hsv2rgb(hsv))
    if name == "saturate":
        a, b = P.SATURATE[s - 1]
        hsv = _rgb2hsv(x)
        hsv[..., 1] = np.clip(hsv[..., 1] * a + b, 0, 1)
        return _u8(_hsv2rgb(hsv))
    if name == "contrast":
        m = x.mean(axis=(0, 1), keepdims=True)
        return _u8((x - m) * P.CONTRAST[s - 1] + m)
    if name == "elastic_transform":
        xf = x.astype(np.float32)
        sig = (0.01 * h, 0.01 * w)
        alpha = P.ELASTIC[s - 1]
        amp = h * 0.005
        dx = ndimage.gaussian_filter(r.uniform(-amp, amp, (h, w)), sig, mode="reflect", truncate=3)
        dy = ndimage.gaussian_filter(r.uniform(-amp, amp, (h, w)), sig, mode="reflect", truncate=3)
        dx, dy = (dx * alpha).astype(np.float32), (dy * alpha).astype(np.float32)
        yy, xx, zz = np.meshgrid(np.arange(h), np.arange(w), np.arange(3), indexing="ij")
        coords = [(yy + dy[..., None]).ravel(), (xx + dx[..., None]).ravel(), zz.ravel()]
        out = ndimage.map_coordinates(xf, coords, order=1, mode="reflect").reshape(xf.shape)
        return _u8(out)
    if name == "pixelate":
        c = P.PIXELATE[s - 1]
        im = Image.fromarray(img).resize((int(w * c), int(h * c)), Image.Resampling.BOX)
        return np.asarray(im.resize((w, h), Image.Resampling.NEAREST))
    if name == "jpeg_compression":
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "JPEG", quality=P.JPEG[s - 1])
        return np.asarray(Image.open(buf))
    if name == "spatter":
        c = P.SPATTER[s - 1]
        liquid = _gauss(r.normal(size=(h, w), loc=c[0], scale=c[1]), c[2])
        liquid[liquid < c[3]] = 0
        if c[5] == 0:
            lq = (liquid * 255).astype(np.uint8)
            dist = cv2.distanceTransform(255 - cv2.Canny(lq, 50, 150), cv2.DIST_L2, 5)
            _, dist = cv2.threshold(dist, 20, 20, cv2.THRESH_TRUNC)
            dist = cv2.equalizeHist(cv2.blur(dist, (3, 3)).astype(np.uint8))
            ker = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])
            dist = cv2.blur(cv2.filter2D(dist, cv2.CV_8U, ker), (3, 3)).astype(np.float32)
            m = lq * dist
            m = m / max(float(m.max()), 1e-12) * c[4]
            return _u8(x + m[..., None] * P.SPATTER_WATER)
        m = _gauss((liquid > c[3]).astype(np.float32), c[4])
        m[m < 0.8] = 0
        return _u8(x * (1 - m[..., None]) + P.SPATTER_MUD * m[..., None])
    raise ValueError(f"unknown corruption {name!r}")


def _plasma(size: int, decay: float, r: np.random.Generator) -> np.ndarray:
    a = np.zeros((size, size))
    step, wib = size, 100.0
    while step >= 2:
        hs = step // 2
        cr = a[0:size:step, 0:size:step]
        sq = cr + np.roll(cr, -1, 0)
        sq = sq + np.roll(sq, -1, 1)
        a[hs:size:step, hs:size:step] = sq / 4 + wib * r.uniform(-wib, wib, sq.shape)
        dr, ul = a[hs:size:step, hs:size:step], a[0:size:step, 0:size:step]
        lt = dr + np.roll(dr, 1, 0) + ul + np.roll(ul, -1, 1)
        a[0:size:step, hs:size:step] = lt / 4 + wib * r.uniform(-wib, wib, lt.shape)
        tt = dr + np.roll(dr, 1, 1) + ul + np.roll(ul, -1, 0)
        a[hs:size:step, 0:size:step] = tt / 4 + wib * r.uniform(-wib, wib, tt.shape)
        step //= 2
        wib /= decay
    a -= a.min()
    return a / a.max()
