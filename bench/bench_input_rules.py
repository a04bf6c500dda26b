"""What the input rules of issue 14 cost on a big file: the COCO readers now vs. before them.

Builds the COCO-val-sized synthetic set of ``bench_oks.py`` (5000 images, ~140k detections, a
~60 MB results JSON), adds two variants of the results (every record with mmpose's extra
``center``/``scale`` keys, and one record with an integral float id, ``785.0``, that sends the
file down the record-by-record path), then measures CPU seconds (this process and its forked
parse), best of ``--repeat``, in this process:

- ``read_gt`` (the duplicate-key check is new),
- ``read_results`` on each variant (new: key-count checks, literal scan, int64 and box checks),

against the same readers at ``--before`` (default: the commit before the rules), loaded from git.

    python bench/bench_input_rules.py                    # ~2 minutes on two cores
    python bench/bench_input_rules.py --images 1000 --repeat 1
"""

from __future__ import annotations

import argparse
import functools
import json
import resource
import subprocess
import sys
import tempfile
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from posebench.formats import coco, jsonio
from posebench.synthetic import make_keypoint_dataset

ROOT = Path(__file__).resolve().parents[1]


def old_coco(rev: str) -> types.ModuleType:
    """``posebench/formats/coco.py`` at ``rev`` as a module (its JSON parse without the new
    duplicate-key check, as it was)."""
    src = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:posebench/formats/coco.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    mod = types.ModuleType("coco_before")
    mod.__file__ = f"{rev}:coco.py"
    sys.modules["coco_before"] = mod
    exec(compile(src, mod.__file__, "exec"), mod.__dict__)  # our own repository's code
    mod.parse_json = functools.partial(jsonio.parse_json, duplicate_keys="unchecked")
    return mod


def _cpu() -> float:
    """CPU seconds of this process and its waited-for children (the two-process parse forks):
    steadier than wall time on a machine shared with other jobs."""
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def best(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = _cpu()
        fn()
        times.append(_cpu() - t0)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--before", default="311e1a0", help="git revision without the rules")
    args = ap.parse_args(argv)

    before = old_coco(args.before)
    work = Path(tempfile.mkdtemp(prefix="posebench-rules-"))
    gt, results = make_keypoint_dataset(args.images, seed=0)
    (work / "gt.json").write_text(json.dumps(gt))
    (work / "res.json").write_text(json.dumps(results))
    extra = [dict(r, center=[1.0, 2.0], scale=[0.5, 0.5]) for r in results]
    (work / "res_extra.json").write_text(json.dumps(extra))
    slow = [dict(r) for r in results]
    slow[0]["image_id"] = float(slow[0]["image_id"])  # 785.0: only the validator takes it
    (work / "res_strict.json").write_text(json.dumps(slow))
    print(f"data: {work} ({(work / 'res.json').stat().st_size / 1e6:.0f} MB results, "
          f"{len(results)} detections)", file=sys.stderr)  # fmt: skip

    g_new = coco.read_gt(work / "gt.json")
    g_old = before.read_gt(work / "gt.json")
    rows = [("read_gt", best(lambda: before.read_gt(work / "gt.json"), args.repeat),
             best(lambda: coco.read_gt(work / "gt.json"), args.repeat))]  # fmt: skip
    for name in ("res.json", "res_extra.json", "res_strict.json"):
        p = work / name
        t_old = best(lambda p=p: before.read_results(p, g_old), args.repeat)
        t_new = best(lambda p=p: coco.read_results(p, g_new), args.repeat)
        rows.append((f"read_results {name}", t_old, t_new))
        print(f"{name} done", file=sys.stderr)
    print("| reader | before (CPU s) | now (CPU s) | now / before |")
    print("|---|---|---|---|")
    for name, t_old, t_new in rows:
        print(f"| {name} | {t_old:.3f} | {t_new:.3f} | {t_new / t_old:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
