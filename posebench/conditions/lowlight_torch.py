"""Batched torch path of the low-light conditions: ``lowlight_batch(images, severity, seeds)``.

Same definitions, levels and random numbers as :mod:`posebench.conditions.lowlight` (the CPU
path), on the tensor's device. The Poisson electrons are identical (the same 24-bit uniforms
searched in the same float64 CDF table); the read noise's Box-Muller normals may differ from
numpy's in the last bit of float32 ``log``/``cos``/``sin``, and the sRGB curve's ``pow`` in the
last bit of float64, so a pixel on a rounding boundary can move by one grey level: tested as at
most 1 grey level everywhere and identical on >= 99.9% of the pixels (``darken``: identical).
"""

from __future__ import annotations

import math

import torch

from posebench.conditions import lowlight as L
from posebench.conditions import rng
from posebench.errors import InputError

__all__ = ["lowlight_batch"]


def _srgb_to_linear(v: torch.Tensor) -> torch.Tensor:
    return torch.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(x: torch.Tensor) -> torch.Tensor:
    return torch.where(
        x <= 0.0031308, 12.92 * x, 1.055 * torch.clamp_min(x, 0.0031308) ** (1 / 2.4) - 0.055
    )


def _expose(images: torch.Tensor, k: float, seeds: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) uint8 -> (B, 3, H, W) uint8: :func:`lowlight.expose` per image."""
    b, c, h, w = images.shape
    dev = images.device
    flat_np, width = L.sorted_cdf(k)
    flat = torch.from_numpy(flat_np.copy()).to(dev)  # float64; the cached array is read-only
    hwc = images.permute(0, 2, 3, 1)  # the CPU path draws in (H, W, 3) order
    row = hwc.to(torch.int64) + torch.arange(3, device=dev, dtype=torch.int64) * 256
    n = h * w * c
    u = rng.uniform_t(seeds, 0, n).reshape(b, h, w, c).to(torch.float64)
    electrons = torch.searchsorted(flat, u + 2.0 * row, right=False) - row * width
    read = rng.normal_t(seeds, 1, n).reshape(b, h, w, c).to(torch.float64)
    raw = electrons.to(torch.float64) * L.SHOT + read * math.sqrt(L.READ)
    levels = float(2**L.SENSOR_BITS - 1)
    raw = torch.round(raw.clamp(0.0, 1.0) * levels) / levels
    wb = torch.tensor(L.WB_GAIN, dtype=torch.float64, device=dev)
    x = (raw * wb).clamp(0.0, 1.0)
    out = torch.round(_linear_to_srgb(x) * 255.0).clamp(0, 255).to(torch.uint8)
    return out.permute(0, 3, 1, 2)


def _exlpose_normalize(images: torch.Tensor) -> torch.Tensor:
    """Per image and channel ``img *= 0.4 * 255 / mean``, rounded and clipped (as the CPU)."""
    x = images.to(torch.float64)
    mean = x.mean(dim=(2, 3), keepdim=True)
    gain = torch.where(mean > 0, L.EXLPOSE_TARGET_MEAN / mean.clamp_min(1e-12), 0.0)
    return torch.round(x * gain).clamp(0, 255).to(torch.uint8)


def lowlight_batch(
    images: torch.Tensor, severity: int, seeds: torch.Tensor, *, method: str = "physics"
) -> torch.Tensor:
    """Low light for a batch: images (B, 3, H, W) uint8, seeds (B,) int64 (the keys
    :func:`lowlight.lowlight` draws with: ``lowlight_seed(image_id, severity, seed)``) ->
    (B, 3, H, W) uint8 on the same device."""
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[1] != 3:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images)
        raise InputError(f"expected (B, 3, H, W) RGB images, got {shape}", field="images")
    if images.dtype != torch.uint8:
        raise InputError(f"expected uint8 images, got {images.dtype}", field="images")
    if method not in L.METHODS:
        raise InputError(
            f"unknown low-light method {method!r} (known: {', '.join(L.METHODS)})", field="method"
        )
    s = L._check_severity(severity)
    seeds = torch.as_tensor(seeds, dtype=torch.int64).reshape(-1).to(images.device)
    if seeds.shape[0] != images.shape[0]:
        raise InputError(f"{seeds.shape[0]} seeds for {images.shape[0]} images", field="seeds")
    if images.shape[0] == 0:
        return images.clone()
    with torch.no_grad():
        if method == "darken":
            x = images.to(torch.float64) * L.darken_factor(s)
            return torch.round(x).clamp(0, 255).to(torch.uint8)
        out = _expose(images, L.exposure_factor(s, levels=L.METHOD_LEVELS[method]), seeds)
        return _exlpose_normalize(out) if method == "exlpose" else out
