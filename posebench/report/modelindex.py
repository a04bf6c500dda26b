"""Hugging Face ``model-index`` metadata (the model card's YAML front matter) from runs.

One entry per model name; each run adds a ``results`` item::

    model-index:
    - name: mediapipe
      results:
      - task: {type: keypoint-detection, name: Keypoint Detection}
        dataset: {name: COCO val2017 (embedded sample), type: coco, config: demo, split: val2017}
        metrics:
        - {type: AP, value: 24.6, name: "AP (OKS, GT boxes)", verified: false}
        - ...

Values are shown as papers print them (OKS AP in percent, one decimal kept at full float
precision rounded to 0.1); ``verified: false`` always: these are self-reported by whoever ran
posebench, not verified by the Hub. Robustness summaries (mPC, rPC, mRR) are added as metrics of
the same result when the run has them. Paste the YAML into a model card's front matter, or write
it to a ``.md`` file to get the ``---`` delimiters. Failure searches (``posebench examine``)
have no benchmark number and are left out (:func:`posebench.report.leaderboard.build_tables`
puts them in no table).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from posebench.metrics import table as metric_table
from posebench.report.leaderboard import Table, report_statistics, scale_of

#: dataset name prefix -> (Hub dataset type, readable name, split).
DATASETS = {
    "coco-sample": ("coco", "COCO val2017 (embedded sample)", "val2017"),
    "coco-val2017": ("coco", "COCO val2017", "val2017"),
    "crowdpose-test": ("crowdpose", "CrowdPose test", "test"),
    "crowdpose-val": ("crowdpose", "CrowdPose val", "val"),
    "ochuman-val": ("ochuman", "OCHuman val", "val"),
    "ochuman-test": ("ochuman", "OCHuman test", "test"),
    "mpii-val": ("mpii", "MPII val", "val"),
    "lsp-test": ("lsp", "LSP test", "test"),
    "h36m-test": ("h36m", "Human3.6M test", "test"),
}


#: how a result's metric names say where person boxes came from.
BOXES = {"gt": "GT boxes", "detector": "detector boxes", "none": "bottom-up"}


def _dataset(name: str, suite: str, images: int) -> dict[str, Any]:
    typ, readable, split = DATASETS.get(name, (name.split("-")[0], name, None))
    out: dict[str, Any] = {"name": f"{readable}, {images} images", "type": typ, "config": suite}
    if split:
        out["split"] = split
    return out


def _value(v: float, metric: str) -> float:
    return round(v * scale_of(metric), 1)


def model_index(tables: Sequence[Table]) -> dict[str, Any]:
    """``{"model-index": [...]}``, models in order of first appearance (tables ranked)."""
    entries: dict[str, list[dict[str, Any]]] = {}
    for t in tables:
        for row, run in zip(t.rows, t.runs, strict=True):
            cond = (run.results.get("conditions") or {}).get("clean") or {}
            block = (cond.get("metrics") or {}).get(t.metric) or {}
            values = block.get("values") or {}
            boxes = BOXES.get(row.box_source, f"{row.box_source} boxes")
            mdef = metric_table.row_for_key(t.metric)
            what = t.metric.upper() if mdef is not None and mdef.label_upper else t.metric
            listed = report_statistics(t.metric, values)
            stats = [t.stat] if listed is None else listed
            metrics: list[dict[str, Any]] = []
            for s in stats:
                v = values.get(s)
                if isinstance(v, int | float):
                    metrics.append(
                        {
                            "type": s,
                            "value": _value(float(v), t.metric),
                            "name": f"{s} ({what}, {boxes})",
                            "verified": False,
                        }
                    )
            for key, attr, ratio in (
                ("mPC", "mpc", False),
                ("rPC", "rpc", True),
                ("mRR", "mrr", True),
            ):
                v = getattr(row, attr)
                if v is not None:
                    metrics.append(
                        {
                            "type": key,
                            "value": round(100.0 * v, 1) if ratio else _value(v, t.metric),
                            "name": f"{key} ({t.suite})",
                            "verified": False,
                        }
                    )
            if not metrics:
                continue
            entries.setdefault(row.model, []).append(
                {
                    "task": {"type": "keypoint-detection", "name": "Keypoint Detection"},
                    "dataset": _dataset(t.dataset, t.suite, t.images),
                    "metrics": metrics,
                }
            )
    return {"model-index": [{"name": name, "results": res} for name, res in entries.items()]}


def render(tables: Sequence[Table], *, front_matter: bool = False) -> str:
    """The model-index as YAML (``---`` delimited front matter when ``front_matter``)."""
    import yaml

    text = yaml.safe_dump(model_index(tables), sort_keys=False, allow_unicode=True, width=100)
    return f"---\n{text}---\n" if front_matter else text
