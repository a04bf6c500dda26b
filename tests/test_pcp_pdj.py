"""PCP (strict and loose) and PDJ on hand-computed LSP14 cases, plus invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posebench.metrics.pcp import pcp, pcp_table, pdj
from posebench.skeletons import LSP14, Skeleton, Stick

J = LSP14.index

# A stick figure in LSP14 order (pixels).
GT = np.array(
    [
        [0, 100],  # right_ankle
        [0, 60],  # right_knee      lower leg 40
        [0, 20],  # right_hip       upper leg 40
        [20, 20],  # left_hip
        [20, 60],  # left_knee
        [20, 100],  # left_ankle
        [-40, -20],  # right_wrist
        [-20, -20],  # right_elbow   forearm 20
        [0, -20],  # right_shoulder  upper arm 20
        [20, -20],  # left_shoulder  torso diameter to right_hip: sqrt(2000)
        [40, -20],  # left_elbow
        [60, -20],  # left_wrist     forearm 20
        [10, -30],  # neck
        [10, -50],  # head_top       head 20
    ],
    dtype=np.float64,
)


def _pred() -> np.ndarray:
    p = GT.copy()
    p[J("right_ankle"), 1] += 25  # lower leg R (limit 20): strict miss, loose 12.5 hit
    p[J("left_wrist"), 1] += 10  # forearm L (limit 10): exactly on the limit
    p[J("head_top"), 1] += 30  # head (limit 10): miss both ways (mean 15)
    return p


def _one() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return _pred()[None], GT[None], np.ones((1, 14), bool)


def test_lsp14_limbs_are_the_ten_pcp_sticks() -> None:
    r = pcp(*_one(), LSP14)
    assert len(r.sticks) == 10
    assert "right_ankle-right_knee" in r.names
    assert "neck-head_top" in r.names
    # the protocol's torso: hip midpoint -> shoulder midpoint (keypoints2sticks.m)
    torso = r.sticks[-1]
    assert torso.part == "Torso"
    assert {LSP14.keypoints[i] for i in torso.a} == {"left_hip", "right_hip"}
    assert {LSP14.keypoints[i] for i in torso.b} == {"left_shoulder", "right_shoulder"}


def test_strict_pcp_hand_computed() -> None:
    r = pcp(*_one(), LSP14)
    by = dict(zip(r.names, r.per_limb.tolist(), strict=True))
    assert by["right_ankle-right_knee"] == 0.0
    assert by["left_elbow-left_wrist"] == 1.0  # 10 <= 10
    assert by["neck-head_top"] == 0.0
    assert r.overall == pytest.approx(8 / 10)
    lt = pcp(*_one(), LSP14, compare="<")
    assert dict(zip(lt.names, lt.per_limb.tolist(), strict=True))["left_elbow-left_wrist"] == 0.0
    assert lt.overall == pytest.approx(7 / 10)


def test_loose_pcp_hand_computed() -> None:
    r = pcp(*_one(), LSP14, mode="loose")
    by = dict(zip(r.names, r.per_limb.tolist(), strict=True))
    assert by["right_ankle-right_knee"] == 1.0  # (0 + 25) / 2 <= 20
    assert by["neck-head_top"] == 0.0  # (0 + 30) / 2 > 10
    assert r.overall == pytest.approx(9 / 10)
    assert pcp(*_one(), LSP14, mode="loose", compare="<").overall == pytest.approx(9 / 10)


def test_pcp_alpha() -> None:
    # alpha 1.0: the head limit becomes 20, still < 30 (strict) but = 15 mean <= 20 (loose).
    assert pcp(*_one(), LSP14, alpha=1.0).overall == pytest.approx(9 / 10)
    assert pcp(*_one(), LSP14, alpha=1.0, mode="loose").overall == 1.0


def test_pcp_table_hand_computed() -> None:
    t = pcp_table(pcp(*_one(), LSP14))
    assert t == {
        "Torso": 100.0,
        "Upper Leg": 100.0,
        "Lower Leg": 50.0,
        "Upper Arm": 100.0,
        "Forearm": 100.0,
        "Head": 0.0,
        "Total": pytest.approx(80.0),
    }


def test_pcp_invisible_endpoint_excludes_the_limb() -> None:
    pred = np.stack([_pred(), _pred()])
    gt = np.stack([GT, GT])
    vis = np.ones((2, 14), bool)
    vis[1, J("right_ankle")] = False
    r = pcp(pred, gt, vis, LSP14)
    i = r.names.index("right_ankle-right_knee")
    assert r.limb_count[i] == 1
    assert r.overall == pytest.approx(16 / 19)
    assert r.per_sample.tolist() == pytest.approx([0.8, 8 / 9])
    vis[:, J("right_ankle")] = False
    r = pcp(pred, gt, vis, LSP14)
    assert np.isnan(r.per_limb[i])
    assert pcp_table(r)["Lower Leg"] == 100.0  # the left lower leg still counts


def test_pcp_nan_prediction_is_a_miss() -> None:
    pred, gt, vis = _one()
    pred = pred.copy()
    pred[0, J("left_knee")] = np.nan
    r = pcp(pred, gt, vis, LSP14)
    assert r.overall == pytest.approx(6 / 10)  # both left-leg limbs lost


def test_pcp_rejects_bad_arguments() -> None:
    pred, gt, vis = _one()
    with pytest.raises(ValueError, match="mode must be"):
        pcp(pred, gt, vis, LSP14, mode="medium")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="skeleton 'lsp14' has 14"):
        pcp(pred[:, :13], gt[:, :13], vis[:, :13], LSP14)
    with pytest.raises(ValueError, match="outside joints"):
        pcp(pred, gt, vis, LSP14, limbs=[(0, 14)])


def test_pdj_hand_computed() -> None:
    # Torso diameter |left_shoulder - right_hip| = sqrt(2000) = 44.72; errors: left wrist 10
    # (0.2236), right ankle 25 (0.559), head top 30 (0.671); 11 joints exact.
    pred, gt, vis = _one()
    c = pdj(pred, gt, vis, LSP14, fractions=[0.0, 0.2, 0.3, 0.6, 0.7])
    assert (c.overall * 14).round(9).tolist() == [11, 11, 12, 13, 14]
    assert c.per_joint[2, J("left_wrist")] == 1.0
    assert c.per_joint[2, J("right_ankle")] == 0.0
    lt = pdj(pred, gt, vis, LSP14, fractions=[0.0, 0.2], compare="<")
    assert lt.overall[0] == 0.0
    default = pdj(pred, gt, vis, LSP14)
    assert default.thresholds.shape == (51,)
    assert 0 < default.auc < 1


def test_pdj_without_torso_excludes_the_sample() -> None:
    pred = np.stack([_pred(), _pred()])
    gt = np.stack([GT, GT])
    vis = np.ones((2, 14), bool)
    vis[1, J("left_shoulder")] = False
    c = pdj(pred, gt, vis, LSP14, fractions=[0.3])
    assert c.joint_count.tolist() == [1] * 14
    assert c.overall[0] == pytest.approx(12 / 14)


# ----------------------------------------------------------------------------- properties


def _random_case(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    gt = rng.uniform(0, 300, (n, 14, 2))
    pred = gt + rng.normal(0, 20, (n, 14, 2))
    return pred, gt, rng.random((n, 14)) < 0.9


def _permuted_skeleton(perm: list[int]) -> Skeleton:
    """LSP14 with joints stored in order ``perm`` (new j holds old perm[j]), pairs remapped."""
    new_of = {old: new for new, old in enumerate(perm)}
    remap = lambda p: (new_of[p[0]], new_of[p[1]])  # noqa: E731
    assert LSP14.torso is not None
    return Skeleton(
        name="lsp14_permuted",
        keypoints=tuple(LSP14.keypoints[i] for i in perm),
        limbs=tuple(remap(p) for p in LSP14.limbs),
        sticks=tuple(
            Stick(st.name, tuple(new_of[i] for i in st.a), tuple(new_of[i] for i in st.b), st.part)
            for st in LSP14.sticks
        ),
        torso=remap(LSP14.torso),
    )


@settings(max_examples=50, deadline=None)
@given(
    n=st.integers(1, 10),
    seed=st.integers(0, 2**32 - 1),
    perm=st.permutations(list(range(14))),
    mode=st.sampled_from(["strict", "loose"]),
)
def test_pcp_pdj_invariant_to_joint_order_given_the_skeleton(
    n: int, seed: int, perm: list[int], mode: str
) -> None:
    pred, gt, vis = _random_case(n, seed)
    sk = _permuted_skeleton(perm)
    a = pcp(pred, gt, vis, LSP14, mode=mode)  # type: ignore[arg-type]
    b = pcp(pred[:, perm], gt[:, perm], vis[:, perm], sk, mode=mode)  # type: ignore[arg-type]
    assert a.names == b.names
    np.testing.assert_array_equal(a.per_limb, b.per_limb)
    np.testing.assert_array_equal(a.per_sample, b.per_sample)
    c = pdj(pred, gt, vis, LSP14)
    d = pdj(pred[:, perm], gt[:, perm], vis[:, perm], sk)
    np.testing.assert_array_equal(c.per_joint[:, perm], d.per_joint)
    np.testing.assert_allclose(c.overall, d.overall, rtol=0, atol=1e-15)


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 10), seed=st.integers(0, 2**32 - 1), k=st.integers(-5, 5))
def test_pcp_pdj_invariant_to_power_of_two_scale(n: int, seed: int, k: int) -> None:
    pred, gt, vis = _random_case(n, seed)
    s = 2.0**k
    for mode in ("strict", "loose"):
        a = pcp(pred, gt, vis, LSP14, mode=mode)  # type: ignore[arg-type]
        b = pcp(pred * s, gt * s, vis, LSP14, mode=mode)  # type: ignore[arg-type]
        np.testing.assert_array_equal(a.correct, b.correct)
    np.testing.assert_array_equal(
        pdj(pred, gt, vis, LSP14).per_joint, pdj(pred * s, gt * s, vis, LSP14).per_joint
    )


def test_pcp_never_writes_to_its_inputs() -> None:
    pred, gt, vis = _random_case(5, 3)
    copies = [a.copy() for a in (pred, gt, vis)]
    for a in (pred, gt, vis):
        a.setflags(write=False)
    pcp(pred, gt, vis, LSP14)
    pdj(pred, gt, vis, LSP14)
    for a, c in zip((pred, gt, vis), copies, strict=True):
        np.testing.assert_array_equal(a, c)
