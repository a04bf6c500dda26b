"""Human3.6M annotations in mmpose's ``.npz`` test layout -> arrays.

mmpose ships Human3.6M frames as ``.npz`` archives (``tests/data/h36m/test_h36m_body3d.npz``,
``test_h36m.npz``) with one row per frame:

* ``imgname`` (N,) str: the image path, e.g. ``S1/S1_Directions_1.54138969/S1_Directions_1.
  54138969_000001.jpg``; its file name encodes subject, action (with an optional sub-action
  number), camera and frame: ``<subject>_<action>.<camera>_<frame>.jpg``.
* ``S`` (N, K, 4) float: 3D ground truth in camera coordinates plus a visibility flag (0/1).
  K = 17 in the Human3.6M joint order (:data:`posebench.skeletons.H36M17`, pelvis first) or
  K = 24 in SPIN's joint order (``test_h36m.npz``; see :data:`SPIN24_TO_H36M17`). The files
  store metres; the protocols report millimetres (multiply by 1000).
* optional ``part`` (N, K, 3) 2D pixels plus flag, ``center`` (N, 2), ``scale`` (N,); any
  other per-frame array (``pose``, ``shape``, ...) is kept in ``extra``.

Files are read with ``np.load(..., allow_pickle=False)``: an archive holding Python objects is
refused, never unpickled.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import numpy.typing as npt

from posebench.errors import InputError
from posebench.poseset import ImageTable, PoseSet

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
StrArray = npt.NDArray[np.str_]

__all__ = [
    "H36M_ACTIONS",
    "SPIN24_TO_H36M17",
    "H36MAnnotations",
    "ImageName",
    "canonical_action",
    "load_h36m_npz",
    "parse_image_name",
]

#: The 15 Human3.6M action categories over which protocol #1/#2 results are averaged.
H36M_ACTIONS = (
    "Directions", "Discussion", "Eating", "Greeting", "Phoning", "Photo", "Posing", "Purchases",
    "Sitting", "SittingDown", "Smoking", "Waiting", "WalkDog", "Walking", "WalkTogether",
)  # fmt: skip

# Subject S1's recordings name two actions differently; VideoPose3D's prepare_data_h36m.py
# renames them to the common names in the same way.
_ACTION_ALIASES = {"TakingPhoto": "Photo", "WalkingDog": "WalkDog"}

#: Rows of a SPIN 24-joint array (``test_h36m.npz``) in H36M17 order:
#: ``s24[:, SPIN24_TO_H36M17]`` is the H36M17 array. Established on mmpose's two test
#: archives, which store the same four frames in both layouts (the coordinates coincide).
SPIN24_TO_H36M17 = (14, 2, 1, 0, 3, 4, 5, 16, 12, 17, 18, 9, 10, 11, 8, 7, 6)

_SKELETONS = {17: "h36m17", 24: "spin24"}
_NAME = re.compile(
    r"^(?P<subject>S\d+)_(?P<action>[A-Za-z]+)(?:[ _](?P<sub>\d+))?"
    r"\.(?P<camera>\d+)_(?P<frame>\d+)\.(?:jpe?g|png)$"
)
_WHOLE = "(whole array)"


@dataclass(frozen=True)
class ImageName:
    """The parts of a Human3.6M image file name ``S1_Directions_1.54138969_000001.jpg``."""

    subject: str  # "S1"
    action: str  # canonical action, "Directions"
    action_raw: str  # as written, with sub-action: "Directions_1"
    camera: str  # "54138969"
    frame: int  # 1


def canonical_action(name: str) -> str:
    """Action category of a raw name: ``"Directions_1"`` -> ``"Directions"``,
    ``"TakingPhoto"`` -> ``"Photo"``."""
    base = re.sub(r"[ _]\d+$", "", name)
    return _ACTION_ALIASES.get(base, base)


def parse_image_name(name: str) -> ImageName:
    """Split an image path (only its last component is read) into its parts.

    Raises:
        ValueError: the name does not follow ``<subject>_<action>.<camera>_<frame>.jpg``.
    """
    base = PurePosixPath(name.replace("\\", "/")).name
    m = _NAME.match(base)
    if m is None:
        raise ValueError(
            f"image name {base!r} is not <subject>_<action>[_<n>].<camera>_<frame>.jpg "
            "(e.g. S1_Directions_1.54138969_000001.jpg)"
        )
    raw = m["action"] + ("" if m["sub"] is None else "_" + m["sub"])
    return ImageName(
        subject=m["subject"],
        action=canonical_action(m["action"]),
        action_raw=raw,
        camera=m["camera"],
        frame=int(m["frame"]),
    )


@dataclass(frozen=True, eq=False)
class H36MAnnotations:
    """Human3.6M frames as arrays.

    Attributes:
        path: where they were read from.
        skeleton: ``"h36m17"`` or ``"spin24"``, from K.
        image_name: (N,) str image paths as stored.
        subject, action, action_raw, camera: (N,) str parsed from the image names (``action``
            is the canonical category used by the protocols).
        frame: (N,) int64 frame number from the image name.
        joints_3d: (N, K, 3) float64 3D ground truth in the file's unit (mmpose: metres).
        visible_3d: (N, K) bool.
        joints_2d: (N, K, 2) float64 pixels, or None when the file has no ``part``.
        visible_2d: (N, K) bool, or None.
        center: (N, 2) float64 box centres, or None. scale: (N,) float64, or None.
        extra: the file's other per-frame arrays, by key.
    """

    path: str
    skeleton: str
    image_name: StrArray
    subject: StrArray
    action: StrArray
    action_raw: StrArray
    camera: StrArray
    frame: IntArray
    joints_3d: FloatArray
    visible_3d: BoolArray
    joints_2d: FloatArray | None = None
    visible_2d: BoolArray | None = None
    center: FloatArray | None = None
    scale: FloatArray | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.joints_3d.shape[0])

    def h36m17(self) -> H36MAnnotations:
        """The same frames with joints in H36M17 order (``self`` when already so)."""
        if self.skeleton == "h36m17":
            return self
        idx = np.asarray(SPIN24_TO_H36M17)

        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else np.ascontiguousarray(a[:, idx])

        return H36MAnnotations(
            path=self.path,
            skeleton="h36m17",
            image_name=self.image_name,
            subject=self.subject,
            action=self.action,
            action_raw=self.action_raw,
            camera=self.camera,
            frame=self.frame,
            joints_3d=np.ascontiguousarray(self.joints_3d[:, idx]),
            visible_3d=np.ascontiguousarray(self.visible_3d[:, idx]),
            joints_2d=pick(self.joints_2d),
            visible_2d=pick(self.visible_2d),
            center=self.center,
            scale=self.scale,
            extra=self.extra,
        )

    def to_poseset(self) -> PoseSet:
        """3D ground truth as a PoseSet: ``image_id`` 1..N, visibility 2 (visible) or 0, and
        ``extra`` columns ``subject``, ``action``, ``camera``, ``frame``."""
        n = len(self)
        return PoseSet(
            image_id=np.arange(1, n + 1, dtype=np.int64),
            keypoints=self.joints_3d.copy(),
            visibility=np.where(self.visible_3d, 2.0, 0.0),
            extra={
                "subject": self.subject.copy(),
                "action": self.action.copy(),
                "camera": self.camera.copy(),
                "frame": self.frame.copy(),
            },
        )

    def image_table(self) -> ImageTable:
        """Image ids 1..N with the stored image paths."""
        n = len(self)
        return ImageTable(
            id=np.arange(1, n + 1, dtype=np.int64),
            file=np.array([str(s) for s in self.image_name], dtype=object).reshape(n),
            width=np.zeros(n, np.int64),
            height=np.zeros(n, np.int64),
            crowd_index=np.full(n, np.nan),
        )


def _read(archive: np.lib.npyio.NpzFile, key: str, file: str) -> np.ndarray:
    try:
        return np.asarray(archive[key])
    except ValueError as exc:  # object arrays need pickle, which is never allowed
        raise InputError(
            f"holds Python objects (pickle), which posebench never loads: {exc}",
            file=file, record=_WHOLE, field=key,
        ) from None  # fmt: skip
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError(f"cannot read: {exc}", file=file, record=_WHOLE, field=key) from None


def _record(i: int, names: StrArray) -> str:
    return f"record {i} ({names[i]})"


def _numeric(a: np.ndarray, key: str, file: str, shape: str) -> FloatArray:
    if a.dtype.kind not in "biuf":
        raise InputError(
            f"expected numbers {shape}, got dtype {a.dtype}", file=file, record=_WHOLE, field=key
        )
    return np.asarray(a, dtype=np.float64)


def _flags(v: FloatArray, key: str, file: str, names: StrArray) -> BoolArray:
    bad = ~np.isin(v, (0.0, 1.0))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InputError(
            f"visibility flag of joint {j} is {v[i, j]!r}, expected 0 or 1",
            file=file, record=_record(int(i), names), field=key,
        )  # fmt: skip
    visible: BoolArray = v == 1.0
    return visible


def load_h36m_npz(path: str | Path) -> H36MAnnotations:
    """Read an mmpose Human3.6M ``.npz`` (``test_h36m_body3d.npz`` or ``test_h36m.npz``).

    Raises:
        InputError: an unreadable archive, a missing ``imgname`` or ``S``, pickled object
            arrays, shapes that disagree, flags other than 0/1, non-finite coordinates of a
            visible joint, or an image name that does not parse; naming the file, the record
            (``record i (imgname)``) and the key.
    """
    file = str(path)
    try:
        archive = np.load(file, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError(f"cannot read as .npz: {exc}", file=file) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise InputError("expected an .npz archive, found a single .npy array", file=file)
    with archive:
        keys = list(archive.files)
        for key in ("imgname", "S"):
            if key not in keys:
                raise InputError(
                    f"key {key!r} is missing (keys: {', '.join(keys) or 'none'})",
                    file=file, record=_WHOLE, field=key,
                )  # fmt: skip
        arrays = {key: _read(archive, key, file) for key in keys}

    raw_names = arrays.pop("imgname")
    if raw_names.ndim != 1 or raw_names.dtype.kind not in "US":
        raise InputError(
            f"expected a 1-D array of strings, got dtype {raw_names.dtype} shape "
            f"{raw_names.shape}",
            file=file, record=_WHOLE, field="imgname",
        )  # fmt: skip
    names = (
        np.char.decode(raw_names, "utf-8") if raw_names.dtype.kind == "S" else raw_names
    ).astype(str)
    n = len(names)

    s = _numeric(arrays.pop("S"), "S", file, "(N, K, 4)")
    if s.ndim != 3 or s.shape[0] != n or s.shape[2] not in (3, 4):
        raise InputError(
            f"expected (N={n}, K, 4) (or K, 3 without flags), got shape {s.shape}",
            file=file, record=_WHOLE, field="S",
        )  # fmt: skip
    k = s.shape[1]
    if k not in _SKELETONS:
        raise InputError(
            f"expected 17 (Human3.6M) or 24 (SPIN) joints, got {k}",
            file=file, record=_WHOLE, field="S",
        )  # fmt: skip
    joints_3d = np.ascontiguousarray(s[:, :, :3])
    visible_3d = _flags(s[:, :, 3], "S", file, names) if s.shape[2] == 4 else np.ones((n, k), bool)
    bad = visible_3d & ~np.isfinite(joints_3d).all(axis=2)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InputError(
            f"visible joint {j} has non-finite coordinates {joints_3d[i, j].tolist()}",
            file=file, record=_record(int(i), names), field="S",
        )  # fmt: skip

    joints_2d = visible_2d = None
    if "part" in arrays:
        part = _numeric(arrays.pop("part"), "part", file, "(N, K, 3)")
        if part.shape != (n, k, 3):
            raise InputError(
                f"expected ({n}, {k}, 3) like S, got shape {part.shape}",
                file=file, record=_WHOLE, field="part",
            )  # fmt: skip
        joints_2d = np.ascontiguousarray(part[:, :, :2])
        visible_2d = _flags(part[:, :, 2], "part", file, names)
    center = scale = None
    if "center" in arrays:
        center = _numeric(arrays.pop("center"), "center", file, "(N, 2)")
        if center.shape != (n, 2):
            raise InputError(
                f"expected ({n}, 2), got shape {center.shape}",
                file=file, record=_WHOLE, field="center",
            )  # fmt: skip
    if "scale" in arrays:
        scale = _numeric(arrays.pop("scale"), "scale", file, "(N,)")
        if scale.shape != (n,):
            raise InputError(
                f"expected ({n},), got shape {scale.shape}", file=file, record=_WHOLE, field="scale"
            )

    parsed = []
    for i, name in enumerate(names):
        try:
            parsed.append(parse_image_name(name))
        except ValueError as exc:
            raise InputError(
                str(exc), file=file, record=_record(i, names), field="imgname"
            ) from None

    extra = {key: a for key, a in arrays.items() if a.ndim >= 1 and len(a) == n}
    return H36MAnnotations(
        path=file,
        skeleton=_SKELETONS[k],
        image_name=names,
        subject=np.array([p.subject for p in parsed], dtype=str).reshape(n),
        action=np.array([p.action for p in parsed], dtype=str).reshape(n),
        action_raw=np.array([p.action_raw for p in parsed], dtype=str).reshape(n),
        camera=np.array([p.camera for p in parsed], dtype=str).reshape(n),
        frame=np.array([p.frame for p in parsed], dtype=np.int64).reshape(n),
        joints_3d=joints_3d,
        visible_3d=visible_3d,
        joints_2d=joints_2d,
        visible_2d=visible_2d,
        center=center,
        scale=scale,
        extra=extra,
    )
