"""The low-light suite is graded: a real model (mediapipe, top-down on the GT boxes) on the first
12 images of the embedded sample loses AP at every graded severity of ``physics``, from mildly
dim (about the clean AP) to the ExLPose LL-Extreme level (nothing found), while the
ExLPose-calibrated levels are black to it from their mildest (LL-Normal) on.

Measured here (mediapipe 0.10.21, CPU, seed 0): clean 0.251; physics 1-5: 0.240, 0.193, 0.171,
0.136, 0.000; exlpose_raw 1 (LL-Normal median): 0.000. Over all 36 images see the README.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from posebench.results import read_results_json
from posebench.runner import RunOptions, run
from tests.conftest import reference

SUITE = """\
name: lowlight-graded
dataset: coco-sample
boxes: gt
batch_size: 12
metrics:
  - {name: oks, mode: coco}
conditions:
  - clean
  - {lowlight: physics}
  - {lowlight: exlpose_raw, severities: [1]}
seed: 0
"""


@pytest.mark.slow
def test_mediapipe_ap_falls_at_every_graded_lowlight_severity(tmp_path: Path) -> None:
    reference(
        "mediapipe", "pip install mediapipe==0.10.21 --no-deps && pip install -e '.[mediapipe]'"
    )
    suite = tmp_path / "lowlight.yaml"
    suite.write_text(SUITE)
    opts = RunOptions(
        adapter="mediapipe", suite=str(suite), output=tmp_path / "r", n_boot=0, limit=12
    )
    res = read_results_json(run(opts))
    ap = {k: c["metrics"]["oks"]["values"]["AP"] for k, c in res["conditions"].items()}
    clean = ap["clean"]
    graded = [ap[f"physics@{s}"] for s in range(1, 6)]
    assert clean > 0.2, clean
    # mildly dim at 1: close to clean; then lower at every step; nothing at ExLPose-extreme
    assert 0.85 * clean <= graded[0] <= clean + 0.02, (clean, graded)
    assert all(a > b for a, b in itertools.pairwise(graded)), graded
    assert graded[3] > 0.2 * clean, graded  # still graded at 4 (6.5 stops under)
    assert graded[4] < 0.02, graded
    # the ExLPose levels are black to a well-lit model already at LL-Normal
    assert ap["exlpose_raw@1"] < 0.02
    # the level set is recorded with the numbers
    rec = res["conditions"]["physics@1"]["implementation"]
    assert rec["levels"] == "graded"
    assert rec["exposure"][:4] == [0.25, 0.0883883476, 0.03125, 0.0110485435]
    assert res["conditions"]["exlpose_raw@1"]["implementation"]["levels"] == "exlpose"
    by_cond = res["summary"]["oks"]["by_condition"]["physics"]
    assert [by_cond[str(s)] for s in range(1, 6)] == pytest.approx(graded)
