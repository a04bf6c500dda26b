"""Batched triangle rasteriser in plain torch: the same code on CPU and CUDA.

Conventions: vertices are in OpenCV camera space (x right, y down, z forward, metres); pixel
``(row i, column j)`` has its centre at image coordinates ``(j + 0.5, i + 0.5)``; a point projects
to ``u = K[0] . p / z``, ``v = K[1] . p / z``.

Algorithm (no Python loop over triangles or bodies):

1. project every vertex of every body, form the (B, F) triangles, drop those behind the near plane,
   degenerate, off-image, or (optionally) facing away from the camera;
2. per kept triangle, the pixel bounding box and its edge-function and 1/z plane coefficients
   (in coordinates local to the box, so float32 stays accurate);
3. expand every triangle to the pixels of its box (``repeat_interleave`` over the box sizes, so a
   2x2 triangle costs 4 candidates and a 100x100 one 10000, with no padding), in chunks of at most
   ``max_candidates`` candidates to bound memory;
4. keep the candidates inside the triangle, pack ``(float32 bits of z) << 32 | face id`` into one
   int64 (positive floats order like their bit patterns) and resolve visibility with
   ``scatter_reduce(amin)`` into a (B*H*W) z-buffer: nearest wins, ties go to the lower face id;
5. shade each covered pixel from the winning face: perspective-correct barycentrics, interpolated
   vertex normals (or the flat face normal) and colours, Lambert + ambient under one directional
   light; then background and occluder rectangles drawn in front.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["RenderOutput", "rasterize", "render", "to_uint8", "vertex_normals"]

_EMPTY = torch.iinfo(torch.int64).max
DEFAULT_COLOR = (0.72, 0.66, 0.60)
DEFAULT_LIGHT = (0.4, 0.5, 1.0)  # direction the light travels, camera space: from upper left


@dataclass(frozen=True)
class RenderOutput:
    """image: (B, 3, H, W) float in [0, 1]; depth: (B, H, W) camera z of the body (inf where
    none); face_id: (B, H, W) int64 (-1 where no body); occluder: (B, H, W) bool, True where an
    occluder rectangle was drawn over the pixel."""

    image: torch.Tensor
    depth: torch.Tensor
    face_id: torch.Tensor
    occluder: torch.Tensor


def _project(verts: torch.Tensor, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, V, 3) camera points -> (B, V, 2) pixel coordinates and (B, V) depth."""
    p = torch.einsum("bij,bvj->bvi", k, verts)
    z = verts[..., 2]
    uv = p[..., :2] / z.clamp_min(1e-12)[..., None]
    return uv, z


def _as_k(k: torch.Tensor, batch: int, verts: torch.Tensor) -> torch.Tensor:
    k = torch.as_tensor(k, device=verts.device, dtype=verts.dtype)
    if k.shape == (3, 3):
        k = k.expand(batch, 3, 3)
    if k.shape != (batch, 3, 3):
        raise ValueError(f"intrinsics: expected (B, 3, 3) or (3, 3), got {tuple(k.shape)}")
    return k


def rasterize(
    verts: torch.Tensor,
    faces: torch.Tensor,
    intrinsics: torch.Tensor,
    image_size: tuple[int, int],
    *,
    cull_backfaces: bool = False,
    near: float = 1e-3,
    max_candidates: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Z-buffer visibility of B meshes sharing one topology.

    Args:
        verts: (B, V, 3) camera-space vertices (z forward, metres).
        faces: (F, 3) vertex indices.
        intrinsics: (B, 3, 3) or (3, 3) pinhole matrices in pixels.
        image_size: (H, W).
        cull_backfaces: drop triangles whose winding is clockwise on screen (counter-clockwise
            seen from outside means front-facing), about halving the work on closed meshes.
        near: triangles with a vertex closer than this (metres) are dropped.
        max_candidates: bound on (triangle, pixel) pairs evaluated at once (memory); default
            2**22 on CUDA, 2**20 on CPU.

    Returns:
        face_id: (B, H, W) int64, the visible face per pixel, -1 where none.
        depth: (B, H, W) camera z of the visible surface, inf where none.
    """
    if verts.ndim != 3 or verts.shape[-1] != 3:
        raise ValueError(f"verts: expected (B, V, 3), got {tuple(verts.shape)}")
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f"faces: expected (F, 3), got {tuple(faces.shape)}")
    h, w = int(image_size[0]), int(image_size[1])
    b, dev = verts.shape[0], verts.device
    if max_candidates is None:
        max_candidates = 2**22 if dev.type == "cuda" else 2**20
    verts = verts.float()
    faces = faces.to(device=dev, dtype=torch.long)
    k = _as_k(intrinsics, b, verts)
    uv, z = _project(verts, k)

    nf = faces.shape[0]
    # Corner-major layout: (B, 3 components, 3 corners, F), so that every per-corner array
    # below is contiguous over the faces.
    uvz = torch.stack([uv[..., 0], uv[..., 1], z], 1)  # (B, 3, V)
    tri = uvz.index_select(2, faces.t().reshape(-1)).view(b, 3, 3, nf)
    x, y, tz = tri[:, 0], tri[:, 1], tri[:, 2]  # (B, corner, F)
    area2 = (x[:, 1] - x[:, 0]) * (y[:, 2] - y[:, 0]) - (x[:, 2] - x[:, 0]) * (y[:, 1] - y[:, 0])
    xmin = torch.ceil(torch.minimum(torch.minimum(x[:, 0], x[:, 1]), x[:, 2]) - 0.5).clamp_min(0)
    xmax = torch.floor(torch.maximum(torch.maximum(x[:, 0], x[:, 1]), x[:, 2]) - 0.5)
    ymin = torch.ceil(torch.minimum(torch.minimum(y[:, 0], y[:, 1]), y[:, 2]) - 0.5).clamp_min(0)
    ymax = torch.floor(torch.maximum(torch.maximum(y[:, 0], y[:, 1]), y[:, 2]) - 0.5)
    xmax, ymax = xmax.clamp_max(w - 1), ymax.clamp_max(h - 1)
    zmin = torch.minimum(torch.minimum(tz[:, 0], tz[:, 1]), tz[:, 2])
    keep = (zmin > near) & (area2.abs() > 1e-12) & (xmax >= xmin) & (ymax >= ymin)
    keep &= torch.isfinite(area2)
    if cull_backfaces:
        keep &= area2 < 0  # y points down: front-facing (CCW seen from outside) has area2 < 0

    depth_key = torch.full((b * h * w,), _EMPTY, dtype=torch.int64, device=dev)
    idx = keep.view(-1).nonzero().squeeze(1)  # kept triangles, flat (B * F) index
    if idx.numel():
        # One gather of everything per kept triangle: corners, box and doubled area.
        packed = torch.cat(
            [tri.reshape(b, 9, nf), torch.stack([area2, xmin, ymin, xmax, ymax], 1)], 1
        )  # (B, 14, F)
        t = packed.transpose(1, 2).reshape(b * nf, 14).index_select(0, idx)
        area, x0, y0, x1, y1 = t[:, 9], t[:, 10], t[:, 11], t[:, 12], t[:, 13]
        corners = t[:, :9].view(-1, 3, 3)  # (T, component, corner)
        # Triangle corners relative to the box origin: small numbers, accurate in float32.
        lx = corners[:, 0] - x0[:, None]
        ly = corners[:, 1] - y0[:, None]
        coef = _plane_coefficients(lx, ly, corners[:, 2], area)  # (T, 12)
        bw = (x1 - x0 + 1).long()
        counts = bw * (y1 - y0 + 1).long()
        bi = torch.div(idx, nf, rounding_mode="floor")
        base = bi * (h * w) + y0.long() * w + x0.long()  # pixel index of each box's origin
        _scatter_candidates(depth_key, coef, base, bw, counts, idx - bi * nf, w, max_candidates)

    found = depth_key != _EMPTY
    face_id = torch.where(found, depth_key & 0xFFFFFFFF, torch.full_like(depth_key, -1))
    zbits = (depth_key >> 32).to(torch.int32)
    depth = torch.where(found, zbits.view(torch.float32), torch.inf)
    return face_id.view(b, h, w), depth.view(b, h, w)


def _plane_coefficients(
    x: torch.Tensor, y: torch.Tensor, z: torch.Tensor, area2: torch.Tensor
) -> torch.Tensor:
    """(T, 12): barycentric w_i = A_i x + B_i y + C_i (i = 0..2) and 1/z = A x + B y + C."""
    cols = []
    for j, kk in ((1, 2), (2, 0), (0, 1)):  # w_i from the edge (j, kk) opposite corner i
        cols += [
            (y[:, j] - y[:, kk]) / area2,
            (x[:, kk] - x[:, j]) / area2,
            (x[:, j] * y[:, kk] - x[:, kk] * y[:, j]) / area2,
        ]
    bary = torch.stack(cols, 1).view(-1, 3, 3)  # (T, vertex, [A, B, C])
    inv_z = (bary / z[:, :, None]).sum(1)  # (T, 3)
    return torch.cat([bary.reshape(-1, 9), inv_z], 1)


def _scatter_candidates(
    depth_key: torch.Tensor,
    coef: torch.Tensor,
    base: torch.Tensor,
    bw: torch.Tensor,
    counts: torch.Tensor,
    face: torch.Tensor,
    width: int,
    max_candidates: int,
) -> None:
    """Evaluate every (triangle, box pixel) pair, in chunks, and z-min into depth_key."""
    dev = coef.device
    ends = torch.cumsum(counts, 0)
    starts = ends - counts
    total = int(ends[-1])
    # Chunk c holds the triangles whose first candidate lies in [c * M, (c + 1) * M): at most M
    # candidates plus those of its last triangle (a huge triangle may exceed M on its own).
    marks = torch.arange(0, total, max_candidates, device=dev)
    tb = torch.searchsorted(starts, marks).clamp_max(len(counts))
    tb = torch.unique(torch.cat([tb, tb.new_tensor([0, len(counts)])]))
    edges = torch.cat([starts, starts.new_tensor([total])])[tb]
    tri_bounds, cand_bounds = tb.tolist(), edges.tolist()
    ints = torch.stack([starts, bw, base, face], 1)  # (T, 4) int64
    for i in range(len(tri_bounds) - 1):
        t0, t1 = tri_bounds[i], tri_bounds[i + 1]
        n0, n1 = cand_bounds[i], cand_bounds[i + 1]
        n = n1 - n0
        if n <= 0:
            continue
        tri = torch.repeat_interleave(
            torch.arange(t0, t1, device=dev), counts[t0:t1], output_size=n
        )
        ti = ints.index_select(0, tri)
        local = torch.arange(n0, n1, device=dev) - ti[:, 0]
        py = torch.div(local, ti[:, 1], rounding_mode="floor")
        px = local - py * ti[:, 1]
        c = coef.index_select(0, tri)
        xf = px.to(c.dtype) + 0.5
        yf = py.to(c.dtype) + 0.5
        b0 = c[:, 0] * xf + c[:, 1] * yf + c[:, 2]
        b1 = c[:, 3] * xf + c[:, 4] * yf + c[:, 5]
        b2 = c[:, 6] * xf + c[:, 7] * yf + c[:, 8]
        inv_z = c[:, 9] * xf + c[:, 10] * yf + c[:, 11]
        eps = -1e-5
        inside = (b0 >= eps) & (b1 >= eps) & (b2 >= eps) & (inv_z > 0)
        # No boolean gathers: candidates outside their triangle scatter the empty key.
        zbits = (1.0 / inv_z).view(torch.int32).to(torch.int64)
        key = torch.where(inside, (zbits << 32) | ti[:, 3], _EMPTY)
        pix = ti[:, 2] + py * width + px
        depth_key.scatter_reduce_(0, pix, key, reduce="amin")


def vertex_normals(verts: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """(B, V, 3) unit area-weighted vertex normals (counter-clockwise faces point outwards)."""
    tri = verts[:, faces]  # (B, F, 3, 3)
    fn = torch.cross(tri[:, :, 1] - tri[:, :, 0], tri[:, :, 2] - tri[:, :, 0], dim=-1)
    vn = torch.zeros_like(verts)
    for i in range(3):
        vn.index_add_(1, faces[:, i], fn)
    return F.normalize(vn, dim=-1, eps=1e-12)


def _per_vertex_or_uniform(
    colors: torch.Tensor | tuple[float, float, float] | None, b: int, v: int, like: torch.Tensor
) -> tuple[torch.Tensor, bool]:
    """Colours as (B, V, 3) (per vertex, True) or (B, 3) (uniform, False), float in [0, 1]."""
    c = torch.as_tensor(DEFAULT_COLOR if colors is None else colors, device=like.device)
    c = c.float() / 255.0 if not c.is_floating_point() else c.float()
    if c.shape == (3,):
        return c.expand(b, 3), False
    if c.shape == (b, 3):
        return c, False
    if c.shape == (v, 3):
        return c.expand(b, v, 3), True
    if c.shape == (b, v, 3):
        return c, True
    raise ValueError(f"colors: expected (3,), (B, 3), (V, 3) or (B, V, 3), got {tuple(c.shape)}")


def render(
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
    max_candidates: int | None = None,
) -> RenderOutput:
    """Render B meshes (one topology) with Lambert shading over a background.

    Args:
        verts: (B, V, 3) camera-space vertices (OpenCV: x right, y down, z forward).
        faces: (F, 3) vertex indices, counter-clockwise seen from outside.
        intrinsics: (B, 3, 3) or (3, 3) pinhole matrices in pixels.
        image_size: (H, W).
        colors: albedo, float in [0, 1] (or uint8): (3,), (B, 3), (V, 3) or (B, V, 3).
        light_dir: (3,) or (B, 3) direction the light travels, in camera space.
        ambient, diffuse: shading = albedo * (ambient + diffuse * max(0, n . -light_dir)).
        background: (3,) or (B, 3) uniform colour, or (B, 3, H, W) images (float or uint8).
        occluders: (B, M, 4) rectangles (x0, y0, x1, y1) in pixels, drawn in front of the body
            in order (later on top); rows with NaN or x1 <= x0 are absent.
        occluder_colors: (3,), (M, 3) or (B, M, 3).
        smooth: interpolate vertex normals (True) or use the flat face normal.
        cull_backfaces, max_candidates: see :func:`rasterize`.

    Returns:
        RenderOutput with image (B, 3, H, W) float in [0, 1], depth, face_id and occluder mask.
    """
    h, w = int(image_size[0]), int(image_size[1])
    b, v = verts.shape[0], verts.shape[1]
    dev = verts.device
    verts = verts.float()
    faces = faces.to(device=dev, dtype=torch.long)
    face_id, depth = rasterize(
        verts,
        faces,
        intrinsics,
        (h, w),
        cull_backfaces=cull_backfaces,
        max_candidates=max_candidates,
    )
    image = _background(background, b, h, w, dev)  # (B, H, W, 3)

    flat = face_id.view(-1)
    pix = (flat >= 0).nonzero(as_tuple=True)[0]
    if pix.numel():
        pb = torch.div(pix, h * w, rounding_mode="floor")
        rem = pix - pb * (h * w)
        py = torch.div(rem, w, rounding_mode="floor")
        px = rem - py * w
        fid = flat.index_select(0, pix)
        vid = faces.index_select(0, fid)  # (P, 3)
        gidx = (pb[:, None] * v + vid).reshape(-1)  # rows of the flattened (B * V, C) attributes
        k = _as_k(intrinsics, b, verts)
        uv, z = _project(verts, k)
        albedo, per_vertex = _per_vertex_or_uniform(colors, b, v, verts)
        attrs = [uv, z[..., None], verts]  # one gather for every per-vertex attribute
        if smooth:
            attrs.append(vertex_normals(verts, faces))
        if per_vertex:
            attrs.append(albedo)
        a = torch.cat(attrs, -1).reshape(b * v, -1).index_select(0, gidx)
        a = a.view(pix.numel(), 3, -1)  # (P, corner, [u, v, z, x, y, z, normal?, colour?])
        tuv, tz, tv = a[..., 0:2], a[..., 2], a[..., 3:6]
        bary = _barycentric(tuv, px.float() + 0.5, py.float() + 0.5)
        bary = bary / tz  # perspective-correct: weights of 1/z
        bary = bary / bary.sum(-1, keepdim=True).clamp_min(1e-20)
        if smooth:
            n = (bary[..., None] * a[..., 6:9]).sum(1)
        else:
            n = torch.cross(tv[:, 1] - tv[:, 0], tv[:, 2] - tv[:, 0], dim=-1)
        n = F.normalize(n, dim=-1, eps=1e-12)
        point = (bary[..., None] * tv).sum(1)
        # Two-sided: turn the normal towards the camera (robust to winding and open meshes).
        n = torch.where(((n * point).sum(-1, keepdim=True) > 0), -n, n)
        light = torch.as_tensor(light_dir, device=dev, dtype=torch.float32)
        light = F.normalize(light.expand(b, 3) if light.shape == (3,) else light, dim=-1)
        lambert = (n * -light.index_select(0, pb)).sum(-1).clamp_min(0.0)
        col = (bary[..., None] * a[..., -3:]).sum(1) if per_vertex else albedo.index_select(0, pb)
        shade = (col * (ambient + diffuse * lambert)[:, None]).clamp(0.0, 1.0)
        image.view(-1, 3).index_copy_(0, pix, shade)

    occ = torch.zeros(b, h, w, dtype=torch.bool, device=dev)
    if occluders is not None:
        occ = _draw_occluders(image, occluders, occluder_colors)
    return RenderOutput(
        image=image.permute(0, 3, 1, 2).contiguous(), depth=depth, face_id=face_id, occluder=occ
    )


def _barycentric(tuv: torch.Tensor, px: torch.Tensor, py: torch.Tensor) -> torch.Tensor:
    """(P, 3) screen-space barycentrics of points (px, py) in triangles tuv (P, 3, 2), clamped."""
    x, y = tuv[..., 0] - px[:, None], tuv[..., 1] - py[:, None]
    w0 = x[:, 1] * y[:, 2] - x[:, 2] * y[:, 1]
    w1 = x[:, 2] * y[:, 0] - x[:, 0] * y[:, 2]
    w2 = x[:, 0] * y[:, 1] - x[:, 1] * y[:, 0]
    bary = torch.stack([w0, w1, w2], -1)
    area = bary.sum(-1, keepdim=True)
    bary = (bary / torch.where(area.abs() < 1e-20, torch.ones_like(area), area)).clamp_min(0.0)
    return bary / bary.sum(-1, keepdim=True).clamp_min(1e-20)


def _background(
    background: torch.Tensor | tuple[float, float, float], b: int, h: int, w: int, dev: torch.device
) -> torch.Tensor:
    """(B, H, W, 3) float image filled with the background."""
    bg = torch.as_tensor(background, device=dev)
    bg = bg.float() / 255.0 if not bg.is_floating_point() else bg.float()
    if bg.shape == (3,) or bg.shape == (b, 3):
        return bg.expand(b, 3)[:, None, None, :].expand(b, h, w, 3).contiguous()
    if bg.shape == (b, 3, h, w):
        return bg.permute(0, 2, 3, 1).contiguous()
    raise ValueError(f"background: expected (3,), (B, 3) or (B, 3, H, W), got {tuple(bg.shape)}")


def _draw_occluders(
    image: torch.Tensor,
    rects: torch.Tensor,
    colors: torch.Tensor | tuple[float, float, float],
) -> torch.Tensor:
    """Paint rectangles (B, M, 4) over image (B, H, W, 3) in place; returns the (B, H, W) mask."""
    b, h, w, _ = image.shape
    dev = image.device
    r = torch.as_tensor(rects, device=dev, dtype=torch.float32)
    if r.ndim != 3 or r.shape[0] != b or r.shape[2] != 4:
        raise ValueError(f"occluders: expected (B, M, 4), got {tuple(r.shape)}")
    m = r.shape[1]
    c = torch.as_tensor(colors, device=dev)
    c = c.float() / 255.0 if not c.is_floating_point() else c.float()
    if c.shape == (3,) or c.shape == (m, 3):
        c = c.expand(b, m, 3)
    elif c.shape != (b, m, 3):
        raise ValueError(f"occluder_colors: expected (3,), (M, 3) or (B, M, 3), got {c.shape}")
    if m == 0:
        return torch.zeros(b, h, w, dtype=torch.bool, device=dev)
    cx = torch.arange(w, device=dev, dtype=torch.float32) + 0.5
    cy = torch.arange(h, device=dev, dtype=torch.float32) + 0.5
    x0, y0, x1, y1 = (r[..., i, None] for i in range(4))  # (B, M, 1)
    in_x = (cx >= x0) & (cx < x1)  # (B, M, W); NaN compares False
    in_y = (cy >= y0) & (cy < y1)  # (B, M, H)
    mask = in_y[..., :, None] & in_x[..., None, :]  # (B, M, H, W)
    covered = mask.any(1)
    top = (m - 1) - mask.flip(1).to(torch.uint8).argmax(1)  # last (topmost) rectangle
    paint = c.gather(1, top.view(b, -1, 1).expand(-1, -1, 3)).view(b, h, w, 3)
    image[covered] = paint[covered]
    return covered


def to_uint8(image: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) float in [0, 1] -> uint8 (rounded)."""
    return (image.clamp(0.0, 1.0) * 255.0 + 0.5).to(torch.uint8)
