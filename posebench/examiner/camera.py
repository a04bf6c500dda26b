"""Pinhole cameras for the examiner: look-at extrinsics on an orbit around the body.

World frame: SMPL's (y up, the body faces +z, its left on +x). Camera frame: OpenCV (x right,
y down, z forward). Azimuth 0 puts the camera in front of the body (on +z, looking at -z);
positive azimuth moves it towards the body's left (+x); positive elevation moves it up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["Camera", "intrinsics_from_fov", "look_at", "orbit_camera"]


@dataclass(frozen=True)
class Camera:
    """B pinhole cameras: ``x_cam = rotation @ x_world + translation``.

    rotation: (B, 3, 3); translation: (B, 3); intrinsics: (B, 3, 3) in pixels; image_size (H, W).
    """

    rotation: torch.Tensor
    translation: torch.Tensor
    intrinsics: torch.Tensor
    image_size: tuple[int, int]

    def to_camera(self, points: torch.Tensor) -> torch.Tensor:
        """(B, N, 3) world points -> (B, N, 3) camera-space points."""
        return torch.einsum("bij,bnj->bni", self.rotation, points) + self.translation[:, None]

    def project(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, N, 3) world points -> (B, N, 2) pixel coordinates and (B, N) camera depth."""
        pc = self.to_camera(points)
        p = torch.einsum("bij,bnj->bni", self.intrinsics, pc)
        z = pc[..., 2]
        return p[..., :2] / z.clamp_min(1e-12)[..., None], z


def intrinsics_from_fov(
    fov_deg: float | torch.Tensor,
    image_size: tuple[int, int],
    batch: int = 1,
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    """(B, 3, 3) intrinsics with vertical field of view ``fov_deg``, square pixels, centred.

    The principal point is the image centre (W/2, H/2) in the pixel-centre-at-half convention.
    """
    h, w = image_size
    fov = torch.as_tensor(fov_deg, dtype=torch.float32, device=device).expand(batch)
    f = (h / 2.0) / torch.tan(torch.deg2rad(fov) / 2.0)
    k = torch.zeros(batch, 3, 3, device=device)
    k[:, 0, 0], k[:, 1, 1] = f, f
    k[:, 0, 2], k[:, 1, 2], k[:, 2, 2] = w / 2.0, h / 2.0, 1.0
    return k


def look_at(
    eye: torch.Tensor, target: torch.Tensor, up: tuple[float, float, float] = (0.0, 1.0, 0.0)
) -> tuple[torch.Tensor, torch.Tensor]:
    """World-to-camera rotation (B, 3, 3) and translation (B, 3) of cameras at eye (B, 3)
    looking at target (B, 3), with ``up`` (world) pointing up in the image."""
    fwd = F.normalize(target - eye, dim=-1)
    up_t = torch.as_tensor(up, dtype=eye.dtype, device=eye.device).expand_as(fwd)
    right = torch.cross(fwd, up_t, dim=-1)
    # Looking straight along ``up``: any right vector works; take world x.
    alt = torch.tensor([1.0, 0.0, 0.0], dtype=eye.dtype, device=eye.device).expand_as(fwd)
    small = right.norm(dim=-1, keepdim=True) < 1e-6
    right = F.normalize(torch.where(small, alt, right), dim=-1)
    down = torch.cross(fwd, right, dim=-1)
    rot = torch.stack([right, down, fwd], dim=1)
    trans = -torch.einsum("bij,bj->bi", rot, eye)
    return rot, trans


def orbit_camera(
    azimuth_deg: torch.Tensor | float,
    elevation_deg: torch.Tensor | float,
    distance: torch.Tensor | float,
    target: torch.Tensor,
    *,
    fov_deg: float = 40.0,
    image_size: tuple[int, int] = (256, 256),
) -> Camera:
    """Cameras on a sphere around ``target`` (B, 3), looking at it.

    Args:
        azimuth_deg, elevation_deg: (B,) or scalars, degrees (see the module docstring).
        distance: (B,) or scalar, metres from the target.
        target: (B, 3) world point at the image centre (e.g. the pelvis or the body's centre).
    """
    b, dev = target.shape[0], target.device
    az = torch.deg2rad(torch.as_tensor(azimuth_deg, dtype=torch.float32, device=dev).expand(b))
    el = torch.deg2rad(torch.as_tensor(elevation_deg, dtype=torch.float32, device=dev).expand(b))
    dist = torch.as_tensor(distance, dtype=torch.float32, device=dev).expand(b)
    offset = torch.stack(
        [torch.sin(az) * torch.cos(el), torch.sin(el), torch.cos(az) * torch.cos(el)], dim=-1
    )
    eye = target.float() + dist[:, None] * offset
    rot, trans = look_at(eye, target.float())
    k = intrinsics_from_fov(fov_deg, image_size, b, dev)
    return Camera(rotation=rot, translation=trans, intrinsics=k, image_size=image_size)


def fov_for_height(height_m: float, distance_m: float, fill: float = 0.85) -> float:
    """Vertical field of view (degrees) in which a ``height_m`` body at ``distance_m`` fills
    ``fill`` of the image height."""
    return math.degrees(2.0 * math.atan(height_m / fill / 2.0 / distance_m))
