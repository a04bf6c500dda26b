"""Regression checks between two runs: the CI gate behind ``posebench compare``.

A check is one (condition, metric, statistic) present in both runs. It fails when the new run is
worse by more than its tolerance AND the bootstrap interval of the difference excludes zero, so
noise alone never fails a build. Intervals are paired whenever both runs kept their per-sample
records: OKS statistics are re-bootstrapped from the saved match records (the same image
resamples for both runs, :func:`posebench.metrics.bootstrap.paired_bootstrap_oks`), ratio and
mean metrics from ``samples.parquet``. Without them the two runs' own intervals are combined as
independent (normal approximation); without any interval the tolerance alone decides.

Numbers are compared only when their signatures agree (every part but the version); otherwise
the comparison is refused, naming the part that differs.

A check's tolerance is in the metric's own unit (AP as a fraction: 0.01 is one point; PCKh in
percent; MPJPE in millimetres). ``max_change`` adds two-sided checks that fail on any change
beyond the tolerance whatever the interval says (for deterministic pipelines).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from posebench.errors import InputError
from posebench.results import read_results_json
from posebench.robustness import HEADLINE as ROBUSTNESS_HEADLINE
from posebench.signature import parse_signature, signature_differences

#: the statistic checked by default for each metric family.
# The families' headlines (posebench.robustness), except that PCKh is gated on PCKh_pooled, the
# statistic the per-sample records (correct / evaluable per image) pair exactly; PCKh_joint_avg
# is checked too when given a tolerance.
HEADLINE = {
    **{k: v for k, v in ROBUSTNESS_HEADLINE.items() if k != "keypoints"},
    "pckh": "PCKh_pooled",
}


@dataclass(frozen=True)
class Check:
    """One compared number.

    Attributes:
        suite, condition, metric, stat: what is compared (``demo``, ``clean``, ``oks``, ``AP``).
        base, new: the two values (NaN where undefined).
        delta: new - base.
        low, high: the interval of ``delta`` (NaN when there is none).
        paired: the interval comes from a paired bootstrap.
        tolerance: the allowed drop (or change, for ``mode == "change"``).
        higher_is_better: direction.
        status: ``ok``, ``improved``, ``regression``, ``changed`` or ``undefined``.
        mode: ``drop`` (one-sided, noise-aware) or ``change`` (two-sided, exact gate).
    """

    suite: str
    condition: str
    metric: str
    stat: str
    base: float
    new: float
    delta: float
    low: float
    high: float
    paired: bool
    tolerance: float
    higher_is_better: bool
    status: str
    mode: str = "drop"

    @property
    def failed(self) -> bool:
        return self.status in ("regression", "changed")

    def to_json(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}


@dataclass
class Comparison:
    """All checks of one comparison, plus notes (e.g. conditions present in one run only)."""

    base: str
    new: str
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.failed]


def family(metric_key: str) -> str:
    """``pckh@0.5`` -> ``pckh``."""
    return metric_key.split("@")[0].split("/")[0]


def parse_tolerances(pairs: list[str] | None, flag: str) -> dict[str, float]:
    """``["oks:AP=0.01", "AP50=0.02"]`` -> ``{"oks:AP": 0.01, "AP50": 0.02}``."""
    out: dict[str, float] = {}
    for p in pairs or []:
        key, sep, value = p.partition("=")
        try:
            if not sep or not key:
                raise ValueError
            v = float(value)
        except ValueError:
            raise InputError(
                f"expected [METRIC:]STAT=DELTA such as AP=0.01, got {p!r}", field=flag
            ) from None
        if not v >= 0:
            raise InputError(f"tolerance must be >= 0, got {p!r}", field=flag)
        out[key] = v
    return out


def _tolerance(tols: dict[str, float], metric: str, stat: str) -> float | None:
    for key in (f"{metric}:{stat}", f"{family(metric)}:{stat}", stat, metric):
        if key in tols:
            return tols[key]
    return None


def _run_dir(path: Path) -> Path:
    return path if path.is_dir() else path.parent


def _oks_params(signature: str, file: str) -> Any:
    from posebench.metrics import cocoeval
    from posebench.skeletons import SKELETONS

    _, parts = parse_signature(signature)
    sk = SKELETONS.get(parts.get("sigmas", ""))
    if sk is None:
        return None
    make = cocoeval.crowdpose_params if parts.get("mode") == "crowdpose" else cocoeval.coco_params
    params = make(sk.oks_sigmas())
    md = parts.get("maxdets")
    if md and md.isdigit():
        from dataclasses import replace

        params = replace(params, max_dets=(int(md),))
    return params


def _paired_oks(
    base_dir: Path,
    new_dir: Path,
    cond: str,
    metric: str,
    signature: str,
    n_boot: int,
    seed: int,
    confidence: float,
) -> dict[str, Any] | None:
    from posebench.metrics.bootstrap import paired_bootstrap_oks
    from posebench.results import load_matches

    name = f"{cond}.{metric.replace('/', '-')}.npz"
    fa, fb = new_dir / "matches" / name, base_dir / "matches" / name
    if not (fa.exists() and fb.exists()):
        return None
    params = _oks_params(signature, str(fb))
    if params is None:
        return None
    ma, mb = load_matches(fa), load_matches(fb)
    if not np.array_equal(ma[0].image_ids, mb[0].image_ids):
        raise InputError(
            f"condition {cond!r}: the runs were evaluated on different images "
            f"({len(mb[0].image_ids)} vs {len(ma[0].image_ids)}); pairing needs the same",
            file=str(fa),
        )
    return paired_bootstrap_oks(ma, mb, params, n_boot=n_boot, seed=seed, confidence=confidence)


def _paired_samples(
    base_dir: Path,
    new_dir: Path,
    cond: str,
    metric: str,
    stat: str,
    n_boot: int,
    seed: int,
    confidence: float,
) -> Any:
    from posebench.metrics.bootstrap import paired_bootstrap_mean, paired_bootstrap_ratio
    from posebench.results import read_samples

    fa, fb = new_dir / "samples.parquet", base_dir / "samples.parquet"
    if not (fa.exists() and fb.exists()):
        return None
    a, b = read_samples(fa), read_samples(fb)
    sa, sb = a["condition"] == cond, b["condition"] == cond
    ia, ib = a["image_id"][sa], b["image_id"][sb]
    if not np.array_equal(np.sort(ia), np.sort(ib)):
        raise InputError(f"condition {cond!r}: the runs have different images", file=str(fa))
    oa, ob = np.argsort(ia), np.argsort(ib)
    scale = 100.0 if family(metric) in ("pckh", "pck", "pcp", "pdj") else 1.0
    if f"{metric}.correct" in a and f"{metric}.correct" in b:
        return paired_bootstrap_ratio(
            a[f"{metric}.correct"][sa][oa] * scale,
            a[f"{metric}.evaluable"][sa][oa],
            b[f"{metric}.correct"][sb][ob] * scale,
            b[f"{metric}.evaluable"][sb][ob],
            n_boot=n_boot,
            seed=seed,
            confidence=confidence,
        )
    if f"{metric}.mean_error" in a and f"{metric}.mean_error" in b:
        return paired_bootstrap_mean(
            a[f"{metric}.mean_error"][sa][oa],
            b[f"{metric}.mean_error"][sb][ob],
            weights=a[f"{metric}.n_gt"][sa][oa] if f"{metric}.n_gt" in a else None,
            n_boot=n_boot,
            seed=seed,
            confidence=confidence,
        )
    return None


def _num(v: Any) -> float:
    return math.nan if v is None else float(v)


def compare_runs(
    base: Path,
    new: Path,
    *,
    max_drop: dict[str, float] | None = None,
    max_change: dict[str, float] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Comparison:
    """Compare two run folders (see the module docstring).

    Args:
        base, new: run folders (or their results.json).
        max_drop: ``[metric:]stat -> tolerance`` for the one-sided, noise-aware checks; the
            headline statistic of every metric is checked with tolerance 0 unless named here.
        max_change: ``[metric:]stat -> tolerance`` for two-sided exact checks.
        n_boot, seed, confidence: the paired bootstrap.
    """
    ra, rb = read_results_json(Path(base)), read_results_json(Path(new))
    fa, fb = str(base), str(new)
    for key in ("suite", "dataset"):
        na, nb = ra[key].get("name"), rb[key].get("name")
        if na != nb:
            raise InputError(f"{key} differs: {na!r} (base) vs {nb!r} (new)", file=fb, field=key)
    if ra["dataset"].get("images") != rb["dataset"].get("images"):
        raise InputError(
            f"the runs cover {ra['dataset'].get('images')} and {rb['dataset'].get('images')} "
            "images; compare runs of the same images",
            file=fb,
            field="dataset.images",
        )
    drops = max_drop or {}
    changes = max_change or {}
    out = Comparison(base=fa, new=fb)
    suite = str(ra["suite"].get("name"))
    bdir, ndir = _run_dir(Path(base)), _run_dir(Path(new))
    for cond, ca in ra["conditions"].items():
        cb = rb["conditions"].get(cond)
        if cb is None:
            out.notes.append(f"condition {cond!r} is in the base run only")
            continue
        for metric, blk_a in ca["metrics"].items():
            blk_b = cb["metrics"].get(metric)
            if blk_b is None:
                out.notes.append(f"{cond}: metric {metric!r} is in the base run only")
                continue
            diffs = signature_differences(blk_a["signature"], blk_b["signature"])
            if diffs:
                raise InputError(
                    f"{cond}/{metric}: signatures differ ({'; '.join(diffs)}): these numbers do "
                    "not mean the same thing",
                    file=fb,
                    field="signature",
                )
            head = HEADLINE.get(family(metric)) or next(iter(blk_a["values"]))
            stats = [head] + [
                s
                for s in blk_a["values"]
                if s != head
                and (
                    _tolerance(drops, metric, s) is not None
                    or _tolerance(changes, metric, s) is not None
                )
            ]
            hib = bool(blk_a.get("higher_is_better", True))
            paired_oks = None
            if family(metric) == "oks":
                paired_oks = _paired_oks(
                    bdir, ndir, cond, metric, blk_a["signature"], n_boot, seed, confidence
                )
            for stat in stats:
                if stat not in blk_b["values"]:
                    continue
                vb, vn = _num(blk_a["values"][stat]), _num(blk_b["values"][stat])
                delta, low, high, paired = vn - vb, math.nan, math.nan, False
                pb = None
                if paired_oks is not None and stat in paired_oks:
                    pb = paired_oks[stat]
                elif stat == head and family(metric) != "oks":
                    pb = _paired_samples(bdir, ndir, cond, metric, stat, n_boot, seed, confidence)
                if pb is not None:
                    low, high, paired = pb.delta.low, pb.delta.high, True
                else:
                    ca_ci, cb_ci = blk_a.get("ci", {}).get(stat), blk_b.get("ci", {}).get(stat)
                    if ca_ci and cb_ci and ca_ci.get("std") is not None and cb_ci.get("std"):
                        z = _z(confidence)
                        se = math.hypot(float(ca_ci["std"]), float(cb_ci["std"]))
                        low, high = delta - z * se, delta + z * se
                tol_d = _tolerance(drops, metric, stat)
                tol_c = _tolerance(changes, metric, stat)
                if tol_d is not None or stat == head:
                    out.checks.append(
                        _judge(
                            suite,
                            cond,
                            metric,
                            stat,
                            vb,
                            vn,
                            delta,
                            low,
                            high,
                            paired,
                            tol_d or 0.0,
                            hib,
                            "drop",
                        )
                    )
                if tol_c is not None:
                    out.checks.append(
                        _judge(
                            suite,
                            cond,
                            metric,
                            stat,
                            vb,
                            vn,
                            delta,
                            low,
                            high,
                            paired,
                            tol_c,
                            hib,
                            "change",
                        )
                    )
    for cond in rb["conditions"]:
        if cond not in ra["conditions"]:
            out.notes.append(f"condition {cond!r} is in the new run only")
    return out


def _z(confidence: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + confidence / 2))


def _judge(
    suite: str,
    cond: str,
    metric: str,
    stat: str,
    vb: float,
    vn: float,
    delta: float,
    low: float,
    high: float,
    paired: bool,
    tol: float,
    hib: bool,
    mode: str,
) -> Check:
    if math.isnan(vb) or math.isnan(vn):
        status = "ok" if (math.isnan(vb) and math.isnan(vn)) else "undefined"
    elif mode == "change":
        status = "changed" if abs(delta) > tol else "ok"
    else:
        worse = -delta if hib else delta  # how much worse the new run is
        has_ci = not (math.isnan(low) or math.isnan(high))
        # the interval of (new - base) lies entirely on the worse side of zero
        significant = (high < 0 if hib else low > 0) if has_ci else True
        better = (low > 0 if hib else high < 0) if has_ci else False
        if worse > tol and significant:
            status = "regression"
        elif better:
            status = "improved"
        else:
            status = "ok"
    return Check(
        suite, cond, metric, stat, vb, vn, delta, low, high, paired, tol, hib, status, mode
    )


# ------------------------------------------------------------------------------ formatting


def _f(v: float, pct: bool) -> str:
    if math.isnan(v):
        return "n/a"
    return f"{100 * v:.2f}" if pct else f"{v:.3f}"


def _sf(v: float, pct: bool) -> str:
    if math.isnan(v):
        return "n/a"
    return f"{100 * v:+.2f}" if pct else f"{v:+.3f}"


STATUS_MARK = {
    "ok": "ok",
    "improved": "improved",
    "regression": "**REGRESSION**",
    "changed": "**CHANGED**",
    "undefined": "undefined",
}


def to_markdown(c: Comparison) -> str:
    """The table: Suite | Condition | Metric | Base | New | Δ | CI | Status."""
    lines = [
        f"posebench compare: {len(c.failed)} of {len(c.checks)} checks failed",
        "",
        "| Suite | Condition | Metric | Base | New | Δ | CI | Status |",
        "|---|---|---|---:|---:|---:|---|---|",
    ]
    for k in c.checks:
        pct = family(k.metric) == "oks"
        ci = "n/a" if math.isnan(k.low) else f"[{_sf(k.low, pct)}, {_sf(k.high, pct)}]"
        ci += " paired" if k.paired else ""
        tol = f" (tol {_f(k.tolerance, pct)}{', two-sided' if k.mode == 'change' else ''})"
        lines.append(
            f"| {k.suite} | {k.condition} | {k.metric}:{k.stat} | {_f(k.base, pct)} | "
            f"{_f(k.new, pct)} | {_sf(k.delta, pct)} | {ci} | {STATUS_MARK[k.status]}{tol} |"
        )
    for n in c.notes:
        lines.append(f"\n- note: {n}")
    return "\n".join(lines) + "\n"


def to_json(c: Comparison) -> dict[str, Any]:
    return {
        "base": c.base,
        "new": c.new,
        "failed": len(c.failed),
        "checks": [k.to_json() for k in c.checks],
        "notes": c.notes,
    }


def to_junit(c: Comparison) -> str:
    """JUnit XML: one test case per check (a failure element for a failed one)."""
    from xml.sax.saxutils import quoteattr

    cases = []
    for k in c.checks:
        name = quoteattr(f"{k.metric}:{k.stat} ({k.mode})")
        cls = quoteattr(f"posebench.{k.suite}.{k.condition}")
        body = ""
        if k.failed:
            pct = family(k.metric) == "oks"
            msg = (
                f"{k.status}: {_f(k.base, pct)} -> {_f(k.new, pct)} (delta {_sf(k.delta, pct)},"
                f" tolerance {_f(k.tolerance, pct)})"
            )
            body = f"<failure message={quoteattr(msg)} type={quoteattr(k.status)}/>"
        cases.append(f"  <testcase classname={cls} name={name}>{body}</testcase>")
    head = (
        f'<testsuite name="posebench compare" tests="{len(c.checks)}" '
        f'failures="{len(c.failed)}" errors="0">'
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        + head
        + "\n"
        + "\n".join(cases)
        + ("\n</testsuite>\n")
    )


def github_annotations(c: Comparison) -> str:
    """``::error`` workflow commands, one per failed check."""
    out = []
    for k in c.failed:
        pct = family(k.metric) == "oks"
        msg = (
            f"{k.suite}/{k.condition} {k.metric}:{k.stat} {k.status}: {_f(k.base, pct)} -> "
            f"{_f(k.new, pct)} (delta {_sf(k.delta, pct)})"
        )
        msg = msg.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        out.append(f"::error title=posebench regression::{msg}")
    return "\n".join(out) + ("\n" if out else "")
