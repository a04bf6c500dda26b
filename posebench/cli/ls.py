"""``posebench ls``: list built-in suites, adapters, metrics and datasets."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Any

from posebench.errors import InputError

EXAMPLES = """\
examples:
  posebench ls suites
  posebench ls adapters --format json
  posebench ls metrics
  posebench ls datasets --data-root /data     (also says which are found there)
"""

WHAT = ("suites", "adapters", "metrics", "datasets")


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "ls",
        help="list suites, adapters, metrics or datasets",
        description="List what posebench knows by name. Adapters are listed without importing "
        "them (no optional dependency is needed).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("what", choices=WHAT, help="what to list")
    p.add_argument("--format", choices=("table", "json"), default="table", dest="fmt")
    p.add_argument(
        "--data-root",
        help="(datasets) where to look for them; default $POSEBENCH_DATA",
    )
    p.set_defaults(func=run)


def _suites() -> list[dict[str, Any]]:
    from posebench.evaluate import metric_key
    from posebench.suite import SuiteError, builtin_suites, load_suite

    rows = []
    for name, path in builtin_suites().items():
        try:
            s = load_suite(path)
            rows.append(
                {"name": name, "dataset": s.dataset_label, "boxes": s.boxes,
                 "metrics": [metric_key(m.model_dump()) for m in s.metrics],
                 "description": s.description,
                 "path": str(path)}
            )  # fmt: skip
        except SuiteError as e:
            rows.append({"name": name, "error": str(e), "path": str(path)})
    return rows


def _adapters() -> list[dict[str, Any]]:
    try:
        adapters = importlib.import_module("posebench.adapters")
    except ImportError as e:
        raise InputError(
            f"the built-in adapters package is not installed ({e}); run pip install -e ."
        ) from None
    specs = adapters.available()
    rows = []
    for s in sorted(specs.values(), key=lambda s: (s.source != "builtin", s.name)):
        kind, weights, _ = adapters.CATALOG.get(s.name, ("", "", ()))
        ok = adapters.installed(s.name) if s.source == "builtin" else None
        status = "" if ok is None else ("ready" if ok else "not installed")
        rows.append(
            {"name": s.name, "kind": kind, "status": status, "weights": weights,
             "target": s.target, "source": s.source}
        )  # fmt: skip
    return rows


def _metrics() -> list[dict[str, Any]]:
    from posebench.datasets import DATASETS
    from posebench.metrics.table import METRIC_TABLE
    from posebench.suite import MetricInfo, metric_problem_basic

    rows = []
    for m in METRIC_TABLE.values():
        info = MetricInfo(m.family or m.name, m.description, m.higher_is_better, m.dims,
                          m.persons, "head boxes" if "head_boxes" in m.needs else "")  # fmt: skip
        rows.append(
            {
                "name": m.name,
                "suite": {"name": m.family, **m.options} if m.family else None,
                "headline": m.headline,
                "higher_is_better": m.higher_is_better,
                "unit": m.unit,
                "dims": m.dims,
                "persons": m.persons,
                "needs": m.needs_text(),
                "streaming": m.stateful is not None,
                # a metric suites cannot name (oks-wholebody, n-mpjpe) fits no built-in dataset
                "datasets": [
                    d
                    for d, s in DATASETS.items()
                    if m.family and metric_problem_basic(info, s) is None
                ],
                "description": m.description,
            }
        )
    return rows


def _datasets(root_arg: str | None) -> list[dict[str, Any]]:
    from posebench.datasets import DATASETS, data_root

    root = data_root(root_arg)
    rows = []
    for spec in DATASETS.values():
        if spec.sample is not None:
            status = "embedded"
        elif root is None:
            status = "no data root"
        else:
            paths = [spec.annotations, *spec.alternates]
            found = any((root / p).is_file() for p in paths) and (root / spec.images).is_dir()
            status = "found" if found else "missing"
        rows.append(
            {"name": spec.name, "format": spec.format, "skeleton": spec.skeleton,
             "metric": spec.metric, "annotations": spec.annotations, "images": spec.images,
             "detections": spec.detections, "status": status, "description": spec.description}
        )  # fmt: skip
    return rows


_COLUMNS = {
    "suites": ("name", "dataset", "metrics", "description"),
    "adapters": ("name", "kind", "status", "weights"),
    "metrics": ("name", "headline", "higher_is_better", "unit", "datasets", "description"),
    "datasets": ("name", "skeleton", "metric", "status", "description"),
}


def _cell(v: Any) -> str:
    if isinstance(v, list):
        return ",".join(map(str, v))
    if isinstance(v, bool):
        return "yes" if v else "no"
    return "" if v is None else str(v)


def run(args: argparse.Namespace) -> int:
    what = args.what
    if what == "suites":
        rows = _suites()
    elif what == "adapters":
        rows = _adapters()
    elif what == "metrics":
        rows = _metrics()
    else:
        rows = _datasets(args.data_root)
    if args.fmt == "json":
        sys.stdout.write(json.dumps({what: rows}, indent=2) + "\n")
        return 0
    cols = _COLUMNS[what]
    table = [[_cell(r.get(c, r.get("error", ""))) for c in cols] for r in rows]
    widths = [max(len(c), *(len(t[i]) for t in table)) if table else len(c)
              for i, c in enumerate(cols)]  # fmt: skip
    header = "  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))
    print(header.rstrip())
    for t in table:
        print("  ".join(v.ljust(w) for v, w in zip(t, widths, strict=True)).rstrip())
    return 0
