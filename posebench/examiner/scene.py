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
from posebench.examiner.joints import SKELETON_MAPS, project_points, select_joints
from posebench.examiner.params import SceneParams
from posebench.examiner.render import DEFAULT_COLOR, render, to_uint8

__all__ = [
    "BACKGROUNDS",
    "RENDERERS",
    "RenderedBatch",
    "Scene",
    "balanced",
    "mask_boxes",
    "self_intersecting",
]

RENDERERS = ("torch", "moderngl")
#: ``plain``: the scene's background colour or image; ``photos``: the bank of
#: :func:`~posebench.examiner.backgrounds.background_bank` (photo crops and textures), picked by
#: each scene's ``background.image`` number.
BACKGROUNDS = ("plain", "photos")
#: Occluder box colours (albedo): wood, concrete, dark green, blue-grey, dark red.
_OCCLUDER_COLORS = ((0.52, 0.36, 0.22), (0.62, 0.62, 0.60), (0.18, 0.32, 0.20),
                    (0.33, 0.38, 0.46), (0.45, 0.16, 0.14))  # fmt: skip
#: Unit cube quads (corner signs), each emitted in both windings (back-face culling keeps the
#: side facing the camera, whatever the winding).
_CUBE_QUADS = ((0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3))


@dataclass(frozen=True)
class RenderedBatch:
    """B rendered bodies (tensors on the scene's device).

    images: (B, H, W, 3) uint8 RGB; keypoints: (B, K, 2) pixels in the adapter skeleton;
    visibility: (B, K) int64 COCO flags (2 visible, 1 hidden by the body or the occluder,
    0 outside the image); boxes: (B, 4) ``[x, y, w, h]`` of the body's silhouette (occluder
    ignored); areas: (B,) silhouette pixels; joints_cam: (B, K, 3) camera-space keypoints in
    millimetres (for 3D adapters); plausible: (B,) bool, the body stands in balance
    (:func:`balanced`) and no limb passes through it (:func:`self_intersecting`); occluded:
    (B,) share of the body's silhouette hidden by the occluder.
    """

    images: torch.Tensor
    keypoints: torch.Tensor
    visibility: torch.Tensor
    boxes: torch.Tensor
    areas: torch.Tensor
    joints_cam: torch.Tensor
    plausible: torch.Tensor | None = None
    occluded: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.images.shape[0])


class Scene:
    """A body model, a camera model and an image size: renders :class:`SceneParams`.

    Args:
        body: a loaded :class:`BodyModel` or :class:`~posebench.examiner.anny_body.AnnyBody`,
            ``"anny"``, ``"mannequin"`` or a path to an SMPL file.
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
        backgrounds: ``plain`` (``background``) or ``photos`` (see :data:`BACKGROUNDS`).
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
        backgrounds: str = "plain",
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
        self.body: Any
        if isinstance(body, BodyModel) or getattr(body, "name", None) == "anny":
            self.body = body
        elif str(body) == "anny":
            from posebench.examiner.anny_body import AnnyBody

            self.body = AnnyBody(device=self.device)
        else:
            self.body = BodyModel(body, device=self.device)
        self.kind = "anny" if getattr(self.body, "name", None) == "anny" else "smpl"
        if self.body.device != self.device:
            raise InputError(
                f"body model on {self.body.device}, scene on {self.device}", field="device"
            )
        if self.kind == "anny" and skeleton not in self.body.skeletons:
            raise InputError(
                f"the anny body gives {', '.join(self.body.skeletons)} keypoints, not "
                f"{skeleton!r}; use --body mannequin or an SMPL file",
                field="skeleton",
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
        if backgrounds not in BACKGROUNDS:
            raise InputError(
                f"unknown backgrounds {backgrounds!r}; known: {', '.join(BACKGROUNDS)}",
                field="backgrounds",
            )
        self.backgrounds = backgrounds
        self._bank: torch.Tensor | None = None
        if backgrounds == "photos":
            from posebench.examiner.backgrounds import background_bank

            bank = background_bank((h, w))
            self._bank = torch.as_tensor(np.array(bank), device=self.device).permute(0, 3, 1, 2)
        self.body_color = torch.tensor(body_color, dtype=torch.float32, device=self.device)
        self.occluder_color = torch.tensor(occluder_color, dtype=torch.float32, device=self.device)

    @property
    def num_betas(self) -> int:
        return int(self.body.num_betas)

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
            exposure = params.exposure.to(self.device)
            background = self._background
            if self._bank is not None:
                u = params.background
                u = torch.zeros(b) if u is None else u
                n = self._bank.shape[0]
                pick = (u.to(self.device) * n).floor().long().clamp(0, n - 1)
                background = (self._bank.index_select(0, pick).float() / 255.0) * exposure.view(
                    b, 1, 1, 1
                ).clamp_max(1.0)
            elif background.ndim == 3:
                background = background.expand(b, 3, h, w)
            nv = out.vertices.shape[1]
            nf = self.body.faces.shape[0]
            if self.kind == "anny":
                if params.appearance is None:
                    from posebench.examiner.anny_body import APPEARANCE

                    appearance = torch.tensor(list(APPEARANCE.values()), device=self.device)
                    appearance = appearance.expand(b, -1)
                else:
                    appearance = params.appearance.to(self.device)
                body_cols = self.body.colors(appearance)
            else:
                body_cols = self.body_color.expand(b, nv, 3)
            verts = cam.to_camera(out.vertices)
            box_v, box_f, box_c = self._occluder_boxes(params, cam, verts)
            verts_all = torch.cat([verts, box_v], 1)
            faces_all = torch.cat([self.body.faces, box_f + nv], 0)
            colors = torch.cat([body_cols, box_c], 1) * exposure[:, None, None]
            style: dict[str, Any] = {
                "colors": colors,
                "light_dir": params.light_dir.to(self.device),
                "background": background,
                "cull_backfaces": True,
            }
            if self.renderer == "moderngl":
                from posebench.examiner.render_gl import render_gl

                r = render_gl(verts_all, faces_all, cam.intrinsics, (h, w), **style)
            else:
                r = render(verts_all, faces_all, cam.intrinsics, (h, w), **style)
            body_px = (r.face_id >= 0) & (r.face_id < nf)
            occ_px = r.face_id >= nf
            pts = self._keypoints3d(out.joints)
            kp, vis = project_points(pts, cam, r.depth, self.skeleton, occ_px)
            joints_cam = cam.to_camera(pts) * 1000.0
            boxes, areas = mask_boxes(body_px, kp)
            # Share of the body hidden by the occluder: body-only silhouette from a second pass
            # would cost a render; the occluder's pixels inside the body's box approximate it.
            occluded = self._occluded_share(body_px, occ_px, boxes)
            images = to_uint8(r.image).permute(0, 2, 3, 1).contiguous()
            plausible = balanced(out.vertices)
            if self.skeleton == "coco17":
                plausible &= ~self_intersecting(pts)
        return RenderedBatch(images, kp, vis, boxes, areas, joints_cam, plausible, occluded)

    def _keypoints3d(self, joints: torch.Tensor) -> torch.Tensor:
        if self.kind == "anny":
            return self.body.keypoints(joints, self.skeleton)  # type: ignore[no-any-return]
        return select_joints(joints, self.skeleton)

    def _occluder_boxes(
        self, params: SceneParams, cam: Any, verts_cam: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The occluder of each scene as a box in camera space: (B, 24, 3) vertices, (24, 3)
        faces (12 quads' triangles in both windings... 6 quads x 2 triangles x 2 windings),
        (B, 24, 3) albedo. The box stands between the camera and the body, its front face at
        55% of the body's depth, 30 cm deep, covering the image rectangle of the occluder
        parameters; width or height 0 gives a degenerate box that draws nothing."""
        h, w = self.image_size
        dev = self.device
        occ = params.occluder.to(dev)
        b = occ.shape[0]
        k = cam.intrinsics
        z_body = verts_cam[..., 2].amin(1).clamp_min(0.5)
        z0 = 0.55 * z_body
        z1 = torch.minimum(z0 + 0.3, 0.5 * (z0 + z_body))
        fx, fy, cx, cy = k[:, 0, 0], k[:, 1, 1], k[:, 0, 2], k[:, 1, 2]
        u0 = (occ[:, 0] - occ[:, 2] / 2) * w
        u1 = (occ[:, 0] + occ[:, 2] / 2) * w
        v0 = (occ[:, 1] - occ[:, 3] / 2) * h
        v1 = (occ[:, 1] + occ[:, 3] / 2) * h
        # The front face covers exactly the rectangle; the back face is the same metric
        # rectangle at z1 (a true cuboid: its sides show when it stands off the image centre).
        corners = []
        for sz in (0, 1):
            z = z0 if sz == 0 else z1
            for sy in (0, 1):
                for sx in (0, 1):
                    u = u0 if sx == 0 else u1
                    v = v0 if sy == 0 else v1
                    corners.append(torch.stack([(u - cx) / fx * z0, (v - cy) / fy * z0, z], -1))
        c8 = torch.stack(corners, 1)  # (B, 8, 3): index = sz * 4 + sy * 2 + sx
        quads = torch.tensor(_CUBE_QUADS, device=dev)
        vidx = quads.reshape(-1)
        verts = c8[:, vidx]  # (B, 24, 3), 4 per quad
        tris = []
        for q in range(6):
            a, bq, c, d = 4 * q, 4 * q + 1, 4 * q + 2, 4 * q + 3
            tris += [(a, bq, c), (a, c, d), (a, c, bq), (a, d, c)]
        faces = torch.tensor(tris, device=dev, dtype=torch.long)
        pal = torch.tensor(_OCCLUDER_COLORS, device=dev)
        pick = (occ[:, 0] * 97.0 + occ[:, 1] * 31.0).floor().long() % len(pal)
        shade = torch.tensor([1.0, 0.9, 0.8, 0.85, 0.95, 0.75], device=dev).repeat_interleave(4)
        cols = pal[pick][:, None, :] * shade[None, :, None]
        return verts, faces, cols.expand(b, 24, 3)

    @staticmethod
    def _occluded_share(
        body_px: torch.Tensor, occ_px: torch.Tensor, boxes: torch.Tensor
    ) -> torch.Tensor:
        """(B,) occluder pixels inside the body's box over (those + visible body pixels)."""
        _, h, w = body_px.shape
        ys = torch.arange(h, device=body_px.device)[None, :, None]
        xs = torch.arange(w, device=body_px.device)[None, None, :]
        x0, y0 = boxes[:, 0, None, None], boxes[:, 1, None, None]
        x1, y1 = x0 + boxes[:, 2, None, None], y0 + boxes[:, 3, None, None]
        inside = (xs >= x0) & (xs < x1) & (ys >= y0) & (ys < y1)
        o = (occ_px & inside).sum((1, 2)).float()
        v = body_px.sum((1, 2)).float()
        return o / (o + v).clamp_min(1.0)


def _segment_distance(p: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(...,) distance of points p (..., 3) to segments [a, b] (..., 3)."""
    ab = b - a
    t = ((p - a) * ab).sum(-1) / (ab * ab).sum(-1).clamp_min(1e-12)
    d: torch.Tensor = torch.linalg.vector_norm(p - (a + t.clamp(0, 1)[..., None] * ab), dim=-1)
    return d


def self_intersecting(
    keypoints: torch.Tensor, *, torso: float = 0.07, limbs: float = 0.06
) -> torch.Tensor:
    """(B,) bool: a limb passes through the body, from (B, 17, 3) COCO-17 keypoints in metres.

    A wrist or elbow closer than ``torso`` to the torso's axis (from the shoulders' middle to
    the hips' middle; a torso is about 0.1 m deep on each side of it, so the hand is inside
    it), or the two knees or the two ankles closer than ``limbs`` to each other (one leg
    through the other). A hand resting on the belly keeps its wrist outside that radius.
    """
    k = keypoints
    sh = (k[:, 5] + k[:, 6]) / 2
    hip = (k[:, 11] + k[:, 12]) / 2
    arm = k[:, [7, 8, 9, 10]]
    d = _segment_distance(arm, sh[:, None].expand_as(arm), hip[:, None].expand_as(arm))
    inside = (d < torso).any(1)
    knees = torch.linalg.vector_norm(k[:, 13] - k[:, 14], dim=-1) < limbs
    ankles = torch.linalg.vector_norm(k[:, 15] - k[:, 16], dim=-1) < limbs
    out: torch.Tensor = inside | knees | ankles
    return out


def balanced(vertices: torch.Tensor, *, contact: float = 0.03, margin: float = 0.1) -> torch.Tensor:
    """(B,) bool: the body stands in balance on the ground under it.

    vertices: (B, V, 3) metres, y up. The ground is the lowest vertex's height; the support is
    the x-z bounding box of the vertices within ``contact`` of it (the soles, or a knee and a
    foot when kneeling); the body is balanced when its centre (the vertex mean, a proxy for the
    centre of mass) lies over the support grown by ``margin``. Bodies sitting on air (both hips
    flexed, feet forward) or leaning far over one foot are not.
    """
    y = vertices[..., 1]
    low = y <= y.amin(1, keepdim=True) + contact
    big = torch.finfo(vertices.dtype).max
    xz = vertices[..., [0, 2]]
    lo = torch.where(low[..., None], xz, big).amin(1)
    hi = torch.where(low[..., None], xz, -big).amax(1)
    c = xz.mean(1)
    return ((c >= lo - margin) & (c <= hi + margin)).all(-1)


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
