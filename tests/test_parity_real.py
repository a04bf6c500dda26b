"""Bit-identical parity with the reference evaluators on real ground truth and predictions."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from posebench.formats import coco
from posebench.metrics import cocoeval
from posebench.samples import sample_path
from posebench.skeletons import COCO17, CROWDPOSE14
from tests.conftest import DATA
from tests.predgen import noisy_predictions
from tests.refeval import faster_coco_eval_stats, pycocotools_eval, xtcocotools_crowd_eval

REAL_PAIRS = {
    "faster_coco_eval_139099": (DATA / "coco/fce_gt_139099.json", DATA / "coco/fce_dt_139099.json"),
    "xtcocoapi_example_4img": (
        sample_path("coco-val2017-4"),
        sample_path("coco-val2017-4-results"),
    ),
}


def _posebench(gt_path: Path, res_path: Path, mode: str = "coco") -> cocoeval.OksEvaluation:
    gt = coco.read_gt(gt_path)
    dt = coco.read_results(res_path, gt)
    params = (
        cocoeval.coco_params(COCO17.oks_sigmas())
        if mode == "coco"
        else cocoeval.crowdpose_params(CROWDPOSE14.oks_sigmas())
    )
    return cocoeval.evaluate_oks(gt.poses, dt, gt.images, params, mode=mode)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(REAL_PAIRS))
def test_real_pairs_bit_identical_to_pycocotools(name: str) -> None:
    gt_path, res_path = REAL_PAIRS[name]
    ours = _posebench(gt_path, res_path)
    ref = pycocotools_eval(gt_path, res_path)
    assert [ours.stats[k] for k in cocoeval.COCO_STATS] == ref.stats.tolist()
    # the full arrays, not just the summary, are the same bits
    assert np.array_equal(ours.precision, ref.eval["precision"])
    assert np.array_equal(ours.recall, ref.eval["recall"])
    assert np.array_equal(ours.scores, ref.eval["scores"])


def test_faster_coco_eval_published_value() -> None:
    """faster_coco_eval's upstream test asserts these stats for its keypoint fixture."""
    gt_path, res_path = REAL_PAIRS["faster_coco_eval_139099"]
    ours = _posebench(gt_path, res_path)
    published = [
        0.5048844884488449, 0.7227722772277227, 0.6336633663366337, 0.46633663366336636,
        0.7504950495049505, 0.5181818181818182, 0.7272727272727273, 0.6363636363636364,
        0.4666666666666666, 0.75,
    ]  # fmt: skip
    assert [ours.stats[k] for k in cocoeval.COCO_STATS] == published
    fce = faster_coco_eval_stats(gt_path, res_path)
    np.testing.assert_allclose(fce, published, rtol=0, atol=1e-12)


def test_per_image_oks_matches_pycocotools_ious() -> None:
    gt_path, res_path = REAL_PAIRS["faster_coco_eval_139099"]
    gt = coco.read_gt(gt_path)
    dt = coco.read_results(res_path, gt)
    params = cocoeval.coco_params(COCO17.oks_sigmas())
    m = cocoeval.match_detections(gt.poses, dt, gt.images, params, all_pairs=True)
    ref = pycocotools_eval(gt_path, res_path)
    (img,) = ref.params.imgIds
    ious = ref.ious[(img, 1)]  # (D, G): detections by score (top 20), GT in file order
    n_det, n_gt = ious.shape
    got = m.pair_oks.reshape(n_det, n_gt)
    assert np.array_equal(got, ious)
    # by default only pairs that can reach OKS 0.5 are kept, with the same values
    pruned = cocoeval.match_detections(gt.poses, dt, gt.images, params)
    assert 0 < len(pruned.pair_oks) < len(m.pair_oks)
    full = dict(
        zip(
            zip(m.pair_det.tolist(), m.pair_gt.tolist(), strict=True),
            m.pair_oks.tolist(),
            strict=True,
        )
    )
    for d, g, o in zip(pruned.pair_det, pruned.pair_gt, pruned.pair_oks, strict=True):
        assert full[(d, g)] == o
    assert (np.asarray(list(full.values())) >= 0.5).sum() <= len(pruned.pair_oks)


@pytest.fixture(scope="module")
def crowdpose_val(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("crowdpose") / "crowdpose_val.json"
    raw = gzip.decompress((DATA / "crowdpose/crowdpose_val.json.gz").read_bytes())
    path.write_bytes(raw)  # xtcocotools reads plain JSON only
    return path, json.loads(raw)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_crowdpose_val_bit_identical_to_xtcocotools(
    crowdpose_val: tuple[Path, dict], tmp_path: Path, seed: int
) -> None:
    gt_path, gt = crowdpose_val
    res_path = tmp_path / "res.json"
    res_path.write_text(json.dumps(noisy_predictions(gt, seed, bbox=seed == 2)))
    ours = _posebench(gt_path, res_path, mode="crowdpose")
    ref = xtcocotools_crowd_eval(gt_path, res_path, CROWDPOSE14.oks_sigmas())
    assert [ours.stats[k] for k in cocoeval.CROWDPOSE_STATS] == ref.stats.tolist()
    # the gzip original gives the same numbers
    ours_gz = _posebench(DATA / "crowdpose/crowdpose_val.json.gz", res_path, mode="crowdpose")
    assert ours_gz.stats == ours.stats


def test_crowdpose_val_coco_mode_matches_pycocotools(
    crowdpose_val: tuple[Path, dict], tmp_path: Path
) -> None:
    """The same real GT through pycocotools' keypoints mode, with CrowdPose sigmas."""
    gt_path, gt = crowdpose_val
    res_path = tmp_path / "res.json"
    res = noisy_predictions(gt, 7)
    res_path.write_text(json.dumps(res))
    g = coco.read_gt(gt_path)
    # the CrowdPose file has no 'area'; pycocotools needs one: use the 0.53*w*h stand-in
    areas = [a["bbox"][2] * a["bbox"][3] * 0.53 for a in gt["annotations"]]
    gt2 = dict(
        gt, annotations=[dict(a, area=ar) for a, ar in zip(gt["annotations"], areas, strict=True)]
    )
    gt2_path = tmp_path / "gt_area.json"
    gt2_path.write_text(json.dumps(gt2))
    g = coco.read_gt(gt2_path)
    dt = coco.read_results(res_path, g)
    ours = cocoeval.evaluate_oks(
        g.poses, dt, g.images, cocoeval.coco_params(CROWDPOSE14.oks_sigmas())
    )
    ref = pycocotools_eval(gt2_path, res_path, sigmas=CROWDPOSE14.oks_sigmas())
    assert [ours.stats[k] for k in cocoeval.COCO_STATS] == ref.stats.tolist()
    assert np.array_equal(ours.precision, ref.eval["precision"])
