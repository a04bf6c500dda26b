"""MediaPipe Pose (BlazePose GHUM, "full" landmark model) behind the predict API.

Uses the legacy ``mediapipe.solutions.pose`` graph of the ``mediapipe==0.10.21`` wheel, whose only
bundled landmark model is ``pose_landmark_full.tflite`` (``model_complexity=1``); the lite (0) and
heavy (2) models are downloaded by mediapipe on first use, which posebench never does, so they are
refused. The 33 BlazePose landmarks are mapped to COCO-17 by name
(:func:`posebench.skeletons.mapping`).

Two modes:

* ``top-down`` (default): every person box is grown to a square with ``padding`` context, cropped
  at full resolution (pixels outside the image are black) and given to MediaPipe, which runs its
  own person detector and landmark model on the crop. Exactly one pose per box, in box order.
* ``full-image``: MediaPipe runs on the whole image and returns at most one person (BlazePose is
  single-person), so crowded images lose everybody but one.

Box sources for top-down mode (chosen on the runner's command line, recorded in every signature):
GT boxes (``--boxes gt``), the dataset's detections file (``--boxes detector``), or any COCO
detections file or bottom-up run folder (``--boxes PATH``, :mod:`posebench.boxes`; e.g. the boxes
of a ``yolo11n-pose`` run), so that BlazePose can be ranked beside bottom-up models on detected
people; ``full-image`` is the other way to find people without GT boxes.

Conventions (recorded in ``info().extra``):

* ``keypoint_scores`` are MediaPipe's landmark ``visibility`` (sigmoid, in [0, 1]).
* ``score`` is the mean of the 17 COCO keypoint scores, times the box's score in top-down mode
  (``Batch.box_scores``: 1 for GT boxes; a detector's confidence for detector boxes, as mmpose's
  top-down instance score weighs the box score).
* ``bbox`` is the input box in top-down mode and the extent of the 17 COCO keypoints in full-image
  mode.
* When MediaPipe finds nobody in a crop, the box still gets a row (so single-person metrics can
  pair every box with its ground truth): all keypoints at the box centre, keypoint scores 0 and
  ``score`` 0, ``extra["detected"] = False``. Such a row ranks last in OKS AP and only counts as a
  true positive in the unlikely case that a centred point matches.

MediaPipe needs no GPU; it runs at roughly 35 ms per crop on one CPU core.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging

# Imported at module level on purpose: a missing package raises ModuleNotFoundError(name=
# "mediapipe"), which posebench.adapters.load_adapter turns into the install hint.
import os
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, get_args

# mediapipe's C++ side logs to stderr (glog, TFLite) unless told otherwise
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import mediapipe
import numpy as np
import numpy.typing as npt
from mediapipe.python.solutions import pose as mp_pose

from posebench.adapter import AdapterInfo, Batch, BoxSource, concat_posesets, expand_boxes
from posebench.errors import InputError
from posebench.poseset import PoseSet
from posebench.skeletons import BLAZEPOSE33, COCO17, Skeleton, mapping

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
Image = npt.NDArray[np.uint8]

Mode = Literal["top-down", "full-image"]
MODES: tuple[str, ...] = get_args(Mode)
BOX_SOURCES: tuple[str, ...] = get_args(BoxSource)

#: BlazePose-33 -> COCO-17, by joint name: ``coco[:, _DST] = blaze[:, _SRC]``.
_SRC, _DST = mapping(BLAZEPOSE33, COCO17)
if len(_DST) != COCO17.num_keypoints:  # pragma: no cover - guards the skeleton tables
    raise ImportError("BlazePose-33 -> COCO-17 mapping is incomplete")

LANDMARK_MODEL = "pose_landmark_full.tflite"


def _arg_error(key: str, message: str) -> InputError:
    return InputError(f"adapter 'mediapipe': {message}", field=f"--adapter-arg {key}")


def _weights_id() -> str:
    """``mediapipe==VERSION wheel pose_landmark_full.tflite (sha256 PREFIX)``."""
    version = metadata.version("mediapipe")
    path = Path(mediapipe.__file__).parent / "modules" / "pose_landmark" / LANDMARK_MODEL
    digest = ""
    if path.is_file():
        digest = f" (sha256 {hashlib.sha256(path.read_bytes()).hexdigest()[:12]})"
    return f"mediapipe=={version} wheel {LANDMARK_MODEL}{digest}"


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Silence file descriptor 2 while mediapipe's native code starts up (its glog and TFLite
    notes bypass Python logging). Python exceptions still propagate."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def square_crop(image: Image, box: FloatArray, padding: float) -> tuple[Image, FloatArray]:
    """The square, context-padded crop of one person box, at the image's own resolution.

    Args:
        image: (H, W, 3) uint8 RGB.
        box: (4,) ``[x, y, w, h]`` pixels.
        padding: factor on the longer box side (the crop side is ``padding * max(w, h)``).
    Returns:
        crop: (S, S, 3) uint8 contiguous, black where the square leaves the image;
        offset: (2,) float64 ``(x0, y0)`` of the crop's top-left pixel in the image, so that
            ``image_xy = crop_xy + offset``.
    """
    x, y, w, h = expand_boxes(box, padding=padding, aspect=1.0)[0]
    side = max(int(np.ceil(max(w, h))), 1)
    x0 = int(np.floor(x + w / 2 - side / 2))
    y0 = int(np.floor(y + h / 2 - side / 2))
    crop = np.zeros((side, side, 3), np.uint8)
    ih, iw = image.shape[:2]
    sx0, sy0 = max(x0, 0), max(y0, 0)
    sx1, sy1 = min(x0 + side, iw), min(y0 + side, ih)
    if sx1 > sx0 and sy1 > sy0:
        crop[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = image[sy0:sy1, sx0:sx1]
    return crop, np.array([x0, y0], dtype=np.float64)


class MediaPipeAdapter:
    """MediaPipe Pose (BlazePose GHUM full) returning COCO-17 keypoints in image pixels.

    Args:
        mode: ``top-down`` (one pose per given box) or ``full-image`` (at most one pose per image).
        padding: crop side as a multiple of the box's longer side (top-down only).
        min_detection_confidence: MediaPipe's person-detector threshold, in [0, 1].
        model_complexity: 1 only (the model inside the wheel); 0 and 2 would download weights.
        box_source: recorded in ``info()`` for top-down runs (``gt``, ``detector``, ``file``);
            full-image runs record ``none``.
    """

    skeleton: Skeleton
    top_down: bool
    dims: int

    def __init__(
        self,
        mode: Mode = "top-down",
        padding: float = 1.5,
        min_detection_confidence: float = 0.5,
        model_complexity: int = 1,
        box_source: str = "gt",
    ) -> None:
        if mode not in MODES:
            raise _arg_error("mode", f"mode={mode!r} is not one of {', '.join(MODES)}")
        if model_complexity != 1:
            raise _arg_error(
                "model_complexity",
                f"model_complexity={model_complexity!r} is not supported: only 1 (the "
                f"{LANDMARK_MODEL} inside the mediapipe wheel); 0 (lite) and 2 (heavy) make "
                "mediapipe download weights at run time, which posebench never does",
            )
        if not (np.isfinite(padding) and padding > 0):
            raise _arg_error("padding", f"padding={padding!r} must be a positive number")
        if not (0.0 <= min_detection_confidence <= 1.0):
            raise _arg_error(
                "min_detection_confidence",
                f"min_detection_confidence={min_detection_confidence!r} must lie in [0, 1]",
            )
        if box_source not in BOX_SOURCES:
            raise _arg_error(
                "box_source", f"box_source={box_source!r} is not one of {', '.join(BOX_SOURCES)}"
            )
        self.mode: Mode = mode
        self.padding = float(padding)
        self.min_detection_confidence = float(min_detection_confidence)
        self.model_complexity = model_complexity
        self.box_source: BoxSource = box_source if mode == "top-down" else "none"  # type: ignore[assignment]
        self.skeleton = COCO17
        self.top_down = mode == "top-down"
        self.dims = 2
        self._weights: str | None = None
        # Graph creation takes ~0.3 s: one Pose object serves every call. static_image_mode runs
        # the person detector on every input (no tracking between unrelated crops).
        with _quiet_native_stderr():
            self._pose: Any = mp_pose.Pose(
                static_image_mode=True,
                model_complexity=model_complexity,
                enable_segmentation=False,
                min_detection_confidence=self.min_detection_confidence,
            )
            # The graph's calculators open on worker threads after start, and TFLite's
            # "Created TensorFlow Lite XNNPACK delegate" note comes from there, possibly after
            # this block; one tiny inference waits for them, so it lands in the silenced stderr.
            self._pose.process(np.zeros((32, 32, 3), np.uint8))
        self._warm = False

    def info(self) -> AdapterInfo:
        """Architecture, input size, weights and box source."""
        if self._weights is None:
            self._weights = _weights_id()
        return AdapterInfo(
            name="mediapipe",
            architecture="BlazePose GHUM 3D (full)",
            input_size=(256, 256),
            weights=self._weights,
            box_source=self.box_source,
            skeleton=self.skeleton.name,
            top_down=self.top_down,
            dims=self.dims,
            extra={
                "mode": self.mode,
                "padding": self.padding if self.top_down else None,
                "min_detection_confidence": self.min_detection_confidence,
                "model_complexity": self.model_complexity,
                "keypoint_scores": "landmark visibility",
                "score": (
                    "mean of the 17 keypoint scores x box score"
                    if self.top_down
                    else "mean of the 17 keypoint scores"
                ),
                "bbox": "input box" if self.top_down else "keypoint extent",
                "no_person": "box centre, scores 0" if self.top_down else "no row",
            },
        )

    def _landmarks(self, rgb: Image) -> tuple[FloatArray, FloatArray] | None:
        """COCO-17 ``(xy (17, 2) pixels of rgb, visibility (17,))``; None when nobody is found."""
        if self._pose is None:
            raise RuntimeError("MediaPipeAdapter is closed")
        if self._warm:
            result = self._pose.process(np.ascontiguousarray(rgb, dtype=np.uint8))
        else:  # the first inferences print TFLite/glog start-up notes on the C stderr: the
            # detector's on the first frame, the landmark model's ("Created TensorFlow Lite
            # XNNPACK delegate") on the first frame where a person is found
            with _quiet_native_stderr():
                result = self._pose.process(np.ascontiguousarray(rgb, dtype=np.uint8))
            self._warm = result.pose_landmarks is not None
        found = result.pose_landmarks
        if found is None:
            return None
        lm = np.array([(p.x, p.y, p.visibility) for p in found.landmark], dtype=np.float64)
        h, w = rgb.shape[:2]
        xy = np.zeros((COCO17.num_keypoints, 2))
        vis = np.zeros(COCO17.num_keypoints)
        # MediaPipe's x, y are normalised by the input's width and height.
        xy[_DST] = lm[_SRC, :2] * np.array([w, h], dtype=np.float64)
        vis[_DST] = lm[_SRC, 2]
        return xy, vis

    def _check_image(self, batch: Batch, i: int) -> Image:
        im = batch.images[i]
        if im.ndim != 3 or im.shape[2] != 3 or im.dtype != np.uint8:
            raise InputError(
                f"expected an RGB uint8 (H, W, 3) image, got {im.dtype} {im.shape}",
                record=f"image {int(batch.image_ids[i])}",
                field="images",
            )
        return im

    def _predict_top_down(self, batch: Batch) -> PoseSet:
        if batch.boxes is None:
            raise InputError(
                "mode top-down needs person boxes (Batch.boxes); use mode=full-image without",
                field="boxes",
            )
        parts = []
        k = COCO17.num_keypoints
        for i in range(len(batch)):
            image = self._check_image(batch, i)
            boxes = np.asarray(batch.boxes[i], dtype=np.float64).reshape(-1, 4)
            m = len(boxes)
            if m == 0:
                continue
            bad = ~np.isfinite(boxes).all(axis=1) | (boxes[:, 2] <= 0) | (boxes[:, 3] <= 0)
            if bad.any():
                j = int(np.flatnonzero(bad)[0])
                raise InputError(
                    f"box {boxes[j].tolist()} must be finite with positive width and height",
                    record=f"image {int(batch.image_ids[i])} box {j}",
                    field="boxes",
                )
            box_scores = (
                np.ones(m)
                if batch.box_scores is None
                else np.asarray(batch.box_scores[i], dtype=np.float64).reshape(m)
            )
            kpts = np.zeros((m, k, 2))
            scores = np.zeros((m, k))
            detected = np.zeros(m, bool)
            for j, box in enumerate(boxes):
                crop, offset = square_crop(image, box, self.padding)
                got = self._landmarks(crop)
                if got is None:
                    log.debug("no person in box %d of image %d", j, int(batch.image_ids[i]))
                    kpts[j] = box[:2] + box[2:] / 2
                    continue
                kpts[j] = got[0] + offset
                scores[j] = got[1]
                detected[j] = True
            parts.append(
                PoseSet(
                    image_id=np.full(m, batch.image_ids[i], np.int64),
                    keypoints=kpts,
                    keypoint_scores=scores,
                    score=scores.mean(axis=1) * box_scores,
                    bbox=boxes.copy(),
                    extra={"box_index": np.arange(m, dtype=np.int64), "detected": detected},
                )
            )
        return concat_posesets(parts, k)

    def _predict_full_image(self, batch: Batch) -> PoseSet:
        parts = []
        for i in range(len(batch)):
            got = self._landmarks(self._check_image(batch, i))
            if got is None:
                continue
            xy, vis = got
            lo, hi = xy.min(axis=0), xy.max(axis=0)
            parts.append(
                PoseSet(
                    image_id=np.array([batch.image_ids[i]], np.int64),
                    keypoints=xy[None],
                    keypoint_scores=vis[None],
                    score=np.array([vis.mean()]),
                    bbox=np.concatenate([lo, hi - lo])[None],
                )
            )
        return concat_posesets(parts, COCO17.num_keypoints)

    def predict(self, batch: Batch) -> PoseSet:
        """COCO-17 poses for every image of the batch.

        Returns a PoseSet with ``image_id`` (N,), ``keypoints`` (N, 17, 2) image pixels,
        ``keypoint_scores`` (N, 17) landmark visibility, ``score`` (N,) their mean and ``bbox``
        (N, 4); top-down adds ``extra["box_index"]`` (N,) int64 and ``extra["detected"]`` (N,)
        bool (False where MediaPipe found nobody in the crop).
        """
        if self.top_down:
            return self._predict_top_down(batch)
        return self._predict_full_image(batch)

    def close(self) -> None:
        """Release MediaPipe's graph (idempotent)."""
        if self._pose is not None:
            self._pose.close()
            self._pose = None

    def __enter__(self) -> MediaPipeAdapter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
