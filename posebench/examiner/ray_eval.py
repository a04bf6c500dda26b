"""The examiner on Ray: ``posebench examine --executor ray [--address ...] [--workers N]
[--gpus-per-worker G]``.

The search (:mod:`posebench.examiner.search`) runs on the driver, unchanged: each round it asks
the evaluator for a batch of points (agents x rollouts, region proposals, verification samples).
:class:`RayEvaluator` is an :class:`~posebench.examiner.env.Evaluator` whose
:meth:`~RayEvaluator.score_chunks` sends the batch's chunks to Ray actors instead of scoring them
in-process; everything else (budget, counters, the result's order) is the local evaluator's.

Flow of one ``evaluate(x)``::

    x (B, D) ─ chunk_batch(x, batch_size, start) ─► chunks of batch_size rows (fixed: they
       depend only on B, --batch-size and the index of the first point)
    chunks ─► RayExecutor.execute ─► ExaminerWorker.run(chunk) on an actor:
                 Evaluator.score_chunk(chunk.x, chunk.start): render (body model, renderer,
                 background bank, occluders), adapter.predict, error per body
    ChunkScore per chunk ─► back on the driver, put in the chunks' order ─► counters, Evaluation

- One actor per worker (:class:`ExaminerWorker`), each holding the body model (anny, mannequin
  or SMPL file), the scene renderer and the adapter, built once from an :class:`ExaminerSpec`
  (plain data) — a model and a body are loaded once per worker, not per chunk. With
  ``--gpus-per-worker`` an actor renders and predicts on its own GPU (``--device cuda``).
- The local evaluator scores the very same chunks (:func:`~posebench.examiner.env.chunk_batch`),
  and a chunk's score is a pure function of (its points, the index of its first point): image
  ids are point indices, plausibility is per body, nothing is cached between chunks. So the
  same seed gives the same ``results.json`` on either executor even for a model or a renderer
  whose output depends on its batch.
- Torch's intra-op thread count can change float results (measured here: 8 bodies of every
  scene dimension at 256 x 256 on the mannequin, 28 of 272 rendered keypoint coordinates moved
  by up to 1.5e-5 px between 1 and 2 threads), so every actor runs torch on the driver's
  thread count (``--torch-threads``, default torch's own on the driver; recorded in
  ``results.json`` under ``examiner.scene.torch_threads``; the Ray tests check the actors').
  On one machine W workers of T threads want W x T cores: give ``--torch-threads 1`` to both
  runs there (``bench/bench_examine_ray.py`` does).
- A chunk whose actor died (killed, out of memory, node lost) is run again on another actor
  (:class:`~posebench.engine.ray_executor.RayExecutor`: the run's executor, its retries and its
  limits), and its result is taken once.
- The driver keeps its own adapter and scene for what is not a query: the adapter's ``info()``
  (the actors' must equal it), the real-photo check of each failure mode, and the failure
  images. They live on ``--device`` too, so a ``--device cuda`` run needs a GPU on the driver
  as well as ``--gpus-per-worker`` for the actors.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from posebench.adapter import Adapter
from posebench.engine.execute import describe
from posebench.engine.ray_executor import ActorBody
from posebench.errors import InputError
from posebench.examiner.env import ChunkScore, EvalChunk, Evaluator
from posebench.examiner.params import SearchSpace
from posebench.examiner.scene import Scene

__all__ = [
    "ExaminerSpec",
    "ExaminerWorker",
    "RayEvaluator",
    "build_evaluator",
    "start_workers",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExaminerSpec:
    """What an actor needs to build its own evaluator (plain data: it travels to Ray actors).

    ``adapter_args`` are the driver's (device included); ``metric`` is the driver's resolved
    metric; ``torch_threads`` the driver's torch intra-op thread count (the actor's).
    """

    adapter: str
    adapter_args: dict[str, Any]
    body: str
    image_size: int
    device: str
    renderer: str
    backgrounds: str
    space: SearchSpace
    metric: str
    batch_size: int
    reject_implausible: bool
    torch_threads: int
    env: dict[str, str] = field(default_factory=dict)


def build_evaluator(spec: ExaminerSpec, adapter: Adapter | None = None) -> Evaluator:
    """A local evaluator from a spec (loads the adapter unless given, the body and the scene)."""
    import torch

    from posebench.adapters import load_adapter

    torch.set_num_threads(spec.torch_threads)
    if adapter is None:
        adapter = load_adapter(spec.adapter, dict(spec.adapter_args))
    scene = Scene(
        spec.body, image_size=(spec.image_size, spec.image_size), skeleton=adapter.skeleton.name,
        device=spec.device, renderer=spec.renderer, backgrounds=spec.backgrounds,
    )  # fmt: skip
    return Evaluator(
        adapter, scene, spec.space, metric=spec.metric, batch_size=spec.batch_size, budget=None,
        reject_implausible=spec.reject_implausible,
    )  # fmt: skip


class ExaminerWorker(ActorBody):
    """The body of one Ray actor: an evaluator (adapter, body model, renderer), built once."""

    def __init__(self, spec: ExaminerSpec, cwd: str | None = None) -> None:
        def build() -> None:
            self.evaluator = build_evaluator(spec)

        self._start(spec.env, cwd, build)

    def _adapter(self) -> Any:
        return getattr(getattr(self, "evaluator", None), "adapter", None)

    def torch_threads(self) -> int:
        import torch

        return int(torch.get_num_threads())

    def run(self, chunk: EvalChunk) -> ChunkScore:
        self._ready()
        return self.evaluator.score_chunk(chunk.x, chunk.start)


class RayEvaluator(Evaluator):
    """An :class:`Evaluator` that scores each batch's chunks on Ray actors (module docstring).

    Args:
        adapter, scene, space, metric, batch_size, budget, reject_implausible: as
            :class:`Evaluator` (the driver's copies: checks, ``render``, counters).
        executor: a started :class:`~posebench.engine.ray_executor.RayExecutor` whose actors
            are :class:`ExaminerWorker` built from the same settings.
    """

    def __init__(self, adapter: Adapter, scene: Scene, space: SearchSpace, *, executor: Any,
                 **kw: Any) -> None:  # fmt: skip
        super().__init__(adapter, scene, space, **kw)
        self.executor = executor

    def score_chunks(self, chunks: list[EvalChunk]) -> list[ChunkScore]:
        out: dict[int, ChunkScore] = {}

        def on_done(chunk: EvalChunk, score: ChunkScore) -> None:
            out[chunk.index] = score

        self.executor.execute(chunks, on_done)
        missing = [c.index for c in chunks if c.index not in out]
        if missing:
            raise RuntimeError(f"chunks {missing} came back without a result")
        return [out[c.index] for c in chunks]


def start_workers(executor: Any, spec: ExaminerSpec, adapter: Adapter) -> None:
    """Start ``executor``'s actors from ``spec`` and check that they hold the driver's model
    (same skeleton, dimensions and ``info()``)."""
    desc = executor.start(spec, worker=ExaminerWorker)
    mine = describe(adapter)
    if (desc.skeleton, desc.dims, desc.info) != (mine.skeleton, mine.dims, mine.info):
        raise InputError(
            f"the Ray workers' adapter ({desc.skeleton}, {desc.dims}D, {desc.info}) is not the "
            f"driver's ({mine.skeleton}, {mine.dims}D, {mine.info})",
            field="--adapter",
        )
    log.info("examiner on Ray: %d workers", len(executor.actors))
