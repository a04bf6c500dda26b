"""Render a grid of random examiner scenes (the README's picture).

    python bench/examiner_grid.py --output reports/examiner_scenes.png

Uniformly random points of the full search space (pose, shape, camera, occluder, light,
appearance, background) on the default body (anny), keeping the first 16 that stand in balance
(:func:`posebench.examiner.scene.balanced`); ground-truth keypoints are drawn in green (visible)
and red (hidden). Seeded: the same picture every time.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from posebench.examiner.params import default_space
from posebench.examiner.scene import Scene


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--output", type=Path, default=Path("reports/examiner_scenes.png"))
    ap.add_argument("--body", default="anny")
    ap.add_argument("--size", type=int, default=160)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    scene = Scene(args.body, image_size=(args.size, args.size), backgrounds="photos")
    space = default_space(body=scene.kind)
    rng = np.random.default_rng(args.seed)
    tiles = []
    drawn = 0
    while len(tiles) < 16 and drawn < 1024:
        x = rng.uniform(-1, 1, (64, space.size))
        drawn += 64
        r = scene.render(space.decode(x))
        for i in np.flatnonzero(r.plausible.numpy())[: 16 - len(tiles)]:
            im = Image.fromarray(r.images[i].numpy())
            d = ImageDraw.Draw(im)
            for (u, v), vis in zip(r.keypoints[i].numpy(), r.visibility[i].numpy(), strict=True):
                if vis > 0:
                    c = (0, 220, 0) if vis == 2 else (230, 0, 0)
                    d.ellipse((u - 1.5, v - 1.5, u + 1.5, v + 1.5), fill=c)
            tiles.append(np.asarray(im))
    while len(tiles) < 16:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.concatenate(tiles[i : i + 4], 1) for i in range(0, 16, 4)]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    grid = Image.fromarray(np.concatenate(rows, 0)).quantize(256, dither=Image.Dither.NONE)
    grid.save(args.output, optimize=True)  # a 256-colour palette keeps the file small
    print(f"{args.output}: {len(tiles)} balanced scenes of {drawn} drawn")


if __name__ == "__main__":
    main()
