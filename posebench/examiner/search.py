"""PoseExaminer-style failure search (Liu et al., CVPR 2023) over the examiner's space.

Two phases, every agent batched into one :meth:`Evaluator.evaluate` call per step:

1. **Find a failure.** Each of N agents holds a diagonal Gaussian policy over the normalised
   space ``[-1, 1]^D`` (mean and log-std, means started uniformly at random). Per iteration it
   draws ``rollouts`` points (clipped to the box); the reward is the model's error. REINFORCE
   with a baseline (the mean reward of the agent's rollouts, advantages divided by their std)
   and Adam move mean and log-std up the expected error. An agent stops as soon as one of its
   rollouts reaches the failure ``threshold``: that rollout is its failure point. An agent
   without one after ``max_iters`` iterations (or when phase 1 has used its share of the
   budget) has failed.
2. **Grow a failure region.** Around each failure point a box ``[lo, hi]`` (half-width
   ``init_width``) grows dimension by dimension: every round proposes, for each dimension and
   side not yet frozen, to move the bound outwards by that side's step (from the point itself
   by default: the first failure an agent meets lies near the edge of its region, and growing
   from it lets the region extend only to the failing side); the proposal is scored
   on ``region_samples`` points drawn uniformly in the slab it would add (the dimension in the
   new strip, every other dimension uniform in the current box; PoseExaminer samples just
   beyond the boundary the same way). It is accepted when the share of failures among them is
   at least ``region_rate``; accepted steps grow by 1.5x, rejected ones halve, and a side
   freezes below ``min_step`` or at the space's edge. All proposals of a round are scored in one
   batch, so two accepted expansions can meet in a corner neither slab covered: a box that took
   several expansions in a round is checked on ``region_samples`` uniform points and, if it
   fails the check, keeps only one of them. A final
   ``verify_samples`` points drawn uniformly in each box measure its actual failure rate, which
   is reported.

Reported, as PoseExaminer does: the success rate (share of agents that found a failure) and the
region size. PoseExaminer's NormGap is ``||phi_up + phi_low||_2``, the L2 norm of the region's
widths in joint-angle radians; here ``norm_gap`` is that norm over the normalised widths (each
dimension's width as a fraction of its range, so every group counts) and ``norm_gap_rad`` the
norm over the pose dimensions' widths in radians (PoseExaminer's own unit). ``mean_width`` and
``volume`` (product of the fractions) complete the picture.

Every random draw comes from one ``numpy.random.Generator`` seeded by ``seed``; with a
deterministic adapter a run is reproducible. The budget counts adapter queries (scored bodies).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from posebench.errors import InputError
from posebench.examiner.env import Evaluation, Evaluator

__all__ = [
    "DEFAULT_THRESHOLDS",
    "FailureMode",
    "SearchConfig",
    "SearchResult",
    "auto_threshold",
    "search",
]

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]

#: Failure thresholds per error metric: 1 - OKS >= 0.5 (the pose matches worse than OKS 0.5, the
#: loosest COCO AP threshold); a mean keypoint error of a fifth of the box diagonal; 90 mm MPJPE
#: (PoseExaminer's threshold).
DEFAULT_THRESHOLDS: dict[str, float] = {"oks": 0.5, "normalized": 0.2, "mpjpe": 90.0}


@dataclass(frozen=True)
class SearchConfig:
    """Knobs of :func:`search` (defaults: a small CPU search; raise agents and rollouts on GPU).

    Attributes:
        agents: number of agents (policies).
        rollouts: points each agent draws per policy-gradient iteration.
        max_iters: iterations an agent may take to find a failure.
        lr: Adam step size on the policy's mean and log-std.
        init_std: initial policy std (normalised units); clamped to [min_std, max_std].
        threshold: error at or above which a sample is a failure.
        region_rate: failure share a region expansion must keep (PoseExaminer: all samples).
        region_samples: points scored per expansion proposal.
        init_width: initial half-width of a region around its failure point (0: the point; a
            failure point usually lies just past the edge of a failure region, so a box centred
            on it would straddle the edge, while strips grown from the point go only inwards).
        init_step, min_step, max_step: expansion step sizes (normalised units).
        max_rounds: region-growing rounds.
        verify_samples: points scored uniformly inside each final region.
        search_share: share of the budget phase 1 may use (the rest grows regions).
        seed: seeds every random draw.
    """

    agents: int = 8
    rollouts: int = 8
    max_iters: int = 300
    lr: float = 0.1
    init_std: float = 0.3
    min_std: float = 0.02
    max_std: float = 1.0
    threshold: float = 0.5
    region_rate: float = 0.9
    region_samples: int = 8
    init_width: float = 0.0
    init_step: float = 0.1
    min_step: float = 0.01
    max_step: float = 0.5
    max_rounds: int = 40
    verify_samples: int = 32
    search_share: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("agents", "rollouts", "max_iters", "region_samples", "max_rounds"):
            if getattr(self, name) < 1:
                raise InputError(f"must be at least 1, got {getattr(self, name)}", field=name)
        if not 0 < self.region_rate <= 1:
            raise InputError(f"must be in (0, 1], got {self.region_rate}", field="region_rate")
        if not 0 < self.search_share <= 1:
            raise InputError(f"must be in (0, 1], got {self.search_share}", field="search_share")
        if not math.isfinite(self.threshold):
            raise InputError("must be finite", field="threshold")


@dataclass
class FailureMode:
    """One agent's failure: the point, its error, and the region grown around it.

    ``point``/``lower``/``upper`` are normalised (D,) vectors; ``params`` and ``region`` the
    same in physical units by dimension name. ``prediction``, ``keypoints`` and ``visibility``
    are the adapter's and the ground-truth keypoints at the point (for drawing).
    """

    agent: int
    point: FloatArray
    error: float
    iterations: int
    params: dict[str, float]
    lower: FloatArray
    upper: FloatArray
    region: dict[str, tuple[float, float]]
    width: FloatArray
    norm_gap: float
    norm_gap_rad: float
    region_failure_rate: float
    region_verified: int
    prediction: FloatArray
    keypoints: FloatArray
    visibility: FloatArray

    def to_json(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "error": self.error,
            "iterations": self.iterations,
            "params": self.params,
            "point": self.point.tolist(),
            "region": {k: list(v) for k, v in self.region.items()},
            "lower": self.lower.tolist(),
            "upper": self.upper.tolist(),
            "width": self.width.tolist(),
            "norm_gap": self.norm_gap,
            "norm_gap_rad": self.norm_gap_rad,
            "region_failure_rate": self.region_failure_rate,
            "region_verified_samples": self.region_verified,
        }


@dataclass
class SearchResult:
    """What a search found. ``history`` holds every scored sample: ``x`` (Q, D) normalised,
    ``error`` (Q,), ``agent`` (Q,), ``phase`` (Q,) 0 search / 1 region / 2 verify."""

    failure_modes: list[FailureMode]
    agents: int
    success_rate: float
    region_size: float
    region_size_rad: float
    mean_width: float
    volume: float
    queries: int
    budget: int | None
    seed: int
    threshold: float
    metric: str
    dimensions: list[dict[str, Any]]
    config: dict[str, Any]
    history: dict[str, np.ndarray] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "success_rate": self.success_rate,
            "agents": self.agents,
            "successes": len(self.failure_modes),
            "region_size": {
                "norm_gap": self.region_size,
                "norm_gap_rad": self.region_size_rad,
                "mean_width": self.mean_width,
                "volume": self.volume,
            },
            "queries": self.queries,
            "budget": self.budget,
            "seed": self.seed,
            "threshold": self.threshold,
            "metric": self.metric,
            "dimensions": self.dimensions,
            "config": self.config,
            "failure_modes": [f.to_json() for f in self.failure_modes],
        }


class _History:
    def __init__(self) -> None:
        self.x: list[FloatArray] = []
        self.err: list[FloatArray] = []
        self.agent: list[npt.NDArray[np.int64]] = []
        self.phase: list[npt.NDArray[np.int64]] = []

    def add(self, x: FloatArray, err: FloatArray, agent: npt.ArrayLike, phase: int) -> None:
        self.x.append(x)
        self.err.append(err)
        self.agent.append(np.broadcast_to(np.asarray(agent, np.int64), err.shape).copy())
        self.phase.append(np.full(err.shape, phase, np.int64))

    def arrays(self, d: int) -> dict[str, np.ndarray]:
        if not self.x:
            return {"x": np.zeros((0, d)), "error": np.zeros(0), "agent": np.zeros(0, np.int64),
                    "phase": np.zeros(0, np.int64)}  # fmt: skip
        return {
            "x": np.concatenate(self.x),
            "error": np.concatenate(self.err),
            "agent": np.concatenate(self.agent),
            "phase": np.concatenate(self.phase),
        }


def _fails(err: FloatArray, threshold: float) -> npt.NDArray[np.bool_]:
    """Failure flags; NaN (nothing scorable) is not a failure."""
    return np.asarray(np.nan_to_num(err, nan=-np.inf) >= threshold)


def search(evaluator: Evaluator, config: SearchConfig | None = None) -> SearchResult:
    """Run the two-phase PoseExaminer search (see the module docstring)."""
    cfg = config or SearchConfig()
    rng = np.random.default_rng(cfg.seed)
    space = evaluator.space
    d = space.size
    hist = _History()
    budget = evaluator.remaining
    start_queries = evaluator.queries
    phase1_cap = None if budget is None else int(budget * cfg.search_share)

    found = _find_failures(evaluator, cfg, rng, hist, phase1_cap, start_queries)
    modes = _grow_regions(evaluator, cfg, rng, hist, found) if found else []

    widths = np.array([m.width for m in modes]) if modes else np.zeros((0, d))
    result = SearchResult(
        failure_modes=modes,
        agents=cfg.agents,
        success_rate=len(modes) / cfg.agents,
        region_size=float(np.mean([m.norm_gap for m in modes])) if modes else math.nan,
        region_size_rad=float(np.mean([m.norm_gap_rad for m in modes])) if modes else math.nan,
        mean_width=float(widths.mean()) if modes else math.nan,
        volume=float(np.mean(np.prod(widths, axis=1))) if modes else math.nan,
        queries=evaluator.queries - start_queries,
        budget=budget,
        seed=cfg.seed,
        threshold=cfg.threshold,
        metric=evaluator.metric,
        dimensions=space.to_json(),
        config={k: getattr(cfg, k) for k in cfg.__dataclass_fields__},
        history=hist.arrays(d),
    )
    log.info(
        "examiner: %d/%d agents found a failure, %d queries",
        len(modes),
        cfg.agents,
        result.queries,
    )
    return result


@dataclass
class _Found:
    agent: int
    point: FloatArray
    error: float
    iterations: int
    ev: Evaluation
    row: int


def _find_failures(
    evaluator: Evaluator,
    cfg: SearchConfig,
    rng: np.random.Generator,
    hist: _History,
    cap: int | None,
    q0: int,
) -> list[_Found]:
    """Phase 1: REINFORCE agents until each finds a failure or runs out."""
    n, d = cfg.agents, evaluator.space.size
    mu = rng.uniform(-0.8, 0.8, (n, d))
    log_std = np.full((n, d), math.log(cfg.init_std))
    lo_ls, hi_ls = math.log(cfg.min_std), math.log(cfg.max_std)
    m1 = np.zeros((2, n, d))
    m2 = np.zeros((2, n, d))
    t = np.zeros(n)
    iters = np.zeros(n, np.int64)
    active = np.ones(n, bool)
    found: list[_Found] = []
    b1, b2 = 0.9, 0.999
    while active.any():
        agents = np.flatnonzero(active)
        left = None if cap is None else cap - (evaluator.queries - q0)
        m = cfg.rollouts
        if left is not None:
            m = min(m, left // len(agents))
            if m < 2:  # one rollout per agent carries no baseline; stop here
                break
        std = np.exp(log_std[agents])
        eps = rng.standard_normal((len(agents), m, d))
        x = np.clip(mu[agents, None] + std[:, None] * eps, -1.0, 1.0)
        ev = evaluator.evaluate(x.reshape(-1, d))
        err = ev.errors.reshape(len(agents), m)
        hist.add(x.reshape(-1, d), ev.errors, np.repeat(agents, m), 0)
        r = np.nan_to_num(err, nan=0.0)
        fails = _fails(err, cfg.threshold)
        iters[agents] += 1
        for j, a in enumerate(agents):
            if fails[j].any():
                best = int(np.argmax(np.where(fails[j], r[j], -np.inf)))
                found.append(
                    _Found(int(a), x[j, best].copy(), float(r[j, best]), int(iters[a]), ev,
                           j * m + best)
                )  # fmt: skip
                active[a] = False
        # REINFORCE with a baseline on the agents still searching.
        go = ~fails.any(1)
        idx = agents[go]
        if len(idx):
            rr = r[go]
            adv = (rr - rr.mean(1, keepdims=True)) / (rr.std(1, keepdims=True) + 1e-8)
            e = eps[go]
            g_mu = (adv[..., None] * e).mean(1) / std[go]
            g_ls = (adv[..., None] * (e**2 - 1.0)).mean(1)
            t[idx] += 1
            for k, g in enumerate((g_mu, g_ls)):
                m1[k, idx] = b1 * m1[k, idx] + (1 - b1) * g
                m2[k, idx] = b2 * m2[k, idx] + (1 - b2) * g**2
                mh = m1[k, idx] / (1 - b1 ** t[idx])[:, None]
                vh = m2[k, idx] / (1 - b2 ** t[idx])[:, None]
                step = cfg.lr * mh / (np.sqrt(vh) + 1e-8)
                if k == 0:
                    mu[idx] = np.clip(mu[idx] + step, -1.0, 1.0)
                else:
                    log_std[idx] = np.clip(log_std[idx] + step, lo_ls, hi_ls)
        active &= iters < cfg.max_iters
    found.sort(key=lambda f: f.agent)
    return found


def _grow_regions(
    evaluator: Evaluator,
    cfg: SearchConfig,
    rng: np.random.Generator,
    hist: _History,
    found: list[_Found],
) -> list[FailureMode]:
    """Phase 2: grow a box around every failure point, then verify each box."""
    space = evaluator.space
    s, d, k = len(found), space.size, cfg.region_samples
    pts = np.array([f.point for f in found])
    lo = np.clip(pts - cfg.init_width, -1.0, 1.0)
    hi = np.clip(pts + cfg.init_width, -1.0, 1.0)
    step = np.full((s, d, 2), cfg.init_step)  # side 0: lower bound, side 1: upper bound
    frozen = np.stack([lo <= -1.0, hi >= 1.0], -1)
    agent_ids = np.array([f.agent for f in found])
    verify = cfg.verify_samples
    if evaluator.remaining is not None:  # at most half of what is left goes to verification
        verify = min(verify, evaluator.remaining // (2 * s))
    for _ in range(cfg.max_rounds):
        props = np.argwhere(~frozen)  # (P, 3): region, dim, side
        if not len(props):
            break
        left = evaluator.remaining
        if left is not None:
            left -= verify * s + k * s  # keep the verification's and the check's shares
            fit = max(left, 0) // k
            if fit < 1:
                break
            if fit < len(props):
                props = props[np.sort(rng.permutation(len(props))[:fit])]
        ri, di, side = props[:, 0], props[:, 1], props[:, 2]
        st = step[ri, di, side]
        new = np.where(side == 0, np.clip(lo[ri, di] - st, -1, 1), np.clip(hi[ri, di] + st, -1, 1))
        # k samples per proposal: uniform in the region, the proposal's dimension in the strip.
        u = rng.uniform(size=(len(props), k, d))
        x = lo[ri, None] + u * (hi[ri, None] - lo[ri, None])
        a = np.where(side == 0, new, hi[ri, di])
        b = np.where(side == 0, lo[ri, di], new)
        strip = a[:, None] + rng.uniform(size=(len(props), k)) * (b - a)[:, None]
        x[np.arange(len(props)), :, di] = strip
        ev = evaluator.evaluate(x.reshape(-1, d))
        hist.add(x.reshape(-1, d), ev.errors, np.repeat(agent_ids[ri], k), 1)
        rate = _fails(ev.errors, cfg.threshold).reshape(len(props), k).mean(1)
        ok = rate >= cfg.region_rate
        lo2, hi2 = lo.copy(), hi.copy()
        lo2[ri[ok & (side == 0)], di[ok & (side == 0)]] = new[ok & (side == 0)]
        hi2[ri[ok & (side == 1)], di[ok & (side == 1)]] = new[ok & (side == 1)]
        # Expansions accepted together can meet in a corner no strip covered: k samples in each
        # grown box check the combination. A box that fails the check (or that cannot be checked
        # for lack of budget) keeps only one of its accepted expansions, at random: the one its
        # strip vouched for.
        grown = np.flatnonzero(np.bincount(ri[ok], minlength=s) > 1)
        bad = grown
        left = evaluator.remaining
        if len(grown) and (left is None or left >= k * len(grown)):
            xc = (
                lo2[grown, None]
                + rng.uniform(size=(len(grown), k, d)) * (hi2[grown] - lo2[grown])[:, None]
            )
            evc = evaluator.evaluate(xc.reshape(-1, d))
            hist.add(xc.reshape(-1, d), evc.errors, np.repeat(agent_ids[grown], k), 1)
            rate_c = _fails(evc.errors, cfg.threshold).reshape(len(grown), k).mean(1)
            bad = grown[rate_c < cfg.region_rate]
        if len(bad):
            acc = np.flatnonzero(ok & np.isin(ri, bad))
            acc = acc[rng.permutation(len(acc))]
            one = acc[np.unique(ri[acc], return_index=True)[1]]
            ok[acc] = False
            ok[one] = True
            lo2[bad], hi2[bad] = lo[bad], hi[bad]
            sel0, sel1 = one[side[one] == 0], one[side[one] == 1]
            lo2[ri[sel0], di[sel0]] = new[sel0]
            hi2[ri[sel1], di[sel1]] = new[sel1]
        lo, hi = lo2, hi2
        step[ri, di, side] = np.where(ok, np.minimum(st * 1.5, cfg.max_step), st * 0.5)
        frozen[:, :, 0] |= lo <= -1.0
        frozen[:, :, 1] |= hi >= 1.0
        frozen |= step < cfg.min_step
    # Verification: uniform samples inside each final box.
    left = evaluator.remaining
    nv = verify if left is None else min(max(verify, 1), max(left, 0) // s)
    rates = np.full(s, math.nan)
    if nv > 0:
        x = lo[:, None] + rng.uniform(size=(s, nv, d)) * (hi - lo)[:, None]
        ev = evaluator.evaluate(x.reshape(-1, d))
        hist.add(x.reshape(-1, d), ev.errors, np.repeat(agent_ids, nv), 2)
        rates = _fails(ev.errors, cfg.threshold).reshape(s, nv).mean(1)
    span = space.highs() - space.lows()
    is_pose = np.array([dim.group == "pose" for dim in space.dims])
    modes = []
    for i, f in enumerate(found):
        width = np.clip((hi[i] - lo[i]) / 2.0, 0.0, 1.0)
        rad = width * span
        plo, phi = space.to_physical(lo[i]), space.to_physical(hi[i])
        modes.append(
            FailureMode(
                agent=f.agent,
                point=f.point,
                error=f.error,
                iterations=f.iterations,
                params=space.named(f.point),
                lower=lo[i].copy(),
                upper=hi[i].copy(),
                region={
                    n: (float(a), float(b)) for n, a, b in zip(space.names, plo, phi, strict=True)
                },
                width=width,
                norm_gap=float(np.linalg.norm(width)),
                norm_gap_rad=float(np.linalg.norm(rad[is_pose])),
                region_failure_rate=float(rates[i]),
                region_verified=int(nv),
                prediction=f.ev.predictions[f.row],
                keypoints=f.ev.keypoints[f.row],
                visibility=f.ev.visibility[f.row],
            )
        )
    return modes


def auto_threshold(errors: npt.ArrayLike, metric: str) -> float:
    """A failure threshold calibrated on the model's errors on ordinary poses.

    SMPL and COCO joints differ (hips especially), so even a good model has a floor of error on
    rendered bodies. The threshold sits halfway between the median ordinary error and the worst
    error (1 for ``oks`` and ``normalized``), and never below the metric's default; for
    ``mpjpe`` it is the median plus the default (90 mm).
    """
    e = np.asarray(errors, np.float64)
    e = e[np.isfinite(e)]
    base = DEFAULT_THRESHOLDS[metric]
    if not len(e):
        return base
    med = float(np.median(e))
    if metric == "mpjpe":
        return med + base
    return float(min(max(base, med + 0.5 * (1.0 - med)), 0.95))


def ordinary_points(evaluator: Evaluator, n: int, seed: int = 0) -> FloatArray:
    """(n, D) ordinary scenes for calibration: the default pose with small joint noise
    (std 0.1 normalised), the camera within 45 degrees of the front, no occluder."""
    space = evaluator.space
    rng = np.random.default_rng([seed, 1])
    x = np.repeat(space.default()[None], n, 0)
    for j, dim in enumerate(space.dims):
        if dim.group == "pose":
            x[:, j] += rng.normal(0.0, 0.1, n)
        elif dim.name == "camera.azimuth":
            x[:, j] = space.dims[j].to_unit(0.0) + rng.uniform(-0.25, 0.25, n)
    return np.clip(x, -1.0, 1.0)
