"""``posebench score``: score a predictions file against ground truth."""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from dataclasses import replace
from typing import Any

import numpy as np

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
"""


def add_parser(sub: Any) -> None:
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
        choices=("oks", "pckh", "pck", "pcp", "pdj", "mpjpe"),
        default="oks",
        help="oks: COCO-format GT and results JSON; pckh: MPII .mat GT (head boxes); pck, pcp, "
        "pdj: MPII or LSP .mat GT; mpjpe: Human3.6M .npz GT. Single-person predictions are "
        "(N, K, D) arrays (.npy .npz .mat .h5 .json) in the GT's order",
    )
    p.add_argument("--mode", choices=("coco", "crowdpose"), default="coco", help="(oks)")
    p.add_argument(
        "--sigmas",
        help="OKS sigmas: a skeleton name (coco17, crowdpose14) or K comma-separated values "
        "(default: coco17 for --mode coco, crowdpose14 for crowdpose)",
    )
    p.add_argument("--format", choices=("table", "json"), default="table", dest="fmt")
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
    from posebench.formats import coco
    from posebench.metrics import cocoeval

    t0 = time.perf_counter()
    gt_path, pred_path = resolve(args.gt), resolve(args.pred)
    if args.metric != "oks":
        from posebench.cli.score_single import score_single

        payload = score_single(args, gt_path, pred_path)
        payload["timings"] = {"total": time.perf_counter() - t0}
        if args.fmt == "json":
            sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        else:
            sys.stdout.write(format_single(payload))
        return 0
    from posebench.formats import rules

    buckets = _crowd_buckets(args.crowd_buckets)  # before reading anything
    with rules.lenient(args.lenient):
        gt = coco.read_gt(gt_path, cache=not args.no_cache)
        t1 = time.perf_counter()
        dt = coco.read_results(pred_path, gt)
    t2 = time.perf_counter()

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
    if args.max_dets < 1:
        raise InputError("must be at least 1", field="--max-dets")
    params = cocoeval.OksParams(
        sigmas=sigmas,
        max_dets=(args.max_dets,),
        use_area=scale == "area",
        gt_ignore=args.gt_ignore,
        drop_zero_score_dets=zero == "drop",
        gt_id0=args.gt_id0,
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

        boot = bootstrap_oks(list(ev.per_category), params, n_boot=args.ci, seed=args.seed)
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
        "zerodets": zero,
    }
    if args.lenient:  # a number read under relaxed rules says so
        parts["input"] = "lenient"
    if crowd:
        parts["buckets"] = args.crowd_buckets
        parts["bucketap"] = args.crowd_ap
    signature = make_signature("oks", parts)
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
    if args.fmt == "json":
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


def _json_float(v: float) -> float | None:
    return None if math.isnan(v) else v


def _pct(v: float | None) -> str:
    return "n/a" if v is None or math.isnan(v) else f"{100 * v:6.3f}"


def format_table(
    stats: dict[str, float],
    signature: str,
    counts: dict[str, int],
    per_kp: dict[str, float] | None = None,
    cis: dict[str, dict[str, Any]] | None = None,
) -> str:
    """A readable table of the statistics (values x100, 3 decimals as the reference prints)."""
    width = max(len(k) for k in stats)
    head = f"{'metric':<{width}}  value"
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
        lines.append(f"{'keypoint':<{kw}}  AP")
        lines += [
            f"{k:<{kw}}  {'n/a' if math.isnan(v) else f'{100 * v:6.3f}'}" for k, v in per_kp.items()
        ]
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
    width = max(len(k) for k in metrics)
    lines = [f"{'metric':<{width}}  value" + ("      CI (bootstrap)" if cis else "")]
    for k, v in metrics.items():
        line = f"{k:<{width}}  {'n/a' if v is None else f'{v:8.3f}'}"
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
