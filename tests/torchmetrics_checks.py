"""The torchmetrics ``Metric`` forms, exercised in an interpreter that hides torchvision.

Run by ``tests/test_torchmetrics.py`` as ``python -m tests.torchmetrics_checks WHAT OUT`` with
``tests/no_torchvision`` first on ``PYTHONPATH`` (see its ``sitecustomize``); prints nothing,
writes JSON to ``OUT`` (exact floats: JSON keeps a float64 bit for bit). The test compares the
numbers with pycocotools and the batch :func:`posebench.score` in its own interpreter.

- ``batches OUT``: every torchmetrics class, fed in random batch orders (three seeds, uneven
  batches, ``reset`` between seeds);
- ``ranks OUT_DIR``: two gloo ranks (``torch.multiprocessing.spawn``), each updating its share;
  torchmetrics' own sync gathers the states inside ``compute``; each rank writes
  ``rankN.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

SEEDS = (0, 1, 2)


CROWDPOSE_GT = Path(__file__).resolve().parent / "data" / "crowdpose" / "test_crowdpose.json"


def oks_updates(
    gt_path: Path | None = None, res_path: Path | None = None
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Per-image updates of a COCO-format pair (default: the embedded 4-image sample)."""
    from posebench.formats import coco
    from posebench.metrics.stateful import coco_updates
    from posebench.samples import sample_path

    gt = coco.read_gt(gt_path or sample_path("coco-val2017-4"))
    res = coco.read_results(res_path or sample_path("coco-val2017-4-results"), gt)
    return list(coco_updates(res, gt.poses, gt.images))


def crowdpose_results(folder: Path) -> Path:
    """Noisy predictions for tests/data/crowdpose (seed 5), written to ``folder``."""
    from tests.predgen import noisy_predictions

    res = folder / "crowdpose-res.json"
    res.write_text(json.dumps(noisy_predictions(json.loads(CROWDPOSE_GT.read_text()), 5)))
    return res


def mpii() -> dict[str, np.ndarray]:
    """MPII GT of tests/data/mpii and bearpaw's predictions; PCK boxes from the visible joints."""
    from posebench.formats.mpii import load_mpii_gt, load_mpii_predictions

    data = Path(__file__).resolve().parent / "data" / "mpii"
    g = load_mpii_gt(data / "detections_our_format.mat")
    pred = load_mpii_predictions(data / "bearpaw_hg_s2_b1_preds.mat")
    xy = np.where(g.visible[:, :, None], g.keypoints, np.nan)
    lo, hi = np.nanmin(xy, axis=1), np.nanmax(xy, axis=1)
    return {
        "pred": np.asarray(getattr(pred, "keypoints", pred), dtype=np.float64),
        "gt": np.asarray(g.keypoints, np.float64),
        "visible": np.asarray(g.visible, bool),
        "headboxes": np.asarray(g.headboxes, np.float64),
        "boxes": np.concatenate([lo, hi - lo], axis=1),
    }


def poses3d() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    gt = rng.normal(0, 300, (40, 17, 3))
    mask = rng.random((40, 17)) > 0.1
    return gt + rng.normal(0, 30, gt.shape), gt, mask


def _batches(n: int, seed: int) -> list[np.ndarray]:
    """A random order of ``n`` rows cut into uneven batches."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    cuts = np.sort(rng.choice(np.arange(1, n), size=min(6, n - 1), replace=False))
    return np.split(order, cuts)


def batches(out: Path) -> None:
    import torchmetrics

    from posebench.integrations import torchmetrics as tmi

    res: dict[str, Any] = {"torchmetrics": torchmetrics.__version__}
    ups = oks_updates()
    m_oks = tmi.OKSAveragePrecision()
    crowd = oks_updates(CROWDPOSE_GT, crowdpose_results(out.parent))
    for name, m, updates in (
        ("oks-coco", m_oks, ups),
        ("oks-crowdpose", tmi.OKSAveragePrecision(metric_kwargs={"mode": "crowdpose"}), crowd),
    ):
        res[name] = []
        for seed in SEEDS:
            for rows in _batches(len(updates), seed):
                m.update([updates[j][0] for j in rows], [updates[j][1] for j in rows])
            res[name].append(m.compute())
            m.reset()
    d = mpii()
    ids = np.arange(len(d["gt"]))
    single: list[tuple[str, Any, tuple[str, ...]]] = [
        ("pckh", tmi.PCKh(), ("visible", "headboxes")),
        ("pck", tmi.PCK(metric_kwargs={"skeleton": "mpii16"}), ("visible", "boxes")),
    ]
    for name, m, extra in single:
        res[name] = []
        for seed in SEEDS:
            for r in _batches(len(ids), seed):
                m.update(d["pred"][r], d["gt"][r], ids=ids[r], **{k: d[k][r] for k in extra})
            res[name].append(m.compute())
            m.reset()
    pred, gt, mask = poses3d()
    ids = np.arange(len(gt))
    for name, m in (("mpjpe", tmi.MPJPE()), ("pa-mpjpe", tmi.PAMPJPE()),
                    ("n-mpjpe", tmi.NMPJPE())):  # fmt: skip
        res[name] = []
        for seed in SEEDS:
            for r in _batches(len(ids), seed):
                m.update(pred[r], gt[r], mask=mask[r], ids=ids[r])
            res[name].append(m.compute())
            m.reset()
    out.write_text(json.dumps(res))


def _rank(rank: int, folder: str) -> None:
    import torch.distributed as dist

    from posebench.integrations import torchmetrics as tmi

    dist.init_process_group("gloo", init_method=f"file://{folder}/rdv", rank=rank, world_size=2)
    ups = oks_updates()
    oks = tmi.OKSAveragePrecision()
    for i, (p, t) in enumerate(ups):
        if i % 2 == rank:
            oks.update([p], [t])
    d = mpii()
    rows = np.arange(len(d["gt"]))[rank::2]
    pckh = tmi.PCKh()
    pckh.update(d["pred"][rows], d["gt"][rows], visible=d["visible"][rows],
                headboxes=d["headboxes"][rows], ids=rows)  # fmt: skip
    pred, gt, mask = poses3d()
    rows = np.arange(len(gt))[rank::2]
    pa = tmi.PAMPJPE()
    pa.update(pred[rows], gt[rows], mask=mask[rows], ids=rows)
    out = {"oks-coco": oks.compute(), "pckh": pckh.compute(), "pa-mpjpe": pa.compute()}
    Path(folder, f"rank{rank}.json").write_text(json.dumps(out))
    dist.destroy_process_group()


def ranks(folder: Path) -> None:
    import torch.multiprocessing as mp

    mp.spawn(_rank, args=(str(folder),), nprocs=2, join=True)


if __name__ == "__main__":
    what, where = sys.argv[1], Path(sys.argv[2])
    {"batches": batches, "ranks": ranks}[what](where)
