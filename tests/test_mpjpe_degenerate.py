"""PA-MPJPE on degenerate poses: 1 joint, 2 joints, collinear and coplanar joints.

When the centred poses are collinear the cross-covariance is rank 1 and the best rotation is not
unique (any rotation about the line is optimal); the error is still exactly defined. The
reference here is scipy's ``Rotation.align_vectors`` (Kabsch/Markley in scipy, code nobody here
wrote) for the rotation, with the least-squares scale ``s = sum g0 . R p0 / sum |p0|^2`` for that
rotation, plus exact values known by geometry: any two distinct points map onto any two
distinct points by a similarity (error 0), and a planar pose mirrored within its plane is a
rotation by 180 degrees about an in-plane axis (error 0 with proper rotations only).
"""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt
import pytest
from scipy.spatial.transform import Rotation

from posebench.metrics import mpjpe as M

FloatArray = npt.NDArray[np.float64]


def ref_pa_frame(p: FloatArray, g: FloatArray) -> FloatArray:
    """(K,) per-joint PA errors of one (K, 3) frame, rotation from scipy's align_vectors."""
    p0, g0 = p - p.mean(axis=0), g - g.mean(axis=0)
    if not (p0**2).sum() > 0:
        return np.linalg.norm(g0, axis=1)  # scale 0: pred collapses onto the gt centroid
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "optimal rotation is not uniquely defined"
        rot, _ = Rotation.align_vectors(g0, p0)
    rp = rot.apply(p0)
    s = max(float((g0 * rp).sum() / (p0**2).sum()), 0.0)
    return np.linalg.norm(s * rp - g0, axis=1)


def ref_pa(p: FloatArray, g: FloatArray) -> FloatArray:
    """(N, K) per-joint PA errors, frame by frame."""
    return np.stack([ref_pa_frame(a, b) for a, b in zip(p, g, strict=True)])


def similar(x: FloatArray, rng: np.random.Generator, *, scale: float | None = None) -> FloatArray:
    """A random similarity copy of each (K, 3) frame of x (N, K, 3)."""
    r = Rotation.random(len(x), random_state=int(rng.integers(2**31))).as_matrix()
    s = rng.uniform(0.2, 5.0, len(x)) if scale is None else np.full(len(x), scale)
    t = rng.normal(0, 500, (len(x), 1, 3))
    return s[:, None, None] * np.einsum("nij,nkj->nki", r, x) + t


def collinear(rng: np.random.Generator, n: int, k: int) -> FloatArray:
    """(n, k, 3) frames whose joints lie on one random line each."""
    t = rng.normal(0, 300, (n, k, 1))
    d = rng.normal(size=(n, 1, 3))
    return t * d / np.linalg.norm(d, axis=2, keepdims=True) + rng.normal(0, 300, (n, 1, 3))


def coplanar(rng: np.random.Generator, n: int, k: int) -> FloatArray:
    """(n, k, 3) frames whose joints lie in one random plane each."""
    flat = np.concatenate([rng.normal(0, 300, (n, k, 2)), np.zeros((n, k, 1))], axis=2)
    r = Rotation.random(n, random_state=int(rng.integers(2**31))).as_matrix()
    return np.einsum("nij,nkj->nki", r, flat) + rng.normal(0, 300, (n, 1, 3))


def cases() -> dict[str, tuple[FloatArray, FloatArray, FloatArray | None]]:
    """name -> (pred, gt, exact per-joint errors or None when only the reference knows)."""
    rng = np.random.default_rng(13)
    g2 = np.array([[[0.0, 0.0, 0.0], [100.0, 0.0, 0.0]]])
    p2 = np.array([[[0.0, 0.0, 0.0], [0.0, 100.0, 0.0]]])  # the issue's case: rotated 90 deg
    two_g = rng.normal(0, 300, (50, 2, 3))
    two_p = rng.normal(0, 300, (50, 2, 3))  # any two points: a similarity maps them exactly
    line_g = collinear(rng, 50, 3)
    line_copy = similar(line_g, rng)
    line_p = collinear(rng, 50, 3)  # other spacings along another line: a real error
    plane_g = coplanar(rng, 50, 6)
    mirror = plane_g.copy()
    mirror[..., 0] *= -1  # a reflection of a planar pose is a rotation out of its plane
    plane_mirror = similar(mirror - mirror.mean(1, keepdims=True), rng)
    plane_p = coplanar(rng, 50, 6)
    line_vs_body = collinear(rng, 50, 17)
    body = rng.normal(0, 300, (50, 17, 3))
    return {
        "two_joints_rot90": (p2, g2, np.zeros((1, 2))),
        "two_joints_rot90_scaled": (2.5 * p2 + 7.0, g2, np.zeros((1, 2))),
        "two_joints_random": (two_p, two_g, np.zeros((50, 2))),
        "three_collinear_similarity_copy": (line_copy, line_g, np.zeros((50, 3))),
        "three_collinear_vs_collinear": (line_p, line_g, None),
        "coplanar_similarity_copy": (similar(plane_g, rng), plane_g, np.zeros((50, 6))),
        "coplanar_mirrored": (plane_mirror, plane_g, np.zeros((50, 6))),
        "coplanar_vs_coplanar": (plane_p, plane_g, None),
        "collinear_pred_vs_body": (line_vs_body, body, None),
        "collinear_gt_vs_body": (body, line_vs_body, None),
    }


CASES = cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_pa_mpjpe_degenerate_numpy(name: str) -> None:
    pred, gt, exact = CASES[name]
    got = M.pa_mpjpe(pred, gt, reduce="none")
    ref = ref_pa(pred, gt)
    scale = np.abs(gt).max()
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-9 * scale)
    if exact is not None:
        np.testing.assert_allclose(got, exact, atol=1e-9 * scale)
    # the transform procrustes() reports is the one that gives these errors
    t = M.procrustes(pred, gt)
    np.testing.assert_allclose(np.linalg.det(t.rotation), 1.0, atol=1e-9)
    np.testing.assert_allclose(
        np.linalg.norm(t.apply(pred) - gt, axis=2), got, rtol=1e-9, atol=1e-9 * scale
    )


def test_the_issue_case_is_zero_not_70_7() -> None:
    g = np.array([[[0.0, 0.0, 0.0], [100.0, 0.0, 0.0]]])
    p = np.array([[[0.0, 0.0, 0.0], [0.0, 100.0, 0.0]]])
    assert M.pa_mpjpe(p, g)[0] == pytest.approx(0.0, abs=1e-9)


def test_one_joint_is_exact() -> None:
    rng = np.random.default_rng(1)
    p, g = rng.normal(0, 300, (20, 1, 3)), rng.normal(0, 300, (20, 1, 3))
    assert np.array_equal(M.pa_mpjpe(p, g), np.zeros(20))


def test_masks_leaving_one_two_or_three_collinear_joints() -> None:
    # 17-joint frames whose mask leaves 1, 2 or 3 collinear joints: the fit uses those only.
    rng = np.random.default_rng(2)
    n = 30
    gt = rng.normal(0, 300, (n, 17, 3))
    pred = rng.normal(0, 300, (n, 17, 3))
    line = collinear(rng, n, 3)
    gt[:, 4:7] = line
    pred[:, 4:7] = similar(line, rng)
    for valid, want in (([0], 0.0), ([0, 9], 0.0), ([4, 5, 6], 0.0)):
        mask = np.zeros(17, bool)
        mask[valid] = True
        got = M.pa_mpjpe(pred, gt, mask=mask)
        np.testing.assert_allclose(got, want, atol=1e-9 * 300)
    mask = np.zeros((n, 17), bool)
    mask[:, [1, 4, 5, 6]] = True  # a real error, against the reference on those joints
    got = M.pa_mpjpe(pred, gt, mask=mask, reduce="none")[:, [1, 4, 5, 6]]
    np.testing.assert_allclose(
        got, ref_pa(pred[:, [1, 4, 5, 6]], gt[:, [1, 4, 5, 6]]), rtol=1e-9, atol=1e-7
    )


def test_degenerate_frames_mixed_with_ordinary_ones() -> None:
    # The SVD fallback touches only the frames that need it, within a large block.
    rng = np.random.default_rng(3)
    gt = rng.normal(0, 300, (3000, 17, 3))
    pred = gt + rng.normal(0, 40, gt.shape)
    bad = rng.choice(3000, 40, replace=False)
    gt[bad] = collinear(rng, 40, 17)
    pred[bad] = similar(gt[bad], rng)
    got = M.pa_mpjpe(pred, gt, reduce="none")
    np.testing.assert_allclose(got[bad], 0.0, atol=1e-9 * 3000)
    keep = np.setdiff1d(np.arange(3000), bad)[:200]
    np.testing.assert_allclose(got[keep], ref_pa(pred[keep], gt[keep]), rtol=1e-9)


@pytest.mark.parametrize("name", sorted(CASES))
def test_pa_mpjpe_degenerate_torch(name: str) -> None:
    torch = pytest.importorskip("torch")
    from posebench.metrics import mpjpe_torch as T

    pred, gt, exact = CASES[name]
    got = T.pa_mpjpe(torch.tensor(pred), torch.tensor(gt), reduce="none").numpy()
    scale = np.abs(gt).max()
    np.testing.assert_allclose(got, ref_pa(pred, gt), rtol=1e-9, atol=1e-9 * scale)
    if exact is not None:
        np.testing.assert_allclose(got, exact, atol=1e-9 * scale)
    t = T.procrustes(torch.tensor(pred), torch.tensor(gt))
    aligned = t.apply(torch.tensor(pred)).numpy()
    np.testing.assert_allclose(np.linalg.norm(aligned - gt, axis=2), got, atol=1e-9 * scale)
    # float32 in: the same errors up to float32 rounding of the inputs and output
    got32 = T.pa_mpjpe(torch.tensor(pred).float(), torch.tensor(gt).float(), reduce="none")
    np.testing.assert_allclose(got32.numpy(), got, atol=1e-3 * scale / 300)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_fit_is_the_brute_force_least_squares_optimum(name: str) -> None:
    # A second reference that knows nothing of SVD or quaternions: minimise the sum of squared
    # errors over (rotation vector, log scale, translation) from many starts with scipy.optimize;
    # the fit's SSE must equal the best found (never above it, and not below: it is optimal).
    from scipy.optimize import minimize

    pred, gt, _ = CASES[name]
    t = M.procrustes(pred, gt)
    got = ((t.apply(pred) - gt) ** 2).sum(axis=(1, 2))
    rng = np.random.default_rng(7)
    for i in range(min(2, len(pred))):
        p, g = pred[i], gt[i]
        span = float(np.abs(g - g.mean(0)).max()) or 1.0
        p0, g0 = p - p.mean(0), (g - g.mean(0)) / span  # fit in units of the gt spread

        def sse(x: FloatArray, p0: FloatArray = p0, g0: FloatArray = g0) -> float:
            r = Rotation.from_rotvec(x[:3]).as_matrix()
            return float(((np.exp(x[3]) * p0 @ r.T + x[4:] - g0) ** 2).sum())

        ps = float(np.linalg.norm(p0)) or 1.0
        starts = [
            np.concatenate([Rotation.random(random_state=int(rng.integers(2**31))).as_rotvec(),
                            [np.log(np.linalg.norm(g0) / ps + 1e-12)], np.zeros(3)])
            for _ in range(6)
        ]  # fmt: skip
        best = min(minimize(sse, x0, method="BFGS", options={"gtol": 1e-12}).fun for x0 in starts)
        assert got[i] / span**2 <= best + 1e-7
        assert got[i] / span**2 >= best - 1e-7
