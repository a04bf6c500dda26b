"""Streaming metrics for training loops: ``update``, ``compute``, ``merge``, ``sync``.

Each class keeps a columnar state (numpy arrays appended per :meth:`~StreamingMetric.update`),
merges it with another instance or gathers it across ``torch.distributed`` ranks, and computes
with the very batch function of the metric table (``posebench.metrics.table``) on the gathered
columns. The state is put in one canonical order first (image id for OKS, the ``ids`` you pass
for the single-person metrics), so any split into batches, in any order, on any number of ranks,
gives the batch numbers bit for bit.

    >>> import numpy as np
    >>> from posebench.metrics.stateful import MPJPE
    >>> gt = np.zeros((2, 3, 3)); pred = gt + [0.0, 0.0, 10.0]   # 10 mm off along z
    >>> m = MPJPE(root=None)
    >>> m.update(pred[:1], gt[:1]); m.update(pred[1:], gt[1:])
    >>> m.compute()
    {'MPJPE-abs': 10.0}

Across ranks, call :meth:`~StreamingMetric.sync` (an ``all_gather_object`` of the columns) before
:meth:`~StreamingMetric.compute` on every rank; without ``torch.distributed`` initialised it does
nothing.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt

from posebench.errors import InputError
from posebench.metrics import table as metric_table
from posebench.poseset import ImageTable, PoseSet

log = logging.getLogger(__name__)

Columns = dict[str, np.ndarray]


def _array(v: Any, *, record: str, field: str, dtype: Any = np.float64) -> np.ndarray:
    """A numpy copy of an array-like or a torch tensor (detached, on the CPU)."""
    if hasattr(v, "detach"):
        v = v.detach().cpu().numpy()
    try:
        return np.array(v, dtype=dtype)
    except (TypeError, ValueError) as e:
        raise InputError(f"not a numeric array: {e}", record=record, field=field) from None


def _shape(a: np.ndarray, want: tuple[int | None, ...], *, record: str, field: str) -> None:
    ok = a.ndim == len(want) and all(
        w is None or w == s for w, s in zip(want, a.shape, strict=True)
    )
    if not ok:
        shown = "(" + ", ".join("*" if w is None else str(w) for w in want) + ")"
        raise InputError(f"expected shape {shown}, got {a.shape}", record=record, field=field)


def _row_of(cls_name: str, **choice: Any) -> str:
    """The metric-table row a class of this module computes: among the rows whose streaming
    form it is, the first whose options and call options hold ``choice`` (``mode="crowdpose"``,
    ``root=None``). The table, not the class, spells the name."""
    rows = [m for m in metric_table.METRIC_TABLE.values()
            if m.stateful == f"{__name__}:{cls_name}"]  # fmt: skip
    for m in rows:
        spec = {**m.options, **m.call_options}
        if all(k in spec and spec[k] == v for k, v in choice.items()):
            return m.name
    raise InputError(f"no metric computed by {cls_name} has {choice}", field="metric")


class StreamingMetric:
    """Base of the streaming metrics: a columnar state that appends, merges and gathers.

    Subclasses define ``metric`` (the table name), ``_columns(...)`` (the columns of one update)
    and ``_compute(columns)``.
    """

    #: the metric table name (``posebench.metrics.table``).
    metric: ClassVar[str] = ""
    #: direction of the headline statistic.
    higher_is_better: ClassVar[bool] = True

    def __init__(self) -> None:
        self._local: dict[str, list[np.ndarray]] = {}
        self._gathered: Columns | None = None

    # ---------------------------------------------------------------- state

    def reset(self) -> None:
        """Forget every update (and any gathered state)."""
        self._local = {}
        self._gathered = None

    def _append(self, cols: Mapping[str, np.ndarray]) -> None:
        for k, v in cols.items():
            self._local.setdefault(k, []).append(v)
        self._gathered = None

    def state(self) -> Columns:
        """This instance's columns, concatenated (what :meth:`sync` gathers)."""
        return {k: np.concatenate(v) for k, v in self._local.items()}

    def _config(self) -> tuple[Any, ...]:
        return ()

    def merge(self, other: StreamingMetric) -> None:
        """Append ``other``'s updates after this instance's (same class and options only)."""
        if type(other) is not type(self) or other._config() != self._config():
            raise InputError(
                f"cannot merge {type(other).__name__}{other._config()} into "
                f"{type(self).__name__}{self._config()}: only the same metric with the same "
                "options",
                field="merge",
            )
        for k, v in other.state().items():
            self._local.setdefault(k, []).append(v)
        self._gathered = None

    def sync(self, group: Any = None) -> None:
        """Gather every rank's columns (``torch.distributed.all_gather_object``, rank order);
        :meth:`compute` then sees all of them on every rank. A no-op without an initialised
        process group or with one rank. Collective: every rank of ``group`` must call it."""
        try:
            import torch.distributed as dist
        except ImportError:  # torch is optional for the library
            return
        if not (dist.is_available() and dist.is_initialized()):
            return
        world = dist.get_world_size(group)
        if world == 1:
            return
        gathered: list[Any] = [None] * world
        dist.all_gather_object(gathered, self.state(), group=group)
        keys = dict.fromkeys(k for s in gathered for k in s)
        self._gathered = {k: np.concatenate([s[k] for s in gathered if k in s]) for k in keys}

    def compute(self) -> dict[str, float]:
        """The metric's statistics over every update (and every rank, after :meth:`sync`)."""
        cols = self._gathered if self._gathered is not None else self.state()
        return self._compute(cols)

    def _compute(self, cols: Columns) -> dict[str, float]:
        raise NotImplementedError

    def __deepcopy__(self, memo: dict[int, Any]) -> StreamingMetric:
        new = copy.copy(self)
        new._local = {k: [a.copy() for a in v] for k, v in self._local.items()}
        new._gathered = None if self._gathered is None else dict(self._gathered)
        return new


# ------------------------------------------------------------------------------------- OKS


class OKSAveragePrecision(StreamingMetric):
    """OKS AP/AR, COCO (pycocotools) or CrowdPose (xtcocotools ``keypoints_crowd``) semantics.

    ``update(preds, target)`` takes one entry per image, as lists of mappings (numpy arrays or
    torch tensors):

    - ``target[i]``: ``image_id`` (int), ``keypoints`` (M, K, 3) ``x, y, v`` (or (M, K, 2)
      with ``visibility`` (M, K)), and optionally ``area`` (M,) segment areas (COCO scale),
      ``boxes`` (M, 4) ``x, y, w, h`` (CrowdPose scale), ``iscrowd`` (M,), ``num_keypoints``
      (M,) as a COCO file states it (default: the count of ``v > 0``), ``ids`` (M,) annotation
      ids (default 1, 2, ...), ``crowd_index`` (float; CrowdPose's, computed from the GT when
      absent).
    - ``preds[i]``: ``keypoints`` (N, K, 3) ``x, y, score`` (or (N, K, 2) with
      ``keypoint_scores`` (N, K)), ``scores`` (N,), optionally ``boxes`` (N, 4) and
      ``image_id`` (must equal the target's).

    Every image must come in exactly one update on one rank (an image given twice is an
    error); within an image, predictions keep their order (pycocotools breaks score ties by it).

    Args:
        mode: ``"coco"`` (statistics AP, AP50, ..., ARl) or ``"crowdpose"`` (AP ... AR75,
            APeasy, APmedium, APhard).
        sigmas: a skeleton name or (K,) values; default ``coco17`` or ``crowdpose14``.
        max_dets: detections kept per image (20).
        **options: the other OKS options of :func:`posebench.score` (``scale``, ``gt_ignore``,
            ``gt_id0``, ``gt_negative_id``, ``zero_score_dets``, ``crowd_buckets``,
            ``crowd_ap``), defaults per mode as there.
    """

    metric = _row_of("OKSAveragePrecision")
    higher_is_better = True

    def __init__(
        self,
        *,
        mode: Literal["coco", "crowdpose"] = "coco",
        sigmas: str | Sequence[float] | npt.NDArray[np.float64] | None = None,
        max_dets: int = 20,
        **options: Any,
    ) -> None:
        super().__init__()
        from posebench.skeletons import SKELETONS

        allowed = ("scale", "gt_ignore", "gt_id0", "gt_negative_id", "zero_score_dets",
                   "crowd_buckets", "crowd_ap")  # fmt: skip
        for key in options:
            if key not in allowed:
                raise InputError(f"unknown option (known: {', '.join(allowed)})", field=key)

        if mode not in ("coco", "crowdpose"):
            raise InputError(f"expected 'coco' or 'crowdpose', got {mode!r}", field="mode")
        if max_dets < 1:
            raise InputError("must be at least 1", field="max_dets")
        row = metric_table.get(_row_of("OKSAveragePrecision", mode=mode))
        name = sigmas if sigmas is not None else row.defaults["sigmas"]
        if isinstance(name, str):
            if name not in SKELETONS or SKELETONS[name].sigmas is None:
                raise InputError(f"no skeleton with OKS sigmas called {name!r}", field="sigmas")
            sig = SKELETONS[name].oks_sigmas()
        else:
            sig = np.asarray(name, dtype=np.float64)
        if sig.ndim != 1 or not len(sig) or not (np.isfinite(sig).all() and (sig > 0).all()):
            raise InputError("sigmas must be (K,) positive finite numbers", field="sigmas")
        self.mode = mode
        self.sigmas = sig
        self.max_dets = int(max_dets)
        self.options = dict(options)
        self.metric = row.name  # type: ignore[misc]

    def _config(self) -> tuple[Any, ...]:
        return (self.mode, tuple(self.sigmas.tolist()), self.max_dets, sorted(self.options.items()))

    @property
    def num_keypoints(self) -> int:
        """K."""
        return len(self.sigmas)

    def update(
        self, preds: Sequence[Mapping[str, Any]], target: Sequence[Mapping[str, Any]]
    ) -> None:
        """Add images: ``preds[i]`` are the detections of the image ``target[i]`` describes."""
        if len(preds) != len(target):
            raise InputError(
                f"{len(preds)} prediction entries for {len(target)} images", field="preds"
            )
        for i, (p, t) in enumerate(zip(preds, target, strict=True)):
            self._append(self._image_columns(p, t, i))

    def _image_columns(self, p: Mapping[str, Any], t: Mapping[str, Any], i: int) -> Columns:
        k = self.num_keypoints
        rec_t, rec_p = f"target[{i}]", f"preds[{i}]"
        if "image_id" not in t:
            raise InputError("missing", record=rec_t, field="image_id")
        img = _array(t["image_id"], record=rec_t, field="image_id", dtype=np.float64)
        if img.shape != () or not np.isfinite(img) or img != np.floor(img):
            raise InputError("expected one integer", record=rec_t, field="image_id")
        image_id = int(img)
        if (
            "image_id" in p
            and int(_array(p["image_id"], record=rec_p, field="image_id")) != image_id
        ):
            raise InputError(
                f"differs from the target's {image_id}", record=rec_p, field="image_id"
            )
        gkp = _array(t.get("keypoints", np.zeros((0, k, 3))), record=rec_t, field="keypoints")
        if gkp.ndim == 3 and gkp.shape[2] == 2 and "visibility" in t:
            vis = _array(t["visibility"], record=rec_t, field="visibility")
            _shape(vis, (len(gkp), k), record=rec_t, field="visibility")
        else:
            _shape(gkp, (None, k, 3), record=rec_t, field="keypoints")
            vis = gkp[:, :, 2].copy()
        gkp = gkp[:, :, :2]
        m = len(gkp)

        def col(
            key: str, default: np.ndarray, shape: tuple[int | None, ...], dtype: Any
        ) -> np.ndarray:
            if key not in t:
                return default
            a = _array(t[key], record=rec_t, field=key, dtype=dtype)
            _shape(a, shape, record=rec_t, field=key)
            return a

        area = col("area", np.full(m, np.nan), (m,), np.float64)
        boxes = col("boxes", np.full((m, 4), np.nan), (m, 4), np.float64)
        iscrowd = col("iscrowd", np.zeros(m, bool), (m,), np.float64).astype(bool)
        numkp = col("num_keypoints", np.count_nonzero(vis > 0, axis=1), (m,), np.int64)
        ids = col("ids", np.zeros(m, np.int64), (m,), np.int64)
        crowd = float(_array(t.get("crowd_index", np.nan), record=rec_t, field="crowd_index"))

        dkp = _array(p.get("keypoints", np.zeros((0, k, 3))), record=rec_p, field="keypoints")
        if dkp.ndim == 3 and dkp.shape[2] == 2:
            _shape(dkp, (None, k, 2), record=rec_p, field="keypoints")
            kps = (
                _array(p["keypoint_scores"], record=rec_p, field="keypoint_scores")
                if "keypoint_scores" in p
                else np.ones(dkp.shape[:2])
            )
            _shape(kps, dkp.shape[:2], record=rec_p, field="keypoint_scores")
        else:
            _shape(dkp, (None, k, 3), record=rec_p, field="keypoints")
            kps = dkp[:, :, 2].copy()
        dkp = dkp[:, :, :2]
        n = len(dkp)
        # a COCO file cannot hold NaN or inf: refuse them here too, rather than let them score 0
        checks = (
            (gkp, rec_t, "keypoints"),
            (vis, rec_t, "visibility"),
            (dkp, rec_p, "keypoints"),
            (kps, rec_p, "keypoint_scores"),
        )
        for arr, rec, fld in checks:
            if not np.isfinite(arr).all():
                bad = np.argwhere(~np.isfinite(arr))[0].tolist()
                raise InputError(f"not finite at {bad}", record=rec, field=fld)
        if "scores" not in p and n:
            raise InputError("missing (one confidence per person)", record=rec_p, field="scores")
        score = _array(p.get("scores", np.zeros(0)), record=rec_p, field="scores")
        _shape(score, (n,), record=rec_p, field="scores")
        if not np.isfinite(score).all():
            raise InputError("scores must be finite", record=rec_p, field="scores")
        if "boxes" in p:
            dbox = _array(p["boxes"], record=rec_p, field="boxes")
            _shape(dbox, (n, 4), record=rec_p, field="boxes")
            has_box = np.ones(n, bool)
        else:
            dbox, has_box = np.full((n, 4), np.nan), np.zeros(n, bool)
        return {
            "img_id": np.array([image_id], np.int64),
            "img_crowd": np.array([crowd]),
            "gt_img": np.full(m, image_id, np.int64),
            "gt_kp": gkp,
            "gt_vis": vis,
            "gt_area": area,
            "gt_bbox": boxes,
            "gt_iscrowd": iscrowd,
            "gt_numkp": numkp.astype(np.int64),
            "gt_id": ids,
            "gt_has_id": np.full(m, "ids" in t),
            "dt_img": np.full(n, image_id, np.int64),
            "dt_kp": dkp,
            "dt_kps": kps,
            "dt_score": score,
            "dt_bbox": dbox,
            "dt_has_bbox": has_box,
        }

    def inputs(self, cols: Columns | None = None) -> tuple[PoseSet, PoseSet, ImageTable]:
        """``(preds, gt, images)`` as PoseSets and an image table, in canonical order."""
        if cols is None:
            cols = self._gathered if self._gathered is not None else self.state()
        k = self.num_keypoints
        if not cols:
            empty = PoseSet(image_id=np.zeros(0, np.int64), keypoints=np.zeros((0, k, 2)))
            return empty, empty, ImageTable.from_ids(np.zeros(0, np.int64))
        order = np.argsort(cols["img_id"], kind="stable")
        ids = cols["img_id"][order]
        dup = ids[1:][ids[1:] == ids[:-1]]
        if len(dup):
            raise InputError(
                f"image {int(dup[0])} was given in more than one update (each image once, on "
                "one rank)",
                field="target.image_id",
            )
        images = ImageTable.from_ids(ids)
        images = ImageTable(
            id=images.id, file=images.file, width=images.width, height=images.height,
            crowd_index=cols["img_crowd"][order],
        )  # fmt: skip
        g = np.argsort(cols["gt_img"], kind="stable")
        has_id = cols["gt_has_id"][g]
        gt_ids = np.where(has_id, cols["gt_id"][g], np.arange(1, len(g) + 1))
        gt = PoseSet(
            image_id=cols["gt_img"][g],
            keypoints=cols["gt_kp"][g],
            visibility=cols["gt_vis"][g],
            bbox=cols["gt_bbox"][g],
            area=cols["gt_area"][g],
            iscrowd=cols["gt_iscrowd"][g],
            num_keypoints=cols["gt_numkp"][g],
            ann_id=gt_ids.astype(np.int64),
            category_id=np.ones(len(g), np.int64),
        )
        d = np.argsort(cols["dt_img"], kind="stable")
        dt = PoseSet(
            image_id=cols["dt_img"][d],
            keypoints=cols["dt_kp"][d],
            keypoint_scores=cols["dt_kps"][d],
            score=cols["dt_score"][d],
            bbox=cols["dt_bbox"][d],
            ann_id=np.arange(1, len(d) + 1, dtype=np.int64),
            category_id=np.ones(len(d), np.int64),
            extra={"has_bbox": cols["dt_has_bbox"][d]},
        )
        return dt, gt, images

    def _compute(self, cols: Columns) -> dict[str, float]:
        from posebench.api import score_posesets

        dt, gt, images = self.inputs(cols)
        return score_posesets(
            dt,
            gt,
            images,
            mode=self.mode,
            sigmas=self.sigmas,
            max_dets=self.max_dets,
            **self.options,
        ).values


def coco_updates(
    preds: PoseSet, gt: PoseSet, images: ImageTable
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """``(preds_i, target_i)`` per image of ``images``, in the form
    :meth:`OKSAveragePrecision.update` takes (a test and example helper: a COCO file's ground
    truth and results become what a training loop would produce per image)."""
    p_order = np.argsort(preds.image_id, kind="stable")
    g_order = np.argsort(gt.image_id, kind="stable")
    p_ids, g_ids = preds.image_id[p_order], gt.image_id[g_order]
    has_box = preds.has_bbox()
    for row, image_id in enumerate(images.id.tolist()):
        pr = p_order[
            np.searchsorted(p_ids, image_id, "left") : np.searchsorted(p_ids, image_id, "right")
        ]
        gr = g_order[
            np.searchsorted(g_ids, image_id, "left") : np.searchsorted(g_ids, image_id, "right")
        ]
        vis = (
            gt.visibility[gr]
            if gt.visibility is not None
            else np.full((len(gr), gt.num_joints), 2.0)
        )
        kps = (
            preds.keypoint_scores[pr]
            if preds.keypoint_scores is not None
            else np.ones((len(pr), preds.num_joints))
        )
        p: dict[str, Any] = {
            "keypoints": np.concatenate([preds.keypoints[pr, :, :2], kps[:, :, None]], axis=2),
            "scores": preds.score[pr],
        }
        if len(pr) and has_box[pr].all():
            p["boxes"] = preds.bbox[pr]
        t: dict[str, Any] = {
            "image_id": image_id,
            "keypoints": np.concatenate([gt.keypoints[gr, :, :2], vis[:, :, None]], axis=2),
            "area": gt.area[gr],
            "boxes": gt.bbox[gr],
            "iscrowd": gt.iscrowd[gr],
            "num_keypoints": gt.num_keypoints[gr],
            "ids": gt.ann_id[gr],
            "crowd_index": float(images.crowd_index[row]),
        }
        yield p, t


# --------------------------------------------------------------------------- single person


class _SinglePerson(StreamingMetric):
    """Single-person metrics: one prediction per GT sample, in GT order; ``ids`` (N,) give
    the canonical order (default: the order of updates, rank by rank after :meth:`sync`)."""

    def _order(self, cols: Columns) -> np.ndarray:
        if "ids" not in cols or not len(cols["ids"]):
            return np.arange(0)
        has = cols["has_ids"]
        if has.any() and not has.all():
            raise InputError("give ids in every update or in none", field="ids")
        if not has.any():
            return np.arange(len(has))
        order = np.argsort(cols["ids"], kind="stable")
        s = cols["ids"][order]
        dup = s[1:][s[1:] == s[:-1]]
        if len(dup):
            raise InputError(f"sample id {int(dup[0])} was given twice", field="ids")
        return order

    def _base(
        self, preds: Any, target: Any, dims: int, ids: Any, extra: Mapping[str, Any]
    ) -> Columns:
        p = _array(preds, record="update", field="preds")
        g = _array(target, record="update", field="target")
        _shape(g, (None, None, dims), record="update", field="target")
        _shape(p, g.shape, record="update", field="preds")
        n = len(g)
        cols: Columns = {"pred": p, "gt": g}
        if ids is None:
            cols["ids"], cols["has_ids"] = np.zeros(n, np.int64), np.zeros(n, bool)
        else:
            a = _array(ids, record="update", field="ids", dtype=np.int64)
            _shape(a, (n,), record="update", field="ids")
            cols["ids"], cols["has_ids"] = a, np.ones(n, bool)
        for key, (v, shape, dtype) in extra.items():
            a = _array(v, record="update", field=key, dtype=dtype)
            _shape(a, shape, record="update", field=key)
            cols[key] = a
        return cols

    def _sorted(self, cols: Columns) -> Columns:
        order = self._order(cols)
        return {k: v[order] for k, v in cols.items()}


class PCKh(_SinglePerson):
    """MPII PCKh (``posebench.metrics.pck.mpii_pckh``): ``PCKh`` (= the table's ``Mean``) and
    the MPII table columns, in percent.

    ``update(preds, target, *, visible, headboxes, ids=None)``: (N, 16, 2) coordinates in
    MPII16 order, (N, 16) bool, (N, 2, 2) head boxes.
    """

    metric = _row_of("PCKh")

    def __init__(
        self,
        *,
        threshold: float = 0.5,
        compare: Literal["<=", "<"] = "<=",
        head: Literal["head_top", "head_neck_mean"] = "head_top",
    ) -> None:
        super().__init__()
        if not (math.isfinite(threshold) and threshold > 0):
            raise InputError("must be a positive number", field="threshold")
        self.threshold, self.compare, self.head = float(threshold), compare, head

    def _config(self) -> tuple[Any, ...]:
        return (self.threshold, self.compare, self.head)

    def update(
        self, preds: Any, target: Any, *, visible: Any, headboxes: Any, ids: Any = None
    ) -> None:
        """Add N samples."""
        n = len(_array(target, record="update", field="target"))
        self._append(
            self._base(
                preds,
                target,
                2,
                ids,
                {
                    "visible": (visible, (n, None), bool),
                    "headboxes": (headboxes, (n, 2, 2), np.float64),
                },
            )
        )

    def _compute(self, cols: Columns) -> dict[str, float]:
        from posebench.api import score

        if not cols:
            return {"PCKh_joint_avg": math.nan, "PCKh_pooled": math.nan}
        c = self._sorted(cols)
        return score(
            c["pred"], c["gt"], metric=self.metric, visible=c["visible"], headboxes=c["headboxes"],
            threshold=self.threshold, compare=self.compare, head=self.head,
        ).values  # fmt: skip


class PCK(_SinglePerson):
    """PCK@threshold (``posebench.metrics.pck.pck``) in percent: ``PCK`` and ``PCK/<joint>``.

    ``update(preds, target, *, visible, boxes=None, ids=None)``: (N, K, 2), (N, K) bool and,
    for the ``bbox`` normaliser, (N, 4) ``x, y, w, h`` GT boxes (the larger side normalises).

    Args:
        skeleton: a skeleton name (joint names; the torso joints for ``normalizer="torso"``).
        normalizer: ``bbox`` or ``torso``.
    """

    metric = _row_of("PCK")

    def __init__(
        self,
        *,
        skeleton: str,
        threshold: float = 0.2,
        normalizer: Literal["bbox", "torso"] = "bbox",
        compare: Literal["<=", "<"] = "<=",
    ) -> None:
        super().__init__()
        from posebench.skeletons import SKELETONS

        if skeleton not in SKELETONS:
            raise InputError(f"unknown skeleton {skeleton!r}", field="skeleton")
        if normalizer not in ("bbox", "torso"):
            raise InputError(f"expected 'bbox' or 'torso', got {normalizer!r}", field="normalizer")
        self.skeleton, self.threshold = skeleton, float(threshold)
        self.normalizer, self.compare = normalizer, compare

    def _config(self) -> tuple[Any, ...]:
        return (self.skeleton, self.threshold, self.normalizer, self.compare)

    def update(
        self, preds: Any, target: Any, *, visible: Any, boxes: Any = None, ids: Any = None
    ) -> None:
        """Add N samples."""
        n = len(_array(target, record="update", field="target"))
        extra: dict[str, Any] = {"visible": (visible, (n, None), bool)}
        if self.normalizer == "bbox":
            if boxes is None:
                raise InputError("normalizer 'bbox' needs boxes (N, 4)", field="boxes")
            extra["boxes"] = (boxes, (n, 4), np.float64)
        self._append(self._base(preds, target, 2, ids, extra))

    def _compute(self, cols: Columns) -> dict[str, float]:
        from posebench.api import score

        if not cols:
            return {"PCK": math.nan}
        c = self._sorted(cols)
        return score(
            c["pred"], c["gt"], metric=self.metric, visible=c["visible"], boxes=c.get("boxes"),
            skeleton=self.skeleton, threshold=self.threshold, normalizer=self.normalizer,
            compare=self.compare,
        ).values  # fmt: skip


class _Mpjpe(_SinglePerson):
    higher_is_better = False

    def __init__(self, *, average: Literal["micro", "macro"] = "micro") -> None:
        super().__init__()
        if average not in ("micro", "macro"):
            raise InputError(f"expected 'micro' or 'macro', got {average!r}", field="average")
        self.average = average

    def _config(self) -> tuple[Any, ...]:
        return (self.metric, self.average)

    def update(
        self, preds: Any, target: Any, *, mask: Any = None, actions: Any = None, ids: Any = None
    ) -> None:
        """Add N frames: (N, K, 3) joints in millimetres, ``mask`` (N, K) bool (default all),
        ``actions`` (N,) integer action labels (for ``average="macro"``)."""
        g = _array(target, record="update", field="target")
        n, k = (g.shape[0], g.shape[1]) if g.ndim == 3 else (0, 0)
        if self.average == "macro" and actions is None:
            raise InputError("average='macro' needs actions (N,)", field="actions")
        mask = np.ones((n, k), bool) if mask is None else mask
        extra: dict[str, Any] = {"mask": (mask, (n, k), bool)}
        if actions is not None:
            extra["actions"] = (actions, (n,), np.int64)
        self._append(self._base(preds, target, 3, ids, extra))

    def _compute(self, cols: Columns) -> dict[str, float]:
        from posebench.api import score

        if not cols:
            return {metric_table.get(self.metric).headline: math.nan}
        c = self._sorted(cols)
        return score(
            c["pred"], c["gt"], metric=self.metric, mask=c["mask"], actions=c.get("actions"),
            average=self.average,
        ).values  # fmt: skip


class MPJPE(_Mpjpe):
    """MPJPE in millimetres, root-relative (``root=0``, Human3.6M protocol #1) or absolute
    (``root=None``)."""

    metric = _row_of("MPJPE")

    def __init__(
        self, *, root: int | None = 0, average: Literal["micro", "macro"] = "micro"
    ) -> None:
        super().__init__(average=average)
        if root not in (0, None):
            raise InputError("root is 0 (the first joint) or None", field="root")
        self.metric = _row_of("MPJPE", root=root)  # type: ignore[misc]


class PAMPJPE(_Mpjpe):
    """PA-MPJPE in millimetres (similarity Procrustes per frame, VideoPose3D ``p_mpjpe``)."""

    metric = _row_of("PAMPJPE")


class NMPJPE(_Mpjpe):
    """N-MPJPE in millimetres (VideoPose3D ``n_mpjpe``, root-relative)."""

    metric = _row_of("NMPJPE")


__all__ = [
    "MPJPE",
    "NMPJPE",
    "PAMPJPE",
    "PCK",
    "OKSAveragePrecision",
    "PCKh",
    "StreamingMetric",
    "coco_updates",
]
