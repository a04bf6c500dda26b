"""Keypoint layouts: names, OKS sigmas, left/right flip pairs, limbs and normalisers.

Every built-in skeleton uses one vocabulary of canonical joint names (``left_shoulder``,
``head_top``, ...) so that a mapping between two skeletons is a lookup by name. The tables
below are explicit on purpose: a reader can find any skeleton by grepping its name.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Stick:
    """A PCP stick: a segment between two endpoints, each a joint or the midpoint of joints.

    Attributes:
        name: ``"right_ankle-right_knee"``; an endpoint made of several joints is written
            ``mid(a,b)`` (LSP's torso:
            ``mid(right_hip,left_hip)-mid(right_shoulder,left_shoulder)``).
        a, b: joint indices whose mean is each endpoint (one index: the joint itself).
        part: the PCP table column it counts in (``Torso``, ``Upper Leg``, ``Lower Leg``,
            ``Upper Arm``, ``Forearm``, ``Head``), or ``""`` for ``Total`` only.
    """

    name: str
    a: tuple[int, ...]
    b: tuple[int, ...]
    part: str = ""


@dataclass(frozen=True)
class Skeleton:
    """A keypoint layout.

    Attributes:
        name: short identifier used in signatures (``coco17``).
        keypoints: K canonical joint names, in the dataset's order.
        sigmas: (K,) OKS per-keypoint standard deviations, or ``None`` when the dataset has none.
        flip_pairs: (left, right) index pairs swapped by a horizontal flip.
        limbs: (a, b) index pairs drawn as bones (and scored by PCP when ``sticks`` is empty).
        sticks: the PCP sticks of the dataset's protocol, when they are not simply the limbs
            (LSP's torso runs from the hip midpoint to the shoulder midpoint); see
            :meth:`pcp_sticks`.
        torso: (a, b) index pair whose distance is the torso diameter (PDJ, PCK@torso), or ``None``.
        head: (a, b) index pair spanning the head (PCK@head when no head box is given), or ``None``.
        sigma_divisor: ``sigmas`` are stored as the reference writes them, divided by this to
            give the OKS sigmas (10 for pycocotools' ``np.array([.26, ...]) / 10.0``; 1 where
            the reference lists the sigmas themselves, as mmpose's WholeBody, Halpe and AIC
            configs do), so that the float64 values are bit-identical to the reference's.
    """

    name: str
    keypoints: tuple[str, ...]
    sigmas: tuple[float, ...] | None = None
    flip_pairs: tuple[tuple[int, int], ...] = ()
    limbs: tuple[tuple[int, int], ...] = ()
    sticks: tuple[Stick, ...] = ()
    torso: tuple[int, int] | None = None
    head: tuple[int, int] | None = None
    sigma_divisor: float = 10.0
    _index: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        k = len(self.keypoints)
        if len(set(self.keypoints)) != k:
            raise ValueError(f"skeleton {self.name!r}: duplicate keypoint names")
        if self.sigmas is not None and len(self.sigmas) != k:
            raise ValueError(f"skeleton {self.name!r}: {len(self.sigmas)} sigmas for {k} keypoints")
        pairs = [*self.flip_pairs, *self.limbs]
        pairs += [p for p in (self.torso, self.head) if p is not None]
        for a, b in pairs:
            if not (0 <= a < k and 0 <= b < k):
                raise ValueError(f"skeleton {self.name!r}: index pair {(a, b)} outside 0..{k - 1}")
        for st in self.sticks:
            if not (st.a and st.b) or not all(0 <= i < k for i in (*st.a, *st.b)):
                raise ValueError(f"skeleton {self.name!r}: stick {st.name!r} outside 0..{k - 1}")
        self._index.update({n: i for i, n in enumerate(self.keypoints)})

    @property
    def num_keypoints(self) -> int:
        return len(self.keypoints)

    def index(self, name: str) -> int:
        """Position of keypoint ``name``; KeyError names the skeleton."""
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(f"skeleton {self.name!r} has no keypoint {name!r}") from None

    def oks_sigmas(self) -> FloatArray:
        """(K,) sigmas as float64; ValueError when the skeleton defines none."""
        if self.sigmas is None:
            raise ValueError(
                f"skeleton {self.name!r} defines no OKS sigmas; pass sigmas explicitly"
            )
        # pycocotools builds its sigmas as np.array([.26, ...]) / 10.0; the tables below hold the
        # same literals (x10) so that the float64 values are bit-identical to the reference.
        return np.array(self.sigmas, dtype=np.float64) / self.sigma_divisor

    def pcp_sticks(self) -> tuple[Stick, ...]:
        """The sticks PCP scores: ``sticks`` when the skeleton defines them, else one stick per
        limb (joint to joint, named ``"a-b"``, column found by joint names in PCP's table)."""
        if self.sticks:
            return self.sticks
        return tuple(
            Stick(f"{self.keypoints[a]}-{self.keypoints[b]}", (a,), (b,)) for a, b in self.limbs
        )

    def flip_permutation(self) -> IntArray:
        """(K,) index permutation that swaps every left/right pair."""
        perm = np.arange(self.num_keypoints, dtype=np.int64)
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return perm


def _pairs(
    names: tuple[str, ...], spec: tuple[tuple[str, str], ...]
) -> tuple[tuple[int, int], ...]:
    idx = {n: i for i, n in enumerate(names)}
    return tuple((idx[a], idx[b]) for a, b in spec)


def _lr_pairs(names: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """Flip pairs found by name: every ``left_x`` with its ``right_x``."""
    idx = {n: i for i, n in enumerate(names)}
    return tuple(
        (i, idx["right_" + n[5:]])
        for i, n in enumerate(names)
        if n.startswith("left_") and "right_" + n[5:] in idx
    )


_LIMBS_BODY = (
    ("left_shoulder", "left_elbow"),
    ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"),
    ("right_elbow", "right_wrist"),
    ("left_hip", "left_knee"),
    ("left_knee", "left_ankle"),
    ("right_hip", "right_knee"),
    ("right_knee", "right_ankle"),
)

_COCO17 = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip
COCO17 = Skeleton(
    name="coco17",
    keypoints=_COCO17,
    # pycocotools COCOeval Params.kpt_oks_sigmas (x10).
    sigmas=(.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89),
    flip_pairs=_lr_pairs(_COCO17),
    limbs=_pairs(
        _COCO17,
        (*_LIMBS_BODY, ("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"),
         ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"), ("nose", "left_eye"),
         ("nose", "right_eye"), ("left_eye", "left_ear"), ("right_eye", "right_ear")),
    ),
    torso=(_COCO17.index("left_shoulder"), _COCO17.index("right_hip")),
    head=(_COCO17.index("left_ear"), _COCO17.index("right_ear")),
)  # fmt: skip

_CROWDPOSE14 = (
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "head_top", "neck",
)  # fmt: skip
CROWDPOSE14 = Skeleton(
    name="crowdpose14",
    keypoints=_CROWDPOSE14,
    # CrowdPose / mmpose crowdpose.py sigmas (x10).
    sigmas=(.79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89, .79, .79),
    flip_pairs=_lr_pairs(_CROWDPOSE14),
    limbs=_pairs(
        _CROWDPOSE14,
        (*_LIMBS_BODY, ("head_top", "neck"), ("neck", "left_shoulder"), ("neck", "right_shoulder"),
         ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"), ("left_hip", "right_hip")),
    ),
    torso=(_CROWDPOSE14.index("left_shoulder"), _CROWDPOSE14.index("right_hip")),
    head=(_CROWDPOSE14.index("head_top"), _CROWDPOSE14.index("neck")),
)  # fmt: skip

_MPII16 = (
    "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
    "pelvis", "thorax", "neck", "head_top",
    "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_wrist",
)  # fmt: skip
MPII16 = Skeleton(
    name="mpii16",
    keypoints=_MPII16,
    flip_pairs=_lr_pairs(_MPII16),
    limbs=_pairs(
        _MPII16,
        (*_LIMBS_BODY, ("pelvis", "thorax"), ("thorax", "neck"), ("neck", "head_top"),
         ("left_hip", "pelvis"), ("right_hip", "pelvis"), ("thorax", "left_shoulder"),
         ("thorax", "right_shoulder")),
    ),
    torso=(_MPII16.index("left_shoulder"), _MPII16.index("right_hip")),
    # MPII's upper neck is stored as "neck"; PCKh itself uses the annotated head box.
    head=(_MPII16.index("neck"), _MPII16.index("head_top")),
)  # fmt: skip

_LSP14 = (
    "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
    "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_wrist",
    "neck", "head_top",
)  # fmt: skip


def _stick(names: tuple[str, ...], a: tuple[str, ...], b: tuple[str, ...], part: str) -> Stick:
    def end(js: tuple[str, ...]) -> str:
        return js[0] if len(js) == 1 else f"mid({','.join(js)})"

    return Stick(
        f"{end(a)}-{end(b)}",
        tuple(names.index(j) for j in a),
        tuple(names.index(j) for j in b),
        part,
    )


LSP14 = Skeleton(
    name="lsp14",
    keypoints=_LSP14,
    flip_pairs=_lr_pairs(_LSP14),
    limbs=_pairs(
        _LSP14,
        (*_LIMBS_BODY, ("neck", "head_top"), ("neck", "left_shoulder"), ("neck", "right_shoulder"),
         ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"), ("left_hip", "right_hip")),
    ),
    # The ten PCP sticks of the LSP protocol, in the order of keypoints2sticks.m (bearpaw/
    # eval_pose, the MPII benchmark's LSP evaluation): lower/upper legs, lower/upper arms,
    # head (neck -> head top) and the torso from the hip midpoint to the shoulder midpoint.
    sticks=tuple(
        _stick(_LSP14, a, b, part)
        for a, b, part in (
            (("right_ankle",), ("right_knee",), "Lower Leg"),
            (("right_knee",), ("right_hip",), "Upper Leg"),
            (("left_hip",), ("left_knee",), "Upper Leg"),
            (("left_knee",), ("left_ankle",), "Lower Leg"),
            (("right_wrist",), ("right_elbow",), "Forearm"),
            (("right_elbow",), ("right_shoulder",), "Upper Arm"),
            (("left_shoulder",), ("left_elbow",), "Upper Arm"),
            (("left_elbow",), ("left_wrist",), "Forearm"),
            (("neck",), ("head_top",), "Head"),
            (("right_hip", "left_hip"), ("right_shoulder", "left_shoulder"), "Torso"),
        )
    ),
    torso=(_LSP14.index("left_shoulder"), _LSP14.index("right_hip")),
    head=(_LSP14.index("neck"), _LSP14.index("head_top")),
)  # fmt: skip

_H36M17 = (
    "pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "spine", "thorax", "neck", "head_top",
    "left_shoulder", "left_elbow", "left_wrist", "right_shoulder", "right_elbow", "right_wrist",
)  # fmt: skip
H36M17 = Skeleton(
    name="h36m17",
    keypoints=_H36M17,
    flip_pairs=_lr_pairs(_H36M17),
    limbs=_pairs(
        _H36M17,
        (*_LIMBS_BODY, ("pelvis", "left_hip"), ("pelvis", "right_hip"), ("pelvis", "spine"),
         ("spine", "thorax"), ("thorax", "neck"), ("neck", "head_top"),
         ("thorax", "left_shoulder"), ("thorax", "right_shoulder")),
    ),
    torso=(_H36M17.index("left_shoulder"), _H36M17.index("right_hip")),
    head=(_H36M17.index("neck"), _H36M17.index("head_top")),
)  # fmt: skip

_SMPL24 = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck",
    "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hand", "right_hand",
)  # fmt: skip
SMPL24 = Skeleton(
    name="smpl24",
    keypoints=_SMPL24,
    flip_pairs=_lr_pairs(_SMPL24),
    limbs=_pairs(
        _SMPL24,
        (*_LIMBS_BODY, ("pelvis", "left_hip"), ("pelvis", "right_hip"), ("pelvis", "spine1"),
         ("spine1", "spine2"), ("spine2", "spine3"), ("spine3", "neck"), ("neck", "head"),
         ("spine3", "left_collar"), ("spine3", "right_collar"), ("left_collar", "left_shoulder"),
         ("right_collar", "right_shoulder"), ("left_ankle", "left_foot"),
         ("right_ankle", "right_foot"), ("left_wrist", "left_hand"), ("right_wrist", "right_hand")),
    ),
    torso=(_SMPL24.index("left_shoulder"), _SMPL24.index("right_hip")),
    head=(_SMPL24.index("neck"), _SMPL24.index("head")),
)  # fmt: skip

_BLAZEPOSE33 = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)  # fmt: skip
BLAZEPOSE33 = Skeleton(
    name="blazepose33",
    keypoints=_BLAZEPOSE33,
    flip_pairs=(*_lr_pairs(_BLAZEPOSE33), (9, 10)),
    limbs=_pairs(
        _BLAZEPOSE33,
        (*_LIMBS_BODY, ("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"),
         ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
         ("left_ankle", "left_heel"), ("right_ankle", "right_heel"),
         ("left_heel", "left_foot_index"), ("right_heel", "right_foot_index")),
    ),
    torso=(_BLAZEPOSE33.index("left_shoulder"), _BLAZEPOSE33.index("right_hip")),
    head=(_BLAZEPOSE33.index("left_ear"), _BLAZEPOSE33.index("right_ear")),
)  # fmt: skip


# ----------------------------------------------------------------------------- whole body
# COCO-WholeBody (133), Halpe-26 and AIC-14. Sigmas as mmpose's dataset configs list them
# (configs/_base_/datasets/coco_wholebody.py from COCO-WholeBody's evaluation/myeval_wholebody.py,
# halpe26.py from Halpe-FullBody's halpecocotools, aic.py from AI Challenger's keypoint_eval.py),
# stored unscaled (sigma_divisor=1): the reference passes these very literals to xtcocotools.

_FOOT6 = (
    "left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel",
)  # fmt: skip
_FACE68 = tuple(f"face_{i}" for i in range(68))
_FINGERS = ("thumb", "forefinger", "middle_finger", "ring_finger", "pinky_finger")


def _hand21(side: str) -> tuple[str, ...]:
    return (f"{side}_hand_root", *(f"{side}_{f}{i}" for f in _FINGERS for i in range(1, 5)))


def _hand_limbs(side: str) -> tuple[tuple[str, str], ...]:
    out = []
    for f in _FINGERS:
        chain = (f"{side}_hand_root", *(f"{side}_{f}{i}" for i in range(1, 5)))
        out += list(itertools.pairwise(chain))
    return tuple(out)


# The 68-point (iBUG 300-W) face layout mirrored left/right: jaw, brows, nostrils, eyes, mouth.
_FACE_FLIP = (
    *((i, 16 - i) for i in range(8)), *((17 + i, 26 - i) for i in range(5)),
    (31, 35), (32, 34), (36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46),
    (48, 54), (49, 53), (50, 52), (55, 59), (56, 58), (60, 64), (61, 63), (65, 67),
)  # fmt: skip

_WHOLEBODY133 = (*_COCO17, *_FOOT6, *_FACE68, *_hand21("left"), *_hand21("right"))
#: COCO-WholeBody parts as (first, end) keypoint index ranges, in the file's order, with the
#: annotation field each part is stored under.
WHOLEBODY_PARTS: dict[str, tuple[int, int]] = {
    "body": (0, 17),
    "foot": (17, 23),
    "face": (23, 91),
    "lefthand": (91, 112),
    "righthand": (112, 133),
}
COCO_WHOLEBODY133 = Skeleton(
    name="coco_wholebody133",
    keypoints=_WHOLEBODY133,
    sigmas=(
        0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062,
        0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089, 0.068, 0.066, 0.066,
        0.092, 0.094, 0.094, 0.042, 0.043, 0.044, 0.043, 0.040, 0.035, 0.031,
        0.025, 0.020, 0.023, 0.029, 0.032, 0.037, 0.038, 0.043, 0.041, 0.045,
        0.013, 0.012, 0.011, 0.011, 0.012, 0.012, 0.011, 0.011, 0.013, 0.015,
        0.009, 0.007, 0.007, 0.007, 0.012, 0.009, 0.008, 0.016, 0.010, 0.017,
        0.011, 0.009, 0.011, 0.009, 0.007, 0.013, 0.008, 0.011, 0.012, 0.010,
        0.034, 0.008, 0.008, 0.009, 0.008, 0.008, 0.007, 0.010, 0.008, 0.009,
        0.009, 0.009, 0.007, 0.007, 0.008, 0.011, 0.008, 0.008, 0.008, 0.01,
        0.008, 0.029, 0.022, 0.035, 0.037, 0.047, 0.026, 0.025, 0.024, 0.035,
        0.018, 0.024, 0.022, 0.026, 0.017, 0.021, 0.021, 0.032, 0.02, 0.019,
        0.022, 0.031, 0.029, 0.022, 0.035, 0.037, 0.047, 0.026, 0.025, 0.024,
        0.035, 0.018, 0.024, 0.022, 0.026, 0.017, 0.021, 0.021, 0.032, 0.02,
        0.019, 0.022, 0.031,
    ),
    sigma_divisor=1.0,
    flip_pairs=(*_lr_pairs(_WHOLEBODY133), *((23 + a, 23 + b) for a, b in _FACE_FLIP)),
    limbs=_pairs(
        _WHOLEBODY133,
        (*_LIMBS_BODY, ("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"),
         ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
         ("left_ankle", "left_big_toe"), ("left_ankle", "left_small_toe"),
         ("left_ankle", "left_heel"), ("right_ankle", "right_big_toe"),
         ("right_ankle", "right_small_toe"), ("right_ankle", "right_heel"),
         ("left_wrist", "left_hand_root"), ("right_wrist", "right_hand_root"),
         *_hand_limbs("left"), *_hand_limbs("right")),
    ),
    torso=(_WHOLEBODY133.index("left_shoulder"), _WHOLEBODY133.index("right_hip")),
    head=(_WHOLEBODY133.index("left_ear"), _WHOLEBODY133.index("right_ear")),
)  # fmt: skip

_HALPE26 = (
    *_COCO17, "head", "neck", "hip", "left_big_toe", "right_big_toe", "left_small_toe",
    "right_small_toe", "left_heel", "right_heel",
)  # fmt: skip
HALPE26 = Skeleton(
    name="halpe26",
    keypoints=_HALPE26,
    sigmas=(
        0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107,
        0.107, 0.087, 0.087, 0.089, 0.089, 0.026, 0.026, 0.066, 0.079, 0.079, 0.079, 0.079,
        0.079, 0.079,
    ),
    sigma_divisor=1.0,
    flip_pairs=_lr_pairs(_HALPE26),
    limbs=_pairs(
        _HALPE26,
        (*_LIMBS_BODY, ("head", "neck"), ("neck", "hip"), ("left_hip", "hip"),
         ("right_hip", "hip"), ("neck", "left_shoulder"), ("neck", "right_shoulder"),
         ("left_ankle", "left_big_toe"), ("left_ankle", "left_small_toe"),
         ("left_ankle", "left_heel"), ("right_ankle", "right_big_toe"),
         ("right_ankle", "right_small_toe"), ("right_ankle", "right_heel")),
    ),
    torso=(_HALPE26.index("left_shoulder"), _HALPE26.index("right_hip")),
    head=(_HALPE26.index("head"), _HALPE26.index("neck")),
)  # fmt: skip

_AIC14 = (
    "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow", "left_wrist",
    "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "head_top", "neck",
)  # fmt: skip
AIC14 = Skeleton(
    name="aic14",
    keypoints=_AIC14,
    sigmas=(
        0.01388152, 0.01515228, 0.01057665, 0.01417709, 0.01497891, 0.01402144, 0.03909642,
        0.03686941, 0.01981803, 0.03843971, 0.03412318, 0.02415081, 0.01291456, 0.01236173,
    ),
    sigma_divisor=1.0,
    flip_pairs=_lr_pairs(_AIC14),
    limbs=_pairs(
        _AIC14,
        (*_LIMBS_BODY, ("head_top", "neck"), ("neck", "left_shoulder"), ("neck", "right_shoulder"),
         ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"), ("left_hip", "right_hip")),
    ),
    torso=(_AIC14.index("left_shoulder"), _AIC14.index("right_hip")),
    head=(_AIC14.index("head_top"), _AIC14.index("neck")),
)  # fmt: skip
# ----------------------------------------------------------------------------- end whole body

SKELETONS: dict[str, Skeleton] = {
    s.name: s for s in (COCO17, CROWDPOSE14, MPII16, LSP14, H36M17, SMPL24, BLAZEPOSE33)
}
SKELETONS.update({s.name: s for s in (COCO_WHOLEBODY133, HALPE26, AIC14)})

# Joints that differ in name but stand for the same body point in another skeleton. Each entry is
# (target skeleton, target joint) -> source joint name, used only when names do not already match.
_ALIASES: dict[tuple[str, str], tuple[str, ...]] = {
    ("coco17", "nose"): ("nose",),
    ("crowdpose14", "head_top"): ("head_top", "head"),
    ("crowdpose14", "neck"): ("neck", "thorax"),
    ("lsp14", "head_top"): ("head_top", "head"),
    ("mpii16", "head_top"): ("head_top", "head"),
    ("h36m17", "head_top"): ("head_top", "head"),
    ("smpl24", "head"): ("head", "head_top"),
    ("smpl24", "neck"): ("neck",),
}


def get_skeleton(name: str) -> Skeleton:
    """Built-in skeleton by name, with the known names listed on a miss."""
    try:
        return SKELETONS[name]
    except KeyError:
        raise KeyError(f"unknown skeleton {name!r}; known: {', '.join(SKELETONS)}") from None


def mapping(src: Skeleton, dst: Skeleton) -> tuple[IntArray, IntArray]:
    """Joint correspondence from ``src`` to ``dst``.

    Returns:
        (src_idx, dst_idx): two (M,) int64 arrays; ``dst_kpts[:, dst_idx] = src_kpts[:, src_idx]``.
        Joints of ``dst`` with no counterpart in ``src`` are simply absent.
    """
    src_pos = {n: i for i, n in enumerate(src.keypoints)}
    s_idx, d_idx = [], []
    for j, name in enumerate(dst.keypoints):
        for cand in _ALIASES.get((dst.name, name), (name,)):
            if cand in src_pos:
                s_idx.append(src_pos[cand])
                d_idx.append(j)
                break
    return np.asarray(s_idx, dtype=np.int64), np.asarray(d_idx, dtype=np.int64)
