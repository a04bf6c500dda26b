"""Run the reference evaluators on files, returning their stats and arrays (test helper)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tests.conftest import PYCOCOTOOLS_HINT, XTCOCOTOOLS_HINT, quiet, reference


def pycocotools_eval(gt: Path | str, res: Path | str, sigmas: np.ndarray | None = None) -> Any:
    """pycocotools 2.0.11 COCOeval('keypoints'), evaluated, accumulated and summarised."""
    reference("pycocotools", PYCOCOTOOLS_HINT)
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with quiet():
        cg = COCO(str(gt))
        cd = cg.loadRes(str(res))
        ev = COCOeval(cg, cd, "keypoints")
        if sigmas is not None:
            ev.params.kpt_oks_sigmas = sigmas
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def xtcocotools_crowd_eval(gt: Path | str, res: Path | str, sigmas: np.ndarray) -> Any:
    """xtcocotools 1.14.3 COCOeval('keypoints_crowd', use_area=False), as mmpose calls it."""
    reference("xtcocotools", XTCOCOTOOLS_HINT)
    from xtcocotools.coco import COCO
    from xtcocotools.cocoeval import COCOeval

    with quiet():
        cg = COCO(str(gt))
        cd = cg.loadRes(str(res))
        ev = COCOeval(cg, cd, "keypoints_crowd", sigmas, use_area=False)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def faster_coco_eval_stats(gt: Path | str, res: Path | str) -> np.ndarray:
    """faster-coco-eval 1.8.0 keypoint stats."""
    reference("faster_coco_eval", "pip install faster-coco-eval==1.8.0")
    from faster_coco_eval import COCO, COCOeval_faster

    with quiet():
        cg = COCO(str(gt))
        cd = cg.loadRes(str(res))
        ev = COCOeval_faster(cg, cd, "keypoints", print_function=lambda *a, **k: None)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats[:10])


def xtcocotools_eval(
    gt: Path | str, res: Path | str, iou_type: str, sigmas: np.ndarray, *, use_area: bool
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """xtcocotools 1.14.3 COCOeval(iou_type, sigmas, use_area): (stats, arrays), the arrays taken
    before summarize (which, in keypoints_crowd mode, re-runs the evaluation per crowd bucket and
    leaves the last bucket's arrays in ``eval``)."""
    reference("xtcocotools", XTCOCOTOOLS_HINT)
    from xtcocotools.coco import COCO
    from xtcocotools.cocoeval import COCOeval

    with quiet():
        cg = COCO(str(gt))
        cd = cg.loadRes(str(res))
        ev = COCOeval(cg, cd, iou_type, sigmas, use_area=use_area)
        ev.evaluate()
        ev.accumulate()
        arrays = {k: ev.eval[k].copy() for k in ("precision", "recall", "scores")}
        ev.summarize()
    return np.asarray(ev.stats), arrays
