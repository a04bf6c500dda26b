"""Benchmark datasets found by name under a data root (``--data-root`` or ``POSEBENCH_DATA``).

:data:`DATASETS` is an explicit table: grep finds every dataset, its files and its layout. Each
dataset lives in a sub-folder of the data root named after its family (``coco/``,
``crowdpose/``, ``ochuman/``, ``mpii/``, ``lsp/``, ``h36m/``), laid out as mmpose documents it
(``docs/en/dataset_zoo/``), so a root prepared for mmpose works unchanged. Where the dataset's own
release names a file differently, that name is accepted too (``alternates``).

    >>> ds = load_dataset("coco-sample", None)
    >>> ds.skeleton.name, len(ds.images) > 0
    ('coco17', True)

Conventions of a loaded :class:`Dataset`:

* ``gt`` coordinates are 0-based pixels of the decoded image. MPII and LSP files store MATLAB
  1-based coordinates; they are shifted by -1 here (head boxes and centres too), which leaves
  every distance and therefore PCKh/PCK/PCP/PDJ unchanged.
* Human3.6M ``gt`` is 3D, camera coordinates in millimetres (the mmpose ``.npz`` stores metres).
* The image table is sorted by id. ``width``/``height`` are 0 where the annotation file has no
  sizes (MPII, LSP, Human3.6M); :meth:`Dataset.image_size` then reads them from the image header.
"""

from __future__ import annotations

import difflib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Literal

import numpy as np
import numpy.typing as npt

from posebench.errors import InputError
from posebench.poseset import ImageTable, PoseSet
from posebench.skeletons import Skeleton, get_skeleton

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Image = npt.NDArray[np.uint8]

Format = Literal["coco", "mpii", "lsp", "h36m"]

ENV_VAR = "POSEBENCH_DATA"

#: The mmpose convention for single-person boxes: a box side is ``scale * 200`` pixels.
PIXEL_STD = 200.0


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset's files are and what they hold.

    Attributes:
        name: the name used on the command line and in suites (``coco-val2017``).
        format: the reader: ``coco`` (COCO-style json), ``mpii`` (mmpose json + head-box
            ``.mat``), ``lsp`` (``joints.mat``), ``h36m`` (mmpose ``.npz``).
        annotations: the ground-truth file, relative to the data root.
        images: the image folder, relative to the data root.
        skeleton: the skeleton name of the ground truth.
        metric: the default metric name.
        description: one line for ``posebench ls datasets``.
        layout: the expected folder tree, shown when a file is missing.
        detections: a person-detector results file (COCO results json), relative to the root.
        alternates: other accepted paths of ``annotations`` (the dataset's own release names).
        headboxes: (mpii) the ground-truth ``.mat`` with ``headboxes_src``.
        records: (start, stop) person records kept from the file (LSP's test half), or None.
        annotation: (lsp) ``person-centric`` or ``observer-centric`` joint labels.
        persons: ``multi`` (several people per image, crowd regions) or ``single`` (one GT row
            per annotated person, scored in GT order).
        dims: 2 or 3.
        sample: the embedded sample name (``posebench.samples``); such a dataset needs no root.
    """

    name: str
    format: Format
    annotations: str
    images: str
    skeleton: str
    metric: str
    description: str
    layout: str
    detections: str | None = None
    alternates: tuple[str, ...] = ()
    headboxes: str | None = None
    records: tuple[int, int] | None = None
    persons: Literal["multi", "single"] = "multi"
    dims: Literal[2, 3] = 2
    sample: str | None = None
    annotation: Literal["person-centric", "observer-centric"] = "person-centric"

    @property
    def family(self) -> str:
        """The sub-folder of the data root (``coco``)."""
        return PurePosixPath(self.annotations).parts[0]


_COCO_LAYOUT = """\
<data root>/coco/
├── annotations/
│   └── person_keypoints_val2017.json
├── person_detection_results/
│   └── COCO_val2017_detections_AP_H_56_person.json   (only for boxes: detector)
└── val2017/
    ├── 000000000139.jpg
    └── ..."""

_CROWDPOSE_LAYOUT = """\
<data root>/crowdpose/
├── annotations/
│   ├── mmpose_crowdpose_{split}.json      (or json/crowdpose_{split}.json of the release)
│   └── det_for_crowd_test_0.1_0.5.json     (only for boxes: detector, test split)
└── images/
    ├── 100000.jpg
    └── ..."""

_OCHUMAN_LAYOUT = """\
<data root>/ochuman/
├── annotations/
│   └── ochuman_coco_format_{split}_range_0.00_1.00.json   (or directly in ochuman/)
└── images/
    ├── 000001.jpg
    └── ..."""

_MPII_LAYOUT = """\
<data root>/mpii/
├── annotations/
│   ├── mpii_val.json       (mmpose's mpii_annotations.tar)
│   └── mpii_gt_val.mat     (head boxes for PCKh)
└── images/
    ├── 000001163.jpg
    └── ..."""

_LSP_LAYOUT = """\
<data root>/lsp/
├── joints.mat      (the original LSP release, 3 x 14 x 2000; test = images 1001-2000)
└── images/
    ├── im0001.jpg
    └── ..."""

_LSP_OC_LAYOUT = """\
<data root>/lsp/
├── lsp-joints-OC.mat  (observer-centric labels of the 2000 LSP images, 3 x 14 x 2000 or
│                       2 x 14 x 2000, as bearpaw/eval_pose gt/; test = images 1001-2000)
└── images/
    ├── im0001.jpg
    └── ..."""

_H36M_LAYOUT = """\
<data root>/h36m/
├── annotation_body3d/
│   └── fps50/
│       └── h36m_test.npz
└── images/
    └── S9/
        └── S9_Directions_1.54138969/
            ├── S9_Directions_1.54138969_000001.jpg
            └── ..."""

_SAMPLE_LAYOUT = "(embedded in the posebench package; needs no data root)"

#: name -> spec. An explicit table: grep finds every dataset.
DATASETS: dict[str, DatasetSpec] = {
    "coco-val2017": DatasetSpec(
        name="coco-val2017",
        format="coco",
        annotations="coco/annotations/person_keypoints_val2017.json",
        images="coco/val2017",
        skeleton="coco17",
        metric="oks",
        description="COCO val2017 person keypoints (5000 images, 17 keypoints)",
        layout=_COCO_LAYOUT,
        detections="coco/person_detection_results/COCO_val2017_detections_AP_H_56_person.json",
    ),
    "crowdpose-val": DatasetSpec(
        name="crowdpose-val",
        format="coco",
        annotations="crowdpose/annotations/mmpose_crowdpose_val.json",
        alternates=(
            "crowdpose/json/crowdpose_val.json",
            "crowdpose/annotations/crowdpose_val.json",
        ),
        images="crowdpose/images",
        skeleton="crowdpose14",
        metric="oks",
        description="CrowdPose val (2000 images, 14 keypoints, crowd index)",
        layout=_CROWDPOSE_LAYOUT.replace("{split}", "val"),
    ),
    "crowdpose-test": DatasetSpec(
        name="crowdpose-test",
        format="coco",
        annotations="crowdpose/annotations/mmpose_crowdpose_test.json",
        alternates=(
            "crowdpose/json/crowdpose_test.json",
            "crowdpose/annotations/crowdpose_test.json",
        ),
        images="crowdpose/images",
        skeleton="crowdpose14",
        metric="oks",
        description="CrowdPose test (8000 images, 14 keypoints, crowd index)",
        layout=_CROWDPOSE_LAYOUT.replace("{split}", "test"),
        detections="crowdpose/annotations/det_for_crowd_test_0.1_0.5.json",
    ),
    "ochuman-val": DatasetSpec(
        name="ochuman-val",
        format="coco",
        annotations="ochuman/annotations/ochuman_coco_format_val_range_0.00_1.00.json",
        alternates=("ochuman/ochuman_coco_format_val_range_0.00_1.00.json",),
        images="ochuman/images",
        skeleton="coco17",
        metric="oks",
        description="OCHuman val (heavily occluded people, COCO-17 keypoints)",
        layout=_OCHUMAN_LAYOUT.replace("{split}", "val"),
    ),
    "ochuman-test": DatasetSpec(
        name="ochuman-test",
        format="coco",
        annotations="ochuman/annotations/ochuman_coco_format_test_range_0.00_1.00.json",
        alternates=("ochuman/ochuman_coco_format_test_range_0.00_1.00.json",),
        images="ochuman/images",
        skeleton="coco17",
        metric="oks",
        description="OCHuman test (heavily occluded people, COCO-17 keypoints)",
        layout=_OCHUMAN_LAYOUT.replace("{split}", "test"),
    ),
    "mpii-val": DatasetSpec(
        name="mpii-val",
        format="mpii",
        annotations="mpii/annotations/mpii_val.json",
        headboxes="mpii/annotations/mpii_gt_val.mat",
        images="mpii/images",
        skeleton="mpii16",
        metric="pckh",
        description="MPII val split (2958 persons, 16 joints, head boxes for PCKh)",
        layout=_MPII_LAYOUT,
        persons="single",
    ),
    "lsp-test": DatasetSpec(
        name="lsp-test",
        format="lsp",
        annotations="lsp/joints.mat",
        images="lsp/images",
        skeleton="lsp14",
        metric="pck",
        description="Leeds Sports Pose test half (images 1001-2000, 14 joints)",
        layout=_LSP_LAYOUT,
        records=(1000, 2000),
        persons="single",
    ),
    "lsp-test-oc": DatasetSpec(
        name="lsp-test-oc",
        format="lsp",
        annotations="lsp/lsp-joints-OC.mat",
        images="lsp/images",
        skeleton="lsp14",
        metric="pck",
        description="LSP test half, observer-centric labels (lsp-joints-OC.mat of the MPII "
        "benchmark's LSP evaluation; left = image left)",
        layout=_LSP_OC_LAYOUT,
        records=(1000, 2000),
        persons="single",
        annotation="observer-centric",
    ),
    "h36m-test": DatasetSpec(
        name="h36m-test",
        format="h36m",
        annotations="h36m/annotation_body3d/fps50/h36m_test.npz",
        images="h36m/images",
        skeleton="h36m17",
        metric="mpjpe",
        description="Human3.6M test subjects S9, S11 (3D, 17 joints, millimetres)",
        layout=_H36M_LAYOUT,
        persons="single",
        dims=3,
    ),
    "coco-sample": DatasetSpec(
        name="coco-sample",
        format="coco",
        annotations="coco_val2017_sample/person_keypoints.json",
        images="coco_val2017_sample/images",
        skeleton="coco17",
        metric="oks",
        description="embedded sample of COCO val2017 images with GT (ships with posebench)",
        layout=_SAMPLE_LAYOUT,
        sample="coco-val2017-sample",
    ),
}


# ----------------------------------------------------------------------------- the dataset


@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded dataset: ground truth, images table and where the images are.

    Attributes:
        name: the dataset name.
        spec: its table entry.
        root: the data root it was found under (the package folder for the embedded sample).
        gt: ground truth (N rows), 0-based pixels (2D) or millimetres (3D). Single-person
            datasets keep the file's person order; MPII's ``extra['headbox']`` is (N, 2, 2)
            ``[[x1, y1], [x2, y2]]``, ``extra['center']`` (N, 2) and ``extra['scale']`` (N,).
        images: the images table (I rows), sorted by id.
        skeleton: the ground truth's skeleton.
        images_dir: the folder image files are relative to.
    """

    name: str
    spec: DatasetSpec
    root: Path
    gt: PoseSet
    images: ImageTable
    skeleton: Skeleton
    images_dir: Path
    _rows: dict[int, int] = field(default_factory=dict, init=False, repr=False)
    _gt_order: IntArray = field(default_factory=lambda: np.zeros(0, np.int64), init=False)
    _gt_sorted: IntArray = field(default_factory=lambda: np.zeros(0, np.int64), init=False)
    _sizes: dict[int, tuple[int, int]] = field(default_factory=dict, init=False, repr=False)
    _detections: list[PoseSet] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        self._rows.update({int(i): r for r, i in enumerate(self.images.id.tolist())})
        order = np.argsort(self.gt.image_id, kind="stable")
        object.__setattr__(self, "_gt_order", order)
        object.__setattr__(self, "_gt_sorted", self.gt.image_id[order])

    def _row(self, image_id: int) -> int:
        try:
            return self._rows[int(image_id)]
        except KeyError:
            raise InputError(
                f"dataset {self.name!r} has no image with id {image_id}", record=f"image {image_id}"
            ) from None

    def image_path(self, image_id: int) -> Path:
        """Path of an image file; InputError when the annotation's name would leave the images
        folder (absolute, a drive, ``..``) or is empty."""
        name = str(self.images.file[self._row(image_id)])
        if not _safe_relative(name):
            raise InputError(
                f"image file name {name!r} is not a relative path inside {self.images_dir}",
                file=str(self.spec.annotations),
                record=f"image {image_id}",
                field="file_name",
            )
        return self.images_dir / name

    def load_image(self, image_id: int) -> Image:
        """The image as (H, W, 3) uint8 RGB (EXIF orientation is not applied: annotations are
        in the stored pixel grid)."""
        from PIL import Image as PILImage
        from PIL import UnidentifiedImageError

        path = self.image_path(image_id)
        try:
            with PILImage.open(path) as im:
                rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
        except FileNotFoundError:
            raise InputError(
                f"image file not found (dataset {self.name!r})",
                file=str(path),
                record=f"image {image_id}",
            ) from None
        except (UnidentifiedImageError, OSError, ValueError) as e:
            raise InputError(
                f"cannot decode image: {e}", file=str(path), record=f"image {image_id}"
            ) from None
        row = self._row(image_id)
        w, h = int(self.images.width[row]), int(self.images.height[row])
        if w and h and (rgb.shape[1], rgb.shape[0]) != (w, h):
            log.warning(
                "%s: image %d is %dx%d, the annotations say %dx%d",
                path, image_id, rgb.shape[1], rgb.shape[0], w, h,
            )  # fmt: skip
        return rgb

    def image_size(self, image_id: int) -> tuple[int, int]:
        """(width, height): from the table, else read from the image header (once, cached)."""
        row = self._row(image_id)
        w, h = int(self.images.width[row]), int(self.images.height[row])
        if w > 0 and h > 0:
            return w, h
        if int(image_id) not in self._sizes:
            from PIL import Image as PILImage
            from PIL import UnidentifiedImageError

            path = self.image_path(image_id)
            try:
                with PILImage.open(path) as im:
                    self._sizes[int(image_id)] = (int(im.width), int(im.height))
            except FileNotFoundError:
                raise InputError(
                    "image file not found", file=str(path), record=f"image {image_id}"
                ) from None
            except (UnidentifiedImageError, OSError) as e:
                raise InputError(
                    f"cannot read image header: {e}", file=str(path), record=f"image {image_id}"
                ) from None
        return self._sizes[int(image_id)]

    def gt_rows(self, image_id: int) -> IntArray:
        """(M,) rows of ``gt`` on an image, in file order."""
        self._row(image_id)
        lo, hi = np.searchsorted(self._gt_sorted, [image_id, image_id + 1])
        return np.asarray(np.sort(self._gt_order[lo:hi]), dtype=np.int64)

    def gt_boxes(self, image_id: int) -> tuple[FloatArray, IntArray]:
        """Person boxes of the ground truth on an image: ((M, 4) xywh, (M,) rows into ``gt``).

        Multi-person datasets: the GT boxes of the non-crowd persons with at least one labelled
        keypoint (the others are ignored by OKS; mmpose's GT-box protocol skips them too).
        Single-person datasets: every person; MPII and Human3.6M boxes are the annotated
        ``scale * 200`` square around ``center`` (mmpose), LSP's the box of the labelled joints.
        """
        rows = self.gt_rows(image_id)
        if self.spec.persons == "multi":
            keep = ~self.gt.iscrowd[rows] & (self.gt.num_keypoints[rows] > 0)
            box = self.gt.bbox[rows]
            keep &= np.isfinite(box).all(axis=1) & (box[:, 2] > 0) & (box[:, 3] > 0)
            rows = rows[keep]
        return np.asarray(self.gt.bbox[rows], dtype=np.float64).reshape(-1, 4), rows

    def detections(self) -> PoseSet:
        """The dataset's person-detector results (bbox, score, image_id), read once.

        InputError when the dataset lists no detections file or it is missing.
        """
        if not self._detections:
            self._detections.append(_read_detections(self))
        return self._detections[0]

    def det_boxes(self, image_id: int) -> tuple[FloatArray, FloatArray]:
        """Detector boxes on an image: ((M, 4) xywh, (M,) scores), highest score first."""
        self._row(image_id)
        det = self.detections()
        sel = np.flatnonzero(det.image_id == int(image_id))
        sel = sel[np.argsort(-det.score[sel], kind="stable")]
        return det.bbox[sel].reshape(-1, 4), det.score[sel]


# ----------------------------------------------------------------------------- lookup


def data_root(cli_value: str | None) -> Path | None:
    """The data root: ``--data-root``, else ``$POSEBENCH_DATA``, else None."""
    value = cli_value if cli_value else os.environ.get(ENV_VAR) or None
    return Path(value).expanduser() if value else None


def get_spec(name: str) -> DatasetSpec:
    """The table entry of a dataset; InputError with "did you mean" on a typo."""
    try:
        return DATASETS[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(DATASETS), n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise InputError(
            f"unknown dataset {name!r}{hint} (known: {', '.join(DATASETS)})", field="dataset"
        ) from None


def _not_found(spec: DatasetSpec, root: Path | None, missing: str) -> InputError:
    where = f"under {root}" if root is not None else "(no data root given)"
    return InputError(
        f"dataset {spec.name!r} not found {where}: missing {missing}; expected layout:\n"
        f"{spec.layout}\nSet --data-root or {ENV_VAR}."
    )


def _find(spec: DatasetSpec, root: Path | None, rel: str, alternates: tuple[str, ...] = ()) -> Path:
    if root is None or not root.is_dir():
        raise _not_found(spec, root, rel if root is None else f"{root} (not a directory)")
    for candidate in (rel, *alternates):
        p = root / candidate
        if p.is_file():
            return p
    raise _not_found(spec, root, rel)


def _safe_relative(name: str) -> bool:
    """A relative path that stays inside its folder (no '..', no root, no drive)."""
    if not name or "\x00" in name:
        return False
    for pure in (PurePosixPath(name), PureWindowsPath(name)):
        if pure.is_absolute() or pure.anchor or ".." in pure.parts:
            return False
    return True


def _sample_paths(spec: DatasetSpec) -> tuple[Path, Path]:
    """(annotation file, images folder) of an embedded sample."""
    from posebench import samples

    assert spec.sample is not None
    name = spec.sample if spec.sample in samples.SAMPLES else "coco-val2017-4"
    ann = samples.sample_path(name)
    images_dir = ann.parent / "images"
    return ann, images_dir


def load_dataset(
    name: str, root: Path | None, *, limit: int | None = None, require_images: bool = True
) -> Dataset:
    """Find and read a dataset.

    Args:
        name: a key of :data:`DATASETS`.
        root: the data root (see :func:`data_root`); ignored by the embedded sample.
        limit: keep the first ``limit`` images by sorted id (and their ground truth).
        require_images: check that the images folder exists (scoring a results file needs none).

    Raises:
        InputError: unknown name (with "did you mean"), a missing file or folder (with the
            expected layout), or ground truth that does not fit the dataset's skeleton.
    """
    spec = get_spec(name)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise InputError(f"expected a positive integer, got {limit!r}", field="--limit")
    if spec.sample is not None:
        ann, images_dir = _sample_paths(spec)
        base = ann.parent
    else:
        ann = _find(spec, root, spec.annotations, spec.alternates)
        assert root is not None
        base, images_dir = root, root / spec.images
    if require_images and not images_dir.is_dir():
        raise _not_found(spec, root if spec.sample is None else base, spec.images + "/")
    skeleton = get_skeleton(spec.skeleton)
    if spec.format == "coco":
        gt, images = _load_coco(ann, skeleton, cache=spec.sample is None)
    elif spec.format == "mpii":
        assert spec.headboxes is not None
        gt, images = _load_mpii(ann, _find(spec, root, spec.headboxes))
    elif spec.format == "lsp":
        gt, images = _load_lsp(ann, spec.records, spec.annotation)
    else:
        gt, images = _load_h36m(ann)
    if gt.num_joints != skeleton.num_keypoints:
        raise InputError(
            f"ground truth has {gt.num_joints} keypoints, dataset {spec.name!r} expects "
            f"{skeleton.num_keypoints} ({skeleton.name})",
            file=str(ann),
        )
    order = np.argsort(images.id, kind="stable")
    if limit is not None:
        order = order[:limit]
    images = images.take(order)
    if limit is not None:
        gt = gt.take(np.flatnonzero(np.isin(gt.image_id, images.id)))
    return Dataset(
        name=spec.name,
        spec=spec,
        root=base,
        gt=gt,
        images=images,
        skeleton=skeleton,
        images_dir=images_dir,
    )


# ----------------------------------------------------------------------------- readers


def _load_coco(path: Path, skeleton: Skeleton, *, cache: bool) -> tuple[PoseSet, ImageTable]:
    from posebench.formats.coco import read_gt

    g = read_gt(path, cache=cache)
    return g.poses, g.images


def _square_boxes(center: FloatArray, scale: FloatArray) -> FloatArray:
    """(N, 4) xywh squares of side ``scale * 200`` around ``center`` (N, 2); NaN where absent."""
    side = np.asarray(scale, np.float64) * PIXEL_STD
    return np.column_stack([center[:, 0] - side / 2, center[:, 1] - side / 2, side, side])


def _joint_boxes(xy: FloatArray, labelled: npt.NDArray[np.bool_]) -> FloatArray:
    """(N, 4) xywh boxes of the labelled joints (N, K, 2); NaN for a person with none."""
    pts = np.where(labelled[:, :, None], xy, np.nan)
    out = np.full((len(xy), 4), np.nan)
    has = labelled.any(axis=1)
    lo, hi = np.nanmin(pts[has], axis=1), np.nanmax(pts[has], axis=1)
    out[has] = np.column_stack([lo, hi - lo])
    return out


def _load_mpii(json_path: Path, mat_path: Path) -> tuple[PoseSet, ImageTable]:
    from posebench.formats.mpii import load_mpii_gt, load_mpii_json

    poses, images = load_mpii_json(json_path)
    mat = load_mpii_gt(mat_path)
    if len(mat) != len(poses):
        raise InputError(
            f"{len(mat)} persons in the head-box file, {len(poses)} in {json_path.name}: "
            "the two must be the same split",
            file=str(mat_path),
            field="pos_gt_src",
        )
    # The json and the .mat describe the same persons in the same order (mmpose's
    # mpii_val.json / mpii_gt_val.mat); a mismatch means files of different splits.
    d = np.abs(poses.keypoints - mat.keypoints).max(axis=2)
    bad = mat.visible & ~(d <= 1.0)
    if bad.any():
        i = int(np.argwhere(bad)[0][0])
        raise InputError(
            f"person {i} of the head-box file does not match record [{i}] of {json_path.name}",
            file=str(mat_path),
            record=f"pos_gt_src[:, :, {i}]",
            field="pos_gt_src",
        )
    center = np.asarray(poses.extra["center"], np.float64) - 1.0
    gt = PoseSet(
        image_id=poses.image_id,
        keypoints=mat.keypoints - 1.0,
        visibility=np.where(mat.visible, 2.0, 0.0),
        bbox=_square_boxes(center, poses.extra["scale"]),
        extra={
            "headbox": mat.headboxes - 1.0,
            "center": center,
            "scale": np.asarray(poses.extra["scale"], np.float64),
        },
    )
    return gt, images


def _load_lsp(
    path: Path,
    records: tuple[int, int] | None,
    annotation: Literal["person-centric", "observer-centric"] = "person-centric",
) -> tuple[PoseSet, ImageTable]:
    from posebench.formats.lsp import load_lsp_joints

    lsp = load_lsp_joints(path, annotation=annotation)
    poses, images = lsp.to_poseset(), lsp.image_table()
    if records is not None:
        start, stop = records
        if lsp.layout != "lsp" or len(lsp) != stop:
            raise InputError(
                f"expected the original LSP joints.mat (3 x 14 x {stop}, test = images "
                f"{start + 1}-{stop}), got the {lsp.layout.upper()} layout with {len(lsp)} persons",
                file=str(path),
                field="joints",
            )
        poses, images = poses.take(np.arange(start, stop)), images.take(np.arange(start, stop))
    assert poses.visibility is not None
    xy = poses.keypoints - 1.0
    gt = poses.with_columns(keypoints=xy, bbox=_joint_boxes(xy, poses.visibility > 0))
    return gt, images


def _load_h36m(path: Path) -> tuple[PoseSet, ImageTable]:
    from posebench.formats.h36m import load_h36m_npz

    ann = load_h36m_npz(path).h36m17()
    poses = ann.to_poseset()
    if ann.center is not None and ann.scale is not None:
        bbox = _square_boxes(ann.center, ann.scale)
    elif ann.joints_2d is not None and ann.visible_2d is not None:
        bbox = _joint_boxes(ann.joints_2d, ann.visible_2d)
    else:
        bbox = np.full((len(ann), 4), np.nan)
    extra = dict(poses.extra)
    if ann.joints_2d is not None:
        extra["keypoints_2d"] = ann.joints_2d
    gt = poses.with_columns(keypoints=poses.keypoints * 1000.0, bbox=bbox, extra=extra)
    return gt, ann.image_table()


def _read_detections(ds: Dataset) -> PoseSet:
    """A COCO detection results file (``[{image_id, category_id, bbox, score}]``) as columns."""
    from posebench.formats.jsonio import json_type, load_json

    spec = ds.spec
    if spec.detections is None:
        raise InputError(
            f"dataset {spec.name!r} has no person-detector results; use boxes: gt", field="boxes"
        )
    path = _find(spec, ds.root, spec.detections)
    file = str(path)
    doc = load_json(path)
    if not isinstance(doc, list):
        raise InputError(f"expected a list of detections, got {json_type(doc)}", file=file)
    ids, boxes, scores = [], [], []
    for i, rec in enumerate(doc):
        where = f"[{i}]"
        if not isinstance(rec, dict):
            raise InputError(f"expected an object, got {json_type(rec)}", file=file, record=where)
        if rec.get("category_id", 1) != 1:
            continue
        for key in ("image_id", "bbox", "score"):
            if key not in rec:
                raise InputError("missing field", file=file, record=where, field=key)
        try:
            box = np.asarray(rec["bbox"], dtype=np.float64)
            score = float(rec["score"])
            image_id = int(rec["image_id"])
        except (TypeError, ValueError) as e:
            raise InputError(f"not a number: {e}", file=file, record=where) from None
        if box.shape != (4,) or not np.isfinite(box).all():
            raise InputError(
                "expected 4 finite numbers [x, y, w, h]", file=file, record=where, field="bbox"
            )
        ids.append(image_id)
        boxes.append(box)
        scores.append(score)
    n = len(ids)
    return PoseSet(
        image_id=np.asarray(ids, np.int64).reshape(n),
        keypoints=np.zeros((n, 0, 2)),
        score=np.asarray(scores, np.float64).reshape(n),
        bbox=np.asarray(boxes, np.float64).reshape(n, 4),
    )
