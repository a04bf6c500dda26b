"""``posebench run``, ``posebench merge`` and ``posebench demo``."""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from posebench.cli import argtypes
from posebench.errors import InputError

RUN_EXAMPLES = """\
examples:
  posebench run --adapter mediapipe --suite demo --output runs/mp-demo
  posebench run --adapter jitter --adapter-arg noise=0.1 --suite coco-val2017 \\
      --data-root ~/data --output runs/jitter --limit 500
  posebench run --adapter onnx --adapter-arg path=rtmpose-m.onnx --adapter-arg kind=rtmpose \\
      --suite coco-val2017 --output runs/rtm --shard 1/4      # then 2/4, 3/4, 4/4 and merge
  posebench run --adapter results-file --adapter-arg path=submission.json --suite coco-val2017 \\
      --output runs/submission

A killed run started again with the same command resumes: finished batches are read from
OUTPUT/cache and the numbers are identical to an uninterrupted run.
"""

MERGE_EXAMPLES = """\
examples:
  posebench merge runs/rtm-1 runs/rtm-2 runs/rtm-3 runs/rtm-4 --output runs/rtm
"""

DEMO_EXAMPLES = """\
examples:
  posebench demo                       # mediapipe on the embedded COCO sample
  posebench demo --output runs/demo --format json
  posebench demo --suite coco-c --limit 8      # the corruption suite on 8 sample images
"""


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "run",
        help="run an adapter on a suite (predict, cache, score)",
        description="Run a pose model (adapter) on a suite: predictions are cached per batch, "
        "then every metric of the suite is computed; writes OUTPUT/results.json and "
        "OUTPUT/samples.parquet.",
        epilog=RUN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--adapter",
        required=True,
        help="adapter name (posebench ls adapters), entry point, or module:attr",
    )
    p.add_argument(
        "--adapter-arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="adapter argument (repeatable)",
    )
    p.add_argument("--suite", required=True, help="suite name (posebench ls suites) or YAML file")
    p.add_argument(
        "--output", required=True, type=argtypes.output_folder, help="run folder to write"
    )
    _common(p)
    p.add_argument("--dataset", help="run the suite on another dataset (e.g. coco-sample)")
    p.add_argument("--boxes", choices=("gt", "detector"), help="override the suite's box source")
    p.add_argument("--limit", type=argtypes.positive_int, help="first N images (sorted ids) only")
    p.add_argument("--shard", default="1/1", help="i/n: run the i-th of n shards (default 1/1)")
    p.add_argument("--device", choices=("cpu", "cuda"), help="passed to adapters that take it")
    p.add_argument(
        "--batch-size",
        type=argtypes.positive_int,
        help="images per adapter call (default: the suite's)",
    )
    p.set_defaults(func=run_cmd)

    m = sub.add_parser(
        "merge",
        help="combine the shards of a run into one result",
        description="Merge the output folders of `posebench run --shard i/n` (all n of them) into "
        "one run whose numbers equal a single unsharded pass.",
        epilog=MERGE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    m.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="shard run folders")
    m.add_argument("--output", required=True, type=argtypes.output_folder)
    m.add_argument("--data-root", type=Path, help="where the dataset is (default: as recorded)")
    m.add_argument("--format", choices=("table", "json"), default="table", dest="fmt")
    m.set_defaults(func=merge_cmd)

    d = sub.add_parser(
        "demo",
        help="mediapipe on the embedded COCO sample, scored end to end",
        description="Run the mediapipe BlazePose adapter (weights inside its wheel; offline) on "
        "the embedded sample of real COCO val2017 images with GT person boxes, print the "
        "results table and write the run folder.",
        epilog=DEMO_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    d.add_argument(
        "--output", type=argtypes.output_folder, help="run folder (default: a new temporary folder)"
    )
    d.add_argument("--adapter", default="mediapipe", help="adapter to demo (default mediapipe)")
    d.add_argument("--adapter-arg", action="append", default=[], metavar="KEY=VALUE")
    d.add_argument("--suite", default="demo", help="a suite to run on the embedded sample instead")
    _common(d)
    d.add_argument("--limit", type=argtypes.positive_int, help="first N images only")
    d.set_defaults(
        func=demo_cmd, shard="1/1", device=None, batch_size=None, dataset=None, boxes=None
    )


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-root", type=Path, help="datasets folder (default: $POSEBENCH_DATA)")
    p.add_argument(
        "--ci",
        type=argtypes.replicates,
        default=1000,
        metavar="B",
        help="bootstrap replicates for confidence intervals (0: none; default 1000)",
    )
    p.add_argument(
        "--seed", type=argtypes.seed, help="condition and bootstrap seed (default: the suite's)"
    )
    p.add_argument("--format", choices=("table", "json"), default="table", dest="fmt")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument(
        "--condition-backend", choices=("numpy", "torch"), default="numpy",
        help="compute corruptions and low light with numpy/OpenCV (default) or batched torch on "
        "--device (within 1 grey level of numpy; occlusion always runs on the CPU)",
    )  # fmt: skip


def _options(args: argparse.Namespace, output: Path) -> Any:
    from posebench.adapters import parse_adapter_args
    from posebench.datasets import data_root
    from posebench.runner import RunOptions, parse_shard, progress_enabled

    if args.limit is not None and args.limit < 1:
        raise InputError("must be at least 1", field="--limit")
    if args.ci < 0:
        raise InputError("must be >= 0", field="--ci")
    return RunOptions(
        adapter=args.adapter,
        suite=args.suite,
        output=output,
        adapter_args=parse_adapter_args(args.adapter_arg),
        data_root=data_root(str(args.data_root) if args.data_root else None),
        limit=args.limit,
        shard=parse_shard(args.shard),
        device=args.device,
        batch_size=args.batch_size,
        n_boot=args.ci,
        seed=args.seed,
        progress=progress_enabled() and not args.no_progress,
        dataset=args.dataset,
        boxes=args.boxes,
        condition_backend=args.condition_backend,
    )


def run_cmd(args: argparse.Namespace) -> int:
    from posebench.runner import run

    out = run(_options(args, args.output))
    return _show(out, args.fmt)


def merge_cmd(args: argparse.Namespace) -> int:
    from posebench.runner import merge

    out = merge(args.runs, args.output, data_root=args.data_root)
    return _show(out, args.fmt)


def demo_cmd(args: argparse.Namespace) -> int:
    from posebench.runner import run

    if args.suite != "demo":  # any suite, on the embedded sample with GT boxes
        args.dataset, args.boxes = "coco-sample", "gt"

    output = args.output or Path(tempfile.mkdtemp(prefix="posebench-demo-"))
    t0 = time.perf_counter()
    out = run(_options(args, output))
    code = _show(out, args.fmt)
    if args.fmt == "table":
        sys.stdout.write(
            f"\nwrote {out}/results.json and samples.parquet ({time.perf_counter() - t0:.1f} s)\n"
        )
    return code


def _fmt(v: Any, pct: bool) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return f"{100 * v:.1f}" if pct else f"{v:.2f}"


def format_run(res: dict[str, Any]) -> str:
    """The results table of a run folder's results.json."""
    a = res["adapter"]
    lines = [
        f"adapter  {a['name']}  ({a['info']['architecture']}; boxes: {res['box_source']})",
        f"suite    {res['suite'].get('name')}  on {res['dataset']['name']} "
        f"({res['dataset']['images']} images)",
    ]
    conds = list(res["conditions"].items())
    for key, c in conds[:1] if len(conds) > 2 else conds:
        for name, block in c["metrics"].items():
            pct = name.startswith("oks")
            vals = block["values"]
            cis = block.get("ci", {})
            lines.append(f"\n[{key}] {name}   {block['signature']}")
            for k, v in vals.items():
                ci = cis.get(k)
                rng = (
                    f"  [{_fmt(ci['low'], pct)}, {_fmt(ci['high'], pct)}]"
                    if ci and ci.get("low") is not None
                    else ""
                )
                lines.append(f"  {k:<10} {_fmt(v, pct):>7}{rng}")
    if len(conds) > 2:  # many conditions: one line each with the headline numbers
        keys = list(dict.fromkeys(m for _, c in conds for m in c["metrics"]))
        lines.append("\ncondition                 " + "  ".join(f"{m:>14}" for m in keys))
        for key, c in conds:
            cells = []
            for m in keys:
                block = c["metrics"].get(m)
                v = next(iter(block["values"].values()), None) if block else None
                cells.append(f"{_fmt(v, m.startswith('oks')):>14}")
            lines.append(f"{key:<25} " + "  ".join(cells))
    for metric, sm in (res.get("summary") or {}).items():
        pct = metric.startswith("oks")
        parts = [f"clean {_fmt(sm['clean'], pct)}"]
        if sm.get("mPC") is not None:
            parts.append(f"mPC {_fmt(sm['mPC'], pct)}")
        if sm.get("rPC") is not None:
            parts.append(f"rPC {_fmt(sm['rPC'], True)}%")
        if sm.get("mRR") is not None:
            parts.append(f"mRR {_fmt(sm['mRR'], True)}%")
        parts += [f"{k} {_fmt(v, pct)}" for k, v in (sm.get("by_kind") or {}).items()]
        lines.append(f"\nrobustness ({metric}): " + "  ".join(parts))
    tp = res["throughput"].get("images_per_second")
    if tp:
        lines.append(
            f"\nthroughput {tp:.1f} images/s (predicted {res['throughput']['predicted_images']})"
        )
    return "\n".join(lines) + "\n"


def _show(out: Path, fmt: str) -> int:
    from posebench.results import read_results_json

    res = read_results_json(out)
    if fmt == "json":
        sys.stdout.write(json.dumps(res, indent=2) + "\n")
    else:  # names in a run folder come from files: keep them off the terminal's controls
        from posebench.errors import escape_control

        sys.stdout.write(escape_control(format_run(res), keep_newlines=True))
    return 0
