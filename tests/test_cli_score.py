"""`posebench score`: the table, the JSON contract and the CrowdPose mode, end to end."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from posebench.cli.main import main
from tests.conftest import DATA

SAMPLE = ["--gt", "sample:coco-val2017-4", "--pred", "sample:coco-val2017-4-results"]


def test_json_output_contract(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", *SAMPLE, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out["metrics"]) == [
        "AP",
        "AP50",
        "AP75",
        "APm",
        "APl",
        "AR",
        "AR50",
        "AR75",
        "ARm",
        "ARl",
    ]
    # pycocotools 2.0.11 and xtcocotools 1.14.3 both give 0.86089 on this real pair
    assert round(out["metrics"]["AP"], 5) == 0.86089
    assert out["signature"].startswith("oks|mode:coco|sigmas:coco17|scale:area|maxdets:20")
    assert set(out["timings"]) == {"load_gt", "load_pred", "evaluate", "total"}


def test_table_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", *SAMPLE]) == 0
    out = capsys.readouterr().out
    assert "AP       86.089" in out
    assert "signature: oks|mode:coco" in out
    # aligned: every value ends in the same column (AR50 is 100.000, seven characters)
    rows = out.split("\n\n")[0].splitlines()
    assert rows[0] == "metric    value"
    assert {len(r) for r in rows} == {len("metric    value")}


def test_crowdpose_mode_keys(capsys: pytest.CaptureFixture[str]) -> None:
    gt = str(DATA / "crowdpose/test_crowdpose.json")
    # ground truth as predictions: every defined number is 1
    d = json.loads((DATA / "crowdpose/test_crowdpose.json").read_text())
    res = [
        {"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"], "score": 1.0}
        for a in d["annotations"]
        if a["num_keypoints"] > 0
    ]
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(res, f)
    assert (
        main(["score", "--gt", gt, "--pred", f.name, "--mode", "crowdpose", "--format", "json"])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert list(out["metrics"]) == [
        "AP",
        "AP50",
        "AP75",
        "AR",
        "AR50",
        "AR75",
        "AP_easy",
        "AP_medium",
        "AP_hard",
    ]
    assert out["metrics"]["AP"] == 1.0
    # both images have crowd index 0.33/0.39: medium; easy and hard are empty buckets, which
    # xtcocotools reports as -1 (its mean over -1 entries), kept by default for parity
    assert out["metrics"]["AP_medium"] == 1.0
    assert out["metrics"]["AP_easy"] == -1.0
    assert out["metrics"]["AP_hard"] == -1.0
    assert "buckets:xtcocotools" in out["signature"]
    assert (
        main(
            [
                "score",
                "--gt",
                gt,
                "--pred",
                f.name,
                "--mode",
                "crowdpose",
                "--format",
                "json",
                "--crowd-ap",
                "valid",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["metrics"]["AP_easy"] is None  # NaN -> null in JSON


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", *SAMPLE, "--sigmas", "0.1,0.2"]) == 2
    assert "2 sigmas for 17 keypoints" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["score", "--gt", "x"])
    assert e.value.code == 2


def test_console_script_runs_without_torch() -> None:
    code = (
        "import sys; from posebench.cli.main import main; rc = main(['score', '--gt', "
        "'sample:coco-val2017-4', '--pred', 'sample:coco-val2017-4-results', '--format', 'json']); "
        "assert 'torch' not in sys.modules, 'torch imported on the score path'; sys.exit(rc)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def test_errors_flag_reports_analysis(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", *SAMPLE, "--format", "json", "--errors"]) == 0
    out = json.loads(capsys.readouterr().out)
    e = out["error_analysis"]
    assert set(e["counts"]) == {"good", "jitter", "inversion", "swap", "miss"}
    assert sum(e["counts"].values()) == e["labelled_keypoints"] > 0
    assert e["AP"] == out["metrics"]["AP"]
    assert e["AP_gain"]["keypoints_all"] > 0
    assert main(["score", *SAMPLE, "--errors"]) == 0
    assert "AP gained by fixing" in capsys.readouterr().out


def test_ci_and_breakdowns(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["score", *SAMPLE, "--format", "json", "--ci", "200", "--seed", "3"]
    assert main([*argv, "--breakdown", "size,keypoints,crowd"]) == 0
    out = json.loads(capsys.readouterr().out)
    for k, ci in out["ci"].items():
        assert ci["estimate"] == out["metrics"][k]  # the point estimate is the headline number
        assert ci["low"] <= ci["estimate"] <= ci["high"]
        assert ci["n_boot"] == 200
    assert out["ci"]["AP"]["high"] > out["ci"]["AP"]["low"]
    b = out["breakdowns"]
    assert b["size"]["all"]["AP"] == out["metrics"]["AP"]
    assert b["size"]["medium"]["AP"] == out["metrics"]["APm"]
    assert b["size"]["large"]["AP"] == out["metrics"]["APl"]
    assert set(b["crowd"]) == {"all", "easy", "medium", "hard"}
    assert main(argv) == 0  # same seed, same interval
    again = json.loads(capsys.readouterr().out)
    assert again["ci"] == out["ci"]
    assert main(["score", *SAMPLE, "--breakdown", "colour"]) == 2
    assert "unknown breakdown" in capsys.readouterr().err
