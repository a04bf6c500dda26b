"""Seeded bootstrap confidence intervals for headline numbers, and paired bootstrap comparisons.

A bootstrap replicate draws the resampling units (samples, or images) with replacement, as many as
there are, and recomputes the statistic on the drawn multiset. The interval is the percentile
interval of the replicates (``np.quantile``, linear interpolation); ``std`` is their standard
deviation (ddof=1). Replicates where the statistic is undefined (e.g. no ground truth drawn) are
NaN and left out of both.

Resamples depend only on ``(number of units, n_boot, seed)``: the same seed gives the same
resamples, hence identical results, and two statistics over the same units (AP and PCKh of the
same images, or two runs in a paired comparison) see the same resamples.

Per-sample statistics (:func:`bootstrap_mean`, :func:`bootstrap_ratio`) are ratios of sums
``Σ num / Σ den`` (a mean, a weighted mean, PCK pooled over joints) of per-unit sums gathered
through the (B, U) index matrix of the resamples, drawn and reduced in blocks of rows; no Python
loop over replicates.

OKS AP/AR (:func:`bootstrap_oks`) reuses the per-image match records, never re-matching (matching
is per image, so a drawn image's detections keep their matches). A resampled set is the images'
detections, each repeated by its image's multiplicity (``np.repeat``) in image order, then
accumulated as pycocotools does: stable sort by -score, cumulative TP/FP, interpolated precision at
the recall points, means over thresholds. Repeating in place keeps the copies of a detection next
to each other after the stable sort, so the sorted resampled list is the original sorted list with
each detection repeated: the cumulative TP/FP counts are cumulative sums of multiplicities, and
the interpolated precision at a recall point is the running maximum (from the right) of
``TP / (FP + TP)`` over the true positives, taken at the first true positive reaching that
recall. This is O(B · A · T · D) with no sort per replicate and gives the very numbers
``accumulate`` gives on the materialised resampled set (tested bit for bit).

The materialised resample is the file a user would write for a replicate: the drawn images in
image order, an image drawn c times as c consecutive copies (new ids), each copy listing its
detections in the original order. pycocotools' stable sort then orders tied detections by image
copy, then by rank, so a run of tied detections d1 d2 of one image drawn twice reads d1 d2 d1 d2,
not d1 d1 d2 d2; where such a run holds both a true and a false positive (at some area range and
threshold) the order changes the interpolated precision. Those runs are unrolled into ``kmax``
copies of their pattern (``kmax`` the largest multiplicity any replicate gives their image),
copy k counted once when the image is drawn more than k times. Replicates then equal pycocotools
2.0.11 run on the materialised files, ties included (tests/test_bootstrap_ties.py: 24 tie-heavy
seeded sets, every replicate, against pycocotools on the files; 100 more against the materialised
accumulate).

Speed (COCO-size synthetic set ``make_keypoint_dataset(5000)``: 80k evaluated detections, 10 COCO
statistics): with the compiled kernel ``bootstrap_oks`` takes 0.38 s of CPU for B = 1000 on one
thread (the replicate curves about half of it, run in threads), and ``posebench score --ci 1000``
adds 0.65-0.85x the plain scoring time, whole process (bench/README.md, issue 20), so OKS uses
the same default B = 1000. Per-sample: B = 1000 over 3000 samples 0.02 s, over 100k samples 0.7 s.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from posebench import parallel
from posebench.arrayutil import unique
from posebench.metrics.cocoeval import OksMatches, OksParams, accumulate, summarize_stat

try:  # the compiled replicate kernel (built at install; the numpy path gives the same bits)
    from posebench.metrics import _bootstrap_kernel  # type: ignore[attr-defined]
except ImportError:
    _bootstrap_kernel = None

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

__all__ = [
    "N_BOOT",
    "OKS_N_BOOT",
    "BootstrapCI",
    "PairedBootstrap",
    "bootstrap_mean",
    "bootstrap_oks",
    "bootstrap_ratio",
    "oks_stat_names",
    "paired_bootstrap_mean",
    "paired_bootstrap_oks",
    "paired_bootstrap_ratio",
    "resample_counts",
    "resample_indices",
]

#: Default replicates for per-sample statistics.
N_BOOT = 1000
#: Default replicates for OKS AP/AR (each replicate re-accumulates every detection: ~3-4 ms a
#: replicate on a COCO-size set).
OKS_N_BOOT = 1000
#: Elements of one (rows, units) block of the count matrix.
_BLOCK_ELEMS = 1 << 21
#: Elements of one (detections, rows) block of the OKS cumulative sums.
_OKS_BLOCK_ELEMS = 1 << 22
_AREA_SUFFIX = {"small": "s", "medium": "m", "large": "l"}


@dataclass(frozen=True, eq=False)
class BootstrapCI:
    """A statistic with its bootstrap distribution.

    Attributes:
        estimate: the statistic on the data itself.
        low, high: percentile interval bounds at ``confidence``; NaN when no replicate is defined.
        std: standard deviation of the defined replicates (ddof=1).
        n_boot: B, replicates drawn.
        seed: the seed they were drawn with.
        confidence: e.g. 0.95.
        replicates: (B,) float64 the statistic per replicate, NaN where undefined.
    """

    estimate: float
    low: float
    high: float
    std: float
    n_boot: int
    seed: int
    confidence: float
    replicates: FloatArray

    def as_dict(self) -> dict[str, float | int]:
        """The scalars (no replicates), JSON-ready."""
        return {
            "estimate": self.estimate,
            "low": self.low,
            "high": self.high,
            "std": self.std,
            "n_boot": self.n_boot,
            "seed": self.seed,
            "confidence": self.confidence,
        }


@dataclass(frozen=True, eq=False)
class PairedBootstrap:
    """Two runs on the same units, resampled together.

    Attributes:
        a, b: each run's statistic.
        delta: ``a - b`` per replicate (same resamples for both).
        p_value: two-sided bootstrap p-value of "no difference": the share of replicates whose
            centred difference ``|δ* - mean(δ*)|`` reaches ``|δ|`` (with +1 smoothing, as
            sacrebleu's paired bootstrap); NaN when undefined.
    """

    a: BootstrapCI
    b: BootstrapCI
    delta: BootstrapCI
    p_value: float


# ----------------------------------------------------------------------------- resampling


def _check_common(n_boot: int, seed: int, confidence: float) -> None:
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive int, got {n_boot!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if not 0.0 < float(confidence) < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")


def resample_indices(n_units: int, n_boot: int, seed: int) -> Iterator[IntArray]:
    """The (B, U) index matrix of ``n_boot`` resamples of ``n_units`` units, in blocks of rows.

    Row i holds the units drawn (uniformly, with replacement) by replicate i. Blocks depend only
    on the arguments, so the same arguments always give the same rows.
    """
    _check_common(n_boot, seed, 0.5)
    rng = np.random.default_rng(int(seed))
    u = int(n_units)
    rows = max(1, min(int(n_boot), _BLOCK_ELEMS // max(u, 1)))
    done = 0
    while done < n_boot:
        b = min(rows, int(n_boot) - done)
        yield rng.integers(0, u, size=(b, u)) if u else np.zeros((b, 0), np.int64)
        done += b


def resample_counts(n_units: int, n_boot: int, seed: int) -> Iterator[IntArray]:
    """Multiplicities of the units in the resamples of :func:`resample_indices`, as (rows, U)
    blocks: the same resamples, counted."""
    for idx in resample_indices(n_units, n_boot, seed):
        b, u = idx.shape
        if u == 0:
            yield np.zeros((b, 0), np.int64)
            continue
        flat = (idx + (np.arange(b) * u)[:, None]).ravel()
        yield np.bincount(flat, minlength=b * u).reshape(b, u).astype(np.int64, copy=False)


def quantiles_linear(x: FloatArray, qs: Sequence[float]) -> tuple[float, ...]:
    """``np.quantile(x, qs)`` (method "linear") of finite values, with numpy's arithmetic: the
    virtual index (n - 1) q, its floor, and numpy's ``_lerp`` (a + (b - a) t, or
    b - (b - a)(1 - t) where t >= 0.5). numpy's own function imports numpy.ma on first use
    (35 ms of a COCO-size ``posebench score --ci``); tests/test_bootstrap_kernel.py compares."""
    s = np.sort(np.asarray(x, dtype=np.float64).ravel())
    n = len(s)
    if n == 0:
        raise ValueError("no values")
    out = []
    for q in qs:
        v = (n - 1) * float(q)
        if v >= n - 1:
            out.append(float(s[-1]))
        elif v < 0:
            out.append(float(s[0]))
        else:
            lo = math.floor(v)
            a, b, t = float(s[lo]), float(s[lo + 1]), v - lo
            d = b - a
            out.append(b - d * (1 - t) if t >= 0.5 else a + d * t)
    return tuple(out)


def _summary(
    estimate: float, reps: FloatArray, n_boot: int, seed: int, confidence: float
) -> BootstrapCI:
    ok = reps[~np.isnan(reps)]
    nan = float("nan")
    if len(ok):
        tail = (1.0 - confidence) / 2
        low, high = quantiles_linear(ok, (tail, 1.0 - tail))
        std = float(np.std(ok, ddof=1)) if len(ok) > 1 else nan
    else:
        low = high = std = nan
    reps.setflags(write=False)
    return BootstrapCI(
        estimate=float(estimate),
        low=low,
        high=high,
        std=std,
        n_boot=int(n_boot),
        seed=int(seed),
        confidence=float(confidence),
        replicates=reps,
    )


def _paired(
    a: BootstrapCI, b: BootstrapCI, n_boot: int, seed: int, confidence: float
) -> PairedBootstrap:
    d_reps = a.replicates - b.replicates
    d = _summary(a.estimate - b.estimate, d_reps, n_boot, seed, confidence)
    ok = d_reps[~np.isnan(d_reps)]
    if len(ok) and np.isfinite(d.estimate):
        extreme = np.count_nonzero(np.abs(ok - ok.mean()) >= abs(d.estimate))
        p = float((extreme + 1) / (len(ok) + 1))
    else:
        p = float("nan")
    return PairedBootstrap(a=a, b=b, delta=d, p_value=p)


# ----------------------------------------------------------------------------- per-sample


def _as_1d(x: npt.ArrayLike, name: str, n: int | None = None) -> FloatArray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1 or (n is not None and len(a) != n):
        want = "(N,)" if n is None else f"(N={n},)"
        raise ValueError(f"{name} must be {want}, got shape {a.shape}")
    return a


def _unit_sums(
    nums: list[FloatArray], dens: list[FloatArray], groups: npt.ArrayLike | None
) -> tuple[FloatArray, FloatArray]:
    """(U, C) per-unit sums of C numerators and denominators; a sample with zero denominator in
    every statistic is no unit when ``groups`` is None."""
    num = np.stack(nums, axis=1)
    den = np.stack(dens, axis=1)
    if groups is None:
        keep = (den != 0).any(axis=1)
        return num[keep], den[keep]
    g = np.asarray(groups)
    if g.shape != (len(num),):
        raise ValueError(f"groups must be (N={len(num)},), got {g.shape}")
    _, inv = np.unique(g, return_inverse=True)
    n_units = int(inv.max()) + 1 if len(inv) else 0
    s = np.stack(
        [np.bincount(inv, weights=num[:, c], minlength=n_units) for c in range(num.shape[1])], 1
    )
    w = np.stack(
        [np.bincount(inv, weights=den[:, c], minlength=n_units) for c in range(den.shape[1])], 1
    )
    return s.reshape(n_units, -1).astype(np.float64), w.reshape(n_units, -1).astype(np.float64)


def _ratio_replicates(s: FloatArray, w: FloatArray, n_boot: int, seed: int) -> FloatArray:
    """(B, C) ``Σ s[drawn] / Σ w[drawn]`` per replicate, NaN where the denominator is 0."""
    n_units, n_stat = s.shape
    out = np.empty((n_boot, n_stat))
    s_rows, w_rows = np.ascontiguousarray(s.T), np.ascontiguousarray(w.T)
    unit_w = [bool((w_rows[c] == 1).all()) for c in range(n_stat)]
    at = 0
    for idx in resample_indices(n_units, n_boot, seed):
        for c in range(n_stat):
            num = s_rows[c][idx].sum(axis=1)
            # A plain mean draws n_units units of weight 1: no need to sum the weights.
            den = np.full(len(idx), float(n_units)) if unit_w[c] else w_rows[c][idx].sum(axis=1)
            block = np.full(len(idx), np.nan)
            np.divide(num, den, out=block, where=den != 0)
            out[at : at + len(idx), c] = block
        at += len(idx)
    return out


def _ratio(num: FloatArray, den: FloatArray) -> float:
    d = float(np.sum(den))
    return float(np.sum(num)) / d if d != 0 else float("nan")


def _check_ratio(numerator: npt.ArrayLike, denominator: npt.ArrayLike) -> tuple[FloatArray, ...]:
    num = _as_1d(numerator, "numerator")
    den = _as_1d(denominator, "denominator", len(num))
    if not (np.isfinite(num).all() and np.isfinite(den).all()):
        raise ValueError("numerator and denominator must be finite")
    if (den < 0).any():
        raise ValueError("denominator must be >= 0")
    return num, den


def _mean_terms(
    values: npt.ArrayLike, weights: npt.ArrayLike | None
) -> tuple[FloatArray, FloatArray]:
    v = _as_1d(values, "values")
    w = np.ones_like(v) if weights is None else _as_1d(weights, "weights", len(v))
    if not (np.isfinite(w).all() and (w >= 0).all()):
        raise ValueError("weights must be finite and >= 0")
    if np.isinf(v).any():
        raise ValueError("values must be finite or NaN (undefined)")
    defined = ~np.isnan(v)
    return np.where(defined, w * np.where(defined, v, 0.0), 0.0), np.where(defined, w, 0.0)


def bootstrap_ratio(
    numerator: npt.ArrayLike,
    denominator: npt.ArrayLike,
    *,
    groups: npt.ArrayLike | None = None,
    n_boot: int = N_BOOT,
    seed: int = 0,
    confidence: float = 0.95,
) -> BootstrapCI:
    """Bootstrap CI of ``Σ numerator / Σ denominator`` (e.g. PCK pooled over joints).

    Args:
        numerator, denominator: (N,) per-sample terms, finite, denominator >= 0 (for PCKh:
            correct and evaluable joint counts per sample).
        groups: (N,) resampling unit of each sample (e.g. image ids: images are drawn, with all
            their samples); None draws samples (those with denominator 0 are left out).
        n_boot, seed, confidence: B, the seed, the interval's coverage.

    >>> r = bootstrap_ratio([1, 2, 3], [2, 2, 4], n_boot=200, seed=1)
    >>> r.estimate, r.low <= r.estimate <= r.high
    (0.75, True)
    """
    _check_common(n_boot, seed, confidence)
    num, den = _check_ratio(numerator, denominator)
    s, w = _unit_sums([num], [den], groups)
    reps = _ratio_replicates(s, w, int(n_boot), int(seed))[:, 0]
    return _summary(_ratio(num, den), reps, n_boot, seed, confidence)


def bootstrap_mean(
    values: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
    *,
    groups: npt.ArrayLike | None = None,
    n_boot: int = N_BOOT,
    seed: int = 0,
    confidence: float = 0.95,
) -> BootstrapCI:
    """Bootstrap CI of the (weighted) mean of a per-sample metric (MPJPE per frame, PCKh per
    sample, ...).

    Args:
        values: (N,) per-sample values; NaN marks an undefined sample and is left out.
        weights: (N,) weights >= 0 (the mean is ``Σ w·v / Σ w``); default 1.
        groups: (N,) resampling unit per sample (e.g. image ids); None draws samples.
        n_boot, seed, confidence: B, the seed, the interval's coverage.

    >>> r = bootstrap_mean([1.0, 2.0, 3.0, float("nan")], n_boot=500, seed=0)
    >>> r.estimate, r.n_boot, bool(r.low <= 2.0 <= r.high)
    (2.0, 500, True)
    """
    _check_common(n_boot, seed, confidence)
    num, den = _mean_terms(values, weights)
    s, w = _unit_sums([num], [den], groups)
    reps = _ratio_replicates(s, w, int(n_boot), int(seed))[:, 0]
    return _summary(_ratio(num, den), reps, n_boot, seed, confidence)


def bootstrap_stratified_mean(
    values: npt.ArrayLike,
    strata: npt.ArrayLike,
    *,
    n_boot: int = N_BOOT,
    seed: int = 0,
    confidence: float = 0.95,
) -> BootstrapCI:
    """Bootstrap CI of the mean over strata of per-stratum means (e.g. Human3.6M's MPJPE: the
    mean per action, then the mean over actions), resampling samples within each stratum.

    Args:
        values: (N,) per-sample values; NaN samples are left out.
        strata: (N,) stratum label per sample (actions).

    A stratum with no defined value is left out of the estimate and of every replicate.

    >>> r = bootstrap_stratified_mean([1.0, 1.0, 5.0], ["a", "a", "b"], n_boot=200, seed=1)
    >>> r.estimate, r.low, r.high
    (3.0, 3.0, 3.0)
    """
    _check_common(n_boot, seed, confidence)
    v = _as_1d(values, "values")
    labels = np.asarray(strata)
    if labels.shape != v.shape:
        raise ValueError(f"strata must be ({len(v)},), got {labels.shape}")
    rng = np.random.default_rng(int(seed))
    means, reps = [], []
    for lab in np.unique(labels):
        x = v[(labels == lab) & ~np.isnan(v)]
        if len(x) == 0:
            continue
        means.append(float(np.mean(x)))
        idx = rng.integers(0, len(x), size=(int(n_boot), len(x)))
        reps.append(x[idx].mean(axis=1))
    if not means:
        return _summary(float("nan"), np.full(int(n_boot), np.nan), n_boot, seed, confidence)
    return _summary(
        float(np.mean(means)), np.mean(np.stack(reps), axis=0), n_boot, seed, confidence
    )


def paired_bootstrap_ratio(
    numerator_a: npt.ArrayLike,
    denominator_a: npt.ArrayLike,
    numerator_b: npt.ArrayLike,
    denominator_b: npt.ArrayLike,
    *,
    groups: npt.ArrayLike | None = None,
    n_boot: int = N_BOOT,
    seed: int = 0,
    confidence: float = 0.95,
) -> PairedBootstrap:
    """Paired bootstrap of two ratios of sums over the same N samples (same resamples)."""
    _check_common(n_boot, seed, confidence)
    na, da = _check_ratio(numerator_a, denominator_a)
    nb, db = _check_ratio(numerator_b, denominator_b)
    if len(na) != len(nb):
        raise ValueError(f"the two runs have {len(na)} and {len(nb)} samples; pairing needs equal")
    s, w = _unit_sums([na, nb], [da, db], groups)
    reps = _ratio_replicates(s, w, int(n_boot), int(seed))
    a = _summary(_ratio(na, da), reps[:, 0].copy(), n_boot, seed, confidence)
    b = _summary(_ratio(nb, db), reps[:, 1].copy(), n_boot, seed, confidence)
    return _paired(a, b, int(n_boot), int(seed), confidence)


def paired_bootstrap_mean(
    values_a: npt.ArrayLike,
    values_b: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
    *,
    groups: npt.ArrayLike | None = None,
    n_boot: int = N_BOOT,
    seed: int = 0,
    confidence: float = 0.95,
) -> PairedBootstrap:
    """Paired bootstrap of the means of two runs' per-sample values on the same N samples.

    Args:
        values_a, values_b: (N,) per-sample values of runs a and b, NaN where undefined (each
            run's mean leaves out its own undefined samples).
        weights: (N,) shared weights; default 1.
        groups, n_boot, seed, confidence: as :func:`bootstrap_mean`.

    Returns:
        :class:`PairedBootstrap`; ``delta`` is mean(a) - mean(b).
    """
    _check_common(n_boot, seed, confidence)
    va = _as_1d(values_a, "values_a")
    vb = _as_1d(values_b, "values_b", len(va))
    na, da = _mean_terms(va, weights)
    nb, db = _mean_terms(vb, weights)
    s, w = _unit_sums([na, nb], [da, db], groups)
    reps = _ratio_replicates(s, w, int(n_boot), int(seed))
    a = _summary(_ratio(na, da), reps[:, 0].copy(), n_boot, seed, confidence)
    b = _summary(_ratio(nb, db), reps[:, 1].copy(), n_boot, seed, confidence)
    return _paired(a, b, int(n_boot), int(seed), confidence)


# ----------------------------------------------------------------------------- OKS AP/AR


def oks_stat_names(params: OksParams) -> tuple[str, ...]:
    """Names of the statistics :func:`bootstrap_oks` reports, in COCO order.

    ``AP``, ``AP50``, ``AP75`` (thresholds present in ``params.iou_thrs``), one ``AP<x>`` per
    further area range (``s``/``m``/``l`` for small/medium/large, else ``AP_<label>``), then the
    same for AR. Area "all" is ``params.area_ranges[0]``; the last ``max_dets`` is used.
    """
    return tuple(name for name, *_ in _stat_specs(params))


def _stat_specs(params: OksParams) -> list[tuple[str, bool, int, int | None]]:
    """(name, is_ap, area index, threshold index or None)."""
    out: list[tuple[str, bool, int, int | None]] = []
    for ap in (True, False):
        head = "AP" if ap else "AR"
        out.append((head, ap, 0, None))
        for thr, tag in ((0.5, "50"), (0.75, "75")):
            hit = np.flatnonzero(params.iou_thrs == thr)
            if len(hit):
                out.append((f"{head}{tag}", ap, 0, int(hit[0])))
        for a, lbl in enumerate(params.area_labels[1:], start=1):
            suffix = _AREA_SUFFIX.get(lbl, f"_{lbl}")
            out.append((f"{head}{suffix}", ap, a, None))
    return out


@dataclass(frozen=True, eq=False)
class _Seq:
    """One threshold's true positives within an :class:`_AreaSeq`."""

    tp_unit: IntArray  # (n_tp,) resampling unit of each true positive, in sorted order
    counted_before: IntArray  # (n_tp,) counted detections sorted before each true positive
    skip_unit: IntArray  # (n_skip,) counted detections ignored at this threshold
    skip_before: IntArray  # (n_tp,) of those, how many are sorted before each true positive


@dataclass(frozen=True, eq=False)
class _AreaSeq:
    """One (category, area) detection sequence in accumulate's sorted order.

    "Counted" detections are those not ignored at some threshold; at one threshold the false
    positives before a true positive are the counted ones before it, less the true positives and
    the ones this threshold ignores (few: detections matched to ignored ground truth). One
    cumulative sum over the counted detections then serves every threshold.
    """

    counted_unit: IntArray  # (n_counted,) resampling unit of each counted detection
    per_thr: list[_Seq]

    @cached_property
    def flat(self) -> tuple[IntArray, ...]:
        """The per-threshold arrays concatenated, with offsets (the kernel's layout):
        ``tp_unit, counted_before, skip_before, tp_off, skip_unit, skip_off``."""

        def cat(parts: list[IntArray]) -> IntArray:
            joined: IntArray = np.concatenate(parts) if parts else np.zeros(0, np.int64)
            out: IntArray = np.ascontiguousarray(joined, dtype=np.int64)
            return out

        def offsets(parts: list[IntArray]) -> IntArray:
            out: IntArray = np.r_[0, np.cumsum([len(x) for x in parts])].astype(np.int64)
            return out

        tps = [q.tp_unit for q in self.per_thr]
        skips = [q.skip_unit for q in self.per_thr]
        return (
            cat(tps),
            cat([q.counted_before for q in self.per_thr]),
            cat([q.skip_before for q in self.per_thr]),
            offsets(tps),
            cat(skips),
            offsets(skips),
        )


@dataclass(frozen=True, eq=False)
class _Plan:
    """Everything a replicate needs from one run's match records."""

    n_units: int
    seqs: list[list[_AreaSeq]]  # [category][area]
    npig: list[IntArray]  # [category] (A, U) non-ignored GT per unit
    ndet: list[IntArray]  # [category] (U,) evaluated detections per unit
    longest: int  # the longest detection sequence (sizes the blocks of replicates)
    # Units holding a within-image run of tied detections (sorted), and the copies unrolled for
    # each: unit run_units[i]'s copy k is the virtual unit n_units + i * kmax + k, drawn once
    # when the unit is drawn more than k times.
    run_units: IntArray
    kmax: int


def _tie_runs(d_img: IntArray, score: FloatArray) -> tuple[IntArray, IntArray]:
    """(starts, ends) of the runs of >= 2 consecutive sorted detections of one image with one
    score (ascending, disjoint)."""
    n = len(d_img)
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    new_run = np.r_[True, (d_img[1:] != d_img[:-1]) | (score[1:] != score[:-1])]
    starts = np.flatnonzero(new_run)
    ends = np.r_[starts[1:], n]
    long = ends - starts >= 2
    return starts[long].astype(np.int64), ends[long].astype(np.int64)


@dataclass(frozen=True, eq=False)
class _Ties:
    """The first half of a plan, which does not depend on ``kmax``: each category's detections
    in pycocotools' order, their units, and the tie runs that hold a TP and a counted FP."""

    mask: BoolArray
    unit: IntArray
    n_units: int
    orders: list[IntArray]
    sorted_units: list[IntArray]
    runs: list[tuple[IntArray, IntArray]]
    run_units: IntArray


def _ties(ms: list[OksMatches], params: OksParams, image_mask: BoolArray | None) -> _Ties:
    """See :class:`_Ties`."""
    n_img = len(ms[0].image_ids)
    mask = np.ones(n_img, bool) if image_mask is None else image_mask
    unit = np.cumsum(mask) - 1  # image index -> unit index (for masked-in images)
    n_units = int(mask.sum())
    md = params.max_dets[-1]
    orders, sorted_units, runs = [], [], []
    for m in ms:
        sel = np.flatnonzero((m.det_rank < md) & mask[m.det_image])
        # pycocotools: mergesort on -score over the detections concatenated in image order.
        order = sel[np.argsort(-m.det_score[sel], kind="mergesort")]
        orders.append(order)
        sorted_units.append(unit[m.det_image[order]])
        starts, ends = _tie_runs(m.det_image[order], m.det_score[order])
        if len(starts):
            # The order inside a run matters only where, at some area range and threshold, it
            # holds a true positive and a counted false positive (ignored detections change no
            # count; all-TP or all-FP runs give the same counts in any order).
            tp = m.det_tp[:, :, order]
            fp = ~m.det_ignore[:, :, order] & ~tp
            bounds = np.stack([starts, ends], axis=1).ravel()
            bounds = bounds[bounds < len(order)]
            has_tp = np.logical_or.reduceat(tp, bounds, axis=2)[:, :, ::2]
            has_fp = np.logical_or.reduceat(fp, bounds, axis=2)[:, :, ::2]
            mixed = (has_tp & has_fp).any(axis=(0, 1))
            starts, ends = starts[mixed], ends[mixed]
        runs.append((starts, ends))
    run_units = unique(
        np.concatenate([u[s] for u, (s, _) in zip(sorted_units, runs, strict=True)])
    ).astype(np.int64)
    return _Ties(mask, unit, n_units, orders, sorted_units, runs, run_units)


def _plan(
    ms: list[OksMatches],
    params: OksParams,
    image_mask: BoolArray | None,
    kmax: int = 1,
    ties: _Ties | None = None,
) -> _Plan:
    """The replicate plan; ``kmax`` bounds the multiplicity of units holding tie runs;
    ``ties``: :func:`_ties` of the same arguments when already computed."""
    if ties is None:
        ties = _ties(ms, params, image_mask)
    mask, unit, n_units, run_units = ties.mask, ties.unit, ties.n_units, ties.run_units
    seqs, npig, ndet = [], [], []
    longest = 1
    zipped = zip(ms, ties.orders, ties.sorted_units, ties.runs, strict=True)
    for m, order, d_unit, (starts, ends) in zipped:
        # The materialised resample lists an image drawn c times as c consecutive copies, each
        # with its detections in rank order, so after pycocotools' stable sort a run of tied
        # detections d1 d2 of one image reads d1 d2 d1 d2 ..., not d1 d1 d2 d2. Such a run is
        # unrolled into kmax copies of the pattern, copy k on a virtual unit drawn (once) when
        # the image is drawn more than k times; everything else keeps its copies adjacent.
        pos = np.arange(len(order))
        seq_pos, seq_unit = pos, d_unit
        if len(starts):
            parts_pos, parts_unit, at = [], [], 0
            for s0, e0 in zip(starts.tolist(), ends.tolist(), strict=True):
                parts_pos.append(pos[at:s0])
                parts_unit.append(d_unit[at:s0])
                vbase = n_units + int(np.searchsorted(run_units, d_unit[s0])) * kmax
                parts_pos.append(np.tile(pos[s0:e0], kmax))
                parts_unit.append(np.repeat(vbase + np.arange(kmax), e0 - s0))
                at = e0
            parts_pos.append(pos[at:])
            parts_unit.append(d_unit[at:])
            seq_pos = np.concatenate(parts_pos)
            seq_unit = np.concatenate(parts_unit)
        seq = order[seq_pos]
        per_area = []
        for a in range(len(params.area_ranges)):
            tp = m.det_tp[a][:, seq]
            counted_t = ~m.det_ignore[a][:, seq]
            cpos = np.flatnonzero(counted_t.any(axis=0))
            longest = max(longest, len(cpos))
            per_t = []
            for t in range(len(params.iou_thrs)):
                tpos = np.flatnonzero(tp[t])
                spos = cpos[~counted_t[t, cpos]]
                per_t.append(
                    _Seq(
                        tp_unit=seq_unit[tpos],
                        counted_before=np.searchsorted(cpos, tpos).astype(np.int64),
                        skip_unit=seq_unit[spos],
                        skip_before=np.searchsorted(spos, tpos).astype(np.int64),
                    )
                )
            per_area.append(_AreaSeq(counted_unit=seq_unit[cpos], per_thr=per_t))
        seqs.append(per_area)
        g_in = mask[m.gt_image]
        g_unit = unit[m.gt_image[g_in]]
        npig.append(
            np.stack(
                [
                    np.bincount(g_unit[~m.gt_ignore[a][g_in]], minlength=n_units)
                    for a in range(len(params.area_ranges))
                ]
            ).astype(np.int64)
        )
        ndet.append(np.bincount(d_unit, minlength=n_units).astype(np.int64))
    return _Plan(
        n_units=n_units,
        seqs=seqs,
        npig=npig,
        ndet=ndet,
        longest=longest,
        run_units=run_units,
        kmax=kmax,
    )


def _counts_blocks(n_units: int, n_boot: int, seed: int) -> list[npt.NDArray[np.integer]]:
    """The blocks of :func:`resample_counts`, kept (as uint8 when every multiplicity fits,
    U x B bytes: 5 MB for COCO val at B = 1000) so that the plan and the replicates share
    one pass of the generator."""
    out: list[npt.NDArray[np.integer]] = []
    if _bootstrap_kernel is None or n_units == 0:
        for c in resample_counts(n_units, n_boot, seed):
            out.append(c.astype(np.uint8) if c.size and c.max() < 256 else c)
        return out
    for idx in _resample_indices_int32(n_units, n_boot, seed):  # the same counts, one C pass
        c32 = np.empty((len(idx), n_units), np.int32)
        _bootstrap_kernel.histogram_rows(idx, c32)
        out.append(c32.astype(np.uint8) if c32.size and c32.max() < 256 else c32)
    return out


def _resample_indices_int32(n_units: int, n_boot: int, seed: int) -> Iterator[npt.NDArray]:
    """:func:`resample_indices` drawn as int32 where the units fit: half the memory, and numpy
    draws the same numbers for an int32 and an int64 range below 2**32 (32-bit bounded draws
    either way; tests/test_bootstrap_kernel.py checks the counts against the int64 draws)."""
    if n_units >= 2**31:
        yield from resample_indices(n_units, n_boot, seed)
        return
    _check_common(n_boot, seed, 0.5)
    rng = np.random.default_rng(int(seed))
    rows = max(1, min(int(n_boot), _BLOCK_ELEMS // max(n_units, 1)))
    done = 0
    while done < n_boot:
        b = min(rows, int(n_boot) - done)
        yield rng.integers(0, n_units, size=(b, n_units), dtype=np.int32)
        done += b


def _plan_for(
    ms: list[OksMatches],
    params: OksParams,
    mask: BoolArray | None,
    blocks: list[npt.NDArray[np.integer]],
    ties: _Ties | None = None,
) -> _Plan:
    """The plan with ``kmax`` the largest multiplicity any replicate (``blocks``: the counts
    of :func:`_counts_blocks`) gives a unit holding a tie run (``ties``: :func:`_ties` of the
    same arguments, when already computed)."""
    ties = _ties(ms, params, mask) if ties is None else ties
    kmax = 1
    if len(ties.run_units):
        for counts in blocks:
            kmax = max(kmax, int(counts[:, ties.run_units].max()))
    return _plan(ms, params, mask, kmax, ties)


def _exclusive_cumsum(
    counts_t: npt.NDArray[np.integer], units: IntArray
) -> npt.NDArray[np.integer]:
    """(n + 1, b) sums of ``counts_t[units[:i]]`` for i = 0..n."""
    out = np.zeros((len(units) + 1, counts_t.shape[1]), counts_t.dtype)
    np.cumsum(counts_t[units], axis=0, out=out[1:])
    return out


def _min_tp_for_recall(rec_thrs: FloatArray, npig: IntArray) -> IntArray:
    """(b, R) smallest integer n with ``n / npig >= r`` in float64 (pycocotools compares
    ``tp_sum / npig`` to the recall points with ``searchsorted(side='left')``)."""
    g = np.maximum(npig, 1).astype(np.float64)[:, None]
    r = rec_thrs[None, :]
    n = np.ceil(r * g)
    for _ in range(2):
        n = np.where((n >= 1) & ((n - 1) / g >= r), n - 1, n)
        n = np.where(n / g < r, n + 1, n)
    return n.astype(np.int64)


def _precision_recall(
    seq: _AreaSeq,
    counts_t: npt.NDArray[np.integer],
    npig: IntArray,
    ndet: IntArray,
    params: OksParams,
) -> tuple[FloatArray, FloatArray]:
    """(b, T, R) interpolated precision and (b, T) recall of one (category, area), -1 where
    undefined, for b resamples given as (U, b) multiplicities (transposed: the cumulative sums
    below run down contiguous rows of b replicates at once)."""
    b = counts_t.shape[1]
    n_thr, n_rec = len(params.iou_thrs), len(params.rec_thrs)
    precision = np.zeros((b, n_thr, n_rec))
    recall = np.zeros((b, n_thr))
    real = counts_t[: len(ndet)]  # the drawn units themselves (virtual copies follow)
    g = npig @ real  # (b,) non-ignored GT in each resample
    nd = ndet @ real
    n_r = _min_tp_for_recall(params.rec_thrs, g)
    eps = np.spacing(1)
    counted = _exclusive_cumsum(counts_t, seq.counted_unit)
    for t, sq in enumerate(seq.per_thr):
        n_tp = len(sq.tp_unit)
        if n_tp == 0:
            continue  # no true positive: precision 0 everywhere, recall 0
        own = counts_t[sq.tp_unit]  # (n_tp, b) copies of each true positive
        tp_sum = np.cumsum(own, axis=0)
        # fp_sum + tp_sum at a true positive's last copy: the counted copies before it, less
        # those ignored at this threshold, plus its own copies (exact integers).
        seen = counted[sq.counted_before] + own
        if len(sq.skip_unit):
            seen -= _exclusive_cumsum(counts_t, sq.skip_unit)[sq.skip_before]
        # pycocotools: pr = tp_sum / (fp_sum + tp_sum + np.spacing(1)), then the running max
        # from the right; within a run of copies of one true positive pr only grows, so the
        # interpolated value anywhere in the run is the one at its last copy, computed here.
        pr = tp_sum / (seen + eps)
        pr = np.maximum.accumulate(pr[::-1], axis=0)[::-1]
        for i in range(b):
            pos = np.searchsorted(tp_sum[:, i], n_r[i], side="left")
            ok = pos < n_tp
            precision[i, t, ok] = pr[pos[ok], i]
        recall[:, t] = np.where(nd > 0, tp_sum[-1] / np.maximum(g, 1), 0.0)
    undefined = g == 0
    precision[undefined] = -1.0
    recall[undefined] = -1.0
    return precision, recall


def _precision_recall_kernel(
    seq: _AreaSeq,
    counts: npt.NDArray[np.int32],
    g: IntArray,
    nd: IntArray,
    params: OksParams,
) -> tuple[FloatArray, FloatArray]:
    """:func:`_precision_recall` by the compiled kernel, from (b, U) int32 multiplicities (one
    contiguous row per replicate, virtual units included), ``g`` (b,) the non-ignored GT and
    ``nd`` (b,) the detections of each resample; the same numbers, bit for bit. Blocks of
    replicates run in threads (the kernel releases the GIL)."""
    assert _bootstrap_kernel is not None
    b = counts.shape[0]
    n_thr, n_rec = len(params.iou_thrs), len(params.rec_thrs)
    n_r = np.ascontiguousarray(_min_tp_for_recall(params.rec_thrs, g), np.int64)
    precision = np.zeros((b, n_thr, n_rec))
    recall = np.zeros((b, n_thr))
    counted_unit = np.ascontiguousarray(seq.counted_unit, np.int64)
    flat = seq.flat

    def work(lo: int, hi: int) -> None:
        _bootstrap_kernel.curves(
            counts[lo:hi], counted_unit, *flat, n_r[lo:hi], nd[lo:hi], g[lo:hi],
            precision[lo:hi], recall[lo:hi],
        )  # fmt: skip

    n_workers = max(1, min(parallel.threads(), b // 16))
    if n_workers == 1:
        work(0, b)
    else:
        cuts = np.linspace(0, b, n_workers + 1).astype(int)
        with ThreadPoolExecutor(n_workers) as pool:
            list(pool.map(work, cuts[:-1], cuts[1:]))
    undefined = g == 0
    precision[undefined] = -1.0
    recall[undefined] = -1.0
    return precision, recall


def _masked_mean(x: FloatArray) -> FloatArray:
    """(b,) mean over each row's entries > -1 (pycocotools ``_summarize``), NaN if none."""
    flat = x.reshape(len(x), -1)
    valid = flat > -1
    out = np.full(len(x), np.nan)
    full = valid.all(axis=1)
    if full.any():
        out[full] = flat[full].mean(axis=1)
    for i in np.flatnonzero(~full & valid.any(axis=1)):
        out[i] = np.mean(flat[i][valid[i]])
    return out


def _unit_counts(plan: _Plan, params: OksParams, counts: IntArray) -> npt.NDArray[np.integer]:
    """(U', b) multiplicities of the units, then of the virtual units of tie runs, for b
    resamples given as (b, U) counts."""
    # Sums of multiplicities stay below U * max_dets: int32 when that fits (half the traffic).
    small = plan.n_units * max(params.max_dets[-1], 1) < np.iinfo(np.int32).max
    counts_t: npt.NDArray[np.integer] = (
        np.ascontiguousarray(counts.T, dtype=np.int32)
        if small
        else np.ascontiguousarray(counts.T, dtype=np.int64)
    )
    if len(plan.run_units):
        # virtual units: copy k of a run unit is drawn (once) when the unit is drawn > k times
        copies = counts_t[plan.run_units][:, None, :] > np.arange(plan.kmax)[None, :, None]
        counts_t = np.concatenate(
            [counts_t, copies.reshape(-1, counts_t.shape[1]).astype(counts_t.dtype)]
        )
    return counts_t


def _unit_rows(plan: _Plan, counts: npt.NDArray[np.integer]) -> npt.NDArray[np.int32]:
    """(b, U') int32 multiplicities, one contiguous row per replicate (the kernel's layout):
    the units, then the virtual units of tie runs."""
    rows = counts.astype(np.int32)
    if len(plan.run_units):
        copies = counts[:, plan.run_units][:, :, None] > np.arange(plan.kmax)[None, None, :]
        rows = np.concatenate([rows, copies.reshape(len(rows), -1).astype(np.int32)], axis=1)
    return np.ascontiguousarray(rows)


def _kernel_ok(plans: list[_Plan], params: OksParams) -> bool:
    """Whether the compiled kernel serves these plans (built, and sums fit in int32)."""
    return _bootstrap_kernel is not None and all(
        p.n_units * max(params.max_dets[-1], 1) < np.iinfo(np.int32).max for p in plans
    )


def _oks_replicates(
    plan: _Plan, params: OksParams, counts: npt.NDArray[np.integer]
) -> dict[str, FloatArray]:
    n_area = len(params.area_ranges)
    kernel = _kernel_ok([plan], params)
    counts_t = None if kernel else _unit_counts(plan, params, counts.astype(np.int64))
    rows = _unit_rows(plan, counts) if kernel else None
    prec: list[list[FloatArray]] = [[] for _ in range(n_area)]
    rec: list[list[FloatArray]] = [[] for _ in range(n_area)]
    for k, per_area in enumerate(plan.seqs):
        if rows is not None:
            # (b, A + 1): each resample's non-ignored GT per area range, then its detections
            weights = np.ascontiguousarray(np.vstack([plan.npig[k], plan.ndet[k][None]]), np.int64)
            sums = np.empty((len(rows), n_area + 1), np.int64)
            assert _bootstrap_kernel is not None
            _bootstrap_kernel.row_dots(rows, weights, sums)
        for a in range(n_area):
            if rows is not None:
                p, r = _precision_recall_kernel(
                    per_area[a], rows, np.ascontiguousarray(sums[:, a]),
                    np.ascontiguousarray(sums[:, n_area]), params,
                )  # fmt: skip
            else:
                assert counts_t is not None
                p, r = _precision_recall(
                    per_area[a], counts_t, plan.npig[k][a], plan.ndet[k], params
                )
            prec[a].append(p)
            rec[a].append(r)
    out = {}
    for name, ap, a, t in _stat_specs(params):
        # (b, T, R, K) / (b, T, K), flattened in the order summarize_stat flattens.
        x = np.stack(prec[a], axis=-1) if ap else np.stack(rec[a], axis=-1)
        if t is not None:
            x = x[:, t : t + 1]
        out[name] = _masked_mean(x)
    return out


def _oks_estimates(
    ms: list[OksMatches],
    params: OksParams,
    image_mask: BoolArray | None,
    curves: tuple[FloatArray, FloatArray] | None = None,
) -> dict[str, float]:
    if curves is None:
        acc = [accumulate(m, params, image_mask) for m in ms]
        precision = np.stack([x[0] for x in acc], axis=2)
        recall = np.stack([x[1] for x in acc], axis=1)
    else:
        precision, recall = curves
    md = params.max_dets[-1]
    out = {}
    for name, ap, a, t in _stat_specs(params):
        thr = None if t is None else float(params.iou_thrs[t])
        out[name] = summarize_stat(
            precision, recall, params, ap=ap, iou_thr=thr, area=params.area_labels[a], max_dets=md
        )
    return out


def _check_oks(
    matches: OksMatches | Sequence[OksMatches], params: OksParams, image_mask: npt.ArrayLike | None
) -> tuple[list[OksMatches], BoolArray | None]:
    ms = [matches] if isinstance(matches, OksMatches) else list(matches)
    if not ms:
        raise ValueError("no match records given")
    n_img = len(ms[0].image_ids)
    for m in ms:
        if not np.array_equal(m.image_ids, ms[0].image_ids):
            raise ValueError("match records of different categories cover different images")
        if m.det_tp.shape[:2] != (len(params.area_ranges), len(params.iou_thrs)):
            raise ValueError(
                f"match records are (A, T) = {m.det_tp.shape[:2]}, params say "
                f"({len(params.area_ranges)}, {len(params.iou_thrs)}): not the params they were "
                "matched with"
            )
    if len(set(params.area_labels)) != len(params.area_labels):
        raise ValueError(f"area labels must be unique, got {params.area_labels}")
    if image_mask is None:
        return ms, None
    mask = np.asarray(image_mask)
    if mask.dtype != bool or mask.shape != (n_img,):
        raise ValueError(
            f"image_mask must be a bool (I={n_img},) array, got {mask.dtype} {mask.shape}"
        )
    return ms, mask


def _run_oks(
    plans: list[_Plan], params: OksParams, n_boot: int, blocks: list[npt.NDArray[np.integer]]
) -> list[dict[str, FloatArray]]:
    names = oks_stat_names(params)
    out = [{n: np.empty(n_boot) for n in names} for _ in plans]
    at = 0
    # The numpy path's temporaries are (rows, detections): smaller blocks of rows for it. The
    # compiled kernel has none and takes each block of resamples whole, consecutive blocks joined
    # up to _KERNEL_ROWS rows (with many units a block holds few rows, and each kernel call
    # walks every detection once for up to 32 of them; the same rows, in the same order).
    kernel = _kernel_ok(plans, params)
    if kernel:
        blocks = _join_blocks(blocks, _KERNEL_ROWS)
    step = max(len(c) for c in blocks) if kernel else _oks_rows(plans)
    for counts in blocks:
        for lo in range(0, len(counts), step):
            c = counts[lo : lo + step]
            for plan, dst in zip(plans, out, strict=True):
                for name, v in _oks_replicates(plan, params, c).items():
                    dst[name][at : at + len(c)] = v
            at += len(c)
    return out


#: Replicates per call of the compiled kernel (at least; see _run_oks).
_KERNEL_ROWS = 256


def _join_blocks(blocks: list[npt.NDArray[np.integer]], rows: int) -> list[npt.NDArray[np.integer]]:
    """Consecutive (b, U) blocks concatenated until each holds at least ``rows`` rows (the last
    may hold fewer); one dtype wide enough for all."""
    out: list[npt.NDArray[np.integer]] = []
    group: list[npt.NDArray[np.integer]] = []
    for c in blocks:
        group.append(c)
        if sum(len(g) for g in group) >= rows:
            out.append(np.concatenate(group) if len(group) > 1 else group[0])
            group = []
    if group:
        out.append(np.concatenate(group) if len(group) > 1 else group[0])
    return out


def _oks_rows(plans: list[_Plan]) -> int:
    return max(1, _OKS_BLOCK_ELEMS // max(p.longest for p in plans))


def bootstrap_oks(
    matches: OksMatches | Sequence[OksMatches],
    params: OksParams,
    *,
    n_boot: int = OKS_N_BOOT,
    seed: int = 0,
    confidence: float = 0.95,
    image_mask: npt.ArrayLike | None = None,
    curves: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
) -> dict[str, BootstrapCI]:
    """Bootstrap CIs of the OKS AP/AR statistics, resampling images.

    Args:
        matches: match records (``OksEvaluation.per_category``, or one ``OksMatches``).
        params: the parameters they were matched with.
        n_boot: B (default :data:`OKS_N_BOOT`).
        seed, confidence: the seed, the interval's coverage.
        image_mask: (I,) bool over ``image_ids``: resample only these images (e.g. one crowd
            bucket); the estimate is then the bucket's own AP.
        curves: ``(OksEvaluation.precision, OksEvaluation.recall)`` of these very matches and
            params, when at hand (no ``image_mask``): the estimates are read from them instead
            of accumulating the matches again.

    Returns:
        ``{name: BootstrapCI}`` for :func:`oks_stat_names`; each ``estimate`` is exactly the
        headline value (``accumulate`` + ``summarize_stat``), NaN where undefined.
    """
    _check_common(n_boot, seed, confidence)
    ms, mask = _check_oks(matches, params, image_mask)
    n_units = int(mask.sum()) if mask is not None else len(ms[0].image_ids)
    # The resamples are drawn in a second thread (numpy's generator and the histogram release
    # the GIL) while the estimates and the tie runs are computed.
    with ThreadPoolExecutor(1, thread_name_prefix="posebench-resample") as pool:
        fut = pool.submit(_counts_blocks, n_units, int(n_boot), int(seed))
        if curves is not None and mask is None:
            pr = (np.asarray(curves[0], np.float64), np.asarray(curves[1], np.float64))
            est = _oks_estimates(ms, params, mask, pr)
        else:
            est = _oks_estimates(ms, params, mask)
        ties = _ties(ms, params, mask)
        blocks = fut.result()
    plan = _plan_for(ms, params, mask, blocks, ties)
    reps = _run_oks([plan], params, int(n_boot), blocks)[0]
    return {n: _summary(est[n], reps[n], n_boot, seed, confidence) for n in est}


def paired_bootstrap_oks(
    matches_a: OksMatches | Sequence[OksMatches],
    matches_b: OksMatches | Sequence[OksMatches],
    params: OksParams,
    *,
    n_boot: int = OKS_N_BOOT,
    seed: int = 0,
    confidence: float = 0.95,
    image_mask: npt.ArrayLike | None = None,
) -> dict[str, PairedBootstrap]:
    """Paired bootstrap of two runs' OKS AP/AR on the same images (the same image resamples for
    both): ``delta = a - b`` per statistic.

    Both runs must have been matched on the same images with ``params``.
    """
    _check_common(n_boot, seed, confidence)
    ma, mask = _check_oks(matches_a, params, image_mask)
    mb, _ = _check_oks(matches_b, params, image_mask)
    if not np.array_equal(ma[0].image_ids, mb[0].image_ids):
        raise ValueError("the two runs were evaluated on different images; pairing needs the same")
    if len(ma) != len(mb):
        raise ValueError(f"the two runs have {len(ma)} and {len(mb)} categories")
    est_a, est_b = _oks_estimates(ma, params, mask), _oks_estimates(mb, params, mask)
    n_units = int(mask.sum()) if mask is not None else len(ma[0].image_ids)
    blocks = _counts_blocks(n_units, int(n_boot), int(seed))
    rep_a, rep_b = _run_oks(
        [_plan_for(ma, params, mask, blocks), _plan_for(mb, params, mask, blocks)],
        params,
        int(n_boot),
        blocks,
    )
    out = {}
    for n in est_a:
        a = _summary(est_a[n], rep_a[n], n_boot, seed, confidence)
        b = _summary(est_b[n], rep_b[n], n_boot, seed, confidence)
        out[n] = _paired(a, b, int(n_boot), int(seed), confidence)
    return out
