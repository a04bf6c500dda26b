"""MPII files <-> arrays: ground-truth ``.mat``, predictions ``.mat``/``.h5``, mmpose json.

* Ground truth in the format every PCKh script reads (``detections_our_format.mat``, HRNet's
  ``gt_valid.mat``, mmpose's ``mpii_gt_val.mat``): ``pos_gt_src`` (16, 2, N), ``jnt_missing``
  (16, N), ``headboxes_src`` (2, 2, N) and optionally ``dataset_joints`` (1, 16) joint codes.
* Predictions: variable ``preds`` as (N, 16, 2) (bearpaw, Newell, HRNet ``pred.mat``),
  (2, 16, N) (Tompson's ``tompson.h5``) or (16, 2, N) (``pos_pred_src`` of the ground-truth
  file), in a MATLAB ``.mat`` or an HDF5 ``.h5``.
* mmpose/HRNet annotation json (``test_mpii.json``, ``mpii_val.json``): a list of
  ``{image, joints[16][2], joints_vis[16], center[2], scale}``.

Coordinates are returned exactly as stored. The official ``.mat`` ground truth and the json
joints are MATLAB 1-based pixel coordinates; predictions must be in the same convention
(HRNet/mmpose add 1 to their 0-based predictions before scoring).

Reading ``.mat`` needs scipy (``pip install scipy``); ``.h5`` and MATLAB v7.3 files need h5py
(``pip install h5py``). Both are imported only when such a file is read.

Errors name the file, the record (``pos_gt_src[:, :, 12]`` for the 13th person, ``[3]`` for
the 4th json record, ``(whole variable)`` for a problem with a variable as a whole) and the
field (the variable or json key).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from posebench.errors import InputError
from posebench.formats.jsonio import json_type, load_json
from posebench.poseset import ImageTable, PoseSet
from posebench.skeletons import MPII16

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

WHOLE = "(whole variable)"

#: MPII ``dataset_joints`` codes, in MPII16 order (0 r-ankle ... 15 l-wrist).
MPII_JOINT_CODES = (
    "rank", "rkne", "rhip", "lhip", "lkne", "lank", "pelv", "thor",
    "neck", "head", "rwri", "relb", "rsho", "lsho", "lelb", "lwri",
)  # fmt: skip


# ----------------------------------------------------------------------------- file access


def optional_import(module: str, hint: str) -> ModuleType:
    """Import an optional dependency, or fail with an install hint."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ModuleNotFoundError(f"{hint} needs {module.split('.')[0]}: {_INSTALL[module]}") from e


_INSTALL = {"scipy.io": "pip install scipy", "h5py": "pip install h5py"}


def _is_mat73(path: Path) -> bool:
    with path.open("rb") as f:
        head = f.read(128)
    return head.startswith(b"MATLAB 7.3")


def _open_error(path: Path, field: str, err: Exception) -> InputError:
    return InputError(f"cannot read: {err}", file=str(path), record=WHOLE, field=field)


def read_mat(path: str | Path, keys: Sequence[str]) -> dict[str, np.ndarray]:
    """Variables ``keys`` of a MATLAB file (those present), in MATLAB dimension order.

    v4/v5/v7 files are read with scipy; v7.3 (HDF5) files with h5py, their dimensions reversed
    back to MATLAB order (only numeric variables). InputError when the file is not readable.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError("no such file", file=str(p), record=WHOLE, field=keys[0] if keys else None)
    if _is_mat73(p):
        h5py = optional_import("h5py", "reading a MATLAB v7.3 file")
        try:
            with h5py.File(p, "r") as f:
                return {k: np.asarray(f[k][()]).T for k in keys if k in f}
        except OSError as e:
            raise _open_error(p, keys[0], e) from None
    sio = optional_import("scipy.io", "reading a .mat file")
    try:
        data: dict[str, Any] = sio.loadmat(str(p), variable_names=list(keys))
    except Exception as e:  # scipy raises ValueError, TypeError, OSError... on a bad file
        raise _open_error(p, keys[0], e) from None
    return {k: data[k] for k in keys if k in data}


def read_h5(path: str | Path, keys: Sequence[str]) -> dict[str, np.ndarray]:
    """Datasets ``keys`` of an HDF5 file (those present), in the file's (row-major) order."""
    p = Path(path)
    if not p.is_file():
        raise InputError("no such file", file=str(p), record=WHOLE, field=keys[0] if keys else None)
    h5py = optional_import("h5py", "reading an .h5 file")
    try:
        with h5py.File(p, "r") as f:
            out: dict[str, np.ndarray] = {}
            for k in keys:
                if k in f:
                    if not isinstance(f[k], h5py.Dataset):
                        raise InputError(
                            "expected a dataset, found a group", file=str(p), record=WHOLE, field=k
                        )
                    out[k] = np.asarray(f[k][()])
            return out
    except OSError as e:
        raise _open_error(p, keys[0], e) from None


def _require(data: dict[str, np.ndarray], key: str, file: str) -> np.ndarray:
    if key not in data:
        raise InputError(f"variable {key!r} is missing", file=file, record=WHOLE, field=key)
    return data[key]


def _numeric(a: np.ndarray, key: str, file: str) -> FloatArray:
    if a.dtype.kind not in "biuf":
        raise InputError(
            f"expected numbers, got dtype {a.dtype}", file=file, record=WHOLE, field=key
        )
    return np.asarray(a, dtype=np.float64)


def _shape_error(a: np.ndarray, key: str, file: str, expected: str) -> InputError:
    return InputError(
        f"expected shape {expected}, got {a.shape}", file=file, record=WHOLE, field=key
    )


# ----------------------------------------------------------------------------- ground truth


@dataclass(frozen=True, eq=False)
class MPIIGroundTruth:
    """MPII single-person ground truth as arrays, joints in MPII16 order.

    Attributes:
        path: where it was read from.
        keypoints: (N, 16, 2) float64, MATLAB 1-based pixel coordinates.
        visible: (N, 16) bool, ``jnt_missing == 0``.
        headboxes: (N, 2, 2) float64 head boxes ``[[x1, y1], [x2, y2]]``.
    """

    path: str
    keypoints: FloatArray
    visible: BoolArray
    headboxes: FloatArray

    def __len__(self) -> int:
        return int(self.keypoints.shape[0])

    def to_poseset(self) -> PoseSet:
        """A PoseSet (visibility 2 where annotated, 0 where missing; ``extra['headbox']``).

        The file carries no image ids: ``image_id`` is the record index 0..N-1.
        """
        n = len(self)
        return PoseSet(
            image_id=np.arange(n, dtype=np.int64),
            keypoints=self.keypoints.copy(),
            visibility=np.where(self.visible, 2.0, 0.0),
            extra={"headbox": self.headboxes.copy()},
        )


def _joint_order(raw: np.ndarray, file: str) -> np.ndarray:
    """Permutation taking the file's joint order to MPII16 order, from ``dataset_joints``."""
    codes: list[str] = []
    for i, cell in enumerate(np.asarray(raw, dtype=object).ravel()):
        v = np.asarray(cell).ravel()
        if v.size != 1 or not isinstance(v[0], str):
            raise InputError(
                "expected a joint code string", file=file, record=f"dataset_joints[{i}]",
                field="dataset_joints",
            )  # fmt: skip
        codes.append(str(v[0]).strip())
    if sorted(codes) != sorted(MPII_JOINT_CODES):
        raise InputError(
            f"expected the 16 MPII joint codes {list(MPII_JOINT_CODES)}, got {codes}",
            file=file,
            record=WHOLE,
            field="dataset_joints",
        )
    return np.array([codes.index(c) for c in MPII_JOINT_CODES], dtype=np.int64)


def load_mpii_gt(path: str | Path) -> MPIIGroundTruth:
    """Read ``detections_our_format.mat``-style MPII ground truth.

    Joints are reordered to MPII16 using ``dataset_joints`` when the file has it (the reference
    scripts look joints up by these codes too). Visible joints must be finite and every head box
    must have a positive, finite diagonal.
    """
    p = Path(path)
    file = str(p)
    data = read_mat(p, ["pos_gt_src", "jnt_missing", "headboxes_src", "dataset_joints"])
    pos = _numeric(_require(data, "pos_gt_src", file), "pos_gt_src", file)
    miss = _numeric(_require(data, "jnt_missing", file), "jnt_missing", file)
    hb = _numeric(_require(data, "headboxes_src", file), "headboxes_src", file)
    if pos.ndim != 3 or pos.shape[:2] != (16, 2):
        raise _shape_error(pos, "pos_gt_src", file, "(16, 2, N)")
    n = pos.shape[2]
    if miss.shape != (16, n):
        raise _shape_error(miss, "jnt_missing", file, f"(16, {n})")
    if hb.shape != (2, 2, n):
        raise _shape_error(hb, "headboxes_src", file, f"(2, 2, {n})")
    order = (
        _joint_order(data["dataset_joints"], file)
        if "dataset_joints" in data
        else np.arange(16, dtype=np.int64)
    )
    bad_flag = ~np.isin(miss, (0.0, 1.0))
    if bad_flag.any():
        j, i = np.argwhere(bad_flag)[0]
        raise InputError(
            f"expected 0 or 1, got {miss[j, i]!r} (joint {j})",
            file=file, record=f"jnt_missing[:, {i}]", field="jnt_missing",
        )  # fmt: skip
    keypoints = np.ascontiguousarray(np.transpose(pos, (2, 0, 1))[:, order])
    visible = (miss.T == 0)[:, order]
    bad_xy = visible & ~np.isfinite(keypoints).all(axis=-1)
    if bad_xy.any():
        i, j = np.argwhere(bad_xy)[0]
        raise InputError(
            f"visible joint {MPII16.keypoints[j]} has non-finite coordinates {keypoints[i, j]}",
            file=file, record=f"pos_gt_src[:, :, {i}]", field="pos_gt_src",
        )  # fmt: skip
    headboxes = np.ascontiguousarray(np.transpose(hb, (2, 0, 1)))
    diag = np.linalg.norm(headboxes[:, 1] - headboxes[:, 0], axis=-1)
    bad_hb = ~(np.isfinite(diag) & (diag > 0))
    if bad_hb.any():
        i = int(np.flatnonzero(bad_hb)[0])
        raise InputError(
            f"head box {headboxes[i].tolist()} has no positive finite size",
            file=file, record=f"headboxes_src[:, :, {i}]", field="headboxes_src",
        )  # fmt: skip
    return MPIIGroundTruth(path=file, keypoints=keypoints, visible=visible, headboxes=headboxes)


# ----------------------------------------------------------------------------- predictions


def _to_n16x2(a: np.ndarray, key: str, file: str, num_joints: int) -> FloatArray:
    """(N, K, 2) from the (N, K, 2), (2, K, N) or (K, 2, N) layouts."""
    if a.ndim == 3:
        if a.shape[1:] == (num_joints, 2):  # (N, K, 2); also wins the ambiguous N == 2 case
            return np.ascontiguousarray(a, dtype=np.float64)
        if a.shape[:2] == (2, num_joints):  # (2, K, N): Tompson's tompson.h5
            return np.ascontiguousarray(np.transpose(a, (2, 1, 0)), dtype=np.float64)
        if a.shape[:2] == (num_joints, 2):  # (K, 2, N): pos_pred_src in the ground-truth .mat
            return np.ascontiguousarray(np.transpose(a, (2, 0, 1)), dtype=np.float64)
    raise _shape_error(
        a, key, file, f"(N, {num_joints}, 2), (2, {num_joints}, N) or ({num_joints}, 2, N)"
    )


def load_mpii_predictions(
    path: str | Path,
    *,
    key: str = "preds",
    num_joints: int = 16,
    expected_count: int | None = None,
) -> FloatArray:
    """Read MPII predictions from a ``.mat`` or ``.h5``/``.hdf5`` file.

    Args:
        path: the file; the format is chosen by extension (``.mat`` else HDF5).
        key: variable name (``preds``).
        num_joints: K (16).
        expected_count: N the ground truth has; InputError when the file has another count.

    Returns:
        (N, K, 2) float64 coordinates in the file's convention. NaN is allowed and means "not
        predicted" (scored as a miss).
    """
    p = Path(path)
    file = str(p)
    data = read_mat(p, [key]) if p.suffix.lower() == ".mat" else read_h5(p, [key])
    preds = _to_n16x2(_numeric(_require(data, key, file), key, file), key, file, num_joints)
    if expected_count is not None and preds.shape[0] != expected_count:
        raise InputError(
            f"{preds.shape[0]} predictions for {expected_count} ground-truth persons",
            file=file, record=WHOLE, field=key,
        )  # fmt: skip
    return preds


# ----------------------------------------------------------------------------- mmpose json


def _safe_image_name(name: str) -> bool:
    """A relative path that stays inside the image root (no '..', no drive, no root)."""
    if not name or "\x00" in name:
        return False
    for pure in (PurePosixPath(name), PureWindowsPath(name)):
        if pure.is_absolute() or pure.anchor or ".." in pure.parts:
            return False
    return True


def _number_array(
    v: object, shape: tuple[int, ...], *, file: str, record: str, field: str
) -> FloatArray:
    try:
        a = np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(
            f"expected numbers of shape {shape}, got {json_type(v)}",
            file=file, record=record, field=field,
        ) from None  # fmt: skip
    if a.shape != shape or isinstance(v, bool):
        raise InputError(
            f"expected numbers of shape {shape}, got shape {a.shape}",
            file=file, record=record, field=field,
        )  # fmt: skip
    if not np.isfinite(a).all():
        raise InputError(
            f"expected finite numbers, got {a.tolist()}", file=file, record=record, field=field
        )
    return a


def load_mpii_json(path: str | Path) -> tuple[PoseSet, ImageTable]:
    """Read an mmpose/HRNet MPII annotation json (a list of per-person records).

    Returns:
        (poses, images): poses has ``keypoints`` (N, 16, 2) as stored (1-based), ``visibility``
        2 where ``joints_vis`` is 1 and 0 otherwise, ``extra['center']`` (N, 2) and
        ``extra['scale']`` (N,) (NaN where absent); images holds one row per distinct ``image``
        name, ids 0.. in order of first appearance. No head boxes: these files have none.
    """
    p = Path(path)
    file = str(p)
    doc = load_json(p)
    if not isinstance(doc, list):
        raise InputError(
            f"expected a list of records, got {json_type(doc)}", file=file, record=WHOLE, field=None
        )
    names: dict[str, int] = {}
    image_id = np.empty(len(doc), np.int64)
    kpts = np.empty((len(doc), 16, 2))
    vis = np.empty((len(doc), 16))
    center = np.full((len(doc), 2), np.nan)
    scale = np.full(len(doc), np.nan)
    for i, rec in enumerate(doc):
        r = f"[{i}]"
        if not isinstance(rec, dict):
            raise InputError(
                f"expected an object, got {json_type(rec)}", file=file, record=r, field=None
            )
        for key in ("image", "joints", "joints_vis"):
            if key not in rec:
                raise InputError("missing", file=file, record=r, field=key)
        name = rec["image"]
        if not isinstance(name, str) or not _safe_image_name(name):
            raise InputError(
                f"expected a relative image path inside the image root, got {name!r}",
                file=file, record=r, field="image",
            )  # fmt: skip
        image_id[i] = names.setdefault(name, len(names))
        kpts[i] = _number_array(rec["joints"], (16, 2), file=file, record=r, field="joints")
        v = _number_array(rec["joints_vis"], (16,), file=file, record=r, field="joints_vis")
        if not np.isin(v, (0.0, 1.0)).all():
            raise InputError(
                f"expected 0 or 1 flags, got {v.tolist()}", file=file, record=r, field="joints_vis"
            )
        vis[i] = v
        if "center" in rec:
            center[i] = _number_array(rec["center"], (2,), file=file, record=r, field="center")
        if "scale" in rec:
            scale[i] = _number_array(rec["scale"], (), file=file, record=r, field="scale")
    n_img = len(names)
    images = ImageTable(
        id=np.arange(n_img, dtype=np.int64),
        file=np.array(list(names), dtype=object).reshape(n_img),
        width=np.zeros(n_img, np.int64),
        height=np.zeros(n_img, np.int64),
        crowd_index=np.full(n_img, np.nan),
    )
    poses = PoseSet(
        image_id=image_id,
        keypoints=kpts,
        visibility=np.where(vis > 0, 2.0, 0.0),
        extra={"center": center, "scale": scale},
    )
    return poses, images
