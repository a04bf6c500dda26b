"""Execution: the work units of a plan -> predictions, in-process (the default) or on Ray.

:func:`compute_unit` is the one function that turns a unit into predictions: decode the unit's
images (checking each file against the content hash the plan recorded), apply the condition,
give the boxes to a top-down adapter, call ``adapter.predict`` once, check what came back. An
executor runs it over the units that the cache does not hold and hands every result to the
driver's ``on_done`` callback, which writes the cache; executors never write.

- :class:`LocalExecutor`: one adapter in this process, units in plan order.
- :class:`posebench.engine.ray_executor.RayExecutor`: one adapter per Ray actor.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from posebench.adapter import Adapter, Batch
from posebench.engine.plan import Condition, WorkUnit
from posebench.engine.store import UnitOutput
from posebench.errors import InputError
from posebench.poseset import PoseSet

log = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
OnDone = Callable[[WorkUnit, UnitOutput], None]


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker needs to build its own adapter and dataset (plain data: it travels to Ray
    actors). ``dataset`` and ``data_root`` name the dataset as the driver loaded it."""

    adapter: str
    adapter_args: dict[str, Any]
    dataset: Any  # a dataset name, or the user's own files (posebench.datasets.DatasetFiles)
    data_root: str | None
    limit: int | None
    box_source: str  # gt | detector | none
    seed: int
    condition_backend: str = "numpy"
    condition_device: str = "cpu"
    env: dict[str, str] = field(default_factory=dict)
    image_ids: tuple[int, ...] | None = None  # --image-ids
    box_file: str | None = None  # --boxes PATH (box_source is then its file-<digest>)


@dataclass(frozen=True)
class AdapterDescription:
    """What the driver needs to know of an adapter without holding it."""

    info: dict[str, Any]
    skeleton: str
    num_keypoints: int
    dims: int
    top_down: bool


def describe(adapter: Adapter) -> AdapterDescription:
    """The :class:`AdapterDescription` of a loaded adapter."""
    return AdapterDescription(
        info=adapter.info().to_json(),
        skeleton=adapter.skeleton.name,
        num_keypoints=adapter.skeleton.num_keypoints,
        dims=int(adapter.dims),
        top_down=bool(adapter.top_down),
    )


def build_worker(spec: WorkerSpec) -> tuple[Adapter, Any]:
    """Load the adapter and the dataset a worker runs units with (and show the adapter the
    dataset through its optional ``prepare`` hook)."""
    from posebench.adapters import load_adapter
    from posebench.datasets import load_dataset

    dataset = load_dataset(
        spec.dataset,
        Path(spec.data_root) if spec.data_root else None,
        limit=spec.limit,
        image_ids=spec.image_ids,
    )
    adapter = load_adapter(spec.adapter, dict(spec.adapter_args))
    prepare = getattr(adapter, "prepare", None)
    if callable(prepare):
        prepare(dataset.gt, dataset.skeleton, dataset.name)
    return adapter, dataset


# ---------------------------------------------------------------------------- one work unit


def apply_conditions(
    images: list[np.ndarray],
    image_ids: list[int],
    cond: Condition,
    seed: int,
    dataset: Any = None,
    *,
    backend: str = "numpy",
    device: str = "cpu",
) -> list[Any]:
    """The images under a condition (:class:`posebench.conditions.apply.Applied` each) on a
    backend (``numpy``, or ``torch`` on ``device``)."""
    from posebench.conditions.apply import Applied

    if cond.kind == "clean":
        return [Applied(im) for im in images]
    from posebench.conditions.apply import apply_batch

    return apply_batch(
        images, image_ids, cond.kind, cond.name, cond.severity, seed,
        params=dict(cond.params), dataset=dataset, backend=backend, device=device,
    )  # fmt: skip


def apply_condition(
    image: np.ndarray, image_id: int, cond: Condition, seed: int, dataset: Any = None
) -> Any:
    """One image under a condition (clean: unchanged). Deterministic per (image, condition,
    severity, seed)."""
    return apply_conditions([image], [image_id], cond, seed, dataset)[0]


def _load_checked(dataset: Any, image_id: int, want: str) -> np.ndarray:
    path = dataset.image_path(image_id)
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except FileNotFoundError:
        raise InputError(
            "image file not found", file=str(path), record=f"image {image_id}"
        ) from None
    if h.hexdigest() != want:
        raise InputError(
            "image file changed since the run was planned (its SHA-256 differs); on a cluster, "
            "every worker must see the same data",
            file=str(path),
            record=f"image {image_id}",
        )
    return np.asarray(dataset.load_image(image_id))


@functools.lru_cache(maxsize=4)
def _box_file(path: str, box_source: str) -> Any:
    """The ``--boxes`` file a worker reads, checked to be the one the plan was made from."""
    from posebench.boxes import read_box_file

    bf = read_box_file(path)
    if bf.box_source != box_source:
        raise InputError(
            f"this worker reads {bf.box_source}, the plan was made from {box_source}: the file "
            "changed, or the worker sees another file at that path",
            file=path,
            field="--boxes",
        )
    return bf


def box_source_fn(
    dataset: Any, box_source: str, box_file: str | None = None
) -> Callable[[int], tuple[np.ndarray, np.ndarray, np.ndarray]] | None:
    """image id -> ((M, 4) boxes, (M,) scores, (M,) GT row of each box or -1), or None for a
    bottom-up adapter (``box_source == "none"``). ``box_file``: the ``--boxes`` file whose boxes
    a top-down adapter gets (``box_source`` is then its ``file-<digest>``)."""
    if box_source == "none":
        return None
    if box_file is not None:
        bf = _box_file(box_file, box_source)

        def from_file(image_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            b, sc = bf.for_image(int(image_id))
            return b, sc, np.full(len(b), -1, np.int64)

        return from_file
    if box_source == "detector":

        def det(image_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            b, sc = dataset.det_boxes(image_id)
            b = np.asarray(b, np.float64).reshape(-1, 4)
            return b, np.asarray(sc, np.float64), np.full(len(b), -1, np.int64)

        return det

    def gt(image_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        b, rows = dataset.gt_boxes(image_id)
        b = np.asarray(b, np.float64).reshape(-1, 4)
        return b, np.ones(len(b)), np.asarray(rows, np.int64)

    return gt


def compute_unit(adapter: Adapter, dataset: Any, unit: WorkUnit, spec: WorkerSpec) -> UnitOutput:
    """Predict one work unit: decode, condition, predict, check.

    Returns:
        The unit's predictions (with ``extra["gt_row"]`` for top-down adapters) and, for
        occlusion, the covered ground-truth keypoints.
    """
    cond = unit.condition
    chunk = np.asarray(unit.image_ids, np.int64)
    t0 = time.perf_counter()
    raw = [_load_checked(dataset, int(i), h) for i, h in zip(chunk, unit.image_sha256, strict=True)]
    applied = apply_conditions(
        raw, [int(i) for i in chunk], cond, spec.seed, dataset,
        backend=spec.condition_backend, device=spec.condition_device,
    )  # fmt: skip
    rows = covered = None
    if cond.kind == "occlusion":
        k_gt = dataset.gt.num_joints
        rows = np.concatenate(
            [a.rows for a in applied if a.rows is not None] or [np.zeros(0, np.int64)]
        ).astype(np.int64)
        covered = np.concatenate(
            [a.covered for a in applied if a.covered is not None] or [np.zeros((0, k_gt), bool)]
        ).astype(bool)
    boxes = box_source_fn(dataset, spec.box_source if adapter.top_down else "none", spec.box_file)
    bx = [boxes(int(i)) for i in chunk] if boxes is not None else None
    batch = Batch(
        image_ids=chunk,
        images=[a.image for a in applied],
        boxes=[b[0] for b in bx] if bx is not None else None,
        box_scores=[b[1] for b in bx] if bx is not None else None,
    )
    t1 = time.perf_counter()
    pred = adapter.predict(batch)
    t2 = time.perf_counter()
    check_predictions(pred, chunk, adapter.skeleton.num_keypoints, int(adapter.dims), batch)
    if bx is not None:
        pred = with_gt_rows(pred, chunk, [b[2] for b in bx])
    return UnitOutput(pred, rows, covered, t1 - t0, t2 - t1)


def with_gt_rows(pred: PoseSet, chunk: IntArray, rows: list[np.ndarray]) -> PoseSet:
    """Record the dataset GT row of each prediction's box (-1 for detector boxes)."""
    if not len(pred):
        return pred.with_columns(extra={**pred.extra, "gt_row": np.zeros(0, np.int64)})
    pos = (
        np.searchsorted(chunk, pred.image_id)
        if np.all(np.diff(chunk) >= 0)
        else np.array([int(np.flatnonzero(chunk == i)[0]) for i in pred.image_id])
    )
    box = np.asarray(pred.extra["box_index"], np.int64)
    out = np.full(len(pred), -1, np.int64)
    for j, (p, b) in enumerate(zip(pos, box, strict=True)):
        r = rows[int(p)]
        if 0 <= b < len(r):
            out[j] = int(r[b])
        else:
            raise InputError(
                f"adapter returned box_index {int(b)} for image {int(chunk[p])}, which has "
                f"{len(r)} boxes",
                field="extra['box_index']",
            )
    return pred.with_columns(extra={**pred.extra, "gt_row": out})


def check_predictions(pred: PoseSet, chunk: IntArray, k: int, d: int, batch: Batch) -> None:
    """What an adapter returned: a PoseSet of (N, k, d) keypoints on the batch's images, with
    ``extra["box_index"]`` when it was given boxes."""
    if not isinstance(pred, PoseSet):
        raise InputError(f"adapter.predict returned {type(pred).__name__}, expected a PoseSet")
    if len(pred) and pred.keypoints.shape[1:] != (k, d):
        raise InputError(
            f"adapter.predict returned keypoints {pred.keypoints.shape}, expected (N, {k}, {d})",
            field="keypoints",
        )
    stray = np.setdiff1d(pred.image_id, chunk)
    if len(stray):
        raise InputError(
            f"adapter.predict returned poses for images not in the batch: {stray[:5].tolist()}",
            field="image_id",
        )
    if batch.boxes is not None and len(pred) and "box_index" not in pred.extra:
        raise InputError(
            "a top-down adapter must set extra['box_index'] on its predictions", field="extra"
        )


# ------------------------------------------------------------------------------- executors


class Executor(Protocol):
    """Runs work units; the driver's ``on_done`` receives each result exactly once."""

    def start(self, spec: WorkerSpec) -> AdapterDescription:
        """Build the workers; describe their adapter."""
        ...

    def execute(self, units: Sequence[WorkUnit], on_done: OnDone) -> None:
        """Compute ``units`` and call ``on_done(unit, output)`` for each, on the driver."""
        ...

    def close(self) -> None:
        """Release the workers (and their adapters)."""
        ...


class LocalExecutor:
    """In-process execution: one adapter, units in plan order (what every command did before)."""

    def __init__(self) -> None:
        self.adapter: Adapter | None = None
        self.dataset: Any = None
        self.spec: WorkerSpec | None = None

    def start(
        self, spec: WorkerSpec, *, adapter: Adapter | None = None, dataset: Any = None
    ) -> AdapterDescription:
        if adapter is None or dataset is None:
            adapter, dataset = build_worker(spec)
        self.adapter, self.dataset, self.spec = adapter, dataset, spec
        return describe(adapter)

    def execute(self, units: Sequence[WorkUnit], on_done: OnDone) -> None:
        if self.adapter is None or self.spec is None:
            raise RuntimeError("LocalExecutor.start() first")
        for u in units:
            on_done(u, compute_unit(self.adapter, self.dataset, u, self.spec))

    def close(self) -> None:
        close = getattr(self.adapter, "close", None)
        if callable(close):
            close()
        self.adapter = None


# ---------------------------------------------------------------------------------- progress


def progress_enabled() -> bool:
    """Progress bars only on an interactive terminal and never under CI."""
    return sys.stderr.isatty() and not os.environ.get("CI")


def progress_bar(total: int, desc: str, enabled: bool) -> Any:
    """A tqdm bar over ``total`` images on stderr, or None (disabled, or tqdm missing)."""
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ModuleNotFoundError:
        return None
    return tqdm(total=total, desc=desc, unit="img", file=sys.stderr, leave=False)
