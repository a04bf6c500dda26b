"""PoseExaminer-style failure search (Liu et al., CVPR 2023) over the examiner's space, and the
uniform random search every run is compared with.

``method="pg"``, two phases, every agent batched into one :meth:`Evaluator.evaluate` call per
step:

1. **Find failures.** A scout round first draws uniform scenes (the baseline's own
   distribution) until ``scout_queries`` are scored; their failure share ``p`` is the base
   failure rate, reported as ``scout_failure_rate``, and sets the regime. Then each of N agents
   holds a diagonal Gaussian policy over the normalised space ``[-1, 1]^D`` (mean and log-std,
   means started uniformly at random) and draws ``rollouts`` points per iteration (clipped to
   the box). REINFORCE with a baseline (the mean reward of the agent's rollouts, advantages
   divided by their std) and Adam move mean and log-std up the expected reward. Every failing
   rollout (error at or above ``threshold``) is recorded; one farther than ``mode_radius`` from
   every failure mode found so far starts a new mode (an archive, the dedup of
   :func:`distinct_modes`).

   *Rare failures* (``p < common_rate``): the agents climb. The reward is the model's error
   plus a novelty bonus (``diversity``) for rollouts far from every failure found so far. An
   agent does not stop at its first hit: after a hit it had to climb to it stays
   ``stay_iters`` iterations (collecting the failures around it), then restarts with a fresh
   policy at the farthest of 32 uniform candidates from all failure modes found
   (PoseExaminer's multi-agent diversity); a hit at the first iteration after a restart
   restarts it at once; ``max_iters`` without a hit restarts it too. Phase 1 takes
   ``search_share`` of the budget.

   *Common failures* (``p >= common_rate``): uniform sampling already finds a new mode with
   nearly every failure (in many dimensions two uniform scenes lie about 0.82 apart, RMS), and a
   policy that narrows onto one failure only adds near-duplicates. So the policies stay as
   broad as a uniform draw (std at least ``broad_std``, the std of a uniform draw on
   [-1, 1]) and only their means move, with Adam steps of ``broad_lr``, towards where new
   modes are denser; the reward is ``2 * diversity`` for each failure that starts a new mode
   (a novelty archive) and nothing else (the error of a repeat failure would pull the policy
   onto what it has found), and an agent restarts far away once ``stay_iters``
   iterations in a row bring no new mode. Phase 1 takes ``broad_share`` of the budget: with
   failures common, searching covers more modes than growing regions.
2. **Grow failure regions** around one failure per distinct mode (dedup at ``mode_radius``,
   worst first, at most ``max_regions``; only as many as can afford three cube rounds and a
   verification in the budget left). Around each point a box grows, first as a cube: the
   half-width ``w`` of all dimensions at once (from ``init_width`` > 0: a region is never one
   scene) is proposed to grow by a step, scored on ``region_samples`` points uniform in the
   proposed cube and accepted when the failure share among the scored ones is at least
   ``region_rate`` (a round costs ``region_samples`` per region whatever the dimension; steps
   grow 1.5x on acceptance, halve on rejection, and stop below ``min_step``). Then, while
   the budget lasts, dimension by dimension: every round proposes, for each dimension and
   side not yet frozen, to move the bound outwards by that side's step; the proposal is scored
   on ``region_samples`` points drawn uniformly in the slab it would add (the dimension in the
   new strip, every other dimension uniform in the current box; PoseExaminer samples just
   beyond the boundary the same way). It is accepted at the same rate; a side freezes below
   ``min_step`` or at the space's edge (a region whose sides are all frozen is
   ``finished``). All proposals of a round are scored in one
   batch, so two accepted expansions can meet in a corner neither slab covered: a box that took
   several expansions in a round is checked on ``region_samples`` uniform points and, if it
   fails the check, keeps only one of them. Finally up to ``verify_samples`` points drawn
   uniformly in each box measure its actual failure rate, which is reported; a box that fails
   its verification (a few lucky acceptances of 8 samples can grow a box past its mode) is
   cut back to the last cube that passed before it and verified afresh, while the budget
   allows. A region is ``evidence`` only with positive width in every dimension, at least 8
   scored verification samples and a verified rate of at least ``region_rate``, and only such
   regions enter the region-size summary. Rejected scenes (NaN errors) are no sample anywhere.

``method="random"``: each agent is a stream of ``rollouts`` uniform draws per iteration, for the
whole budget; its failures are reported as points (no region, never evidence).

:func:`search_stats` gives what a side-by-side needs: failures per query, distinct failure
modes (greedy dedup at ``mode_radius``, an RMS distance in normalised units), queries to the
first failure, agents with a failure, iterations per agent.

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
    "SEARCH_METHODS",
    "FailureMode",
    "SearchConfig",
    "SearchResult",
    "auto_threshold",
    "distinct_modes",
    "search",
    "search_stats",
]

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]

#: Failure thresholds per error metric: 1 - OKS >= 0.5 (the pose matches worse than OKS 0.5, the
#: loosest COCO AP threshold); a mean keypoint error of a fifth of the box diagonal; 90 mm MPJPE
#: (PoseExaminer's threshold).
DEFAULT_THRESHOLDS: dict[str, float] = {"oks": 0.5, "normalized": 0.2, "mpjpe": 90.0}

#: Search methods: policy-gradient agents (PoseExaminer) or uniform random search (the baseline).
SEARCH_METHODS = ("pg", "random")


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
        method: ``pg`` (policy-gradient agents) or ``random`` (uniform random search, the
            baseline: each agent is a stream of uniform draws; no regions).
        stay_iters: iterations an agent keeps sampling around its policy after a hit it had to
            climb to (every failing rollout is recorded) before it restarts elsewhere; after a
            hit at its first iteration (a common failure) it restarts at once.
        diversity: weight of the novelty bonus in the reward: a rollout gains
            ``diversity * min(1, d / mode_radius)``, ``d`` the RMS distance to the nearest
            failure found so far (by any agent), so agents spread over distinct failures.
        mode_radius: two failures closer than this RMS distance (normalised units, per
            dimension) belong to one failure mode (the dedup radius of every mode count).
        max_regions: regions grown (the distinct modes with the highest error first;
            default: ``agents``).
        scout_queries: scored uniform scenes of the scout round that estimates the base
            failure rate.
        common_rate: a base failure rate at or above which failures count as common (the
            policies stay broad; see the module docstring).
        broad_std: the policies' smallest std when failures are common (0.58: a uniform
            draw's std on [-1, 1], 1/sqrt(3)).
        broad_lr: Adam step size on the means when failures are common (a policy that broad
            has a coarse gradient; 0.2 is a third of its std).
        broad_share: share of the budget phase 1 may use when failures are common.
    """

    agents: int = 8
    rollouts: int = 8
    max_iters: int = 300
    lr: float = 0.1
    init_std: float = 0.5
    min_std: float = 0.02
    max_std: float = 1.0
    threshold: float = 0.5
    region_rate: float = 0.9
    region_samples: int = 8
    init_width: float = 0.03
    init_step: float = 0.1
    min_step: float = 0.01
    max_step: float = 0.5
    max_rounds: int = 40
    verify_samples: int = 32
    search_share: float = 0.7
    seed: int = 0
    method: str = "pg"
    stay_iters: int = 3
    diversity: float = 0.5
    mode_radius: float = 0.5
    scout_queries: int = 32
    common_rate: float = 0.05
    broad_std: float = 0.58
    broad_lr: float = 0.2
    broad_share: float = 0.8
    max_regions: int | None = None

    def __post_init__(self) -> None:
        if self.method not in SEARCH_METHODS:
            raise InputError(
                f"unknown search {self.method!r}; known: {', '.join(SEARCH_METHODS)}",
                field="search",
            )
        if not self.mode_radius > 0:
            raise InputError(f"must be > 0, got {self.mode_radius}", field="mode_radius")
        for name in ("agents", "rollouts", "max_iters", "region_samples", "max_rounds"):
            if getattr(self, name) < 1:
                raise InputError(f"must be at least 1, got {getattr(self, name)}", field=name)
        if not 0 < self.region_rate <= 1:
            raise InputError(f"must be in (0, 1], got {self.region_rate}", field="region_rate")
        if not 0 < self.search_share <= 1:
            raise InputError(f"must be in (0, 1], got {self.search_share}", field="search_share")
        if not math.isfinite(self.threshold):
            raise InputError("must be finite", field="threshold")
        if not 0 < self.broad_share <= 1:
            raise InputError(f"must be in (0, 1], got {self.broad_share}", field="broad_share")
        if not self.broad_std > 0:
            raise InputError(f"must be > 0, got {self.broad_std}", field="broad_std")
        if not self.common_rate >= 0:
            raise InputError(f"must be >= 0, got {self.common_rate}", field="common_rate")
        if self.scout_queries < 0:
            raise InputError(f"must be >= 0, got {self.scout_queries}", field="scout_queries")


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
    finished: bool = False
    evidence: bool = False
    samples: int = 1
    occluded: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "finished": self.finished,
            "evidence": self.evidence,
            "samples": self.samples,
            "occluded": self.occluded,
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
    method: str = "pg"
    stats: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "stats": self.stats,
            "success_rate": self.success_rate,
            "agents": self.agents,
            "successes": round(self.success_rate * self.agents),
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


def _region_rate(
    err: FloatArray, threshold: float, regions: int, k: int
) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """Failure share among the scored samples of each region's ``k`` (rejected scenes, NaN,
    are no sample) and how many were scored; a region with fewer than ``max(2, k // 2)``
    scored samples gets NaN (never accepted). err: (regions * k,). Returns (regions,) twice."""
    e = np.asarray(err, np.float64).reshape(regions, k)
    scored = np.isfinite(e).sum(1)
    fails = _fails(e, threshold).sum(1)
    rate = np.where(scored >= max(2, k // 2), fails / np.maximum(scored, 1), math.nan)
    return rate, scored.astype(np.int64)


def search(evaluator: Evaluator, config: SearchConfig | None = None) -> SearchResult:
    """Run the search of ``config.method`` (see the module docstring)."""
    cfg = config or SearchConfig()
    rng = np.random.default_rng(cfg.seed)
    space = evaluator.space
    d = space.size
    hist = _History()
    budget = evaluator.remaining
    start_queries = evaluator.queries
    share = 1.0 if cfg.method == "random" else cfg.search_share
    phase1_cap = None if budget is None else int(budget * share)

    if cfg.method == "random":
        found, iters = _random_search(evaluator, cfg, rng, hist, phase1_cap, start_queries)
        p_base = math.nan
    else:
        found, iters, p_base = _find_failures(
            evaluator, cfg, rng, hist, phase1_cap, start_queries, budget
        )
    reps = _representatives(found, cfg, d)
    modes = _grow_regions(evaluator, cfg, rng, hist, reps) if reps and cfg.method == "pg" else []
    left = evaluator.remaining
    if cfg.method == "pg" and left is not None and left >= 2 * cfg.agents:
        # what the regions left of the budget: more search, from where it stopped
        found, iters, _ = _find_failures(
            evaluator, cfg, rng, hist, left, evaluator.queries, None, (p_base, found, iters)
        )
    if cfg.method == "random":
        modes = [_point_mode(space, f) for f in reps]
    evid = [m for m in modes if m.evidence]
    widths = np.array([m.width for m in evid]) if evid else np.zeros((0, d))
    agents_hit = sorted({f.agent for f in found})
    h = hist.arrays(d)
    stats = search_stats(h, cfg.threshold, cfg.mode_radius, cfg.agents)
    stats["iterations_per_agent"] = [int(i) for i in iters]
    if cfg.method == "pg":
        stats["scout_failure_rate"] = p_base
        stats["regime"] = "common" if p_base >= cfg.common_rate else "rare"
    result = SearchResult(
        failure_modes=modes,
        agents=cfg.agents,
        success_rate=len(agents_hit) / cfg.agents,
        region_size=float(np.mean([m.norm_gap for m in evid])) if evid else math.nan,
        region_size_rad=float(np.mean([m.norm_gap_rad for m in evid])) if evid else math.nan,
        mean_width=float(widths.mean()) if evid else math.nan,
        volume=float(np.mean(np.prod(widths, axis=1))) if evid else math.nan,
        queries=evaluator.queries - start_queries,
        budget=budget,
        seed=cfg.seed,
        threshold=cfg.threshold,
        metric=evaluator.metric,
        dimensions=space.to_json(),
        config={k: getattr(cfg, k) for k in cfg.__dataclass_fields__},
        history=h,
        method=cfg.method,
        stats=stats,
    )
    log.info(
        "examiner (%s): %d/%d agents found a failure, %d failing of %d queries, %d modes",
        cfg.method,
        len(agents_hit),
        cfg.agents,
        stats["failures"],
        result.queries,
        stats["distinct_modes"],
    )
    return result


def distinct_modes(x: FloatArray, radius: float) -> npt.NDArray[np.int64]:
    """Greedy dedup: indices of the points (in order) kept as distinct modes.

    x: (N, D) normalised points. A point joins the mode of an earlier kept point within RMS
    distance ``radius`` (``||a - b|| / sqrt(D) < radius``); otherwise it starts a new mode.
    """
    xa = np.asarray(x, np.float64)
    if not len(xa):
        return np.zeros(0, np.int64)
    scale = math.sqrt(xa.shape[1])
    kept: list[int] = []
    reps = np.zeros((0, xa.shape[1]))
    for i, p in enumerate(xa):
        if len(reps) and (np.linalg.norm(reps - p, axis=1) / scale < radius).any():
            continue
        kept.append(i)
        reps = np.vstack([reps, p])
    return np.array(kept, np.int64)


def search_stats(
    history: dict[str, np.ndarray], threshold: float, radius: float, agents: int
) -> dict[str, Any]:
    """What a run found per query, for a side-by-side with another method at the same budget.

    history: ``x`` (Q, D), ``error`` (Q,), ``agent`` (Q,) in query order (NaN errors are
    rejected scenes: no failure). Returns ``queries``, ``failures``, ``failures_per_query``,
    ``distinct_modes`` (dedup at ``radius``, the ``mode_radius``), ``queries_to_first_failure``
    (None when none), and per agent ``agent_failures`` and ``agent_first_failure``.
    """
    err = np.asarray(history["error"], np.float64)
    fails = _fails(err, threshold)
    scored = np.isfinite(err)
    q = int(scored.sum())
    first = np.flatnonzero(fails)
    per_agent = [int(fails[history["agent"] == a].sum()) for a in range(agents)]
    first_agent: list[int | None] = []
    for a in range(agents):
        sel = history["agent"] == a
        f = np.flatnonzero(fails[sel])
        first_agent.append(int(np.cumsum(scored[sel])[f[0]]) if len(f) else None)
    return {
        "queries": q,
        "failures": int(fails.sum()),
        "failures_per_query": float(fails.sum() / q) if q else math.nan,
        "distinct_modes": len(distinct_modes(history["x"][fails], radius)),
        "mode_radius": radius,
        "queries_to_first_failure": int(np.cumsum(scored)[first[0]]) if len(first) else None,
        "agents_with_failure": int(sum(1 for n in per_agent if n)),
        "agent_failures": per_agent,
        "agent_first_failure": first_agent,
    }


@dataclass
class _Found:
    agent: int
    point: FloatArray
    error: float
    iterations: int
    ev: Evaluation
    row: int


def _record(
    found: list[_Found], agent: int, x: FloatArray, err: FloatArray, ev: Evaluation,
    rows: npt.NDArray[np.int64], it: int, threshold: float,
) -> int:  # fmt: skip
    """Append every failing row of one agent's batch; returns how many."""
    f = _fails(err, threshold)
    for j in np.flatnonzero(f):
        found.append(_Found(agent, x[j].copy(), float(err[j]), it, ev, int(rows[j])))
    return int(f.sum())


def _random_search(
    evaluator: Evaluator,
    cfg: SearchConfig,
    rng: np.random.Generator,
    hist: _History,
    cap: int | None,
    q0: int,
) -> tuple[list[_Found], npt.NDArray[np.int64]]:
    """Uniform random search: each agent draws ``rollouts`` uniform points per iteration."""
    n, d = cfg.agents, evaluator.space.size
    found: list[_Found] = []
    iters = np.zeros(n, np.int64)
    proposed0 = getattr(evaluator, "proposed", 0)
    while True:
        left = None if cap is None else cap - (evaluator.queries - q0)
        m = cfg.rollouts if left is None else min(cfg.rollouts, left // n)
        if m < 1 or (cap is None and iters.max() >= cfg.max_iters):
            break
        if cap is not None and getattr(evaluator, "proposed", 0) - proposed0 > 50 * cap:
            break  # nearly every scene is rejected: stop instead of looping
        x = rng.uniform(-1.0, 1.0, (n, m, d))
        ev = evaluator.evaluate(x.reshape(-1, d))
        err = ev.errors.reshape(n, m)
        hist.add(x.reshape(-1, d), ev.errors, np.repeat(np.arange(n), m), 0)
        iters += 1
        for a in range(n):
            _record(found, a, x[a], err[a], ev, a * m + np.arange(m), int(iters[a]),
                    cfg.threshold)  # fmt: skip
    return found, iters


def _novel(
    archive: FloatArray, x: FloatArray, fails: npt.NDArray[np.bool_], radius: float
) -> tuple[npt.NDArray[np.bool_], FloatArray]:
    """Which failing rows of ``x`` (B, D) start a new failure mode: farther than ``radius``
    (RMS, as :func:`distinct_modes`) from every archived mode and every earlier new one, in
    order. Returns the (B,) flags and the archive with the new modes appended."""
    scale = math.sqrt(x.shape[1])
    new = np.zeros(len(x), bool)
    for j in np.flatnonzero(fails):
        if len(archive) and (np.linalg.norm(archive - x[j], axis=1) / scale < radius).any():
            continue
        new[j] = True
        archive = np.vstack([archive, x[j]])
    return new, archive


def _find_failures(
    evaluator: Evaluator,
    cfg: SearchConfig,
    rng: np.random.Generator,
    hist: _History,
    cap: int | None,
    q0: int,
    share_budget: int | None = None,
    resume: tuple[float, list[_Found], npt.NDArray[np.int64]] | None = None,
) -> tuple[list[_Found], npt.NDArray[np.int64], float]:
    """Phase 1: a uniform scout round, then REINFORCE agents that keep searching after a hit.

    The scout round (uniform draws, the baseline's own distribution, until ``scout_queries``
    scenes are scored) estimates the base failure rate ``p``. Every failing rollout is recorded;
    a failure farther than ``mode_radius`` from every failure mode found so far starts a new
    mode (the archive).

    Rare failures (``p < common_rate``): the agents climb. The reward is the error plus a
    novelty bonus for rollouts far from every failure found so far (``diversity``). After a hit
    an agent keeps its policy for ``stay_iters`` iterations (collecting the failures around it),
    then restarts at the candidate point (of 32 uniform ones) farthest from every failure found
    so far, with a fresh policy; an agent that finds nothing in ``max_iters`` iterations
    restarts the same way.

    Common failures (``p >= common_rate``): uniform sampling already finds a new mode with
    nearly every failure, so narrowing a policy only adds near-duplicates. The policies stay as
    broad as a uniform draw (std at least ``broad_std``) and only move their means; the reward
    is ``2 * diversity`` for each failure that starts a new mode, nothing else, and an agent
    restarts far away once ``stay_iters`` iterations in a row bring no new mode.

    ``resume`` (the scout's rate, the failures and the iterations of an earlier call) skips the
    scout and goes on from there: what the region phase leaves of the budget is searched too.

    Returns the failures (with the earlier ones), the iterations per agent and the scout's
    failure rate.
    """
    n, d = cfg.agents, evaluator.space.size
    scale = math.sqrt(d)
    iters = np.zeros(n, np.int64) if resume is None else resume[2].copy()
    found: list[_Found] = [] if resume is None else list(resume[1])
    archive = np.zeros((0, d))
    if found:
        pts = np.array([fd.point for fd in found])
        _, archive = _novel(archive, pts, np.ones(len(pts), bool), cfg.mode_radius)
    proposed0 = getattr(evaluator, "proposed", 0)

    def rollouts() -> int:
        left = None if cap is None else cap - (evaluator.queries - q0)
        return cfg.rollouts if left is None else min(cfg.rollouts, left // n)

    def over_proposed() -> bool:  # nearly every scene is rejected: stop instead of looping
        return cap is not None and getattr(evaluator, "proposed", 0) - proposed0 > 50 * cap

    # Scout: uniform rounds until scout_queries scenes are scored.
    scored = fails = 0
    while resume is None and scored < cfg.scout_queries and not over_proposed():
        m = rollouts()
        if m < 1:
            break
        x = rng.uniform(-1.0, 1.0, (n, m, d))
        ev = evaluator.evaluate(x.reshape(-1, d))
        err = ev.errors.reshape(n, m)
        hist.add(x.reshape(-1, d), ev.errors, np.repeat(np.arange(n), m), 0)
        iters += 1
        f = _fails(ev.errors, cfg.threshold)
        scored += int(np.isfinite(ev.errors).sum())
        fails += int(f.sum())
        _, archive = _novel(archive, x.reshape(-1, d), f, cfg.mode_radius)
        for a in range(n):
            _record(found, a, x[a], err[a], ev, a * m + np.arange(m), int(iters[a]),
                    cfg.threshold)  # fmt: skip
    p_base = (fails / scored if scored else math.nan) if resume is None else resume[0]
    common = bool(p_base >= cfg.common_rate)
    std0 = max(cfg.broad_std, cfg.init_std) if common else cfg.init_std
    floor = cfg.broad_std if common else cfg.min_std
    lo_ls, hi_ls = math.log(floor), math.log(max(cfg.max_std, floor))
    if resume is None:
        log.info("examiner: scout failure rate %.3f of %d scenes: %s failures", p_base, scored,
                 "common" if common else "rare")  # fmt: skip

    mu = rng.uniform(-0.8, 0.8, (n, d))
    log_std = np.full((n, d), math.log(std0))
    m1 = np.zeros((2, n, d))
    m2 = np.zeros((2, n, d))
    t = np.zeros(n)
    since = np.zeros(n, np.int64)  # iterations since the agent's (re)start
    hit_at = np.full(n, -1)  # iteration of the first hit since the (re)start
    dry = np.zeros(n, np.int64)  # iterations in a row without a new mode (common failures)
    b1, b2 = 0.9, 0.999
    if common and cap is not None and share_budget is not None:
        # common failures: broad sampling is what covers modes, so regions get less
        cap = int(share_budget * max(cfg.broad_share, cfg.search_share))
    lr = cfg.broad_lr if common else cfg.lr
    while True:
        m = rollouts()
        if cap is not None:
            if m < 2:  # one rollout per agent carries no baseline; stop here
                break
        elif iters.max() >= cfg.max_iters:
            break
        if over_proposed():
            break
        std = np.exp(log_std)
        eps = rng.standard_normal((n, m, d))
        x = np.clip(mu[:, None] + std[:, None] * eps, -1.0, 1.0)
        ev = evaluator.evaluate(x.reshape(-1, d))
        err = ev.errors.reshape(n, m)
        hist.add(x.reshape(-1, d), ev.errors, np.repeat(np.arange(n), m), 0)
        iters += 1
        since += 1
        r = np.nan_to_num(err, nan=0.0)
        f = _fails(ev.errors, cfg.threshold)
        if common:
            new, archive = _novel(archive, x.reshape(-1, d), f, cfg.mode_radius)
            new = new.reshape(n, m)
            # only a new mode earns reward: the error of a repeat failure would pull the
            # policy onto what it has already found
            r = np.asarray(2.0 * cfg.diversity * new, np.float64)
            dry = np.where(new.any(1), 0, dry + 1)
        elif cfg.diversity > 0 and found:
            pts = np.array([fd.point for fd in found])
            dist = np.linalg.norm(x[:, :, None] - pts[None, None], axis=-1).min(2) / scale
            r += cfg.diversity * np.minimum(dist / cfg.mode_radius, 1.0)
        if not common:
            _, archive = _novel(archive, x.reshape(-1, d), f, cfg.mode_radius)
        for a in range(n):
            k = _record(found, a, x[a], err[a], ev, a * m + np.arange(m), int(iters[a]),
                        cfg.threshold)  # fmt: skip
            if k and hit_at[a] < 0:
                hit_at[a] = since[a]
        # REINFORCE with a baseline, every agent.
        adv = (r - r.mean(1, keepdims=True)) / (r.std(1, keepdims=True) + 1e-8)
        g_mu = (adv[..., None] * eps).mean(1) / std
        g_ls = (adv[..., None] * (eps**2 - 1.0)).mean(1)
        t += 1
        for k2, g in enumerate((g_mu, g_ls)):
            m1[k2] = b1 * m1[k2] + (1 - b1) * g
            m2[k2] = b2 * m2[k2] + (1 - b2) * g**2
            mh = m1[k2] / (1 - b1**t)[:, None]
            vh = m2[k2] / (1 - b2**t)[:, None]
            step = lr * mh / (np.sqrt(vh) + 1e-8)
            if k2 == 0:
                mu = np.clip(mu + step, -1.0, 1.0)
            else:
                log_std = np.clip(log_std + step, lo_ls, hi_ls)
        if common:
            # Restart once the policy stops bringing new modes.
            done = dry >= cfg.stay_iters
        else:
            # Restarts: after staying around a hit, or after max_iters without one. A hit at
            # the first iteration after a (re)start exploits nothing (the failure was there
            # for the taking), so the agent restarts at once; a hit that took climbing is
            # worth staying around.
            stay = np.where(hit_at <= 1, 0, cfg.stay_iters)
            done = (hit_at >= 0) & (since - hit_at >= stay)
        done |= (hit_at < 0) & (since >= cfg.max_iters)
        for ai in np.flatnonzero(done):
            cand = rng.uniform(-0.9, 0.9, (32, d))
            if len(archive):
                far = np.linalg.norm(cand[:, None] - archive[None], axis=-1).min(1)
                mu[ai] = cand[int(np.argmax(far))]
            else:
                mu[ai] = cand[0]
            log_std[ai] = math.log(std0)
            m1[:, ai] = 0.0
            m2[:, ai] = 0.0
            t[ai] = 0
            since[ai] = 0
            hit_at[ai] = -1
            dry[ai] = 0
    return found, iters, p_base


def _representatives(found: list[_Found], cfg: SearchConfig, d: int) -> list[_Found]:
    """One failure per distinct mode (dedup at ``mode_radius``, highest error first), at most
    ``max_regions`` of them, in agent order; each carries its mode's sample count."""
    if not found:
        return []
    order = sorted(range(len(found)), key=lambda i: -found[i].error)
    x = np.array([found[i].point for i in order])
    keep = distinct_modes(x, cfg.mode_radius)
    cap = cfg.max_regions if cfg.max_regions is not None else cfg.agents
    reps = [found[order[i]] for i in keep[:cap]]
    reps.sort(key=lambda f: (f.agent, f.iterations))
    return reps


def _point_mode(space: Any, f: _Found) -> FailureMode:
    """A failure point without a region (random search): zero width, no evidence."""
    z = np.zeros_like(f.point)
    return FailureMode(
        agent=f.agent, point=f.point, error=f.error, iterations=f.iterations,
        params=space.named(f.point), lower=f.point.copy(), upper=f.point.copy(),
        region={n: (v, v) for n, v in space.named(f.point).items()}, width=z,
        norm_gap=0.0, norm_gap_rad=0.0, region_failure_rate=math.nan, region_verified=0,
        prediction=f.ev.predictions[f.row], keypoints=f.ev.keypoints[f.row],
        visibility=f.ev.visibility[f.row],
        occluded=float(f.ev.occluded[f.row]) if f.ev.occluded is not None else 0.0,
    )  # fmt: skip


def _grow_regions(
    evaluator: Evaluator,
    cfg: SearchConfig,
    rng: np.random.Generator,
    hist: _History,
    found: list[_Found],
) -> list[FailureMode]:
    """Phase 2: grow a box around failure points, then verify each box.

    First every box grows in all dimensions at once (a cube of half-width ``w`` around its
    point, ``region_samples`` uniform points per proposal; a round costs ``region_samples`` per
    region whatever the dimension), then dimension by dimension while the budget lasts. Only as
    many regions are grown as can afford four cube rounds and their verification in the budget
    left (the first of ``found``)."""
    space = evaluator.space
    d, k = space.size, cfg.region_samples
    left0 = evaluator.remaining
    if left0 is not None:
        per = 3 * k + min(cfg.verify_samples, 16)
        found = found[: max(1, left0 // per)]
    s = len(found)
    pts = np.array([f.point for f in found])
    agent_ids = np.array([f.agent for f in found])
    verify = cfg.verify_samples
    if left0 is not None:  # a third of what is left verifies, a third may verify a cut-back
        verify = min(verify, left0 // (3 * s))
    # Cube rounds: grow the half-width w of every box while k uniform points in the proposed
    # cube fail at the region rate (steps grow by 1.5x on acceptance, halve on rejection).
    w = np.full(s, cfg.init_width)
    cubes: list[list[float]] = [[cfg.init_width] for _ in range(s)]  # half-widths that passed
    wstep = np.full(s, cfg.init_step)
    active = (wstep >= cfg.min_step) & (w < 1.0)
    for _ in range(cfg.max_rounds):
        idx = np.flatnonzero(active)
        if not len(idx):
            break
        left = evaluator.remaining
        if left is not None:
            fit = max(left - 2 * verify * s, 0) // k
            if fit < 1:
                break
            if fit < len(idx):
                idx = np.sort(rng.choice(idx, fit, replace=False))
        w_new = np.minimum(w[idx] + wstep[idx], 1.0)
        c_lo = np.clip(pts[idx] - w_new[:, None], -1.0, 1.0)
        c_hi = np.clip(pts[idx] + w_new[:, None], -1.0, 1.0)
        x = c_lo[:, None] + rng.uniform(size=(len(idx), k, d)) * (c_hi - c_lo)[:, None]
        ev = evaluator.evaluate(x.reshape(-1, d))
        hist.add(x.reshape(-1, d), ev.errors, np.repeat(agent_ids[idx], k), 1)
        ok = _region_rate(ev.errors, cfg.threshold, len(idx), k)[0] >= cfg.region_rate
        w[idx] = np.where(ok, w_new, w[idx])
        for i in idx[ok]:
            cubes[i].append(float(w[i]))
        wstep[idx] = np.where(ok, np.minimum(wstep[idx] * 1.5, cfg.max_step), wstep[idx] * 0.5)
        active = (wstep >= cfg.min_step) & (w < 1.0)
    lo = np.clip(pts - w[:, None], -1.0, 1.0)
    hi = np.clip(pts + w[:, None], -1.0, 1.0)
    step = np.full((s, d, 2), cfg.init_step)  # side 0: lower bound, side 1: upper bound
    frozen = np.stack([lo <= -1.0, hi >= 1.0], -1)
    for _ in range(cfg.max_rounds):
        props = np.argwhere(~frozen)  # (P, 3): region, dim, side
        if not len(props):
            break
        left = evaluator.remaining
        if left is not None:
            left -= 2 * verify * s + k * s  # keep the verifications' and the check's shares
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
        rate = _region_rate(ev.errors, cfg.threshold, len(props), k)[0]
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
            rate_c = _region_rate(evc.errors, cfg.threshold, len(grown), k)[0]
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
    # Verification: uniform samples inside each final box. A box that fails its verification
    # (a few lucky acceptances can grow a box past its mode) falls back to the last cube that
    # passed before it, verified afresh, while the budget allows.
    rates = np.full(s, math.nan)
    scored = np.zeros(s, np.int64)
    last = [(lo[i].copy(), hi[i].copy()) for i in range(s)]  # the box each rate is about
    cut = np.zeros(s, bool)
    todo = np.arange(s)
    for _ in range(4):
        left = evaluator.remaining
        nv = verify if left is None else min(max(verify, 1), max(left, 0) // len(todo))
        if nv < 1:
            break
        x = lo[todo, None] + rng.uniform(size=(len(todo), nv, d)) * (hi - lo)[todo, None]
        ev = evaluator.evaluate(x.reshape(-1, d))
        hist.add(x.reshape(-1, d), ev.errors, np.repeat(agent_ids[todo], nv), 2)
        e = ev.errors.reshape(len(todo), nv)
        scored[todo] = np.isfinite(e).sum(1)
        nf = _fails(e, cfg.threshold).sum(1)
        rates[todo] = np.where(scored[todo] > 0, nf / np.maximum(scored[todo], 1), math.nan)
        back = []
        for i in todo:
            last[i] = (lo[i].copy(), hi[i].copy())
            cube = (np.clip(pts[i] - cubes[i][-1], -1, 1), np.clip(pts[i] + cubes[i][-1], -1, 1))
            if rates[i] >= cfg.region_rate:
                continue
            if np.array_equal(lo[i], cube[0]) and np.array_equal(hi[i], cube[1]):
                if len(cubes[i]) < 2:
                    continue
                cubes[i].pop()
            lo[i] = np.clip(pts[i] - cubes[i][-1], -1.0, 1.0)
            hi[i] = np.clip(pts[i] + cubes[i][-1], -1.0, 1.0)
            back.append(i)
        todo = np.array(back, np.int64)
        left = evaluator.remaining
        if not len(todo) or (left is not None and left // len(todo) < 8):
            break  # nothing to cut back, or too little budget to verify a smaller box
        cut[todo] = True
    for i in range(s):
        lo[i], hi[i] = last[i]
    frozen[cut] = False  # a box cut back is not finished
    span = space.highs() - space.lows()
    is_pose = np.array([dim.group == "pose" for dim in space.dims])
    finished = np.asarray(frozen.all(axis=(1, 2)), bool)
    modes = []
    for i, f in enumerate(found):
        width = np.clip((hi[i] - lo[i]) / 2.0, 0.0, 1.0)
        # Evidence: a box of positive width in every dimension whose uniform samples (at least
        # 8) fail at the region rate. A zero-width box is one scene, never a region.
        evidence = bool(
            (width > 0).all() and scored[i] >= 8 and np.isfinite(rates[i])
            and rates[i] >= cfg.region_rate
        )  # fmt: skip
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
                region_verified=int(scored[i]),
                prediction=f.ev.predictions[f.row],
                keypoints=f.ev.keypoints[f.row],
                visibility=f.ev.visibility[f.row],
                finished=bool(finished[i]),
                evidence=evidence,
                occluded=float(f.ev.occluded[f.row]) if f.ev.occluded is not None else 0.0,
            )
        )
    return modes


def auto_threshold(errors: npt.ArrayLike, metric: str) -> float:
    """A failure threshold calibrated on the model's errors on ordinary poses.

    SMPL and COCO joints differ (hips especially), so even a good model has a floor of error on
    rendered bodies. The threshold sits halfway between the median ordinary error and the worst
    error (1 for ``oks`` and ``normalized``), and never below the metric's default; for
    ``mpjpe`` it is the median plus the default (90 mm). In every case it is raised above the
    95th percentile of the ordinary errors, so that at most 5% of the ordinary scenes count as
    failures (capped at 0.99 for the bounded errors, where the calibration's failure rate is
    reported instead).
    """
    e = np.asarray(errors, np.float64)
    e = e[np.isfinite(e)]
    base = DEFAULT_THRESHOLDS[metric]
    if not len(e):
        return base
    med = float(np.median(e))
    # the smallest threshold that flags at most 5% of the ordinary errors
    srt = np.sort(e)
    allowed = math.floor(0.05 * len(e))
    floor = float(np.nextafter(srt[len(e) - 1 - allowed], np.inf))
    if metric == "mpjpe":
        return max(med + base, floor)
    return float(min(max(base, med + 0.5 * (1.0 - med), floor), 0.99))


def ordinary_points(evaluator: Evaluator, n: int, seed: int = 0) -> FloatArray:
    """(n, D) ordinary scenes for calibration: the default pose with small joint noise
    (std 0.1 normalised), the camera within 45 degrees of the front, no occluder; shape,
    appearance and background uniformly random (ordinary people in ordinary places)."""
    space = evaluator.space
    rng = np.random.default_rng([seed, 1])
    x = np.repeat(space.default()[None], n, 0)
    for j, dim in enumerate(space.dims):
        if dim.group == "pose":
            x[:, j] += rng.normal(0.0, 0.1, n)
        elif dim.name == "camera.azimuth":
            x[:, j] = space.dims[j].to_unit(0.0) + rng.uniform(-0.25, 0.25, n)
        elif dim.group in ("shape", "appearance", "background"):
            x[:, j] = rng.uniform(-1.0, 1.0, n)
    return np.clip(x, -1.0, 1.0)
