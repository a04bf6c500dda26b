"""OKS keypoint AP/AR: posebench against the reference evaluators, whole process, same files.

Generates a COCO-size synthetic set (posebench.synthetic: 5000 images, ~11k GT persons, ~140k
detections, ~60 MB of results JSON), then runs each tool in a fresh subprocess on the same two
files, ``--repeat`` rounds in which every tool runs once in turn (interleaved: a drift of the
machine's speed hits every tool alike), and reports the median over the rounds:

    end-to-end   wall clock of the whole subprocess (interpreter start, imports, load, evaluate)
    cpu          user + system CPU seconds of the whole subprocess
    load         reading GT + results inside the process (posebench: timings.load_gt + load_pred)
    eval         evaluate + accumulate + summarize (posebench: timings.evaluate)
    other        end-to-end - load - eval: interpreter start-up, imports, exit

and checks that every tool's AP/AR stats agree with the reference (pycocotools for ``--mode
coco``, xtcocotools ``keypoints_crowd`` with use_area=False and CrowdPose sigmas for ``--mode
crowdpose``). A tool that fails gets an error row; the others still run.

    python bench/bench_oks.py                      # COCO mode, 5000 images, median of 3
    python bench/bench_oks.py --mode crowdpose
    python bench/bench_oks.py --images 500 --repeat 1 --tools posebench,pycocotools
    python bench/bench_oks.py --scales 1,3,10 --tools posebench,hotcoco --ci 1000   # issue 20

``--scales`` repeats the whole comparison at multiples of ``--images`` (10 = ten times COCO size,
~1.4M detections, ~600 MB of results JSON) and prints, per scale, each tool's wall time and peak
memory (the child process's maximum resident set size, from ``wait4``) and their ratios to
hotcoco's (the median over the rounds of run i / hotcoco's run i: paired), then the growth from
the smallest scale. ``--ci N`` also times ``posebench score --ci N`` (bootstrap intervals) in
the same rounds and prints what they add over plain scoring (paired too).

Never run in CI: it takes minutes and its numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from posebench.synthetic import make_keypoint_dataset, write_dataset  # noqa: E402

COCO_TOOLS = ("posebench", "pycocotools", "faster-coco-eval", "hotcoco")
CROWDPOSE_TOOLS = ("posebench", "xtcocotools", "faster-coco-eval")
REFERENCE = {"coco": "pycocotools", "crowdpose": "xtcocotools"}
FASTEST_PEER = "hotcoco"  # the "tool/hotcoco" column, COCO mode only

# Order of COCOeval.stats for iouType "keypoints" and xtcocotools "keypoints_crowd".
STAT_NAMES = {
    "coco": ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"),
    "crowdpose": ("AP", "AP50", "AP75", "AR", "AR50", "AR75", "APe", "APm", "APh"),
}
# CrowdPose sigmas (mmpose crowdpose.py), the same literals /10 as posebench.skeletons.
CROWDPOSE_SIGMAS = "[.79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89, .79, .79]"

# Each peer runs as `python -c SCRIPT GT RES`; the tool's own prints go to stderr and the last
# stdout line is {"load": s, "evaluate": s, "stats": [...]}. Imports happen before the clock.
_PEER_PROLOGUE = """\
import contextlib, json, sys, time
import numpy as np
gt_path, res_path = sys.argv[1], sys.argv[2]
with contextlib.redirect_stdout(sys.stderr):
{imports}
    t0 = time.perf_counter()
{load}
    t1 = time.perf_counter()
{evaluate}
    t2 = time.perf_counter()
stats = [float(x) for x in np.asarray(ev.stats, dtype=np.float64)]
print(json.dumps({{"load": t1 - t0, "evaluate": t2 - t1, "stats": stats}}), flush=True)
"""


def _peer(imports: str, load: str, evaluate: str) -> str:
    def indent(block: str) -> str:
        return "\n".join("    " + line for line in block.strip().splitlines())

    return _PEER_PROLOGUE.format(
        imports=indent(imports), load=indent(load), evaluate=indent(evaluate)
    )


_RUN = "ev.evaluate()\nev.accumulate()\nev.summarize()"
PEER_SCRIPTS: dict[tuple[str, str], str] = {
    ("coco", "pycocotools"): _peer(
        "from pycocotools.coco import COCO\nfrom pycocotools.cocoeval import COCOeval",
        "gt = COCO(gt_path)\ndt = gt.loadRes(res_path)",
        "ev = COCOeval(gt, dt, 'keypoints')\n" + _RUN,
    ),
    ("coco", "faster-coco-eval"): _peer(
        "from faster_coco_eval import COCO, COCOeval_faster",
        "gt = COCO(gt_path)\ndt = gt.loadRes(res_path)",
        "ev = COCOeval_faster(gt, dt, 'keypoints', print_function=print)\n" + _RUN,
    ),
    ("coco", "hotcoco"): _peer(
        "import hotcoco",
        "gt = hotcoco.COCO(gt_path)\ndt = gt.load_res(res_path)",
        "ev = hotcoco.COCOeval(gt, dt, 'keypoints')\n" + _RUN,
    ),
    # xtcocotools re-reads the GT file for the easy/medium/hard split (COCO.anno_file) and
    # re-evaluates each bucket inside summarize(): that is part of its evaluation cost.
    ("crowdpose", "xtcocotools"): _peer(
        "from xtcocotools.coco import COCO\nfrom xtcocotools.cocoeval import COCOeval",
        "gt = COCO(gt_path)\ndt = gt.loadRes(res_path)",
        f"ev = COCOeval(gt, dt, 'keypoints_crowd', sigmas=np.array({CROWDPOSE_SIGMAS}) / 10.0,"
        " use_area=False)\n" + _RUN,
    ),
    ("crowdpose", "faster-coco-eval"): _peer(
        "from faster_coco_eval import COCO, COCOeval_faster",
        "gt = COCO(gt_path)\ndt = gt.loadRes(res_path)",
        "ev = COCOeval_faster(gt, dt, 'keypoints_crowd', print_function=print,"
        f" kpt_oks_sigmas=(np.array({CROWDPOSE_SIGMAS}) / 10.0).tolist(), use_area=False)\n" + _RUN,
    ),
}

DISTRIBUTIONS = {
    "posebench": "posebench",
    "pycocotools": "pycocotools",
    "faster-coco-eval": "faster-coco-eval",
    "hotcoco": "hotcoco",
    "xtcocotools": "xtcocotools",
}


@dataclass
class Outcome:
    """The runs of one tool (medians reported), or the error that stopped it."""

    tool: str
    end_to_end: float = math.nan  # median wall clock over the runs
    load: float = math.nan
    evaluate: float = math.nan
    cpu: float = math.nan  # median user + system CPU seconds of the whole process
    stats: list[float] | None = None
    error: str | None = None
    runs: list[float] = field(default_factory=list)  # wall clock of each run, in run order
    cpus: list[float] = field(default_factory=list)
    peaks: list[float] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)
    evals: list[float] = field(default_factory=list)
    peak_mb: float = math.nan  # median peak RSS over the runs (whole process)

    def finish(self) -> None:
        """Medians of the runs."""
        if self.runs:
            self.end_to_end, self.cpu = _median(self.runs), _median(self.cpus)
            self.load, self.evaluate = _median(self.loads), _median(self.evals)
            self.peak_mb = _median(self.peaks)


def _median(xs: list[float]) -> float:
    v = sorted(xs)
    n = len(v)
    if n == 0:
        return math.nan
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def paired_ratio(a: list[float], b: list[float]) -> float:
    """Median over run pairs (a's i-th run, b's i-th run, taken in turn) of a / b."""
    pairs = [x / y for x, y in zip(a, b, strict=False) if y > 0]
    return _median(pairs) if pairs else math.nan


# --------------------------------------------------------------------------------------------
# data


def prepare_data(args: argparse.Namespace, workdir: Path) -> tuple[Path, Path, dict[str, Any]]:
    """Generate (or reuse, when ``meta.json`` matches the arguments) the GT and results files."""
    skeleton = "crowdpose14" if args.mode == "crowdpose" else "coco17"
    gen_args = {
        "n_images": args.images,
        "seed": args.seed,
        "skeleton": skeleton,
        "dets_per_image": args.dets_per_image,
        "bbox": args.bbox,
    }
    meta_path = workdir / "meta.json"
    gt_path, res_path = workdir / "gt.json", workdir / "results.json"
    if meta_path.exists() and gt_path.exists() and res_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("args") == gen_args:
            meta["reused"] = True
            return gt_path, res_path, meta
    t0 = time.perf_counter()
    gt, results = make_keypoint_dataset(**gen_args)  # type: ignore[arg-type]
    t1 = time.perf_counter()
    gt_path, res_path = write_dataset(workdir, gt, results)
    t2 = time.perf_counter()
    meta = {
        "args": gen_args,
        "images": len(gt["images"]),
        "gt_annotations": len(gt["annotations"]),
        "gt_crowd": sum(a["iscrowd"] for a in gt["annotations"]),
        "gt_with_keypoints": sum(
            1 for a in gt["annotations"] if not a["iscrowd"] and a["num_keypoints"] > 0
        ),
        "detections": len(results),
        "generate_s": round(t1 - t0, 3),
        "write_s": round(t2 - t1, 3),
    }
    meta_path.write_text(json.dumps(meta, indent=1))
    return gt_path, res_path, meta


# --------------------------------------------------------------------------------------------
# running the tools


def _env(threads: int | None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    if threads is not None:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "RAYON_NUM_THREADS", "POSEBENCH_THREADS"):  # fmt: skip
            env[var] = str(threads)
    return env


def _command(tool: str, mode: str, gt: Path, res: Path) -> list[str]:
    if tool == "posebench":
        # --no-cache: the ground truth is parsed from its JSON on every run, as the peers do.
        return [sys.executable, "-m", "posebench.cli.main", "score", "--gt", str(gt),
                "--pred", str(res), "--mode", mode, "--format", "json", "--no-cache"]  # fmt: skip
    return [sys.executable, "-c", PEER_SCRIPTS[mode, tool], str(gt), str(res)]


def _parse_json_output(stdout: str) -> dict[str, Any]:
    """The whole stdout as JSON, else its last non-empty line."""
    try:
        obj = json.loads(stdout)
    except json.JSONDecodeError:
        lines = [line for line in stdout.splitlines() if line.strip()]
        if not lines:
            raise ValueError("no output on stdout") from None
        obj = json.loads(lines[-1])
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    return obj


# Runs the measured command as a child of a small launcher that times it and prints the child's
# wall clock, CPU seconds (user + system) and peak RSS (KiB). The launcher matters: a forked
# child's ru_maxrss starts from its parent's resident size, so children forked straight from this
# (large, data-generating) process would all report its size.
_LAUNCHER = """
import resource, subprocess, sys, time
t0 = time.perf_counter()
code = subprocess.call(sys.argv[1:])
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
sys.stderr.write("\\n@@measured %d %.6f %.6f\\n" % (ru.ru_maxrss, wall, ru.ru_utime + ru.ru_stime))
sys.exit(code)
"""


def _run_measured(
    cmd: list[str], env: dict[str, str], timeout: float
) -> tuple[int, str, str, float, float, float]:
    """(returncode, stdout, stderr, wall s, CPU s, peak RSS MB) of one command, whole process."""
    proc = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, *cmd],
        capture_output=True, text=True, env=env, timeout=timeout, check=False,
    )  # fmt: skip
    found = re.findall(r"@@measured (\d+) ([0-9.]+) ([0-9.]+)", proc.stderr)
    stderr = re.sub(r"\n@@measured [^\n]*\n", "", proc.stderr)
    if not found:
        return proc.returncode, proc.stdout, stderr, math.nan, math.nan, math.nan
    kib, wall, cpu = found[-1]
    return proc.returncode, proc.stdout, stderr, float(wall), float(cpu), int(kib) / 1024


def run_once(
    out: Outcome, args: argparse.Namespace, gt: Path, res: Path, extra: list[str] | None = None
) -> None:
    """One run of ``out.tool`` (plus ``extra`` arguments for posebench), appended to ``out``;
    sets ``out.error`` on failure."""
    tool = "posebench" if out.tool.startswith("posebench") else out.tool
    cmd = _command(tool, args.mode, gt, res) + (extra or [])
    try:
        code, stdout, stderr, wall, cpu, peak = _run_measured(cmd, _env(args.threads), args.timeout)
    except subprocess.TimeoutExpired:
        out.error = f"timed out after {args.timeout} s"
        return
    if code != 0:
        tail = [line for line in stderr.strip().splitlines() if line.strip()]
        out.error = f"exit {code}: {tail[-1] if tail else '(no stderr)'}"
        return
    try:
        parsed = _parse_json_output(stdout)
        if tool == "posebench":
            timings = parsed["timings"]
            load = float(timings["load_gt"]) + float(timings["load_pred"])
            evaluate = float(timings["evaluate"])
            stats = posebench_stats(parsed["metrics"], args.mode)
        else:
            load, evaluate = float(parsed["load"]), float(parsed["evaluate"])
            stats = [float(x) for x in parsed["stats"]]
    except (ValueError, KeyError, TypeError) as exc:
        out.error = f"unreadable output: {type(exc).__name__}: {exc}"
        return
    out.runs.append(wall)
    out.cpus.append(cpu)
    out.peaks.append(peak)
    out.loads.append(load)
    out.evals.append(evaluate)
    out.stats = stats


def run_interleaved(args: argparse.Namespace, gt: Path, res: Path, ci: int = 0) -> list[Outcome]:
    """``args.repeat`` rounds; each round runs every tool once, in turn (A B C A B C ...), so that
    a drift of the machine's speed hits every tool alike and run i of two tools form a pair."""
    plan: list[tuple[Outcome, list[str]]] = [(Outcome(t), []) for t in args.tools]
    if ci and "posebench" in args.tools:
        plan.append((Outcome(f"posebench --ci {ci}"), ["--ci", str(ci)]))
    for rnd in range(args.repeat):
        for out, extra in plan:
            if out.error is None:
                run_once(out, args, gt, res, extra)
                status = out.error or f"{out.runs[-1]:.2f}s"
                print(f"  round {rnd + 1}: {out.tool}: {status}", file=sys.stderr, flush=True)
    for out, _ in plan:
        out.finish()
    return [out for out, _ in plan]


# --------------------------------------------------------------------------------------------
# metrics


def _norm(key: str) -> str:
    key = key.rsplit("/", 1)[-1].lower()
    key = re.sub(r"[^a-z0-9.]", "", key)
    key = key.replace("0.50", "50").replace("0.5", "50").replace(".50", "50").replace(".5", "50")
    key = key.replace("0.75", "75").replace(".75", "75")
    for long, short in (("medium", "m"), ("large", "l"), ("easy", "e"), ("hard", "h")):
        key = key.replace(long, short)
    return key.replace("map", "ap")


def posebench_stats(metrics: Any, mode: str) -> list[float]:
    """posebench's ``metrics`` in COCOeval.stats order (NaN where a stat is missing).

    Accepts ``{name: value}``, ``{name: {"value": v, ...}}`` or ``[{"name": n, "value": v}]``,
    with names such as ``AP``, ``coco/AP50``, ``AP@0.5``, ``AP_medium``.
    """
    if isinstance(metrics, list):
        metrics = {m.get("name", m.get("key", "")): m for m in metrics if isinstance(m, dict)}
    if not isinstance(metrics, dict):
        raise TypeError(f"'metrics' is a {type(metrics).__name__}, expected an object")
    by_norm: dict[str, float] = {}
    for name, value in metrics.items():
        if isinstance(value, dict):
            value = value.get("value", value.get("score"))
        if isinstance(value, (int, float)) or value is None:
            by_norm[_norm(str(name))] = math.nan if value is None else float(value)
    return [by_norm.get(_norm(name), math.nan) for name in STAT_NAMES[mode]]


def _undefined(x: float) -> bool:
    return math.isnan(x) or x == -1.0  # pycocotools' sentinel vs posebench's NaN


def max_abs_diff(stats: list[float], ref: list[float]) -> tuple[float, int]:
    """Largest |a - b| over stats both define (and the count compared); undefined == undefined."""
    worst, compared = 0.0, 0
    for a, b in zip(stats, ref, strict=False):
        if _undefined(a) and _undefined(b):
            compared += 1
            continue
        if math.isnan(a) or math.isnan(b):
            continue  # missing on one side (posebench did not report this stat)
        worst = max(worst, abs(a - b))
        compared += 1
    return worst, compared


# --------------------------------------------------------------------------------------------
# report


def _fmt(x: float, digits: int = 2) -> str:
    return "—" if math.isnan(x) else f"{x:.{digits}f}"


def _times(r: float) -> str:
    return "—" if math.isnan(r) else f"{r:.2f}×"


def _ratio(num: float, den: float) -> str:
    return "—" if math.isnan(num) or math.isnan(den) or den <= 0 else f"{num / den:.2f}×"


def report(args: argparse.Namespace, meta: dict[str, Any], outcomes: list[Outcome]) -> str:
    ref_name = REFERENCE[args.mode]
    by_tool = {o.tool: o for o in outcomes}
    ref = by_tool.get(ref_name)
    hot = by_tool.get(FASTEST_PEER) if args.mode == "coco" else None
    lines = [
        f"## OKS bench — mode {args.mode}, median of {args.repeat} interleaved rounds",
        "",
        f"- data: {meta['images']} images, {meta['gt_annotations']} GT annotations "
        f"({meta['gt_with_keypoints']} with keypoints, {meta['gt_crowd']} crowd), "
        f"{meta['detections']} detections; gt.json {meta['gt_mb']:.1f} MB, "
        f"results.json {meta['res_mb']:.1f} MB; bbox={meta['args']['bbox']}, "
        f"seed={meta['args']['seed']}"
        + ("" if meta.get("reused") else f"; generated in {meta['generate_s']:.2f} s"),
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, threads={args.threads or 'tool default'}",
        "- versions: " + ", ".join(f"{t} {_version(t)}" for t in args.tools),
        "",
        f"| tool | end-to-end s | cpu s | load s | eval s | other s | peak MB | {ref_name}/tool | "
        + ("tool/hotcoco time | tool/hotcoco memory | " if args.mode == "coco" else "")
        + f"max abs diff vs {ref_name} |",
        "|---|---:|---:|---:|---:|---:|---:|---:|"
        + ("---:|---:|" if args.mode == "coco" else "")
        + "---:|",
    ]
    for o in outcomes:
        if o.error is not None:
            cells = [o.tool, "error", "", "", "", "", "", "",
                     *(["", ""] if args.mode == "coco" else []),
                     o.error.replace("|", "\\|")[:200]]  # fmt: skip
            lines.append("| " + " | ".join(cells) + " |")
            continue
        other = o.end_to_end - o.load - o.evaluate
        ref_runs = ref.runs if ref is not None and ref.error is None else []
        cells = [
            o.tool, _fmt(o.end_to_end), _fmt(o.cpu), _fmt(o.load), _fmt(o.evaluate),
            _fmt(other), _fmt(o.peak_mb, 0), _times(paired_ratio(ref_runs, o.runs)),
        ]  # fmt: skip
        if args.mode == "coco":
            hot_ok = hot is not None and hot.error is None
            cells.append(_times(paired_ratio(o.runs, hot.runs) if hot_ok and hot else math.nan))
            cells.append(_times(paired_ratio(o.peaks, hot.peaks) if hot_ok and hot else math.nan))
        if ref is not None and ref.stats is not None and o.stats is not None:
            diff, n = max_abs_diff(o.stats, ref.stats)
            total = len(STAT_NAMES[args.mode])
            cells.append(f"{diff:.2g}" + ("" if n == total else f" ({n}/{total} stats)"))
        else:
            cells.append("—")
        lines.append("| " + " | ".join(cells) + " |")

    pb = by_tool.get("posebench")
    if pb is not None and pb.error is None:
        lines += ["", "posebench against each peer (peer / posebench, medians of the paired "
                  "runs; > 1: posebench is faster or smaller):"]  # fmt: skip
        for o in outcomes:
            if o.tool.startswith("posebench") or o.error is not None:
                continue
            lines.append(
                f"- vs {o.tool}: end-to-end {_times(paired_ratio(o.runs, pb.runs))}, "
                f"cpu {_times(paired_ratio(o.cpus, pb.cpus))}, "
                f"peak memory {_times(paired_ratio(o.peaks, pb.peaks))}, "
                f"load {_times(paired_ratio(o.loads, pb.loads))}, "
                f"eval {_times(paired_ratio(o.evals, pb.evals))}; "
                f"posebench eval / {o.tool} end-to-end "
                f"{_times(paired_ratio(pb.evals, o.runs))}"
            )
    if ref is not None and ref.stats is not None:
        lines += ["", f"{ref_name} stats: "
                  + ", ".join(f"{n}={v:.4f}" for n, v in zip(STAT_NAMES[args.mode], ref.stats,
                                                           strict=False))]  # fmt: skip
    return "\n".join(lines)


def _version(tool: str) -> str:
    try:
        return metadata.version(DISTRIBUTIONS[tool])
    except metadata.PackageNotFoundError:
        if tool == "posebench":
            import posebench

            return f"{posebench.__version__} (source tree)"
        return "not installed"


# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--mode", choices=("coco", "crowdpose"), default="coco")
    parser.add_argument("--images", type=int, default=5000, help="images (default 5000)")
    parser.add_argument("--dets-per-image", type=float, default=28.0, help="mean (default 28)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool, best kept")
    parser.add_argument(
        "--tools", help="comma-separated subset (default: all of the mode's tools, in order)"
    )
    parser.add_argument("--workdir", type=Path, help="keep the data here (default: a temp dir)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bbox", choices=("always", "never"), default="always",
                        help="results carry a bbox (changes pycocotools' dt area)")  # fmt: skip
    parser.add_argument("--threads", type=int, help="set OMP/RAYON/... thread counts")
    parser.add_argument("--timeout", type=float, default=1800.0, help="per run, seconds")
    parser.add_argument("--json", type=Path, help="also write the raw outcomes here")
    parser.add_argument(
        "--scales", default="1", help="comma-separated multiples of --images (e.g. 1,3,10)"
    )
    parser.add_argument("--ci", type=int, default=0, help="also time posebench --ci N")
    args = parser.parse_args(argv)
    try:
        args.scales = [int(x) for x in args.scales.split(",")]
    except ValueError:
        parser.error("--scales: comma-separated integers")
    known = COCO_TOOLS if args.mode == "coco" else CROWDPOSE_TOOLS
    args.tools = [t.strip() for t in args.tools.split(",")] if args.tools else list(known)
    unknown = [t for t in args.tools if t not in known]
    if unknown:
        parser.error(f"--tools {','.join(unknown)}: mode {args.mode} knows {', '.join(known)}")
    if args.repeat < 1 or args.images < 1:
        parser.error("--repeat and --images must be >= 1")
    return args


def _growth(rows: list[tuple[int, dict[str, Outcome]]]) -> list[str]:
    """Per tool, time and memory at each scale relative to the smallest scale."""
    if len(rows) < 2:
        return []
    base_scale, base = rows[0]
    lines = ["", f"Growth from {base_scale}x (time, peak memory; linear = the scale ratio):"]
    for tool in base:
        cells = []
        for scale, outcomes in rows[1:]:
            o, b = outcomes.get(tool), base[tool]
            if o is None or o.error or b.error:
                continue
            cells.append(
                f"{scale}x: time {_ratio(o.end_to_end, b.end_to_end)}, "
                f"memory {_ratio(o.peak_mb, b.peak_mb)} (scale {scale / base_scale:g}x)"
            )
        lines.append(f"- {tool}: " + "; ".join(cells))
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # posebench runs from this source tree: compile its bytecode first, as `pip install` does
    # for an installed package (with PYTHONDONTWRITEBYTECODE set, every run would otherwise
    # compile posebench's sources again; the peers are installed, hence compiled).
    import compileall

    compileall.compile_dir(str(REPO / "posebench"), quiet=1)
    rows: list[tuple[int, dict[str, Outcome]]] = []
    raw: list[dict[str, Any]] = []
    base_images = args.images
    with tempfile.TemporaryDirectory(prefix="posebench-bench-") as tmp:
        root = args.workdir or Path(tmp)
        for scale in args.scales:
            args.images = base_images * scale
            workdir = root / f"x{scale}" if len(args.scales) > 1 else root
            workdir.mkdir(parents=True, exist_ok=True)
            gt, res, meta = prepare_data(args, workdir)
            meta["gt_mb"] = gt.stat().st_size / 1e6
            meta["res_mb"] = res.stat().st_size / 1e6
            print(f"data in {workdir}: {json.dumps(meta)}", file=sys.stderr)
            print(f"running {', '.join(args.tools)} in {args.repeat} rounds ...", file=sys.stderr)
            outcomes = run_interleaved(args, gt, res, args.ci)
            print(report(args, meta, outcomes))
            by_tool = {o.tool: o for o in outcomes}
            plain, ci = by_tool.get("posebench"), by_tool.get(f"posebench --ci {args.ci}")
            if plain and ci and not (plain.error or ci.error):
                added = [c - p for c, p in zip(ci.runs, plain.runs, strict=False)]
                share = paired_ratio(added, plain.runs)
                print(
                    f"\n--ci {args.ci} adds {_median(added):.2f} s = {share:.2f}x the plain "
                    f"scoring time ({plain.end_to_end:.2f} s; medians of the paired runs)"
                )
            print()
            rows.append((scale, by_tool))
            raw.append({"scale": scale, "meta": meta, "outcomes": [vars(o) for o in outcomes]})
        print("\n".join(_growth(rows)))
        if args.json:
            args.json.write_text(json.dumps(raw, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
