"""Ray execution: the same plan's work units on Ray actors, results back to the driver.

``posebench run ... --executor ray [--address auto|HOST:PORT] [--workers N] [--gpus-per-worker G]``

- One actor per worker, each holding its own adapter and dataset (a model is loaded once per
  worker, not per unit), built from a plain :class:`~posebench.engine.execute.WorkerSpec`. Image
  decoding, the condition and the adapter run on the actor (:func:`~posebench.engine.execute.
  compute_unit`), which checks every image file against the content hash the driver planned with.
- The driver keeps at most ``max_in_flight`` units in flight (2 per worker by default) and takes
  results one at a time as they finish, so memory stays bounded whatever the dataset size; each
  result is written to the cache by the driver (``on_done``) before the next is submitted. The
  cache is the same as the local executor's: a run started on Ray resumes locally and back.
- A unit whose actor died (killed, out of memory, node lost) is submitted again, to another actor
  when there is one; Ray restarts the dead actor. A unit is handed to ``on_done`` only from a
  successful task, and at most once. A unit that kills its worker :data:`MAX_UNIT_FAILURES` times
  stops the run (a poison input, not a flaky worker).
- Evaluation stays on the driver (:mod:`posebench.engine.evaluation`).
- ``posebench examine --executor ray`` uses the same executor with another actor body
  (:class:`~posebench.examiner.ray_eval.ExaminerWorker`: body model, renderer, scene and adapter
  per actor) and chunks of a batch of scene points as units (:mod:`posebench.examiner.ray_eval`).

Without ``--address`` a local cluster is started (``ray.init()``) and shut down at the end; with
it, the driver joins that cluster, whose workers must see the dataset at the same path. The
driver's ``POSEBENCH_*`` environment variables and working directory are given to the actors.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from posebench.engine.execute import (
    AdapterDescription,
    OnDone,
    WorkerSpec,
    build_worker,
    compute_unit,
    describe,
)
from posebench.engine.plan import WorkUnit
from posebench.engine.store import UnitOutput
from posebench.errors import InputError

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'posebench[ray]'"
#: a unit whose worker died this many times stops the run.
MAX_UNIT_FAILURES = 3


def _import_ray() -> Any:
    try:
        import ray
    except ModuleNotFoundError:
        raise InputError(
            f"--executor ray needs the optional package 'ray': {INSTALL_HINT}", field="--executor"
        ) from None
    return ray


class ActorBody:
    """What every posebench Ray actor does (:class:`UnitWorker`, the examiner's worker): take
    the driver's environment and import path, build its state once, and keep a build error for
    the first call, which raises it so that the driver reports it (Ray does not retry a worker
    that can never start)."""

    error: Exception | None = None

    def _start(self, env: dict[str, str], cwd: str | None, build: Callable[[], None]) -> None:
        os.environ.update(env)
        if cwd and cwd not in sys.path:
            sys.path.insert(0, cwd)  # ``module:attr`` adapters resolve as on the driver
        logging.basicConfig(level=logging.WARNING)
        try:
            build()
        except Exception as e:
            self.error = e

    def _ready(self) -> None:
        if self.error is not None:
            raise self.error

    def _adapter(self) -> Any:
        """The adapter this actor built (None before)."""
        return getattr(self, "adapter", None)

    def describe(self) -> AdapterDescription:
        self._ready()
        return describe(self._adapter())

    def pid(self) -> int:
        return os.getpid()

    def close(self) -> None:
        close = getattr(self._adapter(), "close", None)
        if callable(close):
            close()


class UnitWorker(ActorBody):
    """The body of one Ray actor: an adapter and a dataset, built once."""

    def __init__(self, spec: WorkerSpec, cwd: str | None = None) -> None:
        self.spec = spec

        def build() -> None:
            self.adapter, self.dataset = build_worker(spec)

        self._start(spec.env, cwd, build)

    def run(self, unit: WorkUnit) -> UnitOutput:
        self._ready()
        return compute_unit(self.adapter, self.dataset, unit, self.spec)


class RayExecutor:
    """Runs work units on Ray actors (see the module docstring).

    Args:
        address: a cluster to join (``auto`` or ``HOST:PORT``); None starts a local one (or uses
            the one this process already started).
        workers: actors (default: the cluster's CPUs, or its GPUs / ``gpus_per_worker``).
        gpus_per_worker: GPUs each actor reserves (0: CPU only).
        max_in_flight: units submitted and not yet collected (default 2 per worker).
    """

    def __init__(
        self,
        *,
        address: str | None = None,
        workers: int | None = None,
        gpus_per_worker: float = 0.0,
        max_in_flight: int | None = None,
    ) -> None:
        self.ray = _import_ray()
        self.address = address
        self.n_workers = workers
        self.gpus = float(gpus_per_worker or 0)
        self.max_in_flight = max_in_flight
        self.actors: list[Any] = []
        self.own_cluster = False
        self.failures = 0  # worker deaths seen (tests, logs)

    def start(self, spec: Any, *, worker: type = UnitWorker) -> AdapterDescription:
        """Start (or join) the cluster and one actor per worker, each ``worker(spec, cwd)``
        (default :class:`UnitWorker` from a :class:`WorkerSpec`; the examiner's
        :class:`~posebench.examiner.ray_eval.ExaminerWorker` from its own spec: a dataclass
        with an ``env`` field); returns the first actor's ``describe()``."""
        ray = self.ray
        if not ray.is_initialized():
            kw: dict[str, Any] = {}
            if self.address is None:  # a new local cluster, never a stray one found on disk
                kw["num_cpus"] = max(os.cpu_count() or 1, self.n_workers or 1)
            try:
                ray.init(
                    address=self.address or "local",
                    include_dashboard=False,
                    logging_level=logging.WARNING,
                    log_to_driver=True,
                    **kw,
                )
            except (ConnectionError, ValueError, RuntimeError) as e:
                raise InputError(
                    f"cannot start or join a Ray cluster: {e}", field="--address"
                ) from None
            self.own_cluster = self.address is None
        res = ray.cluster_resources()
        if self.n_workers is None:
            if self.gpus > 0:
                self.n_workers = max(1, int(res.get("GPU", 0) // self.gpus))
            else:
                self.n_workers = max(1, int(res.get("CPU", 1)))
        if self.gpus > 0 and res.get("GPU", 0) < self.gpus * self.n_workers:
            raise InputError(
                f"the Ray cluster has {res.get('GPU', 0):g} GPUs, {self.n_workers} workers need "
                f"{self.gpus * self.n_workers:g}",
                field="--gpus-per-worker",
            )
        if res.get("CPU", 0) < self.n_workers:
            raise InputError(
                f"the Ray cluster has {res.get('CPU', 0):g} CPUs, {self.n_workers} workers need "
                f"one each",
                field="--workers",
            )
        env = {k: v for k, v in os.environ.items() if k.startswith("POSEBENCH_")}
        spec = dataclasses.replace(spec, env={**env, **spec.env})
        actor_cls = ray.remote(num_cpus=1, num_gpus=self.gpus, max_restarts=-1, max_task_retries=0)(
            worker
        )
        self.actors = [actor_cls.remote(spec, os.getcwd()) for _ in range(self.n_workers)]
        log.info("ray: %d workers (%g GPUs each)", self.n_workers, self.gpus)
        try:
            desc: AdapterDescription = ray.get(self.actors[0].describe.remote())
        except ray.exceptions.RayTaskError as e:
            raise _cause(e) from None
        except ray.exceptions.RayActorError as e:
            raise _cause(e) from None
        return desc

    def execute(self, units: Sequence[Any], on_done: OnDone | Callable[[Any, Any], None]) -> None:
        """Run every unit (anything with a distinct ``index``, given to the actors' ``run``)
        and hand each result to ``on_done(unit, result)`` once, in the order they finish."""
        ray = self.ray
        if not units:
            return
        limit = self.max_in_flight or 2 * len(self.actors)
        per_actor = max(1, -(-limit // len(self.actors)))
        queue: deque[WorkUnit] = deque(units)
        load = {i: 0 for i in range(len(self.actors))}
        alive = set(load)
        in_flight: dict[Any, tuple[WorkUnit, int]] = {}
        failures: dict[int, int] = {}
        avoid: dict[int, int] = {}  # unit index -> actor it last died on
        done: set[int] = set()
        while queue or in_flight:
            while queue and len(in_flight) < limit:
                u = queue[0]
                free = [a for a in sorted(alive) if load[a] < per_actor]
                if not free:
                    break
                pick = next((a for a in free if a != avoid.get(u.index)), free[0])
                queue.popleft()
                in_flight[self.actors[pick].run.remote(u)] = (u, pick)
                load[pick] += 1
            if not in_flight:
                raise InputError("every Ray worker died; see the Ray logs", field="--executor")
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in ready:
                u, a = in_flight.pop(ref)
                load[a] -= 1
                try:
                    out = ray.get(ref)
                except ray.exceptions.RayTaskError as e:  # the unit itself failed: stop
                    raise _cause(e) from None
                except ray.exceptions.RayError as e:  # the worker died: run the unit again
                    self.failures += 1
                    failures[u.index] = failures.get(u.index, 0) + 1
                    log.warning("ray: worker %d died running unit %d (%s); retrying it",
                                a, u.index, type(e).__name__)  # fmt: skip
                    if failures[u.index] >= MAX_UNIT_FAILURES:
                        raise InputError(
                            f"{_label(u)} killed its worker {failures[u.index]} times",
                            field="--executor",
                        ) from None
                    avoid[u.index] = a
                    queue.appendleft(u)
                    continue
                if u.index in done:  # never counted twice
                    continue
                done.add(u.index)
                on_done(u, out)

    def pids(self) -> list[int]:
        """The actors' process ids (tests kill one)."""
        return [int(p) for p in self.ray.get([a.pid.remote() for a in self.actors])]

    def close(self) -> None:
        ray = self.ray
        for a in self.actors:
            try:
                ray.get(a.close.remote(), timeout=30)
            except Exception as e:  # a dead or stuck actor must not hide the run's own error
                log.info("ray: closing a worker failed: %s", e)
            ray.kill(a)
        self.actors = []
        if self.own_cluster and ray.is_initialized():
            ray.shutdown()


def _label(u: Any) -> str:
    """A work unit (condition and images) or an examiner chunk (its points), for messages."""
    if isinstance(u, WorkUnit):
        return f"work unit {u.index} ({u.condition.key}, images {list(u.image_ids)[:4]}...)"
    n = len(getattr(u, "x", ()))
    return f"chunk {u.index} (points {u.start} to {u.start + n - 1})"


def _cause(e: Any) -> BaseException:
    """The worker's own exception inside a Ray error (an InputError stays an InputError)."""
    cause = getattr(e, "cause", None)
    if isinstance(cause, InputError):
        return cause
    if isinstance(cause, BaseException):
        return RuntimeError(f"a Ray worker failed: {type(cause).__name__}: {cause}")
    return RuntimeError(f"a Ray worker failed: {e}")
