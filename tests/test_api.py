"""The stable API: ``posebench.score/run/examine`` give what the CLI gives; bad input is an
InputError naming the field."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import posebench
from posebench.cli.main import main
from posebench.errors import InputError
from posebench.formats import read_gt, read_results
from posebench.results import read_results_json
from posebench.samples import sample_path

GT, RES = sample_path("coco-val2017-4"), sample_path("coco-val2017-4-results")


def test_score_files_equal_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    for metric, mode in (("oks-coco", "coco"), ("oks-crowdpose", "crowdpose")):
        s = posebench.score(RES, GT, metric=metric, sigmas="coco17")
        assert main(["score", "--gt", str(GT), "--pred", str(RES), "--mode", mode,
                     "--sigmas", "coco17", "--format", "json"]) == 0  # fmt: skip
        cli = json.loads(capsys.readouterr().out)
        assert s.as_dict()["metrics"] == cli["metrics"]
        assert s.signature == cli["signature"]
        assert s.headline == "AP"
        assert s.higher_is_better


def test_score_posesets_equal_files() -> None:
    gt = read_gt(GT)
    dt = read_results(RES, gt)
    by_path = posebench.score(RES, GT)
    assert posebench.score(dt, gt).values == by_path.values
    # a bare PoseSet GT: the images are given (or every id of gt and preds)
    assert posebench.score(dt, gt.poses, images=gt.images).values == by_path.values
    assert str(by_path) == "oks-coco AP 86.1"


def test_score_bad_input() -> None:
    with pytest.raises(InputError, match="did you mean 'pa-mpjpe'"):
        posebench.score(np.zeros((1, 3, 3)), np.zeros((1, 3, 3)), metric="pa_mpjpe")
    with pytest.raises(InputError, match="field 'preds'"):
        posebench.score(np.zeros((2, 3, 3)), np.zeros((1, 3, 3)), metric="mpjpe")
    with pytest.raises(InputError, match="field 'headboxes'"):
        posebench.score(np.zeros((1, 16, 2)), np.zeros((1, 16, 2)), metric="pckh")
    with pytest.raises(InputError, match="field 'skeleton'"):
        posebench.score(np.zeros((1, 16, 2)), np.zeros((1, 16, 2)), metric="pcp")
    with pytest.raises(InputError, match="field 'sigmas'"):
        posebench.score(RES, GT, sigmas="crowdpose14")
    with pytest.raises(InputError, match="field 'gt'"):
        posebench.score(RES, {"images": []})


def test_pcp_pdj_arrays_equal_the_runner_formulas() -> None:
    from posebench.metrics import pck as pckm
    from posebench.metrics import pcp as pcpm
    from posebench.skeletons import LSP14

    rng = np.random.default_rng(0)
    gt = rng.uniform(0, 200, (30, 14, 2))
    pred = gt + rng.normal(0, 8, gt.shape)
    vis = rng.random((30, 14)) > 0.1
    pcp = posebench.score(pred, gt, metric="pcp", visible=vis, skeleton="lsp14")
    assert pcp.value == 100 * pcpm.pcp(pred, gt, vis, LSP14, alpha=0.5).overall
    pdj = posebench.score(pred, gt, metric="pdj", visible=vis, skeleton="lsp14")
    norm = pckm.normaliser("torso", gt, vis, LSP14)
    assert pdj.value == 100 * pckm.pck(pred, gt, vis, norm, 0.2).overall


def test_run_equals_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    res = posebench.run(adapter="jitter", adapter_args={"noise": 0.05}, suite="demo",
                        output=tmp_path / "api", n_boot=0, limit=4)  # fmt: skip
    assert main(["run", "--adapter", "jitter", "--adapter-arg", "noise=0.05", "--suite", "demo",
                 "--output", str(tmp_path / "cli"), "--ci", "0", "--limit", "4",
                 "--no-progress"]) == 0  # fmt: skip
    capsys.readouterr()
    cli = read_results_json(tmp_path / "cli")
    assert res["conditions"]["clean"]["metrics"] == cli["conditions"]["clean"]["metrics"]
    assert res["adapter"]["signature"] == cli["adapter"]["signature"]


@pytest.mark.slow
def test_examine_equals_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("smplx", reason="the examiner's body model needs smplx")
    pytest.importorskip("gymnasium", reason="the examiner's environment needs gymnasium")
    small = {"size": 64, "agents": 2, "rollouts": 4, "max_iters": 4, "space": ("camera",),
             "budget": 40, "seed": 3}  # fmt: skip
    adapter = "tests.fake_examiner_adapters:RaisedRightArmBlind"
    res = posebench.examine(adapter=adapter, output=tmp_path / "api", **small)  # type: ignore[arg-type]
    assert main(["examine", "--adapter", adapter, "--output", str(tmp_path / "cli"),
                 "--size", "64", "--agents", "2", "--rollouts", "4", "--max-iters", "4",
                 "--space", "camera", "--budget", "40", "--seed", "3"]) == 0  # fmt: skip
    capsys.readouterr()
    cli = read_results_json(tmp_path / "cli")["examiner"]
    ex = res["examiner"]
    for key in ("queries", "threshold", "success_rate", "successes", "seed", "budget"):
        assert ex[key] == cli[key], key
    assert [f["error"] for f in ex["failure_modes"]] == [f["error"] for f in cli["failure_modes"]]


def test_doctests_of_the_api_modules() -> None:
    """The examples in the API reference run (CI also runs pytest --doctest-modules on them)."""
    import doctest
    import importlib

    for name in ("posebench.api", "posebench.formats", "posebench.metrics.table",
                 "posebench.metrics.stateful", "posebench.integrations"):  # fmt: skip
        mod = importlib.import_module(name)
        result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, name
        assert result.attempted > 0, name


def test_h36m_files_equal_the_cli_and_arrays(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from posebench.formats import load_h36m_npz
    from tests.conftest import DATA

    h36m = DATA / "h36m/test_h36m_body3d.npz"
    ann = load_h36m_npz(h36m).h36m17()
    rng = np.random.default_rng(4)
    pred = ann.joints_3d + rng.normal(0, 0.03, ann.joints_3d.shape)  # metres
    np.save(tmp_path / "pred.npy", pred)
    assert main(["score", "--metric", "mpjpe", "--gt", str(h36m), "--pred",
                 str(tmp_path / "pred.npy"), "--format", "json"]) == 0  # fmt: skip
    cli = json.loads(capsys.readouterr().out)
    for name, key in (("mpjpe", "MPJPE"), ("pa-mpjpe", "PA-MPJPE"), ("n-mpjpe", "N-MPJPE")):
        files = posebench.score(tmp_path / "pred.npy", h36m, metric=name)
        assert files.value == cli["metrics"][key]
        assert files.headline == key
        # the arrays in mm, averaged per action first, give the same number
        arrays = posebench.score(
            pred * 1000, ann.joints_3d * 1000, metric=name, mask=ann.visible_3d,
            actions=ann.action, average="macro",
        )  # fmt: skip
        assert arrays.value == pytest.approx(files.value, rel=1e-12)
    # the files are scored root-relative: absolute MPJPE only from arrays
    with pytest.raises(InputError, match="reports MPJPE, N-MPJPE, PA-MPJPE, not MPJPE-abs"):
        posebench.score(tmp_path / "pred.npy", h36m, metric="mpjpe-abs")


def test_wholebody_equals_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.test_parity_wholebody import _write

    g, r = _write(tmp_path, 3)
    assert main(["score", "--metric", "wholebody", "--gt", str(g), "--pred", str(r),
                 "--format", "json"]) == 0  # fmt: skip
    cli = json.loads(capsys.readouterr().out)
    s = posebench.score(r, g, metric="oks-wholebody")
    assert {k: None if np.isnan(v) else v for k, v in s.values.items()} == cli["metrics"]
    assert s.signature == cli["signature"]
    assert s.value == cli["metrics"]["wholebody/AP"]
