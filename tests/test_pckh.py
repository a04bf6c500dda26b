"""PCK family and MPII PCKh: published numbers, hand-computed cases, invariants."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from posebench.formats.mpii import MPIIGroundTruth, load_mpii_gt, load_mpii_predictions
from posebench.metrics.pck import (
    MPII_CURVE_THRESHOLDS,
    PCKH_TABLE_KEYS,
    auc,
    bbox_size,
    head_box_size,
    mpii_pckh,
    mpii_pckh_curve,
    mpii_pckh_per_joint,
    normaliser,
    normalized_errors,
    pck,
    pck_curve,
)
from posebench.skeletons import COCO17, LSP14, MPII16, Skeleton

DATA = Path(__file__).parent / "data" / "mpii"

# Rows of the MPII data README (see tests/data/mpii/README.md). bearpaw hg_s2_b1 is the published
# row (bearpaw/pytorch-pose README; its "Mean" is the plain mean of 14 joints = our Mean_joint_avg);
# its count-weighted Mean_pooled 87.30 and the other rows are the README's computed values.
# Columns: Head, Shoulder, Elbow, Wrist, Hip, Knee, Ankle, Mean_joint_avg, Mean_pooled,
# Mean_pooled@0.1.
HG_S2, HG_S1 = "bearpaw_hg_s2_b1_preds.mat", "bearpaw_hg_s1_b1_preds.mat"
NEWELL, TOMPSON = "newell2016_hg8_valid_preds.h5", "tompson2015_valid_preds.h5"
ROWS = {
    HG_S2: (95.80, 94.57, 88.12, 83.31, 86.24, 80.88, 77.44, 86.76, 87.30, 23.91),
    HG_S1: (95.12, 93.61, 85.53, 79.56, 84.51, 78.28, 73.38, 84.46, 85.08, 22.81),
    NEWELL: (95.94, 95.19, 89.14, 84.17, 86.97, 83.20, 80.37, 87.98, 88.43, 21.59),
    TOMPSON: (95.60, 92.71, 83.36, 76.74, 81.93, 73.36, 65.45, 81.46, 82.34, 28.97),
}
# AUC of the Mean curve over 0:0.01:0.5 (no published value; computed here, pinned as regression).
AUCS = {HG_S2: 57.38, HG_S1: 55.52, NEWELL: 56.49, TOMPSON: 55.78}


@pytest.fixture(scope="module")
def gt() -> MPIIGroundTruth:
    return load_mpii_gt(DATA / "detections_our_format.mat")


def _preds(name: str, n: int) -> np.ndarray:
    if name.endswith(".h5"):
        pytest.importorskip("h5py", reason="reading .h5 predictions needs h5py")
    return load_mpii_predictions(DATA / name, expected_count=n)


def _close2(value: float, expected: float) -> bool:
    """Equal at 2 decimals, as the tables print them."""
    return abs(value - expected) < 0.005 + 1e-9


# ----------------------------------------------------------------------------- published numbers


@pytest.mark.parametrize("compare", ["<=", "<"])
@pytest.mark.parametrize("name", list(ROWS))
def test_mpii_table_reproduces_reference_rows(gt: MPIIGroundTruth, name: str, compare: str) -> None:
    table = mpii_pckh(
        _preds(name, len(gt)),
        gt.keypoints,
        gt.visible,
        gt.headboxes,
        compare=compare,  # type: ignore[arg-type]
    )
    assert tuple(table) == PCKH_TABLE_KEYS
    got = {k: round(v, 4) for k, v in table.items()}
    for key, expected in zip(PCKH_TABLE_KEYS, ROWS[name], strict=True):
        assert _close2(table[key], expected), (name, key, got)


def test_bearpaw_hg_s2_plain_mean_to_four_decimals(gt: MPIIGroundTruth) -> None:
    table = mpii_pckh(_preds(HG_S2, len(gt)), gt.keypoints, gt.visible, gt.headboxes)
    assert table["Mean_joint_avg"] == pytest.approx(86.7575, abs=5e-5)
    assert f"{table['Mean_joint_avg']:.2f}" == "86.76"


def test_published_mean_is_the_first_mean_a_reader_meets(gt: MPIIGroundTruth) -> None:
    # bearpaw/pytorch-pose README, 2-stack hourglass on MPII val: Head 95.80 Shoulder 94.57
    # Elbow 88.12 Wrist 83.31 Hip 86.24 Knee 80.88 Ankle 77.44 Mean 86.76. Read left to right,
    # the first mean after the seven columns is that "Mean"; the pooled one is named so.
    table = mpii_pckh(_preds(HG_S2, len(gt)), gt.keypoints, gt.visible, gt.headboxes)
    row = [f"{v:.2f}" for v in table.values()][:8]
    assert row == ["95.80", "94.57", "88.12", "83.31", "86.24", "80.88", "77.44", "86.76"]
    assert list(table)[7] == "Mean_joint_avg"
    assert "Mean" not in table  # no key that could mean either
    assert f"{table['Mean_pooled']:.2f}" == "87.30"  # HRNet/mmpose's "Mean" of the same preds


def test_bootstrap_joint_average_replicates_by_hand() -> None:
    # Each replicate recomputes every joint's rate on the resampled samples, then averages them;
    # checked against explicit resampling with the same index draws.
    from posebench.metrics.bootstrap import resample_indices
    from posebench.metrics.pck import bootstrap_joint_average, joint_average

    rng = np.random.default_rng(5)
    correct = rng.random((40, 6)) < 0.7
    evaluable = rng.random((40, 6)) < 0.9
    evaluable[3] = False  # a sample with no evaluable joint is no unit
    correct &= evaluable
    joints = np.array([0, 2, 3, 5])
    ci = bootstrap_joint_average(correct, evaluable, joints, n_boot=50, seed=3)
    assert ci.estimate == pytest.approx(joint_average(correct, evaluable, joints), abs=1e-15)
    units = np.flatnonzero(evaluable[:, joints].any(axis=1))
    want = []
    for idx in np.concatenate(list(resample_indices(len(units), 50, 3))):
        c, e = correct[units[idx]][:, joints], evaluable[units[idx]][:, joints]
        with np.errstate(invalid="ignore", divide="ignore"):
            want.append(np.mean(c.sum(0) / e.sum(0)))
    np.testing.assert_allclose(ci.replicates, want, rtol=1e-14)


def test_tompson_predictions_inside_the_gt_file_give_the_same_row(gt: MPIIGroundTruth) -> None:
    preds = load_mpii_predictions(DATA / "detections_our_format.mat", key="pos_pred_src")
    table = mpii_pckh(preds, gt.keypoints, gt.visible, gt.headboxes)
    for key, expected in zip(PCKH_TABLE_KEYS, ROWS[TOMPSON], strict=True):
        assert _close2(table[key], expected), key


@pytest.mark.parametrize("name", list(AUCS))
def test_mpii_curve_and_auc(gt: MPIIGroundTruth, name: str) -> None:
    preds = _preds(name, len(gt))
    curve = mpii_pckh_curve(preds, gt.keypoints, gt.visible, gt.headboxes)
    table = mpii_pckh(preds, gt.keypoints, gt.visible, gt.headboxes)
    assert curve.percent
    assert curve.thresholds.shape == (51,)
    assert curve.per_joint.shape == (51, 16)
    assert np.all(np.diff(curve.overall) >= 0)
    assert curve.overall[50] == pytest.approx(table["Mean_pooled"], abs=1e-9)
    assert curve.overall[10] == pytest.approx(table["Mean_pooled@0.1"], abs=1e-9)
    assert _close2(curve.auc, AUCS[name])
    # The AUC is the trapezoid area of the Mean curve over thresholds rescaled to [0, 1].
    y = curve.overall
    assert curve.auc == pytest.approx(float(np.sum((y[1:] + y[:-1]) / 2) / 50), rel=1e-12)


def test_hrnet_mean_at_0_1_is_threshold_0_11(gt: MPIIGroundTruth) -> None:
    preds = _preds(HG_S2, len(gt))
    curve = mpii_pckh_curve(preds, gt.keypoints, gt.visible, gt.headboxes)
    hrnet = mpii_pckh(preds, gt.keypoints, gt.visible, gt.headboxes, low_threshold=0.11)
    assert hrnet["Mean_pooled@0.1"] == pytest.approx(curve.overall[11], abs=1e-9)
    assert hrnet["Mean_pooled@0.1"] > 25.0  # 28.08, far from the 23.91 of threshold 0.1


def test_compare_matters_only_on_ties_tompson_threshold_zero(gt: MPIIGroundTruth) -> None:
    # Tompson's predictions hit some ground-truth joints exactly: at threshold 0, "<=" counts
    # them and "<" cannot count anything.
    preds = _preds(TOMPSON, len(gt))
    le = mpii_pckh_curve(preds, gt.keypoints, gt.visible, gt.headboxes, compare="<=")
    lt = mpii_pckh_curve(preds, gt.keypoints, gt.visible, gt.headboxes, compare="<")
    assert lt.overall[0] == 0.0
    assert le.overall[0] > 0.0
    np.testing.assert_array_equal(le.overall[1:], lt.overall[1:])


def test_head_variants_on_real_data(gt: MPIIGroundTruth) -> None:
    preds = _preds(HG_S2, len(gt))
    per_joint = 100 * mpii_pckh_per_joint(preds, gt.keypoints, gt.visible, gt.headboxes).per_joint
    top = mpii_pckh(preds, gt.keypoints, gt.visible, gt.headboxes)
    both = mpii_pckh(preds, gt.keypoints, gt.visible, gt.headboxes, head="head_neck_mean")
    top_i, neck_i = MPII16.index("head_top"), MPII16.index("neck")
    assert top["Head"] == pytest.approx(per_joint[top_i])
    assert both["Head"] == pytest.approx((per_joint[top_i] + per_joint[neck_i]) / 2)
    assert _close2(both["Head"], 96.74)
    assert {k: v for k, v in top.items() if k != "Head"} == {
        k: v for k, v in both.items() if k != "Head"
    }


# ----------------------------------------------------------------------------- hand-computed PCKh


def _hand_case() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """4 persons; head box diagonal 50 -> head size 30 -> 15 px at 0.5, 3 px at 0.1."""
    n, k = 4, 16
    gt = np.zeros((n, k, 2))
    pred = np.zeros((n, k, 2))
    visible = np.ones((n, k), bool)
    headboxes = np.tile(np.array([[0.0, 0.0], [30.0, 40.0]]), (n, 1, 1))
    top, lsho, rsho = MPII16.index("head_top"), MPII16.index("left_shoulder"), 12
    pred[:, top, 0] = [0, 20, 15, 2]  # 15 is exactly at the threshold
    pred[:, lsho, 1] = [0, 0, 0, 20]
    pred[:, rsho, 0] = 20
    visible[1:, rsho] = False  # right shoulder: one visible instance, a miss
    pred[:, MPII16.index("pelvis"), 0] = 100  # all wrong, but not in any Mean
    visible[:, MPII16.index("thorax")] = False
    return pred, gt, visible, headboxes


def test_mpii_table_hand_computed() -> None:
    pred, gt, visible, headboxes = _hand_case()
    t = mpii_pckh(pred, gt, visible, headboxes)
    assert t["Head"] == pytest.approx(75.0)
    assert t["Shoulder"] == pytest.approx((75.0 + 0.0) / 2)
    assert t["Elbow"] == t["Wrist"] == t["Hip"] == t["Knee"] == t["Ankle"] == 100.0
    # 14 joints x 4 - 3 invisible right shoulders = 53 evaluable; 3 misses.
    assert t["Mean_pooled"] == pytest.approx(100 * 50 / 53)
    assert t["Mean_joint_avg"] == pytest.approx((10 * 100 + 75 + 100 + 75 + 0) / 14)
    # At 3 px: head top hits 0 and 2 px only; left shoulder 3 of 4; right shoulder 0 of 1.
    assert t["Mean_pooled@0.1"] == pytest.approx(100 * 49 / 53)


def test_mpii_table_variants_hand_computed() -> None:
    pred, gt, visible, headboxes = _hand_case()
    strict = mpii_pckh(pred, gt, visible, headboxes, compare="<")
    assert strict["Head"] == pytest.approx(50.0)  # the 15 px tie no longer counts
    assert strict["Mean_pooled"] == pytest.approx(100 * 49 / 53)
    pooled = mpii_pckh(pred, gt, visible, headboxes, combine="pooled")
    assert pooled["Shoulder"] == pytest.approx(100 * 3 / 5)
    both = mpii_pckh(pred, gt, visible, headboxes, head="head_neck_mean")
    assert both["Head"] == pytest.approx((75.0 + 100.0) / 2)
    per_joint = mpii_pckh_per_joint(pred, gt, visible, headboxes)
    assert np.isnan(per_joint.per_joint[MPII16.index("thorax")])
    assert per_joint.per_joint[MPII16.index("pelvis")] == 0.0
    assert per_joint.joint_count[12] == 1


def test_mpii_table_nan_when_a_column_has_no_visible_joint() -> None:
    pred, gt, visible, headboxes = _hand_case()
    visible[:, MPII16.index("left_ankle")] = False
    visible[:, MPII16.index("right_ankle")] = False
    t = mpii_pckh(pred, gt, visible, headboxes)
    assert np.isnan(t["Ankle"])
    assert np.isnan(t["Mean_joint_avg"])
    assert np.isfinite(t["Mean_pooled"])


def test_mpii_rejects_bad_options_and_shapes() -> None:
    pred, gt, visible, headboxes = _hand_case()
    with pytest.raises(ValueError, match="head must be"):
        mpii_pckh(pred, gt, visible, headboxes, head="neck")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="compare must be"):
        mpii_pckh(pred, gt, visible, headboxes, compare="==")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"\(N, 16, 2\)"):
        mpii_pckh(pred[:, :14], gt[:, :14], visible[:, :14], headboxes)
    # COCO17 has no head top or neck: no PCKh table.
    pred = np.concatenate([pred, pred[:, :1]], axis=1)
    gt = np.concatenate([gt, gt[:, :1]], axis=1)
    visible = np.concatenate([visible, visible[:, :1]], axis=1)
    with pytest.raises(ValueError, match="lacks joints"):
        mpii_pckh(pred[:, :17], gt[:, :17], visible[:, :17], headboxes, skeleton=COCO17)


# ----------------------------------------------------------------------------- generic PCK


def test_pck_bbox_max_versus_diagonal() -> None:
    gt = np.zeros((1, 1, 2))
    pred = np.array([[[22.0, 0.0]]])
    box = np.array([[5.0, 5.0, 30.0, 40.0]])
    vis = np.ones((1, 1), bool)
    assert bbox_size(box).tolist() == [40.0]
    assert bbox_size(box, "diagonal").tolist() == [50.0]
    assert pck(pred, gt, vis, bbox_size(box), 0.5).overall == 0.0  # 22 > 20
    assert pck(pred, gt, vis, bbox_size(box, "diagonal"), 0.5).overall == 1.0  # 22 <= 25


def test_pck_torso_and_head_segment_normalisers() -> None:
    gt = np.zeros((2, 14, 2))
    ls, rh = LSP14.index("left_shoulder"), LSP14.index("right_hip")
    neck, top = LSP14.index("neck"), LSP14.index("head_top")
    gt[:, ls] = [0.0, 0.0]
    gt[:, rh] = [30.0, 40.0]  # torso 50
    gt[:, neck] = [0.0, 0.0]
    gt[:, top] = [0.0, 20.0]  # head segment 20
    vis = np.ones((2, 14), bool)
    vis[1, rh] = False  # no torso in sample 1
    torso = normaliser("torso", gt, vis, LSP14)
    assert torso[0] == pytest.approx(50.0)
    assert np.isnan(torso[1])
    head = normaliser("head_segment", gt, vis, LSP14)
    assert head.tolist() == [20.0, 20.0]
    pred = gt.copy()
    pred[:, 0, 0] += 12.0  # right ankle 12 px off
    r = pck(pred, gt, vis, torso, 0.2)  # 10 px
    assert r.per_sample[0] == pytest.approx(13 / 14)
    assert np.isnan(r.per_sample[1])  # sample without a normaliser is not evaluable
    assert r.joint_count.tolist() == [1] * 14
    assert pck(pred, gt, vis, head, 0.5).per_joint[0] == 0.0  # 12 > 10
    assert pck(pred, gt, vis, head, 0.6).per_joint[0] == 1.0  # 12 <= 12


def test_normaliser_errors() -> None:
    gt = np.zeros((1, 14, 2))
    vis = np.ones((1, 14), bool)
    with pytest.raises(ValueError, match="needs bbox"):
        normaliser("bbox", gt, vis, LSP14)
    with pytest.raises(ValueError, match="needs headboxes"):
        normaliser("head_box", gt, vis, LSP14)
    with pytest.raises(ValueError, match="unknown normaliser"):
        normaliser("face", gt, vis, LSP14)  # type: ignore[arg-type]
    no_torso = Skeleton(name="pts", keypoints=("a", "b"))
    with pytest.raises(ValueError, match="no torso"):
        normaliser("torso", np.zeros((1, 2, 2)), np.ones((1, 2)), no_torso)


def test_pck_nan_prediction_is_a_miss_and_invisible_is_nan() -> None:
    gt = np.zeros((2, 3, 2))
    pred = np.zeros((2, 3, 2))
    pred[0, 0] = np.nan
    vis = np.array([[True, True, False], [True, True, False]])
    r = pck(pred, gt, vis, np.array([10.0, 10.0]))
    assert r.per_joint[0] == 0.5
    assert r.per_joint[1] == 1.0
    assert np.isnan(r.per_joint[2])
    assert r.overall == pytest.approx(3 / 4)
    assert not r.correct[:, 2].any()


def test_pck_shape_errors() -> None:
    with pytest.raises(ValueError, match="must match"):
        pck(np.zeros((1, 2, 2)), np.zeros((1, 3, 2)), np.ones((1, 3)), np.ones(1))
    with pytest.raises(ValueError, match="visible must be"):
        pck(np.zeros((1, 3, 2)), np.zeros((1, 3, 2)), np.ones((1, 2)), np.ones(1))
    with pytest.raises(ValueError, match="norm must be"):
        pck(np.zeros((1, 3, 2)), np.zeros((1, 3, 2)), np.ones((1, 3)), np.ones(2))
    with pytest.raises(ValueError, match="strictly increasing"):
        pck_curve(np.zeros((1, 3, 2)), np.zeros((1, 3, 2)), np.ones((1, 3)), np.ones(1), [0.2, 0.1])


def test_auc_hand_computed() -> None:
    t = MPII_CURVE_THRESHOLDS
    assert auc(t, np.full(51, 100.0)) == pytest.approx(100.0)
    assert auc(t, t / 0.5 * 100) == pytest.approx(50.0)
    assert auc([0.0, 0.2, 1.0], [0.0, 1.0, 1.0]) == pytest.approx(0.1 + 0.8)
    assert np.isnan(auc([0.5], [1.0]))
    assert np.isnan(auc([0.0, 0.5], [1.0, np.nan]))


def test_pck_curve_counts_hand_computed() -> None:
    gt = np.zeros((4, 1, 2))
    pred = np.zeros((4, 1, 2))
    pred[:, 0, 0] = [0.0, 1.0, 2.0, 5.0]
    c = pck_curve(pred, gt, np.ones((4, 1), bool), np.full(4, 10.0), [0.0, 0.1, 0.15, 0.5])
    assert c.per_joint[:, 0].tolist() == [0.25, 0.5, 0.5, 1.0]
    c_lt = pck_curve(
        pred, gt, np.ones((4, 1), bool), np.full(4, 10.0), [0.0, 0.1, 0.15, 0.5], compare="<"
    )
    assert c_lt.per_joint[:, 0].tolist() == [0.0, 0.25, 0.5, 0.75]


# ----------------------------------------------------------------------------- properties


def _mpii_case(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    gt = rng.uniform(0, 500, (n, 16, 2))
    pred = gt + rng.normal(0, 15, (n, 16, 2))
    visible = rng.random((n, 16)) < 0.85
    corner = rng.uniform(0, 400, (n, 1, 2))
    headboxes = np.concatenate([corner, corner + rng.uniform(10, 80, (n, 1, 2))], axis=1)
    return pred, gt, visible, headboxes


def _same_table(a: dict[str, float], b: dict[str, float]) -> None:
    assert tuple(a) == tuple(b)
    for k in a:
        assert (np.isnan(a[k]) and np.isnan(b[k])) or a[k] == pytest.approx(b[k], rel=1e-12), k


@settings(max_examples=50, deadline=None)
@given(
    n=st.integers(1, 12),
    seed=st.integers(0, 2**32 - 1),
    perm=st.permutations(list(range(16))),
)
def test_mpii_table_invariant_to_joint_order_given_the_skeleton(
    n: int, seed: int, perm: list[int]
) -> None:
    pred, gt, visible, headboxes = _mpii_case(n, seed)
    permuted = Skeleton(name="mpii16_permuted", keypoints=tuple(MPII16.keypoints[i] for i in perm))
    ref = mpii_pckh(pred, gt, visible, headboxes)
    got = mpii_pckh(pred[:, perm], gt[:, perm], visible[:, perm], headboxes, skeleton=permuted)
    _same_table(ref, got)


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 12), seed=st.integers(0, 2**32 - 1), k=st.integers(-6, 6))
def test_mpii_table_invariant_to_power_of_two_scale(n: int, seed: int, k: int) -> None:
    # Scaling by 2**k is exact in floating point, so every decision is bit-identical.
    pred, gt, visible, headboxes = _mpii_case(n, seed)
    s = 2.0**k
    a = mpii_pckh(pred, gt, visible, headboxes)
    b = mpii_pckh(pred * s, gt * s, visible, headboxes * s)
    assert tuple(a) == tuple(b)
    for key in a:
        assert a[key] == b[key] or (np.isnan(a[key]) and np.isnan(b[key])), key


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 12), seed=st.integers(0, 2**32 - 1), s=st.floats(0.05, 20.0))
def test_mpii_table_invariant_to_any_scale_away_from_ties(n: int, seed: int, s: float) -> None:
    pred, gt, visible, headboxes = _mpii_case(n, seed)
    err, _ = normalized_errors(pred, gt, visible, head_box_size(headboxes))
    for t in (0.1, 0.5):  # rounding could flip an error sitting on a threshold
        assume(not np.any(np.abs(err - t) < 1e-9))
    _same_table(
        mpii_pckh(pred, gt, visible, headboxes),
        mpii_pckh(pred * s, gt * s, visible, headboxes * s),
    )


@settings(max_examples=50, deadline=None)
@given(
    pred=arrays(np.float64, (3, 5, 2), elements=st.floats(-100, 100)),
    gt=arrays(np.float64, (3, 5, 2), elements=st.floats(-100, 100)),
    visible=arrays(np.bool_, (3, 5)),
    norm=arrays(np.float64, (3,), elements=st.floats(0, 50)),
    perm=st.permutations(list(range(5))),
)
def test_pck_joint_permutation_equivariance(
    pred: np.ndarray, gt: np.ndarray, visible: np.ndarray, norm: np.ndarray, perm: list[int]
) -> None:
    a = pck(pred, gt, visible, norm, 0.3)
    b = pck(pred[:, perm], gt[:, perm], visible[:, perm], norm, 0.3)
    np.testing.assert_array_equal(a.per_joint[perm], b.per_joint)
    np.testing.assert_array_equal(a.joint_count[perm], b.joint_count)
    np.testing.assert_array_equal(a.per_sample, b.per_sample)
    assert (np.isnan(a.overall) and np.isnan(b.overall)) or a.overall == b.overall


def test_metrics_never_write_to_their_inputs() -> None:
    pred, gt, visible, headboxes = _mpii_case(20, 7)
    arrays_in = (pred, gt, visible, headboxes)
    copies = [a.copy() for a in arrays_in]
    for a in arrays_in:
        a.setflags(write=False)  # any in-place write would raise
    mpii_pckh(pred, gt, visible, headboxes)
    mpii_pckh_curve(pred, gt, visible, headboxes)
    pck(pred, gt, visible, head_box_size(headboxes))
    for a, c in zip(arrays_in, copies, strict=True):
        np.testing.assert_array_equal(a, c)
