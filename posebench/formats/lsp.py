"""Leeds Sports Pose ``joints.mat`` (LSP and LSP Extended) <-> arrays on the LSP14 skeleton.

The two datasets store the same 14 joints (LSP14 order: r-ankle ... l-wrist, neck, head top)
in two layouts with *opposite* flag conventions:

* original LSP (2000 images): ``joints`` is **3 x 14 x N**, rows x, y, flag; the flag is
  **1 = occluded**, 0 = visible (every joint is annotated, occluded ones estimated; cf.
  ``oriTrTe.joints(3,:,:) = 1 - ...`` in bearpaw/pytorch-pose ``miscs/gen_lsp.m``);
* LSP Extended (10000 images): ``joints`` is **14 x 3 x N**, columns x, y, flag; the flag is
  **1 = visible**, 0 = occluded or absent;
* **2 x 14 x N** (x, y only, e.g. a file saved from eval_pose's ``joints(1:2, :, :)``) is read as
  the LSP layout with every joint annotated and visible.

``load_lsp_joints`` detects the layout from the shape and applies its convention; pass
``convention`` to override it for a file re-saved in the other layout. Reading needs scipy
(``pip install scipy``); MATLAB v7.3 files need h5py.

Which joints are scored (``LSPJoints.annotated``): the LSP protocol scores all 14 joints of the
original LSP layout, occluded ones included (their positions were annotated too): the MPII
benchmark's LSP evaluation (bearpaw/eval_pose ``eval_pcp.m``, ``eval_pck.m``, ``eval_pdj.m``)
takes every joint of every test image. LSPET's flag 0 also marks joints that are absent, stored
outside the image (all 734 flag-0 joints of the shipped 400-person slice lie at x <= 0 or
y <= 0), so there only flag-1 joints are scored.

Annotations come in two conventions, named by ``annotation``: ``person-centric`` (the original
release: "left" is the person's left) and ``observer-centric`` (the re-annotation shipped with
the MPII benchmark's LSP evaluation, ``lsp-joints-OC.mat``: "left" is the image's left). The
numbers of the two are not comparable (observer-centric is easier), so the convention is part of
every signature; predictions must use the same convention as the ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from posebench.errors import InputError
from posebench.formats.mpii import WHOLE, read_mat
from posebench.poseset import ImageTable, PoseSet
from posebench.skeletons import LSP14

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

Layout = Literal["lsp", "lspet"]
Convention = Literal["auto", "occluded", "visible"]
Annotation = Literal["person-centric", "observer-centric"]
#: short names of the annotation conventions, as signatures write them.
ANNOTATION_TAGS: dict[str, str] = {"person-centric": "pc", "observer-centric": "oc"}


@dataclass(frozen=True, eq=False)
class LSPJoints:
    """LSP/LSPET annotations as arrays on the LSP14 skeleton.

    Attributes:
        path: where it was read from.
        layout: ``"lsp"`` (3 x 14 x N) or ``"lspet"`` (14 x 3 x N), as found in the file.
        convention: how the flag was read, ``"occluded"`` (1 = occluded) or ``"visible"``.
        keypoints: (N, 14, 2) float64 pixel coordinates as stored (MATLAB 1-based).
        visible: (N, 14) bool.
        annotation: ``"person-centric"`` or ``"observer-centric"`` (as the caller named it).
    """

    path: str
    layout: Layout
    convention: Literal["occluded", "visible"]
    keypoints: FloatArray
    visible: BoolArray
    annotation: Annotation = "person-centric"

    def __len__(self) -> int:
        return int(self.keypoints.shape[0])

    @property
    def annotated(self) -> BoolArray:
        """(N, 14) bool joints the protocol scores: every joint in the LSP layout (occluded
        ones included), the flag-1 joints in the LSPET layout (see the module docstring)."""
        if self.layout == "lsp":
            return np.ones(self.visible.shape, dtype=bool)
        return self.visible.copy()

    def to_poseset(self) -> PoseSet:
        """A PoseSet with ``image_id`` 1..N (the ``imNNNN`` number of each record).

        Visibility: 2 visible; not-visible joints are 1 (annotated, occluded) under the LSP
        convention, where every joint has a position, and 0 (not labelled) under LSPET's, where
        a 0 flag also marks joints that are absent.
        """
        hidden = 1.0 if self.convention == "occluded" else 0.0
        return PoseSet(
            image_id=np.arange(1, len(self) + 1, dtype=np.int64),
            keypoints=self.keypoints.copy(),
            visibility=np.where(self.visible, 2.0, hidden),
        )

    def image_table(self) -> ImageTable:
        """Image ids 1..N with the dataset's file names (``im0001.jpg`` / ``im00001.jpg``)."""
        n = len(self)
        fmt = "im{:04d}.jpg" if self.layout == "lsp" else "im{:05d}.jpg"
        return ImageTable(
            id=np.arange(1, n + 1, dtype=np.int64),
            file=np.array([fmt.format(i) for i in range(1, n + 1)], dtype=object).reshape(n),
            width=np.zeros(n, np.int64),
            height=np.zeros(n, np.int64),
            crowd_index=np.full(n, np.nan),
        )


def load_lsp_joints(
    path: str | Path,
    *,
    convention: Convention = "auto",
    key: str = "joints",
    annotation: Annotation = "person-centric",
) -> LSPJoints:
    """Read an LSP or LSPET ``joints.mat``.

    Args:
        path: the ``.mat`` file.
        convention: ``"auto"`` (LSP layout -> flag 1 = occluded, LSPET layout -> 1 = visible),
            or force ``"occluded"`` / ``"visible"``.
        key: the variable name (``joints``).
        annotation: ``"person-centric"`` (the original LSP release) or ``"observer-centric"``
            (``lsp-joints-OC.mat``); recorded, not converted.

    Raises:
        InputError: missing variable, a shape that is neither layout, flags other than 0/1, or
            a scored joint (:attr:`LSPJoints.annotated`) with non-finite coordinates (naming
            the record ``joints[..., i]``).
    """
    p = Path(path)
    file = str(p)
    if convention not in ("auto", "occluded", "visible"):
        raise ValueError(f"convention must be 'auto', 'occluded' or 'visible', got {convention!r}")
    if annotation not in ANNOTATION_TAGS:
        raise ValueError(
            f"annotation must be 'person-centric' or 'observer-centric', got {annotation!r}"
        )
    data = read_mat(p, [key])
    if key not in data:
        raise InputError(f"variable {key!r} is missing", file=file, record=WHOLE, field=key)
    raw = data[key]
    if raw.dtype.kind not in "biuf":
        raise InputError(
            f"expected numbers, got dtype {raw.dtype}", file=file, record=WHOLE, field=key
        )
    a = np.asarray(raw, dtype=np.float64)
    layout: Layout
    if a.ndim == 3 and a.shape[:2] == (2, 14):
        # x and y only (as eval_pose's joints(1:2, :, :)): every joint annotated, no flags
        xy = np.transpose(a, (2, 1, 0))
        layout, per_person = "lsp", np.concatenate([xy, np.zeros((*xy.shape[:2], 1))], axis=2)
    elif a.ndim == 3 and a.shape[:2] == (3, 14):
        layout, per_person = "lsp", np.transpose(a, (2, 1, 0))  # (N, 14, 3)
    elif a.ndim == 3 and a.shape[:2] == (14, 3):
        layout, per_person = "lspet", np.transpose(a, (2, 0, 1))
    else:
        raise InputError(
            "expected 3 x 14 x N (LSP), 2 x 14 x N (LSP without flags) or 14 x 3 x N (LSPET), "
            f"got {' x '.join(map(str, a.shape))}",
            file=file, record=WHOLE, field=key,
        )  # fmt: skip
    auto: Literal["occluded", "visible"] = "occluded" if layout == "lsp" else "visible"
    conv = auto if convention == "auto" else convention
    flags = per_person[:, :, 2]
    record = "joints[:, :, {}]".replace("joints", key)
    bad = ~np.isin(flags, (0.0, 1.0))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InputError(
            f"visibility flag of {LSP14.keypoints[j]} is {flags[i, j]!r}, expected 0 or 1",
            file=file, record=record.format(i), field=key,
        )  # fmt: skip
    visible = flags == (0.0 if conv == "occluded" else 1.0)
    keypoints = np.ascontiguousarray(per_person[:, :, :2])
    scored = visible if layout == "lspet" else np.ones_like(visible)
    nonfinite = scored & ~np.isfinite(keypoints).all(axis=-1)
    if nonfinite.any():
        i, j = np.argwhere(nonfinite)[0]
        what = "visible" if visible[i, j] else "annotated (occluded)"
        raise InputError(
            f"{what} joint {LSP14.keypoints[j]} has non-finite coordinates {keypoints[i, j]}",
            file=file, record=record.format(i), field=key,
        )  # fmt: skip
    return LSPJoints(
        path=file, layout=layout, convention=conv, keypoints=keypoints, visible=visible,
        annotation=annotation,
    )  # fmt: skip
