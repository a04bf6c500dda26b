"""Batched SMPL body model: pose and shape to vertices and joints, through smplx.

The model file is either the shipped mannequin (``"mannequin"``), an ``.npz`` with the SMPL keys,
or an official SMPL ``.pkl`` read by the restricted unpickler of :mod:`.smpl_files` (no chumpy,
no arbitrary code). smplx never opens the file itself: it gets the validated arrays.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from posebench.errors import InputError
from posebench.examiner.smpl_files import load_smpl_arrays

__all__ = ["EXTRA_JOINT_NAMES", "MANNEQUIN", "NUM_SMPL_JOINTS", "BodyModel", "BodyOutput"]

MANNEQUIN = "mannequin"
NUM_SMPL_JOINTS = 24
#: smplx's extra joints after the 24 SMPL joints (VertexJointSelector order, SMPL-H vertex ids).
EXTRA_JOINT_NAMES = (
    "nose", "right_eye", "left_eye", "right_ear", "left_ear",
    "left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe",
    "right_heel", "left_thumb", "left_index", "left_middle", "left_ring", "left_pinky",
    "right_thumb", "right_index", "right_middle", "right_ring", "right_pinky",
)  # fmt: skip


def mannequin_path() -> Path:
    """Path of the shipped mannequin body file."""
    rel = "mannequin/SMPL_NEUTRAL_MANNEQUIN.npz"
    return Path(str(resources.files("posebench.data").joinpath(rel)))


@dataclass(frozen=True)
class BodyOutput:
    """vertices: (B, V, 3) and joints: (B, 24 + 21, 3), metres, SMPL world frame (y up)."""

    vertices: torch.Tensor
    joints: torch.Tensor


class BodyModel:
    """SMPL body (smplx.SMPL) loaded from a model file, evaluated in batches.

    Args:
        source: ``"mannequin"``, or a path to an SMPL ``.npz`` / official ``.pkl``.
        device: torch device for the model buffers and outputs.
        dtype: float dtype of the outputs.
        num_betas: shape coefficients used (at most those in the file).
    """

    def __init__(
        self,
        source: str | Path = MANNEQUIN,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        num_betas: int = 10,
    ) -> None:
        try:
            import smplx
            from smplx.utils import Struct
        except ImportError as e:  # pragma: no cover - exercised only without the extra
            raise ImportError(
                "the examiner's body model needs smplx: pip install smplx (without chumpy)"
            ) from e
        path = mannequin_path() if str(source) == MANNEQUIN else Path(source)
        arrays = load_smpl_arrays(path)
        self.path = path
        self.device = torch.device(device)
        self.dtype = dtype
        # smplx prints a warning when a model has fewer than 300 shape components; library code
        # must not print, so it is swallowed here.
        with contextlib.redirect_stdout(io.StringIO()):
            self._smpl: Any = smplx.SMPL(
                model_path=str(path),
                data_struct=Struct(**arrays),
                create_transl=False,
                create_betas=False,
                create_global_orient=False,
                create_body_pose=False,
                num_betas=num_betas,
                dtype=dtype,
            )
        self._smpl.to(self.device)
        self._smpl.eval()
        self.num_betas: int = int(self._smpl.num_betas)
        self.faces = torch.as_tensor(arrays["f"], dtype=torch.long, device=self.device)
        with torch.no_grad():
            v = self._smpl.v_template
            self.rest_joints = (self._smpl.J_regressor @ v).detach()  # (24, 3)
        self.template: dict[str, np.ndarray[Any, Any]] = arrays

    @property
    def num_vertices(self) -> int:
        return int(self._smpl.v_template.shape[0])

    def forward(
        self,
        global_orient: torch.Tensor,
        body_pose: torch.Tensor,
        betas: torch.Tensor | None = None,
        transl: torch.Tensor | None = None,
    ) -> BodyOutput:
        """Posed bodies.

        Args:
            global_orient: (B, 3) axis-angle root rotation.
            body_pose: (B, 69) axis-angle rotations of joints 1..23.
            betas: (B, S) shape coefficients (S <= num_betas; zeros when None).
            transl: (B, 3) translation in metres, or None.

        Returns:
            vertices (B, V, 3) and joints (B, 45, 3): 24 SMPL joints then EXTRA_JOINT_NAMES.
        """
        go = self._as(global_orient, "global_orient", 3)
        bp = self._as(body_pose, "body_pose", 69)
        b = go.shape[0]
        if bp.shape[0] != b:
            raise InputError(f"batch {bp.shape[0]} != global_orient batch {b}", field="body_pose")
        if betas is None:
            be = torch.zeros(b, self.num_betas, device=self.device, dtype=self.dtype)
        else:
            be = torch.as_tensor(betas, device=self.device, dtype=self.dtype)
            if be.ndim != 2 or be.shape[0] != b or be.shape[1] > self.num_betas:
                raise InputError(
                    f"expected shape ({b}, <= {self.num_betas}), got {tuple(be.shape)}",
                    field="betas",
                )
            if be.shape[1] < self.num_betas:
                be = torch.nn.functional.pad(be, (0, self.num_betas - be.shape[1]))
        out = self._smpl(global_orient=go, body_pose=bp, betas=be)
        verts, joints = out.vertices, out.joints
        if transl is not None:
            t = self._as(transl, "transl", 3)[:, None, :]
            verts, joints = verts + t, joints + t
        return BodyOutput(vertices=verts, joints=joints)

    __call__ = forward

    def _as(self, x: torch.Tensor, name: str, width: int) -> torch.Tensor:
        t = torch.as_tensor(x, device=self.device, dtype=self.dtype)
        if t.ndim != 2 or t.shape[1] != width:
            raise InputError(f"expected shape (B, {width}), got {tuple(t.shape)}", field=name)
        return t
