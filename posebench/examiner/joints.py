"""Body joints to an adapter's skeleton: 2D projection and z-buffer visibility.

smplx returns 45 joints: the 24 SMPL joints, then the extra vertex joints of
:data:`posebench.examiner.body.EXTRA_JOINT_NAMES` (nose, right eye, left eye, right ear, left ear,
toes, heels, finger tips). COCO-17 takes its face keypoints from those surface vertices and its
limb keypoints from the SMPL joints. SMPL and COCO joint definitions differ (SMPL hips sit higher
and more inward than COCO's annotated hips), so errors against these targets should be
calibrated on ordinary poses before a threshold is called a failure.

Visibility (COCO convention): 2 = in the image and visible, 1 = in the image but hidden behind the
body or an occluder rectangle, 0 = outside the image or behind the camera. A keypoint is hidden
when the z-buffer at its pixel is nearer than the keypoint by more than a per-keypoint tolerance;
the SMPL joints lie inside the body, so their tolerance is about the local body radius, and the
surface keypoints get a few centimetres (ears 6 cm: seen from the front they sit on the
silhouette of the head, just behind its front surface).
"""

from __future__ import annotations

import torch

from posebench.examiner.camera import Camera

__all__ = [
    "DEPTH_TOLERANCE",
    "SKELETON_MAPS",
    "project_keypoints",
    "project_points",
    "select_joints",
    "visibility",
]

#: Index into smplx's 45 joints for each keypoint of a skeleton (posebench.skeletons order).
SKELETON_MAPS: dict[str, tuple[int, ...]] = {
    # nose, l/r eye, l/r ear (extra joints 24 nose, 25 reye, 26 leye, 27 rear, 28 lear),
    # l/r shoulder, l/r elbow, l/r wrist, l/r hip, l/r knee, l/r ankle (SMPL joints).
    "coco17": (24, 26, 25, 28, 27, 16, 17, 18, 19, 20, 21, 1, 2, 4, 5, 7, 8),
    "smpl24": tuple(range(24)),
}

#: Per-keypoint depth tolerance in metres (how far behind the visible surface a keypoint may be).
DEPTH_TOLERANCE: dict[str, tuple[float, ...]] = {
    "coco17": (0.03, 0.03, 0.03, 0.06, 0.06,
               0.08, 0.08, 0.06, 0.06, 0.05, 0.05, 0.12, 0.12, 0.08, 0.08, 0.06, 0.06),
    "smpl24": (0.12, 0.12, 0.12, 0.12, 0.08, 0.08, 0.12, 0.06, 0.06, 0.12, 0.05, 0.05,
               0.07, 0.10, 0.10, 0.09, 0.08, 0.08, 0.06, 0.06, 0.05, 0.05, 0.04, 0.04),
}  # fmt: skip


def select_joints(joints: torch.Tensor, skeleton: str = "coco17") -> torch.Tensor:
    """(B, 45, 3) smplx joints -> (B, K, 3) in the order of ``skeleton``."""
    try:
        idx = SKELETON_MAPS[skeleton]
    except KeyError:
        raise KeyError(
            f"no SMPL mapping for skeleton {skeleton!r}; known: {sorted(SKELETON_MAPS)}"
        ) from None
    if joints.ndim != 3 or joints.shape[1] <= max(idx):
        raise ValueError(f"joints: expected (B, >{max(idx)}, 3), got {tuple(joints.shape)}")
    return joints[:, list(idx)]


def visibility(
    uv: torch.Tensor,
    z: torch.Tensor,
    depth: torch.Tensor,
    tolerance: torch.Tensor | float,
    occluder: torch.Tensor | None = None,
) -> torch.Tensor:
    """COCO visibility flags (B, K) int64 in {0, 1, 2}.

    Args:
        uv: (B, K, 2) pixel coordinates; z: (B, K) camera depth of the keypoints.
        depth: (B, H, W) z-buffer (inf where empty).
        tolerance: (K,) or scalar metres.
        occluder: (B, H, W) bool, pixels covered by occluders drawn in front, or None.
    """
    b, k = z.shape
    h, w = depth.shape[-2:]
    col = torch.floor(uv[..., 0]).long()
    row = torch.floor(uv[..., 1]).long()
    inside = (col >= 0) & (col < w) & (row >= 0) & (row < h) & (z > 0) & torch.isfinite(uv).all(-1)
    flat = (row.clamp(0, h - 1) * w + col.clamp(0, w - 1)).view(b, k)
    surface = depth.reshape(b, -1).gather(1, flat)
    tol = torch.as_tensor(tolerance, dtype=z.dtype, device=z.device)
    hidden = z - surface > tol
    if occluder is not None:
        hidden |= occluder.reshape(b, -1).gather(1, flat)
    vis = torch.where(hidden, 1, 2)
    return torch.where(inside, vis, 0).long()


def project_keypoints(
    joints: torch.Tensor,
    camera: Camera,
    depth: torch.Tensor,
    skeleton: str = "coco17",
    occluder: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Keypoints of ``skeleton`` in pixels with visibility.

    Args:
        joints: (B, 45, 3) world joints from :class:`~posebench.examiner.body.BodyModel`.
        camera: the cameras the depth buffer was rendered with.
        depth: (B, H, W) z-buffer from :func:`~posebench.examiner.render.render`.
        occluder: (B, H, W) occluder mask from the render, or None.

    Returns:
        keypoints (B, K, 2) pixel coordinates (pixel centres at +0.5) and visibility (B, K)
        int64 in {0, 1, 2}.
    """
    return project_points(select_joints(joints, skeleton), camera, depth, skeleton, occluder)


def project_points(
    points: torch.Tensor,
    camera: Camera,
    depth: torch.Tensor,
    skeleton: str = "coco17",
    occluder: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`project_keypoints` for keypoints already in ``skeleton``'s order: points
    (B, K, 3) world -> (B, K, 2) pixels and (B, K) visibility (tolerances of ``skeleton``)."""
    pts = points
    uv, z = camera.project(pts)
    tol = torch.tensor(DEPTH_TOLERANCE[skeleton], dtype=z.dtype, device=z.device)
    return uv, visibility(uv, z, depth, tol, occluder)
