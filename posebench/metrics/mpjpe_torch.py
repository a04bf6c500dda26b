"""MPJPE, N-MPJPE and PA-MPJPE on torch tensors, on any device (CPU or CUDA).

The same functions, arguments and results as :mod:`posebench.metrics.mpjpe`, for callers
whose poses already live in torch (a model's output on the GPU). Formulas, the quaternion
method for the Procrustes rotation and the degenerate cases are described there; this module
follows the same algorithm step by step, batched over frames with torch operations.

Every result is computed in float64 on the input's device and returned in the input's floating
dtype (float32 in, float32 out). Float64 inputs agree with the numpy module to about 1e-12
relative; float32 inputs differ from it only by the final rounding to float32.

torch is imported here and only here: ``import posebench.metrics.mpjpe`` never needs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

Reduce = Literal["sample", "joint", "none"]

__all__ = ["Similarity", "mpjpe", "n_mpjpe", "pa_mpjpe", "procrustes"]

# Frames per block: bounds the float64 temporaries (about 30 x block x K x 3 doubles).
_BLOCK = 1 << 16
_NEWTON_MAX_ITER = 64
# tr(R M) this far from the top eigenvalue (optimum in [0, 1]): not optimal, solve by SVD.
_OPTIMUM_TOL = 1e-10

higher_is_better = False


# --------------------------------------------------------------------------------------------
# Input handling and reduction


def _poses(pred: Tensor, gt: Tensor) -> tuple[Tensor, Tensor, torch.dtype]:
    if not isinstance(pred, Tensor) or not isinstance(gt, Tensor):
        raise TypeError(
            "pred and gt must be torch tensors (use posebench.metrics.mpjpe for numpy arrays)"
        )
    if pred.ndim != 3 or pred.shape[2] != 3:
        raise ValueError(f"pred must be (N, K, 3), got shape {tuple(pred.shape)}")
    if gt.shape != pred.shape:
        raise ValueError(
            f"gt must have the shape of pred {tuple(pred.shape)}, got {tuple(gt.shape)}"
        )
    if pred.shape[1] == 0:
        raise ValueError("pred and gt have no joints (K = 0)")
    if gt.device != pred.device:
        raise ValueError(f"pred is on {pred.device} but gt is on {gt.device}")
    out_dtype = pred.dtype if pred.dtype.is_floating_point else torch.float64
    return pred, gt, out_dtype


def _valid(mask: Tensor | None, n: int, k: int, device: torch.device) -> Tensor | None:
    """(N, K) joint mask on ``device``, or None when every joint counts."""
    if mask is None:
        return None
    m = torch.as_tensor(mask, device=device)
    if m.dtype != torch.bool:
        raise ValueError(
            f"mask must be a boolean tensor (True = evaluate the joint), got dtype {m.dtype}; "
            "for visibility flags pass e.g. `visibility > 0`"
        )
    if tuple(m.shape) not in ((k,), (n, k)):
        raise ValueError(f"mask must be (K={k},) or (N={n}, K={k}), got shape {tuple(m.shape)}")
    return m.expand(n, k)


def _root_index(root: int, k: int) -> int:
    if not -k <= root < k:
        raise ValueError(f"root joint index {root} outside 0..{k - 1}")
    return root % k


def _reduce(
    err: Tensor,
    valid: Tensor | None,
    reduce: Reduce,
    what: str,
    dtype: torch.dtype,
    inputs: tuple[Tensor, Tensor],
) -> Tensor:
    """(N, K) float64 errors -> (N,), (K,) or (N, K) in ``dtype``, NaN where nothing is valid.

    Raises ValueError when an evaluated joint's error is not finite (a NaN or inf coordinate).
    """
    if reduce not in ("sample", "joint", "none"):
        raise ValueError(f"reduce must be 'sample', 'joint' or 'none', got {reduce!r}")
    w = None if valid is None else valid.to(err.dtype)
    masked = err if valid is None else torch.where(valid, err, torch.zeros_like(err))
    frame_sum = masked.sum(dim=1)
    if not bool(torch.isfinite(frame_sum).all()):
        frame = int(torch.nonzero(~torch.isfinite(frame_sum))[0, 0])
        for name, a in (("pred", inputs[0]), ("gt", inputs[1])):
            bad = ~torch.isfinite(a[frame]).all(dim=1)
            if valid is not None:
                bad &= valid[frame]
            if bool(bad.any()):
                j = int(torch.nonzero(bad)[0, 0])
                raise ValueError(
                    f"{what}: {name}[{frame}, {j}] is {a[frame, j].tolist()}, not finite; "
                    "mask such joints out"
                )
        raise ValueError(f"{what}: non-finite result at frame {frame} (values overflow)")
    nan = torch.tensor(float("nan"), dtype=err.dtype, device=err.device)
    if reduce == "none":
        out = err if valid is None else torch.where(valid, err, nan)
    elif reduce == "sample":
        if w is None:
            out = frame_sum / err.shape[1]
        else:
            count = w.sum(dim=1)
            out = torch.where(count > 0, frame_sum / count.clamp(min=1), nan)
    elif w is None:
        out = masked.mean(dim=0) if err.shape[0] else torch.full_like(err[0], float("nan"))
    else:
        count = w.sum(dim=0)
        out = torch.where(count > 0, masked.sum(dim=0) / count.clamp(min=1), nan)
    return out.to(dtype)


def _blocks(n: int, size: int) -> list[slice]:
    return [slice(s, min(s + size, n)) for s in range(0, n, size)]


# --------------------------------------------------------------------------------------------
# MPJPE and N-MPJPE


def mpjpe(
    pred: Tensor,
    gt: Tensor,
    *,
    mask: Tensor | None = None,
    root: int | None = None,
    reduce: Reduce = "sample",
) -> Tensor:
    """Mean per-joint position error; see :func:`posebench.metrics.mpjpe.mpjpe`.

    Args:
        pred, gt: (N, K, 3) tensors on one device, in one unit.
        mask: (K,) or (N, K) bool tensor, True where a joint is evaluated.
        root: joint index subtracted from each pose first, or None.
        reduce: ``"sample"`` (N,), ``"joint"`` (K,) or ``"none"`` (N, K).

    Returns:
        Errors in the input unit and floating dtype, on the input device; NaN where undefined.
    """
    p, g, dtype = _poses(pred, gt)
    n, k = p.shape[:2]
    valid = _valid(mask, n, k, p.device)
    r = None if root is None else _root_index(root, k)
    if r is not None and valid is not None:
        valid = valid & valid[:, r : r + 1]
    parts = []
    for b in _blocks(n, _BLOCK):
        d = p[b].to(torch.float64) - g[b].to(torch.float64)
        if r is not None:
            d = d - d[:, r : r + 1]
        parts.append(torch.linalg.vector_norm(d, dim=2))
    err = torch.cat(parts) if parts else p.new_zeros((0, k), dtype=torch.float64)
    return _reduce(err, valid, reduce, "mpjpe", dtype, (p, g))


def n_mpjpe(
    pred: Tensor,
    gt: Tensor,
    *,
    mask: Tensor | None = None,
    root: int | None = 0,
    reduce: Reduce = "sample",
) -> Tensor:
    """MPJPE after the per-frame least-squares scale ``<p, g> / <p, p>``; see
    :func:`posebench.metrics.mpjpe.n_mpjpe`.

    Args:
        pred, gt: (N, K, 3) tensors. mask: (K,) or (N, K) bool. root: root joint or None.
        reduce: as in :func:`mpjpe`.

    Returns:
        Errors in the unit of ``gt``, NaN where undefined.
    """
    p, g, dtype = _poses(pred, gt)
    n, k = p.shape[:2]
    valid = _valid(mask, n, k, p.device)
    r = None if root is None else _root_index(root, k)
    if r is not None and valid is not None:
        valid = valid & valid[:, r : r + 1]
    parts = []
    for b in _blocks(n, _BLOCK):
        pb = p[b].to(torch.float64)
        gb = g[b].to(torch.float64)
        if r is not None:
            pb = pb - pb[:, r : r + 1]
            gb = gb - gb[:, r : r + 1]
        if valid is not None:
            w = valid[b].unsqueeze(2)
            pb = torch.where(w, pb, torch.zeros_like(pb))
            gb = torch.where(w, gb, torch.zeros_like(gb))
        pp = (pb * pb).sum(dim=(1, 2))
        pg = (pb * gb).sum(dim=(1, 2))
        s = torch.where(pp > 0, pg / torch.where(pp > 0, pp, torch.ones_like(pp)), 0.0)
        parts.append(torch.linalg.vector_norm(s[:, None, None] * pb - gb, dim=2))
    err = torch.cat(parts) if parts else p.new_zeros((0, k), dtype=torch.float64)
    return _reduce(err, valid, reduce, "n_mpjpe", dtype, (p, g))


# --------------------------------------------------------------------------------------------
# PA-MPJPE


@dataclass(frozen=True)
class Similarity:
    """Per-frame similarity transforms: ``aligned = scale * pred @ rotation^T + translation``.

    Attributes:
        rotation: (N, 3, 3) proper rotations. scale: (N,). translation: (N, 3). All float64.
    """

    rotation: Tensor
    scale: Tensor
    translation: Tensor

    def apply(self, points: Tensor) -> Tensor:
        """(N, K, 3) points mapped by each frame's transform (float64)."""
        x = points.to(torch.float64)
        rotated = torch.einsum("nij,nkj->nki", self.rotation, x)
        return self.scale[:, None, None] * rotated + self.translation[:, None, :]


_Pair = tuple[int, int]
_PERMS = ((0, 1, 2, 3), (1, 0, 2, 3), (2, 1, 0, 3), (3, 1, 2, 0))


def _adj_column(e: dict[_Pair, Tensor], perm: tuple[int, int, int, int]) -> Tensor:
    """(n, 4) column ``perm[0]`` of adj(A) for symmetric 4x4 ``A`` given by its upper triangle
    ``e``; the same expansion as ``_adj_column0`` in the numpy module."""

    def a(i: int, j: int) -> Tensor:
        r, c = perm[i], perm[j]
        return e[(r, c) if r <= c else (c, r)]

    u12 = a(2, 1) * a(3, 2) - a(2, 2) * a(3, 1)
    u13 = a(2, 1) * a(3, 3) - a(2, 3) * a(3, 1)
    u23 = a(2, 2) * a(3, 3) - a(2, 3) * a(3, 2)
    v12 = a(0, 1) * a(1, 2) - a(0, 2) * a(1, 1)
    v13 = a(0, 1) * a(1, 3) - a(0, 3) * a(1, 1)
    v23 = a(0, 2) * a(1, 3) - a(0, 3) * a(1, 2)
    cols = [
        a(1, 1) * u23 - a(1, 2) * u13 + a(1, 3) * u12,
        a(0, 2) * u13 - a(0, 1) * u23 - a(0, 3) * u12,
        a(3, 1) * v23 - a(3, 2) * v13 + a(3, 3) * v12,
        a(2, 2) * v13 - a(2, 1) * v23 - a(2, 3) * v12,
    ]
    ordered = [cols[perm.index(i)] for i in range(4)]
    return torch.stack(ordered, dim=1)


def _newton_largest_root(c0: Tensor, c1: Tensor, c2: Tensor, lower: Tensor) -> Tensor:
    """Largest root of ``x^4 + c2 x^2 + c1 x + c0``, by Newton's method from an upper bound
    (monotone and quadratic near a simple root; see the numpy module). Steps are kept within
    ``[0, x - lower]`` and are 0 where the polynomial is at rounding level: near a multiple root
    (collinear poses) the slope is noise too and an unguarded step could land anywhere."""
    x = torch.clamp(torch.sqrt(-1.5 * c2), max=1.0)
    x2 = x * x
    noise = 8e-16 * (x2 * x2 + c2.abs() * x2 + c1.abs() * x + c0.abs())

    def step_at(x: Tensor) -> Tensor:
        x2 = x * x
        poly = ((x2 + c2) * x + c1) * x + c0
        slope = (4.0 * x2 + 2.0 * c2) * x + c1
        ok = (poly.abs() > noise) & (slope > 0)
        step = torch.where(ok, poly / torch.where(ok, slope, 1.0), 0.0)
        return torch.minimum(torch.clamp(step, min=0.0), x - lower)

    for _ in range(_NEWTON_MAX_ITER):
        step = step_at(x)
        x = x - step
        if not bool((step.abs() > 1e-9).any()):
            break
    return x - step_at(x)


def _rotation_from_cross_covariance(m: Tensor) -> tuple[Tensor, Tensor]:
    """(n, 3, 3) float64 ``M[a, b] = sum_k p0_k[a] g0_k[b]`` scaled to ``|P0| |G0| = 1`` ->
    rotation (n, 3, 3) with ``g0 ~ R p0`` and the optimum ``tr(R M)`` (n,)."""
    # Component-major copy: every per-frame scalar below is a contiguous (n,) row.
    sxx, sxy, sxz, syx, syy, syz, szx, szy, szz = m.reshape(-1, 9).T.contiguous()
    f = (m * m).sum(dim=(1, 2))
    det = (
        sxx * (syy * szz - syz * szy)
        - sxy * (syx * szz - syz * szx)
        + sxz * (syx * szy - syy * szx)
    )
    b = m.transpose(1, 2) @ m
    # The diagonal of Horn's matrix (and 0: it is traceless) bounds its top eigenvalue below.
    lower = torch.clamp(
        torch.stack([sxx + syy + szz, sxx - syy - szz, syy - sxx - szz, szz - sxx - syy]).amax(
            dim=0
        ),
        min=0.0,
    )
    lam = _newton_largest_root(2.0 * (b * b).sum(dim=(1, 2)) - f * f, -8.0 * det, -2.0 * f, lower)
    e: dict[_Pair, Tensor] = {
        (0, 0): sxx + syy + szz - lam,
        (1, 1): sxx - syy - szz - lam,
        (2, 2): syy - sxx - szz - lam,
        (3, 3): szz - sxx - syy - lam,
        (0, 1): syz - szy,
        (0, 2): szx - sxz,
        (0, 3): sxy - syx,
        (1, 2): sxy + syx,
        (1, 3): szx + sxz,
        (2, 3): syz + szy,
    }
    # Every column of adj(N - lam I) is c q_j q; the largest (|q_j| >= 1/2) is the most
    # accurate. All four are cheap here, so no branch on the rotation angle.
    cols = torch.stack([_adj_column(e, perm) for perm in _PERMS], dim=0)  # (4, n, 4)
    norms = torch.linalg.vector_norm(cols, dim=2)  # (4, n)
    best = norms.argmax(dim=0)
    col = cols[best, torch.arange(m.shape[0], device=m.device)]
    norm = norms.gather(0, best[None]).squeeze(0)
    identity = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=m.dtype, device=m.device)
    q = torch.where((norm > 0)[:, None], col / torch.where(norm > 0, norm, 1.0)[:, None], identity)
    w, x, y, z = q.T.contiguous()
    rot = torch.stack(
        [
            w * w + x * x - y * y - z * z,
            2.0 * (x * y - w * z),
            2.0 * (x * z + w * y),
            2.0 * (x * y + w * z),
            w * w - x * x + y * y - z * z,
            2.0 * (y * z - w * x),
            2.0 * (x * z - w * y),
            2.0 * (y * z + w * x),
            w * w - x * x - y * y + z * z,
        ],
        dim=1,
    ).reshape(-1, 3, 3)
    lam = torch.clamp(lam, min=0.0)
    # Rank-deficient M (collinear poses) makes the top eigenvalue a multiple root and the
    # adjugate columns rounding noise: frames whose rotation falls short of the optimum are
    # solved again by SVD, as in the numpy module.
    reached = torch.einsum("nab,nba->n", rot, m)
    short = torch.nonzero((reached - lam).abs() > _OPTIMUM_TOL).flatten()
    if short.numel():
        rot = rot.clone()
        lam = lam.clone()
        rot[short], lam[short] = _kabsch(m[short])
    return rot, lam


def _kabsch(m: Tensor) -> tuple[Tensor, Tensor]:
    """Best proper rotation of (n, 3, 3) cross-covariances by SVD, and ``tr(R M)`` (n,)."""
    u, s, vh = torch.linalg.svd(m)
    v = vh.transpose(1, 2)
    d = torch.where(torch.linalg.det(v @ u.transpose(1, 2)) < 0, -1.0, 1.0).to(m.dtype)
    v = torch.cat([v[:, :, :2], v[:, :, 2:] * d[:, None, None]], dim=2)
    rot = v @ u.transpose(1, 2)
    return rot, torch.clamp(s[:, 0] + s[:, 1] + d * s[:, 2], min=0.0)


def _pa_block(
    p: Tensor, g: Tensor, valid: Tensor | None
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """PA errors (m, K) for one block (float64), rotation (m, 3, 3), scale (m,), centroids."""
    p = p.to(torch.float64)
    g = g.to(torch.float64)
    if valid is None:
        mp = p.mean(dim=1)
        mg = g.mean(dim=1)
        p0 = p - mp[:, None]
        g0 = g - mg[:, None]
    else:
        w = valid.unsqueeze(2)
        zero = torch.zeros((), dtype=p.dtype, device=p.device)
        p = torch.where(w, p, zero)  # masked joints may hold NaN
        g = torch.where(w, g, zero)
        count = valid.sum(dim=1, keepdim=True).to(p.dtype).clamp(min=1)
        mp = p.sum(dim=1) / count
        mg = g.sum(dim=1) / count
        p0 = torch.where(w, p - mp[:, None], zero)
        g0 = torch.where(w, g - mg[:, None], zero)
    m = p0.transpose(1, 2) @ g0  # (m, 3, 3)
    norm_p = torch.linalg.vector_norm(p0, dim=(1, 2))
    norm_g = torch.linalg.vector_norm(g0, dim=(1, 2))
    denom = norm_p * norm_g
    ok = denom > 0
    safe = torch.where(ok, denom, 1.0)
    m = torch.where(ok[:, None, None], m / safe[:, None, None], 0.0)
    rot, lam = _rotation_from_cross_covariance(m)
    scale = torch.where(ok, lam * norm_g / torch.where(ok, norm_p, 1.0), 0.0)
    aligned = scale[:, None, None] * (p0 @ rot.transpose(1, 2))
    err = torch.linalg.vector_norm(aligned - g0, dim=2)
    return err, rot, scale, mp, mg


def pa_mpjpe(
    pred: Tensor,
    gt: Tensor,
    *,
    mask: Tensor | None = None,
    reduce: Reduce = "sample",
) -> Tensor:
    """MPJPE after per-frame similarity Procrustes alignment (proper rotations only); see
    :func:`posebench.metrics.mpjpe.pa_mpjpe`.

    Args:
        pred, gt: (N, K, 3) tensors on one device. mask: (K,) or (N, K) bool; the alignment is
            fitted on, and the error averaged over, the valid joints. reduce: as in
            :func:`mpjpe`.

    Returns:
        Errors in the unit of ``gt`` and the input's floating dtype, NaN where undefined.
    """
    p, g, dtype = _poses(pred, gt)
    n, k = p.shape[:2]
    valid = _valid(mask, n, k, p.device)
    parts = [
        _pa_block(p[b], g[b], None if valid is None else valid[b])[0] for b in _blocks(n, _BLOCK)
    ]
    err = torch.cat(parts) if parts else p.new_zeros((0, k), dtype=torch.float64)
    return _reduce(err, valid, reduce, "pa_mpjpe", dtype, (p, g))


def procrustes(pred: Tensor, gt: Tensor, *, mask: Tensor | None = None) -> Similarity:
    """The per-frame similarity transforms that :func:`pa_mpjpe` applies (float64)."""
    p, g, _ = _poses(pred, gt)
    n, k = p.shape[:2]
    valid = _valid(mask, n, k, p.device)
    rots, scales, trans = [], [], []
    for b in _blocks(n, _BLOCK):
        _, rot, scale, mp, mg = _pa_block(p[b], g[b], None if valid is None else valid[b])
        rots.append(rot)
        scales.append(scale)
        trans.append(mg - scale[:, None] * (mp[:, None, :] @ rot.transpose(1, 2))[:, 0])
    if not rots:
        empty = torch.zeros((0,), dtype=torch.float64, device=p.device)
        return Similarity(empty.reshape(0, 3, 3), empty, empty.reshape(0, 3))
    return Similarity(torch.cat(rots), torch.cat(scales), torch.cat(trans))
