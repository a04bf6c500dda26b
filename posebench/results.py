"""Run results on disk: ``results.json`` (schema-versioned) and ``samples.parquet``.

``results.json``::

    {"schema": "posebench.run/1", "signature": ..., "created": ISO time,
     "posebench": {"version", "git"}, "versions": {package: version},
     "adapter": {"name", "args", "signature", "info"}, "suite": {...}, "dataset": {...},
     "shard": [i, n], "images": N, "seed": S, "n_boot": B,
     "conditions": {key: {"kind", "name", "severity", "metrics": {metric: MetricBlock JSON}}},
     "summary": {...robustness summaries when the suite has conditions...},
     "timings": {...}, "throughput": {"images_per_second": ...}}
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import json
import math
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from posebench.errors import InputError

SCHEMA = "posebench.run/1"

#: packages whose versions every results file records (when installed).
RECORDED_PACKAGES = (
    "numpy",
    "scipy",
    "torch",
    "mediapipe",
    "onnxruntime",
    "torchvision",
    "ultralytics",
    "mmpose",
    "opencv-python-headless",
    "pycocotools",
    "xtcocotools",
)


def package_versions() -> dict[str, str]:
    """Installed versions of :data:`RECORDED_PACKAGES` (absent ones left out)."""
    out = {}
    for name in RECORDED_PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def git_hash() -> str | None:
    """The commit of the posebench source tree, with ``-dirty`` for local changes to tracked files
    (outside ``reports/``, which holds generated runs); None when the package is not running from a
    git checkout."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        h = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "-C",
                str(root),
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":(exclude)reports",
            ],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{h}-dirty" if dirty else h


def now_iso() -> str:
    """UTC time, ISO 8601, seconds."""
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()


def _clean(v: Any) -> Any:
    """JSON-safe: NaN/inf -> None, numpy scalars -> Python."""
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, Path):
        return str(v)
    return v


def write_results_json(path: Path, payload: dict[str, Any]) -> None:
    """Write ``results.json`` atomically (NaN written as null)."""
    from posebench.runner import atomic_write

    text = json.dumps(_clean(payload), indent=2, sort_keys=False) + "\n"
    atomic_write(path, lambda f: f.write(text), mode="w")


def read_results_json(path: Path) -> dict[str, Any]:
    """Read a run's ``results.json`` (a run folder or the file), checking the schema."""
    p = Path(path)
    if p.is_dir():
        p = p / "results.json"
    try:
        data = json.loads(p.read_text())
    except FileNotFoundError:
        raise InputError(
            "no results.json here; is this a posebench run folder?", file=str(p)
        ) from None
    except json.JSONDecodeError as e:
        raise InputError(f"not valid JSON ({e})", file=str(p)) from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        got = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise InputError(f"expected schema {SCHEMA!r}, got {got!r}", file=str(p), field="schema")
    return data


def write_samples(path: Path, rows: dict[str, np.ndarray]) -> None:
    """Per-sample records as parquet (pyarrow); columns of equal length."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from posebench.runner import atomic_write

    table = pa.table({k: np.asarray(v) for k, v in rows.items()})
    atomic_write(path, lambda f: pq.write_table(table, f))


def read_samples(path: Path) -> dict[str, np.ndarray]:
    """Inverse of :func:`write_samples`."""
    import pyarrow.parquet as pq

    t = pq.read_table(path)
    return {name: t.column(name).to_numpy() for name in t.column_names}
