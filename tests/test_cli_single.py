"""`posebench score --metric pckh|pck|pcp|pdj|mpjpe` end to end on the real fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from posebench.cli.main import main
from posebench.formats.h36m import load_h36m_npz
from tests.conftest import DATA

MPII_GT = str(DATA / "mpii/detections_our_format.mat")
LSP = str(DATA / "lsp/joints.mat")
H36M = str(DATA / "h36m/test_h36m_body3d.npz")
PCKH_HG2 = (
    "--metric",
    "pckh",
    "--gt",
    MPII_GT,
    "--pred",
    str(DATA / "mpii/bearpaw_hg_s2_b1_preds.mat"),
)


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(["score", *argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_pckh_reproduces_published_bearpaw_row(capsys: pytest.CaptureFixture[str]) -> None:
    out = _json(
        capsys,
        *PCKH_HG2,
    )
    m = out["metrics"]
    assert list(m) == [
        "Head",
        "Shoulder",
        "Elbow",
        "Wrist",
        "Hip",
        "Knee",
        "Ankle",
        "Mean_joint_avg",
        "Mean_pooled",
        "Mean_pooled@0.1",
    ]
    published = {
        "Head": 95.80,
        "Shoulder": 94.57,
        "Elbow": 88.12,
        "Wrist": 83.31,
        "Hip": 86.24,
        "Knee": 80.88,
        "Ankle": 77.44,
    }
    for k, v in published.items():
        assert round(m[k], 2) == v, k
    assert round(m["Mean_joint_avg"], 2) == 86.76
    assert out["signature"].startswith("pckh|skeleton:mpii16")
    assert 0 < out["curve"]["auc"] < 100


@pytest.mark.parametrize("metric", ["pck", "pcp", "pdj"])
def test_lsp_metrics_ground_truth_scores_100_and_noise_lowers(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, metric: str
) -> None:
    perfect = _json(capsys, "--metric", metric, "--gt", LSP, "--pred", LSP, "--pred-key", "joints")
    first = next(iter(perfect["metrics"].values()))
    assert first == 100.0
    from posebench.formats.lsp import load_lsp_joints

    kp = load_lsp_joints(LSP).keypoints
    noisy = kp + np.random.default_rng(0).normal(0, 15, kp.shape)
    np.save(tmp_path / "pred.npy", noisy)
    worse = _json(capsys, "--metric", metric, "--gt", LSP, "--pred", str(tmp_path / "pred.npy"))
    assert next(iter(worse["metrics"].values())) < 100.0


def test_mpjpe_hand_built_transforms(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    gt = load_h36m_npz(H36M).h36m17().joints_3d  # metres
    root = gt[:, :1]
    shifted = gt + np.array([0.01, -0.02, 0.03])  # translation: removed by root alignment
    scaled = root + (gt - root) * 1.1  # scale about the root: removed by N-MPJPE and PA-MPJPE
    for name, pred in (("shift", shifted), ("scale", scaled)):
        np.save(tmp_path / f"{name}.npy", pred)
    out = _json(capsys, "--metric", "mpjpe", "--gt", H36M, "--pred", str(tmp_path / "shift.npy"))
    assert out["metrics"]["MPJPE"] == pytest.approx(0, abs=1e-6)
    out = _json(capsys, "--metric", "mpjpe", "--gt", H36M, "--pred", str(tmp_path / "scale.npy"))
    expected = 1000 * 0.1 * np.linalg.norm(gt - root, axis=2).mean(axis=1)  # mm, per frame
    assert out["metrics"]["MPJPE"] == pytest.approx(
        expected.mean(), rel=1e-9
    )  # 4 actions, 1 frame each
    assert out["metrics"]["N-MPJPE"] == pytest.approx(0, abs=1e-6)
    assert out["metrics"]["PA-MPJPE"] == pytest.approx(0, abs=1e-6)
    assert set(out["per_action"]["MPJPE"]) == {"Directions", "SittingDown", "Greeting", "WalkDog"}


def test_wrong_prediction_count_is_an_input_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    np.save(tmp_path / "p.npy", np.zeros((5, 16, 2)))
    assert (
        main(["score", "--metric", "pckh", "--gt", MPII_GT, "--pred", str(tmp_path / "p.npy")]) == 2
    )
    assert "5 predictions for 2958 ground-truth samples" in capsys.readouterr().err
    (tmp_path / "p.txt").write_text("1 2 3")
    assert main(["score", "--metric", "pck", "--gt", LSP, "--pred", str(tmp_path / "p.txt")]) == 2
    assert "unknown prediction format" in capsys.readouterr().err


def test_pckh_ci_brackets_the_mean(capsys: pytest.CaptureFixture[str]) -> None:
    out = _json(
        capsys,
        *PCKH_HG2,
        "--ci",
        "300",
    )
    for key in ("Mean_joint_avg", "Mean_pooled"):
        ci = out["ci"][key]
        assert ci["estimate"] == pytest.approx(out["metrics"][key], abs=1e-9)
        assert ci["low"] < out["metrics"][key] < ci["high"]
        assert ci["high"] - ci["low"] < 3  # 2958 people: a narrow interval
