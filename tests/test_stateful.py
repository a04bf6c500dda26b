"""Streaming metrics: any split into batches, any order, two ranks = one batch call, bit for bit,
and the OKS numbers are pycocotools' (COCO) and xtcocotools' (CrowdPose)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import posebench
from posebench.errors import InputError
from posebench.formats import coco
from posebench.metrics import cocoeval
from posebench.metrics.stateful import (
    MPJPE,
    NMPJPE,
    PAMPJPE,
    PCK,
    OKSAveragePrecision,
    PCKh,
    coco_updates,
)
from posebench.samples import sample_path
from posebench.skeletons import CROWDPOSE14
from tests.conftest import DATA
from tests.predgen import noisy_predictions
from tests.refeval import pycocotools_eval, xtcocotools_crowd_eval


def _stream(metric: Any, updates: list[tuple[Any, Any]], seed: int, ranks: int = 2) -> Any:
    """Shuffle per-image updates, batch them unevenly, deal batches to ``ranks`` instances and
    merge them in rank order (what ``sync`` does across processes)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(updates))
    cuts = np.sort(
        rng.choice(np.arange(1, len(updates)), size=min(5, len(updates) - 1), replace=False)
    )
    batches = np.split(order, cuts)
    parts = [type(metric).__new__(type(metric)) for _ in range(ranks)]
    for p in parts:
        p.__dict__.update(metric.__dict__)
        p.reset()
    for b, rows in enumerate(batches):
        parts[b % ranks].update([updates[i][0] for i in rows], [updates[i][1] for i in rows])
    for p in parts[1:]:
        parts[0].merge(p)
    return parts[0]


@pytest.fixture(scope="module")
def coco_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    gt_path = sample_path("coco-val2017-sample")
    res = tmp_path_factory.mktemp("oks") / "res.json"
    res.write_text(json.dumps(noisy_predictions(json.loads(gt_path.read_text()), 3)))
    return gt_path, res


def _updates(gt_path: Path, res_path: Path) -> list[tuple[Any, Any]]:
    gt = coco.read_gt(gt_path)
    return list(coco_updates(coco.read_results(res_path, gt), gt.poses, gt.images))


@pytest.mark.parametrize("pair", ["sample", "xtcocoapi"])
def test_oks_coco_streamed_equals_pycocotools(coco_pair: tuple[Path, Path], pair: str) -> None:
    gt_path, res_path = (
        coco_pair
        if pair == "sample"
        else (sample_path("coco-val2017-4"), sample_path("coco-val2017-4-results"))
    )
    ref = pycocotools_eval(gt_path, res_path).stats.tolist()
    batch = posebench.score(res_path, gt_path, metric="oks-coco")
    assert [batch.values[k] for k in cocoeval.COCO_STATS] == ref
    updates = _updates(gt_path, res_path)
    for seed in range(4):
        m = _stream(OKSAveragePrecision(), updates, seed)
        assert [m.compute()[k] for k in cocoeval.COCO_STATS] == ref


def test_oks_crowdpose_streamed_equals_xtcocotools(tmp_path: Path) -> None:
    gt_path = DATA / "crowdpose/test_crowdpose.json"
    res_path = tmp_path / "res.json"
    res_path.write_text(json.dumps(noisy_predictions(json.loads(gt_path.read_text()), 5)))
    ref = xtcocotools_crowd_eval(gt_path, res_path, CROWDPOSE14.oks_sigmas()).stats.tolist()
    batch = posebench.score(res_path, gt_path, metric="oks-crowdpose")
    assert [batch.values[k] for k in cocoeval.CROWDPOSE_STATS] == ref
    updates = _updates(gt_path, res_path)
    for seed in range(3):
        m = _stream(OKSAveragePrecision(mode="crowdpose"), updates, seed)
        assert [m.compute()[k] for k in cocoeval.CROWDPOSE_STATS] == ref


def test_oks_torch_tensors_and_reset(coco_pair: tuple[Path, Path]) -> None:
    torch = pytest.importorskip("torch")
    updates = _updates(*coco_pair)
    m = OKSAveragePrecision()
    m.update([{k: torch.as_tensor(v) for k, v in p.items()} for p, _ in updates],
             [{k: (torch.as_tensor(v) if k != "image_id" else v) for k, v in t.items()}
              for _, t in updates])  # fmt: skip
    ref = posebench.score(coco_pair[1], coco_pair[0]).values
    assert m.compute() == ref
    m.reset()
    assert np.isnan(m.compute()["AP"])


def test_oks_bad_input_names_record_and_field() -> None:
    m = OKSAveragePrecision()
    gt = {"image_id": 1, "keypoints": np.zeros((1, 17, 3))}
    with pytest.raises(InputError, match=r"preds\[0\]: field 'scores'"):
        m.update([{"keypoints": np.zeros((1, 17, 3))}], [gt])
    with pytest.raises(InputError, match=r"target\[0\]: field 'keypoints': expected shape"):
        m.update([{}], [{"image_id": 1, "keypoints": np.zeros((1, 14, 3))}])
    nan = np.full((1, 17, 3), np.nan)
    with pytest.raises(
        InputError, match=r"preds\[0\]: field 'keypoints': not finite at \[0, 0, 0\]"
    ):
        m.update([{"keypoints": nan, "scores": [0.5]}], [gt])
    with pytest.raises(InputError, match=r"target\[0\]: field 'image_id': expected one integer"):
        m.update([{}], [{"image_id": 1.5}])
    m.update([{}], [gt])
    m.update([{}], [gt])
    with pytest.raises(InputError, match="image 1 was given in more than one update"):
        m.compute()
    with pytest.raises(InputError, match="cannot merge"):
        m.merge(OKSAveragePrecision(mode="crowdpose"))


# ------------------------------------------------------------------------------ single person


def _split(n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    return np.split(order, np.sort(rng.choice(np.arange(1, n), size=min(6, n - 1), replace=False)))


def _merged(make: Any, batches: list[np.ndarray], feed: Any) -> Any:
    a, b = make(), make()
    for j, rows in enumerate(batches):
        feed(a if j % 2 == 0 else b, rows)
    a.merge(b)
    return a


@pytest.fixture(scope="module")
def h36m() -> dict[str, np.ndarray]:
    from posebench.formats.h36m import load_h36m_npz

    ann = load_h36m_npz(DATA / "h36m/test_h36m.npz").h36m17()
    gt = ann.joints_3d * 1000.0
    rng = np.random.default_rng(0)
    pred = gt + rng.normal(0, 40, gt.shape)
    return {"gt": gt, "pred": pred, "mask": np.asarray(ann.visible_3d, bool)}


@pytest.mark.parametrize(
    ("cls", "name"), [(MPJPE, "mpjpe"), (PAMPJPE, "pa-mpjpe"), (NMPJPE, "n-mpjpe")]
)
def test_mpjpe_family_streamed_equals_batch(
    h36m: dict[str, np.ndarray], cls: Any, name: str
) -> None:
    gt, pred, mask = h36m["gt"], h36m["pred"], h36m["mask"]
    batch = posebench.score(pred, gt, metric=name, mask=mask).values
    ids = np.arange(len(gt))
    for seed in range(3):
        m = _merged(cls, _split(len(gt), seed),
                    lambda s, r: s.update(pred[r], gt[r], mask=mask[r], ids=ids[r]))  # fmt: skip
        assert m.compute() == batch
    # the headline is VideoPose3D's formula on these arrays (protocol #1, all joints valid)
    if name == "mpjpe" and mask.all():
        rel = (pred - pred[:, :1]) - (gt - gt[:, :1])
        assert batch["MPJPE"] == pytest.approx(np.linalg.norm(rel, axis=-1).mean(), rel=1e-12)


def test_pckh_streamed_equals_batch_and_official_file_score() -> None:
    from posebench.formats.mpii import load_mpii_gt, load_mpii_predictions

    g = load_mpii_gt(DATA / "mpii/detections_our_format.mat")
    pred = load_mpii_predictions(DATA / "mpii/bearpaw_hg_s2_b1_preds.mat")
    pred = np.asarray(getattr(pred, "keypoints", pred), dtype=np.float64)
    batch = posebench.score(pred, g.keypoints, metric="pckh", visible=g.visible,
                            headboxes=g.headboxes)  # fmt: skip
    files = posebench.score(DATA / "mpii/bearpaw_hg_s2_b1_preds.mat",
                            DATA / "mpii/detections_our_format.mat", metric="pckh")  # fmt: skip
    assert batch.values["PCKh_joint_avg"] == files.values["Mean_joint_avg"]
    assert batch.values["PCKh_pooled"] == files.values["Mean_pooled"]
    assert round(batch.values["PCKh_joint_avg"], 2) == 86.76  # bearpaw hg_s2, the published Mean
    ids = np.arange(len(pred))
    m = _merged(PCKh, _split(len(pred), 1),
                lambda s, r: s.update(pred[r], g.keypoints[r], visible=g.visible[r],
                                      headboxes=g.headboxes[r], ids=ids[r]))  # fmt: skip
    assert m.compute() == batch.values


def test_pck_streamed_equals_batch() -> None:
    from posebench.formats.mpii import load_mpii_gt

    g = load_mpii_gt(DATA / "mpii/detections_our_format.mat")
    rng = np.random.default_rng(1)
    pred = g.keypoints + rng.normal(0, 6, g.keypoints.shape)
    xy = np.where(g.visible[:, :, None], g.keypoints, np.nan)
    lo, hi = np.nanmin(xy, axis=1), np.nanmax(xy, axis=1)
    boxes = np.concatenate([lo, hi - lo], axis=1)
    batch = posebench.score(pred, g.keypoints, metric="pck", visible=g.visible, boxes=boxes,
                            skeleton="mpii16").values  # fmt: skip
    m = _merged(lambda: PCK(skeleton="mpii16"), _split(len(pred), 2),
                lambda s, r: s.update(pred[r], g.keypoints[r], visible=g.visible[r],
                                      boxes=boxes[r], ids=r))  # fmt: skip
    assert m.compute() == batch


def test_single_person_ids_must_be_unique() -> None:
    m = MPJPE()
    x = np.zeros((2, 3, 3))
    m.update(x, x, ids=[0, 1])
    m.update(x, x, ids=[1, 2])
    with pytest.raises(InputError, match="sample id 1 was given twice"):
        m.compute()
    with pytest.raises(InputError, match="field 'preds'"):
        m.update(np.zeros((2, 4, 3)), x)


def test_oks_options_reach_the_evaluation(tmp_path: Path) -> None:
    """pycocotools' GT-id-0 bug, asked for by name, streams to pycocotools' numbers."""
    gt_path, res_path = sample_path("coco-val2017-4"), sample_path("coco-val2017-4-results")
    data = json.loads(gt_path.read_text())
    with_kp = [a for a in data["annotations"] if a.get("num_keypoints", 0) > 0]
    with_kp[0]["id"] = 0  # pycocotools never matches a GT whose id is 0
    g0 = tmp_path / "gt0.json"
    g0.write_text(json.dumps(data))
    ref = pycocotools_eval(g0, res_path).stats.tolist()
    ups = _updates(g0, res_path)
    quirk = _stream(OKSAveragePrecision(gt_id0="pycocotools"), ups, 0)
    assert [quirk.compute()[k] for k in cocoeval.COCO_STATS] == ref
    fixed = _stream(OKSAveragePrecision(), ups, 0).compute()
    assert fixed == posebench.score(res_path, g0).values
    assert [fixed[k] for k in cocoeval.COCO_STATS] != ref
    with pytest.raises(InputError, match="field 'gt_id'"):
        OKSAveragePrecision(gt_id=0)
