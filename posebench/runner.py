"""The runner: adapter x suite -> predictions (cached) -> metrics -> a run folder.

The only place where adapters and metrics meet. For every condition of the suite the runner walks
the (sharded) images in batches; each batch's predictions are written atomically to the cache, so
a killed run resumes where it stopped and gives the same numbers. A run folder holds:

    results.json            schema-versioned results (see :mod:`posebench.results`)
    samples.parquet         per-image records (condition, image, metric columns)
    predictions/<cond>.npz  the predictions of each condition, as PoseSet columns
    matches/<cond>.npz      OKS match records (what ``posebench compare`` pairs)
    cache/...               per-batch predictions (resumable; safe to delete)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from posebench.adapter import Adapter, Batch, concat_posesets
from posebench.errors import InputError
from posebench.evaluate import MetricBlock, evaluate_metric
from posebench.metrics.cocoeval import OksMatches
from posebench.poseset import PoseSet

log = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Condition:
    """One image condition of a suite: ``clean`` or a named transform at a severity.

    Attributes:
        kind: ``clean``, ``corruption``, ``occlusion``, ``lowlight``.
        name: the transform's name (``clean`` for clean).
        severity: 1-5, 0 for clean.
        params: extra parameters of the transform.
    """

    kind: str
    name: str
    severity: int = 0
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def key(self) -> str:
        """``clean`` or ``name@severity`` (a file-name-safe identifier)."""
        return "clean" if self.kind == "clean" else f"{self.name}@{self.severity}"


def expand_conditions(specs: Sequence[Any]) -> list[Condition]:
    """Suite condition entries (``"clean"`` or mappings with severities) as a flat list."""
    out: list[Condition] = []
    for s in specs:
        if s == "clean" or getattr(s, "kind", None) == "clean":
            out.append(Condition("clean", "clean"))
            continue
        d = s.model_dump() if hasattr(s, "model_dump") else dict(s)
        params = tuple(sorted((d.get("params") or {}).items()))
        for sev in d.get("severities") or [1, 2, 3, 4, 5]:
            out.append(Condition(d["kind"], d["name"], int(sev), params))
    return out


def apply_condition(
    image: np.ndarray, image_id: int, cond: Condition, seed: int, dataset: Any = None
) -> Any:
    """The image under a condition (:class:`posebench.conditions.apply.Applied`; clean: the
    image unchanged). Deterministic per (image, condition, severity, seed)."""
    from posebench.conditions.apply import Applied

    if cond.kind == "clean":
        return Applied(image)
    from posebench.conditions.apply import apply_condition as _apply

    return _apply(
        image,
        image_id,
        cond.kind,
        cond.name,
        cond.severity,
        seed,
        params=dict(cond.params),
        dataset=dataset,
    )


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
    """:func:`apply_condition` over a batch on a backend (``numpy``, or ``torch`` on ``device``:
    :func:`posebench.conditions.apply.apply_batch`)."""
    if cond.kind == "clean":
        from posebench.conditions.apply import Applied

        return [Applied(im) for im in images]
    from posebench.conditions.apply import apply_batch

    return apply_batch(
        images, image_ids, cond.kind, cond.name, cond.severity, seed,
        params=dict(cond.params), dataset=dataset, backend=backend, device=device,
    )  # fmt: skip


def condition_backend_tag(cond: Condition, backend: str) -> str:
    """The backend a condition's images actually come from (part of the cache key): ``torch``
    only for kinds with a torch path, else ``numpy``."""
    from posebench.conditions.apply import TORCH_KINDS

    return "torch" if backend == "torch" and cond.kind in TORCH_KINDS else "numpy"


def check_conditions(conditions: Sequence[Condition]) -> None:
    """Fail before predicting anything when a condition name or severity is unknown."""
    from posebench.conditions.apply import check_condition

    for c in conditions:
        if c.kind != "clean":
            check_condition(c.kind, c.name, c.severity)


@dataclass(frozen=True)
class Covered:
    """Which ground-truth keypoints a condition covered: ``rows`` (R,) dataset GT rows and
    ``flags`` (R, K) bool."""

    rows: npt.NDArray[np.int64]
    flags: npt.NDArray[np.bool_]


@dataclass(frozen=True)
class RunOptions:
    """What ``posebench run`` was asked to do."""

    adapter: str
    suite: str
    output: Path
    adapter_args: dict[str, str] = field(default_factory=dict)
    data_root: Path | None = None
    limit: int | None = None
    shard: tuple[int, int] = (0, 1)
    device: str | None = None
    batch_size: int | None = None
    n_boot: int = 1000
    seed: int | None = None
    progress: bool = False
    max_batches: int | None = None  # stop after this many newly predicted batches (tests)
    dataset: str | None = None  # run the suite on another dataset (e.g. the embedded sample)
    boxes: str | None = None  # override the suite's box source (gt, detector)
    condition_backend: str = "numpy"  # numpy, or torch on ``device`` (conditions.apply.BACKENDS)


#: more shards than any dataset has images is a typo (or hostile), not a plan
MAX_SHARDS = 1_000_000


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` (1-based i, as humans count shards) -> (i - 1, n)."""
    try:
        a, b = text.split("/")
        i, n = int(a), int(b)
    except ValueError:
        raise InputError(f"expected i/n such as 2/4, got {text!r}", field="--shard") from None
    if not 1 <= i <= n:
        raise InputError(f"shard {i} of {n}: need 1 <= i <= n", field="--shard")
    if n > MAX_SHARDS:
        raise InputError(f"{n} shards: at most {MAX_SHARDS}", field="--shard")
    return i - 1, n


def shard_ids(ids: IntArray, shard: tuple[int, int]) -> IntArray:
    """The image ids of shard ``(i, n)``: every n-th id of the sorted list, from the i-th."""
    i, n = shard
    return np.sort(np.asarray(ids, dtype=np.int64))[i::n]


def adapter_signature(name: str, args: dict[str, Any], info: dict[str, Any]) -> str:
    """12 hex digits naming (adapter, its arguments, its info record): the prediction cache key."""
    blob = json.dumps({"name": name, "args": args, "info": info}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


# ------------------------------------------------------------------------ atomic PoseSet files

_POSESET_COLUMNS = tuple(f.name for f in fields(PoseSet) if f.name != "extra")


def save_poses(path: Path, poses: PoseSet, aux: dict[str, np.ndarray] | None = None) -> None:
    """Write a PoseSet (and ``aux`` arrays) as an ``.npz`` atomically (a temporary file renamed
    into place)."""
    arrays: dict[str, np.ndarray] = {f"aux.{k}": np.asarray(v) for k, v in (aux or {}).items()}
    for name in _POSESET_COLUMNS:
        v = getattr(poses, name)
        if v is not None:
            arrays[name] = np.asarray(v)
    for k, v in poses.extra.items():
        arrays[f"extra.{k}"] = np.asarray(v)
    atomic_write(path, lambda f: np.savez(f, **arrays))  # type: ignore[arg-type]


def load_poses(path: Path) -> PoseSet:
    """Inverse of :func:`save_poses` (the PoseSet)."""
    return load_poses_aux(path)[0]


def load_poses_aux(path: Path) -> tuple[PoseSet, dict[str, np.ndarray]]:
    """Inverse of :func:`save_poses`: the PoseSet and the ``aux`` arrays."""
    with np.load(path, allow_pickle=False) as z:
        cols: dict[str, Any] = {n: z[n] for n in _POSESET_COLUMNS if n in z.files}
        cols["extra"] = {n[6:]: z[n] for n in z.files if n.startswith("extra.")}
        aux = {n[4:]: z[n] for n in z.files if n.startswith("aux.")}
    for opt in ("visibility", "keypoint_scores"):
        cols.setdefault(opt, None)
    return PoseSet(**cols), aux


def atomic_write(path: Path, write: Callable[[Any], None], mode: str = "wb") -> None:
    """Call ``write(fileobj)`` on a temporary file beside ``path`` and rename it into place, so a
    reader (or a resumed run) sees the whole file or none of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_matches(path: Path, matches: Sequence[OksMatches]) -> None:
    """OKS match records (one per category) as an ``.npz``."""
    arrays = {
        f"{c}.{f.name}": np.asarray(getattr(m, f.name))
        for c, m in enumerate(matches)
        for f in fields(OksMatches)
    }
    atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays))  # type: ignore[arg-type]


def load_matches(path: Path) -> list[OksMatches]:
    """Inverse of :func:`save_matches`."""
    with np.load(path, allow_pickle=False) as z:
        n = len({k.split(".")[0] for k in z.files})
        return [
            OksMatches(**{f.name: z[f"{c}.{f.name}"] for f in fields(OksMatches)}) for c in range(n)
        ]


# ------------------------------------------------------------------------------- predicting


def _progress(total: int, desc: str, enabled: bool) -> Any:
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ModuleNotFoundError:
        return None
    return tqdm(total=total, desc=desc, unit="img", file=sys.stderr, leave=False)


def progress_enabled() -> bool:
    """Progress bars only on an interactive terminal and never under CI."""
    return sys.stderr.isatty() and not os.environ.get("CI")


@dataclass
class PredictStats:
    """Counters of one condition's prediction pass."""

    images: int = 0
    predicted_images: int = 0
    cached_batches: int = 0
    new_batches: int = 0
    predict_seconds: float = 0.0
    load_seconds: float = 0.0


def _batches(ids: IntArray, size: int) -> Iterator[tuple[int, IntArray]]:
    for start in range(0, len(ids), size):
        yield start, ids[start : start + size]


def predict_condition(
    adapter: Adapter,
    dataset: Any,
    ids: IntArray,
    cond: Condition,
    *,
    boxes: Callable[[int], tuple[np.ndarray, np.ndarray, np.ndarray]] | None,
    batch_size: int,
    cache_dir: Path,
    seed: int,
    progress: bool = False,
    max_new_batches: int | None = None,
    stats: PredictStats | None = None,
    condition_backend: str = "numpy",
    condition_device: str = "cpu",
) -> tuple[PoseSet, Covered | None]:
    """Predictions for ``ids`` under ``cond``, batch by batch, each batch cached atomically.

    Args:
        adapter: the model.
        dataset: a loaded dataset (``load_image(id)``).
        ids: (I,) image ids in processing order.
        cond: the condition applied to every image.
        boxes: image id -> ((M, 4) boxes, (M,) scores, (M,) dataset GT row of each box or -1)
            for top-down adapters, else None. Predictions then get ``extra["gt_row"]``.
        batch_size: images per adapter call (also the cache granularity).
        cache_dir: this (adapter, dataset, condition, shard)'s cache folder.
        seed: the condition seed.
        max_new_batches: stop (raising KeyboardInterrupt) after predicting this many new batches;
            tests use it to simulate a killed run.
        condition_backend, condition_device: where the condition is computed
            (:func:`apply_conditions`); the cache folder must be the backend's own.

    Returns:
        All predictions, ordered by image id (stable within an image), and for occlusion the
        covered ground-truth keypoints.
    """
    stats = stats if stats is not None else PredictStats()
    k, d = adapter.skeleton.num_keypoints, int(adapter.dims)
    parts: list[PoseSet] = []
    cov_rows: list[np.ndarray] = []
    cov_flags: list[np.ndarray] = []
    bar = _progress(len(ids), cond.key, progress)
    new = 0
    for start, chunk in _batches(ids, batch_size):
        path = cache_dir / f"batch-{start:07d}-{start + len(chunk):07d}.npz"
        stats.images += len(chunk)
        if path.exists():
            pred, cached_aux = load_poses_aux(path)
            parts.append(pred)
            if "covered_rows" in cached_aux:
                cov_rows.append(cached_aux["covered_rows"])
                cov_flags.append(cached_aux["covered"])
            stats.cached_batches += 1
        else:
            if max_new_batches is not None and new >= max_new_batches:
                raise KeyboardInterrupt(f"stopped after {new} new batches (max_new_batches)")
            t0 = time.perf_counter()
            applied = apply_conditions(
                [dataset.load_image(int(i)) for i in chunk], [int(i) for i in chunk], cond,
                seed, dataset, backend=condition_backend, device=condition_device,
            )  # fmt: skip
            images = [a.image for a in applied]
            aux: dict[str, np.ndarray] = {}
            if cond.kind == "occlusion":
                k_gt = dataset.gt.num_joints
                aux["covered_rows"] = np.concatenate(
                    [a.rows for a in applied if a.rows is not None] or [np.zeros(0, np.int64)]
                )
                aux["covered"] = np.concatenate(
                    [a.covered for a in applied if a.covered is not None]
                    or [np.zeros((0, k_gt), bool)]
                )
                cov_rows.append(aux["covered_rows"])
                cov_flags.append(aux["covered"])
            bx = [boxes(int(i)) for i in chunk] if boxes is not None else None
            batch = Batch(
                image_ids=chunk.astype(np.int64),
                images=images,
                boxes=[b[0] for b in bx] if bx is not None else None,
                box_scores=[b[1] for b in bx] if bx is not None else None,
            )
            t1 = time.perf_counter()
            pred = adapter.predict(batch)
            t2 = time.perf_counter()
            _check_predictions(pred, chunk, k, d, batch)
            if bx is not None:
                pred = _with_gt_rows(pred, chunk, [b[2] for b in bx])
            save_poses(path, pred, aux)
            parts.append(pred)
            stats.new_batches += 1
            stats.predicted_images += len(chunk)
            stats.load_seconds += t1 - t0
            stats.predict_seconds += t2 - t1
            new += 1
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()
    allp = concat_posesets(parts, k, d)
    order = np.argsort(allp.image_id, kind="stable")
    covered = None
    if cond.kind == "occlusion":
        covered = Covered(
            np.concatenate(cov_rows) if cov_rows else np.zeros(0, np.int64),
            np.concatenate(cov_flags) if cov_flags else np.zeros((0, dataset.gt.num_joints), bool),
        )
    return allp.take(order), covered


def _with_gt_rows(pred: PoseSet, chunk: IntArray, rows: list[np.ndarray]) -> PoseSet:
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


def _check_predictions(pred: PoseSet, chunk: IntArray, k: int, d: int, batch: Batch) -> None:
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


# ---------------------------------------------------------------------------------- metrics


@dataclass
class ConditionResult:
    """Predictions and metric blocks of one condition."""

    condition: Condition
    predictions: PoseSet
    metrics: list[MetricBlock]
    stats: PredictStats


def evaluate_condition(
    suite: Any,
    dataset: Any,
    ids: IntArray,
    pred: PoseSet,
    *,
    n_boot: int,
    seed: int,
    covered: Covered | None = None,
    box_source: str | None = None,
) -> list[MetricBlock]:
    """Every metric of the suite on the images ``ids``.

    With ``covered`` (occlusion), the ground truth's covered visible keypoints become occluded
    (v 2 -> 1), every metric is computed on all keypoints as usual, and an OKS metric is followed
    by ``keypoints/occluded``: the keypoint similarity on the covered keypoints alone and on the
    others, persons paired as the OKS evaluation paired them
    (:func:`posebench.evaluate.occluded_keypoints`).
    """
    from posebench.evaluate import occluded_keypoints

    sel_img = np.isin(dataset.images.id, ids)
    images = dataset.images.take(np.flatnonzero(sel_img))
    gt = dataset.gt
    flags = None
    if covered is not None and gt.visibility is not None:
        flags = np.zeros(gt.visibility.shape, bool)
        flags[covered.rows] = covered.flags
        gt = gt.with_columns(visibility=np.where(flags & (gt.visibility == 2), 1.0, gt.visibility))
    gt_rows = np.flatnonzero(np.isin(gt.image_id, ids))
    gt_sub = gt.take(gt_rows)
    pred = pred.take(np.flatnonzero(np.isin(pred.image_id, ids)))
    source = box_source or str(suite.boxes)
    out = []
    for spec in suite.metrics:
        s = spec.model_dump() if hasattr(spec, "model_dump") else dict(spec)
        block = evaluate_metric(
            s,
            gt_sub,
            pred,
            images,
            dataset.skeleton,
            gt_rows=gt_rows,
            box_source=source,
            n_boot=n_boot,
            seed=seed,
            breakdowns=tuple(getattr(suite, "breakdowns", ()) or ()) if s["name"] == "oks" else (),
        )
        out.append(block)
        if flags is not None and block.name == "oks" and block.matches:
            out.append(
                occluded_keypoints(
                    gt_sub,
                    pred,
                    images,
                    dataset.skeleton,
                    flags[gt_rows],
                    block.matches[0],
                    box_source=source,
                    n_boot=n_boot,
                    seed=seed,
                )
            )
    return out


# ------------------------------------------------------------------------------ whole runs


def _covered_aux(covered: Covered | None) -> dict[str, np.ndarray] | None:
    if covered is None:
        return None
    return {"covered_rows": covered.rows, "covered": covered.flags}


def _gt_box_source(dataset: Any) -> Callable[[int], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    def boxes(image_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        b, rows = dataset.gt_boxes(image_id)
        b = np.asarray(b, np.float64).reshape(-1, 4)
        return b, np.ones(len(b)), np.asarray(rows, np.int64)

    return boxes


def _detector_box_source(
    dataset: Any,
) -> Callable[[int], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    def boxes(image_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        b, sc = dataset.det_boxes(image_id)
        b = np.asarray(b, np.float64).reshape(-1, 4)
        return b, np.asarray(sc, np.float64), np.full(len(b), -1, np.int64)

    return boxes


def _suite_json(suite: Any) -> dict[str, Any]:
    d: dict[str, Any] = suite.model_dump(mode="json") if hasattr(suite, "model_dump") else {}
    return d


def run(options: RunOptions) -> Path:
    """Run an adapter on a suite; returns the run folder (``options.output``).

    Resumable: batches already in the cache are loaded, not predicted again, so a killed run
    started again with the same options finishes with the same numbers.
    """
    from posebench.adapters import adapter_factory, load_adapter
    from posebench.datasets import load_dataset
    from posebench.suite import load_suite

    t_start = time.perf_counter()
    from posebench.conditions.apply import BACKENDS

    if options.condition_backend not in BACKENDS:
        raise InputError(
            f"unknown condition backend {options.condition_backend!r}; known: "
            f"{', '.join(BACKENDS)}",
            field="--condition-backend",
        )
    if options.condition_backend == "torch" and options.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise InputError("CUDA is not available to torch on this machine", field="--device")
    suite = load_suite(options.suite)
    overrides = {k: v for k, v in (("dataset", options.dataset), ("boxes", options.boxes)) if v}
    if overrides:
        from posebench.datasets import get_spec

        if options.dataset:
            get_spec(options.dataset)  # "did you mean" on a typo
        suite = suite.model_copy(update=overrides)
    dataset = load_dataset(suite.dataset, options.data_root, limit=options.limit)
    args: dict[str, Any] = dict(options.adapter_args)
    if options.device is not None:
        import inspect

        if "device" in inspect.signature(adapter_factory(options.adapter)).parameters:
            args.setdefault("device", options.device)
    adapter = load_adapter(options.adapter, args)
    prepare = getattr(adapter, "prepare", None)
    if callable(prepare):
        prepare(dataset.gt, dataset.skeleton, dataset.name)
    info = adapter.info().to_json()
    if adapter.skeleton.name != dataset.skeleton.name:
        raise InputError(
            f"adapter {options.adapter!r} returns {adapter.skeleton.name} keypoints; suite "
            f"{suite.name!r} is scored on {dataset.skeleton.name}",
            field="--adapter",
        )
    sig = adapter_signature(options.adapter, args, info)
    seed = suite.seed if options.seed is None else options.seed
    batch_size = options.batch_size or suite.batch_size
    if batch_size < 1:
        raise InputError("must be at least 1", field="--batch-size")
    box_source = str(suite.boxes)
    boxes = None
    if adapter.top_down:
        if box_source == "detector":
            dataset.detections()  # fails early, naming the file, when there are none
            boxes = _detector_box_source(dataset)
        else:
            boxes = _gt_box_source(dataset)
            box_source = "gt"
    else:
        box_source = "none"
    ids = shard_ids(dataset.images.id, options.shard)
    shard_tag = f"shard-{options.shard[0] + 1}-of-{options.shard[1]}"
    out = Path(options.output)
    out.mkdir(parents=True, exist_ok=True)
    conditions = expand_conditions(suite.conditions)
    check_conditions(conditions)
    results: list[ConditionResult] = []
    for cond in conditions:
        stats = PredictStats()
        backend = condition_backend_tag(cond, options.condition_backend)
        seed_tag = f"seed-{seed}" if backend == "numpy" else f"seed-{seed}-{backend}"
        cache = out / "cache" / sig / dataset.name / cond.key / seed_tag / shard_tag
        pred, covered = predict_condition(
            adapter,
            dataset,
            ids,
            cond,
            boxes=boxes,
            batch_size=batch_size,
            cache_dir=cache,
            seed=seed,
            progress=options.progress,
            max_new_batches=options.max_batches,
            stats=stats,
            condition_backend=options.condition_backend,
            condition_device=options.device or "cpu",
        )
        save_poses(out / "predictions" / f"{cond.key}.npz", pred, _covered_aux(covered))
        t0 = time.perf_counter()
        blocks = evaluate_condition(
            suite,
            dataset,
            ids,
            pred,
            n_boot=options.n_boot,
            seed=seed,
            covered=covered,
            box_source=box_source,
        )
        stats_eval = time.perf_counter() - t0
        for b in blocks:
            if b.matches:
                save_matches(
                    out / "matches" / f"{cond.key}.{b.key.replace('/', '-')}.npz", b.matches
                )
        results.append(ConditionResult(cond, pred, blocks, stats))
        log.info("%s: %d images, evaluated in %.2fs", cond.key, len(ids), stats_eval)
    close = getattr(adapter, "close", None)
    if callable(close):
        close()
    write_run(
        out,
        options=options,
        suite=suite,
        dataset=dataset,
        ids=ids,
        adapter_sig=sig,
        adapter_args=args,
        info=info,
        box_source=box_source,
        seed=seed,
        results=results,
        seconds=time.perf_counter() - t_start,
    )
    return out


def write_run(
    out: Path,
    *,
    options: RunOptions,
    suite: Any,
    dataset: Any,
    ids: IntArray,
    adapter_sig: str,
    adapter_args: dict[str, Any],
    info: dict[str, Any],
    box_source: str,
    seed: int,
    results: list[ConditionResult],
    seconds: float,
    merged_from: list[str] | None = None,
) -> None:
    """Write ``results.json`` and ``samples.parquet`` for evaluated conditions."""
    from posebench import __version__
    from posebench.results import (
        SCHEMA,
        git_hash,
        now_iso,
        package_versions,
        write_results_json,
        write_samples,
    )
    from posebench.robustness import summarize

    conds: dict[str, Any] = {}
    tables: list[dict[str, np.ndarray]] = []
    predicted = sum(r.stats.predicted_images for r in results)
    predict_s = sum(r.stats.predict_seconds for r in results)
    for r in results:
        c = r.condition
        conds[c.key] = {
            "kind": c.kind,
            "name": c.name,
            "severity": c.severity,
            "params": dict(c.params),
            "predictions": len(r.predictions),
            "metrics": {b.key: b.to_json() for b in r.metrics},
        }
        tables.append(_per_image_rows(r))
    head = results[0].metrics[0].key if results and results[0].metrics else None
    payload: dict[str, Any] = {
        "schema": SCHEMA,
        "created": now_iso(),
        "posebench": {"version": __version__, "git": git_hash()},
        "versions": package_versions(),
        "adapter": {
            "name": options.adapter,
            "args": adapter_args,
            "signature": adapter_sig,
            "info": info,
        },
        "suite": _suite_json(suite),
        "dataset": {
            "name": dataset.name,
            "root": str(dataset.root) if dataset.root else None,
            "images": len(ids),
            "limit": options.limit,
        },
        "box_source": box_source,
        "shard": list(options.shard),
        "merged_from": merged_from,
        "seed": seed,
        "condition_backend": options.condition_backend,
        "n_boot": options.n_boot,
        "headline": head,
        "conditions": conds,
        "summary": summarize(conds),
        "timings": {"total_seconds": seconds, "predict_seconds": predict_s},
        "throughput": {
            "predicted_images": predicted,
            "images_per_second": predicted / predict_s if predict_s > 0 else None,
        },
    }
    write_results_json(out / "results.json", payload)
    if tables:
        names = list(dict.fromkeys(k for t in tables for k in t))
        like = {k: next(t[k] for t in tables if k in t) for k in names}
        rows = {
            k: np.concatenate(
                [t[k] if k in t else _missing_column(like[k], len(t["image_id"])) for t in tables]
            )
            for k in names
        }
        write_samples(out / "samples.parquet", rows)


def _missing_column(like: np.ndarray, n: int) -> np.ndarray:
    if like.dtype.kind == "f":
        return np.full(n, np.nan)
    if like.dtype.kind in "iu":
        return np.full(n, -1, like.dtype)
    return np.full(n, "", dtype=object)


def _per_image_rows(r: ConditionResult) -> dict[str, np.ndarray]:
    ids: np.ndarray | None = None
    cols: dict[str, np.ndarray] = {}
    for b in r.metrics:
        pid = b.per_image["image_id"]
        if ids is None:
            ids = pid
        elif not np.array_equal(ids, pid):
            raise AssertionError("metrics disagree on the evaluated images")
        for k, v in b.per_image.items():
            if k != "image_id":
                cols[f"{b.key}.{k}"] = v
    ids = np.zeros(0, np.int64) if ids is None else ids
    n = len(ids)
    return {
        "condition": np.full(n, r.condition.key, dtype=object),
        "kind": np.full(n, r.condition.kind, dtype=object),
        "name": np.full(n, r.condition.name, dtype=object),
        "severity": np.full(n, r.condition.severity, np.int64),
        "image_id": ids,
        **cols,
    }


def merge(
    run_dirs: Sequence[Path],
    output: Path,
    *,
    data_root: Path | None = None,
    n_boot: int | None = None,
) -> Path:
    """Combine the shards of one run into the result of a single pass.

    Every folder must be a shard of the same adapter signature, suite and seed; together the
    shards must cover ``1..n`` exactly once. Predictions are concatenated and evaluated again, so
    the merged numbers equal those of an unsharded run.
    """
    from posebench.datasets import load_dataset
    from posebench.results import read_results_json
    from posebench.suite import Suite

    metas = [(Path(d), read_results_json(Path(d))) for d in run_dirs]
    if not metas:
        raise InputError("nothing to merge", field="RUN")
    first = metas[0][1]
    n = first["shard"][1]
    seen = sorted(m["shard"][0] for _, m in metas)
    for d, m in metas:
        for key in ("adapter.signature", "suite", "seed", "dataset.name", "dataset.limit",
                    "condition_backend"):  # fmt: skip
            a, b = _dig(first, key), _dig(m, key)
            if a != b:
                raise InputError(f"{key} differs from {metas[0][0]}: {b!r} vs {a!r}", file=str(d))
        if m["shard"][1] != n:
            raise InputError(f"shard of {m['shard'][1]} vs {n}", file=str(d), field="shard")
    if seen != list(range(n)):
        missing = sorted(set(range(n)) - set(seen))
        raise InputError(
            f"shards do not cover 1..{n} exactly once (have {[s + 1 for s in seen]}, "
            f"missing {[s + 1 for s in missing]})",
            field="RUN",
        )
    suite = Suite.model_validate(first["suite"])
    root = data_root or (Path(first["dataset"]["root"]) if first["dataset"]["root"] else None)
    dataset = load_dataset(suite.dataset, root, limit=first["dataset"]["limit"])
    ids = np.sort(dataset.images.id.astype(np.int64))
    boot = first["n_boot"] if n_boot is None else n_boot
    results = []
    for key, c in first["conditions"].items():
        loaded = [load_poses_aux(d / "predictions" / f"{key}.npz") for d, _ in metas]
        parts = [p for p, _ in loaded]
        covered = None
        if c["kind"] == "occlusion":
            covered = Covered(
                np.concatenate([a["covered_rows"] for _, a in loaded]),
                np.concatenate([a["covered"] for _, a in loaded]),
            )
        k = dataset.skeleton.num_keypoints
        pred = concat_posesets(parts, k, parts[0].keypoints.shape[2] if len(parts[0]) else 2)
        pred = pred.take(np.argsort(pred.image_id, kind="stable"))
        cond = Condition(c["kind"], c["name"], c["severity"], tuple(sorted(c["params"].items())))
        blocks = evaluate_condition(
            suite,
            dataset,
            ids,
            pred,
            n_boot=boot,
            seed=first["seed"],
            covered=covered,
            box_source=first["box_source"],
        )
        output.mkdir(parents=True, exist_ok=True)
        save_poses(output / "predictions" / f"{key}.npz", pred, _covered_aux(covered))
        for b in blocks:
            if b.matches:
                save_matches(output / "matches" / f"{key}.{b.key.replace('/', '-')}.npz", b.matches)
        stats = PredictStats()
        for _, m in metas:
            stats.predicted_images += int(m["throughput"]["predicted_images"] or 0)
            stats.predict_seconds += float(m["timings"]["predict_seconds"] or 0)
        stats.predicted_images //= max(len(first["conditions"]), 1)
        stats.predict_seconds /= max(len(first["conditions"]), 1)
        results.append(ConditionResult(cond, pred, blocks, stats))
    opts = RunOptions(
        adapter=first["adapter"]["name"],
        suite=suite.name,
        output=output,
        adapter_args=first["adapter"]["args"],
        data_root=root,
        limit=first["dataset"]["limit"],
        shard=(0, 1),
        n_boot=boot,
        seed=first["seed"],
        condition_backend=first.get("condition_backend", "numpy"),
    )
    write_run(
        output,
        options=opts,
        suite=suite,
        dataset=dataset,
        ids=ids,
        adapter_sig=first["adapter"]["signature"],
        adapter_args=first["adapter"]["args"],
        info=first["adapter"]["info"],
        box_source=first["box_source"],
        seed=first["seed"],
        results=results,
        seconds=sum(m["timings"]["total_seconds"] for _, m in metas),
        merged_from=[str(d) for d, _ in metas],
    )
    return output


def _dig(d: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        d = d.get(part) if isinstance(d, dict) else None  # type: ignore[assignment]
    return d
