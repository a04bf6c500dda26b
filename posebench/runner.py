"""The runner: adapter x suite -> a run folder, as plan -> execute -> store -> evaluate.

:func:`run` makes the plan (:mod:`posebench.engine.plan`: work units = condition x image chunk,
content-addressed cache keys), claims the output folder (:func:`posebench.engine.store.
claim_output`: another run there is refused unless ``overwrite``), runs the units the cache lacks
on an executor (:mod:`posebench.engine.execute` in-process, :mod:`posebench.engine.ray_executor`
on Ray), each result written to the cache by the driver as it arrives, then evaluates every
condition once from the cache (:mod:`posebench.engine.evaluation`) and writes the run folder
(:mod:`posebench.engine.store`). A killed run started again with the same command resumes from
the cache and gives the same numbers. :func:`merge` combines the shards of one plan.

The names other modules import from here (``RunOptions``, ``run``, ``merge``, ``Condition``,
``load_poses``, ``load_matches``, ``atomic_write``, ``adapter_signature``, ...) stay importable
from ``posebench.runner``; they live in the engine modules.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from posebench.adapter import concat_posesets
from posebench.engine.evaluation import (
    ConditionResult,
    Covered,
    PredictStats,
    assemble,
    evaluate_condition,
    per_image_rows,
    samples_table,
)
from posebench.engine.execute import (
    AdapterDescription,
    LocalExecutor,
    WorkerSpec,
    apply_condition,
    apply_conditions,
    progress_bar,
    progress_enabled,
)
from posebench.engine.plan import (
    Condition,
    Plan,
    WorkUnit,
    adapter_signature,
    check_conditions,
    condition_backend_tag,
    expand_conditions,
    ids_sha256,
    make_plan,
    parse_shard,
    run_identity,
    shard_ids,
)
from posebench.engine.store import (
    UnitCache,
    UnitOutput,
    atomic_write,
    claim_output,
    load_matches,
    load_poses,
    load_poses_aux,
    read_results_json,
    run_path,
    save_matches,
    save_poses,
    write_run,
)
from posebench.errors import InputError

__all__ = [
    "Condition",
    "ConditionResult",
    "Covered",
    "PredictStats",
    "RunOptions",
    "adapter_signature",
    "apply_condition",
    "apply_conditions",
    "atomic_write",
    "check_conditions",
    "condition_backend_tag",
    "evaluate_condition",
    "expand_conditions",
    "load_matches",
    "load_poses",
    "load_poses_aux",
    "merge",
    "parse_shard",
    "per_image_rows",
    "progress_enabled",
    "run",
    "save_matches",
    "save_poses",
    "shard_ids",
]

log = logging.getLogger(__name__)

EXECUTORS = ("local", "ray")


@dataclass(frozen=True)
class RunOptions:
    """What ``posebench run`` was asked to do."""

    adapter: str
    suite: str | Any  # a suite name, a .yaml file, or a validated posebench.suite.Suite
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
    max_batches: int | None = None  # stop after this many newly predicted units (tests)
    dataset: str | None = None  # run the suite on another dataset (e.g. the embedded sample)
    # override the suite's box source: gt, detector, or a COCO detections JSON / bottom-up run
    # folder whose boxes a top-down adapter gets (posebench.boxes)
    boxes: str | None = None
    condition_backend: str = "numpy"  # numpy, or torch on ``device`` (conditions.apply.BACKENDS)
    image_ids: tuple[int, ...] | None = None  # --image-ids: run on these images only
    resume: bool = False  # the output folder must hold this run
    overwrite: bool = False  # replace another run in the output folder
    executor: str = "local"  # local | ray
    address: str | None = None  # Ray cluster address (None: a local cluster)
    workers: int | None = None  # Ray actors (default: the cluster's CPUs / GPUs per worker)
    gpus_per_worker: float = 0.0  # GPUs each Ray actor reserves
    max_in_flight: int | None = None  # Ray tasks in flight (default 2 per worker)


def _suite_json(suite: Any) -> dict[str, Any]:
    d: dict[str, Any] = suite.model_dump(mode="json") if hasattr(suite, "model_dump") else {}
    return d


def _make_executor(options: RunOptions) -> Any:
    if options.executor == "local":
        return LocalExecutor()
    if options.executor == "ray":
        from posebench.engine.ray_executor import RayExecutor

        return RayExecutor(
            address=options.address,
            workers=options.workers,
            gpus_per_worker=options.gpus_per_worker,
            max_in_flight=options.max_in_flight,
        )
    raise InputError(
        f"unknown executor {options.executor!r}; known: {', '.join(EXECUTORS)}", field="--executor"
    )


def _check_options(options: RunOptions) -> None:
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
    check_executor_options(
        options.executor, options.address, options.workers, options.gpus_per_worker
    )


def check_executor_options(
    executor: str, address: str | None, workers: int | None, gpus_per_worker: float
) -> None:
    """The executor flags of ``run`` and ``examine`` (``--executor``, ``--address``,
    ``--workers``, ``--gpus-per-worker``): known executor, Ray flags only with Ray."""
    if executor not in EXECUTORS:
        raise InputError(
            f"unknown executor {executor!r}; known: {', '.join(EXECUTORS)}", field="--executor"
        )
    if executor == "local" and (address or workers or gpus_per_worker):
        raise InputError(
            "--address, --workers and --gpus-per-worker need --executor ray", field="--executor"
        )
    if workers is not None and workers < 1:
        raise InputError("must be at least 1", field="--workers")
    if not gpus_per_worker >= 0:
        raise InputError("must be >= 0", field="--gpus-per-worker")


def run(options: RunOptions) -> Path:
    """Run an adapter on a suite; returns the run folder (``options.output``).

    Resumable: units already in the cache are loaded, not predicted again, so a killed run
    started again with the same options (on any executor) finishes with the same numbers.
    """
    from posebench.adapters import adapter_factory
    from posebench.datasets import load_dataset, require_metric_inputs
    from posebench.suite import load_suite

    t_start = time.perf_counter()
    _check_options(options)
    suite = load_suite(options.suite)
    box_file = None
    if options.boxes and options.boxes not in ("gt", "detector", "none"):
        from posebench.boxes import read_box_file

        box_file = read_box_file(options.boxes)
    suite_boxes = options.boxes if box_file is None else None
    overrides = {k: v for k, v in (("dataset", options.dataset), ("boxes", suite_boxes)) if v}
    if overrides:
        from posebench.datasets import get_spec

        if options.dataset:
            get_spec(options.dataset)  # "did you mean" on a typo
        suite = suite.model_copy(update=overrides)
    dataset = load_dataset(
        suite.dataset, options.data_root, limit=options.limit, image_ids=options.image_ids
    )
    require_metric_inputs(dataset, [m.name for m in suite.metrics])
    args: dict[str, Any] = dict(options.adapter_args)
    if options.device is not None:
        import inspect

        if "device" in inspect.signature(adapter_factory(options.adapter)).parameters:
            args.setdefault("device", options.device)
    seed = suite.seed if options.seed is None else options.seed
    batch_size = options.batch_size or suite.batch_size
    if batch_size < 1:
        raise InputError("must be at least 1", field="--batch-size")
    conditions = expand_conditions(suite.conditions)
    check_conditions(conditions)
    requested_boxes = "detector" if str(suite.boxes) == "detector" else "gt"
    if box_file is not None:
        from posebench.boxes import check_images

        check_images(box_file, dataset.images.id)
        requested_boxes = box_file.box_source  # file-<digest>: part of every unit's cache key
    spec = WorkerSpec(
        adapter=options.adapter,
        adapter_args=args,
        dataset=suite.dataset,
        data_root=str(options.data_root) if options.data_root else None,
        limit=options.limit,
        image_ids=options.image_ids,
        box_source=requested_boxes,
        box_file=str(Path(str(options.boxes)).resolve()) if box_file is not None else None,
        seed=seed,
        condition_backend=options.condition_backend,
        condition_device=options.device or "cpu",
    )
    executor = _make_executor(options)
    try:
        if isinstance(executor, LocalExecutor):
            from posebench.adapters import load_adapter

            adapter = load_adapter(options.adapter, args)
            prepare = getattr(adapter, "prepare", None)
            if callable(prepare):
                prepare(dataset.gt, dataset.skeleton, dataset.name)
            desc = executor.start(spec, adapter=adapter, dataset=dataset)
        else:
            desc = executor.start(spec)
        if desc.skeleton != dataset.skeleton.name:
            raise InputError(
                f"adapter {options.adapter!r} returns {desc.skeleton} keypoints; suite "
                f"{suite.name!r} is scored on {dataset.skeleton.name}",
                field="--adapter",
            )
        if box_file is not None and not desc.top_down:
            raise InputError(
                f"adapter {options.adapter!r} finds people itself (bottom-up); --boxes FILE is "
                "for top-down adapters",
                field="--boxes",
            )
        box_source = requested_boxes if desc.top_down else "none"
        if box_source == "detector":
            dataset.detections()  # fails early, naming the file, when there are none
        sig = adapter_signature(options.adapter, args, desc.info)
        plan = make_plan(
            dataset,
            conditions,
            adapter_sig=sig,
            suite=_suite_json(suite),
            seed=seed,
            box_source=box_source,
            batch_size=batch_size,
            shard=options.shard,
            condition_backend=options.condition_backend,
            condition_device=options.device or "cpu",
        )
        out = Path(options.output)
        claim_output(out, plan.identity, resume=options.resume, overwrite=options.overwrite)
        t_exec = time.perf_counter()
        stats = _execute(plan, executor, UnitCache(out / "cache"), desc, options)
        t_exec = time.perf_counter() - t_exec
    finally:
        executor.close()
    t_eval = time.perf_counter()
    results, files = _evaluate_all(plan, suite, dataset, desc, out, options.n_boot, stats)
    t_eval = time.perf_counter() - t_eval
    _write(
        out,
        plan=plan,
        options=options,
        suite=suite,
        dataset=dataset,
        adapter_sig=sig,
        adapter_args=args,
        info=desc.info,
        results=results,
        files=files,
        seconds=time.perf_counter() - t_start,
        timings={"execute_seconds": t_exec, "evaluate_seconds": t_eval},
        boxes_from=box_file.to_json() if box_file is not None else None,
    )
    return out


def _entry_checks(plan: Plan, desc: AdapterDescription, u: WorkUnit) -> dict[str, Any]:
    return {
        "num_keypoints": desc.num_keypoints,
        "dims": desc.dims,
        "occlusion": u.condition.kind == "occlusion",
        "top_down": plan.box_source != "none",
    }


def _execute(
    plan: Plan,
    executor: Any,
    cache: UnitCache,
    desc: AdapterDescription,
    options: RunOptions,
) -> dict[Condition, PredictStats]:
    """Run the units the cache lacks; every result is written to the cache as it arrives."""
    stats = {c: PredictStats() for c in plan.conditions}
    pending: list[WorkUnit] = []
    for u in plan.units:
        st = stats[u.condition]
        st.images += len(u.image_ids)
        if cache.get(u, **_entry_checks(plan, desc, u)) is not None:
            st.cached_batches += 1
        else:
            pending.append(u)
    total = sum(len(u.image_ids) for u in plan.units)
    bar = progress_bar(total, f"{len(plan.units)} units", options.progress)
    if bar is not None:
        bar.update(total - sum(len(u.image_ids) for u in pending))
    done = 0

    def on_done(u: WorkUnit, o: UnitOutput) -> None:
        nonlocal done
        cache.put(u, o)
        st = stats[u.condition]
        st.new_batches += 1
        st.predicted_images += len(u.image_ids)
        st.load_seconds += o.load_seconds
        st.predict_seconds += o.predict_seconds
        done += 1
        if bar is not None:
            bar.update(len(u.image_ids))
        if options.max_batches is not None and done >= options.max_batches and done < len(pending):
            raise KeyboardInterrupt(f"stopped after {done} new units (max_batches)")

    log.info("%d work units, %d in the cache, %d to run", len(plan.units),
             len(plan.units) - len(pending), len(pending))  # fmt: skip
    try:
        executor.execute(pending, on_done)
    finally:
        if bar is not None:
            bar.close()
    return stats


def _evaluate_all(
    plan: Plan,
    suite: Any,
    dataset: Any,
    desc: AdapterDescription,
    out: Path,
    n_boot: int,
    stats: dict[Condition, PredictStats],
) -> tuple[list[ConditionResult], list[str]]:
    cache = UnitCache(out / "cache")
    results: list[ConditionResult] = []
    files: list[str] = []
    for cond in plan.conditions:
        outputs = []
        for u in plan.units_of(cond):
            o = cache.get(u, **_entry_checks(plan, desc, u))
            if o is None:
                raise InputError(
                    "a cache entry written by this run vanished or was damaged before the "
                    "evaluation; run the same command again",
                    file=str(cache.path(u.key)),
                )
            outputs.append(o)
        pred, covered = assemble(
            outputs, cond, desc.num_keypoints, desc.dims, dataset.gt.num_joints
        )
        t0 = time.perf_counter()
        blocks = evaluate_condition(
            suite, dataset, plan.ids, pred, n_boot=n_boot, seed=plan.seed, covered=covered,
            box_source=plan.box_source,
        )  # fmt: skip
        files += _write_condition(out, cond.key, pred, covered, blocks)
        # on disk now: keep the numbers, not the predictions and match records
        blocks = [dataclasses.replace(b, matches=()) for b in blocks]
        results.append(ConditionResult(cond, None, blocks, stats[cond], n_predictions=len(pred)))
        log.info("%s: %d images, evaluated in %.2fs", cond.key, len(plan.ids),
                 time.perf_counter() - t0)  # fmt: skip
    return results, files


def machine() -> dict[str, Any]:
    """The CPU model and core count a run's throughput was measured on."""
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": f"{cpu}, {cores} cores", "cores": cores}


def _write_condition(
    out: Path, key: str, pred: Any, covered: Covered | None, blocks: Sequence[Any]
) -> list[str]:
    aux = None if covered is None else {"covered_rows": covered.rows, "covered": covered.flags}
    save_poses(run_path(out, "predictions", f"{key}.npz", field="conditions"), pred, aux)
    files = [f"predictions/{key}.npz"]
    for b in blocks:
        if b.matches:
            name = f"{key}.{b.key.replace('/', '-')}.npz"
            save_matches(run_path(out, "matches", name, field="metrics"), b.matches)
            files.append(f"matches/{name}")
    return files


def _write(
    out: Path,
    *,
    plan: Plan,
    options: RunOptions,
    suite: Any,
    dataset: Any,
    adapter_sig: str,
    adapter_args: dict[str, Any],
    info: dict[str, Any],
    results: list[ConditionResult],
    files: list[str],
    seconds: float,
    merged_from: list[str] | None = None,
    timings: dict[str, float] | None = None,
    boxes_from: dict[str, Any] | None = None,
) -> None:
    """Write ``samples.parquet`` and ``results.json`` (with the plan record and file digests).

    ``timings``: extra wall times (``execute_seconds``: the units run, ``evaluate_seconds``)."""
    from posebench import __version__
    from posebench.conditions.apply import implementation
    from posebench.engine.store import SCHEMA, git_hash, now_iso, package_versions
    from posebench.robustness import summarize

    conds: dict[str, Any] = {}
    predicted = sum(r.stats.predicted_images for r in results)
    predict_s = sum(r.stats.predict_seconds for r in results)
    load_s = sum(r.stats.load_seconds for r in results)
    for r in results:
        c = r.condition
        conds[c.key] = {
            "kind": c.kind,
            "name": c.name,
            "severity": c.severity,
            "params": dict(c.params),
            "predictions": r.n_predictions,
            "metrics": {b.key: b.to_json() for b in r.metrics},
        }
        impl = implementation(c.kind, c.name)
        if impl is not None:  # e.g. which frost texture ran, low light's level set
            conds[c.key]["implementation"] = impl
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
            "images": len(plan.ids),
            "limit": options.limit,
            "image_ids": list(options.image_ids) if options.image_ids is not None else None,
            **({"source": dataset.source} if getattr(dataset, "source", None) else {}),
        },
        "box_source": plan.box_source,
        "boxes_from": boxes_from,
        "shard": list(plan.shard),
        "merged_from": merged_from,
        "seed": plan.seed,
        "condition_backend": plan.condition_backend,
        "n_boot": options.n_boot,
        "headline": head,
        "conditions": conds,
        "summary": summarize(conds),
        "timings": {
            "total_seconds": seconds,
            "predict_seconds": predict_s,
            "load_seconds": load_s,
            **(timings or {}),
        },
        "throughput": {
            "predicted_images": predicted,
            "images_per_second": predicted / predict_s if predict_s > 0 else None,
            "machine": machine(),
        },
        "executor": options.executor,
        "plan": {
            "run_key": plan.identity["key"],
            "dataset": plan.dataset,
            "batch_size": plan.batch_size,
            "chunks": plan.chunks,
            "units": len(plan.units),
            "image_ids": [int(i) for i in plan.ids],
            "image_ids_sha256": ids_sha256([int(i) for i in plan.ids]),
        },
    }
    write_run(out, payload, samples_table(results), files)


# ------------------------------------------------------------------------------------- merge


def merge(
    run_dirs: Sequence[Path],
    output: Path,
    *,
    data_root: Path | None = None,
    n_boot: int | None = None,
) -> Path:
    """Combine the shards of one run into the result of a single pass.

    Every folder must be a shard of the same plan (adapter signature, suite, seed, dataset
    content, batch size); each must hold exactly the images the plan gives its shard index (its
    recorded ids, their hash, and the ids inside its predictions, each file checked against the
    digest its results.json records), and together they must cover ``1..n`` once. Predictions
    are concatenated and evaluated again, so the merged numbers equal those of an unsharded run.
    """
    from posebench.datasets import load_dataset
    from posebench.engine.plan import dataset_identity, image_hashes
    from posebench.suite import Suite

    if not run_dirs:
        raise InputError("nothing to merge", field="RUN")
    metas = [(Path(d), read_results_json(Path(d))) for d in run_dirs]
    first = metas[0][1]
    for d, m in metas:
        for key, types in (("seed", int), ("box_source", str), ("n_boot", int)):
            if not isinstance(m.get(key), types) or isinstance(m.get(key), bool):
                raise InputError(
                    f"missing or not a {types.__name__}; merge needs it",
                    file=str(d / "results.json"),
                    field=key,
                )
        if not isinstance(m.get("plan"), dict) or not isinstance(m.get("files"), dict):
            raise InputError(
                "no plan record or file digests: not a shard this posebench can check; run it "
                "again with this version",
                file=str(d / "results.json"),
                field="plan",
            )
        plan = m["plan"]
        ids = plan.get("image_ids")
        if not isinstance(ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids
        ):
            raise InputError("expected a list of image ids", file=str(d / "results.json"),
                             field="plan.image_ids")  # fmt: skip
        if ids_sha256(ids) != plan.get("image_ids_sha256"):
            raise InputError("does not match plan.image_ids", file=str(d / "results.json"),
                             field="plan.image_ids_sha256")  # fmt: skip
    n = first["shard"][1]
    for d, m in metas:
        for key in _SAME_IN_EVERY_SHARD:
            a, b = _dig(first, key), _dig(m, key)
            if a != b:
                raise InputError(f"differs from {metas[0][0]}", file=str(d / "results.json"),
                                 field=key)  # fmt: skip
        if m["shard"][1] != n:
            raise InputError(f"shard of {m['shard'][1]} vs {n}", file=str(d), field="shard")
        if sorted(m["conditions"]) != sorted(first["conditions"]):
            raise InputError(f"other conditions than {metas[0][0]}", file=str(d / "results.json"),
                             field="conditions")  # fmt: skip
    seen = sorted(m["shard"][0] for _, m in metas)
    if seen != list(range(n)):
        missing = sorted(set(range(n)) - set(seen))
        raise InputError(
            f"shards do not cover 1..{n} exactly once (have {[s + 1 for s in seen]}, "
            f"missing {[s + 1 for s in missing]})",
            field="RUN",
        )
    try:
        suite = Suite.model_validate(first["suite"])
    except ValueError as e:  # pydantic's ValidationError
        first_line = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InputError(
            f"not a valid suite ({first_line})",
            file=str(metas[0][0] / "results.json"),
            field="suite",
        ) from None
    root = data_root or (Path(first["dataset"]["root"]) if first["dataset"].get("root") else None)
    sel = first["dataset"].get("image_ids")
    image_ids = tuple(int(i) for i in sel) if isinstance(sel, list) else None
    dataset = load_dataset(
        suite.dataset, root, limit=first["dataset"].get("limit"), image_ids=image_ids
    )
    ids = np.sort(dataset.images.id.astype(np.int64))
    batch_size = int(first["plan"]["batch_size"])
    box_source = str(first["box_source"])
    ident = dataset_identity(dataset, box_source, image_hashes(dataset, ids.tolist()))
    if ident != first["plan"]["dataset"]:
        raise InputError(
            "the dataset found now is not the one the shards ran on (its content hash differs)",
            file=str(metas[0][0] / "results.json"),
            field="plan.dataset",
        )
    for d, m in metas:
        want = shard_ids(ids, (m["shard"][0], n), batch_size)
        if not np.array_equal(np.asarray(m["plan"]["image_ids"], np.int64), want):
            raise InputError(
                f"holds other images than the plan gives shard {m['shard'][0] + 1} of {n}",
                file=str(d / "results.json"),
                field="plan.image_ids",
            )
    boot = first["n_boot"] if n_boot is None else n_boot
    k = dataset.skeleton.num_keypoints
    results: list[ConditionResult] = []
    files: list[str] = []
    for key, c in first["conditions"].items():
        parts, rows, flags = [], [], []
        for d, m in metas:
            rel = f"predictions/{key}.npz"
            if rel not in m["files"]:
                raise InputError("no digest recorded for this file", file=str(d / rel),
                                 field="files")  # fmt: skip
            p, aux = load_poses_aux(run_path(d, "predictions", f"{key}.npz", field="conditions"))
            stray = np.setdiff1d(p.image_id, np.asarray(m["plan"]["image_ids"], np.int64))
            if len(stray):
                raise InputError(
                    f"predictions on images outside this shard: {stray[:5].tolist()}",
                    file=str(d / rel),
                    field="image_id",
                )
            parts.append(p)
            if c["kind"] == "occlusion":
                if "covered_rows" not in aux or "covered" not in aux:
                    raise InputError("missing array", file=str(d / rel), field="aux.covered")
                rows.append(aux["covered_rows"])
                flags.append(aux["covered"])
        dims = next((p.keypoints.shape[2] for p in parts if len(p)), 2)
        pred = concat_posesets(parts, k, dims)
        pred = pred.take(np.argsort(pred.image_id, kind="stable"))
        covered = Covered(np.concatenate(rows), np.concatenate(flags)) if rows else None
        cond = Condition(
            c["kind"], c["name"], c["severity"], tuple(sorted((c.get("params") or {}).items()))
        )
        blocks = evaluate_condition(
            suite, dataset, ids, pred, n_boot=boot, seed=first["seed"], covered=covered,
            box_source=box_source,
        )  # fmt: skip
        stats = PredictStats()
        for _, m in metas:
            stats.predicted_images += int((m.get("throughput") or {}).get("predicted_images") or 0)
            stats.predict_seconds += float((m.get("timings") or {}).get("predict_seconds") or 0)
        stats.predicted_images //= max(len(first["conditions"]), 1)
        stats.predict_seconds /= max(len(first["conditions"]), 1)
        results.append(ConditionResult(cond, pred, blocks, stats))
        if key == next(iter(first["conditions"])):
            merged_ident = run_identity(
                adapter_sig=first["adapter"]["signature"], suite=first["suite"], dataset=ident,
                seed=first["seed"], box_source=box_source,
                condition_backend=first.get("condition_backend", "numpy"),
                condition_device="cpu", shard=(0, 1), batch_size=batch_size,
            )  # fmt: skip
            claim_output(output, {**merged_ident, "merged_from": [str(d) for d, _ in metas]})
        files += _write_condition(output, key, pred, covered, blocks)
        results[-1] = ConditionResult(
            cond, None, [dataclasses.replace(b, matches=()) for b in blocks], stats,
            n_predictions=len(pred),
        )  # fmt: skip
    opts = RunOptions(
        adapter=first["adapter"]["name"],
        suite=suite.name,
        output=output,
        adapter_args=first["adapter"]["args"],
        data_root=root,
        limit=first["dataset"].get("limit"),
        n_boot=boot,
        seed=first["seed"],
        condition_backend=first.get("condition_backend", "numpy"),
        image_ids=image_ids,
    )
    plan = Plan(
        units=[],
        conditions=[r.condition for r in results],
        ids=ids,
        dataset=ident,
        identity=merged_ident,
        batch_size=batch_size,
        shard=(0, 1),
        seed=first["seed"],
        box_source=box_source,
        condition_backend=first.get("condition_backend", "numpy"),
        condition_device="cpu",
        chunks=len(range(0, len(ids), batch_size)),
    )
    _write(
        output,
        plan=plan,
        options=opts,
        suite=suite,
        dataset=dataset,
        adapter_sig=first["adapter"]["signature"],
        adapter_args=first["adapter"]["args"],
        info=first["adapter"]["info"],
        results=results,
        files=files,
        seconds=sum(float((m.get("timings") or {}).get("total_seconds") or 0) for _, m in metas),
        merged_from=[str(d) for d, _ in metas],
        boxes_from=first.get("boxes_from"),
    )
    return output


_SAME_IN_EVERY_SHARD = (
    "adapter.signature",
    "suite",
    "seed",
    "dataset.name",
    "dataset.limit",
    "condition_backend",
    "box_source",
    "plan.dataset",
    "plan.batch_size",
)


def _dig(d: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        d = d.get(part) if isinstance(d, dict) else None  # type: ignore[assignment]
    return d
