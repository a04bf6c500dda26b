"""``posebench validate``: check suite files without running anything."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from posebench.errors import InputError, escape_control
from posebench.suite import Suite, SuiteError, load_suite

EXAMPLES = """\
examples:
  posebench validate suites/coco-val2017.yaml
  posebench validate my-suite.yaml other.yaml --format json
  posebench validate demo                      (a built-in suite, by name)

exit status: 0 every file is valid, 2 at least one is not (one line per problem:
FILE: field 'KEY': what is wrong).
"""


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "validate",
        help="check suite files (YAML schema, keys, metric/dataset fit)",
        description="Check suite files: safe YAML (no tags, aliases or duplicate keys), known "
        "keys and values, and metrics that fit the suite's dataset. Nothing is run and no data "
        "is read.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="suite .yaml files or built-in names")
    p.add_argument("--format", choices=("table", "json"), default="table", dest="fmt")
    p.set_defaults(func=run)


def _problem(e: InputError) -> dict[str, Any]:
    return {"file": e.file, "field": e.field, "message": e.detail, "line": str(e)}


def check(target: str) -> tuple[Suite | None, list[InputError]]:
    """The suite and no problems, or None and every problem."""
    try:
        return load_suite(target), []
    except SuiteError as e:
        return None, list(e.problems)
    except InputError as e:
        return None, [e]


def run(args: argparse.Namespace) -> int:
    results = []
    for target in args.files:
        suite, problems = check(target)
        results.append((target, suite, problems))
    ok = all(not problems for _, _, problems in results)
    if args.fmt == "json":
        payload = {
            "valid": ok,
            "files": [
                {
                    "file": target,
                    "valid": not problems,
                    "suite": suite.name if suite is not None else None,
                    "dataset": suite.dataset_label if suite is not None else None,
                    "errors": [_problem(p) for p in problems],
                }
                for target, suite, problems in results
            ],
        }
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        for target, suite, problems in results:
            shown = escape_control(target)
            if suite is not None:
                print(f"{shown}: ok (suite {suite.name!r}, dataset {suite.dataset_label!r})")
            for p in problems[: SuiteError.SHOWN]:
                print(str(p) if p.file is not None else f"{shown}: {p}")
            if len(problems) > SuiteError.SHOWN:
                print(f"{shown}: ... and {len(problems) - SuiteError.SHOWN} more problems")
    return 0 if ok else 2
