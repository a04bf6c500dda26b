"""Run results on disk: ``results.json`` (schema-versioned) and ``samples.parquet``.

The reading and writing live in :mod:`posebench.engine.store` (the one module for run folders:
atomic, checksummed, schema-validated on read); this module keeps the names that compare, report
and examine import.

``results.json``::

    {"schema": "posebench.run/1", "created": ISO time,
     "posebench": {"version", "git"}, "versions": {package: version},
     "adapter": {"name", "args", "signature", "info"}, "suite": {...}, "dataset": {...},
     "shard": [i, n], "seed": S, "n_boot": B, "box_source": ..., "headline": metric key,
     "conditions": {key: {"kind", "name", "severity", "params", "metrics": {metric: MetricBlock}}},
     "summary": {...robustness summaries...}, "timings": {...}, "throughput": {...},
     "executor": "local" | "ray",
     "plan": {"run_key", "dataset": {name, images, gt_sha256, images_sha256}, "batch_size",
              "chunks", "units", "image_ids", "image_ids_sha256"},
     "files": {relative path: SHA-256}}
"""

from __future__ import annotations

from posebench.engine.store import (
    RECORDED_PACKAGES,
    SCHEMA,
    git_hash,
    load_matches,
    load_poses,
    now_iso,
    package_versions,
    read_json,
    read_results_json,
    read_samples,
    validate_results,
    write_results_json,
    write_samples,
)

__all__ = [
    "RECORDED_PACKAGES",
    "SCHEMA",
    "git_hash",
    "load_matches",
    "load_poses",
    "now_iso",
    "package_versions",
    "read_json",
    "read_results_json",
    "read_samples",
    "validate_results",
    "write_results_json",
    "write_samples",
]
