"""Torch path: same random numbers as numpy, CPU-vs-torch agreement, batch invariance.

Tolerances (``corrupt_batch`` vs ``corrupt``, same image and seed, severities 1, 3, 5):
- byte-identical: contrast, pixelate, jpeg_compression, impulse_noise, shot_noise (integer
  paths on the same counter-based random numbers), frost with the reference photographs;
- within 1 grey level on every value, and on at most 2% of values: all the others (float32
  rounding order before the reference's truncation; measured max 1.5% for defocus_blur);
- snow: within 1 grey level on >= 99.5% of values and mean |diff| < 0.1 (a rounding difference
  can flip a thresholded flake pixel, which the motion blur then spreads).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the batched path needs torch (pip install torch)")

from posebench.conditions import CORRUPTIONS, corrupt, frost_photos, rng, textures  # noqa: E402
from posebench.conditions.corruptions_torch import corrupt_batch  # noqa: E402

DATA = Path(__file__).parent / "data" / "corruptions"
EXACT = ("contrast", "pixelate", "jpeg_compression", "impulse_noise", "shot_noise")
# frost with the reference photographs: the CPU's crop and blend table (the fallback texture is
# float32 arithmetic, within 1 grey level: test_torch_frost_fallback_matches_cpu)
if frost_photos.find_frost_photos() is not None:
    EXACT += ("frost",)
SEEDS = [0, 7, 2**62 + 12345]


@pytest.fixture(scope="module")
def images() -> list[np.ndarray]:
    img = cv2.imread(str(DATA / "000000197388.jpg"))[..., ::-1]
    a = np.ascontiguousarray(cv2.resize(img, (53, 37), interpolation=cv2.INTER_AREA))
    b = np.ascontiguousarray(img[150:214, 300:396])
    return [a, b]


def _to_t(ims: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(ims)).permute(0, 3, 1, 2).contiguous()


def test_rng_identical_numpy_torch() -> None:
    seeds = torch.tensor([*SEEDS, -5])
    for stream in (1, 23):
        bt = rng.bits_t(seeds, stream, 1000, 17).numpy()
        ut = rng.uniform_t(seeds, stream, 1000).numpy()
        nt = rng.normal_t(seeds, stream, 1001).numpy()
        for i, s in enumerate(seeds.tolist()):
            assert np.array_equal(bt[i], rng.bits_np(s, stream, 1000, 17).astype(np.int64))
            assert np.array_equal(ut[i], rng.uniform_np(s, stream, 1000))
            np.testing.assert_allclose(nt[i], rng.normal_np(s, stream, 1001), atol=2e-6)


def test_plasma_identical() -> None:
    seeds = torch.tensor([3, 99])
    pt = textures.plasma_t(64, 1.7, seeds, 23).numpy()
    for i, s in enumerate(seeds.tolist()):
        np.testing.assert_allclose(pt[i], textures.plasma_np(64, 1.7, s, 23), atol=1e-6)


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_torch_matches_cpu(images: list[np.ndarray], name: str) -> None:
    for im in images:
        batch = _to_t([im] * len(SEEDS))
        for s in (1, 3, 5):
            out = corrupt_batch(batch, name, s, torch.tensor(SEEDS)).permute(0, 2, 3, 1).numpy()
            for k, sd in enumerate(SEEDS):
                d = np.abs(out[k].astype(int) - corrupt(im, name, s, sd).astype(int))
                if name in EXACT:
                    assert d.max() == 0, (name, s, sd)
                elif name == "snow":
                    assert np.mean(d > 1) <= 0.005, (s, sd, d.mean())
                    assert d.mean() < 0.1, (s, sd, d.mean())
                else:
                    assert d.max() <= 1, (name, s, sd, d.max())
                    assert np.mean(d > 0) <= 0.02, (name, s, sd, d.max())


@pytest.mark.parametrize("name", ["glass_blur", "motion_blur", "fog", "snow", "elastic_transform"])
def test_batch_split_invariance(images: list[np.ndarray], name: str) -> None:
    im = images[1]
    ims = [im, im[::-1].copy(), np.ascontiguousarray(im[:, ::-1]), im]
    seeds = torch.tensor([5, 6, 7, 5])
    full = corrupt_batch(_to_t(ims), name, 4, seeds)
    parts = torch.cat(
        [corrupt_batch(_to_t(ims[:1]), name, 4, seeds[:1]),
         corrupt_batch(_to_t(ims[1:]), name, 4, seeds[1:])]
    )  # fmt: skip
    assert torch.equal(full, parts)
    assert torch.equal(full[0], full[3])
    assert not torch.equal(full[0], corrupt_batch(_to_t(ims[:1]), name, 4, torch.tensor([8]))[0])


def test_odd_sizes_and_errors() -> None:
    for h, w in ((1, 1), (17, 23)):
        x = torch.arange(2 * 3 * h * w).remainder(256).to(torch.uint8).view(2, 3, h, w)
        for name in CORRUPTIONS:
            out = corrupt_batch(x, name, 5, torch.tensor([1, 2]))
            assert out.shape == x.shape
            assert out.dtype == torch.uint8
    x = torch.zeros((2, 3, 20, 20), dtype=torch.uint8)
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\) RGB"):
        corrupt_batch(x[:, :1], "fog", 1, torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="seeds"):
        corrupt_batch(x, "fog", 1, torch.tensor([1]))
    with pytest.raises(ValueError, match="uint8"):
        corrupt_batch(x.float(), "fog", 1, torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="severity"):
        corrupt_batch(x, "fog", 9, torch.tensor([1, 2]))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu(images: list[np.ndarray]) -> None:
    batch = _to_t([images[1]] * 2)
    seeds = torch.tensor([3, 4])
    for name in CORRUPTIONS:
        for s in (1, 5):
            a = corrupt_batch(batch, name, s, seeds).numpy().astype(int)
            b = corrupt_batch(batch.cuda(), name, s, seeds.cuda()).cpu().numpy().astype(int)
            d = np.abs(a - b)
            if name == "snow":
                assert np.mean(d > 1) <= 0.005, (name, s)
            else:
                assert d.max() <= 1, (name, s, d.max())
                assert np.mean(d > 0) <= 0.02, (name, s, d.max())


def test_torch_frost_fallback_matches_cpu(
    images: list[np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The procedural frost (no photographs installed): within 1 grey level of the CPU path."""
    monkeypatch.setattr(frost_photos, "find_frost_photos", lambda: None)
    for im in images:
        out = corrupt_batch(_to_t([im] * 2), "frost", 4, torch.tensor(SEEDS[:2]))
        for k, sd in enumerate(SEEDS[:2]):
            d = np.abs(out[k].permute(1, 2, 0).numpy().astype(int) - corrupt(im, "frost", 4, sd))
            assert d.max() <= 1
            assert np.mean(d > 0) <= 0.02
            tex = textures.frost_texture(*im.shape[:2], sd, 24)
            ref = np.clip(0.65 * im + 0.7 * tex, 0, 255)
            assert np.abs(corrupt(im, "frost", 4, sd) - ref).max() <= 1.01
