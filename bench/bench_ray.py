"""Local executor vs Ray on this machine: the COCO-C suite on the embedded sample.

    python bench/bench_ray.py                         # mediapipe, coco-c, 8 images, 2 workers
    python bench/bench_ray.py --adapter jitter --limit 36 --batch-size 4

Runs the same plan twice into fresh folders — in-process, then on a local Ray cluster with
``--workers`` actors — and prints the wall time of each phase, the cost of starting the cluster,
the overhead Ray adds per work unit and whether every number of ``results.json`` is identical
(exit 1 if not). Overhead per unit = (Ray execute time x workers - local execute time) / units:
the worker-seconds a unit costs on Ray beyond computing it (scheduling, shipping the unit and its
predictions, the driver writing the cache), as a per-unit figure to hold against the adapter's
own time per unit.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _numbers(res: dict[str, Any]) -> dict[str, Any]:
    return {
        k: {m: {"values": b["values"], "ci": b.get("ci")} for m, b in c["metrics"].items()}
        for k, c in res["conditions"].items()
    }


def _driver_cost(cache_dir: Path) -> dict[str, float]:
    """What the driver spends per unit on the cache (write with fsync, read back with checks),
    measured by rewriting the local run's entries into a fresh cache; and their size."""
    import numpy as np

    from posebench.engine.plan import Condition, WorkUnit
    from posebench.engine.store import UnitCache, UnitOutput, _poses_from_arrays, _read_npz, unseal

    entries = sorted(cache_dir.glob("*/*.unit"))
    fresh = UnitCache(cache_dir.parent / "cache-copy")
    put = get = 0.0
    poses = size = 0
    for p in entries:
        z = _read_npz(unseal(p.read_bytes()), str(p))
        pred, aux = _poses_from_arrays(z, str(p))
        ids = tuple(int(i) for i in aux["image_ids"])
        cond = Condition("corruption", aux["condition"].tobytes().decode(), 1)
        unit = WorkUnit(0, cond, 0, ids, (), aux["key"].tobytes().decode())
        out = UnitOutput(pred, aux.get("covered_rows"), aux.get("covered"))
        t0 = time.perf_counter()
        fresh.put(unit, out)
        t1 = time.perf_counter()
        fresh.get(unit, num_keypoints=pred.keypoints.shape[1], dims=pred.keypoints.shape[2],
                  occlusion=out.covered is not None, top_down="gt_row" in pred.extra)  # fmt: skip
        put += t1 - t0
        get += time.perf_counter() - t1
        poses += len(pred)
        size += p.stat().st_size
    n = max(len(entries), 1)
    return {
        "units": len(entries),
        "put_ms": put / n * 1000,
        "get_ms": get / n * 1000,
        "bytes_per_unit": size / n,
        "bytes_per_pose": size / max(poses, 1),
        "poses_per_unit": poses / n,
        "median_unit_bytes": float(np.median([p.stat().st_size for p in entries]))
        if entries
        else 0,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--adapter", default="mediapipe")
    ap.add_argument("--suite", default="coco-c")
    ap.add_argument("--limit", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--ci", type=int, default=0, help="bootstrap replicates (0)")
    ap.add_argument("--json", type=Path, help="also write the measurements here")
    args = ap.parse_args()

    import ray

    from posebench.results import read_results_json
    from posebench.runner import RunOptions, run

    tmp = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    common: dict[str, Any] = {
        "adapter": args.adapter,
        "suite": args.suite,
        "dataset": "coco-sample",
        "boxes": "gt",
        "limit": args.limit,
        "batch_size": args.batch_size,
        "n_boot": args.ci,
    }
    t0 = time.perf_counter()
    local = read_results_json(run(RunOptions(output=tmp / "local", **common)))
    wall_local = time.perf_counter() - t0

    t0 = time.perf_counter()
    ray.init(
        address="local", num_cpus=args.workers, include_dashboard=False, logging_level="WARNING"
    )
    start_cluster = time.perf_counter() - t0
    t0 = time.perf_counter()
    on_ray = read_results_json(
        run(RunOptions(output=tmp / "ray", executor="ray", workers=args.workers, **common))
    )
    wall_ray = time.perf_counter() - t0
    ray.shutdown()

    units = int(local["plan"]["units"])
    driver = _driver_cost(tmp / "local" / "cache")
    lt, rt = local["timings"], on_ray["timings"]
    exec_l, exec_r = float(lt["execute_seconds"]), float(rt["execute_seconds"])
    overhead = (exec_r * args.workers - exec_l) / units
    same = _numbers(local) == _numbers(on_ray)
    head = local["headline"]
    clean_ap = local["conditions"]["clean"]["metrics"][head]["values"].get("AP")
    out = {
        "adapter": args.adapter,
        "suite": args.suite,
        "images": args.limit,
        "conditions": len(local["conditions"]),
        "units": units,
        "workers": args.workers,
        "cpus": os.cpu_count(),
        "local": {
            "wall_s": wall_local,
            "execute_s": exec_l,
            "evaluate_s": lt["evaluate_seconds"],
        },
        "ray": {
            "cluster_start_s": start_cluster,
            "wall_s": wall_ray,
            "execute_s": exec_r,
            "evaluate_s": rt["evaluate_seconds"],
        },
        "execute_speedup": exec_l / exec_r,
        "local_s_per_unit": exec_l / units,
        "ray_overhead_s_per_unit": overhead,
        "driver": driver,
        "identical": same,
        "clean_AP": clean_ap,
        "mPC": (local.get("summary") or {}).get(head, {}).get("mPC"),
    }
    print(f"{args.adapter} x {args.suite}: {out['conditions']} conditions x {args.limit} images "
          f"= {units} units of {args.batch_size} images; {args.workers} Ray workers, "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    per_unit = exec_l / units * 1000
    print(f"local   wall {wall_local:7.1f} s   execute {exec_l:7.1f} s "
          f"({per_unit:.0f} ms/unit)   evaluate {lt['evaluate_seconds']:.1f} s")  # fmt: skip
    print(f"ray     wall {wall_ray:7.1f} s   execute {exec_r:7.1f} s   evaluate "
          f"{rt['evaluate_seconds']:.1f} s   (+ cluster start {start_cluster:.1f} s)")  # fmt: skip
    print(f"execute speed-up x{exec_l / exec_r:.2f}; Ray overhead {overhead * 1000:.0f} "
          "worker-ms per unit")  # fmt: skip
    print(f"driver per unit: write {driver['put_ms']:.1f} ms + read back "
          f"{driver['get_ms']:.1f} ms; "
          f"cache {driver['bytes_per_unit'] / 1024:.1f} KiB/unit, "
          f"{driver['bytes_per_pose']:.0f} B/pose")  # fmt: skip
    print(f"results.json numbers identical: {same} (clean AP {clean_ap})")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
