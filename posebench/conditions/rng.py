"""Counter-based random numbers, identical in numpy and torch, and per-condition seeds.

Every random number a condition draws is a pure function of ``(key, stream, counter)``: a 32-bit
integer hash (Chris Wellons' ``lowbias32`` finaliser, applied twice) of the element's counter
mixed with a per-image, per-stream key. Nothing depends on a global generator state, the batch
composition or the order of calls, so a corrupted image is a function of (image, condition,
severity, seed) alone, and the numpy (CPU) and torch (any device) paths draw the SAME numbers:

- ``uniform``: ``((h >> 8) + 0.5) * 2**-24`` — 24-bit uniforms in (0, 1), exact in float32.
- ``normal``: Box-Muller on consecutive pairs of uniforms (element ``2i`` takes the cosine branch,
  ``2i + 1`` the sine branch of pair ``i``), computed in float32. numpy and torch may differ in the
  last bit of ``log``/``cos``/``sin``; after scaling to grey levels that is far below one level.

torch has no full 32-bit unsigned arithmetic, so the torch hash works in int64 and multiplies
mod 2**32 through 16-bit halves (no product exceeds 2**48); it is bit-identical to the numpy
uint32 version (tested).

``condition_seed(image_key, name, severity, seed)`` derives the seed that ``corrupt`` receives
from the image's identity and the condition: a BLAKE2b hash, stable across processes, platforms
and Python versions (unlike ``hash()``).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

_M32 = 0xFFFFFFFF
_C1 = 0x7FEB352D
_C2 = 0x846CA68B
_GOLDEN = 0x9E3779B9


def condition_seed(image_key: int, name: str, severity: int, seed: int) -> int:
    """Seed for one (image, condition, severity, run seed); a non-negative int below 2**63."""
    msg = f"posebench.conditions|{int(image_key)}|{name}|{int(severity)}|{int(seed)}".encode()
    return int.from_bytes(hashlib.blake2b(msg, digest_size=8).digest(), "little") & (2**63 - 1)


def _mix32_int(x: int) -> int:
    x &= _M32
    x ^= x >> 16
    x = (x * _C1) & _M32
    x ^= x >> 15
    x = (x * _C2) & _M32
    x ^= x >> 16
    return x


def stream_key(seed: int, stream: int) -> tuple[int, int]:
    """Two 32-bit keys for one (seed, stream); ``seed`` is any int (taken mod 2**64)."""
    s = int(seed) & 0xFFFFFFFFFFFFFFFF
    k0 = _mix32_int((s & _M32) ^ _mix32_int(stream * 0x632BE5AB + 0x5BD1E995))
    k1 = _mix32_int((s >> 32) ^ _mix32_int(k0 + 0x68E31DA4 + stream))
    return k0, k1


# ---------------------------------------------------------------- numpy


def _mix32_np(x: np.ndarray) -> np.ndarray:
    """lowbias32 on a uint32 array (in place, returned)."""
    x ^= x >> np.uint32(16)
    x *= np.uint32(_C1)
    x ^= x >> np.uint32(15)
    x *= np.uint32(_C2)
    x ^= x >> np.uint32(16)
    return x


def bits_np(seed: int, stream: int, n: int, offset: int = 0) -> np.ndarray:
    """Random 32-bit words for counters ``offset .. offset + n - 1``: (n,) uint32."""
    k0, k1 = stream_key(seed, stream)
    x = np.arange(offset, offset + n, dtype=np.uint32)
    x *= np.uint32(_GOLDEN)
    x += np.uint32(k0)
    x = _mix32_np(x)
    x ^= np.uint32(k1)
    return _mix32_np(x)


def uniform_np(seed: int, stream: int, n: int, offset: int = 0) -> np.ndarray:
    """Uniforms in (0, 1): (n,) float32."""
    b = bits_np(seed, stream, n, offset) >> np.uint32(8)
    u = b.astype(np.float32)
    u += np.float32(0.5)
    u *= np.float32(2.0**-24)
    return u


def normal_np(seed: int, stream: int, n: int) -> np.ndarray:
    """Standard normals by Box-Muller: (n,) float32."""
    m = (n + 1) // 2
    u = uniform_np(seed, stream, 2 * m).reshape(m, 2)
    r = np.sqrt(np.float32(-2.0) * np.log(u[:, 0]))
    t = np.float32(2.0 * np.pi) * u[:, 1]
    out = np.empty((m, 2), np.float32)
    np.multiply(r, np.cos(t), out=out[:, 0])
    np.multiply(r, np.sin(t), out=out[:, 1])
    return out.reshape(-1)[:n]


def scalar_uniform(seed: int, stream: int, index: int = 0) -> float:
    """One uniform in (0, 1) as a Python float (same value the tensor functions give)."""
    return float(uniform_np(seed, stream, 1, index)[0])


# ---------------------------------------------------------------- torch


def _mul32_t(a: torch.Tensor, c: int) -> torch.Tensor:
    """(a * c) mod 2**32 for int64 tensors holding values in [0, 2**32), without overflow."""
    lo = a * (c & 0xFFFF)
    hi = ((a * (c >> 16)) & 0xFFFF) << 16
    return (lo + hi) & _M32


def _mul32_tt(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    lo = a * (b & 0xFFFF)
    hi = ((a * (b >> 16)) & 0xFFFF) << 16
    return (lo + hi) & _M32


def _mix32_t(x: torch.Tensor) -> torch.Tensor:
    x = x ^ (x >> 16)
    x = _mul32_t(x, _C1)
    x = x ^ (x >> 15)
    x = _mul32_t(x, _C2)
    return x ^ (x >> 16)


def _keys_t(seeds: torch.Tensor, stream: int) -> tuple[torch.Tensor, torch.Tensor]:
    import torch

    keys = [stream_key(int(s), stream) for s in seeds.tolist()]
    k = torch.tensor(keys, dtype=torch.int64, device=seeds.device).reshape(-1, 2)
    return k[:, 0:1], k[:, 1:2]


def bits_t(seeds: torch.Tensor, stream: int, n: int, offset: int = 0) -> torch.Tensor:
    """Per-image random 32-bit words as int64: seeds (B,) -> (B, n); equals ``bits_np`` per row."""
    import torch

    k0, k1 = _keys_t(seeds, stream)
    x = torch.arange(offset, offset + n, dtype=torch.int64, device=seeds.device)
    x = (_mul32_t(x.unsqueeze(0), _GOLDEN) + k0) & _M32
    x = _mix32_t(x)
    x = x ^ k1
    return _mix32_t(x)


def uniform_t(seeds: torch.Tensor, stream: int, n: int, offset: int = 0) -> torch.Tensor:
    """Uniforms in (0, 1): (B, n) float32; equals ``uniform_np`` per row."""
    import torch

    b = (bits_t(seeds, stream, n, offset) >> 8).to(torch.float32)
    return (b + 0.5) * (2.0**-24)


def normal_t(seeds: torch.Tensor, stream: int, n: int) -> torch.Tensor:
    """Standard normals by Box-Muller: (B, n) float32; matches ``normal_np`` per row."""
    import torch

    m = (n + 1) // 2
    u = uniform_t(seeds, stream, 2 * m).reshape(-1, m, 2)
    r = torch.sqrt(-2.0 * torch.log(u[..., 0]))
    t = (2.0 * np.pi) * u[..., 1]
    out = torch.stack((r * torch.cos(t), r * torch.sin(t)), dim=-1)
    return out.reshape(out.shape[0], -1)[:, :n]
