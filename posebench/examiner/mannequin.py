"""A procedurally generated body in the SMPL file format (the "mannequin").

Real SMPL model files are licensed and never downloaded; the mannequin lets the examiner, its demo
and its tests run on a fresh machine through exactly the same loading code. It is a set of closed
tubes with elliptical cross-sections and rounded ends (torso, head with neck, two arms with flat
hands, two legs, two feet) around a plausible SMPL rest skeleton: T-pose, metres, y up, facing +z,
the body's left on +x, 1.75 m tall. It has exactly SMPL's 6890 vertices and 13776 faces, so the
smplx vertex ids for the extra joints (``smplx.vertex_ids['smplh']``: nose, eyes, ears, toes,
heels, finger tips) are valid; the generator moves a vertex at the matching place of the body
(nose at the front of the head, ...) to each of those ids.

- ``weights``: linear blend skinning from the distance of each vertex to the bones of its own body
  part (Gaussian in the squared distance, sigma 3.5 cm), so joints bend smoothly.
- ``J_regressor``: each joint is a weighted average of the ~2 rings of vertices of its body part
  that surround it; the weights are Gaussian in distance, then minimally corrected so that the
  regressed rest joints equal the skeleton exactly.
- ``shapedirs``: 10 hand-made linear shape directions (height, girth, leg length, shoulder width,
  arm length, torso length, head size, belly, hip width, chest depth), displacements in metres
  per unit beta.
- ``posedirs``: zeros (no pose-corrective blend shapes).

Eight closed genus-0 tubes give 2V - 32 faces; SMPL has 2V - 4, so 28 faces of the torso's top cap
(hidden inside the neck) are repeated to reach exactly 13776. Regenerate the shipped file with::

    python -m posebench.examiner.mannequin \
        --output posebench/data/mannequin/SMPL_NEUTRAL_MANNEQUIN.npz

The output is deterministic (no randomness; the zip entries carry a fixed timestamp).
"""

from __future__ import annotations

import argparse
import io
import logging
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["PARENTS", "REST_JOINTS", "build_mannequin", "main", "save_npz"]

log = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

NUM_VERTICES = 6890
NUM_FACES = 13776

#: SMPL kinematic tree (kintree_table row 0; -1 for the root).
PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)

#: Rest joints (24, 3) in metres, close to the neutral SMPL template's.
REST_JOINTS: F64 = np.array(
    [
        [0.000, -0.223, 0.028],  # 0 pelvis
        [0.070, -0.315, 0.015],  # 1 left_hip
        [-0.070, -0.315, 0.015],  # 2 right_hip
        [0.000, -0.110, -0.010],  # 3 spine1
        [0.105, -0.690, 0.015],  # 4 left_knee
        [-0.105, -0.690, 0.015],  # 5 right_knee
        [0.000, 0.030, 0.010],  # 6 spine2
        [0.090, -1.090, -0.030],  # 7 left_ankle
        [-0.090, -1.090, -0.030],  # 8 right_ankle
        [0.000, 0.085, 0.030],  # 9 spine3
        [0.115, -1.145, 0.095],  # 10 left_foot
        [-0.115, -1.145, 0.095],  # 11 right_foot
        [0.000, 0.300, 0.010],  # 12 neck
        [0.080, 0.205, 0.010],  # 13 left_collar
        [-0.080, 0.205, 0.010],  # 14 right_collar
        [0.000, 0.385, 0.050],  # 15 head
        [0.190, 0.230, -0.010],  # 16 left_shoulder
        [-0.190, 0.230, -0.010],  # 17 right_shoulder
        [0.450, 0.215, -0.030],  # 18 left_elbow
        [-0.450, 0.215, -0.030],  # 19 right_elbow
        [0.710, 0.225, -0.025],  # 20 left_wrist
        [-0.710, 0.225, -0.025],  # 21 right_wrist
        [0.795, 0.215, -0.040],  # 22 left_hand
        [-0.795, 0.215, -0.040],  # 23 right_hand
    ]
)

_HEAD_TOP = (0.0, 0.58, 0.02)
_TOE_TIP_L = (0.115, -1.155, 0.19)
_FINGER_TIP_L = (0.94, 0.21, -0.04)

# Keyframes of each tube: (centre x, y, z, radius along u, radius along v). The first and last rows
# are the poles (their radii are ignored; the ends are rounded as quarter ellipses).
_TORSO = [
    (0.0, -0.40, 0.01, 0, 0),
    (0.0, -0.33, 0.01, 0.150, 0.095),
    (0.0, -0.22, 0.02, 0.165, 0.105),
    (0.0, -0.08, 0.015, 0.140, 0.095),
    (0.0, 0.06, 0.02, 0.150, 0.105),
    (0.0, 0.16, 0.015, 0.165, 0.105),
    (0.0, 0.23, 0.0, 0.175, 0.085),
    (0.0, 0.30, 0.0, 0, 0),
]
_HEAD = [
    (0.0, 0.20, 0.0, 0, 0),
    (0.0, 0.24, 0.0, 0.060, 0.060),
    (0.0, 0.32, 0.015, 0.055, 0.057),
    (0.0, 0.37, 0.03, 0.065, 0.075),
    (0.0, 0.42, 0.035, 0.078, 0.098),
    (0.0, 0.48, 0.03, 0.082, 0.102),
    (0.0, 0.53, 0.025, 0.072, 0.090),
    (*_HEAD_TOP, 0, 0),
]
_ARM_L = [
    (0.10, 0.21, -0.01, 0, 0),
    (0.15, 0.22, -0.01, 0.055, 0.055),
    (0.20, 0.225, -0.01, 0.055, 0.058),
    (0.32, 0.22, -0.02, 0.045, 0.047),
    (0.45, 0.215, -0.03, 0.037, 0.040),
    (0.58, 0.22, -0.03, 0.035, 0.040),
    (0.71, 0.225, -0.025, 0.025, 0.032),
    (0.76, 0.22, -0.03, 0.018, 0.045),
    (0.84, 0.215, -0.035, 0.016, 0.045),
    (0.90, 0.21, -0.04, 0.012, 0.040),
    (*_FINGER_TIP_L, 0, 0),
]
_LEG_L = [
    (0.08, -0.22, 0.015, 0, 0),
    (0.085, -0.30, 0.015, 0.080, 0.085),
    (0.095, -0.45, 0.015, 0.075, 0.078),
    (0.102, -0.62, 0.02, 0.058, 0.060),
    (0.105, -0.69, 0.02, 0.052, 0.055),
    (0.10, -0.82, 0.0, 0.055, 0.060),
    (0.095, -1.00, -0.025, 0.038, 0.040),
    (0.09, -1.09, -0.03, 0.035, 0.038),
    (0.09, -1.14, -0.03, 0, 0),
]
_FOOT_L = [
    (0.09, -1.13, -0.09, 0, 0),
    (0.09, -1.13, -0.06, 0.035, 0.040),
    (0.10, -1.13, 0.02, 0.040, 0.040),
    (0.11, -1.14, 0.10, 0.045, 0.028),
    (0.115, -1.15, 0.15, 0.040, 0.020),
    (*_TOE_TIP_L, 0, 0),
]


@dataclass(frozen=True)
class _Part:
    name: str
    keys: Sequence[tuple[float, ...]]
    u: tuple[float, float, float]  # first cross-section axis (radius a)
    v: tuple[float, float, float]  # second cross-section axis (radius b)
    rings: int
    segments: int
    joints: tuple[int, ...]  # joints whose bones may skin this part


def _mirror(keys: Sequence[tuple[float, ...]]) -> list[tuple[float, ...]]:
    return [(-k[0], *k[1:]) for k in keys]


def _parts(
    torso_rings: int, torso_segments: int, head_rings: int, head_segments: int
) -> list[_Part]:
    x, y, z = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)
    return [
        _Part("torso", _TORSO, x, z, torso_rings, torso_segments, (0, 3, 6, 9, 1, 2, 13, 14)),
        _Part("head", _HEAD, x, z, head_rings, head_segments, (9, 12, 15)),
        _Part("left_arm", _ARM_L, y, z, 21, 24, (13, 16, 18, 20, 22)),
        _Part("right_arm", _mirror(_ARM_L), y, z, 21, 24, (14, 17, 19, 21, 23)),
        _Part("left_leg", _LEG_L, x, z, 40, 32, (0, 1, 4)),
        _Part("right_leg", _mirror(_LEG_L), x, z, 40, 32, (0, 2, 5)),
        _Part("left_foot", _FOOT_L, x, y, 8, 20, (7, 10)),
        _Part("right_foot", _mirror(_FOOT_L), x, y, 8, 20, (8, 11)),
    ]


def _solve_counts() -> tuple[int, int, int, int]:
    """(torso rings, torso segments, head rings, head segments) giving exactly 6890 vertices."""
    others = sum(p.rings * p.segments + 2 for p in _parts(1, 1, 1, 1)[2:])
    for head_rings in range(14, 24):
        for head_segments in (36, 40, 44):  # multiples of 4: a vertex on the midline
            rest = NUM_VERTICES - others - (head_rings * head_segments + 2) - 2
            for segments in range(64, 40, -2):
                if rest % segments == 0 and 30 <= rest // segments <= 70:
                    return rest // segments, segments, head_rings, head_segments
    raise RuntimeError("no tessellation reaches 6890 vertices")  # pragma: no cover


def _tube(part: _Part) -> tuple[F64, F64, I64]:
    """Vertices (n*m+2, 3), their axis points (n*m+2, 3) and outward faces of one closed tube."""
    keys = np.array(part.keys, dtype=np.float64)
    pts, rad = keys[:, :3], keys[:, 3:5].copy()
    rad[0], rad[-1] = rad[1], rad[-2]
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    s_key = np.concatenate([[0.0], np.cumsum(seg)])
    length = s_key[-1]
    cap0, cap1 = s_key[1], length - s_key[-2]

    fine = np.linspace(0.0, length, 4001)
    rmean = np.interp(fine, s_key, rad.mean(axis=1)) * _rounding(fine, length, cap0, cap1)
    meridian = np.concatenate(
        [[0.0], np.cumsum(np.hypot(np.diff(fine), np.diff(rmean)))]
    )  # arc length of the profile curve: rings evenly spaced along the surface
    targets = np.linspace(0.0, meridian[-1], part.rings + 2)[1:-1]
    s = np.interp(targets, meridian, fine)

    centre = np.stack([np.interp(s, s_key, pts[:, k]) for k in range(3)], axis=1)
    round_ = _rounding(s, length, cap0, cap1)
    a = np.interp(s, s_key, rad[:, 0]) * round_
    b = np.interp(s, s_key, rad[:, 1]) * round_
    eps = 1e-3
    ahead = np.stack([np.interp(s + eps, s_key, pts[:, k]) for k in range(3)], axis=1)
    behind = np.stack([np.interp(s - eps, s_key, pts[:, k]) for k in range(3)], axis=1)
    tangent = ahead - behind
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    u = np.asarray(part.u) - (tangent @ np.asarray(part.u))[:, None] * tangent
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v = np.cross(tangent, u)
    v *= np.sign(v @ np.asarray(part.v))[:, None]

    m = part.segments
    theta = 2.0 * np.pi * np.arange(m) / m
    ring = (
        centre[:, None, :]
        + (a[:, None] * np.cos(theta))[:, :, None] * u[:, None, :]
        + (b[:, None] * np.sin(theta))[:, :, None] * v[:, None, :]
    ).reshape(-1, 3)
    verts = np.concatenate([pts[:1], ring, pts[-1:]])
    axis = np.concatenate([pts[:1], np.repeat(centre, m, axis=0), pts[-1:]])

    n = part.rings
    j = np.arange(m)
    jn = (j + 1) % m
    faces = [np.stack([np.zeros(m, np.int64), 1 + jn, 1 + j], axis=1)]
    for r in range(n - 1):
        a0, b0 = 1 + r * m + j, 1 + r * m + jn
        a1, b1 = a0 + m, b0 + m
        faces += [np.stack([a0, b0, a1], axis=1), np.stack([b0, b1, a1], axis=1)]
    last = 1 + n * m
    faces.append(np.stack([np.full(m, last), 1 + (n - 1) * m + j, 1 + (n - 1) * m + jn], axis=1))
    f = np.concatenate(faces).astype(np.int64)
    tri = verts[f]
    volume = np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() / 6.0
    if volume < 0:
        f = f[:, [0, 2, 1]]
    return verts, axis, f


def _rounding(s: F64, length: float, cap0: float, cap1: float) -> F64:
    """Quarter-ellipse factor: 0 at the poles, 1 beyond the first/last interior keyframe."""
    t0 = np.clip(s / cap0, 0.0, 1.0)
    t1 = np.clip((length - s) / cap1, 0.0, 1.0)
    return np.sqrt(np.clip(1 - (1 - t0) ** 2, 0, 1)) * np.sqrt(np.clip(1 - (1 - t1) ** 2, 0, 1))


def _bone_ends() -> F64:
    """(24, 2, 3) segment of each joint's bone: from the joint to its child (or a tip)."""
    child = {0: 3, 1: 4, 2: 5, 3: 6, 4: 7, 5: 8, 6: 9, 7: 10, 8: 11, 9: 12, 12: 15}
    child |= {13: 16, 14: 17, 16: 18, 17: 19, 18: 20, 19: 21, 20: 22, 21: 23}
    tips = {15: _HEAD_TOP, 10: _TOE_TIP_L, 22: _FINGER_TIP_L}
    tips |= {11: (-_TOE_TIP_L[0], *_TOE_TIP_L[1:]), 23: (-_FINGER_TIP_L[0], *_FINGER_TIP_L[1:])}
    ends = np.zeros((24, 2, 3))
    for jnt in range(24):
        ends[jnt, 0] = REST_JOINTS[jnt]
        ends[jnt, 1] = REST_JOINTS[child[jnt]] if jnt in child else tips[jnt]
    return ends


def _segment_distance(p: F64, a: F64, b: F64) -> F64:
    """(N,) distance of points p (N, 3) to the segment a-b."""
    ab = b - a
    t = np.clip(((p - a) @ ab) / max(float(ab @ ab), 1e-12), 0.0, 1.0)
    return np.asarray(np.linalg.norm(p - (a + t[:, None] * ab), axis=1))


def _skinning(verts: F64, part_of: I64, parts: list[_Part], sigma: float = 0.035) -> F64:
    ends = _bone_ends()
    weights = np.zeros((len(verts), 24))
    for pi, part in enumerate(parts):
        idx = np.nonzero(part_of == pi)[0]
        d2 = np.stack(
            [_segment_distance(verts[idx], ends[j, 0], ends[j, 1]) ** 2 for j in part.joints], 1
        )
        w = np.exp(-(d2 - d2.min(axis=1, keepdims=True)) / (2 * sigma**2))
        w[w < 1e-3] = 0.0
        weights[np.ix_(idx, np.array(part.joints, dtype=np.int64))] = w / w.sum(
            axis=1, keepdims=True
        )
    return weights


_JOINT_OWNER = {
    0: "torso", 3: "torso", 6: "torso", 9: "torso", 13: "torso", 14: "torso",
    12: "head", 15: "head",
    1: "left_leg", 4: "left_leg", 7: "left_leg", 2: "right_leg", 5: "right_leg", 8: "right_leg",
    10: "left_foot", 11: "right_foot",
    16: "left_arm", 18: "left_arm", 20: "left_arm", 22: "left_arm",
    17: "right_arm", 19: "right_arm", 21: "right_arm", 23: "right_arm",
}  # fmt: skip


def _regressor(verts: F64, part_of: I64, parts: list[_Part]) -> F64:
    names = [p.name for p in parts]
    reg = np.zeros((24, len(verts)))
    for jnt in range(24):
        pi = names.index(_JOINT_OWNER[jnt])
        idx = np.nonzero(part_of == pi)[0]
        d = np.linalg.norm(verts[idx] - REST_JOINTS[jnt], axis=1)
        near = idx[np.argsort(d, kind="stable")[: 2 * parts[pi].segments]]
        dn = np.linalg.norm(verts[near] - REST_JOINTS[jnt], axis=1)
        w0 = np.exp(-((dn / np.median(dn)) ** 2))
        w0 /= w0.sum()
        # Smallest change to w0 that makes sum(w) = 1 and sum(w * v) = joint exactly.
        m = np.vstack([verts[near].T, np.ones(len(near))])
        target = np.append(REST_JOINTS[jnt], 1.0)
        w = w0 + m.T @ np.linalg.solve(m @ m.T, target - m @ w0)
        reg[jnt, near] = w
    return reg


def _shapedirs(verts: F64, axis: F64, part_of: I64, parts: list[_Part]) -> F64:
    names = [p.name for p in parts]
    pid = {n: i for i, n in enumerate(names)}
    x, y, _z = verts[:, 0], verts[:, 1], verts[:, 2]
    radial = verts - axis
    rnorm = np.linalg.norm(radial, axis=1, keepdims=True)
    outward = radial / np.maximum(rnorm, 1e-9)
    is_torso = part_of == pid["torso"]
    is_head = part_of == pid["head"]
    is_arm = np.isin(part_of, [pid["left_arm"], pid["right_arm"]])
    is_leg = np.isin(part_of, [pid["left_leg"], pid["right_leg"]])
    is_foot = np.isin(part_of, [pid["left_foot"], pid["right_foot"]])
    sign = np.sign(x)
    hip_y, sole_y = REST_JOINTS[1, 1], -1.17

    def gauss(val: F64, mu: float, sd: float) -> F64:
        return np.asarray(np.exp(-0.5 * ((val - mu) / sd) ** 2))

    sd = np.zeros((len(verts), 3, 10))
    sd[:, :, 0] = 0.04 * (verts - REST_JOINTS[0])  # height (uniform scale about the pelvis)
    sd[:, :, 1] = 0.012 * outward * np.where(is_torso, 2.0, 1.0)[:, None]  # girth
    legness = np.clip((hip_y - y) / (hip_y - sole_y), 0.0, 1.0) * (is_leg | is_foot)
    sd[:, 1, 2] = -0.04 * legness  # leg length
    upper = np.clip((y - 0.1) / 0.13, 0.0, 1.0)
    sd[:, 0, 3] = 0.02 * np.where(is_arm, sign, is_torso * x / 0.175 * upper)  # shoulder width
    armness = np.clip((np.abs(x) - 0.19) / (0.94 - 0.19), 0.0, 1.0) * is_arm
    sd[:, 0, 4] = 0.03 * sign * armness  # arm length
    above = np.where(is_head, 1.0, np.clip((y + 0.1) / 0.33, 0.0, 1.0)) * ~(is_leg | is_foot)
    sd[:, 1, 5] = 0.03 * above  # torso length
    head_c = np.array([0.0, 0.45, 0.03])
    sd[:, :, 6] = 0.08 * (verts - head_c) * (is_head * np.clip((y - 0.3) / 0.08, 0, 1))[:, None]
    front = np.clip(outward[:, 2], 0.0, None)
    sd[:, 2, 7] = 0.03 * front * gauss(y, -0.05, 0.1) * is_torso  # belly
    sd[:, 0, 8] = 0.015 * sign * gauss(y, -0.3, 0.12) * (is_torso | is_leg)  # hip width
    sd[:, 2, 9] = 0.02 * outward[:, 2] * gauss(y, 0.12, 0.08) * is_torso  # chest depth
    return sd


# (smplx vertex_ids['smplh'] name, id, part, target point): the generator moves the part's vertex
# nearest to the target to that id, so smplx's extra joints land on the right spot.
_LANDMARKS: list[tuple[str, int, str, tuple[float, float, float]]] = [
    ("nose", 332, "head", (0.0, 0.43, 0.14)),
    ("reye", 6260, "head", (-0.032, 0.465, 0.13)),
    ("leye", 2800, "head", (0.032, 0.465, 0.13)),
    ("rear", 4071, "head", (-0.085, 0.45, 0.02)),
    ("lear", 583, "head", (0.085, 0.45, 0.02)),
    ("LBigToe", 3216, "left_foot", (0.09, -1.15, 0.19)),
    ("LSmallToe", 3226, "left_foot", (0.15, -1.15, 0.15)),
    ("LHeel", 3387, "left_foot", (0.09, -1.17, -0.10)),
    ("RBigToe", 6617, "right_foot", (-0.09, -1.15, 0.19)),
    ("RSmallToe", 6624, "right_foot", (-0.15, -1.15, 0.15)),
    ("RHeel", 6787, "right_foot", (-0.09, -1.17, -0.10)),
    ("lthumb", 2746, "left_arm", (0.83, 0.20, 0.02)),
    ("lindex", 2319, "left_arm", (0.92, 0.21, -0.01)),
    ("lmiddle", 2445, "left_arm", _FINGER_TIP_L),
    ("lring", 2556, "left_arm", (0.92, 0.21, -0.065)),
    ("lpinky", 2673, "left_arm", (0.90, 0.21, -0.085)),
    ("rthumb", 6191, "right_arm", (-0.83, 0.20, 0.02)),
    ("rindex", 5782, "right_arm", (-0.92, 0.21, -0.01)),
    ("rmiddle", 5905, "right_arm", (-_FINGER_TIP_L[0], *_FINGER_TIP_L[1:])),
    ("rring", 6016, "right_arm", (-0.92, 0.21, -0.065)),
    ("rpinky", 6133, "right_arm", (-0.90, 0.21, -0.085)),
]


def build_mannequin() -> dict[str, npt.NDArray[Any]]:
    """Generate the mannequin's arrays (SMPL keys plus ``J``, ``vertex_part``, ``part_names``)."""
    parts = _parts(*_solve_counts())
    verts_l, axis_l, faces_l, part_l = [], [], [], []
    offset = 0
    for pi, part in enumerate(parts):
        v, ax, f = _tube(part)
        verts_l.append(v)
        axis_l.append(ax)
        faces_l.append(f + offset)
        part_l.append(np.full(len(v), pi, np.int64))
        offset += len(v)
    verts, axis = np.concatenate(verts_l), np.concatenate(axis_l)
    part_of = np.concatenate(part_l)
    faces = np.concatenate(faces_l)
    # Repeat faces of the torso's top cap (inside the neck) to reach SMPL's face count.
    torso_top = faces_l[0][-parts[0].segments :]
    faces = np.concatenate([faces, torso_top[: NUM_FACES - len(faces)]])
    assert verts.shape == (NUM_VERTICES, 3)
    assert faces.shape == (NUM_FACES, 3)

    # Permute vertices so that each smplx extra-joint vertex id sits at its landmark.
    names = [p.name for p in parts]
    order = np.arange(NUM_VERTICES)
    taken: set[int] = set()
    for _, vid, part_name, target in _LANDMARKS:
        cand = np.nonzero(part_of == names.index(part_name))[0]
        cand = cand[~np.isin(cand, list(taken))]
        old = int(cand[np.argmin(np.linalg.norm(verts[cand] - np.asarray(target), axis=1))])
        taken.add(old)
        pos = int(np.nonzero(order == old)[0][0])
        order[vid], order[pos] = order[pos], order[vid]
    new_of_old = np.empty(NUM_VERTICES, np.int64)
    new_of_old[order] = np.arange(NUM_VERTICES)
    verts, axis, part_of = verts[order], axis[order], part_of[order]
    faces = new_of_old[faces]

    weights = _skinning(verts, part_of, parts)
    reg = _regressor(verts, part_of, parts)
    shapedirs = _shapedirs(verts, axis, part_of, parts)
    kintree = np.array([[4294967295, *PARENTS[1:]], list(range(24))], dtype=np.int64)
    return {
        "v_template": verts.astype(np.float32),
        "f": faces.astype(np.uint32),
        "J_regressor": reg.astype(np.float32),
        "weights": weights.astype(np.float32),
        "kintree_table": kintree,
        "shapedirs": shapedirs.astype(np.float32),
        "posedirs": np.zeros((NUM_VERTICES, 3, 207), np.float32),
        "J": REST_JOINTS.astype(np.float32),
        "vertex_part": part_of.astype(np.uint8),
        "part_names": np.array(names),
    }


def save_npz(arrays: dict[str, npt.NDArray[Any]], path: str | Path) -> None:
    """Write a compressed ``.npz`` byte-for-byte reproducibly (fixed zip timestamps)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for key in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buf.getvalue(), compresslevel=9)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m posebench.examiner.mannequin",
        description="Generate the procedural SMPL-format mannequin body (.npz).",
    )
    parser.add_argument("--output", required=True, type=Path, help="path of the .npz to write")
    args = parser.parse_args(argv)
    save_npz(build_mannequin(), args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
