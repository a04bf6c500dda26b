"""Build tests/data/report/ from real runs (see README.md there)."""

import json
import shutil
from pathlib import Path

from posebench.robustness import summarize

SRC = Path("/work/runs")
DST = Path("/work/main/tests/data/report")


def load(p):
    return json.loads((p / "results.json").read_text())


def save(d, name):
    out = DST / name
    out.mkdir(parents=True, exist_ok=True)
    d["dataset"]["root"] = None
    d.pop("versions", None)
    (out / "results.json").write_text(json.dumps(d, indent=1) + "\n")
    return out


# 1. real runs, results only
for name in ("oracle-demo", "jitter-demo", "jitter-demo-seed1"):
    d = load(SRC / name)
    save(d, name)
# 2. mediapipe-demo with its per-sample files (examples, PR curve)
d = load(SRC / "mediapipe-demo")
out = save(d, "mediapipe-demo")
shutil.copy(SRC / "mediapipe-demo/samples.parquet", out / "samples.parquet")
(out / "predictions").mkdir(exist_ok=True)
(out / "matches").mkdir(exist_ok=True)
shutil.copy(SRC / "mediapipe-demo/predictions/clean.npz", out / "predictions/clean.npz")
shutil.copy(SRC / "mediapipe-demo/matches/clean.oks.npz", out / "matches/clean.oks.npz")

KEEP = ("clean", "gaussian_noise", "motion_blur", "fog")


def trim(d, keep):
    d["conditions"] = {
        k: c for k, c in d["conditions"].items() if c["name"] in keep or k == "clean"
    }
    d["suite"]["conditions"] = [
        c
        for c in d["suite"]["conditions"]
        if c == "clean" or c.get("name") in keep or c.get("kind") == "clean"
    ]
    d["summary"] = summarize(d["conditions"])
    return d


# 3. mediapipe on coco-c (6 images), three corruptions kept (real numbers)
d = trim(load(SRC / "mediapipe-cococ-6"), KEEP)
save(d, "mediapipe-coco-c")


# 4. synthetic: the same run, degraded (a "lite" model) with a reported number
def scale_block(b, f):
    b["values"] = {k: (min(v * f, 1.0) if v is not None else None) for k, v in b["values"].items()}
    b["per_joint"] = {
        k: (min(v * f, 1.0) if v is not None else None) for k, v in b["per_joint"].items()
    }
    for ci in b["ci"].values():
        for k in ("estimate", "low", "high"):
            if ci.get(k) is not None:
                ci[k] *= f
    for t in b["breakdowns"].values():
        for row in t.values():
            for k in row:
                if row[k] is not None:
                    row[k] *= f


d = trim(load(SRC / "mediapipe-cococ-6"), KEEP)
d["adapter"]["args"] = {"model_complexity": "0"}
d["adapter"]["info"]["architecture"] = "BlazePose GHUM 3D (lite)"
d["adapter"]["info"]["reported"] = {"AP": 0.123}
d["created"] = "2026-11-23T10:00:00+00:00"
clean = d["conditions"]["clean"]["metrics"]["oks"]
scale_block(clean, 0.8)
for key, c in d["conditions"].items():
    if key != "clean":
        scale_block(c["metrics"]["oks"], 0.8 * (1 - 0.15 * c["severity"]))
        for k in c["metrics"]["oks"]["values"]:
            if (
                c["metrics"]["oks"]["values"][k] is not None
                and c["metrics"]["oks"]["values"][k] == 0
            ):
                c["metrics"]["oks"]["values"][k] = 0.1 * (5 - c["severity"]) / 5
d["summary"] = summarize(d["conditions"])
save(d, "synthetic-lite-coco-c")

# 5. jitter under occlusion (8 images): clean, rectangles, head; metrics oks and oks/occluded
d = load(Path("/tmp/rr/jitter-occ"))
d = trim(d, ("rectangles", "head"))
save(d, "jitter-occlusion")

# 6. synthetic error analysis on a copy of jitter-demo-seed1's clean block
p = DST / "jitter-demo-seed1" / "results.json"
d = json.loads(p.read_text())
d["conditions"]["clean"]["metrics"]["oks"]["error_analysis"] = {
    "loc_thr": [0.5, 0.85],
    "correction": "keypoints",
    "matched_detections": 40,
    "labelled_keypoints": 400,
    "counts": {"good": 200, "jitter": 120, "inversion": 20, "swap": 10, "miss": 50},
    "shares": {"good": 0.5, "jitter": 0.3, "inversion": 0.05, "swap": 0.025, "miss": 0.125},
    "AP": 0.104,
    "AP_fixed": {},
    "AP_gain": {"jitter": 0.21, "inversion": 0.02, "swap": 0.01, "miss": 0.08, "scoring": 0.03},
    "background_fp": 3,
    "false_negatives": 5,
    "false_negatives_by_size": {},
}
p.write_text(json.dumps(d, indent=1) + "\n")

# 7. a failure search (posebench examine with a planted weakness, 64 px; command in README.md),
# kept under examiner/ so that the leaderboard fixtures above stay a flat list of runs
d = load(Path("/tmp/exam/raised"))
d.pop("versions", None)
out = DST / "examiner" / "raised-right-arm"
(out / "failures").mkdir(parents=True, exist_ok=True)
(out / "results.json").write_text(json.dumps(d, indent=1) + "\n")
for png in sorted(Path("/tmp/exam/raised/failures").glob("*.png")):
    shutil.copy(png, out / "failures" / png.name)
