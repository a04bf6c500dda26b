"""Calibrated fake models: ``oracle`` (the ground truth itself) and ``jitter`` (the ground truth
with seeded noise, left/right swaps, misses and false positives).

They check the suites and the runner themselves: the oracle must score AP 1.0 on any dataset,
and jitter's AP must fall as its noise rises. Both are dataset-aware: the runner calls
``prepare`` with the ground truth before the first batch.

Jitter's confidence is a documented function of the error it actually applied (see
:func:`jitter_score`), so ranking by score is as informative as ``score_noise`` says: 0 ranks the
poses exactly by their realised error, a large value makes the ranking random.

Deterministic per (seed, image id): the same image gets the same noise whatever the batch size,
shard or order.
"""

from __future__ import annotations

import numpy as np

from posebench.adapter import AdapterInfo, Batch, concat_posesets, empty_predictions
from posebench.errors import InputError
from posebench.poseset import PoseSet
from posebench.skeletons import COCO17, SKELETONS, Skeleton

FloatArray = np.ndarray


class OracleAdapter:
    """Returns the ground truth of each image (non-crowd instances with labelled keypoints) with
    score 1 and keypoint scores 1 where labelled.

    Args:
        top_down: take person boxes and return one pose per box (the GT instance whose box
            overlaps it most), as a top-down model would.
        skeleton: ``auto`` (the dataset's) or a skeleton name.
    """

    dims = 2

    def __init__(self, top_down: bool = False, skeleton: str = "auto") -> None:
        self.top_down = top_down
        if skeleton != "auto" and skeleton not in SKELETONS:
            raise InputError(
                f"unknown skeleton {skeleton!r}; known: auto, {', '.join(SKELETONS)}",
                field="--adapter-arg skeleton",
            )
        self.skeleton: Skeleton = COCO17 if skeleton == "auto" else SKELETONS[skeleton]
        self._fixed_skeleton = skeleton != "auto"
        self._gt: PoseSet | None = None
        self._rows_by_image: dict[int, np.ndarray] = {}
        self._dataset = ""

    def prepare(self, gt: PoseSet, skeleton: Skeleton, dataset_name: str) -> None:
        """Index the ground truth by image."""
        if not self._fixed_skeleton:
            self.skeleton = skeleton
        self.dims = int(gt.keypoints.shape[2])
        self._gt = gt
        self._dataset = dataset_name
        usable = ~gt.iscrowd & (gt.num_keypoints > 0)
        rows = np.flatnonzero(usable)
        order = np.argsort(gt.image_id[rows], kind="stable")
        rows = rows[order]
        ids, starts = np.unique(gt.image_id[rows], return_index=True)
        ends = np.append(starts[1:], len(rows))
        self._rows_by_image = {int(i): rows[a:b] for i, a, b in zip(ids, starts, ends, strict=True)}

    def info(self) -> AdapterInfo:
        return AdapterInfo(
            name=self._name(),
            architecture="ground truth" + self._describe(),
            input_size=None,
            weights="none",
            box_source="gt" if self.top_down else "none",
            skeleton=self.skeleton.name,
            top_down=self.top_down,
            dims=self.dims,
        )

    def _name(self) -> str:
        return "oracle"

    def _describe(self) -> str:
        return ""

    def _require_gt(self) -> PoseSet:
        if self._gt is None:
            raise InputError(
                f"the {self._name()} adapter replays ground truth: the runner must call "
                "prepare(gt, skeleton, dataset) first",
                field="--adapter",
            )
        return self._gt

    def _image_poses(self, image_id: int) -> PoseSet:
        gt = self._require_gt()
        rows = self._rows_by_image.get(image_id, np.zeros(0, np.int64))
        p = gt.take(rows)
        vis = p.visibility if p.visibility is not None else np.ones(p.keypoints.shape[:2])
        return PoseSet(
            image_id=p.image_id.copy(),
            keypoints=p.keypoints.copy(),
            keypoint_scores=(vis > 0).astype(np.float64),
            score=np.ones(len(p)),
            bbox=p.bbox.copy(),
        )

    def _perturb(self, poses: PoseSet, image_id: int, image_size: tuple[int, int]) -> PoseSet:
        return poses

    def predict(self, batch: Batch) -> PoseSet:
        """Ground truth (perturbed by subclasses) for each image of the batch."""
        k = self.skeleton.num_keypoints if self._gt is None else self._gt.num_joints
        out = []
        for j, image_id in enumerate(batch.image_ids.tolist()):
            h, w = batch.images[j].shape[:2]
            poses = self._perturb(self._image_poses(int(image_id)), int(image_id), (w, h))
            if self.top_down:
                if batch.boxes is None:
                    raise InputError("top_down=true needs person boxes", field="boxes")
                poses = _one_per_box(poses, np.asarray(batch.boxes[j]).reshape(-1, 4), image_id)
            out.append(poses)
        return concat_posesets(out, k, self.dims) if out else empty_predictions(k, self.dims)


def _one_per_box(poses: PoseSet, boxes: np.ndarray, image_id: int) -> PoseSet:
    """The pose overlapping each box most (zero pose with score 0 where none)."""
    from posebench.evaluate import _boxes_of, _iou

    m, k, d = len(boxes), poses.num_joints, poses.keypoints.shape[2]
    kp = np.zeros((m, k, d))
    ks = np.zeros((m, k))
    sc = np.zeros(m)
    if len(poses) and m:
        iou = _iou(boxes, _boxes_of(poses))
        best = np.argmax(iou, axis=1)
        hit = iou[np.arange(m), best] > 0
        kp[hit] = poses.keypoints[best[hit]]
        ks[hit] = poses.keypoint_scores[best[hit]] if poses.keypoint_scores is not None else 1
        sc[hit] = poses.score[best[hit]]
    return PoseSet(
        image_id=np.full(m, image_id, np.int64),
        keypoints=kp,
        keypoint_scores=ks,
        score=sc,
        bbox=boxes.astype(np.float64),
        extra={"box_index": np.arange(m, dtype=np.int64)},
    )


#: Realised error (in person scales) that costs one unit of logit in :func:`jitter_score`.
SCORE_ERROR_UNIT = 0.05
#: Logit of an exact pose: ``sigmoid(3)`` = 0.95.
SCORE_LOGIT_EXACT = 3.0
#: The realised error a false positive is scored as (a quarter of a person scale).
FALSE_POSITIVE_ERROR = 0.25


def realised_error(
    pred: FloatArray, gt: FloatArray, labelled: FloatArray, scale: FloatArray
) -> FloatArray:
    """(N,) mean displacement of the labelled keypoints, in units of the person scale.

    Args:
        pred, gt: (N, K, D) keypoints after and before jitter (swaps included).
        labelled: (N, K) bool keypoints that count. scale: (N,) person scale sqrt(w h).
    """
    d = np.linalg.norm(pred - gt, axis=-1) / scale[:, None]
    n = labelled.sum(axis=1)
    out: FloatArray = np.where(n > 0, (d * labelled).sum(axis=1) / np.maximum(n, 1), 0.0)
    return out


def jitter_score(error: FloatArray, z: FloatArray, score_noise: float) -> FloatArray:
    """Detection confidence from the realised error ``e`` (person scales) and a seeded normal
    draw ``z``: ``sigmoid(3 - e / 0.05 + score_noise * z)``.

    For a fixed ``z`` it falls strictly as ``e`` rises (0.95 for an exact pose, 0.5 at
    e = 0.15, 0.05 at e = 0.3); ``score_noise`` 0 makes the ranking by score exactly the
    ranking by realised error, and the larger ``score_noise`` the less the score says.
    """
    logit = SCORE_LOGIT_EXACT - error / SCORE_ERROR_UNIT + score_noise * z
    out: FloatArray = 1.0 / (1.0 + np.exp(-logit))
    return out


class JitterAdapter(OracleAdapter):
    """Ground truth with calibrated, seeded errors.

    Args:
        noise: Gaussian keypoint noise, std as a fraction of the person scale sqrt(box area)
            (COCO OKS is scale-relative, so AP falls smoothly as this rises).
        swap: probability that a person's left/right keypoints are swapped.
        miss: probability that a person is not detected.
        false_positives: mean number of extra poses per image (Poisson), placed at random.
        score_noise: how uninformative the detection score is: the std of the seeded normal
            term in :func:`jitter_score` (0: scores rank poses exactly by realised error).
        seed: the noise seed.
        top_down, skeleton: as :class:`OracleAdapter`.
    """

    def __init__(
        self,
        noise: float = 0.05,
        swap: float = 0.0,
        miss: float = 0.0,
        false_positives: float = 0.0,
        seed: int = 0,
        top_down: bool = False,
        skeleton: str = "auto",
        score_noise: float = 1.0,
    ) -> None:
        super().__init__(top_down=top_down, skeleton=skeleton)
        for name, v, hi in (
            ("noise", noise, 10.0),
            ("swap", swap, 1.0),
            ("miss", miss, 1.0),
            ("false_positives", false_positives, 100.0),
            ("score_noise", score_noise, 100.0),
        ):
            if not 0 <= v <= hi:
                raise InputError(f"{name}={v} outside [0, {hi}]", field=f"--adapter-arg {name}")
        self.noise, self.swap, self.miss = noise, swap, miss
        self.false_positives, self.seed = false_positives, seed
        self.score_noise = score_noise

    def _name(self) -> str:
        return "jitter"

    def _describe(self) -> str:
        return (
            f" + jitter(noise={self.noise}, swap={self.swap}, miss={self.miss}, "
            f"fp={self.false_positives}, score_noise={self.score_noise}, seed={self.seed})"
        )

    def _perturb(self, poses: PoseSet, image_id: int, image_size: tuple[int, int]) -> PoseSet:
        rng = np.random.default_rng([self.seed, image_id & 0x7FFFFFFF, image_id >> 31])
        n, k = len(poses), poses.num_joints
        scale = np.sqrt(np.clip(poses.bbox[:, 2] * poses.bbox[:, 3], 1.0, None))
        scale = np.where(np.isfinite(scale), scale, 32.0)
        kp = (
            poses.keypoints
            + rng.normal(size=poses.keypoints.shape) * (self.noise * scale)[:, None, None]
        )
        swap = rng.random(n) < self.swap
        if swap.any() and self.skeleton.flip_pairs:
            perm = np.arange(k)
            for a, b in self.skeleton.flip_pairs:
                perm[a], perm[b] = b, a
            kp[swap] = kp[swap][:, perm]
        keep = rng.random(n) >= self.miss
        # confidence: a function of the error actually applied (swaps included) plus noise
        labelled = (
            poses.keypoint_scores > 0
            if poses.keypoint_scores is not None
            else np.ones((n, k), dtype=bool)
        )
        error = realised_error(kp, poses.keypoints, labelled, scale)
        score = jitter_score(error, rng.normal(size=n), self.score_noise)
        out = PoseSet(
            image_id=poses.image_id,
            keypoints=kp,
            keypoint_scores=poses.keypoint_scores,
            score=score,
            bbox=poses.bbox,
        ).take(np.flatnonzero(keep))
        n_fp = int(rng.poisson(self.false_positives)) if self.false_positives > 0 else 0
        if n_fp:
            w, h = image_size
            size = rng.uniform(0.1, 0.5, n_fp) * min(w, h)
            x0 = rng.uniform(0, 1, n_fp) * np.maximum(w - size, 1)
            y0 = rng.uniform(0, 1, n_fp) * np.maximum(h - size, 1)
            fk = rng.uniform(0, 1, (n_fp, k, 2)) * size[:, None, None]
            fk[..., 0] += x0[:, None]
            fk[..., 1] += y0[:, None]
            fp = PoseSet(
                image_id=np.full(n_fp, image_id, np.int64),
                keypoints=fk,
                keypoint_scores=np.full((n_fp, k), 0.5),
                score=jitter_score(
                    np.full(n_fp, FALSE_POSITIVE_ERROR), rng.normal(size=n_fp), self.score_noise
                ),
                bbox=np.stack([x0, y0, size, size], axis=1),
            )
            out = concat_posesets([out, fp], k, 2)
        return out
