"""``posebench score``: score a predictions file against ground truth."""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from posebench import parallel
from posebench.cli import argtypes
from posebench.errors import InputError
from posebench.samples import resolve
from posebench.signature import make_signature, sigmas_name

log = logging.getLogger(__name__)

EXAMPLES = """\
examples:
  posebench score --gt sample:coco-val2017-4 --pred sample:coco-val2017-4-results
  posebench score --gt person_keypoints_val2017.json --pred submission.json --format json
  posebench score --gt crowdpose_test.json --pred results.json --mode crowdpose
  posebench score --gt gt.json --pred res.json --sigmas 0.26,0.25,...  (K values)
  posebench score --metric wholebody --gt coco_wholebody_val_v1.0.json --pred results.json
  posebench score --gt sample:coco-val2017-4 --pred sample:coco-val2017-4-results --format coco
  posebench score --gt gt.json --pred res.json --image-ids ids.txt --per-image worst.csv
"""


def add_parser(sub: Any) -> None:
    from posebench.metrics import table as metric_table

    # the metric table's `posebench score` choices (its first row's is the default) and the
    # modes its rows of one choice differ by
    score_choices = metric_table.score_choices()
    modes = tuple(dict.fromkeys(str(m.options["mode"]) for m in metric_table.METRIC_TABLE.values()
                                if "mode" in m.options))  # fmt: skip
    p = sub.add_parser(
        "score",
        help="score predictions against ground truth (OKS AP/AR)",
        description="Score a COCO-format keypoint results file against ground truth. The COCO "
        "statistics are bit-identical to pycocotools 2.0.11; --mode crowdpose to xtcocotools "
        "1.14.3 keypoints_crowd.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--gt", required=True, help="ground truth file or sample:NAME")
    p.add_argument("--pred", required=True, help="predictions file or sample:NAME")
    p.add_argument(
        "--metric",
        choices=score_choices,
        default=score_choices[0],
        help="oks: COCO-format GT and results JSON; wholebody: COCO-WholeBody GT and results "
        "(133 keypoints; body, foot, face, lefthand, righthand and wholebody AP/AR, as "
        "xtcocotools 1.14.3); pckh: MPII .mat GT (head boxes); pck, pcp, "
        "pdj: MPII or LSP .mat GT; mpjpe: Human3.6M .npz GT. Single-person predictions are "
        "(N, K, D) arrays (.npy .npz .mat .h5 .json) in the GT's order",
    )
    p.add_argument("--mode", choices=modes, default=modes[0], help="(oks)")
    p.add_argument(
        "--sigmas",
        help="OKS sigmas: a skeleton name (coco17, crowdpose14, halpe26, aic14, ...) or K "
        "comma-separated values (default: coco17 for --mode coco, crowdpose14 for crowdpose, "
        "coco_wholebody133 for --metric wholebody)",
    )
    p.add_argument(
        "--format",
        choices=("table", "json", "coco"),
        default="table",
        dest="fmt",
        help="table, json, or coco: the summarize() block pycocotools (xtcocotools for "
        "--mode crowdpose) prints, line for line",
    )
    p.add_argument(
        "--image-ids",
        metavar="FILE|LIST",
        help="(oks) score these images only: a file of ids (lines, commas or a JSON array) or "
        "139,785,... (pycocotools: params.imgIds)",
    )
    p.add_argument(
        "--per-image",
        type=Path,
        metavar="OUT.parquet|OUT.csv",
        help="(oks) write per-image records: GT and predictions counted, persons found at OKS "
        "0.5/0.75, mean OKS, unmatched detections, and each image's AP contribution (AP minus "
        "the AP without it)",
    )
    p.add_argument(
        "--max-dets", type=argtypes.positive_int, default=20, help="detections kept per image (20)"
    )
    p.add_argument(
        "--scale",
        choices=("area", "bbox"),
        help="OKS object scale: GT segment area (coco default) or 0.53*w*h of the GT box "
        "(crowdpose default, xtcocotools use_area=False)",
    )
    p.add_argument(
        "--gt-ignore",
        choices=("num_keypoints", "visible"),
        default="num_keypoints",
        help="ignore GT whose num_keypoints field is 0 (pycocotools) or that has no v>0 keypoint",
    )
    p.add_argument(
        "--gt-id0",
        choices=("match", "pycocotools"),
        default="match",
        help="a match to a GT with annotation id 0 counts (default) or is a false positive "
        "(pycocotools' bug)",
    )
    p.add_argument(
        "--gt-negative-id",
        choices=("match", "xtcocotools"),
        help="a match to a GT with a negative annotation id counts (match: pycocotools and the "
        "official CrowdPose API, coco default) or is a false positive (xtcocotools, crowdpose "
        "default)",
    )
    p.add_argument(
        "--zero-score-dets",
        choices=("keep", "drop"),
        help="detections whose keypoint scores are all 0: keep (pycocotools, coco default) or "
        "drop (xtcocotools, crowdpose default)",
    )
    p.add_argument(
        "--crowd-buckets",
        default="xtcocotools",
        help="crowd-index bucket edges: xtcocotools (0.2/0.8, default), paper (0.1/0.8) or A,B",
    )
    p.add_argument(
        "--crowd-ap",
        choices=("xtcocotools", "valid"),
        default="xtcocotools",
        help="bucket AP as xtcocotools (mean incl. -1 entries, rounded to 4 places) or over "
        "defined entries only",
    )
    p.add_argument("--per-keypoint", action="store_true", help="also report AP per keypoint")
    p.add_argument(
        "--ci",
        type=argtypes.replicates,
        metavar="B",
        default=0,
        help="bootstrap B resamples of the images for confidence intervals (e.g. 1000)",
    )
    p.add_argument("--seed", type=argtypes.seed, default=0, help="bootstrap seed (0)")
    p.add_argument(
        "--breakdown",
        default="",
        metavar="LIST",
        help="(oks) comma-separated: crowd (crowd-index buckets), size (GT area), keypoints "
        "(labelled-keypoint count)",
    )
    p.add_argument(
        "--errors",
        action="store_true",
        help="also diagnose errors (coco-analyze): keypoint jitter/inversion/swap/miss counts "
        "and the AP each costs, background false positives, false negatives",
    )
    single = p.add_argument_group("single-person metrics (pckh, pck, pcp, pdj, mpjpe)")
    single.add_argument("--pred-key", help="variable/array name inside the predictions file")
    single.add_argument(
        "--threshold",
        type=argtypes.positive_float,
        help="pckh: 0.5 (head sizes); pck: alpha 0.2; pcp: alpha 0.5; pdj: the reported fraction",
    )
    single.add_argument(
        "--compare", choices=("<=", "<"), default="<=", help="distance at the threshold counts"
    )
    single.add_argument(
        "--head",
        choices=("head_top", "head_neck_mean"),
        default="head_top",
        help="PCKh Head column: head top (bearpaw/HRNet/mmpose) or mean with upper neck (MPII)",
    )
    single.add_argument("--norm", choices=("bbox", "head", "torso"), help="PCK normaliser")
    single.add_argument("--pcp-mode", choices=("strict", "loose"), default="strict")
    single.add_argument(
        "--lsp-annotation",
        choices=("person-centric", "observer-centric"),
        default="person-centric",
        help="LSP joints.mat convention: person-centric (the original release) or "
        "observer-centric (lsp-joints-OC.mat); recorded in the signature",
    )
    single.add_argument(
        "--average",
        choices=("macro", "micro"),
        default="macro",
        help="mpjpe: per action then over actions (Human3.6M protocols) or over all frames",
    )
    single.add_argument(
        "--unit", choices=("m", "mm"), default="m", help="mpjpe: unit of both files"
    )
    p.add_argument(
        "--lenient",
        action="store_true",
        help="accept what pycocotools accepts (booleans as numbers, duplicate JSON keys: the last "
        "wins, detections of unknown categories dropped, negative box sizes, an empty results "
        "file, ...) with one warning per kind; default: refuse, naming file, record and field",
    )
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="parse the GT file even if a columnar copy is cached ($POSEBENCH_CACHE or "
        "~/.cache/posebench; POSEBENCH_CACHE=off disables)",
    )
    p.add_argument(
        "--threads",
        type=argtypes.int_range(0, 256, "thread count"),
        metavar="N",
        help="threads for reading, matching and bootstrap (default: $POSEBENCH_THREADS, else "
        "the CPUs this process may use; 0 = that default); the numbers never depend on it",
    )
    p.set_defaults(func=run)


def _parse_sigmas(text: str | None, mode: str) -> tuple[np.ndarray, str]:
    from posebench.skeletons import SKELETONS

    name = text or ("coco17" if mode == "coco" else "crowdpose14")
    if name in SKELETONS:
        return SKELETONS[name].oks_sigmas(), name
    try:
        vals = np.array([float(v) for v in name.split(",")], dtype=np.float64)
    except ValueError:
        raise InputError(
            f"expected a skeleton name ({', '.join(SKELETONS)}) or comma-separated numbers",
            field="--sigmas",
        ) from None
    if not (np.isfinite(vals).all() and (vals > 0).all()):
        raise InputError("sigmas must be positive finite numbers", field="--sigmas")
    return vals, sigmas_name(vals)


def _default_sigmas(gt: Any, gt_path: str) -> tuple[np.ndarray | None, str]:
    """Without --sigmas, for a ground truth that is not COCO-17 or CrowdPose-14: the sigmas of
    the built-in skeleton with the file's keypoint names (by name for a subset), as ``run --gt``
    takes them; (None, "") to keep the mode's default (COCO-17 / CrowdPose-14 files)."""
    names = next((c[2] for c in gt.categories if c[2]), ())
    if gt.num_joints in (17, 14) or len(names) != gt.num_joints:
        return None, ""
    # only now: posebench.datasets brings pydantic and the suite machinery (a fifth of a second)
    from posebench.datasets import printable, skeleton_from_category
    from posebench.signature import sigmas_name

    sk = skeleton_from_category(
        tuple(names), None, sigmas=None, fmt="coco", file=gt_path, record="categories"
    )
    if sk.sigmas is None:
        raise InputError(
            f"OKS needs one sigma per keypoint and the file's {gt.num_joints} keypoints "
            f"({printable(', '.join(names))}) match no built-in skeleton: pass --sigmas with "
            f"{gt.num_joints} comma-separated values (COCO's nose is 0.026) or a skeleton name",
            file=gt_path,
            field="--sigmas",
        )
    sig = sk.oks_sigmas()
    return sig, sigmas_name(sig)


def _crowd_buckets(text: str) -> str | tuple[float, float]:
    """A bucket-edge name or ``A,B`` with 0 <= A < B <= 1 (crowd indices lie in [0, 1])."""
    from posebench.metrics.cocoeval import CROWD_BUCKETS

    if "," not in text:
        if text not in CROWD_BUCKETS:
            raise InputError(
                f"unknown crowd buckets {text!r}; expected {', '.join(CROWD_BUCKETS)} or two "
                "numbers A,B",
                field="--crowd-buckets",
            )
        return text
    try:
        a, b = (float(v) for v in text.split(","))
    except ValueError:
        raise InputError("expected a name or two numbers A,B", field="--crowd-buckets") from None
    if not (math.isfinite(a) and math.isfinite(b) and 0 <= a < b <= 1):
        raise InputError(
            f"expected two finite edges 0 <= A < B <= 1, got {text!r}", field="--crowd-buckets"
        )
    return (a, b)


def run(args: argparse.Namespace) -> int:
    """Score with what the metric table names for ``--metric`` (and ``--mode``)."""
    if getattr(args, "threads", None):  # before the readers and kernels ask for it
        os.environ[parallel.ENV] = str(args.threads)
    from posebench.metrics import table as metric_table

    t0 = time.perf_counter()
    gt_path, pred_path = resolve(args.gt), resolve(args.pred)
    row = metric_table.for_score_name(args.metric, {"mode": args.mode})
    if row.persons != "single":
        code: int = row.resolve_scorer()(args, gt_path, pred_path)
        return code
    for flag, value in (
        ("--image-ids", args.image_ids),
        ("--per-image", args.per_image),
        ("--format", "coco" if args.fmt == "coco" else None),
    ):
        if value is not None:
            raise InputError(
                f"{value!r} applies to the OKS metrics only, not --metric {args.metric}",
                field=flag,
            )
    payload: dict[str, Any] = row.resolve_scorer()(args, gt_path, pred_path)
    payload["timings"] = {"total": time.perf_counter() - t0}
    if args.fmt == "json":
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        sys.stdout.write(format_single(payload))
    return 0


def score_oks(args: argparse.Namespace, gt_path: str, pred_path: str) -> int:
    """OKS AP/AR of a COCO-format results file (``--mode coco`` or ``crowdpose``); prints the
    table, JSON or the COCO summary block and returns the exit code."""
    from posebench.formats import coco, rules
    from posebench.metrics import cocoeval
    from posebench.metrics import table as metric_table

    t0 = time.perf_counter()

    buckets = _crowd_buckets(args.crowd_buckets)  # before reading anything
    # Per-keypoint scores are read by one rule only (drop detections whose keypoint scores are
    # all zero, CrowdPose's default); without it they are not kept (a third of the memory).
    zero_rule = args.zero_score_dets or ("drop" if args.mode == "crowdpose" else "keep")
    with rules.lenient(args.lenient):
        gt, dt, t_gt = coco.read_gt_and_results(
            gt_path, pred_path, cache=not args.no_cache, keypoint_scores=zero_rule == "drop"
        )
    t1 = t0 + t_gt  # the results were parsed alongside; load_pred is what remained after
    t2 = time.perf_counter()
    if args.image_ids is not None:
        from posebench.datasets import parse_image_ids

        gt, dt = _subset(gt, dt, parse_image_ids(args.image_ids), gt_path)

    sigmas, sig_name = _default_sigmas(gt, gt_path) if args.sigmas is None else (None, "")
    if sigmas is None:
        sigmas, sig_name = _parse_sigmas(args.sigmas, args.mode)
    if len(sigmas) != gt.num_joints:
        raise InputError(
            f"{len(sigmas)} sigmas for {gt.num_joints} keypoints in the ground truth",
            field="--sigmas",
        )
    crowd = args.mode == "crowdpose"
    breakdowns = [b for b in args.breakdown.split(",") if b]
    unknown = sorted(set(breakdowns) - {"crowd", "size", "keypoints"})
    if unknown:
        raise InputError(
            f"unknown breakdown {unknown}; known: crowd, size, keypoints", field="--breakdown"
        )
    if args.ci < 0:
        raise InputError("must be >= 0", field="--ci")
    images = gt.images
    if (crowd or "crowd" in breakdowns) and np.isnan(images.crowd_index).all() and len(images):
        from posebench.metrics.crowd import crowd_index

        log.warning(
            "%s has no crowdIndex; computing it from the ground truth (CrowdPose's definition)",
            gt_path,
        )
        images = replace(images, crowd_index=crowd_index(gt.poses, images, gt_file=gt_path))
    scale = args.scale or ("bbox" if crowd else "area")
    zero = args.zero_score_dets or ("drop" if crowd else "keep")
    neg_id: Literal["match", "xtcocotools"] = args.gt_negative_id or (
        "xtcocotools" if crowd else "match"
    )
    if args.max_dets < 1:
        raise InputError("must be at least 1", field="--max-dets")
    params = cocoeval.OksParams(
        sigmas=sigmas,
        max_dets=(args.max_dets,),
        use_area=scale == "area",
        gt_ignore=args.gt_ignore,
        drop_zero_score_dets=zero == "drop",
        gt_id0=args.gt_id0,
        gt_negative_id=neg_id,
    )
    ev = cocoeval.evaluate_oks(
        gt.poses,
        dt,
        images,
        params,
        category_ids=gt.category_ids,
        mode=args.mode,
        crowd_buckets=buckets,
        crowd_ap=args.crowd_ap,
        gt_file=gt_path,
        pred_file=pred_path,
    )
    per_kp = None
    if args.per_keypoint:
        names = next((c[2] for c in gt.categories if c[2]), ())
        names = names or tuple(f"kp{j}" for j in range(gt.num_joints))
        per_kp = cocoeval.keypoint_ap(
            gt.poses, dt, gt.images, params, names, category_id=gt.category_ids[0]
        )
    cis = None
    if args.ci:
        from posebench.metrics.bootstrap import bootstrap_oks

        boot = bootstrap_oks(
            list(ev.per_category), params, n_boot=args.ci, seed=args.seed,
            curves=(ev.precision, ev.recall),
        )  # fmt: skip
        cis = {k: v.as_dict() for k, v in boot.items()}
    breakdown_out: dict[str, Any] = {}
    if breakdowns:
        from posebench.metrics import breakdown as bd

        for b in breakdowns:
            if b == "crowd":
                res = bd.crowd_breakdown(
                    list(ev.per_category), images, params, buckets=buckets, gt_file=gt_path
                )
            elif b == "size":
                res = bd.area_breakdown(
                    gt.poses, dt, images, params, gt_file=gt_path, pred_file=pred_path
                )
            else:
                res = bd.keypoint_count_breakdown(
                    gt.poses, dt, images, params, gt_file=gt_path, pred_file=pred_path
                )
            breakdown_out[b] = {
                lbl: {k: _json_float(v) for k, v in row.items()}
                for lbl, row in res.as_dict().items()
            }
    errors = None
    if args.errors:
        from posebench.metrics import oks_errors
        from posebench.skeletons import COCO17, CROWDPOSE14

        sk = {17: COCO17, 14: CROWDPOSE14}.get(gt.num_joints)
        if sk is None:
            raise InputError(
                f"error analysis needs left/right pairs; no built-in skeleton has "
                f"{gt.num_joints} keypoints",
                field="--errors",
            )
        analysis = oks_errors.analyze_oks_errors(
            gt.poses, dt, gt.images, params, sk, category_id=gt.category_ids[0], evaluation=ev
        )
        errors = oks_errors.analysis_to_dict(analysis)
    t3 = time.perf_counter()

    parts = {
        "mode": args.mode,
        "sigmas": sig_name,
        "scale": scale,
        "maxdets": str(args.max_dets),
        "gtignore": args.gt_ignore,
        "gtid0": args.gt_id0,
        "gtneg": neg_id,
        "zerodets": zero,
    }
    if args.lenient:  # a number read under relaxed rules says so
        parts["input"] = "lenient"
    if crowd:
        parts["buckets"] = args.crowd_buckets
        parts["bucketap"] = args.crowd_ap
    row = metric_table.for_score_name(args.metric, {"mode": args.mode})
    signature = make_signature(row.signature_name, parts)
    timings = {
        "load_gt": t1 - t0,
        "load_pred": t2 - t1,
        "evaluate": t3 - t2,
        "total": t3 - t0,
    }
    counts = {
        "images": len(gt.images),
        "gt_instances": len(gt.poses),
        "predictions": len(dt),
    }
    if args.per_image is not None:
        from posebench.per_image import per_image_table, write_table

        write_table(args.per_image, per_image_table(ev, params, images))
    if args.fmt == "coco":
        sys.stdout.write(summarize_block(ev.stats, args.mode, args.max_dets))
    elif args.fmt == "json":
        out: dict[str, Any] = {
            "metrics": {k: _json_float(v) for k, v in ev.stats.items()},
            "signature": signature,
            "counts": counts,
            "timings": timings,
            "gt": gt_path,
            "pred": pred_path,
        }
        if per_kp is not None:
            out["per_keypoint_ap"] = {k: _json_float(v) for k, v in per_kp.items()}
        if errors is not None:
            out["error_analysis"] = errors
        if cis is not None:
            out["ci"] = cis
        if breakdown_out:
            out["breakdowns"] = breakdown_out
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
    else:
        sys.stdout.write(format_table(ev.stats, signature, counts, per_kp, cis))
        for name, table in breakdown_out.items():
            sys.stdout.write(format_breakdown(name, table))
        if errors is not None:
            sys.stdout.write(format_errors(errors))
    return 0


def score_wholebody(args: argparse.Namespace, gt_path: str, pred_path: str) -> int:
    """COCO-WholeBody OKS AP/AR of every part, as xtcocotools; prints and returns the exit code."""
    return _run_wholebody(args, gt_path, pred_path, time.perf_counter())


def _run_wholebody(args: argparse.Namespace, gt_path: str, pred_path: str, t0: float) -> int:
    """``--metric wholebody``: the six COCO-WholeBody evaluations, keys ``<part>/<stat>``."""
    from posebench.formats import coco_wholebody
    from posebench.metrics import cocoeval
    from posebench.metrics import table as metric_table
    from posebench.skeletons import COCO_WHOLEBODY133

    for flag, used in (
        ("--per-keypoint", args.per_keypoint),
        ("--ci", args.ci),
        ("--breakdown", args.breakdown),
        ("--errors", args.errors),
        ("--mode", args.mode != "coco"),
    ):
        if used:
            raise InputError("not available with --metric wholebody", field=flag)
    gt = coco_wholebody.read_wholebody_gt(gt_path)
    t1 = time.perf_counter()
    dt = coco_wholebody.read_wholebody_results(pred_path, gt)
    t2 = time.perf_counter()
    sigmas, sig_name = _parse_sigmas(args.sigmas or COCO_WHOLEBODY133.name, "coco")
    if len(sigmas) != COCO_WHOLEBODY133.num_keypoints:
        raise InputError(
            f"{len(sigmas)} sigmas; COCO-WholeBody has {COCO_WHOLEBODY133.num_keypoints} keypoints",
            field="--sigmas",
        )
    if args.max_dets < 1:
        raise InputError("must be at least 1", field="--max-dets")
    evs = cocoeval.evaluate_wholebody(
        gt.poses,
        dt,
        gt.images,
        sigmas=sigmas,
        max_dets=args.max_dets,
        category_ids=gt.category_ids,
        gt_file=gt_path,
        pred_file=pred_path,
    )
    t3 = time.perf_counter()
    stats = {f"{part}/{k}": v for part, ev in evs.items() for k, v in ev.stats.items()}
    signature = make_signature(
        metric_table.for_score_name(args.metric).signature_name,
        {
            "sigmas": sig_name,
            "scale": "area",
            "maxdets": str(args.max_dets),
            "gtignore": "visible",
            "zerodets": "drop",
            "gtneg": "xtcocotools",
            "detarea": "bbox-or-body",
        },
    )
    counts = {"images": len(gt.images), "gt_instances": len(gt.poses), "predictions": len(dt)}
    timings = {"load_gt": t1 - t0, "load_pred": t2 - t1, "evaluate": t3 - t2, "total": t3 - t0}
    if args.fmt == "json":
        out = {
            "metrics": {k: _json_float(v) for k, v in stats.items()},
            "signature": signature,
            "counts": counts,
            "timings": timings,
            "gt": gt_path,
            "pred": pred_path,
        }
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
    else:
        sys.stdout.write(format_table(stats, signature, counts))
    return 0


def _subset(gt: Any, dt: Any, ids: tuple[int, ...], gt_path: str) -> tuple[Any, Any]:
    """The ground truth and predictions of the images ``ids`` only (pycocotools'
    ``params.imgIds``); InputError naming ids the ground truth does not have."""
    want = np.unique(np.asarray(ids, dtype=np.int64))
    have = np.isin(want, gt.images.id)
    if not have.all():
        missing = want[~have][:5].tolist()
        raise InputError(
            f"{int((~have).sum())} of the {len(want)} image ids are not in the ground truth "
            f"(first: {', '.join(map(str, missing))})",
            file=gt_path,
            field="--image-ids",
        )
    images = gt.images.take(np.flatnonzero(np.isin(gt.images.id, want)))
    poses = gt.poses.take(np.flatnonzero(np.isin(gt.poses.image_id, want)))
    return replace(gt, images=images, poses=poses), dt.take(
        np.flatnonzero(np.isin(dt.image_id, want))
    )


#: the lines of pycocotools' ``COCOeval.summarize()`` for keypoints: (stat, AP?, IoU, area).
_COCO_LINES = (
    ("AP", True, None, "all"), ("AP50", True, 0.5, "all"), ("AP75", True, 0.75, "all"),
    ("APm", True, None, "medium"), ("APl", True, None, "large"),
    ("AR", False, None, "all"), ("AR50", False, 0.5, "all"), ("AR75", False, 0.75, "all"),
    ("ARm", False, None, "medium"), ("ARl", False, None, "large"),
)  # fmt: skip
_CROWD_LINES = (
    ("AP", True, None), ("AP50", True, 0.5), ("AP75", True, 0.75),
    ("AR", False, None), ("AR50", False, 0.5), ("AR75", False, 0.75),
)  # fmt: skip


def summarize_block(stats: dict[str, float], mode: str, max_dets: int = 20) -> str:
    """The block ``COCOeval.summarize()`` prints, byte for byte: pycocotools 2.0.11 for
    ``mode="coco"``, xtcocotools 1.14.3 ``keypoints_crowd`` for ``"crowdpose"`` (its ``{: 0.3f}``
    space flag and easy/medium/hard lines included); undefined values print as -1.000, as there.
    """

    def val(k: str) -> float:
        v = stats.get(k, math.nan)
        return -1.0 if v is None or math.isnan(v) else float(v)

    lines = []
    if mode == "crowdpose":
        # xtcocotools cocoeval.py: iStr = ' {:<18} {} @[ IoU={:<9} | area={:>6s} | ...{: 0.3f}'
        fmt = " {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = {: 0.3f}"
        for k, ap, thr in _CROWD_LINES:
            iou = "0.50:0.95" if thr is None else f"{thr:0.2f}"
            title, kind = ("Average Precision", "(AP)") if ap else ("Average Recall", "(AR)")
            lines.append(fmt.format(title, kind, iou, "all", max_dets, val(k)))
        tfmt = " {:<18} {} @[ IoU={:<9} | type={:>6s} | maxDets={:>3d} ] = {:0.3f}"
        for k, lbl in (("AP_easy", "easy"), ("AP_medium", "medium"), ("AP_hard", "hard")):
            lines.append(tfmt.format("Average Precision", "(AP)", "0.50:0.95", lbl, 20, val(k)))
        return "\n".join(lines) + "\n"
    # pycocotools cocoeval.py: iStr = ' {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ]
    # = {:0.3f}'
    fmt = " {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = {:0.3f}"
    for k, ap, thr, area in _COCO_LINES:
        iou = "0.50:0.95" if thr is None else f"{thr:0.2f}"
        title, kind = ("Average Precision", "(AP)") if ap else ("Average Recall", "(AR)")
        lines.append(fmt.format(title, kind, iou, area, max_dets, val(k)))
    return "\n".join(lines) + "\n"


def _json_float(v: float) -> float | None:
    return None if math.isnan(v) else v


def _pct(v: float | None) -> str:
    return f"{'n/a':>7}" if v is None or math.isnan(v) else f"{100 * v:7.3f}"


def format_table(
    stats: dict[str, float],
    signature: str,
    counts: dict[str, int],
    per_kp: dict[str, float] | None = None,
    cis: dict[str, dict[str, Any]] | None = None,
) -> str:
    """A readable table of the statistics (values x100, 3 decimals as the reference prints)."""
    width = max(len(k) for k in (*stats, "metric"))
    head = f"{'metric':<{width}}  {'value':>7}"
    if cis:
        conf = next(iter(cis.values()))["confidence"]
        head += f"   {100 * conf:.0f}% CI (bootstrap)"
    lines = [head]
    for k, v in stats.items():
        line = f"{k:<{width}}  {_pct(v)}"
        if cis and k in cis:
            line += f"   [{_pct(cis[k]['low'])}, {_pct(cis[k]['high'])}]"
        lines.append(line)
    if per_kp:
        lines.append("")
        kw = max(len(k) for k in per_kp)
        lines.append(f"{'keypoint':<{kw}}  {'AP':>7}")
        lines += [f"{k:<{kw}}  {_pct(v)}" for k, v in per_kp.items()]
    lines.append("")
    lines.append(
        f"{counts['images']} images, {counts['gt_instances']} GT instances, "
        f"{counts['predictions']} predictions"
    )
    lines.append(f"signature: {signature}")
    return "\n".join(lines) + "\n"


def format_single(payload: dict[str, Any]) -> str:
    """A readable table of a single-person metric (values as computed: percent or mm)."""
    metrics = payload["metrics"]
    cis = payload.get("ci", {})
    width = max(len(k) for k in (*metrics, "metric"))
    lines = [f"{'metric':<{width}}  {'value':>8}" + ("   CI (bootstrap)" if cis else "")]
    for k, v in metrics.items():
        line = f"{k:<{width}}  {'n/a' if v is None else f'{v:8.3f}':>8}"
        if k in cis:
            line += f"   [{cis[k]['low']:8.3f}, {cis[k]['high']:8.3f}]"
        lines.append(line)
    lines.append("")
    lines.append(", ".join(f"{v} {k}" for k, v in payload["counts"].items()))
    lines.append(f"signature: {payload['signature']}")
    return "\n".join(lines) + "\n"


def format_errors(e: dict[str, Any]) -> str:
    """The error analysis as a short readable block."""
    lines = [
        "",
        f"error analysis (detections matched at OKS {e['loc_thr']}, {e['correction']} fixes)",
    ]
    shares = e["shares"]
    lines.append(
        "keypoints: "
        + ", ".join(
            f"{k} {v} ({100 * shares[k]:.1f}%)" if shares[k] is not None else f"{k} {v}"
            for k, v in e["counts"].items()
        )
    )
    lines.append("AP gained by fixing:")
    for k, v in e["AP_gain"].items():
        lines.append(f"  {k:<16} {'n/a' if v is None else f'{100 * v:+.3f}'}")
    lines.append(
        f"background false positives: {e['background_fp']}, false negatives: {e['false_negatives']}"
    )
    return "\n".join(lines) + "\n"


def format_breakdown(name: str, table: dict[str, dict[str, float | None]]) -> str:
    """One breakdown as a small table: a row per bin, AP and AR columns (x100)."""
    cols = [c for c in ("AP", "AP50", "AP75", "AR") if c in next(iter(table.values()))]
    width = max(len(lbl) for lbl in table)
    lines = ["", f"by {name}", f"{'bin':<{width}}  " + "  ".join(f"{c:>7}" for c in cols)]
    for lbl, row in table.items():
        lines.append(f"{lbl:<{width}}  " + "  ".join(f"{_pct(row[c]):>7}" for c in cols))
    return "\n".join(lines) + "\n"
