"""Procedural textures for the weather corruptions: fog's plasma fractal and a frost layer.

``plasma_np`` / ``plasma_t``: the diamond-square heightmap of imagecorruptions' ``fog`` (a port of
FLHerne/mapgen's ``diamondsquare.py``), the same steps and the same float32 arithmetic as the
imagecorruptions-imaug fork, but every ``wibble`` draw comes from the counter-based generator in
``rng.py`` (stream ``stream``, consecutive counter ranges per draw), so the numpy and torch versions
produce the same map. imagecorruptions 1.1.2 draws from ``np.random.uniform`` in float64; the maps
are therefore statistically, not byte-wise, equal to the reference's.

``frost_texture``: imagecorruptions blends one of five (1.1.2; six in the imaug fork) shipped
photographs of frosted glass, rescaled to >= 1.1x the image and randomly cropped; posebench uses
them when that package is installed (``frost_photos.py``). This is the fallback without them: a
deterministic frost layer per seed — a multi-octave value-noise glaze
plus feathery ice crystals (a main stroke with side branches at +-60 degrees, drawn with OpenCV
lines at three widths) — given, per seed, the per-channel mean and standard deviation of one of
the six reference photographs (:data:`FROST_PHOTO_STATS`, drawn uniformly as the reference draws
its photograph). Per photograph its per-channel mean, std and PSNR per severity are close to the
reference's (tests/test_corruptions.py); its spatial structure is not the photographs', so
fallback frost results are comparable to published COCO-C frost numbers only in distribution.
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


def plasma_np(
    mapsize: int,
    wibbledecay: float,
    seed: int,
    stream: int,
    crop: tuple[int, int] | None = None,
) -> np.ndarray:
    """Diamond-square heightmap in [0, 1]: (mapsize, mapsize) float32; mapsize a power of two.

    ``crop=(h, w)`` returns only ``map[:h, :w]`` (same values: the normalisation still uses the
    whole map's minimum and maximum). Each level's three new point sets are computed as
    contiguous arrays from the previous level's grid (the same sums in the same order as the
    in-place strided version) and interleaved into the next grid.
    """
    if mapsize & (mapsize - 1):
        raise ValueError(f"plasma: mapsize must be a power of two, got {mapsize}")
    g = np.zeros((1, 1), np.float32)  # the grid a[0::step, 0::step]
    offset = 0
    wibble = 100.0
    stepsize = mapsize

    def wibbled(arr: np.ndarray) -> np.ndarray:
        """imagecorruptions: array / 4 + wibble * uniform(-wibble, wibble), in place."""
        nonlocal offset
        flat = arr.reshape(-1)
        ww = np.float32(wibble * wibble)
        for s in range(0, flat.size, rng.CHUNK):
            blk = flat[s : s + rng.CHUNK]
            u = rng.uniform_np(seed, stream, blk.size, offset + s)
            u *= np.float32(2.0)
            u -= np.float32(1.0)
            u *= ww
            blk *= np.float32(0.25)
            blk += u
        offset += flat.size
        return arr

    def shifted_sum(x: np.ndarray, axis: int, shift: int) -> np.ndarray:
        """x + np.roll(x, shift, axis) for shift = +-1, without the rolled copy."""
        out = np.empty_like(x)
        n = x.shape[axis]
        a = [slice(None)] * 2
        b = [slice(None)] * 2
        if shift == -1:  # x[i] + x[i + 1], last wraps to x[0]
            a[axis], b[axis] = slice(0, n - 1), slice(1, n)
            np.add(x[tuple(a)], x[tuple(b)], out=out[tuple(a)])
            a[axis], b[axis] = slice(n - 1, n), slice(0, 1)
        else:  # x[i] + x[i - 1], first wraps to x[n - 1]
            a[axis], b[axis] = slice(1, n), slice(0, n - 1)
            np.add(x[tuple(a)], x[tuple(b)], out=out[tuple(a)])
            a[axis], b[axis] = slice(0, 1), slice(n - 1, n)
        np.add(x[tuple(a)], x[tuple(b)], out=out[tuple(a)])
        return out

    ul = lt = tt = dr = g
    while stepsize >= 2:
        ul = g
        dr = wibbled(shifted_sum(shifted_sum(ul, 0, -1), 1, -1))
        lt = shifted_sum(dr, 0, 1)
        lt += shifted_sum(ul, 1, -1)
        lt = wibbled(lt)
        tt = shifted_sum(dr, 1, 1)
        tt += shifted_sum(ul, 0, -1)
        tt = wibbled(tt)
        stepsize //= 2
        wibble /= wibbledecay
        if stepsize >= 2:
            g = _interleave(ul, lt, tt, dr)
    parts = (ul, lt, tt, dr)
    lo = min(float(p.min()) for p in parts)
    hi = max(float(p.max()) for p in parts)
    mn = np.float32(lo)
    mx = np.float32(hi) - mn  # = max(a - min): float rounding is monotonic
    h, w = crop if crop is not None else (mapsize, mapsize)
    out = _interleave(ul, lt, tt, dr, rows=h, cols=w) if mapsize > 1 else g[:h, :w].copy()
    out -= mn
    out /= mx
    return out


def _interleave(
    ul: np.ndarray,
    lt: np.ndarray,
    tt: np.ndarray,
    dr: np.ndarray,
    rows: int | None = None,
    cols: int | None = None,
) -> np.ndarray:
    """Next plasma grid: ul at (2i, 2j), lt at (2i, 2j+1), tt at (2i+1, 2j), dr at (2i+1, 2j+1).

    Only the first ``rows`` x ``cols`` entries (all by default): (rows, cols) float32.
    """
    m = ul.shape[0]
    rows = 2 * m if rows is None else rows
    cols = 2 * m if cols is None else cols
    out = np.empty((rows, cols), np.float32)
    r0, c0 = (rows + 1) // 2, (cols + 1) // 2  # even rows / cols kept
    r1, c1 = rows // 2, cols // 2  # odd rows / cols kept
    out[0::2, 0::2] = ul[:r0, :c0]
    out[0::2, 1::2] = lt[:r0, :c1]
    out[1::2, 0::2] = tt[:r1, :c0]
    out[1::2, 1::2] = dr[:r1, :c1]
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


# Per-channel (R, G, B) mean and standard deviation of each of the six imagecorruptions frost
# photographs (frost1.png .. frost6.jpg of imagecorruptions-imaug 1.1.5; statistics only, the
# photographs are not shipped). A procedural layer takes one photograph's statistics, drawn
# uniformly per seed as the reference draws its photograph, so the fallback has the reference's
# per-image brightness and contrast (and with them its per-severity mean, std and PSNR).
FROST_PHOTO_STATS = (
    ((77.7, 149.1, 165.7), (26.9, 16.5, 15.3)),
    ((200.8, 205.4, 214.5), (21.4, 22.1, 22.6)),
    ((200.8, 205.4, 214.5), (21.4, 22.1, 22.6)),
    ((137.6, 152.8, 165.2), (28.5, 28.5, 29.9)),
    ((112.4, 123.4, 134.8), (44.4, 43.3, 41.7)),
    ((71.4, 95.4, 104.5), (35.2, 42.7, 47.4)),
)
# the counter of the photograph-statistics draw (far beyond the texture's own draws)
_STATS_COUNTER = 1 << 31


def frost_stats_index(seed: int, stream: int = 90) -> int:
    """Which photograph's statistics the procedural frost layer of ``seed`` takes (0-5)."""
    u = float(rng.uniform_np(seed, stream, 1, _STATS_COUNTER)[0])
    return min(int(u * len(FROST_PHOTO_STATS)), len(FROST_PHOTO_STATS) - 1)


def frost_texture(height: int, width: int, seed: int, stream: int = 90) -> np.ndarray:
    """Deterministic procedural frost layer: (height, width, 3) float32 RGB in [0, 255]."""
    return np.asarray(cv2.merge(frost_planes(height, width, seed, stream)), np.float32)


def frost_planes(height: int, width: int, seed: int, stream: int = 90) -> list[np.ndarray]:
    """``frost_texture`` as three (height, width) float32 channel planes (R, G, B)."""
    h, w = int(height), int(width)
    off = 0

    def uni(n: int) -> np.ndarray:
        nonlocal off
        u = rng.uniform_np(seed, stream, n, off)
        off += n
        return u

    # glaze: value noise, octaves from ~1/4 of the short side down to 4 px, persistence 0.6
    glaze = np.zeros((h, w), np.float32)
    tmp = np.empty((h, w), np.float32)
    cell = max(4.0, min(h, w) / 4.0)
    amp, total = 1.0, 0.0
    while cell >= 4.0:
        gh, gw = int(np.ceil(h / cell)) + 2, int(np.ceil(w / cell)) + 2
        grid = uni(gh * gw).reshape(gh, gw)
        up = cv2.resize(grid, (int(gw * cell), int(gh * cell)), interpolation=cv2.INTER_CUBIC)
        glaze += np.multiply(up[:h, :w], np.float32(amp), out=tmp)
        total += amp
        amp *= 0.6
        cell /= 2.0
    mean, sd = glaze.mean(), max(float(glaze.std()), 1e-6)
    glaze -= mean
    glaze /= np.float32(sd)

    # crystals: feathery strokes, one per ~2500 px; a main stroke, then side branches at
    # +-60 degrees from steps - 1 points along it (float64 geometry, rounded half to even)
    crystals = np.zeros((h, w), np.float32)
    n = max(1, (h * w) // 2500)
    p = uni(n * 5).reshape(n, 5).astype(np.float64)
    scale = max(h, w) / 100.0
    cx, cy = p[:, 0] * w, p[:, 1] * h
    theta = p[:, 2] * 2.0 * np.pi
    ln = (0.3 + 1.2 * p[:, 3]) * 8.0 * scale
    val = 0.4 + 0.6 * p[:, 4]
    dx = np.array([np.cos(a) for a in theta.tolist()])
    dy = np.array([np.sin(a) for a in theta.tolist()])
    main = np.rint(np.stack([cx, cy, cx + ln * dx, cy + ln * dy], 1)).astype(np.int64)
    steps = np.maximum(2, (ln / 3.0).astype(np.int64))
    ends = np.cumsum(steps - 1)
    starts = ends - (steps - 1)
    rep = np.repeat(np.arange(n), steps - 1)
    t = (np.arange(int(ends[-1])) - starts[rep] + 1) / steps[rep]
    bx = cx[rep] + t * ln[rep] * dx[rep]
    by = cy[rep] + t * ln[rep] * dy[rep]
    blen = (1.0 - t) * ln[rep] * 0.45
    seg = np.empty((bx.size, 2, 2, 2), np.float64)  # (point, side, end, xy)
    for si, side in enumerate((-1.0, 1.0)):
        phi = (theta + side * np.pi / 3.0).tolist()
        cphi = np.array([np.cos(a) for a in phi])[rep]
        sphi = np.array([np.sin(a) for a in phi])[rep]
        seg[:, si, 0, 0], seg[:, si, 0, 1] = bx, by
        seg[:, si, 1, 0] = bx + blen * cphi
        seg[:, si, 1, 1] = by + blen * sphi
    pts = np.rint(seg).astype(np.int32).reshape(-1, 2, 2)
    for i, (x0, y0, x1, y1) in enumerate(main.tolist()):
        v = float(val[i])
        cv2.line(crystals, (x0, y0), (x1, y1), v, 1, cv2.LINE_AA)
        # one polyline call draws the same pixels as a line call per branch, in order
        cv2.polylines(crystals, list(pts[2 * starts[i] : 2 * ends[i]]), False, v * 0.7, 1, 16)
    crystals = np.asarray(cv2.GaussianBlur(crystals, (0, 0), 0.6), np.float32)
    # structure: the glaze plus the crystals (capped), standardised, then one photograph's
    # per-channel mean and standard deviation
    z = glaze
    c = np.minimum(crystals, np.float32(1.5), out=crystals)
    c *= np.float32(70.0 / 22.0)
    z += c
    z -= np.float32(z.mean())
    z /= np.float32(max(float(z.std()), 1e-6))
    means, stds = FROST_PHOTO_STATS[frost_stats_index(seed, stream)]
    return [np.clip(z * np.float32(sd) + np.float32(m), np.float32(0.0), np.float32(255.0))
            for m, sd in zip(means, stds, strict=True)]  # fmt: skip
