"""Robustness summaries: mPC over the 15 benchmark corruptions x 5, rPC, mRR, per-joint drops."""

from __future__ import annotations

import pytest

from posebench.robustness import BENCHMARK_CORRUPTIONS, summarize


def _cond(kind: str, name: str, sev: int, ap: float, nose: float) -> dict:
    block = {"values": {"AP": ap, "AP50": 1.0}, "per_joint": {"nose": nose, "left_eye": ap}}
    return {"kind": kind, "name": name, "severity": sev, "metrics": {"oks": block}}


def test_mpc_rpc_mrr_follow_their_definitions() -> None:
    conds = {"clean": _cond("clean", "clean", 0, 0.8, 0.9)}
    aps = []
    for i, name in enumerate((*BENCHMARK_CORRUPTIONS, "speckle_noise")):
        for s in range(1, 6):
            ap = 0.8 - 0.02 * s - 0.01 * i
            conds[f"{name}@{s}"] = _cond("corruption", name, s, ap, 0.5)
            if name in BENCHMARK_CORRUPTIONS:
                aps.append(ap)
    extra = [0.8 - 0.02 * s - 0.01 * 15 for s in range(1, 6)]
    out = summarize(conds)["oks"]
    assert out["clean"] == 0.8
    assert out["mPC"] == pytest.approx(sum(aps) / 75)  # the extra corruption is not scored
    assert out["mPC_corruptions"] == 15
    assert out["rPC"] == pytest.approx(out["mPC"] / 0.8)
    assert out["mRR"] == pytest.approx(sum(a / 0.8 for a in aps + extra) / 80)
    assert out["by_severity"]["1"] > out["by_severity"]["5"]
    assert out["per_joint_drop"]["nose"] == pytest.approx(0.4)
    assert out["drop"]["zoom_blur"] == pytest.approx(
        0.8 - sum(0.8 - 0.02 * s - 0.06 for s in range(1, 6)) / 5
    )


def test_clean_only_runs_have_no_summary_and_errors_get_an_error_summary() -> None:
    assert summarize({"clean": _cond("clean", "clean", 0, 0.5, 0.5)}) == {}
    conds = {
        "clean": {
            "kind": "clean",
            "name": "clean",
            "severity": 0,
            "metrics": {"mpjpe": {"values": {"MPJPE": 50.0}}},
        },
        "fog@1": {
            "kind": "corruption",
            "name": "fog",
            "severity": 1,
            "metrics": {"mpjpe": {"values": {"MPJPE": 60.0}}},
        },
    }
    out = summarize(conds)["mpjpe"]  # errors (lower is better) get an error summary
    assert out["higher_is_better"] is False
    assert out["mE"] == 60.0
    assert out["rE"] == pytest.approx(1.2)
    assert out["relative_increase"] == pytest.approx(0.2)
    assert out["CE"] == {"fog": pytest.approx(1.2)}
    assert out["increase"] == {"fog": 10.0}
    assert "mPC" not in out
