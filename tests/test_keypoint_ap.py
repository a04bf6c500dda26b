"""Per-keypoint AP (``score --per-keypoint``, the report's per-joint table).

Ground truth with joint j unlabelled is ignored for joint j and matched on its whole-pose OKS, so
the detection of that person is neither a true nor a false positive: the ground truth scored as
its own prediction gives 100 on every joint of every shipped sample. Where every person has joint
j labelled, the definition is plain COCOeval on joint j alone: pinned against pycocotools.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from posebench import synthetic
from posebench.cli.main import main
from posebench.formats import coco
from posebench.metrics import cocoeval
from posebench.poseset import ImageTable, PoseSet
from posebench.samples import SAMPLES, sample_path
from posebench.skeletons import COCO17
from tests.conftest import DATA
from tests.refeval import pycocotools_eval

# Every shipped ground-truth sample (the results sample is predictions, not GT).
GT_SAMPLES = [n for n in SAMPLES if not n.endswith("-results")]


def _oracle_records(gt_path: Path) -> list[dict]:
    """The ground truth as predictions: every non-crowd person with a labelled keypoint, score 1."""
    data = json.loads(gt_path.read_text())
    out = []
    for a in data["annotations"]:
        kp = np.asarray(a["keypoints"], float).reshape(-1, 3)
        if a.get("iscrowd") or not (kp[:, 2] > 0).any():
            continue
        kp[:, 2] = 1.0
        out.append(
            {
                "image_id": a["image_id"],
                "category_id": a["category_id"],
                "keypoints": kp.ravel().tolist(),
                "score": 1.0,
            }
        )
    return out


@pytest.mark.parametrize("name", GT_SAMPLES)
def test_oracle_scores_100_on_every_joint_of_every_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    gt_path = sample_path(name)
    pred = tmp_path / "oracle.json"
    pred.write_text(json.dumps(_oracle_records(gt_path)))
    assert main(["score", "--gt", str(gt_path), "--pred", str(pred), "--per-keypoint",
                 "--format", "json"]) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert out["metrics"]["AP"] == 1.0
    # before the fix: nose 0.696, ankles 0.43-0.47 on coco-val2017-4
    assert out["per_keypoint_ap"] == dict.fromkeys(COCO17.keypoints, 1.0)


@pytest.mark.parametrize(
    "gt_file", [DATA / "crowdpose/test_crowdpose.json", DATA / "ochuman/test_ochuman.json"]
)
def test_oracle_scores_100_on_test_datasets(gt_file: Path) -> None:
    gt = coco.read_gt(gt_file)
    p = gt.poses
    keep = np.flatnonzero(~p.iscrowd & (np.count_nonzero(p.visibility > 0, axis=1) > 0))
    dt = p.take(keep).with_columns(score=np.ones(len(keep)), visibility=None)
    sigmas = np.full(gt.num_joints, 0.079)
    params = cocoeval.coco_params(sigmas, use_area=False)
    names = tuple(f"kp{j}" for j in range(gt.num_joints))
    per = cocoeval.keypoint_ap(p, dt, gt.images, params, names)
    labelled = (p.visibility[~p.iscrowd] > 0).any(axis=0)
    assert per == {n: (1.0 if lab else per[n]) for n, lab in zip(names, labelled, strict=True)}
    assert all(np.isnan(per[n]) for n, lab in zip(names, labelled, strict=True) if not lab)


def test_unlabelled_joint_neither_tp_nor_fp() -> None:
    """Hand case: one person without its nose; its detection (nose far off) must not be a FP."""
    k = 17
    kp = np.stack([np.linspace(100, 180, k), np.linspace(50, 250, k)], axis=1)
    vis = np.full((2, k), 2.0)
    vis[1, 0] = 0.0  # person 2: nose unlabelled
    gt_kp = np.stack([kp, kp + np.array([300.0, 0.0])])
    gt = PoseSet(
        image_id=np.array([1, 1]),
        keypoints=gt_kp,
        visibility=vis,
        bbox=np.array([[100, 50, 80, 200], [400, 50, 80, 200]], float),
        area=np.array([12000.0, 12000.0]),
    )
    det_kp = gt_kp.copy()
    det_kp[1, 0] = [0.0, 0.0]  # the unlabelled nose predicted anywhere
    dt = PoseSet(image_id=np.array([1, 1]), keypoints=det_kp, score=np.array([0.5, 0.9]))
    params = cocoeval.coco_params(COCO17.oks_sigmas())
    m = cocoeval.match_detections(gt, dt, ImageTable.from_ids([1]), params, keypoint=0)
    # detection 1 (rank 0) absorbed by the ignored person 2; detection 0 a TP on person 1
    assert m.det_row.tolist() == [1, 0]
    assert m.det_ignore[0, :, 0].all()
    assert not m.det_tp[0, :, 0].any()
    assert m.det_tp[0, :, 1].all()
    ap = cocoeval.keypoint_ap(gt, dt, ImageTable.from_ids([1]), params, COCO17.keypoints)
    assert ap["nose"] == 1 / (1 + np.spacing(1))  # pycocotools: tp / (fp + tp + eps), one TP


@pytest.mark.parametrize(("seed", "joint"), [(0, 0), (1, 9), (2, 16)])
def test_equals_pycocotools_on_the_joint_alone(tmp_path: Path, seed: int, joint: int) -> None:
    """With every kept person labelled on joint j, per-keypoint AP is COCOeval on joint j alone:
    the file with every other keypoint set to v = 0 (and num_keypoints = 1)."""
    gt_json, res = synthetic.make_keypoint_dataset(60, seed=seed, bbox="never")
    anns = []
    for a in gt_json["annotations"]:
        kp = np.asarray(a["keypoints"], float).reshape(-1, 3)
        if kp[joint, 2] == 0:
            continue  # GT without joint j: the reference scores it on the doubled box instead
        anns.append(a)
    gt_json = {**gt_json, "annotations": anns}
    g_full, r_path = synthetic.write_dataset(tmp_path, gt_json, res)
    only = json.loads(json.dumps(gt_json))
    for a in only["annotations"]:
        kp = np.asarray(a["keypoints"], float).reshape(-1, 3)
        v = kp[joint, 2]
        kp[:, 2] = 0
        kp[joint, 2] = v
        a["keypoints"] = kp.ravel().tolist()
        a["num_keypoints"] = int(v > 0)
    g_only = tmp_path / "gt_only.json"
    g_only.write_text(json.dumps(only))
    ref = pycocotools_eval(g_only, r_path)
    ref_prec = ref.eval["precision"][:, :, 0, 0, -1]
    gt = coco.read_gt(g_full)
    dt = coco.read_results(r_path, gt)
    params = cocoeval.coco_params(COCO17.oks_sigmas())
    ours = cocoeval.keypoint_ap(gt.poses, dt, gt.images, params, COCO17.keypoints)
    assert ours[COCO17.keypoints[joint]] == float(np.mean(ref_prec[ref_prec > -1]))


@pytest.mark.parametrize("name", GT_SAMPLES)
def test_report_per_joint_table_of_the_oracle_adapter(name: str) -> None:
    """The runner's per-joint table (what the leaderboard shows) for the built-in oracle."""
    from posebench.adapters.oracle import OracleAdapter
    from posebench.evaluate import evaluate_metric

    gt = coco.read_gt(sample_path(name))
    oracle = OracleAdapter()
    oracle.prepare(gt.poses, COCO17, name)
    rows = np.concatenate([oracle._rows_by_image.get(int(i), []) for i in gt.images.id])
    pred = gt.poses.take(rows.astype(np.int64)).with_columns(
        score=np.ones(len(rows)), visibility=None
    )
    block = evaluate_metric({"name": "oks"}, gt.poses, pred, gt.images, COCO17, box_source="none")
    assert block.values["AP"] == 1.0
    assert block.per_joint == dict.fromkeys(COCO17.keypoints, 1.0)
