"""The examiner's search space: named dimensions with bounds, decoded to scene tensors.

A point of the search space is a vector ``x`` in ``[-1, 1]^D`` (what the agents and the gym
environment see). Each dimension maps linearly to a physical range:
``value = lo + (x + 1) / 2 * (hi - lo)``. Dimensions left out of an active space keep their
default value (an ordinary standing pose, arms down, seen from the front).

Pose is a low-dimensional subspace of SMPL's 69 body-pose numbers: Euler angles of the joints
that matter (shoulders, elbows, hips, knees, spine, neck) within anatomical limits
(:data:`JOINT_LIMITS`, radians, in SMPL's joint frames: T-pose rest, y up, the body faces +z,
its left on +x). Every other joint stays at rest. Euler angles are intrinsic x-y-z
(``R = Rx(a) @ Ry(b) @ Rz(c)``), composed as quaternions and handed to smplx as axis-angle.

Directions on the T-pose mannequin (checked in tests/test_examiner_env.py):

- shoulder z lowers (left: negative, right: positive) or raises (the other sign) the arm;
- shoulder y swings the arm forward (left: negative, right: positive) or back;
- elbow y bends the forearm forward (left: negative, right: positive);
- hip x swings the leg forward (negative) or back; hip z spreads it (left: positive);
- knee x bends the shin backwards (positive); spine and neck x bend forward (positive).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from posebench.errors import InputError

__all__ = [
    "BODY_KINDS",
    "GROUPS",
    "JOINT_LIMITS",
    "SMPL_JOINTS",
    "Dimension",
    "SceneParams",
    "SearchSpace",
    "default_space",
    "euler_to_axis_angle",
]

FloatArray = npt.NDArray[np.float64]

#: SMPL joint index of each named joint (body_pose holds joints 1..23, three numbers each).
SMPL_JOINTS: dict[str, int] = {
    "left_hip": 1, "right_hip": 2, "spine1": 3, "left_knee": 4, "right_knee": 5, "spine2": 6,
    "left_ankle": 7, "right_ankle": 8, "spine3": 9, "neck": 12, "head": 15,
    "left_shoulder": 16, "right_shoulder": 17, "left_elbow": 18, "right_elbow": 19,
}  # fmt: skip

#: Anatomical limits, radians: joint -> ((x lo, x hi), (y lo, y hi), (z lo, z hi)) of the
#: intrinsic x-y-z Euler angles from the T-pose. An axis with lo == hi == 0 is not searched.
#: Ranges follow common joint range-of-motion tables (shoulder flexion/abduction about 180 deg,
#: elbow flexion 145 deg, hip flexion 120 deg, knee flexion 135 deg), moved into SMPL's frames.
JOINT_LIMITS: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    "left_shoulder": ((-1.0, 1.0), (-1.4, 0.6), (-1.5, 1.4)),
    "right_shoulder": ((-1.0, 1.0), (-0.6, 1.4), (-1.4, 1.5)),
    "left_elbow": ((0.0, 0.0), (-2.5, 0.0), (0.0, 0.0)),
    "right_elbow": ((0.0, 0.0), (0.0, 2.5), (0.0, 0.0)),
    "left_hip": ((-2.0, 0.5), (-0.6, 0.6), (-0.3, 0.9)),
    "right_hip": ((-2.0, 0.5), (-0.6, 0.6), (-0.9, 0.3)),
    "left_knee": ((0.0, 2.3), (0.0, 0.0), (0.0, 0.0)),
    "right_knee": ((0.0, 2.3), (0.0, 0.0), (0.0, 0.0)),
    "spine2": ((-0.4, 0.8), (-0.6, 0.6), (-0.4, 0.4)),
    "neck": ((-0.5, 0.7), (-0.9, 0.9), (-0.4, 0.4)),
}

#: The ordinary pose every non-searched dimension keeps: arms lowered by 1.3 rad (about 15 deg
#: from the body), everything else at rest.
DEFAULT_POSE: dict[str, float] = {"left_shoulder.z": -1.3, "right_shoulder.z": 1.3}

#: Dimension groups, in vector order. ``appearance`` exists for the anny body only.
GROUPS = ("pose", "shape", "camera", "occluder", "light", "appearance", "background")

#: Body kinds: their shape dimensions differ (SMPL betas or anny phenotypes).
BODY_KINDS = ("smpl", "anny")


@dataclass(frozen=True)
class Dimension:
    """One searched number: ``name`` (``left_shoulder.z``, ``camera.azimuth``...), its ``group``
    (one of :data:`GROUPS`), physical bounds ``lo``/``hi``, ``default`` value and ``unit``."""

    name: str
    group: str
    lo: float
    hi: float
    default: float
    unit: str

    def to_unit(self, value: float) -> float:
        """Physical value -> normalised [-1, 1]."""
        if self.hi == self.lo:
            return 0.0
        return 2.0 * (value - self.lo) / (self.hi - self.lo) - 1.0


def _all_dimensions(num_betas: int, body: str = "smpl") -> tuple[Dimension, ...]:
    dims: list[Dimension] = []
    for joint, axes in JOINT_LIMITS.items():
        for axis, (lo, hi) in zip("xyz", axes, strict=True):
            if lo == hi:
                continue
            name = f"{joint}.{axis}"
            dims.append(Dimension(name, "pose", lo, hi, DEFAULT_POSE.get(name, 0.0), "rad"))
    if body == "anny":
        from posebench.examiner.anny_body import PHENOTYPES

        dims += [Dimension(f"shape.{k}", "shape", lo, hi, d, "anny")
                 for k, (lo, hi, d) in PHENOTYPES.items()]  # fmt: skip
    else:
        dims += [Dimension(f"beta{i}", "shape", -2.0, 2.0, 0.0, "sd") for i in range(num_betas)]
    dims += [
        Dimension("camera.azimuth", "camera", -180.0, 180.0, 0.0, "deg"),
        # Real photos of people: eye-level to a storey up, rarely from below (COCO's cameras).
        Dimension("camera.elevation", "camera", -10.0, 35.0, 5.0, "deg"),
        Dimension("camera.distance", "camera", 2.6, 5.0, 3.0, "m"),
        # Occluder: a box standing between the camera and the body (a 3D object in the z-buffer,
        # 30 cm deep, shaded like the body); centre and size as fractions of the image side.
        # Size 0 (the default) draws nothing.
        Dimension("occluder.x", "occluder", 0.2, 0.8, 0.5, "image"),
        Dimension("occluder.y", "occluder", 0.15, 0.85, 0.5, "image"),
        Dimension("occluder.width", "occluder", 0.0, 0.45, 0.0, "image"),
        Dimension("occluder.height", "occluder", 0.0, 0.45, 0.0, "image"),
        # Light: direction it comes from (azimuth right of the camera, elevation above it) and an
        # exposure factor on ambient + diffuse (low values: dark images).
        Dimension("light.azimuth", "light", -90.0, 90.0, -20.0, "deg"),
        Dimension("light.elevation", "light", -60.0, 75.0, 25.0, "deg"),
        Dimension("light.exposure", "light", 0.2, 1.2, 1.0, "factor"),
    ]
    if body == "anny":
        from posebench.examiner.anny_body import APPEARANCE

        dims += [Dimension(f"appearance.{k}", "appearance", 0.0, 1.0, d, "unit")
                 for k, d in APPEARANCE.items()]  # fmt: skip
    # Background: which image of the scene's bank (real-photo crops, then procedural textures).
    dims.append(Dimension("background.image", "background", 0.0, 1.0, 0.0, "unit"))
    return tuple(dims)


@dataclass(frozen=True)
class SceneParams:
    """Decoded scene parameters of B samples (torch tensors on one device).

    global_orient: (B, 3) axis-angle; body_pose: (B, 69) axis-angle; betas: (B, S);
    azimuth, elevation: (B,) degrees; distance: (B,) metres; occluder: (B, 4) rectangle
    ``(cx, cy, w, h)`` as fractions of the image side; light_dir: (B, 3) direction the light
    travels in camera space; exposure: (B,) factor on the shading.
    """

    global_orient: torch.Tensor
    body_pose: torch.Tensor
    betas: torch.Tensor
    azimuth: torch.Tensor
    elevation: torch.Tensor
    distance: torch.Tensor
    occluder: torch.Tensor
    light_dir: torch.Tensor
    exposure: torch.Tensor
    appearance: torch.Tensor | None = None
    background: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.body_pose.shape[0])


@dataclass(frozen=True)
class SearchSpace:
    """The active dimensions (a subset of every known one, in a fixed order).

    Build with :func:`default_space`; ``decode`` maps (B, D) normalised vectors to
    :class:`SceneParams`.
    """

    dims: tuple[Dimension, ...]
    all_dims: tuple[Dimension, ...]
    num_betas: int
    body: str = "smpl"

    @property
    def size(self) -> int:
        """D, the number of active dimensions."""
        return len(self.dims)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.dims)

    def index(self, name: str) -> int:
        """Position of dimension ``name`` in the active vector."""
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"dimension {name!r} is not active; active: {self.names}") from None

    def default(self) -> FloatArray:
        """(D,) the normalised default point (an ordinary pose seen from the front)."""
        return np.array([d.to_unit(d.default) for d in self.dims])

    def lows(self) -> FloatArray:
        return np.array([d.lo for d in self.dims])

    def highs(self) -> FloatArray:
        return np.array([d.hi for d in self.dims])

    def to_physical(self, x: npt.ArrayLike) -> FloatArray:
        """(..., D) normalised -> physical values (clipped to the bounds)."""
        u = np.clip(np.asarray(x, dtype=np.float64), -1.0, 1.0)
        return self.lows() + (u + 1.0) / 2.0 * (self.highs() - self.lows())

    def to_unit(self, values: npt.ArrayLike) -> FloatArray:
        """(..., D) physical -> normalised."""
        v = np.asarray(values, dtype=np.float64)
        span = np.where(self.highs() > self.lows(), self.highs() - self.lows(), 1.0)
        return 2.0 * (v - self.lows()) / span - 1.0

    def named(self, x: npt.ArrayLike) -> dict[str, float]:
        """One normalised point (D,) as ``{name: physical value}``."""
        p = self.to_physical(np.asarray(x).reshape(self.size))
        return {d.name: float(v) for d, v in zip(self.dims, p, strict=True)}

    def to_json(self) -> list[dict[str, Any]]:
        return [
            {"name": d.name, "group": d.group, "lo": d.lo, "hi": d.hi, "default": d.default,
             "unit": d.unit}
            for d in self.dims
        ]  # fmt: skip

    def full_physical(self, x: npt.ArrayLike) -> FloatArray:
        """(B, D) normalised active vectors -> (B, D_all) physical values of every dimension."""
        xa = np.asarray(x, dtype=np.float64)
        if xa.ndim != 2 or xa.shape[1] != self.size:
            raise InputError(f"expected shape (B, {self.size}), got {xa.shape}", field="params")
        if not np.isfinite(xa).all():
            raise InputError("parameter vectors hold NaN or inf", field="params")
        full = np.tile(np.array([d.default for d in self.all_dims]), (len(xa), 1))
        pos = {d.name: i for i, d in enumerate(self.all_dims)}
        cols = [pos[d.name] for d in self.dims]
        full[:, cols] = self.to_physical(xa)
        return full

    def decode(self, x: npt.ArrayLike, device: str | torch.device = "cpu") -> SceneParams:
        """(B, D) normalised vectors -> :class:`SceneParams` on ``device``."""
        full = torch.as_tensor(self.full_physical(x), dtype=torch.float32, device=device)
        b = full.shape[0]
        col = {d.name: i for i, d in enumerate(self.all_dims)}

        def get(name: str) -> torch.Tensor:
            return full[:, col[name]]

        pose = torch.zeros(b, 23, 3, device=device)
        for joint, axes in JOINT_LIMITS.items():
            angles = [
                get(f"{joint}.{a}") if lo != hi else torch.zeros(b, device=device)
                for a, (lo, hi) in zip("xyz", axes, strict=True)
            ]
            pose[:, SMPL_JOINTS[joint] - 1] = euler_to_axis_angle(torch.stack(angles, -1))
        if self.body == "anny":
            from posebench.examiner.anny_body import APPEARANCE, PHENOTYPES

            betas = torch.stack([get(f"shape.{k}") for k in PHENOTYPES], -1)
            appearance: torch.Tensor | None = torch.stack(
                [get(f"appearance.{k}") for k in APPEARANCE], -1
            )
        else:
            betas = torch.stack([get(f"beta{i}") for i in range(self.num_betas)], -1)
            appearance = None
        la = torch.deg2rad(get("light.azimuth"))
        le = torch.deg2rad(get("light.elevation"))
        # Light from azimuth la (right of the camera) and elevation le (above): it travels
        # towards -x (left) and +y (down, OpenCV) and +z (away from the camera).
        light = torch.stack(
            [-torch.sin(la) * torch.cos(le), torch.sin(le), torch.cos(la) * torch.cos(le)], -1
        )
        occ = torch.stack(
            [get("occluder.x"), get("occluder.y"), get("occluder.width"), get("occluder.height")],
            -1,
        )
        return SceneParams(
            global_orient=torch.zeros(b, 3, device=device),
            body_pose=pose.reshape(b, 69),
            betas=betas.reshape(b, self.num_betas),
            azimuth=get("camera.azimuth"),
            elevation=get("camera.elevation"),
            distance=get("camera.distance"),
            occluder=occ,
            light_dir=light,
            exposure=get("light.exposure"),
            appearance=appearance,
            background=get("background.image"),
        )


def default_space(
    groups: Sequence[str] = GROUPS,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    num_betas: int = 4,
    body: str = "smpl",
) -> SearchSpace:
    """A search space of whole groups plus/minus single dimensions.

    Args:
        groups: groups of :data:`GROUPS` whose dimensions are all active.
        include: extra dimension names (or ``joint`` prefixes such as ``right_shoulder``).
        exclude: dimension names (or prefixes) to leave at their defaults.
        num_betas: shape coefficients in the ``shape`` group (at most the body's; SMPL).
        body: ``smpl`` (betas ``beta0``...) or ``anny`` (phenotypes ``shape.age``... and the
            ``appearance`` group).
    """
    if body not in BODY_KINDS:
        raise InputError(f"unknown body kind {body!r}; known: {BODY_KINDS}", field="body")
    if body == "anny":
        from posebench.examiner.anny_body import PHENOTYPES

        num_betas = len(PHENOTYPES)
    everything = _all_dimensions(num_betas, body)
    bad = [g for g in groups if g not in GROUPS]
    if bad:
        raise InputError(f"unknown group(s) {bad}; known: {', '.join(GROUPS)}", field="space")

    def hit(d: Dimension, names: Sequence[str]) -> bool:
        return any(d.name == n or d.name.startswith(n + ".") for n in names)

    for n in (*include, *exclude):
        if not any(hit(d, [n]) for d in everything):
            known = ", ".join(d.name for d in everything)
            raise InputError(f"unknown dimension {n!r}; known: {known}", field="space")
    dims = tuple(
        d for d in everything if (d.group in groups or hit(d, include)) and not hit(d, exclude)
    )
    if not dims:
        raise InputError("the search space has no dimension", field="space")
    return SearchSpace(dims=dims, all_dims=everything, num_betas=num_betas, body=body)


def _quat_axis(angle: torch.Tensor, axis: int) -> torch.Tensor:
    """(B,) angles -> (B, 4) unit quaternions (w, x, y, z) about one coordinate axis."""
    q = torch.zeros(*angle.shape, 4, dtype=angle.dtype, device=angle.device)
    q[..., 0] = torch.cos(angle / 2)
    q[..., 1 + axis] = torch.sin(angle / 2)
    return q


def _quat_mul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    aw, ax, ay, az = a.unbind(-1)
    bw, bx, by, bz = b.unbind(-1)
    return torch.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        -1,
    )


def euler_to_axis_angle(euler: torch.Tensor) -> torch.Tensor:
    """(..., 3) intrinsic x-y-z Euler angles (radians) -> (..., 3) axis-angle.

    ``R = Rx(a) @ Ry(b) @ Rz(c)``, composed as quaternions (no singularity near pi).
    """
    q = _quat_mul(
        _quat_mul(_quat_axis(euler[..., 0], 0), _quat_axis(euler[..., 1], 1)),
        _quat_axis(euler[..., 2], 2),
    )
    q = torch.where(q[..., :1] < 0, -q, q)  # w >= 0: the rotation angle is in [0, pi]
    v = q[..., 1:]
    s = v.norm(dim=-1, keepdim=True)
    angle = 2.0 * torch.atan2(s, q[..., :1])
    # angle / sin(angle / 2) -> 2 as the angle -> 0
    scale = torch.where(s > 1e-8, angle / s.clamp_min(1e-12), torch.full_like(s, 2.0))
    return v * scale


def unit_range_fraction(lo: FloatArray, hi: FloatArray) -> FloatArray:
    """Width of normalised intervals [lo, hi] as a fraction of the whole [-1, 1] range."""
    return np.clip((np.asarray(hi) - np.asarray(lo)) / 2.0, 0.0, 1.0)
