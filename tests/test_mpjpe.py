"""MPJPE / N-MPJPE / PA-MPJPE: hand-built cases, a per-frame SVD reference, properties, torch.

The reference below is written here, independently of the library, the way VideoPose3D's
``p_mpjpe`` computes the alignment (normalised cross-covariance, SVD, reflection fix), but one
frame at a time with plain numpy: the library's vectorised quaternion solver must agree with it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from posebench.metrics import mpjpe as M

DATA = Path(__file__).parent / "data" / "h36m"
FloatArray = npt.NDArray[np.float64]

# --------------------------------------------------------------------------------------------
# Independent references (one frame at a time)


def ref_pa_frame(p: FloatArray, g: FloatArray, *, allow_reflection: bool = False) -> float:
    """VideoPose3D-style PA-MPJPE of one (K, 3) frame: pred p aligned onto gt g."""
    mu_g, mu_p = g.mean(axis=0), p.mean(axis=0)
    g0, p0 = g - mu_g, p - mu_p
    ng, np_ = np.linalg.norm(g0), np.linalg.norm(p0)
    h = (g0 / ng).T @ (p0 / np_)
    u, s, vt = np.linalg.svd(h)
    v = vt.T
    r = v @ u.T
    if not allow_reflection and np.linalg.det(r) < 0:
        v[:, -1] *= -1
        s[-1] *= -1
        r = v @ u.T
    a = s.sum() * ng / np_
    aligned = a * (p - mu_p) @ r + mu_g
    return float(np.linalg.norm(aligned - g, axis=1).mean())


def ref_pa(p: FloatArray, g: FloatArray, **kw: bool) -> FloatArray:
    return np.array([ref_pa_frame(a, b, **kw) for a, b in zip(p, g, strict=True)])


def ref_n_mpjpe(p: FloatArray, g: FloatArray, root: int = 0) -> FloatArray:
    out = []
    for a, b in zip(p, g, strict=True):
        a, b = a - a[root], b - b[root]
        s = float((a * b).sum() / (a * a).sum())
        out.append(np.linalg.norm(s * a - b, axis=1).mean())
    return np.array(out)


def rotations(rng: np.random.Generator, n: int) -> FloatArray:
    """(n, 3, 3) uniformly random proper rotations (via unit quaternions)."""
    q = rng.standard_normal((n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    w, x, y, z = q.T
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        axis=1,
    )


def rotate(r: FloatArray, x: FloatArray) -> FloatArray:
    """Apply (N, 3, 3) or (3, 3) rotations to (N, K, 3) points."""
    if r.ndim == 2:
        return x @ r.T
    return np.einsum("nij,nkj->nki", r, x)


@pytest.fixture(scope="module")
def h36m_mm() -> FloatArray:
    """The four real Human3.6M ground-truth poses (17 joints), in millimetres."""
    with np.load(DATA / "test_h36m_body3d.npz", allow_pickle=False) as f:
        return np.ascontiguousarray(f["S"][:, :, :3] * 1000.0)


def realistic(rng: np.random.Generator, base: FloatArray, n: int) -> tuple[FloatArray, FloatArray]:
    """n (gt, pred) pairs built from real poses: random viewpoint, 30 mm joint noise, and a
    prediction that is off by a small rotation, a scale and a translation."""
    gt = rotate(rotations(rng, n), base[rng.integers(0, len(base), n)])
    gt = gt + rng.normal(0, 30, gt.shape) + np.array([0.0, 0.0, 5000.0])
    small = rotations(rng, n) * 0.05 + np.eye(3) * 0.95
    u, _, vt = np.linalg.svd(small)
    pred = rotate(u @ vt, gt) * rng.uniform(0.8, 1.2, (n, 1, 1)) + rng.normal(0, 40, (n, 1, 3))
    return gt, pred + rng.normal(0, 25, gt.shape)


# --------------------------------------------------------------------------------------------
# MPJPE


def test_mpjpe_of_a_shifted_pose(h36m_mm: FloatArray) -> None:
    gt = h36m_mm
    pred = gt + np.array([3.0, 4.0, 0.0])  # every joint 5 mm off
    assert np.allclose(M.mpjpe(pred, gt), 5.0, rtol=0, atol=1e-12)
    assert np.allclose(M.mpjpe(pred, gt, reduce="joint"), 5.0, rtol=0, atol=1e-12)
    assert np.allclose(M.mpjpe(pred, gt, root=0), 0.0, atol=1e-9)  # a shift is root-aligned away
    # One joint moved by 17 mm along z: the frame's mean moves by 1 mm.
    pred2 = gt.copy()
    pred2[:, 5, 2] += 17.0
    assert np.allclose(M.mpjpe(pred2, gt), 1.0, atol=1e-12)
    per_joint = M.mpjpe(pred2, gt, reduce="joint")
    assert per_joint[5] == pytest.approx(17.0)
    assert np.allclose(np.delete(per_joint, 5), 0.0)


def test_mpjpe_root_relative_matches_hand_computation(h36m_mm: FloatArray) -> None:
    rng = np.random.default_rng(0)
    gt = h36m_mm
    pred = gt + rng.normal(0, 20, gt.shape)
    d = (pred - pred[:, :1]) - (gt - gt[:, :1])
    expected = np.sqrt((d**2).sum(-1)).mean(1)
    assert np.allclose(M.mpjpe(pred, gt, root=0), expected, rtol=1e-14)


def test_mask_and_nan_in_masked_joints(h36m_mm: FloatArray) -> None:
    rng = np.random.default_rng(1)
    gt = h36m_mm
    pred = gt + rng.normal(0, 20, gt.shape)
    mask = np.ones(17, bool)
    mask[[3, 9]] = False
    holey = pred.copy()
    holey[:, [3, 9]] = np.nan  # masked-out joints may be missing
    for fn in (M.mpjpe, M.n_mpjpe, M.pa_mpjpe):
        sub = fn(pred[:, mask], gt[:, mask])
        assert np.allclose(fn(holey, gt, mask=mask), sub, rtol=1e-12), fn.__name__
        none = fn(holey, gt, mask=mask, reduce="none")
        assert np.isnan(none[:, [3, 9]]).all()
        assert np.allclose(none[:, mask], fn(pred[:, mask], gt[:, mask], reduce="none"))
        joint = fn(holey, gt, mask=mask, reduce="joint")
        assert np.isnan(joint[[3, 9]]).all()


def test_per_frame_masks_and_undefined_frames(h36m_mm: FloatArray) -> None:
    rng = np.random.default_rng(2)
    gt = np.concatenate([h36m_mm] * 3)
    pred = gt + rng.normal(0, 20, gt.shape)
    mask = rng.random(gt.shape[:2]) > 0.3
    mask[4] = False  # a frame with nothing to evaluate
    mask[5, 0] = False  # root hidden: undefined for root-relative metrics
    for name, fn, kw in [
        ("mpjpe", M.mpjpe, {}),
        ("pa", M.pa_mpjpe, {}),
        ("mpjpe-root", M.mpjpe, {"root": 0}),
    ]:
        got = fn(pred, gt, mask=mask, **kw)
        assert np.isnan(got[4]), name
        for i in range(len(gt)):
            m = mask[i]
            if i == 4 or ("root" in kw and not m[0]):
                assert np.isnan(got[i]), (name, i)
                continue
            p, g = pred[i : i + 1, m], gt[i : i + 1, m]
            if "root" in kw:
                p, g = p - pred[i, 0], g - gt[i, 0]
                exp = float(np.linalg.norm(p - g, axis=-1).mean())
            elif fn is M.pa_mpjpe:
                exp = ref_pa_frame(p[0], g[0])
            else:
                exp = float(np.linalg.norm(p - g, axis=-1).mean())
            assert got[i] == pytest.approx(exp, rel=1e-9), (name, i)


def test_reduce_options_are_consistent(h36m_mm: FloatArray) -> None:
    rng = np.random.default_rng(3)
    gt, pred = realistic(rng, h36m_mm, 50)
    for fn in (M.mpjpe, M.n_mpjpe, M.pa_mpjpe):
        full = fn(pred, gt, reduce="none")
        assert full.shape == (50, 17)
        assert np.allclose(fn(pred, gt), full.mean(1), rtol=1e-12)
        assert np.allclose(fn(pred, gt, reduce="joint"), full.mean(0), rtol=1e-12)


def test_non_finite_input_is_an_error_not_a_nan(h36m_mm: FloatArray) -> None:
    pred = h36m_mm.copy()
    pred[2, 7, 1] = np.nan
    for fn in (M.mpjpe, M.n_mpjpe, M.pa_mpjpe):
        with pytest.raises(ValueError, match=r"pred\[2, 7\]"):
            fn(pred, h36m_mm)
    pred[2, 7, 1] = np.inf
    with pytest.raises(ValueError, match=r"pred\[2, 7\] is .*inf.*not finite"):
        M.pa_mpjpe(pred, h36m_mm, reduce="joint")


def test_bad_arguments() -> None:
    x = np.zeros((2, 17, 3))
    with pytest.raises(ValueError, match=r"\(N, K, 3\)"):
        M.mpjpe(np.zeros((2, 17, 2)), np.zeros((2, 17, 2)))
    with pytest.raises(ValueError, match="shape of pred"):
        M.pa_mpjpe(x, np.zeros((3, 17, 3)))
    with pytest.raises(ValueError, match="boolean"):
        M.mpjpe(x, x, mask=np.ones(17))
    with pytest.raises(ValueError, match="mask must be"):
        M.pa_mpjpe(x, x, mask=np.ones(16, bool))
    with pytest.raises(ValueError, match="root joint"):
        M.mpjpe(x, x, root=17)
    with pytest.raises(ValueError, match="reduce"):
        M.mpjpe(x, x, reduce="mean")  # type: ignore[arg-type]


def test_inputs_are_not_mutated(h36m_mm: FloatArray) -> None:
    rng = np.random.default_rng(4)
    gt, pred = realistic(rng, h36m_mm, 20)
    mask = rng.random((20, 17)) > 0.2
    before = (gt.copy(), pred.copy(), mask.copy())
    M.mpjpe(pred, gt, mask=mask, root=0)
    M.n_mpjpe(pred, gt, mask=mask)
    M.pa_mpjpe(pred, gt, mask=mask, reduce="none")
    M.procrustes(pred, gt, mask=mask)
    assert all(np.array_equal(a, b) for a, b in zip(before, (gt, pred, mask), strict=True))


def test_empty_and_single_frame() -> None:
    empty = np.zeros((0, 17, 3))
    assert M.pa_mpjpe(empty, empty).shape == (0,)
    assert np.isnan(M.pa_mpjpe(empty, empty, reduce="joint")).all()
    assert M.mpjpe(empty, empty, reduce="none").shape == (0, 17)
    one = np.random.default_rng(5).normal(size=(1, 17, 3))
    assert M.pa_mpjpe(one * 2.0, one)[0] == pytest.approx(0.0, abs=1e-12)


# --------------------------------------------------------------------------------------------
# N-MPJPE


def test_n_mpjpe_matches_reference_and_is_scale_invariant(h36m_mm: FloatArray) -> None:
    rng = np.random.default_rng(6)
    gt, pred = realistic(rng, h36m_mm, 200)
    got = M.n_mpjpe(pred, gt)
    assert np.allclose(got, ref_n_mpjpe(pred, gt), rtol=1e-12)
    assert np.allclose(M.n_mpjpe(pred * 7.5, gt), got, rtol=1e-12)  # pred scale is fitted away
    assert np.allclose(M.n_mpjpe(pred, gt * 0.001), got * 0.001, rtol=1e-12)  # unit follows gt
    # The fitted scale really is optimal: any other scale gives a larger squared error.
    p0, g0 = pred - pred[:, :1], gt - gt[:, :1]
    s = (p0 * g0).sum((1, 2)) / (p0 * p0).sum((1, 2))

    def sse(scale: FloatArray) -> FloatArray:
        return ((scale[:, None, None] * p0 - g0) ** 2).sum((1, 2))

    for f in (0.99, 1.01):
        assert np.all(sse(f * s) >= sse(s))


def test_n_mpjpe_of_a_zero_prediction_is_the_gt_spread(h36m_mm: FloatArray) -> None:
    pred = np.zeros_like(h36m_mm)  # every joint at the root: any scale fits, s = 0
    g0 = h36m_mm - h36m_mm[:, :1]
    assert np.allclose(M.n_mpjpe(pred, h36m_mm), np.linalg.norm(g0, axis=2).mean(1))


# --------------------------------------------------------------------------------------------
# PA-MPJPE: the hand-built cases


def test_similarity_copy_aligns_to_zero(h36m_mm: FloatArray) -> None:
    rng = np.random.default_rng(7)
    r = rotations(rng, 4)
    pred = 0.37 * rotate(r, h36m_mm) + np.array([120.0, -40.0, 900.0])
    got = M.pa_mpjpe(pred, h36m_mm)
    assert np.all(got < 1e-9 * np.abs(h36m_mm).max())
    t = M.procrustes(pred, h36m_mm)
    assert np.allclose(t.scale, 1 / 0.37, rtol=1e-12)
    assert np.allclose(t.rotation, np.transpose(r, (0, 2, 1)), atol=1e-12)
    assert np.allclose(t.apply(pred), h36m_mm, atol=1e-9)


def test_mirrored_copy_is_not_aligned_away(h36m_mm: FloatArray) -> None:
    # Reflections are excluded: a left-right mirrored pose keeps a real error, while an
    # alignment that allowed reflections would remove it completely.
    rng = np.random.default_rng(8)
    mirrored = h36m_mm * np.array([-1.0, 1.0, 1.0])
    pred = 1.3 * rotate(rotations(rng, 4), mirrored) + 50.0
    got = M.pa_mpjpe(pred, h36m_mm)
    spread = np.linalg.norm(h36m_mm - h36m_mm.mean(1, keepdims=True), axis=2).mean(1)
    assert np.all(got > 0.05 * spread)  # tens of millimetres, far from zero
    assert np.allclose(ref_pa(pred, h36m_mm, allow_reflection=True), 0.0, atol=1e-9)
    assert np.allclose(got, ref_pa(pred, h36m_mm), rtol=1e-9)
    assert np.allclose(np.linalg.det(M.procrustes(pred, h36m_mm).rotation), 1.0, atol=1e-12)


def test_pa_is_scale_invariant_in_pred_and_equivariant_in_gt(h36m_mm: FloatArray) -> None:
    rng = np.random.default_rng(9)
    gt, pred = realistic(rng, h36m_mm, 300)
    base = M.pa_mpjpe(pred, gt)
    assert np.allclose(M.pa_mpjpe(pred * 1e-3, gt), base, rtol=1e-10)
    assert np.allclose(M.pa_mpjpe(pred * 1e4, gt), base, rtol=1e-10)
    assert np.allclose(M.pa_mpjpe(pred, gt * 1e-3), base * 1e-3, rtol=1e-10)


def test_degenerate_zero_spread_prediction(h36m_mm: FloatArray) -> None:
    # All predicted joints at one point: the optimal scale is 0 and the alignment puts every
    # joint on the gt centroid (VideoPose3D divides by zero here and returns NaN).
    pred = np.broadcast_to(np.array([10.0, 20.0, 30.0]), h36m_mm.shape)
    spread = np.linalg.norm(h36m_mm - h36m_mm.mean(1, keepdims=True), axis=2).mean(1)
    assert np.allclose(M.pa_mpjpe(pred, h36m_mm), spread, rtol=1e-12)
    # gt without spread: anything scaled to 0 fits it exactly.
    assert np.allclose(M.pa_mpjpe(h36m_mm, pred), 0.0)


# --------------------------------------------------------------------------------------------
# PA-MPJPE against the per-frame SVD reference


def test_pa_matches_reference_on_random_data() -> None:
    rng = np.random.default_rng(10)
    pred = rng.standard_normal((3000, 17, 3))
    gt = rng.standard_normal((3000, 17, 3))
    assert np.allclose(M.pa_mpjpe(pred, gt), ref_pa(pred, gt), rtol=1e-9, atol=0)


def test_pa_matches_reference_on_realistic_data(h36m_mm: FloatArray) -> None:
    rng = np.random.default_rng(11)
    gt, pred = realistic(rng, h36m_mm, 3000)
    assert np.allclose(M.pa_mpjpe(pred, gt), ref_pa(pred, gt), rtol=1e-9, atol=0)


@pytest.mark.parametrize(
    ("angle", "noise"),
    [(np.pi, 0.0), (np.pi, 10.0), (np.pi - 1e-3, 10.0), (2.8, 10.0), (1.6, 10.0)],
)
def test_pa_matches_reference_for_large_rotations(
    h36m_mm: FloatArray, angle: float, noise: float
) -> None:
    # Rotations far from the identity take the solver's other adjugate columns (for exactly
    # 180 degrees the first column is zero).
    rng = np.random.default_rng(12)
    axes = rng.standard_normal((400, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    k = np.zeros((400, 3, 3))
    k[:, 0, 1], k[:, 0, 2], k[:, 1, 2] = -axes[:, 2], axes[:, 1], -axes[:, 0]
    k -= np.transpose(k, (0, 2, 1))
    r = np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k
    gt = h36m_mm[rng.integers(0, 4, 400)]
    pred = rotate(r, gt) + rng.normal(0, 1, gt.shape) * noise
    assert np.allclose(M.pa_mpjpe(pred, gt), ref_pa(pred, gt), rtol=1e-9, atol=1e-9)


def test_pa_blocks_and_threads_give_the_same_result(
    h36m_mm: FloatArray, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(13)
    gt, pred = realistic(rng, h36m_mm, 1000)
    mask = rng.random((1000, 17)) > 0.1
    whole = M.pa_mpjpe(pred, gt, mask=mask, reduce="none")
    # Many blocks and sub-blocks, partial last ones, on several threads.
    monkeypatch.setattr(M, "_PA_BLOCK", 97)
    monkeypatch.setattr(M, "_PA_SUB", 31)
    for workers in (1, 3):
        blocked = M.pa_mpjpe(pred, gt, mask=mask, reduce="none", workers=workers)
        assert np.allclose(blocked, whole, rtol=1e-13, equal_nan=True)
    joint = [M.pa_mpjpe(pred, gt, reduce="joint", workers=w) for w in (1, 2, 5)]
    assert np.array_equal(joint[0], joint[1])  # per-block sums added in frame order
    assert np.array_equal(joint[0], joint[2])
    assert np.allclose(joint[0], ref_pa_joint(pred, gt), rtol=1e-9)
    t1, t3 = M.procrustes(pred, gt, workers=1), M.procrustes(pred, gt, workers=3)
    assert np.array_equal(t1.rotation, t3.rotation)
    # With bad frames in several blocks, the first one is reported whatever the threads.
    bad = pred.copy()
    bad[[500, 130, 900], 2, 0] = np.nan
    for workers in (1, 4):
        with pytest.raises(ValueError, match=r"pred\[130, 2\]"):
            M.pa_mpjpe(bad, gt, workers=workers)
    with pytest.raises(ValueError, match="workers"):
        M.pa_mpjpe(pred, gt, workers=0)


def ref_pa_joint(pred: FloatArray, gt: FloatArray) -> FloatArray:
    """Per-joint PA error averaged over frames, from the reference's aligned poses."""
    out = []
    for p, g in zip(pred, gt, strict=True):
        mu_g, mu_p = g.mean(0), p.mean(0)
        u, s, vt = np.linalg.svd((g - mu_g).T @ (p - mu_p))
        d = np.sign(np.linalg.det(vt.T @ u.T))
        r = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
        a = (s[0] + s[1] + d * s[2]) / ((p - mu_p) ** 2).sum()
        out.append(np.linalg.norm(a * (p - mu_p) @ r + mu_g - g, axis=1))
    return np.mean(out, axis=0)


def test_pa_degenerate_rotation_is_documented_tolerance() -> None:
    # Collinear joints: the rotation about the line is arbitrary; the error is still defined
    # and the module docstring promises agreement to about 1e-8 relative.
    rng = np.random.default_rng(14)
    t = rng.standard_normal((200, 17, 1))
    direction = rng.standard_normal((200, 1, 3))
    pred = t * direction + rng.normal(0, 1e-3, (200, 1, 3))
    gt = rng.standard_normal((200, 17, 3))
    assert np.allclose(M.pa_mpjpe(pred, gt), ref_pa(pred, gt), rtol=1e-7)


# --------------------------------------------------------------------------------------------
# Properties (hypothesis)

poses = st.integers(min_value=0, max_value=2**32 - 1).map(
    lambda seed: np.random.default_rng(seed).normal(0, 300, (6, 17, 3))
)


@settings(max_examples=60, deadline=None)
@given(
    gt=poses,
    noise_seed=st.integers(0, 2**32 - 1),
    scale=st.floats(1e-3, 1e3),
    shift=st.tuples(*[st.floats(-1e4, 1e4)] * 3),
)
# An exact similarity copy, shrunk far from the origin: rounding only (found by hypothesis).
@example(gt=np.random.default_rng(0).normal(0, 300, (6, 17, 3)), noise_seed=0, scale=0.001,
         shift=(0.0, 0.0, 4097.0))  # fmt: skip
def test_pa_is_invariant_to_similarity_transforms_of_pred(
    gt: FloatArray, noise_seed: int, scale: float, shift: tuple[float, float, float]
) -> None:
    rng = np.random.default_rng(noise_seed)
    pred = gt + rng.normal(0, 50, gt.shape)
    moved = scale * rotate(rotations(rng, len(gt)), pred) + np.array(shift)
    # Exact up to rounding, which grows with the offset relative to the moved pose's spread.
    atol = 1e-12 * 300.0 * (1.0 + max(map(abs, shift)) / (scale * 300.0))
    assert np.allclose(M.pa_mpjpe(moved, gt), M.pa_mpjpe(pred, gt), rtol=1e-9, atol=atol)


@settings(max_examples=60, deadline=None)
@given(gt=poses, noise_seed=st.integers(0, 2**32 - 1), k=st.integers(3, 17))
def test_pa_transform_is_least_squares_optimal(gt: FloatArray, noise_seed: int, k: int) -> None:
    # Perturbing the fitted similarity in any direction never lowers the squared error.
    rng = np.random.default_rng(noise_seed)
    gt = gt[:, :k]
    pred = rng.uniform(0.5, 2) * gt + rng.normal(0, rng.uniform(1, 400), gt.shape)
    t = M.procrustes(pred, gt)

    def sse(rot: FloatArray, s: FloatArray, tr: FloatArray) -> FloatArray:
        aligned = s[:, None, None] * rotate(rot, pred) + tr[:, None, :]
        return ((aligned - gt) ** 2).sum((1, 2))

    best = sse(t.rotation, t.scale, t.translation)
    small = rotations(rng, len(gt)) * 1e-3 + np.eye(3)
    u, _, vt = np.linalg.svd(small)
    tol = 1e-9 * (gt**2).sum((1, 2))
    assert np.all(sse(u @ vt @ t.rotation, t.scale, t.translation) >= best - tol)
    assert np.all(sse(t.rotation, t.scale * 1.001, t.translation) >= best - tol)
    assert np.all(sse(t.rotation, t.scale, t.translation + 0.1) >= best - tol)
    assert np.allclose(np.linalg.det(t.rotation), 1.0)
    errors = M.pa_mpjpe(pred, gt, reduce="none")
    assert np.allclose(errors, np.linalg.norm(t.apply(pred) - gt, axis=2), rtol=1e-9, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(gt=poses, seed=st.integers(0, 2**32 - 1))
def test_frame_and_joint_permutations(gt: FloatArray, seed: int) -> None:
    rng = np.random.default_rng(seed)
    pred = gt + rng.normal(0, 40, gt.shape)
    base = M.pa_mpjpe(pred, gt)
    fp, jp = rng.permutation(len(gt)), rng.permutation(17)
    assert np.allclose(M.pa_mpjpe(pred[fp], gt[fp]), base[fp], rtol=1e-12)
    assert np.allclose(M.pa_mpjpe(pred[:, jp], gt[:, jp]), base, rtol=1e-9)


# --------------------------------------------------------------------------------------------
# Per-action breakdowns and protocol averaging


def test_macro_and_micro_averaging_by_hand() -> None:
    values = np.array([1.0, 2.0, 3.0, 10.0, np.nan])
    actions = np.array(["Walking", "Walking", "Walking", "Eating", "Eating"])
    b = M.per_action(values, actions)
    assert b.actions == ("Eating", "Walking")
    assert b.as_dict() == {"Eating": 10.0, "Walking": 2.0}
    assert b.count.tolist() == [1, 3]  # the NaN frame is undefined and left out
    assert M.average(values, actions, protocol="macro") == pytest.approx((2.0 + 10.0) / 2)
    assert M.average(values, protocol="micro") == pytest.approx(16.0 / 4)
    assert np.isnan(M.average(np.array([np.nan]), protocol="micro"))
    with pytest.raises(ValueError, match="pass actions"):
        M.average(values)
    with pytest.raises(ValueError, match="protocol"):
        M.average(values, actions, protocol="weighted")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"\(N,\)"):
        M.per_action(values, actions[:3])


def test_per_action_on_metric_output(h36m_mm: FloatArray) -> None:
    rng = np.random.default_rng(15)
    gt, pred = realistic(rng, h36m_mm, 90)
    actions = np.array(["Directions", "Greeting", "Sitting"])[rng.integers(0, 3, 90)]
    err = M.pa_mpjpe(pred, gt)
    by = M.per_action(err, actions).as_dict()
    for a in ("Directions", "Greeting", "Sitting"):
        assert by[a] == pytest.approx(err[actions == a].mean())
    assert M.average(err, actions) == pytest.approx(np.mean(list(by.values())))


# --------------------------------------------------------------------------------------------
# The torch path


def test_numpy_module_does_not_import_torch() -> None:
    code = "import sys, posebench.metrics.mpjpe; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent.parent)


TORCH_REASON = "the torch path (posebench.metrics.mpjpe_torch) needs torch; numpy is tested anyway"


@pytest.fixture(scope="module")
def torch_mod():  # type: ignore[no-untyped-def]
    return pytest.importorskip("torch", reason=TORCH_REASON)


def test_torch_float64_agrees_with_numpy(torch_mod, h36m_mm: FloatArray) -> None:  # type: ignore[no-untyped-def]
    from posebench.metrics import mpjpe_torch as MT

    torch = torch_mod
    rng = np.random.default_rng(16)
    gt, pred = realistic(rng, h36m_mm, 2000)
    pred[:100] = rng.standard_normal((100, 17, 3))  # plus random frames, exact half turns
    pred[100:110] = rotate(np.diag([1.0, -1.0, -1.0]), gt[100:110])
    mask = rng.random((2000, 17)) > 0.2
    tp, tg, tm = torch.from_numpy(pred), torch.from_numpy(gt), torch.from_numpy(mask)
    for name in ("mpjpe", "n_mpjpe", "pa_mpjpe"):
        fn, tfn = getattr(M, name), getattr(MT, name)
        for reduce in ("sample", "joint", "none"):
            a = fn(pred, gt, mask=mask, reduce=reduce)
            b = tfn(tp, tg, mask=tm, reduce=reduce)
            assert b.dtype == torch.float64
            assert np.allclose(a, b.numpy(), rtol=1e-9, atol=1e-9, equal_nan=True), (name, reduce)
    t1, t2 = M.procrustes(pred, gt), MT.procrustes(tp, tg)
    assert np.allclose(t1.rotation, t2.rotation.numpy(), atol=1e-9)
    assert np.allclose(t1.translation, t2.translation.numpy(), rtol=1e-9, atol=1e-6)


def test_torch_float32_is_close_at_mm_scale(torch_mod, h36m_mm: FloatArray) -> None:  # type: ignore[no-untyped-def]
    from posebench.metrics import mpjpe_torch as MT

    torch = torch_mod
    rng = np.random.default_rng(17)
    gt, pred = realistic(rng, h36m_mm, 2000)
    gt32, pred32 = gt.astype(np.float32), pred.astype(np.float32)
    got = MT.pa_mpjpe(torch.from_numpy(pred32), torch.from_numpy(gt32))
    assert got.dtype == torch.float32
    want = M.pa_mpjpe(pred32, gt32)  # float64 on the same float32 inputs
    assert np.allclose(got.numpy(), want, rtol=1e-6, atol=1e-4)


def test_torch_errors(torch_mod) -> None:  # type: ignore[no-untyped-def]
    from posebench.metrics import mpjpe_torch as MT

    torch = torch_mod
    x = torch.zeros((2, 17, 3))
    with pytest.raises(TypeError, match="torch tensors"):
        MT.mpjpe(np.zeros((2, 17, 3)), x)  # type: ignore[arg-type]
    bad = x.clone()
    bad[1, 4, 0] = float("nan")
    with pytest.raises(ValueError, match=r"pred\[1, 4\]"):
        MT.pa_mpjpe(bad, x)


@pytest.mark.gpu
def test_torch_cuda_agrees_with_cpu(torch_mod, h36m_mm: FloatArray) -> None:  # type: ignore[no-untyped-def]
    from posebench.metrics import mpjpe_torch as MT

    torch = torch_mod
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    rng = np.random.default_rng(18)
    gt, pred = realistic(rng, h36m_mm, 5000)
    tp, tg = torch.from_numpy(pred), torch.from_numpy(gt)
    cpu = MT.pa_mpjpe(tp, tg)
    gpu = MT.pa_mpjpe(tp.cuda(), tg.cuda())
    assert gpu.device.type == "cuda"
    assert np.allclose(gpu.cpu().numpy(), cpu.numpy(), rtol=1e-9)
    assert np.allclose(cpu.numpy(), M.pa_mpjpe(pred, gt), rtol=1e-9)
