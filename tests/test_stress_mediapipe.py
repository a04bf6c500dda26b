"""Stress conditions end to end: the real model (mediapipe) on the embedded sample degrades with
severity, and the robustness summary is written."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from posebench.results import read_results_json
from posebench.runner import RunOptions, run
from tests.conftest import reference

SUITE = """\
name: stress-test
dataset: coco-sample
boxes: gt
batch_size: 8
metrics:
  - {name: oks, mode: coco}
conditions:
  - clean
  - {corruption: gaussian_noise, severities: [1, 3, 5]}
  - {corruption: motion_blur, severities: [1, 3, 5]}
  - {corruption: contrast, severities: [1, 3, 5]}
seed: 0
"""


def test_mediapipe_ap_falls_with_corruption_severity(tmp_path: Path) -> None:
    reference(
        "mediapipe", "pip install mediapipe==0.10.21 --no-deps && pip install -e '.[mediapipe]'"
    )
    suite = tmp_path / "stress.yaml"
    suite.write_text(SUITE)
    res = read_results_json(
        run(RunOptions(adapter="mediapipe", suite=str(suite), output=tmp_path / "r", n_boot=0))
    )
    s = res["summary"]["oks"]
    by_sev = {int(k): v for k, v in s["by_severity"].items()}
    assert by_sev[5] < by_sev[3] < by_sev[1] <= s["clean"] + 0.02, (s["clean"], by_sev)
    assert by_sev[5] < 0.6 * s["clean"]
    assert s["mPC"] is not None
    assert 0 < s["rPC"] < 1
    assert s["mPC_corruptions"] == 3
    # every corruption hurts at its worst severity
    for name in ("gaussian_noise", "motion_blur", "contrast"):
        assert s["by_condition"][name]["5"] < s["clean"], name
    aps = [c["metrics"]["oks"]["values"]["AP"] for c in res["conditions"].values()]
    assert np.isfinite(aps).all()
