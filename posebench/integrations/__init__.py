"""Glue for training frameworks: an mmpose-style evaluator metric, an ultralytics-style validator
callback, and (in :mod:`posebench.integrations.torchmetrics`) torchmetrics ``Metric`` classes.

None of these imports the framework: they follow its protocol (duck typing), so they work with
it installed and are tested without it.

**mmpose / mmengine.** :class:`MMPoseCocoMetric` has the ``process(data_batch, data_samples)``,
``compute_metrics(results)`` and ``evaluate(size)`` of an mmengine ``BaseMetric``; give an
instance to the ``Evaluator`` (``val_evaluator = MMPoseCocoMetric()`` in a runner built from
Python, or register it with ``METRICS.register_module()``). Each data sample is a mapping with
``img_id``, ``pred_instances`` (``keypoints`` (N, K, 2), ``keypoint_scores`` (N, K) and
``scores`` (N,) or ``bbox_scores`` (N,)) and ``raw_ann_info`` (the image's COCO annotation
dicts); several samples of one image (top-down: one per box) are pooled. The numbers are
pycocotools' on the detections as given (no OKS-NMS, no rescoring: feed the final ones).

    >>> import json
    >>> from posebench.integrations import MMPoseCocoMetric, mmpose_samples
    >>> from posebench.samples import sample_path
    >>> gt = json.loads(sample_path("coco-val2017-4").read_text())
    >>> res = json.loads(sample_path("coco-val2017-4-results").read_text())
    >>> metric = MMPoseCocoMetric()
    >>> metric.process({}, mmpose_samples(res, gt))
    >>> round(metric.evaluate(4)["posebench/AP"], 5)      # pycocotools 2.0.11: 0.86089
    0.86089

**ultralytics.** :class:`ValidatorCallback` registers ``on_val_start`` / ``on_val_end`` on a
validator (``callback.attach(validator)``) and wraps its ``update_metrics(preds, batch)`` so that
every batch also reaches the streaming metric through ``convert(preds, batch)``, which returns
``(preds_list, target_list)`` in the form of :meth:`OKSAveragePrecision.update
<posebench.metrics.stateful.OKSAveragePrecision.update>`. At the end the metric is synced across
ranks and its numbers land in ``validator.posebench_metrics`` (keys ``posebench/AP`` ...).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from posebench.errors import InputError
from posebench.metrics.stateful import OKSAveragePrecision, StreamingMetric

log = logging.getLogger(__name__)


def _np(v: Any) -> np.ndarray:
    if hasattr(v, "detach"):
        v = v.detach().cpu().numpy()
    return np.asarray(v, dtype=np.float64)


def coco_target(image_id: int, anns: Sequence[Mapping[str, Any]], k: int) -> dict[str, Any]:
    """A :meth:`OKSAveragePrecision.update` target from one image's COCO annotation dicts."""
    rows = [a for a in anns if "keypoints" in a]
    kp = np.array([a["keypoints"] for a in rows], dtype=np.float64).reshape(len(rows), k, 3)
    out: dict[str, Any] = {
        "image_id": int(image_id),
        "keypoints": kp,
        "boxes": np.array([a.get("bbox", [np.nan] * 4) for a in rows], np.float64).reshape(-1, 4),
        "area": np.array([a.get("area", np.nan) for a in rows], np.float64),
        "iscrowd": np.array([bool(a.get("iscrowd", 0)) for a in rows]),
        "num_keypoints": np.array(
            [a.get("num_keypoints", int((kp[i, :, 2] > 0).sum())) for i, a in enumerate(rows)],
            np.int64,
        ),
    }
    if all("id" in a for a in rows):
        out["ids"] = np.array([a["id"] for a in rows], np.int64)
    return out


def mmpose_samples(
    results: Sequence[Mapping[str, Any]], gt: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """mmpose-style data samples (one per image, grouped in results order) from a COCO results
    list and a COCO ground-truth dict: what a pose model's test step hands the evaluator."""
    anns: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
    for a in gt.get("annotations", []):
        anns[int(a["image_id"])].append(a)
    dets: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
    for r in results:
        dets[int(r["image_id"])].append(r)
    k = len(gt["categories"][0]["keypoints"])
    out = []
    for img in gt["images"]:
        mine = dets.get(int(img["id"]), [])
        kp = np.array([d["keypoints"] for d in mine], np.float64).reshape(len(mine), k, 3)
        out.append(
            {
                "img_id": int(img["id"]),
                "pred_instances": {
                    "keypoints": kp[:, :, :2],
                    "keypoint_scores": kp[:, :, 2],
                    "scores": np.array([d["score"] for d in mine], np.float64),
                },
                "raw_ann_info": anns.get(int(img["id"]), []),
            }
        )
    return out


class MMPoseCocoMetric:
    """OKS AP/AR as an mmengine ``BaseMetric`` (duck-typed): pycocotools' COCO numbers, or
    xtcocotools' CrowdPose ones with ``mode="crowdpose"``.

    Args:
        mode, sigmas, max_dets: as :class:`~posebench.metrics.stateful.OKSAveragePrecision`.
        prefix: key prefix of the returned numbers (``posebench/AP``).
    """

    default_prefix = "posebench"

    def __init__(
        self,
        *,
        mode: str = "coco",
        sigmas: Any = None,
        max_dets: int = 20,
        prefix: str | None = None,
        collect_device: str = "cpu",
    ) -> None:
        self._options = {"mode": mode, "sigmas": sigmas, "max_dets": max_dets}
        OKSAveragePrecision(**self._options)  # validate now
        self.prefix = prefix or self.default_prefix
        self.collect_device = collect_device
        self.results: list[dict[str, Any]] = []
        self.dataset_meta: dict[str, Any] | None = None

    def process(self, data_batch: Any, data_samples: Sequence[Mapping[str, Any]]) -> None:
        """Keep what each sample says about its image (arrays copied to numpy)."""
        for i, s in enumerate(data_samples):
            if "img_id" not in s or "pred_instances" not in s:
                raise InputError("needs img_id and pred_instances", record=f"data_samples[{i}]")
            p = s["pred_instances"]
            kp = _np(p["keypoints"])
            scores = p.get("scores", p.get("bbox_scores"))
            if scores is None:
                raise InputError(
                    "needs scores or bbox_scores", record=f"data_samples[{i}]",
                    field="pred_instances",
                )  # fmt: skip
            kps = p.get("keypoint_scores")
            self.results.append(
                {
                    "img_id": int(s["img_id"]),
                    "keypoints": kp[:, :, :2],
                    "keypoint_scores": np.ones(kp.shape[:2]) if kps is None else _np(kps),
                    "scores": _np(scores).reshape(-1),
                    "raw_ann_info": list(s.get("raw_ann_info", [])),
                }
            )

    def compute_metrics(self, results: list[dict[str, Any]]) -> dict[str, float]:
        """The numbers over ``results`` (every rank's, as mmengine collects them)."""
        metric = OKSAveragePrecision(**self._options)
        k = metric.num_keypoints
        by_img: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for r in results:
            by_img[r["img_id"]].append(r)
        preds, targets = [], []
        for img, rs in by_img.items():
            preds.append(
                {
                    "keypoints": np.concatenate([r["keypoints"] for r in rs]).reshape(-1, k, 2),
                    "keypoint_scores": np.concatenate([r["keypoint_scores"] for r in rs]).reshape(
                        -1, k
                    ),
                    "scores": np.concatenate([r["scores"] for r in rs]),
                }
            )
            # the GT of an image is the same in each of its samples: take the first
            targets.append(coco_target(img, rs[0]["raw_ann_info"], k))
        metric.update(preds, targets)
        return metric.compute()

    def evaluate(self, size: int) -> dict[str, float]:
        """Gather every rank's results (``torch.distributed``), compute, prefix and reset."""
        results = self.results
        try:
            import torch.distributed as dist

            if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
                gathered: list[Any] = [None] * dist.get_world_size()
                dist.all_gather_object(gathered, results)
                results = [r for part in gathered for r in part]
        except ImportError:
            pass
        values = self.compute_metrics(results)
        self.results = []
        return {f"{self.prefix}/{k}": v for k, v in values.items()}


class ValidatorCallback:
    """Feed a streaming metric from an ultralytics-style validator.

    Args:
        metric: the streaming metric (e.g. ``OKSAveragePrecision()``).
        convert: ``(preds, batch) -> (preds_list, target_list)`` for ``metric.update``.
        prefix: key prefix of the numbers written to ``validator.posebench_metrics``.
    """

    def __init__(
        self,
        metric: StreamingMetric,
        convert: Callable[[Any, Any], tuple[Any, Any]],
        *,
        prefix: str = "posebench",
    ) -> None:
        self.metric = metric
        self.convert = convert
        self.prefix = prefix
        self.results: dict[str, float] = {}

    def attach(self, validator: Any) -> None:
        """Register ``on_val_start``/``on_val_end`` and wrap ``validator.update_metrics``."""
        validator.add_callback("on_val_start", self.on_val_start)
        validator.add_callback("on_val_end", self.on_val_end)
        original = validator.update_metrics

        def update_metrics(preds: Any, batch: Any) -> Any:
            out = original(preds, batch)
            self.update(preds, batch)
            return out

        validator.update_metrics = update_metrics

    def update(self, preds: Any, batch: Any) -> None:
        """Convert one validation batch and stream it into the metric."""
        p, t = self.convert(preds, batch)
        self.metric.update(p, t)  # type: ignore[attr-defined]

    def on_val_start(self, validator: Any) -> None:
        """Start a validation pass."""
        self.metric.reset()

    def on_val_end(self, validator: Any) -> None:
        """Sync across ranks, compute, and put the numbers on the validator."""
        self.metric.sync()
        self.results = {f"{self.prefix}/{k}": v for k, v in self.metric.compute().items()}
        validator.posebench_metrics = self.results
        log.info("posebench: %s", self.results)


__all__ = ["MMPoseCocoMetric", "ValidatorCallback", "coco_target", "mmpose_samples"]
