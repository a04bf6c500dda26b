"""The torchmetrics ``Metric`` forms (``posebench.integrations.torchmetrics``), for real in CI.

CI installs PyPI's torchvision beside the CPU torch (ultralytics' version check wants it); its
compiled ops do not load there, and ``import torchmetrics`` imports it and fails. These tests run
the torchmetrics classes in a child interpreter with ``tests/no_torchvision`` first on
``PYTHONPATH``: its ``sitecustomize`` hides torchvision from imports, ``find_spec`` and
``importlib.metadata``, which is exactly an environment without torchvision. The numbers come
back as JSON (exact for float64) and must equal pycocotools and the batch ``posebench.score`` bit
for bit. Only a torchmetrics that is not installed at all skips, and under
``POSEBENCH_REQUIRE_REFERENCES=1`` (CI) that fails instead.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import posebench
from posebench.metrics import cocoeval
from posebench.samples import sample_path
from posebench.skeletons import CROWDPOSE14
from tests import torchmetrics_checks as checks
from tests.refeval import pycocotools_eval, xtcocotools_crowd_eval

ROOT = Path(__file__).resolve().parent.parent
HIDE = Path(__file__).resolve().parent / "no_torchvision"


def _env() -> dict[str, str]:
    if importlib.util.find_spec("torchmetrics") is None:
        msg = "torchmetrics is not installed; pip install torchmetrics (the [test] extra)"
        if os.environ.get("POSEBENCH_REQUIRE_REFERENCES") == "1":
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    path = os.pathsep.join([str(HIDE), str(ROOT), os.environ.get("PYTHONPATH", "")])
    return dict(os.environ, PYTHONPATH=path.rstrip(os.pathsep), OMP_NUM_THREADS="1")


def _child(what: str, out: Path, timeout: float) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "tests.torchmetrics_checks", what, str(out)],
        capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=timeout, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-4000:]


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal dicts of numbers, NaN equal to NaN (JSON gives NaN back as a float NaN)."""

    def eq(x: Any, y: Any) -> bool:
        if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
            return True
        return bool(x == y)

    return a.keys() == b.keys() and all(eq(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def reference() -> dict[str, dict[str, Any]]:
    """pycocotools' COCO stats and the batch ``posebench.score`` of every other metric."""
    coco = pycocotools_eval(sample_path("coco-val2017-4"), sample_path("coco-val2017-4-results"))
    d = checks.mpii()
    pred, gt, mask = checks.poses3d()
    ref: dict[str, dict[str, Any]] = {
        "oks-coco": dict(zip(cocoeval.COCO_STATS, coco.stats.tolist(), strict=True)),
        "pckh": posebench.score(d["pred"], d["gt"], metric="pckh", visible=d["visible"],
                                headboxes=d["headboxes"]).values,
        "pck": posebench.score(d["pred"], d["gt"], metric="pck", visible=d["visible"],
                               boxes=d["boxes"], skeleton="mpii16").values,
    }  # fmt: skip
    for name in ("mpjpe", "pa-mpjpe", "n-mpjpe"):
        ref[name] = posebench.score(pred, gt, metric=name, mask=mask).values
    return ref


def test_the_child_interpreter_hides_torchvision_only() -> None:
    """What torchmetrics probes answers "not installed" for torchvision, and only for it."""
    code = (
        "import importlib.util as u, importlib.metadata as md, json\n"
        "from lightning_utilities.core.imports import RequirementCache, package_available\n"
        "try:\n    md.version('torchvision'); v = True\nexcept md.PackageNotFoundError:\n"
        "    v = False\n"
        "try:\n    import torchvision; imp = True\nexcept ImportError:\n    imp = False\n"
        "import torchmetrics\n"
        "print(json.dumps([u.find_spec('torchvision') is None, v, imp,"
        " bool(RequirementCache('torchvision')), package_available('torchvision'),"
        " bool(RequirementCache('torch')), md.version('numpy') != '',"
        " any(d.metadata['Name'] == 'torchvision' for d in md.distributions())]))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=_env(), cwd=ROOT, timeout=120, check=False)  # fmt: skip
    assert run.returncode == 0, run.stderr[-4000:]
    assert json.loads(run.stdout) == [True, False, False, False, False, True, True, False]


def test_torchmetrics_classes_in_random_batches(
    tmp_path: Path, reference: dict[str, dict[str, Any]]
) -> None:
    out = tmp_path / "batches.json"
    _child("batches", out, timeout=240)
    got = json.loads(out.read_text())
    # CrowdPose: xtcocotools' keypoints_crowd on the predictions the child scored
    crowd = xtcocotools_crowd_eval(
        checks.CROWDPOSE_GT, tmp_path / "crowdpose-res.json", CROWDPOSE14.oks_sigmas()
    )
    reference = {
        **reference,
        "oks-crowdpose": dict(zip(cocoeval.CROWDPOSE_STATS, crowd.stats.tolist(), strict=True)),
    }
    for name, ref in reference.items():
        assert len(got[name]) == len(checks.SEEDS)
        for seed, values in zip(checks.SEEDS, got[name], strict=True):
            assert _same(values, ref), (name, seed, values, ref)
    # the numbers are the metric's, not a constant: PCKh is bearpaw hg_s2's published mean
    assert round(got["pckh"][0]["PCKh_joint_avg"], 2) == 86.76
    assert np.isfinite(got["pa-mpjpe"][0]["PA-MPJPE"])


@pytest.mark.slow
def test_torchmetrics_sync_on_two_gloo_ranks(
    tmp_path: Path, reference: dict[str, dict[str, Any]]
) -> None:
    """Each rank updates its half; torchmetrics gathers the states in ``compute``: every rank
    gets the numbers of one batch call (pycocotools' for OKS)."""
    _child("ranks", tmp_path, timeout=300)
    for rank in (0, 1):
        got = json.loads((tmp_path / f"rank{rank}.json").read_text())
        for name in ("oks-coco", "pckh", "pa-mpjpe"):
            assert _same(got[name], reference[name]), (rank, name)
