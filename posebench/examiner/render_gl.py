"""OpenGL rendering backend (moderngl, headless EGL): the same images as :mod:`.render`, faster.

Optional: needs ``pip install moderngl`` and an EGL driver (Mesa's ``libegl1 libgl1-mesa-dri`` on
Debian, which renders on the CPU with llvmpipe; NVIDIA's driver on a GPU machine).
:func:`render_gl` takes the arguments of :func:`.render.render` and returns the same
:class:`~.render.RenderOutput` (image, depth, face_id, occluder), so the scene can switch between
the two; tests compare them pixel by pixel.

How (one draw call and one read-back per chunk of bodies, no Python loop over bodies):

1. in torch: project every vertex of every body (the pinhole matrix of its body), vertex normals,
   albedo and light direction; the bodies' images are stacked top to bottom in one tall
   framebuffer and each body's clip-space positions are placed in its slot, keeping w = camera z
   so that GL interpolates perspective-correctly;
2. one indexed draw of all B * F triangles, depth test on; the fragment shader discards what falls
   outside its body's slot, shades (Lambert + ambient, two-sided, as the torch path) and writes the
   colour, the face id (``gl_PrimitiveID``) and the camera z to three attachments;
3. read the attachments back straight into (B, H, W) tensors (the stack's memory layout is
   theirs), lay the body over the background and draw the occluder rectangles with the torch
   path's code.

Pixels are sampled at their centres like the torch rasteriser; the two differ only where a pixel
centre lies on a triangle edge (tie rules) and by float rounding in the shading.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from posebench.errors import InputError
from posebench.examiner.render import (
    DEFAULT_LIGHT,
    RenderOutput,
    _as_k,
    _background,
    _draw_occluders,
    _per_vertex_or_uniform,
    _project,
    vertex_normals,
)

__all__ = ["gl_available", "render_gl"]

INSTALL_HINT = (
    "the moderngl renderer needs `pip install moderngl` and an EGL driver (Debian: "
    "`apt-get install libegl1 libgl1-mesa-dri`; GPU machines: the NVIDIA driver)"
)
MAX_STACK = 16384  # rows of the framebuffer a chunk of bodies is drawn into (bodies stacked)

_VERTEX = """
#version 330
in vec4 in_clip;
in vec3 in_cam;
in vec3 in_normal;
in vec3 in_color;
in vec3 in_light;
uniform int verts_per_body;
out vec3 v_cam;
out vec3 v_normal;
out vec3 v_color;
flat out vec3 v_light;
flat out int v_body;
void main() {
    gl_Position = in_clip;
    v_cam = in_cam;
    v_normal = in_normal;
    v_color = in_color;
    v_light = in_light;
    v_body = gl_VertexID / verts_per_body;
}
"""

_FRAGMENT = """
#version 330
in vec3 v_cam;
in vec3 v_normal;
in vec3 v_color;
flat in vec3 v_light;
flat in int v_body;
uniform int tile_height;
uniform int faces_per_body;
uniform float ambient;
uniform float diffuse;
uniform bool smooth_normals;
layout(location = 0) out vec4 out_color;
layout(location = 1) out int out_face;
layout(location = 2) out float out_depth;
void main() {
    int slot = v_body;
    float lo = float(slot * tile_height);
    if (gl_FragCoord.y < lo || gl_FragCoord.y >= lo + float(tile_height)) {
        discard;  // outside this body's image (the stack's side edges clip by themselves)
    }
    vec3 n = smooth_normals ? v_normal : cross(dFdx(v_cam), dFdy(v_cam));
    n = length(n) > 0.0 ? normalize(n) : vec3(0.0, 0.0, -1.0);
    if (dot(n, v_cam) > 0.0) {
        n = -n;  // two-sided: the normal faces the camera
    }
    float lambert = max(dot(n, -v_light), 0.0);
    out_color = vec4(clamp(v_color * (ambient + diffuse * lambert), 0.0, 1.0), 1.0);
    out_face = gl_PrimitiveID - slot * faces_per_body + 1;  // 0: no body
    out_depth = v_cam.z;
}
"""


class _GL:
    """A headless GL context with the program and per-size framebuffers (real state)."""

    def __init__(self) -> None:
        import moderngl

        self.mgl = moderngl
        settings: dict[str, Any] = {"backend": "egl"}
        self.ctx = moderngl.create_standalone_context(require=330, **settings)
        self.prog = self.ctx.program(vertex_shader=_VERTEX, fragment_shader=_FRAGMENT)
        self.max_side = min(MAX_STACK, int(self.ctx.info["GL_MAX_TEXTURE_SIZE"]))
        self._fbos: dict[tuple[int, int], Any] = {}

    @property
    def renderer(self) -> str:
        return str(self.ctx.info["GL_RENDERER"])

    def framebuffer(self, width: int, height: int) -> Any:
        key = (width, height)
        if key not in self._fbos:
            for fbo in self._fbos.values():  # keep one: stacks are large
                fbo.release()
            self._fbos.clear()
            size = (width, height)
            self._fbos[key] = self.ctx.framebuffer(
                color_attachments=[
                    self.ctx.texture(size, 4, dtype="f4"),
                    self.ctx.texture(size, 1, dtype="i4"),
                    self.ctx.texture(size, 1, dtype="f4"),
                ],
                depth_attachment=self.ctx.depth_renderbuffer(size),
            )
        return self._fbos[key]


@functools.lru_cache(maxsize=1)
def _context() -> _GL:
    try:
        return _GL()
    except ImportError as e:
        raise InputError(f"{INSTALL_HINT} ({e})", field="renderer") from e
    except Exception as e:  # EGL and driver errors come in many types
        raise InputError(f"no OpenGL 3.3 context: {e}; {INSTALL_HINT}", field="renderer") from e


def gl_available() -> tuple[bool, str]:
    """Whether :func:`render_gl` can run here; the GL renderer's name, or why not."""
    try:
        return True, _context().renderer
    except InputError as e:
        _context.cache_clear()
        return False, str(e)


def render_gl(
    verts: torch.Tensor,
    faces: torch.Tensor,
    intrinsics: torch.Tensor,
    image_size: tuple[int, int],
    *,
    colors: torch.Tensor | tuple[float, float, float] | None = None,
    light_dir: torch.Tensor | tuple[float, float, float] = DEFAULT_LIGHT,
    ambient: float = 0.35,
    diffuse: float = 0.65,
    background: torch.Tensor | tuple[float, float, float] = (1.0, 1.0, 1.0),
    occluders: torch.Tensor | None = None,
    occluder_colors: torch.Tensor | tuple[float, float, float] = (0.2, 0.2, 0.2),
    smooth: bool = True,
    cull_backfaces: bool = False,
    near: float = 1e-3,
) -> RenderOutput:
    """Render B meshes with OpenGL; arguments and result as :func:`.render.render`.

    Args:
        verts: (B, V, 3) camera-space vertices; faces: (F, 3); intrinsics: (B, 3, 3) or (3, 3);
        image_size: (H, W); the rest as :func:`.render.render` (``near``: clip distance, metres).

    Returns:
        RenderOutput on the device of ``verts``.

    Raises:
        InputError: moderngl or an EGL driver is missing (with the install hint).
    """
    gl = _context()
    h, w = int(image_size[0]), int(image_size[1])
    if verts.ndim != 3 or verts.shape[-1] != 3:
        raise ValueError(f"verts: expected (B, V, 3), got {tuple(verts.shape)}")
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f"faces: expected (F, 3), got {tuple(faces.shape)}")
    if h > gl.max_side or w > gl.max_side:
        raise InputError(f"image {h}x{w} exceeds the GL limit {gl.max_side}", field="size")
    dev = verts.device
    b, v = verts.shape[0], verts.shape[1]
    cpu = torch.device("cpu")
    verts = verts.detach().float().to(cpu)
    faces = faces.detach().to(cpu, torch.long)
    k = _as_k(torch.as_tensor(intrinsics).detach().to(cpu), b, verts)
    uv, z = _project(verts, k)
    normals = vertex_normals(verts, faces) if smooth else torch.zeros_like(verts)
    albedo, per_vertex = _per_vertex_or_uniform(
        torch.as_tensor(colors).detach().to(cpu) if colors is not None else None, b, v, verts
    )
    if not per_vertex:
        albedo = albedo[:, None, :].expand(b, v, 3)
    light = torch.as_tensor(light_dir, dtype=torch.float32).detach().to(cpu)
    light = F.normalize(light.expand(b, 3) if light.shape == (3,) else light, dim=-1)

    # Depth range of the whole batch (not per chunk: the depth buffer's quantisation, and so
    # which of two nearly coincident faces wins, must not depend on the chunking).
    valid = z[z > near]
    clip = (
        (max(near, 0.5 * float(valid.min())), 2.0 * float(valid.max()) + 1.0)
        if valid.numel()
        else (near, 10.0)
    )
    rgba = torch.empty(b, h, w, 4)
    fid = torch.empty(b, h, w, dtype=torch.int32)
    dep = torch.empty(b, h, w)
    per_chunk = max(1, gl.max_side // h)
    for c0 in range(0, b, per_chunk):
        c1 = min(b, c0 + per_chunk)
        _draw_chunk(
            gl, uv[c0:c1], z[c0:c1], verts[c0:c1], normals[c0:c1], albedo[c0:c1],
            light[c0:c1], faces, (h, w), ambient, diffuse, smooth, cull_backfaces, clip,
            (rgba[c0:c1], fid[c0:c1], dep[c0:c1]),
        )  # fmt: skip

    face_id = fid.to(torch.int64) - 1
    found = face_id >= 0
    depth = torch.where(found, dep, torch.inf)
    image = torch.where(found[..., None], rgba[..., :3], _background(background, b, h, w, cpu))
    occ = torch.zeros(b, h, w, dtype=torch.bool)
    if occluders is not None:
        occ = _draw_occluders(image, torch.as_tensor(occluders).detach().to(cpu), occluder_colors)
    return RenderOutput(
        image=image.permute(0, 3, 1, 2).contiguous().to(dev),
        depth=depth.to(dev),
        face_id=face_id.to(dev),
        occluder=occ.to(dev),
    )


def _draw_chunk(
    gl: _GL,
    uv: torch.Tensor,
    z: torch.Tensor,
    cam: torch.Tensor,
    normals: torch.Tensor,
    albedo: torch.Tensor,
    light: torch.Tensor,
    faces: torch.Tensor,
    size: tuple[int, int],
    ambient: float,
    diffuse: float,
    smooth: bool,
    cull: bool,
    clip: tuple[float, float],
    into: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
) -> None:
    """Draw n bodies stacked top to bottom in one (n * H, W) framebuffer, read back into
    ``into``: (n, H, W, 4) float32 colour, (n, H, W) int32 face id + 1, (n, H, W) float32 z
    (contiguous CPU tensors: the stack's memory layout is theirs, so no copy is made)."""
    mgl, ctx = gl.mgl, gl.ctx
    h, w = size
    n, v = uv.shape[0], uv.shape[1]
    nf = faces.shape[0]
    fh = n * h
    slot = torch.arange(n)
    z_near, z_far = clip
    # Clip space with w = camera z: x_ndc = 2 u / W - 1, y_ndc = 2 (v + slot H) / (n H) - 1. Rows
    # are not flipped: GL's first row (at the bottom) is the first image's first row.
    xa = (2.0 * uv[..., 0] / w - 1.0) * z
    ya = (2.0 * (uv[..., 1] + (slot * h).float()[:, None]) / fh - 1.0) * z
    za = (z * (z_far + z_near) - 2.0 * z_far * z_near) / (z_far - z_near)
    data = torch.cat(
        [torch.stack([xa, ya, za, z], -1), cam, normals, albedo, light[:, None].expand(n, v, 3)], -1
    )  # (n, V, 16)
    index = (faces.to(torch.int32)[None] + (slot.to(torch.int32) * v)[:, None, None]).reshape(-1)
    vbo = ctx.buffer(data.numpy().astype(np.float32, copy=False))
    ibo = ctx.buffer(index.numpy())
    vao = ctx.vertex_array(
        gl.prog,
        [(vbo, "4f 3f 3f 3f 3f", "in_clip", "in_cam", "in_normal", "in_color", "in_light")],
        index_buffer=ibo,
        index_element_size=4,
    )
    try:
        prog: Any = gl.prog
        prog["verts_per_body"].value = v
        prog["tile_height"].value = h
        prog["faces_per_body"].value = nf
        prog["ambient"].value = float(ambient)
        prog["diffuse"].value = float(diffuse)
        prog["smooth_normals"].value = bool(smooth)
        fbo = gl.framebuffer(w, fh)
        fbo.use()
        fbo.viewport = (0, 0, w, fh)
        fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        ctx.enable(mgl.DEPTH_TEST)
        if cull:
            # The torch path keeps triangles with negative doubled area in pixel coordinates;
            # with rows not flipped that is clockwise in GL's window coordinates.
            ctx.front_face = "cw"
            ctx.enable(mgl.CULL_FACE)
        else:
            ctx.disable(mgl.CULL_FACE)
        vao.render(mgl.TRIANGLES)
        rgba, fid, dep = into
        fbo.read_into(rgba.numpy(), components=4, attachment=0, dtype="f4")
        fbo.read_into(fid.numpy(), components=1, attachment=1, dtype="i4")
        fbo.read_into(dep.numpy(), components=1, attachment=2, dtype="f4")
    finally:
        vao.release()
        vbo.release()
        ibo.release()
