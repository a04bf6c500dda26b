"""Training-loop glue: two real ranks (gloo), the mmpose-style metric and the ultralytics-style
callback, each against pycocotools on the embedded sample (the torchmetrics classes:
tests/test_torchmetrics.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from posebench.formats import coco
from posebench.metrics import cocoeval
from posebench.metrics.stateful import OKSAveragePrecision, coco_updates
from posebench.samples import sample_path
from tests.refeval import pycocotools_eval

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples/oks_two_ranks.py"
GT, RES = sample_path("coco-val2017-4"), sample_path("coco-val2017-4-results")


@pytest.fixture(scope="module")
def reference() -> list[float]:
    ref: list[float] = pycocotools_eval(GT, RES).stats.tolist()
    return ref


@pytest.mark.slow
def test_readme_example_two_gloo_ranks_equal_pycocotools(reference: list[float]) -> None:
    """The README's ten lines, run by torchrun as two processes on the gloo backend."""
    pytest.importorskip("torch.distributed")
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         str(EXAMPLE)],
        capture_output=True, text=True, env=env, timeout=240, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    line = next(x for x in out.stdout.splitlines() if x.startswith("{"))
    stats = json.loads(line)
    assert [stats[k] for k in cocoeval.COCO_STATS] == reference


def _rank(rank: int, folder: str) -> None:
    """One of two gloo ranks: ``sync()`` of the plain classes (torchmetrics' own sync:
    tests/test_torchmetrics.py)."""
    import torch.distributed as dist

    from posebench.metrics.stateful import PAMPJPE

    dist.init_process_group("gloo", init_method=f"file://{folder}/rdv", rank=rank, world_size=2)
    ups = _updates()
    mine = [u for i, u in enumerate(ups) if i % 2 == rank]
    plain = OKSAveragePrecision()
    plain.update([p for p, _ in mine], [t for _, t in mine])
    plain.sync()
    gt, pred = _poses3d()
    rows = np.arange(len(gt))[rank::2]
    pa = PAMPJPE()
    pa.update(pred[rows], gt[rows], ids=rows)
    pa.sync()
    out = {"plain": plain.compute(), "pa": pa.compute()}
    Path(folder, f"rank{rank}.json").write_text(json.dumps(out))
    dist.destroy_process_group()


def _poses3d() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    gt = rng.normal(0, 300, (40, 17, 3))
    return gt, gt + rng.normal(0, 30, gt.shape)


@pytest.mark.slow
def test_two_gloo_ranks_sync(tmp_path: Path, reference: list[float]) -> None:
    import torch.multiprocessing as mp

    import posebench

    mp.spawn(_rank, args=(str(tmp_path),), nprocs=2, join=True)
    gt, pred = _poses3d()
    pa = posebench.score(pred, gt, metric="pa-mpjpe").values
    for rank in (0, 1):
        out = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert [out["plain"][k] for k in cocoeval.COCO_STATS] == reference, rank
        assert out["pa"] == pa


def test_readme_shows_the_example_verbatim() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    body = EXAMPLE.read_text(encoding="utf-8").split('"""\n\n', 1)[1]
    assert body.strip() in readme


def _updates() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    gt = coco.read_gt(GT)
    return list(coco_updates(coco.read_results(RES, gt), gt.poses, gt.images))


def test_mmpose_style_metric_equals_pycocotools(reference: list[float]) -> None:
    from posebench.integrations import MMPoseCocoMetric, mmpose_samples

    samples = mmpose_samples(json.loads(RES.read_text()), json.loads(GT.read_text()))
    metric = MMPoseCocoMetric()
    # top-down style: one sample per detection, in two batches
    split: list[dict[str, Any]] = []
    for s in samples:
        p = s["pred_instances"]
        for j in range(len(p["scores"])):
            one = {k: v[j : j + 1] for k, v in p.items()}
            split.append({**s, "pred_instances": one})
    metric.process({}, split[: len(split) // 2])
    metric.process({}, split[len(split) // 2 :])
    out = metric.evaluate(len(split))
    assert [out[f"posebench/{k}"] for k in cocoeval.COCO_STATS] == reference
    assert metric.results == []


def test_validator_callback_on_a_fake_validator(reference: list[float]) -> None:
    from posebench.integrations import ValidatorCallback

    class Validator:  # the parts of ultralytics' BaseValidator the callback uses
        def __init__(self) -> None:
            self.callbacks: dict[str, list[Any]] = {}
            self.seen = 0

        def add_callback(self, event: str, fn: Any) -> None:
            self.callbacks.setdefault(event, []).append(fn)

        def update_metrics(self, preds: Any, batch: Any) -> None:
            self.seen += len(preds)

        def __call__(self, batches: list[Any]) -> None:
            for fn in self.callbacks["on_val_start"]:
                fn(self)
            for preds, batch in batches:
                self.update_metrics(preds, batch)
            for fn in self.callbacks["on_val_end"]:
                fn(self)

    ups = _updates()
    batches = [([p for p, _ in ups[i : i + 2]], [t for _, t in ups[i : i + 2]])
               for i in range(0, len(ups), 2)]  # fmt: skip
    v = Validator()
    cb = ValidatorCallback(OKSAveragePrecision(), lambda preds, batch: (preds, batch))
    cb.attach(v)
    v(batches)
    assert v.seen == len(ups)
    assert [v.posebench_metrics[f"posebench/{k}"] for k in cocoeval.COCO_STATS] == reference
    v(batches)  # a second pass starts from zero
    assert [v.posebench_metrics[f"posebench/{k}"] for k in cocoeval.COCO_STATS] == reference
