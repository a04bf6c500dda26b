"""``posebench examine``: a run folder in the runner's format with the examiner section, failure
images and per-sample records; input errors exit 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch", reason="the examiner needs torch")
pytest.importorskip("smplx", reason="the examiner's body model needs smplx")
pytest.importorskip("gymnasium", reason="the examiner's environment needs gymnasium")

from PIL import Image

from posebench.cli.main import main
from posebench.results import SCHEMA, read_results_json, read_samples
from tests.conftest import reference

PLANTED = "tests.fake_examiner_adapters:RaisedRightArmBlind"
SMALL = ["--size", "64", "--agents", "3", "--rollouts", "6", "--max-iters", "10",
         "--space", "camera", "--include", "right_shoulder,right_elbow"]  # fmt: skip


def test_examine_writes_a_run_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "exam"
    code = main(["examine", "--adapter", PLANTED, "--body", "mannequin", "--budget", "150",
                 "--device", "cpu", "--output", str(out), "--seed", "1", *SMALL])  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    assert "success" in text
    res = read_results_json(out)
    assert res["schema"] == SCHEMA
    assert res["adapter"]["name"] == PLANTED
    assert len(res["adapter"]["signature"]) == 12
    ex = res["examiner"]
    assert ex["body"] == "mannequin"
    assert ex["seed"] == 1
    assert ex["budget"] == 150
    assert 0 < ex["queries"] <= 150
    assert len(ex["failure_modes"]) == len(ex["regions"]) >= 1
    assert ex["success_rate"] == pytest.approx(ex["successes"] / 3)
    assert ex["successes"] == ex["stats"]["agents_with_failure"] >= 1
    assert len(ex["stats"]["iterations_per_agent"]) == 3
    # the random baseline ran beside the search at the same budget
    assert ex["baseline"]["method"] == "random"
    assert 0 < ex["baseline"]["stats"]["queries"] <= 150
    assert "random" in text
    assert "failures per query" in text
    names = {d["name"] for d in ex["dimensions"]}
    assert "right_shoulder.z" in names
    assert "camera.azimuth" in names
    for fm in ex["failure_modes"]:
        assert fm["error"] >= ex["threshold"]
        assert set(fm["params"]) == names
        for key in ("image", "region_image"):
            img = Image.open(out / fm[key])
            assert img.mode == "RGB"
            assert min(img.size) >= 64
        lo, hi = fm["region"]["right_shoulder.z"]
        assert lo <= fm["params"]["right_shoulder.z"] <= hi
    rows = read_samples(out / "samples.parquet")
    # every proposed scene is a row; bodies out of balance were rejected (no query, NaN error)
    assert len(rows["error"]) == ex["queries"] + ex["scene"]["rejected"]
    assert np.isnan(rows["error"]).sum() == ex["scene"]["rejected"]
    assert set(rows["phase"]) <= {"search", "region", "verify"}
    np.testing.assert_array_equal(rows["failure"], rows["error"] >= ex["threshold"])
    assert rows["camera.azimuth"].min() >= -180
    assert rows["camera.azimuth"].max() <= 180


def test_examine_auto_threshold_with_the_oracle(tmp_path: Path) -> None:
    # the default body: anny
    reference("anny", "pip install 'anny==0.6.2'  (the [examiner] extra)")
    out = tmp_path / "oracle"
    code = main(["examine", "--adapter", "oracle", "--budget", "120", "--output", str(out),
                 "--threshold", "auto", *SMALL])  # fmt: skip
    assert code == 0
    ex = read_results_json(out)["examiner"]
    assert ex["success_rate"] == 0.0
    assert ex["failure_modes"] == []
    assert ex["calibration"]["samples"] > 0
    assert ex["threshold"] == pytest.approx(0.5)  # the oracle's ordinary error is 0
    assert not list((out / "failures").glob("*.png"))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--budget", "0"], "--budget"),
        (["--body", "/nonexistent/SMPL.pkl"], "--body"),
        (["--space", "poses"], "unknown group"),
        (["--include", "right_shoulderz"], "unknown dimension"),
        (["--threshold", "high"], "--threshold"),
    ],
)
def test_examine_input_errors_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    args = ["examine", "--adapter", "oracle", "--budget", "10", "--output", str(tmp_path / "x"),
            "--size", "64", *extra]  # fmt: skip
    try:
        rc = main(args)
    except SystemExit as e:  # refused by the flag's argparse type (--budget 0)
        rc = int(e.code or 0)
    assert rc == 2
    assert message in capsys.readouterr().err
