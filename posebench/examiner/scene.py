"""Batches of scene parameters -> rendered RGB images and the ground truth of each.

One call runs the whole path batched on one device, with no Python loop over bodies: SMPL
forward (:class:`~posebench.examiner.body.BodyModel`), an orbit camera looking at the centre of
each body's bounding box, the torch rasteriser (Lambert shading under the sampled light,
exposure, a grey occluder rectangle, a background colour or image), then the adapter skeleton's
keypoints in pixels with z-buffer visibility (:func:`~posebench.examiner.joints.project_keypoints`)
and the person box of the rendered silhouette.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from posebench.errors import InputError
from posebench.examiner.body import BodyModel
from posebench.examiner.camera import fov_for_height, orbit_camera
from posebench.examiner.joints import SKELETON_MAPS, project_keypoints, select_joints
from posebench.examiner.params import SceneParams
from posebench.examiner.render import DEFAULT_COLOR, render, to_uint8

__all__ = ["RENDERERS", "RenderedBatch", "Scene", "mask_boxes"]

RENDERERS = ("torch", "moderngl")


@dataclass(frozen=True)
class RenderedBatch:
    """B rendered bodies (tensors on the scene's device).

    images: (B, H, W, 3) uint8 RGB; keypoints: (B, K, 2) pixels in the adapter skeleton;
    visibility: (B, K) int64 COCO flags (2 visible, 1 hidden by the body or the occluder,
    0 outside the image); boxes: (B, 4) ``[x, y, w, h]`` of the body's silhouette (occluder
    ignored); areas: (B,) silhouette pixels; joints_cam: (B, K, 3) camera-space keypoints in
    millimetres (for 3D adapters).
    """

    images: torch.Tensor
    keypoints: torch.Tensor
    visibility: torch.Tensor
    boxes: torch.Tensor
    areas: torch.Tensor
    joints_cam: torch.Tensor

    def __len__(self) -> int:
        return int(self.images.shape[0])


class Scene:
    """A body model, a camera model and an image size: renders :class:`SceneParams`.

    Args:
        body: a loaded :class:`BodyModel`, ``"mannequin"`` or a path to an SMPL file.
        image_size: (H, W) of the rendered images.
        skeleton: the adapter's keypoint layout (a key of ``joints.SKELETON_MAPS``).
        device: torch device (``cpu`` or ``cuda``).
        background: RGB colour in [0, 1], or an (H, W, 3) uint8 image.
        body_color: RGB albedo in [0, 1].
        occluder_color: RGB colour of the occluder rectangle.
        fill: fraction of the image height a 2 m tall extent fills at 3 m (sets the field of
            view; the camera's distance dimension then zooms in and out).
        renderer: ``torch`` (the batched torch rasteriser, CPU or CUDA) or ``moderngl``
            (OpenGL through EGL, :mod:`.render_gl`: the same images, faster; optional).
    """

    def __init__(
        self,
        body: BodyModel | str | Path = "mannequin",
        *,
        image_size: tuple[int, int] = (256, 256),
        skeleton: str = "coco17",
        device: str | torch.device = "cpu",
        background: tuple[float, float, float] | npt.NDArray[np.uint8] = (1.0, 1.0, 1.0),
        body_color: tuple[float, float, float] = DEFAULT_COLOR,
        occluder_color: tuple[float, float, float] = (0.35, 0.35, 0.38),
        fill: float = 0.8,
        renderer: str = "torch",
    ) -> None:
        if renderer not in RENDERERS:
            raise InputError(
                f"unknown renderer {renderer!r}; known: {', '.join(RENDERERS)}", field="renderer"
            )
        self.renderer = renderer
        if renderer == "moderngl":
            from posebench.examiner.render_gl import gl_available

            ok, why = gl_available()
            if not ok:
                raise InputError(why, field="renderer")
        self.device = torch.device(device)
        self.body = body if isinstance(body, BodyModel) else BodyModel(body, device=self.device)
        if self.body.device != self.device:
            raise InputError(
                f"body model on {self.body.device}, scene on {self.device}", field="device"
            )
        if skeleton not in SKELETON_MAPS:
            raise InputError(
                f"no SMPL mapping for skeleton {skeleton!r} (known: {', '.join(SKELETON_MAPS)})",
                field="skeleton",
            )
        h, w = int(image_size[0]), int(image_size[1])
        if h < 16 or w < 16:
            raise InputError(f"image size {h}x{w} is too small (at least 16x16)", field="size")
        self.image_size = (h, w)
        self.skeleton = skeleton
        self.fov_deg = fov_for_height(2.0, 3.0, fill)
        bg = np.asarray(background)
        if bg.ndim == 3:
            if bg.shape != (h, w, 3):
                raise InputError(
                    f"background image {bg.shape}, expected ({h}, {w}, 3)", field="background"
                )
            self._background = torch.as_tensor(bg, device=self.device).permute(2, 0, 1)
        elif bg.shape == (3,):
            self._background = torch.as_tensor(bg, dtype=torch.float32, device=self.device)
        else:
            raise InputError(f"expected RGB or (H, W, 3), got {bg.shape}", field="background")
        self.body_color = torch.tensor(body_color, dtype=torch.float32, device=self.device)
        self.occluder_color = torch.tensor(occluder_color, dtype=torch.float32, device=self.device)

    @property
    def num_betas(self) -> int:
        return self.body.num_betas

    def render(self, params: SceneParams) -> RenderedBatch:
        """Render B bodies and their ground truth (see :class:`RenderedBatch`)."""
        h, w = self.image_size
        b = len(params)
        with torch.no_grad():
            betas = params.betas[:, : self.body.num_betas].to(self.device)
            out = self.body.forward(
                params.global_orient.to(self.device), params.body_pose.to(self.device), betas
            )
            lo = out.vertices.amin(1)
            hi = out.vertices.amax(1)
            cam = orbit_camera(
                params.azimuth.to(self.device),
                params.elevation.to(self.device),
                params.distance.to(self.device),
                (lo + hi) / 2,
                fov_deg=self.fov_deg,
                image_size=(h, w),
            )
            occ = params.occluder.to(self.device)
            rects = torch.stack(
                [
                    (occ[:, 0] - occ[:, 2] / 2) * w,
                    (occ[:, 1] - occ[:, 3] / 2) * h,
                    (occ[:, 0] + occ[:, 2] / 2) * w,
                    (occ[:, 1] + occ[:, 3] / 2) * h,
                ],
                -1,
            )[:, None]
            background = self._background
            if background.ndim == 3:
                background = background.expand(b, 3, h, w)
            colors = self.body_color * params.exposure.to(self.device)[:, None]
            style: dict[str, Any] = {
                "colors": colors,
                "light_dir": params.light_dir.to(self.device),
                "background": background,
                "occluders": rects,
                "occluder_colors": self.occluder_color,
                "cull_backfaces": True,
            }
            verts = cam.to_camera(out.vertices)
            if self.renderer == "moderngl":
                from posebench.examiner.render_gl import render_gl

                r = render_gl(verts, self.body.faces, cam.intrinsics, (h, w), **style)
            else:
                r = render(verts, self.body.faces, cam.intrinsics, (h, w), **style)
            kp, vis = project_keypoints(out.joints, cam, r.depth, self.skeleton, r.occluder)
            joints_cam = cam.to_camera(select_joints(out.joints, self.skeleton)) * 1000.0
            mask = r.face_id >= 0
            boxes, areas = mask_boxes(mask, kp)
            images = to_uint8(r.image).permute(0, 2, 3, 1).contiguous()
        return RenderedBatch(images, kp, vis, boxes, areas, joints_cam)


def mask_boxes(mask: torch.Tensor, fallback: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Tight ``[x, y, w, h]`` boxes (B, 4) and pixel areas (B,) of (B, H, W) masks.

    A pixel (row i, column j) covers [j, j + 1) x [i, i + 1). Empty masks take the extent of
    ``fallback`` (B, K, 2) points (area: the box's).
    """
    _, h, w = mask.shape
    rows = mask.any(2)
    cols = mask.any(1)
    ar_h = torch.arange(h, device=mask.device)
    ar_w = torch.arange(w, device=mask.device)
    y0 = torch.where(rows, ar_h, h).amin(1)
    y1 = torch.where(rows, ar_h, -1).amax(1) + 1
    x0 = torch.where(cols, ar_w, w).amin(1)
    x1 = torch.where(cols, ar_w, -1).amax(1) + 1
    boxes = torch.stack([x0, y0, x1 - x0, y1 - y0], -1).float()
    areas = mask.sum((1, 2)).float()
    empty = areas == 0
    if bool(empty.any()):
        pts = fallback[empty].float()
        lo, hi = pts.amin(1), pts.amax(1)
        fb = torch.cat([lo, (hi - lo).clamp_min(1.0)], -1)
        boxes[empty] = fb
        areas[empty] = fb[:, 2] * fb[:, 3]
    return boxes, areas
