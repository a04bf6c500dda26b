"""Negative GT annotation ids: xtcocotools (and faster-coco-eval) count a match to one as a false
positive, pycocotools and the official CrowdPose API count it. CrowdPose mode reproduces
xtcocotools by default; ``gt_negative_id="match"`` gives the other behaviour, by name."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from posebench import synthetic
from posebench.cli.main import main
from posebench.formats import coco
from posebench.metrics import cocoeval
from posebench.skeletons import COCO17, CROWDPOSE14
from tests.refeval import faster_coco_eval_stats, pycocotools_eval, xtcocotools_eval


def _write(tmp: Path, seed: int, skeleton: str, n: int = 40) -> tuple[Path, Path, Path]:
    """A synthetic set with about a third of the GT ids negated, and the same set with those ids
    replaced by fresh positive ones (where every reference agrees)."""
    gt, res = synthetic.make_keypoint_dataset(n, seed=seed, skeleton=skeleton)  # type: ignore[arg-type]
    rng = np.random.default_rng(seed)
    pos = json.loads(json.dumps(gt))
    top = max(a["id"] for a in gt["annotations"])
    for i, a in enumerate(gt["annotations"]):
        if rng.random() < 0.35:
            a["id"] = -a["id"]
            pos["annotations"][i]["id"] = top + 1 + i
    g, r = synthetic.write_dataset(tmp, gt, res)
    g_pos = tmp / "gt_positive_ids.json"
    g_pos.write_text(json.dumps(pos))
    return g, r, g_pos


def _ours(g: Path, r: Path, mode: str, **kw: object) -> cocoeval.OksEvaluation:
    gt = coco.read_gt(g)
    dt = coco.read_results(r, gt)
    if mode == "crowdpose":
        params = cocoeval.crowdpose_params(CROWDPOSE14.oks_sigmas(), **kw)
    else:
        params = cocoeval.coco_params(COCO17.oks_sigmas(), **kw)
    return cocoeval.evaluate_oks(gt.poses, dt, gt.images, params, mode=mode)  # type: ignore[arg-type]


def _same_arrays(ours: cocoeval.OksEvaluation, ev: dict[str, np.ndarray]) -> None:
    assert np.array_equal(ours.precision, ev["precision"])
    assert np.array_equal(ours.recall, ev["recall"])
    assert np.array_equal(ours.scores, ev["scores"])


@pytest.mark.parametrize("seed", range(4))
def test_crowdpose_default_is_xtcocotools(tmp_path: Path, seed: int) -> None:
    g, r, g_pos = _write(tmp_path, seed, "crowdpose14")
    sig = CROWDPOSE14.oks_sigmas()
    ref_stats, ref_arrays = xtcocotools_eval(g, r, "keypoints_crowd", sig, use_area=False)
    ours = _ours(g, r, "crowdpose")
    assert [ours.stats[k] for k in cocoeval.CROWDPOSE_STATS] == ref_stats.tolist()
    _same_arrays(ours, ref_arrays)
    # the other behaviour, by name: what the same file gives with the ids made positive
    # (pycocotools / official CrowdPose semantics)
    named = _ours(g, r, "crowdpose", gt_negative_id="match")
    pos_stats, pos_arrays = xtcocotools_eval(g_pos, r, "keypoints_crowd", sig, use_area=False)
    assert [named.stats[k] for k in cocoeval.CROWDPOSE_STATS] == pos_stats.tolist()
    _same_arrays(named, pos_arrays)
    assert ours.stats["AP"] < named.stats["AP"]  # matches to negative ids became FPs


@pytest.mark.parametrize("seed", range(3))
def test_coco_default_is_pycocotools(tmp_path: Path, seed: int) -> None:
    g, r, _ = _write(tmp_path, seed, "coco17")
    ref = pycocotools_eval(g, r)
    ours = _ours(g, r, "coco")
    assert [ours.stats[k] for k in cocoeval.COCO_STATS] == ref.stats.tolist()
    _same_arrays(ours, ref.eval)


def test_cli_records_it_in_the_signature(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    g, r, _ = _write(tmp_path, 0, "crowdpose14")
    args = ["score", "--gt", str(g), "--pred", str(r), "--mode", "crowdpose", "--format", "json"]
    assert main(args) == 0
    default = json.loads(capsys.readouterr().out)
    assert "|gtneg:xtcocotools|" in default["signature"]
    assert main([*args, "--gt-negative-id", "match"]) == 0
    named = json.loads(capsys.readouterr().out)
    assert "|gtneg:match|" in named["signature"]
    assert named["metrics"]["AP"] > default["metrics"]["AP"]
    assert main(["score", "--gt", str(g), "--pred", str(r), "--sigmas", "crowdpose14",
                 "--format", "json"]) == 0  # fmt: skip
    assert "|gtneg:match|" in json.loads(capsys.readouterr().out)["signature"]


@pytest.mark.parametrize("seed", range(2))
def test_xtcocotools_behaviour_in_coco_mode_matches_faster_coco_eval(
    tmp_path: Path, seed: int
) -> None:
    """faster-coco-eval 1.8.0 (COCO mode) also makes a match to a negative id a FP."""
    g, r, _ = _write(tmp_path, seed, "coco17")
    fce = faster_coco_eval_stats(g, r)
    ours = _ours(g, r, "coco", gt_negative_id="xtcocotools")
    np.testing.assert_allclose(
        [ours.stats[k] for k in cocoeval.COCO_STATS], fce, rtol=0, atol=1e-12
    )
    default = _ours(g, r, "coco")
    assert default.stats["AP"] > ours.stats["AP"]
