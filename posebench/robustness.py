"""Robustness summaries over a run's conditions, for every metric family.

Every metric declares its headline statistic, its direction and its summary kind once, in the
metric table (:mod:`posebench.metrics.table`); this module reads them from there.

Accuracy metrics (summary kind ``accuracy``, higher is better: OKS AP, PCKh, PCK, PCP, PDJ,
occluded-keypoint similarity), in the COCO-C conventions:

- mPC: mean of the headline metric over the scored corruptions x severities (Michaelis et al.
  2019; COCO-C scores the 15 benchmark corruptions, not the 4 extra);
- rPC: mPC / clean;
- mRR: mean resilience rate (Ma et al. 2024, PoseBench): the mean of metric(c, s) / clean over
  every stressed condition of the run (all kinds, the extra corruptions included) — equal to rPC
  when taken over the same set, so the two differ only in which conditions they average;
- per-joint drops: clean per-keypoint value minus its mean over the stressed conditions;
- per-condition-kind means, per-severity means, and the drop of each condition from clean.

Error metrics (summary kind ``error``, lower is better: MPJPE, PA-MPJPE), in the conventions of
corruption *errors* (Hendrycks & Dietterich 2019, ImageNet-C):

- mE: mean error over the scored corruptions x severities (the error analogue of mPC);
- CE per corruption: ``sum_s E(c, s) / sum_s E_clean``, the corruption error of Hendrycks &
  Dietterich with the model's own clean error in place of a baseline model's (no baseline model
  exists for pose); mCE: its mean over the scored corruptions;
- rE: mE / clean (1.0 = no degradation); relative_increase: (mE - clean) / clean;
- per-severity means and their increase over clean, per-condition means and increases, and
  per-joint increases: mean over the stressed conditions of a joint's error minus its clean one.

Summaries are computed from the ``conditions`` table of ``results.json``; nothing here reruns a
model. The set of scored corruptions is declared once, in
``posebench.conditions.corruptions.BENCHMARK_CORRUPTIONS``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from posebench.metrics import table as metric_table


@dataclass(frozen=True)
class MetricFamily:
    """What a family of results keys' numbers are (a view of the metric table).

    Attributes:
        name: the family (``oks``, ``mpjpe``...), the part of a metric key before ``@``/``/``.
        headline: the value keys that can be its headline, in order; a block's headline is the
            first one it has (``mpjpe`` blocks hold one of ``MPJPE``, ``MPJPE-abs``,
            ``PA-MPJPE``).
        higher_is_better: the direction of every value of the family.
        variants: metric-key variant (the part after ``/``, ``""`` for none) -> its headline,
            where the variants of a family report different statistics.
    """

    name: str
    headline: tuple[str, ...]
    higher_is_better: bool
    variants: tuple[tuple[str, str], ...] = ()


def families() -> dict[str, MetricFamily]:
    """Every family of results keys, from the metric table (read now, so that a row added to
    the table is summarised too)."""
    out: dict[str, MetricFamily] = {}
    for row in metric_table.METRIC_TABLE.values():
        for key in row.result_keys:
            fam = metric_table.key_family(key)
            old = out.get(fam)
            variant = ((key.partition("/")[2], row.headline),)
            if old is None:
                out[fam] = MetricFamily(fam, (row.headline,), row.higher_is_better, variant)
            else:
                heads = tuple(dict.fromkeys((*old.headline, row.headline)))
                out[fam] = MetricFamily(fam, heads, old.higher_is_better, old.variants + variant)
    return {
        n: f if len(f.headline) > 1 else MetricFamily(n, f.headline, f.higher_is_better)
        for n, f in out.items()
    }


def family(metric_key: str) -> str:
    """``pckh@0.5`` -> ``pckh``; ``oks/crowdpose`` -> ``oks``."""
    return metric_table.key_family(metric_key)


def higher_is_better(metric_key: str) -> bool:
    """The direction of a metric (by key or family name); KeyError names the known families."""
    row = metric_table.row_for_key(metric_key)
    if row is None:
        known = ", ".join(dict.fromkeys(f for m in metric_table.METRIC_TABLE.values()
                                        for f in m.key_families))  # fmt: skip
        raise KeyError(f"unknown metric family {family(metric_key)!r}; known: {known}")
    return row.higher_is_better


def headline_for(metric_key: str) -> str | None:
    """The headline statistic of a metric key (``AP`` for ``oks``, ``PA-MPJPE`` for
    ``mpjpe/procrustes``), or None for an unknown family."""
    row = metric_table.row_for_key(metric_key)
    return None if row is None else row.headline


def headline_key(metric_key: str, values: Mapping[str, Any]) -> str | None:
    """The headline value key of a block of ``metric_key`` holding ``values``."""
    for k in metric_table.headline_candidates(metric_key):
        if k in values:
            return k
    return next(iter(values), None)


def benchmark_corruptions() -> tuple[str, ...]:
    """The 15 corruptions mPC averages: ``posebench.conditions.corruptions.BENCHMARK_CORRUPTIONS``,
    the one declaration of the set (imported when needed: it brings OpenCV)."""
    from posebench.conditions.corruptions import BENCHMARK_CORRUPTIONS

    return BENCHMARK_CORRUPTIONS


def __getattr__(name: str) -> Any:
    # ``posebench.robustness.BENCHMARK_CORRUPTIONS`` is the corruption table's own tuple;
    # ``FAMILIES`` and ``HEADLINE`` are views of the metric table, made when asked for.
    if name == "BENCHMARK_CORRUPTIONS":
        return benchmark_corruptions()
    if name == "FAMILIES":
        return families()
    if name == "HEADLINE":  # headline key of each family with a single headline
        return {n: f.headline[0] for n, f in families().items() if len(f.headline) == 1}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _headline(cond: Mapping[str, Any] | None, metric: str) -> float | None:
    block = (cond or {}).get("metrics", {}).get(metric)
    if not block:
        return None
    key = headline_key(metric, block["values"])
    v = block["values"].get(key) if key else None
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def _joint_deltas(
    clean: Mapping[str, Any] | None,
    stressed: list[Mapping[str, Any]],
    metric: str,
    sign: float,
) -> dict[str, float | None]:
    """joint -> sign * (clean value - mean over the stressed conditions)."""
    if not clean or metric not in clean.get("metrics", {}):
        return {}
    base = clean["metrics"][metric].get("per_joint") or {}
    out: dict[str, float | None] = {}
    for joint, v0 in base.items():
        got = [
            (c["metrics"][metric].get("per_joint") or {}).get(joint)
            for c in stressed
            if metric in c.get("metrics", {})
        ]
        vals = [float(v) for v in got if v is not None]
        out[joint] = sign * (v0 - sum(vals) / len(vals)) if (vals and v0 is not None) else None
    return out


def summarize(conditions: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Robustness summary per metric, for every results key of a metric-table row; empty when
    the run has only the clean condition.

    Higher-is-better metrics: ``{statistic, higher_is_better, clean, mPC, rPC, mRR,
    mPC_corruptions, per_joint_drop, by_kind, by_severity, by_condition, drop}``. Error metrics:
    ``{statistic, higher_is_better, clean, mE, rE, relative_increase, mCE, CE, mE_corruptions,
    per_joint_increase, by_kind, by_severity, increase_by_severity, by_condition, increase}``
    (see the module docstring). ``by_condition`` maps a condition name to its ``mean`` and its
    value at each severity.

    Args:
        conditions: ``results.json["conditions"]``: key -> {kind, name, severity, metrics}.
    """
    stressed = [c for c in conditions.values() if c.get("kind") != "clean"]
    if not stressed:
        return {}
    scored_set = set(benchmark_corruptions())
    clean = conditions.get("clean")
    metrics = sorted({m for c in conditions.values() for m in c.get("metrics", {})})
    out: dict[str, Any] = {}
    for metric in metrics:
        row = metric_table.row_for_key(metric)
        if row is None:
            continue
        c0 = _headline(clean, metric)
        by_cond: dict[str, dict[int, float]] = {}
        kinds: dict[str, list[float]] = {}
        sev: dict[int, list[float]] = {}
        scored: list[float] = []
        every: list[float] = []
        for c in stressed:
            v = _headline(c, metric)
            if v is None:
                continue
            by_cond.setdefault(c["name"], {})[int(c["severity"])] = v
            kinds.setdefault(c["kind"], []).append(v)
            sev.setdefault(int(c["severity"]), []).append(v)
            if c["kind"] == "corruption" and c["name"] in scored_set:
                scored.append(v)
            every.append(v)
        cond_means = {n: _mean(list(d.values())) for n, d in sorted(by_cond.items())}
        sev_means = {str(s): _mean(v) for s, v in sorted(sev.items())}
        common: dict[str, Any] = {
            "statistic": next(
                (
                    headline_key(metric, c["metrics"][metric]["values"])
                    for c in conditions.values()
                    if metric in c.get("metrics", {})
                ),
                None,
            ),
            "higher_is_better": row.higher_is_better,
            "clean": c0,
            "by_kind": {k: _mean(v) for k, v in sorted(kinds.items())},
            "by_severity": sev_means,
            "by_condition": {
                n: {"mean": cond_means[n], **{str(s): d[s] for s in sorted(d)}}
                for n, d in sorted(by_cond.items())
            },
        }
        n_scored = len(
            {c["name"] for c in stressed if c["kind"] == "corruption" and c["name"] in scored_set}
        )
        if row.robustness == "accuracy":
            m_pc = _mean(scored)
            out[metric] = {
                **common,
                "mPC": m_pc,
                "rPC": (m_pc / c0) if (m_pc is not None and c0) else None,
                "mRR": _mean([v / c0 for v in every]) if c0 else None,
                "mPC_corruptions": n_scored,
                "per_joint_drop": _joint_deltas(clean, stressed, metric, 1.0),
                "drop": {
                    n: (c0 - m if c0 is not None and m is not None else None)
                    for n, m in cond_means.items()
                },
            }
            continue
        m_e = _mean(scored)
        ce = {
            n: sum(d.values()) / (len(d) * c0)
            for n, d in sorted(by_cond.items())
            if n in scored_set and c0
        }
        out[metric] = {
            **common,
            "mE": m_e,
            "rE": (m_e / c0) if (m_e is not None and c0) else None,
            "relative_increase": ((m_e - c0) / c0) if (m_e is not None and c0) else None,
            "mCE": _mean(list(ce.values())),
            "CE": ce,
            "mE_corruptions": n_scored,
            "per_joint_increase": _joint_deltas(clean, stressed, metric, -1.0),
            "increase_by_severity": {
                s: (m - c0 if m is not None and c0 is not None else None)
                for s, m in sev_means.items()
            },
            "increase": {
                n: (m - c0 if c0 is not None and m is not None else None)
                for n, m in cond_means.items()
            },
        }
    return out
