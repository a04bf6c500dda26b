"""Calibrate posebench's synthetic low light against the two real ExLPose low-light captures.

    python bench/bench_lowlight_calibration.py               # statistics and fitted constants
    python bench/bench_lowlight_calibration.py --mediapipe   # + MediaPipe on real and synthetic
    python bench/bench_lowlight_calibration.py --levels      # ExLPose levels from the gain table
    python bench/bench_lowlight_calibration.py --make-table DIR   # rebuild that table

``--levels`` recomputes ``LEVEL_GAIN_DB`` and ``CALIBRATION_GAIN_DB`` from
``tests/data/exlpose/exlpose_test_gains.tsv`` (the 491 ExLPose test images: split, file name,
exposure, gain) and ``DARKEN_FACTOR`` from the 36 COCO sample images, and prints them beside the
module's values; ``--make-table DIR`` writes that table from the official ExLPose test
annotations ``DIR/ExLPose_test_LL-{Normal,Hard,Extreme}.json`` (sohyun-l/ExLPose,
``pytorch-cpn/256.192.model/Annotations/ExLPose/``) to stdout.

Real data: ``tests/data/exlpose/`` (two ExLPose low-light PNGs, gain 3.4 dB, ``exp400`` and
``exp1200``, with their CrowdPose-14 ground truth). Well-lit data: the 36 COCO val2017 images of
the embedded sample. Prints Markdown tables on stdout:

1. the noise-vs-intensity curve of the real captures (variance around the 9x9 local mean and the
   share of zeros, per local-mean bin) beside the same curve for ``expose`` on flat patches;
2. the fitted constants ``K_AT_0DB`` and ``LIN_PER_SRGB`` (compare with the module's);
3. measured vs synthetic statistics (:func:`posebench.conditions.lowlight.image_stats`) at each
   capture's estimated well-lit gain, and the synthetic statistics per severity of every method
   (``physics`` and ``darken`` on the graded levels, ``exlpose_raw`` on the ExLPose levels);
4. with ``--mediapipe``: MediaPipe top-down on the GT boxes: persons found and PCK (COCO-17
   predictions mapped to the 12 CrowdPose-14 joints COCO has) on the real captures (raw and
   ExLPose-normalised) and on the COCO sample at each severity of each method.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from posebench.conditions import lowlight as L  # noqa: E402

DATA = ROOT / "tests" / "data" / "exlpose"
TOE = 255.0 * 12.92
REAL_GAIN_DB = L.CALIBRATION_GAIN_DB


def _read(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise SystemExit(f"cannot read {path}")
    return np.ascontiguousarray(img[..., ::-1])


def real_images() -> dict[str, np.ndarray]:
    out = {}
    for p in sorted(DATA.glob("*.png")):
        key = "exp400" if "_exp400_" in p.name else "exp1200"
        out[key] = _read(p)
    return out


def coco_images() -> list[np.ndarray]:
    from posebench.samples import sample_images_dir

    d = sample_images_dir("coco-val2017-sample")
    return [_read(p) for p in sorted(d.glob("*.jpg"))]


def curve(img: np.ndarray, bins: np.ndarray) -> list[tuple[float, float, float, int]]:
    """(mean, variance around the 9x9 mean, zero share, count) per local-mean bin, all channels."""
    x = img.astype(np.float64)
    loc = cv2.blur(x, (9, 9), borderType=cv2.BORDER_REFLECT)
    r = (x - loc) * math.sqrt(81 / 80)
    idx = np.digitize(loc.ravel(), bins)
    rows = []
    for b in range(1, len(bins)):
        s = idx == b
        n = int(s.sum())
        if n < 200:
            rows.append((math.nan, math.nan, math.nan, n))
            continue
        xv = x.ravel()[s]
        rows.append((float(xv.mean()), float(r.ravel()[s].var()), float(np.mean(xv == 0)), n))
    return rows


def flat_curve(means: list[float], seed: int = 0) -> list[tuple[float, float, float]]:
    """``expose`` on flat grey patches whose output mean is ``m``: (mean, var, zero share)."""
    out = []
    patch_lin = float(L.srgb_to_linear(np.array(128 / 255.0)))
    img = np.full((200, 200, 3), 128, np.uint8)
    for i, m in enumerate(means):
        # a flat patch exposed so that its expected output is m grey levels (sRGB toe)
        y = L.expose(img, m / TOE / patch_lin, seed * 1000 + i).astype(np.float64)
        out.append((float(y.mean()), float(y.var()), float(np.mean(y == 0))))
    return out


def fit(real: dict[str, np.ndarray], coco: list[np.ndarray]) -> tuple[float, float]:
    w = np.array([0.299, 0.587, 0.114])
    lum = [float((L.srgb_to_linear(im / 255.0) @ w).mean()) for im in coco]
    srgb = [float((im / 255.0 @ w).mean()) for im in coco]
    lmed = float(np.median(lum))
    ks = []
    for key, im in real.items():
        mean = L.image_stats(im)["mean"]
        ks.append(mean / (TOE * 10 ** (-REAL_GAIN_DB[key] / 20) * lmed))
        print(f"| {key} | K estimate | {ks[-1]:.4g} |")
    k0 = float(np.exp(np.mean(np.log(ks))))
    ratio = float(np.median(np.array(lum) / np.array(srgb)))
    return k0, ratio


def _expose_seeded(i: int, x: np.ndarray, *, k: float) -> np.ndarray:
    return L.expose(x, k, i)


def _level(i: int, x: np.ndarray, *, s: int, seed: int, method: str) -> np.ndarray:
    return L.lowlight(x, s, seed, i, method=method)


def median_stats(
    images: list[np.ndarray], fn: Callable[[int, np.ndarray], np.ndarray]
) -> dict[str, float]:
    rows = [L.image_stats(fn(i, im)) for i, im in enumerate(images)]
    with warnings.catch_warnings():  # all-NaN columns (a black level's nsr) stay NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return {k: float(np.nanmedian([r[k] for r in rows])) for k in rows[0]}


def crowdpose_gt() -> tuple[dict[int, np.ndarray], dict[int, np.ndarray], dict[int, str]]:
    d = json.loads((DATA / "test_exlpose.json").read_text())
    boxes: dict[int, list[list[float]]] = {}
    kps: dict[int, list[np.ndarray]] = {}
    for a in d["annotations"]:
        boxes.setdefault(a["image_id"], []).append(a["bbox"])
        kps.setdefault(a["image_id"], []).append(np.asarray(a["keypoints"], float).reshape(-1, 3))
    return (
        {k: np.asarray(v, float) for k, v in boxes.items()},
        {k: np.stack(v) for k, v in kps.items()},
        {i["id"]: i["file_name"] for i in d["images"]},
    )


def pck(pred: np.ndarray, gt: np.ndarray, vis: np.ndarray, boxes: np.ndarray, t: float) -> float:
    """Share of labelled joints within t * max(box w, h) of the GT."""
    d = np.linalg.norm(pred - gt, axis=-1)
    thr = t * np.maximum(boxes[:, 2], boxes[:, 3])[:, None]
    lab = vis > 0
    return float(np.mean((d <= thr)[lab])) if lab.any() else math.nan


def run_mediapipe(real: dict[str, np.ndarray], seed: int) -> None:
    from adapters.mediapipe import MediaPipeAdapter
    from posebench.adapter import Batch
    from posebench.datasets import load_dataset
    from posebench.skeletons import COCO17, CROWDPOSE14, mapping

    src, dst = mapping(COCO17, CROWDPOSE14)
    adapter = MediaPipeAdapter(mode="top-down")

    def predict(img: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        b = Batch(np.array([0]), [img], [boxes], [np.ones(len(boxes))])
        p = adapter.predict(b)
        order = np.argsort(p.extra["box_index"])
        det = np.asarray(p.extra.get("detected", np.ones(len(p), bool)), bool)[order]
        return p.keypoints[order, :, :2], det

    print("\n## MediaPipe top-down on GT boxes (PCK vs max box side; 12 shared joints)\n")
    print("| input | level | persons | found | PCK@0.1 | PCK@0.2 |")
    print("|---|---|---|---|---|---|")
    boxes, kps, files = crowdpose_gt()
    for iid, name in files.items():
        key = "exp400" if "_exp400_" in name else "exp1200"
        for tag, img in (
            ("raw", real[key]),
            ("exlpose-normalised", L.exlpose_normalize(real[key])),
        ):
            kp, det = predict(img, boxes[iid])
            gt = kps[iid][:, dst]
            pr = kp[:, src]
            row = [pck(pr, gt[..., :2], gt[..., 2], boxes[iid], t) for t in (0.1, 0.2)]
            print(f"| real {key} {tag} | {'LL-H' if key == 'exp400' else 'LL-E'} | "
                  f"{len(det)} | {int(det.sum())} | {row[0]:.3f} | {row[1]:.3f} |")  # fmt: skip
    ds = load_dataset("coco-sample", None)
    assert ds.gt.visibility is not None
    sel = ~ds.gt.iscrowd & (ds.gt.num_keypoints > 0)
    conds: list[tuple[str, int | None]] = [("clean", None)]
    conds += [(m, s) for m in L.METHODS for s in range(1, 6)]
    for method, sev in conds:
        n = found = 0
        hits = {0.1: [0, 0], 0.2: [0, 0]}
        for iid in ds.images.id.tolist():
            rows = np.flatnonzero(sel & (ds.gt.image_id == iid))
            if not len(rows):
                continue
            img = ds.load_image(iid)
            if sev is not None:
                img = L.lowlight(img, sev, seed, iid, method=method)
            bx = ds.gt.bbox[rows]
            kp, det = predict(img, bx)
            gt = ds.gt.keypoints[rows][:, src, :2]
            vis = ds.gt.visibility[rows][:, src]
            n += len(rows)
            found += int(det.sum())
            for t in hits:
                d = np.linalg.norm(kp[:, src] - gt, axis=-1)
                ok = (d <= t * np.maximum(bx[:, 2], bx[:, 3])[:, None])[vis > 0]
                hits[t][0] += int(ok.sum())
                hits[t][1] += ok.size
        k = L.exposure_factor(sev, levels=L.METHOD_LEVELS[method]) if sev else 1.0
        lvl = "-" if sev is None else f"s{sev} (k={k:.3g})"
        p1, p2 = (hits[t][0] / hits[t][1] for t in (0.1, 0.2))
        print(f"| COCO sample {method} | {lvl} | {n} | {found} | {p1:.3f} | {p2:.3f} |")


GAINS = DATA / "exlpose_test_gains.tsv"


def make_table(folder: Path) -> None:
    """The gain table from the official ExLPose test annotations, as TSV on stdout."""
    w = csv.writer(sys.stdout, delimiter="\t", lineterminator="\n")
    w.writerow(L.GAIN_TABLE_COLUMNS)
    for split in L.SPLITS:
        images = json.loads((folder / f"ExLPose_test_{split}.json").read_text())["images"]
        for r in L.gain_table_rows(images, split):
            w.writerow([r[c] for c in L.GAIN_TABLE_COLUMNS])


def levels() -> None:
    """The ExLPose levels and calibration gains from the gain table, darken's factors from the
    COCO sample, beside the module's constants."""
    rows = L.read_gain_table(GAINS)
    print("| constant | recomputed | module |\n|---|---|---|")
    print(f"| LEVEL_GAIN_DB | {L.exlpose_levels(rows)} | {L.LEVEL_GAIN_DB} |")
    print(f"| CALIBRATION_GAIN_DB | {L.calibration_gains(rows)} | {L.CALIBRATION_GAIN_DB} |")
    print(f"| DARKEN_FACTOR | {L.darken_factors(coco_images())} | {L.DARKEN_FACTOR} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mediapipe", action="store_true", help="also run MediaPipe")
    ap.add_argument("--levels", action="store_true", help="only recompute the level tables")
    ap.add_argument("--make-table", type=Path, metavar="DIR", help="write the gain table")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.make_table:
        make_table(args.make_table)
        return
    if args.levels:
        levels()
        return
    real = real_images()
    coco = coco_images()

    print("## Noise vs intensity (all channels; variance around the 9x9 local mean)\n")
    bins = np.array([0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 4, 6])
    print("| local mean bin | exp400 mean / var / P0 | exp1200 mean / var / P0 |")
    print("|---|---|---|")
    cr = {k: curve(v, bins) for k, v in real.items()}
    for b in range(len(bins) - 1):
        cells = [f"{cr[k][b][0]:.3f} / {cr[k][b][1]:.3f} / {cr[k][b][2]:.3f}" for k in cr]
        print(f"| [{bins[b]}, {bins[b + 1]}) | {' | '.join(cells)} |")
    print("\nSynthetic flat patches (module SHOT, READ, SENSOR_BITS):\n")
    print("| mean | var | var/mean | P0 | Poisson P0 |")
    print("|---|---|---|---|---|")
    for m, v, p0 in flat_curve([0.02, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 4.0], args.seed):
        print(f"| {m:.3f} | {v:.3f} | {v / m:.3f} | {p0:.3f} | {math.exp(-m):.3f} |")

    print("\n## Fit\n\n| what | | value |\n|---|---|---|")
    k0, ratio = fit(real, coco)
    print(f"| K_AT_0DB | fitted (geometric mean) | {k0:.4g} (module {L.K_AT_0DB:.4g}) |")
    print(f"| LIN_PER_SRGB | fitted | {ratio:.4g} (module {L.LIN_PER_SRGB:.4g}) |")

    print("\n## Measured vs synthetic (synthetic: median over the 36 COCO sample images)\n")
    keys = ("mean", "p90", "p99", "zero_fraction", "nsr", "var_over_mean")
    print("| image | gain dB | | " + " | ".join(keys) + " |")
    print("|---|---|---|" + "---|" * len(keys))
    for key, im in real.items():
        g = REAL_GAIN_DB[key]
        st = L.image_stats(im)
        k = L.K_AT_0DB * 10 ** (-g / 20)
        syn = median_stats(coco, partial(_expose_seeded, k=k))
        print(f"| {key} | {g} | real | " + " | ".join(f"{st[c]:.3f}" for c in keys) + " |")
        print(f"| {key} | {g} | synthetic | " + " | ".join(f"{syn[c]:.3f}" for c in keys) + " |")
    print("\n## Synthetic levels (median over the COCO sample)\n")
    print("| method | severity | level | k | " + " | ".join(keys) + " |")
    print("|---|---|---|---|" + "---|" * len(keys))
    clean = median_stats(coco, lambda i, x: x)
    print("| clean | - | - | 1 | " + " | ".join(f"{clean[c]:.3f}" for c in keys) + " |")
    for method in ("physics", "darken", "exlpose_raw"):
        lv = L.METHOD_LEVELS[method]
        for s in range(1, 6):
            st = median_stats(coco, partial(_level, s=s, seed=args.seed, method=method))
            k = L.exposure_factor(s, levels=lv)
            where = (
                f"{L.LEVEL_GAIN_DB[s - 1]} dB" if lv == "exlpose" else f"{-math.log2(k):.2f} stops"
            )
            print(f"| {method} | {s} | {where} | {k:.3g} | "
                  + " | ".join(f"{st[c]:.3f}" for c in keys) + " |")  # fmt: skip
    if args.mediapipe:
        run_mediapipe(real, args.seed)


if __name__ == "__main__":
    main()
