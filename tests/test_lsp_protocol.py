"""The LSP protocol (PCP, PCK, PDJ) against a port of the MPII benchmark's LSP evaluation.

``tests/ref_eval_pose.py`` ports bearpaw/eval_pose's ``keypoints2sticks.m``, ``eval_pcp.m``,
``eval_pck.m`` and ``eval_pdj.m``. posebench must reproduce their numbers exactly (per stick and
per joint: the same counts over the same images, so the same floats; the printed rows to within
the order of a sum) on seeded LSP-style predictions, on a synthetic ground truth and on the real
LSPET annotations of ``tests/data/lsp/joints.mat`` written in the original LSP layout, where
every joint is scored, occluded ones included, through ``posebench score`` and ``posebench run``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io as scipy_io

from posebench.cli.main import main
from posebench.formats.lsp import load_lsp_joints
from posebench.metrics.pck import (
    hundredths,
    normalized_errors,
    pck,
    pck_curve_from_errors,
    symmetric_columns,
    torso_size,
)
from posebench.metrics.pcp import PDJ_FRACTIONS, limb_errors, pcp, pcp_table, pdj
from posebench.skeletons import LSP14
from tests import ref_eval_pose as ref

DATA = Path(__file__).parent / "data"
# eval_pcp.m's printed parts -> pcp_table's columns; eval_pck.m's joints -> symmetric columns
PCP_COLUMNS = ("Lower Leg", "Upper Leg", "Forearm", "Upper Arm", "Head", "Torso", "Total")
PCK_COLUMNS = ("Ankle", "Knee", "Hip", "Wrist", "Elbow", "Shoulder", "Head")


def synthetic_gt(n: int, seed: int) -> np.ndarray:
    """(n, 14, 2) seeded LSP stick figures (1-based pixels), varied in size, place and pose."""
    rng = np.random.default_rng(seed)
    template = np.array(
        [[0, 100], [0, 60], [0, 20], [20, 20], [20, 60], [20, 100], [-40, -20], [-20, -20],
         [0, -20], [20, -20], [40, -20], [60, -20], [10, -30], [10, -50]], dtype=np.float64,
    )  # fmt: skip
    scale = rng.uniform(0.8, 3.0, (n, 1, 1))
    pose = template[None] + rng.normal(0, 12, (n, 14, 2))
    return scale * pose + rng.uniform(100, 300, (n, 1, 2))


def lspet_gt() -> np.ndarray:
    """(M, 14, 2) the real LSPET annotations of the fixture (all 14 joints, as stored), less the
    persons whose torso diameter or a stick has length 0 (absent joints stored at one point):
    there the reference divides by 0 (see test_zero_normaliser_is_undefined_not_a_miss)."""
    kp = load_lsp_joints(DATA / "lsp" / "joints.mat").keypoints
    torso = np.linalg.norm(
        kp[:, LSP14.index("left_shoulder")] - kp[:, LSP14.index("right_hip")], axis=1
    )
    _, _, length = limb_errors(kp, kp, LSP14.pcp_sticks())
    keep = (torso > 0) & (length > 0).all(axis=1)
    assert keep.sum() == 277  # of 400
    return kp[keep]


def predictions(gt: np.ndarray, seed: int) -> np.ndarray:
    """Seeded LSP-style predictions: noise at the scale of the torso, mixed per person from
    near-perfect to poor, left/right swaps, a few exact joints."""
    rng = np.random.default_rng(seed)
    n = len(gt)
    torso = np.linalg.norm(
        gt[:, LSP14.index("left_shoulder")] - gt[:, LSP14.index("right_hip")], axis=1
    )
    level = rng.choice([0.02, 0.08, 0.15, 0.3], n)[:, None, None]
    pred = gt + rng.normal(0, 1, gt.shape) * level * torso[:, None, None]
    swap = rng.random(n) < 0.08
    pred[swap] = pred[swap][:, LSP14.flip_permutation()]
    exact = rng.random(gt.shape[:2]) < 0.05
    pred[exact] = gt[exact]
    return pred


def to_matlab(x: np.ndarray) -> np.ndarray:
    """(N, 14, 2) -> MATLAB's (2, 14, N)."""
    return np.ascontiguousarray(np.transpose(x, (2, 1, 0)))


CASES = {
    "synthetic": lambda: (synthetic_gt(300, 1), 11),
    "lspet-277": lambda: (lspet_gt(), 12),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> tuple[str, np.ndarray, np.ndarray]:
    gt, seed = CASES[request.param]()
    return request.param, gt, predictions(gt, seed)


def test_pcp_reproduces_eval_pcp(case: tuple[str, np.ndarray, np.ndarray]) -> None:
    _, gt, pred = case
    per_stick, shown = ref.eval_pcp(ref.keypoints2sticks(to_matlab(pred)), to_matlab(gt))
    r = pcp(pred, gt, np.ones(gt.shape[:2], bool), LSP14)
    # per stick, in keypoints2sticks.m's order: the same counts over the same images
    np.testing.assert_array_equal(100 * r.per_limb, per_stick[:10])
    assert 100 * r.overall == per_stick[10]
    table = pcp_table(r)
    got = np.array([table[c] for c in PCP_COLUMNS])
    np.testing.assert_allclose(got, shown, rtol=0, atol=1e-12)
    assert [f"{v:.1f}" for v in got] == [f"{v:.1f}" for v in shown]
    assert 0 < shown[-1] < 100  # a real mix of hits and misses


def test_pck_reproduces_eval_pck(case: tuple[str, np.ndarray, np.ndarray]) -> None:
    _, gt, pred = case
    shown, auc, pck_all = ref.eval_pck(to_matlab(pred), to_matlab(gt))
    vis = np.ones(gt.shape[:2], bool)
    norm = torso_size(gt, vis, LSP14)
    r = pck(pred, gt, vis, norm, 0.2)
    np.testing.assert_array_equal(100 * r.per_joint, pck_all[-1, :14])
    assert 100 * r.overall == pck_all[-1, 14]
    cols = symmetric_columns(100 * r.per_joint, LSP14)
    got = np.array([*(cols[c] for c in PCK_COLUMNS), 100 * r.overall])
    np.testing.assert_allclose(got, shown, rtol=0, atol=1e-12)
    thresholds = hundredths(0.2)
    assert thresholds is not None
    # MATLAB's colon puts 4 of these 21 thresholds 1 ulp above i / 100: they could only matter
    # on an error at exactly such a threshold, which the curve comparison below would catch.
    np.testing.assert_allclose(thresholds, ref.colon(0, 0.01, 0.2), rtol=1e-15, atol=0)
    err, ev = normalized_errors(pred, gt, vis, norm)
    curve = pck_curve_from_errors(err, ev, thresholds)
    np.testing.assert_array_equal(100 * curve.overall, pck_all[:, 14])
    assert 100 * curve.auc == pytest.approx(auc, rel=1e-12)


def test_pdj_reproduces_eval_pdj(case: tuple[str, np.ndarray, np.ndarray]) -> None:
    _, gt, pred = case
    accs, rng = ref.eval_pdj(to_matlab(pred), to_matlab(gt))
    np.testing.assert_allclose(rng, PDJ_FRACTIONS, rtol=1e-15, atol=0)  # see the PCK test
    curve = pdj(pred, gt, np.ones(gt.shape[:2], bool), LSP14)
    for t in range(len(rng)):
        cols = symmetric_columns(curve.per_joint[t], LSP14)
        np.testing.assert_allclose([cols[c] for c in PCK_COLUMNS], accs[t], rtol=0, atol=1e-15)


def test_nan_predictions_are_misses_as_in_the_reference() -> None:
    gt = synthetic_gt(60, 3)
    pred = predictions(gt, 4)
    pred[::7, 3] = np.nan  # left hip not predicted: legs and torso lost
    per_stick, _ = ref.eval_pcp(ref.keypoints2sticks(to_matlab(pred)), to_matlab(gt))
    r = pcp(pred, gt, np.ones(gt.shape[:2], bool), LSP14)
    np.testing.assert_array_equal(100 * r.per_limb, per_stick[:10])
    shown, _, _ = ref.eval_pck(to_matlab(pred), to_matlab(gt))
    vis = np.ones(gt.shape[:2], bool)
    r2 = pck(pred, gt, vis, torso_size(gt, vis, LSP14), 0.2)
    assert 100 * r2.overall == shown[-1]


def test_zero_normaliser_is_undefined_not_a_miss() -> None:
    # Where the ground-truth torso or a stick has length 0 the reference divides by 0 and counts
    # a miss even for a perfect prediction; posebench leaves the sample (stick) out as undefined,
    # so that the ground truth always scores 100. Everything else is unchanged.
    gt = synthetic_gt(20, 8)
    gt[3, LSP14.index("right_hip")] = gt[3, LSP14.index("left_shoulder")]  # torso 0
    gt[5, LSP14.index("neck")] = gt[5, LSP14.index("head_top")]  # head stick 0
    vis = np.ones(gt.shape[:2], bool)
    r = pck(gt, gt, vis, torso_size(gt, vis, LSP14), 0.2)
    assert r.overall == 1.0
    assert r.evaluable.sum() == 19 * 14
    shown, _, _ = ref.eval_pck(to_matlab(gt), to_matlab(gt))
    assert shown[-1] == pytest.approx(100 * 19 / 20)
    p = pcp(gt, gt, vis, LSP14)
    assert p.overall == 1.0
    assert p.evaluable.sum() == 20 * 10 - 1
    per_stick, _ = ref.eval_pcp(ref.keypoints2sticks(to_matlab(gt)), to_matlab(gt))
    assert per_stick[8] == pytest.approx(100 * 19 / 20)  # the head stick


# ------------------------------------------------------------------------- end to end (CLI)


def _write_lsp(path: Path, gt: np.ndarray, occluded: np.ndarray) -> Path:
    """An original-LSP-layout joints.mat (3 x 14 x N, flag 1 = occluded)."""
    joints = np.concatenate([gt, occluded[..., None].astype(np.float64)], axis=2)
    scipy_io.savemat(str(path), {"joints": np.transpose(joints, (2, 1, 0))})
    return path


def _score(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(["score", *argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("name", sorted(CASES))
def test_score_scores_occluded_joints_like_the_protocol(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str
) -> None:
    # A fifth of the joints flagged occluded: the LSP protocol scores them all, as the reference
    # (which has no visibility at all) does; dropping them would change every number below.
    gt, seed = CASES[name]()
    pred = predictions(gt, seed)
    occluded = np.random.default_rng(seed).random(gt.shape[:2]) < 0.2
    g = _write_lsp(tmp_path / "joints.mat", gt, occluded)
    np.save(tmp_path / "pred.npy", pred)
    args = ("--gt", str(g), "--pred", str(tmp_path / "pred.npy"))
    gm, pm = to_matlab(gt), to_matlab(pred)

    out = _score(capsys, "--metric", "pcp", *args)
    _, shown = ref.eval_pcp(ref.keypoints2sticks(pm), gm)
    np.testing.assert_allclose([out["metrics"][c] for c in PCP_COLUMNS], shown, atol=1e-12)
    assert out["counts"] == {"samples": len(gt), "scored_joints": 14 * len(gt)}
    assert out["signature"].startswith("pcp|skeleton:lsp14|gt:lsp-pc|")

    out = _score(capsys, "--metric", "pck", "--norm", "torso", *args)
    shown, auc, _ = ref.eval_pck(pm, gm)
    got = [out["metrics"][c] for c in (*PCK_COLUMNS, "PCK")]
    np.testing.assert_allclose(got, shown, atol=1e-12)
    assert out["metrics"]["AUC"] == pytest.approx(auc, rel=1e-12)

    out = _score(capsys, "--metric", "pdj", "--threshold", "0.2", *args)
    accs, _ = ref.eval_pdj(pm, gm)
    got = [out["metrics"][f"PDJ@0.20/{c}"] for c in PCK_COLUMNS]
    np.testing.assert_allclose(got, 100 * accs[20], atol=1e-12)


def test_observer_centric_annotation_is_named_in_the_signature(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    gt = synthetic_gt(50, 5)
    g = _write_lsp(tmp_path / "lsp-joints-OC.mat", gt, np.zeros(gt.shape[:2], bool))
    np.save(tmp_path / "pred.npy", predictions(gt, 6))
    args = ("--metric", "pcp", "--gt", str(g), "--pred", str(tmp_path / "pred.npy"))
    pc = _score(capsys, *args)
    oc = _score(capsys, *args, "--lsp-annotation", "observer-centric")
    assert pc["metrics"] == oc["metrics"]  # the same arithmetic ...
    assert "|gt:lsp-pc|" in pc["signature"]  # ... not comparable
    assert "|gt:lsp-oc|" in oc["signature"]
    assert load_lsp_joints(g, annotation="observer-centric").annotation == "observer-centric"
    with pytest.raises(ValueError, match="annotation must be"):
        load_lsp_joints(g, annotation="observer")  # type: ignore[arg-type]


def test_lspet_layout_scores_only_flagged_joints(tmp_path: Path) -> None:
    # LSPET's flag 0 marks absent joints stored outside the image: they are not scored.
    j = load_lsp_joints(DATA / "lsp" / "joints.mat")
    assert j.layout == "lspet"
    np.testing.assert_array_equal(j.annotated, j.visible)
    hidden = j.keypoints[~j.visible]
    assert ((hidden[:, 0] <= 0) | (hidden[:, 1] <= 0)).all()
    orig = _write_lsp(tmp_path / "joints.mat", j.keypoints, ~j.visible)
    assert load_lsp_joints(orig).annotated.all()


@pytest.mark.slow
def test_run_lsp_test_suite_agrees_with_score(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # `posebench run --suite lsp-test` and `posebench score` on the same predictions give the
    # same PCK (torso and bbox), PCP and PDJ: both score all 14 joints, occluded ones included.
    from posebench.runner import load_poses_aux
    from tests.test_datasets import _lsp_root
    from tests.test_runner_suites import _fill_images, _run

    root = _lsp_root(tmp_path / "data")
    _fill_images(root, "lsp-test")
    m = _run(root, tmp_path / "run", "lsp-test", "jitter", top_down="true", noise="0.05")
    pred_set, _ = load_poses_aux(tmp_path / "run" / "predictions" / "clean.npz")
    rows = np.asarray(pred_set.extra["gt_row"], np.int64)
    order = np.argsort(rows)
    n = len(rows)
    assert n == 40
    assert np.array_equal(rows[order], np.arange(n))
    pred = pred_set.keypoints[order, :, :2] + 1.0  # the runner works in 0-based pixels
    raw = scipy_io.loadmat(str(root / "lsp" / "joints.mat"))["joints"][:, :, 1000 : 1000 + n]
    scipy_io.savemat(str(tmp_path / "gt.mat"), {"joints": raw})
    assert (raw[2] == 1).any()  # occluded joints among them
    np.save(tmp_path / "pred.npy", pred)
    args = ("--gt", str(tmp_path / "gt.mat"), "--pred", str(tmp_path / "pred.npy"))
    torso = _score(capsys, "--metric", "pck", "--norm", "torso", *args)["metrics"]["PCK"]
    bbox = _score(capsys, "--metric", "pck", "--norm", "bbox", *args)["metrics"]["PCK"]
    total = _score(capsys, "--metric", "pcp", *args)["metrics"]["Total"]
    pdj_at = _score(capsys, "--metric", "pdj", "--threshold", "0.2", *args)["metrics"]["PDJ@0.20"]
    assert m["pdj@0.2"]["values"]["PDJ"] == pytest.approx(pdj_at, abs=1e-9)
    assert m["pck@0.2/torso"]["values"]["PCK"] == pytest.approx(torso, abs=1e-9)
    assert m["pck@0.2/bbox"]["values"]["PCK"] == pytest.approx(bbox, abs=1e-9)
    assert m["pcp@0.5"]["values"]["PCP"] == pytest.approx(total, abs=1e-9)
    assert 0 < total < 100


def test_observer_centric_dataset_by_name(tmp_path: Path) -> None:
    # lsp-test-oc reads lsp/lsp-joints-OC.mat (x, y only, as eval_pose's gt) and keeps its name.
    from posebench.datasets import load_dataset

    gt = np.concatenate([synthetic_gt(400, 7)] * 5)  # 2000 persons
    (tmp_path / "lsp" / "images").mkdir(parents=True)
    scipy_io.savemat(str(tmp_path / "lsp" / "lsp-joints-OC.mat"), {"joints": to_matlab(gt)})
    ds = load_dataset("lsp-test-oc", tmp_path, require_images=False)
    assert len(ds.gt) == 1000
    assert ds.gt.visibility is not None
    assert (ds.gt.visibility == 2).all()  # every joint annotated
    np.testing.assert_array_equal(ds.gt.keypoints[:, :, :2], gt[1000:] - 1.0)  # 0-based
    assert ds.spec.annotation == "observer-centric"


def test_occluded_joint_without_coordinates_is_an_input_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # In the LSP layout an occluded joint is scored too, so it must have a position: a NaN there
    # is bad input naming file, record and field (exit 2), not a joint silently dropped.
    gt = synthetic_gt(10, 9)
    occluded = np.zeros(gt.shape[:2], bool)
    occluded[4, LSP14.index("left_wrist")] = True
    gt[4, LSP14.index("left_wrist")] = np.nan
    g = _write_lsp(tmp_path / "joints.mat", gt, occluded)
    np.save(tmp_path / "pred.npy", np.nan_to_num(gt))
    assert (
        main(["score", "--metric", "pcp", "--gt", str(g), "--pred", str(tmp_path / "pred.npy")])
        == 2
    )
    err = capsys.readouterr().err
    assert "joints.mat" in err
    assert "joints[:, :, 4]" in err
    assert "left_wrist" in err
    assert "Traceback" not in err
