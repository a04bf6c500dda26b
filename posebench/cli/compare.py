"""``posebench compare``: the CI regression gate."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

EXAMPLES = """\
examples:
  posebench compare reports/baseline runs/new                     # headline metrics, noise-aware
  posebench compare base new --max-drop AP=1 --max-drop oks:AP50=2  # AP points
  posebench compare base new --format github                      # job summary + ::error lines
  posebench compare base new --format junit --output compare.xml
  posebench compare base new --max-change AP=0                    # any change fails (deterministic)
  posebench compare base-s0 new --baseline-runs base-s1 base-s2   # + run-to-run model noise

Tolerances are in the units the tables print: OKS AP/AR and PCK-style metrics in percentage
points (AP=0.5 allows half a point), MPJPE in millimetres; negative values, values above 100
points and tolerances that match no statistic are refused. A drop fails only when it exceeds its
tolerance and the interval of the difference excludes zero. The interval covers image sampling
(a paired bootstrap over images, from both runs' saved per-image records); it covers run-to-run
model noise only with --baseline-runs (repeated runs of the baseline differing only in the
seed), so two seeds of a stochastic model can fail without it. Exit 0: no check failed;
1: a regression; 2: unusable input (a missing, null or NaN headline number in either run,
empty values or conditions, signatures that differ, runs of different images).
"""


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "compare",
        help="compare two runs; exit 1 on a real regression (CI gate)",
        description="Compare a new run against a baseline run, metric by metric and condition by "
        "condition, with paired bootstrap intervals of the differences.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("base", type=Path, metavar="BASE", help="baseline run folder")
    p.add_argument("new", type=Path, metavar="NEW", help="new run folder")
    p.add_argument(
        "--max-drop",
        action="append",
        metavar="[METRIC:]STAT=DELTA",
        help="allowed drop in printed units, AP points or mm (repeatable; default 0 for each "
        "headline statistic)",
    )
    p.add_argument(
        "--max-change",
        action="append",
        metavar="[METRIC:]STAT=DELTA",
        help="two-sided: fail on any change beyond DELTA (printed units), interval or not",
    )
    p.add_argument(
        "--baseline-runs",
        nargs="+",
        type=Path,
        default=[],
        metavar="RUN",
        help="further runs of the baseline's configuration differing only in their seed: their "
        "spread (run-to-run model noise) widens the drop intervals and BASE becomes their mean",
    )
    p.add_argument("--format", choices=("md", "json", "junit", "github"), default="md", dest="fmt")
    p.add_argument("--output", type=Path, help="write the report here instead of stdout")
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap replicates (1000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--confidence", type=float, default=0.95)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from posebench import compare as cmp
    from posebench.errors import InputError

    if args.n_boot < 10:
        raise InputError("must be at least 10", field="--n-boot")
    if args.seed < 0:
        raise InputError("must be >= 0", field="--seed")
    if not 0 < args.confidence < 1:  # also refuses NaN
        raise InputError("must be in (0, 1)", field="--confidence")
    res = cmp.compare_runs(
        args.base,
        args.new,
        max_drop=cmp.parse_tolerances(args.max_drop, "--max-drop"),
        max_change=cmp.parse_tolerances(args.max_change, "--max-change"),
        n_boot=args.n_boot,
        seed=args.seed,
        confidence=args.confidence,
        baseline_runs=args.baseline_runs,
    )
    if args.fmt == "json":
        text = json.dumps(cmp.to_json(res), indent=2) + "\n"
    elif args.fmt == "junit":
        text = cmp.to_junit(res)
    else:
        text = cmp.to_markdown(res)
    if args.fmt == "github":
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary:
            with open(summary, "a", encoding="utf-8") as f:
                f.write(text + "\n")
        text = text + cmp.github_annotations(res)
    if args.output:
        if args.output.is_dir():
            raise InputError("is a folder; expected a file to write", field="--output")
        if not args.output.parent.is_dir():
            raise InputError(f"folder {args.output.parent} does not exist", field="--output")
        args.output.write_text(text)
    else:
        sys.stdout.write(text)
    return 1 if res.failed else 0
