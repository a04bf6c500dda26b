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
  posebench compare base new --max-drop AP=0.01 --max-drop oks:AP50=0.02
  posebench compare base new --format github                      # job summary + ::error lines
  posebench compare base new --format junit --output compare.xml
  posebench compare base new --max-change AP=0                    # any change fails (deterministic)

A drop fails only when it exceeds its tolerance (units of the metric: AP 0.01 = one point) and the
bootstrap interval of the difference excludes zero (paired over images when both runs kept their
per-sample records). Exit 0: no check failed; 1: a regression; 2: unusable input (e.g. signatures
that differ, runs of different images).
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
        help="allowed drop (repeatable; default 0 for each headline statistic)",
    )
    p.add_argument(
        "--max-change",
        action="append",
        metavar="[METRIC:]STAT=DELTA",
        help="two-sided: fail on any change beyond DELTA, interval or not",
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
    if not 0 < args.confidence < 1:
        raise InputError("must be in (0, 1)", field="--confidence")
    res = cmp.compare_runs(
        args.base,
        args.new,
        max_drop=cmp.parse_tolerances(args.max_drop, "--max-drop"),
        max_change=cmp.parse_tolerances(args.max_change, "--max-change"),
        n_boot=args.n_boot,
        seed=args.seed,
        confidence=args.confidence,
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
        args.output.write_text(text)
    else:
        sys.stdout.write(text)
    return 1 if res.failed else 0
