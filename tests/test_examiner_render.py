"""Examiner renderer: rasteriser against brute-force references, shading, occluders, joints."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the examiner needs torch")

from posebench.examiner.camera import fov_for_height, intrinsics_from_fov, orbit_camera  # noqa: E402
from posebench.examiner.joints import project_keypoints, visibility  # noqa: E402
from posebench.examiner.render import rasterize, render, to_uint8  # noqa: E402
from posebench.skeletons import COCO17  # noqa: E402

EYE = torch.eye(3)  # intrinsics: pixel = (x / z, y / z)


def _inside(px: np.ndarray, py: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """Brute force: pixel centres strictly inside (or on) a 2D triangle, either winding."""
    (x0, y0), (x1, y1), (x2, y2) = tri

    def edge(ax: float, ay: float, bx: float, by: float) -> np.ndarray:
        return (bx - ax) * (py - ay) - (by - ay) * (px - ax)

    e = np.stack([edge(x0, y0, x1, y1), edge(x1, y1, x2, y2), edge(x2, y2, x0, y0)])
    return np.asarray((e >= 0).all(0) | (e <= 0).all(0))


def _reference_zbuffer(
    tris: np.ndarray, depths: np.ndarray, h: int, w: int
) -> tuple[np.ndarray, np.ndarray]:
    """Loop over triangles (fronto-parallel, constant depth each): nearest wins."""
    py, px = np.mgrid[0:h, 0:w] + 0.5
    fid = np.full((h, w), -1)
    zb = np.full((h, w), np.inf)
    for i, (tri, z) in enumerate(zip(tris, depths, strict=True)):
        m = _inside(px, py, tri) & (z < zb)
        fid[m], zb[m] = i, z
    return fid, zb


def _mesh_from_2d(tris: np.ndarray, depths: np.ndarray) -> tuple[Any, Any]:
    """Triangles in pixel coordinates at constant depths -> camera-space verts with K = I."""
    pts = np.concatenate([tris * depths[:, None, None], depths[:, None, None].repeat(3, 1)], 2)
    verts = torch.tensor(pts.reshape(-1, 3), dtype=torch.float32)[None]
    faces = torch.arange(len(tris) * 3).view(-1, 3)
    return verts, faces


def test_single_triangle_covers_the_expected_pixels() -> None:
    tri = np.array([[[0.2, 0.1], [8.3, 0.4], [0.6, 7.9]]])
    verts, faces = _mesh_from_2d(tri, np.array([2.0]))
    fid, depth = rasterize(verts, faces, EYE, (12, 12))
    ref_fid, _ = _reference_zbuffer(tri, np.array([2.0]), 12, 12)
    np.testing.assert_array_equal(fid[0].numpy(), ref_fid)
    assert (ref_fid == 0).sum() > 20
    np.testing.assert_allclose(depth[0][fid[0] == 0].numpy(), 2.0, rtol=1e-6)
    assert torch.isinf(depth[0][fid[0] < 0]).all()


def test_random_triangles_match_a_brute_force_zbuffer() -> None:
    rng = np.random.default_rng(0)
    tris = rng.uniform(-5, 45, size=(40, 3, 2))  # some cross the image border
    depths = rng.uniform(1.0, 5.0, size=40)
    verts, faces = _mesh_from_2d(tris, depths)
    ref_fid, ref_z = _reference_zbuffer(tris, depths, 40, 36)
    for chunk in (None, 37):  # tiny chunks must give the same answer
        fid, depth = rasterize(verts, faces, EYE, (40, 36), max_candidates=chunk)
        np.testing.assert_array_equal(fid[0].numpy(), ref_fid)
        np.testing.assert_allclose(depth[0].numpy(), ref_z, rtol=1e-5)


def _quad(x0: float, y0: float, x1: float, y1: float, z: float) -> tuple[np.ndarray, list[float]]:
    return np.array([[[x0, y0], [x1, y0], [x1, y1]], [[x0, y0], [x1, y1], [x0, y1]]]), [z, z]


def test_nearer_of_two_overlapping_quads_wins_in_either_order() -> None:
    qa, za = _quad(2, 2, 20, 20, 3.0)
    qb, zb = _quad(10, 10, 28, 28, 2.0)
    for tris, depths, near_faces in (
        (np.concatenate([qa, qb]), np.array(za + zb), (2, 3)),
        (np.concatenate([qb, qa]), np.array(zb + za), (0, 1)),
    ):
        verts, faces = _mesh_from_2d(tris, depths)
        fid, depth = rasterize(verts, faces, EYE, (32, 32))
        overlap = fid[0, 10:20, 10:20]
        assert torch.isin(overlap, torch.tensor(near_faces)).all()
        assert (depth[0, 10:20, 10:20] == 2.0).all()
        assert (depth[0, 2:10, 2:10] == 3.0).all()
        assert (fid[0] >= 0).sum() == 18 * 18 * 2 - 10 * 10


def _uv_sphere(
    radius: float, rings: int = 64, segments: int = 128
) -> tuple[np.ndarray, np.ndarray]:
    theta = np.linspace(0, np.pi, rings + 1)[1:-1]
    phi = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    ring = np.stack([np.sin(t) * np.cos(p), np.cos(t), np.sin(t) * np.sin(p)], -1).reshape(-1, 3)
    verts = np.concatenate([[[0, 1, 0]], ring, [[0, -1, 0]]]) * radius
    j = np.arange(segments)
    jn = (j + 1) % segments
    faces = [np.stack([np.zeros(segments, int), 1 + jn, 1 + j], 1)]
    for r in range(rings - 2):
        a, b = 1 + r * segments + j, 1 + r * segments + jn
        faces += [np.stack([a, b, a + segments], 1), np.stack([b, b + segments, a + segments], 1)]
    last = len(verts) - 1
    base = 1 + (rings - 2) * segments
    faces.append(np.stack([np.full(segments, last), base + j, base + jn], 1))
    return verts, np.concatenate(faces)


def test_sphere_silhouette_area_matches_the_projected_disc() -> None:
    v, f = _uv_sphere(1.0)
    dist, size = 6.0, 256
    k = intrinsics_from_fov(30.0, (size, size))
    verts = torch.tensor(v + np.array([0.0, 0.0, dist]), dtype=torch.float32)[None]
    out = render(verts, torch.tensor(f), k, (size, size), cull_backfaces=True)
    area = int((out.face_id >= 0).sum())
    # Perspective silhouette of a sphere: a disc of radius f * R / sqrt(D^2 - R^2).
    r_px = float(k[0, 0, 0]) * 1.0 / math.sqrt(dist**2 - 1.0)
    assert area == pytest.approx(math.pi * r_px**2, rel=0.02)
    # Culling back faces changes nothing visible on a closed mesh.
    out2 = render(verts, torch.tensor(f), k, (size, size), cull_backfaces=False)
    torch.testing.assert_close(out2.depth, out.depth)
    # Lit from the upper left: the upper-left quadrant of the disc is brighter than the lower right.
    img = out.image[0].mean(0)
    c = size // 2
    upper_left, lower_right = (
        img[c - 30 : c - 10, c - 30 : c - 10],
        img[c + 10 : c + 30, c + 10 : c + 30],
    )
    assert upper_left.mean() > lower_right.mean() + 0.1


def test_backface_culling_drops_clockwise_triangles() -> None:
    ccw = np.array([[[1.0, 1.0], [1.0, 9.0], [9.0, 1.0]]])  # y down: this winding faces the camera
    verts, faces = _mesh_from_2d(ccw, np.array([2.0]))
    assert (rasterize(verts, faces, EYE, (10, 10), cull_backfaces=True)[0] >= 0).any()
    flipped = faces[:, [0, 2, 1]]
    assert not (rasterize(verts, flipped, EYE, (10, 10), cull_backfaces=True)[0] >= 0).any()
    assert (rasterize(verts, flipped, EYE, (10, 10))[0] >= 0).any()


def test_background_colours_and_occluders() -> None:
    tris, depths = _quad(4, 4, 12, 12, 2.0)
    verts, faces = _mesh_from_2d(tris, np.array(depths))
    verts = verts.expand(2, -1, -1)
    bg = torch.zeros(2, 3, 16, 16)
    bg[1, 2] = 1.0  # second image: blue background image
    occ = torch.tensor([[[0.0, 0.0, 6.0, 6.0], [5.0, 5.0, 7.0, 7.0]], [[math.nan] * 4] * 2])
    out = render(
        verts,
        faces,
        EYE,
        (16, 16),
        colors=(1.0, 0.0, 0.0),
        background=torch.stack([bg[0], bg[1]]),
        occluders=occ,
        occluder_colors=torch.tensor([[0.0, 1.0, 0.0], [1.0, 1.0, 1.0]]),
    )
    img = to_uint8(out.image)
    assert img.dtype == torch.uint8
    assert img.shape == (2, 3, 16, 16)
    assert img[0, :, 2, 2].tolist() == [0, 255, 0]  # first occluder over the background
    assert img[0, :, 6, 6].tolist() == [255, 255, 255]  # later occluder on top
    assert img[1, :, 14, 14].tolist() == [0, 0, 255]  # background image
    body = img[1, :, 8, 8]
    assert body[0] > 100
    assert body[1] == 0
    assert body[2] == 0
    assert out.occluder[0, :6, :6].all()
    assert not out.occluder[1].any()
    assert out.occluder[0].sum() == 36 + 4 - 1


# --- bodies ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scene() -> dict[str, object]:
    pytest.importorskip("smplx", reason="the examiner's body model needs smplx")
    from posebench.examiner.body import BodyModel

    body = BodyModel("mannequin")
    pose = torch.zeros(3, 69)
    for b in range(3):  # arms down
        pose[b, (16 - 1) * 3 + 2] = -1.35
        pose[b, (17 - 1) * 3 + 2] = 1.35
    out = body.forward(torch.zeros(3, 3), pose)
    target = out.joints[:, 0].clone()
    target[2] = out.joints[2, 15]  # the third camera looks at the head from close by
    cam = orbit_camera(
        torch.tensor([0.0, 180.0, 0.0]),
        0.0,
        torch.tensor([3.0, 3.0, 1.2]),
        target,
        fov_deg=fov_for_height(2.0, 3.0),
        image_size=(256, 256),
    )
    r = render(
        cam.to_camera(out.vertices), body.faces, cam.intrinsics, (256, 256), cull_backfaces=True
    )
    return {"body": body, "out": out, "cam": cam, "render": r}


def test_body_renders_a_centred_person_shaped_silhouette(scene: dict[str, Any]) -> None:
    r = scene["render"]
    mask = r.face_id[0] >= 0
    assert mask.sum() > 2000
    assert not (mask[0].any())
    assert not (mask[-1].any())
    assert not (mask[:, 0].any())
    assert not (mask[:, -1].any())
    rows, cols = mask.nonzero(as_tuple=True)
    height = rows.max() - rows.min()
    width = cols.max() - cols.min()
    assert height > 2 * width  # arms down: a standing person is tall and narrow
    assert abs(cols.float().mean() - 128) < 10
    # Body pixels are shaded (not background white), background stays white.
    img = r.image[0]
    assert (img[:, mask] < 0.95).all()
    assert (img[:, ~mask] == 1.0).all()
    # The batch renders the same as one body alone.
    cam = scene["cam"]
    verts = cam.to_camera(scene["out"].vertices)[:1]
    one = render(verts, scene["body"].faces, cam.intrinsics[:1], (256, 256))
    torch.testing.assert_close(one.depth[0], r.depth[0])


def test_coco17_from_the_front_and_from_behind(scene: dict[str, Any]) -> None:
    r, cam, out = scene["render"], scene["cam"], scene["out"]
    kp, vis = project_keypoints(out.joints, cam, r.depth, "coco17", r.occluder)
    assert kp.shape == (3, 17, 2)
    assert vis.shape == (3, 17)
    ls, rs = COCO17.index("left_shoulder"), COCO17.index("right_shoulder")
    nose = COCO17.index("nose")
    # Facing the camera: the body's left shoulder is on the image right, everything visible.
    assert kp[0, ls, 0] > kp[0, rs, 0] + 20
    assert (vis[0] == 2).all()
    # From behind: left shoulder on the image left; the face keypoints are hidden by the head.
    assert kp[1, ls, 0] < kp[1, rs, 0] - 20
    for name in ("nose", "left_eye", "right_eye"):
        assert vis[1, COCO17.index(name)] == 1, name
    assert vis[1, ls] == 2
    assert vis[1, COCO17.index("left_knee")] == 2
    # Too close: the ankles fall outside the image (0), the nose is still in view.
    for name in ("left_ankle", "right_ankle"):
        assert vis[2, COCO17.index(name)] == 0
    assert vis[2, nose] == 2
    # Keypoints are ordered top to bottom on a standing body.
    assert kp[0, nose, 1] < kp[0, ls, 1] < kp[0, COCO17.index("left_hip"), 1]


def test_occluder_hides_keypoints_behind_it(scene: dict[str, Any]) -> None:
    r, cam, out = scene["render"], scene["cam"], scene["out"]
    kp, _ = project_keypoints(out.joints, cam, r.depth)
    mask = torch.zeros_like(r.occluder)
    col, row = kp[0, 0].long().tolist()
    mask[0, row - 3 : row + 4, col - 3 : col + 4] = True
    uv, z = cam.project(out.joints[:, [24]])
    vis = visibility(uv, z, r.depth, 0.03, mask)
    assert vis[0, 0] == 1


def test_per_vertex_colours_are_interpolated() -> None:
    tris, depths = _quad(0, 0, 16, 16, 2.0)
    verts, faces = _mesh_from_2d(tris, np.array(depths))
    colors = torch.zeros(6, 3)
    colors[:, 0] = torch.tensor([1.0, 1.0, 1.0, 1.0, 1.0, 1.0])  # red everywhere
    colors[[1, 2, 4], 2] = 1.0  # blue added at x = 16 (right side)
    out = render(verts, faces, EYE, (16, 16), colors=colors, ambient=1.0, diffuse=0.0)
    left, right = out.image[0, :, 8, 0], out.image[0, :, 8, 15]
    assert left[0] == pytest.approx(1.0)
    assert right[0] == pytest.approx(1.0)
    assert left[2] < 0.1
    assert right[2] > 0.9
