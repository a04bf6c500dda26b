"""Local vs Ray on this machine for the examiner: one fixed small failure search.

    python bench/bench_examine_ray.py                  # mediapipe on the mannequin, 2 workers
    python bench/bench_examine_ray.py --adapter jitter --budget 400 --size 96

Runs ``posebench.examine`` twice with the same seed and ``--torch-threads`` (default 1: two
one-thread workers on two cores) into fresh folders — in-process, then with ``executor="ray"``
on a local cluster of ``--workers`` actors (started first and timed apart) — and prints the
wall time of each, their ratio, the time per scored body and whether the two results files are
identical (``results.json`` less timing and executor fields, and every scored body of
``samples.parquet``; exit 1 if not). Every round of the search is one batch of agents x
rollouts bodies, split into chunks of ``--batch-size`` (one chunk per agent's rollouts by
default), which the Ray workers score in parallel; the search itself runs on the driver.
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

NOT_RESULTS = ("created", "timings", "throughput", "executor")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--adapter", default="mediapipe")
    ap.add_argument("--body", default="mannequin")
    ap.add_argument("--budget", type=int, default=256)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--agents", type=int, default=4)
    ap.add_argument("--rollouts", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--torch-threads", type=int, default=1, help="torch threads of both runs")
    ap.add_argument("--json", type=Path, help="also write the measurements here")
    args = ap.parse_args()

    import numpy as np
    import ray

    import posebench
    from posebench.results import read_samples

    tmp = Path(tempfile.mkdtemp(prefix="bench-examine-ray-"))
    kw: dict[str, Any] = {
        "adapter": args.adapter, "body": args.body, "budget": args.budget, "size": args.size,
        "agents": args.agents, "rollouts": args.rollouts, "max_iters": 50, "seed": args.seed,
        "batch_size": args.batch_size, "space": ("pose", "camera", "occluder", "light"),
        "torch_threads": args.torch_threads,
    }  # fmt: skip
    t0 = time.perf_counter()
    local = posebench.examine(output=tmp / "local", **kw)
    wall_local = time.perf_counter() - t0

    t0 = time.perf_counter()
    ray.init(
        address="local", num_cpus=args.workers, include_dashboard=False, logging_level="WARNING"
    )
    start_cluster = time.perf_counter() - t0
    t0 = time.perf_counter()
    on_ray = posebench.examine(output=tmp / "ray", executor="ray", workers=args.workers, **kw)
    wall_ray = time.perf_counter() - t0
    ray.shutdown()

    same_json = {k: v for k, v in local.items() if k not in NOT_RESULTS} == {
        k: v for k, v in on_ray.items() if k not in NOT_RESULTS
    }
    sa, sb = (
        read_samples(tmp / "local" / "samples.parquet"),
        read_samples(tmp / "ray" / "samples.parquet"),
    )
    same_rows = sorted(sa) == sorted(sb) and all(
        np.array_equal(np.asarray(sa[k]), np.asarray(sb[k]), equal_nan=sa[k].dtype.kind == "f")
        for k in sa
    )
    ex = local["examiner"]
    bodies = len(sa["error"])  # proposed bodies (queries + rejected ones)
    scored = int(ex["queries"])
    out = {
        "adapter": args.adapter,
        "body": args.body,
        "size": args.size,
        "budget": args.budget,
        "agents": args.agents,
        "rollouts": args.rollouts,
        "batch_size": args.batch_size,
        "workers": args.workers,
        "torch_threads": args.torch_threads,
        "cpus": os.cpu_count(),
        "scored_bodies": scored,
        "local_wall_s": wall_local,
        "ray_wall_s": wall_ray,
        "ray_cluster_start_s": start_cluster,
        "speedup": wall_local / wall_ray,
        "local_ms_per_body": wall_local / scored * 1000,
        "ray_ms_per_body": wall_ray / scored * 1000,
        "identical": bool(same_json and same_rows),
        "successes": ex["successes"],
        "samples_rows": bodies,
    }
    print(f"examine {args.adapter} on {args.body} {args.size}px: budget {args.budget}, "
          f"{args.agents} agents x {args.rollouts} rollouts in chunks of {args.batch_size}; "
          f"{args.workers} Ray workers, {os.cpu_count()} CPUs, torch threads "
          f"{args.torch_threads}")  # fmt: skip
    print(f"local  wall {wall_local:7.1f} s  ({out['local_ms_per_body']:.0f} ms per scored body, "
          f"{scored} bodies; adapter and body loading, images and files included)")  # fmt: skip
    print(f"ray    wall {wall_ray:7.1f} s  ({out['ray_ms_per_body']:.0f} ms per scored body; "
          f"+ cluster start {start_cluster:.1f} s)")  # fmt: skip
    print(f"local / ray = x{out['speedup']:.2f}")
    print(f"results identical: {out['identical']} (results.json {same_json}, samples {same_rows}"
          f"; {ex['successes']}/{args.agents} agents found a failure)")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0 if out["identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
