"""Synthetic low light: graded severities from mildly dim to ExLPose-extreme, and the levels
calibrated to the real ExLPose captures.

``lowlight(image, severity, seed, image_id, method=...)``, methods (:data:`METHODS`), each on a
level set (:data:`METHOD_LEVELS`):

``physics`` (graded levels; "unprocessing", Brooks et al. 2019; MAET, ICCV 2021)
    sRGB -> linear (the sRGB EOTF), exposure scaled by ``k`` in linear light, white balance
    undone (:data:`WB_GAIN`), photon shot noise (Poisson: variance ``SHOT * x``) and Gaussian
    read noise (variance ``READ``), clipped at the black level, quantised to a ``SENSOR_BITS``
    sensor, white balance re-applied, back to sRGB (the sRGB OETF) and 8 bits. The colour
    correction matrix is not inverted (a simplification: the calibration captures are nearly
    neutral, per-channel means within 15% of each other).
``darken`` (graded levels)
    The baseline without noise: sRGB values times a factor, rounded. The factor gives the mean
    grey level ``physics`` has without its noise on a typical well-lit image
    (:func:`darken_factor`); ``physics`` itself is 1-9% darker at severities 1-4 (noise averaged
    through the concave part of the sRGB curve), and at 5 ``darken`` is black.
``exlpose_raw`` (ExLPose levels)
    ``physics`` at the ExLPose-calibrated levels: the real test splits' brightness; nearly black
    (mean 0.1-1 grey levels), as the real captures are.
``exlpose`` (ExLPose levels)
    ``exlpose_raw`` followed by the ExLPose evaluation's input normalisation (``img *= 0.4 * 255
    / per-channel mean``, :func:`exlpose_normalize`), i.e. what an ExLPose model is fed.

Graded levels (:data:`GRADED_STOPS`, ``physics`` and ``darken``): severity s exposes ``k =
2**-stops`` of the well-lit image's light, 2 / 3.5 / 5 / 6.5 stops for severities 1-4 and, at
5, the ExLPose LL-Extreme median (27.18 dB, 12.42 stops). A stress test must be graded: at the
ExLPose levels every severity is black to a model trained on well-lit images (MediaPipe scores 0
at each of them), while on the graded levels its AP falls step by step (``tests/
test_lowlight_mediapipe.py``); the ExLPose levels stay available as ``exlpose``/``exlpose_raw``.

ExLPose levels (:data:`LEVEL_GAIN_DB`). The ExLPose test splits are defined by the gain (dB) the
*well-lit* camera needed for the same scene and exposure time (the file names' ``gain_``):
LL-Normal <= 14.9 dB, LL-Hard 15.64-23.98, LL-Extreme 24.06-38.78; the low-light camera keeps a
fixed gain (3.4 dB in the files here), so a scene needing ``g`` dB more amplification is
``10**(g/20)`` times darker at the same noise parameters. Severity s maps to a gain
:data:`LEVEL_GAIN_DB` and ``k = K_AT_0DB * 10**(-g/20)``; the gains are statistics of the 491
test images' gains, recomputed from the shipped table ``tests/data/exlpose/exlpose_test_gains.tsv``
by :func:`exlpose_levels` (``python bench/bench_lowlight_calibration.py --levels``; tested):

======== ======== ======================================================== =======
severity gain dB  ExLPose statistic                                        preset
======== ======== ======================================================== =======
1        9.92     LL-Normal median gain                                    normal
2        15.27    the LL-Normal / LL-Hard boundary (max LL-N, min LL-H mid)
3        20.34    LL-Hard median gain                                      hard
4        27.18    LL-Extreme median gain                                   extreme
5        32.55    LL-Extreme 90th percentile gain (linear interpolation)
======== ======== ======================================================== =======

Calibration (``bench/bench_lowlight_calibration.py``) on the two real ExLPose low-light PNGs of
the mmpose test data (``tests/data/exlpose``), both taken by the low-light camera at 3.4 dB:
``exp400`` and ``exp1200`` of the hwangridan series, whose well-lit ``exp400`` test images are
LL-Hard (16.54-18.64 dB over four videos, median 17.89) and ``exp1200`` ones LL-Extreme
(26.08-28.18 dB, median 27.43) (:data:`CALIBRATION_GAIN_DB`, :func:`calibration_gains`). Despite
the shared file-name stem they show two different scenes (one close person; a street with four
small persons), not one scene at two exposures.

* Noise. In the real captures the variance of a pixel around its 9x9 local mean is about its
  local mean (8-bit grey levels) from 0.02 to 4 grey levels, and the share of exact zeros
  follows ``exp(-mean)``: photon-counting (Poisson) noise, about one grey level per
  photo-electron in green, with negligible read noise; red and blue are noisier (var / mean
  relative to green: R 1.06-1.14, B 1.6-2.6), as white-balance gains applied after capture make
  them. In the sRGB toe (linear < 0.0031308, below 10 grey levels, where all of these images lie)
  one grey level is ``1 / (255 * 12.92)`` linear, so ``SHOT = 1 / 3294.6 = 3.04e-4`` (inside the
  unprocessing range 1e-4-0.012), :data:`WB_GAIN` ``= (1.1, 1.0, 1.8)`` and ``READ`` the largest
  read noise still consistent with 98% zeros where the local mean is 0.02 (sigma 0.15 grey).
  Not modelled: the demosaicing's spatial noise correlation (lag-1 correlation 0.43 in the real
  captures, 0 here) and lens/sensor non-uniformity.
* Brightness. ``K_AT_0DB`` makes the median mean grey level of the 36 COCO sample images under
  ``physics`` equal to the real capture at that capture's gain: geometric mean of the two
  captures' estimates (3.0e-3 from exp400, 5.7e-3 from exp1200: the scenes differ, so each
  capture is matched within a factor ~1.4). ``LIN_PER_SRGB`` (0.553) is the COCO sample's median
  ratio of mean linear luminance to mean sRGB value; ``darken``'s factors
  (:data:`DARKEN_FACTOR`) are measured on the same images (:func:`darken_factors`).

Measured vs synthetic (``image_stats``; synthetic = median over the 36 COCO sample images at the
capture's gain; the real scenes are spot-lit nights, hence their heavier bright tail, p99):

======== ======= ========= ====== ====== ====== ============= ====== =============
capture  gain dB           mean   p90    p99    zero_fraction nsr    var_over_mean
======== ======= ========= ====== ====== ====== ============= ====== =============
exp400   17.89   real      0.301  0.712  4.120  0.640         1.180  1.495
exp400   17.89   synthetic 0.421  1.248  2.587  0.482         1.091  1.410
exp1200  27.43   real      0.190  0.587  2.647  0.727         1.514  1.292
exp1200  27.43   synthetic 0.142  0.587  1.381  0.732         1.900  1.305
======== ======= ========= ====== ====== ====== ============= ====== =============

Levels (median mean grey over the 36 COCO sample images, seed 0; clean 114.7; ``bench/
bench_lowlight_calibration.py``): ``physics`` 58.3 / 33.2 / 17.2 / 7.8 / 0.15, ``darken`` 58.5 /
33.5 / 17.7 / 8.2 / 0 for severities 1-5; ``exlpose_raw`` 1.04 / 0.56 / 0.32 / 0.15 / 0.08.
MediaPipe (top-down, GT boxes) on the same images: OKS AP 0.246 clean, ``physics`` 0.222 / 0.215 /
0.153 / 0.087 / 0.000.

Deterministic per (image id, method, severity, seed): the random numbers are the counter-based
draws of :mod:`posebench.conditions.rng` (stream 0: the uniforms that invert the Poisson CDF of
each pixel's mean, one table row per (channel, 8-bit value); stream 1: the read noise), seeded by
:func:`posebench.conditions.rng.condition_seed`, so the batched torch path
(:mod:`posebench.conditions.lowlight_torch`) draws the same numbers on any device. The Poisson
inversion is exact and gives the same integers on both paths: one flat binary search in torch
(:func:`sorted_cdf`), a guide table on the CPU (:func:`electrons_np`, faster; tested equal).
"""

from __future__ import annotations

import csv
import functools
import math
from collections.abc import Iterable, Mapping
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from posebench.conditions.rng import condition_seed, normal_np, uniform_np
from posebench.errors import InputError

Image = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float64]

#: method -> what it does.
METHODS: dict[str, str] = {
    "physics": "graded levels: inverse sRGB, exposure k, Poisson shot + Gaussian read noise, "
    "12-bit, sRGB",
    "darken": "graded levels: sRGB values times a factor (physics' mean brightness without "
    "noise), no noise",
    "exlpose_raw": "ExLPose levels: physics at the ExLPose test splits' gains",
    "exlpose": "ExLPose levels: exlpose_raw, then ExLPose's input normalisation "
    "img *= 0.4*255/channel mean",
}
#: method -> its level set (``graded``: :data:`GRADED_STOPS`; ``exlpose``: :data:`LEVEL_GAIN_DB`).
METHOD_LEVELS: dict[str, str] = {
    "physics": "graded",
    "darken": "graded",
    "exlpose_raw": "exlpose",
    "exlpose": "exlpose",
}
#: ExLPose levels: severity s -> the well-lit camera gain (dB) of the ExLPose level it imitates
#: (statistics of tests/data/exlpose/exlpose_test_gains.tsv: :func:`exlpose_levels`).
LEVEL_GAIN_DB = (9.92, 15.27, 20.34, 27.18, 32.55)
#: the real calibration captures (tests/data/exlpose) -> well-lit gain (dB) of the ExLPose test
#: images of the same series and exposure (hwangridan ``exp400``: 16.54, 17.64, 18.14, 18.64 dB,
#: all LL-Hard; ``exp1200``: 26.08, 27.18, 27.68, 28.18 dB, all LL-Extreme; one gain per video):
#: the medians (:func:`calibration_gains`).
CALIBRATION_GAIN_DB = {"exp400": 17.89, "exp1200": 27.43}
#: ExLPose split name -> severity of the ExLPose levels (``exlpose``, ``exlpose_raw``).
PRESETS = {"normal": 1, "hard": 3, "extreme": 4}
#: linear exposure factor at 0 dB; k(g) = K_AT_0DB * 10**(-g / 20).
K_AT_0DB = 4.17e-3
#: graded levels: severity s -> stops below the well-lit image (k = 2**-stops): 2, 3.5, 5 and 6.5
#: stops for severities 1-4 (mildly dim to dark: a well-lit-trained model's AP falls at each
#: step), the ExLPose LL-Extreme median (27.18 dB = 12.42 stops) at 5.
GRADED_STOPS = (2.0, 3.5, 5.0, 6.5, round(-math.log2(K_AT_0DB * 10.0 ** (-27.18 / 20.0)), 4))
#: graded severity -> ``darken``'s sRGB factor: the mean grey level of ``physics`` without noise
#: on a typical well-lit image (:func:`darken_factors` on the 36 COCO sample images; tested).
DARKEN_FACTOR = (0.5093, 0.292, 0.1545, 0.07151, 0.001331)
#: photon shot noise: variance SHOT * x (linear [0, 1] units): one 8-bit toe grey level.
SHOT = 1.0 / (255.0 * 12.92)
#: read noise variance (linear units): sigma = 0.15 toe grey levels (real captures: 98% zeros
#: where the local mean is 0.02; sigma 0.25 would already give 2% extra non-zeros).
READ = (0.15 * SHOT) ** 2
#: white-balance gains (R, G, B) the camera applies after capture: R and B carry that much more
#: noise than G at equal brightness (measured var/mean ratios of the real captures' dark pixels,
#: relative to green: R 1.06-1.14, B 1.6-2.6).
WB_GAIN = (1.1, 1.0, 1.8)
#: sensor bit depth (quantisation before the 8-bit sRGB output).
SENSOR_BITS = 12
#: median ratio of mean linear luminance to mean sRGB value over the COCO sample (used by the
#: calibration of K_AT_0DB; in the sRGB toe darken's factor is ``12.92 * k * LIN_PER_SRGB``).
LIN_PER_SRGB = 0.553
#: ExLPose's normalisation target, grey levels.
EXLPOSE_TARGET_MEAN = 0.4 * 255.0


def exposure_factor(severity: int, *, levels: str = "graded") -> float:
    """Linear exposure factor k of a severity (1-5) on a level set (``graded``, ``exlpose``)."""
    s = _check_severity(severity)
    if levels == "graded":
        return float(2.0 ** -GRADED_STOPS[s - 1])
    if levels == "exlpose":
        return float(K_AT_0DB * 10.0 ** (-LEVEL_GAIN_DB[s - 1] / 20.0))
    raise InputError(f"unknown low-light level set {levels!r} (graded, exlpose)", field="levels")


def darken_factor(severity: int) -> float:
    """sRGB multiplier of ``darken`` at a graded severity (1-5): :data:`DARKEN_FACTOR`."""
    return DARKEN_FACTOR[_check_severity(severity) - 1]


def darken_factors(images: Iterable[Image]) -> tuple[float, ...]:
    """:data:`DARKEN_FACTOR` measured on well-lit images: per graded severity, the median over
    the images of ``mean(sRGB(k * linear(image))) / mean(image)`` (physics' mean brightness
    without its noise, which leaves the mean unchanged), rounded to 4 significant digits."""
    # per 8-bit value, so an image enters through its histogram
    hists = [np.bincount(np.asarray(im, np.uint8).ravel(), minlength=256) for im in images]
    values = np.arange(256, dtype=np.float64)
    out = []
    for s in range(1, 6):
        lut = linear_to_srgb(exposure_factor(s) * srgb_to_linear(values / 255.0)) * 255.0
        r = [float(h @ lut) / float(h @ values) for h in hists if h[1:].any()]
        out.append(float(f"{np.median(r):.4g}"))
    return tuple(out)


def _check_severity(severity: int) -> int:
    if isinstance(severity, bool) or int(severity) != severity or not 1 <= int(severity) <= 5:
        raise InputError(f"severity {severity!r} outside 1-5", field="severity")
    return int(severity)


def srgb_to_linear(v: FloatArray) -> FloatArray:
    """sRGB EOTF (IEC 61966-2-1): values in [0, 1] -> linear light in [0, 1]."""
    v = np.asarray(v, np.float64)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: FloatArray) -> FloatArray:
    """Inverse sRGB EOTF: linear light in [0, 1] -> sRGB values in [0, 1]."""
    x = np.asarray(x, np.float64)
    return np.where(
        x <= 0.0031308, 12.92 * x, 1.055 * np.maximum(x, 0.0031308) ** (1 / 2.4) - 0.055
    )


def exlpose_normalize(image: Image) -> Image:
    """ExLPose's inference-time normalisation ``img *= 0.4 * 255 / per-channel mean``.

    Upstream keeps floats without clipping; here the result is clipped to [0, 255] and rounded to
    uint8 (a channel whose mean is 0 stays 0). image: (H, W, 3) uint8 -> (H, W, 3) uint8.
    """
    x = np.asarray(image, np.float64)
    mean = x.reshape(-1, x.shape[-1]).mean(axis=0)
    gain = np.where(mean > 0, EXLPOSE_TARGET_MEAN / np.maximum(mean, 1e-12), 0.0)
    return np.clip(np.rint(x * gain), 0, 255).astype(np.uint8)


def lowlight(
    image: Image, severity: int, seed: int, image_id: int, *, method: str = "physics"
) -> Image:
    """The image as a low-light capture.

    Args:
        image: (H, W, 3) uint8 RGB, well lit (not modified).
        severity: 1-5 on the method's level set (:data:`METHOD_LEVELS`; :data:`PRESETS` names
            the ExLPose levels).
        seed: the run's condition seed.
        image_id: the image's id (part of the seed).
        method: a key of :data:`METHODS`.

    Returns:
        (H, W, 3) uint8 RGB.
    """
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, "shape", None)
        raise InputError(f"expected an (H, W, 3) image, got shape {shape}", field="image")
    if image.dtype != np.uint8:
        raise InputError(f"expected a uint8 image, got {image.dtype}", field="image")
    if method not in METHODS:
        raise InputError(
            f"unknown low-light method {method!r} (known: {', '.join(METHODS)})", field="method"
        )
    s = _check_severity(severity)
    if method == "darken":
        out = np.rint(image.astype(np.float64) * darken_factor(s))
        return np.clip(out, 0, 255).astype(np.uint8)
    # exlpose draws the same noise as exlpose_raw: it is exactly the normalised exlpose_raw image
    k = exposure_factor(s, levels=METHOD_LEVELS[method])
    out = expose(image, k, lowlight_seed(image_id, s, seed))
    return exlpose_normalize(out) if method == "exlpose" else out


def level_record(method: str) -> dict[str, object]:
    """A method's level set and exposure factors, for results.json and the cache key."""
    levels = METHOD_LEVELS[method]
    return {
        "levels": levels,
        "exposure": [round(exposure_factor(s, levels=levels), 10) for s in range(1, 6)],
    }


# ------------------------------------------------------------ ExLPose level derivation

#: columns of the ExLPose gain table (tests/data/exlpose/exlpose_test_gains.tsv).
GAIN_TABLE_COLUMNS = ("split", "file_name", "exp", "exposure", "gain_db")
#: the test splits of the level statistics, in order.
SPLITS = ("LL-Normal", "LL-Hard", "LL-Extreme")


def read_gain_table(path: str | Path) -> list[dict[str, object]]:
    """The ExLPose test images' capture table: one row per image, ``split`` (LL-Normal, LL-Hard,
    LL-Extreme), ``file_name``, ``exp`` (the file name's expNNN), ``exposure`` (its exposure_N)
    and ``gain_db`` (its gain_, float). Tab-separated with a header line."""
    p = Path(path)
    rows: list[dict[str, object]] = []
    try:
        f = p.open(newline="", encoding="utf-8")
    except OSError as e:
        raise InputError(f"cannot read the gain table ({e.strerror})", file=str(p)) from None
    with f:
        reader = csv.DictReader(f, delimiter="\t")
        if tuple(reader.fieldnames or ()) != GAIN_TABLE_COLUMNS:
            raise InputError(
                f"expected columns {', '.join(GAIN_TABLE_COLUMNS)}, got {reader.fieldnames}",
                file=str(p), field="header",
            )  # fmt: skip
        for i, r in enumerate(reader, start=2):
            try:
                row: dict[str, object] = {
                    "split": r["split"],
                    "file_name": r["file_name"],
                    "exp": int(r["exp"]),
                    "exposure": int(r["exposure"]),
                    "gain_db": float(r["gain_db"]),
                }
            except (TypeError, ValueError) as e:
                raise InputError(f"bad value ({e})", file=str(p), record=f"line {i}") from None
            if row["split"] not in SPLITS or not math.isfinite(float(r["gain_db"])):
                raise InputError(
                    f"split must be one of {', '.join(SPLITS)} and gain_db finite",
                    file=str(p), record=f"line {i}", field="split",
                )  # fmt: skip
            rows.append(row)
    return rows


def gain_table_rows(images: Iterable[Mapping[str, object]], split: str) -> list[dict[str, object]]:
    """Rows of the gain table for the ``images`` of an ExLPose annotation file (``file_name``
    like ``bright/imgs_..._exp400_bright_000052__gain_17.64_exposure_1250.png``)."""
    import re

    pat = re.compile(r"_exp(\d+)_.*__gain_([0-9.]+)_exposure_(\d+)\.\w+$")
    out = []
    for im in images:
        name = str(im["file_name"])
        m = pat.search(name)
        if m is None:
            raise InputError("file name without exp/gain/exposure", record=name, field="file_name")
        out.append({"split": split, "file_name": name, "exp": int(m.group(1)),
                    "exposure": int(m.group(3)), "gain_db": float(m.group(2))})  # fmt: skip
    return out


def exlpose_levels(rows: Iterable[Mapping[str, object]]) -> tuple[float, ...]:
    """:data:`LEVEL_GAIN_DB` from the gain table: (LL-Normal median, the midpoint between the
    largest LL-Normal and the smallest LL-Hard gain, LL-Hard median, LL-Extreme median,
    LL-Extreme 90th percentile (numpy's linear interpolation)), rounded to 0.01 dB."""
    by: dict[str, list[float]] = {s: [] for s in SPLITS}
    for r in rows:
        by[str(r["split"])].append(float(str(r["gain_db"])))
    if not all(by.values()):
        raise InputError("the gain table needs rows of every split", field="split")
    n, h, e = (np.asarray(by[s], np.float64) for s in SPLITS)
    levels = (
        np.median(n), (n.max() + h.min()) / 2.0, np.median(h), np.median(e),
        np.percentile(e, 90),
    )  # fmt: skip
    return tuple(round(float(v), 2) for v in levels)


def calibration_gains(rows: Iterable[Mapping[str, object]]) -> dict[str, float]:
    """:data:`CALIBRATION_GAIN_DB` from the gain table: for the calibration captures' series
    (``imgs_0212_hwangridan``) and exposures (exp400, exp1200), the median over its videos of
    each video's gain (every frame of a video has the same gain), rounded to 0.01 dB."""
    import re

    per_video: dict[str, dict[str, float]] = {"exp400": {}, "exp1200": {}}
    for r in rows:
        m = re.search(r"imgs_0212_hwangridan_(vid\d+)_(exp\d+)_", str(r["file_name"]))
        if m and m.group(2) in per_video:
            per_video[m.group(2)][m.group(1)] = float(str(r["gain_db"]))
    return {k: round(float(np.median(list(v.values()))), 2) for k, v in per_video.items() if v}


# ------------------------------------------------------------------- the pipeline


def lowlight_seed(image_id: int, severity: int, seed: int) -> int:
    """The key of an image's draws in :func:`lowlight` (the same for physics and exlpose)."""
    return condition_seed(image_id, "lowlight/physics", severity, seed)


def poisson_cdf_table(k: float) -> FloatArray:
    """(3 * 256, N) float64: row ``c * 256 + v`` is the Poisson CDF of the photo-electrons of an
    8-bit value v in channel c at exposure k, at 0 .. N - 1 electrons (N covers the mean plus 12
    standard deviations; the last column is 1). A pixel takes as many electrons as there are
    CDF values below its uniform draw (inversion sampling: exact, and the same on any device)."""
    from scipy.stats import poisson

    lam = lam_table(k).reshape(-1)
    top = float(lam.max())
    n = int(top + 12.0 * math.sqrt(top) + 12.0)
    cdf = poisson.cdf(np.arange(n)[None, :], lam[:, None])
    cdf[:, -1] = 1.0
    return np.asarray(cdf, np.float64)


@functools.lru_cache(maxsize=16)
def sorted_cdf(k: float) -> tuple[FloatArray, int]:
    """:func:`poisson_cdf_table` as one sorted array, row r shifted by 2 r, and its width N.

    The electrons of a pixel of row r with uniform u are then ``searchsorted(flat, u + 2 r,
    side="left") - r N``: one binary search for every pixel at once (u + 2 r is exact in float64:
    u has 24 bits)."""
    cdf = poisson_cdf_table(k)
    rows, width = cdf.shape
    flat = (cdf + 2.0 * np.arange(rows, dtype=np.float64)[:, None]).reshape(-1)
    flat.flags.writeable = False  # cached: shared by every call at this k
    return flat, width


#: bits of a uniform that index the guide table of :func:`guide_table` (2**12 buckets)
GUIDE_BITS = 12


@functools.lru_cache(maxsize=16)
def guide_table(k: float) -> tuple[npt.NDArray[np.int32], FloatArray, int]:
    """A guide table for inverting :func:`poisson_cdf_table` (Fishman & Moore's method):
    ``(guide, cdf, N)`` with ``guide[r, b]`` the number of CDF values of row r below ``b /
    2**GUIDE_BITS`` (b = 0 .. 2**GUIDE_BITS) and ``cdf`` the (rows * N,) table. A uniform u of
    bucket ``b = floor(u * 2**GUIDE_BITS)`` has between ``guide[r, b]`` and ``guide[r, b + 1]``
    electrons; the bucket bounds are exact in float64."""
    cdf = poisson_cdf_table(k)
    rows, width = cdf.shape
    nb = 1 << GUIDE_BITS
    grid = np.arange(nb + 1, dtype=np.float64) / nb
    guide: npt.NDArray[np.int32] = np.asarray(
        np.stack([np.searchsorted(cdf[r], grid, side="left") for r in range(rows)]), np.int32
    )
    flat: FloatArray = np.ascontiguousarray(cdf.reshape(-1))
    guide.flags.writeable = False
    flat.flags.writeable = False
    return guide, flat, int(width)


def electrons_np(row: npt.NDArray[np.int64], u: FloatArray, k: float) -> npt.NDArray[np.int64]:
    """Photo-electrons of pixels of CDF row ``row`` with uniforms ``u`` in (0, 1): the number of
    CDF values of the row below u, i.e. exactly ``searchsorted(flat, u + 2 row) - row N`` of
    :func:`sorted_cdf` (which the torch path uses), found through :func:`guide_table`: most
    buckets hold no CDF value, the rest are finished by a binary search of their few entries.
    row, u: same shape -> int64, that shape."""
    guide, cdf, width = guide_table(k)
    nb = 1 << GUIDE_BITS
    r = row.reshape(-1)
    uf = u.reshape(-1)
    b = (uf * nb).astype(np.int64)  # u = (m + 0.5) / 2**24: exact, < nb
    g = r * (nb + 1) + b
    gflat = guide.reshape(-1)
    lo = gflat[g].astype(np.int64)
    hi = gflat[g + 1].astype(np.int64)
    todo = np.flatnonzero(hi > lo)
    if todo.size:
        lo_t, hi_t = lo[todo], hi[todo]
        base = r[todo] * width
        ut = uf[todo]
        while True:  # lower bound of ut in cdf[base + lo_t : base + hi_t]
            open_ = lo_t < hi_t
            if not open_.any():
                break
            mid = (lo_t + hi_t) >> 1
            below = cdf[base + np.minimum(mid, width - 1)] < ut
            lo_t = np.where(open_ & below, mid + 1, lo_t)
            hi_t = np.where(open_ & ~below, mid, hi_t)
        lo[todo] = lo_t
    out: npt.NDArray[np.int64] = lo.reshape(row.shape)
    return out


def lam_table(k: float) -> FloatArray:
    """(3, 256) mean photo-electrons per (channel, 8-bit sRGB value) at exposure factor k."""
    lin = srgb_to_linear(np.arange(256, dtype=np.float64) / 255.0)
    return lin[None, :] * (k / (SHOT * np.asarray(WB_GAIN, np.float64)))[:, None]


def expose(image: Image, k: float, seed: int) -> Image:
    """The physics pipeline at exposure factor ``k`` (used by :func:`lowlight` and the
    calibration): (H, W, 3) uint8 sRGB -> (H, W, 3) uint8 sRGB; ``seed`` keys the draws."""
    img = np.asarray(image, np.uint8)
    n = img.size
    # raw sensor: white balance undone, photo-electrons, read noise, black-level clip, ADC
    row = (np.arange(3, dtype=np.int64) * 256)[None, None, :] + img
    u = uniform_np(seed, 0, n).reshape(img.shape).astype(np.float64)
    electrons = electrons_np(row, u, k)
    read = normal_np(seed, 1, n).reshape(img.shape).astype(np.float64)
    raw = electrons * SHOT + read * math.sqrt(READ)
    return develop(raw)


def develop(raw: FloatArray) -> Image:
    """Sensor values (H, W, 3) in linear units -> 8-bit sRGB: black-level clip, SENSOR_BITS ADC,
    white balance, sRGB OETF."""
    levels = float(2**SENSOR_BITS - 1)
    raw = np.rint(np.clip(raw, 0.0, 1.0) * levels) / levels
    x = np.clip(raw * np.asarray(WB_GAIN, np.float64), 0.0, 1.0)
    return np.clip(np.rint(linear_to_srgb(x) * 255.0), 0, 255).astype(np.uint8)


def image_stats(image: Image) -> dict[str, float]:
    """Brightness and noise statistics of an image (used by the tests and the calibration).

    image: (H, W, 3) uint8. Returns, in 8-bit grey levels of Rec.601 luma unless stated:

    * ``mean``, ``p50``, ``p90``, ``p99``, ``p999``: mean and percentiles;
    * ``zero_fraction``: share of pixels whose luma is 0;
    * ``noise``: std of the luma's residual against its 3x3 mean (scaled by sqrt(9/8) so
      independent noise of std sigma reads sigma); includes fine texture;
    * ``nsr``: ``noise / mean`` (NaN for a black image);
    * ``var_over_mean``: the Poisson index of dark pixels: per-channel residual variance around
      the 9x9 local mean divided by that mean, pooled over pixels whose local mean is in
      [0.05, 8] grey levels (1 for photon-counting noise at one grey level per electron; NaN
      when there are no such pixels).
    """
    x = np.asarray(image, np.float64)
    y = x @ np.array([0.299, 0.587, 0.114])
    mean = float(y.mean())
    p50, p90, p99, p999 = (float(v) for v in np.percentile(y, [50, 90, 99, 99.9]))
    r3 = y - cv2.blur(y, (3, 3), borderType=cv2.BORDER_REFLECT)
    noise = float(np.sqrt(np.mean(r3**2) * 9.0 / 8.0))
    loc = cv2.blur(x, (9, 9), borderType=cv2.BORDER_REFLECT)
    sel = (loc >= 0.05) & (loc <= 8.0)
    vom = (
        float(np.sum((x - loc)[sel] ** 2) * 81.0 / 80.0 / np.sum(loc[sel]))
        if np.any(sel) else float("nan")
    )  # fmt: skip
    return {
        "mean": mean,
        "p50": p50,
        "p90": p90,
        "p99": p99,
        "p999": p999,
        "zero_fraction": float(np.mean(y == 0)),
        "noise": noise,
        "nsr": noise / mean if mean > 0 else float("nan"),
        "var_over_mean": vom,
    }
