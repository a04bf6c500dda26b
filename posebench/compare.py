"""Regression checks between two runs: the CI gate behind ``posebench compare``.

What the gate controls for
--------------------------
A check is one (condition, metric, statistic) present in both runs. A drop fails when the new run
is worse by more than its tolerance AND the interval of the difference excludes zero. That
interval covers, at the stated confidence (95% by default):

* **image sampling**, always: a paired bootstrap over images. OKS statistics are re-bootstrapped
  from both runs' saved match records with the same image resamples
  (:func:`posebench.metrics.bootstrap.paired_bootstrap_oks`); PCK-style and MPJPE metrics from
  ``samples.parquet``. Without those records the two runs' own intervals are combined as
  independent (normal approximation); without any interval the tolerance alone decides.
* **run-to-run model noise**, only when repeated baseline runs are given (``baseline_runs``,
  ``--baseline-runs``): runs of the same configuration that differ only in their seed. Their
  spread ``s`` (sample standard deviation over the ``R`` baseline runs) adds a prediction-interval
  term ``t(R-1) * s * sqrt(1 + 1/R)`` to the image-sampling interval (the two half-widths are
  added in quadrature), and the reference value becomes the mean of the baseline runs. A new run
  that is just another seed of the baseline then falls inside its interval with at least the
  stated confidence (``tests/test_compare_noise.py`` measures the false-alarm rate over many seeds).

Without ``--baseline-runs`` two runs of a stochastic pipeline that differ only in their seed can
fail the gate: the paired bootstrap treats each run's predictions as fixed.

Units: tolerances and every printed number are in the units the tables print. Fractions (OKS
AP/AR, the keypoint similarity of occluded keypoints) are shown in percent and their tolerances are
in percentage points (``AP=0.5`` allows half a point); PCKh/PCK/PCP/PDJ are percentages already
(points too); MPJPE is in millimetres. A tolerance that is negative, not finite, above 100 points
for a percentage, or that matches no compared statistic is refused.

A missing, null or NaN headline number in either run, an empty ``values`` or ``conditions``, or a
condition or metric of the baseline missing from the new run is unusable input (InputError: exit
2, naming the run, the condition and the metric), never a pass.

Numbers are compared only when their signatures agree (every part but the version); otherwise
the comparison is refused, naming the part that differs. One exception, the box protocol: a
top-down run on detector boxes and a bottom-up run (boxes ``none``) both find the people
themselves and are compared; a top-down run on GT boxes is refused beside a bottom-up one, with
the command that makes them comparable (:func:`box_protocol_problem`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from posebench.errors import InputError
from posebench.metrics import table as metric_table
from posebench.results import read_results_json
from posebench.robustness import family
from posebench.signature import parse_signature, signature_differences

__all__ = [
    "Check",
    "Comparison",
    "box_protocol_problem",
    "compare_runs",
    "family",
    "gate_statistic",
    "github_annotations",
    "parse_tolerances",
    "run_noise_interval",
    "to_json",
    "to_junit",
    "to_markdown",
    "unit_of",
]


@dataclass(frozen=True)
class Unit:
    """How a metric's numbers are printed.

    Attributes:
        scale: stored value x scale = printed value (100 for fractions shown in percent).
        value: unit of a printed value (``%``, ``mm`` or ``""``).
        delta: unit of a printed difference or tolerance (``pt`` = percentage points, ``mm``).
        percent: the printed value is a percentage (0-100): tolerances above 100 are refused.
    """

    scale: float
    value: str
    delta: str
    percent: bool


#: the metric table's units as compare prints them.
_UNITS = {
    "fraction": Unit(100.0, "%", "pt", True),
    "percent": Unit(1.0, "%", "pt", True),
    "mm": Unit(1.0, "mm", "mm", False),
}


def unit_of(metric: str) -> Unit:
    """The printing unit of a metric key (``oks``, ``pckh@0.5``, ``mpjpe/procrustes``...), from
    its metric-table row; a key no row records prints as stored."""
    row = metric_table.row_for_key(metric)
    return Unit(1.0, "", "", False) if row is None else _UNITS[row.unit]


def gate_statistic(metric: str, values: Mapping[str, Any]) -> str:
    """The statistic checked by default for a metric key: its row's ``gate_statistic`` (else
    its headline); the block's first value for a key no row records."""
    row = metric_table.row_for_key(metric)
    if row is None:
        return next(iter(values))
    return row.gate_statistic or row.headline


@dataclass(frozen=True)
class Check:
    """One compared number. Values are stored in the metric's own unit (AP as a fraction);
    :func:`unit_of` says how they print.

    Attributes:
        suite, condition, metric, stat: what is compared (``demo``, ``clean``, ``oks``, ``AP``).
        base, new: the two values (``base``: the mean of the baseline runs when several).
        delta: new - base.
        low, high: the interval of ``delta`` (NaN when there is none).
        paired: the image-sampling part of the interval comes from a paired bootstrap.
        tolerance: the allowed drop (or change, for ``mode == "change"``), metric's own unit.
        higher_is_better: direction.
        status: ``ok``, ``improved``, ``regression`` or ``changed``.
        mode: ``drop`` (one-sided, noise-aware) or ``change`` (two-sided, exact gate).
        base_runs: how many baseline runs ``base`` and the interval pool (1: the base run only).
        run_spread: standard deviation of the statistic over the baseline runs (NaN for one run).
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
    base_runs: int = 1
    run_spread: float = math.nan

    @property
    def failed(self) -> bool:
        return self.status in ("regression", "changed")

    @property
    def unit(self) -> Unit:
        return unit_of(self.metric)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready, numbers in printed units: ``base``/``new`` in ``unit``, ``delta``,
        ``low``/``high``, ``tolerance`` and ``run_spread`` in ``delta_unit``; NaN as null."""
        u = self.unit
        d: dict[str, Any] = {}
        for k in self.__dataclass_fields__:
            v = getattr(self, k)
            if isinstance(v, float) and not isinstance(v, bool):
                v = None if math.isnan(v) else v * u.scale
            d[k] = v
        d["unit"] = u.value
        d["delta_unit"] = u.delta
        return d


@dataclass
class Comparison:
    """All checks of one comparison, plus notes (e.g. conditions present in the new run only).

    ``controls``: one sentence saying what the intervals account for."""

    base: str
    new: str
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    baseline_runs: list[str] = field(default_factory=list)
    confidence: float = 0.95

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.failed]

    @property
    def controls(self) -> str:
        pct = f"{100 * self.confidence:g}%"
        if len(self.baseline_runs) > 1:
            return (
                f"{pct} intervals cover image sampling (paired bootstrap over images) and "
                f"run-to-run model noise (spread of {len(self.baseline_runs)} baseline runs)"
            )
        return (
            f"{pct} intervals cover image sampling only (paired bootstrap over images); "
            "run-to-run model noise is not included: pass --baseline-runs with repeated "
            "baseline runs for a stochastic pipeline"
        )


# ------------------------------------------------------------------------------ tolerances


def parse_tolerances(pairs: list[str] | None, flag: str) -> dict[str, float]:
    """``["oks:AP=0.5", "AP50=1"]`` -> ``{"oks:AP": 0.5, "AP50": 1.0}`` (printed units: AP points).

    InputError for a malformed pair, a negative or non-finite value, or a key given twice.
    Values above 100 for a percentage are refused once the metric is known (:func:`compare_runs`).
    """
    out: dict[str, float] = {}
    for p in pairs or []:
        key, sep, value = p.partition("=")
        key = key.strip()
        try:
            if not sep or not key:
                raise ValueError
            v = float(value)
        except ValueError:
            raise InputError(
                f"expected [METRIC:]STAT=DELTA in the units the tables print, such as AP=0.5 "
                f"(half an AP point), got {p!r}",
                field=flag,
            ) from None
        if not math.isfinite(v) or v < 0:
            raise InputError(f"tolerance must be a finite number >= 0, got {p!r}", field=flag)
        if key in out:
            raise InputError(f"{key!r} is given twice", field=flag)
        out[key] = v
    return out


def _tolerance_key(tols: Mapping[str, float], metric: str, stat: str) -> str | None:
    for key in (f"{metric}:{stat}", f"{family(metric)}:{stat}", stat, metric):
        if key in tols:
            return key
    return None


def _tolerance(
    tols: Mapping[str, float], metric: str, stat: str, flag: str, used: set[str]
) -> float | None:
    """The tolerance for (metric, stat) converted to the metric's own unit, or None."""
    key = _tolerance_key(tols, metric, stat)
    if key is None:
        return None
    used.add(key)
    u = unit_of(metric)
    v = tols[key]
    if u.percent and v > 100:
        raise InputError(
            f"{key}={v:g}: {metric}:{stat} is a percentage; a tolerance of {v:g} points "
            "cannot be meant (tolerances are in the printed units: AP=0.5 is half a point)",
            field=flag,
        )
    return v / u.scale


# ------------------------------------------------------------------------------ box protocols


def box_protocol_problem(a: str | None, b: str | None) -> str | None:
    """Why runs on box sources ``a`` and ``b`` (``gt``, ``detector``, ``file``, ``none``) must not
    be ranked together, with what to run instead; None when they may.

    A bottom-up model (``none``) finds the people itself; a top-down model on a person
    detector's boxes (``detector``, ``file``) does too, so the two answer the same question.
    A top-down model on GT boxes is told where every person is: beside a bottom-up run it would
    win by the detector it was spared.
    """
    if a == b or a is None or b is None:
        return None
    a, b = ("file" if x.startswith("file-") else x for x in (a, b))  # file-<digest>
    found = {"none", "detector", "file"}
    if a in found and b in found:
        return None
    if "gt" in (a, b):
        other = b if a == "gt" else a
        what = "a bottom-up run" if other == "none" else f"a run on {other} boxes"
        return (
            f"a top-down run on GT person boxes is not comparable with {what}: GT boxes tell the "
            "model where every person is. Rerun the top-down model on person-detector boxes "
            "(`posebench run ... --boxes detector`, or `boxes: detector` in the suite) and "
            "compare that run"
        )
    return f"box sources differ ({a} vs {b})"


def comparable_differences(a: str, b: str) -> list[str]:
    """:func:`posebench.signature.signature_differences` with the box protocol rule of
    :func:`box_protocol_problem` (detector boxes vs bottom-up: comparable)."""
    diffs = signature_differences(a, b, ignore=("v", "boxes"))
    ba, bb = parse_signature(a)[1].get("boxes"), parse_signature(b)[1].get("boxes")
    problem = box_protocol_problem(ba, bb)
    if problem is not None:
        diffs.append(f"boxes: {ba} vs {bb}: {problem}")
    return diffs


# ------------------------------------------------------------------------------ reading runs


def _run_dir(path: Path) -> Path:
    return path if path.is_dir() else path.parent


def _results_file(path: Path) -> str:
    p = Path(path)
    return str(p / "results.json" if p.is_dir() else p)


def _mapping(v: Any, file: str, record: str | None, fld: str, *, nonempty: bool) -> dict[str, Any]:
    if not isinstance(v, dict):
        kind = "null" if v is None else type(v).__name__
        raise InputError(f"expected an object, got {kind}", file=file, record=record, field=fld)
    if nonempty and not v:
        raise InputError(
            "is empty: a run without numbers cannot pass the gate",
            file=file,
            record=record,
            field=fld,
        )
    return v


def _checked_run(path: Path) -> dict[str, Any]:
    """results.json with the structure the gate reads checked (InputError naming the field)."""
    res = read_results_json(Path(path))
    file = _results_file(path)
    for key in ("suite", "dataset"):
        _mapping(res.get(key), file, None, key, nonempty=False)
    conds = _mapping(res.get("conditions"), file, None, "conditions", nonempty=True)
    for cond, c in conds.items():
        rec = f"conditions.{cond}"
        c = _mapping(c, file, rec, "metrics", nonempty=False)
        metrics = _mapping(c.get("metrics"), file, rec, "metrics", nonempty=True)
        for metric, blk in metrics.items():
            mrec = f"{rec}.metrics.{metric}"
            blk = _mapping(blk, file, mrec, "values", nonempty=False)
            _mapping(blk.get("values"), file, mrec, "values", nonempty=True)
            if not isinstance(blk.get("signature"), str):
                raise InputError("expected a signature string", file=file, record=mrec,
                                 field="signature")  # fmt: skip
    return res


def _value(res: Mapping[str, Any], file: str, cond: str, metric: str, stat: str) -> float:
    """A finite number from ``conditions.<cond>.metrics.<metric>.values.<stat>``; InputError
    naming the run, condition and metric when it is missing, null, NaN or not a number."""
    rec = f"conditions.{cond}.metrics.{metric}"
    values = res["conditions"][cond]["metrics"][metric]["values"]
    if stat not in values:
        raise InputError(
            f"{stat} is missing (condition {cond!r}, metric {metric!r}): the gate cannot pass a "
            "number it does not have",
            file=file,
            record=rec,
            field=f"values.{stat}",
        )
    v = values[stat]
    if isinstance(v, bool) or not isinstance(v, int | float):
        kind = "null" if v is None else type(v).__name__
        raise InputError(
            f"{stat} of condition {cond!r}, metric {metric!r} is {kind}, not a number: the gate "
            "cannot pass an undefined headline number",
            file=file,
            record=rec,
            field=f"values.{stat}",
        )
    f = float(v)
    if not math.isfinite(f):
        raise InputError(
            f"{stat} of condition {cond!r}, metric {metric!r} is {f}: the gate cannot pass a "
            "non-finite headline number",
            file=file,
            record=rec,
            field=f"values.{stat}",
        )
    return f


def _oks_params(metric: str, signature: str, results: Mapping[str, Any] | None = None) -> Any:
    """The OKS parameters of a metric key (its row's parameter maker) with the sigmas and
    maxdets its signature names; sigmas of no built-in skeleton come from the run's own-data
    record (``dataset.source.sigmas``) when they hash to the signature's name."""
    from posebench.signature import sigmas_name
    from posebench.skeletons import SKELETONS

    _, parts = parse_signature(signature)
    name = parts.get("sigmas", "")
    sk = SKELETONS.get(name)
    if sk is not None:
        sigmas = sk.oks_sigmas()
    else:
        src = ((results or {}).get("dataset") or {}).get("source") or {}
        raw = src.get("sigmas") if isinstance(src, dict) else None
        try:
            sigmas = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError):
            return None
        if raw is None or sigmas.ndim != 1 or sigmas_name(sigmas) != name:
            return None
    make = metric_table.for_results_key(metric).resolve_params()
    params = make(sigmas)
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
    results: Mapping[str, Any] | None = None,
) -> dict[str, Any] | None:
    from posebench.metrics.bootstrap import paired_bootstrap_oks
    from posebench.results import load_matches

    name = f"{cond}.{metric.replace('/', '-')}.npz"
    fa, fb = new_dir / "matches" / name, base_dir / "matches" / name
    if not (fa.exists() and fb.exists()):
        return None
    params = _oks_params(metric, signature, results)
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
    # per-sample records count correct / evaluable: x100 for a statistic stored in percent
    scale = 100.0 if metric_table.for_results_key(metric).unit == "percent" else 1.0
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


def _same_run_setup(ra: Mapping[str, Any], rb: Mapping[str, Any], fb: str, what: str) -> None:
    for key in ("suite", "dataset"):
        na, nb = ra[key].get("name"), rb[key].get("name")
        if na != nb:
            raise InputError(f"{key} differs: {na!r} ({what}) vs {nb!r}", file=fb, field=key)
    if ra["dataset"].get("images") != rb["dataset"].get("images"):
        raise InputError(
            f"the runs cover {ra['dataset'].get('images')} and {rb['dataset'].get('images')} "
            "images; compare runs of the same images",
            file=fb,
            field="dataset.images",
        )


def run_noise_interval(
    new: float,
    base_values: Sequence[float],
    img_low: float,
    img_high: float,
    img_delta: float,
    *,
    confidence: float = 0.95,
) -> tuple[float, float, float, float]:
    """Reference, delta and interval of ``new`` against repeated baseline runs.

    Args:
        new: the new run's statistic.
        base_values: (R,) the statistic of R >= 2 baseline runs of one configuration that differ
            only in their seed; the first is the run the image-sampling interval was paired with.
        img_low, img_high: the image-sampling interval of ``new - base_values[0]`` (NaN: none).
        img_delta: ``new - base_values[0]``, the point the image-sampling interval belongs to.
        confidence: of the interval.

    Returns:
        ``(reference, delta, low, high)``: reference = mean of the baseline runs, delta =
        new - reference, and its interval: the image-sampling half-widths (taken around
        ``img_delta``) and the prediction-interval half-width ``t(R-1) * s * sqrt(1 + 1/R)`` of a
        further run (``s``: the sample standard deviation of ``base_values``) added in quadrature.
        Under normal run-to-run noise the run term alone covers a further run of the baseline
        with probability ``confidence`` exactly; adding the image term makes it conservative.
    """
    from scipy.stats import t as student_t

    vals = np.asarray(base_values, np.float64)
    r = len(vals)
    if r < 2:
        raise ValueError("run_noise_interval needs at least 2 baseline values")
    ref = float(vals.mean())
    s = float(vals.std(ddof=1))
    h_run = float(student_t.ppf(0.5 + confidence / 2, r - 1)) * s * math.sqrt(1 + 1 / r)
    delta = new - ref
    lo_i = img_delta - img_low if math.isfinite(img_low) else 0.0
    hi_i = img_high - img_delta if math.isfinite(img_high) else 0.0
    return ref, delta, delta - math.hypot(lo_i, h_run), delta + math.hypot(hi_i, h_run)


def compare_runs(
    base: Path,
    new: Path,
    *,
    max_drop: dict[str, float] | None = None,
    max_change: dict[str, float] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    baseline_runs: Sequence[Path] = (),
) -> Comparison:
    """Compare two run folders (see the module docstring).

    Args:
        base, new: run folders (or their results.json).
        max_drop: ``[metric:]stat -> tolerance`` in printed units (AP points) for the one-sided,
            noise-aware checks; the headline statistic of every metric is checked with
            tolerance 0 unless named here.
        max_change: ``[metric:]stat -> tolerance`` (printed units) for two-sided exact checks
            against ``base``.
        n_boot, seed, confidence: the paired bootstrap.
        baseline_runs: further runs of the baseline's configuration differing only in their
            seed; with them the drop checks also cover run-to-run noise
            (:func:`run_noise_interval`).

    Raises:
        InputError: unusable input (exit 2): a missing/null/NaN headline number, empty values or
            conditions, signatures or images that differ, a tolerance that cannot be meant.
    """
    ra, rb = _checked_run(Path(base)), _checked_run(Path(new))
    fa, fb = _results_file(Path(base)), _results_file(Path(new))
    _same_run_setup(ra, rb, fb, "base")
    seen = {Path(fa).resolve(): "BASE", Path(fb).resolve(): "NEW"}
    for p in baseline_runs:
        rp = Path(_results_file(Path(p))).resolve()
        if rp in seen:
            raise InputError(
                f"{p} is {'given twice' if seen[rp] == 'a baseline run' else seen[rp]}; repeated "
                "baseline runs must be other runs of the baseline's configuration",
                field="--baseline-runs",
            )
        seen[rp] = "a baseline run"
    extra = [(_results_file(Path(p)), _checked_run(Path(p))) for p in baseline_runs]
    for fx, rx in extra:
        _same_run_setup(ra, rx, fx, "base")
    drops = max_drop or {}
    changes = max_change or {}
    used_d: set[str] = set()
    used_c: set[str] = set()
    out = Comparison(
        base=str(base),
        new=str(new),
        baseline_runs=[str(base), *map(str, baseline_runs)] if extra else [],
        confidence=confidence,
    )
    suite = str(ra["suite"].get("name"))
    bdir, ndir = _run_dir(Path(base)), _run_dir(Path(new))
    for cond, ca in ra["conditions"].items():
        cb = rb["conditions"].get(cond)
        if cb is None:
            raise InputError(
                f"condition {cond!r} of the baseline is missing from the new run: the gate "
                "cannot pass a number it does not have",
                file=fb,
                field=f"conditions.{cond}",
            )
        for metric, blk_a in ca["metrics"].items():
            blk_b = cb["metrics"].get(metric)
            if blk_b is None:
                raise InputError(
                    f"metric {metric!r} of the baseline (condition {cond!r}) is missing from the "
                    "new run",
                    file=fb,
                    record=f"conditions.{cond}.metrics",
                    field=metric,
                )
            diffs = comparable_differences(blk_a["signature"], blk_b["signature"])
            for fx, rx in extra:
                bx = (rx["conditions"].get(cond) or {}).get("metrics", {}).get(metric)
                if bx is None:
                    raise InputError(
                        f"baseline run lacks condition {cond!r} metric {metric!r}",
                        file=fx,
                        record=f"conditions.{cond}.metrics",
                        field=metric,
                    )
                dx = signature_differences(blk_a["signature"], bx["signature"])
                if dx:
                    raise InputError(
                        f"{cond}/{metric}: the baseline runs' signatures differ "
                        f"({'; '.join(dx)}); repeated baseline runs must differ only in the seed",
                        file=fx,
                        field="signature",
                    )
            if diffs:
                raise InputError(
                    f"{cond}/{metric}: signatures differ ({'; '.join(diffs)}): these numbers do "
                    "not mean the same thing",
                    file=fb,
                    field="signature",
                )
            head = gate_statistic(metric, blk_a["values"])
            row = metric_table.row_for_key(metric)
            records = "none" if row is None else row.records
            stats = [head] + [
                s
                for s in dict.fromkeys([*blk_a["values"], *blk_b["values"]])
                if s != head
                and (
                    _tolerance_key(drops, metric, s) is not None
                    or _tolerance_key(changes, metric, s) is not None
                )
            ]
            hib = bool(blk_a.get("higher_is_better", True))
            # every number is checked before any bootstrap: unusable input fails fast
            values = {s: (_value(ra, fa, cond, metric, s), _value(rb, fb, cond, metric, s))
                      for s in stats}  # fmt: skip
            paired_oks = None
            if records == "matches":
                paired_oks = _paired_oks(
                    bdir, ndir, cond, metric, blk_a["signature"], n_boot, seed, confidence, ra
                )
            for stat in stats:
                vb, vn = values[stat]
                delta, low, high, paired = vn - vb, math.nan, math.nan, False
                pb = None
                if paired_oks is not None and stat in paired_oks:
                    pb = paired_oks[stat]
                elif stat == head and records == "samples":
                    pb = _paired_samples(bdir, ndir, cond, metric, n_boot, seed, confidence)
                if pb is not None:
                    low, high, paired = pb.delta.low, pb.delta.high, True
                else:
                    sa, sb = _ci_std(blk_a, stat), _ci_std(blk_b, stat)
                    if sa is not None and sb is not None and (sa > 0 or sb > 0):
                        z = _z(confidence)
                        se = math.hypot(sa, sb)
                        low, high = delta - z * se, delta + z * se
                tol_d = _tolerance(drops, metric, stat, "--max-drop", used_d)
                tol_c = _tolerance(changes, metric, stat, "--max-change", used_c)
                # the parts a drop check and a change check of this statistic share
                make = partial(Check, suite, cond, metric, stat, new=vn, paired=paired,
                               higher_is_better=hib, status="")  # fmt: skip
                if tol_d is not None or stat == head:
                    ref, d_ref, lo_ref, hi_ref, spread = vb, delta, low, high, math.nan
                    if extra:
                        vals = [vb] + [_value(rx, fx, cond, metric, stat) for fx, rx in extra]
                        ref, d_ref, lo_ref, hi_ref = run_noise_interval(
                            vn, vals, low, high, delta, confidence=confidence
                        )
                        spread = float(np.std(vals, ddof=1))
                    drop = make(base=ref, delta=d_ref, low=lo_ref, high=hi_ref,
                                tolerance=tol_d or 0.0, mode="drop", base_runs=1 + len(extra),
                                run_spread=spread)  # fmt: skip
                    out.checks.append(_judge(drop))
                if tol_c is not None:
                    change = make(base=vb, delta=delta, low=low, high=high, tolerance=tol_c,
                                  mode="change")  # fmt: skip
                    out.checks.append(_judge(change))
    for used, tols, flag in ((used_d, drops, "--max-drop"), (used_c, changes, "--max-change")):
        unused = [k for k in tols if k not in used]
        if unused:
            known = sorted({f"{c.metric}:{c.stat}" for c in out.checks} | _all_stats(ra))
            raise InputError(
                f"{', '.join(unused)} matches no statistic of these runs (known: "
                f"{', '.join(known)}); a tolerance that checks nothing would let the gate pass",
                field=flag,
            )
    for cond in rb["conditions"]:
        if cond not in ra["conditions"]:
            out.notes.append(f"condition {cond!r} is in the new run only")
    return out


def _ci_std(block: Mapping[str, Any], stat: str) -> float | None:
    """The bootstrap standard deviation a run recorded for ``stat``; None when absent or not a
    finite number >= 0 (then that run has no interval to combine)."""
    ci = block.get("ci")
    entry = ci.get(stat) if isinstance(ci, dict) else None
    std = entry.get("std") if isinstance(entry, dict) else None
    if isinstance(std, bool) or not isinstance(std, int | float):
        return None
    return float(std) if math.isfinite(std) and std >= 0 else None


def _all_stats(res: Mapping[str, Any]) -> set[str]:
    return {
        f"{m}:{s}"
        for c in res["conditions"].values()
        for m, blk in c["metrics"].items()
        for s in blk["values"]
    }


def _z(confidence: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + confidence / 2))


def _judge(c: Check) -> Check:
    from dataclasses import replace

    delta, low, high, tol, hib = c.delta, c.low, c.high, c.tolerance, c.higher_is_better
    if c.mode == "change":
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
    return replace(c, status=status)


# ------------------------------------------------------------------------------ formatting


def _v(v: float, u: Unit) -> str:
    """A value with its unit: ``24.56%``, ``52.3 mm``."""
    if math.isnan(v):
        return "n/a"
    s = f"{u.scale * v:.2f}"
    return f"{s}%" if u.value == "%" else (f"{s} {u.value}" if u.value else s)


def _d(v: float, u: Unit, sign: bool = True) -> str:
    """A difference or tolerance with its unit: ``-0.50 pt``, ``+1.20 mm``."""
    if math.isnan(v):
        return "n/a"
    s = f"{u.scale * v:+.2f}" if sign else f"{u.scale * v:.2f}"
    return f"{s} {u.delta}" if u.delta else s


STATUS_MARK = {
    "ok": "ok",
    "improved": "improved",
    "regression": "**REGRESSION**",
    "changed": "**CHANGED**",
}


def _tol_text(k: Check) -> str:
    return f"tol {_d(k.tolerance, k.unit, sign=False)}" + (
        ", two-sided" if k.mode == "change" else ""
    )


def to_markdown(c: Comparison) -> str:
    """The table: Suite | Condition | Metric | Base | New | Δ | CI | Status, units on every
    number (``%`` values, ``pt`` = percentage points for differences, ``mm``)."""
    base_head = f"Base (mean of {len(c.baseline_runs)} runs)" if c.baseline_runs else "Base"
    lines = [
        f"posebench compare: {len(c.failed)} of {len(c.checks)} checks failed",
        "",
        f"| Suite | Condition | Metric | {base_head} | New | Δ | CI | Status |",
        "|---|---|---|---:|---:|---:|---|---|",
    ]
    for k in c.checks:
        u = k.unit
        ci = "n/a" if math.isnan(k.low) else f"[{_d(k.low, u)}, {_d(k.high, u)}]"
        ci += " paired" if k.paired else ""
        lines.append(
            f"| {k.suite} | {k.condition} | {k.metric}:{k.stat} | {_v(k.base, u)} | "
            f"{_v(k.new, u)} | {_d(k.delta, u)} | {ci} | {STATUS_MARK[k.status]} "
            f"({_tol_text(k)}) |"
        )
    lines.append("")
    lines.append(f"{c.controls}. pt = percentage points.")
    for n in c.notes:
        lines.append(f"\n- note: {n}")
    return "\n".join(lines) + "\n"


def to_json(c: Comparison) -> dict[str, Any]:
    """``{base, new, failed, controls, baseline_runs, checks: [...], notes}``; each check's
    numbers in printed units with ``unit`` and ``delta_unit`` beside them."""
    return {
        "base": c.base,
        "new": c.new,
        "failed": len(c.failed),
        "controls": c.controls,
        "baseline_runs": c.baseline_runs,
        "checks": [k.to_json() for k in c.checks],
        "notes": c.notes,
    }


def _line(k: Check) -> str:
    u = k.unit
    ci = "" if math.isnan(k.low) else f", CI [{_d(k.low, u)}, {_d(k.high, u)}]"
    return f"{_v(k.base, u)} -> {_v(k.new, u)} (delta {_d(k.delta, u)}{ci}, {_tol_text(k)})"


def to_junit(c: Comparison) -> str:
    """JUnit XML: one test case per check (a failure element for a failed one)."""
    from xml.sax.saxutils import escape, quoteattr

    cases = []
    for k in c.checks:
        name = quoteattr(f"{k.metric}:{k.stat} ({k.mode})")
        cls = quoteattr(f"posebench.{k.suite}.{k.condition}")
        out = f"<system-out>{escape(_line(k))}</system-out>"
        body = out
        if k.failed:
            msg = f"{k.status}: {_line(k)}"
            body = f"<failure message={quoteattr(msg)} type={quoteattr(k.status)}/>" + out
        cases.append(f"  <testcase classname={cls} name={name}>{body}</testcase>")
    head = (
        f'<testsuite name="posebench compare" tests="{len(c.checks)}" '
        f'failures="{len(c.failed)}" errors="0">'
    )
    props = f'  <properties><property name="controls" value={quoteattr(c.controls)}/></properties>'
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        + head
        + "\n"
        + props
        + "\n"
        + "\n".join(cases)
        + ("\n</testsuite>\n")
    )


def github_annotations(c: Comparison) -> str:
    """``::error`` workflow commands, one per failed check."""
    out = []
    for k in c.failed:
        msg = f"{k.suite}/{k.condition} {k.metric}:{k.stat} {k.status}: {_line(k)}"
        msg = msg.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        out.append(f"::error title=posebench regression::{msg}")
    return "\n".join(out) + ("\n" if out else "")
