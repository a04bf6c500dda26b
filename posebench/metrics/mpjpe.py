"""3D joint-position errors: MPJPE, N-MPJPE, PA-MPJPE, and Human3.6M protocol averaging.

All functions take ``pred`` and ``gt`` as ``(N, K, 3)`` arrays of N poses with K joints in one
unit (the errors come back in that unit: millimetres in, millimetres out). They never mutate
their inputs, compute in float64, and return NaN where a value is undefined (a frame with no
valid joint, a joint never valid over the frames). A NaN or inf coordinate in an evaluated
joint is bad input, not "undefined": it raises ValueError naming the frame and joint (mask
missing joints out instead; masked-out joints may hold anything, NaN included).

Formulas (per frame; ``p_k``, ``g_k`` are predicted and ground-truth joints, sums over the
frame's valid joints):

* MPJPE: ``mean_k ||p_k - g_k||``, optionally after subtracting each pose's root joint.
* N-MPJPE: after root centring, the scale ``s`` minimising ``sum_k ||s p_k - g_k||^2`` solves
  ``d/ds = 2 sum_k (s p_k - g_k) . p_k = 0``, i.e. ``s = <p, g> / <p, p>``; the error is
  ``mean_k ||s p_k - g_k||``.
* PA-MPJPE: the similarity ``(s, R, t)`` with ``R`` a proper rotation (``det R = +1``)
  minimising ``sum_k ||s R p_k + t - g_k||^2``. Setting the gradient in ``t`` to zero gives
  ``t = mean(g) - s R mean(p)``, so with centred poses ``p0``, ``g0`` the problem becomes
  ``max_R sum_k g0_k . R p0_k = max_R tr(R M)`` with ``M = sum_k p0_k g0_k^T``; then
  ``s = tr(R M) / sum_k ||p0_k||^2``. With ``M = U S V^T`` the maximiser over SO(3) is
  ``R = V D U^T``, ``D = diag(1, 1, det(V U^T))`` (Kabsch, with the reflection excluded), and
  ``tr(R M) = s1 + s2 + det(V U^T) s3``. This is what VideoPose3D's ``p_mpjpe`` computes.

Speed: a batched 3x3 SVD costs about 3 us a frame in numpy (3 s for a million poses), so
PA-MPJPE here finds the same rotation as a unit quaternion (Horn 1987): ``max_R tr(R M)`` is
the largest eigenvalue of a symmetric traceless 4x4 matrix ``N`` built from ``M``, whose
characteristic polynomial is ``x^4 - 2 |M|_F^2 x^2 - 8 det(M) x + 2 |M^T M|_F^2 - |M|_F^4``
(its roots are ``+-s1 +-s2 +-s3`` with an even number of minus signs, ``s3`` carrying the sign
of ``det M``). The largest root comes from Laguerre's method started above it (Theobald 2005,
"QCP", uses Newton's), the eigenvector from the adjugate of ``N - x I``. Everything runs
vectorised over blocks of frames laid out joint-major, so that each numpy call streams
contiguous memory, and blocks run on a few threads. The result agrees with the SVD to about
1e-12 relative.

Degenerate poses (tested): when a centred pose is all zeros the optimal scale is 0 and the
alignment collapses ``pred`` onto the centroid of ``gt`` (VideoPose3D divides by zero and
returns NaN there; a model that outputs one point gets its real error here instead of being
dropped from the mean; one valid joint therefore has error 0). When the best rotation is not
unique (collinear poses, including every frame with exactly two valid joints: ``M`` has rank 1
and ``s2 = s3 = 0``; or ``det M < 0`` with ``s2 = |s3|``) the top eigenvalue of ``N`` is a
multiple root, the adjugate vanishes and gives no eigenvector. Every frame whose quaternion
rotation does not reach ``tr(R M) = lam`` is therefore solved again by SVD (Kabsch), which
returns an optimal rotation there; any optimal rotation gives the same per-joint errors (a
rotation about the line of a collinear pose moves none of its points relative to the other
pose's line). Two joints rotated 90 degrees thus give 0, as any two points map onto any two by
a similarity. Tested against scipy's ``Rotation.align_vectors`` on 1, 2, 3 collinear and
coplanar joints (``tests/test_mpjpe_degenerate.py``); near-degenerate frames agree with an SVD
reference to about 1e-8 relative instead of 1e-12.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

Reduce = Literal["sample", "joint", "none"]
Average = Literal["macro", "micro"]

__all__ = [
    "ActionBreakdown",
    "Similarity",
    "average",
    "mpjpe",
    "n_mpjpe",
    "pa_mpjpe",
    "per_action",
    "procrustes",
]

# PA-MPJPE works on blocks of frames: the per-joint passes over sub-blocks whose joint-major
# copies (3 x sub x K doubles) stay near the CPU's L2 cache size, the per-frame solver over
# whole blocks so that numpy's per-call overhead is amortised over many frames. Sizes measured
# on a 2-core EPYC (1 MiB L2 per core): 1e6 poses in ~0.6 s on 2 threads, ~0.95 s on one.
_PA_BLOCK = 32768
_PA_SUB = 4096
_MAX_WORKERS = 4
_SIMPLE_BLOCK = 16384
_ROOT_MAX_ITER = 64
# A quaternion rotation whose tr(R M) is this far from the top eigenvalue (M scaled so that
# the optimum is in [0, 1]) is not optimal: the frame is solved again by SVD.
_OPTIMUM_TOL = 1e-10

higher_is_better = False


# --------------------------------------------------------------------------------------------
# Input handling and per-block reduction


def _poses(pred: npt.ArrayLike, gt: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    p = np.asarray(pred, dtype=np.float64)
    g = np.asarray(gt, dtype=np.float64)
    if p.ndim != 3 or p.shape[2] != 3:
        raise ValueError(f"pred must be (N, K, 3), got shape {p.shape}")
    if g.shape != p.shape:
        raise ValueError(f"gt must have the shape of pred {p.shape}, got {g.shape}")
    if p.shape[1] == 0:
        raise ValueError("pred and gt have no joints (K = 0)")
    return p, g


def _valid(mask: npt.ArrayLike | None, n: int, k: int) -> BoolArray | None:
    """(N, K) joint mask, or None when every joint counts."""
    if mask is None:
        return None
    m = np.asarray(mask)
    if m.dtype != np.bool_:
        raise ValueError(
            f"mask must be a boolean array (True = evaluate the joint), got dtype {m.dtype}; "
            "for visibility flags pass e.g. `visibility > 0`"
        )
    if m.shape not in ((k,), (n, k)):
        raise ValueError(f"mask must be (K={k},) or (N={n}, K={k}), got shape {m.shape}")
    return np.broadcast_to(m, (n, k))


def _root_index(root: int, k: int) -> int:
    if not -k <= root < k:
        raise ValueError(f"root joint index {root} outside 0..{k - 1}")
    return root % k


def _blocks(n: int, size: int) -> list[slice]:
    return [slice(s, min(s + size, n)) for s in range(0, n, size)]


class _NonFiniteError(ValueError):
    """A NaN or inf coordinate in an evaluated joint, at frame ``frame``."""

    def __init__(self, message: str, frame: int) -> None:
        super().__init__(message)
        self.frame = frame


class _Reducer:
    """Reduces per-block (K, m) joint errors as they are produced, so that the (N, K) errors of
    a large call are never held unless asked for (``reduce="none"``)."""

    def __init__(
        self,
        n: int,
        k: int,
        reduce: Reduce,
        what: str,
        inputs: tuple[FloatArray, FloatArray, BoolArray | None],
    ) -> None:
        if reduce not in ("sample", "joint", "none"):
            raise ValueError(f"reduce must be 'sample', 'joint' or 'none', got {reduce!r}")
        self.reduce = reduce
        self.what = what
        self.inputs = inputs
        self.k = k
        self.out = np.empty((n,) if reduce == "sample" else (n, k) if reduce == "none" else 0)
        self.partial: dict[int, tuple[FloatArray, IntArray | int]] = {}

    def add(self, rows: slice, err: FloatArray, valid: BoolArray | None) -> None:
        """Take the errors ``err`` (K, m) of frames ``rows``; ``valid`` (K, m) or None."""
        if valid is None:
            frame_sum = np.add.reduce(err, axis=0)
        else:
            frame_sum = np.sum(err, axis=0, where=valid)
        # A NaN or inf coordinate in an evaluated joint reaches its frame's sum: report it
        # instead of letting it pass as an "undefined" NaN.
        if not np.isfinite(frame_sum).all():
            self._raise(rows.start + int(np.flatnonzero(~np.isfinite(frame_sum))[0]))
        if self.reduce == "sample":
            if valid is None:
                self.out[rows] = frame_sum / self.k
            else:
                count = np.count_nonzero(valid, axis=0)
                part = np.full(frame_sum.shape, np.nan)
                np.divide(frame_sum, count, out=part, where=count > 0)
                self.out[rows] = part
        elif self.reduce == "joint":
            # Kept per block and summed in block order: the same sum whatever the threads did.
            if valid is None:
                self.partial[rows.start] = (np.add.reduce(err, axis=1), err.shape[1])
            else:
                total = np.sum(err, axis=1, where=valid)
                self.partial[rows.start] = (total, np.count_nonzero(valid, axis=1))
        else:
            self.out[rows] = (err if valid is None else np.where(valid, err, np.nan)).T

    def _raise(self, frame: int) -> None:
        p, g, valid = self.inputs
        for name, a in (("pred", p), ("gt", g)):
            bad = ~np.isfinite(a[frame]).all(axis=1)
            if valid is not None:
                bad &= valid[frame]
            if bad.any():
                j = int(np.flatnonzero(bad)[0])
                raise _NonFiniteError(
                    f"{self.what}: {name}[{frame}, {j}] is {a[frame, j].tolist()}, not finite; "
                    "mask such joints out",
                    frame,
                )
        raise _NonFiniteError(
            f"{self.what}: non-finite result at frame {frame} (values overflow)", frame
        )

    def result(self) -> FloatArray:
        if self.reduce == "joint":
            total, count = np.zeros(self.k), np.zeros(self.k, np.int64)
            for start in sorted(self.partial):
                total += self.partial[start][0]
                count += self.partial[start][1]
            mean = np.full(self.k, np.nan)
            np.divide(total, count, out=mean, where=count > 0)
            return mean
        return self.out


# --------------------------------------------------------------------------------------------
# MPJPE and N-MPJPE


def mpjpe(
    pred: npt.ArrayLike,
    gt: npt.ArrayLike,
    *,
    mask: npt.ArrayLike | None = None,
    root: int | None = None,
    reduce: Reduce = "sample",
) -> FloatArray:
    """Mean per-joint position error (Human3.6M protocol #1 with ``root=0``).

    Args:
        pred, gt: (N, K, 3) joint positions in one unit.
        mask: (K,) or (N, K) bool, True where a joint is evaluated; None evaluates all.
            Masked-out joints may hold NaN.
        root: joint index subtracted from each pose first (root-relative error), or None.
        reduce: ``"sample"``: (N,) mean over each frame's valid joints; ``"joint"``: (K,) mean
            of each joint over the frames where it is valid; ``"none"``: (N, K) errors, NaN
            where masked.

    Returns:
        Errors in the input unit; NaN where nothing is valid (with ``root`` set, a frame whose
        root joint is masked out has no valid joint).

    Raises:
        ValueError: bad shapes, or a NaN/inf coordinate in an evaluated joint.
    """
    p, g = _poses(pred, gt)
    n, k = p.shape[:2]
    valid = _valid(mask, n, k)
    r = None if root is None else _root_index(root, k)
    if r is not None and valid is not None:
        valid = valid & valid[:, r : r + 1]
    out = _Reducer(n, k, reduce, "mpjpe", (p, g, valid))
    for b in _blocks(n, _SIMPLE_BLOCK):
        with np.errstate(invalid="ignore", over="ignore"):
            d = p[b] - g[b]
            if r is not None:
                d -= d[:, r : r + 1]
            err = np.sqrt(np.einsum("nki,nki->kn", d, d))
        out.add(b, err, None if valid is None else valid[b].T)
    return out.result()


def n_mpjpe(
    pred: npt.ArrayLike,
    gt: npt.ArrayLike,
    *,
    mask: npt.ArrayLike | None = None,
    root: int | None = 0,
    reduce: Reduce = "sample",
) -> FloatArray:
    """MPJPE after the per-frame least-squares scale ``s = <p, g> / <p, p>`` (protocol #3).

    Both poses are first made relative to joint ``root`` (``None``: taken as they are, which is
    VideoPose3D's ``n_mpjpe`` on its already root-relative poses). The sums run over each
    frame's valid joints. A frame whose root-relative prediction is all zeros gets ``s = 0``
    (every scale fits it equally), so its error is the mean distance of ``gt`` from its root.

    Args:
        pred, gt: (N, K, 3) joint positions in one unit.
        mask: (K,) or (N, K) bool, True where a joint is evaluated.
        root: root joint index, or None.
        reduce: as in :func:`mpjpe`.

    Returns:
        (N,), (K,) or (N, K) errors in the unit of ``gt``, NaN where undefined.
    """
    p, g = _poses(pred, gt)
    n, k = p.shape[:2]
    valid = _valid(mask, n, k)
    r = None if root is None else _root_index(root, k)
    if r is not None and valid is not None:
        valid = valid & valid[:, r : r + 1]
    out = _Reducer(n, k, reduce, "n_mpjpe", (p, g, valid))
    for b in _blocks(n, _SIMPLE_BLOCK):
        pb, gb = p[b], g[b]
        if r is not None:
            pb = pb - pb[:, r : r + 1]
            gb = gb - gb[:, r : r + 1]
        if valid is not None:
            w = valid[b][:, :, None]
            pb = np.where(w, pb, 0.0)
            gb = np.where(w, gb, 0.0)
        with np.errstate(invalid="ignore", over="ignore"):
            pp = np.einsum("nki,nki->n", pb, pb)
            pg = np.einsum("nki,nki->n", pb, gb)
            s = np.zeros_like(pp)
            np.divide(pg, pp, out=s, where=pp > 0)
            d = s[:, None, None] * pb - gb
            err = np.sqrt(np.einsum("nki,nki->kn", d, d))
        out.add(b, err, None if valid is None else valid[b].T)
    return out.result()


# --------------------------------------------------------------------------------------------
# PA-MPJPE


@dataclass(frozen=True)
class Similarity:
    """Per-frame similarity transforms: ``aligned = scale * pred @ rotation^T + translation``.

    Attributes:
        rotation: (N, 3, 3) proper rotations (det +1).
        scale: (N,) non-negative scales.
        translation: (N, 3) translations, in the unit of ``gt``.
    """

    rotation: FloatArray
    scale: FloatArray
    translation: FloatArray

    def apply(self, points: npt.ArrayLike) -> FloatArray:
        """(N, K, 3) points mapped by each frame's transform."""
        x = np.asarray(points, dtype=np.float64)
        rotated: FloatArray = np.einsum("nij,nkj->nki", self.rotation, x)
        return self.scale[:, None, None] * rotated + self.translation[:, None, :]


_Pair = tuple[int, int]


def _adj_column0(e: dict[_Pair, FloatArray], perm: tuple[int, int, int, int]) -> FloatArray:
    """(4, n) column ``perm[0]`` of adj(A) for symmetric 4x4 matrices ``A``.

    ``e[(i, j)]`` (i <= j) holds the entries of A; ``perm`` is a permutation of 0..3, and the
    result is column 0 of adj(P A P^T) mapped back, i.e. column ``perm[0]`` of adj(A). Six 2x2
    minors over the columns {1, 2, 3} of the permuted matrix (of its rows 2, 3 and rows 0, 1)
    give its four cofactors C_i0 by Laplace expansion along the remaining row.
    """

    def a(i: int, j: int) -> FloatArray:
        r, c = perm[i], perm[j]
        return e[(r, c) if r <= c else (c, r)]

    u12 = a(2, 1) * a(3, 2) - a(2, 2) * a(3, 1)
    u13 = a(2, 1) * a(3, 3) - a(2, 3) * a(3, 1)
    u23 = a(2, 2) * a(3, 3) - a(2, 3) * a(3, 2)
    v12 = a(0, 1) * a(1, 2) - a(0, 2) * a(1, 1)
    v13 = a(0, 1) * a(1, 3) - a(0, 3) * a(1, 1)
    v23 = a(0, 2) * a(1, 3) - a(0, 3) * a(1, 2)
    col = np.empty((4, len(u12)))
    col[perm[0]] = a(1, 1) * u23 - a(1, 2) * u13 + a(1, 3) * u12
    col[perm[1]] = a(0, 2) * u13 - a(0, 1) * u23 - a(0, 3) * u12
    col[perm[2]] = a(3, 1) * v23 - a(3, 2) * v13 + a(3, 3) * v12
    col[perm[3]] = a(2, 2) * v13 - a(2, 1) * v23 - a(2, 3) * v12
    return col


# Swapping quaternion component 0 with j: column j of adj(A) for rotations far from identity.
_SWAPS = ((1, 0, 2, 3), (2, 1, 0, 3), (3, 1, 2, 0))


def _laguerre_step(
    x: FloatArray,
    c0: FloatArray,
    c1: FloatArray,
    c2: FloatArray,
    noise: FloatArray,
    lower: FloatArray,
) -> FloatArray:
    """Safeguarded Laguerre step for ``P(x) = x^4 + c2 x^2 + c1 x + c0`` from above its
    largest root: ``4 P / (P' + sqrt(3 (3 P'^2 - 4 P P'')))``.

    For a polynomial with only real roots Laguerre's method from above the largest root
    decreases monotonically onto it, cubically near a simple root (Newton needs about twice
    the iterations from a loose bound). In exact arithmetic the step is in [0, x - root]; it is
    forced into [0, x - lower], and is 0 where P is at rounding level (near a multiple root the
    derivatives are noise too, and an unguarded step could jump anywhere).
    """
    x2 = x * x
    poly = x2 + c2
    poly *= x
    poly += c1
    poly *= x
    poly += c0
    d1 = 4.0 * x2
    d1 += 2.0 * c2
    d1 *= x
    d1 += c1
    d2 = 12.0 * x2
    d2 += 2.0 * c2
    d2 *= poly
    d2 *= -4.0
    d2 += 3.0 * d1 * d1
    np.maximum(d2, 0.0, out=d2)  # >= 0 for real-rooted P (Laguerre's inequality)
    np.sqrt(3.0 * d2, out=d2)
    d2 += d1
    ok = np.abs(poly) > noise
    ok &= d2 > 0
    step = np.zeros_like(x)
    np.divide(4.0 * poly, d2, out=step, where=ok)
    return np.clip(step, 0.0, x - lower, out=step)


def _largest_root(c0: FloatArray, c1: FloatArray, c2: FloatArray, lower: FloatArray) -> FloatArray:
    """Largest root of ``x^4 + c2 x^2 + c1 x + c0`` (real-rooted, largest root in [lower, 1]).

    Laguerre iterations from an upper bound: once every step is below 1e-8 one more lands at
    rounding level. Frames still moving after a few iterations (close or multiple roots, where
    convergence is only linear) continue on their own.
    """
    x = np.minimum(1.0, np.sqrt(-1.5 * c2))  # s1 + s2 + s3 <= min(1, sqrt(3 |M|_F^2))
    x2 = x * x
    noise = 8e-16 * (x2 * x2 + np.abs(c2) * x2 + np.abs(c1) * x + np.abs(c0))
    args = (c0, c1, c2, noise, lower)
    lam = x
    idx: IntArray | None = None
    for it in range(_ROOT_MAX_ITER):
        step = _laguerre_step(x, *args)
        x -= step
        moving = np.abs(step) > 1e-8
        if not moving.any():
            x -= _laguerre_step(x, *args)
            break
        if it >= 2 and 2 * np.count_nonzero(moving) < len(moving):
            # Polish the converged frames once and drop them from the loop.
            done = ~moving
            xd = x[done]
            xd -= _laguerre_step(xd, *(a[done] for a in args))
            if idx is None:
                lam = x.copy()
                lam[done] = xd
                idx = np.flatnonzero(moving)
            else:
                lam[idx[done]] = xd
                idx = idx[moving]
            x = x[moving]
            args = tuple(a[moving] for a in args)  # type: ignore[assignment]
    if idx is None:
        return x
    lam[idx] = x
    return lam


def _rotation_from_cross_covariance(m: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Best proper rotation for ``max_R tr(R M)`` per frame, by Horn's quaternion method.

    Args:
        m: (3, 3, n) cross-covariances ``M[a, b] = sum_k p0_k[a] g0_k[b]``, scaled so that
            ``|P0| |G0| = 1`` (the optimum then lies in [0, 1]); zero where undefined.

    Returns:
        rotation (3, 3, n) with ``g0 ~ R p0``, and the optimum ``tr(R M)`` (n,).
    """
    sxx, sxy, sxz = m[0]
    syx, syy, syz = m[1]
    szx, szy, szz = m[2]
    # Characteristic polynomial of Horn's matrix (module docstring): |M|_F^2, det M and
    # |M^T M|_F^2 (B = M^T M is symmetric: diagonal plus twice the upper triangle).
    f = np.einsum("abn,abn->n", m, m)
    det = sxx * (syy * szz - syz * szy)
    det -= sxy * (syx * szz - syz * szx)
    det += sxz * (syx * szy - syy * szx)
    b00 = sxx * sxx + syx * syx + szx * szx
    b11 = sxy * sxy + syy * syy + szy * szy
    b22 = sxz * sxz + syz * syz + szz * szz
    b01 = sxx * sxy + syx * syy + szx * szy
    b02 = sxx * sxz + syx * syz + szx * szz
    b12 = sxy * sxz + syy * syz + szy * szz
    tr_b2 = b00 * b00 + b11 * b11 + b22 * b22 + 2.0 * (b01 * b01 + b02 * b02 + b12 * b12)
    # Horn's symmetric matrix N (source p0, target g0). Its diagonal entries are Rayleigh
    # quotients, so their maximum (and 0, as N is traceless) bounds the top eigenvalue below.
    d0 = sxx + syy + szz
    d1 = sxx - syy - szz
    d2 = syy - sxx - szz
    d3 = szz - sxx - syy
    lower = np.maximum(np.maximum(d0, d1), np.maximum(d2, d3))
    np.maximum(lower, 0.0, out=lower)
    lam = _largest_root(2.0 * tr_b2 - f * f, -8.0 * det, -2.0 * f, lower)
    # N - lam I, upper triangle.
    e: dict[_Pair, FloatArray] = {
        (0, 0): d0 - lam,
        (1, 1): d1 - lam,
        (2, 2): d2 - lam,
        (3, 3): d3 - lam,
        (0, 1): syz - szy,
        (0, 2): szx - sxz,
        (0, 3): sxy - syx,
        (1, 2): sxy + syx,
        (1, 3): szx + sxz,
        (2, 3): syz + szy,
    }
    # adj(N - lam I) = c q q^T at the top eigenvalue, so every column is a multiple of the
    # unit eigenvector q: column j is c q_j q, accurate when |q_j| is not small. Here
    # |c| = prod_j (lam - lam_j) = P'(lam), so |q_0| = |column 0| / |P'(lam)|. Column 0 serves
    # rotations within about 150 degrees of the identity (|q_0| >= 1/4); the other frames
    # (at exactly 180 degrees column 0 is rounding noise) take the largest of the four
    # columns, for which |q_j| >= 1/2.
    col = _adj_column0(e, (0, 1, 2, 3))
    norm = np.sqrt(np.einsum("an,an->n", col, col))
    slope = np.abs(((4.0 * lam * lam - 4.0 * f) * lam) - 8.0 * det)
    weak = np.flatnonzero(~(norm >= 0.25 * slope))
    if len(weak):
        sub = {key: v[weak] for key, v in e.items()}
        best, best_norm = col[:, weak], norm[weak]
        for perm in _SWAPS:
            cj = _adj_column0(sub, perm)
            nj = np.sqrt(np.einsum("an,an->n", cj, cj))
            better = nj > best_norm
            best[:, better] = cj[:, better]
            best_norm[better] = nj[better]
        col[:, weak] = best
        norm[weak] = best_norm
    zero = ~(norm > 0)  # M = 0: any rotation is optimal (and the scale will be 0)
    norm[zero] = 1.0
    col[0, zero] = 1.0
    col /= norm
    w, x, y, z = col
    ww, xx, yy, zz = w * w, x * x, y * y, z * z
    wx, wy, wz = w * x, w * y, w * z
    xy, xz, yz = x * y, x * z, y * z
    rot = np.empty_like(m)
    rot[0, 0] = ww + xx - yy - zz
    rot[1, 1] = ww - xx + yy - zz
    rot[2, 2] = ww - xx - yy + zz
    rot[0, 1] = 2.0 * (xy - wz)
    rot[1, 0] = 2.0 * (xy + wz)
    rot[0, 2] = 2.0 * (xz + wy)
    rot[2, 0] = 2.0 * (xz - wy)
    rot[1, 2] = 2.0 * (yz - wx)
    rot[2, 1] = 2.0 * (yz + wx)
    lam = np.maximum(lam, 0.0)
    # Rank-deficient M (collinear poses: s2 = s3 = 0; or det M < 0 with s2 = |s3|) makes the
    # top eigenvalue of N a multiple root: adj(N - lam I) vanishes and its columns are rounding
    # noise (exactly zero for two joints), so the quaternion above is not an optimal rotation.
    # Every frame whose rotation does not reach the optimum it should reach is solved again by
    # SVD (Kabsch), which is exact there: any optimal rotation gives the same fit.
    reached = np.einsum("abn,ban->n", rot, m)
    short = np.flatnonzero(~(np.abs(reached - lam) <= _OPTIMUM_TOL))
    if len(short):
        rot[:, :, short], lam[short] = _kabsch(m[:, :, short])
    return rot, lam


def _kabsch(m: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Best proper rotation of (3, 3, n) cross-covariances by SVD, and ``tr(R M)`` (n,).

    ``M = U S V^T`` gives ``R = V D U^T`` with ``D = diag(1, 1, det(V U^T))`` and
    ``tr(R M) = s1 + s2 + det(V U^T) s3``, an optimum also when M is rank deficient.
    """
    u, s, vt = np.linalg.svd(m.transpose(2, 0, 1))
    v = vt.transpose(0, 2, 1)
    d = np.where(np.linalg.det(v @ u.transpose(0, 2, 1)) < 0, -1.0, 1.0)
    v[:, :, 2] *= d[:, None]
    rot = v @ u.transpose(0, 2, 1)
    return rot.transpose(1, 2, 0), np.maximum(s[:, 0] + s[:, 1] + d * s[:, 2], 0.0)


@dataclass
class _Workspace:
    """Buffers of one PA block, allocated once per call and reused by every block."""

    p: FloatArray  # (3, K, n) centred prediction, joint-major
    g: FloatArray  # (3, K, n) centred ground truth
    err: FloatArray  # (K, n)
    m: FloatArray  # (3, 3, n)
    res: FloatArray  # (3, K, sub) residual of the aligned prediction
    stage: FloatArray  # (sub, K, 3) contiguous copy of an input sub-block

    @classmethod
    def create(cls, n: int, k: int) -> _Workspace:
        return cls(
            p=np.empty((3, k, n)),
            g=np.empty((3, k, n)),
            err=np.empty((k, n)),
            m=np.empty((3, 3, n)),
            res=np.empty((3, k, min(n, _PA_SUB))),
            stage=np.empty((min(n, _PA_SUB), k, 3)),
        )


def _pa_block(
    p: FloatArray, g: FloatArray, valid: BoolArray | None, ws: _Workspace
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Procrustes-aligned joint errors for one block of m frames.

    The per-joint work runs over sub-blocks of ``_PA_SUB`` frames (cache-sized), the per-frame
    solver over the whole block (numpy's per-call overhead amortised over more frames).

    Args:
        p, g: (m, K, 3) poses. valid: (K, m) joint mask or None. ws: buffers for >= m frames.

    Returns:
        errors (K, m) (0 at masked-out joints, a view into ``ws``), rotation (3, 3, m),
        scale (m,), and the pred and gt centroids (3, m).
    """
    m, k = p.shape[:2]
    subs = _blocks(m, _PA_SUB)
    # Joint-major layout: pb[c, j, i] is coordinate c of joint j in frame i, so per-frame
    # coefficients broadcast along contiguous rows and per-frame sums add whole rows.
    pb, gb = ws.p[:, :, :m], ws.g[:, :, :m]
    mp, mg, mm = np.empty((3, m)), np.empty((3, m)), ws.m[:, :, :m]
    norm_p, norm_g = np.empty(m), np.empty(m)
    for b in subs:
        sp, sg, vb = pb[:, :, b], gb[:, :, b], None if valid is None else valid[:, b]
        # Copying contiguously first and transposing from cache reads memory faster.
        stage = ws.stage[: b.stop - b.start]
        np.copyto(stage, p[b])
        np.copyto(sp, stage.transpose(2, 1, 0))
        np.copyto(stage, g[b])
        np.copyto(sg, stage.transpose(2, 1, 0))
        if vb is None:
            np.add.reduce(sp, axis=1, out=mp[:, b])
            np.add.reduce(sg, axis=1, out=mg[:, b])
            mp[:, b] /= k
            mg[:, b] /= k
            sp -= mp[:, None, b]
            sg -= mg[:, None, b]
        else:
            count = np.count_nonzero(vb, axis=0)
            inv = np.zeros(len(count))
            np.divide(1.0, count, out=inv, where=count > 0)
            np.copyto(sp, 0.0, where=~vb)  # masked joints may hold NaN
            np.copyto(sg, 0.0, where=~vb)
            mp[:, b] = np.add.reduce(sp, axis=1) * inv
            mg[:, b] = np.add.reduce(sg, axis=1) * inv
            sp -= mp[:, None, b]
            sg -= mg[:, None, b]
            np.copyto(sp, 0.0, where=~vb)
            np.copyto(sg, 0.0, where=~vb)
        # M[a, b] = sum_j p0_j[a] g0_j[b], and the norms |P0|, |G0|.
        np.einsum("akn,bkn->abn", sp, sg, out=mm[:, :, b])
        np.einsum("ckn,ckn->n", sp, sp, out=norm_p[b])
        np.einsum("ckn,ckn->n", sg, sg, out=norm_g[b])
    np.sqrt(norm_p, out=norm_p)
    np.sqrt(norm_g, out=norm_g)
    denom = norm_p * norm_g
    ok = denom > 0
    np.divide(mm, denom, out=mm, where=ok)
    mm[:, :, ~ok] = 0.0
    rot, lam = _rotation_from_cross_covariance(mm)
    # s = tr(R M) / |P0|^2 = lam |G0| / |P0|; 0 when either pose has no spread.
    scale = np.zeros(m)
    np.divide(lam * norm_g, norm_p, out=scale, where=ok)
    sr = rot * scale
    # Residual s R p0 - g0 and its per-joint length.
    err = ws.err[:, :m]
    for b in subs:
        res = ws.res[:, :, : b.stop - b.start]
        np.einsum("cdn,dkn->ckn", sr[:, :, b], pb[:, :, b], out=res)
        res -= gb[:, :, b]
        np.einsum("ckn,ckn->kn", res, res, out=err[:, b])
    np.sqrt(err, out=err)
    return err, rot, scale, mp, mg


def _worker_count(workers: int | None, blocks: int) -> int:
    if workers is None:
        try:
            cpus = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            cpus = os.cpu_count() or 1
        workers = min(cpus, _MAX_WORKERS)
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    return max(1, min(workers, blocks))


def _pa_run(
    p: FloatArray,
    g: FloatArray,
    valid: BoolArray | None,
    reducer: _Reducer | None,
    transform: Similarity | None,
    workers: int | None,
) -> None:
    """Run the PA blocks, on ``workers`` threads (numpy releases the GIL inside its loops).

    Blocks are independent and each writes its own rows, so the result does not depend on
    the number of threads; the first failing block (in frame order) is the error reported.
    """
    n, k = p.shape[:2]
    blocks = _blocks(n, _PA_BLOCK)

    def work(mine: list[slice]) -> None:
        ws = _Workspace.create(min(n, _PA_BLOCK), k)
        for b in mine:
            vb = None if valid is None else np.ascontiguousarray(valid[b].T)
            # Non-finite inputs are reported by the reducer; no warnings on the way there.
            with np.errstate(invalid="ignore", over="ignore"):
                err, rot, scale, mp, mg = _pa_block(p[b], g[b], vb, ws)
            if reducer is not None:
                reducer.add(b, err, vb)
            if transform is not None:
                r = rot.transpose(2, 0, 1)
                transform.rotation[b] = r
                transform.scale[b] = scale
                transform.translation[b] = mg.T - scale[:, None] * np.einsum("nij,jn->ni", r, mp)

    count = _worker_count(workers, len(blocks))
    if count == 1:
        work(blocks)
        return
    # Each thread takes every count-th block, so each one's blocks are in frame order.
    with ThreadPoolExecutor(count) as pool:
        futures = [pool.submit(work, blocks[i::count]) for i in range(count)]
    failed = [e for e in (f.exception() for f in futures) if e is not None]
    if failed:
        raise min(failed, key=lambda e: e.frame if isinstance(e, _NonFiniteError) else -1)


def pa_mpjpe(
    pred: npt.ArrayLike,
    gt: npt.ArrayLike,
    *,
    mask: npt.ArrayLike | None = None,
    reduce: Reduce = "sample",
    workers: int | None = None,
) -> FloatArray:
    """MPJPE after per-frame similarity Procrustes alignment (Human3.6M protocol #2).

    Each predicted pose is rotated (proper rotations only: a mirrored pose is not aligned
    away), scaled and translated to best fit its ground truth in the least-squares sense, as
    VideoPose3D's ``p_mpjpe``; see the module docstring for the derivation and the degenerate
    cases.

    Args:
        pred, gt: (N, K, 3) joint positions in one unit.
        mask: (K,) or (N, K) bool; the alignment is fitted on, and the error averaged over, the
            valid joints only. Masked-out joints may hold NaN.
        reduce: as in :func:`mpjpe`.
        workers: threads for large inputs (blocks of frames in parallel; the result does not
            depend on it); None: one per CPU, at most 4.

    Returns:
        (N,), (K,) or (N, K) errors in the unit of ``gt``, NaN where undefined.
    """
    p, g = _poses(pred, gt)
    n, k = p.shape[:2]
    valid = _valid(mask, n, k)
    out = _Reducer(n, k, reduce, "pa_mpjpe", (p, g, valid))
    _pa_run(p, g, valid, out, None, workers)
    return out.result()


def procrustes(
    pred: npt.ArrayLike,
    gt: npt.ArrayLike,
    *,
    mask: npt.ArrayLike | None = None,
    workers: int | None = None,
) -> Similarity:
    """The per-frame similarity transforms that :func:`pa_mpjpe` applies.

    Args:
        pred, gt: (N, K, 3) joint positions.
        mask: (K,) or (N, K) bool joints to fit on.
        workers: threads, as in :func:`pa_mpjpe`.

    Returns:
        :class:`Similarity`; ``apply(pred)`` is the aligned (N, K, 3) prediction. A frame with
        no valid joint gets the identity rotation, scale 0 and translation 0.
    """
    p, g = _poses(pred, gt)
    n, k = p.shape[:2]
    t = Similarity(rotation=np.empty((n, 3, 3)), scale=np.empty(n), translation=np.empty((n, 3)))
    _pa_run(p, g, _valid(mask, n, k), None, t, workers)
    return t


# --------------------------------------------------------------------------------------------
# Per-action breakdowns and protocol averaging


@dataclass(frozen=True)
class ActionBreakdown:
    """Mean of a per-frame value for each action.

    Attributes:
        actions: (A,) action names, sorted.
        mean: (A,) float64 mean over the action's frames with a defined (non-NaN) value; NaN
            for an action none of whose frames has one.
        count: (A,) int64 frames that entered each mean.
    """

    actions: tuple[str, ...]
    mean: FloatArray
    count: IntArray

    def as_dict(self) -> dict[str, float]:
        return {a: float(v) for a, v in zip(self.actions, self.mean, strict=True)}


def per_action(values: npt.ArrayLike, actions: npt.ArrayLike) -> ActionBreakdown:
    """Per-action means of a per-frame value (e.g. ``pa_mpjpe(...)``, shape (N,)).

    Args:
        values: (N,) per-frame values; NaN marks an undefined frame and is left out.
        actions: (N,) action label of each frame (e.g. ``"Directions"``).

    Returns:
        :class:`ActionBreakdown`, each action's frames weighted equally (as VideoPose3D's
        per-action numbers).
    """
    v = np.asarray(values, dtype=np.float64)
    a = np.asarray(actions)
    if v.ndim != 1 or a.shape != v.shape:
        raise ValueError(f"values and actions must both be (N,), got {v.shape} and {a.shape}")
    names, inverse = np.unique(a.astype(str), return_inverse=True)
    defined = ~np.isnan(v)
    count = np.bincount(inverse[defined], minlength=len(names)).astype(np.int64)
    total = np.bincount(inverse[defined], weights=v[defined], minlength=len(names))
    mean = np.full(len(names), np.nan)
    np.divide(total, count, out=mean, where=count > 0)
    return ActionBreakdown(actions=tuple(str(x) for x in names), mean=mean, count=count)


def average(
    values: npt.ArrayLike,
    actions: npt.ArrayLike | None = None,
    *,
    protocol: Average = "macro",
) -> float:
    """One headline number from per-frame values.

    Args:
        values: (N,) per-frame values; NaN (undefined) frames are left out.
        actions: (N,) action labels; required for ``"macro"``.
        protocol: ``"macro"``: mean over actions of the per-action means, the Human3.6M
            protocol #1/#2 tables ("action-wise average" in VideoPose3D); ``"micro"``: mean
            over all frames.

    Returns:
        The average, NaN when no frame is defined.
    """
    if protocol == "micro":
        v = np.asarray(values, dtype=np.float64)
        if v.ndim != 1:
            raise ValueError(f"values must be (N,), got {v.shape}")
        defined = v[~np.isnan(v)]
        return float(defined.mean()) if len(defined) else float("nan")
    if protocol != "macro":
        raise ValueError(f"protocol must be 'macro' or 'micro', got {protocol!r}")
    if actions is None:
        raise ValueError("protocol='macro' averages per action: pass actions")
    means = per_action(values, actions).mean
    means = means[~np.isnan(means)]
    return float(means.mean()) if len(means) else float("nan")
