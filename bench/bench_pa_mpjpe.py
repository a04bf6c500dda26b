"""PA-MPJPE speed: posebench (numpy, torch CPU) against a VideoPose3D-style reference.

Usage::

    python bench/bench_pa_mpjpe.py                       # 1e6 poses x 17 joints, both data sets
    python bench/bench_pa_mpjpe.py --n 200000 --repeat 1 # quick look
    python bench/bench_pa_mpjpe.py --data random --json /tmp/pa.json

The reference is the computation of VideoPose3D's ``p_mpjpe`` written out here: batched
centring and normalisation, ``np.linalg.svd`` of every frame's 3x3 cross-covariance, the
reflection fix, scale and translation, then the per-frame mean distance (``p_mpjpe`` itself
returns only the mean over all frames; per-frame values let the bench check agreement). It runs
in chunks of 250k frames to bound memory, which does not change its per-frame cost.

Data: ``realistic`` builds ground-truth poses (joints spread ~300 mm, 5 m in front of the
camera) and predictions off by a small rotation, a scale, a shift and 25 mm of joint noise;
``random`` uses independent standard-normal poses, the solver's worst case (more iterations,
arbitrary rotations). Each timing is the best of ``--repeat`` runs, wall clock.

Prints a Markdown table on stdout (progress on stderr): seconds per tool, the reference's time
over the tool's (above 1: faster than the reference), and the largest relative difference of
the per-frame values from the reference.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from posebench.metrics import mpjpe as M

FloatArray = npt.NDArray[np.float64]


def reference_p_mpjpe(pred: FloatArray, gt: FloatArray, chunk: int = 250_000) -> FloatArray:
    """Per-frame PA-MPJPE the way VideoPose3D's ``p_mpjpe`` computes it (batched SVD)."""
    out = np.empty(len(pred))
    for s in range(0, len(pred), chunk):
        p, g = pred[s : s + chunk], gt[s : s + chunk]
        mu_g = g.mean(axis=1, keepdims=True)
        mu_p = p.mean(axis=1, keepdims=True)
        g0, p0 = g - mu_g, p - mu_p
        norm_g = np.sqrt((g0**2).sum(axis=(1, 2), keepdims=True))
        norm_p = np.sqrt((p0**2).sum(axis=(1, 2), keepdims=True))
        g0 /= norm_g
        p0 /= norm_p
        h = np.matmul(g0.transpose(0, 2, 1), p0)
        u, sv, vt = np.linalg.svd(h)
        v = vt.transpose(0, 2, 1)
        r = np.matmul(v, u.transpose(0, 2, 1))
        sign = np.sign(np.linalg.det(r))  # reflections are not rotations: flip the last axis
        v[:, :, -1] *= sign[:, None]
        sv[:, -1] *= sign
        r = np.matmul(v, u.transpose(0, 2, 1))
        a = sv.sum(axis=1)[:, None, None] * norm_g / norm_p
        aligned = a * np.matmul(p, r) + (mu_g - a * np.matmul(mu_p, r))
        out[s : s + chunk] = np.linalg.norm(aligned - g, axis=2).mean(axis=1)
    return out


def rotations(rng: np.random.Generator, n: int, spread: float = 1.0) -> FloatArray:
    """(n, 3, 3) random rotations; ``spread`` < 1 keeps them near the identity."""
    q = rng.standard_normal((n, 4))
    q[:, 0] += (1.0 / max(spread, 1e-9)) - 1.0
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    w, x, y, z = q.T
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        axis=1,
    )


def make_data(kind: str, n: int, k: int, seed: int) -> tuple[FloatArray, FloatArray]:
    """(pred, gt), each (n, k, 3) float64."""
    rng = np.random.default_rng(seed)
    if kind == "random":
        return rng.standard_normal((n, k, 3)), rng.standard_normal((n, k, 3))
    gt = rng.normal(0.0, 300.0, (n, k, 3)) + np.array([0.0, 0.0, 5000.0])
    pred = np.einsum("nij,nkj->nki", rotations(rng, n, spread=0.1), gt - gt.mean(1, keepdims=True))
    pred *= rng.uniform(0.8, 1.2, (n, 1, 1))
    pred += gt.mean(1, keepdims=True) + rng.normal(0.0, 40.0, (n, 1, 3))
    pred += rng.normal(0.0, 25.0, pred.shape)
    return pred, gt


def best_of(fn: Callable[[], FloatArray], repeat: int) -> tuple[float, FloatArray]:
    best, out = float("inf"), np.empty(0)
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def run_kind(kind: str, args: argparse.Namespace, torch_mod: Any) -> list[dict[str, Any]]:
    """Time every tool on one data set; the reference first."""
    print(f"[{kind}] making {args.n} x {args.joints} poses ...", file=sys.stderr)
    pred, gt = make_data(kind, args.n, args.joints, args.seed)
    ref_name = "VideoPose3D-style reference (batched SVD)"
    print(f"[{kind}] {ref_name} ...", file=sys.stderr)
    ref_time, ref_values = best_of(lambda: reference_p_mpjpe(pred, gt), args.repeat)
    rows: list[dict[str, Any]] = [
        {"data": kind, "tool": ref_name, "seconds": ref_time, "reference_over_tool": 1.0,
         "max_rel_diff": 0.0}
    ]  # fmt: skip
    tools: list[tuple[str, Callable[[], FloatArray]]] = [
        ("posebench numpy", lambda: M.pa_mpjpe(pred, gt)),
        ("posebench numpy, workers=1", lambda: M.pa_mpjpe(pred, gt, workers=1)),
    ]
    if torch_mod is not None:
        torch, mt = torch_mod
        tp, tg = torch.from_numpy(pred), torch.from_numpy(gt)
        label = f"posebench torch CPU ({torch.get_num_threads()} threads)"
        tools.append((label, lambda: mt.pa_mpjpe(tp, tg).numpy()))
    for name, fn in tools:
        print(f"[{kind}] {name} ...", file=sys.stderr)
        seconds, values = best_of(fn, args.repeat)
        rel = float(np.max(np.abs(values - ref_values) / np.abs(ref_values)))
        rows.append(
            {"data": kind, "tool": name, "seconds": seconds,
             "reference_over_tool": ref_time / seconds, "max_rel_diff": rel}
        )  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000, help="poses (default 1e6)")
    ap.add_argument("--joints", type=int, default=17)
    ap.add_argument("--data", choices=("realistic", "random", "both"), default="both")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-torch", action="store_true", help="skip the torch CPU path")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)

    torch_mod = None
    if not args.no_torch:
        try:
            import torch

            from posebench.metrics import mpjpe_torch

            torch_mod = (torch, mpjpe_torch)
        except ImportError as e:
            print(f"torch not available ({e}); skipping the torch path", file=sys.stderr)

    rows = []
    for kind in ("realistic", "random") if args.data == "both" else (args.data,):
        rows += run_kind(kind, args, torch_mod)

    print(
        f"\nPA-MPJPE, {args.n} poses x {args.joints} joints, best of {args.repeat}; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"numpy {np.__version__}\n"
    )
    print("| data | tool | seconds | reference/tool | max rel. diff vs reference |")
    print("|---|---|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['data']} | {r['tool']} | {r['seconds']:.3f} | "
            f"{r['reference_over_tool']:.2f} | {r['max_rel_diff']:.1e} |"
        )
    if args.json:
        args.json.write_text(json.dumps({"n": args.n, "joints": args.joints, "rows": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
