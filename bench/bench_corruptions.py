"""Speed of posebench's corruptions against the straight reference port (and imagecorruptions).

    python bench/bench_corruptions.py                       # CPU path, severity 3
    python bench/bench_corruptions.py --severities 1 3 5 --repeat 5
    python bench/bench_corruptions.py --device cuda --batch 32   # torch path too

Images: the real COCO val2017 images in tests/data/corruptions/ (640x425 and 640x392), resized to
640x480 (``--size``; ``native`` keeps them); pass ``--images DIR`` for others. Per corruption
it prints images/s of posebench's CPU path (median over ``--repeat`` runs per image), of
``bench/ref_corruptions.py`` (one run per image: glass blur's
Python loop takes seconds), the ratio, and — when importable — of the imagecorruptions-imaug
package (its own random state; seeded with ``np.random.seed``). The suite line is total time for
one image through every corruption and severity, the ratio over that total; it is also given
without glass_blur, whose per-pixel loop dominates the reference. With ``--device`` the torch
path's images/s (batches of ``--batch``, synchronised) is added.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from posebench.conditions import CORRUPTIONS, corrupt  # noqa: E402


def load_images(folder: Path) -> list[np.ndarray]:
    import cv2

    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".png"))
    if not files:
        raise SystemExit(f"no .jpg/.png images in {folder}")
    return [np.ascontiguousarray(cv2.imread(str(p))[..., ::-1]) for p in files]


def timed(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--images", type=Path, default=ROOT / "tests" / "data" / "corruptions")
    ap.add_argument("--severities", type=int, nargs="+", default=[3])
    ap.add_argument("--size", default="640x480", help="WxH the images are resized to, or native")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--names", nargs="+", default=list(CORRUPTIONS))
    ap.add_argument("--no-ref", action="store_true", help="skip the reference port")
    ap.add_argument("--no-imaug", action="store_true", help="skip imagecorruptions-imaug")
    ap.add_argument("--device", default=None, help="also time the torch path (cpu, cuda)")
    ap.add_argument("--batch", type=int, default=16)
    args = ap.parse_args()

    images = load_images(args.images)
    if args.size != "native":
        import cv2

        w, h = (int(v) for v in args.size.lower().split("x"))
        images = [
            np.ascontiguousarray(cv2.resize(im, (w, h), interpolation=cv2.INTER_AREA))
            for im in images
        ]
    print(
        f"images: {len(images)} from {args.images} "
        f"({', '.join(f'{im.shape[1]}x{im.shape[0]}' for im in images)}); "
        f"severities {args.severities}"
    )
    ref = None
    if not args.no_ref:
        import ref_corruptions as ref
    ic = None
    if not args.no_imaug:
        try:
            import imagecorruptions as ic
        except Exception as e:
            print(f"imagecorruptions not importable ({e!r}); its column is skipped")
    torch_fn = None
    if args.device:
        import torch

        from posebench.conditions.corruptions_torch import corrupt_batch as torch_fn

        dev = torch.device(args.device)

    head = f"{'corruption':18s} {'ours/s':>9s} {'ref/s':>9s} {'ratio':>7s}"
    if ic is not None:
        head += f" {'imaug/s':>9s} {'vs imaug':>8s}"
    if torch_fn is not None:
        head += f" {'torch/s':>9s}"
    print(head)
    tot = {"ours": 0.0, "ref": 0.0, "ic": 0.0, "torch": 0.0}
    tot_ng = {"ours": 0.0, "ref": 0.0, "ic": 0.0}
    for name in args.names:
        t_ours = t_ref = t_ic = t_torch = 0.0
        for s in args.severities:
            for i, im in enumerate(images):
                corrupt(im, name, s, i)  # warm caches (tables, plans)
                t_ours += timed(
                    lambda im=im, s=s, i=i, name=name: corrupt(im, name, s, i), args.repeat
                )
                if ref is not None:
                    t_ref += timed(
                        lambda im=im, s=s, i=i, name=name: ref.corrupt(im, name, s, i), 1
                    )
                if ic is not None:
                    np.random.seed(1)  # noqa: NPY002 - the reference's global state
                    ic.corrupt(im, corruption_name=name, severity=s)  # numba JIT warm-up
                    t_ic += timed(
                        lambda im=im, s=s, name=name: ic.corrupt(
                            im, corruption_name=name, severity=s
                        ),
                        1,
                    )
                if torch_fn is not None:
                    x = torch.from_numpy(np.stack([im] * args.batch)).permute(0, 3, 1, 2)
                    x = x.contiguous().to(dev)
                    seeds = torch.arange(args.batch, dtype=torch.int64)

                    def run(x=x, s=s, seeds=seeds, name=name) -> None:  # type: ignore[no-untyped-def]
                        torch_fn(x, name, s, seeds)
                        if dev.type == "cuda":
                            torch.cuda.synchronize()

                    run()
                    t_torch += timed(run, args.repeat) / args.batch
        n = len(images) * len(args.severities)
        tot["ours"] += t_ours / n
        tot["ref"] += t_ref / n
        tot["ic"] += t_ic / n
        tot["torch"] += t_torch / n
        if name != "glass_blur":
            tot_ng["ours"] += t_ours / n
            tot_ng["ref"] += t_ref / n
            tot_ng["ic"] += t_ic / n
        line = f"{name:18s} {n / t_ours:9.1f}"
        line += (
            f" {n / t_ref:9.2f} {t_ref / t_ours:7.1f}"
            if ref is not None
            else f" {'-':>9s} {'-':>7s}"
        )
        if ic is not None:
            line += f" {n / t_ic:9.2f} {t_ic / t_ours:8.1f}"
        if torch_fn is not None:
            line += f" {n / t_torch:9.1f}"
        print(line)
    print(
        f"suite: {tot['ours'] * 1000:.0f} ms per image through {len(args.names)} corruptions "
        f"(ours)",
        end="",
    )
    if ref is not None:
        print(
            f", reference port {tot['ref'] * 1000:.0f} ms: ratio {tot['ref'] / tot['ours']:.1f}x"
            f" (without glass_blur {tot_ng['ref'] / tot_ng['ours']:.1f}x)",
            end="",
        )
    if ic is not None:
        print(
            f"; imagecorruptions-imaug {tot['ic'] * 1000:.0f} ms: ratio "
            f"{tot['ic'] / tot['ours']:.1f}x (without glass_blur "
            f"{tot_ng['ic'] / tot_ng['ours']:.1f}x)",
            end="",
        )
    if torch_fn is not None:
        print(
            f"; torch ({args.device}, batch {args.batch}) {tot['torch'] * 1000:.1f} ms per image",
            end="",
        )
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
