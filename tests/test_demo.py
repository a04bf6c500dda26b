"""``posebench demo``: the README's main job, mediapipe on the embedded sample, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from posebench.cli.main import main
from posebench.results import read_samples
from tests.conftest import reference


def test_demo_scores_mediapipe_on_the_embedded_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reference(
        "mediapipe", "pip install mediapipe==0.10.21 --no-deps && pip install -e '.[mediapipe]'"
    )
    out = tmp_path / "demo"
    assert main(["demo", "--output", str(out), "--ci", "200"]) == 0
    text = capsys.readouterr().out
    assert "AP " in text
    assert str(out) in text
    res = json.loads((out / "results.json").read_text())
    block = res["conditions"]["clean"]["metrics"]["oks"]
    # the band pinned by tests/test_adapter_mediapipe.py (measured 0.2456), through the runner
    assert 0.20 <= block["values"]["AP"] <= 0.29
    assert block["ci"]["AP"]["low"] < block["values"]["AP"] < block["ci"]["AP"]["high"]
    assert res["adapter"]["info"]["architecture"].startswith("BlazePose")
    assert res["box_source"] == "gt"
    assert res["dataset"]["images"] == 36
    assert set(block["breakdowns"]) == {"crowd", "size", "keypoints"}
    samples = read_samples(out / "samples.parquet")
    assert len(samples["image_id"]) == 36
