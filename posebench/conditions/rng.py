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
from functools import lru_cache
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


# Elements per block: the hash, the uniforms and Box-Muller run block by block so that every
# temporary stays in the L2 cache (whole-image temporaries make these memory-bound).
CHUNK = 1 << 16


@lru_cache(maxsize=4)
def _golden_ramp(n: int) -> np.ndarray:
    """``arange(n) * GOLDEN`` mod 2**32: (n,) uint32, read-only."""
    r = np.arange(n, dtype=np.uint32)
    r *= np.uint32(_GOLDEN)
    r.setflags(write=False)
    return r


def _mix32_np(x: np.ndarray, tmp: np.ndarray | None = None) -> np.ndarray:
    """lowbias32 on a uint32 array (in place, returned); ``tmp``: optional scratch like x."""
    if tmp is None:
        tmp = np.empty_like(x)
    np.right_shift(x, np.uint32(16), out=tmp)
    x ^= tmp
    x *= np.uint32(_C1)
    np.right_shift(x, np.uint32(15), out=tmp)
    x ^= tmp
    x *= np.uint32(_C2)
    np.right_shift(x, np.uint32(16), out=tmp)
    x ^= tmp
    return x


def _bits_block(k0: int, k1: int, start: int, out: np.ndarray, tmp: np.ndarray) -> None:
    """Hash counters ``start .. start + len(out) - 1`` into ``out`` (uint32, <= CHUNK long)."""
    n = out.shape[0]
    # (counter * GOLDEN + k0) mod 2**32 = ramp * GOLDEN + (start * GOLDEN + k0)
    np.add(_golden_ramp(CHUNK)[:n], np.uint32((start * _GOLDEN + k0) & _M32), out=out)
    _mix32_np(out, tmp[:n])
    out ^= np.uint32(k1)
    _mix32_np(out, tmp[:n])


def bits_np(seed: int, stream: int, n: int, offset: int = 0) -> np.ndarray:
    """Random 32-bit words for counters ``offset .. offset + n - 1``: (n,) uint32."""
    k0, k1 = stream_key(seed, stream)
    out = np.empty(n, np.uint32)
    tmp = np.empty(min(n, CHUNK), np.uint32)
    for s in range(0, n, CHUNK):
        _bits_block(k0, k1, offset + s, out[s : s + CHUNK], tmp)
    return out


def _uniform_block(
    k0: int, k1: int, start: int, out: np.ndarray, bits: np.ndarray, tmp: np.ndarray
) -> None:
    """Uniforms for counters ``start ..`` into float32 ``out`` (<= CHUNK long)."""
    n = out.shape[0]
    b = bits[:n]
    _bits_block(k0, k1, start, b, tmp)
    b >>= np.uint32(8)
    np.add(b, np.float32(0.5), out=out, dtype=np.float32)
    out *= np.float32(2.0**-24)


def uniform_np(seed: int, stream: int, n: int, offset: int = 0) -> np.ndarray:
    """Uniforms in (0, 1): (n,) float32."""
    k0, k1 = stream_key(seed, stream)
    out = np.empty(n, np.float32)
    m = min(n, CHUNK)
    bits, tmp = np.empty(m, np.uint32), np.empty(m, np.uint32)
    for s in range(0, n, CHUNK):
        _uniform_block(k0, k1, offset + s, out[s : s + CHUNK], bits, tmp)
    return out


def normal_np(seed: int, stream: int, n: int, offset: int = 0) -> np.ndarray:
    """Standard normals by Box-Muller: (n,) float32; element i is the same for any ``offset``.

    ``offset`` (even) starts at element ``offset`` of the stream: ``normal_np(s, t, n, o)``
    equals ``normal_np(s, t, o + n)[o:]``, so a long stream can be drawn block by block.
    """
    if offset % 2:
        raise ValueError(f"normal_np: offset must be even, got {offset}")
    k0, k1 = stream_key(seed, stream)
    m = (n + 1) // 2
    out = np.empty((m, 2), np.float32)
    blk = CHUNK // 2
    u = np.empty((min(m, blk), 2), np.float32)
    bits, tmp = np.empty(2 * u.shape[0], np.uint32), np.empty(2 * u.shape[0], np.uint32)
    r = np.empty(u.shape[0], np.float32)
    t = np.empty(u.shape[0], np.float32)
    c = np.empty(u.shape[0], np.float32)
    for s in range(0, m, blk):
        e = min(m, s + blk)
        k = e - s
        ub, rb, tb, cb = u[:k], r[:k], t[:k], c[:k]
        _uniform_block(k0, k1, offset + 2 * s, ub.reshape(-1), bits, tmp)
        # contiguous operands: numpy's SIMD log/cos/sin are 2-3x slower on strided views
        np.copyto(rb, ub[:, 0])
        np.log(rb, out=rb)
        rb *= np.float32(-2.0)
        np.sqrt(rb, out=rb)
        np.multiply(np.float32(2.0 * np.pi), ub[:, 1], out=tb)
        ob = out[s:e]
        np.cos(tb, out=cb)
        np.multiply(rb, cb, out=ob[:, 0])
        np.sin(tb, out=cb)
        np.multiply(rb, cb, out=ob[:, 1])
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
