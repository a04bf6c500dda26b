"""The examiner's environment: scene parameters in, a pose model's error out.

:class:`Evaluator` is the vectorised core the search uses: ``evaluate(params (B, D))`` renders
the B scenes in batches on the scene's device, runs the adapter once per batch
(``adapter.predict``), pairs each image's prediction with its rendered person and returns the
per-sample errors; every scored body counts as one query against an optional budget.

:class:`ExaminerEnv` wraps it as a gymnasium ``Env`` (it passes
``gymnasium.utils.env_checker.check_env``): observation = the current normalised parameter
vector, action = absolute parameters or a delta in ``[-1, 1]^D``, reward = the error.

Every batch that :meth:`Evaluator.evaluate` receives is split into fixed chunks of
``batch_size`` consecutive rows (:func:`chunk_batch`), and each chunk is scored by
:meth:`Evaluator.score_chunk`, a pure function of (the chunk's points, the index of its first
point among every point this evaluator was asked to score): the image ids the adapter sees are
those indices (not a counter of earlier queries), plausibility is decided per body, nothing is
cached between chunks. The counters (``queries``, ``proposed``, ``rejected``) are updated from
the chunks' results, in order, after scoring. So a chunk gives the same result whatever ran
before it in the same process, and an executor that scores the chunks elsewhere
(:mod:`posebench.examiner.ray_eval`: Ray actors) gives the local run's results, even for a model
or renderer whose output depends on the batch it is in.

Adapters that replay ground truth (``oracle``, ``jitter``, the planted-weakness test adapters)
receive each batch's rendered ground truth through the runner's ``prepare(gt, skeleton, name)``
hook before ``predict``, exactly as the runner shows them a dataset. Real models ignore it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, SupportsFloat

import gymnasium as gym
import numpy as np
import numpy.typing as npt

from posebench.adapter import Adapter, Batch
from posebench.errors import InputError
from posebench.examiner.error import (
    METRICS,
    mpjpe_error,
    normalized_error,
    oks_error,
    select_predictions,
)
from posebench.examiner.params import SearchSpace
from posebench.examiner.scene import RenderedBatch, Scene
from posebench.poseset import PoseSet

__all__ = [
    "BudgetExhausted",
    "ChunkScore",
    "EvalChunk",
    "Evaluation",
    "Evaluator",
    "ExaminerEnv",
    "chunk_batch",
    "concat_evaluations",
]

FloatArray = npt.NDArray[np.float64]

#: Joints whose mean is the root for MPJPE, per skeleton.
_ROOTS: dict[str, tuple[int, ...]] = {"coco17": (11, 12), "smpl24": (0,)}


class BudgetExhausted(RuntimeError):
    """The evaluator was asked for more adapter queries than its budget has left."""


@dataclass(frozen=True)
class Evaluation:
    """Scores of B samples.

    errors: (B,) float64 (NaN where nothing was scorable: no keypoint inside the image);
    predictions: (B, K, D) the prediction paired with each image (NaN where none);
    keypoints: (B, K, 2) ground truth in pixels; visibility: (B, K); boxes: (B, 4);
    plausible: (B,) bool, the body stands in balance (an implausible body's error is NaN:
    never a failure); occluded: (B,) share of the body hidden by the occluder.
    """

    errors: FloatArray
    predictions: FloatArray
    keypoints: FloatArray
    visibility: FloatArray
    boxes: FloatArray
    plausible: npt.NDArray[np.bool_] | None = None
    occluded: FloatArray | None = None


_FIELDS = ("errors", "predictions", "keypoints", "visibility", "boxes", "plausible", "occluded")


def concat_evaluations(parts: list[Evaluation], num_keypoints: int, dims: int) -> Evaluation:
    """The rows of several :class:`Evaluation` one after the other (an empty one for none)."""
    if not parts:
        k = num_keypoints
        return Evaluation(
            np.zeros(0),
            np.zeros((0, k, dims)),
            np.zeros((0, k, 2)),
            np.zeros((0, k)),
            np.zeros((0, 4)),
            np.zeros(0, bool),
            np.zeros(0),
        )
    return Evaluation(*[np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS])


@dataclass(frozen=True)
class EvalChunk:
    """One chunk of a batch: ``x`` (b, D) normalised points; ``start`` the index of its first
    point among every point the evaluator was asked to score (its image ids are ``start + 1``
    onwards); ``index`` its position in the batch."""

    index: int
    start: int
    x: FloatArray


@dataclass(frozen=True)
class ChunkScore:
    """What scoring one chunk gives: its rows, and the counts the evaluator adds up
    (``queries`` bodies shown to the adapter, ``rejected`` implausible ones not shown)."""

    evaluation: Evaluation
    queries: int
    rejected: int


def chunk_batch(x: FloatArray, batch_size: int, start: int) -> list[EvalChunk]:
    """Split (B, D) points into chunks of ``batch_size`` consecutive rows (the last one
    shorter); ``start`` is the index of the first point. The split depends on nothing else, so
    every executor scores the same chunks."""
    return [
        EvalChunk(i, start + s, x[s : s + batch_size])
        for i, s in enumerate(range(0, len(x), batch_size))
    ]


class Evaluator:
    """Scores scene parameter vectors with one adapter.

    Args:
        adapter: a pose model behind the predict API (2D or 3D).
        scene: renders the bodies (its skeleton must be the adapter's).
        space: the search space the vectors live in.
        metric: ``auto`` (``oks`` for 2D, ``mpjpe`` for 3D), ``oks``, ``normalized``, ``mpjpe``.
        batch_size: bodies rendered and predicted per adapter call.
        budget: most queries (scored bodies) allowed, or None.
        reject_implausible: bodies out of balance (:func:`.scene.balanced`) are not shown to
            the adapter: their error is NaN (never a failure), they cost no query, and
            ``rejected`` counts them (rejection sampling of plausible scenes).
    """

    def __init__(
        self,
        adapter: Adapter,
        scene: Scene,
        space: SearchSpace,
        *,
        metric: str = "auto",
        batch_size: int = 64,
        budget: int | None = None,
        reject_implausible: bool = False,
    ) -> None:
        self.reject_implausible = reject_implausible
        if adapter.skeleton.name != scene.skeleton:
            raise InputError(
                f"adapter returns {adapter.skeleton.name} keypoints, scene renders "
                f"{scene.skeleton}",
                field="--adapter",
            )
        kind = getattr(scene, "kind", "smpl")
        if space.body != kind:
            raise InputError(
                f"search space is for a {space.body} body, the scene renders {kind}",
                field="space",
            )
        if space.num_betas > scene.num_betas:
            raise InputError(
                f"search space has {space.num_betas} betas, the body {scene.num_betas}",
                field="space",
            )
        dims = int(adapter.dims)
        if metric == "auto":
            metric = "mpjpe" if dims == 3 else "oks"
        if metric not in METRICS:
            raise InputError(f"unknown metric {metric!r}; known: auto, {METRICS}", field="metric")
        if (metric == "mpjpe") != (dims == 3):
            raise InputError(f"metric {metric!r} does not fit a {dims}D adapter", field="metric")
        self.sigmas: FloatArray | None = None
        if metric == "oks" or dims == 2:
            try:
                self.sigmas = adapter.skeleton.oks_sigmas()
            except ValueError:
                if metric == "oks":
                    raise InputError(
                        f"skeleton {adapter.skeleton.name} has no OKS sigmas; use "
                        "--metric normalized",
                        field="metric",
                    ) from None
        if batch_size < 1:
            raise InputError("must be at least 1", field="batch_size")
        if budget is not None and budget < 0:
            raise InputError("must be >= 0", field="budget")
        self.adapter = adapter
        self.scene = scene
        self.space = space
        self.metric = metric
        self.dims = dims
        self.batch_size = batch_size
        self.budget = budget
        self.queries = 0
        self.proposed = 0  # scenes rendered for scoring (queries + rejected)
        self.rejected = 0  # implausible scenes not shown to the adapter

    @property
    def remaining(self) -> int | None:
        """Queries left in the budget (None: unlimited)."""
        return None if self.budget is None else self.budget - self.queries

    def render(self, x: npt.ArrayLike) -> RenderedBatch:
        """Render (B, D) normalised vectors (costs no query)."""
        return self.scene.render(self.space.decode(x, self.scene.device))

    def evaluate(self, x: npt.ArrayLike) -> Evaluation:
        """Render and score (B, D) normalised vectors; B queries (fewer when implausible
        bodies are rejected). The batch is scored in chunks of ``batch_size`` rows
        (:func:`chunk_batch`) by :meth:`score_chunks`.

        Raises:
            BudgetExhausted: when B exceeds the queries left.
        """
        xa = np.asarray(x, dtype=np.float64)
        if xa.ndim != 2 or xa.shape[1] != self.space.size:
            raise InputError(f"expected (B, {self.space.size}), got {xa.shape}", field="params")
        n = len(xa)
        if self.budget is not None and self.queries + n > self.budget:
            raise BudgetExhausted(f"{n} queries asked, {self.remaining} left of {self.budget}")
        chunks = chunk_batch(xa, self.batch_size, self.proposed)
        scores = self.score_chunks(chunks) if chunks else []
        if len(scores) != len(chunks):
            raise RuntimeError(f"{len(chunks)} chunks scored as {len(scores)}")
        for c, sc in zip(chunks, scores, strict=True):
            if len(sc.evaluation.errors) != len(c.x):
                raise RuntimeError(
                    f"chunk {c.index}: {len(c.x)} points, {len(sc.evaluation.errors)} scores"
                )
            self.proposed += len(c.x)
            self.queries += sc.queries
            self.rejected += sc.rejected
        k = self.adapter.skeleton.num_keypoints
        return concat_evaluations([sc.evaluation for sc in scores], k, self.dims)

    def score_chunks(self, chunks: list[EvalChunk]) -> list[ChunkScore]:
        """Score chunks in order, in this process (an executor overrides this to score them
        elsewhere; the results must come back in the chunks' order)."""
        return [self.score_chunk(c.x, c.start) for c in chunks]

    def score_chunk(self, x: FloatArray, start: int) -> ChunkScore:
        """Render and score one chunk (b, D); a pure function of ``(x, start)`` (``start``:
        the index of its first point, which numbers the images the adapter sees
        ``start + 1 + row``). Changes no counter of the evaluator."""
        b = len(x)
        r = self.render(x)
        plausible = (
            np.ones(b, bool) if r.plausible is None else r.plausible.cpu().numpy().astype(bool)
        )
        occluded = np.zeros(b) if r.occluded is None else r.occluded.double().cpu().numpy()
        kp = r.keypoints.double().cpu().numpy()
        vis = r.visibility.double().cpu().numpy()
        boxes = r.boxes.double().cpu().numpy()
        areas = r.areas.double().cpu().numpy()
        gt3 = r.joints_cam.double().cpu().numpy()
        k = self.adapter.skeleton.num_keypoints
        err = np.full(b, np.nan)
        paired = np.full((b, k, self.dims), np.nan)
        rows = np.flatnonzero(plausible) if self.reject_implausible else np.arange(b)
        rejected = b - len(rows)
        if not len(rows):
            return ChunkScore(Evaluation(err, paired, kp, vis, boxes, plausible, occluded), 0, b)
        n = len(rows)
        # The image id of a body is its point's index (+1), whatever was rejected before it:
        # adapters that seed by image id (jitter) see the same id on any executor.
        ids = (start + 1 + rows).astype(np.int64)
        kp_r, vis_r, boxes_r, areas_r, gt3_r = (
            kp[rows],
            vis[rows],
            boxes[rows],
            areas[rows],
            gt3[rows],
        )
        images = list(r.images.cpu().numpy()[rows])
        prepare = getattr(self.adapter, "prepare", None)
        if callable(prepare):
            gt = PoseSet(
                image_id=ids,
                keypoints=gt3_r if self.dims == 3 else kp_r,
                visibility=vis_r,
                bbox=boxes_r,
                area=areas_r,
                num_keypoints=np.count_nonzero(vis_r > 0, axis=1).astype(np.int64),
            )
            prepare(gt, self.adapter.skeleton, "examiner")
        top = bool(self.adapter.top_down)
        batch = Batch(
            image_ids=ids,
            images=images,
            boxes=[bx[None] for bx in boxes_r] if top else None,
            box_scores=[np.ones(1) for _ in range(n)] if top else None,
        )
        pred = self.adapter.predict(batch)
        if not isinstance(pred, PoseSet):
            raise InputError(f"adapter.predict returned {type(pred).__name__}, not a PoseSet")
        if len(pred) and pred.keypoints.shape[1:] != (k, self.dims):
            raise InputError(
                f"adapter.predict returned keypoints {pred.keypoints.shape}, expected "
                f"(N, {k}, {self.dims})",
                field="keypoints",
            )
        pr = select_predictions(
            pred, ids, kp_r, vis_r, areas_r, self.sigmas if self.dims == 2 else None
        )
        if self.metric == "oks":
            assert self.sigmas is not None
            er = oks_error(pr, kp_r, vis_r, areas_r, self.sigmas)
        elif self.metric == "normalized":
            er = normalized_error(pr, kp_r, vis_r, boxes_r)
        else:
            root = _ROOTS.get(self.scene.skeleton, (0,))
            er = mpjpe_error(pr, gt3_r, root)
        err[rows] = er
        paired[rows] = pr
        return ChunkScore(Evaluation(err, paired, kp, vis, boxes, plausible, occluded), n, rejected)


Mode = Literal["absolute", "delta"]


class ExaminerEnv(gym.Env[npt.NDArray[np.float32], npt.NDArray[np.float32]]):
    """Gymnasium environment: find scene parameters where the adapter's error is high.

    Args:
        evaluator: renders and scores parameter vectors.
        mode: ``absolute`` (the action is the next parameter vector) or ``delta`` (the action,
            times ``delta_scale``, is added to the current vector).
        samples_per_step: bodies rendered per step: the point itself, then Gaussian
            perturbations of it (std ``sample_noise``); the reward is their mean error and
            ``info["errors"]`` holds each.
        threshold: an error at or above it ends the episode (a failure was found).
        max_steps: steps before the episode is truncated.
        render_mode: None or ``rgb_array`` (the current body, rendered without a query).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}  # noqa: RUF012 (gymnasium API)

    def __init__(
        self,
        evaluator: Evaluator,
        *,
        mode: Mode = "absolute",
        delta_scale: float = 0.1,
        samples_per_step: int = 1,
        sample_noise: float = 0.05,
        threshold: float = 0.5,
        max_steps: int = 100,
        render_mode: str | None = None,
    ) -> None:
        if mode not in ("absolute", "delta"):
            raise InputError(f"mode must be absolute or delta, got {mode!r}", field="mode")
        if render_mode not in (None, "rgb_array"):
            raise InputError(f"unsupported render_mode {render_mode!r}", field="render_mode")
        if samples_per_step < 1:
            raise InputError("must be at least 1", field="samples_per_step")
        self.evaluator = evaluator
        self.mode = mode
        self.delta_scale = float(delta_scale)
        self.samples_per_step = samples_per_step
        self.sample_noise = float(sample_noise)
        self.threshold = float(threshold)
        self.max_steps = max_steps
        self.render_mode = render_mode
        d = evaluator.space.size
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (d,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (d,), np.float32)
        self._x = evaluator.space.default().astype(np.float32)
        self._steps = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[npt.NDArray[np.float32], dict[str, Any]]:
        """Back to the default point, or ``options["params"]`` (D,), or a uniformly random
        point with ``options["random"] = True`` (drawn from the seeded ``np_random``)."""
        super().reset(seed=seed)
        opts = options or {}
        d = self.evaluator.space.size
        if "params" in opts:
            x = np.asarray(opts["params"], dtype=np.float64).reshape(d)
        elif opts.get("random"):
            x = self.np_random.uniform(-1.0, 1.0, d)
        else:
            x = self.evaluator.space.default()
        self._x = np.clip(x, -1.0, 1.0).astype(np.float32)
        self._steps = 0
        return self._x.copy(), {"params": self.evaluator.space.named(self._x)}

    def step(
        self, action: npt.NDArray[np.float32]
    ) -> tuple[npt.NDArray[np.float32], SupportsFloat, bool, bool, dict[str, Any]]:
        a = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        x = a if self.mode == "absolute" else self._x + self.delta_scale * a
        x = np.clip(x, -1.0, 1.0)
        pts = np.repeat(x[None], self.samples_per_step, 0)
        if self.samples_per_step > 1:
            noise = self.np_random.normal(0.0, self.sample_noise, pts[1:].shape)
            pts[1:] = np.clip(pts[1:] + noise, -1.0, 1.0)
        ev = self.evaluator.evaluate(pts)
        errs = np.nan_to_num(ev.errors, nan=0.0)
        reward = float(errs.mean())
        self._x = x.astype(np.float32)
        self._steps += 1
        terminated = bool(reward >= self.threshold)
        truncated = bool(self._steps >= self.max_steps) and not terminated
        info = {
            "errors": ev.errors,
            "params": self.evaluator.space.named(x),
            "failure": terminated,
            "samples": self.samples_per_step,
        }
        return self._x.copy(), reward, terminated, truncated, info

    def render(self) -> npt.NDArray[np.uint8] | None:
        if self.render_mode != "rgb_array":
            return None
        img = self.evaluator.render(self._x[None].astype(np.float64)).images[0]
        return np.asarray(img.cpu().numpy(), dtype=np.uint8)
