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
from posebench.errors import InputError, escape_control

RUN_EXAMPLES = """\
examples:
  posebench run --adapter mediapipe --suite demo --output runs/mp-demo
  posebench run --adapter jitter --adapter-arg noise=0.1 --suite coco-val2017 \\
      --data-root ~/data --output runs/jitter --limit 500
  posebench run --adapter onnx --adapter-arg model=rtmpose-m.onnx --adapter-arg kind=rtmpose \\
      --suite coco-val2017 --output runs/rtm --shard 1/4      # then 2/4, 3/4, 4/4 and merge
  posebench run --adapter results-file --adapter-arg path=submission.json --suite coco-val2017 \\
      --output runs/submission
  posebench run --adapter jitter --gt my/ann.json --images my/images --output runs/mine
  posebench run --adapter jitter --gt ann.json --images img/ --sigmas 0.05,0.05,0.07,0.07,0.1 \\
      --image-ids 139,785 --output runs/mine-2      # own skeleton, a subset of its images

Own data: --gt takes any COCO-style keypoint file (any skeleton: the names and limbs come from
its category; sigmas from the built-in skeleton with the same keypoint names, else --sigmas),
CrowdPose, MPII (mmpose json; --headboxes for PCKh), LSP joints.mat or Human3.6M .npz. The run
is named after the file and its content hash, never after an official dataset.

  posebench run --adapter mediapipe --suite coco-c --dataset coco-sample --boxes gt \
      --limit 8 --output runs/mp-coco-c --executor ray --workers 2   # pip install 'posebench[ray]'

A killed run started again with the same command resumes: finished work units are read from
OUTPUT/cache (on any executor) and the numbers are identical to an uninterrupted run. An OUTPUT
holding another run (other adapter, suite, data, seed or shard) is refused unless --overwrite.
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
    p.add_argument(
        "--suite",
        help="suite name (posebench ls suites) or YAML file (default with --gt: the format's "
        "usual metrics)",
    )
    p.add_argument(
        "--output", required=True, type=argtypes.output_folder, help="run folder to write"
    )
    _common(p)
    p.add_argument("--dataset", help="run the suite on another dataset (e.g. coco-sample)")
    _own_data(p)
    p.add_argument(
        "--boxes",
        metavar="gt|detector|PATH",
        help="override the suite's box source for top-down adapters: gt, detector (the "
        "dataset's detections file), or PATH: a COCO detections JSON or a bottom-up run folder "
        "whose clean predictions' boxes are used (recorded as boxes:file-<digest>)",
    )
    p.add_argument("--limit", type=argtypes.positive_int, help="first N images (sorted ids) only")
    p.add_argument("--shard", default="1/1", help="i/n: run the i-th of n shards (default 1/1)")
    p.add_argument("--device", choices=("cpu", "cuda"), help="passed to adapters that take it")
    p.add_argument(
        "--batch-size",
        type=argtypes.positive_int,
        help="images per adapter call (default: the suite's)",
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--resume",
        action="store_true",
        help="OUTPUT must hold this same run: continue it from its cache (the same command "
        "without --resume continues too)",
    )
    g.add_argument(
        "--overwrite",
        action="store_true",
        help="replace another run held in OUTPUT (without it, such a folder is refused)",
    )
    add_executor_arguments(p, "work units")
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
        func=demo_cmd, shard="1/1", device=None, batch_size=None, dataset=None, boxes=None,
        resume=False, overwrite=False, executor="local", address=None, workers=None,
        gpus_per_worker=0.0,
        gt=None, images=None, gt_format=None, headboxes=None, sigmas=None,
    )  # fmt: skip


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
    p.add_argument(
        "--format",
        choices=("table", "json", "coco"),
        default="table",
        dest="fmt",
        help="table, json (results.json), or coco: pycocotools' summarize() block of each "
        "condition's OKS metric",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument(
        "--image-ids",
        metavar="FILE|LIST",
        help="these images only: a file of ids (lines, commas or a JSON array) or 139,785,...",
    )
    p.add_argument(
        "--condition-backend", choices=("numpy", "torch"), default="numpy",
        help="compute corruptions and low light with numpy/OpenCV (default) or batched torch on "
        "--device (within 1 grey level of numpy; occlusion always runs on the CPU)",
    )  # fmt: skip


def _own_data(p: argparse.ArgumentParser) -> None:
    """``run``'s arguments for the user's own dataset, kept together."""
    g = p.add_argument_group("own data (instead of --dataset / the suite's dataset)")
    g.add_argument("--gt", type=Path, help="ground-truth file of your own dataset")
    g.add_argument("--images", type=Path, help="folder the ground truth's image names are in")
    g.add_argument(
        "--gt-format",
        choices=("coco", "crowdpose", "mpii", "lsp", "h36m"),
        help="format of --gt (default: from its content)",
    )
    g.add_argument("--headboxes", type=Path, help="(mpii) the .mat with head boxes, for PCKh")
    g.add_argument(
        "--sigmas",
        help="OKS sigmas: a skeleton name (coco17) or one number per keypoint, comma-separated",
    )


def _suite_and_dataset(args: argparse.Namespace) -> Any:
    """The suite to run: a name or file, or with --gt a validated suite on the user's files."""
    from posebench.datasets import DatasetFiles, detect_format, parse_sigmas
    from posebench.suite import files_suite, load_suite, validate_suite

    own = ("images", "gt_format", "headboxes", "sigmas")
    if args.gt is None:
        for name in own:
            if getattr(args, name, None) is not None:
                raise InputError(
                    "needs --gt (the ground-truth file)", field=f"--{name.replace('_', '-')}"
                )
        if args.suite is None:
            raise InputError(
                "give a suite (posebench ls suites), or your own data with --gt FILE --images DIR",
                field="--suite",
            )
        return args.suite
    if args.dataset:
        raise InputError("--dataset and --gt name two datasets; give one", field="--dataset")
    fmt = args.gt_format or detect_format(args.gt)
    files = DatasetFiles.model_validate(
        {
            "format": fmt,
            "gt": str(args.gt.expanduser().resolve()),
            "images": str(args.images.expanduser().resolve()) if args.images else None,
            "headboxes": str(args.headboxes.expanduser().resolve()) if args.headboxes else None,
            "sigmas": parse_sigmas(args.sigmas) if args.sigmas is not None else None,
        }
    )
    if args.suite is None:
        return files_suite(files)
    base = load_suite(args.suite)
    data = base.model_dump(mode="json")
    data["dataset"] = files.model_dump(mode="json")
    return validate_suite(data, f"{args.suite} (with --gt {args.gt})")


def _options(args: argparse.Namespace, output: Path) -> Any:
    from posebench.adapters import parse_adapter_args
    from posebench.datasets import data_root
    from posebench.runner import RunOptions, parse_shard, progress_enabled

    if args.limit is not None and args.limit < 1:
        raise InputError("must be at least 1", field="--limit")
    if args.ci < 0:
        raise InputError("must be >= 0", field="--ci")
    from posebench.datasets import parse_image_ids

    image_ids = parse_image_ids(args.image_ids) if args.image_ids is not None else None
    return RunOptions(
        adapter=args.adapter,
        suite=_suite_and_dataset(args),
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
        resume=args.resume,
        overwrite=args.overwrite,
        executor=args.executor,
        address=args.address,
        workers=args.workers,
        gpus_per_worker=args.gpus_per_worker,
        image_ids=image_ids,
    )


def add_executor_arguments(p: argparse.ArgumentParser, what: str) -> None:
    """``--executor local|ray``, ``--address``, ``--workers``, ``--gpus-per-worker``: the
    executor flags of ``run`` and ``examine`` (``what`` runs there: "work units", ...)."""
    p.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help=f"where {what} run: in this process (default) or on Ray actors "
        "(pip install 'posebench[ray]')",
    )
    p.add_argument(
        "--address", help="Ray cluster to join: auto or HOST:PORT (default: start a local one)"
    )
    p.add_argument(
        "--workers", type=argtypes.positive_int, help="Ray actors, one adapter each (default: CPUs)"
    )
    p.add_argument(
        "--gpus-per-worker", type=float, default=0.0, metavar="N", help="GPUs per Ray actor (0)"
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


def _percent(metric: str) -> bool:
    """Stored as a fraction, printed in percent (OKS AP/AR, occluded-keypoint similarity), as
    the HTML report and ``compare`` print them."""
    from posebench.compare import unit_of

    return unit_of(metric).scale == 100.0


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
            pct = _percent(name)
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
        from posebench.robustness import HEADLINE, family

        keys = list(dict.fromkeys(m for _, c in conds for m in c["metrics"]))
        stat = {m: HEADLINE.get(family(m)) for m in keys}
        labels = [f"{m} {stat[m]}" if stat[m] else m for m in keys]
        widths = [max(len(lbl), 7) for lbl in labels]
        cw = max(len("condition"), *(len(k) for k, _ in conds))
        lines.append(
            f"\n{'condition':<{cw}}  "
            + "  ".join(f"{lbl:>{w}}" for lbl, w in zip(labels, widths, strict=True))
        )
        for key, c in conds:
            cells = []
            for m, w in zip(keys, widths, strict=True):
                block = c["metrics"].get(m)
                vals = block["values"] if block else {}
                v = vals.get(stat[m]) if stat[m] else next(iter(vals.values()), None)
                cells.append(f"{_fmt(v, _percent(m)):>{w}}")
            lines.append(f"{key:<{cw}}  " + "  ".join(cells))
    for metric, sm in (res.get("summary") or {}).items():
        pct = _percent(metric)
        parts = [f"clean {_fmt(sm['clean'], pct)}"]
        if sm.get("mPC") is not None:
            parts.append(f"mPC {_fmt(sm['mPC'], pct)}")
        if sm.get("rPC") is not None:
            parts.append(f"rPC {_fmt(sm['rPC'], True)}%")
        if sm.get("mRR") is not None:
            parts.append(f"mRR {_fmt(sm['mRR'], True)}%")
        if sm.get("mE") is not None:  # error metrics (MPJPE): mean error under corruption
            parts.append(f"mE {_fmt(sm['mE'], pct)}")
        if sm.get("rE") is not None:
            parts.append(f"rE {_fmt(sm['rE'], True)}%")
        parts += [f"{k} {_fmt(v, pct)}" for k, v in (sm.get("by_kind") or {}).items()]
        lines.append(f"\nrobustness ({metric}): " + "  ".join(parts))
    tp = res["throughput"].get("images_per_second")
    if tp:
        lines.append(
            f"\nthroughput {tp:.1f} images/s (predicted {res['throughput']['predicted_images']})"
        )
    return "\n".join(lines) + "\n"


def format_coco(res: dict[str, Any]) -> str:
    """pycocotools' ``summarize()`` block for each condition's OKS metric (xtcocotools' for
    ``oks/crowdpose``), each after a ``[condition] metric`` line when there are several."""
    from posebench.cli.score import summarize_block
    from posebench.metrics import table as metric_table
    from posebench.signature import parse_signature

    blocks = []
    for key, c in res["conditions"].items():
        for name, block in c["metrics"].items():
            row = metric_table.row_for_key(name)
            if row is None or row.params is None:  # not an OKS metric
                continue
            parts = parse_signature(str(block.get("signature", "")))[1]
            md = parts.get("maxdets", "20")
            text = summarize_block(
                block["values"], str(row.options.get("mode", "coco")),
                int(md) if md.isdigit() else 20,
            )  # fmt: skip
            blocks.append((f"[{key}] {name}", text))
    if not blocks:
        raise InputError("the run has no OKS metric to print as a COCO summary", field="--format")
    if len(blocks) == 1:
        return blocks[0][1]
    return "".join(f"{head}\n{text}" for head, text in blocks)


def _show(out: Path, fmt: str) -> int:
    from posebench.results import read_results_json

    res = read_results_json(out)
    if fmt == "json":
        sys.stdout.write(json.dumps(res, indent=2) + "\n")
    elif fmt == "coco":
        sys.stdout.write(escape_control(format_coco(res), keep_newlines=True))
    else:  # names in a run folder come from files: keep them off the terminal's controls
        sys.stdout.write(escape_control(format_run(res), keep_newlines=True))
    return 0
