"""Synthetic low light: determinism, severity trends on the graded and the ExLPose levels, the
noise-free baseline, ExLPose normalisation, the level tables recomputed from their sources (the
ExLPose gain table, the COCO sample), and the calibration against the two real ExLPose captures.

Calibration bands (the real captures are two night scenes with spot lighting, the synthetic side
is the median over 12 well-lit COCO images, so scene content differs; bands are what the
calibration in ``posebench/conditions/lowlight.py`` achieves with margin, see its table):
mean grey level within a factor 1.6 of the real capture at the capture's well-lit gain; share of
black pixels within 0.2; Poisson index (variance / local mean of dark pixels) within 0.2; noise
to signal within a factor 1.5.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest

from posebench.conditions import lowlight as L
from posebench.errors import InputError
from posebench.samples import sample_images_dir

EXLPOSE = Path(__file__).parent / "data" / "exlpose"
GAINS = EXLPOSE / "exlpose_test_gains.tsv"
#: median mean grey level per graded severity of coco_small (seed 0)
MEAN_GREY_12 = [56.61, 32.18, 16.72, 7.334, 0.1325]


def _read(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert img is not None, path
    return np.ascontiguousarray(img[..., ::-1])


@pytest.fixture(scope="module")
def coco() -> list[np.ndarray]:
    files = sorted(sample_images_dir("coco-val2017-sample").glob("*.jpg"))[::3]
    return [_read(p) for p in files]


@pytest.fixture(scope="module")
def coco_small(coco: list[np.ndarray]) -> list[np.ndarray]:
    """The same images at a quarter of their size (area-averaged: the same brightness), for the
    graded levels, whose bright end has wide Poisson tables (time)."""
    return [cv2.resize(c, (c.shape[1] // 4, c.shape[0] // 4), interpolation=cv2.INTER_AREA)
            for c in coco]  # fmt: skip


@pytest.fixture(scope="module")
def real() -> dict[str, np.ndarray]:
    out = {}
    for p in sorted(EXLPOSE.glob("*.png")):
        key = "exp400" if "_exp400_" in p.name else "exp1200"
        out[key] = _read(p)
    assert set(out) == {"exp400", "exp1200"}
    return out


def test_tables() -> None:
    assert set(L.METHODS) == {"physics", "darken", "exlpose_raw", "exlpose"}
    assert set(L.METHOD_LEVELS) == set(L.METHODS)
    gains = L.LEVEL_GAIN_DB
    assert all(a < b for a, b in itertools.pairwise(gains))
    # presets sit inside the ExLPose splits' gain ranges (README: LL-N <= 14.9, LL-H 15.64-23.98,
    # LL-E 24.06-38.78 dB)
    assert gains[L.PRESETS["normal"] - 1] <= 14.9
    assert 15.64 <= gains[L.PRESETS["hard"] - 1] <= 23.98
    assert 24.06 <= gains[L.PRESETS["extreme"] - 1] <= 38.78
    ex = [L.exposure_factor(s, levels="exlpose") for s in range(1, 6)]
    assert ex[0] / ex[4] == pytest.approx(10 ** ((gains[4] - gains[0]) / 20))
    # graded: 2, 3.5, 5, 6.5 stops under, then the ExLPose LL-Extreme median
    graded = [L.exposure_factor(s) for s in range(1, 6)]
    assert graded[:4] == [0.25, 2**-3.5, 2**-5, 2**-6.5]
    assert graded[4] == pytest.approx(ex[L.PRESETS["extreme"] - 1], rel=1e-4)
    assert all(a > b for a, b in itertools.pairwise(graded))
    assert L.level_record("darken") == L.level_record("physics")
    assert L.level_record("exlpose")["levels"] == "exlpose"
    with pytest.raises(InputError, match="level set"):
        L.exposure_factor(1, levels="dim")


def test_levels_recomputed_from_the_exlpose_gain_table() -> None:
    """LEVEL_GAIN_DB and CALIBRATION_GAIN_DB are statistics of the shipped table of the 491
    ExLPose test images (split, file name, exposure, gain), itself the official test
    annotations' file names (tests/data/exlpose/README.md)."""
    rows = L.read_gain_table(GAINS)
    counts = {sp: sum(r["split"] == sp for r in rows) for sp in L.SPLITS}
    assert counts == {"LL-Normal": 167, "LL-Hard": 169, "LL-Extreme": 155}
    for r in rows:  # every row says what its file name says
        (again,) = L.gain_table_rows([r], str(r["split"]))
        assert again == r
    assert L.exlpose_levels(rows) == L.LEVEL_GAIN_DB
    assert L.calibration_gains(rows) == L.CALIBRATION_GAIN_DB
    # the statistics are what their names say
    g = {sp: np.array([r["gain_db"] for r in rows if r["split"] == sp]) for sp in L.SPLITS}
    assert np.median(g["LL-Normal"]) == L.LEVEL_GAIN_DB[0]
    assert np.median(g["LL-Hard"]) == L.LEVEL_GAIN_DB[2]
    assert g["LL-Normal"].max() < L.LEVEL_GAIN_DB[1] < g["LL-Hard"].min()
    assert np.mean(g["LL-Extreme"] <= L.LEVEL_GAIN_DB[4]) == pytest.approx(0.9, abs=0.01)


def test_gain_table_errors(tmp_path: Path) -> None:
    bad = tmp_path / "g.tsv"
    with pytest.raises(InputError, match="cannot read") as e:
        L.read_gain_table(bad)
    assert e.value.file == str(bad)
    bad.write_text("split\tfile\n")
    with pytest.raises(InputError, match="expected columns") as e:
        L.read_gain_table(bad)
    assert e.value.file == str(bad)
    head = "\t".join(L.GAIN_TABLE_COLUMNS) + "\n"
    bad.write_text(head + "LL-Normal\tx.png\t100\t5000\tloud\n")
    with pytest.raises(InputError, match="bad value") as e:
        L.read_gain_table(bad)
    assert e.value.record == "line 2"
    bad.write_text(head + "LL-Dim\tx.png\t100\t5000\t3\n")
    with pytest.raises(InputError, match="split"):
        L.read_gain_table(bad)
    with pytest.raises(InputError, match="every split"):
        L.exlpose_levels([{"split": "LL-Normal", "gain_db": 1.0}])
    with pytest.raises(InputError, match="file name"):
        L.gain_table_rows([{"file_name": "bright/x.png"}], "LL-Hard")


def test_srgb_round_trip() -> None:
    v = np.linspace(0, 1, 1001)
    np.testing.assert_allclose(L.linear_to_srgb(L.srgb_to_linear(v)), v, atol=1e-12)
    assert L.srgb_to_linear(np.array(0.5)) == pytest.approx(0.21404, abs=1e-5)


@pytest.mark.parametrize("method", list(L.METHODS))
def test_deterministic(coco: list[np.ndarray], method: str) -> None:
    img = coco[0]
    a = L.lowlight(img, 3, 5, 139, method=method)
    b = L.lowlight(img.copy(), 3, 5, 139, method=method)
    assert a.tobytes() == b.tobytes()
    assert a.dtype == np.uint8
    assert a.shape == img.shape
    if method != "darken":
        assert a.tobytes() != L.lowlight(img, 3, 6, 139, method=method).tobytes()
        assert a.tobytes() != L.lowlight(img, 3, 5, 140, method=method).tobytes()


@pytest.mark.parametrize("method", ["physics", "exlpose_raw"])
def test_physics_darker_and_noisier_with_severity(
    coco_small: list[np.ndarray], method: str
) -> None:
    for i, img in enumerate(coco_small[:4]):
        st = [L.image_stats(L.lowlight(img, s, 0, i, method=method)) for s in range(1, 6)]
        means = [s["mean"] for s in st]
        nsr = [s["nsr"] for s in st]
        assert all(a > b for a, b in itertools.pairwise(means)), means
        assert all(a < b for a, b in itertools.pairwise(nsr)), nsr
        clean = L.image_stats(img)["mean"]
        if method == "exlpose_raw":  # the ExLPose levels are nearly black from severity 1
            assert means[0] < 0.05 * clean
        else:  # graded: mildly dim at 1 (2 stops), nearly black at 5
            assert 0.35 * clean < means[0] < 0.7 * clean, (means[0], clean)
            assert means[4] < 0.01 * clean


def test_graded_levels_mean_grey(coco_small: list[np.ndarray]) -> None:
    """Median mean grey level per graded severity over these 12 sample images (clean 111.9):
    from mildly dim to the ExLPose LL-Extreme level, which equals exlpose_raw's extreme preset
    (bench/bench_lowlight_calibration.py prints the same over all 36 images; the README's)."""
    clean = float(np.median([L.image_stats(c)["mean"] for c in coco_small]))
    med = [float(np.median([L.image_stats(L.lowlight(c, s, 0, i))["mean"]
                            for i, c in enumerate(coco_small)])) for s in range(1, 6)]  # fmt: skip
    assert clean == pytest.approx(111.9, abs=0.05)
    np.testing.assert_allclose(med, MEAN_GREY_12, rtol=0.03)
    ext = [L.image_stats(L.lowlight(c, L.PRESETS["extreme"], 0, i, method="exlpose_raw"))["mean"]
           for i, c in enumerate(coco_small)]  # fmt: skip
    assert float(np.median(ext)) == pytest.approx(med[4], rel=0.05)


def test_darken_factors_recomputed() -> None:
    """DARKEN_FACTOR is darken_factors() on the 36 COCO sample images."""
    files = sorted(sample_images_dir("coco-val2017-sample").glob("*.jpg"))
    assert len(files) == 36
    assert L.darken_factors(_read(p) for p in files) == L.DARKEN_FACTOR


def test_darken_is_a_noise_free_multiplication(coco_small: list[np.ndarray]) -> None:
    img = coco_small[1]
    means = []
    for s in range(1, 6):
        out = L.lowlight(img, s, 0, 1, method="darken")
        f = L.darken_factor(s)
        np.testing.assert_array_equal(out, np.rint(img * f).astype(np.uint8))
        means.append(float(out.mean()))
    assert all(a > b for a, b in itertools.pairwise(means[:4]))
    assert means[4] == 0  # 255 * DARKEN_FACTOR[4] < 0.5: black, physics keeps its shot noise
    flat = np.full((64, 64, 3), 200, np.uint8)
    assert L.lowlight(flat, 1, 0, 0, method="darken").std() == 0
    assert L.lowlight(flat, 1, 0, 0, method="physics").std() > 0

    # physics' brightness without noise: with it, physics is darker where the pixels straddle
    # the sRGB curve's knee (noise averages down through its concave part): median ratio
    # physics / darken over the images 0.99, 0.98, 0.96, 0.91 at severities 1-4
    def ratio(s: int) -> float:
        r = [L.lowlight(c, s, 0, i).mean() / L.lowlight(c, s, 0, i, method="darken").mean()
             for i, c in enumerate(coco_small)]  # fmt: skip
        return float(np.median(r))

    ratios = [ratio(s) for s in range(1, 5)]
    np.testing.assert_allclose(ratios, [0.99, 0.98, 0.96, 0.91], atol=0.015)


@pytest.mark.parametrize("k", [0.25, L.exposure_factor(3), L.exposure_factor(5, levels="exlpose")])
def test_guide_table_inversion_equals_the_flat_search(k: float) -> None:
    """The CPU path's guide-table inversion gives exactly the electrons of the one flat binary
    search the torch path does, for every CDF row, bucket edges and extremes included."""
    flat, width = L.sorted_cdf(k)
    m = np.concatenate([
        np.arange(0, 1 << 24, 4096), np.arange(4095, 1 << 24, 4096),  # bucket edges
        np.random.default_rng(0).integers(0, 1 << 24, 20000), [0, (1 << 24) - 1],
    ])  # fmt: skip
    u = (m.astype(np.float64) + 0.5) / 2**24  # rng.uniform_np's values
    row = np.repeat(np.arange(768, dtype=np.int64), -(-len(u) // 768))[: len(u)]
    np.random.default_rng(1).shuffle(row)
    want = np.searchsorted(flat, u + 2.0 * row, side="left") - row * width
    np.testing.assert_array_equal(L.electrons_np(row, u, k), want)


def test_physics_noise_is_poisson_like() -> None:
    # a flat patch at ~1 grey level out: variance ~ mean (green), more in red and blue (white
    # balance gains applied after the noise)
    flat = np.full((256, 256, 3), 128, np.uint8)
    k = 1.0 / (255 * 12.92) / float(L.srgb_to_linear(np.array(128 / 255)))
    out = L.expose(flat, k, 0).astype(np.float64)
    g = out[..., 1]
    assert g.mean() == pytest.approx(1.0, abs=0.08)
    assert g.var() / g.mean() == pytest.approx(1.0, abs=0.15)
    assert out[..., 2].var() > 1.3 * g.var()


def test_exlpose_normalisation(coco: list[np.ndarray]) -> None:
    img = np.zeros((10, 10, 3), np.uint8)
    img[:5, :, 0] = 2  # channel means 1, 0.5, 0
    img[:5, :5, 1] = 2
    out = L.exlpose_normalize(img)
    np.testing.assert_array_equal(out[0, 0], [204, 255, 0])  # 2 * 102 / mean, clipped; 0 stays 0
    np.testing.assert_array_equal(out[9, 9], [0, 0, 0])
    np.testing.assert_array_equal(L.exlpose_normalize(img * 0 + 200), np.full_like(img, 102))
    dark = L.lowlight(coco[2], 1, 0, 2, method="exlpose_raw")
    np.testing.assert_array_equal(
        L.lowlight(coco[2], 1, 0, 2, method="exlpose"), L.exlpose_normalize(dark)
    )


def test_image_stats_poisson_index() -> None:
    rng = np.random.default_rng(0)
    img = rng.poisson(0.8, (300, 300, 3)).astype(np.uint8)
    st = L.image_stats(img)
    assert st["var_over_mean"] == pytest.approx(1.0, abs=0.05)
    assert st["mean"] == pytest.approx(0.8, abs=0.02)
    assert st["zero_fraction"] < np.exp(-0.8)  # luma is 0 only if all channels are
    assert np.isnan(L.image_stats(np.zeros((8, 8, 3), np.uint8))["nsr"])


def test_calibration_matches_the_real_captures(
    real: dict[str, np.ndarray], coco: list[np.ndarray]
) -> None:
    for key, img in real.items():
        measured = L.image_stats(img)
        k = L.K_AT_0DB * 10 ** (-L.CALIBRATION_GAIN_DB[key] / 20)
        rows = [L.image_stats(L.expose(c, k, i)) for i, c in enumerate(coco)]
        syn = {c: float(np.median([r[c] for r in rows])) for c in measured}
        assert 1 / 1.6 < syn["mean"] / measured["mean"] < 1.6, (key, syn, measured)
        assert abs(syn["zero_fraction"] - measured["zero_fraction"]) < 0.2, key
        assert abs(syn["var_over_mean"] - measured["var_over_mean"]) < 0.2, key
        assert 1 / 1.5 < syn["nsr"] / measured["nsr"] < 1.5, key
    # the real LL-Hard capture is darker than synthetic LL-Normal and brighter than the darkest
    # level; the LL-Extreme capture is darker than synthetic hard-ish levels
    lvl = [np.median([L.image_stats(L.lowlight(c, s, 0, i, method="exlpose_raw"))["mean"]
                      for i, c in enumerate(coco)]) for s in range(1, 6)]  # fmt: skip
    assert lvl[4] < L.image_stats(real["exp400"])["mean"] < lvl[0]
    assert lvl[4] < L.image_stats(real["exp1200"])["mean"] < lvl[2]


def test_errors() -> None:
    img = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(InputError, match="method"):
        L.lowlight(img, 1, 0, 0, method="gamma")
    with pytest.raises(InputError, match="severity"):
        L.lowlight(img, 0, 0, 0)
    with pytest.raises(InputError, match="uint8"):
        L.lowlight(img.astype(np.float32), 1, 0, 0)
    with pytest.raises(InputError, match="image"):
        L.lowlight(np.zeros((4, 4), np.uint8), 1, 0, 0)
