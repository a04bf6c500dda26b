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
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, StrictStr

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
        image_count: the official file's number of images, when known: a file with another count
            under the official name is not that dataset and is named by its file and hash.
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
    image_count: int | None = None

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
        image_count=5000,
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
        image_count=2000,
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
        image_count=8000,
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
    #: for a dataset given by path: file name, sha256, format, image counts (else empty).
    source: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

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
    name: str | DatasetFiles,
    root: Path | None,
    *,
    limit: int | None = None,
    require_images: bool = True,
    image_ids: tuple[int, ...] | None = None,
) -> Dataset:
    """Find and read a dataset.

    Args:
        name: a key of :data:`DATASETS`, or the files of the user's own dataset
            (:class:`DatasetFiles`, read by :func:`load_files_dataset`).
        root: the data root (see :func:`data_root`); ignored by the embedded sample and by a
            dataset given by its files.
        limit: keep the first ``limit`` images by sorted id (and their ground truth).
        require_images: check that the images folder exists (scoring a results file needs none).
        image_ids: keep these images only (``--image-ids``); the name then says it is a subset
            (``coco-val2017@ids-1a2b3c4d``).

    Raises:
        InputError: unknown name (with "did you mean"), a missing file or folder (with the
            expected layout), or ground truth that does not fit the dataset's skeleton.
    """
    if isinstance(name, DatasetFiles):
        return load_files_dataset(
            name, limit=limit, image_ids=image_ids, require_images=require_images
        )
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
    images = images.take(order)
    name = spec.name
    source: dict[str, Any] = {}
    if spec.image_count is not None and len(images) != spec.image_count:
        # not the official file (e.g. a subset saved under its name): say what it is
        digest = _file_digest(ann)
        name = files_name(ann, digest)
        source = {"file": ann.name, "path": str(ann), "sha256": digest, "format": spec.format,
                  "images_in_file": len(images), "official_name": spec.name,
                  "official_images": spec.image_count}  # fmt: skip
        log.warning(
            "%s holds %d images, the official %s file %d: the run is named %s, not %s",
            ann, len(images), spec.name, spec.image_count, name, spec.name,
        )  # fmt: skip
    if image_ids is not None:
        images = _select_ids(images, image_ids, str(ann))
    if limit is not None:
        images = images.take(np.arange(min(limit, len(images))))
    if limit is not None or image_ids is not None:
        gt = gt.take(np.flatnonzero(np.isin(gt.image_id, images.id)))
    ds = Dataset(
        name=name + _ids_tag(image_ids),
        spec=spec,
        root=base,
        gt=gt,
        images=images,
        skeleton=skeleton,
        images_dir=images_dir,
    )
    ds.source.update(source)
    return ds


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


# ----------------------------------------------------------------------------- the user's own files

#: formats a dataset given by path may have (``crowdpose`` is a COCO-style file with CrowdPose's
#: 14 keypoints, scored with xtcocotools' ``keypoints_crowd`` rules by default).
FileFormat = Literal["coco", "crowdpose", "mpii", "lsp", "h36m"]
FILE_FORMATS: tuple[str, ...] = ("coco", "crowdpose", "mpii", "lsp", "h36m")

#: keypoint names of annotation files that mean a canonical posebench name (CrowdPose's ``head``).
NAME_ALIASES = {"head": "head_top", "top_head": "head_top", "headtop": "head_top"}

#: a name that comes from a file may become a path component only through this whitelist.
_SAFE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


class DatasetFiles(BaseModel):
    """A dataset given by its files (``run --gt ann.json --images DIR``, or in a suite
    ``dataset: {format: coco, gt: ann.json, images: img/}``).

    Attributes:
        format: ``coco`` (any COCO keypoint file, any skeleton), ``crowdpose``, ``mpii`` (mmpose
            json; ``headboxes``: the ``.mat`` with ``headboxes_src`` for PCKh), ``lsp``
            (``joints.mat``), ``h36m`` (mmpose ``.npz``).
        gt: the ground-truth file.
        images: the folder the file's image names are relative to (not needed to score a
            results file).
        headboxes: (mpii) the ground-truth ``.mat`` with head boxes.
        sigmas: OKS sigmas: a built-in skeleton's name (``coco17``) or one number per keypoint
            (as used in the OKS formula: COCO's nose is 0.026). Default: the sigmas of the
            built-in skeleton with the file's keypoint names.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: FileFormat = "coco"
    gt: StrictStr
    images: StrictStr | None = None
    headboxes: StrictStr | None = None
    sigmas: StrictStr | tuple[Annotated[float, Field(gt=0, allow_inf_nan=False)], ...] | None = None

    def resolved(self, base: Path) -> DatasetFiles:
        """Relative paths taken relative to ``base`` (a suite file's folder)."""
        upd = {}
        for key in ("gt", "images", "headboxes"):
            v = getattr(self, key)
            if v is not None and not Path(v).expanduser().is_absolute():
                upd[key] = str(base / Path(v).expanduser())
            elif v is not None:
                upd[key] = str(Path(v).expanduser())
        return self.model_copy(update=upd)


@dataclass(frozen=True)
class FileSkeleton(Skeleton):
    """A skeleton read from an annotation file whose sigmas are given as used by OKS (not x10
    as the built-in tables hold them), so user values reach the formula unchanged."""

    def oks_sigmas(self) -> FloatArray:
        if self.sigmas is None:
            raise ValueError(f"skeleton {self.name!r} defines no OKS sigmas")
        return np.array(self.sigmas, dtype=np.float64)


def _file_digest(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", file=str(path)) from None
    return h.hexdigest()


def _safe_name(text: str) -> str:
    out = "".join(c if c in _SAFE_CHARS else "_" for c in text).strip("._-")
    return out[:60] or "dataset"


def files_name(gt: Path, digest: str, image_ids: tuple[int, ...] | None = None) -> str:
    """What a dataset given by path is called in reports, signatures and cache paths: the file
    name and its content hash (``my_ann.json@1a2b3c4d5e6f``), plus ``@ids-<hash>`` for a subset
    of its images; only ``[A-Za-z0-9._@-]``."""
    name = f"{_safe_name(gt.name)}@{digest[:12]}"
    return name + _ids_tag(image_ids)


def _ids_tag(image_ids: tuple[int, ...] | None) -> str:
    if image_ids is None:
        return ""
    import hashlib

    raw = np.asarray(sorted(set(image_ids)), dtype=np.int64).tobytes()
    return f"@ids-{hashlib.sha256(raw).hexdigest()[:8]}"


def printable(text: str) -> str:
    """``text`` with control characters escaped (``\\x1b``), safe to quote in a message."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _canonical(name: str) -> str:
    n = name.strip().lower().replace(" ", "_").replace("-", "_")
    return NAME_ALIASES.get(n, n)


def _known_by_names(names: tuple[str, ...]) -> Skeleton | None:
    from posebench.skeletons import SKELETONS

    for sk in SKELETONS.values():
        if sk.keypoints == names:
            return sk
    return None


def skeleton_from_category(
    names: tuple[str, ...],
    limbs: list[Any] | None,
    *,
    sigmas: str | tuple[float, ...] | None,
    fmt: str,
    file: str,
    record: str,
) -> Skeleton:
    """The skeleton of a COCO-style file's keypoint category.

    Args:
        names: (K,) the category's ``keypoints`` names.
        limbs: the category's ``skeleton`` (1-based index pairs, COCO's convention) or None.
        sigmas: a built-in skeleton's name, K values, or None (see :class:`DatasetFiles`).
        fmt: ``coco`` or ``crowdpose``.
        file, record: for messages.

    A file whose names (CrowdPose's ``head`` read as ``head_top``) are a built-in skeleton's is
    that skeleton (same sigmas, flip pairs, limbs). Otherwise a new skeleton named
    ``custom<K>-<hash of the names>``: flip pairs from ``left_*``/``right_*`` names, limbs from
    ``skeleton``, sigmas given, else taken by name from one built-in skeleton holding every name,
    else none (OKS then refuses, saying how to pass them).
    """
    from posebench.skeletons import CROWDPOSE14, SKELETONS

    k = len(names)
    canon = tuple(_canonical(n) for n in names)
    if len(set(canon)) != k:
        dup = next(n for n in canon if canon.count(n) > 1)
        raise InputError(
            f"keypoint name {printable(dup)!r} appears twice",
            file=file,
            record=record,
            field="keypoints",
        )
    known = _known_by_names(canon)
    if fmt == "crowdpose":
        if k != CROWDPOSE14.num_keypoints:
            raise InputError(
                f"format crowdpose needs CrowdPose's 14 keypoints, the category has {k}",
                file=file,
                record=record,
                field="keypoints",
            )
        known = CROWDPOSE14
    if isinstance(sigmas, str):
        if sigmas not in SKELETONS or SKELETONS[sigmas].sigmas is None:
            with_sigmas = [n for n, s in SKELETONS.items() if s.sigmas is not None]
            raise InputError(
                f"unknown sigmas {sigmas!r}; give a skeleton name ({', '.join(with_sigmas)}) or "
                f"{k} numbers",
                field="sigmas",
            )
        src = SKELETONS[sigmas]
        if src.num_keypoints != k:
            raise InputError(
                f"sigmas {sigmas!r} are for {src.num_keypoints} keypoints, the file's category "
                f"has {k} ({printable(', '.join(names))})",
                field="sigmas",
            )
        if known is not None and known.name == sigmas:
            return known
        if src.keypoints != canon:
            log.warning(
                "%s: sigmas %r belong to keypoints %s, the file names %s; used in file order",
                file, sigmas, ", ".join(src.keypoints), printable(", ".join(names)),
            )  # fmt: skip
        base = known or _custom(canon, limbs, file, record)
        return Skeleton(
            name=base.name,
            keypoints=base.keypoints,
            sigmas=src.sigmas,
            flip_pairs=base.flip_pairs,
            limbs=base.limbs,
            torso=base.torso,
            head=base.head,
        )
    if sigmas is not None:
        if len(sigmas) != k:
            raise InputError(
                f"{len(sigmas)} sigmas given, the file's category has {k} keypoints "
                f"({printable(', '.join(names))})",
                field="sigmas",
            )
        base = _custom(canon, limbs, file, record)
        return FileSkeleton(
            name=base.name if known is None else f"{known.name}-sigmas",
            keypoints=canon,
            sigmas=tuple(float(s) for s in sigmas),
            flip_pairs=base.flip_pairs if known is None else known.flip_pairs,
            limbs=base.limbs if known is None else known.limbs,
            torso=None if known is None else known.torso,
            head=None if known is None else known.head,
        )
    if known is not None:
        return known
    custom = _custom(canon, limbs, file, record)
    for sk in SKELETONS.values():
        if sk.sigmas is not None and all(n in sk.keypoints for n in canon):
            log.info("%s: OKS sigmas taken by keypoint name from skeleton %s", file, sk.name)
            return Skeleton(
                name=custom.name,
                keypoints=canon,
                sigmas=tuple(sk.sigmas[sk.index(n)] for n in canon),
                flip_pairs=custom.flip_pairs,
                limbs=custom.limbs,
            )
    return custom


def _custom(canon: tuple[str, ...], limbs: list[Any] | None, file: str, record: str) -> Skeleton:
    import hashlib

    from posebench.skeletons import _lr_pairs

    k = len(canon)
    pairs: list[tuple[int, int]] = []
    for j, pair in enumerate(limbs or []):
        ok = (
            isinstance(pair, list)
            and len(pair) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= k for v in pair)
        )
        if not ok:
            raise InputError(
                f"expected a pair of 1-based keypoint indices in 1..{k}, got {pair!r}",
                file=file,
                record=record,
                field=f"skeleton[{j}]",
            )
        pairs.append((pair[0] - 1, pair[1] - 1))
    digest = hashlib.sha256("\n".join(canon).encode()).hexdigest()[:8]
    return Skeleton(
        name=f"custom{k}-{digest}",
        keypoints=canon,
        flip_pairs=_lr_pairs(canon),
        limbs=tuple(pairs),
    )


def _keypoint_category(path: Path) -> tuple[int, tuple[str, ...], list[Any] | None, str]:
    """(id, keypoint names, ``skeleton`` limbs, record) of the file's one keypoint category."""
    from posebench.formats.jsonio import json_type, parse_json, read_bytes

    file = str(path)
    data = parse_json(read_bytes(path), file=file)
    cats = data.get("categories") if isinstance(data, dict) else None
    if not isinstance(cats, list):
        raise InputError(
            f"expected an array of categories, got {json_type(cats)}", file=file,
            field="categories",
        )  # fmt: skip
    named = [(i, c) for i, c in enumerate(cats) if isinstance(c, dict) and c.get("keypoints")]
    if len(named) != 1:
        ids = [c.get("id") for _, c in named]
        raise InputError(
            "expected exactly one category with keypoint names, found "
            f"{len(named)}{f' (ids {ids})' if ids else ''}",
            file=file,
            field="categories",
        )
    i, c = named[0]
    rec = f"categories[{i}]"
    cid = c.get("id")
    if isinstance(cid, bool) or not isinstance(cid, int) or not -(2**63) <= cid < 2**63:
        raise InputError(f"expected an integer id, got {json_type(cid)}", file=file, record=rec,
                         field="id")  # fmt: skip
    names = c.get("keypoints")
    if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
        raise InputError("expected an array of non-empty names", file=file, record=rec,
                         field="keypoints")  # fmt: skip
    limbs = c.get("skeleton")
    if limbs is not None and not isinstance(limbs, list):
        raise InputError(
            f"expected an array of index pairs, got {json_type(limbs)}",
            file=file,
            record=f"categories[{i}]",
            field="skeleton",
        )
    return int(cid), tuple(names), limbs, rec


def _load_mpii_json_only(path: Path) -> tuple[PoseSet, ImageTable]:
    """MPII mmpose json without the head-box file: 0-based joints, annotated square boxes."""
    from posebench.formats.mpii import load_mpii_json

    poses, images = load_mpii_json(path)
    center = np.asarray(poses.extra["center"], np.float64) - 1.0
    scale = np.asarray(poses.extra["scale"], np.float64)
    gt = poses.with_columns(
        keypoints=poses.keypoints - 1.0,
        bbox=_square_boxes(center, scale),
        extra={"center": center, "scale": scale},
    )
    return gt, images


def load_files_dataset(
    files: DatasetFiles,
    *,
    limit: int | None = None,
    image_ids: tuple[int, ...] | None = None,
    require_images: bool = True,
) -> Dataset:
    """Read a dataset given by its files (see :class:`DatasetFiles`).

    The dataset is named by what it is (:func:`files_name`): the file name and a hash of its
    bytes (and of the chosen image ids), never an official dataset's name; ``Dataset.source``
    records the file, its sha256, the format and the image count.

    Raises:
        InputError: a missing or unreadable file or folder, a category that is not exactly one
            keypoint category, sigmas that do not fit, unknown image ids.
    """
    from posebench.skeletons import get_skeleton

    gt_path = Path(files.gt).expanduser()
    if not gt_path.is_file():
        raise InputError("ground-truth file not found", file=str(gt_path), field="--gt")
    images_dir = Path(files.images).expanduser() if files.images else gt_path.parent
    if require_images:
        if files.images is None:
            raise InputError(
                "running a model needs the images: pass --images DIR (the folder the "
                "annotation file's image names are relative to)",
                field="--images",
            )
        if not images_dir.is_dir():
            raise InputError("images folder not found", file=str(images_dir), field="--images")
    digest = _file_digest(gt_path)
    fmt = files.format
    file = str(gt_path)
    headboxes = Path(files.headboxes).expanduser() if files.headboxes else None
    if fmt != "mpii" and headboxes is not None:
        raise InputError(f"head boxes are read for format mpii only, not {fmt}", field="headboxes")
    if fmt != "coco" and fmt != "crowdpose" and files.sigmas is not None:
        raise InputError(f"sigmas apply to OKS (formats coco, crowdpose), not {fmt}",
                         field="sigmas")  # fmt: skip
    persons: Literal["multi", "single"] = "multi"
    dims: Literal[2, 3] = 2
    metric = "oks"
    if fmt in ("coco", "crowdpose"):
        from posebench.formats.coco import read_gt

        cat_id, names, limbs, record = _keypoint_category(gt_path)
        skeleton = skeleton_from_category(
            names, limbs, sigmas=files.sigmas, fmt=fmt, file=file, record=record
        )
        g = read_gt(gt_path, num_joints=len(names))
        gt, images = g.poses, g.images
        keep = gt.category_id == cat_id
        if not keep.all():
            log.warning(
                "%s: %d annotations of other categories than %d (the keypoint category) are "
                "left out", file, int((~keep).sum()), cat_id,
            )  # fmt: skip
            gt = gt.take(np.flatnonzero(keep))
        gt = gt.with_columns(category_id=np.ones(len(gt), np.int64))  # the evaluator's category
    elif fmt == "mpii":
        skeleton, persons, metric = get_skeleton("mpii16"), "single", "pck"
        if headboxes is not None:
            if not headboxes.is_file():
                raise InputError("head-box file not found", file=str(headboxes),
                                 field="headboxes")  # fmt: skip
            gt, images = _load_mpii(gt_path, headboxes)
            metric = "pckh"
        else:
            gt, images = _load_mpii_json_only(gt_path)
    elif fmt == "lsp":
        skeleton, persons, metric = get_skeleton("lsp14"), "single", "pck"
        gt, images = _load_lsp(gt_path, None)
    else:
        skeleton, persons, metric, dims = get_skeleton("h36m17"), "single", "mpjpe", 3
        gt, images = _load_h36m(gt_path)
    if gt.num_joints != skeleton.num_keypoints:
        raise InputError(
            f"ground truth has {gt.num_joints} keypoints, the skeleton {skeleton.name} has "
            f"{skeleton.num_keypoints}",
            file=file,
        )
    order = np.argsort(images.id, kind="stable")
    images = images.take(order)
    total = len(images)
    if image_ids is not None:
        images = _select_ids(images, image_ids, file)
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InputError(f"expected a positive integer, got {limit!r}", field="--limit")
        images = images.take(np.arange(min(limit, len(images))))
    if len(images) < total:
        gt = gt.take(np.flatnonzero(np.isin(gt.image_id, images.id)))
    name = files_name(gt_path, digest, image_ids)
    spec = DatasetSpec(
        name=name,
        format="coco" if fmt == "crowdpose" else fmt,
        annotations=file,
        images=str(images_dir),
        skeleton=skeleton.name,
        metric=metric,
        description=f"{gt_path.name} ({fmt}, sha256 {digest[:12]}, {len(images)} images)",
        layout="(given by path)",
        headboxes=str(headboxes) if headboxes is not None else None,
        persons=persons,
        dims=dims,
    )
    ds = Dataset(
        name=name,
        spec=spec,
        root=gt_path.parent,
        gt=gt,
        images=images,
        skeleton=skeleton,
        images_dir=images_dir,
    )
    ds.source.update(
        {
            "file": gt_path.name,
            "path": str(gt_path),
            "sha256": digest,
            "format": fmt,
            "images": len(images),
            "images_in_file": total,
            "skeleton": skeleton.name,
            "keypoints": list(skeleton.keypoints),
            # as used by OKS: lets ``compare`` pair runs whose sigmas no built-in skeleton has
            "sigmas": skeleton.oks_sigmas().tolist() if skeleton.sigmas is not None else None,
        }
    )
    return ds


def _select_ids(images: ImageTable, image_ids: tuple[int, ...], file: str) -> ImageTable:
    want = np.asarray(sorted(set(image_ids)), dtype=np.int64)
    have = np.isin(want, images.id)
    if not have.all():
        missing = want[~have][:5].tolist()
        raise InputError(
            f"{int((~have).sum())} of the {len(want)} image ids are not in the file "
            f"(first: {', '.join(map(str, missing))})",
            file=file,
            field="--image-ids",
        )
    return images.take(np.flatnonzero(np.isin(images.id, want)))


def parse_image_ids(text: str) -> tuple[int, ...]:
    """``--image-ids``: a file (one id per line, or separated by commas or spaces, or a JSON
    array) or a comma-separated list ``139,285``. InputError on anything but integers."""
    p = Path(text).expanduser()
    where: str | None = None
    if p.is_file():
        where = str(p)
        try:
            body = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"cannot read: {e}", file=where, field="--image-ids") from None
        body = body.strip()
        if body.startswith("["):
            body = body.strip("[]")
    else:
        body = text
    tokens = [t for t in body.replace(",", " ").split() if t]
    out = []
    for i, t in enumerate(tokens):
        try:
            v = int(t)
        except ValueError:
            raise InputError(
                f"expected integer image ids, got {t!r} (item {i + 1})"
                + ("" if where else "; give a comma-separated list or a file"),
                file=where,
                field="--image-ids",
            ) from None
        if not -(2**63) <= v < 2**63:
            raise InputError(f"image id {t} is out of range", file=where, field="--image-ids")
        out.append(v)
    if not out:
        raise InputError("no image ids given", file=where, field="--image-ids")
    return tuple(out)


def require_metric_inputs(dataset: Dataset, metric_names: list[str]) -> None:
    """Refuse, with what to pass, a metric the dataset cannot feed: OKS without sigmas."""
    if "oks" in metric_names and dataset.skeleton.sigmas is None:
        sk = dataset.skeleton
        raise InputError(
            f"OKS needs one sigma per keypoint and the skeleton of {dataset.name} "
            f"({sk.num_keypoints} keypoints: {printable(', '.join(sk.keypoints))}) matches no "
            f"built-in skeleton: pass --sigmas with {sk.num_keypoints} comma-separated values "
            "(as used in the OKS formula; COCO's nose is 0.026) or a skeleton name, or `sigmas:` "
            "in the suite's dataset block",
            field="sigmas",
        )


def detect_format(path: Path) -> str:
    """The format of a ground-truth file by its content: ``.npz`` Human3.6M, ``.mat`` LSP,
    JSON: an object is COCO-style, an array mmpose's MPII list."""
    suffixes = "".join(path.suffixes[-2:]).lower()
    if suffixes.endswith(".npz"):
        return "h36m"
    if suffixes.endswith(".mat"):
        return "lsp"
    import gzip

    try:
        opener = gzip.open if suffixes.endswith(".gz") else open
        with opener(path, "rb") as f:
            head = f.read(4096).lstrip()
    except OSError as e:
        raise InputError(f"cannot read: {e}", file=str(path), field="--gt") from None
    if head[:1] == b"[":
        return "mpii"
    if head[:1] == b"{":
        return "coco"
    raise InputError(
        "cannot tell the format (not JSON, .mat or .npz); pass --gt-format", file=str(path),
        field="--gt",
    )  # fmt: skip


def parse_sigmas(text: str) -> str | tuple[float, ...]:
    """``--sigmas``: a built-in skeleton's name or comma-separated positive numbers."""
    import math

    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) == 1 and not parts[0][:1].isdigit() and not parts[0].startswith("."):
        return parts[0]
    out = []
    for p in parts:
        try:
            v = float(p)
        except ValueError:
            raise InputError(
                f"expected a skeleton name or numbers separated by commas, got {p!r}",
                field="--sigmas",
            ) from None
        if not (math.isfinite(v) and v > 0):
            raise InputError(f"sigmas must be positive finite numbers, got {p!r}",
                             field="--sigmas")  # fmt: skip
        out.append(v)
    if not out:
        raise InputError("no sigmas given", field="--sigmas")
    return tuple(out)
