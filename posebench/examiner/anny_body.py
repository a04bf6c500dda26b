"""The anny body (NAVER, Apache-2.0, ``pip install anny``): a realistic, openly licensed person.

anny is a parametric body model built on the MakeHuman / MPFB2 assets; it ships its mesh
(13718 vertices, 27420 triangles), rig (104 bones), UV masks and a COCO keypoint regressor in the
wheel and never downloads anything for what is used here. This module puts it behind the same
interface as :class:`~posebench.examiner.body.BodyModel`:

- **Shape**: anny's six phenotype parameters (gender, age, muscle, weight, height, proportions,
  each in [0, 1]) are the shape dimensions (``shape.gender``... in
  :func:`~posebench.examiner.params.default_space` with ``body="anny"``).
- **Pose**: the same SMPL-frame Euler dimensions within the same joint limits drive anny's bones
  (shoulder -> ``upperarm01``, elbow -> ``lowerarm01``, hip -> ``upperleg01``, knee ->
  ``lowerleg01``, spine2 -> ``spine02``, neck -> ``neck01``). anny's ``local-ref`` pose
  parameters are rotations in world-aligned frames carried by the parent bones, as SMPL's are;
  its world is z up, facing -y, so a rotation ``R`` in SMPL's frame becomes ``C R C^T`` with
  ``C`` the fixed change of axes. anny rests in an A-pose with bent elbows, SMPL in a T-pose:
  each driven limb bone gets the rotation ``Q`` taking SMPL's rest direction of the bone (arms
  along x, legs down) to anny's, so that a joint angle means the same limb direction on both
  bodies (``E_bone = Q_parent R Q_bone^-1``).
- **Keypoints**: anny's COCO regressor (linear in the posed vertices), COCO-17 order.
- **Appearance** (:meth:`AnnyBody.colors`): per-vertex albedo: a skin tone, a face painted
  from anny's UV masks (lips, eyelids) and the regressed eyes (sclera, iris, eyebrows), hair, a
  top (sleeve length, colour, optional stripes), trousers or shorts, shoes. Every choice is a
  number in [0, 1] (the ``appearance`` group of the search space).

Outputs are in SMPL's world frame (y up, facing +z, the body's left on +x), so the camera and
everything downstream are shared with the SMPL bodies.

anny's first construction builds its model data (about 2 minutes on two CPU cores) and caches it
under ``ANNY_CACHE_DIR`` (default ``~/.cache/anny``, ~800 MB); later constructions load the cache
in about 2 s. The skinning is anny's pure-torch ``lbs`` (CPU and CUDA alike), so NVIDIA Warp's
kernels are never compiled. ``python -m posebench.examiner.anny_body`` builds the cache once
(CI runs it before the tests).
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import sys
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from posebench.errors import InputError
from posebench.examiner.body import BodyOutput

__all__ = ["ANNY", "APPEARANCE", "PHENOTYPES", "AnnyBody", "anny_available"]

log = logging.getLogger(__name__)

ANNY = "anny"

#: anny's phenotype parameters (its ``phenotype_labels`` order) with the range searched: adults
#: and teenagers (age 0 is a newborn, 0.67 a young adult, 1 old), heights about 1.45-1.95 m.
PHENOTYPES: dict[str, tuple[float, float, float]] = {
    "gender": (0.0, 1.0, 0.5),
    "age": (0.5, 1.0, 0.7),
    "muscle": (0.1, 0.9, 0.5),
    "weight": (0.1, 0.9, 0.5),
    "height": (0.3, 0.8, 0.5),
    "proportions": (0.2, 0.8, 0.5),
}

#: Appearance numbers in [0, 1] (name -> default): skin tone (light to dark), hair colour
#: (black to blond), top hue, top lightness, sleeve length (sleeveless, short, long), stripes
#: (above 0.5), bottom hue, bottom lightness, trouser length (shorts below 0.5).
APPEARANCE: dict[str, float] = {
    "skin": 0.4,
    "hair": 0.2,
    "top_hue": 0.6,
    "top_value": 0.5,
    "sleeves": 0.5,
    "stripes": 0.2,
    "bottom_hue": 0.62,
    "bottom_value": 0.3,
    "trousers": 0.8,
}

#: SMPL joint (params.SMPL_JOINTS name) -> anny bone, and the driven parent bone (or None).
_DRIVEN: dict[str, tuple[str, str | None]] = {
    "left_shoulder": ("upperarm01.L", None),
    "right_shoulder": ("upperarm01.R", None),
    "left_elbow": ("lowerarm01.L", "left_shoulder"),
    "right_elbow": ("lowerarm01.R", "right_shoulder"),
    "left_hip": ("upperleg01.L", None),
    "right_hip": ("upperleg01.R", None),
    "left_knee": ("lowerleg01.L", "left_hip"),
    "right_knee": ("lowerleg01.R", "right_hip"),
    "spine2": ("spine02", None),
    "neck": ("neck01", None),
}
_SMPL_INDEX = {"left_hip": 1, "right_hip": 2, "left_knee": 4, "right_knee": 5, "spine2": 6,
               "neck": 12, "left_shoulder": 16, "right_shoulder": 17, "left_elbow": 18,
               "right_elbow": 19}  # fmt: skip
#: bone whose head -> tail direction defines each limb's rest direction: (from bone, to bone).
_LIMB: dict[str, tuple[str, str, tuple[float, float, float]]] = {
    "left_shoulder": ("upperarm01.L", "lowerarm01.L", (1.0, 0.0, 0.0)),
    "right_shoulder": ("upperarm01.R", "lowerarm01.R", (-1.0, 0.0, 0.0)),
    "left_elbow": ("lowerarm01.L", "wrist.L", (1.0, 0.0, 0.0)),
    "right_elbow": ("lowerarm01.R", "wrist.R", (-1.0, 0.0, 0.0)),
    "left_hip": ("upperleg01.L", "lowerleg01.L", (0.0, -1.0, 0.0)),
    "right_hip": ("upperleg01.R", "lowerleg01.R", (0.0, -1.0, 0.0)),
    "left_knee": ("lowerleg01.L", "foot.L", (0.0, -1.0, 0.0)),
    "right_knee": ("lowerleg01.R", "foot.R", (0.0, -1.0, 0.0)),
}
#: SMPL axes -> anny axes: x (left) stays, SMPL up (+y) is anny +z, SMPL forward (+z) is anny -y.
_C = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])

# Skin tones (linear-ish sRGB in [0, 1]), light to dark, from common makeup/skin-tone charts.
_SKIN = np.array(
    [[0.96, 0.80, 0.69], [0.91, 0.72, 0.58], [0.83, 0.62, 0.48], [0.72, 0.51, 0.37],
     [0.56, 0.38, 0.26], [0.42, 0.27, 0.18], [0.30, 0.19, 0.13]]
)  # fmt: skip
_HAIR = np.array(
    [[0.06, 0.05, 0.05], [0.20, 0.13, 0.08], [0.38, 0.24, 0.13], [0.62, 0.45, 0.25],
     [0.85, 0.72, 0.45]]
)  # fmt: skip


def anny_available() -> tuple[bool, str]:
    """(True, "") when anny imports, else (False, the install hint)."""
    try:
        import anny  # noqa: F401
    except ImportError:
        return False, "the anny body needs the anny package: pip install 'posebench[examiner]'"
    return True, ""


def _rotation_between(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(3, 3) the smallest rotation taking unit vector a to unit vector b."""
    a, b = F.normalize(a, dim=0), F.normalize(b, dim=0)
    v = torch.cross(a, b, dim=0)
    c = float(torch.dot(a, b))
    s = float(v.norm())
    if s < 1e-8:
        return torch.eye(3)
    k = torch.tensor([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]]) / s
    return torch.eye(3) + s * k + (1 - c) * (k @ k)


def _axis_angle_to_matrix(aa: torch.Tensor) -> torch.Tensor:
    """(..., 3) axis-angle -> (..., 3, 3) rotation matrices (Rodrigues)."""
    angle = aa.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    k = aa / angle
    kx, ky, kz = k.unbind(-1)
    z = torch.zeros_like(kx)
    km = torch.stack([z, -kz, ky, kz, z, -kx, -ky, kx, z], -1).view(*aa.shape[:-1], 3, 3)
    s = torch.sin(angle)[..., None]
    c = torch.cos(angle)[..., None]
    eye = torch.eye(3, dtype=aa.dtype, device=aa.device)
    return eye + s * km + (1 - c) * (km @ km)


def _hsv(h: torch.Tensor, s: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """(B,) hue, saturation, value in [0, 1] -> (B, 3) RGB."""
    k = torch.stack([(5 + h * 6) % 6, (3 + h * 6) % 6, (1 + h * 6) % 6], -1)
    rgb = v[:, None] - v[:, None] * s[:, None] * (torch.minimum(k, 4 - k).clamp(0, 1))
    return rgb


class AnnyBody:
    """anny behind the examiner's body interface (see the module docstring).

    Args:
        device: torch device of the model and its outputs.
        dtype: float dtype of the outputs (anny's own default is float64).
    """

    name = ANNY
    skeletons = ("coco17",)

    def __init__(self, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32):
        ok, why = anny_available()
        if not ok:
            raise InputError(why, field="--body")
        import anny

        self.device = torch.device(device)
        self.dtype = dtype
        # anny's optional Warp import prints its banner to stdout; library code must not print.
        with contextlib.redirect_stdout(io.StringIO()):
            model: Any = anny.Anny(skinning_method="lbs")
        self._model = model.to(device=self.device, dtype=dtype).eval()
        self._kp: Any = anny.KeypointsRegressor.coco(self._model)
        self.labels: list[str] = list(self._model.bone_labels)
        self.phenotype_labels: list[str] = list(self._model.phenotype_labels)
        if self.phenotype_labels != list(PHENOTYPES):
            raise InputError(
                f"anny phenotypes {self.phenotype_labels}, expected {list(PHENOTYPES)}",
                field="--body",
            )
        self.num_betas = len(self.phenotype_labels)
        self.faces = self._model.faces.to(device=self.device, dtype=torch.long)
        self._c = _C.to(self.device, dtype)
        with torch.no_grad():
            rest = self._model(None)
        heads = rest["bone_poses"][0, :, :3, 3].float().cpu()
        self._bone = {j: self.labels.index(b) for j, (b, _) in _DRIVEN.items()}
        q: dict[str, torch.Tensor] = {}
        for j, (b0, b1, smpl_dir) in _LIMB.items():
            d = heads[self.labels.index(b1)] - heads[self.labels.index(b0)]
            q[j] = _rotation_between(torch.tensor(smpl_dir), _C.T @ d)
        self._q = {k: v.to(self.device, dtype) for k, v in q.items()}
        self._regions(rest)

    # -- geometry ---------------------------------------------------------------------------

    @property
    def num_vertices(self) -> int:
        return int(self._model.template_vertices.shape[0])

    def forward(
        self,
        global_orient: torch.Tensor,
        body_pose: torch.Tensor,
        betas: torch.Tensor | None = None,
        transl: torch.Tensor | None = None,
    ) -> BodyOutput:
        """Posed bodies in SMPL's world frame.

        Args:
            global_orient: (B, 3) axis-angle root rotation (SMPL frame).
            body_pose: (B, 69) SMPL axis-angle rotations of joints 1..23; the joints of
                ``_DRIVEN`` move anny's bones, the others are ignored.
            betas: (B, 6) phenotype values in [0, 1] (anny's order), or None (0.5 each).
            transl: (B, 3) metres, or None.

        Returns:
            vertices (B, 13718, 3) and joints (B, 17, 3): COCO-17 keypoints, metres.
        """
        go = torch.as_tensor(global_orient, device=self.device, dtype=self.dtype)
        bp = torch.as_tensor(body_pose, device=self.device, dtype=self.dtype)
        if go.ndim != 2 or go.shape[1] != 3:
            raise InputError(f"expected (B, 3), got {tuple(go.shape)}", field="global_orient")
        if bp.ndim != 2 or bp.shape != (go.shape[0], 69):
            raise InputError(
                f"expected ({go.shape[0]}, 69), got {tuple(bp.shape)}", field="body_pose"
            )
        b = go.shape[0]
        if betas is None:
            ph = torch.full((b, self.num_betas), 0.5, device=self.device, dtype=self.dtype)
        else:
            ph = torch.as_tensor(betas, device=self.device, dtype=self.dtype)
            if ph.shape != (b, self.num_betas):
                raise InputError(
                    f"expected ({b}, {self.num_betas}) phenotype values, got {tuple(ph.shape)}",
                    field="betas",
                )
        rots = _axis_angle_to_matrix(bp.view(b, 23, 3))  # SMPL frame, joints 1..23
        pose = torch.eye(4, device=self.device, dtype=self.dtype).repeat(b, len(self.labels), 1, 1)
        c = self._c
        eye = torch.eye(3, device=self.device, dtype=self.dtype)
        for joint, (_, parent) in _DRIVEN.items():
            r = rots[:, _SMPL_INDEX[joint] - 1]
            qb = self._q.get(joint, eye)
            qp = self._q[parent] if parent is not None else eye
            e = qp @ r @ qb.T
            pose[:, self._bone[joint], :3, :3] = c @ e @ c.T
        out = self._model(pose, phenotype_kwargs=ph)
        verts = out["vertices"].to(self.dtype)
        kp = self._kp(out)[:, :17].to(self.dtype)
        # anny -> SMPL axes (row vectors: v_s = C^T v_a), then the root rotation and translation.
        rg = _axis_angle_to_matrix(go)
        m = c @ rg.transpose(1, 2)  # v_s = rg @ C^T v_a  <=>  row: v_a @ C @ rg^T
        verts = verts @ m
        kp = kp @ m
        # Stand on the ground (y = 0): the lowest vertex touches it.
        floor = verts[..., 1].amin(1)
        lift = torch.zeros(b, 1, 3, device=self.device, dtype=self.dtype)
        lift[:, 0, 1] = -floor
        verts, kp = verts + lift, kp + lift
        if transl is not None:
            t = torch.as_tensor(transl, device=self.device, dtype=self.dtype)[:, None]
            verts, kp = verts + t, kp + t
        return BodyOutput(vertices=verts, joints=kp)

    __call__ = forward

    def keypoints(self, joints: torch.Tensor, skeleton: str) -> torch.Tensor:
        """(B, 17, 3) keypoints of ``skeleton`` (only ``coco17``)."""
        if skeleton != "coco17":
            raise InputError(
                f"the anny body regresses COCO-17 keypoints, not {skeleton!r}; use --body "
                "mannequin or an SMPL file for SMPL-24",
                field="--body",
            )
        return joints

    # -- appearance -------------------------------------------------------------------------

    def _regions(self, rest: dict[str, torch.Tensor]) -> None:
        """Per-vertex region labels and face masks, from the rest mesh, rig and UV masks."""
        from anny.paths import get_anny_root_dir
        from PIL import Image

        m = self._model
        v = (rest["vertices"][0].float().cpu() @ _C.float()).numpy()  # SMPL axes, y up
        kp = (self._kp(rest)[0, :17].float().cpu() @ _C.float()).numpy()
        w = m.vertex_bone_weights.float().cpu()
        idx = m.vertex_bone_indices.long().cpu()
        dom = [self.labels[i] for i in idx.gather(1, w.argmax(1, keepdim=True))[:, 0].tolist()]
        n = len(dom)

        def has(*prefixes: str) -> np.ndarray:
            return np.array([d.startswith(prefixes) for d in dom])

        # UV masks of the face, lips and eyelids (MPFB2 textures shipped with anny).
        uv = np.zeros((n, 2), np.float32)
        faces = m.faces.cpu().numpy()
        tci = m.face_texture_coordinate_indices.cpu().numpy()
        tc = m.texture_coordinates.float().cpu().numpy()
        uv[faces.reshape(-1)] = tc[tci.reshape(-1)]
        tex = get_anny_root_dir() / "data" / "mpfb2" / "textures"

        def mask(name: str) -> np.ndarray:
            img = np.asarray(Image.open(tex / name).convert("L").resize((512, 512)), np.float32)
            col = np.clip((uv[:, 0] * 511).round().astype(int), 0, 511)
            row = np.clip(((1 - uv[:, 1]) * 511).round().astype(int), 0, 511)
            return np.asarray(img[row, col] / 255.0, np.float32)

        lips = mask("mpfb_lips.jpg")
        lids = mask("mpfb_eyelids.jpg")
        head = has("head", "neck03")
        ear_y = kp[3:5, 1].mean()
        nose = kp[0]
        # Hair: the head above the ears' height or behind them (not the face).
        behind = v[:, 2] < nose[2] - 0.09
        hair = head & ((v[:, 1] > ear_y + 0.06) | (behind & (v[:, 1] > ear_y - 0.06)))
        hair &= (v[:, 2] < nose[2] - 0.02) | (v[:, 1] > ear_y + 0.10)
        # Eyes: sclera within 0.95 cm of the regressed eye keypoints (front surface), iris within
        # 0.55 cm; eyebrows a band 2-3 cm above the eyes.
        eyes = kp[1:3]
        d_eye = np.linalg.norm(v[:, None, :] - eyes[None], axis=-1).min(1)
        front = v[:, 2] > nose[2] - 0.05
        sclera = head & front & (d_eye < 0.0095)
        iris = head & front & (d_eye < 0.0055)
        dx = np.abs(np.abs(v[:, 0]) - np.abs(eyes[:, 0]).mean())
        brow = head & front & (v[:, 1] > eyes[:, 1].mean() + 0.018)
        brow &= (v[:, 1] < eyes[:, 1].mean() + 0.03) & (dx < 0.022)
        shirt = has("spine", "clavicle", "shoulder01", "pelvis", "root", "neck01")
        shirt &= v[:, 1] > kp[11:13, 1].mean() - 0.02  # waist band at the hips' height
        self._r = {
            "hair": torch.as_tensor(hair),
            "sclera": torch.as_tensor(sclera),
            "iris": torch.as_tensor(iris),
            "brow": torch.as_tensor(brow),
            "lips": torch.as_tensor(lips),
            "lids": torch.as_tensor(lids),
            "shirt": torch.as_tensor(shirt),
            "upperarm": torch.as_tensor(has("upperarm")),
            "lowerarm": torch.as_tensor(has("lowerarm")),
            "legs": torch.as_tensor(has("upperleg", "pelvis", "root", "spine") & ~shirt),
            "lowerleg": torch.as_tensor(has("lowerleg")),
            "feet": torch.as_tensor(has("foot", "toe")),
            "stripe": torch.as_tensor(np.sin(v[:, 1] * 2 * math.pi / 0.06) > 0.3),
            "shade": torch.as_tensor(
                np.random.default_rng(0).normal(0, 0.025, n), dtype=torch.float32
            ),
        }
        self._r = {k: t.to(self.device) for k, t in self._r.items()}

    def colors(self, appearance: torch.Tensor) -> torch.Tensor:
        """(B, 9) appearance numbers in [0, 1] (:data:`APPEARANCE` order) -> (B, V, 3) albedo."""
        a = torch.as_tensor(appearance, device=self.device, dtype=torch.float32)
        b = a.shape[0]
        r = self._r
        skin_pal = torch.as_tensor(_SKIN, dtype=torch.float32, device=self.device)
        hair_pal = torch.as_tensor(_HAIR, dtype=torch.float32, device=self.device)

        def palette(p: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
            pos = x.clamp(0, 1) * (len(p) - 1)
            i0 = pos.floor().long().clamp_max(len(p) - 2)
            t = (pos - i0)[:, None]
            return p[i0] * (1 - t) + p[i0 + 1] * t

        skin = palette(skin_pal, a[:, 0])  # (B, 3)
        hair = palette(hair_pal, a[:, 1])
        top = _hsv(a[:, 2], 0.25 + 0.5 * a[:, 3], 0.15 + 0.8 * a[:, 3])
        top2 = top * 0.55 + 0.4
        bottom = _hsv(a[:, 6], 0.2 + 0.45 * a[:, 7], 0.1 + 0.7 * a[:, 7])
        v = self.num_vertices
        col = skin[:, None].expand(b, v, 3).clone()
        lips = r["lips"][None, :, None]
        lip_col = skin * torch.tensor([0.75, 0.42, 0.42], device=self.device)
        col = col * (1 - 0.6 * lips) + 0.6 * lips * lip_col[:, None]
        col = col * (1 - 0.25 * r["lids"][None, :, None])

        def paint(sel: torch.Tensor, c: torch.Tensor) -> None:
            nonlocal col
            col = torch.where(sel, c[:, None] if c.ndim == 2 else c, col)

        paint(r["brow"][None, :, None], hair * 0.8)
        paint(r["sclera"][None, :, None], torch.tensor([[0.92, 0.9, 0.88]], device=self.device))
        paint(r["iris"][None, :, None], torch.tensor([[0.12, 0.08, 0.06]], device=self.device))
        paint(r["hair"][None, :, None], hair)
        # Clothes: sleeveless below 1/3, short sleeves to 2/3, long sleeves above.
        sleeves = a[:, 4]
        arm = r["upperarm"][None] & (sleeves[:, None] > 1 / 3)
        arm |= r["lowerarm"][None] & (sleeves[:, None] > 2 / 3)
        shirt = r["shirt"][None] | arm
        stripes = (a[:, 5] > 0.5)[:, None] & r["stripe"][None]
        top_c = torch.where(stripes[..., None], top2[:, None], top[:, None])
        paint(shirt[..., None], top_c)
        legs = r["legs"][None] | (r["lowerleg"][None] & (a[:, 8][:, None] >= 0.5))
        paint(legs[..., None], bottom)
        paint(r["feet"][None, :, None], torch.tensor([[0.12, 0.11, 0.1]], device=self.device))
        col = col * (1 + r["shade"][None, :, None])
        return col.clamp(0, 1)


def main(argv: list[str] | None = None) -> int:
    """Build anny's model-data cache (``ANNY_CACHE_DIR``) once and time a forward pass."""
    import time

    logging.basicConfig(level=logging.INFO)
    t0 = time.perf_counter()
    body = AnnyBody()
    t1 = time.perf_counter()
    body.forward(torch.zeros(8, 3), torch.zeros(8, 69))
    log.info("anny ready: constructed in %.1f s, 8 bodies in %.2f s", t1 - t0,
             time.perf_counter() - t1)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
