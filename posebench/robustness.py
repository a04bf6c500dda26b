"""Robustness summaries over a run's conditions (COCO-C conventions).

- mPC: mean of the headline metric over the scored corruptions x severities (Michaelis et al.
  2019; COCO-C scores the 15 benchmark corruptions, not the 4 extra);
- rPC: mPC / clean;
- mRR: mean resilience rate (Ma et al. 2024, PoseBench): the mean of metric(c, s) / clean over
  every stressed condition of the run (all kinds, the extra corruptions included) — equal to rPC
  when taken over the same set, so the two differ only in which conditions they average;
- per-joint drops: clean per-keypoint value minus its mean over the stressed conditions;
- per-condition-kind means, per-severity means, and the drop of each from clean.

Summaries are computed from the ``conditions`` table of ``results.json``; nothing here reruns a
model. Higher-is-better metrics only (OKS AP, PCK); for errors (MPJPE) the values are reported
without mPC/rPC.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

#: the 15 corruptions COCO-C and ImageNet-C score (the 4 extra are generated, not scored).
BENCHMARK_CORRUPTIONS = (
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "defocus_blur",
    "glass_blur",
    "motion_blur",
    "zoom_blur",
    "snow",
    "frost",
    "fog",
    "brightness",
    "contrast",
    "elastic_transform",
    "pixelate",
    "jpeg_compression",
)

#: headline key of each metric family.
HEADLINE = {
    "oks": "AP",
    "pckh": "PCKh_joint_avg",
    "pck": "PCK",
    "pcp": "PCP",
    "pdj": "PDJ",
    "keypoints": "KS_occluded",
}


def _headline(cond: Mapping[str, Any], metric: str) -> float | None:
    block = cond.get("metrics", {}).get(metric)
    if not block:
        return None
    key = HEADLINE.get(family(metric)) or next(iter(block["values"]), None)
    v = block["values"].get(key) if key else None
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def family(metric_key: str) -> str:
    """``pckh@0.5`` -> ``pckh``; ``oks/crowdpose`` -> ``oks``."""
    return metric_key.split("@")[0].split("/")[0]


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def _joint_drops(
    clean: Mapping[str, Any] | None, stressed: list[Mapping[str, Any]], metric: str
) -> dict[str, float | None]:
    if not clean or metric not in clean.get("metrics", {}):
        return {}
    base = clean["metrics"][metric].get("per_joint") or {}
    out: dict[str, float | None] = {}
    for joint, v0 in base.items():
        vals = [
            c["metrics"][metric]["per_joint"].get(joint)
            for c in stressed
            if metric in c.get("metrics", {})
        ]
        vals = [v for v in vals if v is not None]
        out[joint] = v0 - sum(vals) / len(vals) if (vals and v0 is not None) else None
    return out


def summarize(conditions: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Robustness summary per metric: ``{metric: {clean, mPC, rPC, by_kind, by_severity,
    by_condition}}``; empty when the run has only the clean condition.

    Args:
        conditions: ``results.json["conditions"]``: key -> {kind, name, severity, metrics}.
    """
    stressed = [c for c in conditions.values() if c.get("kind") != "clean"]
    if not stressed:
        return {}
    clean = conditions.get("clean")
    metrics = sorted({m for c in conditions.values() for m in c.get("metrics", {})})
    out: dict[str, Any] = {}
    for metric in metrics:
        if family(metric) not in HEADLINE:
            continue
        c0 = _headline(clean, metric) if clean else None
        by_cond: dict[str, dict[int, float]] = {}
        kinds: dict[str, list[float]] = {}
        sev: dict[int, list[float]] = {}
        scored: list[float] = []
        scored_all: list[float] = []
        for c in stressed:
            v = _headline(c, metric)
            if v is None:
                continue
            by_cond.setdefault(c["name"], {})[int(c["severity"])] = v
            kinds.setdefault(c["kind"], []).append(v)
            sev.setdefault(int(c["severity"]), []).append(v)
            if c["kind"] != "corruption" or c["name"] in BENCHMARK_CORRUPTIONS:
                scored.append(v)
            scored_all.append(v)
        corr = [
            v
            for c in stressed
            if c["kind"] == "corruption" and c["name"] in BENCHMARK_CORRUPTIONS
            for v in [_headline(c, metric)]
            if v is not None
        ]
        m_pc = _mean(corr)
        m_rr = _mean([v / c0 for v in scored_all]) if c0 else None
        out[metric] = {
            "clean": c0,
            "mPC": m_pc,
            "rPC": (m_pc / c0) if (m_pc is not None and c0) else None,
            "mRR": m_rr,
            "per_joint_drop": _joint_drops(clean, stressed, metric),
            "mPC_corruptions": len(
                {
                    c["name"]
                    for c in stressed
                    if c["kind"] == "corruption" and c["name"] in BENCHMARK_CORRUPTIONS
                }
            ),
            "by_kind": {k: _mean(v) for k, v in sorted(kinds.items())},
            "by_severity": {str(s): _mean(v) for s, v in sorted(sev.items())},
            "by_condition": {
                n: {"mean": _mean(list(d.values())), **{str(s): d[s] for s in sorted(d)}}
                for n, d in sorted(by_cond.items())
            },
            "drop": {
                n: (c0 - _mean(list(d.values())) if c0 is not None else None)  # type: ignore[operator]
                for n, d in sorted(by_cond.items())
            },
        }
    return out
