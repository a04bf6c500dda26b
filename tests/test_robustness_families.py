"""Robustness summaries for every metric family, end to end through the runner.

A corruption suite runs for each family on real-annotation fixtures (MPII for PCKh, LSP for
PCK/PCP/PDJ, Human3.6M for MPJPE/PA-MPJPE) with a jitter adapter whose noise grows with what a
corruption does to the pixels; each summary is then checked against a hand computation from the
per-condition values the run recorded. Also: every family's direction is declared once, and the
set of scored corruptions is declared once.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest

from posebench import robustness
from posebench.adapter import Batch
from posebench.adapters.oracle import JitterAdapter
from posebench.conditions import corruptions
from posebench.poseset import PoseSet
from posebench.results import read_results_json
from posebench.robustness import FAMILIES, family, summarize
from posebench.runner import RunOptions, run
from tests.test_datasets import DATA, _copy, _lsp_root, _mpii_root
from tests.test_runner_suites import _fill_images

SCORED = ("brightness", "contrast")  # benchmark corruptions (cheap on big flat images)
EXTRA = "saturate"  # generated, not scored by mPC


class PixelJitter(JitterAdapter):
    """Jitter whose noise grows with how far an image is from the flat grey (90) of the test
    images: ``noise * (1 + |mean - 90| / 30 + std / 20)``. Deterministic per image and pixels."""

    def __init__(self, noise: float = 0.03, top_down: bool = True) -> None:
        super().__init__(noise=noise, top_down=top_down, score_noise=0.0)
        self.base = noise

    def predict(self, batch: Batch) -> PoseSet:
        parts = []
        for j in range(len(batch)):
            img = np.asarray(batch.images[j], np.float64)
            self.noise = self.base * (1 + abs(img.mean() - 90) / 30 + img.std() / 20)
            one = Batch(
                image_ids=batch.image_ids[j : j + 1],
                images=[batch.images[j]],
                boxes=None if batch.boxes is None else [batch.boxes[j]],
                box_scores=None if batch.box_scores is None else [batch.box_scores[j]],
            )
            parts.append(super().predict(one))
        from posebench.adapter import concat_posesets

        return concat_posesets(parts, parts[0].num_joints, parts[0].keypoints.shape[2])


def _suite(path: Path, dataset: str, metrics: str) -> Path:
    path.write_text(
        f"name: robust-{dataset}\ndescription: corruption summary test\ndataset: {dataset}\n"
        f"boxes: gt\nbatch_size: 8\nmetrics:\n{metrics}conditions:\n  - clean\n"
        f"  - {{corruption: {SCORED[0]}, severities: [1, 3, 5]}}\n"
        f"  - {{corruption: {SCORED[1]}, severities: [2, 4]}}\n"
        f"  - {{corruption: {EXTRA}, severities: [5]}}\nseed: 0\n"
    )
    return path


def _run(root: Path, out: Path, suite: Path, limit: int) -> dict:
    opts = RunOptions(
        adapter="tests.test_robustness_families:PixelJitter",
        suite=str(suite),
        output=out,
        data_root=root,
        n_boot=0,
        limit=limit,
    )
    return read_results_json(run(opts))


def _value(cond: dict, metric: str) -> float:
    values = cond["metrics"][metric]["values"]
    return float(values[FAMILIES[family(metric)].headline[0]] if family(metric) != "mpjpe"
                 else next(iter(values.values())))  # fmt: skip


def _check(res: dict) -> None:
    """Every metric's summary against a hand computation from the conditions table."""
    conds = res["conditions"]
    summary = res["summary"]
    metrics = set(conds["clean"]["metrics"])
    assert set(summary) == metrics  # every family gets a summary
    for metric in metrics:
        s = summary[metric]
        hib = FAMILIES[family(metric)].higher_is_better
        assert s["higher_is_better"] is hib
        assert conds["clean"]["metrics"][metric]["higher_is_better"] is hib
        clean = _value(conds["clean"], metric)
        stressed = [c for k, c in conds.items() if k != "clean"]
        scored = [_value(c, metric) for c in stressed if c["name"] in SCORED]
        every = [_value(c, metric) for c in stressed]
        assert len(scored) == 5
        assert len(every) == 6
        assert s["clean"] == pytest.approx(clean, rel=1e-12)
        for sev in ("1", "2", "3", "4", "5"):
            at = [_value(c, metric) for c in stressed if str(c["severity"]) == sev]
            assert s["by_severity"][sev] == pytest.approx(np.mean(at), rel=1e-12)
        by_name = {
            n: [_value(c, metric) for c in stressed if c["name"] == n] for n in (*SCORED, EXTRA)
        }
        for n, vals in by_name.items():
            assert s["by_condition"][n]["mean"] == pytest.approx(np.mean(vals), rel=1e-12)
        per_joint = {c_key: c["metrics"][metric]["per_joint"] for c_key, c in conds.items()}
        joints = list(per_joint["clean"])
        assert joints  # per-joint values recorded for every family
        if hib:
            assert s["mPC"] == pytest.approx(np.mean(scored), rel=1e-12)
            assert s["rPC"] == pytest.approx(np.mean(scored) / clean, rel=1e-12)
            assert s["mRR"] == pytest.approx(np.mean([v / clean for v in every]), rel=1e-12)
            assert s["mPC_corruptions"] == 2
            for n, vals in by_name.items():
                assert s["drop"][n] == pytest.approx(clean - np.mean(vals), rel=1e-12, abs=1e-12)
            assert s["mPC"] < clean  # the corruptions hurt, in this direction
            sign = 1.0
            joint_key = "per_joint_drop"
        else:
            m_e = np.mean(scored)
            assert s["mE"] == pytest.approx(m_e, rel=1e-12)
            assert s["rE"] == pytest.approx(m_e / clean, rel=1e-12)
            assert s["relative_increase"] == pytest.approx((m_e - clean) / clean, rel=1e-12)
            ce = {n: np.sum(by_name[n]) / (len(by_name[n]) * clean) for n in SCORED}
            assert s["CE"] == pytest.approx(ce, rel=1e-12)
            assert EXTRA not in s["CE"]
            assert s["mCE"] == pytest.approx(np.mean(list(ce.values())), rel=1e-12)
            assert s["mE_corruptions"] == 2
            for sev, m in s["by_severity"].items():
                assert s["increase_by_severity"][sev] == pytest.approx(m - clean, rel=1e-12)
            for n, vals in by_name.items():
                assert s["increase"][n] == pytest.approx(np.mean(vals) - clean, rel=1e-12)
            assert s["mE"] > clean  # errors grow under corruption
            assert s["rE"] > 1.0
            sign = -1.0
            joint_key = "per_joint_increase"
        for j in joints:
            mean_stressed = np.mean(
                [per_joint[k][j] for k in conds if k != "clean" and per_joint[k][j] is not None]
            )
            want = sign * (per_joint["clean"][j] - mean_stressed)
            assert s[joint_key][j] == pytest.approx(want, rel=1e-9, abs=1e-9)


@pytest.mark.slow
def test_mpii_pckh_corruption_summary(tmp_path: Path) -> None:
    root = _mpii_root(tmp_path / "data")
    _fill_images(root, "mpii-val")
    suite = _suite(tmp_path / "s.yaml", "mpii-val", "  - {name: pckh, threshold: 0.5}\n")
    res = _run(root, tmp_path / "run", suite, limit=5)
    _check(res)
    assert res["summary"]["pckh@0.5"]["statistic"] == "PCKh_joint_avg"


@pytest.mark.slow
def test_lsp_pck_pcp_pdj_corruption_summary(tmp_path: Path) -> None:
    root = _lsp_root(tmp_path / "data")
    _fill_images(root, "lsp-test")
    metrics = (
        "  - {name: pck, normalizer: torso, threshold: 0.2}\n"
        "  - {name: pcp, threshold: 0.5}\n  - {name: pdj, threshold: 0.2}\n"
    )
    res = _run(root, tmp_path / "run", _suite(tmp_path / "s.yaml", "lsp-test", metrics), limit=12)
    _check(res)


@pytest.mark.slow
def test_h36m_mpjpe_corruption_summary(tmp_path: Path) -> None:
    _copy(
        DATA / "h36m" / "test_h36m_body3d.npz",
        tmp_path / "data",
        "h36m/annotation_body3d/fps50/h36m_test.npz",
    )
    _fill_images(tmp_path / "data", "h36m-test")
    metrics = "  - {name: mpjpe, align: root}\n  - {name: mpjpe, align: procrustes}\n"
    suite = _suite(tmp_path / "s.yaml", "h36m-test", metrics)
    res = _run(tmp_path / "data", tmp_path / "run", suite, limit=4)
    _check(res)
    assert res["summary"]["mpjpe"]["statistic"] == "MPJPE"
    assert res["summary"]["mpjpe/procrustes"]["statistic"] == "PA-MPJPE"
    # the leaderboard shows the error summary: mE and rE in the robustness table
    from posebench.cli.main import main

    md = tmp_path / "lb.md"
    assert main(["report", str(tmp_path / "run"), "--output", str(md)]) == 0
    text = md.read_text()
    assert "| mPC / mE | rPC / rE (%) | mRR (%) |" in text
    label = "tests.test_robustness_families:PixelJitter"
    for metric, name in (
        ("mpjpe", label),
        ("mpjpe/procrustes", f"{label} (mpjpe/procrustes PA-MPJPE)"),
    ):
        s = res["summary"][metric]
        section = text[text.index("### Robustness versus severity") :]
        row = next(line for line in section.splitlines() if line.startswith(f"| {name} |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1] == f"{s['clean']:.1f}"
        assert cells[-3:] == [f"{s['mE']:.1f}", f"{100 * s['rE']:.1f}", "—"]


# ------------------------------------------------------------------------- one declaration


def test_every_family_declares_its_direction_once() -> None:
    from posebench.suite import METRICS

    for name, info in METRICS.items():
        assert info.higher_is_better is FAMILIES[name].higher_is_better, name
    assert FAMILIES["mpjpe"].higher_is_better is False
    assert robustness.higher_is_better("mpjpe/procrustes") is False
    assert robustness.higher_is_better("pckh@0.5") is True
    with pytest.raises(KeyError, match="unknown metric family 'nope'"):
        robustness.higher_is_better("nope@1")


def test_mpc_corruption_set_is_declared_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # robustness reads the corruption table's own tuple, and spells no corruption name itself
    assert robustness.BENCHMARK_CORRUPTIONS is corruptions.BENCHMARK_CORRUPTIONS
    source = inspect.getsource(robustness)
    assert not [n for n in corruptions.CORRUPTIONS if f'"{n}"' in source]
    assert len(corruptions.BENCHMARK_CORRUPTIONS) == 15
    assert set(corruptions.BENCHMARK_CORRUPTIONS) <= set(corruptions.CORRUPTIONS)
    extra = tuple(n for n in corruptions.CORRUPTIONS if n not in corruptions.BENCHMARK_CORRUPTIONS)
    assert extra == corruptions.EXTRA_CORRUPTIONS
    # a change of the one declaration changes what mPC averages
    conds = {"clean": {"kind": "clean", "name": "clean", "severity": 0,
                       "metrics": {"oks": {"values": {"AP": 0.8}}}}}  # fmt: skip
    for i, n in enumerate(("fog", "speckle_noise")):
        conds[n] = {"kind": "corruption", "name": n, "severity": 1,
                    "metrics": {"oks": {"values": {"AP": 0.5 + 0.1 * i}}}}  # fmt: skip
    assert summarize(conds)["oks"]["mPC"] == pytest.approx(0.5)
    monkeypatch.setattr(corruptions, "BENCHMARK_CORRUPTIONS", ("fog", "speckle_noise"))
    assert summarize(conds)["oks"]["mPC"] == pytest.approx(0.55)
