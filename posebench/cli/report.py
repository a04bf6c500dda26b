"""``posebench report``: leaderboards from run folders (Markdown, HTML, JSON, model-index)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from posebench.cli import argtypes

EXAMPLES = """\
examples:
  posebench report runs/* --output leaderboard.md                  # GitHub Markdown
  posebench report runs/* --output leaderboard.html --title "My lab"  # one offline page, plots
  posebench report runs/a runs/b --format json                       # rows + sections as data
  posebench report runs/* --format model-index --output card.md      # Hugging Face front matter
  posebench report runs/* --reported reported.yaml --output lb.md

--reported FILE (YAML or JSON) maps a model (its name as the table shows it, its adapter name or
its architecture) to the numbers its authors published, e.g. {mediapipe: {AP: 62.3}}; keys are
STAT or METRIC:STAT, OKS values as fractions or percentages. Runs are ranked together only when
suite, dataset, image count and headline signature agree; others get separate tables. Failure
searches (`posebench examine` run folders) are not ranked: each gets a section with its success
rate, region size and a gallery of failure modes (Markdown links the images relative to
--output; HTML inlines them); model-index leaves them out. Exit 2 on unusable input (not a run
folder, another schema), naming the file.
"""

FORMATS = ("md", "html", "json", "model-index")
SUFFIXES = {
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".json": "json",
    ".yaml": "model-index",
    ".yml": "model-index",
}


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        help="leaderboard report from run folders (md, html, json, model-index)",
        description="Rank runs by their headline metric and write a leaderboard with "
        "confidence intervals, robustness summaries, per-joint results, breakdowns and plots.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="run folders (results.json)")
    p.add_argument(
        "--output", "-o", type=argtypes.output_file, help="file to write (default: stdout)"
    )
    p.add_argument(
        "--format",
        choices=FORMATS,
        dest="fmt",
        help="output format (default: from the --output suffix, else md)",
    )
    p.add_argument("--title", default="posebench leaderboard", help="report title")
    p.add_argument("--reported", type=Path, metavar="FILE", help="authors' reported numbers")
    p.add_argument(
        "--data-root", type=Path, help="dataset images for the HTML examples (default: the runs')"
    )
    p.add_argument(
        "--examples",
        type=argtypes.nonneg_int,
        default=4,
        metavar="N",
        help="worst images per run in HTML (4)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from posebench.errors import InputError, escape_control
    from posebench.report import examiner
    from posebench.report import leaderboard as lb

    fmt = args.fmt or (SUFFIXES.get(args.output.suffix.lower()) if args.output else None) or "md"
    if args.examples < 0:
        raise InputError("must be 0 or more", field="--examples")
    runs = lb.load_runs(args.runs)
    reported = lb.load_reported(args.reported) if args.reported else None
    tables = lb.build_tables(runs, reported)
    searches = examiner.sections(runs)
    notes = lb.separation_notes(tables)
    if fmt == "md":
        from posebench.report import markdown

        base = args.output.parent if args.output else None
        text = markdown.render(tables, args.title, notes, examiner=searches, base=base)
    elif fmt == "html":
        from posebench.report import html

        text = html.render(
            tables,
            args.title,
            notes,
            data_root=args.data_root,
            n_examples=args.examples,
            examiner=searches,
        )
    elif fmt == "json":
        payload = lb.report_json(args.title, notes, tables, searches)
        text = json.dumps(payload, indent=2, allow_nan=False) + "\n"
    else:
        from posebench.report import modelindex

        front = bool(args.output and args.output.suffix.lower() == ".md")
        text = modelindex.render(tables, front_matter=front)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
    else:  # run folders are untrusted: nothing they hold may drive the terminal
        sys.stdout.write(escape_control(text, keep_newlines=True))
    return 0
