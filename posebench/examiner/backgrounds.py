"""Backgrounds for rendered scenes: crops of real photographs without people, and textures.

The photographs are the embedded COCO val2017 sample (``posebench/data/coco_val2017_sample``,
36 images, CC-BY licences listed in its README). A person must not appear in a background (the
model would find a second person), so only square windows that overlap no annotated person box
(crowd regions included, each box grown by 10% of its size) are kept, at most two per image,
windows of at least a third of the image's shorter side. The procedural textures (brick wall,
wooden floor, foliage-like noise, plaster gradient, tiles) add plain indoor/outdoor surfaces.

:func:`background_bank` returns the (N, 3, H, W) uint8 bank for one image size; a scene picks
``floor(u * N)`` for its ``background.image`` number ``u`` in [0, 1]. The bank is
deterministic (no randomness beyond a fixed seed) and cached per size.
"""

from __future__ import annotations

import functools
import json
import logging

import numpy as np
import numpy.typing as npt

from posebench.samples import sample_images_dir, sample_path

__all__ = ["background_bank", "photo_crops", "textures"]

log = logging.getLogger(__name__)

U8 = npt.NDArray[np.uint8]


def photo_crops(size: tuple[int, int], *, per_image: int = 2) -> list[U8]:
    """(H, W, 3) uint8 crops of the embedded sample photos that hold no annotated person."""
    from PIL import Image

    h, w = size
    ann = json.loads(sample_path("coco-val2017-sample").read_text())
    boxes: dict[int, list[list[float]]] = {}
    for a in ann["annotations"]:
        boxes.setdefault(int(a["image_id"]), []).append([float(v) for v in a["bbox"]])
    folder = sample_images_dir("coco-val2017-sample")
    out: list[U8] = []
    for im in sorted(ann["images"], key=lambda r: int(r["id"])):
        path = folder / im["file_name"]
        if not path.is_file():
            continue
        iw, ih = int(im["width"]), int(im["height"])
        bx = np.array(boxes.get(int(im["id"]), []), np.float64).reshape(-1, 4)
        grow = 0.1 * bx[:, 2:]
        x0, y0 = bx[:, 0] - grow[:, 0], bx[:, 1] - grow[:, 1]
        x1, y1 = bx[:, 0] + bx[:, 2] + grow[:, 0], bx[:, 1] + bx[:, 3] + grow[:, 1]
        found: list[tuple[int, int, int]] = []
        for frac in (0.75, 0.6, 0.45, 0.34):
            side = int(frac * min(iw, ih))
            step = max(side // 4, 8)
            for top in range(0, ih - side + 1, step):
                for left in range(0, iw - side + 1, step):
                    hit = (x0 < left + side) & (x1 > left) & (y0 < top + side) & (y1 > top)
                    if hit.any():
                        continue
                    if all(abs(left - fl) >= fs // 2 or abs(top - ft) >= fs // 2
                           for fl, ft, fs in found):  # fmt: skip
                        found.append((left, top, side))
                    if len(found) >= per_image:
                        break
                if len(found) >= per_image:
                    break
            if len(found) >= per_image:
                break
        if not found:
            continue
        with Image.open(path) as img:
            rgb = img.convert("RGB")
            for left, top, side in found:
                crop = rgb.crop((left, top, left + side, top + side)).resize((w, h))
                out.append(np.asarray(crop, np.uint8))
    return out


def textures(size: tuple[int, int]) -> list[U8]:
    """Five procedural (H, W, 3) uint8 surfaces: brick, wood, foliage, plaster, tiles."""
    h, w = size
    rng = np.random.default_rng(17)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    s = max(h, w) / 256.0

    def noise(scale: float) -> npt.NDArray[np.float64]:
        n = max(2, int(max(h, w) / scale))
        g = rng.normal(size=(n + 1, n + 1))
        from PIL import Image

        img = Image.fromarray(((g - g.min()) / np.ptp(g) * 255).astype(np.uint8)).resize(
            (w, h), Image.Resampling.BICUBIC
        )
        return np.asarray(img, np.float64) / 255.0

    out: list[npt.NDArray[np.float64]] = []
    # brick: staggered rows of 64 x 24 px bricks with mortar
    row = (yy // (24 * s)).astype(int)
    bx = (xx + (row % 2) * 32 * s) % (64 * s)
    by = yy % (24 * s)
    mortar = (bx < 3 * s) | (by < 3 * s)
    brick = np.stack([0.62, 0.30, 0.22]) * (0.85 + 0.3 * noise(24))[..., None]
    out.append(np.where(mortar[..., None], 0.75, brick))
    # wood: stretched noise grain
    grain = np.sin(yy / (5 * s) + 6 * noise(40)) * 0.5 + 0.5
    out.append(np.stack([0.55, 0.38, 0.22]) * (0.7 + 0.35 * grain)[..., None])
    # foliage: green multi-scale noise
    leaf = 0.5 * noise(8) + 0.5 * noise(30)
    out.append(np.stack([0.20, 0.42, 0.16]) * (0.5 + leaf)[..., None])
    # plaster: vertical light gradient
    grad = 0.65 + 0.3 * (1 - yy / h) + 0.05 * noise(16)
    out.append(np.stack([0.93, 0.90, 0.84]) * grad[..., None])
    # tiles: grey squares
    tile = ((xx // (40 * s)) + (yy // (40 * s))) % 2
    out.append((0.55 + 0.2 * tile + 0.05 * noise(10))[..., None].repeat(3, -1))
    return [np.asarray(np.clip(t, 0, 1) * 255 + 0.5, np.uint8) for t in out]


@functools.lru_cache(maxsize=4)
def background_bank(size: tuple[int, int]) -> U8:
    """(N, H, W, 3) uint8: :func:`photo_crops` then :func:`textures`."""
    photos = photo_crops(size)
    bank = photos + textures(size)
    log.debug("background bank: %d photo crops, %d textures", len(photos), len(bank) - len(photos))
    arr = np.stack(bank)
    arr.setflags(write=False)
    return arr
