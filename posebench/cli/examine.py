"""``posebench examine``: search rendered bodies (anny by default) for scenes where a model fails,
beside uniform random search at the same budget, with each failure mode in words and checked on
real photos.

Writes a run folder in the runner's format (:mod:`posebench.results`, schema ``posebench.run/1``)
with an ``examiner`` section, so run tooling reads it like any run:

    results.json            adapter, signature, versions, seed, ... and "examiner": {
                              success_rate, region_size, regions, failure_modes [{params, error,
                              image, region}], queries, budget, seed, body, threshold, metric}
    failures/mode-NN-agent-AA.png   each failure mode's point rendered, ground truth (green)
                            and the model's keypoints (red) drawn on it
    failures/mode-NN-agent-AA-region.png   four bodies drawn from its region (rendered only)
    samples.parquet         every scored body: agent, phase, error, failure, parameters

``--executor ray`` (flags shared with ``posebench run``) renders and scores the bodies on Ray
actors, chunk by chunk, with the local run's results (:mod:`posebench.examiner.ray_eval`).
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import logging
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from posebench.cli import argtypes
from posebench.cli.run import add_executor_arguments
from posebench.errors import InputError, escape_control

log = logging.getLogger(__name__)

EXAMPLES = """\
examples:
  posebench examine --adapter mediapipe --budget 600 --size 160 --threshold auto \\
      --output runs/mp-exam
  posebench examine --adapter mediapipe --body mannequin --budget 2000 --output runs/mp-exam
  posebench examine --adapter mediapipe --body ~/smpl/SMPL_NEUTRAL.pkl --device cuda \\
      --budget 20000 --agents 40 --size 256 --output runs/mp-exam-smpl
  posebench examine --adapter jitter --adapter-arg noise=0.02 --space pose,camera \\
      --budget 500 --size 128 --output runs/jitter-exam --threshold auto

The search space is made of groups (pose, shape, camera, occluder, light); --include/--exclude
add or drop single dimensions (e.g. --space camera --include right_shoulder).
Real SMPL files are licensed: posebench never downloads them; --body mannequin is the shipped
procedural body.
"""


_RATE = argtypes.float_range(0.0, 1.0, lo_open=True, name="rate")


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "examine",
        help="search rendered bodies for failure poses (PoseExaminer)",
        description="PoseExaminer-style failure search: agents with Gaussian policies look for "
        "scene parameters (pose, shape, camera, occluder, light) where the adapter's error "
        "passes a threshold, then grow a failure region around each. Writes OUTPUT/results.json "
        "(runner format, with an 'examiner' section), OUTPUT/failures/*.png and "
        "OUTPUT/samples.parquet.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--adapter", required=True, help="adapter name, entry point, or module:attr")
    p.add_argument("--adapter-arg", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--body", default="anny",
                   help="anny (default: the realistic anny body, pip install 'posebench[examiner]'"
                        "), mannequin (the fast procedural SMPL-format body), or an SMPL "
                        ".npz/.pkl path")  # fmt: skip
    p.add_argument("--background", choices=("photos", "plain"), default="photos",
                   help="photos: crops of the embedded sample photos without people and "
                        "procedural textures; plain: white")  # fmt: skip
    p.add_argument(
        "--budget", type=argtypes.positive_int, default=2000, help="adapter queries (scored bodies)"
    )
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument(
        "--renderer", choices=("torch", "moderngl"), default="torch",
        help="torch rasteriser (CPU/CUDA) or OpenGL via moderngl + EGL (optional, faster)",
    )  # fmt: skip
    p.add_argument("--output", required=True, type=argtypes.output_folder, help="folder to write")
    p.add_argument("--agents", type=argtypes.population, default=8)
    p.add_argument(
        "--rollouts", type=argtypes.population, default=8, help="samples per agent per iteration"
    )
    p.add_argument(
        "--max-iters", type=argtypes.positive_int, default=300, help="iterations to find a failure"
    )
    p.add_argument("--seed", type=argtypes.seed, default=0)
    p.add_argument(
        "--size",
        type=argtypes.int_range(32, 4096, "image side"),
        default=256,
        help="rendered image side in pixels",
    )
    p.add_argument("--space", default="pose,camera,occluder,light,shape,appearance,background",
                   help="comma-separated dimension groups to search")  # fmt: skip
    p.add_argument("--include", default="", help="extra dimensions (comma-separated)")
    p.add_argument("--exclude", default="", help="dimensions to hold at their defaults")
    p.add_argument("--metric", default="auto", choices=("auto", "oks", "normalized", "mpjpe"))
    p.add_argument("--threshold", default=None,
                   help="failure threshold on the error, or 'auto' (calibrated on ordinary "
                        "poses); default: 0.5 for 1-OKS, 0.2 normalized, 90 mm MPJPE")  # fmt: skip
    p.add_argument("--search", choices=("pg", "random"), default="pg", dest="method",
                   help="pg: policy-gradient agents (PoseExaminer); random: uniform random "
                        "search")  # fmt: skip
    p.add_argument("--baseline", choices=("random", "none"), default="random",
                   help="also run uniform random search at the same budget and report it "
                        "beside the search (default; a second budget of queries)")  # fmt: skip
    p.add_argument("--mode-radius", type=float, default=0.5,
                   help="RMS distance (normalised) within which failures are one mode")  # fmt: skip
    p.add_argument("--implausible", choices=("reject", "keep"), default="reject",
                   help="reject: bodies out of balance are not shown to the model")  # fmt: skip
    p.add_argument("--photo-check", default="auto",
                   help="datasets on which each failure mode is checked on real photos "
                        "(comma-separated; 'auto': the embedded sample plus OCHuman, CrowdPose "
                        "and COCO val when found under --data-root; 'none')")  # fmt: skip
    p.add_argument("--photo-limit", type=argtypes.positive_int, default=500,
                   help="images per dataset in the photo check (sample: all)")  # fmt: skip
    p.add_argument("--data-root", default=None, help="where datasets live ($POSEBENCH_DATA)")
    p.add_argument("--region-rate", type=_RATE, default=0.9,
                   help="failure share a region must keep")  # fmt: skip
    p.add_argument(
        "--batch-size", type=argtypes.population, default=64,
        help="bodies per adapter call; with --executor ray, the chunk one worker scores",
    )  # fmt: skip
    p.add_argument("--format", choices=("table", "json"), default="table", dest="fmt")
    add_executor_arguments(p, "the rendering and the model")
    p.add_argument(
        "--torch-threads", type=argtypes.positive_int, default=None, metavar="N",
        help="torch threads for rendering, here and on every Ray worker (default: torch's "
        "own here); the thread count can change the last float bit of a rendered keypoint, so "
        "a Ray run equals a local one made with the same N",
    )  # fmt: skip
    p.add_argument(
        "--progress",
        choices=("auto", "always", "never"),
        default="auto",
        help="progress lines on stderr at every tenth of the budget (auto: on a terminal, not "
        "under CI)",
    )
    p.set_defaults(func=examine_cmd)


def _names(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def examine_cmd(args: argparse.Namespace) -> int:
    out = examine(args)
    res = json.loads((out / "results.json").read_text())
    if args.fmt == "json":
        sys.stdout.write(json.dumps(res, indent=2) + "\n")
    else:
        sys.stdout.write(escape_control(format_examination(res), keep_newlines=True))
    return 0


def examine(args: argparse.Namespace) -> Path:
    """Run the search described by the parsed arguments; returns the output folder.

    With ``--executor ray`` the bodies are rendered and scored on Ray actors
    (:mod:`posebench.examiner.ray_eval`), in the same chunks as locally: the same results."""
    from posebench.runner import check_executor_options

    kind = getattr(args, "executor", "local")
    address, workers = getattr(args, "address", None), getattr(args, "workers", None)
    gpus = float(getattr(args, "gpus_per_worker", 0.0) or 0.0)
    check_executor_options(kind, address, workers, gpus)
    threads = getattr(args, "torch_threads", None)
    if threads is not None and threads < 1:
        raise InputError("must be at least 1", field="--torch-threads")
    if kind == "ray" and getattr(args, "device", "cpu") == "cuda" and not gpus > 0:
        # Ray hides the GPUs from an actor that reserved none (CUDA_VISIBLE_DEVICES="")
        raise InputError(
            "--device cuda on Ray needs --gpus-per-worker (e.g. 1): an actor sees only the GPUs "
            "it reserves",
            field="--gpus-per-worker",
        )
    executor = None
    if kind == "ray":
        from posebench.engine.ray_executor import RayExecutor

        if args.batch_size >= args.agents * args.rollouts:
            log.warning(
                "examine on Ray: a round of %d agents x %d rollouts is one chunk of --batch-size "
                "%d bodies, scored by one worker at a time; --batch-size %d (one chunk per "
                "agent's rollouts) spreads the agents over the workers",
                args.agents, args.rollouts, args.batch_size, args.rollouts,
            )  # fmt: skip

        executor = RayExecutor(address=address, workers=workers, gpus_per_worker=gpus)
    import torch

    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _examine(args, executor)
    finally:
        torch.set_num_threads(before)
        if executor is not None:
            executor.close()


def _examine(args: argparse.Namespace, executor: Any) -> Path:
    import torch

    from posebench.adapters import adapter_factory, load_adapter, parse_adapter_args
    from posebench.examiner.env import Evaluator
    from posebench.examiner.params import default_space
    from posebench.examiner.ray_eval import ExaminerSpec, RayEvaluator, start_workers
    from posebench.examiner.scene import Scene
    from posebench.examiner.search import (
        DEFAULT_THRESHOLDS,
        SearchConfig,
        auto_threshold,
        ordinary_points,
        search,
    )
    from posebench.runner import adapter_signature

    t0 = time.perf_counter()
    if args.budget < 1:
        raise InputError("must be at least 1", field="--budget")
    if args.size < 32:
        raise InputError("must be at least 32", field="--size")
    if args.device == "cuda" and not torch.cuda.is_available():
        raise InputError("CUDA is not available to torch on this machine", field="--device")
    body = args.body
    if body not in ("mannequin", "anny") and not Path(body).expanduser().is_file():
        raise InputError("no such SMPL model file", file=str(body), field="--body")
    body_src = body if body in ("mannequin", "anny") else str(Path(body).expanduser())
    if body == "anny":
        from posebench.examiner.anny_body import anny_available

        ok, why = anny_available()
        if not ok:
            raise InputError(why, field="--body")
    adapter_args: dict[str, Any] = dict(parse_adapter_args(args.adapter_arg))
    if "device" in inspect.signature(adapter_factory(args.adapter)).parameters:
        adapter_args.setdefault("device", args.device)
    adapter = load_adapter(args.adapter, adapter_args)
    scene = Scene(
        body_src, image_size=(args.size, args.size), skeleton=adapter.skeleton.name,
        device=args.device, renderer=args.renderer,
        backgrounds=getattr(args, "background", "plain"),
    )  # fmt: skip
    space = default_space(
        _names(args.space), include=_names(args.include), exclude=_names(args.exclude),
        num_betas=min(4, scene.num_betas), body=scene.kind,
    )  # fmt: skip
    reject = getattr(args, "implausible", "keep") == "reject"

    def evaluator(budget: int | None) -> Evaluator:
        kw: dict[str, Any] = {"metric": args.metric, "batch_size": args.batch_size,
                              "budget": budget, "reject_implausible": reject}  # fmt: skip
        if executor is None:
            return Evaluator(adapter, scene, space, **kw)
        return RayEvaluator(adapter, scene, space, executor=executor, **kw)

    ev = evaluator(args.budget)
    if executor is not None:
        spec = ExaminerSpec(
            adapter=args.adapter, adapter_args=adapter_args, body=body_src, image_size=args.size,
            device=args.device, renderer=args.renderer, backgrounds=scene.backgrounds,
            space=space, metric=ev.metric, batch_size=args.batch_size,
            reject_implausible=reject, torch_threads=torch.get_num_threads(),
        )  # fmt: skip
        start_workers(executor, spec, adapter)
    calibration: dict[str, Any] | None = None
    if args.threshold is None:
        threshold = DEFAULT_THRESHOLDS[ev.metric]
    elif args.threshold == "auto":
        n_cal = min(32, max(args.budget // 10, 1))
        cal = ev.evaluate(ordinary_points(ev, n_cal, args.seed)).errors
        threshold = auto_threshold(cal, ev.metric)
        fin = cal[np.isfinite(cal)]
        calibration = {
            "samples": n_cal,
            "median_error": float(np.nanmedian(cal)) if np.isfinite(cal).any() else None,
            "errors": cal.tolist(),
            # share of the ordinary scenes the threshold would call failures (kept <= 5%)
            "failure_rate": float((fin >= threshold).mean()) if len(fin) else None,
        }
    else:
        try:
            threshold = argtypes.positive_float(args.threshold)
        except argparse.ArgumentTypeError:
            raise InputError(
                f"expected a positive finite number or 'auto', got {args.threshold!r}",
                field="--threshold",
            ) from None
    method = getattr(args, "method", "pg")
    radius = getattr(args, "mode_radius", 0.5)
    cfg = SearchConfig(
        agents=args.agents, rollouts=args.rollouts, max_iters=args.max_iters,
        threshold=threshold, region_rate=args.region_rate, seed=args.seed, method=method,
        mode_radius=radius,
    )  # fmt: skip
    _report_progress(ev, threshold, args)
    search_budget = ev.remaining
    result = search(ev, cfg)
    baseline: dict[str, Any] | None = None
    if getattr(args, "baseline", "none") == "random" and method != "random":
        bev = evaluator(search_budget)
        base = search(bev, dataclasses.replace(cfg, method="random"))
        baseline = {"method": "random", "queries": base.queries, "budget": search_budget,
                    "rejected": bev.rejected, "stats": base.stats}  # fmt: skip
    checks = photo_checks(args, adapter, ev, result)
    info = adapter.info().to_json()
    close = getattr(adapter, "close", None)
    if callable(close):
        close()
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    images = write_failure_images(out, ev, result)
    write_examination(
        out,
        adapter_name=args.adapter,
        adapter_args=adapter_args,
        info=info,
        signature=adapter_signature(args.adapter, adapter_args, info),
        body=body_src,
        device=args.device,
        renderer=args.renderer,
        image_size=args.size,
        result=result,
        images=images,
        calibration=calibration,
        seconds=time.perf_counter() - t0,
        space=space,
        queries=ev.queries,
        budget=args.budget,
        baseline=baseline,
        mode_words=checks,
        executor="local" if executor is None else "ray",
        scene_settings={
            "backgrounds": scene.backgrounds,
            "implausible": "reject" if reject else "keep",
            "rejected": ev.rejected,
            "torch_threads": torch.get_num_threads(),
            "camera_elevation": [d.lo for d in space.all_dims if d.name == "camera.elevation"]
            + [d.hi for d in space.all_dims if d.name == "camera.elevation"],
            "occluder": "box",
            "space": list(space.names),
        },
    )
    return out


def _report_progress(ev: Any, threshold: float, args: argparse.Namespace) -> None:
    """Print a line to stderr each time another tenth of the budget is spent (queries, failures
    found so far, seconds), wrapping the evaluator's ``evaluate``; costs no query."""
    from posebench.runner import progress_enabled

    mode = getattr(args, "progress", "auto")
    if mode == "never" or (mode == "auto" and not progress_enabled()):
        return
    budget = max(int(args.budget), 1)
    state = {"next": 0.1, "failures": 0, "t0": time.perf_counter()}
    evaluate = ev.evaluate

    def with_progress(x: Any) -> Any:
        res = evaluate(x)
        err = np.asarray(res.errors, dtype=np.float64)
        state["failures"] += int(np.count_nonzero(np.nan_to_num(err, nan=-np.inf) >= threshold))
        if ev.queries / budget >= state["next"] - 1e-9:
            sys.stderr.write(
                f"examine: {ev.queries}/{budget} queries ({100 * ev.queries / budget:.0f}%), "
                f"{state['failures']} failing bodies, {time.perf_counter() - state['t0']:.1f} s\n"
            )
            sys.stderr.flush()
            while state["next"] <= ev.queries / budget + 1e-9:
                state["next"] += 0.1
        return res

    ev.evaluate = with_progress


def stop_reason(ex: dict[str, Any]) -> str:
    """Why a search ended: the budget, or the reason it ended before the budget."""
    queries, budget = int(ex.get("queries") or 0), ex.get("budget")
    if ex.get("stop_reason"):  # a search that records its own reason
        return str(ex["stop_reason"])
    if budget is None or queries >= int(budget):
        return f"at the budget ({budget} queries)"
    agents, found = int(ex.get("agents") or 0), int(ex.get("successes") or 0)
    left = int(budget) - queries
    if found >= agents:
        return (
            f"{left} queries under the budget: all {agents} agents found a failure and "
            "grew its region"
        )
    iters = (ex.get("config") or {}).get("max_iters")
    limit = f" within --max-iters {iters} iterations" if iters is not None else ""
    return (
        f"{left} queries under the budget: {found} of {agents} agents found a failure; "
        f"the other {agents - found} found none{limit} (raise --max-iters, or --agents, to "
        "spend the rest)"
    )


def photo_checks(
    args: argparse.Namespace, adapter: Any, ev: Any, result: Any
) -> list[dict[str, Any]]:
    """Each failure mode in words and, per dataset, the model's OKS on the real photos whose
    annotated pose falls in the same mode vs the rest (:mod:`posebench.examiner.modes`)."""
    from posebench.datasets import data_root, get_spec
    from posebench.examiner.modes import dataset_oks, describe, mode_features, photo_check

    modes = result.failure_modes
    if not modes:
        return []
    img_h = float(ev.scene.image_size[0])
    kp = np.array([m.keypoints for m in modes])
    vis = np.array([m.visibility for m in modes])
    feats = mode_features(kp, vis, img_h) if ev.scene.skeleton == "coco17" else None
    out: list[dict[str, Any]] = []
    for i, m in enumerate(modes):
        row = feats.row(i) if feats is not None else {}
        occ = max(float(feats.occluded[i]) if feats is not None else 0.0, m.occluded)
        out.append({"features": row, "description": describe(row, occ, m.params)})
    want = str(getattr(args, "photo_check", "none"))
    if want == "none" or feats is None or int(ev.dims) != 2:
        return out
    root = data_root(getattr(args, "data_root", None))
    names = ["coco-sample"]
    if want == "auto":
        for name in ("ochuman-val", "crowdpose-val", "coco-val2017"):
            spec = get_spec(name)
            if (
                root is not None
                and spec.skeleton == "coco17"
                and (root / spec.annotations).is_file()
            ):
                names.append(name)
    else:
        names = [n.strip() for n in want.split(",") if n.strip()]
    for name in names:
        spec = get_spec(name)
        if spec.skeleton != "coco17":
            log.warning("photo check: %s is not COCO-17, skipped", name)
            continue
        limit = None if spec.sample is not None else getattr(args, "photo_limit", 500)
        t0 = time.perf_counter()
        dfeat, oks, n_img = dataset_oks(adapter, name, root, limit=limit)
        log.info("photo check on %s: %d people, %.1f s", name, len(oks), time.perf_counter() - t0)
        for i, rec in enumerate(out):
            pc = photo_check(feats.row(i), dfeat, oks, dataset=name)
            pc["images"] = n_img
            rec.setdefault("photo_checks", []).append(pc)
            rec.setdefault("photo_check", pc)
    return out


def write_failure_images(out: Path, ev: Any, result: Any) -> list[dict[str, str]]:
    """Render every failure point (keypoints drawn) and a 2x2 sheet of its region; returns the
    relative file names per failure mode. Rendering costs no adapter query."""
    from PIL import Image, ImageDraw

    folder = out / "failures"
    folder.mkdir(parents=True, exist_ok=True)
    names: list[dict[str, str]] = []
    rng = np.random.default_rng([result.seed, 2])
    for i, m in enumerate(result.failure_modes):
        img = ev.render(m.point[None]).images[0].cpu().numpy()
        pil = Image.fromarray(img)
        draw = ImageDraw.Draw(pil)
        rad = max(1.0, img.shape[0] / 128)
        for pts, colour in ((m.keypoints, (0, 170, 0)), (m.prediction, (220, 0, 0))):
            if pts.shape[-1] != 2:
                continue
            for j, (x, y) in enumerate(pts):
                if not (np.isfinite(x) and np.isfinite(y)) or m.visibility[j] == 0:
                    continue
                draw.ellipse((x - rad, y - rad, x + rad, y + rad), fill=colour)
        point = f"failures/mode-{i:02d}-agent-{m.agent:02d}.png"
        pil.save(out / point)
        x = m.lower + rng.uniform(size=(4, len(m.lower))) * (m.upper - m.lower)
        tiles = ev.render(x).images.cpu().numpy()
        sheet = np.concatenate(
            [np.concatenate(list(tiles[:2]), 1), np.concatenate(list(tiles[2:]), 1)], 0
        )
        region = f"failures/mode-{i:02d}-agent-{m.agent:02d}-region.png"
        Image.fromarray(sheet).save(out / region)
        names.append({"image": point, "region_image": region})
    return names


def write_examination(
    out: Path,
    *,
    adapter_name: str,
    adapter_args: dict[str, Any],
    info: dict[str, Any],
    signature: str,
    body: str,
    device: str,
    image_size: int,
    result: Any,
    renderer: str = "torch",
    images: list[dict[str, str]],
    calibration: dict[str, Any] | None,
    seconds: float,
    space: Any,
    queries: int,
    budget: int,
    baseline: dict[str, Any] | None = None,
    scene_settings: dict[str, Any] | None = None,
    mode_words: list[dict[str, Any]] | None = None,
    executor: str = "local",
) -> None:
    """``results.json`` (runner schema + ``examiner``) and ``samples.parquet``."""
    from posebench import __version__
    from posebench.results import (
        SCHEMA,
        git_hash,
        now_iso,
        package_versions,
        write_results_json,
        write_samples,
    )

    ex = result.to_json()
    ex["queries"] = queries  # calibration included
    ex["budget"] = budget
    ex["body"] = body
    ex["device"] = device
    ex["renderer"] = renderer
    ex["image_size"] = [image_size, image_size]
    ex["calibration"] = calibration
    ex["baseline"] = baseline
    ex["scene"] = scene_settings
    for fm, files in zip(ex["failure_modes"], images, strict=True):
        fm.update(files)
    for fm, words in zip(ex["failure_modes"], mode_words or [], strict=False):
        fm.update(words)
    ex["regions"] = [
        {"agent": fm["agent"], "region": fm["region"], "norm_gap": fm["norm_gap"],
         "norm_gap_rad": fm["norm_gap_rad"], "failure_rate": fm["region_failure_rate"]}
        for fm in ex["failure_modes"]
    ]  # fmt: skip
    payload: dict[str, Any] = {
        "schema": SCHEMA,
        "created": now_iso(),
        "posebench": {"version": __version__, "git": git_hash()},
        "versions": package_versions(),
        "adapter": {
            "name": adapter_name,
            "args": adapter_args,
            "signature": signature,
            "info": info,
        },
        "suite": {"name": "examiner", "kind": "examiner"},
        "dataset": {
            "name": f"examiner:{Path(body).name}",
            "root": None,
            "images": queries,
            "limit": None,
        },
        "box_source": "gt" if info.get("top_down") else "none",
        "shard": [0, 1],
        "merged_from": None,
        "seed": result.seed,
        "n_boot": 0,
        "headline": None,
        "conditions": {},
        "summary": {},
        "timings": {"total_seconds": seconds},
        "executor": executor,
        "throughput": {
            "predicted_images": queries,
            "images_per_second": queries / seconds if seconds > 0 else None,
        },
        "examiner": ex,
    }
    write_results_json(out / "results.json", payload)
    h = result.history
    rows: dict[str, np.ndarray] = {
        "agent": h["agent"],
        "phase": np.array(["search", "region", "verify"], dtype=object)[h["phase"]],
        "error": h["error"],
        "failure": np.nan_to_num(h["error"], nan=-math.inf) >= result.threshold,
    }
    phys = space.to_physical(h["x"]) if len(h["x"]) else np.zeros((0, space.size))
    for j, name in enumerate(space.names):
        rows[name] = phys[:, j]
    write_samples(out / "samples.parquet", rows)


def why_no_evidence(fm: dict[str, Any], region_rate: float) -> str:
    """Why a failure mode's region is not evidence, in words (``evidence`` when it is)."""
    if fm.get("evidence"):
        return "evidence"
    width = fm.get("width") or []
    nv = int(fm.get("region_verified_samples") or 0)
    rate = fm.get("region_failure_rate")
    if not width or min(width) <= 0:
        return "a point, no region (zero width)"
    if nv < 8:
        return f"{nv} scored verification samples, 8 needed"
    if rate is None or not math.isfinite(rate):
        return "not verified"
    return f"{100 * rate:.0f}% of {nv} verification samples fail, under {100 * region_rate:.0f}%"


def format_examination(res: dict[str, Any]) -> str:
    """A short text summary of an examiner run: the search beside the random baseline, the
    failure modes in words and their check on real photos."""
    ex = res["examiner"]
    a = res["adapter"]
    rs = ex["region_size"]

    def f(v: Any, spec: str = ".3f") -> str:
        return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)

    sc = ex.get("scene") or {}
    cal = ex.get("calibration") or {}
    lines = [
        f"adapter   {a['name']}  ({a['info']['architecture']})",
        f"body      {ex['body']}  ({ex['image_size'][0]}x{ex['image_size'][1]}, {ex['device']}),"
        f" backgrounds {sc.get('backgrounds', 'plain')}, implausible bodies "
        f"{sc.get('implausible', 'keep')} ({sc.get('rejected', 0)} rejected)",
        f"search    {ex.get('method', 'pg')}, {ex['agents']} agents, {ex['queries']}/{ex['budget']}"
        f" queries, seed {ex['seed']}, failure: {ex['metric']} error >= {ex['threshold']:.3g}",
        f"stopped   {stop_reason(ex)}",
    ]
    if cal:
        rate = cal.get("failure_rate")
        pct = f(None if rate is None else 100 * rate, ".0f")
        lines.append(
            f"calibration  {cal.get('samples')} ordinary scenes, median error "
            f"{f(cal.get('median_error'))}, {pct}% of them over the threshold"
        )
    st = ex.get("stats") or {}
    base = (ex.get("baseline") or {}).get("stats")
    if st:
        lines.append(f"{'':26}{ex.get('method', 'pg'):>10}" + (f"{'random':>10}" if base else ""))
        rows = [
            ("queries", "queries", "d"),
            ("failures", "failures", "d"),
            ("failures per query", "failures_per_query", ".4f"),
            (f"distinct modes (r={st.get('mode_radius', 0.5):g})", "distinct_modes", "d"),
            ("queries to first failure", "queries_to_first_failure", "d"),
            ("agents with a failure", "agents_with_failure", "d"),
        ]
        for label, key, spec in rows:
            line = f"  {label:<24}{f(st.get(key), spec):>10}"
            if base:
                line += f"{f(base.get(key), spec):>10}"
            lines.append(line)
        its = st.get("iterations_per_agent")
        if its:
            lines.append(f"  iterations per agent    {' '.join(str(i) for i in its)}")
        if st.get("regime"):
            p = st.get("scout_failure_rate")
            lines.append(
                f"  scout: {f(None if p is None else 100 * p, '.0f')}% of uniform scenes fail: "
                + (
                    "common failures, the policies stay broad"
                    if st["regime"] == "common"
                    else "rare failures, the policies climb"
                )
            )
    lines.append(
        f"success   {ex['successes']}/{ex['agents']} agents ({100 * ex['success_rate']:.0f}%)"
    )
    lines.append(
        f"regions   NormGap {f(rs['norm_gap'])} (normalised)  {f(rs['norm_gap_rad'])} rad (pose)"
        f"  mean width {f(rs['mean_width'])}  (regions with evidence only)"
    )
    rate = float((ex.get("config") or {}).get("region_rate", 0.9))
    modes = ex["failure_modes"]
    if modes and ex.get("method", "pg") != "random" and not any(m.get("evidence") for m in modes):
        lines.append(
            "  no region is evidence: "
            + "; ".join(f"agent {m['agent']}: {why_no_evidence(m, rate)}" for m in modes)
        )
    for fm in modes:
        ev = "evidence" if fm.get("evidence") else "no evidence"
        fin = "finished" if fm.get("finished") else "unfinished"
        nv = fm.get("region_verified_samples")
        lines.append(
            f"  agent {fm['agent']:>2} (iteration {fm['iterations']}): error {fm['error']:.3f}, "
            f"region failure rate {f(fm['region_failure_rate'])} of {nv} ({ev}, {fin}), NormGap "
            f"{fm['norm_gap']:.3f}  {fm['image']}"
        )
        if fm.get("description"):
            lines.append(f"      {fm['description']}")
        pc = fm.get("photo_check")
        if pc:
            on = ", ".join(f"{k} {v}" for k, v in (pc.get("matched_on") or {}).items())
            lines.append(
                f"      real photos ({pc['dataset']}): {pc['in_mode']} people matching "
                f"({on or 'nothing: an ordinary mode'}), mean OKS {f(pc['oks_in_mode'])} vs "
                f"{f(pc['oks_rest'])} on the other {pc['rest']}"
            )
    return "\n".join(lines) + "\n"
