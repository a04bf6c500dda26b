"""Examiner throughput: rendered-and-scored bodies per second (the search's inner loop).

Times :meth:`posebench.examiner.env.Evaluator.evaluate` on random points of the full search
space (pose, shape, camera, occluder, light): decode -> smplx forward (mannequin) -> orbit
camera -> rasterise + shade -> COCO-17 keypoints with visibility -> adapter.predict (one call per
batch) -> pairing and 1 - OKS. The default adapter is the oracle (ground truth replayed through
the ``prepare`` hook), so the numbers measure the examiner, not a model. Prints a Markdown table
(stdout) with the split between rendering and the adapter + scoring.

    python bench/bench_examiner.py --body anny --sizes 256          # anny (default body), CPU
    python bench/bench_examiner.py --body anny --device cuda --batch-sizes 256,1024 --sizes 256
    python bench/bench_examiner.py                                  # CPU, 64x64..256x256
    python bench/bench_examiner.py --device cuda --batch-sizes 64,256,1024 --sizes 256
    python bench/bench_examiner.py --adapter mediapipe --batch-sizes 16 --sizes 192

Target (issue 7): >= 2000 bodies/s at 256x256 with the oracle on one H100. Never run in CI.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
import time

import numpy as np
import torch

from posebench.examiner.env import Evaluator
from posebench.examiner.params import default_space
from posebench.examiner.scene import Scene


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--adapter", default="oracle")
    parser.add_argument("--batch-sizes", default="16,64")
    parser.add_argument("--sizes", default="64,128,256", help="image sides")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the fastest is kept")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    parser.add_argument("--renderer", default="torch", choices=["torch", "moderngl"])
    parser.add_argument("--body", default="mannequin", help="mannequin, anny or an SMPL path")
    parser.add_argument("--backgrounds", default="photos", choices=["photos", "plain"])
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    registry = importlib.import_module("posebench.adapters")
    adapter = registry.load_adapter(args.adapter, {})
    rng = np.random.default_rng(0)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
    print(f"device: {device} ({name or platform.machine()}), torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}, renderer {args.renderer}, adapter {args.adapter}, "
          f"body {args.body}, best of {args.repeat}\n")  # fmt: skip
    print("| image | batch | bodies/s (render + predict + score) | ms/batch | render ms |")
    print("|---:|---:|---:|---:|---:|")
    for size in (int(s) for s in args.sizes.split(",")):
        scene = Scene(args.body, image_size=(size, size), device=device, renderer=args.renderer,
                      backgrounds=args.backgrounds)  # fmt: skip
        space = default_space(body=scene.kind)
        for b in (int(x) for x in args.batch_sizes.split(",")):
            ev = Evaluator(adapter, scene, space, batch_size=b)
            x = rng.uniform(-1, 1, (b, space.size))
            ev.evaluate(x)  # warm-up
            best, best_render = float("inf"), float("inf")
            for _ in range(args.repeat):
                _sync(device)
                t = time.perf_counter()
                ev.evaluate(x)
                _sync(device)
                best = min(best, time.perf_counter() - t)
                t = time.perf_counter()
                r = ev.render(x)
                r.images.cpu()
                _sync(device)
                best_render = min(best_render, time.perf_counter() - t)
            print(f"| {size}x{size} | {b} | {b / best:.1f} | {best * 1e3:.1f} | "
                  f"{best_render * 1e3:.1f} |")  # fmt: skip
            print(f"{size}px batch {b} done", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
