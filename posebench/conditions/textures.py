"""Procedural textures for the weather corruptions: fog's plasma fractal and a frost layer.

``plasma_np`` / ``plasma_t``: the diamond-square heightmap of imagecorruptions' ``fog`` (a port of
FLHerne/mapgen's ``diamondsquare.py``), the same steps and the same float32 arithmetic as the
imagecorruptions-imaug fork, but every ``wibble`` draw comes from the counter-based generator in
``rng.py`` (stream ``stream``, consecutive counter ranges per draw), so the numpy and torch versions
produce the same map. imagecorruptions 1.1.2 draws from ``np.random.uniform`` in float64; the maps
are therefore statistically, not byte-wise, equal to the reference's.

``frost_texture``: imagecorruptions blends one of five (1.1.2; six in the imaug fork) shipped
photographs of frosted glass, rescaled to >= 1.1x the image and randomly cropped. posebench ships
no photographs: it draws a deterministic frost layer per seed — a multi-octave value-noise glaze
plus feathery ice crystals (a main stroke with side branches at +-60 degrees, drawn with OpenCV
lines at three widths), tinted blue-white. Its colour statistics are calibrated on the six
reference photographs (per-channel means about (133, 155, 166), standard deviation about 30 grey
levels, fine detail in between the smooth photos and the crystalline ones). This is a documented
deviation: frost results are comparable to published COCO-C frost numbers only in distribution.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from posebench.conditions import rng

if TYPE_CHECKING:
    import torch


def next_power_of_2(x: int) -> int:
    """Smallest power of two >= x (1 for 0), as imagecorruptions' ``next_power_of_2``."""
    return 1 if x == 0 else 2 ** (x - 1).bit_length()


def plasma_np(mapsize: int, wibbledecay: float, seed: int, stream: int) -> np.ndarray:
    """Diamond-square heightmap in [0, 1]: (mapsize, mapsize) float32; mapsize a power of two."""
    if mapsize & (mapsize - 1):
        raise ValueError(f"plasma: mapsize must be a power of two, got {mapsize}")
    a = np.zeros((mapsize, mapsize), np.float32)
    offset = 0
    wibble = 100.0
    stepsize = mapsize

    def wibbled(arr: np.ndarray) -> np.ndarray:
        nonlocal offset
        u = rng.uniform_np(seed, stream, arr.size, offset).reshape(arr.shape)
        offset += arr.size
        # imagecorruptions: array / 4 + wibble * uniform(-wibble, wibble)
        return arr * np.float32(0.25) + (u * np.float32(2.0) - np.float32(1.0)) * np.float32(
            wibble * wibble
        )

    while stepsize >= 2:
        h = stepsize // 2
        corner = a[0:mapsize:stepsize, 0:mapsize:stepsize]
        sq = corner + np.roll(corner, -1, axis=0)
        sq = sq + np.roll(sq, -1, axis=1)
        a[h:mapsize:stepsize, h:mapsize:stepsize] = wibbled(sq)
        dr = a[h:mapsize:stepsize, h:mapsize:stepsize]
        ul = a[0:mapsize:stepsize, 0:mapsize:stepsize]
        lt = (dr + np.roll(dr, 1, axis=0)) + (ul + np.roll(ul, -1, axis=1))
        a[0:mapsize:stepsize, h:mapsize:stepsize] = wibbled(lt)
        tt = (dr + np.roll(dr, 1, axis=1)) + (ul + np.roll(ul, -1, axis=0))
        a[h:mapsize:stepsize, 0:mapsize:stepsize] = wibbled(tt)
        stepsize //= 2
        wibble /= wibbledecay
    a -= a.min()
    out: np.ndarray = a / a.max()
    return out


def plasma_t(mapsize: int, wibbledecay: float, seeds: torch.Tensor, stream: int) -> torch.Tensor:
    """Batched ``plasma_np``: seeds (B,) -> (B, mapsize, mapsize) float32 on seeds' device."""
    import torch

    if mapsize & (mapsize - 1):
        raise ValueError(f"plasma: mapsize must be a power of two, got {mapsize}")
    b = seeds.shape[0]
    a = torch.zeros((b, mapsize, mapsize), dtype=torch.float32, device=seeds.device)
    offset = 0
    wibble = 100.0
    stepsize = mapsize

    def wibbled(arr: torch.Tensor) -> torch.Tensor:
        nonlocal offset
        n = arr[0].numel()
        u = rng.uniform_t(seeds, stream, n, offset).reshape(arr.shape)
        offset += n
        return arr * 0.25 + (u * 2.0 - 1.0) * float(np.float32(wibble * wibble))

    while stepsize >= 2:
        h = stepsize // 2
        corner = a[:, 0:mapsize:stepsize, 0:mapsize:stepsize]
        sq = corner + torch.roll(corner, -1, dims=1)
        sq = sq + torch.roll(sq, -1, dims=2)
        a[:, h:mapsize:stepsize, h:mapsize:stepsize] = wibbled(sq)
        dr = a[:, h:mapsize:stepsize, h:mapsize:stepsize]
        ul = a[:, 0:mapsize:stepsize, 0:mapsize:stepsize]
        lt = (dr + torch.roll(dr, 1, dims=1)) + (ul + torch.roll(ul, -1, dims=2))
        a[:, 0:mapsize:stepsize, h:mapsize:stepsize] = wibbled(lt)
        tt = (dr + torch.roll(dr, 1, dims=2)) + (ul + torch.roll(ul, -1, dims=1))
        a[:, h:mapsize:stepsize, 0:mapsize:stepsize] = wibbled(tt)
        stepsize //= 2
        wibble /= wibbledecay
    a = a - a.amin(dim=(1, 2), keepdim=True)
    return a / a.amax(dim=(1, 2), keepdim=True)


# Blue-white tint and level of the frost layer, calibrated on the six imagecorruptions photographs
# (per-channel means 71..201 / 95..205 / 105..215, pooled about 133 / 155 / 166).
_FROST_TINT = np.array([0.86, 1.0, 1.08], np.float32)
_FROST_LEVEL = 155.0


def frost_texture(height: int, width: int, seed: int, stream: int = 90) -> np.ndarray:
    """Deterministic procedural frost layer: (height, width, 3) float32 RGB in [0, 255]."""
    h, w = int(height), int(width)
    off = 0

    def uni(n: int) -> np.ndarray:
        nonlocal off
        u = rng.uniform_np(seed, stream, n, off)
        off += n
        return u

    # glaze: value noise, octaves from ~1/4 of the short side down to 4 px, persistence 0.6
    glaze = np.zeros((h, w), np.float32)
    cell = max(4.0, min(h, w) / 4.0)
    amp, total = 1.0, 0.0
    while cell >= 4.0:
        gh, gw = int(np.ceil(h / cell)) + 2, int(np.ceil(w / cell)) + 2
        grid = uni(gh * gw).reshape(gh, gw)
        up = cv2.resize(grid, (int(gw * cell), int(gh * cell)), interpolation=cv2.INTER_CUBIC)
        glaze += amp * up[:h, :w]
        total += amp
        amp *= 0.6
        cell /= 2.0
    glaze = (glaze - glaze.mean()) / max(float(glaze.std()), 1e-6)

    # crystals: feathery strokes, one per ~2500 px
    crystals = np.zeros((h, w), np.float32)
    n = max(1, (h * w) // 2500)
    p = uni(n * 5).reshape(n, 5)
    scale = max(h, w) / 100.0
    for x0, y0, ang, length, bright in p:
        cx, cy = float(x0) * w, float(y0) * h
        theta = float(ang) * 2.0 * np.pi
        ln = (0.3 + 1.2 * float(length)) * 8.0 * scale
        val = 0.4 + 0.6 * float(bright)
        dx, dy = np.cos(theta), np.sin(theta)
        ex, ey = cx + ln * dx, cy + ln * dy
        cv2.line(crystals, (round(cx), round(cy)), (round(ex), round(ey)), val, 1, cv2.LINE_AA)
        steps = max(2, int(ln / 3.0))
        for k in range(1, steps):
            t = k / steps
            bx, by = cx + t * ln * dx, cy + t * ln * dy
            blen = (1.0 - t) * ln * 0.45
            for side in (-1.0, 1.0):
                phi = theta + side * np.pi / 3.0
                fx, fy = bx + blen * np.cos(phi), by + blen * np.sin(phi)
                cv2.line(
                    crystals,
                    (round(bx), round(by)),
                    (round(fx), round(fy)),
                    val * 0.7,
                    1,
                    cv2.LINE_AA,
                )
    crystals = np.asarray(cv2.GaussianBlur(crystals, (0, 0), 0.6), np.float32)
    lum = _FROST_LEVEL + 22.0 * glaze + 70.0 * np.minimum(crystals, 1.5) - 18.0
    out = lum[..., None] * _FROST_TINT
    return np.asarray(np.clip(out, 0.0, 255.0), np.float32)
